//! EtherNet/IP encapsulation, Common Packet Format items and CIP message
//! framing (ODVA CIP Vol. 1 and 2), pure functions over byte slices.

use crate::bytes::{le16, le32, Error};

pub const HEADER_LEN: usize = 24;
/// Largest encapsulation data length accepted (the specification allows
/// 65511; real messages are far smaller).
pub const MAX_DATA: u16 = 65_511;

/// Encapsulation commands defined by the specification.
pub fn known_command(c: u16) -> bool {
    matches!(
        c,
        0x00 | 0x04 | 0x63 | 0x64 | 0x65 | 0x66 | 0x6f | 0x70 | 0x72 | 0x73
    )
}

/// A checked encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u16,
    pub length: u16,
    pub session: u32,
    pub status: u32,
    pub context: [u8; 8],
    pub options: u32,
}

/// Parses the header at the start of `b` and returns it with the message's
/// data (cut to its declared length) and total length.
pub fn parse_encap(b: &[u8]) -> Result<(Header, &[u8], usize), Error> {
    let command = le16(b, 0).ok_or(Error::Truncated)?;
    if !known_command(command) {
        return Err(Error::malformed("encapsulation command", 0));
    }
    let length = le16(b, 2).ok_or(Error::Truncated)?;
    if length > MAX_DATA {
        return Err(Error::malformed("encapsulation length", 2));
    }
    let options = le32(b, 20).ok_or(Error::Truncated)?;
    if options != 0 {
        return Err(Error::malformed("encapsulation options", 20));
    }
    let total = HEADER_LEN + usize::from(length);
    let data = b.get(HEADER_LEN..total).ok_or(Error::Truncated)?;
    let mut context = [0; 8];
    context.copy_from_slice(&b[12..20]);
    Ok((
        Header {
            command,
            length,
            session: le32(b, 4).ok_or(Error::Truncated)?,
            status: le32(b, 8).ok_or(Error::Truncated)?,
            context,
            options,
        },
        data,
        total,
    ))
}

/// One Common Packet Format item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

/// Most CPF items read from one message.
pub const MAX_ITEMS: usize = 8;

/// The items of a CPF list starting with its count at `b[0]`.
pub fn parse_items(b: &[u8]) -> Option<heapless::Vec<Item<'_>, MAX_ITEMS>> {
    let n = le16(b, 0)?;
    let mut items = heapless::Vec::new();
    let mut at = 2;
    for _ in 0..n {
        let kind = le16(b, at)?;
        let len = usize::from(le16(b, at + 2)?);
        let data = b.get(at + 4..at + 4 + len)?;
        items.push(Item { kind, data }).ok()?;
        at += 4 + len;
    }
    Some(items)
}

/// A CIP request path: the logical class, instance and attribute (8, 16 or
/// 32-bit segments); other segments (ports, symbols, keys) are skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path {
    pub class: Option<u32>,
    pub instance: Option<u32>,
    pub attribute: Option<u32>,
}

pub fn parse_path(p: &[u8]) -> Path {
    let mut path = Path::default();
    let mut i = 0;
    while let Some(&seg) = p.get(i) {
        let kind = seg & 0xe0;
        if kind == 0x20 {
            // Logical segment: type in bits 2-4, format in bits 0-1.
            let (value, len) = match seg & 0x03 {
                0 => (p.get(i + 1).map(|&v| u32::from(v)), 2),
                1 => (le16(p, i + 2).map(u32::from), 4),
                2 => (le32(p, i + 2), 6),
                _ => (None, 2),
            };
            match (seg >> 2) & 0x07 {
                0 => path.class = value,
                1 => path.instance = value,
                4 => path.attribute = value,
                _ => {}
            }
            i += len;
        } else if seg == 0x91 {
            // ANSI extended symbol: length byte, text, pad to even.
            let n = usize::from(p.get(i + 1).copied().unwrap_or(0));
            i += 2 + n + n % 2;
        } else if kind == 0 {
            // Port segment with a one-byte link address.
            i += 2;
        } else {
            break;
        }
    }
    path
}

/// A CIP message: a request with its path, or a response with status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    Request {
        service: u8,
        path: Path,
        data: &'a [u8],
    },
    Response {
        service: u8,
        status: u8,
        /// The first extended status word, if any.
        extended: Option<u16>,
        data: &'a [u8],
    },
}

