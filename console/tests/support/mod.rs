//! A real console on a loopback port over a real store: sensors of two
//! customers' sites (one announcing hostile strings), users of each kind,
//! and helpers to log in.
#![allow(dead_code)] // each test binary uses a part of it

use osect_collector::store::{now_us, Store};
use osect_console::auth;
use osect_console::db::{ConsoleDb, Lang, Role};
use osect_console::web::{App, Config};
use osect_wire::batch::{self, Batch, Header, Health};
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

fn frame(device: &str, site: &str, seq: u64, agent_version: &str, received_ago_s: i64) -> Vec<u8> {
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
        records: Vec::new(),
    };
    batch::encode(&b, 3, None).unwrap()
}

/// Stores a batch as the collector would, received `received_ago_s` ago.
pub fn put(store: &mut Store, device: &str, site: &str, seq: u64, version: &str, ago_s: i64) {
    let data = frame(device, site, seq, version, ago_s);
    let info = batch::read_frame_info(&data).unwrap();
    store
        .insert(
            &info,
            &[7; 32],
            &data,
            now_us() - ago_s * 1_000_000,
            "uplink",
        )
        .unwrap();
}

/// Sites: `plant-a` (customer acme: SN-A1, and SN-EVIL with a hostile agent
/// version, silent for an hour) and `plant-b` (customer globex: SN-B1, and
/// SN-MOVED, whose header claims plant-a but the registry lists in plant-b).
/// Users: `op` (operator), `alice` (acme), `bob` (globex), all with [`PASSWORD`].
pub fn populate(dir: &Path) -> PathBuf {
    let mut store = Store::open(dir).unwrap();
    put(&mut store, "SN-A1", "plant-a", 1, "0.1.0", 30);
    put(&mut store, "SN-A1", "plant-a", 2, "0.1.0", 10);
    put(&mut store, "SN-EVIL", "plant-a", 1, HOSTILE_VERSION, 3600);
    put(&mut store, "SN-B1", "plant-b", 1, "0.1.0", 20);
    put(&mut store, "SN-MOVED", "plant-a", 1, "0.1.0", 20);
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
        ("bob", Role::Customer("globex".into())),
    ] {
        db.add_user(name, &role, &hash, Lang::En, now_us()).unwrap();
    }
    fleet
}

/// Starts a console over a populated store; `tune` adjusts the configuration.
pub async fn start(tune: impl FnOnce(&mut Config)) -> Console {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = tempfile::tempdir().unwrap();
    let fleet = populate(dir.path());
    let mut cfg = Config::new(dir.path().to_owned());
    cfg.fleet_list = Some(fleet);
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
