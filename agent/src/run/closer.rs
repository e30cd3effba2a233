//! Closing a batch: the header's counters, encoding, the spool and the
//! state file.

use super::intervals::Closed;
use super::signals::now_us;
use super::state::State;
use crate::batch::Batcher;
use crate::spool::Spool;
use osect_wire::batch::{self, Health};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Closes batches: the header's counters, encoding, spool and state file.
pub(super) struct Closer {
    pub batcher: Batcher,
    /// The batch thread's zstd contexts, for every batch it encodes (and
    /// the staged bodies it hashes).
    pub compressor: batch::Compressor,
    pub decompressor: batch::Decompressor,
    pub spool: Arc<Mutex<Spool>>,
    pub state_path: PathBuf,
    pub state: State,
    /// Intervals dropped at the channel, to report.
    pub dropped: Health,
    pub wake: Arc<tokio::sync::Notify>,
    pub closed: u64,
    /// CPU time of the batch thread, set when it ends.
    pub cpu: Duration,
    /// Spool age is measured in capture time (a file's intervals may be
    /// years old) rather than by the wall clock.
    pub capture_time: bool,
}

impl Closer {
    pub fn emit(&mut self, mut c: Closed) {
        let seq = self.state.last_seq + 1;
        let Ok(mut spool) = self.spool.lock() else {
            log::error!("spool lock poisoned: batch {seq} not written");
            return;
        };
        let now = if self.capture_time {
            c.end_us
        } else {
            now_us()
        };
        if let Err(e) = spool.expire(now) {
            log::error!("spool: {e}");
        }
        let report = spool.take_report();
        c.health.spool_depth = spool.len() as u64;
        c.health.spool_bytes = spool.bytes();
        c.health.spool_evictions = report.evicted;
        c.health.spool_quarantined = report.quarantined;
        c.health.records_dropped += std::mem::take(&mut self.dropped.records_dropped);
        c.health.packets += std::mem::take(&mut self.dropped.packets);
        c.health.lost_intervals = self.state.lost_intervals;
        c.health.lost_interval_start_us = self.state.lost_start_us;
        c.health.lost_packets = self.state.lost_packets;
        let (start, end) = (c.start_us, c.end_us);
        let rows = c.rows();
        let bytes = match encode(
            &self.batcher,
            seq,
            c,
            &mut self.compressor,
            &mut self.decompressor,
        ) {
            Ok(b) => b,
            Err(e) => {
                log::error!("batch {seq} not encoded, its {rows} records are lost: {e}");
                self.dropped.records_dropped += rows;
                return;
            }
        };
        if let Err(e) = spool.push(seq, end, &bytes) {
            log::error!("batch {seq} not spooled, its {rows} records are lost: {e}");
            self.dropped.records_dropped += rows;
            return;
        }
        self.state = State {
            last_seq: seq,
            open_start_us: end,
            ..State::default()
        };
        self.state.save(&self.state_path);
        drop(spool);
        self.closed += 1;
        let digest = batch::read_frame_info(&bytes)
            .map(|i| batch::hex(&i.digest))
            .unwrap_or_default();
        log::info!(
            "closed batch {seq} [{start}, {end}) records {rows} bytes {} digest {digest}",
            bytes.len()
        );
        self.wake.notify_one();
    }

    pub fn progress(&mut self, start_us: i64, packets: u64) {
        self.state.open_start_us = start_us;
        self.state.open_packets = packets;
        self.state.save(&self.state_path);
    }

    /// A clean stop: nothing is open.
    pub fn clean(&mut self) {
        self.state.open_start_us = 0;
        self.state.open_packets = 0;
        self.state.save(&self.state_path);
    }
}

/// The batch of closed interval `c` as batch `seq`: its staged body
/// framed, or its records encoded.
pub(super) fn encode(
    batcher: &Batcher,
    seq: u64,
    c: Closed,
    z: &mut batch::Compressor,
    d: &mut batch::Decompressor,
) -> Result<Vec<u8>, batch::EncodeError> {
    match c.staged {
        Some(body) => {
            let header = batcher.header(seq, c.start_us, c.end_us, body.rows(), c.health);
            body.encode(&header, d)
        }
        None => z.encode(&batcher.close(seq, c.start_us, c.end_us, c.records, c.health)),
    }
}

/// CPU time the calling thread has used.
pub(super) fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec the call writes to.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}
