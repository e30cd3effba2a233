//! End to end with the real collector and agent: two units provisioned into
//! temp directories (modems simulated on ptys), one assigned to a site and
//! sending, then swapped for the other. The first must be refused (revoked),
//! the second's batches land under the same site; the first comes back, its
//! un-sent spool is imported and it is wiped. A unit wiped and provisioned
//! again under its serial ships again under its new key (its sequence
//! starts again at 1) while its earlier batches stay, and self-tests repeat.
//!
//! Needs the `osect-collector` and `osect-agent` binaries: from
//! `OSECT_COLLECTOR_BIN` / `OSECT_AGENT_BIN`, or beside this test's
//! `osect-provision` in the same target directory (`cargo build -p
//! osect-collector -p osect-agent`). Run by `ci/stages/40-provisioning.sh`.

mod support;

use osect_collector::store::{Store, StoredBatch};
use osect_provision::modem_sim::Script;
use osect_wire::batch::{self, Batch, Header};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{script_modem, Options, Station};

fn binary(env: &str, name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let own = PathBuf::from(env!("CARGO_BIN_EXE_osect-provision"));
    let p = own.parent().unwrap().join(name);
    assert!(
        p.is_file(),
        "{name} not found at {} (build it with `cargo build -p {name}` or set {env})",
        p.display()
    );
    p
}

/// The collector, stopped when dropped.
struct Collector {
    child: Child,
    log: PathBuf,
}

