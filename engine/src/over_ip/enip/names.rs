//! Names of ENIP and CIP code points, spelled as ICSNPP logs them.

use compact_str::format_compact;
use osect_wire::Text;
pub fn command(c: u16) -> &'static str {
    match c {
        0x00 => "NOP",
        0x04 => "List Services",
        0x63 => "List Identity",
        0x64 => "List Interfaces",
        0x65 => "Register Session",
        0x66 => "Unregister Session",
        0x6f => "Send RR Data",
        0x70 => "Send Unit Data",
        0x72 => "Indicate Status",
        0x73 => "Cancel",
        _ => "unknown",
    }
}

pub fn enip_status(s: u32) -> Text {
    match s {
        0x00 => "Success",
        0x01 => "Invalid/Unsupported Command",
        0x02 => "Insufficient Memory Resources",
        0x03 => "Malformed or Incorrect Data",
        0x64 => "Invalid Session Handle",
        0x65 => "Invalid Length",
        0x69 => "Unsupported Protocol Version",
        0x6a => "CIP Service Not Allowed",
        _ => return format_compact!("Unknown ENIP Status-0x{s:02x}"),
    }
    .into()
}

pub fn cip_status(s: u8) -> Text {
    const NAMES: [&str; 0x2d] = [
        "Success",
        "Connection Failure",
        "Resource Unavailable",
        "Invalid Parameter Value",
        "Path Segment Error",
        "Path Destination Unknown",
        "Partial Transfer",
        "Connection Lost",
        "Service Not Supported",
        "Invalid Attribute Value",
        "Attribute List Error",
        "Already In Requested Mode/State",
        "Object State Conflict",
        "Object Already Exists",
        "Attribute Not Settable",
        "Privilege Violation",
        "Device State Conflict",
        "Reply Data Too Large",
        "Fragmentation Of A Primitive Value",
        "Not Enough Data",
        "Attribute Not Supported",
        "Too Much Data",
        "Object Does Not Exist",
        "Service Fragmentation Sequence Not In Progress",
        "No Stored Attribute Data",
        "Store Operation Failure",
        "Routing Failure, Request Packet Too Large",
        "Routing Failure, Response Packet Too Large",
        "Missing Attribute List Entry Data",
        "Invalid Attribute Value List",
        "Embedded Service Error",
        "Vendor Specific Error",
        "Invalid Parameter",
        "Write-Once Value Or Medium Already Written",
        "Invalid Reply Received",
        "Buffer Overflow",
        "Invalid Message Format",
        "Key Failure In Path",
        "Path Size Invalid",
        "Unexpected Attribute In List",
        "Invalid Member ID",
        "Member Not Settable",
        "Group 2 Only Server General Failure",
        "Unknown Modbus Error",
        "Attribute Not Gettable",
    ];
    match NAMES.get(usize::from(s)) {
        Some(n) => Text::const_new(n),
        None if s == 0xff => Text::const_new("Still Processing"),
        None => format_compact!("Unknown CIP Status-0x{s:02x}"),
    }
}

pub fn extended_status(e: u16) -> Text {
    match e {
        0x100 => "Connection in use or duplicate Forward Open",
        0x103 => "Transport class and trigger combination not supported",
        0x106 => "Ownership conflict",
        0x107 => "Target connection not found",
        0x108 => "Invalid network connection parameter",
        0x109 => "Invalid connection size",
        0x110 => "Target for connection not configured",
        0x111 => "RPI not supported",
        0x113 => "Out of connections",
        0x114 => "Vendor ID or product code mismatch",
        0x115 => "Device type mismatch",
        0x116 => "Revision mismatch",
        0x203 => "Connection timed out",
        0x204 => "Unconnected request timed out",
        0x205 => "Parameter error in unconnected request",
        0x206 => "Message too large for UnconnectedSend",
        0x311 => "Port not available",
        0x312 => "Link address not valid",
        0x315 => "Invalid segment in connection path",
        _ => return format_compact!("Unknown Extended Status-0x{e:04x}"),
    }
    .into()
}

