//! Mitsubishi SLMP / MC protocol over TCP or UDP: `slmp`, one row per
//! message with the frame type, command and subcommand (a response takes
//! them from its request, matched by serial number or order), the device
//! range of batch reads and writes, the end code, and remote RUN/STOP
//! operations. A Read Type Name reply gives the asset ledger the CPU model.
//!
//! Recognised by the subheader (0x5000/0xd000 3E, 0x5400/0xd400 4E,
//! 0x0068/0x00e8 CC-Link IE TSN, or their ASCII forms) and a data length
//! consistent with the message, on any port. Every message carries its
//! header, so a session joined mid-stream is decoded from its next message.
//!
//! Uplink aggregation key: `uid frame_type pdu_type command subcommand
//! device head_device points end_code`.

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
use std::collections::VecDeque;

pub static SLMP: LogSchema = LogSchema {
    path: "slmp",
    fields: flow_dir_fields![
        field("frame_type", FieldType::String),
        field("pdu_type", FieldType::String),
        field("serial", FieldType::Count),
        field("network", FieldType::Count),
        field("station", FieldType::Count),
        field("module_io", FieldType::String),
        field("command", FieldType::String),
        field("command_name", FieldType::String),
        field("subcommand", FieldType::String),
        field("device", FieldType::String),
        field("head_device", FieldType::Count),
        field("points", FieldType::Count),
        field("remote_operation", FieldType::String),
        field("end_code", FieldType::String),
        field("model", FieldType::String),
    ],
};

/// Requests waiting for their response, per connection.
pub const MAX_PENDING: usize = 32;

/// Recognises an SLMP message.
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let h = wire::parse(data).ok()?;
    let ok = match t {
        Transport::Udp => h.len == data.len(),
        Transport::Tcp => true,
        _ => false,
    };
    ok.then(|| Box::new(Slmp::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Slmp {
    pending: VecDeque<(Option<u16>, u16, u16)>,
    roles_seen: bool,
    /// Requests forgotten unanswered because [`MAX_PENDING`] were waiting.
    pub dropped: u64,
}

fn frame_len(b: &[u8]) -> Result<usize, Error> {
    wire::parse(b).map(|h| h.len)
}

impl AppParser for Slmp {
    fn service(&self) -> &'static str {
        "slmp"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if ctx.flow.id.proto == Transport::Udp {
            if let Ok(h) = wire::parse(data) {
                self.message(ctx, dir, &h, data);
            }
            return data.len();
        }
        let mut pos = 0;
        while let Some(frame) = next_frame(data, &mut pos, frame_len) {
            if let Ok(h) = wire::parse(frame) {
                self.message(ctx, dir, &h, frame);
            }
        }
        pos
    }
}

impl Slmp {
    fn message(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, h: &wire::Header, frame: &[u8]) {
        if !self.roles_seen {
            self.roles_seen = true;
            let (client, server) = if h.response {
                (common::receiver(ctx, dir), common::sender(ctx, dir))
            } else {
                (common::sender(ctx, dir), common::receiver(ctx, dir))
            };
            ctx.out
                .assets
                .observe_role(ctx.ts, server, descriptor::SERVER);
            ctx.out
                .assets
                .observe_role(ctx.ts, client, descriptor::CLIENT);
        }
        let binary = matches!(
            h.kind,
            wire::Kind::Binary3E | wire::Kind::Binary4E | wire::Kind::BinaryTsn
        );
        let data = frame.get(h.data_at..h.len).unwrap_or(&[]);
        let (command, subcommand) = if h.response && h.command.is_some() {
            (h.command, h.subcommand)
        } else if h.response {
            // A response names its request by serial number (4E, TSN) or
            // comes next in order (3E).
            let i = match h.serial {
                Some(s) => self.pending.iter().position(|p| p.0 == Some(s)),
                None => (!self.pending.is_empty()).then_some(0),
            };
            match i.and_then(|i| self.pending.remove(i)) {
                Some((_, c, s)) => (Some(c), Some(s)),
                None => (None, None),
            }
        } else {
            if let (Some(c), Some(s)) = (h.command, h.subcommand) {
                if self.pending.len() >= MAX_PENDING {
                    self.pending.pop_front();
                    self.dropped += 1;
                }
                self.pending.push_back((h.serial, c, s));
            }
            (h.command, h.subcommand)
        };
        let range = (!h.response && binary && matches!(command, Some(0x0401 | 0x1401)))
            .then(|| wire::device_range(data, subcommand.unwrap_or(0)))
            .flatten();
        let remote = command.and_then(remote_operation);
        let model = (h.response && command == Some(0x0101) && h.end_code == Some(0) && binary)
            .then(|| data.get(..16).map(wire_text))
            .flatten();
        if let Some(m) = &model {
            let host = common::sender(ctx, dir);
            ctx.out.assets.observe_identity(
                ctx.ts,
                host,
                &Identity {
                    source: descriptor::IDENTITY,
                    vendor: Some("Mitsubishi Electric"),
                    model: Some(m),
                    ..Identity::default()
                },
            );
        }
        Row::flow_dir(ctx, &SLMP, dir)
            .push(h.kind.as_str())
            .push(if h.response { "response" } else { "request" })
            .push(h.serial.map(|s| Value::Count(u64::from(s))))
            .push(Value::Count(u64::from(h.network)))
            .push(Value::Count(u64::from(h.station)))
            .push(hex(u64::from(h.module_io), 4))
            .push(command.map(|c| hex(u64::from(c), 4)))
            .push(command.map(|c| command_name(c, subcommand.unwrap_or(0))))
            .push(subcommand.map(|s| hex(u64::from(s), 4)))
            .push(range.map(|r| device_name(r.code)))
            .push(range.map(|r| Value::Count(u64::from(r.head))))
            .push(range.map(|r| Value::Count(u64::from(r.points))))
            .push(remote)
            .push(h.end_code.map(|e| hex(u64::from(e), 4)))
            .push(model)
            .emit(ctx);
    }
}

fn remote_operation(c: u16) -> Option<&'static str> {
    Some(match c {
        0x1001 => "RUN",
        0x1002 => "STOP",
        0x1003 => "PAUSE",
        0x1005 => "LATCH CLEAR",
        0x1006 => "RESET",
        _ => return None,
    })
}

