//! HTTP/1.x on any port: Zeek's `http.log`, one row per request/response
//! pair, in order (pipelined requests queue up to [`MAX_PENDING`]).
//!
//! Each direction is a small state machine: a head (request or status line
//! and headers, at most [`MAX_HEAD`] bytes), then a body framed by
//! Content-Length, chunked encoding, or the end of the connection. Bodies
//! are counted, never kept. After bytes that are not HTTP, a direction
//! waits for the next line that starts a request or a response.
//!
//! A content gap is read as Zeek's HTTP analyzer reads it
//! (`HTTP_Analyzer::Undelivered`): inside a body whose first bytes were
//! seen and whose Content-Length or chunk still covers it, the lost bytes
//! count into the body length and parsing goes on; anywhere else it ends
//! the message under way (a gap on the client's side ends the response
//! under way too). Zeek then parses that direction no more; the sensor
//! waits for the next line that starts a message, as every parser here
//! resynchronises after lost bytes.

pub mod descriptor;
pub mod websocket;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::Row;
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME, MAX_TEXT};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use websocket::{Handshake, WebSocket};

pub static HTTP_LOG: LogSchema = LogSchema {
    path: "http",
    fields: flow_fields![
        field("trans_depth", T::Count),
        field("method", T::String),
        field("host", T::String),
        field("uri", T::String),
        field("referrer", T::String),
        field("version", T::String),
        field("user_agent", T::String),
        field("origin", T::String),
        field("request_body_len", T::Count),
        field("response_body_len", T::Count),
        field("status_code", T::Count),
        field("status_msg", T::String),
        field("info_code", T::Count),
        field("info_msg", T::String),
        field("proxied", T::SetString),
    ],
};

/// Requests waiting for their response, per connection.
pub const MAX_PENDING: usize = 32;
/// Largest request or response head (start line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Requests written without their response because [`MAX_PENDING`] was hit.
pub static PENDING_EVICTED: AtomicU64 = AtomicU64::new(0);

/// Headers Zeek reports in `proxied`.
const PROXY_HEADERS: [&str; 7] = [
    "FORWARDED",
    "X-FORWARDED-FOR",
    "X-FORWARDED-FROM",
    "CLIENT-IP",
    "VIA",
    "XROXY-CONNECTION",
    "PROXY-CONNECTION",
];

/// A request line: `METHOD URI HTTP/x.y`, or `METHOD URI` for HTTP/0.9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
    /// `None` for HTTP/0.9.
    pub version: Option<&'a [u8]>,
}

impl<'a> RequestLine<'a> {
    pub fn parse(line: &'a [u8]) -> Option<RequestLine<'a>> {
        let mut parts = line.splitn(3, |&c| c == b' ');
        let method = parts.next()?;
        if method.is_empty()
            || method.len() > 32
            || !method
                .iter()
                .all(|c| c.is_ascii_uppercase() || *c == b'-' || *c == b'_')
        {
            return None;
        }
        let second = parts.next()?;
        let (uri, version) = match parts.next() {
            // Zeek takes any version text; the reply's version wins.
            Some(v) => (second, Some(v.strip_prefix(b"HTTP/")?)),
            // `METHOD HTTP/1.1`: a request without a URI.
            None => match second.strip_prefix(b"HTTP/") {
                Some(v) if is_version(v) => (&b""[..], Some(v)),
                _ => (second, None),
            },
        };
        Some(RequestLine {
            method,
            uri,
            version,
        })
    }
}

/// A status line: `HTTP/x.y CODE reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    pub version: &'a [u8],
    pub code: u16,
    pub reason: &'a [u8],
}

impl<'a> StatusLine<'a> {
    pub fn parse(line: &'a [u8]) -> Option<StatusLine<'a>> {
        let rest = line.strip_prefix(b"HTTP/")?;
        let sp = rest.iter().position(|&c| c == b' ')?;
        let version = &rest[..sp];
        if !is_version(version) {
            return None;
        }
        let rest = &rest[sp + 1..];
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|&c| c != b' ') {
            return None;
        }
        let code = digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        Some(StatusLine {
            version,
            code,
            reason: rest.get(4..).unwrap_or_default(),
        })
    }
}

fn is_version(v: &[u8]) -> bool {
    matches!(v, [a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

/// The head of a message: where it ends, and its start line and header
/// lines. `None` until the blank line that ends it has arrived.
pub fn split_head(b: &[u8]) -> Option<(usize, impl Iterator<Item = &[u8]>)> {
    let mut end = None;
    let mut i = 0;
    while let Some(nl) = b[i..].iter().position(|&c| c == b'\n') {
        let line = &b[i..i + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && i > 0 {
            end = Some(i + nl + 1);
            break;
        }
        i += nl + 1;
    }
    let end = end?;
    let lines = b[..end]
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty());
    Some((end, lines))
}

fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&c| c == b':')?;
    Some((&line[..colon], line[colon + 1..].trim_ascii()))
}

/// Header lines most read of one head.
const MAX_HEADERS: usize = 128;

/// The headers of a head's lines (after the start line), names and values,
/// a line that starts with a space or a tab continuing the value before
/// it (obsolete line folding, which Zeek's MIME reader still joins).
fn headers<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Vec<(&'a [u8], Cow<'a, [u8]>)> {
    let mut out: Vec<(&[u8], Cow<[u8]>)> = Vec::new();
    for l in lines {
        if l.starts_with(b" ") || l.starts_with(b"\t") {
            if let Some((_, value)) = out.last_mut() {
                let mut joined = value.to_vec();
                joined.extend_from_slice(l);
                *value = Cow::Owned(joined.trim_ascii().to_vec());
            }
            continue;
        }
        if out.len() >= MAX_HEADERS {
            break;
        }
        if let Some((name, value)) = header(l) {
            out.push((name, Cow::Borrowed(value)));
        }
    }
    out
}

/// The first line of `data`, if it has arrived.
fn first_line(data: &[u8]) -> Option<&[u8]> {
    let nl = data.iter().position(|&c| c == b'\n')?;
    let l = &data[..nl];
    Some(l.strip_suffix(b"\r").unwrap_or(l))
}

/// Methods recognised before their request line is complete.
const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"TRACE ",
    b"PATCH ",
];

