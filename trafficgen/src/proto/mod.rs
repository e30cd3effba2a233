//! Message builders, one module per protocol, from the specifications.
//! Each function returns the bytes one side puts on the wire.

pub mod bacnet;
pub mod cclink;
pub mod dnp3;
pub mod enip;
pub mod fins;
pub mod ftp;
pub mod iec104;
pub mod iec61850;
pub mod it;
pub mod modbus;
pub mod mqtt;
pub mod opcua;
pub mod profinet;
pub mod quic;
pub mod s7;
pub mod sip;
pub mod slmp;
pub mod smtp;
pub mod syslog;
pub mod tls;
pub mod websocket;

/// Appends a big-endian u16.
pub(crate) fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}
/// Appends a little-endian u16.
pub(crate) fn le16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
/// Appends a little-endian u32.
pub(crate) fn le32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
