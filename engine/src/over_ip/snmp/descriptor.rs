//! What SNMP is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "snmp",
        logs: &[LogInfo {
            schema: &super::SNMP_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 210,
        ports: &[(Transport::Udp, 161)],
    },
    roles: &[],
    identities: &[],
};
