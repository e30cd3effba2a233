//! What FTP is to the engine and the core.
//!
//! Operations by command: RETR reads a file from the server and STOR,
//! STOU and APPE write one to it (a file transfer: how programs and
//! firmware reach a controller), DELE deletes one; the data channel set-up
//! and ACCT are neither.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{
    text_of, Access, Control, Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo,
};
use osect_wire::Record;

pub const SERVER: Role = Role::new("ftp_server");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "ftp",
        logs: &[LogInfo {
            schema: &super::FTP_LOG,
            // Each row names its own file: folding would lose them.
            fold: Fold::No,
            operation: Some(OperationSpec {
                key: &["command"],
                classify,
            }),
        }],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 230,
        ports: &[(Transport::Tcp, 21)],
    },
    roles: &[SERVER],
    identities: &[],
};

fn classify(rec: &Record) -> OpClass {
    match text_of(rec, "command").as_deref() {
        Some("RETR") => OpClass {
            access: Some(Access::Read),
            control: Some(Control::FileTransfer),
            area: None,
        },
        Some("STOR" | "STOU" | "APPE") => OpClass::control(Control::FileTransfer),
        Some("DELE") => OpClass::write(),
        _ => other(),
    }
}
