//! `osect-agent run`: capture → engine → interval batches → spool → uplink.
//!
//! ```text
//! capture thread(s) ──(bounded channel)──► batch thread ──► spool ──► uplink task
//!  AF_PACKET ring or pcap                   join workers, encode,     QUIC/mTLS,
//!  one engine per worker, folding           fsync, state file         own runtime
//!  cyclic operations as they come
//! ```
//!
//! Capture never waits on the uplink: the uplink only reads the spool. With
//! a live ring the channel is bounded and a full channel drops the interval
//! (counted in the next header) rather than block the capture thread; a
//! pcap file has no real-time constraint, so it blocks instead, which keeps
//! `run --pcap` equal to `replay --batch-out` batch for batch.
//!
//! Interval boundaries lie on multiples of `batch.interval_secs` of capture
//! time (wall clock for a live ring, packet time for a file). SIGTERM or
//! SIGINT closes the open interval at once, spools it, and gives the uplink
//! `--drain-secs` to send what is queued.
//!
//! A small state file on the data partition (`agent-state`) records the
//! last sequence number and the open interval's start and packet count, so
//! a restart after a power cut or `kill -9` never reuses a sequence number
//! and reports the interval it lost in its first batch header.
//!
//! By concern: `signals` the stop flag; `intervals` an engine's output cut
//! on the interval grid; `capture` the file and live workers; `merge` the
//! batch thread joining the workers' intervals; `closer` encoding and
//! spooling a batch; `state` the crash state file. This file starts and
//! stops them.

mod capture;
mod closer;
mod intervals;
mod merge;
mod signals;
mod state;

pub use capture::WorkerStats;
pub use intervals::{file_intervals, Closed, Intervals};
pub use signals::now_us;

use crate::batch::Batcher;
use crate::capture::AfPacketRing;
use crate::config::Config;
use crate::spool::Spool;
use crate::uplink::Uplink;
use capture::{live_worker, pcap_worker};
use closer::Closer;
use merge::batch_thread;
use osect_wire::batch::{self, Health};
use signals::install_signal_handlers;
use state::State;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Closed intervals waiting for the batch thread, per live worker (a ring
/// must not wait while the batch thread writes). A file's worker waits
/// instead: one interval queued is enough, and each one queued is an
/// interval's records more in memory.
const CHANNEL_DEPTH: usize = 4;

/// A pcap file's pace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the engine goes.
    Max,
    /// Recorded pace times this factor (1.0: as recorded).
    Factor(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Speed, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(f) if f > 0.0 => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "{s:?}: expected max or a positive factor (1 = recorded pace)"
            )),
        }
    }
}

