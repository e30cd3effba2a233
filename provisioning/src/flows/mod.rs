//! The provisioning flows. Each runs in one registry transaction and one file
//! journal: if any step fails, the transaction is dropped, every file written
//! is put back, modem settings changed are restored, and the error names the
//! step. Each flow checks first whether its work is already done, so running
//! it again is harmless.

pub mod billing;
pub mod contract;
pub mod factory;
pub mod fleet;
pub mod renew;
pub mod returns;
pub mod sim;

use crate::config::Station;
use crate::files::FileTxn;
use crate::modem::net::Apn;
use crate::modem::sim::SimState;
use crate::modem::{Locator, Session};
use crate::pki::Pki;
use crate::registry::{self, Registry, Tx};
use std::fmt::Display;
use std::time::{Duration, Instant};

/// What every flow needs: the station's configuration and who is acting.
pub struct Ctx {
    pub station: Station,
    pub operator: String,
}

impl Ctx {
    pub fn pki(&self) -> Pki {
        Pki::new(&self.station.pki)
    }
}

/// A failed step: which one, and why.
#[derive(Debug)]
pub struct StepErr {
    pub step: &'static str,
    pub message: String,
}

pub trait At<T> {
    /// Names the step an error happened in.
    fn at(self, step: &'static str) -> Result<T, StepErr>;
}

impl<T, E: Display> At<T> for Result<T, E> {
    fn at(self, step: &'static str) -> Result<T, StepErr> {
        self.map_err(|e| StepErr {
            step,
            message: e.to_string(),
        })
    }
}

/// Refuses with a message at a step.
pub fn refuse<T>(step: &'static str, message: impl Into<String>) -> Result<T, StepErr> {
    Err(StepErr {
        step,
        message: message.into(),
    })
}

#[derive(Debug, thiserror::Error)]
#[error("{flow} failed at step '{step}': {message}; {outcome}")]
pub struct FlowError {
    pub flow: &'static str,
    pub step: &'static str,
    pub message: String,
    pub outcome: &'static str,
}

const UNCHANGED: &str = "nothing was changed";

/// What a flow did, one line per fact.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
}

impl Report {
    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        log::info!("{line}");
        self.lines.push(line);
    }
}

