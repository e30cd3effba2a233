//! The call points to the other components: the collector's administrative
//! commands (import of a returned unit's spool, deletion of a site's data)
//! and the agent's self-test. The binaries and the store come from the
//! station configuration.

use crate::config;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Output kept from a child (the tail; the rest is read and dropped so the
/// child never blocks on a full pipe).
const KEEP_OUTPUT: usize = 64 * 1024;

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * KEEP_OUTPUT {
                kept.drain(..kept.len() - KEEP_OUTPUT);
            }
        }
        kept
    })
}

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
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{what}: {program}: no output pipes"));
    };
    let (out, err) = (drain(out), drain(err));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
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
    };
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default())
        .trim()
        .to_string();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    if status.success() {
        Ok(stdout)
    } else {
        let last: Vec<&str> = stderr.lines().rev().take(5).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        Err(format!(
            "{what}: {program} failed ({status}): {}",
            if last.is_empty() {
                stdout
            } else {
                last.join(" | ")
            }
        ))
    }
}

/// Spool files handed to one `import` run.
const IMPORT_CHUNK: usize = 256;

pub struct CollectorAdmin<'a> {
    pub cfg: &'a config::Collector,
}

impl CollectorAdmin<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs.max(1))
    }

    /// The collector binary: as configured; a bare name not found on PATH
    /// is looked for beside this program.
    fn program(&self) -> PathBuf {
        let c = &self.cfg.command;
        if c.components().count() != 1 {
            return c.clone();
        }
        let on_path = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(c).is_file()));
        let beside = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join(c)))
            .filter(|p| p.is_file());
        match beside {
            Some(b) if !on_path => b,
            _ => c.clone(),
        }
    }

    /// Hands a returned unit's spool files to the collector, authenticated as
    /// the operator, as sent under the key `key_sha256` (hex SHA-256 of the
    /// unit's certificate's SubjectPublicKeyInfo). The collector stores each
    /// batch once (by device, key and sequence), so repeating an import is
    /// harmless.
    pub fn import(
        &self,
        operator: &str,
        token_file: &Path,
        serial: &str,
        key_sha256: &str,
        files: &[PathBuf],
    ) -> Result<String, String> {
        // In chunks, to stay far below the kernel's limit on arguments.
        let mut out = Vec::new();
        for chunk in files.chunks(IMPORT_CHUNK) {
            let mut c = Command::new(self.program());
            c.arg("import")
                .arg("--store")
                .arg(&self.cfg.store)
                .arg("--operator")
                .arg(operator)
                .arg("--token-file")
                .arg(token_file)
                .arg("--device")
                .arg(serial)
                .arg("--key-sha256")
                .arg(key_sha256)
                .args(chunk);
            out.push(run("spool import", &mut c, self.timeout())?);
        }
        Ok(out.join("; "))
    }

    /// Deletes everything the collector stored for a site.
    pub fn delete_site(&self, operator: &str, site: &str) -> Result<String, String> {
        let mut c = Command::new(self.program());
        c.arg("delete")
            .arg("--store")
            .arg(&self.cfg.store)
            .arg("--site")
            .arg(site)
            .arg("--by")
            .arg(operator);
        run("site data deletion", &mut c, self.timeout())
    }

    /// What the collector still holds of a site: `Ok(None)` when this
    /// collector has no `residue` command, else its row count and report
    /// (`{"site": ..., "rows": N, "tables": {...}}`).
    pub fn residue(&self, site: &str) -> Result<Option<(i64, String)>, String> {
        let mut c = Command::new(self.program());
        c.arg("residue")
            .arg("--store")
            .arg(&self.cfg.store)
            .arg("--site")
            .arg(site)
            .arg("--json");
        let out = match run("residue check", &mut c, self.timeout()) {
            Ok(out) => out,
            // clap names an unknown subcommand this way.
            Err(e) if e.contains("unrecognized subcommand") => return Ok(None),
            Err(e) => return Err(e),
        };
        let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| {
            format!("residue check: the collector's answer is not JSON ({e}): {out}")
        })?;
        let (Some(s), Some(rows)) = (
            v.get("site").and_then(|s| s.as_str()),
            v.get("rows").and_then(|r| r.as_i64()),
        ) else {
            return Err(format!(
                "residue check: no site or rows in the collector's answer: {out}"
            ));
        };
        if s != site {
            return Err(format!(
                "residue check: the collector answered for site {s}, not {site}"
            ));
        }
        Ok(Some((rows, out)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_output_does_not_block_and_failures_carry_stderr() {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "head -c 400000 /dev/zero | tr '\\0' x; echo broken >&2; exit 3",
        ]);
        let e = run("probe", &mut c, Duration::from_secs(20)).unwrap_err();
        assert!(e.contains("failed (exit status: 3): broken"), "{e}");
        let mut c = Command::new("sh");
        c.args(["-c", "head -c 400000 /dev/zero | tr '\\0' y >&2; echo done"]);
        assert_eq!(
            run("probe", &mut c, Duration::from_secs(20)).unwrap(),
            "done"
        );
    }

    #[test]
    fn a_hanging_command_is_stopped() {
        let mut c = Command::new("sleep");
        c.arg("30");
        let t0 = Instant::now();
        let e = run("probe", &mut c, Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("did not finish within 1 s"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
}
