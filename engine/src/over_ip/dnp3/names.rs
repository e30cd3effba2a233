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

/// An object group and variation as ICSNPP's `dnp3_objects` table names
/// it (its spelling, e.g. "Single-bit Binary Input", "w/o Time").
/// `None` for the objects ICSNPP leaves out of dnp3_objects.log (its
/// table says "unknown").
pub fn icsnpp_object(group: u8, variation: u8) -> Option<&'static str> {
    Some(match (group, variation) {
        (1, 0) => "Binary Input Default Variation",
        (1, 1) => "Single-bit Binary Input",
        (1, 2) => "Binary Input With Status",
        (2, 0) => "Binary Input Change Default Variation",
        (2, 1) => "Binary Input Change Without Time",
        (2, 2) => "Binary Input Change With Time",
        (2, 3) => "Binary Input Change With Relative Time",
        (3, 0) => "Double-bit Input Default Variation",
        (3, 1) => "Double-bit Input No Flags",
        (3, 2) => "Double-bit Input With Status",
        (4, 0) => "Double-bit Input Change Default Variation",
        (4, 1) => "Double-bit Input Change Without Time",
        (4, 2) => "Double-bit Input Change With Time",
        (4, 3) => "Double-bit Input Change With Relative Time",
        (10, 0) => "Binary Output Default Variation",
        (10, 1) => "Binary Output",
        (10, 2) => "Binary Output Status",
        (11, 0) => "Binary Output Change Default Variation",
        (11, 1) => "Binary Output Change Without Time",
        (11, 2) => "Binary Output Change With Time",
        (20, 0) => "Binary Counter Default Variation",
        (20, 1) => "32-Bit Binary Counter",
        (20, 2) => "16-Bit Binary Counter",
        (20, 3) => "32-Bit Delta Counter",
        (20, 4) => "16-Bit Delta Counter",
        (20, 5) => "32-Bit Binary Counter Without Flag",
        (20, 6) => "16-Bit Binary Counter Without Flag",
        (20, 7) => "32-Bit Delta Counter Without Flag",
        (20, 8) => "16-Bit Delta Counter Without Flag",
        (21, 0) => "Frozen Binary Counter Default Variation",
        (21, 1) => "32-Bit Frozen Counter",
        (21, 2) => "16-Bit Frozen Counter",
        (21, 3) => "32-Bit Frozen Delta Counter",
        (21, 4) => "16-Bit Frozen Delta Counter",
        (21, 5) => "32-Bit Frozen Counter w/ Time of Freeze",
        (21, 6) => "16-Bit Frozen Counter w/ Time of Freeze",
        (21, 7) => "32-Bit Frozen Delta Counter w/ Time of Freeze",
        (21, 8) => "16-Bit Frozen Delta Counter w/ Time of Freeze",
        (21, 9) => "32-Bit Frozen Counter Without Flag",
        (21, 10) => "16-Bit Frozen Counter Without Flag",
        (21, 11) => "32-Bit Frozen Delta Counter Without Flag",
        (21, 12) => "16-Bit Frozen Delta Counter Without Flag",
        (22, 0) => "Counter Change Event Default Variation",
        (22, 1) => "32-Bit Counter Change Event w/o Time",
        (22, 2) => "16-Bit Counter Change Event w/o Time",
        (22, 3) => "32-Bit Delta Counter Change Event w/o Time",
        (22, 4) => "16-Bit Delta Counter Change Event w/o Time",
        (22, 5) => "32-Bit Counter Change Event with Time",
        (22, 6) => "16-Bit Counter Change Event with Time",
        (22, 7) => "32-Bit Delta Counter Change Event with Time",
        (22, 8) => "16-Bit Delta Counter Change Event with Time",
        (23, 0) => "Frozen Binary Counter Change Event Default Variation",
        (23, 1) => "32-Bit Frozen Counter Change Event",
        (23, 2) => "16-Bit Frozen Counter Change Event",
        (23, 3) => "32-Bit Frozen Delta Counter Change Event",
        (23, 4) => "16-Bit Frozen Delta Counter Change Event",
        (23, 5) => "32-Bit Frozen Counter Change Event w/ Time of Freeze",
        (23, 6) => "16-Bit Frozen Counter Change Event w/ Time of Freeze",
        (23, 7) => "32-Bit Frozen Delta Counter Change Event w/ Time of Freeze",
        (23, 8) => "16-Bit Frozen Delta Counter Change Event w/ Time of Freeze",
        (30, 0) => "Analog Input Default Variation",
        (30, 1) => "32-Bit Analog Input",
        (30, 2) => "16-Bit Analog Input",
        (30, 3) => "32-Bit Analog Input Without Flag",
        (30, 4) => "16-Bit Analog Input Without Flag",
        (30, 5) => "32-Bit Floating Point Input",
        (30, 6) => "64-Bit Floating Point Input",
        (31, 1) => "32-Bit Frozen Analog Input",
        (31, 2) => "16-Bit Frozen Analog Input",
        (31, 3) => "32-Bit Frozen Analog Input w/ Time of Freeze",
        (31, 4) => "16-Bit Frozen Analog Input w/ Time of Freeze",
        (31, 5) => "32-Bit Frozen Analog Input Without Flag",
        (31, 6) => "16-Bit Frozen Analog Input Without Flag",
        (31, 7) => "32-Bit Frozen Floating Point Input",
        (31, 8) => "64-Bit Frozen Floating Point Input",
        (32, 0) => "Analog Input Change Default Variation",
        (32, 1) => "32-Bit Analog Change Event w/o Time",
        (32, 2) => "16-Bit Analog Change Event w/o Time",
        (32, 3) => "32-Bit Analog Change Event w/ Time",
        (32, 4) => "16-Bit Analog Change Event w/ Time",
        (32, 5) => "32-Bit Floating Point Change Event w/o Time",
        (32, 6) => "64-Bit Floating Point Change Event w/o Time",
        (32, 7) => "32-Bit Floating Point Change Event w/ Time",
        (32, 8) => "64-Bit Floating Point Change Event w/ Time",
        (33, 1) => "32-Bit Frozen Analog Event w/o Time",
        (33, 2) => "16-Bit Frozen Analog Event w/o Time",
        (33, 3) => "32-Bit Frozen Analog Event w/ Time",
        (33, 4) => "16-Bit Frozen Analog Event w/ Time",
        (33, 5) => "32-Bit Floating Point Frozen Change Event w/o Time",
        (33, 6) => "64-Bit Floating Point Frozen Change Event w/o Time",
        (33, 7) => "32-Bit Floating Point Frozen Change Event w/ Time",
        (33, 8) => "64-Bit Floating Point Frozen Change Event w/ Time",
        (40, 0) => "Analog Output Default Variation",
        (40, 1) => "32-Bit Analog Output Status",
        (40, 2) => "16-Bit Analog Output Status",
        (40, 3) => "32-Bit Floating Point Output Status",
        (40, 4) => "64-Bit Floating Point Output Status",
        (41, 1) => "32-Bit Analog Output Block",
        (41, 2) => "16-Bit Analog Output Block",
        (41, 3) => "32-Bit Floating Point Output Block",
        (41, 4) => "64-Bit Floating Point Output Block",
        (42, 0) => "Analog Output Event Default Variation",
        (42, 1) => "32-Bit Analog Output Event w/o Time",
        (42, 2) => "16-Bit Analog Output Event w/o Time",
        (42, 3) => "32-Bit Analog Output Event w/ Time",
        (42, 4) => "16-Bit Analog Output Event w/ Time",
        (42, 5) => "32-Bit Floating Point Output Event w/o Time",
        (42, 6) => "64-Bit Floating Point Output Event w/o Time",
        (42, 7) => "32-Bit Floating Point Output Event w/ Time",
        (42, 8) => "64-Bit Floating Point Output Event w/ Time",
        (60, 1) => "Class 0 Data",
        (60, 2) => "Class 1 Data",
        (60, 3) => "Class 2 Data",
        (60, 4) => "Class 3 Data",
        _ => return None,
    })
}

