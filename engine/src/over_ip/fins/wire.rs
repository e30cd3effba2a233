//! Omron FINS frames (UDP, and FINS/TCP encapsulation), pure functions
//! over byte slices.

use crate::bytes::{be16, be32, Error};

/// FINS header (10 bytes) and command code (2).
pub const HEADER_LEN: usize = 12;

/// A checked FINS header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub icf: u8,
    pub gct: u8,
    pub dna: u8,
    pub da1: u8,
    pub da2: u8,
    pub sna: u8,
    pub sa1: u8,
    pub sa2: u8,
    pub sid: u8,
    pub command: u16,
}

impl Header {
    pub fn is_response(&self) -> bool {
        self.icf & 0x40 != 0
    }
}

/// Whether `c` is a command code of the FINS reference.
pub fn known_command(c: u16) -> bool {
    matches!(
        c,
        0x0101..=0x0105
            | 0x0201..=0x0203
            | 0x0304..=0x0308
            | 0x0401
            | 0x0402
            | 0x0501
            | 0x0502
            | 0x0601
            | 0x0620
            | 0x0701
            | 0x0702
            | 0x0920
            | 0x0c01..=0x0c03
            | 0x2101..=0x2103
            | 0x2201..=0x2205
            | 0x2207
            | 0x2208
            | 0x220a..=0x220c
            | 0x2215
            | 0x2301
            | 0x2302
    )
}

/// Parses a FINS frame: reserved byte 0, a gateway count up to 7, a known
/// command code. Returns the header and the text after the command code.
pub fn parse(b: &[u8]) -> Option<(Header, &[u8])> {
    let h = b.get(..HEADER_LEN)?;
    let command = u16::from_be_bytes([h[10], h[11]]);
    if h[1] != 0 || h[2] > 7 || h[0] & 0x3e != 0 || !known_command(command) {
        return None;
    }
    Some((
        Header {
            icf: h[0],
            gct: h[2],
            dna: h[3],
            da1: h[4],
            da2: h[5],
            sna: h[6],
            sa1: h[7],
            sa2: h[8],
            sid: h[9],
            command,
        },
        &b[HEADER_LEN..],
    ))
}

/// A FINS/TCP message: command (0 client node address, 1 server node
/// address, 2 FINS frame, 3 busy), error code and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFrame<'a> {
    pub command: u32,
    pub error: u32,
    pub payload: &'a [u8],
}

/// Largest FINS/TCP message length accepted.
pub const MAX_TCP_LEN: usize = 4096;

/// Parses the FINS/TCP message at the start of `b`; returns it and its
/// total length.
pub fn parse_tcp(b: &[u8]) -> Result<(TcpFrame<'_>, usize), Error> {
    let magic = b.get(..4.min(b.len())).ok_or(Error::Truncated)?;
    if !b"FINS".starts_with(magic) {
        return Err(Error::malformed("FINS/TCP magic", 0));
    }
    let len = be32(b, 4).ok_or(Error::Truncated)? as usize;
    if !(8..=MAX_TCP_LEN).contains(&len) {
        return Err(Error::malformed("FINS/TCP length", 4));
    }
    let total = 8 + len;
    if b.len() < total {
        return Err(Error::Truncated);
    }
    Ok((
        TcpFrame {
            command: be32(b, 8).ok_or(Error::Truncated)?,
            error: be32(b, 12).ok_or(Error::Truncated)?,
            payload: &b[16..total],
        },
        total,
    ))
}

/// Memory area, address and count of a Memory Area Read/Write request.
pub fn area(text: &[u8]) -> Option<(u8, u16, u8, u16)> {
    Some((
        *text.first()?,
        be16(text, 1)?,
        *text.get(3)?,
        be16(text, 4)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiple_memory_area_read_from_a_real_capture() {
        // nttcom omronfins trace, first command.
        let f = [
            0x80, 0x00, 0x02, // ICF, RSV, GCT
            0x00, 0x64, 0x00, // DNA, DA1, DA2
            0x00, 0x01, 0x00, // SNA, SA1, SA2
            0x54, // SID
            0x01, 0x04, // command: multiple memory area read
            0xb1, 0x00, 0x00, 0x00, // WR word 0
        ];
        let (h, text) = parse(&f).unwrap();
        assert_eq!((h.command, h.da1, h.sa1, h.sid), (0x0104, 0x64, 0x01, 0x54));
        assert!(!h.is_response());
        assert_eq!(text[0], 0xb1);
        assert!(parse(&f[..11]).is_none());
    }

    #[test]
    fn fins_tcp_framing() {
        let mut m = b"FINS".to_vec();
        m.extend_from_slice(&12u32.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0x0a]);
        assert_eq!(parse_tcp(&m).map(|(f, n)| (f.command, n)), Ok((0, 20)));
        assert_eq!(parse_tcp(&m[..10]), Err(Error::Truncated));
        assert_eq!(
            parse_tcp(b"FINX"),
            Err(Error::malformed("FINS/TCP magic", 0))
        );
    }
}
