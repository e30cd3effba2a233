//! Customers and the life of their contracts as the terms of service set it:
//! application and acceptance (art. 6), shipping, delivery, installation and
//! the opening test (art. 3, annex 1 4), opening, suspension (art. 15-17),
//! termination (art. 13, 14) and the deletion of the customer's data at the
//! core (art. 25); equipment failures (annex 1, 2); the fleet list the
//! collector reads; and the `due` listing of the terms' deadlines.

use super::{atomically, refuse, write_crl, At, Ctx, FlowError, Report, StepErr};
use crate::calendar::{fmt_date, parse_date, Calendar};
use crate::external::CollectorAdmin;
use crate::files::FileTxn;
use crate::registry::{Contract, ContractState, Customer, DeviceState, Tx};
use crate::terms::{self, TermDates};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use ContractState as S;

/// Today in Japan, the terms' time zone.
pub fn today() -> Date {
    let jst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(jst).date()
}

pub fn calendar(ctx: &Ctx) -> Result<Calendar, StepErr> {
    Calendar::new(&ctx.station.terms.closing_days).at("calendar")
}

/// Names in the fleet list and ids: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'.
pub fn check_name(what: &str, s: &str) -> Result<(), String> {
    if osect_wire::name::valid_name(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a {what} (1 to 64 of A-Z, a-z, 0-9, '-', '_', '.')"
        ))
    }
}

fn date(s: &str) -> Result<Date, StepErr> {
    parse_date(s).at("date")
}

/// Writes the fleet list, if one is configured: one line per device bound
/// to a site of a customer, `<device>\t<site>\t<customer>\t<active|suspended>`.
/// Written through the flow's file journal (temp file, fsync, rename), so it
/// changes with the registry or not at all. Returns the lines written.
pub fn write_fleet_list(
    ctx: &Ctx,
    tx: &Tx<'_>,
    files: &mut FileTxn,
) -> Result<Option<usize>, StepErr> {
    let path = &ctx.station.collector.fleet_list;
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let mut text = String::from(
        "# osect fleet list, written by osect-provision: device, site, customer, state\n",
    );
    let mut n = 0;
    for e in tx.fleet().at("fleet list")? {
        let Some(customer) = e.customer.filter(|c| check_name("customer id", c).is_ok()) else {
            text.push_str(&format!(
                "# {} at site {}: the site has no customer; not listed\n",
                e.device, e.site
            ));
            continue;
        };
        if check_name("serial", &e.device).is_err() || check_name("site id", &e.site).is_err() {
            text.push_str("# a device whose serial or site is not a valid name; not listed\n");
            continue;
        }
        let state = if e.suspended { "suspended" } else { "active" };
        text.push_str(&format!("{}\t{}\t{customer}\t{state}\n", e.device, e.site));
        n += 1;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return refuse(
                "fleet list",
                format!(
                    "the fleet list's directory {} does not exist",
                    dir.display()
                ),
            );
        }
    }
    files.write(path, text.as_bytes(), 0o644).at("fleet list")?;
    Ok(Some(n))
}

fn say_fleet(report: &mut Report, ctx: &Ctx, n: Option<usize>) {
    if let Some(n) = n {
        report.say(format!(
            "fleet list {} written ({n} device(s))",
            ctx.station.collector.fleet_list.display()
        ));
    }
}

pub fn customer_add(ctx: &Ctx, c: &Customer) -> Result<Report, FlowError> {
    atomically(ctx, "customer add", |tx, _| {
        let mut report = Report::default();
        check_name("customer id", &c.customer_id).at("customer")?;
        if c.name.trim().is_empty() {
            return refuse("customer", "a customer needs a name");
        }
        let new = tx.upsert_customer(c).at("registry")?;
        for s in &c.sites {
            tx.attach_site(&c.customer_id, s).at("site")?;
        }
        report.say(format!(
            "customer {} {}",
            c.customer_id,
            if new { "added" } else { "updated" }
        ));
        Ok(report)
    })
}

