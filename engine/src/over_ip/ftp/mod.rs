//! FTP (RFC 959, with RFC 2428's EPRT and EPSV and RFC 3659's SIZE): the
//! control connection as Zeek's `ftp.log`. How PLC programs and firmware
//! often move, so a transfer command (RETR, STOR, STOU, APPE) is an
//! operation the core classifies as a file transfer.
//!
//! Zeek's script defines the log: client commands queue up, each server
//! reply is matched to the queued command whose expected reply codes it
//! fits best (RFC 959 section 5.4 lists them), and a command is written
//! when the next command arrives (or at once when several wait), only for
//! the commands Zeek logs (transfers, deletions, ACCT and the data channel
//! set-up: PORT, PASV, EPRT, EPSV). A file command's argument becomes a URL
//! from the server's address and the working directory CWD and PWD track.
//! The password is shown only for anonymous logins, as Zeek does. The
//! MIME type and file id of a transfer come from the data connection's
//! content, which the sensor does not read: those two fields are left out.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{self, next_line, Row};
use crate::over_ip::{AppParser, Ctx, Dir, Expected};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

pub static FTP_LOG: LogSchema = LogSchema {
    path: "ftp",
    fields: flow_fields![
        field("user", T::String),
        field("password", T::String),
        field("command", T::String),
        field("arg", T::String),
        field("file_size", T::Count),
        field("reply_code", T::Count),
        field("reply_msg", T::String),
        field("data_channel.passive", T::Bool),
        field("data_channel.orig_h", T::Addr),
        field("data_channel.resp_h", T::Addr),
        field("data_channel.resp_p", T::Port),
    ],
};

/// Longest control line read; longer ones are cut (Zeek cuts `arg` and
/// `reply_msg` at 4096 bytes).
const MAX_LINE: usize = 4096;
/// Zeek's limits on the user and password it keeps.
const MAX_USER: usize = 128;
/// Commands queued before a reply; more are dropped (Zeek's
/// `max_pending_commands`).
const MAX_PENDING: usize = 20;

/// The commands Zeek writes to `ftp.log`.
const LOGGED: &[&str] = &[
    "APPE", "DELE", "RETR", "STOR", "STOU", "ACCT", "PORT", "PASV", "EPRT", "EPSV",
];
/// Commands whose argument names a file or directory (logged as a URL).
const FILE_CMDS: &[&str] = &[
    "APPE", "CWD", "DELE", "MKD", "RETR", "RMD", "RNFR", "RNTO", "STOR", "STOU", "REST", "SIZE",
    "MDTM",
];
/// Logins whose password Zeek shows.
const GUEST_IDS: &[&str] = &["anonymous", "ftp", "ftpuser", "guest"];

/// The replies each command may get (RFC 959 5.4 and the extensions'
/// RFCs), as Zeek's `cmd_reply_code` lists them; `<init>` stands for the
/// server's greeting.
fn expects(cmd: &str, code: u16) -> bool {
    const TRANSFER_IN: &[u16] = &[
        110, 125, 150, 226, 250, 421, 425, 426, 451, 551, 552, 532, 450, 452, 553, 500, 501, 530,
        550,
    ];
    let codes: &[u16] = match cmd {
        "<init>" => &[0, 120, 220, 421],
        "USER" => &[230, 331, 332, 421, 530, 500, 501],
        "PASS" => &[230, 202, 332, 421, 530, 500, 501, 503],
        "ACCT" => &[230, 202, 421, 530, 500, 501, 503],
        "CWD" => &[250, 421, 500, 501, 502, 530, 550],
        "CDUP" => &[200, 250, 421, 500, 501, 502, 530, 550],
        "SMNT" => &[202, 250, 421, 500, 501, 502, 530, 550],
        "REIN" => &[120, 220, 421, 500, 502],
        "QUIT" => &[0, 221, 500],
        "PORT" => &[200, 421, 500, 501, 530],
        "PASV" => &[227, 421, 500, 501, 502, 530],
        "MODE" | "STRU" => &[200, 421, 500, 501, 504, 530],
        "TYPE" => &[200, 421, 500, 501, 504, 530],
        "ALLO" => &[200, 202, 421, 500, 501, 504, 530],
        "REST" => &[200, 350, 421, 500, 501, 502, 530],
        "STOR" | "STOU" => TRANSFER_IN,
        "RETR" => &[
            110, 125, 150, 226, 250, 421, 425, 426, 451, 450, 500, 501, 530, 550,
        ],
        "LIST" | "NLST" => &[
            125, 150, 226, 250, 421, 425, 426, 451, 450, 500, 501, 502, 530, 550,
        ],
        "APPE" => &[
            125, 150, 226, 250, 421, 425, 426, 451, 551, 552, 532, 450, 550, 452, 553, 500, 501,
            502, 530,
        ],
        "RNFR" => &[350, 421, 450, 550, 500, 501, 502, 530],
        "RNTO" => &[250, 421, 532, 553, 500, 501, 502, 503, 530],
        "DELE" => &[250, 421, 450, 550, 500, 501, 502, 530],
        "RMD" => &[250, 421, 500, 501, 502, 530, 550],
        "MKD" => &[257, 421, 500, 501, 502, 530, 550],
        "PWD" => &[257, 421, 500, 501, 502, 550],
        "ABOR" => &[225, 226, 421, 500, 501, 502],
        "SYST" => &[215, 421, 500, 501, 502, 530],
        "STAT" => &[211, 212, 213, 421, 450, 500, 501, 502, 530],
        "HELP" => &[200, 211, 214, 421, 500, 501, 502],
        "SITE" => &[200, 202, 214, 500, 501, 502, 530],
        "NOOP" => &[200, 421, 500],
        "LPRT" => &[500, 501, 521],
        "FEAT" => &[211, 500, 502],
        "OPTS" => &[200, 451, 501],
        "EPSV" => &[229, 500, 501],
        "EPRT" => &[200, 500, 501, 522],
        "SIZE" | "MDTM" => &[213, 500, 501, 550],
        "MLST" | "MLSD" => &[150, 226, 250, 500, 501, 550],
        "CLNT" => &[200, 500],
        "MACB" => &[200, 500, 550],
        "<missing>" => &[0],
        _ => &[],
    };
    codes.contains(&code)
}

