//! What DHCP is to the engine and the core.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

/// The device that answered with an address.
pub const SERVER: Role = Role::new("dhcp_server");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "dhcp",
        logs: &[LogInfo {
            schema: &super::DHCP_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 110,
        ports: &[(Transport::Udp, 67)],
    },
    roles: &[SERVER],
    identities: &[],
};
