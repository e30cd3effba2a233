//! Encapsulations Zeek decapsulates: IP-in-IP, GRE (including PPTP's
//! enhanced GRE, ERSPAN types I to III and Aruba's 802.11 in GRE), and over
//! UDP VXLAN, Geneve, Teredo, GTP-U and AYIYA.

use super::{be16, byte, Error, Result};

/// What an encapsulation carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An IP packet (v4 or v6, by its version nibble).
    Ip(&'a [u8]),
    /// An Ethernet frame.
    Ethernet(&'a [u8]),
    /// An 802.11 frame (Aruba's access points tunnel them in GRE).
    Ieee80211(&'a [u8]),
    /// Nothing to decode (e.g. PPP control, GTP signalling).
    None,
}

pub const VXLAN_PORT: u16 = 4789;
pub const GENEVE_PORT: u16 = 6081;
pub const TEREDO_PORT: u16 = 3544;
pub const GTPU_PORT: u16 = 2152;
/// GTPv1-C; Zeek's GTPv1 analyzer takes both ports.
pub const GTPC_PORT: u16 = 2123;
/// GRE-in-UDP (RFC 8086).
pub const GRE_IN_UDP_PORT: u16 = 4754;
pub const AYIYA_PORT: u16 = 5072;

/// GRE flag bits (RFC 2784, RFC 2890, and RFC 2637's enhanced GRE).
const GRE_CHECKSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQUENCE: u16 = 0x1000;
const GRE_ACK: u16 = 0x0080;
const GRE_RESERVED: u16 = 0x0078;
const GRE_PPP: u16 = 0x880b;

/// A GRE packet's payload, by Zeek's rules: version 0, or version 1
/// (PPTP) carrying PPP; a routing field or reserved flags stop decoding.
pub fn gre(b: &[u8]) -> Result<Inner<'_>> {
    let flags = be16(b, 0)?;
    let proto = be16(b, 2)?;
    let version = flags & 0x7;
    if version > 1 || flags & (GRE_ROUTING | GRE_RESERVED) != 0 {
        return Err(Error::malformed("GRE version or flags", 0));
    }
    if version == 1 && proto != GRE_PPP {
        return Err(Error::malformed(
            "GRE protocol type of a version 1 header",
            2,
        ));
    }
    // Each optional field present takes four bytes.
    let off = 4 + [GRE_CHECKSUM, GRE_KEY, GRE_SEQUENCE, GRE_ACK]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count()
        * 4;
    let p = b.get(off..).ok_or(Error::Truncated)?;
    Ok(match proto {
        0x0800 | 0x86dd => Inner::Ip(p),
        0x6558 => Inner::Ethernet(p),
        // ERSPAN: type II has an 8-byte header before the mirrored frame
        // and sets the sequence bit; type I has neither.
        0x88be => {
            let o = if flags & GRE_SEQUENCE != 0 { 8 } else { 0 };
            Inner::Ethernet(p.get(o..).ok_or(Error::Truncated)?)
        }
        // ERSPAN type III: 12 bytes, plus 8 with the optional sub-header.
        0x22eb => {
            let o = if byte(p, 11)? & 0x01 != 0 { 20 } else { 12 };
            Inner::Ethernet(p.get(o..).ok_or(Error::Truncated)?)
        }
        // PPP inside enhanced GRE: address, control, then the protocol,
        // which must be IP.
        GRE_PPP => match be16(p, 2)? {
            0x0021 | 0x0057 => Inner::Ip(p.get(4..).ok_or(Error::Truncated)?),
            _ => Inner::None,
        },
        // Aruba, as Zeek's GRE analyzer tells it: protocol types with the
        // bits 0x8200 set and a zero low nibble (which covers its
        // 0x8300-0x8370 too), or 0x9000; the payload is an 802.11 frame.
        p16 if (p16 & 0x8200 == 0x8200 && p16 & 0x000f == 0) || p16 == 0x9000 => {
            if p.is_empty() {
                return Err(Error::Truncated);
            }
            Inner::Ieee80211(p)
        }
        _ => Inner::None,
    })
}

/// A VXLAN payload (RFC 7348): the I flag must be set.
pub fn vxlan(b: &[u8]) -> Result<Inner<'_>> {
    if byte(b, 0)? & 0x08 == 0 {
        return Err(Error::malformed("VXLAN I flag", 0));
    }
    Ok(Inner::Ethernet(b.get(8..).ok_or(Error::Truncated)?))
}

/// A Geneve payload (RFC 8926).
pub fn geneve(b: &[u8]) -> Result<Inner<'_>> {
    let vo = byte(b, 0)?;
    if vo >> 6 != 0 {
        return Err(Error::malformed("Geneve version", 0));
    }
    let opt = usize::from(vo & 0x3f) * 4;
    let proto = be16(b, 2)?;
    let p = b.get(8 + opt..).ok_or(Error::Truncated)?;
    Ok(match proto {
        0x6558 => Inner::Ethernet(p),
        0x0800 | 0x86dd => Inner::Ip(p),
        _ => Inner::None,
    })
}