/// Recognises HTTP by a request or status line, on any port. A segment
/// too short to hold the whole line is recognised by a standard method or
/// the `HTTP/1.` of a status line.
pub fn probe(
    transport: Transport,
    _id: &ConnId,
    _dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    if transport != Transport::Tcp {
        return None;
    }
    let head = &data[..data.len().min(MAX_HEAD)];
    let Some(line) = first_line(head) else {
        let partial = METHODS.iter().any(|m| head.starts_with(m)) || head.starts_with(b"HTTP/1.");
        return partial.then(|| Box::new(Http::default()) as Box<dyn AppParser>);
    };
    let ok = RequestLine::parse(line)
        .is_some_and(|r| r.version.is_some() || (r.method.len() >= 3 && r.uri.starts_with(b"/")))
        || StatusLine::parse(line).is_some();
    ok.then(|| Box::new(Http::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
struct Tx {
    ts: i64,
    depth: u64,
    method: Option<String>,
    host: Option<String>,
    uri: Option<String>,
    referrer: Option<String>,
    version: Option<String>,
    user_agent: Option<String>,
    origin: Option<String>,
    request_body_len: u64,
    response_body_len: u64,
    status_code: Option<u16>,
    status_msg: Option<String>,
    info_code: Option<u16>,
    info_msg: Option<String>,
    proxied: Vec<String>,
    /// The request was HTTP/0.9: the reply is a bare body.
    simple: bool,
    /// An HTTP/0.9 request line came without the blank line that would
    /// end its (empty) header: Zeek's request message stays open until the
    /// client's side closes.
    open_request: bool,
    has_response: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Body {
    #[default]
    None,
    Length(u64),
    /// Chunked: waiting for a size line (`Size`), inside a chunk with this
    /// many bytes left (`Data`), or reading trailers (`Trailer`).
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailer,
    /// Until the connection closes. Zeek reads such a body line by line
    /// (`lines`) unless the server said `Connection: close` on this
    /// connection or the body is compressed, and counts each line end as
    /// two bytes, a bare CR or LF too; `cr`: the last byte was a CR;
    /// `open`: a line has begun and not ended (Zeek ends it at the close,
    /// two bytes more).
    ToClose { lines: bool, cr: bool, open: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Head,
    Body(Body),
    /// Lost: wait for a line that starts a message.
    Resync,
    /// CONNECT succeeded or the protocol switched: not HTTP any more.
    Tunnel,
}

pub struct Http {
    pending: VecDeque<Tx>,
    depth: u64,
    modes: [Mode; 2],
    /// What runs through a CONNECT tunnel, found as on a connection of its
    /// own (Zeek hands the tunnel to protocol detection).
    tunnel: Option<Box<dyn AppParser>>,
    /// First payloads of the tunnel left to try recognising.
    tunnel_probes: u8,
    /// The protocol switched to WebSocket (101 with `Upgrade: websocket`).
    websocket: Option<Box<WebSocket>>,
    /// The `Sec-WebSocket-*` headers seen so far.
    handshake: Option<Handshake>,
    /// Where HTTP carried in WebSocket frames stands, per direction, while
    /// the connection's own `modes` follow the frames.
    framed_modes: [Mode; 2],
    /// Parsing that HTTP now: a switch inside it is not followed.
    in_frames: bool,
    /// A content gap ended a response: it is written with the next call
    /// that can write (a gap has no context to write with).
    ended_by_gap: bool,
    /// A reply said `Connection: close` (or the exchange is HTTP/0.9):
    /// Zeek reads later bodies that run to the close as plain bytes.
    connection_close: bool,
}

impl Default for Http {
    fn default() -> Http {
        Http {
            pending: VecDeque::new(),
            depth: 0,
            modes: [Mode::Head; 2],
            tunnel: None,
            tunnel_probes: TUNNEL_PROBES,
            websocket: None,
            handshake: None,
            framed_modes: [Mode::Head; 2],
            in_frames: false,
            ended_by_gap: false,
            connection_close: false,
        }
    }
}

/// Payloads of a CONNECT tunnel tried before it is taken for opaque.
const TUNNEL_PROBES: u8 = 4;

/// conn.log's service for HTTP with `inner` through it, and WebSocket
/// between them when `websocket`: the names joined in sorted order, as
/// Zeek writes its service set. Only the TCP services the engine names are
/// listed; another inner name leaves `http` (and `websocket`).
fn with_http(inner: Option<&str>, websocket: bool) -> &'static str {
    const JOINED: [(&str, &str, &str); 17] = [
        ("ssl", "http,ssl", "http,ssl,websocket"),
        ("ssh", "http,ssh", "http,ssh,websocket"),
        ("smtp", "http,smtp", "http,smtp,websocket"),
        ("smtp,ssl", "http,smtp,ssl", "http,smtp,ssl,websocket"),
        ("ftp", "ftp,http", "ftp,http,websocket"),
        ("mqtt", "http,mqtt", "http,mqtt,websocket"),
        ("sip", "http,sip", "http,sip,websocket"),
        ("dns", "dns,http", "dns,http,websocket"),
        ("modbus", "http,modbus", "http,modbus,websocket"),
        ("dnp3_tcp", "dnp3_tcp,http", "dnp3_tcp,http,websocket"),
        ("iec104", "http,iec104", "http,iec104,websocket"),
        ("mms", "http,mms", "http,mms,websocket"),
        (
            "opcua-binary",
            "http,opcua-binary",
            "http,opcua-binary,websocket",
        ),
        ("cotp,s7comm", "cotp,http,s7comm", "cotp,http,s7comm,websocket"),
        (
            "cotp,s7comm-plus",
            "cotp,http,s7comm-plus",
            "cotp,http,s7comm-plus,websocket",
        ),
        ("syslog", "http,syslog", "http,syslog,websocket"),
        // HTTP through a WebSocket (wstunnel) adds no name.
        ("http", "http", "http,websocket"),
    ];
    let found = inner.and_then(|i| JOINED.iter().find(|j| j.0 == i));
    match (found, websocket) {
        (Some(j), false) => j.1,
        (Some(j), true) => j.2,
        (None, false) => "http",
        (None, true) => "http,websocket",
    }
}

impl Http {
    fn log(ctx: &mut Ctx<'_, '_>, tx: Tx) {
        let mut at = crate::over_ip::at_time(ctx, tx.ts);
        Row::flow(&at, &HTTP_LOG)
            .push(Value::Count(tx.depth))
            .push(tx.method)
            .push(tx.host)
            .push(tx.uri)
            .push(tx.referrer)
            .push(tx.version)
            .push(tx.user_agent)
            .push(tx.origin)
            .push(Value::Count(tx.request_body_len))
            .push(Value::Count(tx.response_body_len))
            .push(
                tx.status_code
                    .map_or(Value::Unset, |c| Value::Count(u64::from(c))),
            )
            .push(tx.status_msg)
            .push(
                tx.info_code
                    .map_or(Value::Unset, |c| Value::Count(u64::from(c))),
            )
            .push(tx.info_msg)
            .push(if tx.proxied.is_empty() {
                Value::Unset
            } else {
                Value::Strings(tx.proxied)
            })
            .emit(&mut at);
    }

    /// The transaction a response belongs to: the oldest without one, or a
    /// new one for a response nobody asked for.
    fn response_tx(&mut self, ts: i64) -> &mut Tx {
        let i = match self.pending.iter().position(|t| !t.has_response) {
            Some(i) => i,
            None => {
                self.depth += 1;
                self.pending.push_back(Tx {
                    ts,
                    depth: self.depth,
                    ..Tx::default()
                });
                self.pending.len() - 1
            }
        };
        &mut self.pending[i]
    }

    fn request_head(&mut self, ctx: &mut Ctx<'_, '_>, data: &[u8]) -> Option<usize> {
        let line = first_line(data)?;
        let req = RequestLine::parse(line)?;
        // Zeek reads header lines after an HTTP/0.9 request line too, but
        // such a request may also be the bare line.
        let end = match split_head(data) {
            Some((end, _)) => end,
            None if req.version.is_none() => data.iter().position(|&c| c == b'\n')? + 1,
            None => return None,
        };
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                PENDING_EVICTED.fetch_add(1, Ordering::Relaxed);
                Self::log(ctx, old);
            }
        }
        self.depth += 1;
        let mut tx = Tx {
            ts: ctx.ts,
            depth: self.depth,
            method: Some(text::bytes(req.method, MAX_NAME)),
            uri: Some(unescape_uri(req.uri)),
            simple: req.version.is_none(),
            open_request: req.version.is_none() && split_head(data).is_none(),
            ..Tx::default()
        };
        let mut framing = Framing::new(req.version == Some(b"1.1"), false);
        if let Some((_, lines)) = split_head(data) {
            for (name, value) in &headers(lines.skip(1)) {
                let value: &[u8] = value;
                let v = || Some(text::bytes(value, MAX_TEXT));
                let mut buf = [0u8; 32];
                match upper(name, &mut buf) {
                    b"HOST" => tx.host = v(),
                    b"REFERER" => tx.referrer = v(),
                    b"USER-AGENT" => tx.user_agent = v(),
                    b"ORIGIN" => tx.origin = v(),
                    n => {
                        Handshake::header(&mut self.handshake, true, n, value);
                        framing.header(n, value);
                        if let Some(p) = PROXY_HEADERS.iter().find(|p| p.as_bytes() == n) {
                            if tx.proxied.len() < 8 {
                                tx.proxied
                                    .push(format!("{p} -> {}", text::bytes(value, MAX_NAME)));
                            }
                        }
                    }
                }
            }
        }
        // A request without a length or chunks has no body.
        let body = framing.body().unwrap_or(Body::None);
        self.pending.push_back(tx);
        self.modes[0] = Mode::Body(body);
        Some(end)
    }

    fn response_head(&mut self, ctx: &mut Ctx<'_, '_>, data: &[u8]) -> Option<usize> {
        let simple = self
            .pending
            .iter()
            .find(|t| !t.has_response)
            .is_some_and(|t| t.simple);
        if simple {
            // The reply to an HTTP/0.9 request is a bare body, whatever it
            // looks like.
            let tx = self.response_tx(ctx.ts);
            tx.has_response = true;
            tx.status_code = Some(0);
            tx.status_msg = Some("<empty>".to_owned());
            tx.version = Some("0.9".to_owned());
            self.connection_close = true;
            self.modes[1] = Mode::Body(Body::ToClose {
                lines: false,
                cr: false,
                open: false,
            });
            return Some(0);
        }
        let line = first_line(data)?;
        let st = StatusLine::parse(line)?;
        let (end, lines) = split_head(data)?;
        let mut framing = Framing::new(st.version == b"1.1", st.code == 206);
        let mut compressed = false;
        let mut upgrade = false;
        // Zeek switches on a 101 whose `Connection` header's first token
        // is `upgrade`, with an `Upgrade` header naming the protocol (its
        // first token), while exactly one request is unanswered.
        let mut connection_upgrade = false;
        let mut protocol: &[u8] = &[];
        let hs = headers(lines.skip(1));
        for (name, value) in &hs {
            let value: &[u8] = value;
            let mut buf = [0u8; 32];
            let name = upper(name, &mut buf);
            framing.header(name, value);
            Handshake::header(&mut self.handshake, false, name, value);
            match name {
                b"CONNECTION" => {
                    let token = first_token(value);
                    connection_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
                    self.connection_close |= token.eq_ignore_ascii_case(b"close");
                }
                b"UPGRADE" => protocol = first_token(value),
                b"CONTENT-ENCODING" => {
                    let token = first_token(value);
                    compressed = [&b"gzip"[..], b"x-gzip", b"deflate"]
                        .iter()
                        .any(|c| token.eq_ignore_ascii_case(c));
                }
                _ => {}
            }
        }
        let mut body = framing.body().unwrap_or(Body::ToClose {
            lines: !(self.connection_close || compressed),
            cr: false,
            open: false,
        });
        let unanswered = self.pending.iter().filter(|t| !t.has_response).count();
        let switches = st.code == 101 && connection_upgrade && !protocol.is_empty() && unanswered == 1;
        // Zeek's `HTTP::upgrade_analyzers` is keyed by the protocol.
        let to_websocket = protocol.eq_ignore_ascii_case(b"websocket");
        let ts = ctx.ts;
        let tx = self.response_tx(ts);
        // Every reply sets the status and version (main.zeek's
        // http_reply); a final one after a 1xx overwrites them and keeps
        // the info fields.
        tx.status_code = Some(st.code);
        tx.status_msg = Some(text::bytes(st.reason, MAX_NAME));
        tx.version = Some(text::bytes(st.version, 8));
        if (100..200).contains(&st.code) {
            tx.info_code = Some(st.code);
            tx.info_msg = Some(text::bytes(st.reason, MAX_NAME));
            upgrade = switches;
            if upgrade && to_websocket {
                // Zeek writes the row when the analyzer starts, with the
                // upgrade request's host, URI and user agent.
                let (host, uri, agent) = (tx.host.clone(), tx.uri.clone(), tx.user_agent.clone());
                self.websocket = Some(Box::default());
                self.handshake
                    .take()
                    .unwrap_or_default()
                    .log(ctx, host, uri, agent);
                return Some(self.switch(end));
            }
            body = Body::None;
        } else {
            tx.has_response = true;
            let method = tx.method.as_deref();
            if method == Some("HEAD") || st.code == 204 || st.code == 304 {
                body = Body::None;
            }
            // Zeek opens the tunnel on a 200 only (any other reply, 2xx
            // too, ends the CONNECT).
            if method == Some("CONNECT") && st.code == 200 {
                upgrade = true;
            }
        }
        if upgrade {
            return Some(self.switch(end));
        }
        self.modes[1] = Mode::Body(body);
        Some(end)
    }

    /// Both directions leave HTTP after the head that ends at `end`.
    fn switch(&mut self, end: usize) -> usize {
        self.modes = [Mode::Tunnel; 2];
        end
    }

    /// Consumes body bytes of `side`; returns bytes used and whether the
    /// body is complete.
    fn body(&mut self, side: usize, data: &[u8]) -> (usize, bool) {
        let Mode::Body(mut b) = self.modes[side] else {
            return (0, true);
        };
        let mut used = 0;
        let mut counted = 0u64;
        let done = loop {
            let rest = &data[used..];
            match b {
                Body::None => break true,
                Body::Length(0) => break true,
                Body::Length(n) => {
                    let k = n.min(rest.len() as u64);
                    used += k as usize;
                    counted += k;
                    b = Body::Length(n - k);
                    if n - k > 0 {
                        break false;
                    }
                }
                Body::ToClose {
                    lines,
                    mut cr,
                    mut open,
                } => {
                    used += rest.len();
                    counted += rest.len() as u64;
                    if lines {
                        for &c in rest {
                            // A line end Zeek counts as two bytes: a bare
                            // CR (known at the next byte) or a bare LF.
                            if cr != (c == b'\n') {
                                counted += 1;
                            }
                            cr = c == b'\r';
                            open = !(cr || c == b'\n');
                        }
                        b = Body::ToClose { lines, cr, open };
                    }
                    break false;
                }
                Body::ChunkSize => {
                    let Some(line) = first_line(rest) else {
                        if rest.len() > 1024 {
                            self.modes[side] = Mode::Resync;
                            return (data.len(), true);
                        }
                        break false;
                    };
                    let consumed = rest.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
                    used += consumed;
                    // Zeek reads the size with atoi_n: a size that is no
                    // number, or not above 0, is the last chunk.
                    b = match atoi(line, 16) {
                        Some(n) if n > 0 => Body::ChunkData(n.unsigned_abs()),
                        _ => Body::Trailer,
                    };
                }
                Body::ChunkData(n) => {
                    let k = n.min(rest.len() as u64);
                    used += k as usize;
                    counted += k;
                    b = if n == k {
                        Body::ChunkDataEnd
                    } else {
                        Body::ChunkData(n - k)
                    };
                    if n != k {
                        break false;
                    }
                }
                Body::ChunkDataEnd => {
                    if rest.starts_with(b"\r\n") {
                        used += 2;
                    } else if rest.starts_with(b"\n") {
                        used += 1;
                    } else if rest.len() < 2 {
                        break false;
                    }
                    b = Body::ChunkSize;
                }
                Body::Trailer => {
                    let Some(line) = first_line(rest) else {
                        break false;
                    };
                    used += rest.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
                    if line.is_empty() {
                        break true;
                    }
                }
            }
        };
        self.add_body(side, counted);
        self.modes[side] = if done { Mode::Head } else { Mode::Body(b) };
        (used, done)
    }

    fn add_body(&mut self, side: usize, n: u64) {
        let tx = if side == 0 {
            self.pending.back_mut()
        } else {
            self.pending
                .iter_mut()
                .rev()
                .find(|t| t.has_response || t.info_code.is_some())
        };
        if let Some(tx) = tx {
            if side == 0 {
                tx.request_body_len += n;
            } else {
                tx.response_body_len += n;
            }
        }
    }

    /// Bytes after the protocol switched. WebSocket frames go to their
    /// parser; through a CONNECT tunnel they go to whatever parser
    /// recognises its first payloads (TLS, SSH, ...); what no parser knows
    /// is skipped.
    fn tunnel(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if self.in_frames {
            return data.len();
        }
        if let Some(ws) = self.websocket.as_mut() {
            let used = ws.parse(ctx, dir, data);
            if let Some((bytes, lost)) = ws.take_http(dir) {
                self.framed_http(ctx, dir, bytes, lost);
            }
            return used;
        }
        if self.tunnel.is_none() && self.tunnel_probes > 0 && !data.is_empty() {
            self.tunnel_probes -= 1;
            self.tunnel = crate::over_ip::probe(Transport::Tcp, ctx.flow.id, dir, data);
        }
        match self.tunnel.as_mut() {
            Some(t) => t.parse(ctx, dir, data),
            None => data.len(),
        }
    }

    /// HTTP carried in WebSocket frames goes through this parser with the
    /// transactions of the connection, as Zeek's HTTP analyzers share the
    /// connection's state: a response inside answers the oldest request
    /// still unanswered (the upgrade request itself), and requests inside
    /// continue its `trans_depth`.
    fn framed_http(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, bytes: Vec<u8>, lost: bool) {
        let side = usize::from(!dir.is_orig());
        std::mem::swap(&mut self.modes, &mut self.framed_modes);
        if lost {
            self.modes[side] = Mode::Resync;
        }
        self.in_frames = true;
        let used = self.parse(ctx, dir, &bytes);
        self.in_frames = false;
        std::mem::swap(&mut self.modes, &mut self.framed_modes);
        if let Some(ws) = self.websocket.as_mut() {
            ws.keep_http(dir, bytes[used.min(bytes.len())..].to_vec());
        }
    }

    /// The body bytes counted so far of the message `side` is in.
    fn body_so_far(&self, side: usize) -> u64 {
        if side == 0 {
            self.pending.back().map_or(0, |t| t.request_body_len)
        } else {
            self.pending
                .iter()
                .rev()
                .find(|t| t.has_response || t.info_code.is_some())
                .map_or(0, |t| t.response_body_len)
        }
    }

    /// A gap Zeek cannot skip: the message under way on `side` ends and
    /// the side resynchronises; a gap on the client's side ends the
    /// response under way too (whether it has a body depends on the
    /// request).
    fn interrupt(&mut self, side: usize) {
        for s in if side == 0 { 0..2 } else { 1..2 } {
            if s == 1 && matches!(self.modes[1], Mode::Body(_)) {
                self.ended_by_gap = true;
            }
            if s == side || matches!(self.modes[s], Mode::Body(_)) {
                self.modes[s] = Mode::Resync;
            }
        }
    }

    /// A response is complete: its transaction is written.
    fn response_done(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(i) = self.pending.iter().position(|t| t.has_response) {
            if let Some(tx) = self.pending.remove(i) {
                Self::log(ctx, tx);
            }
        }
    }
}

/// The URI with `%XX` escapes decoded, as Zeek logs it; a `%` that does
/// not start a valid escape is kept as it is.
pub fn unescape_uri(uri: &[u8]) -> String {
    let uri = &uri[..uri.len().min(MAX_TEXT)];
    let hex = |at: usize| uri.get(at).and_then(|&c| char::from(c).to_digit(16));
    let byte = |at: usize| Some((hex(at)? * 16 + hex(at + 1)?) as u8);
    let mut out = Vec::with_capacity(uri.len());
    let mut i = 0;
    while i < uri.len() {
        if uri[i] != b'%' {
            out.push(uri[i]);
            i += 1;
            continue;
        }
        // As Zeek's unescape_URI: `%%` drops the first `%`; `%uXXXX` is
        // one or two bytes (a leading 00 dropped); anything else that is
        // not an escape is kept as it is.
        i += 1;
        match uri.get(i) {
            None => out.push(b'%'),
            Some(b'%') if i + 1 < uri.len() => {}
            Some(&c) => {
                if let Some(b) = byte(i) {
                    out.push(b);
                    i += 2;
                } else if c == b'u' && (1..5).all(|k| hex(i + k).is_some()) {
                    if let (Some(hi), Some(lo)) = (byte(i + 1), byte(i + 3)) {
                        if hi != 0 {
                            out.push(hi);
                        }
                        out.push(lo);
                    }
                    i += 5;
                } else {
                    out.extend_from_slice(&[b'%', c]);
                    i += 1;
                }
            }
        }
    }
    text::bytes(&out, MAX_TEXT)
}

/// A header name in upper case, without allocating: names longer than the
/// buffer are none of the ones looked at, and come back empty.
pub fn upper<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> &'b [u8] {
    let Some(dst) = buf.get_mut(..name.len()) else {
        return &[];
    };
    dst.copy_from_slice(name);
    dst.make_ascii_uppercase();
    dst
}

/// The first token of a header value (MIME's: up to a separator or
/// white space), as Zeek reads `Connection` and `Upgrade`.
fn first_token(value: &[u8]) -> &[u8] {
    let v = value.trim_ascii_start();
    let end = v
        .iter()
        .position(|c| c.is_ascii_whitespace() || b"()<>@,;:\\\"/[]?=".contains(c))
        .unwrap_or(v.len());
    &v[..end]
}

/// How the headers frame a body, read as Zeek's HTTP_Entity reads them.
struct Framing {
    /// The message is HTTP/1.1: only there is `chunked` read.
    chunked_ok: bool,
    /// A 206 reply: its Content-Range gives a length too.
    partial: bool,
    chunked: bool,
    length: Option<i64>,
    range: Option<i64>,
}

impl Framing {
    fn new(chunked_ok: bool, partial: bool) -> Framing {
        Framing {
            chunked_ok,
            partial,
            chunked: false,
            length: None,
            range: None,
        }
    }

    /// One header, by its upper-case name. Values are read by their first
    /// token, numbers as Zeek's `atoi_n` reads them.
    fn header(&mut self, upper_name: &[u8], value: &[u8]) {
        match upper_name {
            b"CONTENT-LENGTH" => {
                let token = first_token(value);
                if token.is_empty() {
                    return;
                }
                // A length that is no number is 0; where a range and a
                // length differ, the larger wins.
                let n = atoi(token, 10).unwrap_or(0);
                self.length = Some(self.range.filter(|&r| r > n).unwrap_or(n));
            }
            b"CONTENT-RANGE" if self.partial => {
                let unit = first_token(value);
                if unit != b"bytes" {
                    return;
                }
                // What follows the unit, without its spaces.
                let after = value.len() - value.trim_ascii_start().len() + unit.len();
                let spec: Vec<u8> = value[after..]
                    .iter()
                    .copied()
                    .filter(|&c| c != b' ')
                    .take(64)
                    .collect();
                let Some(slash) = spec.iter().position(|&c| c == b'/') else {
                    return;
                };
                let Some(dash) = spec[..slash].iter().position(|&c| c == b'-') else {
                    return;
                };
                let (Some(first), Some(last)) =
                    (atoi(&spec[..dash], 10), atoi(&spec[dash + 1..slash], 10))
                else {
                    return;
                };
                let len = last.wrapping_sub(first).wrapping_add(1);
                if len > 0 {
                    self.range = Some(len);
                    self.length = Some(match self.length {
                        Some(n) if n > 0 => n.max(len),
                        _ => len,
                    });
                }
            }
            b"TRANSFER-ENCODING" => {
                self.chunked |=
                    self.chunked_ok && first_token(value).eq_ignore_ascii_case(b"chunked");
            }
            _ => {}
        }
    }

    /// The body the headers announce: chunks before a length; `None` when
    /// neither is given (or the length is negative).
    fn body(&self) -> Option<Body> {
        if self.chunked {
            return Some(Body::ChunkSize);
        }
        let n = self.length.filter(|&n| n >= 0)?;
        Some(Body::Length(n.unsigned_abs()))
    }
}

/// A number as Zeek's `atoi_n` reads it in base `radix` (10 or 16): an
/// optional `-`, then digits up to the first byte that is not one
/// (wrapping on overflow); `None` when no digit starts it.
fn atoi(b: &[u8], radix: u32) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let digit = |c: &u8| char::from(*c).to_digit(radix);
    digit(digits.first()?)?;
    let n = digits
        .iter()
        .map_while(digit)
        .fold(0i64, |n, d| {
            n.wrapping_mul(i64::from(radix))
                .wrapping_add(i64::from(d))
        });
    Some(if neg { n.wrapping_neg() } else { n })
}

