//! What HTTP is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "http",
        logs: &[
            LogInfo {
                schema: &super::HTTP_LOG,
                fold: Fold::No,
                operation: None,
            },
            // WebSocket starts only from an HTTP upgrade (Zeek's
            // `HTTP::upgrade_analyzers`), so HTTP's recogniser finds it.
            LogInfo {
                schema: &super::websocket::WEBSOCKET_LOG,
                fold: Fold::No,
                operation: None,
            },
        ],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 180,
        ports: &[(Transport::Tcp, 80)],
    },
    roles: &[],
    identities: &[],
};