pub struct NewContract<'a> {
    pub customer: &'a str,
    pub site: &'a str,
    pub applied: &'a str,
    pub requested_opening: &'a str,
    pub device: Option<&'a str>,
}

/// An application for one sensor under a customer (art. 6; more sensors
/// later are more contracts, art. 7). Returns the contract's id.
pub fn contract_add(ctx: &Ctx, a: &NewContract<'_>) -> Result<(i64, Report), FlowError> {
    atomically(ctx, "contract add", |tx, files| {
        let mut report = Report::default();
        tx.customer(a.customer).at("customer")?;
        let site = tx.site(a.site).at("site")?;
        if !site.open {
            return refuse("site", format!("site {} was decommissioned", a.site));
        }
        let applied = date(a.applied)?;
        let requested = date(a.requested_opening)?;
        if requested < applied {
            return refuse(
                "date",
                format!(
                    "the requested opening {} is before the application {}",
                    a.requested_opening, a.applied
                ),
            );
        }
        tx.attach_site(a.customer, a.site).at("site")?;
        let id = tx
            .add_contract(a.customer, a.site, &fmt_date(applied), &fmt_date(requested))
            .at("registry")?;
        report.say(format!(
            "contract {id}: {} at {}, applied {}, requested opening {}",
            a.customer, a.site, a.applied, a.requested_opening
        ));
        if let Some(serial) = a.device {
            set_device(tx, id, serial)?;
            report.say(format!("contract {id}: sensor {serial}"));
        }
        say_fleet(&mut report, ctx, write_fleet_list(ctx, tx, files)?);
        Ok((id, report))
    })
}

fn set_device(tx: &Tx<'_>, id: i64, serial: &str) -> Result<(), StepErr> {
    let d = tx.device(serial).at("device")?;
    let c = tx.contract(id).at("contract")?;
    if matches!(c.state, S::Refused | S::Terminated) {
        return refuse("contract", format!("contract {id} is {}", c.state));
    }
    if let Some(other) = tx.device_contract(serial).at("registry")? {
        if other != id {
            return refuse(
                "device",
                format!("{serial} already serves contract {other}"),
            );
        }
    }
    if let Some(s) = d.site.as_deref().filter(|s| *s != c.site) {
        return refuse(
            "device",
            format!(
                "{serial} is assigned to site {s}, not the contract's site {}",
                c.site
            ),
        );
    }
    tx.set_contract_device(id, Some(serial)).at("registry")?;
    tx.contract_event(
        id,
        "device",
        &fmt_date(today()),
        &format!("sensor {serial}"),
        None,
    )
    .at("registry")
}

/// Ties a sensor to a contract.
pub fn contract_device(ctx: &Ctx, id: i64, serial: &str) -> Result<Report, FlowError> {
    atomically(ctx, "contract device", |tx, files| {
        let mut report = Report::default();
        set_device(tx, id, serial)?;
        report.say(format!("contract {id}: sensor {serial}"));
        say_fleet(&mut report, ctx, write_fleet_list(ctx, tx, files)?);
        Ok(report)
    })
}

/// The events of a contract's life before its opening, the states each may
/// come from and the state it leads to.
const EVENTS: &[(&str, &[ContractState], ContractState)] = &[
    ("accept", &[S::Applied], S::Accepted),
    ("refuse", &[S::Applied], S::Refused),
    ("ship", &[S::Accepted], S::Shipped),
    ("deliver", &[S::Shipped], S::Delivered),
    ("install", &[S::Delivered], S::Installed),
    ("test", &[S::Installed], S::Tested),
    // Billing starts on the opening date installed or not (art. 31 (16)).
    ("open", &[S::Delivered, S::Installed, S::Tested], S::Open),
];

pub fn event_names() -> Vec<&'static str> {
    EVENTS.iter().map(|e| e.0).collect()
}

