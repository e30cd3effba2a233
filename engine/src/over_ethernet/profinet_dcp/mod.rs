//! PROFINET DCP (EtherType 0x8892, frame ids 0xfefc-0xfeff):
//! `profinet_dcp`, one row per DCP PDU: service (identify, get, set,
//! hello), request or response, transaction id, and the device blocks of a
//! response or hello: station name, type of station, vendor and device id,
//! device role, IP address, mask and gateway. A device's answer gives the
//! asset ledger its name, vendor text and ids.
//!
//! Uplink aggregation key: `src_mac service service_type station_name
//! vendor_id device_id ip`.

pub mod descriptor;

use crate::asset::{HostRef, Identity};
use crate::l2_fields;
use crate::over_ethernet::Frame;
use crate::over_ip::common::{frame_sender, Row};
use crate::over_ip::Output;
use crate::text::{hex, wire_text};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};
use std::net::{IpAddr, Ipv4Addr};

pub static PROFINET_DCP: LogSchema = LogSchema {
    path: "profinet_dcp",
    fields: l2_fields![
        field("service", FieldType::String),
        field("service_type", FieldType::String),
        field("xid", FieldType::String),
        field("station_name", FieldType::String),
        field("type_of_station", FieldType::String),
        field("vendor_id", FieldType::String),
        field("device_id", FieldType::String),
        field("device_role", FieldType::String),
        field("ip", FieldType::Addr),
        field("netmask", FieldType::Addr),
        field("gateway", FieldType::Addr),
    ],
};

pub const ETHERTYPE: u16 = 0x8892;
/// Blocks decoded from one PDU at most.
pub const MAX_BLOCKS: usize = 32;

/// What one DCP PDU says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pdu {
    pub frame_id: u16,
    pub service_id: u8,
    pub service_type: u8,
    pub xid: u32,
    pub station_name: Option<String>,
    pub type_of_station: Option<String>,
    pub ids: Option<(u16, u16)>,
    pub role: Option<u8>,
    pub ip: Option<[Ipv4Addr; 3]>,
}

/// Parses a DCP PDU (the Ethernet payload, frame id first).
pub fn parse(b: &[u8]) -> Option<Pdu> {
    let frame_id = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
    if !(0xfefc..=0xfeff).contains(&frame_id) {
        return None;
    }
    let service_id = *b.get(2)?;
    if !(3..=6).contains(&service_id) {
        return None;
    }
    let mut p = Pdu {
        frame_id,
        service_id,
        service_type: *b.get(3)?,
        xid: u32::from_be_bytes(b.get(4..8)?.try_into().ok()?),
        ..Pdu::default()
    };
    let len = usize::from(u16::from_be_bytes([*b.get(10)?, *b.get(11)?]));
    let blocks = b.get(12..(12 + len).min(b.len()))?;
    // Responses and hellos carry a block info word before each block's data.
    let info = p.service_type & 0x01 != 0 || service_id == 6;
    let mut at = 0;
    for _ in 0..MAX_BLOCKS {
        let (Some(&opt), Some(&sub)) = (blocks.get(at), blocks.get(at + 1)) else {
            break;
        };
        let Some(l) = blocks
            .get(at + 2..at + 4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            break;
        };
        let Some(data) = blocks.get(at + 4..at + 4 + l) else {
            break;
        };
        let data = if info {
            data.get(2..).unwrap_or(&[])
        } else {
            data
        };
        match (opt, sub) {
            (2, 1) => p.type_of_station = Some(wire_text(data)),
            (2, 2) => p.station_name = Some(wire_text(data)),
            (2, 3) if data.len() >= 4 => {
                p.ids = Some((
                    u16::from_be_bytes([data[0], data[1]]),
                    u16::from_be_bytes([data[2], data[3]]),
                ));
            }
            (2, 4) => p.role = data.first().copied(),
            (1, 2) if data.len() >= 12 => {
                let a = |i: usize| Ipv4Addr::new(data[i], data[i + 1], data[i + 2], data[i + 3]);
                p.ip = Some([a(0), a(4), a(8)]);
            }
            _ => {}
        }
        at += 4 + l + l % 2;
    }
    Some(p)
}

fn service(id: u8) -> &'static str {
    match id {
        3 => "get",
        4 => "set",
        5 => "identify",
        6 => "hello",
        _ => "unknown",
    }
}

fn role(r: u8) -> String {
    let mut names = Vec::new();
    for (bit, n) in [
        (1, "IO-Device"),
        (2, "IO-Controller"),
        (4, "IO-Multidevice"),
        (8, "PN-Supervisor"),
    ] {
        if r & bit != 0 {
            names.push(n);
        }
    }
    names.join(",")
}

/// Decodes a DCP frame. Returns whether it was one.
pub fn handle(frame: &Frame<'_>, out: &mut Output<'_>) -> bool {
    if frame.ethertype != ETHERTYPE {
        return false;
    }
    let Some(p) = parse(frame.payload) else {
        return false;
    };
    let answer = p.service_type & 0x01 != 0 || p.service_id == 6;
    if answer {
        let host = HostRef {
            ip: p
                .ip
                .map(|a| IpAddr::V4(a[0]))
                .filter(|a| !a.is_unspecified()),
            ..frame_sender(frame)
        };
        let ids = p
            .ids
            .map(|(v, d)| format!("vendor 0x{v:04x} device 0x{d:04x}"));
        out.assets.observe_identity(
            frame.ts,
            host,
            &Identity {
                source: descriptor::IDENTITY,
                product: p.type_of_station.as_deref(),
                model: ids.as_deref(),
                ..Identity::default()
            },
        );
        if let Some(name) = &p.station_name {
            out.assets.observe_hostname(frame.ts, host, name);
        }
        let r = if p.role.unwrap_or(1) & 2 != 0 {
            descriptor::CONTROLLER
        } else {
            descriptor::DEVICE
        };
        out.assets.observe_role(frame.ts, host, r);
    }
    let addr = |i: usize| p.ip.map_or(Value::Unset, |a| Value::Addr(IpAddr::V4(a[i])));
    Row::l2(frame, &PROFINET_DCP)
        .push(service(p.service_id))
        .push(if answer { "response" } else { "request" })
        .push(hex(u64::from(p.xid), 8))
        .push(p.station_name.clone())
        .push(p.type_of_station.clone())
        .push(p.ids.map(|i| hex(u64::from(i.0), 4)))
        .push(p.ids.map(|i| hex(u64::from(i.1), 4)))
        .push(p.role.map(role))
        .push(addr(0))
        .push(addr(1))
        .push(addr(2))
        .emit_l2(out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_response() {
        let b = [
            0xfe, 0xff, // frame id: identify response
            0x05, 0x01, // service identify, response success
            0, 0, 0, 7, // xid
            0, 0, // reserved
            0, 22, // data length
            0x02, 0x02, 0, 6, 0, 0, b'p', b'l', b'c', b'-', // name of station (+ block info)
            0x02, 0x03, 0, 6, 0, 0, 0x00, 0x2a, 0x01, 0x01, // vendor and device id
        ];
        let p = parse(&b).unwrap();
        assert_eq!(p.station_name.as_deref(), Some("plc-"));
        assert_eq!(p.ids, Some((0x002a, 0x0101)));
        assert_eq!(p.xid, 7);
        assert!(parse(&b[..3]).is_none());
        assert!(parse(&[0x80, 0x00, 5, 0]).is_none());
    }
}
