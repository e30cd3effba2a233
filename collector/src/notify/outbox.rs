//! The outbox tables. A notification is one row of `notify_outbox`, written
//! in the transaction that stores its alert, so both commit or neither does.
//! Each sink's progress on it is one row of `notify_delivery`, created by the
//! deliverer when it first takes the notification up for that sink.
//!
//! The outbox is bounded in time: every enqueue deletes notifications older
//! than [`RETAIN_US`], whatever their state (the deliverer gives up long
//! before, see `give_up_after_secs`).

use super::{Notification, NotifyError};
use rusqlite::{params, Connection, OpenFlags, Transaction};
use std::path::Path;

/// Notifications older than this are deleted (30 days).
pub const RETAIN_US: i64 = 30 * 86_400 * 1_000_000;

/// A payload larger than this, serialised, is stored without its `evidence`
/// (replaced by `evidence_omitted`, the number of items left out), so a
/// receiver still learns of the alert.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS notify_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    delivery_id TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    payload TEXT NOT NULL,
    open INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS notify_outbox_open ON notify_outbox (open, id);
CREATE INDEX IF NOT EXISTS notify_outbox_created ON notify_outbox (created);
CREATE INDEX IF NOT EXISTS notify_outbox_site ON notify_outbox (site);
CREATE TABLE IF NOT EXISTS notify_delivery (
    outbox_id INTEGER NOT NULL,
    site TEXT NOT NULL,
    sink TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    delivered INTEGER,
    failed INTEGER,
    last_error TEXT,
    PRIMARY KEY (outbox_id, sink)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notify_delivery_due
    ON notify_delivery (sink, delivered, failed, next_attempt, outbox_id);
CREATE INDEX IF NOT EXISTS notify_delivery_site ON notify_delivery (site);";

/// Creates the outbox tables if they do not exist.
pub fn create_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(CREATE)
}

/// Queues a notification of `event` ("new", "updated") for alert `alert_id`
/// of `site`, in the caller's transaction. Every configured sink will be
/// sent it at least once.
pub fn enqueue(
    tx: &Transaction<'_>,
    site: &str,
    alert_id: i64,
    event: &str,
    payload: &serde_json::Value,
) -> rusqlite::Result<()> {
    let now = crate::store::now_us();
    prune(tx, now - RETAIN_US)?;
    // The same id goes with every attempt to every sink, so a receiver can
    // drop the repeats that at-least-once delivery makes.
    let delivery_id = format!("{:032x}", fastrand::u128(..));
    tx.execute(
        "INSERT INTO notify_outbox (site, alert_id, event, delivery_id, created, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![site, alert_id, event, delivery_id, now, bounded(payload)],
    )?;
    Ok(())
}

/// Deletes notifications created before `cutoff_us` and their deliveries.
fn prune(tx: &Transaction<'_>, cutoff_us: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM notify_delivery WHERE outbox_id IN
            (SELECT id FROM notify_outbox WHERE created < ?1)",
        params![cutoff_us],
    )?;
    tx.execute(
        "DELETE FROM notify_outbox WHERE created < ?1",
        params![cutoff_us],
    )?;
    Ok(())
}

/// The payload as stored: whole, or without its evidence when too large.
fn bounded(payload: &serde_json::Value) -> String {
    let whole = payload.to_string();
    if whole.len() <= MAX_PAYLOAD_BYTES {
        return whole;
    }
    let mut slim = payload.clone();
    if let Some(map) = slim.as_object_mut() {
        if let Some(evidence) = map.remove("evidence") {
            let n = evidence.as_array().map_or(1, Vec::len);
            map.insert("evidence_omitted".into(), n.into());
        }
    }
    let slim = slim.to_string();
    if slim.len() <= MAX_PAYLOAD_BYTES {
        slim
    } else {
        log::warn!(
            "notification payload of {} bytes exceeds {MAX_PAYLOAD_BYTES} even without evidence; \
             stored as its size only",
            whole.len()
        );
        serde_json::json!({ "payload_omitted_bytes": whole.len() }).to_string()
    }
}

