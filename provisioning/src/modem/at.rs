//! AT command transport over a serial tty.
//!
//! One command at a time: write `CMD\r`, then read lines until a final result
//! code (`OK`, `ERROR`, `+CME ERROR: n`, ...). The reader copes with what real
//! USB modems do: the command echoed back (echo on), unsolicited result codes
//! (URCs) arriving before or in the middle of a reply, replies split across
//! reads or slow to come, and the tty disappearing when the modem resets or
//! re-enumerates on USB.

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, BaudRate, ControlFlags, SetArg, SpecialCharacterIndices};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest line kept; a modem sending more without a line end is broken.
const MAX_LINE: usize = 4096;
/// Information lines kept per reply.
const MAX_INFO_LINES: usize = 64;
/// URCs remembered for diagnostics (oldest dropped first).
const MAX_URCS: usize = 32;
/// After a timeout, the late reply must be over before the next command, or
/// its `OK` would be taken for the next command's: the port must stay quiet
/// this long (reading at most `SETTLE_LIMIT`).
const SETTLE_QUIET: Duration = Duration::from_secs(1);
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AtError {
    /// The tty could not be opened or configured.
    #[error("cannot open modem port {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The tty went away (modem reset, USB unplugged or re-enumerated).
    #[error("modem on {path} went away (port closed or hung up)")]
    Gone { path: PathBuf },
    /// Reading or writing failed for another reason.
    #[error("modem port {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// No final result code came in time.
    #[error("no reply to {cmd} from modem on {path} within {} ms", timeout.as_millis())]
    Timeout {
        path: PathBuf,
        cmd: String,
        timeout: Duration,
    },
    /// The modem answered plain `ERROR`.
    #[error("modem replied ERROR to {cmd}")]
    Error { cmd: String },
    /// The modem answered `+CME ERROR` (equipment) or `+CMS ERROR` (message service).
    #[error("modem replied {kind} ERROR: {code} ({}) to {cmd}", cme_message(code))]
    Cme {
        cmd: String,
        kind: &'static str,
        code: CmeCode,
    },
    /// The reply did not have the expected shape.
    #[error("unexpected reply to {cmd}: {detail}")]
    Malformed { cmd: String, detail: String },
}

impl AtError {
    /// The `+CME ERROR` code, when that is what the modem said.
    pub fn cme(&self) -> Option<&CmeCode> {
        match self {
            AtError::Cme { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the command is simply not known to this modem (so a vendor
    /// variant may be tried instead).
    pub fn is_unsupported(&self) -> bool {
        match self {
            AtError::Error { .. } => true,
            AtError::Cme { code, .. } => {
                matches!(code, CmeCode::Num(3) | CmeCode::Num(4) | CmeCode::Num(100))
            }
            _ => false,
        }
    }
}

/// A `+CME ERROR` code: numeric (`AT+CMEE=1`) or verbose text (`AT+CMEE=2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmeCode {
    Num(u16),
    Text(String),
}

impl std::fmt::Display for CmeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CmeCode::Num(n) => write!(f, "{n}"),
            CmeCode::Text(t) => f.write_str(t),
        }
    }
}

impl CmeCode {
    fn parse(s: &str) -> CmeCode {
        let s = s.trim();
        match s.parse::<u16>() {
            Ok(n) => CmeCode::Num(n),
            Err(_) => CmeCode::Text(s.chars().take(80).collect()),
        }
    }
}

/// The meaning of a `+CME ERROR` code (3GPP TS 27.007 §9.2).
pub fn cme_message(code: &CmeCode) -> String {
    let n = match code {
        CmeCode::Num(n) => *n,
        CmeCode::Text(t) => return t.clone(),
    };
    let text = match n {
        0 => "phone failure",
        1 => "no connection to phone",
        3 => "operation not allowed",
        4 => "operation not supported",
        5 => "PH-SIM PIN required",
        10 => "SIM not inserted",
        11 => "SIM PIN required",
        12 => "SIM PUK required",
        13 => "SIM failure",
        14 => "SIM busy",
        15 => "SIM wrong",
        16 => "incorrect password",
        17 => "SIM PIN2 required",
        18 => "SIM PUK2 required",
        20 => "memory full",
        21 => "invalid index",
        22 => "not found",
        23 => "memory failure",
        24 => "text string too long",
        26 => "dial string too long",
        27 => "invalid characters in dial string",
        30 => "no network service",
        31 => "network timeout",
        32 => "network not allowed, emergency calls only",
        100 => "unknown error",
        103 => "illegal MS",
        106 => "illegal ME",
        107 => "GPRS services not allowed",
        111 => "PLMN not allowed",
        112 => "location area not allowed",
        113 => "roaming not allowed in this location area",
        132 => "service option not supported",
        133 => "requested service option not subscribed",
        134 => "service option temporarily out of order",
        148 => "unspecified GPRS error",
        149 => "PDP authentication failure",
        150 => "invalid mobile class",
        _ => return format!("error code {n}"),
    };
    text.to_string()
}

