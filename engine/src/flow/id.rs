//! Connection identity as Zeek logs it.

use osect_wire::Text;
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

pub fn fmt_mac(m: &Mac) -> Text {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = [b':'; 17];
    for (i, b) in m.iter().enumerate() {
        s[i * 3] = HEX[usize::from(b >> 4)];
        s[i * 3 + 1] = HEX[usize::from(b & 0xf)];
    }
    crate::text::ascii(&s)
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
