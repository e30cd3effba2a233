//! Live capture end to end: two network namespaces joined by a veth pair,
//! `tcpreplay` sends corpus captures into one end, `osect-agent run`
//! captures on the other (AF_PACKET ring, uplink off) and spools its
//! batches. Timestamps aside:
//! - every record equals what the engine makes of the file when stopped at
//!   its end the way `run` stops (open connections reported as interim);
//! - conn.log equals `replay`'s. The records `replay` writes at the end of
//!   input that a stop does not (application logs and asset facts of
//!   connections still open) are counted and printed.
//!
//! The same cases go to an agent with two capture workers under
//! PACKET_FANOUT, which must give the same records, distinct connection
//! uids, no kernel drops, and traffic to both workers.
//!
//! Another run at `tcpreplay --topspeed` prints the rate reached and the
//! kernel drops the agent reported.
//!
//! Needs root (namespaces, raw sockets), `ip` (iproute2) and `tcpreplay`.

use osect_agent::config::Config;
use osect_agent::pcap;
use osect_agent::replay::{self, ReplayOptions};
use osect_agent::run::Intervals;
use osect_agent::spool::{self, Spool};
use osect_engine::asset::{ASSET, MAX_IPS};
use osect_wire::batch::Batch;
use osect_wire::zeek::tsv_row;
use osect_wire::{Format, Record};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AGENT: &str = env!("CARGO_BIN_EXE_osect-agent");
/// Ethernet captures (industrial first) that last at most a few seconds:
/// `tcpreplay` sends them at their recorded pace, so the engine's timeouts
/// see the same gaps live as in the file.
const CASES: &[&str] = &[
    "nttcom-omronfins",
    "nttcom-cclinkfield-cclinkcontrol",
    "icsnpp-s7comm-s7ident",
    "icsnpp-enip-multiple_service_packet_cip",
    "zeek-dnp3-dnp3_udp_write",
    "zeek-dhcp-inform",
    "zeek-dns-mdns-no-assoc",
    "zeek-ntp-ntp3",
    "zeek-icmp-icmp6-nd-short-options",
    "zeek-http-concurrent-range-requests",
    "zeek-ssh-dh_group18_kex",
    "zeek-ssl-ecdhe",
];
/// One interval for the whole test (a year: the run never crosses a boundary).
const INTERVAL_SECS: u64 = 365 * 24 * 3600;
/// Field types that depend on when packets were seen, not on what they were.
const TIME_TYPES: &[&str] = &["time", "interval", "vector[interval]"];

fn corpus() -> PathBuf {
    let root = std::env::var_os("OSECT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    assert!(
        root.is_dir(),
        "corpus not found at {}: set OSECT_CORPUS",
        root.display()
    );
    root
}

