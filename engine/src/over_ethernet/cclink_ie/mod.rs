//! CC-Link IE Field and CC-Link IE Control (EtherType 0x890f): `cclink_ie`,
//! one row per frame with the network (from the protocol type nibble), the
//! frame type, the source node number, and the node id, node type or
//! connection information the frame type carries.
//!
//! The 14-byte header: frame type, data type, four type-specific bytes,
//! source node number (big-endian), protocol version/type, reserved, and a
//! 4-byte header check that is not verified (its algorithm is not public).
//! Cyclic bodies are not decoded: their layout comes from the network
//! parameters, not the frame.
//!
//! Uplink aggregation key (as NTT's CC-Link parsers aggregate): `src_mac
//! dst_mac service pdu_type node_type node_id connection_info
//! src_node_number`.

pub mod descriptor;

use crate::l2_fields;
use crate::over_ethernet::Frame;
use crate::over_ip::common::{frame_sender, Row};
use crate::over_ip::Output;
use crate::text::hex;
use compact_str::format_compact;
use osect_wire::record::field;
use osect_wire::Text;
use osect_wire::{FieldType, LogSchema, Value};

pub static CCLINK_IE: LogSchema = LogSchema {
    path: "cclink_ie",
    fields: l2_fields![
        field("service", FieldType::String),
        field("pdu_type", FieldType::String),
        field("frame_type", FieldType::String),
        field("data_type", FieldType::Count),
        field("node_type", FieldType::String),
        field("node_id", FieldType::Count),
        field("connection_info", FieldType::String),
        field("src_node_number", FieldType::String),
        field("protocol_version", FieldType::Count),
    ],
};

pub const ETHERTYPE: u16 = 0x890f;
pub const HEADER_LEN: usize = 14;

/// The checked common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub frame_type: u8,
    pub data_type: u8,
    pub middle: [u8; 4],
    pub src_node: u16,
    pub version: u8,
    pub network: u8,
}

/// Parses the header of a 0x890f payload.
pub fn parse(b: &[u8]) -> Option<Header> {
    let h = b.get(..HEADER_LEN)?;
    Some(Header {
        frame_type: h[0],
        data_type: h[1],
        middle: [h[2], h[3], h[4], h[5]],
        src_node: u16::from_be_bytes([h[6], h[7]]),
        version: h[8] >> 4,
        network: h[8] & 0x0f,
    })
}

/// How the four type-specific bytes are laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Middle {
    NodeId,
    NodeIdNodeType,
    NodeIdConnection,
    PriorityNodeType,
    Reserved,
    ScanNumber,
}

fn frame_type(t: u8) -> Option<(&'static str, Middle)> {
    use Middle::*;
    Some(match t {
        0x00 => ("connect", ScanNumber),
        0x01 => ("connectAck", ScanNumber),
        0x02 => ("scan", ScanNumber),
        0x03 => ("collect", ScanNumber),
        0x04 => ("select", ScanNumber),
        0x05 => ("launch", ScanNumber),
        0x06 => ("token", ScanNumber),
        0x24 => ("dummy", ScanNumber),
        0x2f => ("ntnTest", ScanNumber),
        0x80 => ("cyclicDataW", ScanNumber),
        0x81 => ("cyclicDataB", ScanNumber),
        0x8c => ("cyclicDataOut1", ScanNumber),
        0x8d => ("cyclicDataOut2", ScanNumber),
        0x8e => ("cyclicDataIn1", ScanNumber),
        0x8f => ("cyclicDataIn2", ScanNumber),
        0x10 => ("persuasion", PriorityNodeType),
        0x11 => ("testData", PriorityNodeType),
        0x12 => ("testDataAck", PriorityNodeType),
        0x13 => ("setup", NodeId),
        0x14 => ("setupAck", Reserved),
        0x15 => ("tokenM", NodeId),
        0x1c => ("timer", Reserved),
        0x20 => ("myStatus", NodeIdNodeType),
        0x40 => ("measure", NodeId),
        0x41 => ("measureAck", NodeId),
        0x42 => ("offset", NodeId),
        0x43 => ("update", NodeId),
        0x82 => ("cyclicDataRWw", NodeId),
        0x83 => ("cyclicDataRY", NodeId),
        0x84 => ("cyclicDataRWr", NodeId),
        0x85 => ("cyclicDataRX", NodeId),
        0x22 => ("transient1", NodeIdConnection),
        0x23 => ("transientAck", NodeIdConnection),
        0x25 => ("transient2", NodeIdConnection),
        0x26 => ("ipTransient", NodeIdConnection),
        0x28 => ("paramCheck", NodeIdConnection),
        0x29 => ("parameter", NodeIdConnection),
        _ => return None,
    })
}

