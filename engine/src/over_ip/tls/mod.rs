//! TLS handshakes on any port: Zeek's `ssl.log` fields that the cleartext
//! hellos carry (`version cipher curve server_name`), and the client's JA4
//! fingerprint. One row per connection, written when the server's
//! cleartext part of the handshake ends (or the connection does).

pub mod descriptor;

pub mod consts;
pub mod wire;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::Row;
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use wire::*;

pub use wire::{ClientHello, ServerHello};

pub static TLS_LOG: LogSchema = LogSchema {
    path: "tls",
    fields: flow_fields![
        field("version", T::String),
        field("cipher", T::String),
        field("curve", T::String),
        field("server_name", T::String),
        field("ja4", T::String),
    ],
};

/// Handshake bytes buffered per direction to rebuild a hello split over
/// several records.
const MAX_HANDSHAKE: usize = 64 * 1024;

/// Recognises a TLS handshake record carrying a hello, on any port.
pub fn probe(
    transport: Transport,
    _id: &ConnId,
    _dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    (transport == Transport::Tcp && is_handshake_record(data))
        .then(|| Box::new(Tls::default()) as Box<dyn AppParser>)
}

/// The JA4 client fingerprint (FoxIO, BSD-3-Clause specification) of a
/// ClientHello seen over TCP.
pub fn ja4(ch: &ClientHello<'_>) -> String {
    ja4_for(ch, 't')
}

/// JA4 with its transport letter: `t` for TCP, `q` for QUIC.
pub fn ja4_for(ch: &ClientHello<'_>, transport: char) -> String {
    let version = match ch.max_version() {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        _ => "00",
    };
    let mut ciphers: Vec<u16> = ch.ciphers().filter(|c| !is_grease(*c)).collect();
    let exts: Vec<u16> = ch.extension_types().filter(|e| !is_grease(*e)).collect();
    let sni = if exts.contains(&0) { 'd' } else { 'i' };
    let alpn = match ch.first_alpn() {
        Some([]) | None => "00".to_owned(),
        Some(p) => {
            let (f, l) = (p[0], p[p.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", char::from(f), char::from(l))
            } else {
                format!("{:x}{:x}", f >> 4, l & 0xf)
            }
        }
    };
    let mut out = format!(
        "{transport}{version}{sni}{:02}{:02}{alpn}_",
        ciphers.len().min(99),
        exts.len().min(99)
    );
    ciphers.sort_unstable();
    out.push_str(&hash12(&hex_list(&ciphers), ciphers.is_empty()));
    out.push('_');
    let mut sorted: Vec<u16> = exts.into_iter().filter(|e| *e != 0 && *e != 16).collect();
    sorted.sort_unstable();
    let mut c = hex_list(&sorted);
    let sigs: Vec<u16> = ch.signature_algorithms().collect();
    if !sigs.is_empty() {
        c.push('_');
        c.push_str(&hex_list(&sigs));
    }
    out.push_str(&hash12(&c, sorted.is_empty()));
    out
}

fn hex_list(v: &[u16]) -> String {
    let mut s = String::with_capacity(v.len() * 5);
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{x:04x}");
    }
    s
}

fn hash12(s: &str, empty: bool) -> String {
    if empty {
        return "000000000000".to_owned();
    }
    text::hex_bytes(&Sha256::digest(s.as_bytes())[..6])
}

#[derive(Default)]
struct Side {
    /// Handshake bytes not yet parsed into messages.
    hs: Vec<u8>,
    /// Encrypted from here on, or lost.
    done: bool,
}

#[derive(Default)]
pub struct Tls {
    sides: [Side; 2],
    server_name: Option<String>,
    ja4: Option<String>,
    version: Option<u16>,
    cipher: Option<u16>,
    curve: Option<u16>,
    seen_hello: bool,
    logged: bool,
}

impl Tls {
    fn log(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.logged || !self.seen_hello {
            return;
        }
        self.logged = true;
        Row::flow(ctx, &TLS_LOG)
            .push(self.version.map(|v| consts::version_name(v).into_owned()))
            .push(self.cipher.map(|c| consts::cipher_name(c).into_owned()))
            .push(self.curve.map(|c| consts::curve_name(c).into_owned()))
            .push(self.server_name.clone())
            .push(self.ja4.clone())
            .emit(ctx);
    }

