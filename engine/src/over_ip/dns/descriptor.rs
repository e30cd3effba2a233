//! What DNS (and mDNS, LLMNR) is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "dns",
        logs: &[LogInfo {
            schema: &super::DNS_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 150,
        ports: &[(Transport::Udp, 53), (Transport::Tcp, 53)],
    },
    roles: &[],
    identities: &[],
};
