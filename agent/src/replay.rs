//! `osect-agent replay`: capture files in, Zeek log files out.

use crate::config::Config;
use crate::pcap::{self, ReadError};
use osect_engine::engine::{Engine, Options, Stats};
use osect_wire::{Format, LogWriter, Record};
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// At the end of input, connections are closed this many at a time and
/// their records written, so memory stays flat.
const FINISH_STEP: usize = 4096;

#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub out: PathBuf,
    pub format: Format,
    pub ignore_checksums: bool,
    /// Close an interval every this many seconds of capture time (interim
    /// connection records, per-interval address and asset records).
    pub interval_secs: Option<u64>,
    /// Run the application-layer parsers.
    pub app_layer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A capture file could not be read; everything before the damage was
    /// written.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A log file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a replay did.
#[derive(Debug, Default)]
pub struct Summary {
    pub files: usize,
    pub packets: u64,
    pub records: BTreeMap<&'static str, u64>,
    pub stats: Stats,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

/// The log files of one replay, opened as their first record arrives.
struct Logs {
    dir: PathBuf,
    format: Format,
    open_ts: i64,
    /// One writer and row count per log, by the address of its schema:
    /// some thirty logs, too many to search a list per row.
    writers: FxHashMap<usize, (LogWriter<File>, u64)>,
}

impl Logs {
    fn write(&mut self, r: Record) -> Result<(), ReplayError> {
        let path = r.schema.path;
        let err = |source| ReplayError::Write {
            path: self.dir.join(format!("{path}.log")),
            source,
        };
        let (w, n) = match self.writers.entry(std::ptr::from_ref(r.schema) as usize) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let f = File::create(self.dir.join(format!("{path}.log"))).map_err(err)?;
                let w = LogWriter::new(f, r.schema, self.format, self.open_ts).map_err(err)?;
                e.insert((w, 0))
            }
        };
        w.write(&r).map_err(err)?;
        *n += 1;
        r.free();
        Ok(())
    }

    fn close(self, close_ts: i64) -> Result<BTreeMap<&'static str, u64>, ReplayError> {
        let mut counts = BTreeMap::new();
        for (w, n) in self.writers.into_values() {
            let path = w.schema().path;
            *counts.entry(path).or_default() += n;
            w.close(close_ts).map_err(|source| ReplayError::Write {
                path: self.dir.join(format!("{path}.log")),
                source,
            })?;
        }
        Ok(counts)
    }
}

/// Replays `files` in order through one engine and writes the logs.
pub fn replay(
    files: &[PathBuf],
    cfg: &Config,
    opts: &ReplayOptions,
) -> Result<Summary, ReplayError> {
    std::fs::create_dir_all(&opts.out).map_err(|source| ReplayError::Write {
        path: opts.out.clone(),
        source,
    })?;
    let mut engine = Engine::new(
        &cfg.limits,
        Options {
            ignore_checksums: opts.ignore_checksums || cfg.capture.ignore_checksums,
            app_layer: opts.app_layer,
            ..Options::default()
        },
    );
    let mut logs = Logs {
        dir: opts.out.clone(),
        format: opts.format,
        open_ts: 0,
        writers: FxHashMap::default(),
    };
    let mut summary = Summary::default();
    let interval = opts.interval_secs.map(|s| s.max(1) as i64 * 1_000_000);
    let mut boundary: Option<i64> = None;
    let mut failure = None;
    for path in files {
        summary.files += 1;
        let mut write_err = None;
        let res = pcap::read_file(path, |ts, link, frame| {
            if let Some(iv) = interval {
                osect_engine::engine::step_intervals(&mut boundary, iv, ts, |b| {
                    engine.end_interval(b)
                });
            }
            if summary.first_ts.is_none() {
                summary.first_ts = Some(ts);
                logs.open_ts = ts;
            }
            summary.last_ts = Some(ts);
            engine.handle_packet(ts, link, frame);
            if write_err.is_none() {
                write_err = engine.drain_records(|r| logs.write(r)).err();
            }
        });
        if let Some(e) = write_err {
            return Err(e);
        }
        if let Err(e) = res {
            failure = Some(e);
            break;
        }
    }
    let end = summary.last_ts.unwrap_or(0);
    loop {
        let done = engine.finish_some(end, FINISH_STEP);
        engine.drain_records(|r| logs.write(r))?;
        if done {
            break;
        }
    }
    summary.records = logs.close(end)?;
    summary.stats = engine.stats();
    summary.packets = summary.stats.packets;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(summary),
    }
}

/// A one-paragraph report of a replay for the terminal.
pub fn describe(s: &Summary, out: &Path) -> String {
    let st = &s.stats;
    let mut text = format!(
        "{} file(s), {} packets, {} bytes -> {}\n",
        s.files,
        st.packets,
        st.bytes,
        out.display()
    );
    for (log, n) in &s.records {
        text.push_str(&format!("  {log}.log: {n} records\n"));
    }
    text.push_str(&format!(
        "  malformed {} | unsupported link {} | bad IP checksum {} | bad transport checksum {} | evicted: connections {} fragments {}\n",
        st.malformed,
        st.unsupported_link,
        st.bad_ip_checksum,
        st.bad_transport_checksum,
        st.conns_evicted,
        st.frags_evicted
    ));
    text
}
