//! QUIC (RFC 9000/9001, and version 2, RFC 9369). The Initial packets'
//! protection keys derive from the connection id in the clear, so the TLS
//! ClientHello and ServerHello they carry are readable; the rest of the
//! connection is encrypted. Writes Zeek's `quic.log` (one row per QUIC
//! session: ids, version, SNI, first ALPN and the packet history) and the
//! hellos into the `tls` log like TLS over TCP. conn.log names the service
//! `quic,ssl`, as Zeek, once an Initial packet decrypts.
//!
//! What raises which history letter, when a row is written and when the
//! analysis of a connection stops follow Zeek's QUIC analyzer
//! (`QUIC.spicy` and `base/protocols/quic/main.zeek`).

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::over_ip::common::Row;
use crate::over_ip::tls::{consts, ja4_for, ClientHello, ServerHello, TLS_LOG};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema};
use ring::{aead, hkdf};
use std::borrow::Cow;

pub static QUIC_LOG: LogSchema = LogSchema {
    path: "quic",
    fields: crate::flow_fields![
        field("version", T::String),
        field("client_initial_dcid", T::String),
        field("client_scid", T::String),
        field("server_scid", T::String),
        field("server_name", T::String),
        field("client_protocol", T::String),
        field("history", T::String),
    ],
};

const VERSION_1: u32 = 1;
const VERSION_2: u32 = 0x6b33_43cf;
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// The mvfst (Facebook) versions with the version 1 packet layout.
const MVFST: [u32; 6] = [
    0xface_b001,
    0xface_b002,
    0xface_b00e,
    0xface_b011,
    0xface_b012,
    0xface_b013,
];
/// Ports Zeek gives its QUIC analyzer whatever the payload: HTTP/3 and
/// DNS over QUIC (RFC 9250, and its early port).
const QUIC_PORTS: [u16; 3] = [443, 853, 784];
/// CRYPTO stream bytes kept per direction while waiting for a hello.
const MAX_CRYPTO: usize = 16 * 1024;
/// The longest history (Zeek's `QUIC::max_history_length`).
const MAX_HISTORY: usize = 100;
/// Discarded packets noted in the history (Zeek's
/// `QUIC::max_discarded_packet_events`).
const MAX_DISCARDED: u64 = 100;
/// Payload bytes into a connection after which a parse error no longer
/// stops its analysis (Zeek's `DPD::ignore_violations_after`).
const IGNORE_VIOLATIONS_AFTER: u64 = 10 * 1024;

/// A variable-length integer (RFC 9000 section 16) and the bytes it used.
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let v = bytes[1..]
        .iter()
        .fold(u64::from(first & 0x3f), |v, &c| v << 8 | u64::from(c));
    Some((v, len))
}

/// The name Zeek's `QUIC::version_strings` gives a version.
pub fn version_name(v: u32) -> Cow<'static, str> {
    match v {
        VERSION_1 => Cow::Borrowed("1"),
        VERSION_2 => Cow::Borrowed("quicv2"),
        // Zeek's table names 0xff00001f "draft-30" as well.
        0xff00_001f => Cow::Borrowed("draft-30"),
        0xff00_0016..=0xff00_0022 => Cow::Owned(format!("draft-{}", v & 0xff)),
        _ if MVFST.contains(&v) => Cow::Owned(format!("mvfst ({v:x})")),
        _ => Cow::Owned(format!("unknown-{v:x}")),
    }
}

/// The long-header packet types (RFC 9000 section 17.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

impl Kind {
    /// The type bits of `version`'s layout; `None` for a version whose
    /// layout is unknown.
    fn of(version: u32, bits: u8) -> Option<Kind> {
        use Kind::*;
        let v1 = version == VERSION_1 || (0xff00_0016..=0xff00_0022).contains(&version);
        let order = match version {
            VERSION_2 => [Retry, Initial, ZeroRtt, Handshake],
            _ if v1 || MVFST.contains(&version) => [Initial, ZeroRtt, Handshake, Retry],
            _ => return None,
        };
        Some(order[usize::from(bits & 3)])
    }