/// A dated event must not come before the application nor before the
/// contract's previous event.
fn check_order(c: &Contract, on: Date) -> Result<(), StepErr> {
    let applied = date(&c.applied_on)?;
    if on < applied {
        return refuse(
            "date",
            format!(
                "{} is before contract {}'s application on {}",
                fmt_date(on),
                c.id,
                c.applied_on
            ),
        );
    }
    if let Some(last) = c.events.iter().rfind(|e| e.event != "device") {
        if on < date(&last.on)? {
            return refuse(
                "date",
                format!(
                    "{} is before contract {}'s last event ({} on {})",
                    fmt_date(on),
                    c.id,
                    last.event,
                    last.on
                ),
            );
        }
    }
    Ok(())
}

/// The terms' dates of a contract from its recorded events.
pub fn term_dates(cal: &Calendar, c: &Contract) -> Result<TermDates, StepErr> {
    let opt = |e: &str| c.date_of(e).map(date).transpose();
    Ok(terms::term_dates(
        cal,
        date(&c.requested_opening)?,
        opt("deliver")?,
        opt("install")?,
        opt("test")?,
    ))
}

/// Records an event of a contract's life up to its opening. `open` without
/// a date opens on the date the terms give.
pub fn contract_record(
    ctx: &Ctx,
    id: i64,
    event: &str,
    on: Option<&str>,
    note: &str,
) -> Result<Report, FlowError> {
    atomically(ctx, "contract record", |tx, files| {
        let mut report = Report::default();
        let Some((_, from, to)) = EVENTS.iter().find(|e| e.0 == event) else {
            return refuse(
                "event",
                format!(
                    "unknown event {event:?} (one of {})",
                    event_names().join(", ")
                ),
            );
        };
        let c = tx.contract(id).at("contract")?;
        if !from.contains(&c.state) {
            let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
            return refuse(
                "contract",
                format!(
                    "contract {id} is {}; {event} needs it {}",
                    c.state,
                    from.join(" or ")
                ),
            );
        }
        if event == "ship" && c.device.is_none() {
            return refuse(
                "contract",
                format!(
                    "contract {id} has no sensor yet (osect-provision contract device {id} SERIAL)"
                ),
            );
        }
        let on = match on {
            Some(s) => date(s)?,
            None if event == "open" => date(&term_dates(&calendar(ctx)?, &c)?.opening)?,
            None => today(),
        };
        if event == "open" {
            // The opening date is the terms' (art. 3, 31 (16)): it may come
            // before a late installation or test, never before the application.
            if on < date(&c.applied_on)? {
                return refuse(
                    "date",
                    format!(
                        "{} is before contract {id}'s application on {}",
                        fmt_date(on),
                        c.applied_on
                    ),
                );
            }
        } else {
            check_order(&c, on)?;
        }
        let mut detail = note.to_string();
        if event == "open" {
            let t = term_dates(&calendar(ctx)?, &c)?;
            if t.opening != fmt_date(on) {
                detail = format!("{detail} (the terms give {})", t.opening)
                    .trim()
                    .to_string();
            }
        }
        tx.contract_event(id, event, &fmt_date(on), &detail, Some(*to))
            .at("registry")?;
        report.say(format!("contract {id}: {event} on {} ({to})", fmt_date(on)));
        say_fleet(&mut report, ctx, write_fleet_list(ctx, tx, files)?);
        Ok(report)
    })
}

