//! The capture workers: a file read through one engine, or a live ring
//! per worker, each handing its closed intervals to the batch thread.

use super::intervals::{file_intervals, Closed, Intervals};
use super::merge::Msg;
use super::signals::{now_us, stopping};
use super::{RunOptions, Speed};
use crate::capture::{AfPacketRing, KernelStats};
use crate::config::Config;
use osect_engine::packet::LinkType;
use osect_wire::batch::Health;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// How often the open interval's packet count reaches the state file.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

fn send_file(tx: &SyncSender<Msg>, m: Msg) {
    // The batch thread outlives the workers; a send error means it died,
    // which its own log line explains.
    let _ = tx.send(m);
}

pub(super) fn pcap_worker(
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
    let r = file_intervals(cfg, &opts.pcap, true, pace, |c| {
        send_file(&tx, Msg::Closed(Box::new(c)))
    });
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

/// With `stage`, the worker writes its intervals' bodies as rows come (it
/// is the only one: no join needed).
pub(super) fn live_worker(
    cfg: &Config,
    ring: AfPacketRing,
    index: u16,
    stage: bool,
    tx: SyncSender<Msg>,
) -> std::io::Result<WorkerStats> {
    let res = live_loop(cfg, ring, index, stage, &tx);
    let _ = tx.send(Msg::Done);
    res
}

fn live_loop(
    cfg: &Config,
    mut ring: AfPacketRing,
    index: u16,
    stage: bool,
    tx: &SyncSender<Msg>,
) -> std::io::Result<WorkerStats> {
    let mut iv = Intervals::new(cfg, false, index, stage);
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
        let n = c.rows();
        match tx.try_send(Msg::Closed(Box::new(c))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                log::error!("batch thread behind: an interval's {n} records dropped");
                lost.records_dropped += n;
            }
        }
    }
}
