//! Running the project's binaries as real processes in tests.

use crate::pki;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary `name` of workspace package `package`, built with the same
/// profile as the running test (built now if `cargo test` did not already).
pub fn bin(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable in target/<profile>/deps")
        .to_owned();
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut c = Command::new(cargo);
        c.args(["build", "-q", "-p", package, "--bin", name]);
        if dir.file_name().is_some_and(|n| n == "release") {
            c.arg("--release");
        }
        let st = c.status().expect("running cargo build");
        assert!(st.success(), "cargo build -p {package} --bin {name} failed");
    }
    assert!(path.exists(), "{} not found", path.display());
    path
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves
/// nothing running.
pub struct Proc {
    pub name: String,
    pub child: Child,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Proc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        Proc {
            name: name.to_owned(),
            child,
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait up to `timeout` for a clean exit.
    pub fn term(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `timeout`
/// with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free UDP port on 127.0.0.1 (bound then released).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// An `osect-collector serve` on a free loopback port: its store and log
/// in the work folder it was started with.
pub struct Collector {
    pub proc: Proc,
    pub store: PathBuf,
    pub log: PathBuf,
    pub port: u16,
}

impl Collector {
    /// Starts the collector with `pki`'s server certificate, device CA and
    /// revocation list `crl` (a file name in the PKI folder), then `extra`
    /// arguments; returns once it listens.
    pub fn start(pki: &pki::Files, work: &Path, crl: &str, extra: &[&str]) -> Collector {
        let port = free_udp_port();
        let store = work.join("store");
        let log = work.join("collector.log");
        let proc = Proc::spawn(
            "collector",
            Command::new(bin("osect-collector", "osect-collector"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .arg("--store")
                .arg(&store)
                .arg("--cert")
                .arg(pki.path("server.crt"))
                .arg("--key")
                .arg(pki.path("server.key"))
                .arg("--client-ca")
                .arg(pki.path("client-ca.pem"))
                .arg("--crl")
                .arg(pki.path(crl))
                .args(extra)
                .env("RUST_LOG", "info"),
            &log,
        );
        let c = Collector {
            proc,
            store,
            log,
            port,
        };
        c.wait_log("listening on");
        c
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to 20 s for `what` in the collector's log.
    pub fn wait_log(&self, what: &str) {
        wait_for(what, Duration::from_secs(20), || {
            self.log_text().contains(what).then_some(())
        });
    }
}