/// Longest last error kept per delivery.
const MAX_ERROR_CHARS: usize = 500;

/// A connection of the deliverer's to the store.
pub(super) struct Outbox {
    db: Connection,
}

fn open_db(store_dir: &Path, flags: OpenFlags) -> Result<Connection, NotifyError> {
    let path = store_dir.join(crate::store::DB_FILE);
    let fail = |e: rusqlite::Error| NotifyError::Open {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    // Without the create flag: a mistyped directory is an error, not a new
    // empty database.
    let db = Connection::open_with_flags(&path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(fail)?;
    db.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(fail)?;
    Ok(db)
}

impl Outbox {
    pub(super) fn open(store_dir: &Path) -> Result<Outbox, NotifyError> {
        let db = open_db(store_dir, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        db.pragma_update(None, "synchronous", "FULL")?;
        Ok(Outbox { db })
    }

    /// The last notification taken up for `sink`: [`Outbox::take_up`]
    /// covers every open one up to it, so a restart goes on from there.
    pub(super) fn taken_up_to(&self, sink: &str) -> rusqlite::Result<i64> {
        self.db.query_row(
            "SELECT COALESCE(MAX(outbox_id), 0) FROM notify_delivery WHERE sink = ?1",
            params![sink],
            |r| r.get(0),
        )
    }

    /// Gives `sink` a delivery row for each open notification queued after
    /// `cursor`, at most `limit` of them; returns the new cursor.
    pub(super) fn take_up(&mut self, sink: &str, cursor: i64, limit: u32) -> rusqlite::Result<i64> {
        let tx = self.db.transaction()?;
        // Ids grow in commit order (SQLite has one writer at a time), so
        // nothing committed later can appear behind the cursor.
        let last: Option<i64> = tx.query_row(
            "SELECT MAX(id) FROM (SELECT id FROM notify_outbox
                WHERE open = 1 AND id > ?1 ORDER BY id LIMIT ?2)",
            params![cursor, limit],
            |r| r.get(0),
        )?;
        let Some(last) = last else {
            return Ok(cursor);
        };
        tx.execute(
            "INSERT OR IGNORE INTO notify_delivery (outbox_id, site, sink, attempts, next_attempt)
             SELECT id, site, ?1, 0, created FROM notify_outbox
             WHERE open = 1 AND id > ?2 AND id <= ?3",
            params![sink, cursor, last],
        )?;
        tx.commit()?;
        Ok(last)
    }

    /// Up to `limit` notifications due for `sink` at `now_us`, oldest first.
    pub(super) fn due(
        &self,
        sink: &str,
        now_us: i64,
        limit: u32,
    ) -> rusqlite::Result<Vec<Notification>> {
        let mut q = self.db.prepare_cached(
            "SELECT o.id, o.site, o.alert_id, o.event, o.delivery_id, o.created, o.payload,
                    d.attempts
             FROM notify_delivery d JOIN notify_outbox o ON o.id = d.outbox_id
             WHERE d.sink = ?1 AND d.delivered IS NULL AND d.failed IS NULL
               AND d.next_attempt <= ?2
             ORDER BY d.outbox_id LIMIT ?3",
        )?;
        let rows = q.query_map(params![sink, now_us, limit], |r| {
            let payload: String = r.get(6)?;
            Ok(Notification {
                outbox_id: r.get(0)?,
                site: r.get(1)?,
                alert_id: r.get(2)?,
                event: r.get(3)?,
                delivery_id: r.get(4)?,
                created_us: r.get(5)?,
                // Written from a JSON value; a damaged one goes out as text.
                payload: serde_json::from_str(&payload)
                    .unwrap_or(serde_json::Value::String(payload)),
                attempts: r.get(7)?,
            })
        })?;
        rows.collect()
    }

    /// Records that `sink` accepted notification `id`.
    pub(super) fn delivered(
        &mut self,
        id: i64,
        sink: &str,
        sinks: &[String],
        now_us: i64,
    ) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE notify_delivery SET attempts = attempts + 1, delivered = ?3, last_error = NULL
             WHERE outbox_id = ?1 AND sink = ?2",
            params![id, sink, now_us],
        )?;
        close_if_done(&tx, id, sinks)?;
        tx.commit()
    }

    /// Records a failed attempt of `sink` on notification `id`: the next
    /// attempt at `next_us`, or none when `give_up`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attempt_failed(
        &mut self,
        id: i64,
        sink: &str,
        sinks: &[String],
        now_us: i64,
        next_us: i64,
        give_up: bool,
        error: &str,
    ) -> rusqlite::Result<()> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE notify_delivery SET attempts = attempts + 1, next_attempt = ?3,
                failed = CASE WHEN ?4 THEN ?5 END, last_error = ?6
             WHERE outbox_id = ?1 AND sink = ?2",
            params![id, sink, next_us, give_up, now_us, error],
        )?;
        close_if_done(&tx, id, sinks)?;
        tx.commit()
    }
}