/// Suspension (art. 15-17): the collector refuses the unit's batches (it
/// keeps them in its spool), the certificate stays valid, fees stay due.
pub fn suspend(
    ctx: &Ctx,
    id: i64,
    on: Option<&str>,
    reason: &str,
    notice: Option<&str>,
) -> Result<Report, FlowError> {
    atomically(ctx, "suspend", |tx, files| {
        let mut report = Report::default();
        let c = tx.contract(id).at("contract")?;
        if c.state != S::Open {
            return refuse(
                "contract",
                format!(
                    "contract {id} is {}; only an open contract can be suspended",
                    c.state
                ),
            );
        }
        let on = on.map(date).transpose()?.unwrap_or_else(today);
        check_order(&c, on)?;
        let notice = notice.map(date).transpose()?;
        let detail = match notice {
            Some(n) => format!("{reason}; notified {}", fmt_date(n)),
            None => reason.to_string(),
        };
        tx.contract_event(id, "suspend", &fmt_date(on), &detail, Some(S::Suspended))
            .at("registry")?;
        report.say(format!(
            "contract {id} suspended from {}: {reason}",
            fmt_date(on)
        ));
        say_fleet(&mut report, ctx, write_fleet_list(ctx, tx, files)?);
        Ok(report)
    })
}

pub fn resume(ctx: &Ctx, id: i64, on: Option<&str>) -> Result<Report, FlowError> {
    atomically(ctx, "resume", |tx, files| {
        let mut report = Report::default();
        let c = tx.contract(id).at("contract")?;
        if c.state != S::Suspended {
            return refuse(
                "contract",
                format!("contract {id} is {}, not suspended", c.state),
            );
        }
        let on = on.map(date).transpose()?.unwrap_or_else(today);
        check_order(&c, on)?;
        tx.contract_event(id, "resume", &fmt_date(on), "", Some(S::Open))
            .at("registry")?;
        report.say(format!("contract {id} resumed on {}", fmt_date(on)));
        say_fleet(&mut report, ctx, write_fleet_list(ctx, tx, files)?);
        Ok(report)
    })
}

pub struct Termination<'a> {
    pub id: i64,
    /// `customer` (art. 13) or `operator` (art. 14).
    pub by: &'a str,
    pub reason: &'a str,
    pub notice: &'a str,
    /// The termination day (default: today); billing ends on it.
    pub on: Option<&'a str>,
}

/// Termination: billing ends on the termination day; the unit is taken out
/// of service (certificate revoked, unbound; a unit the customer owns is not
/// expected back); when no other contract remains at the site, the site is
/// closed and the deletion of its stored data scheduled for the next day
/// (art. 25), run by `deletions --run`.
pub fn terminate(ctx: &Ctx, t: &Termination<'_>) -> Result<Report, FlowError> {
    atomically(ctx, "terminate", |tx, files| {
        let mut report = Report::default();
        if !matches!(t.by, "customer" | "operator") {
            return refuse(
                "terminate",
                format!("--by {:?}: customer (art. 13) or operator (art. 14)", t.by),
            );
        }
        let c = tx.contract(t.id).at("contract")?;
        if !matches!(c.state, S::Open | S::Suspended) {
            return refuse(
                "contract",
                format!(
                    "contract {} is {}; only an opened contract can be terminated (before its opening it is refused or its application withdrawn)",
                    t.id, c.state
                ),
            );
        }
        let on = t.on.map(date).transpose()?.unwrap_or_else(today);
        let notice = date(t.notice)?;
        let opened = c.date_of("open").map(date).transpose()?;
        if let Some(o) = opened.filter(|o| on < *o) {
            return refuse(
                "date",
                format!(
                    "the termination {} is before contract {}'s opening on {}",
                    fmt_date(on),
                    t.id,
                    fmt_date(o)
                ),
            );
        }
        check_order(&c, on)?;
        tx.contract_event(
            t.id,
            "terminate",
            &fmt_date(on),
            &format!(
                "by the {}: {}; notified {}",
                t.by,
                t.reason,
                fmt_date(notice)
            ),
            Some(S::Terminated),
        )
        .at("registry")?;
        report.say(format!(
            "contract {} terminated on {} (billing ends that day)",
            t.id,
            fmt_date(on)
        ));
        if let Some(serial) = c.device.as_deref() {
            let d = tx.device(serial).at("device")?;
            if d.site.as_deref() == Some(c.site.as_str()) {
                tx.unbind(serial, &format!("contract {} terminated", t.id))
                    .at("registry")?;
                if !matches!(d.state, DeviceState::Failed)
                    && d.state.next().contains(&DeviceState::Failed)
                {
                    tx.set_state(serial, DeviceState::Failed).at("registry")?;
                }
                let n = tx
                    .revoke_device(serial, &format!("contract {} terminated", t.id))
                    .at("revocation")?;
                write_crl(ctx, tx, files)?;
                report.say(format!(
                    "{serial}: {n} certificate(s) revoked, out of service"
                ));
                // Annex 1, 4.3: a paid-for unit is the customer's.
                report.say(match super::billing::initial_fee_paid_on(tx, c.id)? {
                    Some(d) => format!("{serial} is the customer's since {d}: not expected back"),
                    None => format!("{serial} is not paid for: to come back (receive-return)"),
                });
            }
        }
        let others = tx
            .contracts(Some(&c.customer))
            .at("registry")?
            .into_iter()
            .filter(|o| o.site == c.site && !matches!(o.state, S::Terminated | S::Refused))
            .count();
        if others == 0 {
            let del = on + Duration::days(1);
            tx.close_site(&c.site).at("registry")?;
            tx.schedule_deletion(
                &c.customer,
                &c.site,
                &fmt_date(del),
                &format!("contract {} terminated", t.id),
            )
            .at("registry")?;
            report.say(format!(
                "site {} closed; its stored data is to be deleted on {} (osect-provision deletions --run)",
                c.site,
                fmt_date(del)
            ));
        }
        say_fleet(&mut report, ctx, write_fleet_list(ctx, tx, files)?);
        Ok(report)
    })
}

