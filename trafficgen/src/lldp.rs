//! LLDP (IEEE 802.1AB) and CDP (Cisco Discovery Protocol) announcements
//! of a switch port, as a switch sends them every 30 or 60 seconds.

use crate::frame::{checksum, ethernet, Mac};
use std::net::Ipv4Addr;

/// LLDP's nearest-bridge multicast address and EtherType.
pub const LLDP_DST: Mac = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
pub const ETHERTYPE_LLDP: u16 = 0x88cc;
/// CDP's multicast address; CDP rides in 802.3 with LLC/SNAP.
pub const CDP_DST: Mac = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];

/// What a switch port says about itself.
pub struct Port<'a> {
    pub chassis_mac: Mac,
    pub port_id: &'a str,
    pub port_desc: &'a str,
    pub system_name: &'a str,
    pub system_desc: &'a str,
    /// LLDP capability bits (bridge 0x0004, router 0x0010).
    pub capabilities: u16,
    pub mgmt: Ipv4Addr,
    pub vlan: u16,
}

fn tlv(out: &mut Vec<u8>, ty: u8, value: &[u8]) {
    let len = u16::try_from(value.len()).unwrap_or(511).min(511);
    out.extend_from_slice(&((u16::from(ty) << 9) | len).to_be_bytes());
    out.extend_from_slice(&value[..usize::from(len)]);
}

/// An LLDPDU from `src`.
pub fn lldp(src: Mac, p: &Port<'_>) -> Vec<u8> {
    let mut d = Vec::new();
    tlv(&mut d, 1, &[&[4u8][..], &p.chassis_mac].concat()); // chassis: MAC
    tlv(&mut d, 2, &[&[5u8][..], p.port_id.as_bytes()].concat()); // port: interface name
    tlv(&mut d, 3, &120u16.to_be_bytes()); // TTL
    tlv(&mut d, 4, p.port_desc.as_bytes());
    tlv(&mut d, 5, p.system_name.as_bytes());
    tlv(&mut d, 6, p.system_desc.as_bytes());
    tlv(
        &mut d,
        7,
        &[p.capabilities.to_be_bytes(), p.capabilities.to_be_bytes()].concat(),
    );
    let mut m = vec![5, 1]; // address length (subtype + IPv4), IPv4
    m.extend_from_slice(&p.mgmt.octets());
    m.extend_from_slice(&[2, 0, 0, 0, 1, 0]); // ifIndex 1, no OID
    tlv(&mut d, 8, &m);
    let mut v = vec![0x00, 0x80, 0xc2, 0x01]; // IEEE 802.1: port VLAN id
    v.extend_from_slice(&p.vlan.to_be_bytes());
    tlv(&mut d, 127, &v);
    tlv(&mut d, 0, &[]);
    ethernet(LLDP_DST, src, None, ETHERTYPE_LLDP, &d)
}

fn cdp_tlv(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(
        &u16::try_from(value.len() + 4)
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(value);
}

/// A CDPv2 announcement from `src`.
pub fn cdp(src: Mac, p: &Port<'_>) -> Vec<u8> {
    let mut c = vec![2, 180, 0, 0]; // version 2, hold time 180 s, checksum
    cdp_tlv(&mut c, 0x0001, p.system_name.as_bytes()); // device ID
    let mut a = 1u32.to_be_bytes().to_vec(); // one address
    a.extend_from_slice(&[1, 1, 0xcc, 0, 4]); // NLPID, length 1, IP, length 4
    a.extend_from_slice(&p.mgmt.octets());
    cdp_tlv(&mut c, 0x0002, &a);
    cdp_tlv(&mut c, 0x0003, p.port_id.as_bytes()); // port ID
    cdp_tlv(&mut c, 0x0004, &0x29u32.to_be_bytes()); // router, switch, IGMP
    cdp_tlv(&mut c, 0x0005, p.system_desc.as_bytes()); // software version
    cdp_tlv(&mut c, 0x0006, b"cisco WS-C2960-24TT-L"); // platform
    cdp_tlv(&mut c, 0x000a, &p.vlan.to_be_bytes()); // native VLAN
    let sum = checksum(&c, 0);
    c[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut llc = vec![0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];
    llc.extend_from_slice(&c);
    ethernet(
        CDP_DST,
        src,
        None,
        u16::try_from(llc.len()).unwrap_or(0),
        &llc,
    )
}
