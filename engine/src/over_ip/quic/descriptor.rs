//! What QUIC is to the engine and the core: `quic.log`, and its TLS
//! handshake in `tls.log` (a log of the TLS descriptor's).

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "quic",
        logs: &[LogInfo {
            schema: &super::QUIC_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 200,
        ports: &[(Transport::Udp, 443)],
    },
    roles: &[],
    identities: &[],
};
