//! IPv6 headers and extension headers (RFC 8200).

use super::{be16, byte, Error, Result};
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 40;
const MAX_EXT_HEADERS: usize = 16;

/// The fragment header of a packet, when present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    pub ident: u32,
    pub offset: u16,
    pub more: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The upper-layer protocol after every extension header.
    pub proto: u8,
    pub hop_limit: u8,
    /// Payload length + 40: the IP bytes Zeek counts.
    pub total_len: u32,
    pub fragment: Option<Fragment>,
    /// The upper-layer data as captured.
    pub payload: &'a [u8],
    /// Length of the extension headers before `payload`.
    pub ext_len: usize,
    pub complete: bool,
}

impl<'a> Packet<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Packet<'a>> {
        if byte(b, 0)? >> 4 != 6 {
            return Err(Error::malformed("IPv6 version", 0));
        }
        let hdr = b.get(..HEADER_LEN).ok_or(Error::Truncated)?;
        let plen = usize::from(be16(b, 4)?);
        let end = (HEADER_LEN + plen).min(b.len());
        let mut src = [0u8; 16];
        src.copy_from_slice(&hdr[8..24]);
        let mut dst = [0u8; 16];
        dst.copy_from_slice(&hdr[24..40]);
        let mut next = hdr[6];
        let mut p = &b[HEADER_LEN..end];
        let mut fragment = None;
        let mut ext_len = 0;
        for _ in 0..MAX_EXT_HEADERS {
            match next {
                // Hop-by-hop, routing, destination options, mobility.
                0 | 43 | 60 | 135 => {
                    let len = (usize::from(byte(p, 1)?) + 1) * 8;
                    if p.len() < len {
                        return Err(Error::Truncated);
                    }
                    next = p[0];
                    p = &p[len..];
                    ext_len += len;
                }
                44 => {
                    let fh = p.get(..8).ok_or(Error::Truncated)?;
                    let off = u16::from_be_bytes([fh[2], fh[3]]);
                    fragment = Some(Fragment {
                        ident: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
                        offset: off & 0xfff8,
                        more: off & 1 != 0,
                    });
                    next = fh[0];
                    p = &p[8..];
                    ext_len += 8;
                    if fragment.is_some_and(|f| f.offset != 0) {
                        // Later fragments carry no upper-layer header.
                        break;
                    }
                }
                // Authentication header: length in 4-byte units minus 2.
                51 => {
                    let len = (usize::from(byte(p, 1)?) + 2) * 4;
                    if p.len() < len {
                        return Err(Error::Truncated);
                    }
                    next = p[0];
                    p = &p[len..];
                    ext_len += len;
                }
                _ => break,
            }
        }
        Ok(Packet {
            src: Ipv6Addr::from(src),
            dst: Ipv6Addr::from(dst),
            proto: next,
            hop_limit: hdr[7],
            total_len: plen as u32 + HEADER_LEN as u32,
            fragment,
            payload: p,
            ext_len,
            complete: b.len() >= HEADER_LEN + plen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_headers_are_skipped() {
        let mut b = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
        b.extend_from_slice(&[0; 32]);
        // Hop-by-hop header, 8 bytes, next: UDP.
        b.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0; 8]);
        let p = Packet::parse(&b).unwrap();
        assert_eq!(p.proto, 17);
        assert_eq!(p.payload.len(), 8);
        assert_eq!(p.total_len, 56);
    }

    #[test]
    fn truncated_extension_header() {
        let mut b = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&[17, 3, 0, 0]);
        assert_eq!(Packet::parse(&b).err(), Some(Error::Truncated));
    }
}
