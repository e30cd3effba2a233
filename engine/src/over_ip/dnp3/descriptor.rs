//! What DNP3 is to the engine and the core.
//!
//! Operations by application function: READ reads, WRITE writes, the
//! select/operate family commands the process, cold and warm restarts
//! restart, START_APPL and STOP_APPL run and stop applications, the file
//! functions (25 to 30) move files. Responses and the rest are neither.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{text_of, Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const OUTSTATION: Role = Role::new("dnp3_outstation");
pub const MASTER: Role = Role::new("dnp3_master");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "dnp3",
        logs: &[
            LogInfo {
                schema: &super::DNP3,
                fold: Fold::Yes { per_event: &[] },
                operation: Some(OperationSpec {
                    key: &["fc_request"],
                    classify: classify_request,
                }),
            },
            LogInfo {
                schema: &super::DNP3_CONTROL,
                fold: Fold::Yes { per_event: &[] },
                operation: Some(OperationSpec {
                    key: &["function_code"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::DNP3_OBJECTS,
                fold: Fold::Yes { per_event: &[] },
                operation: Some(OperationSpec {
                    key: &["function_code", "object_type"],
                    classify,
                }),
            },
        ],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 70,
        ports: &[(Transport::Tcp, 20000), (Transport::Udp, 20000)],
    },
    roles: &[OUTSTATION, MASTER],
    identities: &[],
};

fn function(name: &str) -> OpClass {
    match name {
        "READ" => OpClass::read(),
        "WRITE" => OpClass::write(),
        "SELECT" | "OPERATE" | "DIRECT_OPERATE" | "DIRECT_OPERATE_NR" => {
            OpClass::control(Control::Command)
        }
        "COLD_RESTART" | "WARM_RESTART" => OpClass::control(Control::Restart),
        "START_APPL" => OpClass::control(Control::Run),
        "STOP_APPL" => OpClass::control(Control::Stop),
        "OPEN_FILE" | "CLOSE_FILE" | "DELETE_FILE" | "GET_FILE_INFO" | "AUTHENTICATE_FILE"
        | "ABORT_FILE" => OpClass::control(Control::FileTransfer),
        _ => other(),
    }
}

fn classify_request(rec: &Record) -> OpClass {
    text_of(rec, "fc_request").map_or_else(other, |f| function(&f))
}

fn classify(rec: &Record) -> OpClass {
    text_of(rec, "function_code").map_or_else(other, |f| function(&f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    // Rows of dnp3.log and dnp3_control.log from the corpus
    // (icsnpp-dnp3-dnp3_example) and the trafficgen plant.
    #[test]
    fn functions() {
        let read = row(
            &super::super::DNP3,
            &[("fc_request", "READ"), ("fc_reply", "RESPONSE")],
        );
        assert_eq!(classify_request(&read), OpClass::read());
        let auth = row(&super::super::DNP3, &[("fc_request", "AUTHENTICATE_REQ")]);
        assert_eq!(classify_request(&auth).access, Some(Access::Other));
        let select = row(
            &super::super::DNP3_CONTROL,
            &[
                ("block_type", "Control Relay Output Block"),
                ("function_code", "SELECT"),
            ],
        );
        assert_eq!(classify(&select).control, Some(Control::Command));
        let response = row(
            &super::super::DNP3_CONTROL,
            &[("function_code", "RESPONSE")],
        );
        assert_eq!(classify(&response).control, None);
        for (f, c) in [
            ("COLD_RESTART", Control::Restart),
            ("WARM_RESTART", Control::Restart),
            ("STOP_APPL", Control::Stop),
            ("START_APPL", Control::Run),
            ("OPEN_FILE", Control::FileTransfer),
            ("DIRECT_OPERATE_NR", Control::Command),
        ] {
            let r = row(&super::super::DNP3, &[("fc_request", f)]);
            assert_eq!(classify_request(&r).control, Some(c), "{f}");
        }
        let objects = row(
            &super::super::DNP3_OBJECTS,
            &[("function_code", "WRITE"), ("object_type", "Time and Date")],
        );
        assert_eq!(classify(&objects), OpClass::write());
    }
}
