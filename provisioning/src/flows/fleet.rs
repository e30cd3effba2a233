//! Sites and the devices serving them: `site add`, `assign`, `ship`,
//! `activate`, `swap` (send-back replacement) and `decommission`.

use super::contract::{today, write_fleet_list};
use super::{atomically, refuse, write_crl, At, Ctx, FlowError, Report, StepErr};
use crate::calendar::fmt_date;
use crate::device::{self, DeviceDir};
use crate::external::CollectorAdmin;
use crate::files::FileTxn;
use crate::registry::{ContractState, Device, DeviceState, Site, Tx};
use std::path::Path;

/// Site ids: letters, digits, '-', '_' and '.' (as in the fleet list).
pub fn check_site_id(site: &str) -> Result<(), String> {
    super::contract::check_name("site id", site)
}

/// Creates a site or updates its settings (devices get them at their next
/// `assign`).
pub fn site_add(ctx: &Ctx, site: &Site) -> Result<Report, FlowError> {
    atomically(ctx, "site add", |tx, _| {
        let mut report = Report::default();
        check_site_id(&site.site_id).at("site")?;
        if site.interface.is_empty() || site.core_endpoint.is_empty() {
            return refuse(
                "site",
                "a site needs a monitored interface and a core endpoint",
            );
        }
        match tx.site(&site.site_id) {
            Ok(old) if !old.open => {
                return refuse("site", format!("site {} was decommissioned", site.site_id))
            }
            Ok(old) if &old == site => {
                report.say(format!("site {} already has these settings", site.site_id));
                return Ok(report);
            }
            _ => {}
        }
        tx.upsert_site(site).at("registry")?;
        report.say(format!("site {} recorded", site.site_id));
        Ok(report)
    })
}

fn open_site(tx: &Tx<'_>, site: &str) -> Result<Site, StepErr> {
    let s = tx.site(site).at("site")?;
    if !s.open {
        return refuse("site", format!("site {site} was decommissioned"));
    }
    Ok(s)
}

/// Writes the site's settings into the unit's agent config.
fn write_site_config(files: &mut FileTxn, dev: &DeviceDir, site: &Site) -> Result<(), StepErr> {
    let mut cfg = dev.read_agent_config().at("config")?;
    device::apply_site(&mut cfg, site);
    let text = toml::to_string(&cfg).at("config")?;
    files
        .write(&dev.agent_config(), text.as_bytes(), 0o644)
        .at("config")
}

/// Whether the unit's config already carries the site's settings.
fn has_site_config(dev: &DeviceDir, site: &Site) -> bool {
    let Ok(mut cfg) = dev.read_agent_config() else {
        return false;
    };
    let before = cfg.clone();
    device::apply_site(&mut cfg, site);
    cfg == before
}

/// Binds a provisioned unit to a site and writes the site's settings to it.
pub fn assign(
    ctx: &Ctx,
    serial: &str,
    site_id: &str,
    device_dir: &Path,
) -> Result<Report, FlowError> {
    atomically(ctx, "assign", |tx, files| {
        let mut report = Report::default();
        let d = tx.device(serial).at("device")?;
        let site = open_site(tx, site_id)?;
        // A unit tied to a contract serves that contract's site only: the
        // fleet list would otherwise put one customer's unit under another's.
        if let Some(id) = tx.device_contract(serial).at("registry")? {
            let c = tx.contract(id).at("registry")?;
            if c.site != site_id {
                return refuse(
                    "device",
                    format!(
                        "{serial} serves contract {id} of {} at site {}, not {site_id}",
                        c.customer, c.site
                    ),
                );
            }
        }
        let dev = DeviceDir::new(device_dir);
        dev.verify(&d).at("device identity")?;
        match d.site.as_deref() {
            Some(s) if s == site_id && has_site_config(&dev, &site) => {
                report.say(format!(
                    "{serial} is already assigned to {site_id}; nothing to do"
                ));
                return Ok(report);
            }
            Some(s) if s != site_id => {
                return refuse(
                    "device",
                    format!("{serial} is assigned to site {s}, not {site_id}"),
                )
            }
            _ => {}
        }
        if d.state != DeviceState::Provisioned {
            return refuse(
                "device",
                format!(
                    "{serial} is {}; only a provisioned unit can be assigned",
                    d.state
                ),
            );
        }
        write_site_config(files, &dev, &site)?;
        if d.site.is_none() {
            tx.bind(serial, site_id).at("registry")?;
        }
        report.say(format!(
            "{serial} assigned to {site_id}; settings written to {}",
            dev.agent_config().display()
        ));
        write_fleet_list(ctx, tx, files)?;
        Ok(report)
    })
}