    /// Handles the whole handshake messages at the start of `buf`; returns
    /// the bytes they took.
    fn messages(&mut self, ctx: &mut Ctx<'_, '_>, side: usize, buf: &[u8]) -> usize {
        let mut at = 0;
        while let (Some(&mt), Some(l)) = (buf.get(at), buf.get(at + 1..at + 4)) {
            let l = usize::from(l[0]) << 16 | usize::from(l[1]) << 8 | usize::from(l[2]);
            let Some(m) = buf.get(at + 4..at + 4 + l) else {
                break;
            };
            self.handshake(ctx, side, mt, m);
            at += 4 + l;
        }
        at
    }

    /// One whole handshake message from `side`.
    fn handshake(&mut self, ctx: &mut Ctx<'_, '_>, side: usize, ty: u8, body: &[u8]) {
        match (side, ty) {
            (0, HS_CLIENT_HELLO) => {
                if let Some(ch) = ClientHello::parse(body) {
                    self.seen_hello = true;
                    self.server_name = ch.server_name().map(|n| text::bytes(n, MAX_NAME));
                    self.ja4 = Some(ja4(&ch));
                }
            }
            (1, HS_SERVER_HELLO) => {
                if let Some(sh) = ServerHello::parse(body) {
                    self.seen_hello = true;
                    self.version = Some(sh.version);
                    self.cipher = Some(sh.cipher);
                    self.curve = sh.group;
                    if sh.version == 0x0304 || sh.version >> 8 == 0x7f || sh.group.is_some() {
                        // Everything after the TLS 1.3 ServerHello is encrypted.
                        self.sides[1].done = true;
                        self.log(ctx);
                    }
                }
            }
            (1, HS_SERVER_KEY_EXCHANGE) => {
                if let Some(c) = ske_curve(body) {
                    self.curve = Some(c);
                }
            }
            (1, HS_SERVER_HELLO_DONE) => self.log(ctx),
            _ => {}
        }
    }
}

impl Tls {
    /// A hello was read: the connection speaks TLS (used where TLS starts
    /// inside another protocol, after STARTTLS).
    pub fn confirmed(&self) -> bool {
        self.seen_hello
    }
}

impl AppParser for Tls {
    fn needs_start(&self) -> bool {
        true
    }

