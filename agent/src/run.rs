//! `osect-agent run`: capture → engine → interval batches → spool → uplink.
//!
//! ```text
//! capture thread(s) ──(bounded channel)──► batch thread ──► spool ──► uplink task
//!  AF_PACKET ring or pcap                   aggregate, encode,        QUIC/mTLS,
//!  one engine per worker                    fsync, state file         own runtime
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

use crate::batch::Batcher;
use crate::capture::{AfPacketRing, KernelStats};
use crate::config::Config;
use crate::spool::{write_atomic, Spool};
use crate::uplink::Uplink;
use osect_engine::engine::{Engine, Options, Stats};
use osect_engine::packet::LinkType;
use osect_wire::batch::{self, Batch, Health};
use osect_wire::{Key, Record, Value};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Closed intervals waiting for the batch thread, per worker.
const CHANNEL_DEPTH: usize = 4;
/// Intervals the batch thread waits on for a slow worker before closing
/// them with what it has.
const MAX_PENDING_INTERVALS: usize = 4;
/// How often the open interval's packet count reaches the state file.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() -> std::io::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for s in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(s, &act) }.map_err(std::io::Error::from)?;
    }
    Ok(())
}

fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One closed interval of one engine.
#[derive(Debug)]
pub struct Closed {
    pub start_us: i64,
    pub end_us: i64,
    pub records: Vec<Record>,
    pub health: Health,
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
}