/// Runs the deletions due by `today` at the collector and proves each with
/// the collector's residue count. Returns the report and how many were left
/// unproven (rows left, or no residue check available).
pub fn run_deletions(ctx: &Ctx, today: Date) -> Result<(Report, usize), FlowError> {
    atomically(ctx, "deletions", |tx, _| {
        let mut report = Report::default();
        let mut unproven = 0;
        let admin = CollectorAdmin {
            cfg: &ctx.station.collector,
        };
        for d in tx.deletions().at("registry")? {
            if d.executed_at.is_some() && d.residue_rows == Some(0) {
                continue;
            }
            if date(&d.scheduled_on)? > today {
                continue;
            }
            let out = admin
                .delete_site(&ctx.operator, &d.site)
                .at("delete site data")?;
            match admin.residue(&d.site).at("residue check")? {
                Some((rows, json)) => {
                    tx.record_deletion(d.id, &out, Some(rows), &json)
                        .at("registry")?;
                    if rows == 0 {
                        report.say(format!(
                            "site {} ({}): deleted, nothing left in the store",
                            d.site, d.customer
                        ));
                    } else {
                        unproven += 1;
                        report.say(format!(
                            "site {} ({}): NOT CLEAN, {rows} row(s) left: {json}",
                            d.site, d.customer
                        ));
                    }
                }
                None => {
                    unproven += 1;
                    tx.record_deletion(d.id, &out, None, "the collector has no residue command")
                        .at("registry")?;
                    report.say(format!(
                        "site {} ({}): deleted ({out}); NOT PROVEN: the collector has no residue command",
                        d.site, d.customer
                    ));
                }
            }
        }
        Ok((report, unproven))
    })
}

/// An equipment failure (annex 1, 2) and what it costs the customer.
pub struct Failure<'a> {
    pub id: i64,
    /// `sensor`, `dongle` or `sim`.
    pub equipment: &'a str,
    /// `initial-defect`, `natural` or `customer`.
    pub cause: &'a str,
    pub on: Option<&'a str>,
    /// The repair cost when the customer caused a sensor failure (2.4).
    pub charge: Option<i64>,
}