/// A command waiting for, or matched with, its reply.
#[derive(Clone, Debug)]
struct Cmd {
    ts: i64,
    seq: u64,
    cmd: String,
    arg: String,
    /// Its argument already moved the working directory.
    cwd_consumed: bool,
}

/// Where the data connection of the next transfer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataChannel {
    pub passive: bool,
    pub orig_h: IpAddr,
    pub resp_h: IpAddr,
    pub resp_p: u16,
}

/// One reply line as Zeek's analyzer reports it: the code (0 on a line
/// inside a multi-line reply), the text after it, and whether more lines
/// of the same reply follow.
#[derive(Debug, PartialEq, Eq)]
struct Reply<'a> {
    code: u16,
    msg: &'a [u8],
    cont: bool,
}

fn reply_code(line: &[u8]) -> u16 {
    match line.get(..3) {
        Some(d) if d.iter().all(u8::is_ascii_digit) => {
            d.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0'))
        }
        _ => 0,
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| **c == b' ' || **c == b'\t').count();
    &b[n..]
}

/// Splits a reply line; `pending` is the code of a multi-line reply in
/// progress (RFC 959 4.2: it ends with a line of the same code and a
/// space).
fn reply<'a>(line: &'a [u8], pending: &mut u16) -> Reply<'a> {
    let code = reply_code(line);
    if *pending != 0 {
        if code == *pending && line.get(3) == Some(&b' ') {
            *pending = 0;
            return Reply {
                code,
                msg: trim_start(&line[3..]),
                cont: false,
            };
        }
        return Reply {
            code: 0,
            msg: line,
            cont: true,
        };
    }
    if code > 0 && line.get(3) == Some(&b'-') {
        *pending = code;
        return Reply {
            code,
            msg: trim_start(&line[4..]),
            cont: true,
        };
    }
    let msg = if code > 0 { &line[3..] } else { line };
    Reply {
        code,
        msg: trim_start(msg),
        cont: false,
    }
}

/// The last number in `s` (Zeek's `extract_count(s, F)`: the size in
/// "Opening BINARY mode data connection for x (77 bytes)").
fn last_count(s: &str) -> Option<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
}

/// `h1,h2,h3,h4,p1,p2` (RFC 959 PORT, and the 227 reply's text): the
/// numbers after the first `(`, or from the first digit without one.
pub fn parse_port(s: &str) -> Option<(IpAddr, u16)> {
    let s = s.find('(').map_or(s, |i| &s[i + 1..]);
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let mut n = [0u16; 6];
    let mut parts = s[start..].split(',');
    for (i, x) in n.iter_mut().enumerate() {
        let p = parts.next()?;
        let p = if i == 5 {
            p.trim_end_matches(|c: char| !c.is_ascii_digit())
        } else {
            p
        };
        let v: u16 = p.trim().parse().ok()?;
        if v > 255 {
            return None;
        }
        *x = v;
    }
    let ip = Ipv4Addr::new(n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8);
    Some((IpAddr::V4(ip), n[4] << 8 | n[5]))
}

