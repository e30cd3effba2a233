//! Names of S7 code points, spelled as ICSNPP logs them.

use compact_str::format_compact;
use osect_wire::Text;

pub fn rosctr(r: u8) -> &'static str {
    match r {
        1 => "Job-Request",
        2 => "ACK",
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
        0x28 => "PLC Control",
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
        _ => "Unknown",
    };
    let group = match tg & 0x0f {
        0x0 => "Mode-Transition",
        0x1 => "Programmer Controls",
        0x2 => "Cyclic Services",
        0x3 => "Block Functions",
        0x4 => "CPU Functions",
        0x5 => "Security",
        0x6 => "PBC BSEND-BRECV",
        0x7 => "Time Functions",
        0xf => "NC Programming",
        _ => "unknown",
    };
    format_compact!("{kind}: {group}")
}

/// A User-Data subfunction's name within its group; groups without a
/// table of subfunctions (BSEND/BRECV, NC programming) have no name.
pub fn userdata_subfunction(group: u8, sub: u8) -> Option<&'static str> {
    let table: &[(u8, &str)] = match group {
        0x0 => &[
            (0x00, "Stop"),
            (0x01, "Warm Restart"),
            (0x02, "Run"),
            (0x03, "Hot Restart"),
            (0x04, "Hold"),
            (0x06, "Cold Restart"),
            (0x09, "Run_R"),
            (0x0b, "Link-Up"),
            (0x0c, "Update"),
        ],
        0x1 => &[
            (0x01, "Block Status"),
            (0x02, "Variable Status"),
            (0x03, "Output ISTACK"),
            (0x04, "Output BSTACK"),
            (0x05, "Output LSTACK"),
            (0x06, "Time Measurement"),
            (0x07, "Force Selection"),
            (0x08, "Modify Variable"),
            (0x09, "Force"),
            (0x0a, "Breakpoint"),
            (0x0b, "Exit HOLD"),
            (0x0c, "Memory Reset"),
            (0x0d, "Disable Job"),
            (0x0e, "Enable Job"),
            (0x0f, "Delete Job"),
            (0x10, "Read Job List"),
            (0x11, "Read Job"),
            (0x12, "Replace Job"),
            (0x13, "Block Status v2"),
            (0x16, "Flash LED"),
        ],
        0x2 => &[
            (0x01, "Cyclic Transfer"),
            (0x04, "Unsubscribe"),
            (0x05, "Change Driven Transfer"),
            (0x07, "Change Driven Transfer Modify"),
            (0x08, "RDREC"),
        ],
        0x3 => &[
            (0x01, "List Blocks"),
            (0x02, "List Blocks of Type"),
            (0x03, "Get Block Info"),
        ],
        0x4 => &[
            (0x01, "Read SZL"),
            (0x02, "Message Service"),
            (0x03, "Diagnostic Message"),
            (0x04, "ALARM_8 Indication"),
            (0x05, "NOTIFY Indication"),
            (0x06, "ALARM_8 Lock"),
            (0x07, "ALARM_8 Unlock"),
            (0x08, "SCAN Indication"),
            (0x0b, "ALARM_S Indication"),
            (0x0c, "ALARM_SQ Indication"),
            (0x0d, "ALARM Query"),
            (0x0e, "ALARM ACK"),
            (0x11, "ALARM ACK Indication"),
            (0x12, "ALARM Lock Indication"),
            (0x13, "ALARM Unlock Indication"),
            (0x16, "NOTIFY_8 Indication"),
        ],
        0x5 => &[(0x01, "PLC Password")],
        0x7 => &[
            (0x01, "Read Clock"),
            (0x02, "Set Clock"),
            (0x03, "Read Clock (Following)"),
            (0x04, "Set Clock (2)"),
        ],
        _ => return None,
    };
    Some(
        table
            .iter()
            .find(|(c, _)| *c == sub)
            .map_or("unknown", |(_, n)| n),
    )
}

