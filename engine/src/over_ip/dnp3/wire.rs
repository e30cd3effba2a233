//! DNP3 (IEEE 1815) link frames, transport segments and application
//! headers, pure functions over byte slices.

use crate::bytes::{le16, le32, Error};

/// Link header: start bytes, length, control, destination, source, CRC.
pub const LINK_HEADER_LEN: usize = 10;

/// The DNP3 CRC (polynomial 0x3d65, reflected) of `data`.
pub fn crc(data: &[u8]) -> u16 {
    let mut c: u16 = 0;
    for &b in data {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xa6bc
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Total length on the wire of the link frame at the start of `b`, checking
/// the start bytes and the header CRC.
pub fn frame_len(b: &[u8]) -> Result<usize, Error> {
    match b {
        [0x05, 0x64, ..] => {}
        [] | [0x05] => return Err(Error::Truncated),
        _ => return Err(Error::malformed("DNP3 start bytes", 0)),
    }
    let header = b.get(..LINK_HEADER_LEN).ok_or(Error::Truncated)?;
    if header[2] < 5 {
        return Err(Error::malformed("DNP3 link length", 2));
    }
    if crc(&header[..8]) != u16::from_le_bytes([header[8], header[9]]) {
        return Err(Error::malformed("DNP3 link header CRC", 8));
    }
    let user = usize::from(header[2]) - 5;
    let total = LINK_HEADER_LEN + user + 2 * user.div_ceil(16);
    if b.len() < total {
        return Err(Error::Truncated);
    }
    Ok(total)
}

/// A link frame's control byte and its user data with the block CRCs
/// removed (into `out`, at most 250 bytes). Blocks with a bad CRC make the
/// frame invalid.
pub fn user_data(frame: &[u8], out: &mut heapless::Vec<u8, 256>) -> Option<u8> {
    let ctrl = *frame.get(3)?;
    out.clear();
    for block in frame.get(LINK_HEADER_LEN..)?.chunks(18) {
        let (data, c) = block.split_at(block.len().checked_sub(2)?);
        if crc(data) != u16::from_le_bytes([c[0], c[1]]) {
            return None;
        }
        out.extend_from_slice(data).ok()?;
    }
    Some(ctrl)
}

/// An application header: request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppHeader {
    pub control: u8,
    pub function: u8,
    pub iin: Option<u16>,
    /// Offset of the first object header.
    pub objects_at: usize,
}

pub fn parse_app(b: &[u8]) -> Option<AppHeader> {
    let control = *b.first()?;
    let function = *b.get(1)?;
    if matches!(function, 0x81..=0x83) {
        Some(AppHeader {
            control,
            function,
            iin: Some(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])),
            objects_at: 4,
        })
    } else {
        Some(AppHeader {
            control,
            function,
            iin: None,
            objects_at: 2,
        })
    }
}

/// Size of one object of `group`/`variation`: bytes, or bits for packed
/// binary values. `None` for objects this decoder cannot size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Bytes(usize),
    Bits(usize),
    /// Only a header: class data and other requests without values.
    None,
}

