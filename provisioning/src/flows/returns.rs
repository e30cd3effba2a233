//! `receive-return`: a unit comes back. What it still holds is read first:
//! un-sent spool batches go to the collector through the operator's
//! authenticated import, so a dead sensor's last records are kept. Then the
//! whole data directory (keys, certificates, config, spool, agent state) is
//! wiped (overwritten, then unlinked), its
//! SIM is listed for deactivation, and it goes back to stock (a new identity
//! at its next `factory`) or is retired.

use super::contract::{today, write_fleet_list};
use super::{atomically, connect, refuse, write_crl, At, Ctx, FlowError, Report};
use crate::calendar::fmt_date;
use crate::device::DeviceDir;
use crate::external::CollectorAdmin;
use crate::modem::Locator;
use crate::registry::{ContractState, DeviceState};
use crate::wipe::{wipe_tree, WipeReport};
use std::path::{Path, PathBuf};

pub struct Args {
    pub serial: String,
    pub device_dir: PathBuf,
    /// Retire the unit instead of returning it to stock.
    pub retire: bool,
    /// The unit's modem, to confirm which SIM it holds (None: modem dead or removed).
    pub modem: Option<Locator>,
    /// The operator's collector token (overrides the station config).
    pub token_file: Option<PathBuf>,
}

