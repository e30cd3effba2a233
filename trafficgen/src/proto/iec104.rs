//! IEC 60870-5-104 APDUs.

/// U-format APDU: STARTDT act 0x07 / con 0x0b, STOPDT 0x13 / 0x23,
/// TESTFR 0x43 / 0x83.
pub fn u_frame(function: u8) -> Vec<u8> {
    vec![0x68, 4, function | 0x03, 0, 0, 0]
}

/// S-format APDU acknowledging up to `rx`.
pub fn s_frame(rx: u16) -> Vec<u8> {
    let r = (rx << 1).to_le_bytes();
    vec![0x68, 4, 0x01, 0, r[0], r[1]]
}

/// I-format APDU with an ASDU of one information object.
pub fn i_frame(
    tx: u16,
    rx: u16,
    type_id: u8,
    cot: u8,
    ca: u16,
    ioa: u32,
    element: &[u8],
) -> Vec<u8> {
    let mut asdu = vec![type_id, 1, cot, 0];
    asdu.extend_from_slice(&ca.to_le_bytes());
    asdu.extend_from_slice(&ioa.to_le_bytes()[..3]);
    asdu.extend_from_slice(element);
    let mut v = vec![0x68, u8::try_from(4 + asdu.len()).unwrap_or(u8::MAX)];
    v.extend_from_slice(&(tx << 1).to_le_bytes());
    v.extend_from_slice(&(rx << 1).to_le_bytes());
    v.extend_from_slice(&asdu);
    v
}

/// Interrogation command C_IC_NA_1 (type 100), station interrogation.
pub const C_IC_NA_1: u8 = 100;
/// Measured value, short float (type 13).
pub const M_ME_NC_1: u8 = 13;
/// Single command (type 45).
pub const C_SC_NA_1: u8 = 45;