impl Collector {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once a line of it satisfies `want`, or after 10 s: the
    /// collector may write an event down after its peer has seen it (a
    /// refused handshake is over for the agent before it is logged).
    fn log_once(&self, want: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let log = self.log();
            if log.lines().any(&want) || t0.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A station and a running collector that trusts its PKI.
struct Core {
    // Dropped first: the collector stops before its files go.
    server: Collector,
    station: Station,
    store: PathBuf,
    endpoint: String,
    work: tempfile::TempDir,
}

impl Core {
    fn start(collector: &Path, agent: Option<&Path>) -> Core {
        Core::start_with(collector, agent, &[])
    }

    /// Started with more `serve` options.
    fn start_with(collector: &Path, agent: Option<&Path>, serve: &[&str]) -> Core {
        let work = tempfile::tempdir().unwrap();
        let store = work.path().join("store");
        let token = work.path().join("operator.token");
        let endpoint = format!("127.0.0.1:{}", free_udp_port());
        let mut o = Options {
            collector: collector.display().to_string(),
            collector_store: store.clone(),
            token_file: token.clone(),
            core_endpoint: endpoint.clone(),
            ..Options::default()
        };
        if let Some(agent) = agent {
            o.agent = agent.display().to_string();
            o.selftest_endpoint = endpoint.clone();
        }
        let s = Station::with(o);
        let (cert, key) = (
            work.path().join("server.crt"),
            work.path().join("server.key"),
        );
        s.ok(&[
            "pki",
            "server-cert",
            "--name",
            "collector.osect",
            "--ip",
            "127.0.0.1",
            "--out-cert",
            cert.to_str().unwrap(),
            "--out-key",
            key.to_str().unwrap(),
        ]);
        let o = run(
            collector,
            &[
                "operator-add",
                "--store",
                store.to_str().unwrap(),
                "--name",
                "tester",
                "--token-out",
                token.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "operator-add: {}", text(&o));
        let log = work.path().join("collector.log");
        let child = Command::new(collector)
            .args([
                "serve",
                "--listen",
                &endpoint,
                "--store",
                store.to_str().unwrap(),
                "--cert",
                cert.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "--client-ca",
                s.path("pki/client-ca.pem").to_str().unwrap(),
                "--crl",
                s.path("pki/devices.crl").to_str().unwrap(),
            ])
            .args(serve)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Collector { child, log };
        let t0 = Instant::now();
        while !server.log().contains("listening") {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "collector did not start:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Core {
            server,
            station: s,
            store,
            endpoint,
            work,
        }
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(cmd).args(args).output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// One un-sent batch as the agent's spool holds it (`<seq:020>.osb`).
fn spool_batch(unit: &Path, serial: &str, site: &str, seq: u64) {
    let b = Batch {
        header: Header {
            device_id: serial.into(),
            site: site.into(),
            seq,
            interval_start_us: 1_800_000_000_000_000 + seq as i64 * 60_000_000,
            interval_end_us: 1_800_000_060_000_000 + seq as i64 * 60_000_000,
            agent_version: "0.1.0".into(),
            ..Header::default()
        },
        records: Vec::new(),
    };
    let bytes = batch::encode(&b, 3, None).unwrap();
    std::fs::write(unit.join(format!("spool/{seq:020}.osb")), bytes).unwrap();
}

/// A capture from the reference corpus (OSECT_CORPUS, default ../shared/corpus).
fn corpus_pcap() -> PathBuf {
    let corpus = std::env::var("OSECT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    let p = corpus.join("icsnpp-modbus-modbus_example/trace.pcap");
    assert!(
        p.is_file(),
        "corpus capture {} missing (set OSECT_CORPUS)",
        p.display()
    );
    p
}

/// The collector's `devices` line for a serial.
fn collector_device(collector: &Path, store: &Path, serial: &str) -> Option<String> {
    let o = run(collector, &["devices", "--store", store.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(serial))
        .map(str::to_string)
}

/// What the collector stored for a serial, every key.
fn stored(store: &Path, serial: &str) -> Vec<StoredBatch> {
    Store::open(store)
        .unwrap()
        .list(Some(serial), None, i64::MIN, i64::MAX)
        .unwrap()
}

/// The unit's key as the collector keys batches by it (SHA-256 of the
/// certificate's SubjectPublicKeyInfo).
fn unit_key(unit: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(unit.join("identity/device.crt")).unwrap();
    let hex = osect_provision::pki::cert_info(&pem).unwrap().key_sha256;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Records from a corpus capture, sent with `osect-agent run --pcap`.
fn ship(agent: &Path, config: &Path, what: &str) {
    let pcap = corpus_pcap();
    let o = run(
        agent,
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--pcap",
            pcap.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{what}: {}", text(&o));
}

/// Spool files the agent has not had acknowledged.
fn unsent(unit: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(unit.join("spool"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "osb"))
        .collect()
}

/// Every file's bytes under `dir`, concatenated.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                std::fs::File::open(&p)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
    }
    out
}

/// Runs the agent's self-test until its connection is refused (not merely
/// its batch); returns the agent's output.
fn refused_within(agent: &Path, config: &Path, limit: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let o = run(agent, &["selftest", "--config", config.to_str().unwrap()]);
        let out = text(&o);
        // A batch answer means the handshake still succeeded.
        if !o.status.success() && !out.contains("collector answered") {
            return out;
        }
        assert!(
            t0.elapsed() < limit,
            "{} is still accepted after its revocation: {out}",
            config.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
#[ignore = "needs the osect-collector and osect-agent binaries; run by ci/stages/40-provisioning.sh"]
fn swap_revokes_the_failed_unit_and_keeps_the_site_history() {
    let collector = binary("OSECT_COLLECTOR_BIN", "osect-collector");
    let agent = binary("OSECT_AGENT_BIN", "osect-agent");
    let Core {
        server,
        station: s,
        store,
        endpoint,
        work: _work,
    } = Core::start(&collector, Some(&agent));

    // Factory: both units pass the self-test against the collector.
    let (ma, mb) = (
        script_modem(&s, Script::Normal, 81),
        script_modem(&s, Script::Normal, 82),
    );
    let (ua, ub) = (s.unit("unit-a"), s.unit("unit-b"));
    for (serial, unit, m) in [("OSD-000081", &ua, &ma), ("OSD-000082", &ub, &mb)] {
        let out = s.ok(&[
            "factory",
            "--serial",
            serial,
            "--device-dir",
            unit.to_str().unwrap(),
            "--modem",
            m.tty().to_str().unwrap(),
        ]);
        assert!(out.contains("self-test passed"), "{out}");
        // The agent accepts the site-independent config as written.
        let cfg = unit.join("config/agent.toml");
        let o = run(&agent, &["check-config", "--config", cfg.to_str().unwrap()]);
        assert!(o.status.success(), "{serial}: {}", text(&o));
    }

    // A serves the site and ships records.
    s.ok(&[
        "site",
        "add",
        "--site",
        "plant-e2e",
        "--interface",
        "eth1",
        "--batch-interval",
        "10",
        "--endpoint",
        &endpoint,
    ]);
    s.ok(&[
        "assign",
        "OSD-000081",
        "--site",
        "plant-e2e",
        "--device-dir",
        ua.to_str().unwrap(),
    ]);
    s.ok(&["ship", "OSD-000081"]);
    let cfg_a = ua.join("config/agent.toml");
    ship(&agent, &cfg_a, "A before the swap");
    let line =
        collector_device(&collector, &store, "OSD-000081").expect("A is known to the collector");
    assert!(line.contains("plant-e2e"), "{line}");

    // Swap A for B: A is refused from now on, B sends under the same site.
    s.ok(&[
        "swap",
        "--site",
        "plant-e2e",
        "--replacement",
        "OSD-000082",
        "--failed",
        "OSD-000081",
        "--device-dir",
        ub.to_str().unwrap(),
    ]);
    let refused = refused_within(&agent, &cfg_a, Duration::from_secs(30));
    let revoked =
        |l: &str| l.contains("refused connection") && l.to_lowercase().contains("revoked");
    let log = server.log_once(revoked);
    assert!(
        log.lines().any(revoked),
        "the collector logs the refused handshake as revoked:\n{log}\nagent: {refused}"
    );
    let cfg_b = ub.join("config/agent.toml");
    ship(&agent, &cfg_b, "B after the swap");
    let line =
        collector_device(&collector, &store, "OSD-000082").expect("B is known to the collector");
    assert!(line.contains("plant-e2e"), "{line}");

    // A comes back with un-sent batches: they are imported, then A is wiped.
    for seq in [1001, 1002, 1003] {
        spool_batch(&ua, "OSD-000081", "plant-e2e", seq);
    }
    let key_pem = std::fs::read(ua.join("identity/device.key")).unwrap();
    let before = collector_device(&collector, &store, "OSD-000081").unwrap();
    let out = s.ok(&[
        "receive-return",
        "OSD-000081",
        "--device-dir",
        ua.to_str().unwrap(),
    ]);
    assert!(out.contains("imported 3 new"), "{out}");
    let after = collector_device(&collector, &store, "OSD-000081").unwrap();
    assert_ne!(before, after, "the collector counts the imported batches");
    assert!(after.contains("1003"), "last sequence imported: {after}");
    let left = all_bytes(&ua);
    assert!(left.is_empty(), "the unit still holds {} bytes", left.len());
    assert!(!contains(&left, &key_pem[30..60]));
    assert!(s
        .ok(&["registry", "devices"])
        .lines()
        .any(|l| l.starts_with("OSD-000081") && l.contains("stock")));
    // Importing again is harmless and the unit stays wiped.
    let again = s.ok(&[
        "receive-return",
        "OSD-000081",
        "--device-dir",
        ua.to_str().unwrap(),
    ]);
    assert!(again.contains("already received"), "{again}");

    // Contract end: the site's data is deleted at the collector.
    let out = s.ok(&["decommission", "--site", "plant-e2e"]);
    let deleted = out
        .split("deleted ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no deletion count in {out}"));
    assert!(
        deleted >= 3,
        "at least the 3 imported batches are deleted: {out}"
    );
    refused_within(
        &agent,
        &ub.join("config/agent.toml"),
        Duration::from_secs(30),
    );
    drop(server);
}

/// The collector side alone: it loads the CRL the swap writes (and refuses
/// nothing it should accept), imports a returned unit's spool through the
/// operator's token, and deletes a decommissioned site's batches.
#[test]
#[ignore = "needs the osect-collector binary; run by ci/stages/40-provisioning.sh"]
fn collector_reads_the_crl_imports_returns_and_deletes_sites() {
    let collector = binary("OSECT_COLLECTOR_BIN", "osect-collector");
    let Core {
        server,
        station: s,
        store,
        endpoint,
        work,
    } = Core::start(&collector, None);

    let (ma, mb) = (
        script_modem(&s, Script::Normal, 83),
        script_modem(&s, Script::Normal, 84),
    );
    let (ua, ub) = (s.unit("unit-a"), s.unit("unit-b"));
    for (serial, unit, m) in [("OSD-000083", &ua, &ma), ("OSD-000084", &ub, &mb)] {
        s.ok(&[
            "factory",
            "--serial",
            serial,
            "--device-dir",
            unit.to_str().unwrap(),
            "--modem",
            m.tty().to_str().unwrap(),
            "--no-selftest",
        ]);
    }
    s.ok(&[
        "site",
        "add",
        "--site",
        "plant-c",
        "--interface",
        "eth1",
        "--endpoint",
        &endpoint,
    ]);
    s.ok(&[
        "assign",
        "OSD-000083",
        "--site",
        "plant-c",
        "--device-dir",
        ua.to_str().unwrap(),
    ]);
    s.ok(&["ship", "OSD-000083"]);
    s.ok(&[
        "swap",
        "--site",
        "plant-c",
        "--replacement",
        "OSD-000084",
        "--failed",
        "OSD-000083",
        "--device-dir",
        ub.to_str().unwrap(),
    ]);
    let t0 = Instant::now();
    while !server.log().contains("(1 revoked)") {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the collector did not reload the CRL with the revocation:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    for seq in [1, 2] {
        spool_batch(&ua, "OSD-000083", "plant-c", seq);
    }
    // Without the operator's token the import is refused and nothing changes.
    let before = support::tree(&ua);
    let e = s.fail(&[
        "receive-return",
        "OSD-000083",
        "--device-dir",
        ua.to_str().unwrap(),
        "--token-file",
        work.path().join("forged.token").to_str().unwrap(),
    ]);
    assert!(e.contains("'import'"), "{e}");
    assert_eq!(before, support::tree(&ua));
    let out = s.ok(&[
        "receive-return",
        "OSD-000083",
        "--device-dir",
        ua.to_str().unwrap(),
    ]);
    assert!(out.contains("imported 2 new"), "{out}");
    let line =
        collector_device(&collector, &store, "OSD-000083").expect("imported batches are stored");
    assert!(line.contains("plant-c"), "{line}");
    assert!(all_bytes(&ua).is_empty());

    let out = s.ok(&["decommission", "--site", "plant-c"]);
    assert!(out.contains("batches 2"), "{out}");
    // B comes back after the contract ended: its spool is not imported into
    // the deleted site, and the unit is wiped.
    spool_batch(&ub, "OSD-000084", "plant-c", 1);
    let out = s.ok(&[
        "receive-return",
        "OSD-000084",
        "--device-dir",
        ub.to_str().unwrap(),
    ]);
    assert!(out.contains("1 spool file(s) discarded"), "{out}");
    assert!(all_bytes(&ub).is_empty());
    assert!(collector_device(&collector, &store, "OSD-000084").is_none());
    let t0 = Instant::now();
    while !server.log().contains("(2 revoked)") {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "B's revocation not loaded:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);
}

/// A unit comes back, is wiped and provisioned again under its serial: its
/// new key starts a new sequence at 1, which the collector acknowledges and
/// stores beside the first life's batches; retransmissions of either life
/// (the first through the operator's import, the second across a
/// certificate renewal, which keeps the key) are still stored once.
#[test]
#[ignore = "needs the osect-collector and osect-agent binaries; run by ci/stages/40-provisioning.sh"]
fn a_unit_provisioned_again_ships_under_its_new_key_beside_its_old_batches() {
    let collector = binary("OSECT_COLLECTOR_BIN", "osect-collector");
    let agent = binary("OSECT_AGENT_BIN", "osect-agent");
    let Core {
        server,
        station: s,
        store,
        endpoint,
        work,
    } = Core::start(&collector, Some(&agent));
    let serial = "OSD-000085";
    let m = script_modem(&s, Script::Normal, 85);
    let u = s.unit("unit-r");
    let dir = u.to_str().unwrap();
    let tty = m.tty();
    let factory = || {
        let out = s.ok(&[
            "factory",
            "--serial",
            serial,
            "--device-dir",
            dir,
            "--modem",
            tty.to_str().unwrap(),
        ]);
        assert!(out.contains("self-test passed"), "{out}");
    };
    let assign_and_ship = || {
        s.ok(&["assign", serial, "--site", "plant-r", "--device-dir", dir]);
        s.ok(&["ship", serial]);
    };
    s.ok(&[
        "site",
        "add",
        "--site",
        "plant-r",
        "--interface",
        "eth1",
        "--batch-interval",
        "10",
        "--endpoint",
        &endpoint,
    ]);
    let cfg = u.join("config/agent.toml");

    // First life: ships records; two batches are still un-sent at return.
    factory();
    assign_and_ship();
    let key_1 = unit_key(&u);
    ship(&agent, &cfg, "first life");
    let first = stored(&store, serial);
    let top = first.iter().map(|b| b.seq).max().unwrap();
    assert!(top >= 1, "the first life stored real batches: {first:?}");
    assert!(first.iter().all(|b| b.key_sha256 == key_1));
    for seq in [top + 1, top + 2] {
        spool_batch(&u, serial, "plant-r", seq);
    }
    let kept = work.path().join("kept.osb");
    std::fs::copy(u.join(format!("spool/{:020}.osb", top + 1)), &kept).unwrap();
    let out = s.ok(&["receive-return", serial, "--device-dir", dir]);
    assert!(out.contains("imported 2 new"), "{out}");
    let returned = stored(&store, serial);
    assert_eq!(returned.len(), first.len() + 2);
    assert!(returned.iter().all(|b| b.key_sha256 == key_1));

    // Second life: same serial and modem, a new SIM, a new key.
    m.insert_sim("89882390000000000185", "901280000000185");
    factory();
    let key_2 = unit_key(&u);
    assert_ne!(key_1, key_2);
    assign_and_ship();
    ship(&agent, &cfg, "second life");
    assert!(
        unsent(&u).is_empty(),
        "the second life's batches were all acknowledged"
    );
    let after = stored(&store, serial);
    let second: Vec<u64> = after
        .iter()
        .filter(|b| b.key_sha256 == key_2)
        .map(|b| b.seq)
        .collect();
    // The self-test (0), then the sequence from 1 again: numbers the first
    // life used too.
    assert!(second.starts_with(&[0, 1]), "{second:?}\n{}", server.log());
    assert!(second.windows(2).all(|w| w[1] == w[0] + 1), "{second:?}");
    let has = |b: &StoredBatch| {
        after
            .iter()
            .any(|a| a.key_sha256 == b.key_sha256 && a.seq == b.seq && a.digest == b.digest)
    };
    assert!(returned.iter().all(has), "the first life's batches stay");
    assert_eq!(after.len(), returned.len() + second.len());
    let log = server.log();
    assert!(!log.contains("batch refused"), "{log}");

    // A first-life batch handed in again (a second import of the returned
    // unit's spool) is recognised under the first key.
    let token = work.path().join("operator.token");
    let hex = batch::hex(&key_1);
    let o = run(
        &collector,
        &[
            "import",
            "--store",
            store.to_str().unwrap(),
            "--operator",
            "tester",
            "--token-file",
            token.to_str().unwrap(),
            "--device",
            serial,
            "--key-sha256",
            &hex,
            kept.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("imported 0 new, 1 already stored"),
        "{}",
        text(&o)
    );

    // A renewal keeps the key: a batch acknowledged before it and sent
    // again after it is stored once.
    spool_batch(&u, serial, "plant-r", 900);
    let resend = std::fs::read(u.join(format!("spool/{:020}.osb", 900))).unwrap();
    ship(&agent, &cfg, "before the renewal");
    s.ok(&["renew", serial, "--device-dir", dir, "--force"]);
    assert_eq!(unit_key(&u), key_2);
    std::fs::write(u.join(format!("spool/{:020}.osb", 900)), &resend).unwrap();
    ship(&agent, &cfg, "after the renewal");
    assert!(unsent(&u).is_empty());
    let log = server.log();
    assert!(
        log.contains(&format!("device {serial} batch 900 already stored")),
        "{log}"
    );
    let once = stored(&store, serial)
        .iter()
        .filter(|b| b.key_sha256 == key_2 && b.seq == 900)
        .count();
    assert_eq!(once, 1);
    drop(server);
}

/// The self-test can be run again: after `assign` (its batch now names the
/// site), and after the unit was wiped and provisioned again.
#[test]
#[ignore = "needs the osect-collector and osect-agent binaries; run by ci/stages/40-provisioning.sh"]
fn self_tests_repeat_after_assign_and_after_provisioning_again() {
    let collector = binary("OSECT_COLLECTOR_BIN", "osect-collector");
    let agent = binary("OSECT_AGENT_BIN", "osect-agent");
    let Core {
        server,
        station: s,
        store,
        endpoint,
        work: _work,
    } = Core::start(&collector, Some(&agent));
    let serial = "OSD-000086";
    let m = script_modem(&s, Script::Normal, 86);
    let u = s.unit("unit-t");
    let dir = u.to_str().unwrap();
    let cfg = u.join("config/agent.toml");
    let factory = || {
        let out = s.ok(&[
            "factory",
            "--serial",
            serial,
            "--device-dir",
            dir,
            "--modem",
            m.tty().to_str().unwrap(),
        ]);
        assert!(out.contains("self-test passed"), "{out}");
    };
    let selftest = || {
        let o = run(&agent, &["selftest", "--config", cfg.to_str().unwrap()]);
        assert!(o.status.success(), "self-test again: {}", text(&o));
    };
    factory();
    let key_1 = unit_key(&u);
    // The same test batch again: already stored.
    selftest();
    s.ok(&[
        "site",
        "add",
        "--site",
        "plant-t",
        "--interface",
        "eth1",
        "--endpoint",
        &endpoint,
    ]);
    s.ok(&["assign", serial, "--site", "plant-t", "--device-dir", dir]);
    // Now it names the site: it takes the earlier test's place.
    selftest();
    let log = server.log();
    assert!(
        log.contains(&format!("device {serial} batch 0 already stored")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "device {serial} self-test batch stored in place of the previous one"
        )),
        "{log}"
    );
    s.ok(&["receive-return", serial, "--device-dir", dir]);
    m.insert_sim("89882390000000000186", "901280000000186");
    factory();
    let tests: Vec<(bool, u64, String)> = stored(&store, serial)
        .into_iter()
        .map(|b| (b.key_sha256 == key_1, b.seq, b.site))
        .collect();
    assert_eq!(
        tests,
        vec![(true, 0, "plant-t".to_string()), (false, 0, String::new())]
    );
    drop(server);
}

/// Termination (art. 25) with the real collector: one customer's stored
/// batches are deleted and the deletion proven by the collector's residue
/// count, while another customer's batches stay. A collector without the
/// `residue` command leaves the deletion done but unproven, and the command
/// says so.
#[test]
#[ignore = "needs the osect-collector binary; run by ci/stages/40-provisioning.sh"]
fn terminating_a_customer_deletes_its_data_and_leaves_the_others() {
    let collector = binary("OSECT_COLLECTOR_BIN", "osect-collector");
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let token = work.path().join("operator.token");
    let s = Station::with(Options {
        collector: collector.display().to_string(),
        collector_store: store.clone(),
        token_file: token.clone(),
        ..Options::default()
    });
    let o = run(
        &collector,
        &[
            "operator-add",
            "--store",
            store.to_str().unwrap(),
            "--name",
            "tester",
            "--token-out",
            token.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "operator-add: {}", text(&o));
    let fleet = s.path("fleet.txt");
    let fl = ["--fleet-list", fleet.to_str().unwrap()];
    let key = "ab".repeat(32);
    for (customer, site, serial) in [
        ("acme", "north", "OSD-000101"),
        ("zenith", "south", "OSD-000102"),
    ] {
        s.site(site, "core.invalid:4433");
        s.customer(customer, &[site]);
        s.bound_unit(serial, site);
        let mut args = fl.to_vec();
        args.extend([
            "contract",
            "add",
            "--customer",
            customer,
            "--site",
            site,
            "--applied",
            "2025-01-06",
            "--opening",
            "2025-02-03",
            "--device",
            serial,
        ]);
        s.ok(&args);
        let unit = s.unit(serial);
        std::fs::create_dir_all(unit.join("spool")).unwrap();
        for seq in [1, 2] {
            spool_batch(&unit, serial, site, seq);
        }
        let files: Vec<String> = unsent(&unit)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut args = vec![
            "import",
            "--store",
            store.to_str().unwrap(),
            "--operator",
            "tester",
            "--token-file",
            token.to_str().unwrap(),
            "--device",
            serial,
            "--key-sha256",
            &key,
        ];
        args.extend(files.iter().map(String::as_str));
        let o = run(&collector, &args);
        assert!(o.status.success(), "import: {}", text(&o));
        assert_eq!(stored(&store, serial).len(), 2);
    }
    for id in ["1", "2"] {
        for (event, on) in [
            ("accept", "2025-01-07"),
            ("ship", "2025-01-08"),
            ("deliver", "2025-01-09"),
            ("open", "2025-02-03"),
        ] {
            s.ok(&["contract", "record", id, event, "--on", on]);
        }
    }
    let mut args = fl.to_vec();
    args.extend([
        "terminate",
        "1",
        "--by",
        "customer",
        "--reason",
        "plant closed",
        "--notice",
        "2025-02-28",
        "--on",
        "2025-03-31",
    ]);
    s.ok(&args);
    assert_eq!(
        std::fs::read_to_string(&fleet)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        ["OSD-000102\tsouth\tzenith\tactive"]
    );
    let has_residue = run(&collector, &["residue", "--help"]).status.success();
    let o = s.run(&["deletions", "--run", "--today", "2025-04-01"]);
    let out = text(&o);
    if has_residue {
        assert!(o.status.success(), "{out}");
        assert!(
            out.contains("site north (acme): deleted, nothing left in the store"),
            "{out}"
        );
        let d = s.ok(&["--json", "deletions"]);
        assert!(d.contains("\"residue_rows\": 0"), "{d}");
    } else {
        // Only the proof is missing: the deletion itself ran.
        assert!(!o.status.success());
        assert!(
            out.contains("NOT PROVEN: the collector has no residue command"),
            "{out}"
        );
    }
    assert!(stored(&store, "OSD-000101").is_empty());
    assert_eq!(stored(&store, "OSD-000102").len(), 2);
}

/// Suspension (art. 15-17) with the real collector and agent: the fleet list
/// marks the unit suspended, the collector refuses its batches with the
/// reason and they stay in the unit's spool; after resumption they arrive.
#[test]
#[ignore = "needs the osect-collector and osect-agent binaries; run by ci/stages/40-provisioning.sh"]
fn a_suspended_unit_keeps_its_batches_until_resumed() {
    let collector = binary("OSECT_COLLECTOR_BIN", "osect-collector");
    let agent = binary("OSECT_AGENT_BIN", "osect-agent");
    let lists = tempfile::tempdir().unwrap();
    let fleet = lists.path().join("fleet.txt");
    std::fs::write(&fleet, "# no device yet\n").unwrap();
    let fleet_arg = fleet.to_str().unwrap();
    let Core {
        server,
        station: s,
        store,
        endpoint,
        work: _work,
    } = Core::start_with(&collector, Some(&agent), &["--fleet-list", fleet_arg]);
    let with_list = |args: &[&str]| {
        let mut a = vec!["--fleet-list", fleet_arg];
        a.extend_from_slice(args);
        s.ok(&a)
    };
    let m = script_modem(&s, Script::Normal, 91);
    let unit = s.unit("unit-s");
    let serial = "OSD-000091";
    s.factory(serial, &unit, &m.tty());
    s.site("plant-s", &endpoint);
    s.customer("acme", &["plant-s"]);
    with_list(&[
        "assign",
        serial,
        "--site",
        "plant-s",
        "--device-dir",
        unit.to_str().unwrap(),
    ]);
    with_list(&[
        "contract",
        "add",
        "--customer",
        "acme",
        "--site",
        "plant-s",
        "--applied",
        "2025-01-06",
        "--opening",
        "2025-02-03",
        "--device",
        serial,
    ]);
    for (event, on) in [
        ("accept", "2025-01-07"),
        ("ship", "2025-01-08"),
        ("deliver", "2025-01-09"),
    ] {
        with_list(&["contract", "record", "1", event, "--on", on]);
    }
    // A change is in force once the collector has re-read the list after it.
    let reloads = || server.log().matches("reloaded fleet list").count();
    let changed = |args: &[&str]| {
        let n = reloads();
        with_list(args);
        let t0 = Instant::now();
        while reloads() == n {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "the collector did not re-read the fleet list after {args:?}:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    with_list(&["contract", "record", "1", "open", "--on", "2025-02-03"]);
    let log = server.log_once(|l| l.contains("reloaded fleet list") && l.contains("(1 devices)"));
    assert!(
        log.contains("(1 devices)"),
        "the unit never reached the collector's list:\n{log}"
    );
    let cfg = unit.join("config/agent.toml");
    ship(&agent, &cfg, "before the suspension");
    let before = stored(&store, serial).len();
    assert!(before > 0, "nothing stored before the suspension");
    assert!(unsent(&unit).is_empty());

    changed(&[
        "suspend",
        "1",
        "--reason",
        "unpaid fees",
        "--on",
        "2025-03-01",
    ]);
    let o = run(
        &agent,
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--pcap",
            corpus_pcap().to_str().unwrap(),
        ],
    );
    let held = unsent(&unit).len();
    assert!(held > 0, "no batch held while suspended: {}", text(&o));
    assert_eq!(stored(&store, serial).len(), before);
    let log = server.log_once(|l| l.contains("suspended"));
    assert!(log.contains(&format!("device {serial} suspended")), "{log}");

    changed(&["resume", "1", "--on", "2025-03-10"]);
    ship(&agent, &cfg, "after the resumption");
    assert!(
        unsent(&unit).is_empty(),
        "batches still held after the resumption"
    );
    assert!(stored(&store, serial).len() >= before + held);
    drop(server);
}
