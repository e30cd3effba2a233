//! What DHCPv6 is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "dhcpv6",
        logs: &[LogInfo {
            schema: &super::DHCPV6_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 130,
        ports: &[(Transport::Udp, 547)],
    },
    roles: &[],
    identities: &[],
};
