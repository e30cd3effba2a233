//! The ISO transport on TCP: TPKT framing (RFC 1006) and COTP TPDUs
//! (ISO 8073), shared by the protocols that run on it (S7comm and
//! S7comm-plus; IEC 61850 MMS and ICCP use the same transport). Pure
//! functions over byte slices. The transport is no protocol of the
//! registry: the protocol on top recognises a connection and writes its
//! `cotp` rows.

use crate::bytes::{be16, Error};
use crate::flow::id::Transport;

/// Length of the TPKT frame at the start of `b`.
pub fn tpkt_len(b: &[u8]) -> Result<usize, Error> {
    match b {
        [3, 0, ..] => {}
        [] | [3] => return Err(Error::Truncated),
        _ => return Err(Error::malformed("TPKT version", 0)),
    }
    let len = usize::from(be16(b, 2).ok_or(Error::Truncated)?);
    if len < 7 {
        return Err(Error::malformed("TPKT length", 2));
    }
    if b.len() < len {
        // The COTP TPDU code is checked as soon as it is visible.
        if b.len() >= 6 && !cotp_code(b[5] >> 4) {
            return Err(Error::malformed("COTP TPDU code", 5));
        }
        return Err(Error::Truncated);
    }
    cotp(&b[4..len]).ok_or(Error::malformed("COTP TPDU", 4))?;
    Ok(len)
}

/// The COTP TPDU of the whole TPKT frame at the start of a TCP payload:
/// what the protocols on the transport recognise a connection by.
pub fn first_tpdu(t: Transport, data: &[u8]) -> Option<Cotp<'_>> {
    if t != Transport::Tcp {
        return None;
    }
    let n = tpkt_len(data).ok()?;
    cotp(&data[4..n])
}

/// A COTP TPDU: its code (high nibble of the type byte), TSAPs of a
/// connect TPDU, and the user data of a data TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cotp<'a> {
    pub code: u8,
    pub src_tsap: Option<u16>,
    pub dst_tsap: Option<u16>,
    pub data: &'a [u8],
}

/// Whether `code` is a TPDU code of ISO 8073.
fn cotp_code(code: u8) -> bool {
    matches!(
        code,
        0x1 | 0x2 | 0x5 | 0x6 | 0x7 | 0x8 | 0xc | 0xd | 0xe | 0xf
    )
}

/// The COTP TPDU at the start of `b` (a TPKT frame's payload).
pub fn cotp(b: &[u8]) -> Option<Cotp<'_>> {
    let li = usize::from(*b.first()?);
    let kind = *b.get(1)?;
    let code = kind >> 4;
    if !cotp_code(code) || li < 1 {
        return None;
    }
    let header = b.get(1..1 + li)?;
    let mut c = Cotp {
        code,
        src_tsap: None,
        dst_tsap: None,
        data: b.get(1 + li..)?,
    };
    if matches!(code, 0xe | 0xd) {
        // CR/CC: dst ref, src ref, class, then parameters.
        let mut at = 6;
        while let (Some(&p), Some(&n)) = (header.get(at), header.get(at + 1)) {
            let v = header.get(at + 2..at + 2 + usize::from(n))?;
            let tsap = (v.len() == 2).then(|| u16::from_be_bytes([v[0], v[1]]));
            match p {
                0xc1 => c.src_tsap = tsap,
                0xc2 => c.dst_tsap = tsap,
                _ => {}
            }
            at += 2 + usize::from(n);
        }
    }
    Some(c)
}

pub fn tpdu_name(code: u8) -> &'static str {
    match code {
        0x1 => "ED Expedited Data",
        0x2 => "EA Expedited Data Acknowledgement",
        0x5 => "RJ Reject",
        0x6 => "AK Data Acknowledgement",
        0x7 => "ER TPDU Error",
        0x8 => "DR Disconnect Request",
        0xc => "DC Disconnect Confirm",
        0xd => "CC Connection Confirm",
        0xe => "CR Connection Request",
        0xf => "DT Data",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request_tsaps() {
        let cr = [
            3, 0, 0, 22,   // TPKT: version, reserved, length
            17,   // COTP length indicator
            0xe0, // CR
            0, 0, 0, 1, 0, // dst ref, src ref, class
            0xc0, 1, 0x0a, // TPDU size
            0xc1, 2, 0x01, 0x00, // src TSAP
            0xc2, 2, 0x01, 0x02, // dst TSAP
        ];
        assert_eq!(tpkt_len(&cr), Ok(22));
        let c = cotp(&cr[4..]).unwrap();
        assert_eq!(
            (c.code, c.src_tsap, c.dst_tsap),
            (0xe, Some(0x0100), Some(0x0102))
        );
        assert_eq!(tpkt_len(&cr[..10]), Err(Error::Truncated));
        assert_eq!(
            tpkt_len(&[3, 0, 0, 3]),
            Err(Error::malformed("TPKT length", 2))
        );
    }
}
