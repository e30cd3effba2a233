//! `factory`: a unit in stock gets its identity, its modem and SIM are
//! checked and the APN set, site-independent config goes to its data
//! directory, the registry records it, and a self-test proves that the
//! collector accepts a batch from it.

use super::{
    atomically, check_network, refuse, restore_apn, setup_apn, sim_ready, At, Ctx, FlowError,
    Report,
};
use crate::device::{self, DeviceDir};
use crate::external;
use crate::files::{ensure_dir, FileTxn};
use crate::modem::{Locator, Session};
use crate::pki;
use crate::registry::{DeviceState, Tx};
use std::path::PathBuf;

pub struct Args {
    pub serial: String,
    pub device_dir: PathBuf,
    pub modem: Locator,
    /// Skip the self-test (no collector reachable from the station).
    pub no_selftest: bool,
}

/// Device serials: letters, digits and dashes, as printed on the label.
pub fn check_serial(serial: &str) -> Result<(), String> {
    let ok = (3..=32).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && serial.as_bytes()[0].is_ascii_uppercase();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{serial:?} is not a device serial (3 to 32 of A-Z, 0-9 and '-', starting with a letter, e.g. OSD-000123)"
        ))
    }
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<Report, FlowError> {
    atomically(ctx, "factory", |tx, files| {
        let mut report = Report::default();
        check_serial(&a.serial).at("serial")?;
        let dev = DeviceDir::new(&a.device_dir);
        if let Ok(d) = tx.device(&a.serial) {
            if d.state == DeviceState::Provisioned && dev.verify(&d).is_ok() {
                report.say(format!(
                    "{} is already provisioned; nothing to do",
                    a.serial
                ));
                return Ok(report);
            }
        }
        tx.add_stock(&a.serial).at("registry")?;
        tx.set_state(&a.serial, DeviceState::Provisioned)
            .at("registry")?;
        if dev.has_identity() {
            let held = dev
                .certificate()
                .ok()
                .flatten()
                .map_or("an unreadable identity".to_string(), |c| {
                    format!("the identity of {}", c.subject_cn)
                });
            return refuse(
                "identity",
                format!(
                    "{} already holds {held}; a unit is wiped by `receive-return` before it is provisioned again",
                    dev.root.display()
                ),
            );
        }

        // With several units at the station, `auto` skips the modems of others.
        let taken = |imei: &str| matches!(tx.holder_of("imei", imei, &a.serial), Ok(Some(_)));
        let m = &ctx.station.modem;
        let mut session =
            Session::connect_free(&a.modem, &m.candidates, &taken, &m.timing()).at("modem")?;
        let info = session.info().clone();
        report.say(format!(
            "modem {} {} firmware {} IMEI {} on {}",
            info.manufacturer,
            info.model,
            info.firmware,
            info.imei,
            session.path().display()
        ));
        sim_ready(ctx, &mut session)?;
        let iccid = session.step(|m| m.iccid()).at("sim")?;
        let imsi = session.step(|m| m.imsi()).at("sim")?;
        report.say(format!("SIM ICCID {iccid} IMSI {imsi}"));
        check_unique(tx, &a.serial, "imei", &info.imei)?;
        check_unique(tx, &a.serial, "iccid", &iccid)?;
        tx.set_modem(&a.serial, &info).at("registry")?;
        tx.set_sim(&a.serial, &iccid, &imsi, false).at("sim")?;

        let before = setup_apn(&mut session, &ctx.station.modem.apn, &mut report)?;
        let rest = check_network(ctx, &mut session, &mut report)
            .and_then(|()| identity_and_config(ctx, tx, files, &dev, a, &mut report));
        if let Err(e) = rest {
            restore_apn(&mut session, &before);
            return Err(e);
        }
        tx.audit(
            "factory",
            Some(&a.serial),
            None,
            &format!(
                "IMEI {} ICCID {iccid} dir {}",
                info.imei,
                dev.root.display()
            ),
        )
        .at("registry")?;
        report.say(format!("{} provisioned", a.serial));
        Ok(report)
    })
}

fn check_unique(
    tx: &Tx<'_>,
    serial: &str,
    what: &'static str,
    value: &str,
) -> Result<(), super::StepErr> {
    match tx.holder_of(what, value, serial).at("registry")? {
        Some(other) => refuse(
            "registry",
            format!(
                "{} {value} is recorded for device {other}",
                what.to_uppercase()
            ),
        ),
        None => Ok(()),
    }
}

