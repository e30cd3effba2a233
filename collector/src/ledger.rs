//! The analysis state in the store: per site, its devices, pairs,
//! operations, alerts and attribute history as rows (each item's data as
//! JSON, the columns the console filters on beside it), and the site's
//! settings and counters in `site_meta`.
//!
//! Every writer (the analysis worker, alert actions, settings) bumps the
//! site's `version` in the same transaction, so a process holding a site's
//! state in memory knows when to read it again. Plain SQL only: the same
//! statements run on PostgreSQL.

use crate::store::{now_us, Store, StoreError};
use osect_analysis::{
    Alert, AlertKind, AlertState, Changes, Device, DeviceKey, HistoryEntry, Operation, Pair,
    SiteConfig, SiteMeta, SiteState,
};
use rusqlite::{params, OptionalExtension, Transaction};

pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS analysed (
    device TEXT NOT NULL,
    key_sha256 BLOB NOT NULL,
    seq INTEGER NOT NULL,
    site TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (device, key_sha256, seq)
);
CREATE INDEX IF NOT EXISTS analysed_site ON analysed (site);
CREATE TABLE IF NOT EXISTS site_meta (
    site TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_devices (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (site, key)
);
CREATE TABLE IF NOT EXISTS ledger_pairs (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    orig TEXT NOT NULL,
    resp TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (site, key)
);
CREATE TABLE IF NOT EXISTS ledger_operations (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    pair TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (site, key)
);
CREATE TABLE IF NOT EXISTS ledger_history (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    ts INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    old TEXT,
    new TEXT
);
CREATE INDEX IF NOT EXISTS ledger_history_device ON ledger_history (site, device, ts);
CREATE TABLE IF NOT EXISTS alerts (
    site TEXT NOT NULL,
    id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (site, id)
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (site, state, last_seen);";

/// The tables that hold a site's analysis, cleared by `reanalyse`.
const ANALYSIS_TABLES: [&str; 6] = [
    "analysed",
    "ledger_devices",
    "ledger_pairs",
    "ledger_operations",
    "ledger_history",
    "alerts",
];

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("site {0:?} has no analysis in this store")]
    UnknownSite(String),
    #[error("site {site}: alert {id} does not exist")]
    UnknownAlert { site: String, id: u64 },
    #[error("site {site}: {message}")]
    Rejected { site: String, message: String },
    #[error("stored {what} of site {site} is damaged: {message}")]
    Damaged {
        site: String,
        what: &'static str,
        message: String,
    },
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        LedgerError::Store(StoreError::Sql(e))
    }
}

