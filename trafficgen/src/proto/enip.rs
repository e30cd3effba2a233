//! EtherNet/IP encapsulation and CIP.

use super::{le16, le32};
use std::net::Ipv4Addr;

pub const LIST_IDENTITY: u16 = 0x63;
pub const REGISTER_SESSION: u16 = 0x65;
pub const SEND_RR_DATA: u16 = 0x6f;

/// Encapsulation header (24 bytes, little-endian) and data.
pub fn encap(command: u16, session: u32, context: u64, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + data.len());
    le16(&mut v, command);
    le16(&mut v, u16::try_from(data.len()).unwrap_or(u16::MAX));
    le32(&mut v, session);
    le32(&mut v, 0);
    v.extend_from_slice(&context.to_le_bytes());
    le32(&mut v, 0);
    v.extend_from_slice(data);
    v
}

/// RegisterSession data: protocol version 1, no options.
pub fn register_session_data() -> Vec<u8> {
    vec![1, 0, 0, 0]
}

/// A device's identity as CIP reports it.
pub struct Identity<'a> {
    pub vendor: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision: (u8, u8),
    pub status: u16,
    pub serial: u32,
    pub name: &'a str,
}

/// ListIdentity reply data: one CIP Identity item (0x0c).
pub fn list_identity_reply(ip: Ipv4Addr, id: &Identity<'_>) -> Vec<u8> {
    let mut item = Vec::new();
    le16(&mut item, 1);
    item.extend_from_slice(&2u16.to_be_bytes());
    item.extend_from_slice(&44818u16.to_be_bytes());
    item.extend_from_slice(&ip.octets());
    item.extend_from_slice(&[0; 8]);
    identity_attrs(&mut item, id);
    item.push(3);
    let mut v = Vec::new();
    le16(&mut v, 1);
    le16(&mut v, 0x0c);
    le16(&mut v, u16::try_from(item.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(&item);
    v
}

fn identity_attrs(v: &mut Vec<u8>, id: &Identity<'_>) {
    le16(v, id.vendor);
    le16(v, id.device_type);
    le16(v, id.product_code);
    v.extend_from_slice(&[id.revision.0, id.revision.1]);
    le16(v, id.status);
    le32(v, id.serial);
    v.push(u8::try_from(id.name.len()).unwrap_or(u8::MAX));
    v.extend_from_slice(id.name.as_bytes());
}

/// CIP request: service, 8-bit logical path to class/instance[/attribute].
pub fn cip_request(
    service: u8,
    class: u8,
    instance: u8,
    attribute: Option<u8>,
    data: &[u8],
) -> Vec<u8> {
    let mut path = vec![0x20, class, 0x24, instance];
    if let Some(a) = attribute {
        path.extend_from_slice(&[0x30, a]);
    }
    let mut v = vec![service, u8::try_from(path.len() / 2).unwrap_or(u8::MAX)];
    v.extend_from_slice(&path);
    v.extend_from_slice(data);
    v
}

/// CIP response: service | 0x80, general status, no extended status.
pub fn cip_response(service: u8, status: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![service | 0x80, 0, status, 0];
    v.extend_from_slice(data);
    v
}

/// Get_Attribute_All reply data of the Identity object.
pub fn identity_get_all(id: &Identity<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    identity_attrs(&mut v, id);
    v
}

/// SendRRData data: interface handle, timeout, null address item and an
/// unconnected data item with `cip`.
pub fn send_rr_data(cip: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    le32(&mut v, 0);
    le16(&mut v, 10);
    le16(&mut v, 2);
    le16(&mut v, 0);
    le16(&mut v, 0);
    le16(&mut v, 0xb2);
    le16(&mut v, u16::try_from(cip.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(cip);
    v
}
