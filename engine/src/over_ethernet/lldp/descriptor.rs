//! What LLDP and CDP are to the engine and the core.

use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "lldp",
        logs: &[LogInfo {
            schema: &super::LLDP_LOG,
            fold: Fold::No,
            operation: None,
        }],
        industrial: false,
    },
    recognition: Recognition::Ethernet(super::handle),
    roles: &[],
};
