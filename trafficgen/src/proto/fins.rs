//! Omron FINS commands and responses (UDP 9600, and FINS/TCP framing).

/// FINS header and command: ICF 0x80 (command, response required) or 0xc0
/// (response), network/node/unit addresses and service id.
pub fn frame(
    response: bool,
    dst_node: u8,
    src_node: u8,
    sid: u8,
    mrc: u8,
    src: u8,
    body: &[u8],
) -> Vec<u8> {
    let icf = if response { 0xc0 } else { 0x80 };
    let mut v = vec![icf, 0, 2, 0, dst_node, 0, 0, src_node, 0, sid, mrc, src];
    v.extend_from_slice(body);
    v
}

/// Memory area read body: area, word address, bit, count.
pub fn area(area: u8, address: u16, count: u16) -> Vec<u8> {
    let mut v = vec![area];
    v.extend_from_slice(&address.to_be_bytes());
    v.push(0);
    v.extend_from_slice(&count.to_be_bytes());
    v
}

/// Response body: end code then data.
pub fn response_body(end_code: u16, data: &[u8]) -> Vec<u8> {
    let mut v = end_code.to_be_bytes().to_vec();
    v.extend_from_slice(data);
    v
}

/// Controller data read reply: 20-byte model, 20-byte version, 40 bytes
/// for system use and 12 bytes of area data (left zero).
pub fn controller_data(model: &str, version: &str) -> Vec<u8> {
    let mut v = model.as_bytes().to_vec();
    v.resize(20, b' ');
    let mut ver = version.as_bytes().to_vec();
    ver.resize(20, b' ');
    v.extend_from_slice(&ver);
    v.resize(92, 0);
    v
}

/// FINS/TCP frame: "FINS", length, command, error code, payload.
pub fn tcp(command: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = b"FINS".to_vec();
    v.extend_from_slice(
        &u32::try_from(8 + payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    v.extend_from_slice(&command.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// DM area, word access.
pub const AREA_DM: u8 = 0x82;
