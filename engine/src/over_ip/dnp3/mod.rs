//! DNP3 over TCP or UDP: `dnp3` (one row per response with the request
//! before it, as Zeek pairs them), `dnp3_objects` (one row per object
//! header, named as ICSNPP names it, with the count and range of response
//! headers only, as ICSNPP logs them) and `dnp3_control` (one row per
//! control relay output block), as ICSNPP logs them. ICSNPP writes object
//! rows for READ requests and RESPONSE replies only; the sensor writes them
//! for every function (a WRITE's time object, an unsolicited response's
//! events), which the operations and the ledger use.
//!
//! Recognised by the link header (0x0564 and a valid header CRC) on any
//! port. Link frames resynchronise by themselves: after a gap or when
//! joining mid-stream, the parser skips to the next valid link header and
//! waits for the next first transport segment.
//!
//! Uplink aggregation key: `dnp3` on `uid fc_request fc_reply iin`;
//! `dnp3_objects` on `uid function_code object_type range_low range_high`.

pub mod descriptor;

pub mod names;
pub mod wire;

use crate::bytes::{be16, Error};
use crate::flow::id::{ConnId, Transport};
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::{flow_dir_fields, flow_fields};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};

pub static DNP3: LogSchema = LogSchema {
    path: "dnp3",
    fields: flow_fields![
        field("fc_request", FieldType::String),
        field("fc_reply", FieldType::String),
        field("iin", FieldType::Count),
    ],
};

pub static DNP3_CONTROL: LogSchema = LogSchema {
    path: "dnp3_control",
    fields: flow_dir_fields![
        field("block_type", FieldType::String),
        field("function_code", FieldType::String),
        field("index_number", FieldType::Count),
        field("trip_control_code", FieldType::String),
        field("operation_type", FieldType::String),
        field("clear_bit", FieldType::Bool),
        field("execute_count", FieldType::Count),
        field("on_time", FieldType::Count),
        field("off_time", FieldType::Count),
        field("status_code", FieldType::String),
    ],
};

pub static DNP3_OBJECTS: LogSchema = LogSchema {
    path: "dnp3_objects",
    fields: flow_dir_fields![
        field("function_code", FieldType::String),
        field("object_type", FieldType::String),
        field("object_count", FieldType::Count),
        field("range_low", FieldType::Count),
        field("range_high", FieldType::Count),
    ],
};

/// Largest application fragment reassembled (the specification's limit).
pub const MAX_FRAGMENT: usize = 2048;
/// Object headers logged per fragment at most.
pub const MAX_OBJECTS: usize = 64;

/// Recognises a DNP3 link frame (header CRC checked).
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    if !matches!(t, Transport::Tcp | Transport::Udp) {
        return None;
    }
    match wire::frame_len(data) {
        Ok(_) | Err(Error::Truncated) if data.len() >= wire::LINK_HEADER_LEN => {
            Some(Box::new(Dnp3 {
                udp: t == Transport::Udp,
                ..Dnp3::default()
            }))
        }
        _ => None,
    }
}

#[derive(Default)]
pub struct Dnp3 {
    /// Application fragment being reassembled, per direction.
    fragment: [heapless::Vec<u8, MAX_FRAGMENT>; 2],
    /// A first segment was seen and the fragment is still being built.
    building: [bool; 2],
    /// The function of the last request the originator sent since the last
    /// response, and when it was sent.
    pending_request: Option<(u8, i64)>,
    roles_seen: bool,
    udp: bool,
}

impl AppParser for Dnp3 {
    /// Zeek's names for DNP3 over each transport.
    fn service(&self) -> &'static str {
        if self.udp {
            "dnp3_udp"
        } else {
            "dnp3_tcp"
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(frame) = next_frame(data, &mut pos, wire::frame_len) {
            self.link_frame(ctx, dir, frame);
        }
        if ctx.flow.id.proto == Transport::Udp {
            data.len()
        } else {
            pos
        }
    }

    fn gap(&mut self, dir: Dir) {
        let i = usize::from(!dir.is_orig());
        self.building[i] = false;
        self.fragment[i].clear();
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some((fc, ts)) = self.pending_request.take() {
            Row::flow(ctx, &DNP3)
                .at(ts)
                .push(names::function(fc))
                .push(Value::Unset)
                .push(Value::Unset)
                .emit(ctx);
        }
    }
}