/// What a PI service named in a PLC Control job does: the S7 PLC services
/// and the NC services of SINUMERIK machine tools, as ICSNPP's
/// `s7comm_plc_control_services` names them (the descriptions are
/// Siemens', as Wireshark's S7 dissector has them too).
pub fn pi_service(name: &str) -> Option<&'static str> {
    Some(match name {
        "_INSE" | "_INS2" => "Activates a PLC module",
        "_DELE" => "Removes module from the PLC's passive file system",
        "P_PROGRAM" => "PLC Start / Stop",
        "_MODU" => "PLC Copy Ram to Rom",
        "_GARB" => "Compress PLC memory",
        "_N_LOGIN_" => "Login",
        "_N_LOGOUT" => "Logout",
        "_N_CANCEL" => "Cancels NC alarm",
        "_N_DASAVE" => "PI-Service for copying data from SRAM to FLASH",
        "_N_DIGIOF" => "Turns off digitizing",
        "_N_DIGION" => "Turns on digitizing",
        "_N_DZERO_" => "Set all D numbers invalid for function",
        "_N_F_OPER" => "Opens a file read-only",
        "_N_OST_OF" => "Overstore OFF",
        "_N_OST_ON" => "Overstore ON",
        "_N_SCALE_" => "Unit of measurement setting (metric<->INCH)",
        "_N_SETUFR" => "Activates user frame",
        "_N_STRTLK" => "The global start disable is set",
        "_N_STRTUL" => "The global start disable is reset",
        "_N_TMRASS" => "Resets the Active status",
        "_N_F_DELE" => "Deletes file",
        "_N_EXTERN" | "_N_EXTMOD" => "Selects external program for execution",
        "_N_F_DELR" => "Delete file even without access rights",
        "_N_F_XFER" => "Selects file for uploading",
        "_N_LOCKE_" => "Locks the active file for editing",
        "_N_SELECT" => "Selects program for execution",
        "_N_SRTEXT" => "A file is being marked in _N_EXT_DIR",
        "_N_F_CLOS" => "Closes file",
        "_N_F_OPEN" => "Opens file",
        "_N_F_SEEK" => "Position the file search pointer",
        "_N_ASUP__" => "Assigns interrupt",
        "_N_CHEKDM" => "Start uniqueness check on D numbers",
        "_N_CHKDNO" => "Check whether the tools have unique D numbers",
        "_N_CONFIG" => "Reconfigures machine data",
        "_N_CRCEDN" => "Creates a cutting edge by specifying an edge number",
        "_N_DELECE" => "Deletes a cutting edge",
        "_N_CREACE" => "Creates a cutting edge",
        "_N_CREATO" => "Creates a tool",
        "_N_DELETO" => "Deletes tool",
        "_N_CRTOCE" => "Generate tool with specified edge number",
        "_N_DELVAR" => "Delete data block",
        "_N_F_COPY" => "Copies file within the NCK",
        "_N_F_DMDA" => "Deletes MDA memory",
        "_N_F_PROT" => "Assigns a protection level to a file",
        "_N_F_RENA" => "Renames file",
        "_N_FINDBL" => "Activates search",
        "_N_IBN_SS" => "Sets the set-up switch",
        "_N_MMCSEM" => "MMC-Semaphore",
        "_N_NCKMOD" => "The mode in which the NCK will work is being set",
        "_N_NEWPWD" => "New password",
        "_N_SEL_BL" => "Selects a new block",
        "_N_SETTST" => "Activate tools for replacement tool group",
        "_N_TMAWCO" => "Set the active wear group in one magazine",
        "_N_TMCRTC" => "Create tool with specified edge number",
        "_N_TMCRTO" => "Creates tool in the tool management",
        "_N_TMFDPL" => "Searches an empty place for loading",
        "_N_TMFPBP" => "Searches for empty location",
        "_N_TMGETT" => "Determines T-number for specific toolID with Duplono",
        "_N_TMMVTL" => "Loads or unloads a tool",
        "_N_TMPCIT" => "Sets increment value of the piece counter",
        "_N_TMPOSM" => "Positions a magazine or tool",
        "_N_TRESMO" => "Reset monitoring values",
        "_N_TSEARC" => "Complex search via search screenforms",
        _ => return None,
    })
}

pub fn error_class(c: u8) -> Text {
    let name = match c {
        0x00 => "No error",
        0x81 => "Application relationship error",
        0x82 => "Object definition error",
        // ICSNPP's spelling, so the column compares with its logs.
        0x83 => "No ressources available error",
        0x84 => "Error on service processing",
        0x85 => "Error on supplies",
        0x87 => "Access error",
        _ => return format_compact!("Unknown error class-0x{c:02x}"),
    };
    Text::const_new(name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_plc_and_machine_tool_pi_services() {
        assert_eq!(pi_service("P_PROGRAM"), Some("PLC Start / Stop"));
        assert_eq!(
            pi_service("_N_SELECT"),
            Some("Selects program for execution")
        );
        assert_eq!(pi_service("_N_EXTMOD"), pi_service("_N_EXTERN"));
        assert_eq!(pi_service("_N_TMMVTL"), Some("Loads or unloads a tool"));
        // Names are matched exactly: a service of another length is not one.
        assert_eq!(pi_service("_N_SELEC"), None);
        assert_eq!(pi_service("_n_select"), None);
    }
}
