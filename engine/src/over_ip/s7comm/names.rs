//! Names of S7 code points, spelled as ICSNPP logs them.

use compact_str::format_compact;
use osect_wire::Text;

pub fn rosctr(r: u8) -> &'static str {
    match r {
        1 => "Job-Request",
        2 => "Ack",
        3 => "ACK-Data",
        7 => "User-Data",
        _ => "unknown",
    }
}

pub fn job_function(f: u8) -> &'static str {
    match f {
        0x00 => "CPU Services",
        0x04 => "Read Variable",
        0x05 => "Write Variable",
        0x1a => "Request Download",
        0x1b => "Download Block",
        0x1c => "Download Ended",
        0x1d => "Start Upload",
        0x1e => "Upload",
        0x1f => "End Upload",
        0x28 => "PI Service",
        0x29 => "PLC Stop",
        0xf0 => "Setup Communication",
        _ => "unknown",
    }
}

/// "Request: CPU Functions" and the like, from the type and group byte.
pub fn userdata_group(tg: u8) -> Text {
    let kind = match tg >> 4 {
        0x0 => "Push",
        0x4 => "Request",
        0x8 => "Response",
        _ => "unknown",
    };
    let group = match tg & 0x0f {
        0x0 => "Mode-transition",
        0x1 => "Programmer commands",
        0x2 => "Cyclic data",
        0x3 => "Block functions",
        0x4 => "CPU Functions",
        0x5 => "Security",
        0x6 => "PBC BSEND/BRECV",
        0x7 => "Time functions",
        0xf => "NC programming",
        _ => "unknown",
    };
    format_compact!("{kind}: {group}")
}

pub fn userdata_subfunction(group: u8, sub: u8) -> &'static str {
    match (group, sub) {
        (0x1, 0x01) => "Request diag data (Type 1)",
        (0x1, 0x02) => "VarTab",
        (0x1, 0x0c) => "Erase",
        (0x1, 0x0e) => "Forces",
        (0x2, 0x01) => "Memory",
        (0x2, 0x04) => "Unsubscribe",
        (0x3, 0x01) => "List blocks",
        (0x3, 0x02) => "List blocks of type",
        (0x3, 0x03) => "Get block info",
        (0x4, 0x01) => "Read SZL",
        (0x4, 0x02) => "Message service",
        (0x4, 0x03) => "Diagnostic message",
        (0x4, 0x05) => "ALARM_8 indication",
        (0x4, 0x06) => "NOTIFY indication",
        (0x4, 0x0b) => "ALARM ack",
        (0x4, 0x0c) => "ALARM_S indication",
        (0x4, 0x13) => "ALARM query",
        (0x5, 0x01) => "PLC password",
        (0x7, 0x01) => "Read clock",
        (0x7, 0x02) => "Set clock",
        (0x7, 0x03) => "Read clock (following)",
        (0x7, 0x04) => "Set clock",
        _ => "unknown",
    }
}

pub fn error_class(c: u8) -> &'static str {
    match c {
        0x00 => "No error",
        0x81 => "Application relationship error",
        0x82 => "Object definition error",
        0x83 => "No resources available error",
        0x84 => "Error on service processing",
        0x85 => "Error on supplies",
        0x87 => "Access error",
        _ => "unknown",
    }
}

pub fn plus_opcode(o: u8) -> &'static str {
    match o {
        0x31 => "Request",
        0x32 => "Response",
        0x33 => "Notification",
        0x02 => "Response2",
        _ => "unknown",
    }
}

pub fn plus_function(f: u16) -> &'static str {
    match f {
        0x04bb => "Explore",
        0x04ca => "Create Object",
        0x04d4 => "Delete Object",
        0x04f2 => "Set Variable",
        0x04fc => "Get Variable",
        0x0506 => "Add Link",
        0x051a => "Remove Link",
        0x0524 => "Get Link",
        0x0542 => "Set Multi Variables",
        0x054c => "Get Multi Variables",
        0x0556 => "Begin Sequence",
        0x0560 => "End Sequence",
        0x056b => "Invoke",
        0x057c => "Set Var Sub Streamed",
        0x0586 => "Get Var Sub Streamed",
        0x0590 => "Get Variables Address",
        0x059a => "Abort",
        0x05a9 => "Error",
        0x05b3 => "Init SSL",
        _ => "unknown",
    }
}

/// The parameter method of User-Data (ICSNPP's `method`).
pub fn userdata_method(m: u8) -> &'static str {
    match m {
        0x11 => "Request",
        0x12 => "Response",
        _ => "Unknown",
    }
}

/// Return codes of User-Data items. ICSNPP's spelling is kept, typo
/// included, so the column compares with its logs.
pub fn return_code(c: u8) -> &'static str {
    match c {
        0x00 => "Reserved",
        0x01 => "Hardware error",
        0x03 => "Accessing the bbject not allowed",
        0x05 => "Invalid address",
        0x06 => "Data type not supported",
        0x07 => "Data type inconsistent",
        0x0a => "Object does not exist",
        0xff => "Success",
        _ => "Unknown",
    }
}

/// What an SZL list holds, by the low byte of its id (the high byte
/// selects a partial list).
pub fn szl_id(id: u16) -> &'static str {
    match id & 0xff {
        0x00 => "List of all the SZL-IDs of a module",
        0x11 => "Module identification",
        0x12 => "CPU characteristics",
        0x13 => "User memory areas",
        0x14 => "System areas",
        0x15 => "Block types",
        0x16 | 0x23 => "Priority classes",
        0x17 => "List of the permitted SDBs with a number < 1000",
        0x18 => "Maximum S7-300 I/O configuration",
        0x19 | 0x74 => "Status of the module LEDs",
        0x1c => "Component Identification",
        0x21 => "Interrupt / error assignment",
        0x22 => "Interrupt status",
        0x24 => "Modes",
        0x25 => "Assignment between process image partitions and OBs",
        0x31 => "Communication capability parameters",
        0x32 => "Communication status data",
        0x33 => "Diagnostics: device logon list",
        0x37 => "Ethernet - Details of a Module",
        0x71 => "H CPU group information",
        0x75 => "Switched DP slaves in the H-system",
        0x81 => "Start information list",
        0x82 => "Start event list",
        0x91 => "Module status information",
        0x92 | 0x94 => "Rack / station status information",
        0x95 => "Extended DP master system information",
        0x96 => "Module status information, PROFINET IO and PROFIBUS DP",
        0xa0 => "Diagnostic buffer of the CPU",
        0xb1 => "Module diagnostic information (data record 0)",
        0xb2 => "Module diagnostic information (data record 1), geographical address",
        0xb3 => "Module diagnostic information (data record 1), logical address",
        0xb4 => "Diagnostic data of a DP slave",
        _ => "Unknown",
    }
}

/// The block type of a file name (`_0B00000A`: characters 1 and 2).
pub fn block_type(t: &[u8]) -> &'static str {
    match t {
        b"08" => "Organization Block",
        b"0A" => "Data Block",
        b"0B" => "System Data Block",
        b"0C" => "Function",
        b"0D" => "System Function",
        b"0E" => "Function Block",
        b"0F" => "System Function Block",
        _ => "Unknown",
    }
}

/// The file system a block goes to or comes from (last character).
pub fn filesystem(f: u8) -> &'static str {
    match f {
        b'P' => "Passive",
        b'A' => "Active",
        _ => "Unknown",
    }
}
