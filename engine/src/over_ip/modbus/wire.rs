//! Modbus/TCP framing (MBAP header) and PDU decoding, pure functions over
//! byte slices (Modbus Application Protocol v1.1b3, Modbus Messaging on
//! TCP/IP v1.0b).

use crate::bytes::{be16, Error};

/// MBAP header: transaction id, protocol id (0), length, unit id.
pub const MBAP_LEN: usize = 7;
/// Largest PDU the specification allows (253) plus the unit id.
pub const MAX_LENGTH: u16 = 254;

/// A checked MBAP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mbap {
    pub tid: u16,
    pub length: u16,
    pub unit: u8,
}

/// Splits one frame off the front of `b`: the header, the PDU (function
/// code first) and the frame's total length.
pub fn parse_frame(b: &[u8]) -> Result<(Mbap, &[u8], usize), Error> {
    if b.len() < MBAP_LEN + 1 {
        // Reject a bad protocol id or length as soon as it is visible.
        if b.len() >= 6 && !header_plausible(b) {
            return Err(NOT_MBAP);
        }
        return Err(Error::Truncated);
    }
    if !header_plausible(b) {
        return Err(NOT_MBAP);
    }
    let tid = be16(b, 0).ok_or(Error::Truncated)?;
    let length = be16(b, 4).ok_or(Error::Truncated)?;
    let total = 6 + usize::from(length);
    let pdu = b.get(MBAP_LEN..total).ok_or(Error::Truncated)?;
    Ok((
        Mbap {
            tid,
            length,
            unit: b[6],
        },
        pdu,
        total,
    ))
}

/// A protocol id other than 0 or a length outside 2..=254.
const NOT_MBAP: Error = Error::malformed("MBAP protocol id or length", 2);

fn header_plausible(b: &[u8]) -> bool {
    let proto = be16(b, 2);
    let len = be16(b, 4).unwrap_or(0);
    proto == Some(0) && (2..=MAX_LENGTH).contains(&len)
}

/// Whether `f` is a function code the specification defines (or its
/// exception form).
pub fn known_function(f: u8) -> bool {
    matches!(
        f & 0x7f,
        1..=8 | 0x0b | 0x0c | 0x0f..=0x11 | 0x14..=0x18 | 0x2b
    )
}

/// The meaning of one PDU. Values are decoded only as far as the logs use
/// them; everything else stays in `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The function code as sent (0x80 set on an exception response).
    pub function: u8,
    pub exception: Option<u8>,
    pub address: Option<u16>,
    pub quantity: Option<u16>,
    /// Register values, or coil and input bits as 0/1.
    pub values: Vec<u16>,
    /// Bits of the last coil byte beyond the quantity asked for.
    pub extra_bits: Vec<u16>,
    pub subfunction: Option<u16>,
    /// MEI type of function 43.
    pub mei_type: Option<u8>,
    /// Function 22: AND and OR masks.
    pub masks: Option<(u16, u16)>,
    /// Function 23: read address and quantity (the write part is in
    /// `address`, `quantity` and `values`).
    pub read: Option<(u16, u16)>,
    /// Payload not decoded into fields (diagnostic data).
    pub data: &'a [u8],
    /// The PDU is shorter or longer than its function requires.
    pub invalid: bool,
}

/// Decodes a PDU (function code first). A request is read with the request
/// layout; a response needs the request's quantity for bit values, when
/// known. Never fails: a PDU whose body does not fit its function is kept
/// with `invalid` set.
pub fn parse_pdu(pdu: &[u8], is_request: bool, req_quantity: Option<u16>) -> Pdu<'_> {
    let Some((&function, body)) = pdu.split_first() else {
        return Pdu {
            invalid: true,
            ..Pdu::default()
        };
    };
    let mut p = Pdu {
        function,
        ..Pdu::default()
    };
    if function & 0x80 != 0 {
        p.exception = body.first().copied();
        p.invalid = body.len() != 1;
        return p;
    }
    let ok = if is_request {
        request(&mut p, body)
    } else {
        response(&mut p, body, req_quantity)
    };
    p.invalid = ok.is_none();
    p
}

fn request<'a>(p: &mut Pdu<'a>, b: &'a [u8]) -> Option<()> {
    match p.function {
        1..=4 => {
            p.address = Some(be16(b, 0)?);
            p.quantity = Some(be16(b, 2)?);
            exact(b, 4)
        }
        5 => {
            p.address = Some(be16(b, 0)?);
            p.quantity = Some(1);
            p.values = vec![u16::from(be16(b, 2)? == 0xff00)];
            exact(b, 4)
        }
        6 => {
            p.address = Some(be16(b, 0)?);
            p.quantity = Some(1);
            p.values = vec![be16(b, 2)?];
            exact(b, 4)
        }
        0x0f => {
            p.address = Some(be16(b, 0)?);
            let q = be16(b, 2)?;
            p.quantity = Some(q);
            let bytes = counted(b, 4)?;
            let (v, _) = bits(bytes, q);
            p.values = v;
            Some(())
        }
        0x10 => {
            p.address = Some(be16(b, 0)?);
            p.quantity = Some(be16(b, 2)?);
            p.values = registers(counted(b, 4)?)?;
            Some(())
        }
        0x08 => {
            p.subfunction = Some(be16(b, 0)?);
            p.data = b.get(2..)?;
            Some(())
        }
        0x14 | 0x15 => {
            p.quantity = Some(0);
            counted(b, 0).map(|_| ())
        }
        0x16 => {
            p.address = Some(be16(b, 0)?);
            p.masks = Some((be16(b, 2)?, be16(b, 4)?));
            exact(b, 6)
        }
        0x17 => {
            p.read = Some((be16(b, 0)?, be16(b, 2)?));
            p.address = Some(be16(b, 4)?);
            p.quantity = Some(be16(b, 6)?);
            p.values = registers(counted(b, 8)?)?;
            Some(())
        }
        0x18 => {
            p.address = Some(be16(b, 0)?);
            exact(b, 2)
        }
        0x2b => {
            p.mei_type = Some(*b.first()?);
            p.data = b.get(1..)?;
            Some(())
        }
        _ => {
            p.data = b;
            Some(())
        }
    }
}

