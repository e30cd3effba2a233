//! The fleet registry: an SQLite file holding devices, sites, which device
//! served which site, which SIM and modem sat in which device, certificates
//! and their revocations, and an append-only audit log.
//!
//! Every change happens inside one transaction (`Tx`), so a flow that fails
//! leaves the registry as it was. Device states follow a fixed state machine;
//! an illegal transition is refused with the reason.

use crate::pki::CertInfo;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use serde::Serialize;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

mod contracts;
pub use contracts::*;

/// Marks the file as an osect registry ("OSEC").
const APPLICATION_ID: i64 = 0x4f53_4543;

/// Schema migrations; entry `i` brings version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sites (
    site_id TEXT PRIMARY KEY,
    interface TEXT NOT NULL,
    batch_interval_secs INTEGER NOT NULL CHECK (batch_interval_secs > 0),
    core_endpoint TEXT NOT NULL,
    labels TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE TABLE devices (
    serial TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('stock', 'provisioned', 'shipped', 'active',
        'failed', 'returned', 'wiped', 'retired')),
    site_id TEXT REFERENCES sites(site_id),
    imei TEXT,
    iccid TEXT,
    imsi TEXT,
    cert_serial TEXT,
    cert_fingerprint TEXT,
    cert_not_after TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE certificates (
    cert_serial TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(serial),
    fingerprint TEXT NOT NULL UNIQUE,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE revocations (
    cert_serial TEXT PRIMARY KEY REFERENCES certificates(cert_serial),
    device TEXT NOT NULL REFERENCES devices(serial),
    reason TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    operator TEXT NOT NULL
);
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(serial),
    site_id TEXT NOT NULL REFERENCES sites(site_id),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE TABLE sims (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(serial),
    iccid TEXT NOT NULL,
    imsi TEXT,
    inserted_at TEXT NOT NULL,
    removed_at TEXT,
    deactivation_requested_at TEXT
);
CREATE TABLE modems (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(serial),
    imei TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    firmware TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    device TEXT,
    site_id TEXT,
    detail TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta (key, value) VALUES ('crl_number', 0);
"#,
    // The certificate's key (SHA-256 of its SubjectPublicKeyInfo), which the
    // collector's dedup key includes; unknown for certificates recorded before.
    "ALTER TABLE certificates ADD COLUMN key_sha256 TEXT;",
    // Customers, their contracts (one per sensor) with the dated events of
    // their life, the price and tax tables, invoices, payments, equipment
    // charges and the deletions of a terminated customer's data.
    r#"
CREATE TABLE customers (
    customer_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    billing_contact TEXT NOT NULL,
    delivery_contact TEXT NOT NULL,
    delivery_address TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE customer_sites (
    site_id TEXT PRIMARY KEY REFERENCES sites(site_id),
    customer_id TEXT NOT NULL REFERENCES customers(customer_id)
);
CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id),
    site_id TEXT NOT NULL REFERENCES sites(site_id),
    device TEXT REFERENCES devices(serial),
    state TEXT NOT NULL CHECK (state IN ('applied', 'accepted', 'refused', 'shipped',
        'delivered', 'installed', 'tested', 'open', 'suspended', 'terminated')),
    applied_on TEXT NOT NULL,
    requested_opening TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE contract_events (
    id INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    event TEXT NOT NULL,
    on_date TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE prices (
    item TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    yen INTEGER NOT NULL CHECK (yen >= 0),
    PRIMARY KEY (item, effective_from)
);
INSERT INTO prices (item, effective_from, yen) VALUES
    ('initial', '2000-01-01', 250000), ('monthly', '2000-01-01', 60000);
CREATE TABLE tax_rates (
    effective_from TEXT PRIMARY KEY,
    permille INTEGER NOT NULL CHECK (permille >= 0)
);
INSERT INTO tax_rates (effective_from, permille) VALUES ('2014-04-01', 80), ('2019-10-01', 100);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id),
    month TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    subtotal INTEGER NOT NULL,
    tax INTEGER NOT NULL,
    total INTEGER NOT NULL,
    UNIQUE (customer_id, month)
);
CREATE TABLE invoice_lines (
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    line INTEGER NOT NULL,
    contract_id INTEGER REFERENCES contracts(id),
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    yen INTEGER NOT NULL,
    tax_permille INTEGER NOT NULL,
    PRIMARY KEY (invoice_id, line)
);
CREATE TABLE charges (
    id INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    on_date TEXT NOT NULL,
    item TEXT NOT NULL,
    yen INTEGER NOT NULL CHECK (yen >= 0),
    detail TEXT NOT NULL,
    invoice_id INTEGER REFERENCES invoices(id)
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    paid_on TEXT NOT NULL,
    yen INTEGER NOT NULL CHECK (yen > 0),
    interest_days INTEGER NOT NULL,
    interest_yen INTEGER NOT NULL,
    interest_invoice_id INTEGER REFERENCES invoices(id),
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE deletions (
    id INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id),
    site_id TEXT NOT NULL UNIQUE REFERENCES sites(site_id),
    scheduled_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    executed_at TEXT,
    executed_by TEXT,
    collector_output TEXT,
    residue_rows INTEGER,
    residue TEXT
);
"#,
];

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {path} does not exist (create it with `osect-provision registry init`)")]
    Missing { path: PathBuf },
    #[error("registry {path} is damaged or not a registry: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("registry: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("unknown device {0}: not in the registry")]
    UnknownDevice(String),
    #[error("unknown site {0}: not in the registry (add it with `osect-provision site add`)")]
    UnknownSite(String),
    #[error("device {serial}: cannot go from {from} to {to}: {reason}")]
    IllegalTransition {
        serial: String,
        from: DeviceState,
        to: DeviceState,
        reason: String,
    },
    #[error("{0}")]
    Refused(String),
}

