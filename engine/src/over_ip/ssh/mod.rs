//! SSH (RFC 4253): the cleartext part of a session, the version banners
//! and the key exchange offers, as Zeek's `ssh.log`. Whether the client
//! authenticated, and in how many attempts, is inferred from the sizes of
//! the server's first encrypted segments, as Zeek does: the reply to the
//! service request sets the scale, an authentication failure is a
//! repeated size, and success is 16 bytes less than the service reply.
//! A row is written once authentication is decided, or when the
//! connection ends.

pub mod descriptor;

use crate::bytes::be32;
use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::Row;
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use sha2::{Digest, Sha256};

pub static SSH_LOG: LogSchema = LogSchema {
    path: "ssh",
    fields: flow_fields![
        field("version", T::Count),
        field("auth_success", T::Bool),
        field("auth_attempts", T::Count),
        field("client", T::String),
        field("server", T::String),
        field("cipher_alg", T::String),
        field("mac_alg", T::String),
        field("compression_alg", T::String),
        field("kex_alg", T::String),
        field("host_key_alg", T::String),
        field("host_key_fingerprint", T::String),
    ],
};

/// Longest banner line kept (RFC 4253 allows 255 bytes).
const MAX_LINE: usize = 255;
/// Largest cleartext packet decoded (key exchange messages with
/// post-quantum keys reach a few kilobytes).
const MAX_PACKET: usize = 64 * 1024;

const MSG_KEXINIT: u8 = 20;
const MSG_NEWKEYS: u8 = 21;
/// KEXDH_REPLY, KEX_ECDH_REPLY and the hybrid replies share this number.
const MSG_KEX_REPLY: u8 = 31;
const MSG_KEX_DH_GEX_REPLY: u8 = 33;

/// The algorithm name-lists of a KEXINIT, in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KexInit {
    pub lists: [String; 10],
}

impl KexInit {
    /// Parses the payload of a KEXINIT message (after the message type).
    pub fn parse(p: &[u8]) -> Option<KexInit> {
        let mut at = 16; // cookie
        let mut k = KexInit::default();
        for l in &mut k.lists {
            let (s, next) = string(p, at)?;
            *l = text::bytes(s, 4096);
            at = next;
        }
        Some(k)
    }
}

/// An SSH `string`: a 32-bit length and the bytes.
fn string(p: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let len = be32(p, at)? as usize;
    let s = p.get(at + 4..(at + 4).checked_add(len)?)?;
    Some((s, at + 4 + len))
}

/// One cleartext binary packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub msg_type: u8,
    pub payload: &'a [u8],
    /// Bytes on the wire, length field included.
    pub wire_len: usize,
}

/// The bytes are not a cleartext SSH binary packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotPacket;

/// The packet at the start of `b`; `Ok(None)` when more data is needed.
pub fn packet(b: &[u8]) -> Result<Option<Packet<'_>>, NotPacket> {
    let Some(len) = be32(b, 0) else {
        return Ok(None);
    };
    let len = len as usize;
    if !(5..=MAX_PACKET).contains(&len) {
        return Err(NotPacket);
    }
    let Some(body) = b.get(4..4 + len) else {
        return Ok(None);
    };
    let pad = usize::from(body[0]);
    let payload = body
        .get(1..len.checked_sub(pad).ok_or(NotPacket)?)
        .ok_or(NotPacket)?;
    let (&msg_type, payload) = payload.split_first().ok_or(NotPacket)?;
    Ok(Some(Packet {
        msg_type,
        payload,
        wire_len: 4 + len,
    }))
}