fn response<'a>(p: &mut Pdu<'a>, b: &'a [u8], req_quantity: Option<u16>) -> Option<()> {
    match p.function {
        1 | 2 => {
            let bytes = counted(b, 0)?;
            let q = req_quantity.unwrap_or(u16::try_from(bytes.len() * 8).unwrap_or(u16::MAX));
            let (v, extra) = bits(bytes, q);
            p.values = v;
            p.extra_bits = extra;
            Some(())
        }
        3 | 4 | 0x17 => {
            p.values = registers(counted(b, 0)?)?;
            Some(())
        }
        5 => {
            p.address = Some(be16(b, 0)?);
            p.values = vec![u16::from(be16(b, 2)? == 0xff00)];
            exact(b, 4)
        }
        6 => {
            p.address = Some(be16(b, 0)?);
            p.values = vec![be16(b, 2)?];
            exact(b, 4)
        }
        0x0f | 0x10 => {
            p.address = Some(be16(b, 0)?);
            p.quantity = Some(be16(b, 2)?);
            exact(b, 4)
        }
        0x08 => {
            p.subfunction = Some(be16(b, 0)?);
            p.data = b.get(2..)?;
            Some(())
        }
        0x14 | 0x15 => counted(b, 0).map(|_| ()),
        0x16 => {
            p.address = Some(be16(b, 0)?);
            p.masks = Some((be16(b, 2)?, be16(b, 4)?));
            exact(b, 6)
        }
        0x18 => {
            let n = usize::from(be16(b, 0)?);
            let count = be16(b, 2)?;
            p.quantity = Some(count);
            let regs = b.get(4..2 + n)?;
            p.values = registers(regs)?;
            Some(())
        }
        0x2b => {
            p.mei_type = Some(*b.first()?);
            p.data = b.get(1..)?;
            Some(())
        }
        _ => {
            p.data = b;
            Some(())
        }
    }
}

/// `Some` when the body is exactly `n` bytes.
fn exact(b: &[u8], n: usize) -> Option<()> {
    (b.len() == n).then_some(())
}

/// The bytes after a one-byte count at `at`, which must fill the body.
fn counted(b: &[u8], at: usize) -> Option<&[u8]> {
    let n = usize::from(*b.get(at)?);
    let rest = b.get(at + 1..)?;
    (rest.len() == n).then_some(rest)
}

fn registers(b: &[u8]) -> Option<Vec<u16>> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    Some(
        b.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
    )
}

/// Bits least significant first: the first `quantity`, then the padding of
/// the last byte.
fn bits(b: &[u8], quantity: u16) -> (Vec<u16>, Vec<u16>) {
    let all = b
        .iter()
        .flat_map(|&byte| (0..8).map(move |i| u16::from(byte >> i & 1)));
    let q = usize::from(quantity).min(b.len() * 8);
    let mut v: Vec<u16> = all.collect();
    let extra = v.split_off(q);
    (v, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_and_read_request() {
        let b = [
            0x00, 0x02, // transaction id
            0x00, 0x00, // protocol id
            0x00, 0x06, // length
            0x05, // unit id
            0x01, // function: read coils
            0x00, 0x01, // address
            0x00, 0x08, // quantity
        ];
        let (h, pdu, n) = parse_frame(&b).unwrap();
        assert_eq!((h.tid, h.unit, n), (2, 5, 12));
        let p = parse_pdu(pdu, true, None);
        assert_eq!((p.function, p.address, p.quantity), (1, Some(1), Some(8)));
        assert!(!p.invalid);
        assert_eq!(parse_frame(&b[..9]), Err(Error::Truncated));
    }

    #[test]
    fn coil_response_splits_padding() {
        let pdu = [0x01, 0x01, 0b1110_1001];
        let p = parse_pdu(&pdu, false, Some(1));
        assert_eq!(p.values, vec![1]);
        assert_eq!(p.extra_bits, vec![0, 0, 1, 0, 1, 1, 1]);
    }

    #[test]
    fn exception_and_bad_lengths() {
        let p = parse_pdu(&[0x83, 0x02], false, None);
        assert_eq!(p.exception, Some(2));
        assert!(!p.invalid);
        assert!(parse_pdu(&[0x03, 0x00], true, None).invalid);
        assert!(parse_pdu(&[0x10, 0, 1, 0, 2, 4, 0, 1], true, None).invalid);
        assert!(parse_pdu(&[], true, None).invalid);
        // Protocol id 1 and length 0 are not Modbus.
        assert_eq!(parse_frame(&[0, 1, 0, 1, 0, 6, 1, 3]), Err(NOT_MBAP));
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0, 0, 1, 3]), Err(NOT_MBAP));
    }
}
