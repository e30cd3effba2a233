//! The durable batch store: one SQLite database, WAL journal with
//! `synchronous = FULL`, so a committed batch survives a power cut. A batch
//! is acknowledged only after its insert has committed.
//!
//! The dedup key is (device, key, seq): `key` is the SHA-256 of the
//! SubjectPublicKeyInfo of the certificate the batch came under, so a unit
//! wiped and provisioned again under the same serial (a new key, sequence
//! numbers from 1 again) never collides with its earlier life, while a
//! certificate renewal (same key) keeps deduplicating. The same batch sent
//! twice under one key is stored once.

use osect_wire::batch::{self, FrameInfo, Header, Health, UnknownField};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;

pub const DB_FILE: &str = "collector.sqlite";

/// The schema this collector writes (`PRAGMA user_version`). Version 1 is
/// the first layout (no version recorded, batches keyed by device and seq).
const SCHEMA_VERSION: i64 = 2;

/// The key recorded for batches stored by schema version 1, which did not
/// record the sender's key.
pub const UNKNOWN_KEY: &[u8] = &[];

/// The agent's self-test sends sequence 0 with no records (real batches
/// start at 1).
pub const SELFTEST_SEQ: u64 = 0;

const CREATE_BATCHES: &str = "CREATE TABLE batches (
    device TEXT NOT NULL,
    key_sha256 BLOB NOT NULL,
    seq INTEGER NOT NULL,
    site TEXT NOT NULL,
    interval_start INTEGER NOT NULL,
    interval_end INTEGER NOT NULL,
    received INTEGER NOT NULL,
    agent_version TEXT NOT NULL,
    records INTEGER NOT NULL,
    health TEXT NOT NULL,
    digest BLOB NOT NULL,
    source TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (device, key_sha256, seq)
);
CREATE INDEX batches_site ON batches (site, interval_start);";

const CREATE_OTHERS: &str = "CREATE TABLE IF NOT EXISTS audit (
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY,
    token_sha256 BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS refusals (
    device TEXT NOT NULL,
    site TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    last_detail TEXT NOT NULL,
    PRIMARY KEY (device, site, reason)
);";

/// Version 1 to 2: the key joins the primary key; rows kept from version 1
/// get [`UNKNOWN_KEY`]. The new table is [`CREATE_BATCHES`] between these two.
const MIGRATE_1_TO_2: [&str; 2] = [
    "ALTER TABLE batches RENAME TO batches_v1;
     DROP INDEX IF EXISTS batches_site;",
    "INSERT INTO batches (device, key_sha256, seq, site, interval_start, interval_end, received,
         agent_version, records, health, digest, source, data)
       SELECT device, X'', seq, site, interval_start, interval_end, received,
         agent_version, records, health, digest, source, data FROM batches_v1;
     DROP TABLE batches_v1;",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The store directory could not be created.
    #[error("store directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// The database file cannot be opened, is not a store, or has a schema
    /// this collector cannot use.
    #[error("store {file}: {message}")]
    Open { file: String, message: String },
    /// The sequence number is already stored under the same key with other content.
    #[error(
        "device {device} batch {seq} already stored from the same key with a different digest"
    )]
    Conflict { device: String, seq: u64 },
    /// A stored batch no longer decodes.
    #[error("stored batch {device}/{seq} is damaged: {message}")]
    Damaged {
        device: String,
        seq: u64,
        message: String,
    },
}

pub struct Store {
    db: Connection,
}

/// What `insert` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    New,
    Duplicate,
    /// A self-test batch (sequence 0, no records) took the place of the
    /// previous self-test of the same key.
    SelftestReplaced,
}

/// A stored batch a delta is resolved against: its frame (in full), its
/// digest and the site it was stored under.
#[derive(Debug, Clone)]
pub struct StoredBase {
    pub data: Vec<u8>,
    pub digest: Vec<u8>,
    pub site: String,
}

/// One stored batch's metadata.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    pub device: String,
    /// SHA-256 of the sender's SubjectPublicKeyInfo ([`UNKNOWN_KEY`] for
    /// batches stored by schema version 1).
    pub key_sha256: Vec<u8>,
    pub seq: u64,
    pub site: String,
    pub interval_start_us: i64,
    pub interval_end_us: i64,
    pub received_us: i64,
    pub digest: Vec<u8>,
}

/// Batches refused from one device for one reason, for `devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRow {
    pub device: String,
    /// The fleet registry's site for the device, empty when it had none.
    pub site: String,
    pub reason: String,
    pub count: u64,
    pub first_us: i64,
    pub last_us: i64,
    pub last_detail: String,
}

