//! S7comm and S7comm-plus headers (inside the COTP data TPDUs of
//! [`crate::over_ip::iso`]), pure functions over byte slices.

use crate::bytes::be16;

/// An S7comm header (protocol id 0x32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S7<'a> {
    pub rosctr: u8,
    pub pdu_ref: u16,
    pub error: Option<(u8, u8)>,
    pub param: &'a [u8],
    pub data: &'a [u8],
}

pub fn parse_s7(b: &[u8]) -> Option<S7<'_>> {
    if *b.first()? != 0x32 {
        return None;
    }
    let rosctr = *b.get(1)?;
    let hlen = if matches!(rosctr, 2 | 3) { 12 } else { 10 };
    let plen = usize::from(be16(b, 6)?);
    let dlen = usize::from(be16(b, 8)?);
    Some(S7 {
        rosctr,
        pdu_ref: be16(b, 4)?,
        error: (hlen == 12)
            .then(|| Some((*b.get(10)?, *b.get(11)?)))
            .flatten(),
        param: b.get(hlen..hlen + plen)?,
        data: b.get(hlen + plen..(hlen + plen + dlen).min(b.len()))?,
    })
}

/// The parameter of a User-Data PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserData {
    /// Type (high nibble: 4 request, 8 response, 0 push) and function group.
    pub type_group: u8,
    pub subfunction: u8,
    pub sequence: u8,
    /// Error code of a response.
    pub error: Option<u16>,
}

pub fn parse_userdata(param: &[u8]) -> Option<UserData> {
    if param.get(..3)? != [0x00, 0x01, 0x12] {
        return None;
    }
    let plen = *param.get(3)?;
    Some(UserData {
        type_group: *param.get(5)?,
        subfunction: *param.get(6)?,
        sequence: *param.get(7)?,
        error: (plen >= 8).then(|| be16(param, 10)).flatten(),
    })
}

/// An SZL read response: id, index and records of equal length.
pub struct Szl<'a> {
    pub id: u16,
    pub index: u16,
    pub record_len: usize,
    pub records: &'a [u8],
}

/// The SZL list in a User-Data response's data (return code 0xff).
pub fn parse_szl(data: &[u8]) -> Option<Szl<'_>> {
    if *data.first()? != 0xff {
        return None;
    }
    let len = usize::from(be16(data, 2)?);
    let body = data.get(4..4 + len)?;
    let record_len = usize::from(be16(body, 4)?);
    let count = usize::from(be16(body, 6)?);
    let records = body.get(8..8 + record_len.checked_mul(count)?.min(body.len() - 8))?;
    Some(Szl {
        id: be16(body, 0)?,
        index: be16(body, 2)?,
        record_len,
        records,
    })
}

/// An S7comm-plus frame (protocol id 0x72): version, opcode, function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plus {
    pub version: u8,
    pub opcode: u8,
    pub function: Option<u16>,
}

pub fn parse_plus(b: &[u8]) -> Option<Plus> {
    if *b.first()? != 0x72 {
        return None;
    }
    let version = *b.get(1)?;
    // Version 3 frames carry an integrity part (length byte and digest)
    // before the data.
    let at = if version == 3 {
        5 + usize::from(*b.get(4)?)
    } else {
        4
    };
    let opcode = *b.get(at)?;
    let function = matches!(opcode, 0x31 | 0x32)
        .then(|| be16(b, at + 3))
        .flatten();
    Some(Plus {
        version,
        opcode,
        function,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_v3_skips_the_digest() {
        // A real frame's start (icsnpp s7comm_plus trace, frame 7).
        let mut f = vec![0x72, 0x03, 0x00, 0x59, 0x20];
        f.extend_from_slice(&[0xaa; 32]);
        f.extend_from_slice(&[0x31, 0x00, 0x00, 0x04, 0xf2]);
        let p = parse_plus(&f).unwrap();
        assert_eq!((p.version, p.opcode, p.function), (3, 0x31, Some(0x04f2)));
    }
}