/// Which lines of a reply carry the answer.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// Only the final result code matters.
    Nothing,
    /// Lines starting with this prefix (for example `+CSQ:`), prefix removed.
    Prefix(&'a str),
    /// Bare text lines (for example the reply to `AT+CGSN`), or lines with one
    /// of the given prefixes, prefix removed.
    Text(&'a [&'a str]),
}

/// Bare-text URCs that modems send on their own (boot and readiness notices).
const TEXT_URCS: &[&str] = &[
    "RING",
    "RDY",
    "SMS DONE",
    "PB DONE",
    "CALL READY",
    "SMS READY",
    "+PBREADY",
    "^BOOT",
    "NO CARRIER",
];

enum Line {
    Final(Result<(), AtError>),
    Info(String),
    Urc(String),
    Echo,
}

fn classify(line: &str, cmd: &str, expect: Expect<'_>) -> Line {
    if line.eq_ignore_ascii_case(cmd) {
        return Line::Echo;
    }
    match line {
        "OK" => return Line::Final(Ok(())),
        "ERROR" => return Line::Final(Err(AtError::Error { cmd: cmd.into() })),
        _ => {}
    }
    for (prefix, kind) in [("+CME ERROR:", "+CME"), ("+CMS ERROR:", "+CMS")] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return Line::Final(Err(AtError::Cme {
                cmd: cmd.into(),
                kind,
                code: CmeCode::parse(rest),
            }));
        }
    }
    match expect {
        Expect::Nothing => Line::Urc(line.into()),
        Expect::Prefix(p) => match line.strip_prefix(p) {
            Some(rest) => Line::Info(rest.trim().into()),
            None => Line::Urc(line.into()),
        },
        Expect::Text(prefixes) => {
            for p in prefixes {
                if let Some(rest) = line.strip_prefix(p) {
                    return Line::Info(rest.trim().into());
                }
            }
            let upper = line.to_ascii_uppercase();
            let is_urc = line.starts_with('+')
                || line.starts_with('^')
                || TEXT_URCS.iter().any(|u| upper.starts_with(u));
            if is_urc {
                Line::Urc(line.into())
            } else {
                Line::Info(line.into())
            }
        }
    }
}

/// An open AT port.
pub struct AtPort {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    urcs: VecDeque<String>,
    /// A command timed out: its reply may still come.
    unsettled: bool,
}

