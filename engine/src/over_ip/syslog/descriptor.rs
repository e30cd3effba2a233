//! What syslog is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "syslog",
        logs: &[LogInfo {
            schema: &super::SYSLOG_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        // By port alone, so after every probe that reads content.
        precedence: 900,
        ports: &[(Transport::Udp, 514), (Transport::Tcp, 514)],
    },
    roles: &[],
    identities: &[],
};