/// A device's latest state, for `devices`.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub device: String,
    pub site: String,
    pub agent_version: String,
    pub batches: u64,
    pub last_seq: u64,
    pub last_interval_end_us: i64,
    pub last_received_us: i64,
    pub health: Health,
    /// Header fields of a newer agent this build does not know.
    pub unknown_fields: Vec<UnknownField>,
}

impl DeviceRow {
    /// What the device's last batch carried that this build does not know
    /// (a newer agent's counters and header fields); `None` when nothing.
    pub fn unknown_summary(&self) -> Option<String> {
        if self.health.unknown.is_empty() && self.unknown_fields.is_empty() {
            return None;
        }
        let fields: Vec<String> = self
            .unknown_fields
            .iter()
            .map(|f| format!("{} ({} bytes)", f.tag, f.value.len()))
            .collect();
        Some(format!(
            "unknown to this collector: counters {:?}, header fields [{}]",
            self.health.unknown,
            fields.join(", ")
        ))
    }
}

fn is_selftest(h: &Header) -> bool {
    h.seq == SELFTEST_SEQ && h.record_count == 0
}

impl Store {
    /// The connection, for the analysis' tables ([`crate::ledger`]).
    pub(crate) fn db(&self) -> &Connection {
        &self.db
    }

    pub(crate) fn db_mut(&mut self) -> &mut Connection {
        &mut self.db
    }

