//! CC-Link IE Field Basic cyclic frames (UDP 61450), laid out as the
//! specification's cyclic data request and response: an SLMP 3E frame with
//! command 0x0e70, then the master's or slave's station information and the
//! cyclic link data.

use super::le16;
use std::net::Ipv4Addr;

fn frame(response: bool, body: &[u8]) -> Vec<u8> {
    let mut v = vec![
        if response { 0xd0 } else { 0x50 },
        0x00,
        0x00,
        0xff,
        0xff,
        0x03,
        0x00,
    ];
    le16(&mut v, u16::try_from(body.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(body);
    v
}

fn ip_le(v: &mut Vec<u8>, ip: Ipv4Addr) {
    let o = ip.octets();
    v.extend_from_slice(&[o[3], o[2], o[1], o[0]]);
}

/// The master's cyclic data request to `slaves`, with 64 bytes of RY/RWw.
pub fn request(master: Ipv4Addr, sequence: u16, slaves: &[Ipv4Addr]) -> Vec<u8> {
    let mut b = Vec::new();
    le16(&mut b, 0x0000); // monitoring timer
    le16(&mut b, 0x0e70); // command: cyclic data
    le16(&mut b, 0x0000); // subcommand
    let mut d = Vec::new();
    le16(&mut d, 1); // protocol version
    le16(&mut d, 0);
    le16(&mut d, 0x24); // offset of the cyclic data header
    d.resize(32, 0);
    ip_le(&mut d, master);
    le16(&mut d, 1); // group
    le16(&mut d, sequence);
    le16(&mut d, 500); // timeout, ms
    le16(&mut d, 3); // parallel off timeout count
    le16(&mut d, 0x0b); // parameter id
    le16(&mut d, u16::try_from(slaves.len()).unwrap_or(u16::MAX));
    le16(&mut d, 0); // cyclic transmission state
    le16(&mut d, 0);
    for s in slaves {
        ip_le(&mut d, *s);
    }
    d.resize(d.len() + 64, 0);
    b.extend_from_slice(&d);
    frame(false, &b)
}

/// A slave's cyclic data response, with 48 bytes of RX/RWr.
pub fn response(slave: Ipv4Addr, sequence: u16) -> Vec<u8> {
    let mut b = Vec::new();
    le16(&mut b, 0x0000); // end code
    let mut d = Vec::new();
    le16(&mut d, 1); // protocol version
    le16(&mut d, 0);
    le16(&mut d, 0x28);
    d.resize(40, 0);
    ip_le(&mut d, slave);
    le16(&mut d, 1); // group
    le16(&mut d, sequence);
    d.resize(d.len() + 48, 0);
    b.extend_from_slice(&d);
    frame(true, &b)
}