impl AppParser for Http {
    fn needs_start(&self) -> bool {
        true
    }

    fn service(&self) -> &'static str {
        match self.websocket.as_ref() {
            Some(ws) => with_http(ws.inner_service(), ws.confirmed()),
            None => with_http(self.tunnel.as_ref().map(|t| t.service()), false),
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if std::mem::take(&mut self.ended_by_gap) {
            self.response_done(ctx);
        }
        let side = usize::from(!dir.is_orig());
        let mut used = 0;
        loop {
            let rest = &data[used..];
            match self.modes[side] {
                Mode::Tunnel => return used + self.tunnel(ctx, dir, &data[used..]),
                Mode::Resync => {
                    // Skip to the next line that starts a message.
                    let mut i = 0;
                    loop {
                        let r = &rest[i..];
                        let Some(line) = first_line(r) else {
                            return used + i;
                        };
                        let starts = if side == 0 {
                            RequestLine::parse(line).is_some_and(|r| r.version.is_some())
                        } else {
                            StatusLine::parse(line).is_some()
                        };
                        if starts {
                            self.modes[side] = Mode::Head;
                            used += i;
                            break;
                        }
                        i += line.len()
                            + r[line.len()..]
                                .iter()
                                .position(|&c| c == b'\n')
                                .map_or(0, |p| p + 1);
                    }
                }
                Mode::Head => {
                    if rest.is_empty() {
                        return used;
                    }
                    // Stray line ends between messages.
                    let blank = rest
                        .iter()
                        .take_while(|&&c| c == b'\r' || c == b'\n')
                        .count();
                    if blank > 0 {
                        used += blank;
                        continue;
                    }
                    let got = if side == 0 {
                        self.request_head(ctx, rest)
                    } else {
                        self.response_head(ctx, rest)
                    };
                    match got {
                        Some(n) => used += n,
                        None => {
                            let complete = first_line(rest).is_some() && split_head(rest).is_some();
                            if complete
                                || rest.len() > MAX_HEAD
                                || first_line(rest).is_some_and(|l| {
                                    RequestLine::parse(l).is_none()
                                        && StatusLine::parse(l).is_none()
                                })
                            {
                                self.modes[side] = Mode::Resync;
                                // Move past the line that was not HTTP.
                                used += rest
                                    .iter()
                                    .position(|&c| c == b'\n')
                                    .map_or(rest.len(), |p| p + 1);
                                continue;
                            }
                            return used;
                        }
                    }
                    if side == 1 && self.modes[1] == Mode::Body(Body::None) {
                        self.response_done(ctx);
                        self.modes[1] = Mode::Head;
                    }
                }
                Mode::Body(_) => {
                    let (n, done) = self.body(side, rest);
                    used += n;
                    if done && side == 1 {
                        self.response_done(ctx);
                    }
                    if !done {
                        return used;
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir) {
        self.content_gap(dir, u64::MAX);
    }

    fn content_gap(&mut self, dir: Dir, len: u64) {
        let side = usize::from(!dir.is_orig());
        match self.modes[side] {
            Mode::Tunnel => {
                if let Some(ws) = self.websocket.as_mut() {
                    ws.gap();
                } else if let Some(t) = self.tunnel.as_mut() {
                    t.content_gap(dir, len);
                }
            }
            Mode::Body(b) if self.body_so_far(side) > 0 => {
                let left = match b {
                    Body::Length(n) | Body::ChunkData(n) => n.checked_sub(len),
                    _ => None,
                };
                let Some(left) = left else {
                    return self.interrupt(side);
                };
                self.add_body(side, len);
                self.modes[side] = match b {
                    Body::Length(_) if left == 0 => {
                        self.ended_by_gap |= side == 1;
                        Mode::Head
                    }
                    Body::Length(_) => Mode::Body(Body::Length(left)),
                    _ if left == 0 => Mode::Body(Body::ChunkDataEnd),
                    _ => Mode::Body(Body::ChunkData(left)),
                };
            }
            _ => self.interrupt(side),
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        // An HTTP/0.9 request whose header never ended is done only when
        // the client closes; the server closes first (its reply runs to
        // the close), so Zeek has written the transaction by then and the
        // request's end opens an empty one.
        let reopened = self
            .pending
            .back()
            .is_some_and(|t| t.open_request && t.has_response);
        if let Mode::Body(Body::ToClose { open: true, .. }) = self.modes[1] {
            self.add_body(1, 2);
        }
        while let Some(tx) = self.pending.pop_front() {
            Self::log(ctx, tx);
        }
        if reopened {
            self.depth += 1;
            let tx = Tx {
                ts: ctx.ts,
                depth: self.depth,
                ..Tx::default()
            };
            Self::log(ctx, tx);
        }
        if let Some(t) = self.tunnel.as_mut() {
            t.finish(ctx);
        }
        if let Some(ws) = self.websocket.as_mut() {
            ws.finish(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_lines() {
        let r = RequestLine::parse(b"GET /a?b HTTP/1.1").unwrap();
        assert_eq!(
            (r.method, r.uri, r.version),
            (&b"GET"[..], &b"/a?b"[..], Some(&b"1.1"[..]))
        );
        assert_eq!(RequestLine::parse(b"GET /zeek.html").unwrap().version, None);
        assert!(RequestLine::parse(b"get / HTTP/1.1").is_none());
        assert!(RequestLine::parse(b"GET / FTP/1.1").is_none());
        let s = StatusLine::parse(b"HTTP/1.1 206 Partial Content").unwrap();
        assert_eq!(
            (s.version, s.code, s.reason),
            (&b"1.1"[..], 206, &b"Partial Content"[..])
        );
        assert!(StatusLine::parse(b"HTTP/1.1 20x OK").is_none());
    }

    #[test]
    fn unescapes_like_zeek() {
        assert_eq!(unescape_uri(b"/a;%20b%3d%22c%22"), "/a; b=\"c\"");
        assert_eq!(unescape_uri(b"/%"), "/%");
        assert_eq!(unescape_uri(b"/%5"), "/%5");
        assert_eq!(unescape_uri(b"/%zz"), "/%zz");
        assert_eq!(unescape_uri(b"/%%41"), "/A");
        assert_eq!(unescape_uri(b"/a%u0041%u4243b"), "/aABCb");
        assert_eq!(unescape_uri(b"/%u0"), "/%u0");
        let r = RequestLine::parse(b"OPTIONS HTTP/1.1").unwrap();
        assert_eq!((r.uri, r.version), (&b""[..], Some(&b"1.1"[..])));
    }

    #[test]
    fn first_tokens_as_mime_reads_them() {
        assert_eq!(first_token(b"Upgrade"), b"Upgrade");
        assert_eq!(first_token(b"  upgrade, keep-alive"), b"upgrade");
        assert_eq!(first_token(b"keep-alive, Upgrade"), b"keep-alive");
        assert_eq!(first_token(b"websocket/13"), b"websocket");
        assert_eq!(first_token(b""), b"");
    }

    #[test]
    fn head_needs_the_blank_line() {
        assert!(split_head(b"GET / HTTP/1.1\r\nHost: a\r\n").is_none());
        let (end, lines) = split_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY").unwrap();
        assert_eq!(end, 27);
        assert_eq!(lines.count(), 2);
    }
}

#[cfg(test)]
mod stream_tests {
    use osect_trafficgen::proto::websocket;
    use crate::flow::id::Transport;
    use crate::over_ip::harness::{conn, field, rows, run, Step};
    use crate::over_ip::Dir::{Orig, Resp};

    const REQ: &[u8] = b"GET /a%20b HTTP/1.1\r\nHost: plc.local\r\nUser-Agent: t/1\r\n\r\n";
    const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";

    #[test]
    fn a_message_split_across_segments_is_decoded_once() {
        let id = conn(Transport::Tcp, 40000, 8080);
        let steps: Vec<Step> = REQ
            .chunks(7)
            .map(|c| Step::Data(Orig, c))
            .chain(RESP.chunks(3).map(|c| Step::Data(Resp, c)))
            .collect();
        let (recs, service, _) = run(&id, &steps);
        let http = rows(&recs, "http");
        assert_eq!(service, Some("http"));
        assert_eq!(http.len(), 1);
        assert_eq!(field(http[0], "uri"), "/a b");
        assert_eq!(field(http[0], "host"), "plc.local");
        assert_eq!(field(http[0], "response_body_len"), "5");
        assert_eq!(field(http[0], "status_code"), "200");
    }

    #[test]
    fn pipelined_requests_and_chunked_replies_pair_in_order() {
        let id = conn(Transport::Tcp, 40000, 80);
        let two = [REQ, REQ].concat();
        let replies = [CHUNKED, RESP].concat();
        let (recs, _, _) = run(&id, &[Step::Data(Orig, &two), Step::Data(Resp, &replies)]);
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 2);
        assert_eq!(field(http[0], "trans_depth"), "1");
        assert_eq!(field(http[0], "response_body_len"), "5");
        assert_eq!(field(http[1], "trans_depth"), "2");
        assert_eq!(field(http[1], "response_body_len"), "5");
    }

    const UPGRADE: &[u8] = b"GET /tunnel HTTP/1.1\r\nHost: gw:8080\r\nUser-Agent: t/1\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Protocol: v1, chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    const SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: v1\r\n\r\n";

    /// A binary frame, masked with `key` when the client sends it.
    fn ws_frame(payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
        websocket::frame(true, websocket::BINARY, key, payload)
    }

    #[test]
    fn websocket_payload_goes_to_protocol_detection() {
        let id = conn(Transport::Tcp, 40000, 8080);
        let hello = ws_frame(b"SSH-2.0-OpenSSH_9.2p1\r\n", Some([1, 2, 3, 4]));
        let reply = ws_frame(b"SSH-2.0-OpenSSH_8.4\r\n", None);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Orig, UPGRADE),
                Step::Data(Resp, SWITCHED),
                Step::Data(Orig, &hello[..3]),
                Step::Data(Orig, &hello[3..]),
                Step::Data(Resp, &reply),
            ],
        );
        assert_eq!(service, Some("http,ssh,websocket"));
        let ws = rows(&recs, "websocket");
        assert_eq!(ws.len(), 1);
        assert_eq!(field(ws[0], "host"), "gw:8080");
        assert_eq!(field(ws[0], "uri"), "/tunnel");
        assert_eq!(field(ws[0], "user_agent"), "t/1");
        assert_eq!(field(ws[0], "subprotocol"), "v1");
        assert_eq!(field(ws[0], "client_protocols"), "v1,chat");
        assert_eq!(field(ws[0], "client_extensions"), "permessage-deflate");
        assert_eq!(field(ws[0], "server_extensions"), "-");
        let ssh = rows(&recs, "ssh");
        assert_eq!(ssh.len(), 1, "the SSH session inside the frames");
        assert_eq!(field(ssh[0], "client"), "SSH-2.0-OpenSSH_9.2p1");
        assert_eq!(field(ssh[0], "server"), "SSH-2.0-OpenSSH_8.4");
    }

    #[test]
    fn a_101_switches_only_as_zeek_switches() {
        let id = conn(Transport::Tcp, 40000, 8080);
        let frame = ws_frame(b"x", Some([1, 2, 3, 4]));
        // `Connection: keep-alive, Upgrade`: the first token is not
        // `upgrade`, so the connection stays HTTP and the next request is
        // read as one.
        let refused = String::from_utf8_lossy(SWITCHED)
            .replace("Connection: Upgrade", "Connection: keep-alive, Upgrade");
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Orig, UPGRADE),
                Step::Data(Resp, refused.as_bytes()),
                Step::Data(Orig, REQ),
                Step::Data(Resp, RESP),
            ],
        );
        assert_eq!(service, Some("http"));
        assert!(rows(&recs, "websocket").is_empty());
        assert_eq!(rows(&recs, "http").len(), 2);
        // Two requests unanswered when the 101 comes: no switch either.
        let two = [UPGRADE, REQ].concat();
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, &two),
                Step::Data(Resp, SWITCHED),
                Step::Data(Orig, &frame),
            ],
        );
        assert!(rows(&recs, "websocket").is_empty());
    }

    #[test]
    fn websocket_is_named_only_once_a_message_is_whole() {
        let id = conn(Transport::Tcp, 40000, 8080);
        let frame = ws_frame(&[7u8; 300], Some([9, 9, 9, 9]));
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Orig, UPGRADE),
                Step::Data(Resp, SWITCHED),
                Step::Data(Orig, &frame[..100]),
            ],
        );
        assert_eq!(rows(&recs, "websocket").len(), 1);
        assert_eq!(service, Some("http"));
        // After a gap the frames are lost: nothing more is confirmed.
        let (_, service, _) = run(
            &id,
            &[
                Step::Data(Orig, UPGRADE),
                Step::Data(Resp, SWITCHED),
                Step::Data(Orig, &frame[..100]),
                Step::Gap(Orig),
                Step::Data(Orig, &frame),
            ],
        );
        assert_eq!(service, Some("http"));
        let (_, service, _) = run(
            &id,
            &[
                Step::Data(Orig, UPGRADE),
                Step::Data(Resp, SWITCHED),
                Step::Data(Orig, &frame),
            ],
        );
        assert_eq!(service, Some("http,websocket"));
    }

    #[test]
    fn resynchronises_on_bytes_that_are_not_http() {
        let id = conn(Transport::Tcp, 40000, 80);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Orig, b"cruft\r\n"),
                Step::Data(Orig, REQ),
                Step::Data(Resp, RESP),
            ],
        );
        assert_eq!(service, Some("http"));
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 1);
        assert_eq!(field(http[0], "method"), "GET");
        assert_eq!(field(http[0], "response_body_len"), "5");
    }

    /// Zeek's HTTP_Entity::Undelivered: bytes lost inside a body still
    /// covered by its Content-Length count into it, and parsing goes on.
    #[test]
    fn a_gap_inside_a_body_counts_into_its_length() {
        let id = conn(Transport::Tcp, 40000, 80);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel";
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, REQ),
                Step::Data(Resp, head),
                Step::Lost(Resp, 4),
                Step::Data(Resp, b"lo!"),
                Step::Data(Orig, REQ),
                Step::Data(Resp, RESP),
            ],
        );
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 2);
        assert_eq!(field(http[0], "response_body_len"), "10");
        assert_eq!(field(http[1], "response_body_len"), "5");
        // The gap ends the body exactly: the response is complete.
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, REQ),
                Step::Data(Resp, head),
                Step::Lost(Resp, 7),
                Step::Data(Orig, REQ),
                Step::Data(Resp, RESP),
            ],
        );
        let lens: Vec<String> = rows(&recs, "http")
            .iter()
            .map(|r| field(r, "response_body_len"))
            .collect();
        assert_eq!(lens, ["10", "5"]);
        // Inside a chunk too.
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, REQ),
                Step::Data(Resp, &CHUNKED[..51]),
                Step::Lost(Resp, 1),
                Step::Data(Resp, &CHUNKED[52..]),
            ],
        );
        assert_eq!(field(rows(&recs, "http")[0], "response_body_len"), "5");
    }

    /// A gap Zeek cannot skip (longer than the body left, before the
    /// body's first byte, between messages) ends the message under way,
    /// with the body counted so far; on the client's side it ends the
    /// response under way too. The side then waits for the next message.
    #[test]
    fn a_gap_outside_a_body_ends_the_message() {
        let id = conn(Transport::Tcp, 40000, 80);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, REQ),
                Step::Data(Resp, head),
                Step::Lost(Resp, 4),
                Step::Data(Resp, b"llo!!!\r\n"),
                Step::Data(Orig, REQ),
                Step::Data(Resp, RESP),
            ],
        );
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 2);
        assert_eq!(
            (field(http[0], "status_code"), field(http[0], "response_body_len")),
            ("200".into(), "0".into())
        );
        assert_eq!(
            (field(http[1], "status_code"), field(http[1], "response_body_len")),
            ("200".into(), "5".into())
        );
        // Client side: the response read to the close ends where it is.
        let open = b"HTTP/1.0 200 OK\r\n\r\nabc";
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, REQ),
                Step::Data(Resp, open),
                Step::Lost(Orig, 10),
                Step::Data(Resp, b"defg"),
                Step::Data(Orig, REQ),
            ],
        );
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 2);
        assert_eq!(field(http[0], "response_body_len"), "3");
        assert_eq!(field(http[1], "status_code"), "-");
    }

    /// An HTTP/0.9 request has no blank line: its message ends when the
    /// client closes, after the server closed and the transaction was
    /// written, and opens an empty second one.
    #[test]
    fn http_09_leaves_an_empty_transaction() {
        let id = conn(Transport::Tcp, 40000, 80);
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, b"GET /zeek.html\n"),
                Step::Data(Resp, b"<html>\n</html>\n"),
            ],
        );
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 2);
        assert_eq!(
            (field(http[0], "version"), field(http[0], "response_body_len")),
            ("0.9".into(), "15".into())
        );
        assert_eq!(
            (field(http[1], "trans_depth"), field(http[1], "method")),
            ("2".into(), "-".into())
        );
        // No reply: the request's end finds its transaction still open.
        let (recs, _, _) = run(&id, &[Step::Data(Orig, b"GET /zeek.html\n")]);
        assert_eq!(rows(&recs, "http").len(), 1);
    }

    /// Each reply sets the status and version; a 1xx sets the info
    /// fields, the final reply overwrites the status and keeps them.
    #[test]
    fn informational_replies() {
        let id = conn(Transport::Tcp, 40000, 80);
        let post = b"POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
        let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, post),
                Step::Data(Resp, cont),
                Step::Data(Orig, b"data"),
                Step::Data(Resp, RESP),
            ],
        );
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 1);
        let got = ["status_code", "info_code", "info_msg", "request_body_len", "response_body_len"]
            .map(|f| field(http[0], f));
        assert_eq!(got, ["200", "100", "Continue", "4", "5"]);
        // No final reply: the 100 is the status.
        let (recs, _, _) = run(&id, &[Step::Data(Orig, post), Step::Data(Resp, cont)]);
        let http = rows(&recs, "http");
        let got = ["status_code", "info_code", "version"].map(|f| field(http[0], f));
        assert_eq!(got, ["100", "100", "1.1"]);
    }

    /// A body that runs to the close is read by Zeek line by line, each
    /// line end counting two bytes (a bare LF or CR too, and the close
    /// after an unfinished line), unless a reply
    /// on the connection said `Connection: close` or the body is
    /// compressed: then its bytes are counted as they are.
    #[test]
    fn bodies_to_the_close_count_as_zeek_reads_them() {
        let id = conn(Transport::Tcp, 40000, 80);
        let body_len = |head: &[u8]| {
            let (recs, _, _) = run(
                &id,
                &[
                    Step::Data(Orig, REQ),
                    Step::Data(Resp, head),
                    Step::Data(Resp, b"a\nb\r"),
                    Step::Data(Resp, b"\nc\rd"),
                ],
            );
            field(rows(&recs, "http")[0], "response_body_len")
        };
        // Eight bytes, a bare LF and a bare CR, and the last line, which
        // the close ends.
        assert_eq!(body_len(b"HTTP/1.0 200 OK\r\n\r\n"), "12");
        assert_eq!(body_len(b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n"), "8");
        assert_eq!(body_len(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"), "8");
    }

    /// Content-Length and Content-Range as Zeek's HTTP_Entity reads them:
    /// the first token, digits up to the first other byte, a value that
    /// is no number as 0, a negative one (or one that wraps) as none; in a
    /// 206, the range's length where it is larger.
    #[test]
    fn lengths_read_as_zeek_reads_them() {
        let id = conn(Transport::Tcp, 40000, 80);
        let body_len = |headers: &str| {
            let head = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{headers}\r\n");
            let reply = [head.as_bytes(), b"0123456789ABCDEF"].concat();
            let (recs, _, _) = run(&id, &[Step::Data(Orig, REQ), Step::Data(Resp, &reply)]);
            field(rows(&recs, "http")[0], "response_body_len")
        };
        assert_eq!(body_len("Content-Length: 007\r\n"), "7");
        assert_eq!(body_len("Content-Length: 5abc\r\n"), "5");
        assert_eq!(body_len("Content-Length: abc\r\n"), "0");
        assert_eq!(body_len("Content-Length: -1\r\n"), "16");
        assert_eq!(body_len("Content-Length: 18446744073709551615\r\n"), "16");
        assert_eq!(body_len("Content-Length: 4\r\nContent-Length: 6\r\n"), "6");
        // First token only: "gzip, chunked" is not chunked for Zeek.
        assert_eq!(
            body_len("Transfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n"),
            "3"
        );
        let partial = |headers: &str| {
            let head = format!("HTTP/1.1 206 Partial Content\r\n{headers}\r\n");
            let reply = [head.as_bytes(), b"0123456789ABCDEF"].concat();
            let (recs, _, _) = run(&id, &[Step::Data(Orig, REQ), Step::Data(Resp, &reply)]);
            field(rows(&recs, "http")[0], "response_body_len")
        };
        assert_eq!(partial("Content-Range: bytes 0-9/100\r\n"), "10");
        assert_eq!(
            partial("Content-Length: 4\r\nContent-Range: bytes 10 - 21/100\r\n"),
            "12"
        );
        assert_eq!(
            partial("Content-Range: bytes 0-3/100\r\nContent-Length: 6\r\n"),
            "6"
        );
        assert_eq!(
            partial("Content-Range: bytes 0-9/100\r\nContent-Length: 4\r\n"),
            "10"
        );
    }

    /// A header line that starts with white space continues the value
    /// before it, as Zeek's MIME reader joins it.
    #[test]
    fn folded_header_lines_continue_the_value() {
        let id = conn(Transport::Tcp, 40000, 80);
        let req = b"GET / HTTP/1.1\r\nHost: plc\r\n .local\r\nUser-Agent: t/1\r\n\r\n";
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let (recs, _, _) = run(&id, &[Step::Data(Orig, req), Step::Data(Resp, reply)]);
        let http = rows(&recs, "http");
        assert_eq!(field(http[0], "host"), "plc .local");
        assert_eq!(field(http[0], "user_agent"), "t/1");
        assert_eq!(field(http[0], "response_body_len"), "3");
    }

    /// Chunk sizes as Zeek's atoi_n reads them: hex digits up to the first
    /// other byte; a size that is no number (or not above 0) is the last
    /// chunk, the trailer follows.
    #[test]
    fn chunk_sizes_read_as_zeek_reads_them() {
        let id = conn(Transport::Tcp, 40000, 80);
        let body_len = |chunks: &[u8]| {
            let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            let (recs, _, _) = run(
                &id,
                &[
                    Step::Data(Orig, REQ),
                    Step::Data(Resp, &[&head[..], chunks].concat()),
                    Step::Data(Orig, REQ),
                    Step::Data(Resp, RESP),
                ],
            );
            let http = rows(&recs, "http");
            assert_eq!(http.len(), 2);
            field(http[0], "response_body_len")
        };
        assert_eq!(body_len(b"a;name=x\r\n0123456789\r\n0\r\n\r\n"), "10");
        assert_eq!(body_len(b"3 \r\nabc\r\n0\r\n\r\n"), "3");
        assert_eq!(body_len(b" 3\r\n\r\n"), "0");
        assert_eq!(body_len(b"-5\r\n\r\n"), "0");
    }

    /// A CONNECT turns into a tunnel on a 200 only: after a 204 the
    /// connection is still HTTP.
    #[test]
    fn connect_tunnels_on_200_only() {
        let id = conn(Transport::Tcp, 40000, 3128);
        let connect = b"CONNECT plc:502 HTTP/1.1\r\nHost: plc:502\r\n\r\n";
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, connect),
                Step::Data(Resp, b"HTTP/1.1 204 No Content\r\n\r\n"),
                Step::Data(Orig, REQ),
                Step::Data(Resp, RESP),
            ],
        );
        let http = rows(&recs, "http");
        assert_eq!(http.len(), 2);
        assert_eq!(field(http[1], "response_body_len"), "5");
    }

    /// Zeek reads chunked encoding in HTTP/1.1 only: an HTTP/1.0 reply
    /// with both headers is framed by its Content-Length.
    #[test]
    fn chunked_only_in_http_11() {
        let id = conn(Transport::Tcp, 40000, 80);
        let both = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 8\r\n\r\n3\r\nabc\r\n";
        let (recs, _, _) = run(&id, &[Step::Data(Orig, REQ), Step::Data(Resp, both)]);
        assert_eq!(field(rows(&recs, "http")[0], "response_body_len"), "8");
        let v11 = String::from_utf8_lossy(both).replace("HTTP/1.0", "HTTP/1.1");
        let body = b"0\r\n\r\n";
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, REQ),
                Step::Data(Resp, v11.as_bytes()),
                Step::Data(Resp, body),
            ],
        );
        assert_eq!(field(rows(&recs, "http")[0], "response_body_len"), "3");
    }
}
