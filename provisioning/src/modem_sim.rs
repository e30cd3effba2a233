//! A simulated LTE USB modem on a pseudo-terminal. It stands in for a real
//! modem in tests and demos: the AT code opens the pty's tty path exactly as
//! it would open `/dev/ttyUSB2`, and the simulator answers like a Quectel-style
//! LTE dongle. Scripts reproduce the failures seen in the field.
//!
//! The tty is published as a symlink `DIR/ttyUSB-<imei tail>-<n>`; when the
//! modem "vanishes" (USB reset), the link is removed, the pty closed, and after
//! a pause a new pty appears under a new link name, as a re-enumerated USB
//! device gets a new `/dev/ttyUSBn`.

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::pty::PtyMaster;
use nix::sys::termios::{self, SetArg};
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Commands remembered for inspection.
const MAX_LOG: usize = 1024;
/// Longest command line accepted (real modems take about 500 bytes).
const MAX_CMD: usize = 1024;

/// What the simulated modem does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Script {
    /// A SIM that is ready, registered on the home network.
    Normal,
    /// No SIM in the slot (`+CME ERROR: 10`).
    SimMissing,
    /// The SIM asks for its PIN.
    PinLocked,
    /// The modem keeps searching for a network.
    NotRegistered,
    /// Every reply comes late and in small pieces.
    Slow,
    /// Unsolicited result codes arrive before and in the middle of replies.
    UrcMidReply,
    /// The SIM fails (`+CME ERROR: 13` to SIM commands).
    CmeError,
    /// The modem resets once after a few commands and comes back on another tty.
    Vanish,
}

/// The simulated hardware.
#[derive(Debug, Clone)]
pub struct Profile {
    pub script: Script,
    pub imei: String,
    pub iccid: String,
    pub imsi: String,
    pub pin: String,
    pub manufacturer: String,
    pub model: String,
    pub firmware: String,
    /// Delay of each reply in the `slow` script.
    pub delay: Duration,
    /// Commands answered before the `vanish` script resets the modem.
    pub vanish_after: usize,
    /// How long the modem stays away.
    pub away: Duration,
    /// The modem's ICCID command: `AT+QCCID` (Quectel) or `AT^ICCID?` (Huawei);
    /// the other ICCID commands answer ERROR.
    pub iccid_command: &'static str,
    /// Whether the modem knows `AT+CEREG` (LTE); without it only `AT+CREG`.
    pub eps: bool,
}

impl Profile {
    pub fn new(script: Script, imei: &str, iccid: &str, imsi: &str) -> Profile {
        Profile {
            script,
            imei: imei.into(),
            iccid: iccid.into(),
            imsi: imsi.into(),
            pin: "1234".into(),
            manufacturer: "Quectel".into(),
            model: "EG25".into(),
            firmware: "EG25GGBR07A08M2G".into(),
            delay: Duration::from_millis(700),
            vanish_after: 10,
            away: Duration::from_millis(400),
            iccid_command: "AT+QCCID",
            eps: true,
        }
    }
}

/// What the modem holds, kept across resets (its NV memory and the SIM).
#[derive(Debug)]
struct State {
    tty: PathBuf,
    link: PathBuf,
    echo: bool,
    cmee: u8,
    pin_locked: bool,
    pin_attempts: u8,
    contexts: BTreeMap<u8, (String, String)>,
    auth: BTreeMap<u8, String>,
    apn_writes: u32,
    log: VecDeque<String>,
    answered: usize,
    vanished: bool,
    iccid: String,
    imsi: String,
    sim_present: bool,
}

/// A running simulator; stops and removes its tty link when dropped.
pub struct ModemSim {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    thread: Option<JoinHandle<()>>,
}

struct Pty {
    master: PtyMaster,
    // Held open so the master side does not see a hang-up between clients.
    _slave: File,
    path: PathBuf,
}

