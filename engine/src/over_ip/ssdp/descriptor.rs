//! What SSDP is to the engine and the core.

use crate::asset::IdentitySource;
use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

/// An SSDP `SERVER` header: free text, often naming only the UPnP stack, so the lowest rank.
pub const IDENTITY: IdentitySource = IdentitySource::ranked("ssdp", 0);

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "ssdp",
        logs: &[LogInfo {
            schema: &super::SSDP_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 220,
        ports: &[(Transport::Udp, 1900)],
    },
    roles: &[],
    identities: &[IDENTITY],
};