/// The wipe empties the whole data directory; a mistyped `--device-dir /`
/// or a system tree must never be taken for one.
fn looks_like_system_root(dir: &Path) -> bool {
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canon == Path::new("/") || (canon.join("etc").is_dir() && canon.join("usr").is_dir())
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<Report, FlowError> {
    atomically(ctx, "receive-return", |tx, files| {
        let mut report = Report::default();
        let d = tx.device(&a.serial).at("device")?;
        let dev = DeviceDir::new(&a.device_dir);
        if looks_like_system_root(&dev.root) {
            return refuse(
                "read unit",
                format!(
                    "{} looks like a system root, not a unit's data directory; refusing to wipe it",
                    dev.root.display()
                ),
            );
        }
        let target = if a.retire {
            DeviceState::Retired
        } else {
            DeviceState::Stock
        };
        if matches!(d.state, DeviceState::Stock | DeviceState::Retired) {
            let holds_data = std::fs::read_dir(&dev.root)
                .map(|mut r| r.next().is_some())
                .unwrap_or(false);
            if holds_data {
                return refuse(
                    "read unit",
                    format!(
                        "{} is {} in the registry but {} still holds data; which unit is this?",
                        a.serial,
                        d.state,
                        dev.root.display()
                    ),
                );
            }
            report.say(format!(
                "{} was already received and wiped ({}); nothing to do",
                a.serial, d.state
            ));
            return Ok(report);
        }

        // What the unit holds must be this unit's.
        let cert = dev.certificate().at("read unit")?;
        if let Some(c) = &cert {
            if c.subject_cn != a.serial {
                return refuse(
                    "read unit",
                    format!(
                        "{} holds the identity of {}, not {}",
                        dev.root.display(),
                        c.subject_cn,
                        a.serial
                    ),
                );
            }
        }
        let spool = dev.spool_files().at("read unit")?;
        report.say(format!(
            "{} holds {} certificate and {} spool file(s)",
            a.serial,
            if cert.is_some() { "its" } else { "no" },
            spool.len()
        ));

        let last = tx.last_assignment(&a.serial).at("registry")?;
        let site_open = match &last {
            Some(l) => tx.site(&l.site).at("registry")?.open,
            None => false,
        };
        if !spool.is_empty() && site_open {
            let token = a
                .token_file
                .clone()
                .unwrap_or_else(|| ctx.station.collector.token_file.clone());
            if token.as_os_str().is_empty() {
                return refuse(
                    "import",
                    "the unit has un-sent batches; give the operator's collector token with --token-file",
                );
            }
            // The batches were sent under the unit's key: the collector
            // deduplicates them against what that key already delivered.
            let recorded = match &d.cert_fingerprint {
                Some(fp) => tx.cert_key_sha256(fp).at("registry")?,
                None => None,
            };
            let Some(key) = cert.as_ref().map(|c| c.key_sha256.clone()).or(recorded) else {
                return refuse(
                    "import",
                    format!(
                        "{} holds no certificate and the registry has no key on record for {}, so its un-sent batches cannot be attributed to the identity that made them",
                        dev.root.display(),
                        a.serial
                    ),
                );
            };
            let out = CollectorAdmin {
                cfg: &ctx.station.collector,
            }
            .import(&ctx.operator, &token, &a.serial, &key, &spool)
            .at("import")?;
            report.say(format!("spool handed to the collector: {out}"));
            tx.audit(
                "import",
                Some(&a.serial),
                last.as_ref().map(|l| l.site.as_str()),
                &format!("{} spool file(s): {out}", spool.len()),
            )
            .at("registry")?;
        } else if !spool.is_empty() {
            let why = if last.is_some() {
                "the unit's site was decommissioned and its data deleted"
            } else {
                "the unit never served a site"
            };
            report.say(format!("{} spool file(s) discarded: {why}", spool.len()));
        }

        if let Some(loc) = &a.modem {
            let mut s = connect(ctx, loc, d.imei.as_deref())?;
            match s.step(|m| m.iccid()) {
                Ok(iccid) if Some(iccid.as_str()) != d.iccid.as_deref() => report.say(format!(
                    "note: the modem holds SIM {iccid}, the registry had {}",
                    d.iccid.as_deref().unwrap_or("none")
                )),
                Ok(_) => {}
                Err(e) => report.say(format!("note: could not read the SIM: {e}")),
            }
        }

        // Still in service: take it out, revoke now.
        if d.site.is_some() {
            tx.unbind(&a.serial, "returned").at("registry")?;
            write_fleet_list(ctx, tx, files)?;
        }
        // The contract it served learns of its return (send-back, annex 1,
        // 2.2); a contract it still served waits for another sensor.
        if let Some(id) = tx.contract_of_unit(&a.serial).at("registry")? {
            let c = tx.contract(id).at("registry")?;
            if c.device.as_deref() == Some(a.serial.as_str())
                && c.state != ContractState::Terminated
            {
                tx.set_contract_device(id, None).at("registry")?;
                report.say(format!(
                    "contract {id} has no sensor now: tie another with `contract device`"
                ));
            }
            tx.contract_event(
                id,
                "return",
                &fmt_date(today()),
                &format!("sensor {} received back, to be wiped", a.serial),
                None,
            )
            .at("registry")?;
        }
        let revoked = tx.revoke_device(&a.serial, "returned").at("revocation")?;
        if revoked > 0 {
            write_crl(ctx, tx, files)?;
            report.say(format!("{revoked} certificate(s) revoked; CRL re-issued"));
        }
        if d.state != DeviceState::Returned && d.state != DeviceState::Wiped {
            tx.set_state(&a.serial, DeviceState::Returned)
                .at("registry")?;
        }
        if let Some(iccid) = tx.retire_sim(&a.serial).at("registry")? {
            report.say(format!("SIM {iccid} listed for deactivation"));
        }

        // The wipe cannot be undone, so it is the last step before commit; a
        // re-run after a failure finds the unit wiped and completes.
        let mut w = WipeReport::default();
        wipe_tree(&dev.root, &mut w).at("wipe")?;
        report.say(format!(
            "wiped {} file(s), {} byte(s) overwritten",
            w.files, w.bytes
        ));
        if d.state != DeviceState::Wiped {
            tx.set_state(&a.serial, DeviceState::Wiped).at("registry")?;
        }
        tx.clear_identity(&a.serial).at("registry")?;
        tx.set_state(&a.serial, target).at("registry")?;
        tx.audit(
            "receive-return",
            Some(&a.serial),
            None,
            &format!("wiped, now {target}"),
        )
        .at("registry")?;
        report.say(format!("{} is now {target}", a.serial));
        Ok(report)
    })
}
