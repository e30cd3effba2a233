//! Connection identity as Zeek logs it.

use std::net::IpAddr;

/// The transport a connection runs over (`proto` in conn.log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
    /// Another IP protocol, by number.
    Other(u8),
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Other(_) => "unknown_transport",
        }
    }
}

/// The originator and responder endpoints. For ICMP the ports carry the
/// message type and code, as Zeek does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: Transport,
}

impl ConnId {
    /// Whether either endpoint uses `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.orig_p == port || self.resp_p == port
    }
}

/// A MAC address.
pub type Mac = [u8; 6];

pub fn fmt_mac(m: &Mac) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(17);
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

/// What the application parsers know about the connection they serve.
#[derive(Clone, Debug)]
pub struct FlowRef<'a> {
    pub uid: &'a str,
    pub id: &'a ConnId,
    pub orig_mac: Option<Mac>,
    pub resp_mac: Option<Mac>,
    pub vlan: Option<u16>,
}
