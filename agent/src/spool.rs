//! The spool: a durable queue of closed batches on the data partition.
//!
//! One file per batch, named by its sequence number (`<seq:020>.osb`). A
//! batch is written to a temporary file, fsynced, renamed into place and the
//! directory fsynced, so a power cut at any instant leaves it whole or
//! absent; leftover temporary files are removed on open. The batch format
//! carries its own sha256 digest: a file is fully verified before it is
//! handed to the uplink, and one that fails (torn by a failing disk,
//! corrupted, truncated) is moved to `quarantine/`, counted and reported,
//! never sent and never fatal.
//!
//! The spool is bounded by bytes and by age; when a new batch would exceed
//! either bound the oldest batches are evicted and counted. Counts since the
//! last report go into the next batch header ([`Spool::take_report`]).

use osect_wire::batch;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const EXT: &str = "osb";
const TMP_PREFIX: &str = ".tmp-";
const QUARANTINE: &str = "quarantine";
/// The newest batch the collector acknowledged, kept as the base of the
/// deltas the uplink sends. Not a pending batch: its name has no number and
/// not the `.osb` of batch files, so nothing that takes the spool's batch
/// files (the spool itself, a returned unit's import) takes it for one.
const BASE_FILE: &str = "acked-base.batch";
/// Quarantined files kept; older ones are deleted so a failing disk cannot
/// fill the partition with them.
const MAX_QUARANTINED_FILES: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Entry {
    bytes: u64,
    interval_end_us: i64,
    /// When the batch entered the spool (the file's mtime after a restart).
    queued: SystemTime,
}

/// Evictions and quarantines not yet reported in a batch header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub evicted: u64,
    pub quarantined: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The batch was already gone (evicted or removed).
    #[error("spool batch {0} is gone")]
    Gone(u64),
    /// The file failed verification and was moved to quarantine.
    #[error("spool batch {seq} quarantined: {reason}")]
    Quarantined { seq: u64, reason: String },
    /// The file could not be read.
    #[error("spool batch {seq}: {source}")]
    Io { seq: u64, source: io::Error },
}

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    max_age_us: i64,
    entries: BTreeMap<u64, Entry>,
    total_bytes: u64,
    report: Report,
}

