//! The outbox tables. A notification is one row of `notify_outbox`, written
//! in the transaction that stores its alert, so both commit or neither does.
//! Each sink's progress on it is one row of `notify_delivery`, created by the
//! deliverer when it first takes the notification up for that sink.
//!
//! The outbox is bounded in time: every enqueue deletes notifications older
//! than [`RETAIN_US`], whatever their state (the deliverer gives up long
//! before, see `give_up_after_secs`).

use rusqlite::{params, Transaction};

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