/// A Teredo payload (RFC 4380): IPv6, possibly after authentication and
/// origin indication headers.
pub fn teredo(b: &[u8]) -> Result<Inner<'_>> {
    let mut p = b;
    if p.len() >= 2 && p[0] == 0 && p[1] == 1 {
        let id_len = usize::from(byte(p, 2)?);
        let au_len = usize::from(byte(p, 3)?);
        p = p.get(4 + id_len + au_len + 9..).ok_or(Error::Truncated)?;
    }
    if p.len() >= 2 && p[0] == 0 && p[1] == 0 {
        p = p.get(8..).ok_or(Error::Truncated)?;
    }
    // The payload must be a plausible IPv6 header.
    if byte(p, 0)? >> 4 != 6 || p.len() < 40 {
        return Err(Error::malformed(
            "Teredo inner IPv6 header",
            b.len() - p.len(),
        ));
    }
    let plen = usize::from(be16(p, 4)?);
    if 40 + plen != p.len() {
        return Err(Error::malformed(
            "Teredo inner IPv6 payload length",
            b.len() - p.len() + 4,
        ));
    }
    Ok(Inner::Ip(p))
}

/// The Teredo prefix (RFC 4380, 2001:0::/32) as the first four bytes of an
/// address.
const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];

/// Whether a UDP payload away from [`TEREDO_PORT`] is taken for Teredo,
/// by the rule Zeek's Teredo detection applies to every UDP packet: IPv6
/// from or to a Teredo address, or a payload that opens with an
/// authentication or origin indication header followed by IPv6. Other
/// IPv6 in UDP is not Teredo on other ports: many industrial payloads
/// start with a 0x6 nibble and can read as an IPv6 header.
pub fn looks_like_teredo(b: &[u8]) -> bool {
    let (Some(&first), Some(&second)) = (b.first(), b.get(1)) else {
        return false;
    };
    let ipv6 = |p: &[u8]| p.first().is_some_and(|v| v >> 4 == 6);
    if b.len() < 40 || !(ipv6(b) || first == 0 && second <= 1) {
        return false;
    }
    if ipv6(b) && (b[8..12] == TEREDO_PREFIX || b[24..28] == TEREDO_PREFIX) {
        return true;
    }
    // Zeek reads the second byte as a header's tag even after an IPv6
    // version nibble: IPv6 whose second byte is 1 or 0 is tried as an
    // authentication or origin indication header too.
    let mut p = b;
    let mut tag = u16::from(second);
    if tag == 1 {
        let skip = 13 + usize::from(p[2]) + usize::from(p[3]);
        p = match p.get(skip..) {
            Some(rest) if rest.len() >= 40 => rest,
            _ => return false,
        };
        tag = u16::from_be_bytes([p[0], p[1]]);
    }
    tag == 0
        && p.get(8..)
            .is_some_and(|rest| rest.len() >= 40 && ipv6(rest))
}

/// An AYIYA packet (Anything In Anything, used by SixXS tunnel brokers):
/// an 8-byte header, an identity of 2^n bytes and a signature of 4m bytes,
/// then for the forward operation the packet named by the next header.
pub fn ayiya(b: &[u8]) -> Result<Inner<'_>> {
    let id_len = 1usize << (byte(b, 0)? >> 4);
    let sig_len = usize::from(byte(b, 1)? >> 4) * 4;
    let opcode = byte(b, 2)? & 0x0f;
    let next = byte(b, 3)?;
    let p = b.get(8 + id_len + sig_len..).ok_or(Error::Truncated)?;
    // Only a forward carries a packet, and only it confirms the tunnel (a
    // connection's service): other operations are left alone.
    if opcode != AYIYA_FORWARD || p.is_empty() {
        return Err(Error::malformed("AYIYA operation code", 2));
    }
    Ok(match next {
        4 | 41 => Inner::Ip(p),
        _ => Inner::None,
    })
}

const AYIYA_FORWARD: u8 = 1;

/// Whether a UDP payload away from [`AYIYA_PORT`] is taken for AYIYA, by
/// Zeek's detection rule: a SHA-1 signature of 20 bytes, and an
/// authenticated forward operation.
pub fn looks_like_ayiya(b: &[u8]) -> bool {
    b.len() >= 3 && b[1] == 0x52 && b[2] == 0x11
}

