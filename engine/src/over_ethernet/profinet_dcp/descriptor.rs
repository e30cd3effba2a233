//! What PROFINET DCP is to the engine and the core.
//!
//! DCP Set changes a device's name or address (a write); Identify and Get
//! read; Hello announces.

use crate::asset::{IdentitySource, Role};
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{text_of, Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::Record;

pub const DEVICE: Role = Role::new("profinet_device");
pub const CONTROLLER: Role = Role::new("profinet_controller");

/// An Identify answer: below a read of the device, above announcements.
pub const IDENTITY: IdentitySource = IdentitySource::ranked("profinet_dcp", 3);

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "profinet_dcp",
        logs: &[LogInfo {
            schema: &super::PROFINET_DCP,
            fold: Fold::No,
            operation: Some(OperationSpec {
                key: &["service", "service_type"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Ethernet {
        decode: super::handle,
        ethertype: super::ETHERTYPE,
    },
    roles: &[DEVICE, CONTROLLER],
    identities: &[IDENTITY],
};

fn classify(rec: &Record) -> OpClass {
    match text_of(rec, "service").as_deref() {
        // Set changes a device's name or address.
        Some("set") => OpClass::write(),
        Some("get" | "identify") => OpClass::read(),
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    // profinet_dcp.log rows of the trafficgen profinet capture.
    #[test]
    fn services() {
        let s =
            |service: &str| classify(&row(&super::super::PROFINET_DCP, &[("service", service)]));
        assert_eq!(s("identify"), OpClass::read());
        assert_eq!(s("set"), OpClass::write());
        assert_eq!(s("hello").access, Some(Access::Other));
    }
}