type Result<T> = std::result::Result<T, RegistryError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    /// Known hardware without an identity.
    Stock,
    /// Identity, modem and SIM set up; a spare until assigned and shipped.
    Provisioned,
    /// On its way to (or installed at) a site, not yet seen working there.
    Shipped,
    /// Working at its site.
    Active,
    /// Out of service (failed, replaced, or its site closed); certificate revoked.
    Failed,
    /// Back at the station, not yet wiped.
    Returned,
    /// Keys, config and spool wiped.
    Wiped,
    /// Never to be used again.
    Retired,
}

use DeviceState::*;

impl DeviceState {
    pub const ALL: [DeviceState; 8] = [
        Stock,
        Provisioned,
        Shipped,
        Active,
        Failed,
        Returned,
        Wiped,
        Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stock => "stock",
            Provisioned => "provisioned",
            Shipped => "shipped",
            Active => "active",
            Failed => "failed",
            Returned => "returned",
            Wiped => "wiped",
            Retired => "retired",
        }
    }

    fn parse(s: &str) -> Option<DeviceState> {
        DeviceState::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The states a device may move to from this one.
    pub fn next(self) -> &'static [DeviceState] {
        match self {
            Stock => &[Provisioned, Retired],
            Provisioned => &[Shipped, Failed, Returned],
            Shipped => &[Active, Failed, Returned],
            Active => &[Failed, Returned],
            Failed => &[Returned],
            Returned => &[Wiped],
            Wiped => &[Stock, Retired],
            Retired => &[],
        }
    }

    fn why_not(self, to: DeviceState) -> String {
        let next: Vec<&str> = self.next().iter().map(|s| s.as_str()).collect();
        let hint = match (self, to) {
            (Retired, _) => "a retired device is never used again".to_string(),
            (_, Provisioned) => {
                "only a device in stock (new, or returned and wiped) can be provisioned".into()
            }
            (_, Stock) => "a device goes back to stock only after it was returned and wiped".into(),
            _ => String::new(),
        };
        let allowed = if next.is_empty() {
            "no further state is allowed".to_string()
        } else {
            format!("from {self} it may only go to {}", next.join(", "))
        };
        if hint.is_empty() {
            allowed
        } else {
            format!("{hint}; {allowed}")
        }
    }
}

