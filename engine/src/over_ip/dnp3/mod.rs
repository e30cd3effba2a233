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
//! port. As Zeek's analyzer does (DNP3_Base::ProcessData), the first bytes
//! that are not a valid link frame end the analysis of the connection, in
//! both directions: missing start bytes, a bad header or block CRC, a
//! segment that continues a fragment whose first segment was not seen. The
//! request still waiting is written when the connection ends. After a gap,
//! where Zeek runs the bytes that follow into the unfinished frame (and
//! then mostly stops), the parser skips to the next valid link header and
//! the next first segment, as every parser here resynchronises after lost
//! bytes.
//!
//! Uplink aggregation key: `dnp3` on `uid fc_request fc_reply iin`;
//! `dnp3_objects` on `uid function_code object_type range_low range_high`.

pub mod descriptor;

pub mod names;
pub mod wire;

use crate::bytes::{be16, Error};
use crate::flow::id::{ConnId, Transport};
use crate::over_ip::common::{self, Row};
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

/// Largest application fragment kept (the specification's limit); the
/// bytes of a longer one past it are dropped, its header still counts.
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
    /// Application fragment being reassembled over several segments, per
    /// direction (up to `MAX_FRAGMENT` bytes). Empty and unallocated
    /// otherwise, so the many idle connections of a plant hold no buffer.
    fragment: [Vec<u8>; 2],
    /// A first segment was seen and the fragment is still being built.
    building: [bool; 2],
    /// The function of the last request the originator sent since the last
    /// response, and when it was sent.
    pending_request: Option<(u8, i64)>,
    roles_seen: bool,
    udp: bool,
    /// Bytes that are not DNP3 were met: nothing more is decoded.
    stopped: bool,
    /// Bytes were lost: skip to the next link frame and first segment, per
    /// direction.
    lost: [bool; 2],
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
        let i = usize::from(!dir.is_orig());
        let mut pos = 0;
        while !self.stopped {
            let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) else {
                break;
            };
            match wire::frame_len(rest) {
                Ok(n) => {
                    pos += n;
                    self.link_frame(ctx, dir, &rest[..n]);
                }
                Err(Error::Truncated) => break,
                Err(_) if self.lost[i] => pos += 1,
                Err(_) => self.stopped = true,
            }
        }
        if self.stopped || ctx.flow.id.proto == Transport::Udp {
            data.len()
        } else {
            pos
        }
    }

    fn gap(&mut self, dir: Dir) {
        let i = usize::from(!dir.is_orig());
        self.lost[i] = true;
        self.building[i] = false;
        self.fragment[i] = Vec::new();
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
    /// One link frame. Any frame with user data carries a transport
    /// segment, whatever its link function, as Zeek reads them; a frame
    /// without (a link status or reset) is skipped.
    fn link_frame(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, frame: &[u8]) {
        let mut user = heapless::Vec::<u8, 256>::new();
        if wire::user_data(frame, &mut user).is_none() {
            self.stopped |= !self.lost[usize::from(!dir.is_orig())];
            return;
        }
        let Some((&th, seg)) = user.split_first() else {
            return;
        };
        let i = usize::from(!dir.is_orig());
        // A first segment while a fragment is open continues it, as Zeek
        // appends it: the fragment keeps its first application header.
        if th & 0x40 != 0 && !self.building[i] {
            self.fragment[i].clear();
            self.building[i] = true;
            self.lost[i] = false;
        }
        if !self.building[i] {
            self.stopped |= !self.lost[i];
            return;
        }
        // A fragment in one segment, the usual case, is decoded in place.
        if th & 0x80 != 0 && self.fragment[i].is_empty() {
            self.building[i] = false;
            self.application(ctx, dir, &seg[..seg.len().min(MAX_FRAGMENT)]);
            return;
        }
        let room = MAX_FRAGMENT.saturating_sub(self.fragment[i].len());
        self.fragment[i].extend_from_slice(&seg[..seg.len().min(room)]);
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
            let Some(next) = next else {
                self.object_row(ctx, dir, h.function, is_response, &o);
                break;
            };
            self.object_row(ctx, dir, h.function, is_response, &o);
            at = next;
        }
    }

    /// The row of one object header: its CROBs in dnp3_control, any
    /// other in dnp3_objects.
    fn object_row(
        &self,
        ctx: &mut Ctx<'_, '_>,
        dir: Dir,
        function: u8,
        is_response: bool,
        o: &wire::ObjectHeader<'_>,
    ) {
        if o.group == 12 && o.variation == 1 {
            for c in wire::crobs(o) {
                crob(ctx, dir, function, is_response, &c);
            }
            return;
        }
        // ICSNPP fills the count and range of response headers only.
        let [count, low, high] = if is_response {
            header_range(o).map(|v| v.map_or(Value::Unset, |n| Value::Count(u64::from(n))))
        } else {
            [Value::Unset, Value::Unset, Value::Unset]
        };
        Row::flow_dir(ctx, &DNP3_OBJECTS, dir)
            .push(names::function(function))
            .push(names::object(o.group, o.variation))
            .push(count)
            .push(low)
            .push(high)
            .emit(ctx);
    }
}

