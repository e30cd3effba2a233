//! What MQTT is to the engine and the core.
//!
//! Operations: a client's PUBLISH writes to its topic (set-points and
//! commands travel this way as well as measurements), a SUBSCRIBE reads
//! one; the broker's deliveries are neither.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{text_of, Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::{Record, Value};

pub const BROKER: Role = Role::new("mqtt_broker");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "mqtt",
        logs: &[
            LogInfo {
                schema: &super::MQTT_CONNECT,
                fold: Fold::No,
                operation: None,
            },
            LogInfo {
                schema: &super::MQTT_SUBSCRIBE,
                fold: Fold::No,
                operation: Some(OperationSpec {
                    key: &["action"],
                    classify: classify_subscribe,
                }),
            },
            LogInfo {
                schema: &super::MQTT_PUBLISH,
                fold: Fold::No,
                operation: Some(OperationSpec {
                    key: &["topic"],
                    classify: classify_publish,
                }),
            },
        ],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 240,
        ports: &[(Transport::Tcp, 1883)],
    },
    roles: &[BROKER],
    identities: &[],
};

fn classify_subscribe(rec: &Record) -> OpClass {
    match text_of(rec, "action").as_deref() {
        Some("MQTT::SUBSCRIBE") => OpClass::read(),
        _ => other(),
    }
}

fn classify_publish(rec: &Record) -> OpClass {
    match rec.get("from_client") {
        Some(Value::Bool(true)) => OpClass::write(),
        _ => other(),
    }
}