/// Closes notification `id` once every configured sink has delivered it or
/// given up, so rounds no longer take it up.
fn close_if_done(tx: &Transaction<'_>, id: i64, sinks: &[String]) -> rusqlite::Result<()> {
    let sinks = serde_json::Value::from(sinks).to_string();
    tx.execute(
        "UPDATE notify_outbox SET open = 0 WHERE id = ?1 AND NOT EXISTS (
            SELECT 1 FROM json_each(?2) s WHERE NOT EXISTS (
                SELECT 1 FROM notify_delivery d WHERE d.outbox_id = ?1 AND d.sink = s.value
                  AND (d.delivered IS NOT NULL OR d.failed IS NOT NULL)))",
        params![id, sinks],
    )?;
    Ok(())
}

/// Where one notification stands with one sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not yet accepted; tried again later (or not yet taken up by a sink).
    Pending,
    Delivered,
    /// Given up after `give_up_after_secs`.
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Failed => "failed",
        }
    }
}

/// One notification and one sink's progress on it, for `outbox`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub site: String,
    pub alert_id: i64,
    pub event: String,
    pub delivery_id: String,
    pub queued_us: i64,
    /// None until a deliverer has taken the notification up.
    pub sink: Option<String>,
    pub state: State,
    pub attempts: u32,
    pub next_attempt_us: Option<i64>,
    pub delivered_us: Option<i64>,
    pub failed_us: Option<i64>,
    pub last_error: Option<String>,
}

/// The `limit` latest notifications (of `site`), oldest first, one row per
/// sink that has taken each up.
pub fn list(
    store_dir: &Path,
    site: Option<&str>,
    limit: u32,
) -> Result<Vec<OutboxRow>, NotifyError> {
    let db = open_db(store_dir, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut q = db.prepare(
        "SELECT o.id, o.site, o.alert_id, o.event, o.delivery_id, o.created,
                d.sink, d.attempts, d.next_attempt, d.delivered, d.failed, d.last_error
         FROM (SELECT * FROM notify_outbox WHERE ?1 IS NULL OR site = ?1
               ORDER BY id DESC LIMIT ?2) o
         LEFT JOIN notify_delivery d ON d.outbox_id = o.id
         ORDER BY o.id, d.sink",
    )?;
    let rows = q.query_map(params![site, limit], |r| {
        let delivered_us: Option<i64> = r.get(9)?;
        let failed_us: Option<i64> = r.get(10)?;
        let state = match (delivered_us, failed_us) {
            (Some(_), _) => State::Delivered,
            (None, Some(_)) => State::Failed,
            (None, None) => State::Pending,
        };
        Ok(OutboxRow {
            id: r.get(0)?,
            site: r.get(1)?,
            alert_id: r.get(2)?,
            event: r.get(3)?,
            delivery_id: r.get(4)?,
            queued_us: r.get(5)?,
            sink: r.get(6)?,
            state,
            attempts: r.get::<_, Option<u32>>(7)?.unwrap_or(0),
            next_attempt_us: if state == State::Pending {
                r.get(8)?
            } else {
                None
            },
            delivered_us,
            failed_us,
            last_error: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
