//! The LTE modem and its SIM, driven with AT commands over the modem's tty.
//!
//! `at` is the transport, `sim` the SIM card (state, PIN, ICCID, IMSI), `net`
//! the network side (APN, registration, signal, operator). `Session` wraps them
//! with the modem's identity so that a modem which resets and comes back on
//! another tty is found again by its IMEI and the step is retried.

pub mod at;
pub mod net;
pub mod sim;

use at::{AtError, AtPort, Expect};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Timings for talking to a modem.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How long one command may take.
    pub command: Duration,
    /// How long a vanished modem may take to come back.
    pub reappear: Duration,
    /// How long to wait for network registration.
    pub registration: Duration,
}

/// What identifies the modem hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModemInfo {
    pub manufacturer: String,
    pub model: String,
    pub firmware: String,
    pub imei: String,
}

/// A modem answering AT commands on one tty.
pub struct Modem {
    port: AtPort,
    timing: Timing,
}

impl Modem {
    /// Opens the tty and brings the modem to a known dialogue state: answering,
    /// numeric `+CME ERROR` codes. Echo is switched off but tolerated if it stays.
    pub fn open(path: &Path, timing: &Timing) -> Result<Modem, AtError> {
        let mut m = Modem {
            port: AtPort::open(path)?,
            timing: timing.clone(),
        };
        // The first command after a reset is sometimes lost: try a few times.
        let mut last = None;
        for _ in 0..3 {
            match m.cmd("AT", Expect::Nothing) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e @ AtError::Timeout { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        m.cmd("ATE0", Expect::Nothing)?;
        m.cmd("AT+CMEE=1", Expect::Nothing)?;
        Ok(m)
    }

    pub fn path(&self) -> &Path {
        self.port.path()
    }

    pub(crate) fn cmd(&mut self, cmd: &str, expect: Expect<'_>) -> Result<Vec<String>, AtError> {
        self.port.command(cmd, expect, self.timing.command)
    }

    /// The single answer line of a query, or a clear error when there is none.
    pub(crate) fn query_one(&mut self, cmd: &str, expect: Expect<'_>) -> Result<String, AtError> {
        let lines = self.cmd(cmd, expect)?;
        lines
            .into_iter()
            .find(|l| !l.is_empty())
            .ok_or_else(|| AtError::Malformed {
                cmd: cmd.into(),
                detail: "no answer line before OK".into(),
            })
    }

    pub fn imei(&mut self) -> Result<String, AtError> {
        let line = self.query_one("AT+CGSN", Expect::Text(&["+CGSN:"]))?;
        let imei = at::unquote(&line).to_string();
        if !(14..=16).contains(&imei.len()) || !imei.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AtError::Malformed {
                cmd: "AT+CGSN".into(),
                detail: format!("{imei:?} is not an IMEI"),
            });
        }
        Ok(imei)
    }

    pub fn identify(&mut self) -> Result<ModemInfo, AtError> {
        let mut text = |cmd: &str, prefix: &'static [&'static str]| {
            self.query_one(cmd, Expect::Text(prefix))
                .map(|l| at::unquote(&l).chars().take(64).collect::<String>())
        };
        let manufacturer = text("AT+CGMI", &["+CGMI:"])?;
        let model = text("AT+CGMM", &["+CGMM:"])?;
        // Quectel and others prefix the revision with "Revision:".
        let firmware = text("AT+CGMR", &["+CGMR:", "Revision:"])?;
        Ok(ModemInfo {
            manufacturer,
            model,
            firmware,
            imei: self.imei()?,
        })
    }
}

/// Where to find the modem: a given tty, or any candidate tty (by IMEI if known).
#[derive(Debug, Clone)]
pub enum Locator {
    Path(PathBuf),
    Auto,
}

