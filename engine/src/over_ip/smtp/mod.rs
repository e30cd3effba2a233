//! SMTP (RFC 5321, with RFC 3030's BDAT and RFC 3207's STARTTLS) as Zeek's
//! `smtp.log`: one row per message transaction, with the envelope (HELO,
//! MAIL FROM, RCPT TO), the server's last reply, and the message's top
//! headers (RFC 5322: Date, From, To, Cc, Reply-To, Message-ID,
//! In-Reply-To, Subject, X-Originating-IP, the Received chain as a path of
//! addresses, the mailer). Bodies are skipped, never kept.
//!
//! Zeek's script defines when a row is written: when the server accepts
//! the end of a message (the reply to the final `.` or to `BDAT ... LAST`),
//! when a new MAIL FROM starts before that was seen, or when the
//! connection ends, and only if the client did something in it. After
//! STARTTLS the rest goes to the TLS parser, as Zeek hands it to its SSL
//! analyzer: the row notes `tls`, the handshake goes to the `tls` log and
//! conn.log's service becomes `smtp,ssl`.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{next_line, Row};
use crate::over_ip::tls::Tls;
use crate::over_ip::{at_time, AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;

pub static SMTP_LOG: LogSchema = LogSchema {
    path: "smtp",
    fields: flow_fields![
        field("trans_depth", T::Count),
        field("helo", T::String),
        field("mailfrom", T::String),
        field("rcptto", T::SetString),
        field("date", T::String),
        field("from", T::String),
        field("to", T::SetString),
        field("cc", T::SetString),
        field("reply_to", T::String),
        field("msg_id", T::String),
        field("in_reply_to", T::String),
        field("subject", T::String),
        field("x_originating_ip", T::Addr),
        field("first_received", T::String),
        field("second_received", T::String),
        field("last_reply", T::String),
        field("path", T::VectorString),
        field("user_agent", T::String),
        field("tls", T::Bool),
    ],
};

/// Longest command, reply or header line read (RFC 5321 allows 512 for
/// commands, RFC 5322 998 for header lines).
const MAX_LINE: usize = 4096;
/// Addresses kept per set, and path entries (Zeek's limits are 1000;
/// a row stays small here).
const MAX_ADDRS: usize = 100;
/// Commands waiting for their reply (pipelining).
const MAX_PENDING: usize = 32;
/// Longest header kept, folded lines joined.
const MAX_HEADER: usize = 8192;

/// The row of the transaction in progress.
#[derive(Default)]
struct Info {
    ts: i64,
    trans_depth: u64,
    helo: Option<String>,
    mailfrom: Option<String>,
    rcptto: Option<BTreeSet<String>>,
    date: Option<String>,
    from: Option<String>,
    to: Option<BTreeSet<String>>,
    cc: Option<BTreeSet<String>>,
    reply_to: Option<String>,
    msg_id: Option<String>,
    in_reply_to: Option<String>,
    subject: Option<String>,
    x_originating_ip: Option<IpAddr>,
    first_received: Option<String>,
    second_received: Option<String>,
    last_reply: Option<String>,
    path: Vec<IpAddr>,
    user_agent: Option<String>,
    tls: bool,
    has_client_activity: bool,
}

/// Where the client's stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Commands,
    /// Message headers after DATA (or in a BDAT chunk).
    Headers,
    /// The body, up to the line with a single dot.
    Body,
    /// Encrypted after STARTTLS, or given up on.
    Done,
}

/// Whether `s` starts with `p`, ignoring ASCII case.
fn prefix(s: &str, p: &str) -> bool {
    s.as_bytes()
        .get(..p.len())
        .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
}

/// Email addresses in `s` (Zeek's `extract_email_addrs_vec`): runs of
/// `local@domain` between separators.
pub fn email_addrs(s: &str) -> Vec<String> {
    let sep = |c: char| matches!(c, '<' | '>' | ',' | ':' | ';' | ' ' | '\t');
    s.split(sep)
        .filter(|w| w.find('@').is_some_and(|at| at > 0 && at + 1 < w.len()))
        .map(str::to_owned)
        .collect()
}

