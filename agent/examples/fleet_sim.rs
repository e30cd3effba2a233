//! A simulated fleet, measured: SENSORS sensors, each on its own QUIC
//! connection with its own device certificate, send one 60 s batch per
//! simulated minute to one running `osect-collector serve`, round after
//! round as fast as the collector acknowledges them (time is simulated, not
//! slept). Prints batches acknowledged and refused, batch-to-acknowledgement
//! latency, batch-to-alert latency for the sensors given an incident day,
//! the collector's CPU share, wall time per simulated minute and the
//! store's size.
//!
//! Batches are the agent's own (`osect-agent replay --batch-out DIR
//! --interval 60`), re-stamped per sensor: device, site, sequence number,
//! and every time moved so each sensor's clock runs forward minute by
//! minute. `ci/bench-fleet` builds everything and runs this.

use clap::Parser;
use osect_agent::uplink::{self, Link};
use osect_collector::ledger::AlertFilter;
use osect_collector::store::Store;
use osect_wire::batch::{self, Batch, Reply};
use osect_wire::record::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Distinct refusal reasons tallied one by one.
const MAX_REASONS: usize = 32;

#[derive(Parser)]
struct Args {
    /// The collector's `host:port`.
    #[arg(long)]
    endpoint: String,
    /// The test PKI (`test-pki DIR SIM-0000 ...`).
    #[arg(long)]
    pki: PathBuf,
    /// The collector's store directory, polled for alerts.
    #[arg(long)]
    store: PathBuf,
    /// One sensor's `.osb` batches of a normal day.
    #[arg(long)]
    normal: PathBuf,
    /// One sensor's `.osb` batches of a day with incidents.
    #[arg(long)]
    incident: PathBuf,
    #[arg(long, default_value_t = 1000)]
    sensors: usize,
    /// Simulated minutes (rounds of one batch per sensor).
    #[arg(long, default_value_t = 60)]
    minutes: usize,
    /// The first this many sensors get the incident day's batches.
    #[arg(long, default_value_t = 10)]
    alert_sensors: usize,
    /// The simulated minute their incident day starts.
    #[arg(long, default_value_t = 20)]
    incident_from: usize,
    /// How many minutes of it they send.
    #[arg(long, default_value_t = 20)]
    incident_minutes: usize,
    /// The collector's process id, for its CPU time.
    #[arg(long)]
    collector_pid: u32,
    /// How long to keep waiting for alerts after the last round.
    #[arg(long, default_value_t = 60)]
    settle_secs: u64,
}

/// Sensor `i`'s serial and site, as the fleet list names them.
fn serial(i: usize) -> String {
    format!("SIM-{i:04}")
}
fn site(i: usize) -> String {
    format!("site-{i:04}")
}

/// A process's user plus system CPU time in seconds, from /proc.
fn cpu_secs(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The fields after the command name, which is in parentheses.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{path}: no command name"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("{path}: field {} unreadable", i + 3))
    };
    // utime and stime, in clock ticks of 1/100 s on Linux.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

