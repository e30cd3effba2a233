//! BACnet/IP (ASHRAE 135 Annex J): BVLC, NPDU, APDU headers and BACnet
//! tags, pure functions over byte slices.

use crate::bytes::be16;

/// A checked BVLC header and the NPDU it carries (if its function has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bvlc<'a> {
    pub function: u8,
    pub npdu: Option<&'a [u8]>,
}

/// Parses a BVLC datagram: type 0x81, a defined function, a length of at
/// least the header. The NPDU runs to the end of the datagram: devices are
/// seen to send lengths that disagree with it.
pub fn parse_bvlc(b: &[u8]) -> Option<Bvlc<'_>> {
    if *b.first()? != 0x81 {
        return None;
    }
    let function = *b.get(1)?;
    if function > 0x0c || usize::from(be16(b, 2)?) < 4 {
        return None;
    }
    let npdu = match function {
        0x09..=0x0b => b.get(4..),
        // Forwarded-NPDU carries the original source address and port.
        0x04 => b.get(10..),
        _ => None,
    };
    Some(Bvlc { function, npdu })
}

/// Whether the BVLC length equals the datagram's: the strong signature.
pub fn length_matches(b: &[u8]) -> bool {
    be16(b, 2).is_some_and(|l| usize::from(l) == b.len())
}

/// The APDU of an NPDU, or `None` for a network layer message.
pub fn npdu_apdu(n: &[u8]) -> Option<&[u8]> {
    if *n.first()? != 0x01 {
        return None;
    }
    let ctrl = *n.get(1)?;
    let mut at = 2;
    if ctrl & 0x20 != 0 {
        at += 3 + usize::from(*n.get(at + 2)?);
    }
    if ctrl & 0x08 != 0 {
        at += 3 + usize::from(*n.get(at + 2)?);
    }
    if ctrl & 0x20 != 0 {
        at += 1;
    }
    if ctrl & 0x80 != 0 {
        return None;
    }
    n.get(at..)
}

/// An APDU header: type, invoke id, service, and where its body starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Apdu<'a> {
    pub pdu_type: u8,
    pub invoke_id: Option<u8>,
    /// Service choice (requests, acks, errors) or reason (reject, abort).
    pub service: Option<u8>,
    /// For one segment of a segmented request or complex ACK: its
    /// sequence number and whether more segments follow.
    pub segment: Option<(u8, bool)>,
    pub body: &'a [u8],
}

pub fn parse_apdu(a: &[u8]) -> Option<Apdu<'_>> {
    let first = *a.first()?;
    let t = first >> 4;
    let seg = first & 0x08 != 0;
    let more = first & 0x04 != 0;
    let segment = match t {
        0 if seg => Some((*a.get(3)?, more)),
        3 if seg => Some((*a.get(2)?, more)),
        _ => None,
    };
    let (invoke, service, body_at) = match t {
        0 => {
            let at = if seg { 5 } else { 3 };
            (Some(*a.get(2)?), Some(*a.get(at)?), at + 1)
        }
        1 => (None, Some(*a.get(1)?), 2),
        2 => (Some(*a.get(1)?), Some(*a.get(2)?), 3),
        3 => {
            let at = if seg { 4 } else { 2 };
            (Some(*a.get(1)?), Some(*a.get(at)?), at + 1)
        }
        4 => (Some(*a.get(1)?), None, 4),
        5..=7 => (Some(*a.get(1)?), Some(*a.get(2)?), 3),
        _ => return None,
    };
    Some(Apdu {
        pdu_type: t,
        invoke_id: invoke,
        service,
        segment,
        body: a.get(body_at..).unwrap_or(&[]),
    })
}

/// A BACnet tag: number, context or application class, and its value
/// bytes (or, for opening/closing tags, nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag<'a> {
    pub number: u8,
    pub context: bool,
    pub opening: bool,
    pub closing: bool,
    /// For application booleans the value is in the length field.
    pub lvt: u32,
    pub data: &'a [u8],
}