pub fn service(s: u8) -> &'static str {
    match s {
        0x01 => "Get Attributes All",
        0x02 => "Set Attributes All",
        0x03 => "Get Attribute List",
        0x04 => "Set Attribute List",
        0x05 => "Reset",
        0x06 => "Start",
        0x07 => "Stop",
        0x08 => "Create",
        0x09 => "Delete",
        0x0a => "Multiple Service Packet",
        0x0d => "Apply Attributes",
        0x0e => "Get Attributes Single",
        0x10 => "Set Attributes Single",
        0x11 => "Find Next Object Instance",
        0x15 => "Restore",
        0x16 => "Save",
        0x17 => "No Forward Open",
        0x18 => "Get Member",
        0x19 => "Set Member",
        0x1a => "Insert Member",
        0x1b => "Remove Member",
        0x1c => "Group Sync",
        0x1d => "Get Connection Point Member List",
        0x4b => "Execute PCCC Service",
        0x4c => "Read Data",
        0x4d => "Write Data",
        0x4e => "Read Write Modify Data",
        0x52 => "Read Data Fragmented",
        0x53 => "Write Data Fragmented",
        0x54 => "Forward Open",
        _ => "unknown",
    }
}

pub fn class(c: u32) -> &'static str {
    match c {
        0x00 => "",
        0x01 => "Identity",
        0x02 => "Message Router",
        0x03 => "DeviceNet",
        0x04 => "Assembly",
        0x05 => "Connection",
        0x06 => "Connection Manager",
        0x07 => "Register",
        0x08 => "Discrete Input Point",
        0x09 => "Discrete Output Point",
        0x0a => "Analog Input Point",
        0x0b => "Analog Output Point",
        0x0e => "Presence Sensing",
        0x0f => "Parameter",
        0x10 => "Parameter Group",
        0x12 => "Group",
        0x37 => "File",
        0x41 => "Event Log",
        0x43 => "Time Sync",
        0x44 => "Modbus",
        0x47 => "Device Level Ring (DLR)",
        0x48 => "QoS",
        0x67 => "PCCC Class",
        0xf0 => "ControlNet",
        0xf4 => "Port",
        0xf5 => "TCP/IP Interface",
        0xf6 => "Ethernet Link",
        _ => "unknown",
    }
}

/// Vendor names of the ODVA registry for the most common vendors.
pub fn vendor(v: u16) -> &'static str {
    match v {
        0 => "Reserved",
        1 => "Rockwell Automation/Allen-Bradley",
        2 => "Namco Controls Corp.",
        3 => "Honeywell Inc.",
        5 => "Rockwell Automation/Reliance Elec.",
        7 => "SMC Corporation",
        8 => "Molex Incorporated",
        12 => "Banner Engineering Corp.",
        26 => "Festo Corporation",
        40 => "WAGO Corporation",
        44 => "Yaskawa Electric Corporation",
        47 => "OMRON Corporation",
        48 => "Turck",
        50 => "Hirschmann Automation and Control GmbH",
        58 => "Phoenix Contact",
        90 => "HMS Industrial Networks AB",
        108 => "Beckhoff Automation GmbH",
        161 => "Mitsubishi Electric Automation, Inc.",
        243 => "Schneider Automation, Inc.",
        283 => "Hilscher GmbH",
        _ => "unknown",
    }
}

pub fn device_type(t: u16) -> &'static str {
    match t {
        0 => "Generic Device (deprecated)",
        2 => "AC Drive",
        3 => "Motor Overload",
        4 => "Limit Switch",
        5 => "Inductive Proximity Switch",
        6 => "Photoelectric Sensor",
        7 => "General Purpose Discrete I/O",
        9 => "Resolver",
        12 => "Communications Adapter",
        14 => "Programmable Logic Controller",
        16 => "Position Controller",
        19 => "DC Drive",
        21 => "Contactor",
        22 => "Motor Starter",
        23 => "Soft Start",
        24 => "Human-Machine Interface",
        26 => "Mass Flow Controller",
        27 => "Pneumatic Valve",
        28 => "Vacuum Pressure Gauge",
        34 => "Encoder",
        35 => "Safety Discrete I/O Device",
        37 => "CIP Motion Drive",
        43 => "Generic Device (keyable)",
        44 => "Managed Switch",
        _ => "unknown",
    }
}