impl std::str::FromStr for Locator {
    type Err = String;
    fn from_str(s: &str) -> Result<Locator, String> {
        match s {
            "" => Err("empty modem path".into()),
            "auto" => Ok(Locator::Auto),
            p => Ok(Locator::Path(PathBuf::from(p))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModemError {
    #[error(transparent)]
    At(#[from] AtError),
    #[error("no modem found on {patterns}{}", imei_note(.imei))]
    NotFound {
        patterns: String,
        imei: Option<String>,
    },
    #[error("{0}")]
    Refused(String),
}

fn imei_note(imei: &Option<String>) -> String {
    match imei {
        Some(i) => format!(" with IMEI {i}"),
        None => String::new(),
    }
}

/// Lists the ttys matching candidate patterns: a path, or `dir/prefix*`.
pub fn candidates(patterns: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for pat in patterns {
        let Some(prefix) = pat.strip_suffix('*') else {
            out.push(PathBuf::from(pat));
            continue;
        };
        let p = Path::new(prefix);
        let (dir, start) = if prefix.ends_with('/') {
            (p.to_path_buf(), String::new())
        } else {
            (
                p.parent().map(Path::to_path_buf).unwrap_or_default(),
                p.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        };
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&start))
            .map(|e| e.path())
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// A modem found by `Locator`, re-found by IMEI when it vanishes.
pub struct Session {
    modem: Modem,
    patterns: Vec<String>,
    timing: Timing,
    imei: String,
    info: ModemInfo,
}

impl Session {
    /// Finds and opens the modem. With an expected IMEI, a modem with another
    /// IMEI is refused (given path) or skipped (auto).
    pub fn connect(
        locator: &Locator,
        patterns: &[String],
        expected_imei: Option<&str>,
        timing: &Timing,
    ) -> Result<Session, ModemError> {
        Session::open(locator, patterns, expected_imei, &|_| false, timing)
    }

    /// Like `connect` without an expected IMEI, but `auto` passes over the
    /// modems for which `taken(imei)` is true (those of other units, when
    /// several are plugged into the station).
    pub fn connect_free(
        locator: &Locator,
        patterns: &[String],
        taken: &dyn Fn(&str) -> bool,
        timing: &Timing,
    ) -> Result<Session, ModemError> {
        Session::open(locator, patterns, None, taken, timing)
    }

    fn open(
        locator: &Locator,
        patterns: &[String],
        expected_imei: Option<&str>,
        taken: &dyn Fn(&str) -> bool,
        timing: &Timing,
    ) -> Result<Session, ModemError> {
        let wanted = Wanted {
            imei: expected_imei,
            taken,
        };
        let (modem, info) = match locator {
            Locator::Path(p) => {
                let opened = Modem::open(p, timing).and_then(|mut m| m.identify().map(|i| (m, i)));
                let (m, info) = match opened {
                    // Reset while being opened: look for it on the candidate ttys.
                    Err(AtError::Gone { .. }) => {
                        let deadline = Instant::now() + timing.reappear;
                        scan(patterns, &wanted, timing, deadline)?
                    }
                    r => r?,
                };
                if let Some(want) = expected_imei {
                    if info.imei != want {
                        return Err(ModemError::Refused(format!(
                            "modem on {} has IMEI {}, expected {want}",
                            p.display(),
                            info.imei
                        )));
                    }
                }
                (m, info)
            }
            Locator::Auto => scan(patterns, &wanted, timing, Instant::now())?,
        };
        Ok(Session {
            modem,
            patterns: patterns.to_vec(),
            timing: timing.clone(),
            imei: info.imei.clone(),
            info,
        })
    }

    pub fn info(&self) -> &ModemInfo {
        &self.info
    }

    pub fn path(&self) -> &Path {
        self.modem.path()
    }

    /// Runs one step; if the modem vanished, waits for it to come back on any
    /// candidate tty (same IMEI) and runs the step again. Steps are queries or
    /// settings that are safe to repeat.
    pub fn step<T>(
        &mut self,
        mut f: impl FnMut(&mut Modem) -> Result<T, AtError>,
    ) -> Result<T, ModemError> {
        let mut reconnects = 0;
        loop {
            match f(&mut self.modem) {
                Err(AtError::Gone { path }) if reconnects < 3 => {
                    reconnects += 1;
                    log::warn!(
                        "modem {} vanished from {}; looking for it again",
                        self.imei,
                        path.display()
                    );
                    let deadline = Instant::now() + self.timing.reappear;
                    let wanted = Wanted {
                        imei: Some(&self.imei),
                        taken: &|_| false,
                    };
                    let (m, _) = scan(&self.patterns, &wanted, &self.timing, deadline)?;
                    log::info!("modem {} is back on {}", self.imei, m.path().display());
                    self.modem = m;
                }
                r => return r.map_err(ModemError::from),
            }
        }
    }
}

/// Tries every candidate tty until one answers (with the expected IMEI),
/// retrying until `deadline`.
/// Which modem a scan looks for.
struct Wanted<'a> {
    imei: Option<&'a str>,
    taken: &'a dyn Fn(&str) -> bool,
}

fn scan(
    patterns: &[String],
    wanted: &Wanted<'_>,
    timing: &Timing,
    deadline: Instant,
) -> Result<(Modem, ModemInfo), ModemError> {
    // Probing a tty that is not a modem must not take the full command timeout.
    let probe = Timing {
        command: timing.command.min(Duration::from_millis(1500)),
        ..timing.clone()
    };
    loop {
        for path in candidates(patterns) {
            let mut m = match Modem::open(&path, &probe) {
                Ok(m) => m,
                Err(e) => {
                    log::debug!("{}: not a modem: {e}", path.display());
                    continue;
                }
            };
            let info = match m.identify() {
                Ok(i) => i,
                Err(e) => {
                    log::debug!("{}: no identity: {e}", path.display());
                    continue;
                }
            };
            match wanted.imei {
                Some(want) if want != info.imei => {
                    log::debug!("{}: IMEI {} is not {want}", path.display(), info.imei)
                }
                None if (wanted.taken)(&info.imei) => {
                    log::debug!(
                        "{}: IMEI {} belongs to another unit",
                        path.display(),
                        info.imei
                    )
                }
                _ => {
                    m.timing = timing.clone();
                    return Ok((m, info));
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(ModemError::NotFound {
                patterns: patterns.join(", "),
                imei: wanted.imei.map(str::to_string),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
