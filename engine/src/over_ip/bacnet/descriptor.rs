//! What BACnet/IP is to the engine and the core.
//!
//! Services: ReadProperty, ReadPropertyMultiple and ReadRange read;
//! WriteProperty and WritePropertyMultiple write a property (the object is
//! the area); ReinitializeDevice restarts; DeviceCommunicationControl
//! switches communication; AtomicReadFile and AtomicWriteFile move files.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{count_of, text_of, Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const DEVICE: Role = Role::new("bacnet_device");

/// The device object's properties a device returns.
pub const IDENTITY: IdentitySource = IdentitySource::read("bacnet");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "bacnet",
        logs: &[
            LogInfo {
                schema: &super::BACNET,
                fold: Fold::Yes {
                    per_event: &["invoke_id"],
                },
                operation: Some(OperationSpec {
                    key: &["pdu_service"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::BACNET_DISCOVERY,
                fold: Fold::No,
                operation: None,
            },
            LogInfo {
                schema: &super::BACNET_PROPERTY,
                fold: Fold::Yes {
                    per_event: &["invoke_id"],
                },
                operation: Some(OperationSpec {
                    key: &["pdu_service", "property"],
                    classify,
                }),
            },
            // A restart or a device silenced: each row stays a row.
            LogInfo {
                schema: &super::BACNET_DEVICE_CONTROL,
                fold: Fold::No,
                operation: Some(OperationSpec {
                    key: &["pdu_service", "device_state"],
                    classify,
                }),
            },
        ],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 60,
        ports: &[(Transport::Udp, 47808)],
    },
    roles: &[DEVICE],
    identities: &[IDENTITY],
};

fn classify(rec: &Record) -> OpClass {
    let Some(service) = text_of(rec, "pdu_service") else {
        return other();
    };
    // bacnet.log writes `read_property`, bacnet_property.log
    // `read-property-request`.
    let service = service.replace('-', "_");
    let service = service
        .trim_end_matches("_request")
        .trim_end_matches("_ack");
    let class = match service {
        "read_property" | "read_property_multiple" | "read_property_conditional" | "read_range" => {
            OpClass::read()
        }
        "write_property" | "write_property_multiple" => OpClass::control(Control::MemoryWrite),
        "reinitialize_device" => OpClass::control(Control::Restart),
        "device_communication_control" => OpClass::control(Control::CommControl),
        "atomic_read_file" | "atomic_write_file" => OpClass::control(Control::FileTransfer),
        _ => return other(),
    };
    match (
        text_of(rec, "object_type"),
        count_of(rec, "instance_number"),
    ) {
        (Some(object), Some(instance)) => class.with_area(&object, instance, 1),
        _ => class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    // bacnet.log and bacnet_property.log rows of the corpus
    // (icsnpp-bacnet-bacnet_example).
    #[test]
    fn services() {
        let read = row(&super::super::BACNET, &[("pdu_service", "read_property")]);
        assert_eq!(classify(&read), OpClass::read());
        let prop = row(
            &super::super::BACNET_PROPERTY,
            &[
                ("pdu_service", "read-property-multiple-request"),
                ("object_type", "device"),
                ("instance_number", "101"),
                ("property", "vendor-name"),
            ],
        );
        assert_eq!(classify(&prop), OpClass::read().with_area("device", 101, 1));
        let write = row(
            &super::super::BACNET_PROPERTY,
            &[
                ("pdu_service", "write-property"),
                ("object_type", "analog-value"),
                ("instance_number", "3"),
            ],
        );
        assert_eq!(
            classify(&write),
            OpClass::control(Control::MemoryWrite).with_area("analog-value", 3, 1)
        );
        for (s, c) in [
            ("reinitialize_device", Control::Restart),
            ("device_communication_control", Control::CommControl),
            ("atomic_read_file", Control::FileTransfer),
        ] {
            let r = row(&super::super::BACNET, &[("pdu_service", s)]);
            assert_eq!(classify(&r).control, Some(c), "{s}");
        }
        // bacnet_device_control.log rows as ICSNPP writes them.
        let reinit = row(
            &super::super::BACNET_DEVICE_CONTROL,
            &[
                ("pdu_service", "reinitialize_device"),
                ("device_state", "coldstart"),
            ],
        );
        assert_eq!(classify(&reinit).control, Some(Control::Restart));
        let dcc = row(
            &super::super::BACNET_DEVICE_CONTROL,
            &[
                ("pdu_service", "device_communication_control"),
                ("result", "SUCCESS"),
            ],
        );
        assert_eq!(classify(&dcc).control, Some(Control::CommControl));
        let who = row(&super::super::BACNET, &[("pdu_service", "who_is")]);
        assert_eq!(classify(&who).access, Some(Access::Other));
    }
}