/// Recognises SSH by its version banner.
pub fn probe(
    transport: Transport,
    _id: &ConnId,
    _dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    (transport == Transport::Tcp && data.starts_with(b"SSH-"))
        .then(|| Box::new(Ssh::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
struct Side {
    banner: Option<String>,
    kexinit: Option<KexInit>,
    /// Past NEWKEYS, or lost: nothing more is cleartext.
    done: bool,
    /// Past NEWKEYS: what follows is encrypted packets.
    encrypted: bool,
}

/// Zeek's authentication inference from encrypted segment sizes.
#[derive(Default)]
struct Auth {
    saw_client_data: bool,
    service_accept_size: Option<usize>,
    failure_size: Option<usize>,
    skipped_banner: bool,
    decided: bool,
    attempts: u64,
    success: Option<bool>,
}

impl Auth {
    /// One encrypted segment of `len` bytes from the client or the server.
    fn segment(&mut self, from_client: bool, len: usize) {
        if self.decided || len == 0 {
            return;
        }
        if from_client {
            self.saw_client_data = true;
            return;
        }
        if !self.saw_client_data {
            return;
        }
        let Some(accept) = self.service_accept_size else {
            self.service_accept_size = Some(len);
            return;
        };
        let succeeded = len + 16 == accept;
        match self.failure_size {
            None if succeeded => self.decide(),
            None if !self.skipped_banner && len > accept + 256 => self.skipped_banner = true,
            None => self.failure_size = Some(len),
            Some(f) if f == len => self.attempts += 1,
            Some(_) if succeeded => self.decide(),
            Some(_) => {}
        }
    }

    fn decide(&mut self) {
        self.decided = true;
        self.attempts += 1;
        self.success = Some(true);
    }
}

#[derive(Default)]
pub struct Ssh {
    sides: [Side; 2],
    host_key: Option<String>,
    auth: Auth,
    /// A gap: segment sizes no longer tell anything.
    lost: bool,
    logged: bool,
}

/// Zeek's choice: the first client algorithm the server also offers.
fn negotiate(client: &str, server: &str) -> Option<String> {
    client
        .split(',')
        .find(|c| server.split(',').any(|s| s == *c))
        .map(str::to_owned)
}

/// Both directions; Zeek spells out a disagreement.
fn negotiate_pair(c: &KexInit, s: &KexInit, c2s: usize) -> Option<String> {
    let to_server = negotiate(&c.lists[c2s], &s.lists[c2s]);
    let to_client = negotiate(&c.lists[c2s + 1], &s.lists[c2s + 1]);
    if to_server == to_client {
        to_server
    } else {
        Some(format!(
            "To server: {}, to client: {}",
            to_server.unwrap_or_default(),
            to_client.unwrap_or_default()
        ))
    }
}

/// `SHA256:` and the base64 of the digest, as OpenSSH prints it, cut to
/// the 32 characters Zeek's `ssh.log` keeps.
pub fn fingerprint(key: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let d = Sha256::digest(key);
    let mut s = String::from("SHA256:");
    for chunk in d.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            s.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    s.truncate("SHA256:".len() + 32);
    s
}

impl Ssh {
    fn log(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.logged {
            return;
        }
        self.logged = true;
        let [c, s] = &self.sides;
        let version = c.banner.as_deref().and_then(|b| match b.as_bytes().get(4) {
            Some(b'1') => Some(1u64),
            Some(b'2') => Some(2),
            _ => None,
        });
        let algs = match (&c.kexinit, &s.kexinit) {
            (Some(c), Some(s)) => [
                negotiate_pair(c, s, 2),
                negotiate_pair(c, s, 4),
                negotiate_pair(c, s, 6),
                negotiate(&c.lists[0], &s.lists[0]),
                negotiate(&c.lists[1], &s.lists[1]),
            ],
            _ => Default::default(),
        };
        let [cipher, mac, comp, kex, hk] = algs;
        Row::flow(ctx, &SSH_LOG)
            .push(version.map_or(Value::Unset, Value::Count))
            // Attempts without a success are a failure, as Zeek reports it.
            .push(
                self.auth
                    .success
                    .or((self.auth.attempts > 0).then_some(false)),
            )
            .push(Value::Count(self.auth.attempts))
            .push(c.banner.clone())
            .push(s.banner.clone())
            .push(cipher)
            .push(mac)
            .push(comp)
            .push(kex)
            .push(hk)
            .push(self.host_key.clone())
            .emit(ctx);
    }

    /// The negotiated client-to-server compression.
    fn compression(&self) -> Option<String> {
        match (&self.sides[0].kexinit, &self.sides[1].kexinit) {
            (Some(c), Some(s)) => negotiate(&c.lists[6], &s.lists[6]),
            _ => None,
        }
    }

    /// Group exchange (RFC 4419) uses message 31 for the group and 33 for
    /// the reply that carries the host key; other methods reply with 31.
    /// Without both offers the method, and so the message, is unknown.
    fn kex_reply_type(&self) -> Option<u8> {
        let kex = match (&self.sides[0].kexinit, &self.sides[1].kexinit) {
            (Some(c), Some(s)) => negotiate(&c.lists[0], &s.lists[0])?,
            _ => return None,
        };
        Some(if kex.contains("group-exchange") {
            MSG_KEX_DH_GEX_REPLY
        } else {
            MSG_KEX_REPLY
        })
    }

    fn packet(&mut self, side: usize, ty: u8, payload: &[u8]) {
        match ty {
            MSG_KEXINIT => self.sides[side].kexinit = KexInit::parse(payload),
            MSG_NEWKEYS => {
                self.sides[side].done = true;
                self.sides[side].encrypted = true;
            }
            MSG_KEX_REPLY | MSG_KEX_DH_GEX_REPLY
                if side == 1 && self.host_key.is_none() && Some(ty) == self.kex_reply_type() =>
            {
                if let Some((key, _)) = string(payload, 0) {
                    self.host_key = Some(fingerprint(key));
                }
            }
            _ => {}
        }
    }
}

impl AppParser for Ssh {
    fn needs_start(&self) -> bool {
        true
    }

    /// Named once both sides' banners were seen, as Zeek confirms SSH; a
    /// one-sided capture stays unnamed.
    fn service(&self) -> &'static str {
        if self.sides.iter().all(|s| s.banner.is_some()) {
            "ssh"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        // The row is written: the rest of the session (all of it encrypted,
        // often most of the connection's packets) changes nothing in it.
        if self.logged {
            return data.len();
        }
        let side = usize::from(!dir.is_orig());
        let mut used = 0;
        while self.sides[side].banner.is_none() {
            let rest = &data[used..];
            let Some(nl) = rest.iter().take(MAX_LINE + 1).position(|&c| c == b'\n') else {
                if rest.len() > MAX_LINE {
                    // Not a line protocol after all: give up on this side.
                    self.sides[side].done = true;
                    return data.len();
                }
                return used;
            };
            let line = &rest[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.starts_with(b"SSH-") {
                self.sides[side].banner = Some(text::bytes(line, MAX_NAME));
            }
            used += nl + 1;
        }
        while !self.sides[side].done {
            match packet(&data[used..]) {
                Ok(Some(p)) => {
                    self.packet(side, p.msg_type, p.payload);
                    used += p.wire_len;
                }
                Ok(None) => return used,
                Err(NotPacket) => self.sides[side].done = true,
            }
        }
        let version2 = self.sides[0]
            .banner
            .as_deref()
            .is_some_and(|b| b.as_bytes().get(4) == Some(&b'2'));
        // Compressed packets break the size arithmetic; Zeek does not
        // infer anything then either.
        let compressed = || self.compression().is_some_and(|c| c != "none");
        if self.sides[side].encrypted && !self.lost && version2 && !compressed() {
            // The encrypted bytes of this segment (after NEWKEYS, if it
            // arrived in the same segment).
            self.auth.segment(side == 0, data.len() - used);
            if self.auth.decided {
                self.log(ctx);
            }
        }
        data.len()
    }

    fn gap(&mut self, dir: Dir) {
        // Packet boundaries are lost for good (there is no marker to find
        // them again); the banners and offers already seen stay.
        self.sides[usize::from(!dir.is_orig())].done = true;
        self.lost = true;
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        self.log(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_the_first_client_choice() {
        assert_eq!(negotiate("a,b,c", "c,b"), Some("b".into()));
        assert_eq!(negotiate("a", "b"), None);
    }

    #[test]
    fn fingerprints_like_openssh() {
        // echo -n "" | sha256sum | xxd -r -p | base64: 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
        assert_eq!(fingerprint(b""), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NM");
    }

    #[test]
    fn splits_packets() {
        // length 12, padding 4, type 21 (NEWKEYS), 6 payload bytes, 4 padding
        let p = [0, 0, 0, 12, 4, 21, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0];
        let pk = packet(&p).unwrap().unwrap();
        assert_eq!(
            (pk.msg_type, pk.payload, pk.wire_len),
            (21, &[1, 2, 3, 4, 5, 6][..], 16)
        );
        assert_eq!(packet(&p[..10]), Ok(None));
        assert_eq!(packet(&[0, 0, 0, 1, 0]), Err(NotPacket));
    }
}
