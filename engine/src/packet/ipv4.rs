//! IPv4 headers (RFC 791).

use super::{be16, byte, checksum, Error, Result};
use std::net::Ipv4Addr;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const SRC: core::ops::Range<usize> = 12..16;
    pub const DST: core::ops::Range<usize> = 16..20;
}
pub const HEADER_LEN: usize = field::DST.end;

/// A checked view of an IPv4 packet.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub ttl: u8,
    pub ident: u16,
    /// The total length the header declares (what Zeek counts as IP bytes).
    pub total_len: u16,
    /// Fragment offset in bytes, and the more-fragments flag.
    pub frag_offset: u16,
    pub more_frags: bool,
    pub dont_frag: bool,
    pub header: &'a [u8],
    /// The payload as captured: at most `total_len - header length` bytes,
    /// fewer when the capture was cut short.
    pub payload: &'a [u8],
    /// Whether the capture holds the whole packet.
    pub complete: bool,
}

impl<'a> Packet<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Packet<'a>> {
        let vi = byte(b, field::VER_IHL)?;
        if vi >> 4 != 4 {
            return Err(Error::malformed("IPv4 version", field::VER_IHL));
        }
        let hlen = usize::from(vi & 0x0f) * 4;
        if hlen < HEADER_LEN {
            return Err(Error::malformed("IPv4 header length", field::VER_IHL));
        }
        let header = b.get(..hlen).ok_or(Error::Truncated)?;
        let total_len = be16(b, field::TOTAL_LEN)?;
        if usize::from(total_len) < hlen {
            return Err(Error::malformed("IPv4 total length", field::TOTAL_LEN));
        }
        let end = usize::from(total_len).min(b.len());
        let ff = be16(b, field::FLAGS_FRAG)?;
        let mut src = [0u8; 4];
        src.copy_from_slice(&header[field::SRC]);
        let mut dst = [0u8; 4];
        dst.copy_from_slice(&header[field::DST]);
        Ok(Packet {
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::from(dst),
            proto: header[field::PROTO],
            ttl: header[field::TTL],
            ident: be16(b, field::IDENT)?,
            total_len,
            frag_offset: (ff & 0x1fff) * 8,
            more_frags: ff & 0x2000 != 0,
            dont_frag: ff & 0x4000 != 0,
            header,
            payload: &b[hlen..end],
            complete: b.len() >= usize::from(total_len),
        })
    }

    pub fn header_checksum_ok(&self) -> bool {
        checksum::header_ok(self.header)
    }

    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ip4-udp-good-chksum.pcap, frame 1, IP header.
    const HDR: [u8; 20] = [
        0x45, 0x00, // version, IHL, DSCP
        0x00, 0x1d, // total length 29
        0x00, 0x01, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, 0x11, // TTL 64, UDP
        0x7c, 0xcd, // header checksum
        0x7f, 0x00, 0x00, 0x01, // source
        0x7f, 0x00, 0x00, 0x01, // destination
    ];

    #[test]
    fn parse_header() {
        let mut b = HDR.to_vec();
        b.extend_from_slice(&[0; 9]);
        let p = Packet::parse(&b).unwrap();
        assert_eq!(p.src, Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(p.proto, 17);
        assert_eq!(p.total_len, 29);
        assert_eq!(p.payload.len(), 9);
        assert!(p.complete);
        assert!(p.header_checksum_ok());
    }

    #[test]
    fn impossible_lengths() {
        let mut b = HDR;
        b[0] = 0x44; // IHL 4 words
        assert_eq!(
            Packet::parse(&b).err(),
            Some(Error::malformed("IPv4 header length", field::VER_IHL))
        );
        let mut b = HDR;
        b[3] = 10; // total length shorter than the header
        assert_eq!(
            Packet::parse(&b).err(),
            Some(Error::malformed("IPv4 total length", field::TOTAL_LEN))
        );
        assert_eq!(Packet::parse(&HDR[..19]).err(), Some(Error::Truncated));
    }
}
