//! What LLDP and CDP are to the engine and the core.

use crate::asset::IdentitySource;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, ProtocolInfo};

/// An LLDP system description, announced unasked.
pub const LLDP: IdentitySource = IdentitySource::ranked("lldp", 2);
/// A CDP software version, announced unasked: below LLDP's description.
pub const CDP: IdentitySource = IdentitySource::ranked("cdp", 1);

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
    recognition: Recognition::Ethernet {
        decode: super::handle,
        ethertype: super::ETHERTYPE_LLDP,
    },
    roles: &[],
    identities: &[LLDP, CDP],
};