fn trace(case: &str) -> PathBuf {
    let dir = corpus().join(case);
    ["trace.pcap", "trace.pcapng"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no trace in {}", dir.display()))
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two namespaces `<tag>-tx` and `<tag>-rx` joined by veth `tx0`–`rx0`,
/// removed (with the pair) when dropped.
struct Netns {
    tx: String,
    rx: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let base = format!("osect-{tag}-{}", std::process::id());
        let n = Netns {
            tx: format!("{base}-tx"),
            rx: format!("{base}-rx"),
        };
        for ns in [&n.tx, &n.rx] {
            sh(Command::new("ip").args(["netns", "add", ns]));
        }
        sh(Command::new("ip").args([
            "-n", &n.tx, "link", "add", "tx0", "type", "veth", "peer", "name", "rx0", "netns",
            &n.rx,
        ]));
        for (ns, dev) in [(&n.tx, "tx0"), (&n.rx, "rx0")] {
            // No IPv6: no router solicitations or MLD reports in the capture.
            sh(Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-q", "-w"])
                .arg(format!("net.ipv6.conf.{dev}.disable_ipv6=1")));
            sh(Command::new("ip").args(["-n", ns, "link", "set", dev, "mtu", "9000", "up"]));
        }
        n
    }

    fn exec(&self, ns: &str, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, prog]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in [&self.tx, &self.rx] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The agent running live on `rx0`, killed if the test fails.
struct Agent {
    child: Child,
    dir: tempfile::TempDir,
}

/// What a stopped agent left: its spooled batches and its log.
struct Stopped {
    batches: Vec<Batch>,
    log: String,
}

impl Agent {
    /// Starts the agent with `workers` capture workers (more than one:
    /// PACKET_FANOUT) and waits until every worker's socket is bound.
    fn start(net: &Netns, workers: u16) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let cfg = format!(
            "[device]\nid = \"live-test\"\ndata_dir = \"{data}\"\n\
             [capture]\ninterface = \"rx0\"\nblock_size = 1048576\nblock_count = 64\nframe_size = 16384\nblock_timeout_ms = 10\nfanout_workers = {workers}\n\
             [batch]\ninterval_secs = {INTERVAL_SECS}\naggregate = false\n\
             [spool]\ndir = \"{data}/spool\"\n\
             [uplink]\nenabled = false\n",
            data = dir.path().display()
        );
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("agent.log")).unwrap();
        let child = net
            .exec(&net.rx, AGENT)
            .args(["run", "--config"])
            .arg(&path)
            // The run summary (per-worker counters) is logged at info.
            .env("RUST_LOG", "warn,osect_agent::run=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let agent = Agent { child, dir };
        // Ready when every worker's packet socket is bound to an interface
        // and running (columns Iface and R of /proc/net/packet): frames
        // sent before that would be missed, or with fanout hashed over
        // fewer workers than later ones.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let sockets = sh(net.exec(&net.rx, "cat").arg("/proc/net/packet"));
            let bound = sockets
                .lines()
                .skip(1)
                .filter(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() >= 6 && f[4] != "0" && f[5] == "1"
                })
                .count();
            if bound >= usize::from(workers) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "agent bound {bound} of {workers} capture sockets in 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    /// SIGTERM, wait (10 s at most), then every spooled batch and the log.
    fn stop(mut self) -> Stopped {
        // Frames still in a partly filled ring block reach the agent within
        // the block timeout.
        std::thread::sleep(Duration::from_millis(500));
        sh(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "agent did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let log = std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap();
        assert!(status.success(), "agent exited with {status}:\n{log}");
        let mut sp = Spool::open(
            &self.dir.path().join("spool"),
            u64::MAX,
            u64::MAX / 4_000_000,
        )
        .unwrap();
        let seqs: Vec<u64> = sp.pending().collect();
        let batches = seqs
            .iter()
            .map(|&s| spool::verify(&sp.load(s).unwrap()).unwrap())
            .collect();
        Stopped { batches, log }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows per log, as TSV without the time-dependent columns and uids.
type Rows = BTreeMap<String, Vec<String>>;

/// Kept columns: not time-dependent, not a uid (random), and not
/// `interim`: a stop reports the connections still open as interim (they
/// live on on the wire), where the end of a file closes them.
fn keep(name: &str, ty: &str) -> bool {
    !TIME_TYPES.contains(&ty) && !name.contains("uid") && name != "interim"
}

/// A column's text for comparison: a set's elements sorted (a set has no
/// order, and joining several workers' asset records may reorder one).
fn cell(v: &str, ty: &str) -> String {
    if ty.starts_with("set[") {
        let mut e: Vec<&str> = v.split(',').collect();
        e.sort_unstable();
        e.join(",")
    } else {
        v.to_owned()
    }
}

/// Which addresses a device keeps once it has the most an asset record
/// holds depends, with several workers, on which worker saw which first:
/// a full `ips` set is compared as full, not address by address.
fn full_ips_as_full(rows: &mut Rows) {
    let col = ASSET
        .fields
        .iter()
        .filter(|f| keep(f.name, f.ty.zeek_name()))
        .position(|f| f.name == "ips")
        .unwrap();
    if let Some(v) = rows.get_mut("asset") {
        for r in v.iter_mut() {
            let mut c: Vec<&str> = r.split('\t').collect();
            if c[col].split(',').count() >= MAX_IPS {
                c[col] = "(full)";
            }
            *r = c.join("\t");
        }
        v.sort();
    }
}

fn live_rows(batches: &[Batch]) -> Rows {
    record_rows(batches.iter().flat_map(|b| &b.records))
}

fn record_rows<'a>(records: impl Iterator<Item = &'a Record>) -> Rows {
    let mut rows = Rows::new();
    let mut line = String::new();
    for r in records {
        line.clear();
        tsv_row(&mut line, r);
        let row: Vec<String> = line
            .trim_end_matches('\n')
            .split('\t')
            .zip(r.schema.fields)
            .filter(|(_, f)| keep(f.name, f.ty.zeek_name()))
            .map(|(v, f)| cell(v, f.ty.zeek_name()))
            .collect();
        rows.entry(r.schema.path.to_owned())
            .or_default()
            .push(row.join("\t"));
    }
    rows.values_mut().for_each(|v| v.sort());
    rows
}

/// The file through the engine as `run` drives it, stopped after its last
/// packet.
fn stopped_rows(file: &Path) -> Rows {
    let mut cfg = Config::default();
    cfg.batch.interval_secs = INTERVAL_SECS;
    // As the live agent is configured (`Agent::start`): per-event rows.
    cfg.batch.aggregate = false;
    let mut iv = Intervals::new(&cfg, false, 0, false);
    let mut records = Vec::new();
    let mut last = 0;
    pcap::read_file(file, |ts, link, frame| {
        iv.packet(ts, link, frame, &mut |c| records.extend(c.records));
        last = ts;
    })
    .unwrap();
    iv.finish(last, &mut |c| records.extend(c.records));
    record_rows(records.iter())
}

fn replay_rows(file: &Path) -> Rows {
    let out = tempfile::tempdir().unwrap();
    let opts = ReplayOptions {
        out: out.path().to_owned(),
        format: Format::Tsv,
        ignore_checksums: false,
        interval_secs: None,
        app_layer: true,
    };
    replay::replay(&[file.to_owned()], &Config::default(), &opts).unwrap();
    let mut rows = Rows::new();
    for e in std::fs::read_dir(out.path()).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let header = |tag: &str| -> Vec<String> {
            text.lines()
                .find_map(|l| l.strip_prefix(tag))
                .map(|l| l.split('\t').map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let (names, types) = (header("#fields\t"), header("#types\t"));
        let path = p.file_stem().unwrap().to_string_lossy().into_owned();
        let v = rows.entry(path).or_default();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let row: Vec<String> = l
                .split('\t')
                .zip(names.iter().zip(&types))
                .filter(|(_, (n, t))| keep(n, t))
                .map(|(v, (_, t))| cell(v, t))
                .collect();
            v.push(row.join("\t"));
        }
    }
    rows.values_mut().for_each(|v| v.sort());
    rows
}

/// Lines of `a` not in `b` (multisets of sorted rows).
fn missing(a: &[String], b: &[String]) -> Vec<String> {
    let mut b = b.to_vec();
    a.iter()
        .filter(|r| match b.iter().position(|x| x == *r) {
            Some(i) => {
                b.swap_remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

fn tcpreplay(net: &Netns, file: &Path, extra: &[&str]) -> String {
    sh(net
        .exec(&net.tx, "tcpreplay")
        .args(["-q", "-i", "tx0"])
        .args(extra)
        .arg(file))
}

/// Differences between two sets of rows, one line each.
fn diff(case: &str, what: &str, live: &Rows, want: &Rows, out: &mut Vec<String>) {
    let empty = Vec::new();
    for log in want
        .keys()
        .chain(live.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (l, w) = (
            live.get(log).unwrap_or(&empty),
            want.get(log).unwrap_or(&empty),
        );
        for r in missing(w, l) {
            out.push(format!("{case} {log}.log only in {what}: {r}"));
        }
        for r in missing(l, w) {
            out.push(format!("{case} {log}.log only live: {r}"));
        }
    }
}

/// Every case of `CASES` sent live to an agent of its own.
struct LiveRun {
    /// Records that differ from those required (see the module docs).
    diffs: Vec<String>,
    /// Records `replay` writes at the end of input but a stop does not.
    unflushed: Vec<String>,
    stopped: Vec<(&'static str, Stopped)>,
}

/// Sends every case of `CASES` to an agent with `workers` capture workers
/// and compares its records with the stopped engine's and `replay`'s.
fn live_cases(net: &Netns, workers: u16) -> LiveRun {
    let mut run = LiveRun {
        diffs: Vec::new(),
        unflushed: Vec::new(),
        stopped: Vec::new(),
    };
    for case in CASES {
        let file = trace(case);
        let agent = Agent::start(net, workers);
        tcpreplay(net, &file, &[]);
        let stopped = agent.stop();
        let mut live = live_rows(&stopped.batches);
        let mut want = stopped_rows(&file);
        if workers > 1 {
            full_ips_as_full(&mut live);
            full_ips_as_full(&mut want);
        }
        let packets: u64 = stopped
            .batches
            .iter()
            .map(|b| b.header.health.packets)
            .sum();
        println!(
            "{case}: {} batches, {packets} packets, logs {:?}",
            stopped.batches.len(),
            live.keys().collect::<Vec<_>>()
        );
        diff(case, "the stopped engine", &live, &want, &mut run.diffs);
        let replayed = replay_rows(&file);
        let conn = |r: &Rows| {
            r.iter()
                .filter(|(k, _)| *k == "conn")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Rows>()
        };
        diff(
            case,
            "replay",
            &conn(&live),
            &conn(&replayed),
            &mut run.diffs,
        );
        diff(case, "replay", &live, &replayed, &mut run.unflushed);
        run.stopped.push((case, stopped));
    }
    run
}

#[test]
fn live_capture_records_equal_replay_records() {
    let net = Netns::new("live");
    let run = live_cases(&net, 1);
    // Straight to stderr, past the test harness's capture.
    let _ = writeln!(
        std::io::stderr(),
        "live capture: {} cases; {} records written by replay at the end of input but not by a stop:\n{}",
        CASES.len(),
        run.unflushed.len(),
        run.unflushed.join("\n")
    );
    assert!(
        run.diffs.is_empty(),
        "{} differences:\n{}",
        run.diffs.len(),
        run.diffs.join("\n")
    );
}

/// One capture worker's counters from the agent's run summary.
#[derive(Debug, Default, Clone, Copy)]
struct WorkerCounts {
    analysed: u64,
    received: u64,
    dropped: u64,
}

/// The `capture worker N of M: ...` lines of an agent's log, by worker.
fn worker_counts(log: &str) -> BTreeMap<u64, WorkerCounts> {
    log.lines()
        .filter_map(|l| l.split_once("capture worker ").map(|(_, r)| r))
        .map(|r| {
            // worker, of, analysed, received, dropped, freezes
            let n: Vec<u64> = r
                .split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty())
                .map(|t| t.parse().unwrap())
                .collect();
            assert_eq!(n.len(), 6, "unexpected worker line: {r}");
            (
                n[0],
                WorkerCounts {
                    analysed: n[2],
                    received: n[3],
                    dropped: n[4],
                },
            )
        })
        .collect()
}

/// Two workers under PACKET_FANOUT (hash mode, both directions of a flow
/// on one worker): the same records as one engine and `replay`, distinct
/// connection uids, no kernel drops, every frame the kernel gave a worker
/// analysed by it, and both workers given traffic.
#[test]
fn fanout_workers_records_equal_replay_records() {
    const WORKERS: u16 = 2;
    let net = Netns::new("fanout");
    let run = live_cases(&net, WORKERS);
    let mut totals = vec![WorkerCounts::default(); usize::from(WORKERS)];
    let mut problems = Vec::new();
    for (case, stopped) in &run.stopped {
        let counts = worker_counts(&stopped.log);
        assert_eq!(
            counts.keys().copied().collect::<Vec<_>>(),
            (0..u64::from(WORKERS)).collect::<Vec<_>>(),
            "{case}: no summary line per worker in the agent's log:\n{}",
            stopped.log
        );
        let h = |f: fn(&osect_wire::batch::Health) -> u64| -> u64 {
            stopped.batches.iter().map(|b| f(&b.header.health)).sum()
        };
        let analysed: u64 = counts.values().map(|c| c.analysed).sum();
        if analysed != h(|x| x.packets) {
            problems.push(format!(
                "{case}: workers analysed {analysed} packets, batches say {}",
                h(|x| x.packets)
            ));
        }
        if h(|x| x.kernel_drops) != 0 {
            problems.push(format!("{case}: kernel drops {}", h(|x| x.kernel_drops)));
        }
        for (w, c) in &counts {
            if c.dropped != 0 || c.received != c.analysed {
                problems.push(format!("{case}: worker {w}: {c:?}"));
            }
            let t = &mut totals[*w as usize];
            t.analysed += c.analysed;
            t.received += c.received;
            t.dropped += c.dropped;
        }
        // Workers number their connections independently; their uids must
        // still name one connection each.
        let mut uids: Vec<String> = stopped
            .batches
            .iter()
            .flat_map(|b| &b.records)
            .filter(|r| r.schema.path == "conn")
            .map(|r| format!("{:?}", r.get("uid")))
            .collect();
        let conns = uids.len();
        uids.sort();
        uids.dedup();
        if uids.len() != conns {
            problems.push(format!(
                "{case}: {conns} conn records share {} uids",
                uids.len()
            ));
        }
        println!("{case}: per worker {counts:?}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "live fanout: {WORKERS} workers over {} cases: {totals:?}",
        CASES.len()
    );
    assert!(
        totals.iter().all(|t| t.analysed > 0),
        "a worker got no traffic: {totals:?}"
    );
    assert!(
        problems.is_empty() && run.diffs.is_empty(),
        "{}\n{} record differences:\n{}",
        problems.join("\n"),
        run.diffs.len(),
        run.diffs.join("\n")
    );
}

#[test]
fn topspeed_replay_reports_rate_and_kernel_drops() {
    let net = Netns::new("speed");
    let agent = Agent::start(&net, 1);
    let files: Vec<PathBuf> = CASES.iter().map(|c| trace(c)).collect();
    let mut args: Vec<String> = vec!["--topspeed".into(), "--loop=100".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = sh(net
        .exec(&net.tx, "tcpreplay")
        .args(["-i", "tx0"])
        .args(&args));
    let batches = agent.stop().batches;
    let h = |f: fn(&osect_wire::batch::Health) -> u64| -> u64 {
        batches.iter().map(|b| f(&b.header.health)).sum()
    };
    let rate = out
        .lines()
        .find(|l| l.contains("Rated:"))
        .unwrap_or("Rated: unknown")
        .trim()
        .to_owned();
    let sent = out
        .lines()
        .find(|l| l.contains("Actual:"))
        .unwrap_or("Actual: unknown")
        .trim()
        .to_owned();
    // Straight to stderr, past the test harness's capture: the figures are
    // the point, not only the verdict.
    let _ = writeln!(
        std::io::stderr(),
        "live topspeed: {sent}; {rate}; agent saw {} packets, kernel drops {}, freezes {}",
        h(|x| x.packets),
        h(|x| x.kernel_drops),
        h(|x| x.kernel_freezes)
    );
    assert!(h(|x| x.packets) > 0, "the agent saw nothing:\n{out}");
}
