//! Customers, contracts and billing records in the registry. What the terms
//! decide (which transition is allowed, what is billed) lives in
//! `flows::contract`; this module stores and reads.

use super::{now, RegistryError, Result, Tx};
use crate::calendar::parse_date;
use crate::terms::Table;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    pub name: String,
    pub billing_contact: String,
    pub delivery_contact: String,
    pub delivery_address: String,
    pub sites: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractState {
    Applied,
    Accepted,
    Refused,
    Shipped,
    Delivered,
    Installed,
    Tested,
    Open,
    Suspended,
    Terminated,
}

impl ContractState {
    pub const ALL: [ContractState; 10] = [
        ContractState::Applied,
        ContractState::Accepted,
        ContractState::Refused,
        ContractState::Shipped,
        ContractState::Delivered,
        ContractState::Installed,
        ContractState::Tested,
        ContractState::Open,
        ContractState::Suspended,
        ContractState::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractState::Applied => "applied",
            ContractState::Accepted => "accepted",
            ContractState::Refused => "refused",
            ContractState::Shipped => "shipped",
            ContractState::Delivered => "delivered",
            ContractState::Installed => "installed",
            ContractState::Tested => "tested",
            ContractState::Open => "open",
            ContractState::Suspended => "suspended",
            ContractState::Terminated => "terminated",
        }
    }

    fn parse(s: &str) -> Option<ContractState> {
        ContractState::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ContractState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ContractEvent {
    pub event: String,
    pub on: String,
    pub recorded_by: String,
    pub recorded_at: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    pub id: i64,
    pub customer: String,
    pub site: String,
    pub device: Option<String>,
    pub state: ContractState,
    pub applied_on: String,
    pub requested_opening: String,
    pub events: Vec<ContractEvent>,
}

impl Contract {
    /// The date of the latest event of this kind.
    pub fn date_of(&self, event: &str) -> Option<&str> {
        self.events
            .iter()
            .rev()
            .find(|e| e.event == event)
            .map(|e| e.on.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InvoiceLine {
    pub line: i64,
    pub contract: Option<i64>,
    pub kind: String,
    pub description: String,
    pub yen: i64,
    pub tax_permille: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    pub id: i64,
    pub invoice: i64,
    pub paid_on: String,
    pub yen: i64,
    pub interest_days: i64,
    pub interest_yen: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub customer: String,
    pub month: String,
    pub issued_on: String,
    pub due_on: String,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub paid: i64,
    pub lines: Vec<InvoiceLine>,
    pub payments: Vec<Payment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Charge {
    pub id: i64,
    pub contract: i64,
    pub on: String,
    pub item: String,
    pub yen: i64,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub id: i64,
    pub customer: String,
    pub site: String,
    pub scheduled_on: String,
    pub reason: String,
    pub executed_at: Option<String>,
    pub executed_by: Option<String>,
    pub collector_output: Option<String>,
    /// Rows of the site the collector still holds after the deletion
    /// (None: not checked).
    pub residue_rows: Option<i64>,
    pub residue: Option<String>,
}

/// One line of the fleet list: a device bound to a site of a customer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FleetEntry {
    pub device: String,
    pub site: String,
    /// None: the site belongs to no customer.
    pub customer: Option<String>,
    pub suspended: bool,
}

fn unknown_customer(id: &str) -> RegistryError {
    RegistryError::Refused(format!(
        "unknown customer {id}: not in the registry (add it with `osect-provision customer add`)"
    ))
}

const CONTRACT_SELECT: &str = "SELECT id, customer_id, site_id, device, state, applied_on,
    requested_opening FROM contracts";

impl Tx<'_> {
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Adds a customer or changes their details (art. 10). Returns true if new.
    pub fn upsert_customer(&self, c: &Customer) -> Result<bool> {
        let new = self.customer(&c.customer_id).is_err();
        self.tx.execute(
            "INSERT INTO customers (customer_id, name, billing_contact, delivery_contact,
                delivery_address, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (customer_id) DO UPDATE SET name = ?2, billing_contact = ?3,
                delivery_contact = ?4, delivery_address = ?5",
            params![
                c.customer_id,
                c.name,
                c.billing_contact,
                c.delivery_contact,
                c.delivery_address,
                now()
            ],
        )?;
        self.audit(
            if new {
                "customer-add"
            } else {
                "customer-change"
            },
            None,
            None,
            &format!(
                "{}: {}; billing {}; delivery {} at {}",
                c.customer_id, c.name, c.billing_contact, c.delivery_contact, c.delivery_address
            ),
        )?;
        Ok(new)
    }

    pub fn customer(&self, id: &str) -> Result<Customer> {
        let mut c = self
            .tx
            .query_row(
                "SELECT customer_id, name, billing_contact, delivery_contact, delivery_address
                 FROM customers WHERE customer_id = ?1",
                [id],
                |r| {
                    Ok(Customer {
                        customer_id: r.get(0)?,
                        name: r.get(1)?,
                        billing_contact: r.get(2)?,
                        delivery_contact: r.get(3)?,
                        delivery_address: r.get(4)?,
                        sites: Vec::new(),
                    })
                },
            )
            .optional()?
            .ok_or_else(|| unknown_customer(id))?;
        let mut st = self.tx.prepare(
            "SELECT site_id FROM customer_sites WHERE customer_id = ?1 ORDER BY site_id",
        )?;
        c.sites = st
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(c)
    }

    pub fn customers(&self) -> Result<Vec<Customer>> {
        let mut st = self
            .tx
            .prepare("SELECT customer_id FROM customers ORDER BY customer_id")?;
        let ids: Vec<String> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|id| self.customer(id)).collect()
    }

    /// The customer a site belongs to, if any.
    pub fn site_customer(&self, site: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT customer_id FROM customer_sites WHERE site_id = ?1",
                [site],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Makes a site the customer's; a site belongs to one customer only.
    pub fn attach_site(&self, customer: &str, site: &str) -> Result<()> {
        self.customer(customer)?;
        self.site(site)?;
        match self.site_customer(site)? {
            Some(c) if c == customer => Ok(()),
            Some(c) => Err(RegistryError::Refused(format!(
                "site {site} belongs to customer {c}, not {customer}"
            ))),
            None => {
                self.tx.execute(
                    "INSERT INTO customer_sites (site_id, customer_id) VALUES (?1, ?2)",
                    params![site, customer],
                )?;
                self.audit(
                    "customer-site",
                    None,
                    Some(site),
                    &format!("site of {customer}"),
                )
            }
        }
    }

    /// A new contract in state `applied`, with its application event.
    pub fn add_contract(
        &self,
        customer: &str,
        site: &str,
        applied_on: &str,
        requested_opening: &str,
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO contracts (customer_id, site_id, state, applied_on, requested_opening,
                created_at) VALUES (?1, ?2, 'applied', ?3, ?4, ?5)",
            params![customer, site, applied_on, requested_opening, now()],
        )?;
        let id = self.tx.last_insert_rowid();
        self.contract_event(
            id,
            "apply",
            applied_on,
            &format!("customer {customer}, site {site}, requested opening {requested_opening}"),
            Some(ContractState::Applied),
        )?;
        Ok(id)
    }

    /// Records a dated event of a contract and, if given, its new state.
    pub fn contract_event(
        &self,
        id: i64,
        event: &str,
        on: &str,
        detail: &str,
        state: Option<ContractState>,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO contract_events (contract_id, event, on_date, recorded_by, recorded_at,
                detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, event, on, self.operator, now(), detail],
        )?;
        if let Some(s) = state {
            self.tx.execute(
                "UPDATE contracts SET state = ?2 WHERE id = ?1",
                params![id, s.as_str()],
            )?;
        }
        let (device, site): (Option<String>, String) = self.tx.query_row(
            "SELECT device, site_id FROM contracts WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        self.audit(
            &format!("contract-{event}"),
            device.as_deref(),
            Some(&site),
            &format!("contract {id} on {on}: {detail}"),
        )
    }

    pub fn set_contract_device(&self, id: i64, serial: Option<&str>) -> Result<()> {
        self.tx.execute(
            "UPDATE contracts SET device = ?2 WHERE id = ?1",
            params![id, serial],
        )?;
        Ok(())
    }

    pub fn contract(&self, id: i64) -> Result<Contract> {
        let c = self
            .tx
            .query_row(
                &format!("{CONTRACT_SELECT} WHERE id = ?1"),
                [id],
                contract_row,
            )
            .optional()?
            .ok_or_else(|| {
                RegistryError::Refused(format!("unknown contract {id}: not in the registry"))
            })??;
        self.with_events(c)
    }

    fn with_events(&self, mut c: Contract) -> Result<Contract> {
        let mut st = self.tx.prepare(
            "SELECT event, on_date, recorded_by, recorded_at, detail FROM contract_events
             WHERE contract_id = ?1 ORDER BY id",
        )?;
        c.events = st
            .query_map([c.id], |r| {
                Ok(ContractEvent {
                    event: r.get(0)?,
                    on: r.get(1)?,
                    recorded_by: r.get(2)?,
                    recorded_at: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(c)
    }

    /// Every contract, or a customer's, oldest first.
    pub fn contracts(&self, customer: Option<&str>) -> Result<Vec<Contract>> {
        let mut st = self.tx.prepare(&format!(
            "{CONTRACT_SELECT} WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY id"
        ))?;
        let rows: Vec<Result<Contract>> = st
            .query_map([customer], contract_row)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|c| c.and_then(|c| self.with_events(c)))
            .collect()
    }

    /// The contract (not refused or terminated) the device serves, if any.
    pub fn device_contract(&self, serial: &str) -> Result<Option<i64>> {
        Ok(self
            .tx
            .query_row(
                "SELECT id FROM contracts WHERE device = ?1
                 AND state NOT IN ('refused', 'terminated') ORDER BY id DESC LIMIT 1",
                [serial],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The latest contract a unit served: as its sensor now, or named by
    /// the contract's `device` or `swap` events.
    pub fn contract_of_unit(&self, serial: &str) -> Result<Option<i64>> {
        let named = format!("sensor {serial}");
        Ok(self
            .tx
            .query_row(
                "SELECT id FROM contracts WHERE device = ?1
                 UNION SELECT contract_id FROM contract_events
                 WHERE event IN ('device', 'swap')
                   AND (detail = ?2 OR substr(detail, 1, length(?2) + 1) = ?2 || ' ')
                 ORDER BY 1 DESC LIMIT 1",
                params![serial, named],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A price table (`initial`, `monthly`, `dongle`, ...), or the tax table
    /// (per mille) for `tax`.
    pub fn table(&self, item: &str) -> Result<Table> {
        let sql = if item == "tax" {
            "SELECT effective_from, permille FROM tax_rates WHERE ?1 = 'tax'"
        } else {
            "SELECT effective_from, yen FROM prices WHERE item = ?1"
        };
        let mut st = self.tx.prepare(sql)?;
        let rows: Vec<(String, i64)> = st
            .query_map([item], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let rows = rows
            .into_iter()
            .map(|(d, v)| {
                parse_date(&d)
                    .map(|d| (d, v))
                    .map_err(|e| RegistryError::Refused(format!("{item} table: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(Table::new(rows))
    }

    /// Every row of the price and tax tables: (item, from, value).
    pub fn table_rows(&self) -> Result<Vec<(String, String, i64)>> {
        let mut st = self.tx.prepare(
            "SELECT item, effective_from, yen FROM prices
             UNION ALL SELECT 'tax', effective_from, permille FROM tax_rates
             ORDER BY 1, 2",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sets an amount from a day on (the tax in per mille for `tax`).
    pub fn set_table(&self, item: &str, from: &str, value: i64) -> Result<()> {
        if item == "tax" {
            self.tx.execute(
                "INSERT INTO tax_rates (effective_from, permille) VALUES (?1, ?2)
                 ON CONFLICT (effective_from) DO UPDATE SET permille = ?2",
                params![from, value],
            )?;
        } else {
            self.tx.execute(
                "INSERT INTO prices (item, effective_from, yen) VALUES (?1, ?2, ?3)
                 ON CONFLICT (item, effective_from) DO UPDATE SET yen = ?3",
                params![item, from, value],
            )?;
        }
        self.audit(
            "price",
            None,
            None,
            &format!("{item} = {value} from {from}"),
        )
    }

    pub fn add_charge(
        &self,
        contract: i64,
        on: &str,
        item: &str,
        yen: i64,
        detail: &str,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO charges (contract_id, on_date, item, yen, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![contract, on, item, yen, detail],
        )?;
        self.audit(
            "charge",
            None,
            None,
            &format!("contract {contract} on {on}: {item} {yen} yen ({detail})"),
        )
    }

    /// A customer's charges up to a day not yet on an invoice.
    pub fn open_charges(&self, customer: &str, up_to: &str) -> Result<Vec<Charge>> {
        let mut st = self.tx.prepare(
            "SELECT c.id, c.contract_id, c.on_date, c.item, c.yen, c.detail FROM charges c
             JOIN contracts k ON k.id = c.contract_id
             WHERE k.customer_id = ?1 AND c.on_date <= ?2 AND c.invoice_id IS NULL ORDER BY c.id",
        )?;
        let rows = st.query_map(params![customer, up_to], |r| {
            Ok(Charge {
                id: r.get(0)?,
                contract: r.get(1)?,
                on: r.get(2)?,
                item: r.get(3)?,
                yen: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Late-payment interest on a customer's payments not yet invoiced.
    pub fn open_interest(&self, customer: &str) -> Result<Vec<Payment>> {
        let mut st = self.tx.prepare(&format!(
            "{PAYMENT_SELECT} JOIN invoices i ON i.id = p.invoice_id
             WHERE i.customer_id = ?1 AND p.interest_yen > 0 AND p.interest_invoice_id IS NULL
             ORDER BY p.id"
        ))?;
        let rows = st.query_map([customer], payment_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores an issued invoice with its lines; the charges and interest it
    /// bills are marked as billed.
    pub fn insert_invoice(
        &self,
        inv: &Invoice,
        charges: &[i64],
        interest_of: &[i64],
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO invoices (customer_id, month, issued_on, due_on, subtotal, tax, total)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                inv.customer,
                inv.month,
                inv.issued_on,
                inv.due_on,
                inv.subtotal,
                inv.tax,
                inv.total
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        for l in &inv.lines {
            self.tx.execute(
                "INSERT INTO invoice_lines (invoice_id, line, contract_id, kind, description, yen,
                    tax_permille) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    l.line,
                    l.contract,
                    l.kind,
                    l.description,
                    l.yen,
                    l.tax_permille
                ],
            )?;
        }
        for c in charges {
            self.tx.execute(
                "UPDATE charges SET invoice_id = ?2 WHERE id = ?1",
                params![c, id],
            )?;
        }
        for p in interest_of {
            self.tx.execute(
                "UPDATE payments SET interest_invoice_id = ?2 WHERE id = ?1",
                params![p, id],
            )?;
        }
        self.audit(
            "invoice",
            None,
            None,
            &format!(
                "invoice {id} to {} for {}: {} yen + tax {} = {} yen, due {}",
                inv.customer, inv.month, inv.subtotal, inv.tax, inv.total, inv.due_on
            ),
        )?;
        Ok(id)
    }

    pub fn invoice(&self, id: i64) -> Result<Invoice> {
        let mut inv = self
            .tx
            .query_row(
                &format!("{INVOICE_SELECT} WHERE id = ?1"),
                [id],
                invoice_row,
            )
            .optional()?
            .ok_or_else(|| RegistryError::Refused(format!("unknown invoice {id}")))?;
        let mut st = self.tx.prepare(
            "SELECT line, contract_id, kind, description, yen, tax_permille FROM invoice_lines
             WHERE invoice_id = ?1 ORDER BY line",
        )?;
        inv.lines = st
            .query_map([id], |r| {
                Ok(InvoiceLine {
                    line: r.get(0)?,
                    contract: r.get(1)?,
                    kind: r.get(2)?,
                    description: r.get(3)?,
                    yen: r.get(4)?,
                    tax_permille: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut st = self.tx.prepare(&format!(
            "{PAYMENT_SELECT} WHERE p.invoice_id = ?1 ORDER BY p.id"
        ))?;
        inv.payments = st
            .query_map([id], payment_row)?
            .collect::<rusqlite::Result<_>>()?;
        inv.paid = inv.payments.iter().map(|p| p.yen).sum();
        Ok(inv)
    }

    /// Invoices, a customer's or all, oldest first.
    pub fn invoices(&self, customer: Option<&str>) -> Result<Vec<Invoice>> {
        let mut st = self.tx.prepare(
            "SELECT id FROM invoices WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY month, id",
        )?;
        let ids: Vec<i64> = st
            .query_map([customer], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|id| self.invoice(id)).collect()
    }

    pub fn invoice_for(&self, customer: &str, month: &str) -> Result<Option<i64>> {
        Ok(self
            .tx
            .query_row(
                "SELECT id FROM invoices WHERE customer_id = ?1 AND month = ?2",
                params![customer, month],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn add_payment(&self, p: &Payment) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO payments (invoice_id, paid_on, yen, interest_days, interest_yen,
                recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                p.invoice,
                p.paid_on,
                p.yen,
                p.interest_days,
                p.interest_yen,
                self.operator,
                now()
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        self.audit(
            "payment",
            None,
            None,
            &format!(
                "invoice {}: {} yen paid on {}; late-payment interest {} yen for {} day(s)",
                p.invoice, p.yen, p.paid_on, p.interest_yen, p.interest_days
            ),
        )?;
        Ok(id)
    }

    /// Schedules the deletion of a site's stored data (once per site).
    pub fn schedule_deletion(
        &self,
        customer: &str,
        site: &str,
        on: &str,
        reason: &str,
    ) -> Result<()> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO deletions (customer_id, site_id, scheduled_on, reason)
             VALUES (?1, ?2, ?3, ?4)",
            params![customer, site, on, reason],
        )?;
        if n == 1 {
            self.audit(
                "deletion-scheduled",
                None,
                Some(site),
                &format!("data of {customer} at {site} to be deleted on {on}: {reason}"),
            )?;
        }
        Ok(())
    }

    pub fn deletions(&self) -> Result<Vec<Deletion>> {
        let mut st = self.tx.prepare(
            "SELECT id, customer_id, site_id, scheduled_on, reason, executed_at, executed_by,
                collector_output, residue_rows, residue FROM deletions ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Deletion {
                id: r.get(0)?,
                customer: r.get(1)?,
                site: r.get(2)?,
                scheduled_on: r.get(3)?,
                reason: r.get(4)?,
                executed_at: r.get(5)?,
                executed_by: r.get(6)?,
                collector_output: r.get(7)?,
                residue_rows: r.get(8)?,
                residue: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a deletion done at the collector and what was left after it.
    pub fn record_deletion(
        &self,
        id: i64,
        output: &str,
        residue_rows: Option<i64>,
        residue: &str,
    ) -> Result<()> {
        let site: String =
            self.tx
                .query_row("SELECT site_id FROM deletions WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
        self.tx.execute(
            "UPDATE deletions SET executed_at = ?2, executed_by = ?3, collector_output = ?4,
                residue_rows = ?5, residue = ?6 WHERE id = ?1",
            params![id, now(), self.operator, output, residue_rows, residue],
        )?;
        self.audit(
            "deletion",
            None,
            Some(&site),
            &format!(
                "collector: {output}; left in the store: {}",
                residue_rows.map_or("not checked".to_string(), |n| format!("{n} row(s)"))
            ),
        )
    }

    /// The SIMs a device has held, oldest first.
    pub fn sims_of(&self, serial: &str) -> Result<Vec<super::SimRecord>> {
        Ok(super::sims(&self.tx)?
            .into_iter()
            .filter(|s| s.device == serial)
            .collect())
    }

    /// Every device bound to a site, with the site's customer and whether
    /// its contract is suspended.
    pub fn fleet(&self) -> Result<Vec<FleetEntry>> {
        let mut st = self.tx.prepare(
            "SELECT d.serial, d.site_id, cs.customer_id,
                EXISTS (SELECT 1 FROM contracts k WHERE k.device = d.serial
                        AND k.state = 'suspended')
             FROM devices d LEFT JOIN customer_sites cs ON cs.site_id = d.site_id
             WHERE d.site_id IS NOT NULL ORDER BY d.serial",
        )?;
        let rows = st.query_map([], |r| {
            Ok(FleetEntry {
                device: r.get(0)?,
                site: r.get(1)?,
                customer: r.get(2)?,
                suspended: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

const INVOICE_SELECT: &str =
    "SELECT id, customer_id, month, issued_on, due_on, subtotal, tax, total FROM invoices";
const PAYMENT_SELECT: &str = "SELECT p.id, p.invoice_id, p.paid_on, p.yen, p.interest_days,
    p.interest_yen FROM payments p";

fn invoice_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invoice> {
    Ok(Invoice {
        id: r.get(0)?,
        customer: r.get(1)?,
        month: r.get(2)?,
        issued_on: r.get(3)?,
        due_on: r.get(4)?,
        subtotal: r.get(5)?,
        tax: r.get(6)?,
        total: r.get(7)?,
        paid: 0,
        lines: Vec::new(),
        payments: Vec::new(),
    })
}

fn payment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: r.get(0)?,
        invoice: r.get(1)?,
        paid_on: r.get(2)?,
        yen: r.get(3)?,
        interest_days: r.get(4)?,
        interest_yen: r.get(5)?,
    })
}

fn contract_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Contract>> {
    let id: i64 = r.get(0)?;
    let state: String = r.get(4)?;
    let Some(state) = ContractState::parse(&state) else {
        return Ok(Err(RegistryError::Refused(format!(
            "contract {id} has an unknown state {state:?} in the registry"
        ))));
    };
    Ok(Ok(Contract {
        id,
        customer: r.get(1)?,
        site: r.get(2)?,
        device: r.get(3)?,
        state,
        applied_on: r.get(5)?,
        requested_opening: r.get(6)?,
        events: Vec::new(),
    }))
}