pub fn object_size(group: u8, variation: u8) -> Option<Size> {
    use Size::*;
    Some(match (group, variation) {
        (60, _) | (_, 0) => None,
        (1, 1) | (10, 1) | (80, 1) => Bits(1),
        (3, 1) => Bits(2),
        (1, 2) | (10, 2) | (3, 2) => Bytes(1),
        (2, 1) | (11, 1) => Bytes(1),
        (2, 2) | (11, 2) | (4, 2) => Bytes(7),
        (2, 3) | (4, 3) => Bytes(3),
        (12, 1) | (12, 2) => Bytes(11),
        (20, 1) | (21, 1) | (22, 1) | (23, 1) => Bytes(5),
        (20, 2) | (21, 2) | (22, 2) | (23, 2) => Bytes(3),
        (20, 5) | (21, 9) => Bytes(4),
        (20, 6) | (21, 10) => Bytes(2),
        (22, 5) | (23, 5) => Bytes(11),
        (22, 6) | (23, 6) => Bytes(9),
        (30, 1) => Bytes(5),
        (30, 2) => Bytes(3),
        (30, 3) => Bytes(4),
        (30, 4) => Bytes(2),
        (30, 5) => Bytes(5),
        (30, 6) => Bytes(9),
        (32, 1) => Bytes(5),
        (32, 2) => Bytes(3),
        (32, 3) => Bytes(11),
        (32, 4) => Bytes(9),
        (32, 5) => Bytes(5),
        (32, 7) => Bytes(11),
        (40, 1) => Bytes(5),
        (40, 2) => Bytes(3),
        (40, 3) => Bytes(5),
        (41, 1) => Bytes(5),
        (41, 2) => Bytes(3),
        (41, 3) => Bytes(5),
        (50, 1) => Bytes(6),
        (50, 3) => Bytes(6),
        (51, 1) | (51, 2) => Bytes(6),
        (52, 1) | (52, 2) => Bytes(2),
        (13, 1) | (102, 1) => Bytes(1),
        (13, 2) => Bytes(7),
        (21, 5) => Bytes(11),
        (21, 6) => Bytes(9),
        // Frozen analog inputs; deadbands; double-precision outputs.
        (31, 1) | (31, 7) => Bytes(5),
        (31, 2) => Bytes(3),
        (31, 3) => Bytes(11),
        (31, 4) | (31, 8) => Bytes(9),
        (31, 5) => Bytes(4),
        (31, 6) => Bytes(2),
        (34, 1) | (101, 1) => Bytes(2),
        (34, 2) | (34, 3) | (101, 2) => Bytes(4),
        (40, 4) | (41, 4) => Bytes(9),
        // Analog events: flag, value (32-, 16-bit, single or double
        // precision), then a time or not.
        (32, 6) => Bytes(9),
        (32, 8) => Bytes(15),
        (33 | 42 | 43, 1 | 5) => Bytes(5),
        (33 | 42 | 43, 2) => Bytes(3),
        (33 | 42 | 43, 3 | 7) => Bytes(11),
        (33 | 42 | 43, 4 | 6) => Bytes(9),
        (33 | 42 | 43, 8) => Bytes(15),
        // Octet strings and virtual terminal blocks: the variation is the
        // length.
        (110..=113, v) => Bytes(usize::from(v)),
        _ => return Option::None,
    })
}

/// One object header and where its objects sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectHeader<'a> {
    pub group: u8,
    pub variation: u8,
    pub qualifier: u8,
    pub count: Option<u32>,
    /// Start and stop of a range (qualifiers 0x00 to 0x05), as sent.
    pub range: Option<(u32, u32)>,
    /// The objects (with their index prefixes), when they could be sized.
    pub objects: &'a [u8],
    /// Bytes of index prefix before each object (0, 1, 2 or 4).
    pub prefix: usize,
}