    /// The history letter of a packet of this type (upper case when the
    /// client sent it).
    fn letter(self) -> char {
        match self {
            Kind::Initial => 'I',
            Kind::ZeroRtt => 'Z',
            Kind::Handshake => 'H',
            Kind::Retry => 'R',
        }
    }
}

/// A long-header packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Long<'a> {
    pub version: u32,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// `None` for a version whose packet layout is unknown.
    pub kind: Option<Kind>,
    /// Offset of the packet in the datagram.
    pub start: usize,
    /// Offset of an Initial's (protected) packet number in the datagram.
    pub pn_at: usize,
    /// End of this packet in the datagram (packets may be coalesced).
    pub end: usize,
}

/// The bytes are not a whole long-header packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotQuic;

/// The long-header packet at `at`. A Retry, or a packet of an unknown
/// version, takes the rest of the datagram.
pub fn long_header(d: &[u8], at: usize) -> Result<Long<'_>, NotQuic> {
    let b = d.get(at..).ok_or(NotQuic)?;
    let first = *b.first().ok_or(NotQuic)?;
    if first & 0xc0 != 0xc0 {
        return Err(NotQuic);
    }
    let version = crate::bytes::be32(b, 1).ok_or(NotQuic)?;
    let dlen = usize::from(*b.get(5).ok_or(NotQuic)?);
    let dcid = b.get(6..6 + dlen).ok_or(NotQuic)?;
    let slen = usize::from(*b.get(6 + dlen).ok_or(NotQuic)?);
    let scid = b.get(7 + dlen..7 + dlen + slen).ok_or(NotQuic)?;
    let mut p = 7 + dlen + slen;
    let kind = Kind::of(version, (first >> 4) & 3);
    let mut packet = Long {
        version,
        dcid,
        scid,
        kind,
        start: at,
        pn_at: 0,
        end: d.len(),
    };
    if matches!(kind, None | Some(Kind::Retry)) {
        return Ok(packet);
    }
    let next = |p: &mut usize| -> Result<u64, NotQuic> {
        let (v, n) = varint(b.get(*p..).ok_or(NotQuic)?).ok_or(NotQuic)?;
        *p += n;
        Ok(v)
    };
    let is_initial = kind == Some(Kind::Initial);
    if is_initial {
        let token = next(&mut p)?;
        p = p.saturating_add(usize::try_from(token).map_err(|_| NotQuic)?);
    }
    let len = next(&mut p)?;
    // An Initial holds at least a 4-byte packet number and a 16-byte
    // header protection sample (RFC 9001 section 5.4.2).
    if is_initial && len < 20 {
        return Err(NotQuic);
    }
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| (at + p).checked_add(l))
        .filter(|&e| e <= d.len())
        .ok_or(NotQuic)?;
    packet.pn_at = at + p;
    packet.end = end;
    Ok(packet)
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// TLS 1.3's HKDF-Expand-Label with an empty context.
fn expand_label(prk: &hkdf::Prk, label: &str, out: &mut [u8]) -> Option<()> {
    let full = [b"tls13 ", label.as_bytes()].concat();
    let len = u16::try_from(out.len()).ok()?.to_be_bytes();
    let llen = [u8::try_from(full.len()).ok()?];
    let info: [&[u8]; 4] = [&len, &llen, &full, &[0]];
    prk.expand(&info, Len(out.len())).ok()?.fill(out).ok()
}

/// The Initial packet protection of one direction.
pub struct Keys {
    key: aead::LessSafeKey,
    iv: [u8; 12],
    hp: aead::quic::HeaderProtectionKey,
}

