//! Mitsubishi SLMP (MC protocol) 3E and 4E binary frames.

use super::le16;

/// Request: 3E (`serial == None`) or 4E frame, own station, CPU module.
pub fn request(serial: Option<u16>, command: u16, subcommand: u16, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    match serial {
        None => v.extend_from_slice(&[0x50, 0x00]),
        Some(s) => {
            v.extend_from_slice(&[0x54, 0x00]);
            le16(&mut v, s);
            v.extend_from_slice(&[0, 0]);
        }
    }
    v.extend_from_slice(&[0x00, 0xff, 0xff, 0x03, 0x00]);
    le16(&mut v, u16::try_from(6 + data.len()).unwrap_or(u16::MAX));
    le16(&mut v, 0x0010);
    le16(&mut v, command);
    le16(&mut v, subcommand);
    v.extend_from_slice(data);
    v
}

/// Response with an end code (0 = normal) and data.
pub fn response(serial: Option<u16>, end_code: u16, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    match serial {
        None => v.extend_from_slice(&[0xd0, 0x00]),
        Some(s) => {
            v.extend_from_slice(&[0xd4, 0x00]);
            le16(&mut v, s);
            v.extend_from_slice(&[0, 0]);
        }
    }
    v.extend_from_slice(&[0x00, 0xff, 0xff, 0x03, 0x00]);
    le16(&mut v, u16::try_from(2 + data.len()).unwrap_or(u16::MAX));
    le16(&mut v, end_code);
    v.extend_from_slice(data);
    v
}

/// Device batch read/write data: head device (3 bytes), device code,
/// number of points.
pub fn device_range(head: u32, code: u8, points: u16) -> Vec<u8> {
    let mut v = head.to_le_bytes()[..3].to_vec();
    v.push(code);
    le16(&mut v, points);
    v
}

pub const BATCH_READ: u16 = 0x0401;
pub const BATCH_WRITE: u16 = 0x1401;
pub const REMOTE_RUN: u16 = 0x1001;
pub const REMOTE_STOP: u16 = 0x1002;
pub const READ_TYPE_NAME: u16 = 0x0101;
/// Device code of data registers (D).
pub const DEV_D: u8 = 0xa8;
/// Device code of internal relays (M).
pub const DEV_M: u8 = 0x90;

/// Read-type-name reply data: 16-character model and model code.
pub fn type_name(model: &str, code: u16) -> Vec<u8> {
    let mut v = model.as_bytes().to_vec();
    v.resize(16, b' ');
    le16(&mut v, code);
    v
}
