//! What CC-Link IE Field Basic is to the engine and the core.
//!
//! Its rows count cyclic frames (they have their own `count`): nothing is
//! folded and no PDU is classed as a read or a write.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::Record;

pub const MASTER: Role = Role::new("cclink_master");
pub const SLAVE: Role = Role::new("cclink_slave");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "cclink_ief_basic",
        logs: &[LogInfo {
            schema: &super::CCLINK_IEF_BASIC,
            fold: Fold::No,
            operation: Some(OperationSpec {
                key: &["pdu_type"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 30,
        ports: &[(Transport::Udp, 61450)],
    },
    roles: &[MASTER, SLAVE],
    identities: &[],
};

/// Cyclic data exchange: the rows say which PDU, not what it changes.
fn classify(_: &Record) -> OpClass {
    other()
}