fn damaged(site: &str, what: &'static str, e: serde_json::Error) -> LedgerError {
    LedgerError::Damaged {
        site: site.to_owned(),
        what,
        message: e.to_string(),
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    // The analysis' types are plain data: serialising them cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// Which alerts to list.
#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    /// Open and acknowledged only.
    pub active: bool,
    pub kind: Option<AlertKind>,
    pub device: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: Option<usize>,
}

/// The site's version, 0 when it has no analysis yet.
pub fn version(tx: &rusqlite::Connection, site: &str) -> Result<i64, LedgerError> {
    Ok(tx
        .query_row(
            "SELECT version FROM site_meta WHERE site = ?1",
            params![site],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Reads a site's whole state (active alerts only); `None` when the site
/// has none yet.
pub fn load(
    db: &rusqlite::Connection,
    site: &str,
) -> Result<Option<(i64, SiteState)>, LedgerError> {
    let meta: Option<(i64, String)> = db
        .query_row(
            "SELECT version, data FROM site_meta WHERE site = ?1",
            params![site],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((version, meta)) = meta else {
        return Ok(None);
    };
    let meta: SiteMeta = serde_json::from_str(&meta).map_err(|e| damaged(site, "settings", e))?;
    let devices: Vec<Device> = rows(
        db,
        "SELECT data FROM ledger_devices WHERE site = ?1",
        site,
        "device",
    )?;
    let pairs: Vec<Pair> = rows(
        db,
        "SELECT data FROM ledger_pairs WHERE site = ?1",
        site,
        "pair",
    )?;
    let ops: Vec<Operation> = rows(
        db,
        "SELECT data FROM ledger_operations WHERE site = ?1",
        site,
        "operation",
    )?;
    let alerts: Vec<Alert> = rows(
        db,
        "SELECT data FROM alerts WHERE site = ?1 AND state IN ('open', 'acknowledged')",
        site,
        "alert",
    )?;
    Ok(Some((
        version,
        SiteState::from_parts(site, meta, devices, pairs, ops, alerts),
    )))
}

fn rows<T: serde::de::DeserializeOwned>(
    db: &rusqlite::Connection,
    sql: &str,
    site: &str,
    what: &'static str,
) -> Result<Vec<T>, LedgerError> {
    let mut q = db.prepare_cached(sql)?;
    let texts = q
        .query_map(params![site], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    texts
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| damaged(site, what, e)))
        .collect()
}

/// Writes what changed in `state` and the site's settings, bumping its
/// version; returns the new version. New alerts are queued for the
/// notification sinks in the same transaction.
pub fn save(
    tx: &Transaction<'_>,
    state: &SiteState,
    changes: &Changes,
) -> Result<i64, LedgerError> {
    let site = state.site.as_str();
    for key in &changes.devices {
        if let Some(d) = state.devices.get(key) {
            tx.prepare_cached(
                "INSERT INTO ledger_devices (site, key, first_seen, last_seen, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (site, key) DO UPDATE SET first_seen = excluded.first_seen,
                   last_seen = excluded.last_seen, data = excluded.data",
            )?
            .execute(params![site, d.key.0, d.first_seen, d.last_seen, json(d)])?;
        }
    }
    for key in &changes.pairs {
        if let Some(p) = state.pairs.get(key) {
            tx.prepare_cached(
                "INSERT INTO ledger_pairs (site, key, orig, resp, first_seen, last_seen, bytes, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (site, key) DO UPDATE SET first_seen = excluded.first_seen,
                   last_seen = excluded.last_seen, bytes = excluded.bytes, data = excluded.data",
            )?
            .execute(params![
                site,
                key,
                p.key.orig.0,
                p.key.resp.0,
                p.first_seen,
                p.last_seen,
                i64::try_from(p.bytes).unwrap_or(i64::MAX),
                json(p)
            ])?;
        }
    }
    for key in &changes.operations {
        if let Some(o) = state.operations.get(key) {
            tx.prepare_cached(
                "INSERT INTO ledger_operations (site, key, pair, first_seen, last_seen, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (site, key) DO UPDATE SET first_seen = excluded.first_seen,
                   last_seen = excluded.last_seen, data = excluded.data",
            )?
            .execute(params![
                site,
                key,
                o.pair,
                o.first_seen,
                o.last_seen,
                json(o)
            ])?;
        }
    }
    for h in &changes.history {
        tx.prepare_cached(
            "INSERT INTO ledger_history (site, device, ts, attribute, old, new)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![site, h.device.0, h.ts, h.attribute, h.old, h.new])?;
    }
    for a in &changes.alerts {
        tx.prepare_cached(
            "INSERT INTO alerts (site, id, kind, severity, state, first_seen, last_seen, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (site, id) DO UPDATE SET state = excluded.state,
               first_seen = excluded.first_seen, last_seen = excluded.last_seen,
               data = excluded.data",
        )?
        .execute(params![
            site,
            a.id as i64,
            a.kind.as_str(),
            a.severity.as_str(),
            a.state.as_str(),
            a.first_seen,
            a.last_seen,
            json(a)
        ])?;
    }
    for ev in &changes.events {
        if let osect_analysis::AlertEvent::New(id) = ev {
            if let Some(a) = changes.alerts.iter().find(|a| a.id == *id) {
                crate::notify::enqueue(tx, site, *id as i64, "new", &alert_payload(a))?;
            }
        }
    }
    let version = version(tx, site)? + 1;
    tx.prepare_cached(
        "INSERT INTO site_meta (site, version, data) VALUES (?1, ?2, ?3)
         ON CONFLICT (site) DO UPDATE SET version = excluded.version, data = excluded.data",
    )?
    .execute(params![site, version, json(&state.meta)])?;
    Ok(version)
}

/// What a notification carries of an alert.
pub fn alert_payload(a: &Alert) -> serde_json::Value {
    serde_json::json!({
        "site": a.site,
        "id": a.id,
        "kind": a.kind.as_str(),
        "severity": a.severity.as_str(),
        "title": a.title,
        "devices": a.devices,
        "detail": a.detail,
        "first_seen": a.first_seen,
        "last_seen": a.last_seen,
        "count": a.count,
        "evidence": a.evidence,
    })
}

impl Store {
    /// Sites with analysis state, sorted.
    pub fn analysed_sites(&self) -> Result<Vec<String>, LedgerError> {
        let mut q = self
            .db()
            .prepare("SELECT site FROM site_meta ORDER BY site")?;
        let v = q
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(v)
    }

    /// A site's whole state, read now.
    pub fn site_state(&self, site: &str) -> Result<SiteState, LedgerError> {
        load(self.db(), site)?
            .map(|(_, s)| s)
            .ok_or_else(|| LedgerError::UnknownSite(site.to_owned()))
    }

    /// A site's attribute history, of one device or all, oldest first.
    pub fn history(
        &self,
        site: &str,
        device: Option<&str>,
    ) -> Result<Vec<HistoryEntry>, LedgerError> {
        let mut q = self.db().prepare(
            "SELECT device, ts, attribute, old, new FROM ledger_history
             WHERE site = ?1 AND (?2 IS NULL OR device = ?2) ORDER BY ts, rowid",
        )?;
        let v = q
            .query_map(params![site, device], |r| {
                Ok(HistoryEntry {
                    device: DeviceKey(r.get(0)?),
                    ts: r.get(1)?,
                    attribute: r.get(2)?,
                    old: r.get(3)?,
                    new: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    }

    /// Alerts of a site (or of every site when `site` is `None`), newest
    /// first.
    pub fn alerts(&self, site: Option<&str>, f: &AlertFilter) -> Result<Vec<Alert>, LedgerError> {
        let mut q = self.db().prepare(
            "SELECT site, data FROM alerts
             WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR state = ?2)
               AND (?3 = 0 OR state IN ('open', 'acknowledged'))
               AND (?4 IS NULL OR kind = ?4)
               AND (?5 IS NULL OR last_seen >= ?5) AND (?6 IS NULL OR first_seen < ?6)
             ORDER BY last_seen DESC, id DESC",
        )?;
        let texts = q
            .query_map(
                params![
                    site,
                    f.state.map(AlertState::as_str),
                    f.active,
                    f.kind.map(AlertKind::as_str),
                    f.from,
                    f.to
                ],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        for (s, t) in texts {
            let a: Alert = serde_json::from_str(&t).map_err(|e| damaged(&s, "alert", e))?;
            if f.device
                .as_deref()
                .is_some_and(|d| !a.devices.iter().any(|k| k.0 == d))
            {
                continue;
            }
            out.push(a);
            if f.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }

    pub fn alert(&self, site: &str, id: u64) -> Result<Alert, LedgerError> {
        let t: Option<String> = self
            .db()
            .query_row(
                "SELECT data FROM alerts WHERE site = ?1 AND id = ?2",
                params![site, id as i64],
                |r| r.get(0),
            )
            .optional()?;
        let t = t.ok_or_else(|| LedgerError::UnknownAlert {
            site: site.to_owned(),
            id,
        })?;
        serde_json::from_str(&t).map_err(|e| damaged(site, "alert", e))
    }

    /// Acknowledges, approves or dismisses an alert, in the store's audit
    /// log with who did it.
    pub fn act_on_alert(
        &mut self,
        site: &str,
        id: u64,
        state: AlertState,
        by: &str,
        note: Option<String>,
    ) -> Result<Alert, LedgerError> {
        let tx = self
            .db_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (_, mut s) =
            load(&tx, site)?.ok_or_else(|| LedgerError::UnknownSite(site.to_owned()))?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE site = ?1 AND id = ?2)",
            params![site, id as i64],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(LedgerError::UnknownAlert {
                site: site.to_owned(),
                id,
            });
        }
        s.act(id, state, by, now_us(), note)
            .map_err(|e| LedgerError::Rejected {
                site: site.to_owned(),
                message: e.to_string(),
            })?;
        let changes = s.take_changes();
        save(&tx, &s, &changes)?;
        tx.execute(
            "INSERT INTO audit (at, who, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![
                now_us(),
                by,
                format!("alert-{}", state.as_str()),
                format!("site={site} alert={id}")
            ],
        )?;
        tx.commit()?;
        self.alert(site, id)
    }

    /// Changes a site's settings (zones, learning, maintenance) through
    /// `change`, which may refuse; audited with who did it.
    pub fn change_site(
        &mut self,
        site: &str,
        by: &str,
        what: &str,
        change: impl FnOnce(&mut SiteState) -> Result<(), String>,
    ) -> Result<SiteConfig, LedgerError> {
        let tx = self
            .db_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut s = match load(&tx, site)? {
            Some((_, s)) => s,
            None => SiteState::new(site),
        };
        change(&mut s).map_err(|message| LedgerError::Rejected {
            site: site.to_owned(),
            message,
        })?;
        let changes = s.take_changes();
        save(&tx, &s, &changes)?;
        tx.execute(
            "INSERT INTO audit (at, who, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now_us(), by, what, format!("site={site}")],
        )?;
        tx.commit()?;
        Ok(s.meta.config)
    }

    /// Forgets a site's analysis (keeping its settings and what users
    /// approved) so that its batches are analysed again from the first.
    pub fn clear_analysis(&mut self, site: &str, by: &str) -> Result<(), LedgerError> {
        let tx = self
            .db_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let kept = match load(&tx, site)? {
            Some((_, s)) => {
                let mut meta = SiteMeta {
                    config: s.meta.config.clone(),
                    approved: s.meta.approved.clone(),
                    ..SiteMeta::default()
                };
                // Learning restarts where it started, from the first record.
                meta.config.learning_start = s.meta.config.learning_start;
                Some(meta)
            }
            None => None,
        };
        for t in ANALYSIS_TABLES {
            tx.execute(&format!("DELETE FROM {t} WHERE site = ?1"), params![site])?;
        }
        match kept {
            Some(meta) => {
                let v = version(&tx, site)? + 1;
                tx.execute(
                    "UPDATE site_meta SET version = ?2, data = ?3 WHERE site = ?1",
                    params![site, v, json(&meta)],
                )?;
            }
            None => {
                tx.execute("DELETE FROM site_meta WHERE site = ?1", params![site])?;
            }
        }
        tx.execute(
            "INSERT INTO audit (at, who, action, detail) VALUES (?1, ?2, 'reanalyse', ?3)",
            params![now_us(), by, format!("site={site}")],
        )?;
        tx.commit()?;
        Ok(())
    }
}