/// Reads the object header at `b[at..]`. Returns it with the offset of the
/// next header, or `None` there when nothing after it can be read: its
/// objects cannot be sized, or its qualifier is one Zeek's analyzer reads
/// as the rest of the fragment. `None` altogether when the header itself
/// is cut short.
///
/// As Zeek's analyzer does, a range of virtual addresses (qualifiers 0x03
/// to 0x05) is read as a start and a stop with no objects after it.
pub fn parse_object(
    b: &[u8],
    at: usize,
    is_request: bool,
) -> Option<(ObjectHeader<'_>, Option<usize>)> {
    let group = *b.get(at)?;
    let variation = *b.get(at + 1)?;
    let qualifier = *b.get(at + 2)?;
    let mut p = at + 3;
    let mut header = ObjectHeader {
        group,
        variation,
        qualifier,
        count: None,
        range: None,
        objects: &[],
        prefix: 0,
    };
    let range = |p: &mut usize, width: usize| -> Option<(u32, u32)> {
        let read = |at: usize| match width {
            1 => b.get(at).map(|&v| u32::from(v)),
            2 => le16(b, at).map(u32::from),
            _ => le32(b, at),
        };
        let r = (read(*p)?, read(*p + width)?);
        *p += 2 * width;
        Some(r)
    };
    match qualifier & 0x0f {
        code @ 0x0..=0x2 => {
            let (s, e) = range(&mut p, 1 << code)?;
            header.count = e.checked_sub(s).map(|d| d + 1);
            header.range = Some((s, e));
        }
        code @ 0x3..=0x5 => {
            header.range = Some(range(&mut p, 1 << (code - 3))?);
            header.count = Some(0);
            return Some((header, Some(p)));
        }
        0x6 => {}
        0x7 => {
            header.count = Some(u32::from(*b.get(p)?));
            p += 1;
        }
        0x8 => {
            header.count = Some(u32::from(le16(b, p)?));
            p += 2;
        }
        0x9 => {
            header.count = Some(le32(b, p)?);
            p += 4;
        }
        0xb => {
            // Free format: a one-byte count, then a size before each
            // object.
            let n = u32::from(*b.get(p)?);
            p += 1;
            header.count = Some(n);
            let mut q = Some(p);
            for _ in 0..n {
                q = q
                    .and_then(|q| Some(q + 2 + usize::from(le16(b, q)?)))
                    .filter(|&q| q <= b.len());
            }
            header.objects = q.and_then(|q| b.get(p..q)).unwrap_or_default();
            return Some((header, q));
        }
        _ => return Some((header, None)),
    }
    header.prefix = match (qualifier >> 4) & 0x07 {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 4,
        _ => return Some((header, None)),
    };
    let n = header.count.unwrap_or(0) as usize;
    // Requests other than writes and controls carry headers only.
    let Some(size) = object_size(group, variation) else {
        return Some((header, None));
    };
    let len = match size {
        Size::None => Some(0),
        _ if is_request && !matches!(group, 2 | 4 | 11 | 12 | 13 | 41 | 43 | 50 | 70 | 80) => {
            Some(0)
        }
        Size::Bytes(s) => n.checked_mul(s + header.prefix),
        Size::Bits(bits) => n
            .checked_mul(bits)
            .and_then(|v| v.div_ceil(8).checked_add(n.checked_mul(header.prefix)?)),
    };
    let Some(objects) = len.and_then(|len| b.get(p..p.checked_add(len)?)) else {
        return Some((header, None));
    };
    header.objects = objects;
    Some((header, Some(p + objects.len())))
}

/// A Control Relay Output Block (group 12 variation 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crob {
    pub index: u32,
    pub code: u8,
    pub count: u8,
    pub on_time: u32,
    pub off_time: u32,
    pub status: u8,
}

