//! Mitsubishi SLMP (MC protocol) frames: 3E and 4E binary and ASCII, and
//! the CC-Link IE TSN binary frame (subheader 0x0068/0x00e8), pure
//! functions over byte slices.

use crate::bytes::{le16, Error};

/// Which frame layout a message uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Binary3E,
    Binary4E,
    BinaryTsn,
    Ascii3E,
    Ascii4E,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Binary3E => "3E binary",
            Kind::Binary4E => "4E binary",
            Kind::BinaryTsn => "TSN binary",
            Kind::Ascii3E => "3E ascii",
            Kind::Ascii4E => "4E ascii",
        }
    }
}

/// One SLMP message's header. Requests carry command and subcommand;
/// responses an end code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub response: bool,
    pub serial: Option<u16>,
    pub network: u8,
    pub station: u8,
    pub module_io: u16,
    pub multidrop: u8,
    pub command: Option<u16>,
    pub subcommand: Option<u16>,
    pub end_code: Option<u16>,
    /// Where the request data or response data starts, and the frame end.
    pub data_at: usize,
    pub len: usize,
}

/// Largest request/response data length accepted (the protocol allows
/// about 8 KiB).
pub const MAX_DATA_LEN: usize = 8192;

fn hexval(b: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(b).ok()?;
    u16::from_str_radix(s, 16).ok()
}

/// Parses the frame header at the start of `b`.
pub fn parse(b: &[u8]) -> Result<Header, Error> {
    let sub = b.get(..2).ok_or(Error::Truncated)?;
    match sub {
        [0x50, 0x00] | [0xd0, 0x00] | [0x54, 0x00] | [0xd4, 0x00] | [0x68, 0x00] | [0xe8, 0x00] => {
            binary(b)
        }
        [b'5', b'0'] | [b'D', b'0'] | [b'5', b'4'] | [b'D', b'4'] => ascii(b),
        _ => Err(Error::malformed("SLMP subheader", 0)),
    }
}

fn binary(b: &[u8]) -> Result<Header, Error> {
    let response = b[0] & 0x80 != 0;
    let (kind, at, len_at) = match b[0] & 0x7f {
        0x50 => (Kind::Binary3E, 2, 7),
        0x54 => (Kind::Binary4E, 6, 11),
        _ => (Kind::BinaryTsn, 6, 14),
    };
    if kind != Kind::Binary3E && b.get(4..6).is_some_and(|r| r != [0, 0]) {
        return Err(Error::malformed("SLMP reserved bytes", 4));
    }
    let dlen = usize::from(le16(b, len_at).ok_or(Error::Truncated)?);
    if !(2..=MAX_DATA_LEN).contains(&dlen) || (!response && dlen < 6) {
        return Err(Error::malformed("SLMP data length", len_at));
    }
    let body = len_at + 2;
    let total = body + dlen;
    if b.len() < total {
        return Err(Error::Truncated);
    }
    let serial = (kind != Kind::Binary3E).then(|| le16(b, 2)).flatten();
    let tsn = kind == Kind::BinaryTsn;
    Ok(Header {
        kind,
        response,
        serial,
        network: b[at],
        station: b[at + 1],
        module_io: le16(b, at + 2).ok_or(Error::Truncated)?,
        multidrop: b[at + 4],
        // TSN frames name their command in both directions.
        command: (!response || tsn).then(|| le16(b, body + 2)).flatten(),
        subcommand: (!response || tsn).then(|| le16(b, body + 4)).flatten(),
        end_code: if response { le16(b, body) } else { None },
        data_at: body + if response && !tsn { 2 } else { 6 },
        len: total,
    })
}