impl Keys {
    /// Keys for the client (`server == false`) or the server, from the
    /// client's first destination connection id.
    pub fn derive(version: u32, dcid: &[u8], server: bool) -> Option<Keys> {
        // Drafts and vendor versions used other salts; their Initials
        // stay unread, as with Zeek.
        let (salt, prefix) = match version {
            VERSION_1 => (&SALT_V1, "quic"),
            VERSION_2 => (&SALT_V2, "quicv2"),
            _ => return None,
        };
        let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(dcid);
        let mut secret = [0u8; 32];
        expand_label(
            &initial,
            if server { "server in" } else { "client in" },
            &mut secret,
        )?;
        let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
        let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        expand_label(&prk, &format!("{prefix} key"), &mut key)?;
        expand_label(&prk, &format!("{prefix} iv"), &mut iv)?;
        expand_label(&prk, &format!("{prefix} hp"), &mut hp)?;
        Some(Keys {
            key: aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &key).ok()?),
            iv,
            hp: aead::quic::HeaderProtectionKey::new(&aead::quic::AES_128, &hp).ok()?,
        })
    }

    /// Removes the header protection and decrypts one Initial packet;
    /// returns its frames.
    pub fn open(&self, d: &[u8], p: &Long<'_>) -> Option<Vec<u8>> {
        let sample = d.get(p.pn_at + 4..p.pn_at + 20)?;
        let mask = self.hp.new_mask(sample).ok()?;
        // The header of this packet only: it may follow others in the
        // datagram.
        let first = d.get(p.start).map(|f| f ^ (mask[0] & 0x0f))?;
        let pn_len = usize::from(first & 3) + 1;
        let mut header = d.get(p.start..p.pn_at + pn_len)?.to_vec();
        header[0] = first;
        let pn_at = p.pn_at.checked_sub(p.start)?;
        let mut pn = 0u64;
        for i in 0..pn_len {
            header[pn_at + i] ^= mask[1 + i];
            pn = pn << 8 | u64::from(header[pn_at + i]);
        }
        let mut nonce = self.iv;
        for (i, b) in pn.to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        let mut body = d.get(p.pn_at + pn_len..p.end)?.to_vec();
        let plain = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&header),
                &mut body,
            )
            .ok()?;
        let n = plain.len();
        body.truncate(n);
        Some(body)
    }
}

/// A frame of a decrypted Initial payload that matters here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Crypto(u64, &'a [u8]),
    ConnectionClose,
}

/// The frames of a decrypted Initial payload, and whether they all
/// parsed. Like Zeek's parser this reads PADDING, PING, ACK, CRYPTO and
/// the transport CONNECTION_CLOSE; any other frame type is an error.
pub fn frames(mut f: &[u8]) -> (Vec<Frame<'_>>, bool) {
    let mut out = Vec::new();
    fn next(f: &mut &[u8]) -> Option<u64> {
        let (v, n) = varint(f)?;
        *f = &f[n..];
        Some(v)
    }
    while let Some((&ty, tail)) = f.split_first() {
        f = tail;
        let ok = match ty {
            0x00 | 0x01 => Some(()),
            0x02 | 0x03 => (|| {
                next(&mut f)?;
                next(&mut f)?;
                let ranges = next(&mut f)?;
                next(&mut f)?;
                let extra = ranges.saturating_mul(2) + if ty == 0x03 { 3 } else { 0 };
                for _ in 0..extra {
                    next(&mut f)?;
                }
                Some(())
            })(),
            0x06 => (|| {
                let off = next(&mut f)?;
                let len = usize::try_from(next(&mut f)?).ok()?;
                let data = f.get(..len)?;
                f = &f[len..];
                out.push(Frame::Crypto(off, data));
                Some(())
            })(),
            0x1c => (|| {
                next(&mut f)?; // error code
                next(&mut f)?; // frame type
                let len = usize::try_from(next(&mut f)?).ok()?;
                f = f.get(len..)?;
                out.push(Frame::ConnectionClose);
                Some(())
            })(),
            _ => None,
        };
        if ok.is_none() {
            return (out, false);
        }
    }
    (out, true)
}

/// Recognises QUIC as Zeek does: a v1 or v2 Initial packet on any port
/// (its signatures `dpd_quic_initial` and `dpd_quic_v2_initial`), or any
/// long-header packet to one of its QUIC ports.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    if t != Transport::Udp {
        return None;
    }
    let first = *data.first()?;
    let version = crate::bytes::be32(data, 1)?;
    let initial = (first & 0xf0 == 0xc0 && version == VERSION_1)
        || (first & 0xf0 == 0xd0 && version == VERSION_2);
    let port = first & 0x80 != 0 && QUIC_PORTS.contains(&id.resp_p);
    (initial || port).then(|| Box::new(Quic::default()) as Box<dyn AppParser>)
}

