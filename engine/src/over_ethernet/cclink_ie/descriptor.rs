//! What CC-Link IE (Control, Field, TSN) is to the engine and the core.
//!
//! Its rows count cyclic frames (they have their own `count`): nothing is
//! folded and no PDU is classed as a read or a write.

use crate::asset::Role;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::Record;

pub const MASTER: Role = Role::new("cclink_master");
pub const SLAVE: Role = Role::new("cclink_slave");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "cclink_ie",
        logs: &[LogInfo {
            schema: &super::CCLINK_IE,
            fold: Fold::No,
            operation: Some(OperationSpec {
                key: &["service"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Ethernet {
        decode: super::handle,
        ethertype: super::ETHERTYPE,
    },
    roles: &[MASTER, SLAVE],
    identities: &[],
};

/// Cyclic data exchange: the rows say which PDU, not what it changes.
fn classify(_: &Record) -> OpClass {
    other()
}
