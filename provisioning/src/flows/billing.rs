//! Billing per customer per month (art. 18-21, 料金表): the initial fee in
//! the month of the opening, the monthly fee pro-rated in the months of the
//! opening and the termination, equipment charges, late-payment interest on
//! earlier invoices, and consumption tax at the rate in force. Invoices are
//! stored as issued and never recomputed; payments are recorded against them.

use super::{atomically, refuse, At, Ctx, FlowError, Report, StepErr};
use crate::calendar::{fmt_date, parse_date};
use crate::registry::{Invoice, InvoiceLine, Payment, Tx};
use crate::terms::{self, first_of_month, last_of_month, yen};
use std::collections::BTreeMap;
use time::{Date, Duration};

/// Items of the price table; `tax` is the consumption tax in per mille.
pub const ITEMS: &[&str] = &["initial", "monthly", "dongle", "tax"];

pub fn price_set(ctx: &Ctx, item: &str, value: i64, from: &str) -> Result<Report, FlowError> {
    atomically(ctx, "price set", |tx, _| {
        let mut report = Report::default();
        if !ITEMS.contains(&item) {
            return refuse(
                "price",
                format!("unknown item {item:?} (one of {})", ITEMS.join(", ")),
            );
        }
        if value < 0 {
            return refuse("price", format!("{item}: {value} is negative"));
        }
        let from = fmt_date(parse_date(from).at("date")?);
        tx.set_table(item, &from, value).at("registry")?;
        report.say(format!("{item} = {value} from {from}"));
        Ok(report)
    })
}

fn month_first(month: &str) -> Result<Date, StepErr> {
    let d = parse_date(&format!("{month}-01"))
        .map_err(|_| format!("{month:?} is not a billing month (YYYY-MM)"))
        .at("month")?;
    Ok(first_of_month(d.year(), d.month()))
}

/// Consumption tax over the lines: per rate, on the sum of that rate's
/// lines, the fraction dropped.
fn tax_of(lines: &[InvoiceLine]) -> i64 {
    let mut by_rate: BTreeMap<i64, i64> = BTreeMap::new();
    for l in lines {
        *by_rate.entry(l.tax_permille).or_default() += l.yen;
    }
    by_rate.iter().map(|(r, sum)| terms::tax(*sum, *r)).sum()
}

