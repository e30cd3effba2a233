//! UDP headers (RFC 768).

use super::{be16, Error, Result};

pub const HEADER_LEN: usize = 8;

#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP length field (header included).
    pub length: u16,
    pub checksum: u16,
    /// Payload as captured, cut at the UDP length.
    pub payload: &'a [u8],
}

impl<'a> Datagram<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Datagram<'a>> {
        let length = be16(b, 4)?;
        if usize::from(length) < HEADER_LEN {
            return Err(Error::malformed("UDP length", 4));
        }
        let end = usize::from(length).min(b.len());
        Ok(Datagram {
            src_port: be16(b, 0)?,
            dst_port: be16(b, 2)?,
            length,
            checksum: be16(b, 6)?,
            payload: &b[HEADER_LEN..end],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_payload() {
        let b = [0, 53, 0x30, 0x39, 0, 10, 0, 0, 1, 2, 3, 4];
        let d = Datagram::parse(&b).unwrap();
        assert_eq!((d.src_port, d.dst_port), (53, 12345));
        assert_eq!(d.payload, &[1, 2]);
        assert_eq!(
            Datagram::parse(&[0, 53, 0, 53, 0, 7, 0, 0]).err(),
            Some(Error::malformed("UDP length", 4))
        );
        assert_eq!(Datagram::parse(&[0, 53, 0]).err(), Some(Error::Truncated));
    }
}
