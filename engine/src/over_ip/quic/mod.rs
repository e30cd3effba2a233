//! QUIC (RFC 9000/9001, and version 2, RFC 9369) Initial packets: their
//! protection keys derive from the connection id in the clear, so the TLS
//! ClientHello and ServerHello they carry are readable. They are logged in
//! the `tls` log like TLS over TCP; the rest of the connection is
//! encrypted and ignored. conn.log names the service `quic,ssl`, as Zeek.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::over_ip::common::Row;
use crate::over_ip::tls::{consts, ja4_for, ClientHello, ServerHello, TLS_LOG};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME};
use ring::{aead, hkdf};

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
/// CRYPTO stream bytes kept per direction while waiting for a hello.
const MAX_CRYPTO: usize = 16 * 1024;
const MAX_CID: usize = 20;

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

/// The parts of a long-header Initial packet before its protected payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Initial<'a> {
    pub version: u32,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Offset of the (protected) packet number in the datagram.
    pub pn_at: usize,
    /// End of this packet in the datagram (packets may be coalesced).
    pub end: usize,
}

/// The bytes are not a QUIC v1/v2 long-header packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotQuic;

/// The long-header packet at `at`: `Ok(Some)` for an Initial, `Ok(None)`
/// for another long-header type (skipped by its length), `Err` otherwise.
pub fn long_header(d: &[u8], at: usize) -> Result<(Option<Initial<'_>>, usize), NotQuic> {
    let b = d.get(at..).ok_or(NotQuic)?;
    let first = *b.first().ok_or(NotQuic)?;
    if first & 0xc0 != 0xc0 {
        return Err(NotQuic);
    }
    let version = crate::bytes::be32(b, 1).ok_or(NotQuic)?;
    let ty = (first >> 4) & 3;
    let initial_type = match version {
        VERSION_1 => 0,
        VERSION_2 => 1,
        _ => return Err(NotQuic),
    };
    let dlen = usize::from(*b.get(5).ok_or(NotQuic)?);
    let dcid = b.get(6..6 + dlen).ok_or(NotQuic)?;
    let slen = usize::from(*b.get(6 + dlen).ok_or(NotQuic)?);
    let scid = b.get(7 + dlen..7 + dlen + slen).ok_or(NotQuic)?;
    if dlen > MAX_CID || slen > MAX_CID {
        return Err(NotQuic);
    }
    let mut p = 7 + dlen + slen;
    // Retry packets (type 3 in v1, 0 in v2) have no length: they end the datagram.
    let retry = if version == VERSION_2 { 0 } else { 3 };
    if ty == retry {
        return Ok((None, d.len()));
    }
    if ty == initial_type {
        let (tlen, n) = varint(&b[p..]).ok_or(NotQuic)?;
        p += n + usize::try_from(tlen).map_err(|_| NotQuic)?;
    }
    let (len, n) = varint(b.get(p..).ok_or(NotQuic)?).ok_or(NotQuic)?;
    p += n;
    let end = at + p + usize::try_from(len).map_err(|_| NotQuic)?;
    if end > d.len() {
        return Err(NotQuic);
    }
    let pkt = (ty == initial_type).then_some(Initial {
        version,
        dcid,
        scid,
        pn_at: at + p,
        end,
    });
    Ok((pkt, end))
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
    pub fn open(&self, d: &[u8], p: &Initial<'_>) -> Option<Vec<u8>> {
        let sample = d.get(p.pn_at + 4..p.pn_at + 20)?;
        let mask = self.hp.new_mask(sample).ok()?;
        let first = d.first().map(|f| f ^ (mask[0] & 0x0f))?;
        let pn_len = usize::from(first & 3) + 1;
        let mut header = d.get(..p.pn_at + pn_len)?.to_vec();
        header[0] = first;
        let mut pn = 0u64;
        for i in 0..pn_len {
            header[p.pn_at + i] ^= mask[1 + i];
            pn = pn << 8 | u64::from(header[p.pn_at + i]);
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

/// The CRYPTO frames of a decrypted Initial payload: `(offset, data)`.
/// Stops at a frame type an Initial packet may not carry.
pub fn crypto_frames(mut f: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    while let Some((ty, n)) = varint(f) {
        f = &f[n..];
        match ty {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, ranges.
                let mut fields = 4;
                let mut ranges = None;
                while fields > 0 {
                    let Some((v, n)) = varint(f) else { return out };
                    f = &f[n..];
                    fields -= 1;
                    if fields == 1 && ranges.is_none() {
                        ranges = Some(v);
                    }
                }
                let extra = ranges.unwrap_or(0).saturating_mul(2) + if ty == 0x03 { 3 } else { 0 };
                for _ in 0..extra.min(1024) {
                    let Some((_, n)) = varint(f) else { return out };
                    f = &f[n..];
                }
            }
            0x06 => {
                let Some((off, n)) = varint(f) else {
                    return out;
                };
                f = &f[n..];
                let Some((len, n)) = varint(f) else {
                    return out;
                };
                let Some(data) = usize::try_from(len).ok().and_then(|l| f.get(n..n + l)) else {
                    return out;
                };
                out.push((off, data));
                f = &f[n + data.len()..];
            }
            _ => return out,
        }
    }
    out
}

/// Recognises a QUIC v1 or v2 Initial packet from the client.
pub fn probe(
    transport: Transport,
    _id: &ConnId,
    dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    if transport != Transport::Udp || !dir.is_orig() || data.len() < 1200 {
        return None;
    }
    let (Some(p), _) = long_header(data, 0).ok()? else {
        return None;
    };
    let quic = Quic {
        version: p.version,
        odcid: p.dcid.to_vec(),
        ..Quic::default()
    };
    Some(Box::new(quic))
}

/// Fragments of the CRYPTO stream held until the gap before them fills
/// (frames may arrive in any order, even within one packet).
const MAX_FRAGMENTS: usize = 64;

#[derive(Default)]
struct Stream {
    /// Contiguous CRYPTO bytes from offset 0.
    data: Vec<u8>,
    pending: Vec<(usize, Vec<u8>)>,
    done: bool,
}

impl Stream {
    fn add(&mut self, off: u64, d: &[u8]) {
        let Ok(off) = usize::try_from(off) else {
            return;
        };
        if off.saturating_add(d.len()) > MAX_CRYPTO {
            return;
        }
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
    }

    /// The first handshake message, once whole.
    fn message(&self) -> Option<(u8, &[u8])> {
        let t = *self.data.first()?;
        let l = self.data.get(1..4)?;
        let l = usize::from(l[0]) << 16 | usize::from(l[1]) << 8 | usize::from(l[2]);
        Some((t, self.data.get(4..4 + l)?))
    }
}

#[derive(Default)]
pub struct Quic {
    version: u32,
    /// The client's first destination connection id: both directions'
    /// Initial keys derive from it.
    odcid: Vec<u8>,
    streams: [Stream; 2],
    server_name: Option<String>,
    ja4: Option<String>,
    hello: Option<ServerHello>,
    seen_client: bool,
    logged: bool,
}

impl Quic {
    fn log(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.logged || !(self.seen_client || self.hello.is_some()) {
            return;
        }
        self.logged = true;
        let sh = self.hello;
        Row::flow(ctx, &TLS_LOG)
            .push(sh.map(|h| consts::version_name(h.version).into_owned()))
            .push(sh.map(|h| consts::cipher_name(h.cipher).into_owned()))
            .push(
                sh.and_then(|h| h.group)
                    .map(|g| consts::curve_name(g).into_owned()),
            )
            .push(self.server_name.take())
            .push(self.ja4.take())
            .emit(ctx);
    }
}

impl AppParser for Quic {
    fn service(&self) -> &'static str {
        "quic,ssl"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let side = usize::from(!dir.is_orig());
        if self.streams[side].done {
            return data.len();
        }
        let Some(keys) = Keys::derive(self.version, &self.odcid, side == 1) else {
            return data.len();
        };
        let mut at = 0;
        while at < data.len() {
            let Ok((pkt, end)) = long_header(data, at) else {
                break;
            };
            at = end;
            let Some(p) = pkt else { continue };
            let Some(frames) = keys.open(data, &p) else {
                continue;
            };
            for (off, d) in crypto_frames(&frames) {
                self.streams[side].add(off, d);
            }
        }
        if let Some((ty, body)) = self.streams[side].message() {
            match (side, ty) {
                (0, 1) => {
                    if let Some(ch) = ClientHello::parse(body) {
                        self.seen_client = true;
                        self.server_name = ch.server_name().map(|n| text::bytes(n, MAX_NAME));
                        self.ja4 = Some(ja4_for(&ch, 'q'));
                    }
                }
                (1, 2) => self.hello = ServerHello::parse(body),
                _ => {}
            }
            self.streams[side] = Stream {
                done: true,
                ..Stream::default()
            };
        }
        if self.streams.iter().all(|s| s.done) {
            self.log(ctx);
        }
        data.len()
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
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
