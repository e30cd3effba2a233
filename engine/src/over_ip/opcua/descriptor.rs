//! What OPC UA (binary, on TCP) is to the engine and the core.
//!
//! Services: Read reads; Write and Call write; the rest (sessions, browse,
//! subscriptions) are neither.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{text_of, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const SERVER: Role = Role::new("opcua_server");
pub const CLIENT: Role = Role::new("opcua_client");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "opcua",
        logs: &[LogInfo {
            schema: &super::OPCUA,
            fold: Fold::Yes { per_event: &[] },
            operation: Some(OperationSpec {
                key: &["msg_type", "service"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 20,
        ports: &[(Transport::Tcp, 4840)],
    },
    roles: &[SERVER, CLIENT],
    identities: &[],
};

fn classify(rec: &Record) -> OpClass {
    let service = text_of(rec, "service").unwrap_or_default();
    let service = service
        .trim_end_matches("Request")
        .trim_end_matches("Response");
    match service {
        "Read" => OpClass::read(),
        "Write" | "Call" => OpClass::write(),
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    // opcua.log rows of the trafficgen plant capture.
    #[test]
    fn services() {
        let s = |msg: &str, service: &str| {
            classify(&row(
                &super::super::OPCUA,
                &[("msg_type", msg), ("service", service)],
            ))
        };
        assert_eq!(s("MSG", "ReadRequest"), OpClass::read());
        assert_eq!(s("MSG", "ReadResponse"), OpClass::read());
        assert_eq!(s("MSG", "WriteRequest"), OpClass::write());
        assert_eq!(s("MSG", "CallRequest"), OpClass::write());
        assert_eq!(
            s("OPN", "OpenSecureChannelRequest").access,
            Some(Access::Other)
        );
        let hello = row(&super::super::OPCUA, &[("msg_type", "HEL")]);
        assert_eq!(classify(&hello).access, Some(Access::Other));
    }
}