/// The CROBs of a group 12 header with index prefixes.
pub fn crobs<'a>(h: &ObjectHeader<'a>) -> impl Iterator<Item = Crob> + 'a {
    let prefix = h.prefix;
    let start = h.range.map_or(0, |r| r.0);
    h.objects
        .chunks_exact(11 + prefix)
        .enumerate()
        .filter_map(move |(i, o)| {
            let index = match prefix {
                0 => start + i as u32,
                1 => u32::from(o[0]),
                2 => u32::from(le16(o, 0)?),
                _ => le32(o, 0)?,
            };
            let o = &o[prefix..];
            Some(Crob {
                index,
                code: o[0],
                count: o[1],
                on_time: le32(o, 2)?,
                off_time: le32(o, 6)?,
                status: o[10],
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_link_header() {
        // Header of a real read request (zeek dnp3_read trace).
        let h = [0x05, 0x64, 0x0b, 0xc4, 0x01, 0x00, 0x02, 0x00];
        let c = crc(&h);
        let mut f = h.to_vec();
        f.extend_from_slice(&c.to_le_bytes());
        f.extend_from_slice(&[0xc0, 0xc1, 0x01, 0x3c, 0x01, 0x06]);
        let bc = crc(&f[10..16]);
        f.extend_from_slice(&bc.to_le_bytes());
        assert_eq!(frame_len(&f), Ok(18));
        let mut u = heapless::Vec::new();
        assert_eq!(user_data(&f, &mut u), Some(0xc4));
        assert_eq!(&u[..], &[0xc0, 0xc1, 0x01, 0x3c, 0x01, 0x06]);
        f[9] ^= 1;
        assert_eq!(
            frame_len(&f),
            Err(Error::malformed("DNP3 link header CRC", 8))
        );
    }

    #[test]
    fn object_headers() {
        // Class 0 read: group 60 var 1, all objects.
        let (h, next) = parse_object(&[60, 1, 0x06], 0, true).unwrap();
        assert_eq!((h.group, h.count, next), (60, None, Some(3)));
        // Binary inputs with status 0..3.
        let b = [1, 2, 0x00, 0, 3, 0x81, 0x01, 0x81, 0x81];
        let (h, next) = parse_object(&b, 0, false).unwrap();
        assert_eq!((h.count, h.range, next), (Some(4), Some((0, 3)), Some(9)));
        // The objects cut short: the header is read, nothing after it.
        let (h, next) = parse_object(&b[..8], 0, false).unwrap();
        assert_eq!((h.count, next), (Some(4), None));
        assert!(parse_object(&b[..4], 0, false).is_none());
    }

    #[test]
    fn sizes_of_frozen_analogs_events_and_octet_strings() {
        // Two frozen analog inputs with flag (5 bytes each), then a header
        // after them.
        let mut b = vec![31, 1, 0x00, 0, 1];
        b.extend_from_slice(&[1, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        b.extend_from_slice(&[110, 3, 0x00, 0, 0, b'a', b'b', b'c', 60, 1, 0x06]);
        let (_, next) = parse_object(&b, 0, false).unwrap();
        assert_eq!(next, Some(15));
        let (h, next) = parse_object(&b, 15, false).unwrap();
        assert_eq!((h.objects, next), (&b"abc"[..], Some(23)));
        assert_eq!(object_size(42, 8), Some(Size::Bytes(15)));
    }

    #[test]
    fn virtual_address_ranges_and_unknown_qualifiers() {
        // 16-bit virtual addresses 0x0102..0x0304: a start and a stop, no
        // objects, the next header right after.
        let b = [30, 1, 0x04, 0x02, 0x01, 0x04, 0x03, 60, 1, 0x06];
        let (h, next) = parse_object(&b, 0, false).unwrap();
        assert_eq!(
            (h.count, h.range, h.objects.len(), next),
            (Some(0), Some((0x0102, 0x0304)), 0, Some(7))
        );
        let (h, _) = parse_object(&[1, 2, 0x03, 4, 9], 0, true).unwrap();
        assert_eq!(h.range, Some((4, 9)));
        let (h, _) = parse_object(&[1, 2, 0x05, 1, 0, 0, 0, 2, 0, 0, 0], 0, true).unwrap();
        assert_eq!(h.range, Some((1, 2)));
        assert!(parse_object(&[1, 2, 0x05, 1, 0, 0, 0, 2], 0, true).is_none());
        // A reserved qualifier: the header, then nothing Zeek reads.
        let (h, next) = parse_object(&[1, 2, 0x0a, 1, 2, 3], 0, false).unwrap();
        assert_eq!((h.qualifier, h.count, next), (0x0a, None, None));
        // Objects of a kind this decoder cannot size: the header only.
        let (h, next) = parse_object(&[70, 5, 0x17, 1, 0, 9, 9], 0, false).unwrap();
        assert_eq!((h.group, h.count, next), (70, Some(1), None));
        // Free format with a size that runs past the end.
        let (h, next) = parse_object(&[70, 5, 0x5b, 1, 4, 0], 0, false).unwrap();
        assert_eq!((h.count, next), (Some(1), None));
    }
}