fn load_batches(dir: &Path) -> Result<Vec<Batch>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "osb"))
        .collect();
    files.sort();
    let batches = files
        .iter()
        .map(|f| {
            let data = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            batch::decode(&data).map_err(|e| format!("{}: {e}", f.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if batches.is_empty() {
        return Err(format!("{}: no .osb batches", dir.display()));
    }
    Ok(batches)
}

/// Which day a sensor's minute comes from.
#[derive(Clone, Copy, PartialEq)]
enum Day {
    Normal,
    Incident,
}

/// One sensor's clock: where its last batch came from and how far its
/// times are moved, so consecutive batches of a day keep their spacing and
/// a wrap or a change of day starts where the last batch ended.
#[derive(Clone, Copy)]
struct Clock {
    last: Option<(Day, usize)>,
    shift_us: i64,
    end_us: i64,
}

/// A batch of a sensor's minute, with what the alert latency needs.
struct Sent {
    start_us: i64,
    end_us: i64,
    incident: bool,
    at: Option<Instant>,
}

fn restamp(src: &Batch, sensor: usize, seq: u64, shift_us: i64) -> Batch {
    let mut b = src.clone();
    b.header.device_id = serial(sensor);
    b.header.site = site(sensor);
    b.header.seq = seq;
    b.header.interval_start_us += shift_us;
    b.header.interval_end_us += shift_us;
    for r in &mut b.records {
        for v in &mut r.values {
            if let Value::Time(t) = v {
                *t += shift_us;
            }
        }
    }
    b
}

/// Percentile `p` (0..=100) of sorted values, nearest rank.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn store_bytes(dir: &Path) -> u64 {
    [
        "collector.sqlite",
        "collector.sqlite-wal",
        "collector.sqlite-shm",
    ]
    .iter()
    .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
    .sum()
}

/// An alert seen for the first time: its sensor, the record time it was
/// first seen at, and when the poll found it.
struct Seen {
    sensor: usize,
    first_seen_us: i64,
    at: Instant,
}

/// Polls the store every 50 ms for the alert sensors' new alerts until
/// `stop`. Alerts are folded by item, so a new id is a new alert.
fn poll_alerts(store: &Path, sensors: usize, stop: &AtomicBool) -> Result<Vec<Seen>, String> {
    let store = Store::open(store).map_err(|e| format!("store {}: {e}", store.display()))?;
    let mut known: Vec<std::collections::HashSet<u64>> = vec![Default::default(); sensors];
    let mut seen = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        for (s, known) in known.iter_mut().enumerate() {
            let alerts = store
                .alerts(Some(&site(s)), &AlertFilter::default())
                .map_err(|e| format!("alerts of {}: {e}", site(s)))?;
            let at = Instant::now();
            for a in alerts {
                if known.insert(a.id) {
                    seen.push(Seen {
                        sensor: s,
                        first_seen_us: a.first_seen,
                        at,
                    });
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(seen)
}

/// What one send came to.
enum Outcome {
    Acked(f64),
    Refused(String),
    Failed(String),
}

async fn connect_all(args: &Args) -> Result<Vec<Link>, String> {
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..args.sensors {
        let id = args.pki.join(format!("identity-{}", serial(i)));
        let cfg = osect_agent::config::Uplink {
            enabled: true,
            endpoint: args.endpoint.clone(),
            server_name: osect_testkit::pki::SERVER_NAME.into(),
            ca: id.join("core-ca.crt"),
            cert: id.join("device.crt"),
            key: id.join("device.key"),
            ..Default::default()
        };
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let client = uplink::tls::client_config(&cfg).map_err(|e| e.to_string())?;
            let link = uplink::connect(&cfg, &client)
                .await
                .map_err(|e| format!("{}: {e}", serial(i)))?;
            Ok::<_, String>((i, link))
        });
    }
    let mut links: Vec<Option<Link>> = (0..args.sensors).map(|_| None).collect();
    while let Some(r) = set.join_next().await {
        let (i, link) = r.map_err(|e| e.to_string())??;
        links[i] = Some(link);
    }
    links
        .into_iter()
        .enumerate()
        .map(|(i, l)| l.ok_or_else(|| format!("{} not connected", serial(i))))
        .collect()
}

async fn send_round(links: &[Link], frames: Vec<Vec<u8>>) -> Vec<(usize, Outcome)> {
    let mut set = tokio::task::JoinSet::new();
    for (i, (link, data)) in links.iter().zip(frames).enumerate() {
        let conn = link.conn.clone();
        set.spawn(async move {
            let t = Instant::now();
            let out = match uplink::send_batch(&conn, &data, Duration::from_secs(300)).await {
                Ok(Reply::Stored) => Outcome::Acked(t.elapsed().as_secs_f64()),
                Ok(Reply::Refused(m)) => Outcome::Refused(format!("refused: {m}")),
                Ok(Reply::Malformed(m)) => Outcome::Refused(format!("malformed: {m}")),
                Ok(Reply::Retry(m)) => Outcome::Refused(format!("retry: {m}")),
                Ok(Reply::NeedFull(m)) => Outcome::Refused(format!("need full: {m}")),
                Err(e) => Outcome::Failed(e.to_string()),
            };
            (i, out)
        });
    }
    let mut out = Vec::with_capacity(links.len());
    while let Some(r) = set.join_next().await {
        match r {
            Ok(o) => out.push(o),
            Err(e) => out.push((usize::MAX, Outcome::Failed(e.to_string()))),
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let normal = load_batches(&args.normal)?;
    let incident = load_batches(&args.incident)?;
    let alert_sensors = args.alert_sensors.min(args.sensors);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let t = Instant::now();
    let links = rt.block_on(connect_all(&args))?;
    println!(
        "{} connections (each its own certificate) in {:.1} s",
        links.len(),
        t.elapsed().as_secs_f64()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (store, stop) = (args.store.clone(), stop.clone());
        std::thread::spawn(move || poll_alerts(&store, alert_sensors, &stop))
    };

    let base_us = normal[0].header.interval_start_us;
    let mut clocks = vec![
        Clock {
            last: None,
            shift_us: 0,
            end_us: base_us,
        };
        args.sensors
    ];
    let mut sent: Vec<Vec<Sent>> = (0..alert_sensors).map(|_| Vec::new()).collect();
    let (mut acked, mut ack_lat) = (0u64, Vec::new());
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let (mut encode_secs, mut round_secs) = (0.0, Vec::new());
    let (t0, c0) = (Instant::now(), cpu_secs(args.collector_pid)?);
    for m in 0..args.minutes {
        let te = Instant::now();
        let mut frames = Vec::with_capacity(args.sensors);
        for (s, clock) in clocks.iter_mut().enumerate() {
            let in_incident = s < alert_sensors
                && (args.incident_from..args.incident_from + args.incident_minutes).contains(&m);
            let (day, idx, src) = if in_incident {
                let i = (m - args.incident_from) % incident.len();
                (Day::Incident, i, &incident[i])
            } else {
                let i = m % normal.len();
                (Day::Normal, i, &normal[i])
            };
            // Consecutive batches of one day keep their own spacing.
            if clock.last.is_none_or(|(d, i)| d != day || i + 1 != idx) {
                clock.shift_us = clock.end_us - src.header.interval_start_us;
            }
            clock.last = Some((day, idx));
            let b = restamp(src, s, m as u64 + 1, clock.shift_us);
            clock.end_us = b.header.interval_end_us;
            if s < alert_sensors {
                sent[s].push(Sent {
                    start_us: b.header.interval_start_us,
                    end_us: b.header.interval_end_us,
                    incident: in_incident,
                    at: None,
                });
            }
            frames.push(batch::encode(&b, 3, None)?);
        }
        encode_secs += te.elapsed().as_secs_f64();

        let tr = Instant::now();
        for s in sent.iter_mut() {
            if let Some(last) = s.last_mut() {
                last.at = Some(tr);
            }
        }
        for (i, out) in rt.block_on(send_round(&links, frames)) {
            match out {
                Outcome::Acked(l) => {
                    acked += 1;
                    ack_lat.push(l);
                }
                Outcome::Refused(why) | Outcome::Failed(why) => {
                    eprintln!("minute {m}: {}: {why}", serial(i));
                    // A bounded tally: reasons past the first few are lumped.
                    let key = if refused.len() < MAX_REASONS || refused.contains_key(&why) {
                        why
                    } else {
                        "other reasons".into()
                    };
                    *refused.entry(key).or_default() += 1;
                }
            }
        }
        round_secs.push(tr.elapsed().as_secs_f64());
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs(args.collector_pid)? - c0;

    // Alerts that the analysis has not written yet may still come.
    let incident_batches = alert_sensors
        * args
            .minutes
            .saturating_sub(args.incident_from)
            .min(args.incident_minutes);
    let settle = Instant::now();
    std::thread::sleep(Duration::from_secs(args.settle_secs));
    stop.store(true, Ordering::Relaxed);
    let seen = poller.join().map_err(|_| "alert poller panicked")??;
    let cpu_settled = cpu_secs(args.collector_pid)? - c0;

    // An alert belongs to the batch whose interval holds its first record
    // time; its latency runs from sending that batch to the poll finding it.
    let mut alert_lat = Vec::new();
    let mut outside = 0;
    for a in &seen {
        let carrier = sent[a.sensor]
            .iter()
            .find(|b| a.first_seen_us >= b.start_us && a.first_seen_us < b.end_us)
            .or_else(|| sent[a.sensor].iter().find(|b| b.end_us > a.first_seen_us));
        match carrier.and_then(|b| b.at.map(|at| (b, at))) {
            Some((b, at)) if b.incident => {
                alert_lat.push(a.at.saturating_duration_since(at).as_secs_f64())
            }
            _ => outside += 1,
        }
    }

    let n = (args.sensors * args.minutes) as u64;
    ack_lat.sort_by(f64::total_cmp);
    alert_lat.sort_by(f64::total_cmp);
    round_secs.sort_by(f64::total_cmp);
    let ms = |v: f64| v * 1000.0;
    println!(
        "{} sensors x {} simulated minutes: {n} batches sent, {acked} acknowledged, {} not",
        args.sensors,
        args.minutes,
        n - acked
    );
    for (why, k) in &refused {
        println!("  {k} x {why}");
    }
    println!(
        "batch to acknowledgement: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(pct(&ack_lat, 50.0)),
        ms(pct(&ack_lat, 99.0)),
        ms(pct(&ack_lat, 100.0))
    );
    println!(
        "wall per simulated minute (send to last acknowledgement): p50 {:.2} s, max {:.2} s; \
         {wall:.1} s in all, of which {encode_secs:.1} s making the batches",
        pct(&round_secs, 50.0),
        pct(&round_secs, 100.0)
    );
    println!(
        "collector CPU: {cpu:.1} s over {wall:.1} s of wall = {:.0}% of one core ({:.0}% of the host's {}); \
         {cpu_settled:.1} s with the {:.0} s after the last round",
        100.0 * cpu / wall,
        100.0 * cpu / wall / num_cpus(),
        num_cpus(),
        settle.elapsed().as_secs_f64()
    );
    println!(
        "batch to alert ({alert_sensors} sensors, {incident_batches} incident batches): {} alerts, \
         p50 {:.2} s, p99 {:.2} s, max {:.2} s ({outside} alerts outside the incident minutes)",
        alert_lat.len(),
        pct(&alert_lat, 50.0),
        pct(&alert_lat, 99.0),
        pct(&alert_lat, 100.0)
    );
    let bytes = store_bytes(&args.store) as f64;
    println!(
        "store: {:.1} MiB, {:.2} MiB per sensor-day",
        bytes / 1_048_576.0,
        bytes / 1_048_576.0 / (n as f64 / 1440.0)
    );
    Ok(())
}

fn num_cpus() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}
