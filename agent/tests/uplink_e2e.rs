//! End-to-end: real `osect-collector`, `lte-relay` and `osect-agent`
//! processes. The relay emulates the LTE link (delay with jitter, burst
//! loss, reordering, 1 Mbit/s, outages, the agent's address changing).
//!
//! - Over the LTE link without kills, the collector ends up with exactly the
//!   batches the agent closed (sequence numbers and digests), and their
//!   records equal what `replay --batch-out` gives for the same capture.
//! - With `kill -9` of the agent and of the collector at random moments
//!   (live capture on `lo`, needs root), nothing closed is lost, nothing is
//!   stored twice, and every killed interval is reported by the next run.
//! - A corrupt spool file is quarantined and reported; the rest is sent.

use osect_collector::store::Store;
use osect_testkit::procs::{bin, free_udp_port, wait_for, Proc};
use osect_testkit::{pki, Rng};
use osect_wire::batch;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Env {
    work: tempfile::TempDir,
    pki: pki::Files,
}

impl Env {
    fn new() -> Env {
        let work = tempfile::tempdir().unwrap();
        let pki = pki::make(&work.path().join("pki"), &["OSS-0001"]).unwrap();
        Env { work, pki }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.work.path().join(p)
    }

    fn collector(&self, port: u16) -> Proc {
        let log = self.path("collector.log");
        let start = std::fs::read_to_string(&log).map_or(0, |s| s.matches("listening on").count());
        let p = Proc::spawn(
            "collector",
            Command::new(bin("osect-collector", "osect-collector"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .arg("--store")
                .arg(self.path("store"))
                .arg("--cert")
                .arg(self.pki.path("server.crt"))
                .arg("--key")
                .arg(self.pki.path("server.key"))
                .arg("--client-ca")
                .arg(self.pki.path("client-ca.pem"))
                .arg("--crl")
                .arg(self.pki.path("devices.crl"))
                .args(["--idle-timeout-secs", "20"])
                .env("RUST_LOG", "info"),
            &log,
        );
        wait_for("collector listening", Duration::from_secs(20), || {
            std::fs::read_to_string(&log)
                .ok()
                .filter(|l| l.matches("listening on").count() > start)
        });
        p
    }

    /// The relay with `args`; its stdin takes commands.
    fn relay(&self, listen: u16, upstream: u16, args: &[&str]) -> Proc {
        let mut c = Command::new(bin("osect-testkit", "lte-relay"));
        c.args(["--listen", &format!("127.0.0.1:{listen}")])
            .args(["--upstream", &format!("127.0.0.1:{upstream}")])
            .args(["--source-ips", "127.0.0.2,127.0.0.3,127.0.0.4"])
            .args(args)
            .stdin(Stdio::piped());
        Proc::spawn("relay", &mut c, &self.path("relay.log"))
    }

    fn config(&self, port: u16, extra: &str) -> PathBuf {
        let id = self.pki.identity("OSS-0001");
        let data = self.path("data");
        let text = format!(
            "[device]\nid = \"OSS-0001\"\nsite = \"plant-a\"\ndata_dir = \"{data}\"\n\
             [batch]\ninterval_secs = 1\n[spool]\ndir = \"{data}/spool\"\n\
             [uplink]\nenabled = true\nendpoint = \"127.0.0.1:{port}\"\nserver_name = \"{}\"\n\
             ca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\nbackoff_min_ms = 200\nbackoff_max_ms = 2000\nkeepalive_secs = 2\n{extra}",
            pki::SERVER_NAME,
            id.join("core-ca.crt").display(),
            id.join("device.crt").display(),
            id.join("device.key").display(),
            data = data.display(),
        );
        let p = self.path("agent.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn agent(&self, config: &Path, args: &[&str]) -> Proc {
        Proc::spawn(
            "agent",
            Command::new(bin("osect-agent", "osect-agent"))
                .arg("run")
                .arg("--config")
                .arg(config)
                .args(args)
                .env("RUST_LOG", "info"),
            &self.path("agent.log"),
        )
    }

    /// `seq → digest` of every "closed batch" line the agent logged.
    fn closed(&self) -> BTreeMap<u64, String> {
        let log = std::fs::read_to_string(self.path("agent.log")).unwrap_or_default();
        log.lines()
            .filter_map(|l| {
                let rest = l.split("closed batch ").nth(1)?;
                let seq = rest.split_whitespace().next()?.parse().ok()?;
                let digest = rest.split("digest ").nth(1)?.trim().to_owned();
                Some((seq, digest))
            })
            .collect()
    }

    /// `seq → digest` of what the collector stored.
    fn stored(&self) -> BTreeMap<u64, String> {
        let store = Store::open(&self.path("store")).unwrap();
        store
            .list(Some("OSS-0001"), None, i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|b| (b.seq, batch::hex(&b.digest)))
            .collect()
    }
}

fn plant_pcap(env: &Env, seconds: u64) -> PathBuf {
    let p = env.path("plant.pcap");
    let st = Command::new(bin("osect-trafficgen", "osect-trafficgen"))
        .args(["plant", "--seconds", &seconds.to_string(), "--out"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success(), "trafficgen failed");
    p
}

/// Stops the relay (closing its stdin makes it print its counters and
/// exit) and returns the counters line.
fn finish_relay(env: &Env, relay: &mut Proc) -> String {
    drop(relay.child.stdin.take());
    let _ = relay.child.wait();
    std::fs::read_to_string(env.path("relay.log"))
        .unwrap_or_default()
        .lines()
        .rfind(|l| l.starts_with("forwarded"))
        .unwrap_or("")
        .to_owned()
}

fn relay_cmd(relay: &mut Proc, cmd: &str) {
    if let Some(stdin) = relay.child.stdin.as_mut() {
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
    }
}

#[test]
fn lte_link_delivers_exactly_the_closed_batches_with_replay_records() {
    let env = Env::new();
    let seconds = 25;
    let pcap = plant_pcap(&env, seconds);
    let col_port = free_udp_port();
    let relay_port = free_udp_port();
    let _col = env.collector(col_port);
    let seed = std::env::var("OSECT_E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7u64);
    let mut relay = env.relay(
        relay_port,
        col_port,
        &[
            "--delay-ms",
            "50-400",
            "--loss",
            "0.08",
            "--burst",
            "3",
            "--reorder",
            "0.03",
            "--rate-kbit",
            "1000",
            "--seed",
            &seed.to_string(),
        ],
    );
    let cfg = env.config(relay_port, "");
    let t0 = Instant::now();
    let mut agent = env.agent(
        &cfg,
        &[
            "--pcap",
            pcap.to_str().unwrap(),
            "--speed",
            "1",
            "--drain-secs",
            "90",
        ],
    );
    // Mid-run: the modem reconnects with a new address twice, then the link
    // is down for 25 s (longer than the connection's idle timeout, so the
    // agent reconnects afresh and sends its backlog oldest first).
    std::thread::sleep(Duration::from_secs(3));
    relay_cmd(&mut relay, "rebind");
    std::thread::sleep(Duration::from_secs(3));
    relay_cmd(&mut relay, "rebind");
    std::thread::sleep(Duration::from_secs(2));
    relay_cmd(&mut relay, "down");
    std::thread::sleep(Duration::from_secs(25));
    relay_cmd(&mut relay, "up");
    let st = wait_for(
        "agent to finish and drain",
        Duration::from_secs(150),
        || agent.child.try_wait().unwrap(),
    );
    assert!(
        st.success(),
        "agent failed: {}",
        std::fs::read_to_string(env.path("agent.log")).unwrap()
    );
    let counters = finish_relay(&env, &mut relay);
    println!("seed {seed}; injected: 50-400 ms one-way delay, 8 % loss in bursts of 3, 3 % reordering, 1 Mbit/s, 2 address changes, one 25 s outage");
    println!("relay (agent->collector, back): {counters}");
    println!("wall time {:?}", t0.elapsed());

    let closed = env.closed();
    let stored = env.stored();
    assert!(
        closed.len() >= seconds as usize / 2,
        "only {} batches closed",
        closed.len()
    );
    assert_eq!(
        stored, closed,
        "collector differs from what the agent closed"
    );
    println!(
        "compared {} batches: sequence numbers and digests equal",
        closed.len()
    );
    let log = std::fs::read_to_string(env.path("collector.log")).unwrap();
    println!(
        "collector: {} connections, {} address changes within a connection",
        log.matches("connected from").count(),
        log.matches("address changed").count()
    );

    // Records equal what replay gives for the same input and interval.
    let out = env.path("replay");
    let st = Command::new(bin("osect-agent", "osect-agent"))
        .args(["replay", "--interval", "1", "--out"])
        .arg(env.path("replay-logs"))
        .arg("--config")
        .arg(&cfg)
        .arg("--batch-out")
        .arg(&out)
        .arg(&pcap)
        .status()
        .unwrap();
    assert!(st.success());
    let store = Store::open(&env.path("store")).unwrap();
    let mut records = 0;
    for seq in closed.keys() {
        let want =
            batch::decode(&std::fs::read(out.join(format!("{seq:020}.osb"))).unwrap()).unwrap();
        let got = store.load("OSS-0001", *seq).unwrap();
        assert_eq!(
            (got.header.interval_start_us, got.header.interval_end_us),
            (want.header.interval_start_us, want.header.interval_end_us),
            "batch {seq} interval"
        );
        assert_eq!(got.records, want.records, "batch {seq} records");
        records += got.records.len();
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), closed.len());
    println!(
        "records of all {} batches ({records} records) equal replay's",
        closed.len()
    );
}

/// Live capture on `lo` with the agent and the collector killed (-9) at
/// random moments and restarted.
#[test]
fn kill9_agent_and_collector_lose_nothing_closed() {
    if nix_root() == Some(false) {
        panic!("this test needs root (AF_PACKET capture on lo)");
    }
    let env = Env::new();
    let col_port = free_udp_port();
    let relay_port = free_udp_port();
    let mut col = env.collector(col_port);
    let _relay = env.relay(
        relay_port,
        col_port,
        &[
            "--delay-ms",
            "20-150",
            "--loss",
            "0.03",
            "--reorder",
            "0.02",
            "--rate-kbit",
            "1000",
        ],
    );
    let cfg = env.config(
        relay_port,
        "[capture]\ninterface = \"lo\"\nblock_count = 8\nframe_size = 4096\npromiscuous = false\n",
    );
    // Background traffic on lo for the agent to see.
    let traffic = std::thread::spawn(|| {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t0 = Instant::now();
        let mut i = 0u32;
        while t0.elapsed() < Duration::from_secs(40) {
            let _ = s.send_to(&i.to_be_bytes(), ("127.0.0.1", 9));
            i += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let seed = std::env::var("OSECT_E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11u64);
    let mut rng = Rng::new(seed);
    let mut agent = env.agent(&cfg, &["--drain-secs", "60"]);
    let mut agent_kills = 0;
    let mut plan = Vec::new();
    for round in 0..5 {
        std::thread::sleep(Duration::from_millis(rng.range(2500, 5000)));
        if round == 2 {
            col.kill9();
            plan.push("collector -9".to_owned());
            std::thread::sleep(Duration::from_millis(rng.range(500, 2500)));
            col = env.collector(col_port);
        } else {
            agent.kill9();
            agent_kills += 1;
            plan.push("agent -9".to_owned());
            std::thread::sleep(Duration::from_millis(rng.range(100, 1500)));
            agent = env.agent(&cfg, &["--drain-secs", "60"]);
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        agent
            .term(Duration::from_secs(90))
            .is_some_and(|s| s.success()),
        "agent did not stop cleanly"
    );
    traffic.join().unwrap();
    println!("seed {seed}; injected: {}", plan.join(", "));

    let closed = env.closed();
    let stored = env.stored();
    for (seq, d) in &closed {
        assert_eq!(
            stored.get(seq),
            Some(d),
            "closed batch {seq} not stored with its digest"
        );
    }
    let max = *stored.keys().last().unwrap();
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=max).collect::<Vec<_>>(),
        "gaps"
    );
    let unlogged = stored.len() - closed.len();
    assert!(
        unlogged <= agent_kills,
        "{unlogged} stored batches the agent never logged"
    );
    let store = Store::open(&env.path("store")).unwrap();
    let mut lost_reports = 0;
    let mut starts = Vec::new();
    for seq in 1..=max {
        let b = store.load("OSS-0001", seq).unwrap();
        lost_reports += b.header.health.lost_intervals;
        starts.push(b.header.interval_start_us);
    }
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "an interval was stored twice: {starts:?}"
    );
    assert_eq!(
        lost_reports, agent_kills as u64,
        "each killed interval is reported once"
    );
    println!(
        "compared {} stored batches: {} logged closed ones equal by digest, {unlogged} closed just before a kill, \
         seqs 1..={max} without gaps or repeats, {lost_reports} lost intervals reported for {agent_kills} agent kills",
        stored.len(),
        closed.len()
    );
}

fn nix_root() -> Option<bool> {
    let out = Command::new("id").arg("-u").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A truncated spool file is quarantined at start, reported in the next
/// header, and the other batches are sent.
#[test]
fn corrupt_spool_file_is_quarantined_reported_and_the_rest_sent() {
    let env = Env::new();
    let col_port = free_udp_port();
    let _col = env.collector(col_port);
    let cfg = env.config(col_port, "");
    let pcap = plant_pcap(&env, 4);
    // First run without an uplink: batches stay in the spool.
    let offline = env.path("offline.toml");
    std::fs::write(
        &offline,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("enabled = true", "enabled = false"),
    )
    .unwrap();
    let st = env
        .agent(&offline, &["--pcap", pcap.to_str().unwrap()])
        .child
        .wait()
        .unwrap();
    assert!(st.success());
    let spool = env.path("data/spool");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "osb"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let victim = &files[1];
    let bytes = std::fs::read(victim).unwrap();
    std::fs::write(victim, &bytes[..bytes.len() / 2]).unwrap();
    // Second run with the uplink: the rest is sent, the victim is not.
    let st = env
        .agent(
            &cfg,
            &["--pcap", pcap.to_str().unwrap(), "--drain-secs", "30"],
        )
        .child
        .wait()
        .unwrap();
    assert!(st.success());
    assert!(spool.join("quarantine").read_dir().unwrap().count() == 1);
    let stored = env.stored();
    let closed = env.closed();
    let victim_seq: u64 = victim
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut want: Vec<u64> = closed
        .keys()
        .copied()
        .filter(|s| *s != victim_seq)
        .collect();
    want.sort();
    assert_eq!(stored.keys().copied().collect::<Vec<_>>(), want);
    let store = Store::open(&env.path("store")).unwrap();
    let reported: u64 = want
        .iter()
        .map(|s| {
            store
                .load("OSS-0001", *s)
                .unwrap()
                .header
                .health
                .spool_quarantined
        })
        .sum();
    assert_eq!(reported, 1);
    println!(
        "truncated batch {victim_seq}: quarantined, reported once, {} others delivered",
        want.len()
    );
}
