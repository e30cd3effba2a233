//! Omron FINS over UDP and FINS/TCP: `fins`, one row per FINS command or
//! response with addresses, service id, command, memory area, address and
//! count of memory reads and writes, RUN/STOP, end code, and the controller
//! model and version of a Controller Data Read reply (also given to the
//! asset ledger).
//!
//! Recognised by the FINS header (reserved byte 0, gateway count up to 7,
//! a defined command code) in a UDP datagram, or the "FINS" magic of
//! FINS/TCP, on any port. FINS/TCP resynchronises on the next magic.
//!
//! Uplink aggregation key: `uid icf_type command memory_area address count
//! end_code`.

pub mod descriptor;

use compact_str::format_compact;
use osect_wire::Text;
pub mod wire;

use crate::asset::Identity;
use crate::bytes::Error;
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{hex, wire_text};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};

pub static FINS: LogSchema = LogSchema {
    path: "fins",
    fields: flow_dir_fields![
        field("icf_type", FieldType::String),
        field("dst_node", FieldType::String),
        field("src_node", FieldType::String),
        field("sid", FieldType::Count),
        field("command", FieldType::String),
        field("command_name", FieldType::String),
        field("memory_area", FieldType::String),
        field("address", FieldType::Count),
        field("count", FieldType::Count),
        field("items", FieldType::Count),
        field("run_stop", FieldType::String),
        field("end_code", FieldType::String),
        field("controller_model", FieldType::String),
        field("controller_version", FieldType::String),
    ],
};

