//! A real console on a loopback port over a real store: sensors of two
//! customers' sites (one announcing hostile strings), users of each kind,
//! and helpers to log in.
#![allow(dead_code)] // each test binary uses a part of it

pub mod browser;

use osect_collector::analyse::Analyser;
use osect_collector::store::{now_us, Store};
use osect_console::auth;
use osect_console::db::{ConsoleDb, Lang, Role};
use osect_console::web::{App, Config};
use osect_wire::batch::{self, Batch, Header, Health};
use osect_wire::record::{field, FieldType as T, LogSchema, Record, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const PASSWORD: &str = "correct horse battery staple";

/// An agent version a device chose to send: markup and a spreadsheet formula.
pub const HOSTILE_VERSION: &str = "=1+1\"><img src=x onerror=alert(1)><script>alert(2)</script>";

pub struct Console {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Console {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn store(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> ConsoleDb {
        ConsoleDb::open(self.store()).unwrap()
    }

    /// A new API token for a user.
    pub fn token(&self, user: &str) -> String {
        let t = auth::random_hex(32).unwrap();
        self.db()
            .add_token(user, &auth::secret_sha256(&t), "test", now_us())
            .unwrap();
        t
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

/// The fields of the sensor's `conn` and `asset` logs that the analysis reads.
static CONN: LogSchema = LogSchema {
    path: "conn",
    fields: &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("proto", T::Enum),
        field("service", T::String),
        field("duration", T::Interval),
        field("conn_state", T::String),
        field("orig_pkts", T::Count),
        field("orig_ip_bytes", T::Count),
        field("resp_pkts", T::Count),
        field("resp_ip_bytes", T::Count),
        field("orig_l2_addr", T::String),
        field("resp_l2_addr", T::String),
    ],
};
static ASSET: LogSchema = LogSchema {
    path: "asset",
    fields: &[
        field("ts", T::Time),
        field("mac", T::String),
        field("ips", T::SetString),
        field("hostnames", T::SetString),
        field("roles", T::SetString),
        field("vendor", T::String),
        field("firmware", T::String),
        field("first_seen", T::Time),
        field("last_seen", T::Time),
    ],
};

/// Devices of plant-a: (MAC, IP, role, vendor, firmware).
pub const HMI: (&str, &str, &str, &str, &str) =
    ("00:0c:29:00:00:14", "192.168.10.20", "hmi", "VMware", "1.0");
pub const PLC: (&str, &str, &str, &str, &str) = (
    "00:1b:1b:00:00:66",
    "192.168.10.102",
    "plc",
    "Siemens",
    "V4.2",
);
/// A device that joins after the baseline settled and announces markup and
/// a formula as its vendor and firmware.
pub const ROGUE: (&str, &str, &str, &str, &str) = (
    "02:00:00:00:00:99",
    "192.168.10.99",
    "engineering_workstation",
    "<script>alert(3)</script>",
    "=HYPERLINK(\"http://x\")",
);

/// The rogue's host name as it announces it: markup again.
pub const ROGUE_NAME: &str = "\"><img src=x onerror=alert(4)>";

/// An asset row: the device, with `name` as its host name when not empty.
pub fn asset(ts: i64, d: (&str, &str, &str, &str, &str), name: &str) -> Record {
    Record {
        schema: &ASSET,
        values: vec![
            Value::Time(ts),
            Value::from(d.0),
            Value::Strings(vec![d.1.to_owned()]),
            Value::Strings(if name.is_empty() {
                vec![]
            } else {
                vec![name.to_owned()]
            }),
            Value::Strings(vec![d.2.to_owned()]),
            Value::from(d.3),
            Value::from(d.4),
            Value::Time(ts),
            Value::Time(ts),
        ],
    }
}

pub fn conn(
    ts: i64,
    uid: &str,
    a: (&str, &str, &str, &str, &str),
    b: (&str, &str, &str, &str, &str),
    port: u16,
) -> Record {
    Record {
        schema: &CONN,
        values: vec![
            Value::Time(ts),
            Value::from(uid),
            Value::Addr(a.1.parse().unwrap()),
            Value::Port(49152),
            Value::Addr(b.1.parse().unwrap()),
            Value::Port(port),
            Value::from("tcp"),
            Value::from("modbus"),
            Value::Interval(1_000_000),
            Value::from("SF"),
            Value::Count(10),
            Value::Count(600),
            Value::Count(10),
            Value::Count(800),
            Value::from(a.0),
            Value::from(b.0),
        ],
    }
}

fn frame(device: &str, site: &str, seq: u64, agent_version: &str, received_ago_s: i64) -> Vec<u8> {
    frame_with(device, site, seq, agent_version, received_ago_s, Vec::new())
}

pub fn frame_with(
    device: &str,
    site: &str,
    seq: u64,
    agent_version: &str,
    received_ago_s: i64,
    records: Vec<Record>,
) -> Vec<u8> {
    let start = now_us() - received_ago_s * 1_000_000 - 60_000_000;
    let b = Batch {
        header: Header {
            device_id: device.into(),
            site: site.into(),
            seq,
            interval_start_us: start,
            interval_end_us: start + 60_000_000,
            agent_version: agent_version.into(),
            health: Health {
                packets: 99_000,
                kernel_drops: 1_000,
                spool_depth: seq,
                ..Health::default()
            },
            ..Header::default()
        },
        records,
    };
    batch::encode(&b, 3, None).unwrap()
}

pub fn store_frame(store: &mut Store, data: &[u8], ago_s: i64) {
    let info = batch::read_frame_info(data).unwrap();
    store
        .insert(
            &info,
            &info.header.site,
            &[7; 32],
            data,
            now_us() - ago_s * 1_000_000,
            "uplink",
        )
        .unwrap();
}

/// Stores a batch as the collector would, received `received_ago_s` ago.
pub fn put(store: &mut Store, device: &str, site: &str, seq: u64, version: &str, ago_s: i64) {
    store_frame(store, &frame(device, site, seq, version, ago_s), ago_s);
}

/// plant-a's analysis: a minute of learning in which the HMI polls the PLC,
/// then the HMI opens a new port on the PLC (a new pair alert) and the
/// rogue device appears and talks to the PLC (a new device alert).
fn analyse_plant_a(store: &mut Store) {
    store
        .change_site("plant-a", "test", "baseline", |s| {
            s.meta.config.set_learning(60).map_err(|e| e.to_string())
        })
        .unwrap();
    let t1 = now_us() - 1800 * 1_000_000;
    let learn = vec![
        asset(t1, HMI, ""),
        asset(t1, PLC, ""),
        conn(t1 + 1_000_000, "C1", HMI, PLC, 502),
    ];
    store_frame(
        store,
        &frame_with("SN-A1", "plant-a", 10, "0.1.0", 1800, learn),
        1800,
    );
    let t2 = now_us() - 600 * 1_000_000;
    let later = vec![
        conn(t2, "C2", HMI, PLC, 502),
        conn(t2 + 500_000, "C4", HMI, PLC, 503),
        asset(t2, ROGUE, ROGUE_NAME),
        conn(t2 + 1_000_000, "C3", ROGUE, PLC, 502),
    ];
    store_frame(
        store,
        &frame_with("SN-A1", "plant-a", 11, "0.1.0", 600, later),
        600,
    );
    // conn and asset rows need no protocol descriptor.
    let mut a = Analyser::new(osect_analysis::Registry::new(&[]));
    while a.run_pending(store).unwrap() > 0 {}
}

/// Sites: `plant-a` (customer acme: SN-A1, and SN-EVIL with a hostile agent
/// version, silent for an hour) and `plant-b` (customer globex: SN-B1, and
/// SN-MOVED, whose header claims plant-a but the registry lists in plant-b).
/// Users: `op` (operator), `alice` (acme), `carol` (acme's admin), `bob`
/// (globex), all with [`PASSWORD`].
pub fn populate(dir: &Path) -> PathBuf {
    let mut store = Store::open(dir).unwrap();
    put(&mut store, "SN-A1", "plant-a", 1, "0.1.0", 30);
    put(&mut store, "SN-A1", "plant-a", 2, "0.1.0", 10);
    put(&mut store, "SN-EVIL", "plant-a", 1, HOSTILE_VERSION, 3600);
    put(&mut store, "SN-B1", "plant-b", 1, "0.1.0", 20);
    put(&mut store, "SN-MOVED", "plant-a", 1, "0.1.0", 20);
    analyse_plant_a(&mut store);
    let fleet = dir.join("fleet.tsv");
    std::fs::write(
        &fleet,
        "# serial\tsite\tcustomer\tstate\n\
         SN-A1\tplant-a\tacme\tactive\n\
         SN-EVIL\tplant-a\tacme\tactive\n\
         SN-B1\tplant-b\tglobex\tactive\n\
         SN-MOVED\tplant-b\tglobex\tactive\n",
    )
    .unwrap();
    let db = ConsoleDb::open(dir).unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    for (name, role) in [
        ("op", Role::Operator),
        ("alice", Role::Customer("acme".into())),
        ("carol", Role::CustomerAdmin("acme".into())),
        ("bob", Role::Customer("globex".into())),
    ] {
        db.add_user(name, &role, &hash, Lang::En, now_us()).unwrap();
    }
    fleet
}

/// Starts a console over a populated store; `tune` adjusts the configuration.
pub async fn start(tune: impl FnOnce(&mut Config)) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let fleet = populate(dir.path());
    serve(dir, |cfg| {
        cfg.fleet_list = Some(fleet);
        tune(cfg)
    })
    .await
}

/// Starts a console over the store in `dir` (whatever it holds).
pub async fn serve(dir: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> Console {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut cfg = Config::new(dir.path().to_owned());
    tune(&mut cfg);
    let app = App::new(cfg).unwrap();
    let listener = osect_console::server::bind("127.0.0.1:0".parse().unwrap(), None).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        osect_console::server::serve(app, listener, None, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Console {
        addr,
        dir,
        stop: Some(stop),
        task: Some(task),
    }
}

/// The value of the first hidden input named `name` in a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// A page's text with HTML's character references read back.
pub fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A capture run through the real agent (`replay`) into uplink batches,
/// stored for `site` as the collector stores them and analysed; `tune`
/// sets the site's configuration first. Returns the store's directory.
pub fn replay_into_store(
    capture: &osect_trafficgen::pcap::Capture,
    site: &str,
    tune: impl FnOnce(&mut osect_analysis::SiteConfig),
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let batches = work.path().join("batches");
    let config = work.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nid = \"OSS-0001\"\nsite = \"{site}\"\ndata_dir = \"{}\"\n",
            work.path().join("data").display()
        ),
    )
    .unwrap();
    let pcap = work.path().join("capture.pcap");
    std::fs::write(&pcap, capture.to_pcap()).unwrap();
    let out = std::process::Command::new(osect_testkit::procs::bin("osect-agent", "osect-agent"))
        .arg("replay")
        .arg(&pcap)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(work.path().join("logs"))
        .arg("--batch-out")
        .arg(&batches)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut store = Store::open(dir.path()).unwrap();
    store
        .change_site(site, "test", "config", |s| {
            tune(&mut s.meta.config);
            Ok(())
        })
        .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&batches)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the agent wrote no batch");
    for f in files {
        let data = std::fs::read(&f).unwrap();
        let info = batch::read_frame_info(&data).unwrap();
        store
            .insert(
                &info,
                &info.header.site,
                &[7; 32],
                &data,
                now_us(),
                "uplink",
            )
            .unwrap();
    }
    let mut a = Analyser::new(osect_collector::cli::registry());
    while a.run_pending(&mut store).unwrap() > 0 {}
    dir
}

/// Every page of `site` (a URL-encoded name) that needs no parameter, and
/// the overview and sensors.
pub fn site_pages(site: &str) -> Vec<String> {
    let mut pages: Vec<String> = ["/", "/sensors"].map(String::from).to_vec();
    for p in [
        "",
        "/assets",
        "/map",
        "/alerts?state=all",
        "/report",
        "/diff",
        "/settings",
    ] {
        pages.push(format!("/sites/{site}{p}"));
    }
    pages
}