impl AtPort {
    /// Opens the tty raw at 115200 baud (a USB modem ignores the rate).
    pub fn open(path: &Path) -> Result<AtPort, AtError> {
        let open_err = |source| AtError::Open {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(open_err)?;
        let mut t = termios::tcgetattr(file.as_fd()).map_err(|e| open_err(e.into()))?;
        termios::cfmakeraw(&mut t);
        t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::cfsetspeed(&mut t, BaudRate::B115200).map_err(|e| open_err(e.into()))?;
        termios::tcsetattr(file.as_fd(), SetArg::TCSANOW, &t).map_err(|e| open_err(e.into()))?;
        Ok(AtPort {
            file,
            path: path.to_owned(),
            buf: Vec::with_capacity(256),
            urcs: VecDeque::new(),
            unsettled: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The URCs seen so far (most recent last), for diagnostics.
    pub fn urcs(&self) -> impl Iterator<Item = &str> {
        self.urcs.iter().map(String::as_str)
    }

    fn note_urc(&mut self, line: String) {
        log::debug!("modem {}: URC {line}", self.path.display());
        if self.urcs.len() == MAX_URCS {
            self.urcs.pop_front();
        }
        self.urcs.push_back(line);
    }

    fn gone(&self) -> AtError {
        AtError::Gone {
            path: self.path.clone(),
        }
    }

    fn io(&self, e: std::io::Error) -> AtError {
        match e.raw_os_error() {
            // EIO: the other side of the tty hung up; ENODEV/ENXIO: USB device removed.
            Some(libc::EIO) | Some(libc::ENODEV) | Some(libc::ENXIO) => self.gone(),
            _ => AtError::Io {
                path: self.path.clone(),
                source: e,
            },
        }
    }

    /// Reads what is available, waiting at most `wait`. Returns false on timeout.
    fn fill(&mut self, wait: Duration) -> Result<bool, AtError> {
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        let n = match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => return Ok(false),
            Err(e) => return Err(self.io(e.into())),
        };
        if n == 0 {
            return Ok(false);
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        let mut chunk = [0u8; 512];
        match self.file.read(&mut chunk) {
            Ok(0) => Err(self.gone()),
            Ok(k) => {
                self.buf.extend_from_slice(&chunk[..k]);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
                {
                    Err(self.gone())
                } else {
                    Ok(false)
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Takes the next complete line out of the buffer (CR and LF both end a line).
    fn next_line(&mut self, cmd: &str) -> Result<Option<String>, AtError> {
        loop {
            let Some(end) = self.buf.iter().position(|&b| b == b'\r' || b == b'\n') else {
                if self.buf.len() > MAX_LINE {
                    self.buf.clear();
                    return Err(AtError::Malformed {
                        cmd: cmd.into(),
                        detail: format!("line longer than {MAX_LINE} bytes"),
                    });
                }
                return Ok(None);
            };
            let raw: Vec<u8> = self.buf.drain(..=end).collect();
            let text = String::from_utf8_lossy(&raw[..raw.len() - 1]);
            let text = text.trim();
            if !text.is_empty() {
                return Ok(Some(text.to_string()));
            }
        }
    }

    /// Sets aside unread input (URCs sent between commands, or the late reply
    /// to a command that timed out).
    fn drain_pending(&mut self) -> Result<(), AtError> {
        if self.unsettled {
            let end = Instant::now() + SETTLE_LIMIT;
            while let Some(left) = end.checked_duration_since(Instant::now()) {
                if !self.fill(SETTLE_QUIET.min(left))? {
                    break;
                }
            }
            self.unsettled = false;
        }
        while self.fill(Duration::ZERO)? {}
        while let Some(line) = self.next_line("")? {
            self.note_urc(line);
        }
        // A partial line left over is a URC still arriving; its line end will
        // come and it is set aside then.
        Ok(())
    }

    /// Sends `cmd` and waits up to `timeout` for its final result code.
    /// Returns the information lines selected by `expect`.
    pub fn command(
        &mut self,
        cmd: &str,
        expect: Expect<'_>,
        timeout: Duration,
    ) -> Result<Vec<String>, AtError> {
        self.drain_pending()?;
        log::debug!("modem {}: > {cmd}", self.path.display());
        let mut out = Vec::with_capacity(cmd.len() + 1);
        out.extend_from_slice(cmd.as_bytes());
        out.push(b'\r');
        if let Err(e) = self.file.write_all(&out) {
            return Err(self.io(e));
        }
        let deadline = Instant::now() + timeout;
        let mut info = Vec::new();
        loop {
            while let Some(line) = self.next_line(cmd)? {
                log::trace!("modem {}: < {line}", self.path.display());
                match classify(&line, cmd, expect) {
                    Line::Echo => {}
                    Line::Urc(u) => self.note_urc(u),
                    Line::Info(i) => {
                        if info.len() == MAX_INFO_LINES {
                            return Err(AtError::Malformed {
                                cmd: cmd.into(),
                                detail: format!("more than {MAX_INFO_LINES} lines"),
                            });
                        }
                        info.push(i);
                    }
                    Line::Final(r) => return r.map(|()| info),
                }
            }
            let now = Instant::now();
            if now >= deadline {
                self.unsettled = true;
                return Err(AtError::Timeout {
                    path: self.path.clone(),
                    cmd: cmd.into(),
                    timeout,
                });
            }
            self.fill((deadline - now).min(Duration::from_millis(200)))?;
        }
    }
}

/// Splits a reply like `0,"IP","internet",...` into fields, honouring quotes.
pub fn fields(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// A field without its quotes.
pub fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"')
}

/// Quotes a string for an AT command argument, refusing what cannot be sent.
pub fn quote(what: &str, s: &str) -> Result<String, String> {
    if s.len() > 100
        || s.chars()
            .any(|c| c == '"' || c == '\r' || c == '\n' || !c.is_ascii())
    {
        return Err(format!(
            "{what} must be printable ASCII without quotes, at most 100 characters"
        ));
    }
    Ok(format!("\"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_echo_urc_info_and_finals() {
        let e = Expect::Prefix("+CSQ:");
        assert!(matches!(classify("AT+CSQ", "AT+CSQ", e), Line::Echo));
        assert!(matches!(classify("+CSQ: 20,99", "AT+CSQ", e), Line::Info(s) if s == "20,99"));
        assert!(matches!(classify("+CEREG: 1", "AT+CSQ", e), Line::Urc(_)));
        assert!(matches!(classify("RING", "AT+CSQ", e), Line::Urc(_)));
        assert!(matches!(classify("OK", "AT+CSQ", e), Line::Final(Ok(()))));
        let t = Expect::Text(&[]);
        assert!(matches!(
            classify("867698041234567", "AT+CGSN", t),
            Line::Info(_)
        ));
        assert!(matches!(classify("RDY", "AT+CGSN", t), Line::Urc(_)));
        assert!(matches!(classify("^RSSI: 17", "AT+CGSN", t), Line::Urc(_)));
        match classify("+CME ERROR: 10", "AT+CPIN?", t) {
            Line::Final(Err(e)) => {
                assert_eq!(
                    e.to_string(),
                    "modem replied +CME ERROR: 10 (SIM not inserted) to AT+CPIN?"
                )
            }
            _ => panic!("not a final error"),
        }
        match classify("+CME ERROR: SIM busy", "AT+CPIN?", t) {
            Line::Final(Err(e)) => assert!(e.to_string().contains("SIM busy")),
            _ => panic!("not a final error"),
        }
    }

    #[test]
    fn fields_respect_quotes() {
        assert_eq!(
            fields(r#"1,"IP","a,b",0"#),
            vec!["1", "\"IP\"", "\"a,b\"", "0"]
        );
        assert_eq!(unquote("\"x\""), "x");
        assert!(quote("APN", "bad\"apn").is_err());
    }
}