/// RFC 2428 `<d>proto<d>addr<d>port<d>` (EPRT; EPSV's reply leaves the
/// address empty: `(|||port|)`). The address is `None` when empty.
pub fn parse_eprt(s: &str) -> Option<(Option<IpAddr>, u16)> {
    let s = s.trim();
    let d = s.chars().next()?;
    let mut parts = s[d.len_utf8()..].split(d);
    let _proto = parts.next()?;
    let addr = parts.next()?;
    let port: u16 = parts.next()?.trim().parse().ok()?;
    let addr = if addr.is_empty() {
        None
    } else {
        Some(addr.parse().ok()?)
    };
    Some((addr, port))
}

/// The `(|||port|)` part of an EPSV reply.
fn parse_epsv(msg: &str) -> Option<(Option<IpAddr>, u16)> {
    let open = msg.find('(')?;
    let close = open + msg[open..].find(')')?;
    parse_eprt(&msg[open + 1..close])
}

/// A path with `//`, `/./` and `dir/..` taken out (Zeek's
/// `compress_path`); a leading `./` stays.
pub fn compress_path(p: &str) -> String {
    let absolute = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for (i, part) in p.split('/').enumerate() {
        match part {
            "" => {}
            "." if i > 0 => {}
            ".." if out.last().is_some_and(|l| *l != ".." && *l != ".") => {
                out.pop();
            }
            _ => out.push(part),
        }
    }
    let joined = out.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `file` in directory `dir` (Zeek's `build_path_compressed`).
fn build_path(dir: &str, file: &str) -> String {
    let absolute = file.starts_with('/') || file.get(1..3).is_some_and(|s| s == ":\\");
    let p = if absolute || dir.is_empty() {
        file.to_owned()
    } else if dir.ends_with('/') {
        format!("{dir}{file}")
    } else {
        format!("{dir}/{file}")
    };
    compress_path(&p)
}

/// The first absolute path in a PWD reply (quoted, or up to a space).
fn extract_path(msg: &str) -> Option<String> {
    if let Some(q) = msg.find("\"/") {
        let rest = &msg[q + 1..];
        let end = rest.find('"')?;
        return Some(rest[..end].to_owned());
    }
    let start = msg.find('/')?;
    let rest = &msg[start..];
    let end = rest.find([' ', '"']).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// An address as a URL host: IPv6 in brackets.
fn uri_host(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

/// Recognises an FTP control connection: a client's `USER` command on any
/// port (Zeek's FTP signature), or the server's greeting (`220`, or `120`
/// for "ready soon") on the ports Zeek registers FTP for.
pub fn probe(
    transport: Transport,
    id: &ConnId,
    dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    if transport != Transport::Tcp {
        return None;
    }
    let user = || {
        let line = trim_start(data);
        line.len() > 5 && line[..5].eq_ignore_ascii_case(b"USER ")
    };
    let greeting = || {
        matches!(id.resp_p, 21 | 2811)
            && matches!(reply_code(data), 120 | 220)
            && matches!(data.get(3), Some(b' ' | b'-'))
    };
    let ok = match dir {
        Dir::Orig => user(),
        Dir::Resp => greeting(),
    };
    ok.then(|| Box::new(Ftp::new()) as Box<dyn AppParser>)
}

pub struct Ftp {
    user: Option<String>,
    password: Option<String>,
    cwd: String,
    pending: VecDeque<Cmd>,
    seq: u64,
    /// The command the last reply was matched with, and that reply.
    current: Option<Cmd>,
    reply_code: Option<u16>,
    reply_msg: Option<String>,
    /// Code of a multi-line reply in progress.
    multiline: u16,
    file_size: Option<u64>,
    data_channel: Option<DataChannel>,
    /// Data channels announced and not yet handed to the engine.
    announced: Vec<Expected>,
    /// Both sides spoke FTP.
    confirmed: [bool; 2],
}

impl Ftp {
    fn new() -> Ftp {
        let mut f = Ftp {
            user: None,
            password: None,
            cwd: ".".to_owned(),
            pending: VecDeque::new(),
            seq: 0,
            current: None,
            reply_code: None,
            reply_msg: None,
            multiline: 0,
            file_size: None,
            data_channel: None,
            announced: Vec::new(),
            confirmed: [false; 2],
        };
        // A stand-in command for the greeting to answer.
        f.queue(0, "<init>".to_owned(), String::new());
        f
    }

    /// A data channel for the next transfer: logged with it, and announced
    /// so that conn.log names the channel `ftp-data` (Zeek's
    /// `add_expected_data_channel`).
    fn announce(&mut self, dc: DataChannel) {
        self.data_channel = Some(dc);
        if self.announced.len() < MAX_ANNOUNCED {
            self.announced.push(Expected {
                orig_h: dc.orig_h,
                resp_h: dc.resp_h,
                resp_p: dc.resp_p,
                service: "ftp-data",
            });
        }
    }

    fn queue(&mut self, ts: i64, cmd: String, arg: String) {
        self.seq += 1;
        self.pending.push_back(Cmd {
            ts,
            seq: self.seq,
            cmd,
            arg,
            cwd_consumed: false,
        });
    }

    fn remove_pending(&mut self, seq: u64) -> bool {
        let before = self.pending.len();
        self.pending.retain(|c| c.seq != seq);
        self.pending.len() != before
    }

    /// Zeek's `get_pending_cmd`: the queued command the reply fits best
    /// (expected code, then its name or argument in the text, then the
    /// oldest).
    fn match_reply(&self, code: u16, msg: &str) -> Option<Cmd> {
        self.pending
            .iter()
            .map(|c| {
                let mut score = 0;
                if code == 500 || expects(&c.cmd, code) {
                    score += 100;
                }
                // An empty argument is found in any text, as in Zeek.
                if msg.contains(c.cmd.as_str()) {
                    score += 20;
                }
                if msg.contains(c.arg.as_str()) {
                    score += 10;
                }
                (score, std::cmp::Reverse(c.seq), c)
            })
            .max_by_key(|(s, seq, _)| (*s, *seq))
            .map(|(_, _, c)| c.clone())
    }

    fn is_guest(&self) -> bool {
        self.user
            .as_deref()
            .is_some_and(|u| GUEST_IDS.contains(&u.to_ascii_lowercase().as_str()))
    }

    /// Writes the current command with its reply, if Zeek logs it.
    fn message(&mut self, ctx: &mut Ctx<'_, '_>) {
        let Some(cmd) = self.current.clone() else {
            return;
        };
        let arg = if FILE_CMDS.contains(&cmd.cmd.as_str()) {
            let mut path = build_path(&self.cwd, &cmd.arg);
            if !path.starts_with('/') {
                path.insert(0, '/');
            }
            format!("ftp://{}{path}", uri_host(ctx.flow.id.resp_h))
        } else {
            cmd.arg.clone()
        };
        let hidden = "<hidden>";
        let arg = if cmd.cmd == "PASS" && !self.is_guest() {
            hidden.to_owned()
        } else {
            arg
        };
        if LOGGED.contains(&cmd.cmd.as_str()) {
            let password = self.password.as_ref().map(|p| {
                if self.is_guest() {
                    p.clone()
                } else {
                    hidden.to_owned()
                }
            });
            let dc = self.data_channel;
            let mut c = crate::over_ip::at_time(ctx, cmd.ts);
            Row::flow(&c, &FTP_LOG)
                .push(self.user.clone())
                .push(password)
                .push(cmd.cmd.clone())
                .push((!arg.is_empty()).then_some(arg))
                .push(self.file_size.map_or(Value::Unset, Value::Count))
                .push(
                    self.reply_code
                        .map_or(Value::Unset, |c| Value::Count(u64::from(c))),
                )
                .push(self.reply_msg.clone())
                .push(dc.map(|d| d.passive))
                .push(dc.map(|d| d.orig_h))
                .push(dc.map(|d| d.resp_h))
                .push(dc.map_or(Value::Unset, |d| Value::Port(d.resp_p)))
                .emit(&mut c);
        }
        // These belong to one transfer command.
        self.file_size = None;
        self.data_channel = None;
    }

    fn request(&mut self, ctx: &mut Ctx<'_, '_>, line: &[u8]) {
        let line = trim_start(line);
        let end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
        let cmd = text::bytes(&line[..end], MAX_LINE).to_ascii_uppercase();
        let arg = text::bytes(trim_start(&line[end..]), MAX_LINE);
        if self.reply_code.is_some() {
            if let Some(seq) = self.current.as_ref().map(|c| c.seq) {
                if self.remove_pending(seq) {
                    self.message(ctx);
                }
            }
        }
        if self.pending.len() < MAX_PENDING {
            self.queue(ctx.ts, cmd.clone(), arg.clone());
        }
        match cmd.as_str() {
            "USER" => self.user = Some(text::bytes(arg.as_bytes(), MAX_USER)),
            "PASS" => self.password = Some(text::bytes(arg.as_bytes(), MAX_USER)),
            "PORT" | "EPRT" => {
                let target = if cmd == "PORT" {
                    parse_port(&arg).map(|(h, p)| (Some(h), p))
                } else {
                    parse_eprt(&arg)
                };
                if let Some((Some(h), p)) = target {
                    self.announce(DataChannel {
                        passive: false,
                        orig_h: ctx.flow.id.resp_h,
                        resp_h: h,
                        resp_p: p,
                    });
                }
            }
            _ => {}
        }
    }

    fn reply(&mut self, ctx: &mut Ctx<'_, '_>, line: &[u8]) {
        let r = reply(line, &mut self.multiline);
        let msg = text::bytes(r.msg, MAX_LINE);
        // Inside a multi-line reply, only lines that look like a reply of
        // their own (servers that never close the reply) count.
        if r.cont && r.code == 0 && self.reply_code.is_some() && !looks_like_reply(&msg) {
            return;
        }
        let Some(cmd) = self.match_reply(r.code, &msg) else {
            return;
        };
        self.reply_code = Some(r.code);
        self.reply_msg = Some(msg.clone());
        self.current = Some(cmd.clone());
        if r.cont {
            return;
        }
        match (r.code, cmd.cmd.as_str()) {
            (150, "RETR") | (213, "SIZE") => self.file_size = last_count(&msg),
            (227, "PASV") | (229, "EPSV") => {
                let target = if r.code == 227 {
                    parse_port(&msg).map(|(h, p)| (Some(h), p))
                } else {
                    parse_epsv(&msg)
                };
                if let Some((h, p)) = target {
                    let id = ctx.flow.id;
                    self.announce(DataChannel {
                        passive: true,
                        orig_h: id.orig_h,
                        resp_h: h.filter(|h| !h.is_unspecified()).unwrap_or(id.resp_h),
                        resp_p: p,
                    });
                }
            }
            _ => {}
        }
        let moves_cwd = matches!(
            (cmd.cmd.as_str(), r.code),
            ("CWD", 250) | ("CDUP", 200 | 250) | ("PWD" | "XPWD", 257)
        );
        if moves_cwd && !cmd.cwd_consumed {
            if let Some(c) = self.current.as_mut() {
                c.cwd_consumed = true;
            }
            if let Some(p) = self.pending.iter_mut().find(|p| p.seq == cmd.seq) {
                p.cwd_consumed = true;
            }
            match cmd.cmd.as_str() {
                "CWD" => self.cwd = build_path(&self.cwd, &cmd.arg),
                "CDUP" => self.cwd = build_path(&self.cwd, "/.."),
                _ => self.cwd = extract_path(&msg).unwrap_or_default(),
            }
        }
        if self.pending.len() > 1 {
            self.remove_pending(cmd.seq);
            self.message(ctx);
        }
    }
}

/// Three digits, a space and ten printable characters: a reply line
/// inside a multi-line reply that a broken server never closed.
fn looks_like_reply(msg: &str) -> bool {
    let b = msg.as_bytes();
    b.len() >= 14
        && matches!(b[0], b'1'..=b'9')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b' '
        && b[4..14].iter().all(|c| (0x20..0x7f).contains(c))
}

/// Data channels announced within one call into the parser.
const MAX_ANNOUNCED: usize = 16;

impl AppParser for Ftp {
    /// Named once both sides spoke, as Zeek confirms FTP on a reply to a
    /// command.
    fn service(&self) -> &'static str {
        if self.confirmed.iter().all(|c| *c) {
            "ftp"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(line) = next_line(data, &mut pos, MAX_LINE) {
            if line.is_empty() {
                continue;
            }
            match dir {
                Dir::Orig => self.request(ctx, line),
                Dir::Resp => self.reply(ctx, line),
            }
            self.confirmed[usize::from(!dir.is_orig())] = true;
            if dir == Dir::Resp {
                // The server names itself once it answers.
                ctx.out
                    .assets
                    .observe_role(ctx.ts, common::resp_host(ctx), descriptor::SERVER);
            }
        }
        pos
    }

    fn gap(&mut self, dir: Dir) {
        // Lines start again after the next line end; a multi-line reply
        // cut by the gap ends.
        if dir == Dir::Resp {
            self.multiline = 0;
        }
    }

    fn expected(&mut self) -> Vec<Expected> {
        std::mem::take(&mut self.announced)
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        // Commands still waiting are written with the last reply seen, as
        // Zeek's removal hook does.
        let waiting: Vec<Cmd> = self.pending.drain(..).collect();
        for c in waiting {
            self.current = Some(c);
            self.message(ctx);
        }
    }
}

#[cfg(test)]
mod tests;