/// An object header's count and range as Zeek's DNP3 analyzer reports
/// them (`dnp3_object_header`'s number, rf_low and rf_high), which ICSNPP
/// logs: start and stop for a range; for a count, the count and again the
/// count as the range's low end (read big-endian there, so a 2- or 4-byte
/// count comes out byte-swapped) with 0 as its high end; 0 and 0xffff,
/// 0xffff for all objects. A range of virtual addresses is no count and
/// its start and stop (read big-endian too); a qualifier Zeek does not
/// know is 0, 0, 0.
fn header_range(o: &wire::ObjectHeader<'_>) -> [Option<u32>; 3] {
    let n = o.count;
    let swap16 = |v: u32| u32::from((v as u16).swap_bytes());
    match o.qualifier & 0x0f {
        0x0..=0x3 => [n, o.range.map(|r| r.0), o.range.map(|r| r.1)],
        0x4 => [n, o.range.map(|r| swap16(r.0)), o.range.map(|r| swap16(r.1))],
        0x5 => [
            n,
            o.range.map(|r| r.0.swap_bytes()),
            o.range.map(|r| r.1.swap_bytes()),
        ],
        0x6 => [Some(0), Some(0xffff), Some(0xffff)],
        0x7 | 0xb => [n, n, Some(0)],
        0x8 => [n, n.map(swap16), Some(0)],
        0x9 => [n, n.map(u32::swap_bytes), Some(0)],
        _ => [Some(0), Some(0), Some(0)],
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

#[cfg(test)]
mod stream_tests {
    use crate::flow::id::Transport;
    use crate::over_ip::harness::{conn, field, rows, run, Step};
    use crate::over_ip::Dir::{Orig, Resp};
    use osect_trafficgen::proto::dnp3;

    fn req(seq: u8, function: u8, objects: &[u8]) -> Vec<u8> {
        dnp3::frame(true, 10, 1, &dnp3::request(seq, function, objects))
    }

    fn resp(seq: u8, objects: &[u8]) -> Vec<u8> {
        dnp3::frame(false, 1, 10, &dnp3::response(seq, 0x81, 0x0000, objects))
    }

    fn pairs(steps: &[Step<'_>]) -> Vec<(String, String)> {
        let id = conn(Transport::Tcp, 40000, 20000);
        let (recs, service, _) = run(&id, steps);
        assert_eq!(service, Some("dnp3_tcp"));
        rows(&recs, "dnp3")
            .iter()
            .map(|r| (field(r, "fc_request"), field(r, "fc_reply")))
            .collect()
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    /// main.zeek keeps one record per connection: a request replaces the
    /// one before it, a response is written with whatever request is held
    /// (none for an unsolicited one) and clears it, a request left at the
    /// end is written alone.
    #[test]
    fn responses_pair_with_the_request_held() {
        let uns = dnp3::frame(false, 1, 10, &dnp3::unsolicited(0, 0, &[]));
        let confirm = dnp3::frame(true, 10, 1, &dnp3::confirm(0, true));
        let read = req(1, 0x01, &dnp3::CLASS0);
        let enable = req(2, 0x14, &dnp3::CLASSES_123);
        let reply = resp(2, &[]);
        let cold = req(3, 0x0d, &[]);
        let got = pairs(&[
            Step::Data(Resp, &uns),
            Step::Data(Orig, &confirm),
            Step::Data(Orig, &read),
            Step::Data(Orig, &enable),
            Step::Data(Resp, &reply),
            Step::Data(Resp, &reply),
            Step::Data(Orig, &cold),
        ]);
        assert_eq!(
            got,
            [
                pair("-", "UNSOLICITED_RESPONSE"),
                pair("ENABLE_UNSOLICITED", "RESPONSE"),
                pair("-", "RESPONSE"),
                pair("COLD_RESTART", "-"),
            ]
        );
    }

    #[test]
    fn a_bad_crc_ends_the_analysis_of_the_connection() {
        let read = req(1, 0x01, &dnp3::CLASS0);
        let reply = resp(1, &dnp3::binary_inputs(&[true]));
        let mut bad = reply.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let got = pairs(&[
            Step::Data(Orig, &read),
            Step::Data(Resp, &bad),
            Step::Data(Resp, &reply),
            Step::Data(Orig, &read),
            Step::Data(Resp, &reply),
        ]);
        // The READ before the bad frame is written when the connection
        // ends; nothing after it is read.
        assert_eq!(got, [pair("READ", "-")]);
        // Bytes that are no link frame end it too.
        let got = pairs(&[
            Step::Data(Orig, &read),
            Step::Data(Resp, &reply),
            Step::Data(Orig, b"\x05\x65 not DNP3"),
            Step::Data(Orig, &read),
            Step::Data(Resp, &reply),
        ]);
        assert_eq!(got, [pair("READ", "RESPONSE")]);
    }

    #[test]
    fn fragments_across_link_frames() {
        let objects: Vec<u8> = dnp3::binary_inputs(&[true; 200]);
        let app = dnp3::response(1, 0x81, 0x0000, &objects);
        let frames = dnp3::segments(false, 1, 10, &app, 100);
        assert_eq!(frames.len(), 3);
        let read = req(1, 0x01, &dnp3::CLASS0);
        let id = conn(Transport::Tcp, 40000, 20000);
        let mut steps = vec![Step::Data(Orig, &read)];
        steps.extend(frames.iter().map(|f| Step::Data(Resp, f)));
        let (recs, _, _) = run(&id, &steps);
        let d = rows(&recs, "dnp3");
        assert_eq!(d.len(), 1);
        assert_eq!(field(d[0], "fc_reply"), "RESPONSE");
        let o = rows(&recs, "dnp3_objects");
        assert_eq!(field(o.last().unwrap(), "object_count"), "200");
        // Joined after the first segment: Zeek's analyzer gives up on the
        // connection at the segment whose first was not seen.
        let mut steps: Vec<Step> = frames[1..].iter().map(|f| Step::Data(Resp, f)).collect();
        steps.extend([Step::Data(Orig, &read[..]), Step::Data(Resp, &frames[0])]);
        let (recs, _, _) = run(&id, &steps);
        assert!(rows(&recs, "dnp3").is_empty());
    }

    /// The count and range Zeek's object header event gives for ranges of
    /// virtual addresses (no count; 2- and 4-byte addresses read
    /// big-endian) and for a qualifier it does not know (0, 0, 0, and
    /// nothing read after it).
    #[test]
    fn virtual_address_ranges_as_zeek_reports_them() {
        let objects = [
            30, 1, 0x03, 2, 5, // 8-bit 2..5
            30, 2, 0x04, 0x02, 0x00, 0x05, 0x00, // 16-bit 2..5
            30, 3, 0x05, 2, 0, 0, 0, 5, 0, 0, 0, // 32-bit 2..5
            30, 4, 0x0a, 1, 2, // reserved qualifier
            60, 1, 0x06,
        ];
        let reply = resp(1, &objects);
        let id = conn(Transport::Tcp, 40000, 20000);
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, &req(1, 0x01, &dnp3::CLASS0)),
                Step::Data(Resp, &reply),
            ],
        );
        let got: Vec<[String; 3]> = rows(&recs, "dnp3_objects")
            .iter()
            .filter(|r| field(r, "function_code") == "RESPONSE")
            .map(|r| ["object_count", "range_low", "range_high"].map(|f| field(r, f)))
            .collect();
        let want = [
            ["0", "2", "5"],
            ["0", "512", "1280"],
            ["0", "33554432", "83886080"],
            ["0", "0", "0"],
        ]
        .map(|r| r.map(str::to_owned));
        assert_eq!(got, want);
    }

    #[test]
    fn after_a_gap_the_next_fragment_is_read() {
        let read = req(1, 0x01, &dnp3::CLASS0);
        let reply = resp(1, &dnp3::binary_inputs(&[true]));
        let app = dnp3::response(2, 0x81, 0x0000, &dnp3::binary_inputs(&[true; 200]));
        let frames = dnp3::segments(false, 1, 10, &app, 100);
        // Lost inside a frame, then the rest of a fragment whose first
        // segment went with it, then a whole exchange.
        let got = pairs(&[
            Step::Data(Orig, &read),
            Step::Data(Resp, &reply[..12]),
            Step::Gap(Resp),
            Step::Data(Resp, &reply[5..]),
            Step::Data(Resp, &frames[1]),
            Step::Data(Orig, &read),
            Step::Data(Resp, &reply),
        ]);
        assert_eq!(got, [pair("READ", "RESPONSE")]);
    }
}
