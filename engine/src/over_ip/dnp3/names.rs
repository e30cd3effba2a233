//! Names of DNP3 code points, spelled as Zeek and ICSNPP log them.

use compact_str::format_compact;
use osect_wire::Text;
pub fn function(f: u8) -> Text {
    const REQ: [&str; 0x22] = [
        "CONFIRM",
        "READ",
        "WRITE",
        "SELECT",
        "OPERATE",
        "DIRECT_OPERATE",
        "DIRECT_OPERATE_NR",
        "IMMED_FREEZE",
        "IMMED_FREEZE_NR",
        "FREEZE_CLEAR",
        "FREEZE_CLEAR_NR",
        "FREEZE_AT_TIME",
        "FREEZE_AT_TIME_NR",
        "COLD_RESTART",
        "WARM_RESTART",
        "INITIALIZE_DATA",
        "INITIALIZE_APPL",
        "START_APPL",
        "STOP_APPL",
        "SAVE_CONFIG",
        "ENABLE_UNSOLICITED",
        "DISABLE_UNSOLICITED",
        "ASSIGN_CLASS",
        "DELAY_MEASURE",
        "RECORD_CURRENT_TIME",
        "OPEN_FILE",
        "CLOSE_FILE",
        "DELETE_FILE",
        "GET_FILE_INFO",
        "AUTHENTICATE_FILE",
        "ABORT_FILE",
        "ACTIVATE_CONFIG",
        "AUTHENTICATE_REQ",
        "AUTHENTICATE_ERR",
    ];
    match f {
        0x81 => Text::const_new("RESPONSE"),
        0x82 => Text::const_new("UNSOLICITED_RESPONSE"),
        0x83 => Text::const_new("AUTHENTICATE_RESP"),
        _ => REQ
            .get(usize::from(f))
            .map_or_else(|| format_compact!("unknown-{f}"), |s| Text::const_new(s)),
    }
}

pub fn object(group: u8, variation: u8) -> Text {
    let name = match (group, variation) {
        (1, 0) => "Binary Input Default Variation",
        (1, 1) => "Single-Bit Binary Input",
        (1, 2) => "Binary Input With Status",
        (2, 0) => "Binary Input Change Default Variation",
        (2, 1) => "Binary Input Change Without Time",
        (2, 2) => "Binary Input Change With Time",
        (2, 3) => "Binary Input Change With Relative Time",
        (3, 1) => "Double-bit Input No Flags",
        (3, 2) => "Double-bit Input With Flags",
        (10, 0) => "Binary Output Default Variation",
        (10, 1) => "Binary Output",
        (10, 2) => "Binary Output Status",
        (12, 1) => "Control Relay Output Block",
        (12, 2) => "Pattern Control Block",
        (20, 0) => "Binary Counter Default Variation",
        (20, 1) => "32-Bit Binary Counter",
        (20, 2) => "16-Bit Binary Counter",
        (20, 5) => "32-Bit Binary Counter Without Flag",
        (20, 6) => "16-Bit Binary Counter Without Flag",
        (21, 1) => "32-Bit Frozen Counter",
        (21, 2) => "16-Bit Frozen Counter",
        (22, 1) => "32-Bit Counter Change Event Without Time",
        (22, 2) => "16-Bit Counter Change Event Without Time",
        (30, 0) => "Analog Input Default Variation",
        (30, 1) => "32-Bit Analog Input",
        (30, 2) => "16-Bit Analog Input",
        (30, 3) => "32-Bit Analog Input Without Flag",
        (30, 4) => "16-Bit Analog Input Without Flag",
        (30, 5) => "Short Floating Point Analog Input",
        (30, 6) => "Long Floating Point Analog Input",
        (32, 1) => "32-Bit Analog Change Event Without Time",
        (32, 2) => "16-Bit Analog Change Event Without Time",
        (32, 3) => "32-Bit Analog Change Event With Time",
        (32, 4) => "16-Bit Analog Change Event With Time",
        (40, 0) => "Analog Output Status Default Variation",
        (40, 1) => "32-Bit Analog Output Status",
        (40, 2) => "16-Bit Analog Output Status",
        (40, 3) => "Short Floating Point Analog Output Status",
        (41, 1) => "32-Bit Analog Output Block",
        (41, 2) => "16-Bit Analog Output Block",
        (41, 3) => "Short Floating Point Analog Output Block",
        (50, 1) => "Time and Date",
        (50, 3) => "Time and Date Last Recorded Time",
        (51, 1) => "Time and Date CTO",
        (51, 2) => "Unsynchronized Time and Date CTO",
        (52, 1) => "Time Delay Coarse",
        (52, 2) => "Time Delay Fine",
        (60, 1) => "Class 0 Data",
        (60, 2) => "Class 1 Data",
        (60, 3) => "Class 2 Data",
        (60, 4) => "Class 3 Data",
        (70, 3) => "File Command",
        (70, 4) => "File Command Status",
        (70, 5) => "File Transport",
        (70, 6) => "File Transport Status",
        (80, 1) => "Internal Indications",
        _ => return format_compact!("unknown-{group}-{variation}"),
    };
    Text::const_new(name)
}

pub fn trip_control(code: u8) -> &'static str {
    match code {
        0 => "Nul",
        1 => "Close",
        2 => "Trip",
        _ => "Reserved",
    }
}

pub fn operation(op: u8) -> &'static str {
    match op {
        0 => "Nul",
        1 => "Pulse On",
        2 => "Pulse Off",
        3 => "Latch On",
        4 => "Latch Off",
        _ => "Undefined",
    }
}

pub fn control_status(s: u8) -> Text {
    const NAMES: [&str; 19] = [
        "Success",
        "Timeout",
        "No Select",
        "Format Error",
        "Not Supported",
        "Already Active",
        "Hardware Error",
        "Local",
        "Too Many Objs",
        "Not Authorized",
        "Automation Inhibit",
        "Processing Limited",
        "Out of Range",
        "Downstream Local",
        "Already Complete",
        "Blocked",
        "Canceled",
        "Blocked Other Master",
        "Downstream Fail",
    ];
    NAMES
        .get(usize::from(s))
        .map_or_else(|| format_compact!("unknown-{s}"), |n| Text::const_new(n))
}