/// Fragments of the CRYPTO stream held until the gap before them fills
/// (frames may arrive in any order, even within one packet).
const MAX_FRAGMENTS: usize = 64;

#[derive(Default)]
struct Stream {
    /// Contiguous CRYPTO bytes from offset 0.
    data: Vec<u8>,
    pending: Vec<(usize, Vec<u8>)>,
    /// The first handshake message has been read.
    done: bool,
}

impl Stream {
    /// The length of the first handshake message with its header, once
    /// known.
    fn expected(&self) -> Option<usize> {
        let l = self.data.get(1..4)?;
        Some((usize::from(l[0]) << 16 | usize::from(l[1]) << 8 | usize::from(l[2])) + 4)
    }

    /// Adds CRYPTO bytes at `off`; false for bytes past the end of the
    /// first handshake message (Zeek stops there).
    fn add(&mut self, off: u64, d: &[u8]) -> bool {
        let Some(end) = usize::try_from(off)
            .ok()
            .and_then(|o| o.checked_add(d.len()))
        else {
            return false;
        };
        if self.expected().is_some_and(|e| end > e) {
            return false;
        }
        if end > MAX_CRYPTO {
            return true;
        }
        let off = end - d.len();
        if self.pending.len() < MAX_FRAGMENTS {
            self.pending.push((off, d.to_vec()));
        }
        // Append every fragment that reaches the end of the contiguous part.
        while let Some(i) = self
            .pending
            .iter()
            .position(|(o, f)| *o <= self.data.len() && o + f.len() >= self.data.len())
        {
            let (o, f) = self.pending.swap_remove(i);
            let have = self.data.len();
            self.data.extend_from_slice(&f[have - o..]);
        }
        let have = self.data.len();
        self.pending.retain(|(o, f)| o + f.len() > have);
        true
    }

    /// The first handshake message, once whole.
    fn message(&self) -> Option<(u8, &[u8])> {
        let t = *self.data.first()?;
        Some((t, self.data.get(4..self.expected()?)?))
    }
}

/// The quic.log row being built (Zeek's `QUIC::Info`).
struct Session {
    ts: i64,
    version: u32,
    client_initial_dcid: Option<String>,
    client_scid: Option<String>,
    server_scid: Option<String>,
    server_name: Option<String>,
    client_protocol: Option<String>,
    history: String,
}

/// Short-header packets of one direction: a history letter at the 1st,
/// 2nd, 4th, 8th, ... one.
struct Shorts {
    total: u64,
    next: u64,
}

impl Default for Shorts {
    fn default() -> Shorts {
        Shorts { total: 0, next: 1 }
    }
}

/// What the `tls` log row takes from the hellos.
#[derive(Default)]
struct TlsRow {
    server_name: Option<String>,
    ja4: Option<String>,
    hello: Option<ServerHello>,
    seen_client: bool,
    logged: bool,
}

#[derive(Default)]
pub struct Quic {
    session: Option<Session>,
    /// The client's first destination connection id: both directions'
    /// Initial keys derive from it.
    odcid: Option<Vec<u8>>,
    /// The client's connection id length, as short headers carry it.
    client_cid_len: usize,
    streams: [Stream; 2],
    decrypted: u64,
    discarded: u64,
    shorts: [Shorts; 2],
    /// Payload bytes seen, both directions.
    bytes: u64,
    /// A parse error early in the connection ended its analysis.
    stopped: bool,
    tls: TlsRow,
}

impl Quic {
    /// Opens the session on its first long-header packet and keeps the
    /// latest connection ids of each side.
    fn session(&mut self, ctx: &Ctx<'_, '_>, orig: bool, p: &Long<'_>) {
        let s = self.session.get_or_insert_with(|| Session {
            ts: ctx.ts,
            version: p.version,
            client_initial_dcid: None,
            client_scid: None,
            server_scid: None,
            server_name: None,
            client_protocol: None,
            history: String::new(),
        });
        if orig {
            if !p.dcid.is_empty() && s.client_initial_dcid.is_none() {
                s.client_initial_dcid = Some(text::hex_bytes(p.dcid));
            }
            s.client_scid = Some(text::hex_bytes(p.scid));
        } else {
            s.server_scid = Some(text::hex_bytes(p.scid));
        }
    }