/// Marks a unit with a site as shipped (`ship`) or as working there (`activate`).
pub fn advance(ctx: &Ctx, serial: &str, to: DeviceState) -> Result<Report, FlowError> {
    let flow = if to == DeviceState::Shipped {
        "ship"
    } else {
        "activate"
    };
    atomically(ctx, flow, |tx, _| {
        let mut report = Report::default();
        let d = tx.device(serial).at("device")?;
        if d.state == to {
            report.say(format!("{serial} is already {to}; nothing to do"));
            return Ok(report);
        }
        let Some(site) = d.site.as_deref() else {
            return refuse("device", format!("{serial} has no site; assign it first"));
        };
        tx.set_state(serial, to).at("registry")?;
        report.say(format!("{serial} ({site}) is now {to}"));
        // Shipping an accepted contract's sensor is the contract's shipping.
        if to == DeviceState::Shipped {
            if let Some(id) = tx.device_contract(serial).at("registry")? {
                if tx.contract(id).at("registry")?.state == ContractState::Accepted {
                    let on = fmt_date(today());
                    tx.contract_event(
                        id,
                        "ship",
                        &on,
                        "recorded by ship",
                        Some(ContractState::Shipped),
                    )
                    .at("registry")?;
                    report.say(format!("contract {id}: shipped on {on}"));
                }
            }
        }
        Ok(report)
    })
}

pub struct SwapArgs<'a> {
    pub site: &'a str,
    pub replacement: &'a str,
    pub failed: Option<&'a str>,
    pub device_dir: &'a Path,
    pub reason: &'a str,
    /// The repair cost, when the customer caused the failure (annex 1, 2.4).
    pub customer_caused: Option<i64>,
}