impl Spool {
    /// Opens (creating) the spool in `dir`: removes temporary files left by
    /// a crash and quarantines files whose frame cannot be read.
    pub fn open(dir: &Path, max_bytes: u64, max_age_secs: u64) -> io::Result<Spool> {
        fs::create_dir_all(dir.join(QUARANTINE))?;
        let mut s = Spool {
            dir: dir.to_owned(),
            max_bytes,
            max_age_us: i64::try_from(max_age_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX),
            entries: BTreeMap::new(),
            total_bytes: 0,
            report: Report::default(),
        };
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TMP_PREFIX) {
                fs::remove_file(e.path())?;
                continue;
            }
            let Some(seq) = name
                .strip_suffix(&format!(".{EXT}"))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let queued = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| SystemTime::now());
            match fs::read(e.path()).map_err(|e| e.to_string()).and_then(|b| {
                batch::read_frame_info(&b)
                    .map(|i| (b.len() as u64, i))
                    .map_err(|e| e.to_string())
            }) {
                Ok((bytes, info)) if info.header.seq == seq => {
                    s.total_bytes += bytes;
                    s.entries.insert(
                        seq,
                        Entry {
                            bytes,
                            interval_end_us: info.header.interval_end_us,
                            queued,
                        },
                    );
                }
                Ok((_, info)) => s.quarantine(
                    seq,
                    &format!("file name says seq {seq}, header says {}", info.header.seq),
                )?,
                Err(reason) => s.quarantine(seq, &reason)?,
            }
        }
        sync_dir(dir)?;
        Ok(s)
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.{EXT}"))
    }

    /// Moves a bad file aside, logs and counts it.
    fn quarantine(&mut self, seq: u64, reason: &str) -> io::Result<()> {
        let from = self.path(seq);
        let qdir = self.dir.join(QUARANTINE);
        log::error!("spool: quarantining {} ({reason})", from.display());
        if let Some(e) = self.entries.remove(&seq) {
            self.total_bytes -= e.bytes;
        }
        let to = qdir.join(format!("{seq:020}.{EXT}.bad"));
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut bad: Vec<PathBuf> = fs::read_dir(&qdir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        bad.sort();
        while bad.len() > MAX_QUARANTINED_FILES {
            fs::remove_file(bad.remove(0))?;
        }
        sync_dir(&qdir)?;
        sync_dir(&self.dir)?;
        self.report.quarantined += 1;
        Ok(())
    }

    /// Stores a closed batch durably. Returns once it is on disk. Evicts the
    /// oldest batches when the byte bound is exceeded.
    pub fn push(&mut self, seq: u64, interval_end_us: i64, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.dir.join(format!("{TMP_PREFIX}{seq:020}"));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, self.path(seq))?;
        sync_dir(&self.dir)?;
        if let Some(old) = self.entries.insert(
            seq,
            Entry {
                bytes: bytes.len() as u64,
                interval_end_us,
                queued: SystemTime::now(),
            },
        ) {
            self.total_bytes -= old.bytes;
        }
        self.total_bytes += bytes.len() as u64;
        // The newest batch stays even when alone over the bound.
        while self.total_bytes > self.max_bytes && self.entries.len() > 1 {
            self.evict_oldest("spool over max_bytes")?;
        }
        Ok(())
    }

    /// Evicts batches whose interval ended longer than `max_age` before `now_us`.
    pub fn expire(&mut self, now_us: i64) -> io::Result<()> {
        while let Some((_, e)) = self.entries.first_key_value() {
            if now_us.saturating_sub(e.interval_end_us) <= self.max_age_us {
                break;
            }
            self.evict_oldest("spool batch older than max_age_secs")?;
        }
        Ok(())
    }

    fn evict_oldest(&mut self, why: &str) -> io::Result<()> {
        if let Some((seq, e)) = self.entries.pop_first() {
            log::warn!("spool: evicting batch {seq} ({why})");
            self.total_bytes -= e.bytes;
            remove_if_present(&self.path(seq))?;
            sync_dir(&self.dir)?;
            self.report.evicted += 1;
        }
        Ok(())
    }

    /// Sequence numbers waiting, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.keys().copied()
    }

    /// Reads and fully verifies a batch. A batch that fails verification is
    /// quarantined and reported in the next header.
    pub fn load(&mut self, seq: u64) -> Result<Vec<u8>, LoadError> {
        self.load_decoded(seq).map(|(bytes, _)| bytes)
    }

    /// [`Spool::load`], with the batch decoded.
    pub fn load_decoded(&mut self, seq: u64) -> Result<(Vec<u8>, batch::Batch), LoadError> {
        if !self.entries.contains_key(&seq) {
            return Err(LoadError::Gone(seq));
        }
        let bytes = fs::read(self.path(seq)).map_err(|source| LoadError::Io { seq, source })?;
        let check = match batch::decode(&bytes) {
            Ok(b) if b.header.seq == seq => Ok(b),
            Ok(b) => Err(format!("header says seq {}", b.header.seq)),
            Err(e) => Err(e.to_string()),
        };
        match check {
            Ok(b) => Ok((bytes, b)),
            Err(reason) => {
                self.quarantine(seq, &reason)
                    .map_err(|source| LoadError::Io { seq, source })?;
                Err(LoadError::Quarantined { seq, reason })
            }
        }
    }

    /// The collector refused the batch as malformed: set it aside.
    pub fn reject(&mut self, seq: u64, reason: &str) -> io::Result<()> {
        self.quarantine(seq, reason)
    }

    /// The collector acknowledged the batch: it leaves the spool.
    pub fn remove(&mut self, seq: u64) -> io::Result<()> {
        if let Some(e) = self.entries.remove(&seq) {
            self.total_bytes -= e.bytes;
            remove_if_present(&self.path(seq))?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The collector acknowledged the batch and it is the newest it has:
    /// it leaves the queue and becomes the base of the next deltas, in
    /// place of the previous base (one rename, so a crash leaves either).
    pub fn retire(&mut self, seq: u64) -> io::Result<()> {
        if let Some(e) = self.entries.remove(&seq) {
            self.total_bytes -= e.bytes;
            fs::rename(self.path(seq), self.dir.join(BASE_FILE))?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The base kept by [`Spool::retire`], verified; `None` when there is
    /// none or it does not verify (the next batch then goes in full).
    pub fn base(&self) -> Option<batch::Base> {
        let bytes = fs::read(self.dir.join(BASE_FILE)).ok()?;
        batch::Base::from_frame(&bytes)
            .map_err(|e| log::warn!("spool: base batch not used: {e}"))
            .ok()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> u64 {
        self.total_bytes
    }

    /// When a held batch entered the spool.
    pub fn queued_at(&self, seq: u64) -> Option<SystemTime> {
        self.entries.get(&seq).map(|e| e.queued)
    }

    /// When the interval of a held batch ended.
    pub fn interval_end(&self, seq: u64) -> Option<i64> {
        self.entries.get(&seq).map(|e| e.interval_end_us)
    }

    /// The highest sequence number held, if any.
    pub fn max_seq(&self) -> Option<u64> {
        self.entries.last_key_value().map(|(k, _)| *k)
    }

    /// Evictions and quarantines since the last call.
    pub fn take_report(&mut self) -> Report {
        std::mem::take(&mut self.report)
    }
}

/// Checks and decodes a spool file's bytes outside a spool (tests, tools).
pub fn verify(bytes: &[u8]) -> Result<batch::Batch, batch::DecodeError> {
    batch::decode(bytes)
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Makes a rename or unlink in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes a small file atomically and durably (temporary file, fsync,
/// rename, directory fsync).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use osect_wire::batch::{Batch, Header};
    use osect_wire::record::{field, FieldType, LogSchema, Record, Value};

    static LOG: LogSchema = LogSchema {
        path: "modbus",
        fields: &[
            field("ts", FieldType::Time),
            field("func", FieldType::String),
        ],
    };

    fn batch_bytes(seq: u64, end_us: i64) -> Vec<u8> {
        let b = Batch {
            header: Header {
                device_id: "OSS-T".into(),
                seq,
                interval_start_us: end_us - 1_000_000,
                interval_end_us: end_us,
                ..Header::default()
            },
            records: vec![Record {
                schema: &LOG,
                values: vec![Value::Time(end_us - 10), Value::Str("READ".into())],
            }],
        };
        batch::encode(&b, 3, None).unwrap()
    }

    #[test]
    fn push_reopen_remove() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::open(d.path(), 1 << 20, 3600).unwrap();
        for seq in 1..=3 {
            s.push(
                seq,
                seq as i64 * 1_000_000,
                &batch_bytes(seq, seq as i64 * 1_000_000),
            )
            .unwrap();
        }
        s.remove(2).unwrap();
        std::fs::write(d.path().join(".tmp-00000000000000000009"), b"torn").unwrap();
        let mut s = Spool::open(d.path(), 1 << 20, 3600).unwrap();
        assert_eq!(s.pending().collect::<Vec<_>>(), vec![1, 3]);
        assert!(!d.path().join(".tmp-00000000000000000009").exists());
        assert_eq!(s.load(3).unwrap(), batch_bytes(3, 3_000_000));
        assert_eq!(s.max_seq(), Some(3));
    }

    #[test]
    fn bounds_evict_oldest_and_count() {
        let d = tempfile::tempdir().unwrap();
        let one = batch_bytes(1, 1_000_000).len() as u64;
        let mut s = Spool::open(d.path(), one * 2 + one / 2, 10).unwrap();
        for seq in 1..=4 {
            s.push(
                seq,
                seq as i64 * 1_000_000,
                &batch_bytes(seq, seq as i64 * 1_000_000),
            )
            .unwrap();
        }
        assert_eq!(s.pending().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(s.take_report().evicted, 2);
        s.expire(13_500_000).unwrap();
        assert_eq!(s.pending().collect::<Vec<_>>(), vec![4]);
        assert_eq!(
            s.take_report(),
            Report {
                evicted: 1,
                quarantined: 0
            }
        );
        assert!(!d.path().join(format!("{:020}.osb", 3)).exists());
    }

    /// Every truncation and every corrupted byte of a batch file is caught,
    /// quarantined and reported, and the other batches still load.
    #[test]
    fn truncation_and_corruption_at_every_byte_are_quarantined() {
        let good = batch_bytes(1, 1_000_000);
        let other = batch_bytes(2, 2_000_000);
        let cases = (0..good.len())
            .map(|n| good[..n].to_vec())
            .chain((0..good.len()).map(|i| {
                let mut c = good.clone();
                c[i] ^= 0xff;
                c
            }));
        for (i, bad) in cases.enumerate() {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join(format!("{:020}.osb", 1)), &bad).unwrap();
            std::fs::write(d.path().join(format!("{:020}.osb", 2)), &other).unwrap();
            let mut s = Spool::open(d.path(), 1 << 20, 3600).unwrap();
            let first = s.pending().next();
            if first == Some(1) {
                assert!(
                    matches!(s.load(1), Err(LoadError::Quarantined { seq: 1, .. })),
                    "case {i} loaded"
                );
            }
            assert_eq!(s.take_report().quarantined, 1, "case {i}");
            assert_eq!(s.pending().collect::<Vec<_>>(), vec![2]);
            assert_eq!(s.load(2).unwrap(), other);
            assert_eq!(
                std::fs::read_dir(d.path().join(QUARANTINE))
                    .unwrap()
                    .count(),
                1
            );
        }
    }
}
