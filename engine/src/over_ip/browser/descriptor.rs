//! What the CIFS browser protocol is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "browser",
        logs: &[LogInfo {
            schema: &super::MSWIN_BROWSER_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 120,
        ports: &[(Transport::Udp, 138)],
    },
    roles: &[],
    identities: &[],
};
