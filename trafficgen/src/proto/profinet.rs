//! PROFINET DCP (EtherType 0x8892) identify exchange.

/// DCP multicast address for Identify requests.
pub const DCP_MULTICAST: [u8; 6] = [0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00];

/// Identify-all request.
pub fn identify_request(xid: u32) -> Vec<u8> {
    let mut v = vec![0xfe, 0xfe, 0x05, 0x00];
    v.extend_from_slice(&xid.to_be_bytes());
    v.extend_from_slice(&[0x00, 0x80, 0x00, 0x04, 0xff, 0xff, 0x00, 0x00]);
    v
}

fn block(v: &mut Vec<u8>, option: u8, sub: u8, data: &[u8]) {
    v.extend_from_slice(&[option, sub]);
    v.extend_from_slice(
        &u16::try_from(data.len() + 2)
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
}

/// Identify response with station name, vendor text, vendor/device ids and
/// IP settings.
pub fn identify_response(
    xid: u32,
    station: &str,
    vendor_text: &str,
    ids: (u16, u16),
    ip: [[u8; 4]; 3],
) -> Vec<u8> {
    let mut blocks = Vec::new();
    block(&mut blocks, 2, 1, vendor_text.as_bytes());
    block(&mut blocks, 2, 2, station.as_bytes());
    let mut id = ids.0.to_be_bytes().to_vec();
    id.extend_from_slice(&ids.1.to_be_bytes());
    block(&mut blocks, 2, 3, &id);
    block(&mut blocks, 1, 2, &ip.concat());
    let mut v = vec![0xfe, 0xff, 0x05, 0x01];
    v.extend_from_slice(&xid.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(
        &u16::try_from(blocks.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    v.extend_from_slice(&blocks);
    v
}
