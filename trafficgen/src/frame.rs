//! Ethernet, 802.1Q, IPv4, TCP, UDP and ARP frames with valid checksums.

use std::net::Ipv4Addr;

pub type Mac = [u8; 6];

pub const BROADCAST: Mac = [0xff; 6];

/// One end of a conversation: MAC, address and VLAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub mac: Mac,
    pub ip: Ipv4Addr,
}

/// Ethernet header, with an 802.1Q tag when `vlan` is set, then `payload`.
pub fn ethernet(dst: Mac, src: Mac, vlan: Option<u16>, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(v) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&(v & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    // Ethernet pads to its 60-byte minimum.
    while f.len() < 60 {
        f.push(0);
    }
    f
}

/// The Internet checksum of `data` starting from `sum`.
pub fn checksum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 header (no options, don't-fragment) around `payload`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ident: u16, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&ident.to_be_bytes());
    h.extend_from_slice(&0x4000u16.to_be_bytes());
    h.push(64);
    h.push(proto);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h, 0);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn pseudo_sum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    [
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(proto),
        u16::try_from(len).unwrap_or(u16::MAX),
    ]
    .iter()
    .map(|&w| u32::from(w))
    .sum()
}

/// TCP flag bits.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// A TCP segment (20-byte header, or 24 with an MSS option on SYN).
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    fl: u8,
    payload: &[u8],
) -> Vec<u8> {
    let syn = fl & flags::SYN != 0;
    let hlen = if syn { 24 } else { 20 };
    let mut t = Vec::with_capacity(hlen + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(((hlen / 4) as u8) << 4);
    t.push(fl);
    t.extend_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    if syn {
        t.extend_from_slice(&[2, 4, 0x05, 0xb4]);
    }
    t.extend_from_slice(payload);
    let c = checksum(&t, pseudo_sum(src, dst, 6, t.len()));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// A UDP datagram.
pub fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut c = checksum(&u, pseudo_sum(src, dst, 17, len));
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// A whole Ethernet/IPv4/UDP frame.
#[allow(clippy::too_many_arguments)]
pub fn udp_frame(
    src: &Host,
    dst: &Host,
    dst_mac: Mac,
    vlan: Option<u16>,
    sport: u16,
    dport: u16,
    ident: u16,
    payload: &[u8],
) -> Vec<u8> {
    let u = udp(src.ip, dst.ip, sport, dport, payload);
    ethernet(
        dst_mac,
        src.mac,
        vlan,
        0x0800,
        &ipv4(src.ip, dst.ip, 17, ident, &u),
    )
}

/// An ARP request (`reply == false`) or reply.
pub fn arp(sender: &Host, target: &Host, reply: bool, vlan: Option<u16>) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, if reply { 2 } else { 1 }];
    a.extend_from_slice(&sender.mac);
    a.extend_from_slice(&sender.ip.octets());
    a.extend_from_slice(if reply { &target.mac } else { &[0; 6] });
    a.extend_from_slice(&target.ip.octets());
    let dst = if reply { target.mac } else { BROADCAST };
    ethernet(dst, sender.mac, vlan, 0x0806, &a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify_to_zero() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let ip = ipv4(src, dst, 6, 7, &[]);
        assert_eq!(checksum(&ip[..20], 0), 0);
        let seg = tcp(src, dst, 1000, 502, 1, 2, flags::ACK | flags::PSH, b"odd");
        assert_eq!(checksum(&seg, pseudo_sum(src, dst, 6, seg.len())), 0);
        let d = udp(src, dst, 1000, 47808, b"bacnet");
        assert_eq!(checksum(&d, pseudo_sum(src, dst, 17, d.len())), 0);
    }
}