/// A GTPv1-U payload (3GPP TS 29.281): T-PDUs carry IP.
pub fn gtpv1(b: &[u8]) -> Result<Inner<'_>> {
    let flags = byte(b, 0)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return Err(Error::malformed("GTPv1 version or protocol type", 0));
    }
    let msg = byte(b, 1)?;
    let len = usize::from(be16(b, 2)?);
    let end = (8 + len).min(b.len());
    let mut off = 8;
    if flags & 0x07 != 0 {
        off += 4;
        if flags & 0x04 != 0 {
            // Extension headers: each length in 4-byte units, the last
            // byte names the next type.
            let mut next = byte(b, off - 1)?;
            while next != 0 {
                let l = usize::from(byte(b, off)?) * 4;
                if l == 0 {
                    return Err(Error::malformed("GTPv1 extension header length", off));
                }
                next = byte(b, off + l - 1)?;
                off += l;
            }
        }
    }
    if msg != 0xff {
        return Ok(Inner::None);
    }
    let p = b.get(off..end).ok_or(Error::Truncated)?;
    match byte(p, 0)? >> 4 {
        4 | 6 => Ok(Inner::Ip(p)),
        _ => Err(Error::malformed("GTPv1 T-PDU IP version", off)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_with_key_carries_ip() {
        let b = [0x20, 0x00, 0x08, 0x00, 0, 0, 0, 1, 0x45, 0];
        assert_eq!(gre(&b), Ok(Inner::Ip(&[0x45, 0])));
    }

    /// Zeek's range of Aruba protocol types, and its edges.
    #[test]
    fn aruba_types_carry_80211() {
        let aruba = |proto: u16| {
            let mut b = vec![0, 0];
            b.extend_from_slice(&proto.to_be_bytes());
            b.extend_from_slice(&[0x88, 0x01]);
            gre(&b) == Ok(Inner::Ieee80211(&[0x88, 0x01]))
        };
        for proto in [0x8200, 0x8210, 0x82f0, 0x8300, 0x8370, 0x8a00, 0x9000] {
            assert!(aruba(proto), "{proto:#x}");
        }
        for proto in [0x8201, 0x820f, 0x8000, 0x8100, 0x9010, 0x88b0] {
            assert!(!aruba(proto), "{proto:#x}");
        }
        assert_eq!(gre(&[0, 0, 0x82, 0x00]), Err(Error::Truncated));
    }

    /// An IPv6 header of `payload` bytes of payload from `src` to `dst`,
    /// and the payload.
    fn ipv6(src: [u8; 16], dst: [u8; 16], payload: usize) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0];
        b.extend_from_slice(&(payload as u16).to_be_bytes());
        b.extend_from_slice(&[59, 64]);
        b.extend_from_slice(&src);
        b.extend_from_slice(&dst);
        b.resize(40 + payload, 0xaa);
        b
    }

    const TEREDO_ADDR: [u8; 16] = [
        0x20, 1, 0, 0, 0x41, 0x37, 0x9e, 0x50, 0, 0, 0, 0, 0, 0, 0, 1,
    ];
    const LINK_LOCAL: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    #[test]
    fn teredo_is_told_by_its_addresses_and_headers() {
        // From or to a Teredo address: a bubble, or with a payload.
        assert!(looks_like_teredo(&ipv6(TEREDO_ADDR, LINK_LOCAL, 0)));
        assert!(looks_like_teredo(&ipv6(LINK_LOCAL, TEREDO_ADDR, 20)));
        // An origin indication header, then IPv6.
        let mut b = vec![0, 0, 0xf2, 0x27, 0xbe, 0xc8, 0x61, 0xaf];
        b.extend(ipv6(LINK_LOCAL, LINK_LOCAL, 8));
        assert!(looks_like_teredo(&b));
        // An authentication header (no client id or value), then an origin
        // indication, then IPv6.
        let mut a = vec![0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        a.extend_from_slice(&b);
        assert!(looks_like_teredo(&a));
        assert_eq!(teredo(&a), Ok(Inner::Ip(&b[8..])));
    }

    #[test]
    fn other_ipv6_in_udp_is_not_teredo_by_content() {
        assert!(!looks_like_teredo(&ipv6(LINK_LOCAL, LINK_LOCAL, 0)));
        assert!(!looks_like_teredo(&ipv6(LINK_LOCAL, LINK_LOCAL, 20)));
        assert!(!looks_like_teredo(&[0x60; 39]));
        // nttcom cclinktsnslmp trace, frame 2: a CC-Link IE TSN SLMP
        // request whose 40 bytes read as an IPv6 header with no payload.
        let slmp = [
            0x68, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03, 0, 0, 0, 0, 0x18, 0, 0, 0, 0x93, 0x0e, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0x40, 0x02, 0, 0, 0xff, 0xff, 0x0f, 0,
        ];
        assert!(teredo(&slmp).is_ok(), "it parses as IPv6");
        assert!(!looks_like_teredo(&slmp));
    }

    #[test]
    fn vxlan_needs_the_i_flag() {
        assert_eq!(
            vxlan(&[0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::malformed("VXLAN I flag", 0))
        );
        assert_eq!(
            vxlan(&[8, 0, 0, 0, 0, 0, 1, 0, 0xaa]),
            Ok(Inner::Ethernet(&[0xaa]))
        );
    }
}
