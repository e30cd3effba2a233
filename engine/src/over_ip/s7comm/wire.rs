//! S7comm and S7comm-plus headers (inside the COTP data TPDUs of
//! [`crate::over_ip::iso`]), pure functions over byte slices.

use crate::bytes::{be16, be32};

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
    /// Parameter method: 0x11 request, 0x12 response.
    pub method: u8,
    /// Type (high nibble: 4 request, 8 response, 0 push) and function group.
    pub type_group: u8,
    pub subfunction: u8,
    pub sequence: u8,
    /// Data unit reference of a response split over several PDUs (0 when
    /// it is not split).
    pub data_ref: u8,
    /// 0x00 on the last data unit of a response, 0x01 when more follow.
    pub last_unit: u8,
    /// Error code of a response.
    pub error: Option<u16>,
}

pub fn parse_userdata(param: &[u8]) -> Option<UserData> {
    if param.get(..3)? != [0x00, 0x01, 0x12] {
        return None;
    }
    let plen = *param.get(3)?;
    let long = plen >= 8;
    Some(UserData {
        method: *param.get(4)?,
        type_group: *param.get(5)?,
        subfunction: *param.get(6)?,
        sequence: *param.get(7)?,
        data_ref: long.then(|| param.get(8).copied()).flatten().unwrap_or(0),
        last_unit: long.then(|| param.get(9).copied()).flatten().unwrap_or(0),
        error: long.then(|| be16(param, 10)).flatten(),
    })
}

/// The head of a Read SZL request's or response's data: return code, SZL
/// id and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SzlHead {
    pub return_code: u8,
    pub id: u16,
    pub index: u16,
}

pub fn parse_szl_head(data: &[u8]) -> Option<SzlHead> {
    Some(SzlHead {
        return_code: *data.first()?,
        id: be16(data, 4)?,
        index: be16(data, 6)?,
    })
}

/// A block upload or download step (Job functions 0x1a to 0x1f and their
/// ACK-Data): what the peer's `s7comm_upload_download` log reads of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer<'a> {
    pub status: Option<u8>,
    /// The upload id the PLC hands out at Start Upload.
    pub session: Option<u32>,
    /// Bytes of the block: the ASCII length of a Start Upload reply, or
    /// the length of the data an Upload or Download Block reply carries.
    pub block_len: Option<u32>,
    /// The block's file name (`_0B00000A`: type, number, file system).
    pub filename: Option<&'a [u8]>,
}

/// Job parameters: function, status, two reserved bytes, the upload id,
/// then for the functions that name a block its name's length and name.
/// Replies: Start Upload repeats status and id and gives the block length
/// as decimal text; Upload and Download Block carry the block's bytes in
/// the data part behind a 16-bit length.
pub fn parse_transfer<'a>(rosctr: u8, param: &'a [u8], data: &'a [u8]) -> Option<Transfer<'a>> {
    let function = *param.first()?;
    if !(0x1a..=0x1f).contains(&function) {
        return None;
    }
    let named = |p: &'a [u8]| -> Option<&'a [u8]> {
        let len = usize::from(*p.get(8)?);
        p.get(9..9 + len)
    };
    Some(match (rosctr, function) {
        (1, _) => Transfer {
            status: param.get(1).copied(),
            session: be32(param, 4),
            block_len: None,
            filename: if function == 0x1e || function == 0x1f {
                None
            } else {
                named(param)
            },
        },
        (3, 0x1d) => Transfer {
            status: param.get(1).copied(),
            session: be32(param, 4),
            block_len: named(param).and_then(decimal),
            filename: None,
        },
        (3, 0x1e) => Transfer {
            status: param.get(1).copied(),
            block_len: be16(data, 0).map(u32::from),
            ..Transfer::default()
        },
        (3, 0x1b) => Transfer {
            block_len: be16(data, 0).map(u32::from),
            ..Transfer::default()
        },
        (3, _) => Transfer::default(),
        _ => return None,
    })
}

/// The PI service a PLC Control job (0x28) calls: function, seven
/// reserved bytes, the parameter block behind its 16-bit length, then the
/// service name behind its length (`P_PROGRAM`, `_INSE`, ...).
pub fn pi_service(param: &[u8]) -> Option<&[u8]> {
    let block = usize::from(be16(param, 8)?);
    let at = 10 + block;
    let len = usize::from(*param.get(at)?);
    param.get(at + 1..at + 1 + len)
}

/// The leading decimal digits of an ASCII field.
fn decimal(b: &[u8]) -> Option<u32> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit());
    let mut n: Option<u32> = None;
    for d in digits {
        n = Some(
            n.unwrap_or(0)
                .checked_mul(10)?
                .checked_add(u32::from(d - b'0'))?,
        );
    }
    n
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
    fn start_upload_job_and_reply() {
        let mut job = vec![0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 9];
        job.extend_from_slice(b"_0B00000A");
        let t = parse_transfer(1, &job, &[]).unwrap();
        assert_eq!(t.filename, Some(&b"_0B00000A"[..]));
        assert_eq!((t.status, t.session), (Some(0), Some(0)));
        let mut ack = vec![0x1d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 7];
        ack.extend_from_slice(b"0000216");
        let t = parse_transfer(3, &ack, &[]).unwrap();
        assert_eq!((t.session, t.block_len), (Some(7), Some(216)));
        // An Upload reply's block length is the data part's.
        let t = parse_transfer(3, &[0x1e, 0x00], &[0x00, 0xd8, 0x00, 0xfb]).unwrap();
        assert_eq!((t.status, t.block_len), (Some(0), Some(216)));
        assert!(parse_transfer(1, &[0x04, 1], &[]).is_none());
        assert_eq!(decimal(b"99999999999"), None);
    }

    #[test]
    fn pi_service_of_a_plc_control_job() {
        // A two-byte parameter block, then the service "P_PROGRAM".
        let mut p = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 2, b'C', b' ', 9];
        p.extend_from_slice(b"P_PROGRAM");
        assert_eq!(pi_service(&p), Some(&b"P_PROGRAM"[..]));
        assert_eq!(pi_service(&p[..15]), None);
    }

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