pub struct RunOptions {
    /// Read these files instead of the live interface.
    pub pcap: Vec<PathBuf>,
    pub speed: Speed,
    /// After the input ends or a stop signal, how long the uplink may keep
    /// sending what is queued.
    pub drain: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The spool could not be opened.
    #[error("spool {path}: {source}")]
    Spool {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The data directory is not usable.
    #[error("data directory {path}: {source}")]
    Data {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("signals: {0}")]
    Signals(std::io::Error),
    /// A capture worker failed.
    #[error("capture: {0}")]
    Capture(String),
    /// The batches' zstd context could not be made (a bad level).
    #[error("batch compression: {0}")]
    Compressor(String),
    /// The uplink's runtime could not start.
    #[error("uplink runtime: {0}")]
    Runtime(std::io::Error),
}

/// Blocks of 128 KiB and more come from their own mappings, given back to
/// the system when freed. glibc otherwise raises that threshold (up to 32
/// MiB) each time such a block is freed: an interval's tables, grown and
/// freed every minute, then come from the heap, where what is freed
/// between blocks still in use is never given back (the dense plant: 137
/// MiB peak RSS for 93 MiB in use at most, 87 MiB with the threshold
/// fixed).
fn return_large_blocks() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt sets one of the allocator's parameters, before the
    // run's threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

/// What a run did, for the log and tests.
#[derive(Debug)]
pub struct RunSummary {
    pub batches_closed: u64,
    pub spool_left: usize,
    /// Per live capture worker, in worker order; empty for files.
    pub workers: Vec<WorkerStats>,
}

pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunSummary, RunError> {
    install_signal_handlers().map_err(RunError::Signals)?;
    return_large_blocks();
    let data = cfg.device.data_dir.clone();
    std::fs::create_dir_all(&data).map_err(|source| RunError::Data {
        path: data.clone(),
        source,
    })?;
    let spool = Spool::open(&cfg.spool.dir, cfg.spool.max_bytes, cfg.spool.max_age_secs).map_err(
        |source| RunError::Spool {
            path: cfg.spool.dir.clone(),
            source,
        },
    )?;
    let state_path = data.join("agent-state");
    let state = State::load(&state_path);
    let spool_max = spool.max_seq().unwrap_or(0);
    let mut state = State {
        last_seq: state.last_seq.max(spool_max),
        ..state
    };
    if state.open_start_us != 0 {
        // A batch spooled after the state was last written covers the
        // interval the state calls open: the lost one began at its end.
        let (start, packets) = match spool.interval_end(spool_max) {
            Some(end) if spool_max > state.last_seq => (end, 0),
            _ => (state.open_start_us, state.open_packets),
        };
        log::warn!("the previous run stopped without closing the interval from {start} ({packets} packets seen): reported as lost");
        state.lost_intervals += 1;
        state.lost_start_us = start;
        state.lost_packets += packets;
    }
    // Every worker's ring, before an interval counts as open: a capture
    // that cannot start loses no interval.
    let rings = if opts.pcap.is_empty() {
        AfPacketRing::open_all(&cfg.capture).map_err(|e| RunError::Capture(e.to_string()))?
    } else {
        Vec::new()
    };
    // From now on an interval is open: a kill before the first batch
    // closes is a lost interval too.
    state.open_start_us = now_us();
    state.open_packets = 0;
    state.save(&state_path);
    let spool = Arc::new(Mutex::new(spool));

    // The uplink, on its own runtime thread.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let uplink = cfg.uplink.enabled.then(|| Uplink::new(cfg, spool.clone()));
    let wake = uplink
        .as_ref()
        .map_or_else(|| Arc::new(tokio::sync::Notify::new()), Uplink::waker);
    let uplink_stats = uplink.as_ref().map(|u| u.stats.clone());
    let uplink_thread = match uplink {
        Some(up) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(RunError::Runtime)?;
            Some(std::thread::spawn(move || {
                if let Err(e) = rt.block_on(up.run(stop_rx)) {
                    log::error!("uplink stopped: {e}");
                }
            }))
        }
        None => None,
    };

