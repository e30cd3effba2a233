//! One engine's output cut into intervals on a fixed grid of capture time.

use super::signals::stopping;
use crate::config::Config;
use osect_engine::engine::{Engine, Options, Stats};
use osect_engine::packet::LinkType;
use osect_wire::batch::{self, Health, StagedBody, Stager};
use osect_wire::Record;
use std::path::PathBuf;

/// One closed interval of one engine.
pub struct Closed {
    pub start_us: i64,
    pub end_us: i64,
    /// The interval's records, when they were not staged.
    pub records: Vec<Record>,
    /// The interval's body, written as its rows came (then `records` is
    /// empty).
    pub staged: Option<StagedBody>,
    pub health: Health,
}

impl Closed {
    /// Rows of the interval, staged or not.
    pub fn rows(&self) -> u64 {
        self.records.len() as u64 + self.staged.as_ref().map_or(0, StagedBody::rows)
    }
}

/// Drives one engine and cuts its output into intervals on a fixed grid.
pub struct Intervals {
    engine: Engine,
    iv: i64,
    /// End of the open interval; `None` before the first packet or tick.
    boundary: Option<i64>,
    last: Stats,
    /// Skip intervals with no packets and no records (file gaps).
    skip_empty: bool,
    /// Writes the interval's body as rows come, so they do not wait in
    /// memory; `None` keeps them as records (several live workers, whose
    /// intervals the batch thread joins record by record).
    stager: Option<Stager>,
    /// Rows the stager could not hold in the open interval.
    unstaged: u64,
}

impl Intervals {
    /// The engine of capture worker `worker` (0 for a file). Workers number
    /// their connections independently: the worker index in the top bits of
    /// the uid seed keeps their uids apart (a uid is a bijection of
    /// `counter ^ seed`, so counters below 2^48 never meet).
    ///
    /// With `stage`, closed intervals come with their body written
    /// ([`Closed::staged`]) with this thread's own zstd context; without,
    /// the interval is one of `capture.fanout_workers` joined into one
    /// batch, and holds its share of `limits.records_per_interval`.
    pub fn new(cfg: &Config, skip_empty: bool, worker: u16, stage: bool) -> Intervals {
        let defaults = Options::default();
        let mut limits = cfg.limits.clone();
        if !stage {
            limits.records_per_interval /= usize::from(cfg.capture.fanout_workers.max(1));
        }
        let engine = Engine::new(
            &limits,
            Options {
                ignore_checksums: cfg.capture.ignore_checksums,
                uid_seed: defaults.uid_seed ^ (u64::from(worker) << 48),
                fold: cfg.batch.aggregate,
                ..defaults
            },
        );
        let stager = if stage {
            match batch::Compressor::new(
                cfg.batch.zstd_level,
                batch::dictionary(cfg.batch.dictionary),
            ) {
                Ok(z) => Some(Stager::new(z)),
                Err(e) => {
                    log::error!("batch compression: {e}: intervals kept as records");
                    None
                }
            }
        } else {
            None
        };
        Intervals {
            engine,
            iv: cfg.batch.interval_secs.max(1) as i64 * 1_000_000,
            boundary: None,
            last: Stats::default(),
            skip_empty,
            stager,
            unstaged: 0,
        }
    }

    /// Writes the records the engine made into the body being staged, and
    /// its folded rows as a part when they fill their memory.
    fn stage(&mut self) {
        if let Some(st) = &mut self.stager {
            let unstaged = &mut self.unstaged;
            self.engine.hand_off_records(|r| stage(st, r, unstaged));
            let (lost, refused) = self.engine.stage_folded_part(st);
            if let Some(e) = refused {
                log::warn!("{lost} folded rows not batched: {e}");
            }
            self.unstaged += lost;
        }
    }

    /// Packets seen since the start.
    pub fn packets(&self) -> u64 {
        self.engine.stats().packets
    }

    /// Packets seen in the open interval so far.
    pub fn open_packets(&self) -> u64 {
        self.engine.stats().packets - self.last.packets
    }

    pub fn open_start(&self) -> Option<i64> {
        self.boundary.map(|b| b - self.iv)
    }