fn identity_and_config(
    ctx: &Ctx,
    tx: &Tx<'_>,
    files: &mut FileTxn,
    dev: &DeviceDir,
    a: &Args,
    report: &mut Report,
) -> Result<(), super::StepErr> {
    let user = &ctx.station.device.agent_user;
    for (dir, mode) in [
        (dev.identity(), 0o700),
        (dev.config_dir(), 0o755),
        (dev.spool(), 0o750),
    ] {
        let existed = dir.is_dir();
        ensure_dir(&dir, mode).at("device directories")?;
        if !existed {
            files.created_dir(&dir);
        }
        if dir != dev.config_dir() {
            device::give_to(&dir, user).at("device directories")?;
        }
    }
    // The key is made where the agent will use it; only the CSR leaves.
    let key = pki::make_key(files, &dev.key()).at("device key")?;
    device::give_to(&dev.key(), user).at("device key")?;
    let csr = pki::make_csr(&key, &a.serial).at("device key")?;
    files
        .write(&dev.csr(), csr.as_bytes(), 0o644)
        .at("device key")?;
    let pki = ctx.pki();
    let issued = pki
        .sign_device_csr(&csr, &a.serial, ctx.station.certificates.validity_days)
        .at("certificate")?;
    files
        .write(&dev.cert(), issued.chain_pem.as_bytes(), 0o644)
        .at("certificate")?;
    files
        .write(
            &dev.core_ca(),
            pki.core_ca_pem().at("certificate")?.as_bytes(),
            0o644,
        )
        .at("certificate")?;
    tx.add_certificate(&a.serial, &issued.info).at("registry")?;
    report.say(format!(
        "certificate {} for {} (sha256 {}), valid until {}",
        issued.info.serial,
        a.serial,
        issued.info.fingerprint,
        crate::registry::format_time(issued.info.not_after)
    ));

    let core = &ctx.station.core;
    let cfg = device::factory_config(dev, &a.serial, &core.endpoint, &core.server_name);
    let text = toml::to_string(&cfg).at("config")?;
    files
        .write(&dev.agent_config(), text.as_bytes(), 0o644)
        .at("config")?;
    let env = device::modem_env(&ctx.station.modem).at("config")?;
    files
        .write(&dev.modem_env(), env.as_bytes(), 0o600)
        .at("config")?;
    report.say(format!(
        "agent config written to {}",
        dev.agent_config().display()
    ));

    if a.no_selftest {
        report.say("self-test skipped (--no-selftest)");
        tx.audit("selftest-skipped", Some(&a.serial), None, "--no-selftest")
            .at("registry")?;
        return Ok(());
    }
    selftest(ctx, dev, cfg, report)
}

/// Runs the agent's self-test with a copy of the config that enables the
/// uplink to the self-test collector and spools into a scratch directory.
fn selftest(
    ctx: &Ctx,
    dev: &DeviceDir,
    mut cfg: toml::Table,
    report: &mut Report,
) -> Result<(), super::StepErr> {
    let st = &ctx.station.selftest;
    let endpoint = if st.endpoint.is_empty() {
        &ctx.station.core.endpoint
    } else {
        &st.endpoint
    };
    if endpoint.is_empty() {
        return refuse(
            "self-test",
            "no collector to test against (selftest.endpoint and core.endpoint are empty)",
        );
    }
    let scratch = dev.root.join(".selftest");
    let scratch_spool = scratch.join("spool");
    ensure_dir(&scratch_spool, 0o700).at("self-test")?;
    let mut site = toml::Table::new();
    site.insert("endpoint".into(), toml::Value::String(endpoint.clone()));
    site.insert("enabled".into(), toml::Value::Boolean(true));
    if let Some(toml::Value::Table(u)) = cfg.get_mut("uplink") {
        u.extend(site);
    }
    if let Some(toml::Value::Table(s)) = cfg.get_mut("spool") {
        s.insert(
            "dir".into(),
            toml::Value::String(scratch_spool.to_string_lossy().into_owned()),
        );
    }
    let path = scratch.join("agent.toml");
    let r = toml::to_string(&cfg)
        .map_err(|e| e.to_string())
        .and_then(|t| {
            crate::files::write_atomic(&path, t.as_bytes(), 0o600).map_err(|e| e.to_string())
        })
        .and_then(|()| external::agent_selftest(st, &path));
    let _ = std::fs::remove_dir_all(&scratch);
    let out = r.at("self-test")?;
    report.say(format!(
        "self-test passed against {endpoint}: {}",
        out.lines().last().unwrap_or("batch acknowledged")
    ));
    Ok(())
}
