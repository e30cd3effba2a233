//! WebSocket (RFC 6455) after an HTTP upgrade, as Zeek's WebSocket
//! analyzer follows it: `websocket.log` gets one row when the server
//! answers `101 Switching Protocols` with `Upgrade: websocket`, carrying
//! the handshake's `Sec-WebSocket-*` headers; then the frames of both
//! directions are parsed, and the unmasked payload of text and binary
//! messages is one stream per direction, handed to protocol detection (a
//! TLS or SSH session tunnelled through WebSocket is found as on a
//! connection of its own). conn.log names `websocket` once a whole message
//! has been parsed, as Zeek confirms the analyzer.
//!
//! Nothing of a frame is kept but its header (at most 14 bytes): payload
//! is unmasked through a fixed buffer, so a frame length from the wire
//! costs nothing whatever it claims. After a gap the frames cannot be
//! found again and the rest of the connection is skipped, as Zeek does.

use crate::flow::id::Transport;
use crate::flow_fields;
use crate::over_ip::common::Row;
use crate::over_ip::session::Session;
use crate::over_ip::{Ctx, Dir};
use crate::text::{self, MAX_TEXT};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};

pub static WEBSOCKET_LOG: LogSchema = LogSchema {
    path: "websocket",
    fields: flow_fields![
        field("host", T::String),
        field("uri", T::String),
        field("user_agent", T::String),
        field("subprotocol", T::String),
        field("client_protocols", T::VectorString),
        field("server_extensions", T::VectorString),
        field("client_extensions", T::VectorString),
    ],
};

/// Entries kept of each header list (protocols, extensions).
const MAX_LIST: usize = 16;
/// Unconsumed bytes of the tunnelled stream kept per direction, as the
/// engine's per-flow window does for a connection.
const INNER_WINDOW: usize = 64 * 1024;
/// Payload unmasked at a time.
const CHUNK: usize = 4096;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;

/// The `Sec-WebSocket-*` headers of the connection's HTTP messages, as
/// Zeek's script gathers them from every request and response before the
/// switch.
#[derive(Default)]
pub struct Handshake {
    subprotocol: Option<String>,
    client_protocols: Option<Vec<String>>,
    server_extensions: Option<Vec<String>>,
    client_extensions: Option<Vec<String>>,
}

/// A header list split on commas and the spaces around them.
fn extend(list: &mut Option<Vec<String>>, value: &[u8]) {
    let list = list.get_or_insert_with(Vec::new);
    for item in value.split(|&c| c == b',') {
        if list.len() >= MAX_LIST {
            break;
        }
        let item = item
            .iter()
            .position(|&c| c != b' ')
            .map_or(&[][..], |s| &item[s..]);
        let item = item
            .iter()
            .rposition(|&c| c != b' ')
            .map_or(&[][..], |e| &item[..=e]);
        list.push(text::bytes(item, MAX_TEXT));
    }
}

impl Handshake {
    /// Takes a header of a request (`orig`) or response, its name in
    /// upper case; false if it is not a WebSocket header.
    pub fn header(this: &mut Option<Handshake>, orig: bool, upper_name: &[u8], value: &[u8]) {
        let Some(name) = upper_name.strip_prefix(b"SEC-WEBSOCKET-") else {
            return;
        };
        let h = this.get_or_insert_with(Handshake::default);
        match (orig, name) {
            (true, b"PROTOCOL") => extend(&mut h.client_protocols, value),
            (true, b"EXTENSIONS") => extend(&mut h.client_extensions, value),
            (false, b"PROTOCOL") => h.subprotocol = Some(text::bytes(value, MAX_TEXT)),
            (false, b"EXTENSIONS") => extend(&mut h.server_extensions, value),
            _ => {}
        }
    }