/// Reads the tag at `b[at..]`; returns it and the offset after it.
pub fn tag(b: &[u8], at: usize) -> Option<(Tag<'_>, usize)> {
    let t = *b.get(at)?;
    let mut p = at + 1;
    let mut number = t >> 4;
    if number == 0x0f {
        number = *b.get(p)?;
        p += 1;
    }
    let context = t & 0x08 != 0;
    let lvt = t & 0x07;
    if context && (lvt == 6 || lvt == 7) {
        return Some((
            Tag {
                number,
                context,
                opening: lvt == 6,
                closing: lvt == 7,
                lvt: 0,
                data: &[],
            },
            p,
        ));
    }
    let len = if lvt == 5 {
        let l = *b.get(p)?;
        p += 1;
        match l {
            254 => {
                p += 2;
                u32::from(be16(b, p - 2)?)
            }
            255 => {
                p += 4;
                u32::from_be_bytes(b.get(p - 4..p)?.try_into().ok()?)
            }
            l => u32::from(l),
        }
    } else {
        u32::from(lvt)
    };
    // An application boolean has no data: its value is the length field.
    let n = if !context && number == 1 {
        0
    } else {
        len as usize
    };
    let data = b.get(p..p.checked_add(n)?)?;
    Some((
        Tag {
            number,
            context,
            opening: false,
            closing: false,
            lvt: len,
            data,
        },
        p + n,
    ))
}

/// An unsigned integer of 1 to 4 bytes.
pub fn unsigned(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 4 {
        return None;
    }
    Some(d.iter().fold(0u32, |v, &b| v << 8 | u32::from(b)))
}

/// An object identifier: (type, instance).
pub fn object_id(d: &[u8]) -> Option<(u16, u32)> {
    let v = u32::from_be_bytes(d.try_into().ok()?);
    Some(((v >> 22) as u16, v & 0x3f_ffff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i_am() {
        let d = [
            0x81, 0x0b, 0x00, 0x18, // BVLC: original broadcast, length 24
            0x01, 0x20, 0xff, 0xff, 0x00, 0xff, // NPDU to the global broadcast
            0x10, 0x00, // unconfirmed request, i-am
            0xc4, 0x02, 0x00, 0x03, 0x52, // object id: device 850
            0x22, 0x05, 0xc4, // max APDU 1476
            0x91, 0x03, // segmentation: none
            0x22, 0x01, // vendor (truncated to the test's needs)
        ];
        let b = parse_bvlc(&d[..]).unwrap();
        let a = parse_apdu(npdu_apdu(b.npdu.unwrap()).unwrap()).unwrap();
        assert_eq!((a.pdu_type, a.service), (1, Some(0)));
        let (t, _) = tag(a.body, 0).unwrap();
        assert_eq!(object_id(t.data), Some((8, 850)));
        assert!(length_matches(&d));
        assert!(!length_matches(&d[..20]));
        assert!(parse_bvlc(&[0x81, 0x0d, 0, 4]).is_none());
    }

    #[test]
    fn segmented_complex_ack() {
        // Complex ACK, segmented, more follow: invoke 7, sequence 2,
        // window 4, ReadPropertyMultiple, then the segment's bytes.
        let a = parse_apdu(&[0x3c, 7, 2, 4, 14, 0x0c, 1]).unwrap();
        assert_eq!((a.invoke_id, a.service), (Some(7), Some(14)));
        assert_eq!(a.segment, Some((2, true)));
        assert_eq!(a.body, &[0x0c, 1]);
        let last = parse_apdu(&[0x38, 7, 3, 4, 14, 0x3f]).unwrap();
        assert_eq!(last.segment, Some((3, false)));
        // A segmented confirmed request carries the sequence at byte 3.
        let req = parse_apdu(&[0x0c, 0x05, 9, 0, 4, 15, 0x0c]).unwrap();
        assert_eq!(
            (req.invoke_id, req.service, req.segment),
            (Some(9), Some(15), Some((0, true)))
        );
        assert_eq!(parse_apdu(&[0x00, 0x05, 9, 12]).unwrap().segment, None);
    }
}