/// Which unit serving the site is being replaced.
fn failing_unit(tx: &Tx<'_>, a: &SwapArgs<'_>) -> Result<Device, StepErr> {
    let serving: Vec<Device> = tx
        .site_devices(a.site)
        .at("registry")?
        .into_iter()
        .filter(|d| matches!(d.state, DeviceState::Shipped | DeviceState::Active))
        .collect();
    if let Some(f) = a.failed {
        if let Some(d) = serving.iter().find(|d| d.serial == f) {
            return Ok(d.clone());
        }
        let d = tx.device(f).at("device")?;
        let last = tx.last_assignment(f).at("registry")?;
        return match last {
            Some(l) if l.site == a.site && l.ended_at.is_some() => refuse(
                "device",
                format!(
                    "{f} no longer serves {}: it was taken out on {} ({}); this failure was already handled",
                    a.site,
                    l.ended_at.unwrap_or_default(),
                    l.end_reason.unwrap_or_default()
                ),
            ),
            _ => refuse("device", format!("{f} ({}) does not serve site {}", d.state, a.site)),
        };
    }
    match serving.as_slice() {
        [] => refuse(
            "site",
            format!("site {} has no unit in service to replace", a.site),
        ),
        [one] => Ok(one.clone()),
        many => refuse(
            "site",
            format!(
                "site {} has {} units in service ({}); name the failed one with --failed",
                a.site,
                many.len(),
                many.iter()
                    .map(|d| d.serial.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

/// Send-back replacement: the spare takes the site's settings and place, the
/// failed unit's certificate is revoked at once (new CRL), and the failed
/// unit waits for its return.
pub fn swap(ctx: &Ctx, a: &SwapArgs<'_>) -> Result<Report, FlowError> {
    atomically(ctx, "swap", |tx, files| {
        let mut report = Report::default();
        let site = open_site(tx, a.site)?;
        let spare = tx.device(a.replacement).at("replacement")?;
        if spare.site.as_deref() == Some(a.site) {
            return refuse(
                "replacement",
                format!(
                    "{} already serves site {}; nothing to swap",
                    a.replacement, a.site
                ),
            );
        }
        let failed = failing_unit(tx, a)?;
        if spare.state != DeviceState::Provisioned || spare.site.is_some() {
            let at = spare
                .site
                .map(|s| format!(", assigned to {s}"))
                .unwrap_or_default();
            return refuse(
                "replacement",
                format!(
                    "{} is not a spare in stock (state {}{at}); a spare is a provisioned unit without a site",
                    a.replacement, spare.state
                ),
            );
        }
        let dev = DeviceDir::new(a.device_dir);
        dev.verify(&spare).at("replacement identity")?;
        write_site_config(files, &dev, &site)?;

        let why = format!("failed ({}), replaced by {}", a.reason, a.replacement);
        tx.unbind(&failed.serial, &why).at("registry")?;
        tx.set_state(&failed.serial, DeviceState::Failed)
            .at("registry")?;
        let n = tx
            .revoke_device(
                &failed.serial,
                &format!("replaced by {} at {}", a.replacement, a.site),
            )
            .at("revocation")?;
        tx.bind(a.replacement, a.site).at("registry")?;
        tx.set_state(a.replacement, DeviceState::Shipped)
            .at("registry")?;
        let listed = write_crl(ctx, tx, files)?;
        // The contract the failed unit served goes on with the spare.
        if let Some(id) = tx.device_contract(&failed.serial).at("registry")? {
            tx.set_contract_device(id, Some(a.replacement))
                .at("registry")?;
            let on = fmt_date(today());
            let cause = if a.customer_caused.is_some() {
                "caused by the customer"
            } else {
                "at the operator's cost"
            };
            tx.contract_event(
                id,
                "swap",
                &on,
                &format!(
                    "sensor {} replaced by {} (advance send-back, {cause}): {}",
                    failed.serial, a.replacement, a.reason
                ),
                None,
            )
            .at("registry")?;
            if let Some(yen) = a.customer_caused {
                tx.add_charge(
                    id,
                    &on,
                    "sensor",
                    yen,
                    &format!(
                        "sensor {} repair, failure caused by the customer (annex 1, 2.4)",
                        failed.serial
                    ),
                )
                .at("registry")?;
            }
            report.say(format!("contract {id} goes on with {}", a.replacement));
        }
        write_fleet_list(ctx, tx, files)?;
        tx.audit(
            "swap",
            Some(a.replacement),
            Some(a.site),
            &format!("replaces {}: {}", failed.serial, a.reason),
        )
        .at("registry")?;
        report.say(format!(
            "{} takes over site {} from {}; settings written to {}",
            a.replacement,
            a.site,
            failed.serial,
            dev.agent_config().display()
        ));
        report.say(format!(
            "{}: {n} certificate(s) revoked; CRL re-issued with {listed} entries",
            failed.serial
        ));
        report.say(format!(
            "{} is failed and awaits its return (receive-return)",
            failed.serial
        ));
        Ok(report)
    })
}

/// Contract end: the site's units are revoked and taken out of service
/// (wiped when they come back), and the collector deletes the site's data.
pub fn decommission(ctx: &Ctx, site_id: &str) -> Result<Report, FlowError> {
    atomically(ctx, "decommission", |tx, files| {
        let mut report = Report::default();
        let site = tx.site(site_id).at("site")?;
        if !site.open {
            report.say(format!(
                "site {site_id} is already decommissioned; nothing to do"
            ));
            return Ok(report);
        }
        // A customer's site ends with its contracts (`terminate`), which
        // ends their billing and schedules the deletion under the terms.
        let live: Vec<String> = tx
            .contracts(None)
            .at("registry")?
            .into_iter()
            .filter(|c| {
                c.site == site_id
                    && !matches!(c.state, ContractState::Refused | ContractState::Terminated)
            })
            .map(|c| format!("{} ({})", c.id, c.state))
            .collect();
        if !live.is_empty() {
            return refuse(
                "site",
                format!(
                    "site {site_id} still has contract(s) {}: terminate them (osect-provision terminate)",
                    live.join(", ")
                ),
            );
        }
        for d in tx.site_devices(site_id).at("registry")? {
            tx.unbind(&d.serial, "site decommissioned").at("registry")?;
            if d.state != DeviceState::Failed {
                tx.set_state(&d.serial, DeviceState::Failed)
                    .at("registry")?;
            }
            let n = tx
                .revoke_device(&d.serial, &format!("site {site_id} decommissioned"))
                .at("revocation")?;
            report.say(format!(
                "{}: {n} certificate(s) revoked; to be wiped on return",
                d.serial
            ));
        }
        write_crl(ctx, tx, files)?;
        tx.close_site(site_id).at("registry")?;
        write_fleet_list(ctx, tx, files)?;
        tx.audit(
            "decommission",
            None,
            Some(site_id),
            "devices revoked, data deletion requested",
        )
        .at("registry")?;
        // Last, because it cannot be undone; the collector's deletion is
        // idempotent, so a re-run after a later failure is safe.
        let out = CollectorAdmin {
            cfg: &ctx.station.collector,
        }
        .delete_site(&ctx.operator, site_id)
        .at("delete site data")?;
        report.say(format!("collector: {out}"));
        report.say(format!("site {site_id} decommissioned"));
        Ok(report)
    })
}