impl Intervals {
    /// The engine of capture worker `worker` (0 for a file). Workers number
    /// their connections independently: the worker index in the top bits of
    /// the uid seed keeps their uids apart (a uid is a bijection of
    /// `counter ^ seed`, so counters below 2^48 never meet).
    pub fn new(cfg: &Config, skip_empty: bool, worker: u16) -> Intervals {
        let defaults = Options::default();
        let engine = Engine::new(
            &cfg.limits,
            Options {
                ignore_checksums: cfg.capture.ignore_checksums,
                uid_seed: defaults.uid_seed ^ (u64::from(worker) << 48),
                fold: cfg.batch.aggregate,
                ..defaults
            },
        );
        Intervals {
            engine,
            iv: cfg.batch.interval_secs.max(1) as i64 * 1_000_000,
            boundary: None,
            last: Stats::default(),
            skip_empty,
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
        let health = Health {
            packets: d(|s| s.packets),
            bytes: d(|s| s.bytes),
            malformed: d(|s| s.malformed),
            flows_evicted: d(|s| s.conns_evicted),
            records_dropped: d(|s| s.records_dropped + s.neighbors_dropped + s.frags_dropped),
            ..Health::default()
        };
        self.last = s;
        let records = self.engine.take_records();
        if self.skip_empty && records.is_empty() && health.packets == 0 {
            return;
        }
        out(Closed {
            start_us: start,
            end_us: end.max(start),
            records,
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
            self.engine.end_interval(b);
            self.close(b, out);
        }
        self.boundary = next;
    }

    pub fn packet(&mut self, ts: i64, link: LinkType, frame: &[u8], out: &mut impl FnMut(Closed)) {
        self.tick(ts, out);
        self.engine.handle_packet(ts, link, frame);
    }

    /// The end of a file or a stop: every connection is logged in the last
    /// interval, and the parsers write what they still held (a request
    /// waiting for its reply, an undecided session), so nothing is lost.
    pub fn finish(&mut self, end: i64, out: &mut impl FnMut(Closed)) {
        self.engine.finish(end);
        self.close(end, out);
        self.boundary = None;
    }
}

/// Runs `files` through one engine and hands each closed interval to `out`,
/// exactly as `run --pcap` does (same grid, same empty-interval rule).
pub fn file_intervals(
    cfg: &Config,
    files: &[PathBuf],
    mut pace: impl FnMut(i64),
    mut out: impl FnMut(Closed),
) -> Result<(), crate::pcap::ReadError> {
    let mut iv = Intervals::new(cfg, true, 0);
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

// ---------------------------------------------------------------- state

/// What survives a crash: see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    last_seq: u64,
    /// Start of the interval open when the state was written; 0 after a
    /// clean stop.
    open_start_us: i64,
    open_packets: u64,
    /// Lost intervals not yet reported in a batch header: how many, the
    /// start of the last one, the packets they had seen.
    lost_intervals: u64,
    lost_start_us: i64,
    lost_packets: u64,
}

impl State {
    fn load(path: &Path) -> State {
        let Ok(text) = std::fs::read_to_string(path) else {
            return State::default();
        };
        let mut s = State::default();
        for line in text.lines() {
            let mut it = line.split_whitespace();
            match (it.next(), it.next().and_then(|v| v.parse::<i64>().ok())) {
                (Some("last_seq"), Some(v)) => s.last_seq = v.max(0) as u64,
                (Some("open_start_us"), Some(v)) => s.open_start_us = v,
                (Some("open_packets"), Some(v)) => s.open_packets = v.max(0) as u64,
                (Some("lost_intervals"), Some(v)) => s.lost_intervals = v.max(0) as u64,
                (Some("lost_start_us"), Some(v)) => s.lost_start_us = v,
                (Some("lost_packets"), Some(v)) => s.lost_packets = v.max(0) as u64,
                _ => log::warn!("{}: ignoring line {line:?}", path.display()),
            }
        }
        s
    }

    fn save(&self, path: &Path) {
        let text = format!(
            "last_seq {}\nopen_start_us {}\nopen_packets {}\nlost_intervals {}\nlost_start_us {}\nlost_packets {}\n",
            self.last_seq,
            self.open_start_us,
            self.open_packets,
            self.lost_intervals,
            self.lost_start_us,
            self.lost_packets
        );
        if let Err(e) = write_atomic(path, text.as_bytes()) {
            log::error!("cannot write {}: {e}", path.display());
        }
    }
}

// ---------------------------------------------------------------- batch thread

enum Msg {
    Closed(Closed),
    /// Worker `worker` has seen `packets` in the interval open from `start_us`.
    Progress {
        worker: u16,
        start_us: i64,
        packets: u64,
    },
    Done,
}

/// Closes batches: merges the workers' intervals, encodes, spools.
struct Closer {
    batcher: Batcher,
    level: i32,
    dict: Option<&'static batch::Dictionary>,
    spool: Arc<Mutex<Spool>>,
    state_path: PathBuf,
    state: State,
    /// Intervals dropped at the channel, to report.
    dropped: Health,
    wake: Arc<tokio::sync::Notify>,
    closed: u64,
    /// Spool age is measured in capture time (a file's intervals may be
    /// years old) rather than by the wall clock.
    capture_time: bool,
}

impl Closer {
    fn emit(&mut self, mut c: Closed) {
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
        let b = self.batcher.close(seq, start, end, c.records, c.health);
        let bytes = match batch::encode(&b, self.level, self.dict) {
            Ok(b) => b,
            Err(e) => {
                log::error!(
                    "batch {seq} not encoded, its {} records are lost: {e}",
                    b.records.len()
                );
                self.dropped.records_dropped += b.records.len() as u64;
                return;
            }
        };
        if let Err(e) = spool.push(seq, end, &bytes) {
            log::error!(
                "batch {seq} not spooled, its {} records are lost: {e}",
                b.records.len()
            );
            self.dropped.records_dropped += b.records.len() as u64;
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
            "closed batch {seq} [{start}, {end}) records {} bytes {} digest {digest}",
            b.header.record_count,
            bytes.len()
        );
        self.wake.notify_one();
    }

    fn progress(&mut self, start_us: i64, packets: u64) {
        self.state.open_start_us = start_us;
        self.state.open_packets = packets;
        self.state.save(&self.state_path);
    }

    /// A clean stop: nothing is open.
    fn clean(&mut self) {
        self.state.open_start_us = 0;
        self.state.open_packets = 0;
        self.state.save(&self.state_path);
    }
}

fn batch_thread(mut closer: Closer, rx: Receiver<Msg>, workers: usize) -> Closer {
    let mut pending: BTreeMap<i64, (usize, Closed)> = BTreeMap::new();
    let mut fingerprints = HashSet::new();
    // Each worker's latest progress: a lost interval counts every worker's packets.
    let mut open = vec![(0i64, 0u64); workers];
    let mut done = 0;
    while done < workers {
        let Ok(msg) = rx.recv() else { break };
        match msg {
            Msg::Closed(c) if workers == 1 => closer.emit(c),
            Msg::Closed(c) => {
                let e = pending.entry(c.start_us).or_insert_with(|| {
                    (
                        0,
                        Closed {
                            start_us: c.start_us,
                            end_us: c.end_us,
                            records: Vec::new(),
                            health: Health::default(),
                        },
                    )
                });
                e.0 += 1;
                merge(&mut e.1, c);
                while let Some((&start, &(n, _))) = pending.first_key_value() {
                    if n < workers && pending.len() <= MAX_PENDING_INTERVALS {
                        break;
                    }
                    if let Some((_, c)) = pending.remove(&start) {
                        emit_merged(&mut closer, c, &mut fingerprints);
                    }
                }
            }
            Msg::Progress {
                worker,
                start_us,
                packets,
            } => {
                if let Some(p) = open.get_mut(usize::from(worker)) {
                    *p = (start_us, packets);
                }
                let seen = open.iter().filter(|p| p.0 == start_us).map(|p| p.1).sum();
                closer.progress(start_us, seen);
            }
            Msg::Done => done += 1,
        }
    }
    while let Some((_, (_, c))) = pending.pop_first() {
        emit_merged(&mut closer, c, &mut fingerprints);
    }
    closer.clean();
    closer
}

/// An interval merged from several workers, its per-interval summaries joined.
fn emit_merged(closer: &mut Closer, mut c: Closed, fingerprints: &mut HashSet<Key>) {
    join_summaries(&mut c.records, fingerprints);
    if closer.batcher.aggregate {
        c.records = osect_engine::batch::refold(std::mem::take(&mut c.records));
    }
    closer.emit(c);
}

/// Each worker's engine keeps its own asset ledger and neighbor table, so a
/// device, or an address exchange, whose packets the fanout hash spread over
/// several workers is reported by each of them (ARP all reaches one worker;
/// an IPv6 neighbor solicitation sent to a multicast and a unicast address
/// does not). Its records of one interval become one, as one engine would
/// write it: sets joined within their bounds, the earliest first sighting,
/// the latest last one, packets added up, and a fact only one worker knew
/// kept. (Past the bound, the addresses of the record met first are kept:
/// which ones a single ledger keeps depends on the order of the traffic
/// anyway.)
///
/// A passive fingerprint is logged once per host, kind and signature by an
/// engine; workers each log the ones they see first. `fingerprints` holds
/// those reported in earlier intervals (bounded as an engine's memory is),
/// so a worker's later first sighting is dropped, and the rows of one
/// interval become one with the earliest time.
fn join_summaries(records: &mut Vec<Record>, fingerprints: &mut HashSet<Key>) {
    use osect_engine::asset::ASSET;
    use osect_engine::neighbor::{ARP_LOG, NS_LOG};
    use osect_engine::over_ip::fingerprint::{FINGERPRINT_LOG, MAX_SEEN};
    let mut seen: HashMap<(&'static str, Key), usize> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    let field = |r: &Record, name| r.get(name).cloned().unwrap_or(Value::Unset);
    let mut new_fingerprints = Vec::new();
    for r in records.drain(..) {
        if std::ptr::eq(r.schema, &FINGERPRINT_LOG) {
            let key = Key(r
                .schema
                .fields
                .iter()
                .zip(&r.values)
                .filter(|(f, _)| f.name != "ts")
                .map(|(_, v)| v.clone())
                .collect());
            if fingerprints.contains(&key) {
                continue;
            }
            match seen.entry((r.schema.path, key.clone())) {
                Entry::Occupied(e) => join_summary(&mut out[*e.get()], r),
                Entry::Vacant(e) => {
                    e.insert(out.len());
                    out.push(r);
                    new_fingerprints.push(key);
                }
            }
            continue;
        }
        let key = if std::ptr::eq(r.schema, &ASSET) {
            // The ledger's key: MAC and VLAN, or the addresses when no MAC was seen.
            let mac = field(&r, "mac");
            let who = if mac == Value::Unset {
                field(&r, "ips")
            } else {
                mac
            };
            vec![who, field(&r, "vlan")]
        } else if std::ptr::eq(r.schema, &ARP_LOG) || std::ptr::eq(r.schema, &NS_LOG) {
            // The exchange: every field but its times and count.
            r.schema
                .fields
                .iter()
                .zip(&r.values)
                .filter(|(f, _)| !matches!(f.name, "ts" | "ts_end" | "pkts"))
                .map(|(_, v)| v.clone())
                .collect()
        } else {
            out.push(r);
            continue;
        };
        match seen.entry((r.schema.path, Key(key))) {
            Entry::Occupied(e) => join_summary(&mut out[*e.get()], r),
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(r);
            }
        }
    }
    for key in new_fingerprints {
        if fingerprints.len() >= MAX_SEEN {
            fingerprints.clear();
        }
        fingerprints.insert(key);
    }
    *records = out;
}

/// Adds what record `r` says to `into` (same log, same device or exchange).
fn join_summary(into: &mut Record, r: Record) {
    use osect_engine::asset::{MAX_HOSTNAMES, MAX_IPS};
    for ((f, slot), v) in into
        .schema
        .fields
        .iter()
        .zip(&mut into.values)
        .zip(r.values)
    {
        match (f.name, slot, v) {
            ("ts" | "first_seen", Value::Time(a), Value::Time(b)) => *a = (*a).min(b),
            ("ts_end" | "last_seen", Value::Time(a), Value::Time(b)) => *a = (*a).max(b),
            ("pkts", Value::Count(a), Value::Count(b)) => *a += b,
            (name, Value::Strings(a), Value::Strings(b)) => {
                let bound = match name {
                    "ips" => MAX_IPS,
                    "hostnames" => MAX_HOSTNAMES,
                    _ => usize::MAX,
                };
                for s in b {
                    if a.len() >= bound {
                        break;
                    }
                    if !a.contains(&s) {
                        a.push(s);
                    }
                }
            }
            (_, slot, v) if *slot == Value::Unset => *slot = v,
            _ => {}
        }
    }
}

fn merge(into: &mut Closed, c: Closed) {
    into.end_us = into.end_us.max(c.end_us);
    into.records.extend(c.records);
    let (a, b) = (&mut into.health, c.health);
    a.packets += b.packets;
    a.bytes += b.bytes;
    a.kernel_drops += b.kernel_drops;
    a.kernel_freezes += b.kernel_freezes;
    a.malformed += b.malformed;
    a.flows_evicted += b.flows_evicted;
    a.records_dropped += b.records_dropped;
    a.records_truncated += b.records_truncated;
}

// ---------------------------------------------------------------- capture

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

fn send_file(tx: &SyncSender<Msg>, m: Msg) {
    // The batch thread outlives the workers; a send error means it died,
    // which its own log line explains.
    let _ = tx.send(m);
}

fn pcap_worker(
    cfg: &Config,
    opts: &RunOptions,
    tx: SyncSender<Msg>,
) -> Result<(), crate::pcap::ReadError> {
    let t0 = Instant::now();
    let mut first: Option<i64> = None;
    let speed = opts.speed;
    let pace = |ts: i64| {
        let f = *first.get_or_insert(ts);
        if let Speed::Factor(k) = speed {
            let due = Duration::from_micros(((ts - f).max(0) as f64 / k) as u64);
            if let Some(wait) = due.checked_sub(t0.elapsed()) {
                std::thread::sleep(wait.min(Duration::from_secs(5)));
            }
        }
    };
    let r = file_intervals(cfg, &opts.pcap, pace, |c| send_file(&tx, Msg::Closed(c)));
    send_file(&tx, Msg::Done);
    r
}

/// What one live capture worker saw, for the run log: with fanout, an
/// operator sees whether the hash spreads the traffic and which worker drops.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkerStats {
    pub worker: u16,
    /// Packets the worker's engine analysed.
    pub packets: u64,
    /// Its socket's counters.
    pub kernel: KernelStats,
}

fn live_worker(
    cfg: &Config,
    ring: AfPacketRing,
    index: u16,
    tx: SyncSender<Msg>,
) -> std::io::Result<WorkerStats> {
    let res = live_loop(cfg, ring, index, &tx);
    let _ = tx.send(Msg::Done);
    res
}

fn live_loop(
    cfg: &Config,
    mut ring: AfPacketRing,
    index: u16,
    tx: &SyncSender<Msg>,
) -> std::io::Result<WorkerStats> {
    let mut iv = Intervals::new(cfg, false, index);
    let mut kernel = KernelStats::default();
    let mut closed: Vec<Closed> = Vec::new();
    let mut lost = Health::default();
    let mut last_progress = Instant::now();
    iv.tick(now_us(), &mut |c| closed.push(c));
    while !stopping() {
        ring.poll(100, |ts, frame, _| {
            iv.packet(ts, LinkType::ETHERNET, frame, &mut |c| closed.push(c))
        })?;
        iv.tick(now_us(), &mut |c| closed.push(c));
        hand_over(&ring, &mut kernel, &mut closed, &mut lost, tx);
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            if let Some(start_us) = iv.open_start() {
                let _ = tx.try_send(Msg::Progress {
                    worker: index,
                    start_us,
                    packets: iv.open_packets(),
                });
            }
        }
    }
    iv.finish(now_us(), &mut |c| closed.push(c));
    hand_over(&ring, &mut kernel, &mut closed, &mut lost, tx);
    Ok(WorkerStats {
        worker: index,
        packets: iv.packets(),
        kernel,
    })
}