pub fn failure(ctx: &Ctx, f: &Failure<'_>) -> Result<Report, FlowError> {
    atomically(ctx, "contract failure", |tx, _| {
        let mut report = Report::default();
        if !matches!(f.cause, "initial-defect" | "natural" | "customer") {
            return refuse(
                "failure",
                format!("--cause {:?}: initial-defect, natural or customer", f.cause),
            );
        }
        let c = tx.contract(f.id).at("contract")?;
        let on = f.on.map(date).transpose()?.unwrap_or_else(today);
        check_order(&c, on)?;
        let Some(delivered) = c.date_of("deliver").map(date).transpose()? else {
            return refuse(
                "contract",
                format!("contract {} has no delivered equipment yet", f.id),
            );
        };
        let charge: Option<(i64, String)> = match (f.equipment, f.cause) {
            // 2.5: free for an initial defect or a natural failure within a
            // year of delivery, else bought again.
            ("dongle", "initial-defect" | "natural") if on <= delivered + Duration::days(365) => {
                None
            }
            ("dongle", _) => {
                let price = tx.table("dongle").at("price")?.on(on);
                let Some(p) = price else {
                    return refuse("price", "the price table has no dongle price (osect-provision price set --item dongle)");
                };
                Some((
                    p,
                    format!(
                        "USB dongle replaced ({}, delivered {})",
                        f.cause,
                        fmt_date(delivered)
                    ),
                ))
            }
            // 2.6: always free; the old SIM passes to the customer (4.4).
            ("sim", _) => None,
            ("sensor", "customer") => {
                match f.charge {
                    Some(y) if y >= 0 => Some((
                        y,
                        "sensor repair, failure caused by the customer (annex 1, 2.4)".into(),
                    )),
                    _ => return refuse(
                        "failure",
                        "a sensor failure the customer caused needs --charge YEN (annex 1, 2.4)",
                    ),
                }
            }
            ("sensor", _) => None,
            (other, _) => {
                return refuse(
                    "failure",
                    format!("--equipment {other:?}: sensor, dongle or sim"),
                )
            }
        };
        let how = match (f.equipment, &charge) {
            ("sim", _) => "replaced free; the old SIM now belongs to the customer, who disposes of it (annex 1, 2.6, 4.4)".to_string(),
            ("sensor", None) => "replaced by advance send-back at the operator's cost (annex 1, 2.1, 2.2): osect-provision swap".to_string(),
            (_, None) => "replaced free (annex 1, 2.5)".to_string(),
            (_, Some((y, _))) => format!("charged {} yen", terms::yen(*y)),
        };
        tx.contract_event(
            f.id,
            "failure",
            &fmt_date(on),
            &format!("{} ({}): {how}", f.equipment, f.cause),
            None,
        )
        .at("registry")?;
        if let Some((y, what)) = &charge {
            tx.add_charge(f.id, &fmt_date(on), f.equipment, *y, what)
                .at("registry")?;
        }
        report.say(format!(
            "contract {}: {} failure ({}) on {}: {how}",
            f.id,
            f.equipment,
            f.cause,
            fmt_date(on)
        ));
        Ok(report)
    })
}

/// A contract as `contract show` gives it: the record, the terms' dates and
/// who owns what.
#[derive(Debug, Serialize)]
pub struct ContractView {
    #[serde(flatten)]
    pub contract: Contract,
    pub dates: TermDates,
    pub opened_on: Option<String>,
    pub terminated_on: Option<String>,
    /// Sensor and dongle owned by the customer from the payment that
    /// completed the initial fee (annex 1, 4.3).
    pub equipment_owned_from: Option<String>,
    /// SIMs taken out of the contract's sensor: the customer's from then on
    /// (annex 1, 4.4).
    pub sims_owned: Vec<(String, String)>,
}