fn node_type(network: u8, t: u8) -> Text {
    let n = match (network, t) {
        (1, 0) => "master node",
        (1, 2) => "local node",
        (1, 3) => "intelligent device node",
        (1, 4) => "remote device node",
        (1, 5) => "remote I/O node",
        (0, 0) => "management node",
        (0, 2) => "normal node",
        _ => return format_compact!("unknown-{t}"),
    };
    Text::const_new(n)
}

/// Decodes a CC-Link IE Field/Control frame. Returns whether it was one.
pub fn handle(frame: &Frame<'_>, out: &mut Output<'_>) -> bool {
    if frame.ethertype != ETHERTYPE {
        return false;
    }
    let Some(h) = parse(frame.payload) else {
        return false;
    };
    let service = match h.network {
        0 => "cclink_ie_control",
        1 => "cclink_ie_field",
        3 => "cclink_ie_tsn",
        _ => "cclink_ie",
    };
    let named = frame_type(h.frame_type);
    let m = h.middle;
    let (node_id, ntype, conn) = match named.map(|n| n.1) {
        Some(Middle::NodeId) => (Some(u16::from_be_bytes([m[0], m[1]])), None, None),
        Some(Middle::NodeIdNodeType) => (Some(u16::from_be_bytes([m[0], m[1]])), Some(m[3]), None),
        Some(Middle::NodeIdConnection) => (
            Some(u16::from_be_bytes([m[0], m[1]])),
            None,
            Some(u16::from_be_bytes([m[2], m[3]])),
        ),
        Some(Middle::PriorityNodeType) => (None, Some(m[3]), None),
        _ => (None, None, None),
    };
    if h.frame_type == 0x15 || (ntype == Some(0) && h.network == 1) {
        out.assets
            .observe_role(frame.ts, frame_sender(frame), descriptor::MASTER);
    } else if matches!(h.frame_type, 0x84 | 0x85) {
        out.assets
            .observe_role(frame.ts, frame_sender(frame), descriptor::SLAVE);
    }
    Row::l2(frame, &CCLINK_IE)
        .push(service)
        .push(named.map_or_else(
            || format!("unknown-0x{:02x}", h.frame_type),
            |n| n.0.to_owned(),
        ))
        .push(hex(u64::from(h.frame_type), 2))
        .push(Value::Count(u64::from(h.data_type)))
        .push(ntype.map(|t| node_type(h.network, t)))
        .push(node_id.map(|n| Value::Count(u64::from(n))))
        .push(conn.map(|c| hex(u64::from(c), 4)))
        .push(hex(u64::from(h.src_node), 4))
        .push(Value::Count(u64::from(h.version)))
        .emit_l2(out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_of_a_real_frame() {
        // nttcom cclinkfield-cclinkcontrol trace, frame 1 (after Ethernet).
        let p = [
            0x26, // frame type: IP transient
            0x04, // data type
            0x00, 0x00, // node id
            0x13, 0x01, // connection info
            0x00, 0x00, // source node number
            0x01, // protocol version 0, type 1 (Field)
            0x00, // reserved
            0x00, 0x00, 0x00, 0x00, // header check
        ];
        let h = parse(&p).unwrap();
        assert_eq!((h.frame_type, h.network, h.src_node), (0x26, 1, 0));
        assert_eq!(frame_type(h.frame_type).map(|f| f.0), Some("ipTransient"));
        assert!(parse(&p[..13]).is_none());
    }
}