fn ascii(b: &[u8]) -> Result<Header, Error> {
    let response = b[0] == b'D';
    let four = b[1] == b'4';
    let hex = |at: usize, n: usize| -> Result<u16, Error> {
        hexval(b.get(at..at + n).ok_or(Error::Truncated)?)
            .ok_or(Error::malformed("SLMP hexadecimal digit", at))
    };
    if hex(2, 2)? != 0 {
        return Err(Error::malformed("SLMP reserved digits", 2));
    }
    let at = if four { 12 } else { 4 };
    let serial = if four { Some(hex(4, 4)?) } else { None };
    let dlen = usize::from(hex(at + 10, 4)?);
    if !(4..=MAX_DATA_LEN).contains(&dlen) || (!response && dlen < 12) {
        return Err(Error::malformed("SLMP data length", at + 10));
    }
    let body = at + 14;
    let total = body + dlen;
    if b.len() < total {
        return Err(Error::Truncated);
    }
    Ok(Header {
        kind: if four { Kind::Ascii4E } else { Kind::Ascii3E },
        response,
        serial,
        network: hex(at, 2)? as u8,
        station: hex(at + 2, 2)? as u8,
        module_io: hex(at + 4, 4)?,
        multidrop: hex(at + 8, 2)? as u8,
        command: if response {
            None
        } else {
            Some(hex(body + 4, 4)?)
        },
        subcommand: if response {
            None
        } else {
            Some(hex(body + 8, 4)?)
        },
        end_code: if response { Some(hex(body, 4)?) } else { None },
        data_at: body + if response { 4 } else { 12 },
        len: total,
    })
}

/// A device range of a batch read or write request: head device number,
/// device code and number of points (binary, Q/L or iQ-R layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRange {
    pub head: u32,
    pub code: u16,
    pub points: u16,
}

pub fn device_range(data: &[u8], subcommand: u16) -> Option<DeviceRange> {
    if subcommand & 0x0002 != 0 {
        // iQ-R: 4-byte head device, 2-byte device code.
        Some(DeviceRange {
            head: u32::from_le_bytes(data.get(0..4)?.try_into().ok()?),
            code: le16(data, 4)?,
            points: le16(data, 6)?,
        })
    } else {
        let h = data.get(0..3)?;
        Some(DeviceRange {
            head: u32::from(h[0]) | u32::from(h[1]) << 8 | u32::from(h[2]) << 16,
            code: u16::from(*data.get(3)?),
            points: le16(data, 4)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_3e_read_request() {
        let f = [
            0x50, 0x00, // subheader: 3E request
            0x00, // network
            0xff, // station (PC)
            0xff, 0x03, // module I/O 0x03ff
            0x00, // multidrop
            0x0c, 0x00, // data length 12
            0x10, 0x00, // monitoring timer
            0x01, 0x04, // command 0x0401 batch read
            0x00, 0x00, // subcommand
            0x64, 0x00, 0x00, // head device 100
            0xa8, // device code D
            0x02, 0x00, // points
        ];
        let h = parse(&f).unwrap();
        assert_eq!(
            (h.kind, h.command, h.len),
            (Kind::Binary3E, Some(0x0401), 21)
        );
        let r = device_range(&f[h.data_at..], 0).unwrap();
        assert_eq!((r.head, r.code, r.points), (100, 0xa8, 2));
        assert_eq!(parse(&f[..15]), Err(Error::Truncated));
    }

    #[test]
    fn tsn_frame_from_a_real_capture() {
        // nttcom cclinktsnslmp trace: SlaveConfig request (0x0e92).
        let f = [
            0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00,
            0x10, 0x00, 0x00, 0x00, 0x92, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x02, 0x00,
        ];
        let h = parse(&f).unwrap();
        assert_eq!(
            (h.kind, h.command, h.subcommand, h.len),
            (Kind::BinaryTsn, Some(0x0e92), Some(0), 32)
        );
        assert_eq!((h.station, h.module_io), (0xff, 0x03ff));
    }

    #[test]
    fn ascii_3e_request() {
        let f = b"500000FF03FF000018001004010000D*0001000002";
        let h = parse(f).unwrap();
        assert_eq!(
            (h.kind, h.command, h.subcommand),
            (Kind::Ascii3E, Some(0x0401), Some(0))
        );
    }
}
