//! Names of MMS PDU types and services (ISO 9506-2 MMSpdu,
//! ConfirmedServiceRequest and UnconfirmedService), as the ASN.1 spells
//! them.

/// The MMSpdu alternative with this tag.
pub fn pdu(tag: u32) -> &'static str {
    match tag {
        0 => "confirmed-RequestPDU",
        1 => "confirmed-ResponsePDU",
        2 => "confirmed-ErrorPDU",
        3 => "unconfirmed-PDU",
        4 => "rejectPDU",
        5 => "cancel-RequestPDU",
        6 => "cancel-ResponsePDU",
        7 => "cancel-ErrorPDU",
        8 => "initiate-RequestPDU",
        9 => "initiate-ResponsePDU",
        10 => "initiate-ErrorPDU",
        11 => "conclude-RequestPDU",
        12 => "conclude-ResponsePDU",
        13 => "conclude-ErrorPDU",
        _ => "unknown",
    }
}

/// The service with this tag in a PDU of type `pdu`.
pub fn service(pdu: u32, tag: u32) -> &'static str {
    if pdu == 3 {
        return match tag {
            0 => "informationReport",
            1 => "unsolicitedStatus",
            2 => "eventNotification",
            _ => "unknown",
        };
    }
    confirmed(tag)
}

/// A confirmed service by its tag.
pub fn confirmed(tag: u32) -> &'static str {
    const NAMES: [&str; 78] = [
        "status",
        "getNameList",
        "identify",
        "rename",
        "read",
        "write",
        "getVariableAccessAttributes",
        "defineNamedVariable",
        "defineScatteredAccess",
        "getScatteredAccessAttributes",
        "deleteVariableAccess",
        "defineNamedVariableList",
        "getNamedVariableListAttributes",
        "deleteNamedVariableList",
        "defineNamedType",
        "getNamedTypeAttributes",
        "deleteNamedType",
        "input",
        "output",
        "takeControl",
        "relinquishControl",
        "defineSemaphore",
        "deleteSemaphore",
        "reportSemaphoreStatus",
        "reportPoolSemaphoreStatus",
        "reportSemaphoreEntryStatus",
        "initiateDownloadSequence",
        "downloadSegment",
        "terminateDownloadSequence",
        "initiateUploadSequence",
        "uploadSegment",
        "terminateUploadSequence",
        "requestDomainDownload",
        "requestDomainUpload",
        "loadDomainContent",
        "storeDomainContent",
        "deleteDomain",
        "getDomainAttributes",
        "createProgramInvocation",
        "deleteProgramInvocation",
        "start",
        "stop",
        "resume",
        "reset",
        "kill",
        "getProgramInvocationAttributes",
        "obtainFile",
        "defineEventCondition",
        "deleteEventCondition",
        "getEventConditionAttributes",
        "reportEventConditionStatus",
        "alterEventConditionMonitoring",
        "triggerEvent",
        "defineEventAction",
        "deleteEventAction",
        "getEventActionAttributes",
        "reportEventActionStatus",
        "defineEventEnrollment",
        "deleteEventEnrollment",
        "alterEventEnrollment",
        "reportEventEnrollmentStatus",
        "getEventEnrollmentAttributes",
        "acknowledgeEventNotification",
        "getAlarmSummary",
        "getAlarmEnrollmentSummary",
        "readJournal",
        "writeJournal",
        "initializeJournal",
        "reportJournalStatus",
        "createJournal",
        "deleteJournal",
        "getCapabilityList",
        "fileOpen",
        "fileRead",
        "fileClose",
        "fileRename",
        "fileDelete",
        "fileDirectory",
    ];
    NAMES.get(tag as usize).copied().unwrap_or("unknown")
}

/// A DataAccessError (ISO 9506-2) by its code.
pub fn data_access_error(code: u64) -> &'static str {
    const NAMES: [&str; 12] = [
        "object-invalidated",
        "hardware-fault",
        "temporarily-unavailable",
        "object-access-denied",
        "object-undefined",
        "invalid-address",
        "type-unsupported",
        "type-inconsistent",
        "object-attribute-inconsistent",
        "object-access-unsupported",
        "object-non-existent",
        "object-value-invalid",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("unknown")
}