/// Command names of the SLMP specification.
pub fn command_name(c: u16, sub: u16) -> Text {
    let n = match (c, sub) {
        (0x0401, _) => "Device Read",
        (0x1401, _) => "Device Write",
        (0x0403, _) => "Device Read Random",
        (0x1402, _) => "Device Write Random",
        (0x0406, _) => "Device Read Block",
        (0x1406, _) => "Device Write Block",
        (0x0801, _) => "Device Entry Monitor",
        (0x0802, _) => "Device Execute Monitor",
        (0x041a, _) => "Label Array Read",
        (0x141a, _) => "Label Array Write",
        (0x041c, _) => "Label Read Random",
        (0x141b, _) => "Label Write Random",
        (0x0613, _) => "Memory Read",
        (0x1613, _) => "Memory Write",
        (0x0601, _) => "Extend Unit Read",
        (0x1601, _) => "Extend Unit Write",
        (0x1001, _) => "Remote Run",
        (0x1002, _) => "Remote Stop",
        (0x1003, _) => "Remote Pause",
        (0x1005, _) => "Remote Latch Clear",
        (0x1006, _) => "Remote Reset",
        (0x0101, _) => "Read Type Name",
        (0x1630, _) => "Remote Password Unlock",
        (0x1631, _) => "Remote Password Lock",
        (0x0619, _) => "Self Test",
        (0x1617, _) => "Clear Error",
        (0x0e28, _) => "Device Identification Info Get",
        (0x0e30, _) => "Node Search",
        (0x0e31, _) => "IP Address Set",
        (0x0e33, _) => "Parameter Get",
        (0x0e34, _) => "Parameter Set",
        (0x0e44, _) => "Status Read",
        (0x0e90, 0) => "Network Config Main",
        (0x0e90, 1) => "Network Config Tslt",
        (0x0e91, _) => "Master Config",
        (0x0e92, _) => "Slave Config",
        (0x0e93, 0) => "Cyclic Config Main",
        (0x0e93, 1) => "Cyclic Config Trn Sub Payload",
        (0x0e93, 2) => "Cyclic Config Rcv Sub Payload",
        (0x0e93, 3) => "Cyclic Config Rcv Src Info",
        (0x0e94, _) => "Notification",
        _ => return format_compact!("unknown-0x{c:04x}"),
    };
    Text::const_new(n)
}

/// Device names of binary device codes.
pub fn device_name(code: u16) -> Text {
    let n = match code {
        0x9c => "X",
        0x9d => "Y",
        0x90 => "M",
        0x92 => "L",
        0x93 => "F",
        0x94 => "V",
        0xa0 => "B",
        0xa8 => "D",
        0xb4 => "W",
        0xc1 => "TS",
        0xc0 => "TC",
        0xc2 => "TN",
        0xc4 => "CS",
        0xc3 => "CC",
        0xc5 => "CN",
        0xa1 => "SB",
        0xb5 => "SW",
        0x98 => "S",
        0x91 => "SM",
        0xa9 => "SD",
        0xcc => "Z",
        0xaf => "R",
        0xb0 => "ZR",
        0xdc => "DX",
        0xdd => "DY",
        _ => return format_compact!("0x{code:02x}"),
    };
    Text::const_new(n)
}
