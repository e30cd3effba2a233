//! SIP (RFC 3261) over UDP, as Zeek's `sip.log`: one row a request and its
//! final response, with the headers Zeek keeps.
//!
//! Zeek's script defines how messages pair: a request opens a transaction
//! (retransmissions join it, adding their `Via` to `request_path`), each
//! response is written when it ends, and a final (non-1xx) response closes
//! the transaction, so a provisional response's row is followed by the
//! final one with the same request fields and both responses' `Via`.
//! Requests never answered are written when the connection ends. As in
//! Zeek, requests come from the connection's originator and responses from
//! its responder.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{next_line, Row};
use crate::over_ip::{at_time, AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};

pub static SIP_LOG: LogSchema = LogSchema {
    path: "sip",
    fields: flow_fields![
        field("trans_depth", T::Count),
        field("method", T::String),
        field("uri", T::String),
        field("date", T::String),
        field("request_from", T::String),
        field("request_to", T::String),
        field("response_from", T::String),
        field("response_to", T::String),
        field("reply_to", T::String),
        field("call_id", T::String),
        field("seq", T::String),
        field("subject", T::String),
        field("request_path", T::VectorString),
        field("response_path", T::VectorString),
        field("user_agent", T::String),
        field("status_code", T::Count),
        field("status_msg", T::String),
        field("warning", T::String),
        field("request_body_len", T::Count),
        field("response_body_len", T::Count),
        field("content_type", T::String),
    ],
};

/// Longest header line read.
const MAX_LINE: usize = 2048;
/// `Via` entries kept per path (retransmissions add one each).
const MAX_PATH: usize = 32;

/// The row being built for one transaction.
#[derive(Clone, Debug, Default)]
struct Info {
    ts: i64,
    trans_depth: u64,
    method: Option<String>,
    uri: Option<String>,
    date: Option<String>,
    request_from: Option<String>,
    request_to: Option<String>,
    response_from: Option<String>,
    response_to: Option<String>,
    reply_to: Option<String>,
    call_id: Option<String>,
    seq: Option<String>,
    subject: Option<String>,
    request_path: Vec<String>,
    response_path: Vec<String>,
    user_agent: Option<String>,
    status_code: Option<u64>,
    status_msg: Option<String>,
    warning: Option<String>,
    request_body_len: Option<u64>,
    response_body_len: Option<u64>,
    content_type: Option<String>,
}

/// `name / SIP/x.y` or `SIP/x.y code reason`.
enum StartLine {
    Request { method: String, uri: String },
    Reply { code: u64, reason: String },
}

fn start_line(line: &[u8]) -> Option<StartLine> {
    if let Some(rest) = line.strip_prefix(b"SIP/") {
        let mut parts = rest.splitn(3, |&c| c == b' ');
        let version = parts.next()?;
        if !version.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            return None;
        }
        let code = parts.next()?;
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let code = std::str::from_utf8(code).ok()?.parse().ok()?;
        let reason = text::bytes(parts.next().unwrap_or_default(), MAX_LINE);
        return Some(StartLine::Reply { code, reason });
    }
    let mut parts = line.splitn(3, |&c| c == b' ');
    let method = parts.next()?;
    // Zeek's analyzer takes methods of letters only.
    if method.is_empty() || !method.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let uri = parts.next()?;
    let version = parts.next()?;
    if !version.starts_with(b"SIP/") || uri.is_empty() {
        return None;
    }
    Some(StartLine::Request {
        method: text::bytes(method, MAX_LINE),
        uri: text::bytes(uri, MAX_LINE),
    })
}

/// The part before `;tag=` (or `; tag=`).
fn untagged(v: &str) -> String {
    let cut = [";tag=", "; tag="]
        .iter()
        .filter_map(|t| v.find(t))
        .min()
        .unwrap_or(v.len());
    v[..cut].to_owned()
}

/// The part of a `Via` before `;branch` (or `; branch`).
fn via(v: &str) -> String {
    let cut = [";branch", "; branch"]
        .iter()
        .filter_map(|t| v.find(t))
        .min()
        .unwrap_or(v.len());
    v[..cut].to_owned()
}