    /// The row of `websocket.log`, with the upgrade request's host, URI
    /// and user agent.
    pub fn log(
        self,
        ctx: &mut Ctx<'_, '_>,
        host: Option<String>,
        uri: Option<String>,
        user_agent: Option<String>,
    ) {
        let list = |l: Option<Vec<String>>| l.map_or(Value::Unset, Value::Strings);
        Row::flow(ctx, &WEBSOCKET_LOG)
            .push(host)
            .push(uri)
            .push(user_agent)
            .push(self.subprotocol)
            .push(list(self.client_protocols))
            .push(list(self.server_extensions))
            .push(list(self.client_extensions))
            .emit(ctx);
    }
}

/// Where one direction's frame parser stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Gathering a frame header; `have` of its bytes are in `head`.
    Header { have: usize },
    /// Inside a frame's payload.
    Payload {
        left: u64,
        mask: Option<[u8; 4]>,
        /// Payload bytes unmasked so far (the key's position).
        at: u64,
        /// The payload belongs to a text or binary message.
        forward: bool,
        /// The frame ends a message.
        ends: bool,
    },
    /// The frames were lost (a gap, or a frame that cannot come here).
    Lost,
}

/// One direction's frames.
struct Framer {
    head: [u8; 14],
    step: Step,
    /// The opcode of the fragmented message in progress, if any.
    message: Option<u8>,
}

impl Default for Framer {
    fn default() -> Framer {
        Framer {
            head: [0; 14],
            step: Step::Header { have: 0 },
            message: None,
        }
    }
}

/// A frame header's length: at least 2 bytes, then what they announce.
fn header_len(head: &[u8]) -> usize {
    let ext = match head[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if head[1] & 0x80 != 0 { 4 } else { 0 }
}

impl Framer {
    /// A complete header: what follows it, or `Lost` for a frame that
    /// breaks the message sequence (a continuation with no message, or a
    /// new data message before the last one ended).
    fn frame(&mut self, len: usize) -> Step {
        let h = &self.head[..len];
        let fin = h[0] & 0x80 != 0;
        let opcode = h[0] & 0x0f;
        let short = u64::from(h[1] & 0x7f);
        let (left, rest) = match short {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), &h[4..]),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&h[2..10]);
                (u64::from_be_bytes(n), &h[10..])
            }
            n => (n, &h[2..]),
        };
        let mask = (h[1] & 0x80 != 0).then(|| [rest[0], rest[1], rest[2], rest[3]]);
        // Control frames (close, ping, pong) may come between the
        // fragments of a message and do not belong to it.
        let control = opcode & 0x08 != 0;
        let effective = if control {
            opcode
        } else {
            match (self.message, opcode) {
                (None, OP_CONTINUATION) | (Some(_), OP_TEXT..) => return Step::Lost,
                (Some(m), _) => m,
                (None, op) => op,
            }
        };
        if !control {
            self.message = (!fin).then_some(effective);
        }
        Step::Payload {
            left,
            mask,
            at: 0,
            forward: effective == OP_TEXT || effective == OP_BINARY,
            ends: control || fin,
        }
    }

    /// Parses `data`, handing each piece of message payload, unmasked, to
    /// `deliver`. Returns whether a message was completed.
    fn feed(&mut self, mut data: &[u8], mut deliver: impl FnMut(&[u8])) -> bool {
        let mut completed = false;
        while !data.is_empty() {
            match self.step {
                Step::Lost => break,
                Step::Header { have } => {
                    let need = if have < 2 {
                        2
                    } else {
                        header_len(&self.head)
                    };
                    let k = (need - have).min(data.len());
                    self.head[have..have + k].copy_from_slice(&data[..k]);
                    data = &data[k..];
                    let have = have + k;
                    self.step = if have < 2 || have < header_len(&self.head) {
                        Step::Header { have }
                    } else {
                        self.frame(have)
                    };
                }
                Step::Payload {
                    left,
                    mask,
                    at,
                    forward,
                    ends,
                } => {
                    let k = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    if forward {
                        let mut buf = [0u8; CHUNK];
                        for (i, piece) in data[..k].chunks(CHUNK).enumerate() {
                            let out = &mut buf[..piece.len()];
                            out.copy_from_slice(piece);
                            if let Some(key) = mask {
                                let start = at + (i * CHUNK) as u64;
                                for (j, b) in out.iter_mut().enumerate() {
                                    *b ^= key[((start + j as u64) % 4) as usize];
                                }
                            }
                            deliver(out);
                        }
                    }
                    data = &data[k..];
                    self.step = Step::Payload {
                        left: left - k as u64,
                        mask,
                        at: at + k as u64,
                        forward,
                        ends,
                    };
                }
            }
            if let Step::Payload { left: 0, ends, .. } = self.step {
                completed |= ends;
                self.step = Step::Header { have: 0 };
            }
        }
        completed
    }
}