pub fn view(ctx: &Ctx, tx: &Tx<'_>, c: Contract) -> Result<ContractView, StepErr> {
    let dates = term_dates(&calendar(ctx)?, &c)?;
    let equipment_owned_from = super::billing::initial_fee_paid_on(tx, c.id)?;
    let mut sims_owned = Vec::new();
    if let (Some(dev), Some(from)) = (c.device.as_deref(), c.date_of("deliver")) {
        for s in tx.sims_of(dev).at("registry")? {
            if let Some(r) = s.removed_at.filter(|r| r.as_str() >= from) {
                sims_owned.push((s.iccid, r.chars().take(10).collect()));
            }
        }
    }
    Ok(ContractView {
        opened_on: c.date_of("open").map(str::to_string),
        terminated_on: c.date_of("terminate").map(str::to_string),
        contract: c,
        dates,
        equipment_owned_from,
        sims_owned,
    })
}

/// One deadline in the `due` listing.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Due {
    pub date: String,
    pub overdue: bool,
    pub customer: String,
    pub contract: Option<i64>,
    pub what: String,
}

/// The terms' deadlines falling by `today` + `days`, and those missed.
pub fn due(ctx: &Ctx, tx: &Tx<'_>, today: Date, days: i64) -> Result<Vec<Due>, StepErr> {
    let horizon = today + Duration::days(days);
    let cal = calendar(ctx)?;
    let mut out = Vec::new();
    let mut add = |d: Date, customer: &str, contract: Option<i64>, what: String| {
        if d <= horizon {
            out.push(Due {
                date: fmt_date(d),
                overdue: d < today,
                customer: customer.to_string(),
                contract,
                what,
            });
        }
    };
    for c in tx.contracts(None).at("registry")? {
        let t = term_dates(&cal, &c)?;
        let id = Some(c.id);
        let before_delivery = matches!(c.state, S::Applied | S::Accepted | S::Shipped);
        if before_delivery {
            add(date(&t.delivery_deadline)?, &c.customer, id, format!(
                "delivery to the customer by {} (9 business days before the requested opening {}); later moves the opening (def. 9, art. 3 (1))",
                t.delivery_deadline, t.requested_opening))
        }
        if before_delivery || c.state == S::Delivered {
            add(date(&t.installation_deadline)?, &c.customer, id, format!(
                "installation by the customer by {} (4 business days before the opening {}, art. 31 (16))",
                t.installation_deadline, t.opening))
        }
        if before_delivery || matches!(c.state, S::Delivered | S::Installed) {
            add(date(&t.test_deadline)?, &c.customer, id, format!(
                "opening test by {} (2 business days before the requested opening); later moves the opening (def. 10, art. 3 (2))",
                t.test_deadline))
        }
        if matches!(c.state, S::Delivered | S::Installed | S::Tested) {
            add(date(&t.opening)?, &c.customer, id, format!(
                "opening on {}: billing starts whether installed or not (art. 31 (16)); record it with `contract record {} open`",
                t.opening, c.id))
        }
    }
    for inv in tx.invoices(None).at("registry")? {
        let left = inv.total - inv.paid;
        if left > 0 {
            let due_on = date(&inv.due_on)?;
            let (days, interest) = terms::late_interest(left, due_on, today + Duration::days(1));
            let extra = if days > 0 {
                format!(
                    "; late-payment interest so far {} yen for {days} day(s) (art. 21)",
                    terms::yen(interest)
                )
            } else {
                String::new()
            };
            add(
                due_on,
                &inv.customer,
                None,
                format!(
                    "invoice {} ({}) due {}: {} yen unpaid{extra}",
                    inv.id,
                    inv.month,
                    inv.due_on,
                    terms::yen(left)
                ),
            )
        }
    }
    for d in tx.deletions().at("registry")? {
        if d.executed_at.is_none() || d.residue_rows != Some(0) {
            add(date(&d.scheduled_on)?, &d.customer, None, format!(
                "deletion of the stored data of site {} (art. 25): osect-provision deletions --run", d.site))
        }
    }
    out.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(out)
}