/// Opens a pty pair. Both ends are close-on-exec from the start: a child
/// process (the tool under test) holding a copy of the master would keep the
/// tty alive when the simulated modem vanishes.
fn open_pty() -> std::io::Result<Pty> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
    nix::pty::grantpt(&master)?;
    nix::pty::unlockpt(&master)?;
    let path = PathBuf::from(nix::pty::ptsname_r(&master)?);
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&path)?;
    let mut t = termios::tcgetattr(slave.as_fd())?;
    termios::cfmakeraw(&mut t);
    termios::tcsetattr(slave.as_fd(), SetArg::TCSANOW, &t)?;
    Ok(Pty {
        master,
        _slave: slave,
        path,
    })
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl ModemSim {
    /// Starts the modem; its tty appears as a symlink in `link_dir`.
    pub fn start(profile: Profile, link_dir: &Path) -> std::io::Result<ModemSim> {
        let pty = open_pty()?;
        let tail: String = profile
            .imei
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let link_base = link_dir.join(format!("ttyUSB-{tail}-"));
        let link = PathBuf::from(format!("{}0", link_base.display()));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&pty.path, &link)?;
        let state = Arc::new(Mutex::new(State {
            tty: pty.path.clone(),
            link,
            echo: true,
            cmee: 0,
            pin_locked: profile.script == Script::PinLocked,
            pin_attempts: 3,
            contexts: BTreeMap::new(),
            auth: BTreeMap::new(),
            apn_writes: 0,
            log: VecDeque::new(),
            answered: 0,
            vanished: false,
            iccid: profile.iccid.clone(),
            imsi: profile.imsi.clone(),
            sim_present: profile.script != Script::SimMissing,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, state) = (stop.clone(), state.clone());
            std::thread::spawn(move || run(profile, pty, link_base, &stop, &state))
        };
        Ok(ModemSim {
            stop,
            state,
            thread: Some(thread),
        })
    }

    /// The tty link the modem is on now.
    pub fn tty(&self) -> PathBuf {
        lock(&self.state).link.clone()
    }

    /// The data context (PDP type, APN) as last set.
    pub fn apn(&self) -> Option<(String, String)> {
        lock(&self.state).contexts.get(&1).cloned()
    }

    /// How many times the APN was written.
    pub fn apn_writes(&self) -> u32 {
        lock(&self.state).apn_writes
    }

    /// The commands received so far.
    pub fn commands(&self) -> Vec<String> {
        lock(&self.state).log.iter().cloned().collect()
    }

    /// Whether the modem has reset and come back on another tty.
    pub fn has_vanished(&self) -> bool {
        lock(&self.state).vanished
    }

    /// Puts another SIM card in the slot.
    pub fn insert_sim(&self, iccid: &str, imsi: &str) {
        let mut s = lock(&self.state);
        s.iccid = iccid.into();
        s.imsi = imsi.into();
        s.sim_present = true;
    }
}

impl Drop for ModemSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(lock(&self.state).link.clone());
    }
}

fn run(
    profile: Profile,
    mut pty: Pty,
    link_base: PathBuf,
    stop: &AtomicBool,
    state: &Mutex<State>,
) {
    let mut line: Vec<u8> = Vec::new();
    let mut generation = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(pty.master.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                log::error!("modem simulator: poll: {e}");
                return;
            }
        }
        let mut buf = [0u8; 256];
        let n = match pty.master.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!("modem simulator: read: {e}");
                return;
            }
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                continue;
            }
            if b != b'\r' {
                if line.len() < MAX_CMD {
                    line.push(b);
                }
                continue;
            }
            let cmd = String::from_utf8_lossy(&line).trim().to_string();
            line.clear();
            if cmd.is_empty() {
                continue;
            }
            let vanish_now = {
                let mut s = lock(state);
                if s.log.len() == MAX_LOG {
                    s.log.pop_front();
                }
                s.log.push_back(cmd.clone());
                s.answered += 1;
                profile.script == Script::Vanish && !s.vanished && s.answered > profile.vanish_after
            };
            if vanish_now {
                // A USB reset: the command is never answered, the tty goes away.
                let old_link = lock(state).link.clone();
                let _ = std::fs::remove_file(&old_link);
                drop(pty);
                std::thread::sleep(profile.away);
                generation += 1;
                pty = match open_pty() {
                    Ok(p) => p,
                    Err(e) => {
                        log::error!("modem simulator: cannot re-open a pty: {e}");
                        return;
                    }
                };
                let link = PathBuf::from(format!("{}{generation}", link_base.display()));
                if let Err(e) = std::os::unix::fs::symlink(&pty.path, &link) {
                    log::error!("modem simulator: cannot link {}: {e}", link.display());
                    return;
                }
                let mut s = lock(state);
                s.vanished = true;
                s.tty = pty.path.clone();
                s.link = link;
                s.echo = true;
                break;
            }
            let out = answer(&profile, state, &cmd);
            if write_reply(&profile, &mut pty.master, &out).is_err() {
                return;
            }
        }
    }
}

