//! `sim-swap` and `modem-swap`: a new SIM card or a new USB modem in a unit.
//! The new ICCID or IMEI must be the one the operator expects, the APN is set
//! up again, and the registry records which SIM and modem sit in the unit.

use super::{
    atomically, check_network, connect, refuse, restore_apn, setup_apn, sim_ready, At, Ctx,
    FlowError, Report,
};
use crate::modem::Locator;
use crate::registry::DeviceState;

fn in_service(state: DeviceState) -> bool {
    matches!(
        state,
        DeviceState::Provisioned | DeviceState::Shipped | DeviceState::Active
    )
}

/// Records a replacement SIM; the old one is listed for deactivation.
pub fn sim_swap(
    ctx: &Ctx,
    serial: &str,
    expected_iccid: &str,
    modem: &Locator,
) -> Result<Report, FlowError> {
    atomically(ctx, "sim-swap", |tx, _| {
        let mut report = Report::default();
        let d = tx.device(serial).at("device")?;
        if !in_service(d.state) {
            return refuse(
                "device",
                format!(
                    "{serial} is {}; only a unit in service gets a new SIM",
                    d.state
                ),
            );
        }
        if d.iccid.as_deref() == Some(expected_iccid) {
            report.say(format!(
                "{serial} already has SIM {expected_iccid}; nothing to do"
            ));
            return Ok(report);
        }
        let mut s = connect(ctx, modem, d.imei.as_deref())?;
        sim_ready(ctx, &mut s)?;
        let iccid = s.step(|m| m.iccid()).at("sim")?;
        if iccid != expected_iccid {
            return refuse(
                "sim",
                format!("the SIM in the modem is {iccid}, expected {expected_iccid}"),
            );
        }
        let imsi = s.step(|m| m.imsi()).at("sim")?;
        if let Some(other) = tx.holder_of("iccid", &iccid, serial).at("registry")? {
            return refuse("sim", format!("SIM {iccid} is recorded for device {other}"));
        }
        tx.set_sim(serial, &iccid, &imsi, true).at("sim")?;
        let before = setup_apn(&mut s, &ctx.station.modem.apn, &mut report)?;
        if let Err(e) = check_network(ctx, &mut s, &mut report) {
            restore_apn(&mut s, &before);
            return Err(e);
        }
        tx.audit(
            "sim-swap",
            Some(serial),
            d.site.as_deref(),
            &format!("{} -> {iccid}", d.iccid.as_deref().unwrap_or("none")),
        )
        .at("registry")?;
        report.say(format!(
            "{serial}: SIM {iccid} (IMSI {imsi}) recorded; {} listed for deactivation",
            d.iccid.as_deref().unwrap_or("no previous SIM")
        ));
        Ok(report)
    })
}

/// Records a replacement USB modem; the unit's SIM is expected to have moved
/// into it.
pub fn modem_swap(
    ctx: &Ctx,
    serial: &str,
    expected_imei: &str,
    modem: &Locator,
) -> Result<Report, FlowError> {
    atomically(ctx, "modem-swap", |tx, _| {
        let mut report = Report::default();
        let d = tx.device(serial).at("device")?;
        if !in_service(d.state) {
            return refuse(
                "device",
                format!(
                    "{serial} is {}; only a unit in service gets a new modem",
                    d.state
                ),
            );
        }
        if d.imei.as_deref() == Some(expected_imei) {
            report.say(format!(
                "{serial} already has modem {expected_imei}; nothing to do"
            ));
            return Ok(report);
        }
        if let Some(other) = tx.holder_of("imei", expected_imei, serial).at("registry")? {
            return refuse(
                "modem",
                format!("modem {expected_imei} is recorded for device {other}"),
            );
        }
        let mut s = connect(ctx, modem, Some(expected_imei))?;
        let info = s.info().clone();
        sim_ready(ctx, &mut s)?;
        let iccid = s.step(|m| m.iccid()).at("sim")?;
        if d.iccid.is_some() && d.iccid.as_deref() != Some(iccid.as_str()) {
            return refuse(
                "sim",
                format!(
                    "the new modem holds SIM {iccid}, but {serial} has {}; move the SIM over or record it with sim-swap",
                    d.iccid.as_deref().unwrap_or("none")
                ),
            );
        }
        tx.set_modem(serial, &info).at("registry")?;
        let before = setup_apn(&mut s, &ctx.station.modem.apn, &mut report)?;
        if let Err(e) = check_network(ctx, &mut s, &mut report) {
            restore_apn(&mut s, &before);
            return Err(e);
        }
        tx.audit(
            "modem-swap",
            Some(serial),
            d.site.as_deref(),
            &format!(
                "{} -> {} ({} {})",
                d.imei.as_deref().unwrap_or("none"),
                info.imei,
                info.manufacturer,
                info.model
            ),
        )
        .at("registry")?;
        report.say(format!(
            "{serial}: modem {} {} IMEI {} recorded",
            info.manufacturer, info.model, info.imei
        ));
        Ok(report)
    })
}