/// Issues the invoice of a customer for a billing month (`YYYY-MM`), due at
/// the end of the following month.
pub fn make_invoice(
    ctx: &Ctx,
    customer: &str,
    month: &str,
    issued: Option<&str>,
) -> Result<Invoice, FlowError> {
    atomically(ctx, "invoice", |tx, _| {
        tx.customer(customer).at("customer")?;
        let first = month_first(month)?;
        let last = last_of_month(first);
        let month = format!("{:04}-{:02}", first.year(), u8::from(first.month()));
        if let Some(id) = tx.invoice_for(customer, &month).at("registry")? {
            return refuse(
                "invoice",
                format!("invoice {id} for {customer} {month} was already issued"),
            );
        }
        let issued = issued
            .map(|s| parse_date(s).at("date"))
            .transpose()?
            .unwrap_or_else(super::contract::today);
        let initial = tx.table("initial").at("price")?;
        let monthly = tx.table("monthly").at("price")?;
        let tax = tx.table("tax").at("tax")?;
        let rate = |d: Date| tax.on(d).unwrap_or(0);
        let mut lines = Vec::new();
        let mut push = |contract: Option<i64>,
                        kind: &str,
                        description: String,
                        yen: i64,
                        tax_permille: i64| {
            lines.push(InvoiceLine {
                line: lines.len() as i64 + 1,
                contract,
                kind: kind.into(),
                description,
                yen,
                tax_permille,
            })
        };
        for c in tx.contracts(Some(customer)).at("registry")? {
            let Some(open) = c.date_of("open").map(parse_date).transpose().at("date")? else {
                continue;
            };
            let end = c
                .date_of("terminate")
                .map(parse_date)
                .transpose()
                .at("date")?;
            let sensor = c.device.as_deref().unwrap_or("-");
            if (first..=last).contains(&open) {
                let Some(p) = initial.on(open) else {
                    return refuse(
                        "price",
                        format!("no initial fee in the price table on {}", fmt_date(open)),
                    );
                };
                push(
                    Some(c.id),
                    "initial",
                    format!(
                        "initial fee, contract {} (sensor {sensor}, site {}), opened {}",
                        c.id,
                        c.site,
                        fmt_date(open)
                    ),
                    p,
                    rate(open),
                );
            }
            let Some(f) = terms::monthly_fee(&monthly, first, open, end) else {
                continue;
            };
            let mut desc = format!(
                "monthly fee, contract {} (sensor {sensor}, site {}), {}",
                c.id, c.site, f.detail
            );
            if let Some(s) = suspended_in(&c, first, last) {
                desc.push_str(&format!(" [suspended {s}: fees due, art. 19-2]"));
            }
            push(Some(c.id), "monthly", desc, f.yen, rate(open.max(first)));
        }
        let charges = tx.open_charges(customer, &fmt_date(last)).at("registry")?;
        for ch in &charges {
            let on = parse_date(&ch.on).at("date")?;
            push(
                Some(ch.contract),
                "charge",
                format!("{} on {}, contract {}", ch.detail, ch.on, ch.contract),
                ch.yen,
                rate(on),
            );
        }
        let interest = tx.open_interest(customer).at("registry")?;
        for p in &interest {
            // Interest is not a fee for a service: no consumption tax.
            push(None, "interest", format!("late-payment interest, invoice {}: {} yen paid {} ({} day(s) at 14.5% a year, art. 21)", p.invoice, yen(p.yen), p.paid_on, p.interest_days), p.interest_yen, 0);
        }
        if lines.is_empty() {
            return refuse("invoice", format!("nothing to bill {customer} for {month}"));
        }
        let subtotal: i64 = lines.iter().map(|l| l.yen).sum();
        let tax = tax_of(&lines);
        let next = last + Duration::days(1);
        let mut inv = Invoice {
            id: 0,
            customer: customer.into(),
            month,
            issued_on: fmt_date(issued),
            due_on: fmt_date(last_of_month(next)),
            subtotal,
            tax,
            total: subtotal + tax,
            paid: 0,
            lines,
            payments: Vec::new(),
        };
        let charge_ids: Vec<i64> = charges.iter().map(|c| c.id).collect();
        let interest_ids: Vec<i64> = interest.iter().map(|p| p.id).collect();
        inv.id = tx
            .insert_invoice(&inv, &charge_ids, &interest_ids)
            .at("registry")?;
        Ok(inv)
    })
}