    /// Opens the store in `dir`, creating it, or bringing a store of an
    /// earlier schema to the current one.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let path = dir.join(DB_FILE);
        let fail = |message: String| StoreError::Open {
            file: path.display().to_string(),
            message,
        };
        let mut db = Connection::open(&path).map_err(|e| fail(e.to_string()))?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail(e.to_string()))?;
        db.pragma_update(None, "synchronous", "FULL")?;
        // One process creates or migrates; others wait and find it done.
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let recorded: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let has_batches: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'batches')",
            [],
            |r| r.get(0),
        )?;
        let version = match (recorded, has_batches) {
            (0, false) => 0,
            (0, true) => 1,
            (v, _) => v,
        };
        let step = |sql: &str, from: i64| {
            tx.execute_batch(sql).map_err(|e| {
                fail(format!(
                    "cannot bring schema version {from} to {SCHEMA_VERSION}: {e}"
                ))
            })
        };
        match version {
            0 => step(CREATE_BATCHES, 0)?,
            1 => {
                step(MIGRATE_1_TO_2[0], 1)?;
                step(CREATE_BATCHES, 1)?;
                step(MIGRATE_1_TO_2[1], 1)?;
                log::info!(
                    "store {}: schema version 1 brought to {SCHEMA_VERSION}",
                    path.display()
                );
            }
            SCHEMA_VERSION => {}
            v => {
                return Err(fail(format!(
                    "schema version {v} is not one this collector knows (1 to {SCHEMA_VERSION}); \
                     it was written by another osect-collector version"
                )))
            }
        }
        step(CREATE_OTHERS, version)?;
        crate::notify::create_tables(&tx).map_err(|e| fail(format!("notification outbox: {e}")))?;
        step(crate::ledger::CREATE, version)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(Store { db })
    }

    /// Stores a verified batch under `site` (the fleet registry's site for
    /// its device, not necessarily its header's), sent under the key whose
    /// SubjectPublicKeyInfo hashes to `key_sha256`; `source` says how it
    /// came (`uplink` or `import:<operator>`). Returns once the row is
    /// durable.
    pub fn insert(
        &mut self,
        info: &FrameInfo,
        site: &str,
        key_sha256: &[u8],
        data: &[u8],
        received_us: i64,
        source: &str,
    ) -> Result<Inserted, StoreError> {
        let h = &info.header;
        // The write lock from the start: a read upgraded to a write fails at
        // once (not after the busy timeout) when the analysis worker's
        // connection wrote in between.
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(Vec<u8>, i64)> = tx
            .query_row(
                "SELECT digest, records FROM batches
                 WHERE device = ?1 AND key_sha256 = ?2 AND seq = ?3",
                params![h.device_id, key_sha256, h.seq as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let replace = match existing {
            Some((d, _)) if d == info.digest => return Ok(Inserted::Duplicate),
            // A self-test holds no records: a later one (another site, another
            // agent version) takes its place instead of conflicting.
            Some((_, 0)) if is_selftest(h) => true,
            Some(_) => {
                return Err(StoreError::Conflict {
                    device: h.device_id.clone(),
                    seq: h.seq,
                })
            }
            None => false,
        };
        // Stored before keys were recorded: the same content is the same batch.
        let stored_unkeyed: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM batches
                WHERE device = ?1 AND key_sha256 = ?2 AND seq = ?3 AND digest = ?4)",
            params![
                h.device_id,
                UNKNOWN_KEY,
                h.seq as i64,
                info.digest.as_slice()
            ],
            |r| r.get(0),
        )?;
        if stored_unkeyed {
            return Ok(Inserted::Duplicate);
        }
        tx.execute(
            "INSERT OR REPLACE INTO batches (device, key_sha256, seq, site, interval_start,
                interval_end, received, agent_version, records, health, digest, source, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                h.device_id,
                key_sha256,
                h.seq as i64,
                site,
                h.interval_start_us,
                h.interval_end_us,
                received_us,
                h.agent_version,
                h.record_count as i64,
                health_json(h),
                info.digest.as_slice(),
                source,
                data
            ],
        )?;
        tx.commit()?;
        Ok(if replace {
            Inserted::SelftestReplaced
        } else {
            Inserted::New
        })
    }

    /// Batches of a device or a site whose interval overlaps `[from, to)`,
    /// without their data: per device, each key's batches in sequence
    /// order, keys in the order they were first seen.
    pub fn list(
        &self,
        device: Option<&str>,
        site: Option<&str>,
        from_us: i64,
        to_us: i64,
    ) -> Result<Vec<StoredBatch>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT device, key_sha256, seq, site, interval_start, interval_end, received, digest,
                    MIN(received) OVER (PARTITION BY device, key_sha256) AS key_first
             FROM batches
             WHERE (?1 IS NULL OR device = ?1) AND (?2 IS NULL OR site = ?2)
               AND interval_end >= ?3 AND interval_start < ?4
             ORDER BY device, key_first, key_sha256, seq",
        )?;
        let rows = q.query_map(params![device, site, from_us, to_us], |r| {
            Ok(StoredBatch {
                device: r.get(0)?,
                key_sha256: r.get(1)?,
                seq: r.get::<_, i64>(2)? as u64,
                site: r.get(3)?,
                interval_start_us: r.get(4)?,
                interval_end_us: r.get(5)?,
                received_us: r.get(6)?,
                digest: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A listed batch, decoded.
    pub fn load_stored(&self, b: &StoredBatch) -> Result<batch::Batch, StoreError> {
        let data: Vec<u8> = self.db.query_row(
            "SELECT data FROM batches WHERE device = ?1 AND key_sha256 = ?2 AND seq = ?3",
            params![b.device, b.key_sha256, b.seq as i64],
            |r| r.get(0),
        )?;
        decode_stored(&b.device, b.seq, &data)
    }

    /// Batch `seq` of a device, decoded; when several of the device's keys
    /// sent that number, the one received last.
    pub fn load(&self, device: &str, seq: u64) -> Result<batch::Batch, StoreError> {
        let data: Vec<u8> = self.db.query_row(
            "SELECT data FROM batches WHERE device = ?1 AND seq = ?2
             ORDER BY received DESC LIMIT 1",
            params![device, seq as i64],
            |r| r.get(0),
        )?;
        decode_stored(device, seq, &data)
    }

    /// Batch `seq` as the device's key `key_sha256` sent it, for a delta
    /// that names it as its base.
    pub fn base(
        &self,
        device: &str,
        key_sha256: &[u8],
        seq: u64,
    ) -> Result<Option<StoredBase>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT data, digest, site FROM batches
                 WHERE device = ?1 AND key_sha256 = ?2 AND seq = ?3",
                params![device, key_sha256, seq as i64],
                |r| {
                    Ok(StoredBase {
                        data: r.get(0)?,
                        digest: r.get(1)?,
                        site: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// One row per device: the batch with the highest sequence number of the
    /// key it was last provisioned with (the key first seen last).
    pub fn devices(&self) -> Result<Vec<DeviceRow>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT device, site, agent_version, n, seq, interval_end, last, health FROM (
                SELECT device, site, agent_version, seq, interval_end, health,
                       COUNT(*) OVER (PARTITION BY device) AS n,
                       MAX(received) OVER (PARTITION BY device) AS last,
                       ROW_NUMBER() OVER (PARTITION BY device
                           ORDER BY key_first DESC, key_sha256 DESC, seq DESC) AS pick
                FROM (SELECT *, MIN(received) OVER (PARTITION BY device, key_sha256) AS key_first
                      FROM batches))
             WHERE pick = 1
             ORDER BY device",
        )?;
        let rows = q.query_map([], |r| {
            let (health, unknown_fields) = health_from_json(&r.get::<_, String>(7)?);
            Ok(DeviceRow {
                device: r.get(0)?,
                site: r.get(1)?,
                agent_version: r.get(2)?,
                batches: r.get::<_, i64>(3)? as u64,
                last_seq: r.get::<_, i64>(4)? as u64,
                last_interval_end_us: r.get(5)?,
                last_received_us: r.get(6)?,
                health,
                unknown_fields,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts a batch refused from `device` (attributed to `site`, empty
    /// when unknown) for `reason`, keeping the last refusal's detail.
    pub fn count_refusal(
        &self,
        device: &str,
        site: &str,
        reason: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let now = now_us();
        self.db.execute(
            "INSERT INTO refusals (device, site, reason, count, first, last, last_detail)
             VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)
             ON CONFLICT (device, site, reason) DO UPDATE
             SET count = count + 1, last = excluded.last, last_detail = excluded.last_detail",
            params![device, site, reason, now, detail],
        )?;
        Ok(())
    }

    /// Refused batches per device, site and reason.
    pub fn refusals(&self) -> Result<Vec<RefusalRow>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT device, site, reason, count, first, last, last_detail FROM refusals
             ORDER BY device, site, reason",
        )?;
        let rows = q.query_map([], |r| {
            Ok(RefusalRow {
                device: r.get(0)?,
                site: r.get(1)?,
                reason: r.get(2)?,
                count: r.get::<_, i64>(3)? as u64,
                first_us: r.get(4)?,
                last_us: r.get(5)?,
                last_detail: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn audit(&self, who: &str, action: &str, detail: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO audit (at, who, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now_us(), who, action, detail],
        )?;
        Ok(())
    }

    pub fn set_operator(&self, name: &str, token_sha256: &[u8]) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR REPLACE INTO operators (name, token_sha256) VALUES (?1, ?2)",
            params![name, token_sha256],
        )?;
        Ok(())
    }

    pub fn operator_token(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT token_sha256 FROM operators WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
    }
}

fn decode_stored(device: &str, seq: u64, data: &[u8]) -> Result<batch::Batch, StoreError> {
    batch::decode(data).map_err(|e| StoreError::Damaged {
        device: device.to_owned(),
        seq,
        message: e.to_string(),
    })
}

pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The `health` column: every counter the agent sent by name (an older
/// agent's lack the ones appended since), the lost interval's start, and
/// what a newer agent sent that this build does not know
/// (`unknown_counters` in wire order, `unknown_fields` with their tags).
pub fn health_json(h: &Header) -> String {
    let mut m = serde_json::Map::new();
    let sent = Health::COUNTERS.len().saturating_sub(h.health.absent);
    for (k, v) in Health::COUNTERS.iter().zip(h.health.counters()).take(sent) {
        m.insert((*k).to_owned(), v.into());
    }
    m.insert(
        "lost_interval_start_us".into(),
        h.health.lost_interval_start_us.into(),
    );
    if !h.health.unknown.is_empty() {
        m.insert("unknown_counters".into(), h.health.unknown.clone().into());
    }
    if !h.unknown.is_empty() {
        let fields: Vec<serde_json::Value> = h
            .unknown
            .iter()
            .map(|f| serde_json::json!({"tag": f.tag, "hex": batch::hex(&f.value)}))
            .collect();
        m.insert("unknown_fields".into(), fields.into());
    }
    serde_json::Value::Object(m).to_string()
}

/// The health and unknown header fields [`health_json`] wrote (counters
/// missing from older rows read as 0).
fn health_from_json(s: &str) -> (Health, Vec<UnknownField>) {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
    let mut h = Health::default();
    for name in Health::COUNTERS {
        if let Some(c) = h.counter_mut(name) {
            *c = v
                .get(*name)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
        }
    }
    h.lost_interval_start_us = v
        .get("lost_interval_start_us")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    h.unknown = v
        .get("unknown_counters")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
        .unwrap_or_default();
    let fields = v
        .get("unknown_fields")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    Some(UnknownField {
                        tag: f.get("tag")?.as_u64()?,
                        value: hex::decode(f.get("hex")?.as_str()?).ok()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    (h, fields)
}