fn write_reply(profile: &Profile, w: &mut PtyMaster, out: &[u8]) -> std::io::Result<()> {
    if profile.script != Script::Slow {
        return w.write_all(out);
    }
    std::thread::sleep(profile.delay);
    for piece in out.chunks(5) {
        w.write_all(piece)?;
        std::thread::sleep(Duration::from_millis(15));
    }
    Ok(())
}

/// URCs the `urc-mid-reply` script interleaves with replies.
const URCS: &[&str] = &[
    "+CEREG: 1,\"1A2B\",\"01A2B3C4\",7",
    "RING",
    "^RSSI: 17",
    "+QIND: \"csq\",20,99",
];

fn answer(profile: &Profile, state: &Mutex<State>, cmd: &str) -> Vec<u8> {
    let mut s = lock(state);
    let (info, result) = respond(profile, &mut s, cmd);
    let mut out = Vec::new();
    if s.echo {
        out.extend_from_slice(cmd.as_bytes());
        out.push(b'\r');
    }
    let urcs = profile.script == Script::UrcMidReply;
    let n = s.answered;
    if urcs {
        out.extend_from_slice(format!("\r\n{}\r\n", URCS[n % URCS.len()]).as_bytes());
    }
    for l in &info {
        out.extend_from_slice(format!("\r\n{l}\r\n").as_bytes());
        if urcs {
            out.extend_from_slice(format!("\r\n{}\r\n", URCS[(n + 1) % URCS.len()]).as_bytes());
        }
    }
    let result = match (result, s.cmee) {
        (Ok(()), _) => "OK".to_string(),
        (Err(0), _) | (Err(_), 0) => "ERROR".to_string(),
        (Err(code), 2) => format!(
            "+CME ERROR: {}",
            crate::modem::at::cme_message(&crate::modem::at::CmeCode::Num(code))
        ),
        (Err(code), _) => format!("+CME ERROR: {code}"),
    };
    out.extend_from_slice(format!("\r\n{result}\r\n").as_bytes());
    out
}