/// The suspension periods of a contract overlapping a month, as text.
fn suspended_in(c: &crate::registry::Contract, first: Date, last: Date) -> Option<String> {
    let (first, last) = (fmt_date(first), fmt_date(last));
    let mut parts = Vec::new();
    let mut from: Option<&str> = None;
    for e in &c.events {
        match e.event.as_str() {
            "suspend" => from = Some(&e.on),
            "resume" | "terminate" => {
                if let Some(f) = from.take() {
                    if f <= last.as_str() && e.on.as_str() >= first.as_str() {
                        parts.push(format!("{f}..{}", e.on));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(f) = from.filter(|f| *f <= last.as_str()) {
        parts.push(format!("from {f}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Records a payment against an invoice, with the late-payment interest it
/// incurs (billed on the customer's next invoice).
pub fn pay(ctx: &Ctx, invoice: i64, amount: i64, on: &str) -> Result<Payment, FlowError> {
    atomically(ctx, "payment", |tx, _| {
        if amount <= 0 {
            return refuse(
                "payment",
                format!("a payment is a positive amount of yen, not {amount}"),
            );
        }
        let inv = tx.invoice(invoice).at("invoice")?;
        let paid_on = parse_date(on).at("date")?;
        if fmt_date(paid_on) < inv.issued_on {
            return refuse(
                "date",
                format!(
                    "{} is before invoice {invoice} was issued ({})",
                    fmt_date(paid_on),
                    inv.issued_on
                ),
            );
        }
        let left = inv.total - inv.paid;
        if amount > left {
            return refuse(
                "payment",
                format!(
                    "{} yen exceeds what is left of invoice {invoice}: {} yen",
                    yen(amount),
                    yen(left)
                ),
            );
        }
        let due = parse_date(&inv.due_on).at("date")?;
        let (days, interest) = terms::late_interest(amount, due, paid_on);
        let mut p = Payment {
            id: 0,
            invoice,
            paid_on: fmt_date(paid_on),
            yen: amount,
            interest_days: days,
            interest_yen: interest,
        };
        p.id = tx.add_payment(&p).at("registry")?;
        Ok(p)
    })
}

/// The day the initial fee of a contract was paid in full: the sensor and
/// dongle are the customer's from then (annex 1, 4.3).
pub fn initial_fee_paid_on(tx: &Tx<'_>, contract: i64) -> Result<Option<String>, StepErr> {
    for inv in tx.invoices(None).at("registry")? {
        if !inv
            .lines
            .iter()
            .any(|l| l.kind == "initial" && l.contract == Some(contract))
        {
            continue;
        }
        let mut sum = 0;
        for p in &inv.payments {
            sum += p.yen;
            if sum >= inv.total {
                return Ok(Some(p.paid_on.clone()));
            }
        }
    }
    Ok(None)
}

/// The invoice as text.
pub fn render_text(inv: &Invoice) -> String {
    let mut s = format!(
        "INVOICE {}\ncustomer: {}\nbilling month: {}\nissued: {}\ndue: {}\n\n",
        inv.id, inv.customer, inv.month, inv.issued_on, inv.due_on
    );
    for l in &inv.lines {
        s.push_str(&format!(
            "{:>3}  {:>12}  tax {:>2}%  {}\n",
            l.line,
            yen(l.yen),
            l.tax_permille / 10,
            l.description
        ));
    }
    s.push_str(&format!(
        "\nsubtotal {:>12} yen\ntax      {:>12} yen\ntotal    {:>12} yen\n",
        yen(inv.subtotal),
        yen(inv.tax),
        yen(inv.total)
    ));
    for p in &inv.payments {
        s.push_str(&format!("paid {} {:>12} yen", p.paid_on, yen(p.yen)));
        if p.interest_yen > 0 {
            s.push_str(&format!(
                " (late {} day(s): interest {} yen)",
                p.interest_days,
                yen(p.interest_yen)
            ));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "outstanding {:>9} yen\n",
        yen(inv.total - inv.paid)
    ));
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The invoice as CSV: one row per line, then the subtotal, tax and total.
pub fn render_csv(inv: &Invoice) -> String {
    let mut s = String::from(
        "invoice,customer,month,issued,due,line,contract,kind,description,yen,tax_percent\n",
    );
    let head = format!(
        "{},{},{},{},{}",
        inv.id,
        csv_field(&inv.customer),
        inv.month,
        inv.issued_on,
        inv.due_on
    );
    for l in &inv.lines {
        s.push_str(&format!(
            "{head},{},{},{},{},{},{}\n",
            l.line,
            l.contract.map(|c| c.to_string()).unwrap_or_default(),
            l.kind,
            csv_field(&l.description),
            l.yen,
            l.tax_permille / 10
        ));
    }
    for (k, v) in [
        ("subtotal", inv.subtotal),
        ("tax", inv.tax),
        ("total", inv.total),
    ] {
        s.push_str(&format!("{head},,,{k},,{v},\n"));
    }
    s
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The invoice as a self-contained HTML document.
pub fn render_html(inv: &Invoice) -> String {
    let mut rows = String::new();
    for l in &inv.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}%</td></tr>\n",
            l.line,
            html_escape(&l.description),
            yen(l.yen),
            l.tax_permille / 10
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=ja><head><meta charset=utf-8><title>Invoice {id}</title>\
<style>body{{font-family:sans-serif}}td,th{{border:1px solid #999;padding:4px}}.n{{text-align:right}}table{{border-collapse:collapse}}</style></head>\n\
<body><h1>請求書 Invoice {id}</h1>\n<p>customer: {cust}<br>billing month: {month}<br>issued: {issued}<br>due: {due}</p>\n\
<table><tr><th>#</th><th>item</th><th>yen</th><th>tax</th></tr>\n{rows}\
<tr><td></td><td>subtotal</td><td class=n>{sub}</td><td></td></tr>\n<tr><td></td><td>consumption tax</td><td class=n>{tax}</td><td></td></tr>\n\
<tr><th></th><th>total</th><th class=n>{total}</th><th></th></tr></table>\n</body></html>\n",
        id = inv.id,
        cust = html_escape(&inv.customer),
        month = inv.month,
        issued = inv.issued_on,
        due = inv.due_on,
        sub = yen(inv.subtotal),
        tax = yen(inv.tax),
        total = yen(inv.total),
    )
}
