//! S7comm over COTP over TPKT (RFC 1006), S7comm-plus framing.

use super::be16;

/// TPKT header around `payload`.
pub fn tpkt(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![3, 0];
    be16(&mut v, u16::try_from(payload.len() + 4).unwrap_or(u16::MAX));
    v.extend_from_slice(payload);
    v
}

/// COTP connection request (`confirm == false`) or confirm with TSAPs.
pub fn cotp_connect(confirm: bool, src_tsap: u16, dst_tsap: u16) -> Vec<u8> {
    let mut v = vec![0, if confirm { 0xd0 } else { 0xe0 }, 0, 1, 0, 2, 0];
    v.extend_from_slice(&[0xc0, 1, 0x0a, 0xc1, 2]);
    be16(&mut v, src_tsap);
    v.extend_from_slice(&[0xc2, 2]);
    be16(&mut v, dst_tsap);
    v[0] = u8::try_from(v.len() - 1).unwrap_or(u8::MAX);
    tpkt(&v)
}

/// COTP data TPDU (last unit) carrying an S7 PDU.
pub fn cotp_data(s7: &[u8]) -> Vec<u8> {
    cotp_data_segmented(s7, s7.len())
}

/// COTP data TPDUs carrying `message` in pieces of at most `max` bytes,
/// the end-of-TSDU mark set on the last only (ISO 8073 segmenting, as a
/// PDU longer than the negotiated TPDU size is sent).
pub fn cotp_data_segmented(message: &[u8], max: usize) -> Vec<u8> {
    let pieces: Vec<&[u8]> = if message.is_empty() {
        vec![message]
    } else {
        message.chunks(max.max(1)).collect()
    };
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .flat_map(|(i, piece)| {
            let eot = if i == last { 0x80 } else { 0 };
            tpkt(&[&[2, 0xf0, eot][..], piece].concat())
        })
        .collect()
}

/// S7comm PDU: ROSCTR, reference, parameter and data; ack-data carries an
/// error class and code.
pub fn pdu(
    rosctr: u8,
    pdu_ref: u16,
    param: &[u8],
    data: &[u8],
    error: Option<(u8, u8)>,
) -> Vec<u8> {
    let mut v = vec![0x32, rosctr, 0, 0];
    be16(&mut v, pdu_ref);
    be16(&mut v, u16::try_from(param.len()).unwrap_or(u16::MAX));
    be16(&mut v, u16::try_from(data.len()).unwrap_or(u16::MAX));
    if matches!(rosctr, 2 | 3) {
        let (c, e) = error.unwrap_or((0, 0));
        v.extend_from_slice(&[c, e]);
    }
    v.extend_from_slice(param);
    v.extend_from_slice(data);
    v
}

/// Setup communication parameter (function 0xf0), PDU size 960.
pub fn setup_param() -> Vec<u8> {
    vec![0xf0, 0, 0, 1, 0, 1, 0x03, 0xc0]
}

/// Read Var parameter for `len` bytes of data block `db` at byte `start`.
pub fn read_var_param(db: u16, start: u32, len: u16) -> Vec<u8> {
    let mut v = vec![0x04, 1, 0x12, 0x0a, 0x10, 0x02];
    be16(&mut v, len);
    be16(&mut v, db);
    v.push(0x84);
    let bits = start * 8;
    v.extend_from_slice(&bits.to_be_bytes()[1..]);
    v
}

/// Read Var response data item.
pub fn read_var_data(bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff, 0x04];
    be16(&mut v, u16::try_from(bytes.len() * 8).unwrap_or(u16::MAX));
    v.extend_from_slice(bytes);
    v
}

/// PLC stop (function 0x29) parameter.
pub fn plc_stop_param() -> Vec<u8> {
    let mut v = vec![0x29, 0, 0, 0, 0, 0, 9];
    v.extend_from_slice(b"P_PROGRAM");
    v
}

/// User-data request parameter for reading SZL (group 4, subfunction 1).
pub fn szl_request_param() -> Vec<u8> {
    vec![0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00]
}

