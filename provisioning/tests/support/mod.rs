//! A throw-away provisioning station for tests: PKI, registry and station
//! config in a temp dir, simulated modems publishing their ttys in `ttys/`,
//! and the real `osect-provision` binary.
#![allow(dead_code)]

use osect_provision::modem_sim::{ModemSim, Profile, Script};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Station {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

pub struct Options {
    pub pin: &'static str,
    pub collector: String,
    pub collector_store: PathBuf,
    pub token_file: PathBuf,
    pub agent: String,
    pub agent_user: &'static str,
    pub selftest_endpoint: String,
    pub core_endpoint: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pin: "",
            collector: "/nonexistent/osect-collector".into(),
            collector_store: PathBuf::from("/nonexistent/store"),
            token_file: PathBuf::new(),
            agent: "/nonexistent/osect-agent".into(),
            agent_user: "",
            selftest_endpoint: String::new(),
            core_endpoint: "core.invalid:4433".into(),
        }
    }
}

impl Station {
    pub fn new() -> Station {
        Station::with(Options::default())
    }

    pub fn with(o: Options) -> Station {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir(p.join("ttys")).unwrap();
        let config = p.join("station.toml");
        std::fs::write(
            &config,
            format!(
                r#"registry = "{reg}"
pki = "{pki}"

[core]
endpoint = "{core}"
server_name = "collector.osect"

[selftest]
agent = "{agent}"
endpoint = "{st}"
timeout_secs = 30

[collector]
command = "{collector}"
store = "{store}"
token_file = "{token}"
timeout_secs = 60

[certificates]
validity_days = 365
renew_before_days = 30
crl_valid_hours = 24

[modem]
candidates = ["{ttys}/ttyUSB*"]
command_timeout_ms = 2500
reappear_timeout_secs = 5
registration_timeout_secs = 2
require_registration = true
pin = "{pin}"

[modem.apn]
apn = "iot.osect.test"
auth = "chap"
user = "sensor"
password = "pw"

[device]
agent_user = "{agent_user}"
"#,
                reg = p.join("registry.sqlite").display(),
                pki = p.join("pki").display(),
                core = o.core_endpoint,
                agent = o.agent,
                st = o.selftest_endpoint,
                collector = o.collector,
                store = o.collector_store.display(),
                token = o.token_file.display(),
                ttys = p.join("ttys").display(),
                pin = o.pin,
                agent_user = o.agent_user,
            ),
        )
        .unwrap();
        let s = Station { dir, config };
        s.ok(&["pki", "init"]);
        s.ok(&["registry", "init"]);
        s
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn ttys(&self) -> PathBuf {
        self.path("ttys")
    }

    pub fn modem(&self, script: Script, imei: &str, iccid: &str, imsi: &str) -> ModemSim {
        self.modem_with(Profile::new(script, imei, iccid, imsi))
    }

    pub fn modem_with(&self, p: Profile) -> ModemSim {
        ModemSim::start(p, &self.ttys()).unwrap()
    }

    /// A fresh, empty unit data directory.
    pub fn unit(&self, name: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_osect-provision"))
            .arg("--config")
            .arg(&self.config)
            .arg("--operator")
            .arg("tester")
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }

    /// `factory` without the self-test.
    pub fn factory(&self, serial: &str, unit: &Path, tty: &Path) -> String {
        self.ok(&[
            "factory",
            "--serial",
            serial,
            "--device-dir",
            unit.to_str().unwrap(),
            "--modem",
            tty.to_str().unwrap(),
            "--no-selftest",
        ])
    }

    /// A site on interface eth1 sending to `endpoint`.
    pub fn site(&self, site: &str, endpoint: &str) {
        self.ok(&[
            "site",
            "add",
            "--site",
            site,
            "--interface",
            "eth1",
            "--batch-interval",
            "10",
            "--endpoint",
            endpoint,
        ]);
    }

    /// A customer owning `sites`, with placeholder contacts.
    pub fn customer(&self, id: &str, sites: &[&str]) {
        let mut a = vec![
            "customer",
            "add",
            id,
            "--name",
            "株式会社テスト",
            "--billing-contact",
            "経理部 billing@example.jp",
            "--delivery-contact",
            "工場 保全課 03-0000-0000",
            "--delivery-address",
            "東京都千代田区1-1",
        ];
        for s in sites {
            a.extend_from_slice(&["--site", s]);
        }
        self.ok(&a);
    }

    /// A provisioned unit bound to a site in the registry, as `factory` and
    /// `assign` leave it (without a unit directory).
    pub fn bound_unit(&self, serial: &str, site: &str) {
        use osect_provision::registry::{DeviceState, Registry};
        let mut r = Registry::open(&self.path("registry.sqlite")).unwrap();
        let tx = r.begin("tester").unwrap();
        tx.add_stock(serial).unwrap();
        tx.set_state(serial, DeviceState::Provisioned).unwrap();
        tx.bind(serial, site).unwrap();
        tx.commit().unwrap();
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{args:?} failed:\n{out}\n{err}");
        out
    }

    /// Runs a command that must fail; returns its error output.
    pub fn fail(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(
            !o.status.success(),
            "{args:?} succeeded:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
        err
    }

    /// Everything the registry holds, as text, for "nothing changed" checks.
    pub fn registry_dump(&self) -> String {
        let c = rusqlite::Connection::open(self.path("registry.sqlite")).unwrap();
        let mut out = String::new();
        for t in [
            "sites",
            "devices",
            "certificates",
            "revocations",
            "assignments",
            "sims",
            "modems",
            "audit",
            "meta",
            "customers",
            "customer_sites",
            "contracts",
            "contract_events",
            "prices",
            "tax_rates",
            "invoices",
            "invoice_lines",
            "charges",
            "payments",
            "deletions",
        ] {
            let mut st = c
                .prepare(&format!("SELECT * FROM {t} ORDER BY rowid"))
                .unwrap();
            let n = st.column_count();
            let rows = st
                .query_map([], |r| {
                    let mut line = String::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        line.push_str(&format!("{v:?}|"));
                    }
                    Ok(line)
                })
                .unwrap();
            for r in rows {
                out.push_str(&format!("{t}: {}\n", r.unwrap()));
            }
        }
        out
    }

    /// Registry, PKI and the given unit directories, file by file (with hashes).
    pub fn snapshot(&self, units: &[&Path]) -> String {
        let mut out = self.registry_dump();
        let mut dirs = vec![self.path("pki")];
        dirs.extend(units.iter().map(|u| u.to_path_buf()));
        for d in dirs {
            out.push_str(&tree(&d));
        }
        out
    }
}

/// Every file under `dir` with its mode and content hash.
pub fn tree(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut lines = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let m = std::fs::metadata(&p).unwrap();
            if m.is_dir() {
                lines.push(format!(
                    "{} dir {:o}",
                    p.display(),
                    m.permissions().mode() & 0o7777
                ));
                stack.push(p);
            } else {
                let h = Sha256::digest(std::fs::read(&p).unwrap());
                lines.push(format!(
                    "{} {:o} {:x}",
                    p.display(),
                    m.permissions().mode() & 0o7777,
                    h
                ));
            }
        }
    }
    lines.sort();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// The device row's state and site as shown by `registry devices`.
pub fn device_line(s: &Station, serial: &str) -> String {
    s.ok(&["registry", "devices"])
        .lines()
        .find(|l| l.starts_with(serial))
        .unwrap_or_else(|| panic!("{serial} not listed"))
        .to_string()
}

pub fn script_modem(s: &Station, script: Script, n: u32) -> ModemSim {
    s.modem(
        script,
        &format!("86769804{n:07}"),
        &format!("8988239000{n:010}"),
        &format!("90128{n:010}"),
    )
}
