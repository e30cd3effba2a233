//! What IEC 60870-5-104 is to the engine and the core.
//!
//! ASDU types: commands in control direction (45 to 69, `C_*`) command the
//! process; interrogation, counter interrogation and read (100 to 102)
//! read; clock synchronisation (103) writes; reset process (105)
//! restarts. Monitor-direction types (`M_*`), U and S frames are neither.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{count_of, Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const OUTSTATION: Role = Role::new("iec104_outstation");
pub const CONTROLLER: Role = Role::new("iec104_controller");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "iec104",
        logs: &[LogInfo {
            schema: &super::IEC104,
            fold: Fold::Yes {
                per_event: &["apci_tx", "apci_rx"],
            },
            operation: Some(OperationSpec {
                key: &["apci_type", "type_name", "u_function"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 10,
        ports: &[(Transport::Tcp, 2404)],
    },
    roles: &[OUTSTATION, CONTROLLER],
    identities: &[],
};

fn classify(rec: &Record) -> OpClass {
    match count_of(rec, "type_id") {
        Some(45..=69) => OpClass::control(Control::Command),
        Some(100..=102) => OpClass::read(),
        Some(103) => OpClass::write(),
        Some(105) => OpClass::control(Control::Restart),
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    // iec104.log rows of the trafficgen plant capture.
    #[test]
    fn types() {
        let t = |id: &str, name: &str| {
            classify(&row(
                &super::super::IEC104,
                &[("apci_type", "I"), ("type_id", id), ("type_name", name)],
            ))
        };
        assert_eq!(t("100", "C_IC_NA_1"), OpClass::read());
        assert_eq!(t("45", "C_SC_NA_1").control, Some(Control::Command));
        assert_eq!(t("50", "C_SE_NC_1").control, Some(Control::Command));
        assert_eq!(t("103", "C_CS_NA_1"), OpClass::write());
        assert_eq!(t("105", "C_RP_NA_1").control, Some(Control::Restart));
        assert_eq!(t("13", "M_ME_NC_1").access, Some(Access::Other));
        let u = row(
            &super::super::IEC104,
            &[("apci_type", "U"), ("u_function", "STARTDT act")],
        );
        assert_eq!(classify(&u).access, Some(Access::Other));
    }
}