impl std::fmt::Display for DeviceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Device {
    pub serial: String,
    pub state: DeviceState,
    pub site: Option<String>,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub cert_serial: Option<String>,
    pub cert_fingerprint: Option<String>,
    pub cert_not_after: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Site {
    pub site_id: String,
    pub interface: String,
    pub batch_interval_secs: u64,
    pub core_endpoint: String,
    pub labels: Vec<String>,
    pub open: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub operator: String,
    pub action: String,
    pub device: Option<String>,
    pub site: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub device: String,
    pub site: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimRecord {
    pub device: String,
    pub iccid: String,
    pub imsi: Option<String>,
    pub inserted_at: String,
    pub removed_at: Option<String>,
    pub deactivation_requested_at: Option<String>,
}

pub fn now() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

pub struct Registry {
    conn: Connection,
    path: PathBuf,
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Corrupt {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

impl Registry {
    /// Creates a new registry file. Returns false if a valid one is already there.
    pub fn create(path: &Path) -> Result<bool> {
        if path.exists() {
            Registry::open(path)?;
            return Ok(false);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                RegistryError::Refused(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        let mut r = Registry {
            conn,
            path: path.to_owned(),
        };
        r.migrate()?;
        Ok(true)
    }

    /// Opens an existing registry, checking that it is intact and ours.
    pub fn open(path: &Path) -> Result<Registry> {
        if !path.is_file() {
            return Err(RegistryError::Missing {
                path: path.to_owned(),
            });
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| corrupt(path, e))?;
        // Flows run one at a time (each holds its transaction from start to
        // end); a second one waits for the first rather than failing.
        conn.busy_timeout(std::time::Duration::from_secs(300))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| corrupt(path, e))?;
        if check != "ok" {
            return Err(corrupt(path, check));
        }
        let app: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| corrupt(path, e))?;
        if app != APPLICATION_ID {
            return Err(corrupt(
                path,
                "not an osect registry (wrong application id)",
            ));
        }
        conn.pragma_update(None, "foreign_keys", true)?;
        let mut r = Registry {
            conn,
            path: path.to_owned(),
        };
        r.migrate()?;
        Ok(r)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<()> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if v > known {
            return Err(corrupt(
                &self.path,
                format!("schema version {v} is newer than this tool knows ({known})"),
            ));
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(v).unwrap_or(0))
        {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql).map_err(|e| corrupt(&self.path, e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Starts the one transaction a flow runs in.
    pub fn begin(&mut self, operator: &str) -> Result<Tx<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(Tx {
            tx,
            operator: operator.to_string(),
        })
    }

    pub fn device(&self, serial: &str) -> Result<Device> {
        get_device(&self.conn, serial)
    }

    pub fn devices(&self) -> Result<Vec<Device>> {
        let mut st = self
            .conn
            .prepare(&format!("{DEVICE_SELECT} ORDER BY serial"))?;
        let rows = st.query_map([], device_row)?;
        rows.map(|r| r.map_err(RegistryError::from).and_then(|x| x))
            .collect()
    }

    pub fn sites(&self) -> Result<Vec<Site>> {
        let mut st = self
            .conn
            .prepare(&format!("{SITE_SELECT} ORDER BY site_id"))?;
        let rows = st.query_map([], site_row)?;
        rows.map(|r| r.map_err(RegistryError::from).and_then(|x| x))
            .collect()
    }

    pub fn audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare(
            "SELECT id, at, operator, action, device, site_id, detail FROM audit
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                operator: r.get(2)?,
                action: r.get(3)?,
                device: r.get(4)?,
                site: r.get(5)?,
                detail: r.get(6)?,
            })
        })?;
        let mut v: Vec<AuditEntry> = rows.collect::<rusqlite::Result<_>>()?;
        v.reverse();
        Ok(v)
    }

    pub fn assignments(&self, site: Option<&str>) -> Result<Vec<Assignment>> {
        let mut st = self.conn.prepare(
            "SELECT device, site_id, started_at, ended_at, end_reason FROM assignments
             WHERE ?1 IS NULL OR site_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([site], |r| {
            Ok(Assignment {
                device: r.get(0)?,
                site: r.get(1)?,
                started_at: r.get(2)?,
                ended_at: r.get(3)?,
                end_reason: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn sims(&self) -> Result<Vec<SimRecord>> {
        sims(&self.conn)
    }

    /// Revoked certificate serials with their revocation time, for the CRL.
    pub fn revoked(&self) -> Result<Vec<(String, String, String)>> {
        revoked(&self.conn)
    }
}

const DEVICE_SELECT: &str = "SELECT serial, state, site_id, imei, iccid, imsi, cert_serial,
    cert_fingerprint, cert_not_after, updated_at FROM devices";
const SITE_SELECT: &str =
    "SELECT site_id, interface, batch_interval_secs, core_endpoint, labels, state FROM sites";

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Device>> {
    let serial: String = r.get(0)?;
    let state: String = r.get(1)?;
    let Some(state) = DeviceState::parse(&state) else {
        return Ok(Err(RegistryError::Refused(format!(
            "device {serial} has an unknown state {state:?} in the registry"
        ))));
    };
    Ok(Ok(Device {
        serial,
        state,
        site: r.get(2)?,
        imei: r.get(3)?,
        iccid: r.get(4)?,
        imsi: r.get(5)?,
        cert_serial: r.get(6)?,
        cert_fingerprint: r.get(7)?,
        cert_not_after: r.get(8)?,
        updated_at: r.get(9)?,
    }))
}

fn site_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Site>> {
    let site_id: String = r.get(0)?;
    let labels: String = r.get(4)?;
    let Ok(labels) = serde_json::from_str::<Vec<String>>(&labels) else {
        return Ok(Err(RegistryError::Refused(format!(
            "site {site_id} has unreadable labels in the registry"
        ))));
    };
    let state: String = r.get(5)?;
    Ok(Ok(Site {
        site_id,
        interface: r.get(1)?,
        batch_interval_secs: r.get::<_, i64>(2)?.max(1) as u64,
        core_endpoint: r.get(3)?,
        labels,
        open: state == "open",
    }))
}

fn get_device(conn: &Connection, serial: &str) -> Result<Device> {
    conn.query_row(
        &format!("{DEVICE_SELECT} WHERE serial = ?1"),
        [serial],
        device_row,
    )
    .optional()?
    .ok_or_else(|| RegistryError::UnknownDevice(serial.into()))?
}

fn sims(conn: &Connection) -> Result<Vec<SimRecord>> {
    let mut st = conn.prepare(
        "SELECT device, iccid, imsi, inserted_at, removed_at, deactivation_requested_at
         FROM sims ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(SimRecord {
            device: r.get(0)?,
            iccid: r.get(1)?,
            imsi: r.get(2)?,
            inserted_at: r.get(3)?,
            removed_at: r.get(4)?,
            deactivation_requested_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn revoked(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut st = conn
        .prepare("SELECT cert_serial, device, revoked_at FROM revocations ORDER BY revoked_at")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One flow's changes; nothing is visible until `commit`.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    operator: String,
}

impl Tx<'_> {
    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }

    pub fn device(&self, serial: &str) -> Result<Device> {
        get_device(&self.tx, serial)
    }

    pub fn site(&self, site: &str) -> Result<Site> {
        self.tx
            .query_row(
                &format!("{SITE_SELECT} WHERE site_id = ?1"),
                [site],
                site_row,
            )
            .optional()?
            .ok_or_else(|| RegistryError::UnknownSite(site.into()))?
    }

    /// Appends to the audit log.
    pub fn audit(
        &self,
        action: &str,
        device: Option<&str>,
        site: Option<&str>,
        detail: &str,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO audit (at, operator, action, device, site_id, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![now(), self.operator, action, device, site, detail],
        )?;
        Ok(())
    }

    /// Adds a device in stock if it is not known yet. Returns true if added.
    pub fn add_stock(&self, serial: &str) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO devices (serial, state, created_at, updated_at)
             VALUES (?1, 'stock', ?2, ?2)",
            params![serial, now()],
        )?;
        if n == 1 {
            self.audit("add-device", Some(serial), None, "new device in stock")?;
        }
        Ok(n == 1)
    }

    /// Moves a device to another state if the state machine allows it.
    pub fn set_state(&self, serial: &str, to: DeviceState) -> Result<()> {
        let d = self.device(serial)?;
        if !d.state.next().contains(&to) {
            return Err(RegistryError::IllegalTransition {
                serial: serial.into(),
                from: d.state,
                to,
                reason: d.state.why_not(to),
            });
        }
        self.tx.execute(
            "UPDATE devices SET state = ?2, updated_at = ?3 WHERE serial = ?1",
            params![serial, to.as_str(), now()],
        )?;
        self.audit(
            "state",
            Some(serial),
            d.site.as_deref(),
            &format!("{} -> {to}", d.state),
        )
    }

    /// Records a newly issued certificate as the device's current one.
    pub fn add_certificate(&self, serial: &str, cert: &CertInfo) -> Result<()> {
        self.tx.execute(
            "INSERT INTO certificates (cert_serial, device, fingerprint, not_before, not_after,
                issued_at, key_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                cert.serial,
                serial,
                cert.fingerprint,
                format_time(cert.not_before),
                format_time(cert.not_after),
                now(),
                cert.key_sha256
            ],
        )?;
        self.tx.execute(
            "UPDATE devices SET cert_serial = ?2, cert_fingerprint = ?3, cert_not_after = ?4,
             updated_at = ?5 WHERE serial = ?1",
            params![
                serial,
                cert.serial,
                cert.fingerprint,
                format_time(cert.not_after),
                now()
            ],
        )?;
        self.audit(
            "certificate",
            Some(serial),
            None,
            &format!(
                "issued {} (sha256 {}), valid until {}",
                cert.serial,
                cert.fingerprint,
                format_time(cert.not_after)
            ),
        )
    }

    /// The key (SHA-256 of the SubjectPublicKeyInfo, hex) of the certificate
    /// with this fingerprint, if it was recorded.
    pub fn cert_key_sha256(&self, fingerprint: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT key_sha256 FROM certificates WHERE fingerprint = ?1",
                [fingerprint],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Revokes every certificate of the device not yet revoked. Returns how many.
    pub fn revoke_device(&self, serial: &str, reason: &str) -> Result<usize> {
        let n = self.tx.execute(
            "INSERT INTO revocations (cert_serial, device, reason, revoked_at, operator)
             SELECT cert_serial, device, ?2, ?3, ?4 FROM certificates
             WHERE device = ?1 AND cert_serial NOT IN (SELECT cert_serial FROM revocations)",
            params![serial, reason, now(), self.operator],
        )?;
        if n > 0 {
            self.audit(
                "revoke",
                Some(serial),
                None,
                &format!("{n} certificate(s): {reason}"),
            )?;
        }
        Ok(n)
    }

    pub fn revoked(&self) -> Result<Vec<(String, String, String)>> {
        revoked(&self.tx)
    }

    /// The next CRL number (monotonic, kept in the registry).
    pub fn next_crl_number(&self) -> Result<u64> {
        self.tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'crl_number'",
            [],
        )?;
        let n: i64 =
            self.tx
                .query_row("SELECT value FROM meta WHERE key = 'crl_number'", [], |r| {
                    r.get(0)
                })?;
        Ok(n.max(0) as u64)
    }

    pub fn set_modem(&self, serial: &str, m: &crate::modem::ModemInfo) -> Result<()> {
        let t = now();
        self.tx.execute(
            "UPDATE modems SET removed_at = ?2 WHERE device = ?1 AND removed_at IS NULL AND imei != ?3",
            params![serial, t, m.imei],
        )?;
        let present: bool = self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM modems WHERE device = ?1 AND imei = ?2 AND removed_at IS NULL)",
            params![serial, m.imei],
            |r| r.get(0),
        )?;
        if !present {
            self.tx.execute(
                "INSERT INTO modems (device, imei, manufacturer, model, firmware, installed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![serial, m.imei, m.manufacturer, m.model, m.firmware, t],
            )?;
            self.audit(
                "modem",
                Some(serial),
                None,
                &format!(
                    "{} {} (firmware {}) IMEI {}",
                    m.manufacturer, m.model, m.firmware, m.imei
                ),
            )?;
        }
        self.tx.execute(
            "UPDATE devices SET imei = ?2, updated_at = ?3 WHERE serial = ?1",
            params![serial, m.imei, t],
        )?;
        Ok(())
    }

    /// Another device (not retired) recorded with this IMEI or ICCID.
    pub fn holder_of(&self, field: &str, value: &str, except: &str) -> Result<Option<String>> {
        let column = match field {
            "imei" => "imei",
            "iccid" => "iccid",
            other => return Err(RegistryError::Refused(format!("no device field {other}"))),
        };
        Ok(self
            .tx
            .query_row(
                &format!(
                    "SELECT serial FROM devices WHERE {column} = ?1 AND serial != ?2
                     AND state != 'retired' LIMIT 1"
                ),
                params![value, except],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// When the SIM was recorded for deactivation, if it was.
    pub fn sim_deactivation(&self, iccid: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT deactivation_requested_at FROM sims
                 WHERE iccid = ?1 AND deactivation_requested_at IS NOT NULL LIMIT 1",
                [iccid],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records the SIM now in the device; the previous one (if different) is
    /// taken out and, when `deactivate_old`, listed for deactivation.
    pub fn set_sim(
        &self,
        serial: &str,
        iccid: &str,
        imsi: &str,
        deactivate_old: bool,
    ) -> Result<()> {
        let t = now();
        if let Some(at) = self.sim_deactivation(iccid)? {
            return Err(RegistryError::Refused(format!(
                "SIM {iccid} was recorded for deactivation on {at}; insert a new SIM"
            )));
        }
        self.tx.execute(
            "UPDATE sims SET removed_at = ?2,
                deactivation_requested_at = CASE WHEN ?4 THEN ?2 ELSE NULL END
             WHERE device = ?1 AND removed_at IS NULL AND iccid != ?3",
            params![serial, t, iccid, deactivate_old],
        )?;
        let present: bool = self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sims WHERE device = ?1 AND iccid = ?2 AND removed_at IS NULL)",
            params![serial, iccid],
            |r| r.get(0),
        )?;
        if !present {
            self.tx.execute(
                "INSERT INTO sims (device, iccid, imsi, inserted_at) VALUES (?1, ?2, ?3, ?4)",
                params![serial, iccid, imsi, t],
            )?;
            self.audit(
                "sim",
                Some(serial),
                None,
                &format!("ICCID {iccid} IMSI {imsi}"),
            )?;
        }
        self.tx.execute(
            "UPDATE devices SET iccid = ?2, imsi = ?3, updated_at = ?4 WHERE serial = ?1",
            params![serial, iccid, imsi, t],
        )?;
        Ok(())
    }

    /// Takes the device's SIM out of service: removed and listed for
    /// deactivation with the operator. Returns its ICCID, if it had one.
    pub fn retire_sim(&self, serial: &str) -> Result<Option<String>> {
        let t = now();
        let iccid: Option<String> = self
            .tx
            .query_row(
                "SELECT iccid FROM sims WHERE device = ?1 AND removed_at IS NULL",
                [serial],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(iccid) = &iccid {
            self.tx.execute(
                "UPDATE sims SET removed_at = ?2, deactivation_requested_at = ?2
                 WHERE device = ?1 AND removed_at IS NULL",
                params![serial, t],
            )?;
            self.audit(
                "sim-deactivate",
                Some(serial),
                None,
                &format!("ICCID {iccid} to be deactivated"),
            )?;
        }
        self.tx.execute(
            "UPDATE devices SET iccid = NULL, imsi = NULL, updated_at = ?2 WHERE serial = ?1",
            params![serial, t],
        )?;
        Ok(iccid)
    }

    /// Clears the device's identity (after a wipe).
    pub fn clear_identity(&self, serial: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE devices SET cert_serial = NULL, cert_fingerprint = NULL, cert_not_after = NULL,
             updated_at = ?2 WHERE serial = ?1",
            params![serial, now()],
        )?;
        Ok(())
    }

    pub fn upsert_site(&self, s: &Site) -> Result<()> {
        let labels = serde_json::to_string(&s.labels).unwrap_or_else(|_| "[]".into());
        self.tx.execute(
            "INSERT INTO sites (site_id, interface, batch_interval_secs, core_endpoint, labels, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)
             ON CONFLICT (site_id) DO UPDATE SET interface = ?2, batch_interval_secs = ?3,
                core_endpoint = ?4, labels = ?5",
            params![s.site_id, s.interface, s.batch_interval_secs as i64, s.core_endpoint, labels, now()],
        )?;
        self.audit(
            "site",
            None,
            Some(&s.site_id),
            &format!(
                "interface {}, batch {} s, core {}, labels [{}]",
                s.interface,
                s.batch_interval_secs,
                s.core_endpoint,
                s.labels.join(", ")
            ),
        )
    }

    pub fn close_site(&self, site: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE sites SET state = 'closed', closed_at = ?2 WHERE site_id = ?1",
            params![site, now()],
        )?;
        Ok(())
    }

    /// The devices currently bound to a site.
    pub fn site_devices(&self, site: &str) -> Result<Vec<Device>> {
        let mut st = self.tx.prepare(&format!(
            "{DEVICE_SELECT} WHERE site_id = ?1 ORDER BY serial"
        ))?;
        let rows = st.query_map([site], device_row)?;
        rows.map(|r| r.map_err(RegistryError::from).and_then(|x| x))
            .collect()
    }

    /// Binds a device to a site and opens an assignment.
    pub fn bind(&self, serial: &str, site: &str) -> Result<()> {
        let t = now();
        self.tx.execute(
            "UPDATE devices SET site_id = ?2, updated_at = ?3 WHERE serial = ?1",
            params![serial, site, t],
        )?;
        self.tx.execute(
            "INSERT INTO assignments (device, site_id, started_at) VALUES (?1, ?2, ?3)",
            params![serial, site, t],
        )?;
        self.audit("assign", Some(serial), Some(site), "bound to site")
    }

    /// Ends a device's assignment (if any) and unbinds it.
    pub fn unbind(&self, serial: &str, reason: &str) -> Result<()> {
        let t = now();
        let site: Option<String> = self
            .tx
            .query_row(
                "SELECT site_id FROM devices WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        self.tx.execute(
            "UPDATE assignments SET ended_at = ?2, end_reason = ?3
             WHERE device = ?1 AND ended_at IS NULL",
            params![serial, t, reason],
        )?;
        self.tx.execute(
            "UPDATE devices SET site_id = NULL, updated_at = ?2 WHERE serial = ?1",
            params![serial, t],
        )?;
        if let Some(site) = site {
            self.audit("unassign", Some(serial), Some(&site), reason)?;
        }
        Ok(())
    }

    /// The device's most recent assignment, open or ended.
    pub fn last_assignment(&self, serial: &str) -> Result<Option<Assignment>> {
        Ok(self
            .tx
            .query_row(
                "SELECT device, site_id, started_at, ended_at, end_reason FROM assignments
                 WHERE device = ?1 ORDER BY id DESC LIMIT 1",
                [serial],
                |r| {
                    Ok(Assignment {
                        device: r.get(0)?,
                        site: r.get(1)?,
                        started_at: r.get(2)?,
                        ended_at: r.get(3)?,
                        end_reason: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_refuses_with_reason() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.sqlite");
        assert!(Registry::create(&p).unwrap());
        assert!(!Registry::create(&p).unwrap());
        let mut r = Registry::open(&p).unwrap();
        let tx = r.begin("alice").unwrap();
        assert!(tx.add_stock("OSD-1").unwrap());
        assert!(!tx.add_stock("OSD-1").unwrap());
        let e = tx.set_state("OSD-1", Shipped).unwrap_err().to_string();
        assert!(e.contains("cannot go from stock to shipped"), "{e}");
        tx.set_state("OSD-1", Provisioned).unwrap();
        let e = tx.set_state("OSD-1", Provisioned).unwrap_err().to_string();
        assert!(e.contains("only a device in stock"), "{e}");
        tx.commit().unwrap();
        assert_eq!(r.device("OSD-1").unwrap().state, Provisioned);
        let log = r.audit(10).unwrap();
        assert_eq!(log.len(), 2);
        assert!(log.iter().all(|a| a.operator == "alice"));
        // The audit log cannot be edited.
        let e = r
            .conn
            .execute("DELETE FROM audit", [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("append-only"), "{e}");
        let e = r
            .conn
            .execute("UPDATE audit SET operator = 'eve'", [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("append-only"), "{e}");
    }

    #[test]
    fn every_state_has_a_way_out_but_retired() {
        for s in DeviceState::ALL {
            assert_eq!(s.next().is_empty(), s == Retired, "{s}");
            assert_eq!(DeviceState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn corrupted_or_foreign_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.sqlite");
        std::fs::write(&p, b"this is not a database at all, just text").unwrap();
        let e = Registry::open(&p).err().unwrap().to_string();
        assert!(e.contains("damaged or not a registry"), "{e}");
        let missing = d.path().join("nope.sqlite");
        let e = Registry::open(&missing).err().unwrap().to_string();
        assert!(e.contains("does not exist"), "{e}");
        assert!(!missing.exists());
    }

    /// A registry file as an older version of this tool left it.
    fn registry_at(p: &Path, version: usize) -> Connection {
        let c = Connection::open(p).unwrap();
        c.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for m in &MIGRATIONS[..version] {
            c.execute_batch(m).unwrap();
        }
        c.pragma_update(None, "user_version", version as i64)
            .unwrap();
        c
    }

    #[test]
    fn a_version_2_registry_gains_customers_contracts_and_prices() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.sqlite");
        {
            let c = registry_at(&p, 2);
            c.execute_batch(
                "INSERT INTO sites (site_id, interface, batch_interval_secs, core_endpoint,
                   labels, state, created_at) VALUES ('north', 'eth1', 60, 'c:1', '[]', 'open', 't');
                 INSERT INTO devices (serial, state, site_id, created_at, updated_at)
                   VALUES ('OSD-1', 'active', 'north', 't', 't');",
            )
            .unwrap();
        }
        let mut r = Registry::open(&p).unwrap();
        let tx = r.begin("alice").unwrap();
        // The existing unit is kept, bound to a site without a customer yet.
        assert_eq!(tx.device("OSD-1").unwrap().state, Active);
        let fleet = tx.fleet().unwrap();
        assert_eq!((fleet.len(), fleet[0].customer.as_deref()), (1, None));
        // The terms' prices and the tax rates in force are there.
        let day = crate::calendar::parse_date("2025-01-01").unwrap();
        assert_eq!(tx.table("initial").unwrap().on(day), Some(250_000));
        assert_eq!(tx.table("monthly").unwrap().on(day), Some(60_000));
        assert_eq!(tx.table("tax").unwrap().on(day), Some(100));
        tx.upsert_customer(&Customer {
            customer_id: "acme".into(),
            name: "Acme".into(),
            billing_contact: "b".into(),
            delivery_contact: "d".into(),
            delivery_address: "a".into(),
            sites: vec![],
        })
        .unwrap();
        tx.attach_site("acme", "north").unwrap();
        let id = tx
            .add_contract("acme", "north", "2025-01-06", "2025-02-03")
            .unwrap();
        tx.set_contract_device(id, Some("OSD-1")).unwrap();
        assert_eq!(tx.fleet().unwrap()[0].customer.as_deref(), Some("acme"));
        assert_eq!(tx.contract(id).unwrap().state, ContractState::Applied);
    }

    #[test]
    fn a_version_1_registry_gains_certificate_keys() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.sqlite");
        {
            let c = registry_at(&p, 1);
            c.execute_batch(
                "INSERT INTO devices (serial, state, created_at, updated_at)
                   VALUES ('OSD-1', 'provisioned', 'then', 'then');
                 INSERT INTO certificates (cert_serial, device, fingerprint, not_before,
                   not_after, issued_at) VALUES ('01', 'OSD-1', 'aa', 'a', 'b', 'c');",
            )
            .unwrap();
        }
        let mut r = Registry::open(&p).unwrap();
        let v: i64 = r
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let tx = r.begin("alice").unwrap();
        assert_eq!(tx.cert_key_sha256("aa").unwrap(), None);
        let now = OffsetDateTime::now_utc();
        tx.add_certificate(
            "OSD-1",
            &CertInfo {
                subject_cn: "OSD-1".into(),
                serial: "02".into(),
                fingerprint: "bb".into(),
                key_sha256: "cc".into(),
                not_before: now,
                not_after: now,
            },
        )
        .unwrap();
        assert_eq!(tx.cert_key_sha256("bb").unwrap().as_deref(), Some("cc"));
    }
}