/// The parts of an address header split on commas outside quotes, trimmed
/// (Zeek's `split_mime_email_addresses`).
pub fn split_addresses(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == ',' && !quoted {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// IPv4 and bracketed IPv6 addresses in `s`, in order.
fn ip_addresses(s: &str) -> Vec<IpAddr> {
    s.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .filter_map(|w| {
            let w = w.strip_prefix("IPv6:").unwrap_or(w);
            w.trim_matches(|c| c == '.' || c == ':').parse().ok()
        })
        .filter(|a: &IpAddr| a.is_ipv4() || s.contains('['))
        .collect()
}

/// Recognises SMTP: a client's EHLO or HELO on any port, or a server's
/// greeting on the ports Zeek registers SMTP for.
pub fn probe(
    transport: Transport,
    id: &ConnId,
    dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    if transport != Transport::Tcp {
        return None;
    }
    let ok = match dir {
        Dir::Orig => {
            data.len() > 5
                && (data[..5].eq_ignore_ascii_case(b"EHLO ")
                    || data[..5].eq_ignore_ascii_case(b"HELO "))
        }
        Dir::Resp => {
            matches!(id.resp_p, 25 | 587)
                && data.starts_with(b"220")
                && matches!(data.get(3), Some(b' ' | b'-'))
        }
    };
    ok.then(|| Box::new(Smtp::new()) as Box<dyn AppParser>)
}

pub struct Smtp {
    info: Option<Info>,
    helo: Option<String>,
    messages: u64,
    pending: VecDeque<String>,
    client: Client,
    /// Bytes of the current BDAT chunk still to come.
    chunk_left: usize,
    bdat_last: bool,
    /// A header being read, with its folded continuation lines.
    header: Option<(String, String)>,
    /// The client and the server both spoke.
    confirmed: [bool; 2],
    /// The TLS session the server's 220 to STARTTLS began.
    starttls: Option<Tls>,
}

impl Smtp {
    fn new() -> Smtp {
        Smtp {
            info: None,
            helo: None,
            messages: 0,
            pending: VecDeque::new(),
            client: Client::Commands,
            chunk_left: 0,
            bdat_last: false,
            header: None,
            confirmed: [false; 2],
            starttls: None,
        }
    }

    fn info(&mut self, ctx: &Ctx<'_, '_>) -> &mut Info {
        let (messages, helo) = (self.messages, self.helo.clone());
        self.info.get_or_insert_with(|| Info {
            ts: ctx.ts,
            trans_depth: messages + 1,
            helo,
            // The path ends with the hosts of this connection.
            path: vec![ctx.flow.id.resp_h, ctx.flow.id.orig_h],
            ..Info::default()
        })
    }

    /// Writes the transaction if the client did anything in it; a new one
    /// starts.
    fn message(&mut self, ctx: &mut Ctx<'_, '_>) {
        if !self.info.as_ref().is_some_and(|i| i.has_client_activity) {
            return;
        }
        if let Some(i) = self.info.take() {
            log(ctx, i);
        }
        self.info(ctx);
    }

    fn command(&mut self, ctx: &mut Ctx<'_, '_>, line: &[u8]) {
        let end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
        let cmd = text::bytes(&line[..end], MAX_LINE).to_ascii_uppercase();
        let arg = text::bytes(line.get(end + 1..).unwrap_or_default(), MAX_LINE);
        self.info(ctx);
        match cmd.as_str() {
            "HELO" | "EHLO" => {
                self.helo = Some(arg.clone());
                self.info(ctx).helo = Some(arg);
            }
            "RCPT" if prefix(&arg, "TO:") => {
                let i = self.info(ctx);
                let set = i.rcptto.get_or_insert_with(BTreeSet::new);
                for a in email_addrs(&arg) {
                    if set.len() >= MAX_ADDRS {
                        break;
                    }
                    set.insert(a.replace("ORCPT=rfc822;", "").replace("ORCPT=rfc822", ""));
                }
                i.has_client_activity = true;
            }
            "MAIL" if prefix(&arg, "FROM:") => {
                // The previous message may not have been acknowledged.
                self.message(ctx);
                let i = self.info(ctx);
                if let Some(a) = email_addrs(&arg).into_iter().next() {
                    i.mailfrom = Some(a);
                }
                i.has_client_activity = true;
            }
            "BDAT" => {
                let mut words = arg.split_ascii_whitespace();
                self.chunk_left = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                if words.next().is_some_and(|w| w.eq_ignore_ascii_case("LAST")) {
                    self.bdat_last = true;
                }
                if self.chunk_left > 0 {
                    self.client = Client::Headers;
                }
            }
            _ => {}
        }
        if self.pending.len() < MAX_PENDING {
            self.pending.push_back(cmd);
        }
    }

    /// One line of the message (DATA content or a BDAT chunk).
    fn content(&mut self, ctx: &mut Ctx<'_, '_>, line: &[u8], in_data: bool) {
        if in_data && line == b"." {
            self.end_header(ctx);
            self.client = Client::Commands;
            if self.pending.len() < MAX_PENDING {
                self.pending.push_back(".".to_owned());
            }
            return;
        }
        if self.client != Client::Headers {
            return;
        }
        if line.is_empty() {
            self.end_header(ctx);
            self.client = Client::Body;
            return;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, v)) = self.header.as_mut() {
                if v.len() < MAX_HEADER {
                    text::push_bytes(v, line);
                }
            }
            return;
        }
        self.end_header(ctx);
        // Dot-stuffing (RFC 5321 4.5.2) is undone on DATA lines.
        let line = if in_data && line.starts_with(b"..") {
            &line[1..]
        } else {
            line
        };
        if let Some(colon) = line.iter().position(|&c| c == b':') {
            let name = text::bytes(line[..colon].trim_ascii(), MAX_LINE).to_ascii_uppercase();
            let value = text::bytes(line[colon + 1..].trim_ascii_start(), MAX_HEADER);
            self.header = Some((name, value));
        }
    }

    /// A whole header of the message (Zeek's `mime_one_header`).
    fn end_header(&mut self, ctx: &mut Ctx<'_, '_>) {
        let Some((name, value)) = self.header.take() else {
            return;
        };
        let i = self.info(ctx);
        let set = |s: &mut Option<BTreeSet<String>>, v: &str| {
            let set = s.get_or_insert_with(BTreeSet::new);
            for a in split_addresses(v) {
                if set.len() >= MAX_ADDRS {
                    break;
                }
                set.insert(a);
            }
        };
        match name.as_str() {
            "MESSAGE-ID" => i.msg_id = Some(value),
            "RECEIVED" => {
                let ips = ip_addresses(&value);
                // The second address if there are several (the first is
                // usually the host that announced itself).
                let ip = ips.get(1).or(ips.first()).copied();
                if let Some(ip) = ip {
                    if i.path.last() != Some(&ip) && i.path.len() < MAX_ADDRS {
                        i.path.push(ip);
                    }
                }
                i.second_received = i.first_received.take();
                i.first_received = Some(value);
            }
            "IN-REPLY-TO" => i.in_reply_to = Some(value),
            "SUBJECT" => i.subject = Some(value),
            "FROM" => i.from = Some(value),
            "REPLY-TO" => i.reply_to = Some(value),
            "DATE" => i.date = Some(value),
            "TO" => set(&mut i.to, &value),
            "CC" => set(&mut i.cc, &value),
            "X-ORIGINATING-IP" => {
                if let Some(a) = ip_addresses(&value).first() {
                    i.x_originating_ip = Some(*a);
                }
            }
            "X-MAILER" | "USER-AGENT" | "X-USER-AGENT" => i.user_agent = Some(value),
            _ => {}
        }
    }

    fn reply(&mut self, ctx: &mut Ctx<'_, '_>, line: &[u8]) {
        let code = line
            .get(..3)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.parse::<u16>().ok());
        let Some(code) = code else {
            return;
        };
        let cont = line.get(3) == Some(&b'-');
        let msg = text::bytes(line.get(4..).unwrap_or_default(), MAX_LINE);
        self.info(ctx).last_reply = Some(format!("{code} {msg}"));
        if cont {
            return;
        }
        // The greeting answers no command.
        let cmd = if self.confirmed[0] {
            self.pending.pop_front()
        } else {
            None
        };
        match cmd.as_deref() {
            Some("DATA") if code == 354 => self.client = Client::Headers,
            Some("STARTTLS") if code == 220 => {
                let i = self.info(ctx);
                i.tls = true;
                i.has_client_activity = true;
                self.client = Client::Done;
                self.starttls = Some(Tls::default());
            }
            _ => {}
        }
        let ends = match cmd.as_deref() {
            Some(".") => true,
            Some("BDAT") => std::mem::take(&mut self.bdat_last),
            _ => false,
        };
        if ends {
            self.messages += 1;
            self.message(ctx);
            // A new transaction starts even when nothing was written.
            self.info = None;
            self.info(ctx);
        }
    }
}