    fn service(&self) -> &'static str {
        "ssl"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let side = usize::from(!dir.is_orig());
        let mut used = 0;
        while !self.sides[side].done {
            let Some((ty, _, len)) = record_header(&data[used..]) else {
                return used;
            };
            if len > MAX_RECORD {
                self.sides[side].done = true;
                break;
            }
            let Some(body) = data.get(used + RECORD_HEADER_LEN..used + RECORD_HEADER_LEN + len)
            else {
                return used;
            };
            used += RECORD_HEADER_LEN + len;
            match ty {
                CONTENT_HANDSHAKE => {
                    let mut hs = std::mem::take(&mut self.sides[side].hs);
                    if hs.is_empty() {
                        // Usual case: whole messages in one record, no copy.
                        let at = self.messages(ctx, side, body);
                        hs.extend_from_slice(&body[at..]);
                    } else {
                        hs.extend_from_slice(body);
                        let at = self.messages(ctx, side, &hs);
                        hs.drain(..at);
                    }
                    if hs.len() > MAX_HANDSHAKE {
                        self.sides[side].done = true;
                        break;
                    }
                    if !self.sides[side].done {
                        self.sides[side].hs = hs;
                    }
                }
                CONTENT_ALERT => {}
                _ => {
                    // ChangeCipherSpec, application data or garbage: no
                    // more cleartext handshake from this side.
                    self.sides[side].done = true;
                    if side == 1 {
                        self.log(ctx);
                    }
                }
            }
        }
        if self.sides[side].done {
            self.sides[side].hs = Vec::new();
            return data.len();
        }
        used
    }

    fn gap(&mut self, dir: Dir) {
        self.sides[usize::from(!dir.is_orig())].done = true;
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        self.log(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_like_zeek() {
        assert_eq!(consts::version_name(0x0303), "TLSv12");
        assert_eq!(consts::version_name(0x7f17), "TLSv13-draft23");
        assert_eq!(consts::version_name(0x7e01), "unknown-32257");
        assert!(is_grease(0x1a1a) && !is_grease(0x1a2a));
    }
}

#[cfg(test)]
pub(crate) mod stream_tests {
    use crate::flow::id::Transport;
    use crate::over_ip::harness::{conn, field, rows, run, Step};
    use crate::over_ip::Dir::{Orig, Resp};

    /// A ClientHello for `plc.example` offering TLS 1.3 and 1.2.
    pub fn client_hello() -> Vec<u8> {
        let sni = b"plc.example";
        let mut ext = Vec::new();
        // server_name: list length, type host_name, name length, name
        ext.extend_from_slice(&[0x00, 0x00, 0x00, 16, 0x00, 14, 0x00, 0x00, 11]);
        ext.extend_from_slice(sni);
        // supported_versions: TLS 1.3, TLS 1.2
        ext.extend_from_slice(&[0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03]);
        // signature_algorithms: ecdsa_secp256r1_sha256
        ext.extend_from_slice(&[0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03]);
        let mut body = vec![0x03, 0x03]; // legacy version
        body.extend_from_slice(&[7; 32]); // random
        body.push(0); // session id
        body.extend_from_slice(&[0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]); // ciphers
        body.extend_from_slice(&[0x01, 0x00]); // compression: null
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![0x01, 0x00];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    /// A ServerHello choosing TLS 1.3, TLS_AES_128_GCM_SHA256 and x25519.
    fn server_hello() -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[9; 32]);
        body.push(0);
        body.extend_from_slice(&[0x13, 0x01, 0x00]); // cipher, compression
        let ext = [
            0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, // supported_versions: TLS 1.3
            0x00, 0x33, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x00, // key_share: x25519
        ];
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![0x02, 0x00];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x03];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn hellos_split_across_segments() {
        let id = conn(Transport::Tcp, 40000, 8443);
        let ch = client_hello();
        let sh = server_hello();
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Orig, &ch[..9]),
                Step::Data(Orig, &ch[9..40]),
                Step::Data(Orig, &ch[40..]),
                Step::Data(Resp, &sh),
            ],
        );
        // Recognised from the record header in the first segment; the
        // hello is decoded once the record is whole.
        let tls = rows(&recs, "tls");
        assert_eq!(tls.len(), 1);
        assert_eq!(field(tls[0], "version"), "TLSv13");
        assert_eq!(field(tls[0], "cipher"), "TLS_AES_128_GCM_SHA256");
        assert_eq!(field(tls[0], "curve"), "x25519");
        assert_eq!(service, Some("ssl"));
        assert_eq!(field(tls[0], "server_name"), "plc.example");
    }

    #[test]
    fn client_hello_gives_sni_and_ja4() {
        let id = conn(Transport::Tcp, 40000, 443);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Orig, &client_hello()),
                Step::Data(Resp, &server_hello()),
            ],
        );
        let tls = rows(&recs, "tls");
        assert_eq!(service, Some("ssl"));
        assert_eq!(field(tls[0], "server_name"), "plc.example");
        // t, TLS 1.3, SNI, 2 ciphers, 3 extensions, no ALPN.
        assert!(field(tls[0], "ja4").starts_with("t13d020300_"));
    }

    #[test]
    fn tls_through_an_http_connect_tunnel() {
        let id = conn(Transport::Tcp, 40000, 3128);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(
                    Orig,
                    b"CONNECT plc.example:443 HTTP/1.1\r\nHost: plc.example:443\r\n\r\n",
                ),
                Step::Data(Resp, b"HTTP/1.1 200 Connection Established\r\n\r\n"),
                Step::Data(Orig, &client_hello()),
                Step::Data(Resp, &server_hello()),
            ],
        );
        assert_eq!(service, Some("http,ssl"));
        assert_eq!(field(rows(&recs, "http")[0], "method"), "CONNECT");
        assert_eq!(field(rows(&recs, "tls")[0], "server_name"), "plc.example");
    }
}
