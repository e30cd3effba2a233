//! The analysis end to end with real processes: `osect-agent run` on days
//! of the traffic generator's plant, sending 60 s batches over QUIC with
//! mutual TLS to `osect-collector serve`, which stores and analyses them in
//! a real SQLite store.
//!
//! - Day 0 is learned; day 1, the same plant on another day, gives no
//!   alert; day 2 carries nine injected events, and each gives exactly one
//!   alert of its kind, with the records that show it.
//! - `kill -9` of the collector while it stores and analyses day 2: after a
//!   restart no alert is lost or doubled, the webhook receives every alert,
//!   and the ledger equals the one `reanalyse` builds from the same batches.

use osect_collector::ledger::AlertFilter;
use osect_collector::store::Store;
use osect_testkit::pki;
use osect_testkit::procs::{bin, free_udp_port, wait_for, Proc};
use osect_trafficgen::day::{plant_day, Event};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SITE: &str = "plant-a";
const SECONDS: u64 = 1200;

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

    fn collector_cmd(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new(bin("osect-collector", "osect-collector"))
            .args(args)
            .arg("--store")
            .arg(self.path("store"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "osect-collector {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn collector(&self, port: u16, notify: Option<&Path>) -> Proc {
        let log = self.path("collector.log");
        let start = std::fs::read_to_string(&log).map_or(0, |s| s.matches("listening on").count());
        let mut c = Command::new(bin("osect-collector", "osect-collector"));
        c.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
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
            .env("RUST_LOG", "info");
        if let Some(n) = notify {
            c.arg("--notify").arg(n);
        }
        let p = Proc::spawn("collector", &mut c, &log);
        wait_for("collector listening", Duration::from_secs(30), || {
            std::fs::read_to_string(&log)
                .ok()
                .filter(|l| l.matches("listening on").count() > start)
        });
        p
    }

    fn agent_config(&self, port: u16) -> PathBuf {
        let id = self.pki.identity("OSS-0001");
        let data = self.path("data");
        let text = format!(
            "[device]\nid = \"OSS-0001\"\nsite = \"{SITE}\"\ndata_dir = \"{data}\"\n\
             [batch]\ninterval_secs = 60\n[spool]\ndir = \"{data}/spool\"\n\
             [uplink]\nenabled = true\nendpoint = \"127.0.0.1:{port}\"\nserver_name = \"{}\"\n\
             ca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\nbackoff_min_ms = 100\nbackoff_max_ms = 1000\nkeepalive_secs = 2\n",
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

    /// Runs the agent over one day's capture until its spool is drained.
    fn run_day(&self, cfg: &Path, day: u64, events: &[Event]) -> u64 {
        let pcap = self.path(&format!("day{day}.pcap"));
        std::fs::write(&pcap, plant_day(day, SECONDS, 1, events).to_pcap()).unwrap();
        let out = Command::new(bin("osect-agent", "osect-agent"))
            .arg("run")
            .arg("--config")
            .arg(cfg)
            .arg("--pcap")
            .arg(&pcap)
            .args(["--speed", "max", "--drain-secs", "120"])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "agent: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.batches()
    }

    fn batches(&self) -> u64 {
        let db = rusqlite::Connection::open(self.path("store").join("collector.sqlite")).unwrap();
        db.query_row("SELECT COUNT(*) FROM batches", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64
    }

    /// Waits until the collector has analysed every stored batch.
    fn analysed(&self) {
        wait_for("every batch analysed", Duration::from_secs(60), || {
            let db =
                rusqlite::Connection::open(self.path("store").join("collector.sqlite")).ok()?;
            let left: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM batches b WHERE NOT EXISTS (SELECT 1 FROM analysed a
                       WHERE a.device = b.device AND a.key_sha256 = b.key_sha256 AND a.seq = b.seq)",
                    [],
                    |r| r.get(0),
                )
                .ok()?;
            (left == 0).then_some(())
        });
    }

    fn alerts(&self) -> Vec<osect_analysis::Alert> {
        let store = Store::open(&self.path("store")).unwrap();
        let mut v = store.alerts(Some(SITE), &AlertFilter::default()).unwrap();
        v.sort_by_key(|a| a.id);
        v
    }

    fn setup_site(&self) {
        // Learning covers day 0; zones: the plant's control network and the
        // office, which may not talk to each other.
        let days = format!("{}", (SECONDS + 60) as f64 / 86_400.0);
        self.collector_cmd(&["baseline", "--site", SITE, "--learning-days", &days]);
        self.collector_cmd(&[
            "zones",
            "--site",
            SITE,
            "--set",
            "control",
            "--subnet",
            "192.168.10.0/24",
        ]);
        self.collector_cmd(&[
            "zones",
            "--site",
            SITE,
            "--set",
            "office",
            "--subnet",
            "192.168.20.0/24",
        ]);
    }

    /// Devices, pairs and operations as stored, for comparing two ledgers.
    fn ledger(&self) -> BTreeMap<String, String> {
        let db = rusqlite::Connection::open(self.path("store").join("collector.sqlite")).unwrap();
        let mut out = BTreeMap::new();
        for t in ["ledger_devices", "ledger_pairs", "ledger_operations"] {
            let mut q = db
                .prepare(&format!("SELECT key, data FROM {t} WHERE site = ?1"))
                .unwrap();
            for r in q
                .query_map([SITE], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .unwrap()
            {
                let (k, d) = r.unwrap();
                out.insert(format!("{t}/{k}"), d);
            }
        }
        out
    }
}

/// What an event must give: its alert kind, a detail that must match, and
/// an address or MAC among the alert's devices or details.
fn expected(
    e: Event,
) -> (
    &'static str,
    Option<(&'static str, &'static str)>,
    &'static str,
) {
    match e {
        Event::NewPlc => ("new_device", None, "00:30:de:01:00:70"),
        Event::NewPair => ("new_pair", None, "00:00:0a:01:00:69"),
        Event::S7Stop => (
            "controller_change",
            Some(("control", "stop")),
            "00:1b:1b:01:00:66",
        ),
        Event::SlmpStop => (
            "controller_change",
            Some(("control", "stop")),
            "38:e0:8e:01:00:68",
        ),
        Event::ModbusWriteRange => ("new_write_range", None, "00:80:f4:01:00:65"),
        Event::FinsWrite => (
            "controller_change",
            Some(("control", "memory_write")),
            "00:00:0a:01:00:69",
        ),
        Event::ArpSpoof => (
            "arp_spoof",
            Some(("ip", "192.168.10.101")),
            "00:80:f4:01:00:65",
        ),
        Event::FirmwareChange => (
            "identity_change",
            Some(("attribute", "firmware")),
            "00:00:bc:01:00:67",
        ),
        Event::CrossZone => (
            "cross_zone",
            Some(("from_zone", "office")),
            "00:80:f4:01:00:65",
        ),
    }
}

fn matches(a: &osect_analysis::Alert, e: Event) -> bool {
    let (kind, detail, who) = expected(e);
    a.kind.as_str() == kind
        && detail.is_none_or(|(k, v)| a.detail.get(k).map(String::as_str) == Some(v))
        && (a.devices.iter().any(|d| d.0.contains(who))
            || a.detail.values().any(|v| v.contains(who)))
}

fn per_kind(alerts: &[osect_analysis::Alert]) -> String {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for a in alerts {
        *m.entry(a.kind.as_str()).or_default() += 1;
    }
    m.iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn learn_a_day_then_a_clean_day_is_quiet_and_each_event_alerts_once() {
    let env = Env::new();
    let port = free_udp_port();
    let _col = env.collector(port, None);
    env.setup_site();
    let cfg = env.agent_config(port);

    env.run_day(&cfg, 0, &[]);
    env.analysed();
    let learned = env.alerts();
    println!(
        "day 0 (learning): {} alerts {}",
        learned.len(),
        per_kind(&learned)
    );
    assert!(learned.is_empty(), "learning raised alerts: {learned:#?}");

    env.run_day(&cfg, 1, &[]);
    env.analysed();
    let clean = env.alerts();
    println!(
        "day 1 (clean): {} false alerts {}",
        clean.len(),
        per_kind(&clean)
    );
    assert!(clean.is_empty(), "a clean day raised alerts: {clean:#?}");

    env.run_day(&cfg, 2, &Event::ALL);
    env.analysed();
    let alerts = env.alerts();
    println!(
        "day 2 (nine events): {} alerts {}",
        alerts.len(),
        per_kind(&alerts)
    );
    for a in &alerts {
        println!(
            "  {} {} {:?} {}",
            a.id,
            a.kind.as_str(),
            a.severity,
            a.title
        );
    }
    for e in Event::ALL {
        let hits: Vec<_> = alerts.iter().filter(|a| matches(a, e)).collect();
        assert_eq!(
            hits.len(),
            1,
            "event {}: {} alerts of its kind: {hits:#?}",
            e.name(),
            hits.len()
        );
        let a = hits[0];
        assert!(!a.evidence.is_empty(), "event {}: no evidence", e.name());
        let start = osect_trafficgen::day::day_start(2);
        assert!(
            a.first_seen >= start && a.first_seen < start + SECONDS as i64 * 1_000_000,
            "event {}: alert time {} is not the record's time",
            e.name(),
            a.first_seen
        );
    }
}

/// (delivery id, alert id) of each POST the webhook received.
type Received = Arc<Mutex<Vec<(String, i64)>>>;

/// A webhook receiver on loopback.
fn webhook() -> (u16, Received) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let (mut len, mut id) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-osect-delivery") {
                    id = line
                        .split_once(':')
                        .map(|(_, v)| v.trim().to_owned())
                        .unwrap_or_default();
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let alert = v
                .pointer("/alert_id")
                .or(v.pointer("/alert/id"))
                .or(v.pointer("/payload/id"))
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(-1);
            g.lock().unwrap().push((id, alert));
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, got)
}

#[test]
fn kill_9_while_analysing_loses_and_doubles_nothing() {
    let env = Env::new();
    let (hook_port, got) = webhook();
    std::fs::write(env.path("secret"), "s3cret-for-tests\n").unwrap();
    let notify = env.path("notify.toml");
    std::fs::write(
        &notify,
        format!(
            "[[webhook]]\nname = \"test\"\nurl = \"http://127.0.0.1:{hook_port}/alerts\"\nsecret_file = \"{}\"\n[delivery]\ninitial_backoff_ms = 100\nmax_backoff_ms = 1000\npoll_ms = 200\n",
            env.path("secret").display()
        ),
    )
    .unwrap();
    let port = free_udp_port();
    let mut col = env.collector(port, Some(&notify));
    env.setup_site();
    let cfg = env.agent_config(port);
    env.run_day(&cfg, 0, &[]);
    env.analysed();

    // Day 2's batches arrive while the collector is killed twice.
    let pcap = env.path("day2.pcap");
    std::fs::write(&pcap, plant_day(2, SECONDS, 1, &Event::ALL).to_pcap()).unwrap();
    let mut agent = Proc::spawn(
        "agent",
        Command::new(bin("osect-agent", "osect-agent"))
            .arg("run")
            .arg("--config")
            .arg(&cfg)
            .arg("--pcap")
            .arg(&pcap)
            .args(["--speed", "max", "--drain-secs", "120"])
            .env("RUST_LOG", "warn"),
        &env.path("agent.log"),
    );
    let before = env.batches();
    for _ in 0..2 {
        wait_for("some of day 2 stored", Duration::from_secs(60), || {
            (env.batches() > before + 3).then_some(())
        });
        col.kill9();
        std::thread::sleep(Duration::from_millis(300));
        col = env.collector(port, Some(&notify));
    }
    let st = agent.child.wait().unwrap();
    assert!(st.success(), "agent failed");
    env.analysed();
    let alerts = env.alerts();
    println!(
        "after two kill -9: {} alerts {}",
        alerts.len(),
        per_kind(&alerts)
    );
    for e in Event::ALL {
        let n = alerts.iter().filter(|a| matches(a, e)).count();
        assert_eq!(n, 1, "event {}: {n} alerts", e.name());
    }
    // Every alert reaches the webhook; a repeat can only be the same
    // delivery again (at least once), never a second notification.
    wait_for("webhook deliveries", Duration::from_secs(60), || {
        let g = got.lock().unwrap();
        let ids: std::collections::BTreeSet<i64> = g.iter().map(|(_, a)| *a).collect();
        (ids.len() >= alerts.len()).then_some(())
    });
    let g = got.lock().unwrap().clone();
    let mut per_alert: BTreeMap<i64, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (d, a) in &g {
        per_alert.entry(*a).or_default().insert(d.clone());
    }
    println!(
        "webhook: {} requests for {} alerts",
        g.len(),
        per_alert.len()
    );
    for a in &alerts {
        let d = per_alert.get(&(a.id as i64)).map_or(0, |s| s.len());
        assert_eq!(d, 1, "alert {}: {d} distinct notifications", a.id);
    }
    assert_eq!(per_alert.len(), alerts.len());

    let ledger = env.ledger();
    drop(col);
    env.collector_cmd(&["reanalyse", "--site", SITE]);
    let again = env.ledger();
    assert_eq!(ledger.len(), again.len());
    for (k, v) in &ledger {
        assert_eq!(Some(v), again.get(k), "{k} differs after reanalyse");
    }
    // Alert numbers follow the order batches arrived in, and so may how
    // many repeats fold into a window-based alert (ARP); what the alerts
    // say and when it happened do not.
    let what = |v: Vec<osect_analysis::Alert>| {
        let mut w: Vec<_> = v
            .into_iter()
            .map(|a| (a.kind, a.item, a.first_seen))
            .collect();
        w.sort();
        w
    };
    assert_eq!(what(env.alerts()), what(alerts));
}
