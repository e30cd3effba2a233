//! What S7comm (on ISO-on-TCP) is to the engine and the core.
//!
//! Job functions: Read Variable reads, Write Variable writes memory; Request
//! Download, Download Block and Download Ended download a program; Start
//! Upload, Upload and End Upload upload one (as do the rows of
//! `s7comm_upload_download`); PLC Stop stops. A PLC Control job (0x28)
//! names its PI service: P_PROGRAM starts the controller, _INSE/_INS2
//! activate a downloaded block, _DELE deletes one and _MODU copies the
//! program to ROM. User data: Read SZL (and `s7comm_read_szl`) and Read
//! clock read, Set clock writes. COTP and S7comm-plus rows name their PDU
//! only.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::over_ip::iso;
use crate::protocols::{hex_field, other, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{count_of, text_of, Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const PLC: Role = Role::new("s7_plc");
pub const CLIENT: Role = Role::new("s7_client");

/// The module identification and component SZLs a PLC returns.
pub const IDENTITY: IdentitySource = IdentitySource::read("s7comm");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "s7comm",
        logs: &[
            // The transport's log, written by every protocol on it.
            iso::COTP_LOG,
            LogInfo {
                schema: &super::S7COMM,
                fold: Fold::Yes {
                    per_event: &["pdu_reference"],
                },
                operation: Some(OperationSpec {
                    key: &["function_name", "subfunction_name"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::S7COMM_PLUS,
                fold: Fold::Yes { per_event: &[] },
                operation: Some(OperationSpec {
                    key: &["opcode_name", "function_name"],
                    classify: classify_pdu,
                }),
            },
            LogInfo {
                schema: &super::S7COMM_READ_SZL,
                fold: Fold::Yes {
                    per_event: &["pdu_reference"],
                },
                operation: Some(OperationSpec {
                    key: &["szl_id_name", "szl_index"],
                    classify: classify_szl,
                }),
            },
            // Every step of a program transfer stays a row of its own.
            LogInfo {
                schema: &super::S7COMM_UPLOAD_DOWNLOAD,
                fold: Fold::No,
                operation: Some(OperationSpec {
                    key: &["function_name", "filename"],
                    classify: classify_transfer,
                }),
            },
            LogInfo {
                schema: &super::S7COMM_KNOWN_DEVICES,
                fold: Fold::No,
                operation: None,
            },
        ],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 80,
        ports: &[(Transport::Tcp, 102)],
    },
    roles: &[PLC, CLIENT],
    identities: &[IDENTITY],
};

fn classify_pdu(_: &Record) -> OpClass {
    other()
}

/// Reading a system status list reads the controller's state.
fn classify_szl(_: &Record) -> OpClass {
    OpClass::read()
}

fn classify_transfer(rec: &Record) -> OpClass {
    match text_of(rec, "function_name").as_deref() {
        Some("Request Download" | "Download Block" | "Download Ended") => {
            OpClass::control(Control::ProgramDownload)
        }
        Some("Start Upload" | "Upload" | "End Upload") => OpClass::control(Control::ProgramUpload),
        _ => other(),
    }
}

fn classify(rec: &Record) -> OpClass {
    let Some(function) = hex_field(rec, "function_code") else {
        return other();
    };
    if count_of(rec, "rosctr_code") == Some(7) {
        // User data: the function code is the type and group.
        return match (function & 0x0f, hex_field(rec, "subfunction_code")) {
            (0x4, Some(0x01)) | (0x7, Some(0x01 | 0x03)) => OpClass::read(),
            (0x7, Some(0x02 | 0x04)) => OpClass::write(),
            _ => other(),
        };
    }
    match function {
        0x04 => OpClass::read(),
        0x05 => OpClass::control(Control::MemoryWrite),
        0x1a..=0x1c => OpClass::control(Control::ProgramDownload),
        0x1d..=0x1f => OpClass::control(Control::ProgramUpload),
        // PLC Control: what its PI service does.
        0x28 => match text_of(rec, "subfunction_code").as_deref() {
            None | Some("P_PROGRAM") => OpClass::control(Control::Run),
            Some("_INSE" | "_INS2") => OpClass::control(Control::ProgramDownload),
            Some("_DELE" | "_MODU") => OpClass::control(Control::ProgramAccess),
            Some(_) => other(),
        },
        0x29 => OpClass::control(Control::Stop),
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    fn s7(rosctr: &str, code: &str, sub: Option<&str>) -> Record {
        let mut f = vec![("rosctr_code", rosctr), ("function_code", code)];
        if let Some(s) = sub {
            f.push(("subfunction_code", s));
        }
        row(&super::super::S7COMM, &f)
    }

    // s7comm.log rows of the corpus (Job-Request Read Variable, Write
    // Variable, PLC Stop; User-Data CPU functions Read SZL).
    #[test]
    fn functions() {
        assert_eq!(classify(&s7("1", "0x04", None)), OpClass::read());
        assert_eq!(
            classify(&s7("1", "0x05", None)).control,
            Some(Control::MemoryWrite)
        );
        assert_eq!(
            classify(&s7("1", "0x29", None)).control,
            Some(Control::Stop)
        );
        assert_eq!(
            classify(&s7("3", "0x29", None)).control,
            Some(Control::Stop)
        );
        assert_eq!(
            classify(&s7("1", "0x1b", None)).control,
            Some(Control::ProgramDownload)
        );
        assert_eq!(
            classify(&s7("1", "0x1e", None)).control,
            Some(Control::ProgramUpload)
        );
        assert_eq!(classify(&s7("1", "0x28", None)).control, Some(Control::Run));
        let pi = |name| classify(&s7("1", "0x28", Some(name))).control;
        assert_eq!(pi("P_PROGRAM"), Some(Control::Run));
        assert_eq!(pi("_INSE"), Some(Control::ProgramDownload));
        assert_eq!(pi("_DELE"), Some(Control::ProgramAccess));
        assert_eq!(pi("_N_LOGIN_"), None);
        assert_eq!(classify(&s7("7", "0x44", Some("0x01"))), OpClass::read());
        assert_eq!(classify(&s7("7", "0x84", Some("0x01"))), OpClass::read());
        assert_eq!(classify(&s7("1", "0xf0", None)).access, Some(Access::Other));
    }

    // s7comm_upload_download.log rows as ICSNPP writes them (its snap7
    // test: Start Upload, Upload, End Upload of system data blocks).
    #[test]
    fn transfers() {
        let t = |f: &str| {
            row(
                &super::super::S7COMM_UPLOAD_DOWNLOAD,
                &[("function_name", f)],
            )
        };
        for f in ["Request Download", "Download Block", "Download Ended"] {
            assert_eq!(
                classify_transfer(&t(f)).control,
                Some(Control::ProgramDownload),
                "{f}"
            );
        }
        for f in ["Start Upload", "Upload", "End Upload"] {
            assert_eq!(
                classify_transfer(&t(f)).control,
                Some(Control::ProgramUpload),
                "{f}"
            );
        }
        let szl = row(&super::super::S7COMM_READ_SZL, &[("szl_id", "0x0011")]);
        assert_eq!(classify_szl(&szl), OpClass::read());
    }
}
