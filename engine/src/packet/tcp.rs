//! TCP headers (RFC 9293).

use super::{be16, be32, byte, Error, Result};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const HEADER_LEN: usize = 20;

#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// The header including options.
    pub header: &'a [u8],
    /// Payload as captured (may be shorter than `payload_len`).
    pub payload: &'a [u8],
    /// Payload length from the IP lengths.
    pub payload_len: u32,
}

impl<'a> Segment<'a> {
    /// `ip_payload_len` is the transport length the IP header declares.
    pub fn parse(b: &'a [u8], ip_payload_len: u32) -> Result<Segment<'a>> {
        let off = usize::from(byte(b, 12)? >> 4) * 4;
        if off < HEADER_LEN {
            return Err(Error::malformed("TCP data offset", 12));
        }
        let header = b.get(..off).ok_or(Error::Truncated)?;
        if (ip_payload_len as usize) < off {
            return Err(Error::malformed("TCP data offset beyond the IP length", 12));
        }
        Ok(Segment {
            src_port: be16(b, 0)?,
            dst_port: be16(b, 2)?,
            seq: be32(b, 4)?,
            ack: be32(b, 8)?,
            flags: header[13],
            window: be16(b, 14)?,
            header,
            payload: &b[off..],
            payload_len: ip_payload_len - off as u32,
        })
    }

    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// The window-scale option's shift count, when present.
    pub fn window_scale(&self) -> Option<u8> {
        let mut o = self.header.get(HEADER_LEN..)?;
        while let Some(&kind) = o.first() {
            match kind {
                0 => return None,
                1 => o = &o[1..],
                _ => {
                    let len = usize::from(*o.get(1)?);
                    if len < 2 || o.len() < len {
                        return None;
                    }
                    if kind == 3 && len == 3 {
                        return Some(o[2].min(14));
                    }
                    o = &o[len..];
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN_SEG: [u8; 24] = [
        0x04, 0xd2, // source port 1234
        0x00, 0x50, // destination port 80
        0x00, 0x00, 0x00, 0x64, // sequence number
        0x00, 0x00, 0x00, 0x00, // acknowledgement
        0x60, 0x02, // data offset 6 words, SYN
        0x72, 0x10, // window
        0x00, 0x00, // checksum
        0x00, 0x00, // urgent pointer
        0x03, 0x03, 0x07, 0x00, // window scale 7, end of options
    ];

    #[test]
    fn parse_syn_with_options() {
        let s = Segment::parse(&SYN_SEG, 24).unwrap();
        assert_eq!((s.src_port, s.dst_port, s.seq), (1234, 80, 100));
        assert!(s.has(SYN) && !s.has(ACK));
        assert_eq!(s.window_scale(), Some(7));
        assert_eq!(s.payload_len, 0);
    }

    #[test]
    fn bad_offsets() {
        let mut b = SYN_SEG;
        b[12] = 0x40;
        assert_eq!(
            Segment::parse(&b, 24).err(),
            Some(Error::malformed("TCP data offset", 12))
        );
        assert_eq!(
            Segment::parse(&SYN_SEG, 20).err(),
            Some(Error::malformed("TCP data offset beyond the IP length", 12))
        );
        assert_eq!(
            Segment::parse(&SYN_SEG[..22], 24).err(),
            Some(Error::Truncated)
        );
    }
}