/// The connection after the switch: both directions' frames and what
/// their payload carries.
pub struct WebSocket {
    framers: [Framer; 2],
    /// The protocol found in the payload, driven like a connection's.
    inner: Option<Session>,
    /// HTTP found in the payload: its unconsumed bytes per direction, for
    /// the connection's own HTTP parser (Zeek's HTTP analyzers share one
    /// transaction state per connection), and whether bytes were dropped
    /// since the last take.
    http: Option<[(Vec<u8>, bool); 2]>,
    probes: u8,
    /// A whole message was parsed: the connection is WebSocket.
    confirmed: bool,
}

impl Default for WebSocket {
    fn default() -> WebSocket {
        WebSocket {
            framers: [Framer::default(), Framer::default()],
            inner: None,
            http: None,
            // As many payloads as a connection's own are probed.
            probes: crate::flow::conn::APP_PROBES,
            confirmed: false,
        }
    }
}

impl WebSocket {
    /// Frame bytes of `dir`; all of them are consumed.
    pub fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let WebSocket {
            framers,
            inner,
            http,
            probes,
            confirmed,
        } = self;
        let side = usize::from(!dir.is_orig());
        *confirmed |= framers[side].feed(data, |payload| {
            if inner.is_none() && http.is_none() && *probes > 0 {
                *probes -= 1;
                if super::probe(Transport::Tcp, ctx.flow.id, dir, payload).is_some() {
                    *http = Some(Default::default());
                } else {
                    *inner = crate::over_ip::probe(Transport::Tcp, ctx.flow.id, dir, payload)
                        .map(|p| Session::new(p, ctx.flow.uid.into()));
                }
            }
            if let Some((buf, lost)) = http.as_mut().map(|h| &mut h[side]) {
                if buf.len() + payload.len() <= INNER_WINDOW {
                    buf.extend_from_slice(payload);
                } else {
                    *lost = true;
                }
            }
            if let Some(s) = inner.as_mut() {
                s.stream(ctx, dir, payload, INNER_WINDOW);
            }
        });
        data.len()
    }

    /// The HTTP bytes of `dir` waiting to be parsed, and whether some were
    /// dropped before them; `None` unless the payload is HTTP.
    pub fn take_http(&mut self, dir: Dir) -> Option<(Vec<u8>, bool)> {
        let h = &mut self.http.as_mut()?[usize::from(!dir.is_orig())];
        Some((std::mem::take(&mut h.0), std::mem::take(&mut h.1)))
    }

    /// What the HTTP parser left of the bytes [`take_http`](Self::take_http)
    /// gave, kept for the next payload.
    pub fn keep_http(&mut self, dir: Dir, rest: Vec<u8>) {
        if let Some(h) = self.http.as_mut() {
            let buf = &mut h[usize::from(!dir.is_orig())].0;
            let mut rest = rest;
            rest.extend_from_slice(buf);
            *buf = rest;
        }
    }

    /// Bytes were lost: frame boundaries are gone for good.
    pub fn gap(&mut self) {
        for f in &mut self.framers {
            f.step = Step::Lost;
        }
    }

    pub fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(s) = self.inner.as_mut() {
            s.finish(ctx);
        }
    }

    pub fn confirmed(&self) -> bool {
        self.confirmed
    }

    /// The service of what the payload carries, if it was recognised.
    pub fn inner_service(&self) -> Option<&'static str> {
        match self.http {
            Some(_) => Some("http"),
            None => self.inner.as_ref().map(Session::service),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use osect_trafficgen::proto::websocket::{frame, PING};

    fn feed_all(f: &mut Framer, data: &[u8], split: usize) -> (Vec<u8>, bool) {
        let mut got = Vec::new();
        let mut done = false;
        for piece in data.chunks(split.max(1)) {
            done |= f.feed(piece, |p| got.extend_from_slice(p));
        }
        (got, done)
    }

    #[test]
    fn unmasks_and_joins_fragments_across_any_split() {
        let key = Some([0x37, 0xfa, 0x21, 0x3d]);
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = frame(false, OP_BINARY, key, b"first ");
        // A ping between the fragments is no part of the message.
        wire.extend(frame(true, PING, key, b"are you there"));
        wire.extend(frame(false, OP_CONTINUATION, key, &big));
        wire.extend(frame(true, OP_CONTINUATION, key, b" last"));
        let mut want = b"first ".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b" last");
        for split in [1, 3, 13, 4096, wire.len()] {
            let (got, done) = feed_all(&mut Framer::default(), &wire, split);
            assert!(done, "split {split}");
            assert_eq!(got.len(), want.len(), "split {split}");
            assert!(got == want, "split {split}");
        }
    }

    #[test]
    fn control_frames_are_not_payload_and_confirm_alone() {
        let (got, done) = feed_all(&mut Framer::default(), &frame(true, osect_trafficgen::proto::websocket::CLOSE, None, b"\x03\xe8"), 1);
        assert!(got.is_empty());
        assert!(done);
        // A message not yet ended confirms nothing.
        let (got, done) = feed_all(
            &mut Framer::default(),
            &frame(false, OP_TEXT, None, b"ab"),
            2,
        );
        assert_eq!(got, b"ab");
        assert!(!done);
    }

    #[test]
    fn a_frame_out_of_sequence_stops_the_direction() {
        let mut f = Framer::default();
        let mut wire = frame(true, OP_CONTINUATION, None, b"orphan");
        wire.extend(frame(true, OP_TEXT, None, b"after"));
        let (got, done) = feed_all(&mut f, &wire, wire.len());
        assert!(got.is_empty() && !done);
        assert_eq!(f.step, Step::Lost);
    }

    #[test]
    fn a_huge_announced_length_is_only_counted() {
        let mut f = Framer::default();
        let mut wire = vec![0x82, 127];
        wire.extend_from_slice(&u64::MAX.to_be_bytes());
        wire.extend_from_slice(b"abc");
        let (got, done) = feed_all(&mut f, &wire, 5);
        assert_eq!(got, b"abc");
        assert!(!done);
        assert!(matches!(f.step, Step::Payload { left, .. } if left == u64::MAX - 3));
    }

    #[test]
    fn handshake_lists_split_like_zeek() {
        let mut h = None;
        Handshake::header(&mut h, true, b"SEC-WEBSOCKET-PROTOCOL", b"v1, chat ,x");
        Handshake::header(&mut h, true, b"SEC-WEBSOCKET-PROTOCOL", b"y");
        Handshake::header(&mut h, false, b"SEC-WEBSOCKET-PROTOCOL", b"v1");
        Handshake::header(&mut h, true, b"HOST", b"ignored");
        let h = h.expect("a WebSocket header was seen");
        assert_eq!(
            h.client_protocols.as_deref(),
            Some(&["v1", "chat", "x", "y"].map(String::from)[..])
        );
        assert_eq!(h.subprotocol.as_deref(), Some("v1"));
        assert!(h.client_extensions.is_none() && h.server_extensions.is_none());
    }
}