/// Sends closed intervals without waiting; a full channel drops the
/// interval and counts it in the next one sent.
fn hand_over(
    ring: &AfPacketRing,
    kernel: &mut KernelStats,
    closed: &mut Vec<Closed>,
    lost: &mut Health,
    tx: &SyncSender<Msg>,
) {
    for mut c in closed.drain(..) {
        if let Ok(k) = ring.kernel_stats() {
            c.health.kernel_drops = k.drops - kernel.drops;
            c.health.kernel_freezes = k.freezes - kernel.freezes;
            *kernel = k;
        }
        c.health.records_dropped += std::mem::take(&mut lost.records_dropped);
        let n = c.records.len() as u64;
        match tx.try_send(Msg::Closed(c)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                log::error!("batch thread behind: an interval's {n} records dropped");
                lost.records_dropped += n;
            }
        }
    }
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
    /// The uplink's runtime could not start.
    #[error("uplink runtime: {0}")]
    Runtime(std::io::Error),
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
        level: cfg.batch.zstd_level,
        dict: batch::dictionary(cfg.batch.dictionary),
        spool: spool.clone(),
        state_path,
        state,
        dropped: Health::default(),
        wake: wake.clone(),
        closed: 0,
        capture_time: !opts.pcap.is_empty(),
    };
    let workers = if opts.pcap.is_empty() { rings.len() } else { 1 };
    let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH * workers);
    let batcher = std::thread::spawn(move || batch_thread(closer, rx, workers));
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
                        live_worker(cfg, ring, i, tx)
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
        "stopped: {} batches closed, {left} left in the spool",
        closer.closed
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
    let mut seq = 0;
    let mut err = None;
    file_intervals(
        cfg,
        files,
        |_| {},
        |c| {
            seq += 1;
            let b: Batch = batcher.close(seq, c.start_us, c.end_us, c.records, c.health);
            let r = batch::encode(
                &b,
                cfg.batch.zstd_level,
                batch::dictionary(cfg.batch.dictionary),
            )
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
    fn state_round_trips_and_tolerates_junk() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("agent-state");
        assert_eq!(State::load(&p), State::default());
        let s = State {
            last_seq: 41,
            open_start_us: 1_700_000_000_000_000,
            open_packets: 77,
            lost_intervals: 2,
            lost_start_us: 1_699_999_940_000_000,
            lost_packets: 5,
        };
        s.save(&p);
        assert_eq!(State::load(&p), s);
        std::fs::write(&p, "last_seq 5\ngarbage\nopen_packets x\n").unwrap();
        assert_eq!(State::load(&p).last_seq, 5);
    }

    fn asset(mac: Option<&str>, ips: &[&str], os: Option<&str>, seen: (i64, i64)) -> Record {
        use osect_engine::asset::ASSET;
        let mut values = vec![Value::Unset; ASSET.fields.len()];
        let mut set = |name: &str, v: Value| values[ASSET.index_of(name).unwrap()] = v;
        set("ts", Value::Time(1_000));
        if let Some(m) = mac {
            set("mac", Value::from(m));
        }
        set(
            "ips",
            Value::Strings(ips.iter().map(|s| s.to_string()).collect()),
        );
        set("hostnames", Value::Strings(Vec::new()));
        set("roles", Value::Strings(Vec::new()));
        if let Some(os) = os {
            set("os", Value::from(os));
        }
        set("first_seen", Value::Time(seen.0));
        set("last_seen", Value::Time(seen.1));
        Record {
            schema: &ASSET,
            values,
        }
    }

    #[test]
    fn workers_asset_records_of_one_device_become_one() {
        const A: &str = "00:1b:1b:01:02:03";
        static OTHER: osect_wire::LogSchema = osect_wire::LogSchema {
            path: "other",
            fields: &[],
        };
        let many: Vec<String> = (2..20).map(|i| format!("10.0.0.{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let other = Record {
            schema: &OTHER,
            values: Vec::new(),
        };
        let mut records = vec![
            asset(Some(A), &["10.0.0.1", "10.0.0.2"], None, (10, 20)),
            other,
            // Devices known by address only: two addresses, two devices.
            asset(None, &["10.9.0.1"], None, (1, 2)),
            asset(None, &["10.9.0.2"], None, (1, 2)),
            // The same device as the first, from another worker.
            asset(Some(A), &many, Some("Linux"), (5, 15)),
        ];
        join_summaries(&mut records, &mut HashSet::new());
        assert_eq!(records.len(), 4);
        assert_eq!(records[1].schema.path, "other");
        let a = &records[0];
        let want: Vec<String> = ["10.0.0.1"]
            .into_iter()
            .chain(many.iter().copied())
            .take(osect_engine::asset::MAX_IPS)
            .map(str::to_owned)
            .collect();
        assert_eq!(a.get("ips"), Some(&Value::Strings(want)));
        assert_eq!(a.get("os"), Some(&Value::from("Linux")));
        assert_eq!(a.get("first_seen"), Some(&Value::Time(5)));
        assert_eq!(a.get("last_seen"), Some(&Value::Time(20)));
        assert_eq!(
            records[2].get("ips"),
            Some(&Value::Strings(vec!["10.9.0.1".into()]))
        );
        assert_eq!(
            records[3].get("ips"),
            Some(&Value::Strings(vec!["10.9.0.2".into()]))
        );
    }

    #[test]
    fn workers_rows_of_one_neighbor_exchange_become_one() {
        use osect_engine::neighbor::{Exchange, Neighbors};
        let solicit = |target: u8| Exchange {
            v6: true,
            reply: false,
            orig_mac: Some([2, 0, 0, 0, 0, 1]),
            orig_ip: Some("fe80::1".parse().unwrap()),
            resp_mac: None,
            resp_ip: None,
            who_has: format!("fe80::{target}").parse().unwrap(),
            vlan: None,
        };
        // Worker 0 saw the multicast solicitation, worker 1 the unicast one.
        let mut records = Vec::new();
        for (ts, targets) in [(10, &[3, 4][..]), (30, &[3][..])] {
            let mut n = Neighbors::new(16);
            for &t in targets {
                n.observe(ts, solicit(t));
                n.observe(ts + 5, solicit(t));
            }
            n.emit(|r| records.push(r));
        }
        join_summaries(&mut records, &mut HashSet::new());
        // Rows first seen at once come in no particular order.
        records.sort_by_key(|r| format!("{:?}", r.get("who_has")));
        let rows: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.get("who_has"),
                    r.get("ts"),
                    r.get("ts_end"),
                    r.get("pkts"),
                )
            })
            .collect();
        let addr = |t: &str| Value::Addr(t.parse().unwrap());
        assert_eq!(
            rows,
            [
                (
                    Some(&addr("fe80::3")),
                    Some(&Value::Time(10)),
                    Some(&Value::Time(35)),
                    Some(&Value::Count(4))
                ),
                (
                    Some(&addr("fe80::4")),
                    Some(&Value::Time(10)),
                    Some(&Value::Time(15)),
                    Some(&Value::Count(2))
                ),
            ]
        );
    }

    #[test]
    fn workers_fingerprints_are_reported_once() {
        use osect_engine::over_ip::fingerprint::FINGERPRINT_LOG;
        let fp = |ts: i64, sig: &str| {
            let mut values = vec![Value::Unset; FINGERPRINT_LOG.fields.len()];
            let mut set =
                |name: &str, v: Value| values[FINGERPRINT_LOG.index_of(name).unwrap()] = v;
            set("ts", Value::Time(ts));
            set("mod", "syn".into());
            set("src_ip", Value::Addr("192.168.1.5".parse().unwrap()));
            set("raw_sig", sig.into());
            Record {
                schema: &FINGERPRINT_LOG,
                values,
            }
        };
        let linux = "4:64:0:1460:64240,7:mss,sok,ts,nop,ws:df,id+:0";
        let windows = "4:128:0:1460:64240,8:mss,nop,ws,nop,nop,sok:df,id+:0";
        let mut earlier = HashSet::new();
        // Both workers saw the host's SYN in the first interval.
        let mut first = vec![fp(20, linux), fp(10, linux)];
        join_summaries(&mut first, &mut earlier);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].get("ts"), Some(&Value::Time(10)));
        // A worker's first sighting in a later interval was already reported.
        let mut second = vec![fp(70, linux), fp(75, windows)];
        join_summaries(&mut second, &mut earlier);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].get("raw_sig"), Some(&Value::from(windows)));
    }

    #[test]
    fn speed_parses() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2".parse::<Speed>(), Ok(Speed::Factor(2.0)));
        assert!("0".parse::<Speed>().is_err());
    }
}
