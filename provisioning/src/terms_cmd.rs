//! The commands of the terms of service: customers, contracts, calendar,
//! due dates, invoices, payments, prices, suspension, termination and data
//! deletion. Each prints text, or JSON with `--json`.

use super::{ContractCmd, CustomerCmd, InvoiceCmd, PaymentCmd, PriceCmd};
use osect_provision::calendar::{fmt_date, parse_date, Closed};
use osect_provision::flows::{self, atomically, contract, At, Ctx, FlowError, Report, StepErr};
use osect_provision::registry::{Customer, Tx};
use osect_provision::terms::yen;
use serde::Serialize;
use time::Date;

fn json<T: Serialize>(v: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// Prints a flow's report (as `{"report": [...]}` with `--json`).
pub fn report(r: Result<Report, FlowError>, as_json: bool) -> Result<(), String> {
    let r = r.map_err(|e| e.to_string())?;
    if as_json {
        return json(&serde_json::json!({ "report": r.lines }));
    }
    for l in r.lines {
        println!("{l}");
    }
    Ok(())
}

/// Runs a read in a transaction that changes nothing.
fn read<T>(ctx: &Ctx, f: impl FnOnce(&Tx<'_>) -> Result<T, StepErr>) -> Result<T, String> {
    atomically(ctx, "read", |tx, _| f(tx)).map_err(|e| e.to_string())
}

fn day(s: Option<String>) -> Result<Date, String> {
    s.map_or(Ok(contract::today()), |s| parse_date(&s))
}

pub fn customer(ctx: &Ctx, c: CustomerCmd, as_json: bool) -> Result<(), String> {
    match c {
        CustomerCmd::Add {
            id,
            name,
            billing_contact,
            delivery_contact,
            delivery_address,
            site,
        } => report(
            contract::customer_add(
                ctx,
                &Customer {
                    customer_id: id,
                    name,
                    billing_contact,
                    delivery_contact,
                    delivery_address,
                    sites: site,
                },
            ),
            as_json,
        ),
        CustomerCmd::List => {
            let all = read(ctx, |tx| tx.customers().at("registry"))?;
            if as_json {
                return json(&all);
            }
            for c in all {
                println!(
                    "{:<16} {} sites=[{}]",
                    c.customer_id,
                    c.name,
                    c.sites.join(",")
                );
            }
            Ok(())
        }
        CustomerCmd::Show { id } => {
            let (c, contracts) = read(ctx, |tx| {
                Ok((
                    tx.customer(&id).at("customer")?,
                    tx.contracts(Some(&id)).at("registry")?,
                ))
            })?;
            if as_json {
                return json(&serde_json::json!({ "customer": c, "contracts": contracts }));
            }
            println!("customer {}: {}", c.customer_id, c.name);
            println!("billing contact:  {}", c.billing_contact);
            println!("delivery contact: {}", c.delivery_contact);
            println!("delivery address: {}", c.delivery_address);
            println!("sites: {}", c.sites.join(", "));
            for k in contracts {
                println!(
                    "contract {} {} site={} sensor={}",
                    k.id,
                    k.state,
                    k.site,
                    k.device.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}

pub fn contract(ctx: &Ctx, c: ContractCmd, as_json: bool) -> Result<(), String> {
    match c {
        ContractCmd::Add {
            customer,
            site,
            applied,
            opening,
            device,
        } => {
            let (id, r) = contract::contract_add(
                ctx,
                &contract::NewContract {
                    customer: &customer,
                    site: &site,
                    applied: &applied,
                    requested_opening: &opening,
                    device: device.as_deref(),
                },
            )
            .map_err(|e| e.to_string())?;
            if as_json {
                return json(&serde_json::json!({ "contract": id, "report": r.lines }));
            }
            report(Ok(r), false)
        }
        ContractCmd::Record {
            contract: id,
            event,
            on,
            note,
        } => report(
            contract::contract_record(ctx, id, &event, on.as_deref(), &note),
            as_json,
        ),
        ContractCmd::Device {
            contract: id,
            serial,
        } => report(contract::contract_device(ctx, id, &serial), as_json),
        ContractCmd::Failure {
            contract: id,
            equipment,
            cause,
            on,
            charge,
        } => report(
            contract::failure(
                ctx,
                &contract::Failure {
                    id,
                    equipment: &equipment,
                    cause: &cause,
                    on: on.as_deref(),
                    charge,
                },
            ),
            as_json,
        ),
        ContractCmd::List { customer } => {
            let all = read(ctx, |tx| tx.contracts(customer.as_deref()).at("registry"))?;
            if as_json {
                return json(&all);
            }
            for k in all {
                println!(
                    "{:>5} {:<16} {:<10} site={} sensor={} requested opening {}",
                    k.id,
                    k.customer,
                    k.state,
                    k.site,
                    k.device.as_deref().unwrap_or("-"),
                    k.requested_opening
                );
            }
            Ok(())
        }
        ContractCmd::Show { contract: id } => {
            let v = read(ctx, |tx| {
                let c = tx.contract(id).at("contract")?;
                contract::view(ctx, tx, c)
            })?;
            if as_json {
                return json(&v);
            }
            let c = &v.contract;
            let t = &v.dates;
            println!(
                "contract {} of {} at site {}: {} (sensor {})",
                c.id,
                c.customer,
                c.site,
                c.state,
                c.device.as_deref().unwrap_or("-")
            );
            println!("applied                 {}", c.applied_on);
            println!("requested opening       {}", t.requested_opening);
            println!(
                "delivery deadline       {} (annex 1, 4.1)",
                t.delivery_deadline
            );
            println!(
                "delivery delay          {} day(s), counted from {} (def. 9)",
                t.delivery_delay_days, t.delivery_delay_from
            );
            println!("opening test deadline   {} (art. 3 (2))", t.test_deadline);
            println!(
                "opening-test delay      {} day(s), counted from {} (def. 10)",
                t.test_delay_days, t.test_delay_from
            );
            println!("opening (terms)         {}", t.opening);
            println!(
                "installation deadline   {} (art. 31 (16))",
                t.installation_deadline
            );
            println!(
                "opened                  {}",
                v.opened_on.as_deref().unwrap_or("-")
            );
            println!(
                "billing                 from {} to {}",
                v.opened_on.as_deref().unwrap_or(&t.billing_start),
                v.terminated_on.as_deref().unwrap_or("-")
            );
            println!(
                "possession from         {} (annex 1, 4.2)",
                t.possession_from.as_deref().unwrap_or("-")
            );
            println!(
                "sensor, dongle owned    {} (annex 1, 4.3)",
                v.equipment_owned_from
                    .as_deref()
                    .unwrap_or("- (initial fee not paid)")
            );
            for (iccid, from) in &v.sims_owned {
                println!("SIM {iccid} the customer's from {from} (annex 1, 4.4)");
            }
            for e in &c.events {
                println!(
                    "  {} {:<10} by {:<10} {}",
                    e.on, e.event, e.recorded_by, e.detail
                );
            }
            Ok(())
        }
    }
}

pub fn calendar(
    ctx: &Ctx,
    year: Option<i32>,
    date: Option<String>,
    as_json: bool,
) -> Result<(), String> {
    let cal = contract::calendar(ctx).map_err(|e| e.message)?;
    if let Some(d) = date {
        let d = parse_date(&d)?;
        let before = |n| fmt_date(cal.business_days_before(d, n));
        let v = serde_json::json!({
            "date": fmt_date(d),
            "business_day": cal.is_business_day(d),
            "closed": cal.closed(d).map(|c| c.to_string()),
            "business_days_before": {
                "1": before(1), "2": before(2), "4": before(4), "8": before(8), "9": before(9)
            },
        });
        if as_json {
            return json(&v);
        }
        match cal.closed(d) {
            None => println!("{} is a business day", fmt_date(d)),
            Some(c) => println!("{} is not a business day: {c}", fmt_date(d)),
        }
        for n in [1, 2, 4, 8, 9] {
            println!("{n} business day(s) before: {}", before(n));
        }
        return Ok(());
    }
    let year = year.unwrap_or(contract::today().year());
    let mut days = Vec::new();
    let mut d =
        Date::from_calendar_date(year, time::Month::January, 1).map_err(|e| e.to_string())?;
    while d.year() == year {
        if let Some(c @ (Closed::Holiday(_) | Closed::Operator)) = cal.closed(d) {
            days.push((fmt_date(d), c.to_string()));
        }
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    if as_json {
        return json(&days);
    }
    for (d, why) in days {
        println!("{d} {why}");
    }
    Ok(())
}

pub fn due(ctx: &Ctx, today: Option<String>, days: i64, as_json: bool) -> Result<(), String> {
    let today = day(today)?;
    let list = read(ctx, |tx| contract::due(ctx, tx, today, days))?;
    if as_json {
        return json(&list);
    }
    for d in list {
        println!(
            "{} {:<8} {:<16} {} {}",
            d.date,
            if d.overdue { "MISSED" } else { "due" },
            d.customer,
            d.contract
                .map(|c| format!("contract {c}:"))
                .unwrap_or_default(),
            d.what
        );
    }
    Ok(())
}

pub fn invoice(ctx: &Ctx, c: InvoiceCmd, as_json: bool) -> Result<(), String> {
    let inv = match c {
        InvoiceCmd::Make {
            customer,
            month,
            issued,
        } => flows::billing::make_invoice(ctx, &customer, &month, issued.as_deref())
            .map_err(|e| e.to_string())?,
        InvoiceCmd::Show { invoice, csv, html } => {
            let inv = read(ctx, |tx| tx.invoice(invoice).at("invoice"))?;
            let write = |p: &std::path::Path, text: String| {
                osect_provision::files::write_atomic(p, text.as_bytes(), 0o644)
                    .map_err(|e| e.to_string())
            };
            if let Some(p) = &csv {
                write(p, flows::billing::render_csv(&inv))?;
            }
            if let Some(p) = &html {
                write(p, flows::billing::render_html(&inv))?;
            }
            inv
        }
        InvoiceCmd::List { customer } => {
            let all = read(ctx, |tx| tx.invoices(customer.as_deref()).at("registry"))?;
            if as_json {
                return json(&all);
            }
            for i in all {
                println!(
                    "{:>5} {:<16} {} issued {} due {} total {:>10} paid {:>10}",
                    i.id,
                    i.customer,
                    i.month,
                    i.issued_on,
                    i.due_on,
                    yen(i.total),
                    yen(i.paid)
                );
            }
            return Ok(());
        }
    };
    if as_json {
        return json(&inv);
    }
    print!("{}", flows::billing::render_text(&inv));
    Ok(())
}

pub fn payment(ctx: &Ctx, c: PaymentCmd, as_json: bool) -> Result<(), String> {
    let PaymentCmd::Add {
        invoice,
        yen: y,
        on,
    } = c;
    let p = flows::billing::pay(ctx, invoice, y, &on).map_err(|e| e.to_string())?;
    if as_json {
        return json(&p);
    }
    println!(
        "payment {}: {} yen against invoice {} on {}",
        p.id,
        yen(p.yen),
        p.invoice,
        p.paid_on
    );
    if p.interest_yen > 0 {
        println!(
            "late by {} day(s) past the day after the due date: interest {} yen (14.5% a year, art. 21), billed on the next invoice",
            p.interest_days,
            yen(p.interest_yen)
        );
    }
    Ok(())
}

pub fn price(ctx: &Ctx, c: PriceCmd, as_json: bool) -> Result<(), String> {
    match c {
        PriceCmd::Set { item, value, from } => {
            report(flows::billing::price_set(ctx, &item, value, &from), as_json)
        }
        PriceCmd::List => {
            let rows = read(ctx, |tx| tx.table_rows().at("registry"))?;
            if as_json {
                return json(&rows);
            }
            for (item, from, v) in rows {
                let shown = if item == "tax" {
                    format!("{}.{}%", v / 10, v % 10)
                } else {
                    format!("{} yen", yen(v))
                };
                println!("{item:<8} from {from}: {shown}");
            }
            Ok(())
        }
    }
}

pub fn deletions(ctx: &Ctx, run: bool, today: Option<String>, as_json: bool) -> Result<(), String> {
    if run {
        let (r, unproven) = contract::run_deletions(ctx, day(today)?).map_err(|e| e.to_string())?;
        report(Ok(r), as_json)?;
        if unproven > 0 {
            return Err(format!("{unproven} deletion(s) not proven clean"));
        }
        return Ok(());
    }
    let all = read(ctx, |tx| tx.deletions().at("registry"))?;
    if as_json {
        return json(&all);
    }
    for d in all {
        let state = match (&d.executed_at, d.residue_rows) {
            (None, _) => format!("scheduled for {}", d.scheduled_on),
            (Some(at), Some(0)) => format!("deleted {at}, nothing left"),
            (Some(at), Some(n)) => format!("deleted {at}, {n} row(s) LEFT"),
            (Some(at), None) => format!("deleted {at}, not checked"),
        };
        println!(
            "{:<16} site {:<16} {state} ({})",
            d.customer, d.site, d.reason
        );
    }
    Ok(())
}
