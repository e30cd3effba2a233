//! What IEC 61850 MMS (ISO 9506, on the ISO transport) is to the engine and
//! the core.
//!
//! Confirmed requests are classified by service: read, getNameList,
//! getVariableAccessAttributes, the other attribute reads, identify, status
//! and fileDirectory read; write and the define/delete services write;
//! domain download and upload services download and upload a program (a
//! domain is a program or configuration area); start, resume, stop and
//! reset (and kill) control the program invocation; file open, read,
//! rename, delete and obtainFile move files. Responses, reports and the
//! association PDUs are other operations.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{text_of, Control, Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::Record;

pub const SERVER: Role = Role::new("mms_server");
pub const CLIENT: Role = Role::new("mms_client");

/// The vendor, model and revision an Identify response names.
pub const IDENTITY: IdentitySource = IdentitySource::read("mms");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "mms",
        logs: &[LogInfo {
            schema: &super::MMS,
            // Values change with every poll: folded rows count the operation.
            fold: Fold::Yes {
                per_event: &["invoke_id", "values"],
            },
            operation: Some(OperationSpec {
                key: &["service", "object_names"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        // Before S7comm (80): a connection request or confirm goes to the
        // ISO transport, whose first data message then picks the protocol.
        precedence: 79,
        ports: &[(Transport::Tcp, 102)],
    },
    roles: &[SERVER, CLIENT],
    identities: &[IDENTITY],
};

fn classify(rec: &Record) -> OpClass {
    if text_of(rec, "pdu_type").as_deref() != Some("confirmed-RequestPDU") {
        return other();
    }
    let Some(service) = text_of(rec, "service") else {
        return other();
    };
    match service.as_ref() {
        "status"
        | "getNameList"
        | "identify"
        | "read"
        | "getVariableAccessAttributes"
        | "getScatteredAccessAttributes"
        | "getNamedVariableListAttributes"
        | "getNamedTypeAttributes"
        | "getDomainAttributes"
        | "getProgramInvocationAttributes"
        | "getCapabilityList"
        | "fileDirectory"
        | "readJournal" => OpClass::read(),
        "write" => OpClass::control(Control::MemoryWrite),
        "defineNamedVariable"
        | "defineScatteredAccess"
        | "deleteVariableAccess"
        | "defineNamedVariableList"
        | "deleteNamedVariableList"
        | "defineNamedType"
        | "deleteNamedType"
        | "rename"
        | "writeJournal"
        | "initializeJournal" => OpClass::write(),
        "initiateDownloadSequence"
        | "downloadSegment"
        | "terminateDownloadSequence"
        | "requestDomainDownload"
        | "loadDomainContent"
        | "deleteDomain"
        | "createProgramInvocation"
        | "deleteProgramInvocation" => OpClass::control(Control::ProgramDownload),
        "initiateUploadSequence"
        | "uploadSegment"
        | "terminateUploadSequence"
        | "requestDomainUpload"
        | "storeDomainContent" => OpClass::control(Control::ProgramUpload),
        "start" | "resume" => OpClass::control(Control::Run),
        "stop" | "kill" => OpClass::control(Control::Stop),
        "reset" => OpClass::control(Control::Restart),
        "fileOpen" | "fileRead" | "fileClose" | "fileRename" | "fileDelete" | "obtainFile" => {
            OpClass::control(Control::FileTransfer)
        }
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Access;

    fn op(pdu: &str, service: &str) -> OpClass {
        classify(&row(
            &super::super::MMS,
            &[("pdu_type", pdu), ("service", service)],
        ))
    }

    #[test]
    fn services() {
        let req = "confirmed-RequestPDU";
        assert_eq!(op(req, "read"), OpClass::read());
        assert_eq!(op(req, "getNameList"), OpClass::read());
        assert_eq!(op(req, "write").control, Some(Control::MemoryWrite));
        assert_eq!(op(req, "fileOpen").control, Some(Control::FileTransfer));
        assert_eq!(op(req, "obtainFile").control, Some(Control::FileTransfer));
        assert_eq!(
            op(req, "downloadSegment").control,
            Some(Control::ProgramDownload)
        );
        assert_eq!(op(req, "stop").control, Some(Control::Stop));
        assert_eq!(
            op("confirmed-ResponsePDU", "write").access,
            Some(Access::Other)
        );
        assert_eq!(
            op("initiate-RequestPDU", "read").access,
            Some(Access::Other)
        );
    }
}
