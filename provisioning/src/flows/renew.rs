//! `renew`: a new certificate for the unit's existing key before the current
//! one expires. The key stays on the unit; only a new CSR is signed.

use super::{atomically, refuse, At, Ctx, FlowError, Report};
use crate::device::DeviceDir;
use crate::pki;
use crate::registry::{format_time, DeviceState};
use std::path::Path;
use time::{Duration, OffsetDateTime};

pub fn run(ctx: &Ctx, serial: &str, device_dir: &Path, force: bool) -> Result<Report, FlowError> {
    atomically(ctx, "renew", |tx, files| {
        let mut report = Report::default();
        let d = tx.device(serial).at("device")?;
        if !matches!(
            d.state,
            DeviceState::Provisioned | DeviceState::Shipped | DeviceState::Active
        ) {
            return refuse(
                "device",
                format!("{serial} is {}; only a unit in service is renewed", d.state),
            );
        }
        let dev = DeviceDir::new(device_dir);
        let cur = dev.verify(&d).at("device identity")?;
        let due =
            cur.not_after - Duration::days(i64::from(ctx.station.certificates.renew_before_days));
        if !force && OffsetDateTime::now_utc() < due {
            report.say(format!(
                "{serial}: certificate valid until {}, renewal due from {}; nothing to do",
                format_time(cur.not_after),
                format_time(due)
            ));
            return Ok(report);
        }
        let key = pki::load_key(&dev.key()).at("device key")?;
        let csr = pki::make_csr(&key, serial).at("device key")?;
        files
            .write(&dev.csr(), csr.as_bytes(), 0o644)
            .at("device key")?;
        let issued = ctx
            .pki()
            .sign_device_csr(&csr, serial, ctx.station.certificates.validity_days)
            .at("certificate")?;
        files
            .write(&dev.cert(), issued.chain_pem.as_bytes(), 0o644)
            .at("certificate")?;
        tx.add_certificate(serial, &issued.info).at("registry")?;
        report.say(format!(
            "{serial}: new certificate {} valid until {} (the old one expires {})",
            issued.info.serial,
            format_time(issued.info.not_after),
            format_time(cur.not_after)
        ));
        Ok(report)
    })
}