/// An object's name: ICSNPP's where it has one, else the specification's
/// (time, control, file and indication objects) or `unknown-G-V`.
pub fn object(group: u8, variation: u8) -> Text {
    if let Some(name) = icsnpp_object(group, variation) {
        return Text::const_new(name);
    }
    let name = match (group, variation) {
        (12, 1) => "Control Relay Output Block",
        (12, 2) => "Pattern Control Block",
        (50, 1) => "Time and Date",
        (50, 3) => "Time and Date Last Recorded Time",
        (51, 1) => "Time and Date CTO",
        (51, 2) => "Unsynchronized Time and Date CTO",
        (52, 1) => "Time Delay Coarse",
        (52, 2) => "Time Delay Fine",
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
    match s {
        // IEEE 1815's last two codes, as ICSNPP names them.
        126 => Text::const_new("Non Participating"),
        127 => Text::const_new("Undefined"),
        _ => NAMES
            .get(usize::from(s))
            .map_or_else(|| format_compact!("unknown-{s}"), |n| Text::const_new(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_statuses_to_the_last_code() {
        assert_eq!(control_status(0).as_str(), "Success");
        assert_eq!(control_status(18).as_str(), "Downstream Fail");
        assert_eq!(control_status(19).as_str(), "unknown-19");
        assert_eq!(control_status(126).as_str(), "Non Participating");
        assert_eq!(control_status(127).as_str(), "Undefined");
    }
}
