//! The call points to the other components: the collector's administrative
//! commands (import of a returned unit's spool, deletion of a site's data)
//! and the agent's self-test. The binaries and the store come from the
//! station configuration.

use crate::config;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command with a deadline; returns its standard output, or an error
/// with its standard error when it fails.
fn run(what: &str, cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot run {program}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what}: {program} did not finish within {} s",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("{what}: waiting for {program}: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{what}: {program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last: Vec<&str> = stderr.lines().rev().take(5).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        Err(format!(
            "{what}: {program} failed ({}): {}",
            out.status,
            if last.is_empty() {
                stdout
            } else {
                last.join(" | ")
            }
        ))
    }
}

pub struct CollectorAdmin<'a> {
    pub cfg: &'a config::Collector,
}

impl CollectorAdmin<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs.max(1))
    }

    /// Hands a returned unit's spool files to the collector, authenticated as
    /// the operator. The collector stores each batch once (by device and
    /// sequence), so repeating an import is harmless.
    pub fn import(
        &self,
        operator: &str,
        token_file: &Path,
        serial: &str,
        files: &[PathBuf],
    ) -> Result<String, String> {
        let mut c = Command::new(&self.cfg.command);
        c.arg("import")
            .arg("--store")
            .arg(&self.cfg.store)
            .arg("--operator")
            .arg(operator)
            .arg("--token-file")
            .arg(token_file)
            .arg("--device")
            .arg(serial)
            .args(files);
        run("spool import", &mut c, self.timeout())
    }

    /// Deletes everything the collector stored for a site.
    pub fn delete_site(&self, operator: &str, site: &str) -> Result<String, String> {
        let mut c = Command::new(&self.cfg.command);
        c.arg("delete")
            .arg("--store")
            .arg(&self.cfg.store)
            .arg("--site")
            .arg(site)
            .arg("--by")
            .arg(operator);
        run("site data deletion", &mut c, self.timeout())
    }
}

/// The agent's self-test: connect to the collector, send one small batch and
/// wait for its acknowledgement.
pub fn agent_selftest(cfg: &config::Selftest, agent_config: &Path) -> Result<String, String> {
    let mut c = Command::new(&cfg.agent);
    c.arg("selftest").arg("--config").arg(agent_config);
    run(
        "self-test",
        &mut c,
        Duration::from_secs(cfg.timeout_secs.max(1)),
    )
}
