//! QUIC packets (RFC 9000, version 2 from RFC 9369) with Initial packet
//! protection (RFC 9001 section 5: keys from the client's first
//! destination connection id, AES-128-GCM and AES header protection), and
//! the frames that carry the TLS hellos (`super::tls`).

use super::be16;
use ring::{aead, hkdf};

pub const VERSION_1: u32 = 1;
pub const VERSION_2: u32 = 0x6b33_43cf;

/// Long-header packet types, numbered as version 1 numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Initial = 0,
    ZeroRtt = 1,
    Handshake = 2,
    Retry = 3,
}

fn type_bits(version: u32, kind: Kind) -> u8 {
    // RFC 9369 section 3.2: version 2 shifts every type up by one.
    let v1 = kind as u8;
    if version == VERSION_2 {
        (v1 + 1) & 3
    } else {
        v1
    }
}

/// A two-byte variable-length integer (RFC 9000 section 16).
fn varint2(v: &mut Vec<u8>, x: usize) {
    let x = u16::try_from(x).unwrap_or(0x3fff).min(0x3fff);
    be16(v, 0x4000 | x);
}

/// First byte, version and connection ids of a long header.
fn long_start(version: u32, kind: Kind, low: u8, dcid: &[u8], scid: &[u8]) -> Vec<u8> {
    let mut v = vec![0xc0 | type_bits(version, kind) << 4 | low];
    v.extend_from_slice(&version.to_be_bytes());
    for cid in [dcid, scid] {
        v.push(u8::try_from(cid.len()).unwrap_or(0));
        v.extend_from_slice(cid);
    }
    v
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// TLS 1.3's HKDF-Expand-Label with an empty context.
fn expand(prk: &hkdf::Prk, label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let out_len = u16::try_from(len).unwrap_or(0).to_be_bytes();
    let label_len = [u8::try_from(full.len()).unwrap_or(0)];
    let info: [&[u8]; 4] = [&out_len, &label_len, full.as_bytes(), &[0]];
    let mut out = vec![0; len];
    prk.expand(&info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .expect("HKDF-SHA256 output lengths are far below its limit");
    out
}

/// The connection ids and packet number of an Initial packet, and the
/// client's first destination connection id its keys derive from.
pub struct Ids<'a> {
    pub odcid: &'a [u8],
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    pub pn: u16,
}

/// An Initial packet of `version` from the client (`server == false`) or
/// the server, carrying `token` (the client's, after a Retry) and
/// `frames`, padded with PADDING frames to at least `min_len` bytes.
pub fn initial(
    version: u32,
    server: bool,
    ids: &Ids<'_>,
    token: &[u8],
    frames: &[u8],
    min_len: usize,
) -> Vec<u8> {
    let Ids {
        odcid,
        dcid,
        scid,
        pn,
    } = *ids;
    let (salt, prefix): (&[u8], &str) = if version == VERSION_2 {
        (
            &[
                0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
            ],
            "quicv2",
        )
    } else {
        (
            &[
                0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
            ],
            "quic",
        )
    };
    let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(odcid);
    let secret = expand(&initial, if server { "server in" } else { "client in" }, 32);
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
    let key = expand(&prk, &format!("{prefix} key"), 16);
    let iv = expand(&prk, &format!("{prefix} iv"), 12);
    let hp = expand(&prk, &format!("{prefix} hp"), 16);

    let mut header = long_start(version, Kind::Initial, 0x01, dcid, scid);
    header.push(u8::try_from(token.len()).unwrap_or(0).min(0x3f));
    header.extend_from_slice(token);
    let mut payload = frames.to_vec();
    // Header so far, 2 length bytes, 2 packet number bytes, the tag.
    let fixed = header.len() + 2 + 2 + 16;
    if fixed + payload.len() < min_len {
        payload.resize(min_len - fixed, 0);
    }
    varint2(&mut header, 2 + payload.len() + 16);
    let pn_at = header.len();
    be16(&mut header, pn);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&iv);
    for (n, b) in nonce[10..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= b;
    }
    let sealing = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &key).expect("a 16-byte AES-128 key"),
    );
    sealing
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&header),
            &mut payload,
        )
        .expect("Initial payloads are far below AES-GCM's limit");
    // Header protection samples 16 bytes 4 bytes after the packet number.
    let hp = aead::quic::HeaderProtectionKey::new(&aead::quic::AES_128, &hp)
        .expect("a 16-byte AES-128 key");
    let mask = hp
        .new_mask(&payload[2..18])
        .expect("the sample is 16 bytes");
    header[0] ^= mask[0] & 0x0f;
    header[pn_at] ^= mask[1];
    header[pn_at + 1] ^= mask[2];
    header.extend_from_slice(&payload);
    header
}

/// A Handshake or 0-RTT packet; its protected content is opaque here.
pub fn long(version: u32, kind: Kind, dcid: &[u8], scid: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = long_start(version, kind, 0x01, dcid, scid);
    varint2(&mut v, body.len());
    v.extend_from_slice(body);
    v
}

/// A Retry packet with its token, answering an Initial sent to `odcid`,
/// with its integrity tag (RFC 9001 section 5.8, RFC 9369 section 3.3.3).
pub fn retry(version: u32, odcid: &[u8], dcid: &[u8], scid: &[u8], token: &[u8]) -> Vec<u8> {
    let (key, nonce): ([u8; 16], [u8; 12]) = if version == VERSION_2 {
        (
            [
                0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c,
                0xcc, 0x92,
            ],
            [
                0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
            ],
        )
    } else {
        (
            [
                0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68,
                0xc8, 0x4e,
            ],
            [
                0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
            ],
        )
    };
    let mut v = long_start(version, Kind::Retry, 0x0f, dcid, scid);
    v.extend_from_slice(token);
    // The tag authenticates the packet behind the original id.
    let mut pseudo = vec![u8::try_from(odcid.len()).unwrap_or(0)];
    pseudo.extend_from_slice(odcid);
    pseudo.extend_from_slice(&v);
    let sealing = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &key).expect("a 16-byte AES-128 key"),
    );
    let tag = sealing
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&pseudo),
            &mut [],
        )
        .expect("an empty plaintext");
    v.extend_from_slice(tag.as_ref());
    v
}

/// A short-header (1-RTT) packet to `dcid`.
pub fn short(dcid: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x41];
    v.extend_from_slice(dcid);
    v.extend_from_slice(body);
    v
}

/// A CRYPTO frame at offset 0.
pub fn crypto(data: &[u8]) -> Vec<u8> {
    crypto_at(0, data)
}

/// A CRYPTO frame carrying the stream's bytes from `offset`.
pub fn crypto_at(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x06];
    varint2(&mut v, offset);
    varint2(&mut v, data.len());
    v.extend_from_slice(data);
    v
}

/// An ACK frame of packet `largest` alone.
pub fn ack(largest: u8) -> Vec<u8> {
    vec![0x02, largest & 0x3f, 0x00, 0x00, 0x00]
}

/// A transport CONNECTION_CLOSE frame with `error` (RFC 9000 section
/// 19.19), naming no frame type.
pub fn connection_close(error: u16, reason: &str) -> Vec<u8> {
    let mut v = vec![0x1c];
    varint2(&mut v, usize::from(error));
    v.push(0);
    v.push(u8::try_from(reason.len()).unwrap_or(0).min(0x3f));
    v.extend_from_slice(reason.as_bytes());
    v
}