/// Runs `f` in one registry transaction and one file journal: commits both
/// when it succeeds, undoes both when it fails.
pub fn atomically<T>(
    ctx: &Ctx,
    flow: &'static str,
    f: impl FnOnce(&Tx<'_>, &mut FileTxn) -> Result<T, StepErr>,
) -> Result<T, FlowError> {
    let fail = |e: StepErr| FlowError {
        flow,
        step: e.step,
        message: e.message,
        outcome: UNCHANGED,
    };
    let mut reg = Registry::open(&ctx.station.registry)
        .at("registry")
        .map_err(fail)?;
    let tx = reg.begin(&ctx.operator).at("registry").map_err(fail)?;
    let mut files = FileTxn::new();
    match f(&tx, &mut files) {
        Ok(v) => match tx.commit() {
            Ok(()) => Ok(v),
            Err(e) => {
                files.rollback();
                Err(fail(StepErr {
                    step: "commit",
                    message: e.to_string(),
                }))
            }
        },
        Err(e) => {
            drop(tx);
            files.rollback();
            Err(fail(e))
        }
    }
}

/// Re-issues the CRL from the registry's revocations (inside the flow's
/// transaction, so the CRL and the registry agree).
pub fn write_crl(ctx: &Ctx, tx: &Tx<'_>, files: &mut FileTxn) -> Result<usize, StepErr> {
    let revoked = tx.revoked().at("revocation list")?;
    let list: Vec<(String, time::OffsetDateTime)> = revoked
        .iter()
        .map(|(serial, _, at)| {
            (
                serial.clone(),
                registry::parse_time(at).unwrap_or_else(time::OffsetDateTime::now_utc),
            )
        })
        .collect();
    let number = tx.next_crl_number().at("revocation list")?;
    let pki = ctx.pki();
    let pem = pki
        .make_crl(&list, number, ctx.station.certificates.crl_valid_hours)
        .at("revocation list")?;
    files
        .write(&pki.crl_path(), pem.as_bytes(), 0o644)
        .at("revocation list")?;
    Ok(list.len())
}

/// Finds and opens the modem.
pub fn connect(ctx: &Ctx, locator: &Locator, imei: Option<&str>) -> Result<Session, StepErr> {
    let m = &ctx.station.modem;
    Session::connect(locator, &m.candidates, imei, &m.timing()).at("modem")
}

/// Makes sure the SIM is present and unlocked (entering the configured PIN).
pub fn sim_ready(ctx: &Ctx, s: &mut Session) -> Result<(), StepErr> {
    let state = s.step(|m| m.sim_state()).at("sim")?;
    match state {
        SimState::Ready => Ok(()),
        SimState::PinRequired => {
            let pin = &ctx.station.modem.pin;
            if pin.is_empty() {
                return refuse(
                    "sim",
                    "the SIM asks for a PIN and the station config has none (modem.pin)",
                );
            }
            s.step(|m| m.enter_pin(pin)).at("sim")?;
            match s.step(|m| m.sim_state()).at("sim")? {
                SimState::Ready => Ok(()),
                other => refuse("sim", format!("SIM still not ready after the PIN: {other}")),
            }
        }
        SimState::NotInserted => refuse("sim", "no SIM card in the modem"),
        other => refuse("sim", format!("SIM is not usable: {other}")),
    }
}

/// Sets the APN (returning the previous one, to restore on failure) and,
/// if asked, waits for network registration.
pub fn setup_apn(
    s: &mut Session,
    apn: &Apn,
    report: &mut Report,
) -> Result<Option<(String, String)>, StepErr> {
    let before = s.step(|m| m.apn()).at("apn")?;
    s.step(|m| m.set_apn(apn)).at("apn")?;
    let after = s.step(|m| m.apn()).at("apn")?;
    if after.as_ref().map(|(_, a)| a.as_str()) != Some(apn.apn.as_str()) {
        restore_apn(s, &before);
        return refuse(
            "apn",
            format!(
                "the modem did not keep the APN {:?} (reads back {after:?})",
                apn.apn
            ),
        );
    }
    report.say(format!("APN {} set on context 1", apn.apn));
    Ok(before)
}

/// Puts back the APN the modem had, or undefines the context if it had none
/// (best effort: the flow is failing anyway).
pub fn restore_apn(s: &mut Session, before: &Option<(String, String)>) {
    let r = match before {
        None => s.step(|m| m.clear_apn()),
        Some((pdp, apn)) => {
            let old = Apn {
                apn: apn.clone(),
                auth: Default::default(),
                user: String::new(),
                password: String::new(),
                pdp_type: pdp.clone(),
            };
            s.step(|m| m.set_apn(&old))
        }
    };
    if let Err(e) = r {
        log::error!("could not restore the modem's previous APN: {e}");
    }
}

/// Waits for the modem to register on a network; reports signal and operator.
pub fn check_network(ctx: &Ctx, s: &mut Session, report: &mut Report) -> Result<(), StepErr> {
    let timing = ctx.station.modem.timing();
    let deadline = Instant::now() + timing.registration;
    let reg = loop {
        let r = s.step(|m| m.registration()).at("registration")?;
        if r.is_registered() || Instant::now() >= deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if !reg.is_registered() {
        if ctx.station.modem.require_registration {
            return refuse(
                "registration",
                format!(
                    "modem not registered on a network after {} s ({reg})",
                    timing.registration.as_secs()
                ),
            );
        }
        report.say(format!("network: {reg} (not required)"));
        return Ok(());
    }
    let signal = s.step(|m| m.signal()).at("signal")?;
    let op = s.step(|m| m.operator()).at("operator")?;
    report.say(format!(
        "network: {reg}, operator {}, RSSI {} dBm, RSRP {} dBm",
        op.as_deref().unwrap_or("?"),
        signal.rssi_dbm.map_or("?".into(), |v| v.to_string()),
        signal.rsrp_dbm.map_or("?".into(), |v| v.to_string()),
    ));
    Ok(())
}