impl Dnp3 {
    fn link_frame(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, frame: &[u8]) {
        let mut user = heapless::Vec::<u8, 256>::new();
        let Some(ctrl) = wire::user_data(frame, &mut user) else {
            return;
        };
        // Only primary frames with user data carry transport segments.
        if ctrl & 0x40 == 0 || !matches!(ctrl & 0x0f, 3 | 4) {
            return;
        }
        let Some((&th, seg)) = user.split_first() else {
            return;
        };
        let i = usize::from(!dir.is_orig());
        if th & 0x40 != 0 {
            self.fragment[i].clear();
            self.building[i] = true;
        }
        if !self.building[i] {
            return;
        }
        if self.fragment[i].extend_from_slice(seg).is_err() {
            self.building[i] = false;
            self.fragment[i].clear();
            return;
        }
        if th & 0x80 != 0 {
            self.building[i] = false;
            let frag = std::mem::take(&mut self.fragment[i]);
            self.application(ctx, dir, &frag);
        }
    }

    fn application(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, b: &[u8]) {
        let Some(h) = wire::parse_app(b) else {
            return;
        };
        let is_response = h.iin.is_some();
        if !self.roles_seen {
            self.roles_seen = true;
            let (master, outstation) = if is_response {
                (common::receiver(ctx, dir), common::sender(ctx, dir))
            } else {
                (common::sender(ctx, dir), common::receiver(ctx, dir))
            };
            ctx.out
                .assets
                .observe_role(ctx.ts, outstation, descriptor::OUTSTATION);
            ctx.out
                .assets
                .observe_role(ctx.ts, master, descriptor::MASTER);
        }
        // dnp3.log as Zeek writes it: every fragment the originator sends
        // is a request (a confirmation too) and the latest one waits for
        // the next fragment from the responder, which is its response and
        // carries the internal indications; an unsolicited response
        // follows whatever the master sent last, or nothing.
        if dir.is_orig() {
            self.pending_request = Some((h.function, ctx.ts));
        } else if let Some(iin) = be16(b, 2) {
            Row::flow(ctx, &DNP3)
                .push(self.pending_request.take().map(|r| names::function(r.0)))
                .push(names::function(h.function))
                .push(Value::Count(u64::from(iin)))
                .emit(ctx);
        }
        let mut at = h.objects_at;
        for _ in 0..MAX_OBJECTS {
            if at >= b.len() {
                break;
            }
            let Some((o, next)) = wire::parse_object(b, at, !is_response) else {
                break;
            };
            if o.group == 12 && o.variation == 1 {
                for c in wire::crobs(&o) {
                    crob(ctx, dir, h.function, is_response, &c);
                }
            } else {
                // ICSNPP fills the count and range of response headers
                // only.
                let [count, low, high] = if is_response {
                    header_range(&o).map(|v| v.map_or(Value::Unset, |n| Value::Count(u64::from(n))))
                } else {
                    [Value::Unset, Value::Unset, Value::Unset]
                };
                Row::flow_dir(ctx, &DNP3_OBJECTS, dir)
                    .push(names::function(h.function))
                    .push(names::object(o.group, o.variation))
                    .push(count)
                    .push(low)
                    .push(high)
                    .emit(ctx);
            }
            at = next;
        }
    }
}

/// An object header's count and range as Zeek's DNP3 analyzer reports
/// them (`dnp3_object_header`'s number, rf_low and rf_high), which ICSNPP
/// logs: start and stop for a range; for a count, the count and again the
/// count as the range's low end (read big-endian there, so a 2- or 4-byte
/// count comes out byte-swapped) with 0 as its high end; 0 and 0xffff,
/// 0xffff for all objects.
fn header_range(o: &wire::ObjectHeader<'_>) -> [Option<u32>; 3] {
    let n = o.count;
    match o.qualifier & 0x0f {
        0x0..=0x2 => [n, o.range.map(|r| r.0), o.range.map(|r| r.1)],
        0x6 => [Some(0), Some(0xffff), Some(0xffff)],
        0x8 => [n, n.map(|c| u32::from((c as u16).swap_bytes())), Some(0)],
        0x9 => [n, n.map(u32::swap_bytes), Some(0)],
        _ => [n, n, Some(0)],
    }
}

fn crob(ctx: &mut Ctx<'_, '_>, dir: Dir, function: u8, is_response: bool, c: &wire::Crob) {
    Row::flow_dir(ctx, &DNP3_CONTROL, dir)
        .push("Control Relay Output Block")
        .push(names::function(function))
        .push(Value::Count(u64::from(c.index)))
        .push(names::trip_control(c.code >> 6))
        .push(names::operation(c.code & 0x0f))
        .push(Value::Bool(c.code & 0x20 != 0))
        .push(Value::Count(u64::from(c.count)))
        .push(Value::Count(u64::from(c.on_time)))
        .push(Value::Count(u64::from(c.off_time)))
        .push(is_response.then(|| names::control_status(c.status)))
        .emit(ctx);
}
