//! What NetBIOS name service is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "nbns",
        logs: &[LogInfo {
            schema: &super::NETBIOS_NS_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 140,
        ports: &[(Transport::Udp, 137)],
    },
    roles: &[],
    identities: &[],
};