/// Recognises FINS (UDP datagram) or FINS/TCP.
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let ok = match t {
        Transport::Udp => wire::parse(data).is_some(),
        Transport::Tcp => {
            matches!(wire::parse_tcp(data), Ok(_) | Err(Error::Truncated)) && data.len() >= 8
        }
        _ => false,
    };
    ok.then(|| Box::new(Fins::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Fins {
    roles_seen: bool,
}

fn frame_len(b: &[u8]) -> Result<usize, Error> {
    wire::parse_tcp(b).map(|(_, n)| n)
}

impl AppParser for Fins {
    fn service(&self) -> &'static str {
        "fins"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if ctx.flow.id.proto == Transport::Udp {
            self.frame(ctx, dir, data);
            return data.len();
        }
        let mut pos = 0;
        while let Some(m) = next_frame(data, &mut pos, frame_len) {
            if let Ok((f, _)) = wire::parse_tcp(m) {
                if f.command == 2 {
                    self.frame(ctx, dir, f.payload);
                }
            }
        }
        pos
    }
}

impl Fins {
    fn frame(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, b: &[u8]) {
        let Some((h, text)) = wire::parse(b) else {
            return;
        };
        let response = h.is_response();
        if !self.roles_seen {
            self.roles_seen = true;
            let (client, plc) = if response {
                (common::receiver(ctx, dir), common::sender(ctx, dir))
            } else {
                (common::sender(ctx, dir), common::receiver(ctx, dir))
            };
            ctx.out.assets.observe_role(ctx.ts, plc, descriptor::PLC);
            ctx.out
                .assets
                .observe_role(ctx.ts, client, descriptor::CLIENT);
        }
        let (end, data) = if response {
            (crate::bytes::be16(text, 0), text.get(2..).unwrap_or(&[]))
        } else {
            (None, text)
        };
        let mut area = None;
        let mut items = None;
        if !response {
            match h.command {
                0x0101..=0x0103 => area = wire::area(data),
                // Multiple read: four bytes per item, the first one logged.
                0x0104 => {
                    area = data
                        .get(..4)
                        .map(|a| (a[0], u16::from_be_bytes([a[1], a[2]]), a[3], 0));
                    items = Some(data.len() / 4);
                }
                _ => {}
            }
        }
        let run_stop = match h.command {
            0x0401 => Some("RUN"),
            0x0402 => Some("STOP"),
            _ => None,
        };
        let (model, version) = if response && h.command == 0x0501 && end == Some(0) {
            (
                data.get(..20).map(wire_text),
                data.get(20..40).map(wire_text),
            )
        } else {
            (None, None)
        };
        if model.is_some() {
            ctx.out.assets.observe_identity(
                ctx.ts,
                common::sender(ctx, dir),
                &Identity {
                    source: descriptor::IDENTITY,
                    vendor: Some("OMRON"),
                    model: model.as_deref(),
                    firmware: version.as_deref(),
                    ..Identity::default()
                },
            );
        }
        let node = |net: u8, node: u8, unit: u8| format!("{net}.{node}.{unit}");
        Row::flow_dir(ctx, &FINS, dir)
            .push(if response { "response" } else { "command" })
            .push(node(h.dna, h.da1, h.da2))
            .push(node(h.sna, h.sa1, h.sa2))
            .push(Value::Count(u64::from(h.sid)))
            .push(hex(u64::from(h.command), 4))
            .push(command_name(h.command))
            .push(area.map(|a| area_name(a.0)))
            .push(area.map(|a| Value::Count(u64::from(a.1))))
            .push(
                area.filter(|_| h.command != 0x0104)
                    .map(|a| Value::Count(u64::from(a.3))),
            )
            .push(items.map(|n| Value::Count(n as u64)))
            .push(run_stop)
            .push(end.map(|e| hex(u64::from(e), 4)))
            .push(model)
            .push(version)
            .emit(ctx);
    }
}

pub fn command_name(c: u16) -> &'static str {
    match c {
        0x0101 => "Memory Area Read",
        0x0102 => "Memory Area Write",
        0x0103 => "Memory Area Fill",
        0x0104 => "Multiple Memory Area Read",
        0x0105 => "Memory Area Transfer",
        0x0201 => "Parameter Area Read",
        0x0202 => "Parameter Area Write",
        0x0203 => "Parameter Area Clear",
        0x0304 => "Program Area Protect",
        0x0305 => "Program Area Protect Clear",
        0x0306 => "Program Area Read",
        0x0307 => "Program Area Write",
        0x0308 => "Program Area Clear",
        0x0401 => "Run",
        0x0402 => "Stop",
        0x0501 => "Controller Data Read",
        0x0502 => "Connection Data Read",
        0x0601 => "Controller Status Read",
        0x0620 => "Cycle Time Read",
        0x0701 => "Clock Read",
        0x0702 => "Clock Write",
        0x0920 => "Message Read",
        0x0c01 => "Access Right Acquire",
        0x0c02 => "Access Right Forced Acquire",
        0x0c03 => "Access Right Release",
        0x2101 => "Error Clear",
        0x2102 => "Error Log Read",
        0x2103 => "Error Log Clear",
        0x2201 => "File Name Read",
        0x2202 => "Single File Read",
        0x2203 => "Single File Write",
        0x2204 => "File Memory Format",
        0x2205 => "File Delete",
        0x2207 => "File Copy",
        0x2208 => "File Name Change",
        0x220a => "Memory Area File Transfer",
        0x220b => "Parameter Area File Transfer",
        0x220c => "Program Area File Transfer",
        0x2215 => "Create/Delete Directory",
        0x2301 => "Forced Set/Reset",
        0x2302 => "Forced Set/Reset Cancel",
        _ => "unknown",
    }
}

/// Memory area codes of the CS/CJ series.
pub fn area_name(a: u8) -> Text {
    let n = match a {
        0x30 => "CIO bit",
        0x31 => "WR bit",
        0x32 => "HR bit",
        0x33 => "AR bit",
        0xb0 => "CIO word",
        0xb1 => "WR word",
        0xb2 => "HR word",
        0xb3 => "AR word",
        0x02 => "DM bit",
        0x82 => "DM word",
        0x09 => "TIM/CNT flag",
        0x89 => "TIM/CNT PV",
        0x98 => "EM current bank word",
        0xbc => "IR",
        0xa0..=0xac => return format_compact!("EM bank {} word", a - 0xa0),
        0x20..=0x2c => return format_compact!("EM bank {} bit", a - 0x20),
        _ => return format_compact!("0x{a:02x}"),
    };
    Text::const_new(n)
}