/// The modem's answer: information lines and the result (`Err(0)`: plain ERROR,
/// `Err(n)`: `+CME ERROR: n`).
fn respond(p: &Profile, s: &mut State, cmd: &str) -> (Vec<String>, Result<(), u16>) {
    let up = cmd.to_ascii_uppercase();
    let ok = |lines: Vec<String>| (lines, Ok(()));
    let sim_gate = |s: &State, needs_pin: bool| -> Option<u16> {
        if !s.sim_present {
            Some(10)
        } else if p.script == Script::CmeError {
            Some(13)
        } else if needs_pin && s.pin_locked {
            Some(11)
        } else {
            None
        }
    };
    let registered = s.sim_present
        && !s.pin_locked
        && p.script != Script::NotRegistered
        && p.script != Script::CmeError;
    match up.as_str() {
        "AT" => ok(vec![]),
        "ATE0" => {
            s.echo = false;
            ok(vec![])
        }
        "ATE1" => {
            s.echo = true;
            ok(vec![])
        }
        "AT+CMEE=0" | "AT+CMEE=1" | "AT+CMEE=2" => {
            s.cmee = up.as_bytes()[8] - b'0';
            ok(vec![])
        }
        "AT+CGMI" => ok(vec![p.manufacturer.clone()]),
        "AT+CGMM" => ok(vec![p.model.clone()]),
        "AT+CGMR" => ok(vec![format!("Revision: {}", p.firmware)]),
        "AT+CGSN" => ok(vec![p.imei.clone()]),
        "AT+CPIN?" => match sim_gate(s, false) {
            Some(code) => (vec![], Err(code)),
            None if s.pin_attempts == 0 => ok(vec!["+CPIN: SIM PUK".into()]),
            None if s.pin_locked => ok(vec!["+CPIN: SIM PIN".into()]),
            None => ok(vec!["+CPIN: READY".into()]),
        },
        "AT+CCID" | "AT+QCCID" | "AT^ICCID?" | "AT+ICCID" if up != p.iccid_command => {
            (vec![], Err(0))
        }
        "AT+QCCID" | "AT^ICCID?" => match sim_gate(s, false) {
            Some(code) => (vec![], Err(code)),
            None if up == "AT+QCCID" => ok(vec![format!("+QCCID: {}F", s.iccid)]),
            None => ok(vec![format!("^ICCID: {}", s.iccid)]),
        },
        "AT+CIMI" => match sim_gate(s, true) {
            Some(code) => (vec![], Err(code)),
            None => ok(vec![s.imsi.clone()]),
        },
        "AT+CGDCONT?" => ok(s
            .contexts
            .iter()
            .map(|(cid, (pdp, apn))| {
                format!("+CGDCONT: {cid},\"{pdp}\",\"{apn}\",\"0.0.0.0\",0,0,0,0")
            })
            .collect()),
        "AT+CEREG?" if !p.eps => (vec![], Err(0)),
        "AT+CEREG?" | "AT+CREG?" => {
            let stat = if registered {
                1
            } else if s.sim_present && !s.pin_locked && p.script == Script::NotRegistered {
                2
            } else {
                0
            };
            let prefix = if up.starts_with("AT+CEREG") {
                "+CEREG"
            } else {
                "+CREG"
            };
            ok(vec![format!("{prefix}: 0,{stat}")])
        }
        "AT+CSQ" => ok(vec![if registered {
            "+CSQ: 20,99"
        } else {
            "+CSQ: 99,99"
        }
        .into()]),
        "AT+CESQ" => ok(vec![if registered {
            "+CESQ: 99,99,255,255,24,52"
        } else {
            "+CESQ: 99,99,255,255,255,255"
        }
        .into()]),
        "AT+COPS?" => ok(vec![if registered {
            "+COPS: 0,0,\"OSECT Mobile\",7".into()
        } else {
            "+COPS: 0".into()
        }]),
        _ => respond_set(p, s, cmd, &up),
    }
}

/// Commands with arguments.
fn respond_set(p: &Profile, s: &mut State, cmd: &str, up: &str) -> (Vec<String>, Result<(), u16>) {
    let args = |prefix: &str| crate::modem::at::fields(&cmd[prefix.len()..]);
    if up.starts_with("AT+CPIN=") {
        if !s.sim_present {
            return (vec![], Err(10));
        }
        if !s.pin_locked || s.pin_attempts == 0 {
            return (vec![], Err(if s.pin_attempts == 0 { 12 } else { 3 }));
        }
        let given = args("AT+CPIN=");
        if given.first().map(|g| crate::modem::at::unquote(g)) == Some(p.pin.as_str()) {
            s.pin_locked = false;
            return (vec![], Ok(()));
        }
        s.pin_attempts = s.pin_attempts.saturating_sub(1);
        return (vec![], Err(16));
    }
    if up.starts_with("AT+CGDCONT=") {
        let a = args("AT+CGDCONT=");
        let Some(Ok(cid)) = a.first().map(|c| c.parse::<u8>()) else {
            return (vec![], Err(0));
        };
        let (Some(pdp), Some(apn)) = (a.get(1), a.get(2)) else {
            // A bare context id undefines the context.
            s.contexts.remove(&cid);
            return (vec![], Ok(()));
        };
        let unq = crate::modem::at::unquote;
        s.contexts
            .insert(cid, (unq(pdp).to_string(), unq(apn).to_string()));
        s.apn_writes += 1;
        return (vec![], Ok(()));
    }
    if up.starts_with("AT+CGAUTH=") {
        let a = args("AT+CGAUTH=");
        let Some(Ok(cid)) = a.first().map(|c| c.parse::<u8>()) else {
            return (vec![], Err(0));
        };
        s.auth.insert(cid, a.get(1).cloned().unwrap_or_default());
        return (vec![], Ok(()));
    }
    if up.starts_with("AT+CEREG=") || up.starts_with("AT+CREG=") {
        return (vec![], Ok(()));
    }
    (vec![], Err(0))
}