fn set_value(s: Option<BTreeSet<String>>) -> Value {
    s.map_or(Value::Unset, |s| Value::Strings(s.into_iter().collect()))
}

fn log(ctx: &mut Ctx<'_, '_>, i: Info) {
    let mut at = at_time(ctx, i.ts);
    Row::flow(&at, &SMTP_LOG)
        .push(Value::Count(i.trans_depth))
        .push(i.helo)
        .push(i.mailfrom)
        .push(set_value(i.rcptto))
        .push(i.date)
        .push(i.from)
        .push(set_value(i.to))
        .push(set_value(i.cc))
        .push(i.reply_to)
        .push(i.msg_id)
        .push(i.in_reply_to)
        .push(i.subject)
        .push(i.x_originating_ip)
        .push(i.first_received)
        .push(i.second_received)
        .push(i.last_reply)
        .push(Value::Strings(
            i.path.iter().map(ToString::to_string).collect(),
        ))
        .push(i.user_agent)
        .push(i.tls)
        .emit(&mut at);
}

impl AppParser for Smtp {
    fn service(&self) -> &'static str {
        if !self.confirmed.iter().all(|c| *c) {
            ""
        } else if self.starttls.as_ref().is_some_and(Tls::confirmed) {
            "smtp,ssl"
        } else {
            "smtp"
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if let Some(t) = self.starttls.as_mut() {
            return t.parse(ctx, dir, data);
        }
        let mut pos = 0;
        if dir == Dir::Resp {
            while let Some(line) = next_line(data, &mut pos, MAX_LINE) {
                self.reply(ctx, line);
                self.confirmed[1] = true;
                if let Some(t) = self.starttls.as_mut() {
                    // What follows the 220 is the server's TLS.
                    return pos + t.parse(ctx, dir, &data[pos..]);
                }
            }
            return pos;
        }
        loop {
            match self.client {
                Client::Done => return data.len(),
                _ if self.chunk_left > 0 => {
                    // A BDAT chunk: its lines are the message's, its end is
                    // by count.
                    let rest = &data[pos..];
                    let take = rest.len().min(self.chunk_left);
                    let chunk = &rest[..take];
                    let mut at = 0;
                    while let Some(line) = next_line(chunk, &mut at, MAX_LINE) {
                        self.content(ctx, line, false);
                    }
                    // An unfinished line at the chunk's end is left for
                    // the next segment unless the chunk ends here.
                    let used = if take == self.chunk_left { take } else { at };
                    if used == 0 && take < self.chunk_left {
                        return pos;
                    }
                    self.chunk_left -= used;
                    pos += used;
                    if self.chunk_left == 0 {
                        // The reply to the chunk answers its BDAT command.
                        self.end_header(ctx);
                        self.client = Client::Commands;
                    }
                }
                Client::Commands => {
                    let Some(line) = next_line(data, &mut pos, MAX_LINE) else {
                        return pos;
                    };
                    if !line.is_empty() {
                        self.command(ctx, line);
                        self.confirmed[0] = true;
                    }
                }
                Client::Headers | Client::Body => {
                    let Some(line) = next_line(data, &mut pos, MAX_LINE) else {
                        return pos;
                    };
                    self.content(ctx, line, true);
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir) {
        if let Some(t) = self.starttls.as_mut() {
            t.gap(dir);
        }
        if dir == Dir::Orig {
            self.header = None;
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(t) = self.starttls.as_mut() {
            t.finish(ctx);
        }
        self.end_header(ctx);
        if self.info.as_ref().is_some_and(|i| i.has_client_activity) {
            if let Some(i) = self.info.take() {
                log(ctx, i);
            }
        }
    }
}

#[cfg(test)]
mod tests;