/// Leading decimal digits as a count (Zeek's `to_count` of the header).
fn count(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

/// Recognises SIP by a request or status line naming `SIP/`, on UDP (the
/// transport Zeek analyses SIP on).
pub fn probe(
    transport: Transport,
    _id: &ConnId,
    dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    if transport != Transport::Udp {
        return None;
    }
    let mut pos = 0;
    let line = next_line(data, &mut pos, MAX_LINE)?;
    let ok = match start_line(line)? {
        StartLine::Request { .. } => dir.is_orig(),
        StartLine::Reply { .. } => !dir.is_orig(),
    };
    ok.then(|| Box::new(Sip::default()) as Box<dyn AppParser>)
}

/// Zeek's per-connection SIP state: transactions by number, and which one
/// requests and responses currently add to.
#[derive(Default)]
pub struct Sip {
    /// At most two live at once (the current request's and response's).
    pending: Vec<(u64, Info)>,
    current_request: u64,
    current_response: u64,
    seen: bool,
}

impl Sip {
    fn slot(&mut self, ts: i64, key: u64) -> &mut Info {
        let i = match self.pending.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.pending.push((
                    key,
                    Info {
                        ts,
                        trans_depth: self.current_request,
                        ..Info::default()
                    },
                ));
                self.pending.len() - 1
            }
        };
        &mut self.pending[i].1
    }

    fn has(&self, key: u64) -> bool {
        self.pending.iter().any(|(k, _)| *k == key)
    }

    fn request(&mut self, ts: i64, method: String, uri: String, headers: &[(String, String)]) {
        let key = self.current_request;
        let info = self.slot(ts, key);
        info.method = Some(method);
        info.uri = Some(uri);
        for (name, value) in headers {
            if !self.has(self.current_request) {
                self.current_request += 1;
            }
            let key = self.current_request;
            let info = self.slot(ts, key);
            let v = value.clone();
            match name.as_str() {
                "CALL-ID" => info.call_id = Some(v),
                "CONTENT-LENGTH" | "L" => info.request_body_len = count(&v),
                "CSEQ" => info.seq = Some(v),
                "DATE" => info.date = Some(v),
                "FROM" | "F" => info.request_from = Some(untagged(&v)),
                "REPLY-TO" => info.reply_to = Some(v),
                "SUBJECT" | "S" => info.subject = Some(v),
                "TO" | "T" => info.request_to = Some(v),
                "USER-AGENT" => info.user_agent = Some(v),
                "VIA" | "V" if info.request_path.len() < MAX_PATH => {
                    info.request_path.push(via(&v))
                }
                _ => {}
            }
        }
    }

    fn reply(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        code: u64,
        reason: String,
        headers: &[(String, String)],
    ) {
        let ts = ctx.ts;
        let key = self.current_response;
        let info = self.slot(ts, key);
        info.status_code = Some(code);
        info.status_msg = Some(reason);
        for (name, value) in headers {
            if !self.has(self.current_response) {
                self.current_response += 1;
            }
            let key = self.current_response;
            let info = self.slot(ts, key);
            let v = value.clone();
            match name.as_str() {
                "CONTENT-LENGTH" | "L" => info.response_body_len = count(&v),
                "CONTENT-TYPE" | "C" => info.content_type = Some(v),
                "WARNING" => info.warning = Some(v),
                "FROM" | "F" => info.response_from = Some(untagged(&v)),
                "TO" | "T" => info.response_to = Some(v),
                "VIA" | "V" if info.response_path.len() < MAX_PATH => {
                    info.response_path.push(via(&v))
                }
                _ => {}
            }
        }
        // The response is whole: its row is written.
        let key = self.current_response;
        let info = self.slot(ts, key).clone();
        log(ctx, &info);
        let provisional = info.status_code.is_some_and(|c| (100..200).contains(&c));
        if !provisional {
            self.pending.retain(|(k, _)| *k != key);
        }
        let bye_ok = info.method.as_deref() == Some("BYE")
            && info.status_code.is_some_and(|c| (200..300).contains(&c));
        if info.method.is_none() || bye_ok {
            // The dialog is over: what is left (but the slot-0 leftovers)
            // is written and the state starts again.
            for (k, i) in std::mem::take(&mut self.pending) {
                if k != 0 {
                    log(ctx, &i);
                }
            }
            self.current_request = 0;
            self.current_response = 0;
        }
    }
}

fn log(ctx: &mut Ctx<'_, '_>, i: &Info) {
    let mut at = at_time(ctx, i.ts);
    let count = |v: Option<u64>| v.map_or(Value::Unset, Value::Count);
    Row::flow(&at, &SIP_LOG)
        .push(Value::Count(i.trans_depth))
        .push(i.method.clone())
        .push(i.uri.clone())
        .push(i.date.clone())
        .push(i.request_from.clone())
        .push(i.request_to.clone())
        .push(i.response_from.clone())
        .push(i.response_to.clone())
        .push(i.reply_to.clone())
        .push(i.call_id.clone())
        .push(i.seq.clone())
        .push(i.subject.clone())
        .push(Value::Strings(i.request_path.clone()))
        .push(Value::Strings(i.response_path.clone()))
        .push(i.user_agent.clone())
        .push(count(i.status_code))
        .push(i.status_msg.clone())
        .push(i.warning.clone())
        .push(count(i.request_body_len))
        .push(count(i.response_body_len))
        .push(i.content_type.clone())
        .emit(&mut at);
}

/// The headers of a message after its start line: names upper-cased,
/// values without the surrounding blanks.
fn headers(data: &[u8], mut pos: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(line) = next_line(data, &mut pos, MAX_LINE) {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = text::bytes(line[..colon].trim_ascii(), MAX_LINE).to_ascii_uppercase();
        let value = text::bytes(line[colon + 1..].trim_ascii(), MAX_LINE);
        out.push((name, value));
    }
    out
}

impl AppParser for Sip {
    fn service(&self) -> &'static str {
        if self.seen {
            "sip"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        let Some(first) = next_line(data, &mut pos, MAX_LINE) else {
            return data.len();
        };
        match (start_line(first), dir) {
            (Some(StartLine::Request { method, uri }), Dir::Orig) => {
                self.seen = true;
                let h = headers(data, pos);
                self.request(ctx.ts, method, uri, &h);
            }
            (Some(StartLine::Reply { code, reason }), Dir::Resp) => {
                self.seen = true;
                let h = headers(data, pos);
                self.reply(ctx, code, reason, &h);
            }
            // Junk, or a message against the connection's roles.
            _ => {}
        }
        data.len()
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        for (_, i) in std::mem::take(&mut self.pending) {
            log(ctx, &i);
        }
    }
}

#[cfg(test)]
mod tests;