    let closer = Closer {
        batcher: Batcher::new(cfg),
        compressor: batch::Compressor::new(
            cfg.batch.zstd_level,
            batch::dictionary(cfg.batch.dictionary),
        )
        .map_err(|e| RunError::Compressor(e.to_string()))?,
        decompressor: batch::Decompressor::default(),
        spool: spool.clone(),
        state_path,
        state,
        dropped: Health::default(),
        wake: wake.clone(),
        closed: 0,
        cpu: Duration::ZERO,
        capture_time: !opts.pcap.is_empty(),
    };
    let workers = if opts.pcap.is_empty() { rings.len() } else { 1 };
    let depth = if opts.pcap.is_empty() {
        CHANNEL_DEPTH * workers
    } else {
        1
    };
    let (tx, rx) = mpsc::sync_channel(depth);
    // The workers' intervals together hold at most a batch's rows: the
    // batch thread waits on as many, not more.
    let budget = cfg.limits.records_per_interval;
    let batcher = std::thread::spawn(move || batch_thread(closer, rx, workers, budget));
    let mut failures = Vec::new();
    let mut worker_stats = Vec::new();
    let dhcp = osect_engine::over_ip::dhcp::Transactions::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = if opts.pcap.is_empty() {
            rings
                .into_iter()
                .zip(0..)
                .map(|(ring, i)| {
                    let tx = tx.clone();
                    let dhcp = &dhcp;
                    s.spawn(move || {
                        osect_engine::over_ip::dhcp::share_transactions(dhcp);
                        live_worker(cfg, ring, i, workers == 1, tx)
                            .map(Some)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect()
        } else {
            let tx = tx.clone();
            vec![s.spawn(move || {
                pcap_worker(cfg, opts, tx)
                    .map(|()| None)
                    .map_err(|e| e.to_string())
            })]
        };
        for h in handles {
            match h.join() {
                Ok(Ok(st)) => worker_stats.extend(st),
                Ok(Err(e)) => failures.push(e),
                Err(_) => failures.push("capture worker panicked".into()),
            }
        }
    });
    drop(tx);
    let closer = batcher
        .join()
        .map_err(|_| RunError::Capture("batch thread panicked".into()))?;
    // Let the uplink send what is queued, then stop it.
    let t0 = Instant::now();
    if uplink_thread.is_some() {
        wake.notify_one();
        while t0.elapsed() < opts.drain && spool.lock().is_ok_and(|s| !s.is_empty()) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = stop_tx.send(true);
    if let Some(t) = uplink_thread {
        let _ = t.join();
    }
    let left = spool.lock().map_or(0, |s| s.len());
    log::info!(
        "stopped: {} batches closed ({:.3} ms of CPU each in the batch thread), {left} left in the spool",
        closer.closed,
        closer.cpu.as_secs_f64() * 1e3 / closer.closed.max(1) as f64
    );
    for w in &worker_stats {
        log::info!(
            "capture worker {} of {}: {} packets analysed; kernel: {} received, {} dropped, {} freezes",
            w.worker,
            cfg.capture.fanout_workers,
            w.packets,
            w.kernel.packets,
            w.kernel.drops,
            w.kernel.freezes
        );
    }
    if let Some(st) = uplink_stats.and_then(|s| s.lock().ok().map(|s| *s)) {
        log::info!(
            "uplink: {} batches ({} bytes) acknowledged, {} connections, {} failures",
            st.acked,
            st.acked_bytes,
            st.connects,
            st.failures
        );
    }
    if let Some(e) = failures.into_iter().next() {
        return Err(RunError::Capture(e));
    }
    Ok(RunSummary {
        batches_closed: closer.closed,
        spool_left: left,
        workers: worker_stats,
    })
}

/// `replay --batch-out`: the batches `run --pcap` would spool for `files`
/// (same intervals, aggregation and sequence numbers from 1), written as
/// `<seq:020>.osb` in `out`. Returns how many.
pub fn write_batches(cfg: &Config, files: &[PathBuf], out: &Path) -> Result<u64, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let batcher = Batcher::new(cfg);
    let mut z = batch::Compressor::new(
        cfg.batch.zstd_level,
        batch::dictionary(cfg.batch.dictionary),
    )
    .map_err(|e| format!("batch compression: {e}"))?;
    let mut d = batch::Decompressor::default();
    let mut seq = 0;
    let mut err = None;
    file_intervals(
        cfg,
        files,
        true,
        |_| {},
        |c| {
            seq += 1;
            let r = closer::encode(&batcher, seq, c, &mut z, &mut d)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    let p = out.join(format!("{seq:020}.osb"));
                    std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))
                });
            if let Err(e) = r {
                err.get_or_insert(e);
            }
        },
    )
    .map_err(|e| e.to_string())?;
    match err {
        Some(e) => Err(e),
        None => Ok(seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_parses() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2".parse::<Speed>(), Ok(Speed::Factor(2.0)));
        assert!("0".parse::<Speed>().is_err());
    }
}
