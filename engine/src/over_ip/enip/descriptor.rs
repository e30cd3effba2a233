//! What EtherNet/IP and CIP are to the engine and the core.
//!
//! CIP services: the Get_Attribute family and Read Data read; the
//! Set_Attribute family writes, Write Data writes tag memory; Reset (0x05)
//! restarts, Start and Stop run and stop the object. Encapsulation commands
//! (`enip.log`) and identity replies carry no operation on the device's data.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::protocols::{hex_field, other, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const ADAPTER: Role = Role::new("enip_adapter");
pub const SCANNER: Role = Role::new("enip_scanner");

/// The identity object (class 1) a device returns.
pub const IDENTITY: IdentitySource = IdentitySource::read("cip");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "enip",
        logs: &[
            LogInfo {
                schema: &super::ENIP,
                fold: Fold::Yes {
                    per_event: &["sender_context"],
                },
                operation: Some(OperationSpec {
                    key: &["enip_command"],
                    classify: classify_encapsulation,
                }),
            },
            LogInfo {
                schema: &super::CIP,
                fold: Fold::Yes {
                    per_event: &["cip_sequence_count"],
                },
                operation: Some(OperationSpec {
                    key: &["cip_service", "class_name"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::CIP_IO,
                fold: Fold::Yes { per_event: &[] },
                operation: None,
            },
            LogInfo {
                schema: &super::CIP_IDENTITY,
                fold: Fold::No,
                operation: None,
            },
        ],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 90,
        ports: &[(Transport::Tcp, 44818), (Transport::Udp, 44818)],
    },
    roles: &[ADAPTER, SCANNER],
    identities: &[IDENTITY],
};

fn classify_encapsulation(_: &Record) -> OpClass {
    other()
}

fn classify(rec: &Record) -> OpClass {
    match hex_field(rec, "cip_service_code").map(|c| c & 0x7f) {
        Some(0x01 | 0x03 | 0x0e | 0x18 | 0x4c | 0x52) => OpClass::read(),
        Some(0x02 | 0x04 | 0x10 | 0x19) => OpClass::write(),
        Some(0x4d | 0x53 | 0x4e) => OpClass::control(Control::MemoryWrite),
        Some(0x05) => OpClass::control(Control::Restart),
        Some(0x06) => OpClass::control(Control::Run),
        Some(0x07) => OpClass::control(Control::Stop),
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    // cip.log rows of the corpus (icsnpp-enip-enip_cip_example,
    // icsnpp-enip-set_attribute_single_service_cip).
    #[test]
    fn services() {
        let cip = |code: &str, name: &str| {
            row(
                &super::super::CIP,
                &[("cip_service_code", code), ("cip_service", name)],
            )
        };
        assert_eq!(
            classify(&cip("0x03", "Get Attribute List")),
            OpClass::read()
        );
        assert_eq!(
            classify(&cip("0x0e", "Get Attributes Single")),
            OpClass::read()
        );
        assert_eq!(
            classify(&cip("0x10", "Set Attributes Single")),
            OpClass::write()
        );
        assert_eq!(
            classify(&cip("0x05", "Reset")).control,
            Some(Control::Restart)
        );
        assert_eq!(
            classify(&cip("0x4d", "Write Data")).control,
            Some(Control::MemoryWrite)
        );
        assert_eq!(
            classify(&cip("0x0a", "Multiple Service Packet")).access,
            Some(Access::Other)
        );
        let enip = row(&super::super::ENIP, &[("enip_command", "Send Unit Data")]);
        assert_eq!(classify_encapsulation(&enip).access, Some(Access::Other));
    }
}