/// User-data request data asking for SZL `id` at `index`.
pub fn szl_request_data(id: u16, index: u16) -> Vec<u8> {
    let mut v = vec![0xff, 0x09, 0, 4];
    be16(&mut v, id);
    be16(&mut v, index);
    v
}

/// User-data response parameter for an SZL read.
pub fn szl_response_param() -> Vec<u8> {
    vec![0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x01, 0, 0, 0, 0]
}

/// User-data response data: SZL `id`/`index` with records of equal length.
pub fn szl_response_data(id: u16, index: u16, records: &[Vec<u8>]) -> Vec<u8> {
    let rec_len = records.first().map_or(0, Vec::len);
    let mut body = Vec::new();
    be16(&mut body, id);
    be16(&mut body, index);
    be16(&mut body, u16::try_from(rec_len).unwrap_or(u16::MAX));
    be16(&mut body, u16::try_from(records.len()).unwrap_or(u16::MAX));
    for r in records {
        body.extend_from_slice(r);
    }
    let mut v = vec![0xff, 0x09];
    be16(&mut v, u16::try_from(body.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(&body);
    v
}

/// SZL 0x0011 record: index, 20-character order number, type and versions.
pub fn szl_0011_record(index: u16, order: &str, version: [u8; 3]) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, index);
    let mut name = order.as_bytes().to_vec();
    name.resize(20, b' ');
    v.extend_from_slice(&name);
    be16(&mut v, 0);
    v.extend_from_slice(&[b'V', version[0], version[1], version[2]]);
    v
}

/// SZL 0x001c record: index and a 32-byte text (name, serial, ...).
pub fn szl_001c_record(index: u16, text: &str) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, index);
    let mut t = text.as_bytes().to_vec();
    t.resize(32, 0);
    v.extend_from_slice(&t);
    v
}

/// S7comm-plus frame (protocol id 0x72, version, length, body, trailer).
pub fn plus_frame(version: u8, opcode: u8, function: u16, seq: u16) -> Vec<u8> {
    let mut body = vec![opcode, 0, 0];
    be16(&mut body, function);
    be16(&mut body, 0);
    be16(&mut body, seq);
    body.extend_from_slice(&[0, 0, 0, 0, 0]);
    let mut v = vec![0x72, version];
    be16(&mut v, u16::try_from(body.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(&body);
    v.extend_from_slice(&[0x72, version, 0, 0]);
    v
}

/// Job parameter of a block transfer step (functions 0x1a to 0x1f):
/// function, status, two reserved bytes, upload id, then for the steps
/// that name the block its file name (`_0800001P`); Request Download adds
/// the load memory and MC7 code lengths as decimal text.
pub fn transfer_job_param(function: u8, session: u32, filename: Option<&str>) -> Vec<u8> {
    let mut v = vec![function, 0, 0, 0];
    v.extend_from_slice(&session.to_be_bytes());
    if let Some(name) = filename {
        v.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        v.extend_from_slice(name.as_bytes());
        if function == 0x1a {
            v.push(13);
            v.extend_from_slice(b"1000256000128");
        }
    }
    v
}

/// ACK-Data parameter of Start Upload: status, upload id and the block's
/// length as seven decimal digits.
pub fn start_upload_ack_param(session: u32, block_len: u32) -> Vec<u8> {
    let mut v = vec![0x1d, 0, 1, 0];
    v.extend_from_slice(&session.to_be_bytes());
    let len = format!("{block_len:07}");
    v.push(u8::try_from(len.len()).unwrap_or(u8::MAX));
    v.extend_from_slice(len.as_bytes());
    v
}

/// Data part of an Upload or Download Block reply: length, two fixed
/// bytes (0x00fb), the block's bytes.
pub fn block_data(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, u16::try_from(bytes.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(&[0x00, 0xfb]);
    v.extend_from_slice(bytes);
    v
}

/// PLC Control job parameter (function 0x28): seven reserved bytes, the
/// parameter block behind its length, the PI service name behind its own.
pub fn plc_control_param(block: &[u8], service: &str) -> Vec<u8> {
    let mut v = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd];
    be16(&mut v, u16::try_from(block.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(block);
    v.push(u8::try_from(service.len()).unwrap_or(u8::MAX));
    v.extend_from_slice(service.as_bytes());
    v
}