    fn close(&mut self, end: i64, out: &mut impl FnMut(Closed)) {
        let Some(b) = self.boundary else { return };
        let start = b - self.iv;
        let s = self.engine.stats();
        let d = |f: fn(&Stats) -> u64| f(&s).saturating_sub(f(&self.last));
        let mut health = Health {
            packets: d(|s| s.packets),
            bytes: d(|s| s.bytes),
            malformed: d(|s| s.malformed),
            flows_evicted: d(|s| s.conns_evicted),
            expected_evicted: d(|s| s.expected_evicted),
            dpd_buffers_refused: d(|s| s.dpd_buffers_refused),
            records_dropped: d(|s| s.records_dropped + s.neighbors_dropped + s.frags_dropped)
                + std::mem::take(&mut self.unstaged),
            ..Health::default()
        };
        self.last = s;
        let (records, staged) = match &mut self.stager {
            Some(st) => {
                let mut unstaged = 0;
                // The rows written at the interval's end (summaries), then
                // the folded rows, held compactly until now, each log's as
                // a section of its own.
                self.engine
                    .hand_off_records(|r| stage(st, r, &mut unstaged));
                let (lost, refused) = self.engine.stage_folded(st);
                if let Some(e) = refused {
                    log::warn!("interval from {start}: {lost} folded rows not batched: {e}");
                }
                unstaged += lost;
                // Nothing is left: this ends the engine's interval.
                for r in self.engine.take_records() {
                    stage(st, r, &mut unstaged);
                }
                health.records_dropped += unstaged;
                if self.skip_empty && st.rows() == 0 && health.packets == 0 {
                    return;
                }
                let rows = st.rows();
                match st.take() {
                    Ok(body) => (Vec::new(), Some(body)),
                    Err(e) => {
                        log::error!("interval from {start}: its {rows} rows are lost: {e}");
                        health.records_dropped += rows;
                        (Vec::new(), None)
                    }
                }
            }
            None => (self.engine.take_records(), None),
        };
        if self.skip_empty && records.is_empty() && staged.is_none() && health.packets == 0 {
            return;
        }
        out(Closed {
            start_us: start,
            end_us: end.max(start),
            records,
            staged,
            health,
        });
    }

    /// Closes the interval whose end is at or before `now`, if any.
    pub fn tick(&mut self, now: i64, out: &mut impl FnMut(Closed)) {
        let mut next = self.boundary;
        let mut passed = None;
        osect_engine::engine::step_intervals(&mut next, self.iv, now, |b| passed = Some(b));
        if let Some(b) = passed {
            // `close` reads the interval being closed from `boundary`.
            self.boundary = Some(b);
            match &mut self.stager {
                // Every open connection's interim row, written as it comes.
                Some(st) => {
                    let unstaged = &mut self.unstaged;
                    self.engine.end_interval_with(b, |sink| {
                        sink.hand_off(|r| stage(st, r, unstaged));
                    });
                }
                None => self.engine.end_interval(b),
            }
            self.close(b, out);
        }
        self.boundary = next;
    }

    pub fn packet(&mut self, ts: i64, link: LinkType, frame: &[u8], out: &mut impl FnMut(Closed)) {
        self.tick(ts, out);
        self.engine.handle_packet(ts, link, frame);
        self.stage();
    }

    /// The end of a file or a stop: every connection is logged in the last
    /// interval, and the parsers write what they still held (a request
    /// waiting for its reply, an undecided session), so nothing is lost.
    pub fn finish(&mut self, end: i64, out: &mut impl FnMut(Closed)) {
        match &mut self.stager {
            // Every connection's row, written a few at a time as they come.
            Some(st) => {
                let unstaged = &mut self.unstaged;
                while !self.engine.finish_some(end, FINISH_STEP) {
                    self.engine.hand_off_records(|r| stage(st, r, unstaged));
                }
            }
            None => self.engine.finish(end),
        }
        self.close(end, out);
        self.boundary = None;
    }
}

/// Connections logged at the end of input between two hand-offs of their
/// rows to the stager.
const FINISH_STEP: usize = 1024;

/// Writes `r` into `st`; a row the format cannot hold is counted in
/// `unstaged`.
fn stage(st: &mut Stager, r: Record, unstaged: &mut u64) {
    if let Err(e) = st.push(r) {
        log::warn!("a record not batched: {e}");
        *unstaged += 1;
    }
}

/// Runs `files` through one engine and hands each closed interval to `out`,
/// exactly as `run --pcap` does (same grid, same empty-interval rule; with
/// `stage`, bodies written as rows come, as `run` writes them).
pub fn file_intervals(
    cfg: &Config,
    files: &[PathBuf],
    stage: bool,
    mut pace: impl FnMut(i64),
    mut out: impl FnMut(Closed),
) -> Result<(), crate::pcap::ReadError> {
    let mut iv = Intervals::new(cfg, true, 0, stage);
    let mut last = None;
    for f in files {
        crate::pcap::read_file(f, |ts, link, frame| {
            if stopping() {
                return;
            }
            pace(ts);
            iv.packet(ts, link, frame, &mut out);
            last = Some(ts);
        })?;
    }
    if let Some(end) = last {
        iv.finish(end, &mut out);
    }
    Ok(())
}
