//! The durable batch store: one SQLite database, WAL journal with
//! `synchronous = FULL`, so a committed batch survives a power cut. A batch
//! is acknowledged only after its insert has committed. The key is
//! (device, seq): the same batch sent twice is stored once.

use osect_wire::batch::{self, FrameInfo, Health};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

const DB_FILE: &str = "collector.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The store directory could not be created.
    #[error("store directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// The sequence number is already stored with other content.
    #[error("device {device} batch {seq} already stored with a different digest")]
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
}

/// One stored batch's metadata.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    pub device: String,
    pub seq: u64,
    pub site: String,
    pub interval_start_us: i64,
    pub interval_end_us: i64,
    pub received_us: i64,
    pub digest: Vec<u8>,
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
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let db = Connection::open(dir.join(DB_FILE))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS batches (
                device TEXT NOT NULL,
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
                PRIMARY KEY (device, seq)
            );
            CREATE INDEX IF NOT EXISTS batches_site ON batches (site, interval_start);
            CREATE TABLE IF NOT EXISTS audit (
                at INTEGER NOT NULL,
                who TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS operators (
                name TEXT PRIMARY KEY,
                token_sha256 BLOB NOT NULL
            );",
        )?;
        Ok(Store { db })
    }

    /// Stores a verified batch; `source` says how it came (`uplink` or
    /// `import:<operator>`). Returns once the row is durable.
    pub fn insert(
        &mut self,
        info: &FrameInfo,
        data: &[u8],
        received_us: i64,
        source: &str,
    ) -> Result<Inserted, StoreError> {
        let h = &info.header;
        let tx = self.db.transaction()?;
        let existing: Option<Vec<u8>> = tx
            .query_row(
                "SELECT digest FROM batches WHERE device = ?1 AND seq = ?2",
                params![h.device_id, h.seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(d) = existing {
            return if d == info.digest {
                Ok(Inserted::Duplicate)
            } else {
                Err(StoreError::Conflict {
                    device: h.device_id.clone(),
                    seq: h.seq,
                })
            };
        }
        tx.execute(
            "INSERT INTO batches (device, seq, site, interval_start, interval_end, received,
                agent_version, records, health, digest, source, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                h.device_id,
                h.seq as i64,
                h.site,
                h.interval_start_us,
                h.interval_end_us,
                received_us,
                h.agent_version,
                h.record_count as i64,
                health_json(&h.health),
                info.digest.as_slice(),
                source,
                data
            ],
        )?;
        tx.commit()?;
        Ok(Inserted::New)
    }

    /// Batches of a device or a site whose interval overlaps `[from, to)`,
    /// oldest first, without their data.
    pub fn list(
        &self,
        device: Option<&str>,
        site: Option<&str>,
        from_us: i64,
        to_us: i64,
    ) -> Result<Vec<StoredBatch>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT device, seq, site, interval_start, interval_end, received, digest FROM batches
             WHERE (?1 IS NULL OR device = ?1) AND (?2 IS NULL OR site = ?2)
               AND interval_end >= ?3 AND interval_start < ?4
             ORDER BY device, seq",
        )?;
        let rows = q.query_map(params![device, site, from_us, to_us], |r| {
            Ok(StoredBatch {
                device: r.get(0)?,
                seq: r.get::<_, i64>(1)? as u64,
                site: r.get(2)?,
                interval_start_us: r.get(3)?,
                interval_end_us: r.get(4)?,
                received_us: r.get(5)?,
                digest: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A stored batch, decoded.
    pub fn load(&self, device: &str, seq: u64) -> Result<batch::Batch, StoreError> {
        let data: Vec<u8> = self.db.query_row(
            "SELECT data FROM batches WHERE device = ?1 AND seq = ?2",
            params![device, seq as i64],
            |r| r.get(0),
        )?;
        batch::decode(&data).map_err(|e| StoreError::Damaged {
            device: device.to_owned(),
            seq,
            message: e.to_string(),
        })
    }

    pub fn devices(&self) -> Result<Vec<DeviceRow>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT b.device, b.site, b.agent_version, c.n, b.seq, b.interval_end, c.last, b.health
             FROM (SELECT device, COUNT(*) AS n, MAX(seq) AS maxseq, MAX(received) AS last
                   FROM batches GROUP BY device) c
             JOIN batches b ON b.device = c.device AND b.seq = c.maxseq
             ORDER BY b.device",
        )?;
        let rows = q.query_map([], |r| {
            let health: String = r.get(7)?;
            Ok(DeviceRow {
                device: r.get(0)?,
                site: r.get(1)?,
                agent_version: r.get(2)?,
                batches: r.get::<_, i64>(3)? as u64,
                last_seq: r.get::<_, i64>(4)? as u64,
                last_interval_end_us: r.get(5)?,
                last_received_us: r.get(6)?,
                health: health_from_json(&health),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes every batch of a device or of a site; returns how many.
    pub fn delete(
        &mut self,
        device: Option<&str>,
        site: Option<&str>,
        who: &str,
    ) -> Result<usize, StoreError> {
        let tx = self.db.transaction()?;
        let n = tx.execute(
            "DELETE FROM batches WHERE (?1 IS NULL OR device = ?1) AND (?2 IS NULL OR site = ?2)",
            params![device, site],
        )?;
        tx.execute(
            "INSERT INTO audit (at, who, action, detail) VALUES (?1, ?2, 'delete', ?3)",
            params![
                now_us(),
                who,
                format!(
                    "device={} site={} batches={n}",
                    device.unwrap_or("*"),
                    site.unwrap_or("*")
                )
            ],
        )?;
        tx.commit()?;
        self.db
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
        Ok(n)
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

pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

const HEALTH_KEYS: [&str; 15] = [
    "packets",
    "bytes",
    "kernel_drops",
    "kernel_freezes",
    "malformed",
    "flows_evicted",
    "records_dropped",
    "records_truncated",
    "spool_depth",
    "spool_bytes",
    "spool_evictions",
    "spool_quarantined",
    "lost_intervals",
    "lost_packets",
    "lost_interval_start_us",
];

fn health_values(h: &Health) -> [i64; 15] {
    [
        h.packets as i64,
        h.bytes as i64,
        h.kernel_drops as i64,
        h.kernel_freezes as i64,
        h.malformed as i64,
        h.flows_evicted as i64,
        h.records_dropped as i64,
        h.records_truncated as i64,
        h.spool_depth as i64,
        h.spool_bytes as i64,
        h.spool_evictions as i64,
        h.spool_quarantined as i64,
        h.lost_intervals as i64,
        h.lost_packets as i64,
        h.lost_interval_start_us,
    ]
}

pub fn health_json(h: &Health) -> String {
    let mut m = serde_json::Map::new();
    for (k, v) in HEALTH_KEYS.iter().zip(health_values(h)) {
        m.insert((*k).to_owned(), v.into());
    }
    serde_json::Value::Object(m).to_string()
}

fn health_from_json(s: &str) -> Health {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
    let g = |k: &str| v.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
    let u = |k: &str| g(k) as u64;
    Health {
        packets: u("packets"),
        bytes: u("bytes"),
        kernel_drops: u("kernel_drops"),
        kernel_freezes: u("kernel_freezes"),
        malformed: u("malformed"),
        flows_evicted: u("flows_evicted"),
        records_dropped: u("records_dropped"),
        records_truncated: u("records_truncated"),
        spool_depth: u("spool_depth"),
        spool_bytes: u("spool_bytes"),
        spool_evictions: u("spool_evictions"),
        spool_quarantined: u("spool_quarantined"),
        lost_intervals: u("lost_intervals"),
        lost_packets: u("lost_packets"),
        lost_interval_start_us: g("lost_interval_start_us"),
    }
}