/// Parses one CIP message (explicit messaging).
pub fn parse_cip(b: &[u8]) -> Option<Message<'_>> {
    let service = *b.first()?;
    if service & 0x80 != 0 {
        let status = *b.get(2)?;
        let ext_words = usize::from(*b.get(3)?);
        let extended = if ext_words > 0 { le16(b, 4) } else { None };
        let data = b.get(4 + 2 * ext_words..)?;
        Some(Message::Response {
            service: service & 0x7f,
            status,
            extended,
            data,
        })
    } else {
        let words = usize::from(*b.get(1)?);
        let path = b.get(2..2 + 2 * words)?;
        Some(Message::Request {
            service,
            path: parse_path(path),
            data: b.get(2 + 2 * words..)?,
        })
    }
}

/// The embedded messages of a Multiple Service Packet's data: a count and
/// offsets from the start of the data.
pub fn multiple_service(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let n = usize::from(le16(data, 0).unwrap_or(0)).min(64);
    (0..n).filter_map(move |i| {
        let start = usize::from(le16(data, 2 + 2 * i)?);
        let end = if i + 1 < n {
            usize::from(le16(data, 4 + 2 * i)?)
        } else {
            data.len()
        };
        data.get(start..end)
    })
}

/// The CIP Identity as ListIdentity (item 0x0c) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    pub encap_version: u16,
    pub socket_addr: [u8; 4],
    pub socket_port: u16,
    pub vendor: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision: (u8, u8),
    pub status: u16,
    pub serial: u32,
    pub product_name: &'a [u8],
    pub state: Option<u8>,
}

/// Parses a ListIdentity CIP Identity item.
pub fn parse_identity_item(b: &[u8]) -> Option<Identity<'_>> {
    let name_len = usize::from(*b.get(32)?);
    Some(Identity {
        encap_version: le16(b, 0)?,
        socket_port: u16::from_be_bytes([*b.get(4)?, *b.get(5)?]),
        socket_addr: b.get(6..10)?.try_into().ok()?,
        vendor: le16(b, 18)?,
        device_type: le16(b, 20)?,
        product_code: le16(b, 22)?,
        revision: (*b.get(24)?, *b.get(25)?),
        status: le16(b, 26)?,
        serial: le32(b, 28)?,
        product_name: b.get(33..33 + name_len)?,
        state: b.get(33 + name_len).copied(),
    })
}

/// Parses the Identity object's Get_Attributes_All reply (same layout from
/// the vendor id on).
pub fn parse_identity_attrs(b: &[u8]) -> Option<Identity<'_>> {
    let name_len = usize::from(*b.get(14)?);
    Some(Identity {
        encap_version: 0,
        socket_addr: [0; 4],
        socket_port: 0,
        vendor: le16(b, 0)?,
        device_type: le16(b, 2)?,
        product_code: le16(b, 4)?,
        revision: (*b.get(6)?, *b.get(7)?),
        status: le16(b, 8)?,
        serial: le32(b, 10)?,
        product_name: b.get(15..15 + name_len)?,
        state: b.get(15 + name_len).copied(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        // Class 0x68, 16-bit instance 0x2420 (a real request's path).
        assert_eq!(
            parse_path(&[0x20, 0x68, 0x25, 0x00, 0x20, 0x24]),
            Path {
                class: Some(0x68),
                instance: Some(0x2420),
                attribute: None
            }
        );
        assert_eq!(
            parse_path(&[0x20, 0x01, 0x24, 0x01, 0x30, 0x07]).attribute,
            Some(7)
        );
        assert_eq!(parse_path(&[0x20]).class, None);
    }

    #[test]
    fn encap_header() {
        let mut m = vec![
            0x65, 0x00, // command: RegisterSession
            0x04, 0x00, // length
            0, 0, 0, 0, // session
            0, 0, 0, 0, // status
            1, 2, 3, 4, 5, 6, 7, 8, // sender context
            0, 0, 0, 0, // options
        ];
        m.extend_from_slice(&[1, 0, 0, 0]);
        let (h, d, n) = parse_encap(&m).unwrap();
        assert_eq!((h.command, d.len(), n), (0x65, 4, 28));
        assert_eq!(parse_encap(&m[..26]), Err(Error::Truncated));
        m[0] = 0x99;
        assert_eq!(
            parse_encap(&m),
            Err(Error::malformed("encapsulation command", 0))
        );
    }
}