    fn history(&mut self, orig: bool, letter: char) {
        if let Some(s) = &mut self.session {
            if s.history.len() < MAX_HISTORY {
                s.history.push(if orig {
                    letter
                } else {
                    letter.to_ascii_lowercase()
                });
            }
        }
    }

    /// Writes the session's row and forgets it.
    fn log(&mut self, ctx: &mut Ctx<'_, '_>) {
        let Some(s) = self.session.take() else {
            return;
        };
        Row::flow(ctx, &QUIC_LOG)
            .at(s.ts)
            .push(version_name(s.version).into_owned())
            .push(s.client_initial_dcid)
            .push(s.client_scid)
            .push(s.server_scid)
            .push(s.server_name)
            .push(s.client_protocol)
            .push(s.history)
            .emit(ctx);
    }

    fn log_tls(&mut self, ctx: &mut Ctx<'_, '_>) {
        let t = &mut self.tls;
        if t.logged || !(t.seen_client || t.hello.is_some()) {
            return;
        }
        t.logged = true;
        let sh = t.hello;
        Row::flow(ctx, &TLS_LOG)
            .push(sh.map(|h| consts::version_name(h.version).into_owned()))
            .push(sh.map(|h| consts::cipher_name(h.cipher).into_owned()))
            .push(
                sh.and_then(|h| h.group)
                    .map(|g| consts::curve_name(g).into_owned()),
            )
            .push(t.server_name.take())
            .push(t.ja4.take())
            .emit(ctx);
    }

    /// A parse error: like a protocol violation in Zeek, it ends the
    /// analysis unless the connection is already well under way.
    fn violation(&mut self) {
        if self.bytes <= IGNORE_VIOLATIONS_AFTER {
            self.stopped = true;
        }
    }

    /// Reads the first handshake message of `side` once it is whole.
    fn hello(&mut self, side: usize) {
        let Some((ty, body)) = self.streams[side].message() else {
            return;
        };
        match (side, ty) {
            (0, 1) => {
                if let Some(ch) = ClientHello::parse(body) {
                    if let Some(s) = &mut self.session {
                        if let Some(n) = ch.server_name().filter(|n| !n.is_empty()) {
                            s.server_name = Some(text::bytes(n, MAX_NAME));
                        }
                        if let Some(a) = ch.first_alpn() {
                            s.client_protocol = Some(text::bytes(a, MAX_NAME));
                        }
                    }
                    if !self.tls.seen_client {
                        self.tls.seen_client = true;
                        self.tls.server_name = ch.server_name().map(|n| text::bytes(n, MAX_NAME));
                        self.tls.ja4 = Some(ja4_for(&ch, 'q'));
                    }
                    self.history(true, 'S');
                }
            }
            (1, 2) => {
                if let Some(sh) = ServerHello::parse(body) {
                    self.tls.hello.get_or_insert(sh);
                    self.history(false, 'S');
                }
            }
            _ => {}
        }
        self.streams[side] = Stream {
            done: true,
            ..Stream::default()
        };
    }

