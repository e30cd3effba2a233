//! What IEC 61850 GOOSE is to the engine and the core.
//!
//! A GOOSE message publishes a data set's values to every subscriber: an
//! unsolicited report, neither a read nor a write of the publisher.

use crate::asset::Role;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::Record;

pub const PUBLISHER: Role = Role::new("goose_publisher");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "goose",
        logs: &[LogInfo {
            schema: &super::GOOSE,
            fold: false,
            operation: Some(OperationSpec {
                key: &["gocb_ref", "dat_set"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Ethernet(super::handle),
    roles: &[PUBLISHER],
};

fn classify(_: &Record) -> OpClass {
    other()
}
