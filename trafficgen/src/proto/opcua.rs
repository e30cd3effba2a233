//! OPC UA binary (UA TCP) messages.

use super::le32;

fn ua_string(v: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            le32(v, u32::try_from(s.len()).unwrap_or(u32::MAX));
            v.extend_from_slice(s.as_bytes());
        }
        None => le32(v, u32::MAX),
    }
}

fn message(kind: &[u8; 3], body: &[u8]) -> Vec<u8> {
    let mut v = kind.to_vec();
    v.push(b'F');
    le32(&mut v, u32::try_from(body.len() + 8).unwrap_or(u32::MAX));
    v.extend_from_slice(body);
    v
}

/// Hello with the endpoint URL.
pub fn hello(url: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for x in [0u32, 65536, 65536, 0, 0] {
        le32(&mut b, x);
    }
    ua_string(&mut b, Some(url));
    message(b"HEL", &b)
}

/// Acknowledge.
pub fn ack() -> Vec<u8> {
    let mut b = Vec::new();
    for x in [0u32, 65536, 65536, 0, 0] {
        le32(&mut b, x);
    }
    message(b"ACK", &b)
}

/// OpenSecureChannel request (or response) with `policy` and `mode`
/// (1 None, 2 Sign, 3 SignAndEncrypt).
pub fn open(response: bool, channel: u32, policy: &str, mode: u32) -> Vec<u8> {
    let mut b = Vec::new();
    le32(&mut b, channel);
    ua_string(&mut b, Some(policy));
    ua_string(&mut b, None);
    ua_string(&mut b, None);
    le32(&mut b, 1);
    le32(&mut b, 1);
    // Type id: four-byte numeric node id, OpenSecureChannelRequest 446 or
    // Response 449 (binary encodings).
    b.extend_from_slice(&[0x01, 0]);
    b.extend_from_slice(&(if response { 449u16 } else { 446 }).to_le_bytes());
    // A request header starts with the (null) authentication token.
    if !response {
        b.extend_from_slice(&[0, 0]);
    }
    b.extend_from_slice(&0u64.to_le_bytes());
    le32(&mut b, 1);
    if response {
        le32(&mut b, 0);
        b.push(0);
        le32(&mut b, u32::MAX);
        b.extend_from_slice(&[0, 0, 0]);
        le32(&mut b, 0);
        le32(&mut b, channel);
        le32(&mut b, 1);
        b.extend_from_slice(&0u64.to_le_bytes());
        le32(&mut b, 3_600_000);
        ua_string(&mut b, Some(""));
    } else {
        le32(&mut b, 0);
        ua_string(&mut b, None);
        le32(&mut b, 10000);
        b.extend_from_slice(&[0, 0, 0]);
        le32(&mut b, 0);
        le32(&mut b, 0);
        le32(&mut b, mode);
        ua_string(&mut b, Some(""));
        le32(&mut b, 3_600_000);
    }
    message(b"OPN", &b)
}

/// A service message (`type_id` is the binary encoding node id).
pub fn msg(channel: u32, seq: u32, type_id: u16, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    le32(&mut b, channel);
    le32(&mut b, 1);
    le32(&mut b, seq);
    le32(&mut b, seq);
    b.extend_from_slice(&[0x01, 0]);
    b.extend_from_slice(&type_id.to_le_bytes());
    b.extend_from_slice(body);
    message(b"MSG", &b)
}

/// A ReadRequest body for attribute 13 (Value) of node ns=2;i=`node`.
pub fn read_request(node: u16) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&0u64.to_le_bytes());
    le32(&mut b, 7);
    le32(&mut b, 0);
    ua_string(&mut b, None);
    le32(&mut b, 10000);
    b.extend_from_slice(&[0, 0, 0]);
    b.extend_from_slice(&0f64.to_le_bytes());
    le32(&mut b, 2);
    le32(&mut b, 1);
    b.extend_from_slice(&[0x01, 0x02]);
    b.extend_from_slice(&node.to_le_bytes());
    le32(&mut b, 13);
    ua_string(&mut b, None);
    b.extend_from_slice(&[0, 0]);
    ua_string(&mut b, None);
    b
}

/// A ReadResponse body with one Double value.
pub fn read_response(value: f64) -> Vec<u8> {
    let mut b = 0u64.to_le_bytes().to_vec();
    le32(&mut b, 7);
    le32(&mut b, 0);
    b.push(0);
    le32(&mut b, u32::MAX);
    b.extend_from_slice(&[0, 0, 0]);
    le32(&mut b, 1);
    b.extend_from_slice(&[0x01, 11]);
    b.extend_from_slice(&value.to_le_bytes());
    le32(&mut b, u32::MAX);
    b
}

/// ReadRequest binary encoding id.
pub const READ_REQUEST: u16 = 631;
/// ReadResponse binary encoding id.
pub const READ_RESPONSE: u16 = 634;