    /// Handles the packet at `at`; returns where the next one starts, or
    /// `None` when the rest of the datagram is not read (a short header,
    /// a discarded or Retry packet, or a parse error).
    fn packet(&mut self, ctx: &mut Ctx<'_, '_>, orig: bool, d: &[u8], at: usize) -> Option<usize> {
        let first = *d.get(at)?;
        let side = usize::from(!orig);
        if first & 0x40 == 0 {
            // The fixed bit is clear: not a packet of this version.
            self.discarded += 1;
            if self.decrypted > 0 && self.discarded <= MAX_DISCARDED {
                self.history(orig, 'X');
            }
            return None;
        }
        if first & 0x80 == 0 {
            if d.len() < at + 1 + self.client_cid_len {
                self.violation();
                return None;
            }
            let s = &mut self.shorts[side];
            s.total += 1;
            if s.total == s.next {
                s.next = s.next.saturating_mul(2);
                self.history(orig, 'O');
            }
            return None;
        }
        let Ok(p) = long_header(d, at) else {
            self.violation();
            return None;
        };
        let Some(kind) = p.kind else {
            self.session(ctx, orig, &p);
            self.history(orig, 'U');
            self.log(ctx);
            self.violation();
            return None;
        };
        if kind == Kind::Retry {
            if self.session.is_none() {
                self.session(ctx, orig, &p);
            }
            self.history(orig, 'R');
            self.log(ctx);
            // The client's next Initial picks the connection id the keys
            // derive from.
            self.odcid = None;
            self.streams = Default::default();
            return None;
        }
        self.session(ctx, orig, &p);
        self.history(orig, kind.letter());
        if kind != Kind::Initial || self.streams[side].done {
            return Some(p.end);
        }
        // The server's Initial decrypts only with the client's first id.
        if self.odcid.is_none() {
            if !orig {
                return Some(p.end);
            }
            self.odcid = Some(p.dcid.to_vec());
        }
        self.client_cid_len = if orig { p.scid.len() } else { p.dcid.len() };
        let Some(keys) = self
            .odcid
            .as_deref()
            .and_then(|c| Keys::derive(p.version, c, !orig))
        else {
            return Some(p.end);
        };
        let Some(plain) = keys.open(d, &p) else {
            self.violation();
            return None;
        };
        self.decrypted += 1;
        let (fs, ok) = frames(&plain);
        for f in fs {
            match f {
                Frame::Crypto(off, data) => {
                    if self.streams[side].done {
                        continue;
                    }
                    if !self.streams[side].add(off, data) {
                        self.violation();
                        return None;
                    }
                    self.hello(side);
                }
                Frame::ConnectionClose => {
                    if self.session.is_some() {
                        self.history(orig, 'C');
                        self.log(ctx);
                    }
                }
            }
        }
        if !ok {
            self.violation();
            return None;
        }
        Some(p.end)
    }
}

impl AppParser for Quic {
    fn service(&self) -> &'static str {
        if self.decrypted > 0 {
            "quic,ssl"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        self.bytes = self.bytes.saturating_add(data.len() as u64);
        if self.stopped {
            return data.len();
        }
        let mut at = 0;
        while !self.stopped && at < data.len() {
            match self.packet(ctx, dir.is_orig(), data, at) {
                Some(end) => at = end,
                None => break,
            }
        }
        if self.streams.iter().all(|s| s.done) {
            self.log_tls(ctx);
        }
        data.len()
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        self.log_tls(ctx);
        self.log(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_rfc_9001_client_keys() {
        // RFC 9001 appendix A.1: DCID 0x8394c8f03e515708.
        let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
        let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, &SALT_V1).extract(&dcid);
        let mut secret = [0u8; 32];
        expand_label(&initial, "client in", &mut secret).unwrap();
        assert_eq!(
            text::hex_bytes(&secret),
            "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"
        );
        let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
        let mut key = [0u8; 16];
        expand_label(&prk, "quic key", &mut key).unwrap();
        assert_eq!(text::hex_bytes(&key), "1f369613dd76d5467730efcbe3b1a22d");
        let mut iv = [0u8; 12];
        expand_label(&prk, "quic iv", &mut iv).unwrap();
        assert_eq!(text::hex_bytes(&iv), "fa044b2f42a3fd3b46fb255c");
        assert!(Keys::derive(VERSION_1, &dcid, false).is_some());
    }

    #[test]
    fn reads_varints() {
        assert_eq!(varint(&[0x25]), Some((37, 1)));
        assert_eq!(varint(&[0x7b, 0xbd]), Some((15293, 2)));
        assert_eq!(varint(&[0x9d, 0x7f, 0x3e, 0x7d]), Some((494_878_333, 4)));
        assert_eq!(varint(&[0x9d, 0x7f]), None);
    }
}
