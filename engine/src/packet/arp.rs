//! ARP for IPv4 over Ethernet (RFC 826).

use super::{be16, byte, mac, Error, Result};
use crate::flow::id::Mac;
use std::net::Ipv4Addr;

pub const REQUEST: u16 = 1;
pub const REPLY: u16 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl Arp {
    pub fn parse(b: &[u8]) -> Result<Arp> {
        if be16(b, 0)? != 1 || be16(b, 2)? != 0x0800 || byte(b, 4)? != 6 || byte(b, 5)? != 4 {
            return Err(Error::malformed("ARP hardware or protocol type", 0));
        }
        let ip = |at: usize| -> Result<Ipv4Addr> {
            let s = b.get(at..at + 4).ok_or(Error::Truncated)?;
            Ok(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
        };
        Ok(Arp {
            op: be16(b, 6)?,
            sender_mac: mac(b, 8)?,
            sender_ip: ip(14)?,
            target_mac: mac(b, 18)?,
            target_ip: ip(24)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_has() {
        let b = [
            0x00, 0x01, // Ethernet
            0x08, 0x00, // IPv4
            6, 4, // address lengths
            0x00, 0x01, // request
            0, 1, 2, 3, 4, 5, // sender MAC
            10, 0, 0, 1, // sender IP
            0, 0, 0, 0, 0, 0, // target MAC
            10, 0, 0, 2, // target IP
        ];
        let a = Arp::parse(&b).unwrap();
        assert_eq!(a.op, REQUEST);
        assert_eq!(a.target_ip, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(Arp::parse(&b[..20]).err(), Some(Error::Truncated));
    }
}
