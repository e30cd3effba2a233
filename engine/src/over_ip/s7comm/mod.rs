//! Siemens S7 over ISO-on-TCP: `cotp` (one row per TPDU), `s7comm` (one
//! row per S7 PDU: ROSCTR, function or user-data group and subfunction,
//! errors), `s7comm_plus` (version, opcode, function) and
//! `s7comm_known_devices` (from SZL 0x001c reads), `s7comm_read_szl` (each
//! Read SZL request and reply: list id and index, return code) and
//! `s7comm_upload_download` (each step of a block upload or download: the
//! block's name, upload id, length), as ICSNPP logs them. SZL
//! 0x0011 and 0x001c replies also give the asset ledger the module's order
//! number, firmware, name and serial.
//!
//! Recognised by a TPKT header around a valid COTP TPDU whose data, if any,
//! is S7comm (0x32) or S7comm-plus (0x72); a connection joined mid-stream
//! is picked up at its next TPKT header.
//!
//! A PDU segmented over several COTP data TPDUs (a reply longer than the
//! negotiated TPDU size) is reassembled, as Wireshark does, up to
//! [`iso::MAX_MESSAGE`] bytes (a longer one is dropped alone and its bytes
//! counted with the stream bytes dropped): its rows are written when its
//! last TPDU comes, each TPDU keeping its `cotp` row. ICSNPP decodes each
//! TPDU alone instead, the header of the first and nothing of the others.
//!
//! Uplink aggregation key: `s7comm` on `uid rosctr_code function_code
//! subfunction_code error_class error_code`; `cotp` on `uid pdu_code`.

pub mod descriptor;

pub mod names;
pub mod wire;

use crate::asset::Identity;
use crate::flow::id::{ConnId, Transport};
use crate::over_ip::common::{self, Row};
use crate::over_ip::{iso, AppParser, Ctx, Dir};
use crate::text::{hex, wire_text};
use crate::{flow_dir_fields, flow_fields};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Text, Value};

pub static S7COMM: LogSchema = LogSchema {
    path: "s7comm",
    fields: flow_dir_fields![
        field("rosctr_code", FieldType::Count),
        field("rosctr_name", FieldType::String),
        field("pdu_reference", FieldType::Count),
        field("function_code", FieldType::String),
        field("function_name", FieldType::String),
        field("subfunction_code", FieldType::String),
        field("subfunction_name", FieldType::String),
        field("error_class", FieldType::String),
        field("error_code", FieldType::String),
    ],
};

pub static S7COMM_PLUS: LogSchema = LogSchema {
    path: "s7comm_plus",
    fields: flow_dir_fields![
        field("version", FieldType::Count),
        field("opcode", FieldType::String),
        field("opcode_name", FieldType::String),
        field("function_code", FieldType::String),
        field("function_name", FieldType::String),
    ],
};

pub static S7COMM_READ_SZL: LogSchema = LogSchema {
    path: "s7comm_read_szl",
    fields: flow_dir_fields![
        field("pdu_reference", FieldType::Count),
        field("method", FieldType::String),
        field("szl_id", FieldType::String),
        field("szl_id_name", FieldType::String),
        field("szl_index", FieldType::String),
        field("return_code", FieldType::String),
        field("return_code_name", FieldType::String),
    ],
};

pub static S7COMM_UPLOAD_DOWNLOAD: LogSchema = LogSchema {
    path: "s7comm_upload_download",
    fields: flow_dir_fields![
        field("rosctr", FieldType::String),
        field("pdu_reference", FieldType::Count),
        field("function_name", FieldType::String),
        field("function_status", FieldType::String),
        field("session_id", FieldType::Count),
        field("blocklength", FieldType::Count),
        field("filename", FieldType::String),
        field("block_type", FieldType::String),
        field("block_number", FieldType::String),
        field("destination_filesystem", FieldType::String),
    ],
};

pub static S7COMM_KNOWN_DEVICES: LogSchema = LogSchema {
    path: "s7comm_known_devices",
    fields: flow_fields![
        field("automation_system_name", FieldType::String),
        field("module_name", FieldType::String),
        field("plant_name", FieldType::String),
        field("module_serial", FieldType::String),
        field("module_order_number", FieldType::String),
        field("firmware", FieldType::String),
    ],
};

/// Recognises a TPKT frame carrying COTP (and S7 if it carries data).
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let c = iso::first_tpdu(t, data)?;
    let ok = match c.code {
        0xf => matches!(c.data.first(), Some(0x32 | 0x72)),
        0xe | 0xd => c.src_tsap.is_some() && c.dst_tsap.is_some(),
        _ => false,
    };
    ok.then(|| Box::new(S7comm::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct S7comm {
    roles_seen: bool,
    plus: bool,
    /// Each direction's PDU under reassembly.
    messages: iso::Messages,
}

impl AppParser for S7comm {
    /// The transport and what it carried, as ICSNPP names them. A session
    /// is taken for S7comm until S7comm-plus is seen.
    fn service(&self) -> &'static str {
        if self.plus {
            "cotp,s7comm-plus"
        } else {
            "cotp,s7comm"
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(m) = self.messages.next(ctx, dir, data, &mut pos) {
            self.message(ctx, dir, &m);
        }
        pos
    }

    fn gap(&mut self, dir: Dir) {
        self.messages.gap(dir);
    }

    fn discarded(&mut self) -> u64 {
        self.messages.take_dropped()
    }
}

impl S7comm {
    /// One S7comm or S7comm-plus PDU: the user data of a message's data
    /// TPDUs.
    fn message(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, m: &[u8]) {
        if let Some(s) = wire::parse_s7(m) {
            self.roles(ctx, dir);
            s7(ctx, dir, &s);
        } else if let Some(p) = wire::parse_plus(m) {
            self.roles(ctx, dir);
            self.plus = true;
            Row::flow_dir(ctx, &S7COMM_PLUS, dir)
                .push(Value::Count(u64::from(p.version)))
                .push(hex(u64::from(p.opcode), 2))
                .push(names::plus_opcode(p.opcode))
                .push(p.function.map(|f| hex(u64::from(f), 4)))
                .push(p.function.map(names::plus_function))
                .emit(ctx);
        }
    }

    fn roles(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir) {
        if self.roles_seen || !dir.is_orig() {
            return;
        }
        self.roles_seen = true;
        let (c, s) = (common::orig_host(ctx), common::resp_host(ctx));
        ctx.out.assets.observe_role(ctx.ts, s, descriptor::PLC);
        ctx.out.assets.observe_role(ctx.ts, c, descriptor::CLIENT);
    }
}

/// The PDU reference as ICSNPP logs it: the header's two bytes read
/// little-endian (it swaps the big-endian field), which gives the counter
/// that snap7-based tools write in host order.
fn pdu_reference(s: &wire::S7<'_>) -> Value {
    Value::Count(u64::from(s.pdu_ref.swap_bytes()))
}

fn s7(ctx: &mut Ctx<'_, '_>, dir: Dir, s: &wire::S7<'_>) {
    let row = Row::flow_dir(ctx, &S7COMM, dir)
        .push(Value::Count(u64::from(s.rosctr)))
        .push(names::rosctr(s.rosctr))
        .push(pdu_reference(s));
    if s.rosctr == 7 {
        let Some(u) = wire::parse_userdata(s.param) else {
            return;
        };
        // ICSNPP skips the middle and last units of a reply split over
        // several PDUs (the first carries the list's id and index).
        if u.type_group & 0x0f == 4 && u.subfunction == 1 && (u.data_ref == 0 || u.last_unit == 1) {
            if let Some(h) = wire::parse_szl_head(s.data) {
                Row::flow_dir(ctx, &S7COMM_READ_SZL, dir)
                    .push(pdu_reference(s))
                    .push(names::userdata_method(u.method))
                    .push(hex(u64::from(h.id), 4))
                    .push(names::szl_id(h.id))
                    .push(hex(u64::from(h.index), 4))
                    .push(hex(u64::from(h.return_code), 2))
                    .push(names::return_code(h.return_code))
                    .emit(ctx);
            }
        }
        let err = u.error;
        row.push(hex(u64::from(u.type_group), 2))
            .push(names::userdata_group(u.type_group))
            .push(hex(u64::from(u.subfunction), 2))
            .push(names::userdata_subfunction(
                u.type_group & 0x0f,
                u.subfunction,
            ))
            // A response's 16-bit error code: ICSNPP names 0 "No error" and
            // any other a parameter error.
            .push(err.map(|e| {
                if e == 0 {
                    names::error_class(0)
                } else {
                    Text::const_new("Parameter Error")
                }
            }))
            .push(err.map(|e| hex(u64::from(e), 2)))
            .emit(ctx);
        // A CPU-functions response to Read SZL: identity facts.
        if u.type_group == 0x84 && u.subfunction == 1 && err.unwrap_or(0) == 0 {
            if let Some(szl) = wire::parse_szl(s.data) {
                identity(ctx, dir, &szl);
            }
        }
        return;
    }
    let function = s.param.first().copied();
    // A PLC Control job names its PI service where a subfunction would be.
    let service = (s.rosctr == 1 && function == Some(0x28))
        .then(|| wire::pi_service(s.param))
        .flatten()
        .map(wire_text);
    // ICSNPP writes "unknown" for a service its table does not list.
    let service_name = service
        .as_deref()
        .map(|n| names::pi_service(n).unwrap_or("unknown"));
    row.push(function.map(|f| hex(u64::from(f), 2)))
        .push(function.map(names::job_function))
        .push(service)
        .push(service_name)
        .push(s.error.map(|e| names::error_class(e.0)))
        .push(s.error.map(|e| hex(u64::from(e.1), 2)))
        .emit(ctx);
    if let (Some(f), Some(t)) = (function, wire::parse_transfer(s.rosctr, s.param, s.data)) {
        transfer(ctx, dir, s, f, &t);
    }
}

fn transfer(
    ctx: &mut Ctx<'_, '_>,
    dir: Dir,
    s: &wire::S7<'_>,
    function: u8,
    t: &wire::Transfer<'_>,
) {
    // `_0B00000A`: '_', block type (2), block number (5), file system.
    let name = t.filename;
    let part = |r: std::ops::Range<usize>| name.and_then(|n| n.get(r));
    Row::flow_dir(ctx, &S7COMM_UPLOAD_DOWNLOAD, dir)
        .push(names::rosctr(s.rosctr))
        .push(pdu_reference(s))
        .push(names::job_function(function))
        .push(t.status.map(|v| hex(u64::from(v), 2)))
        .push(t.session.map(|v| Value::Count(u64::from(v))))
        .push(t.block_len.map(|v| Value::Count(u64::from(v))))
        .push(name.map(wire_text))
        .push(name.map(|_| names::block_type(part(1..3).unwrap_or_default())))
        .push(part(3..8).map(wire_text))
        .push(name.map(|n| names::filesystem(n.get(8).copied().unwrap_or(0))))
        .emit(ctx);
}

fn identity(ctx: &mut Ctx<'_, '_>, dir: Dir, szl: &wire::Szl<'_>) {
    let records = szl
        .records
        .chunks_exact(szl.record_len.max(2))
        .filter_map(|r| Some((u16::from_be_bytes([r[0], *r.get(1)?]), r.get(2..)?)));
    let host = common::sender(ctx, dir);
    match szl.id & 0x00ff {
        0x1c => {
            let mut f: [Option<String>; 4] = Default::default();
            for (index, text) in records {
                let slot = match index {
                    1 => 0,
                    2 => 1,
                    3 => 2,
                    5 => 3,
                    _ => continue,
                };
                f[slot] = Some(wire_text(&text[..text.len().min(32)]));
            }
            ctx.out.assets.observe_identity(
                ctx.ts,
                host,
                &Identity {
                    source: descriptor::IDENTITY,
                    vendor: Some("Siemens"),
                    product: f[1].as_deref(),
                    serial: f[3].as_deref(),
                    ..Identity::default()
                },
            );
            let [a, m, p, s] = f;
            Row::flow(ctx, &S7COMM_KNOWN_DEVICES)
                .push(a)
                .push(m)
                .push(p)
                .push(s)
                .push(Value::Unset)
                .push(Value::Unset)
                .emit(ctx);
        }
        0x11 => {
            let (mut order, mut firmware) = (None, None);
            for (index, rec) in records {
                match index {
                    1 => order = Some(wire_text(&rec[..rec.len().min(20)])),
                    7 => {
                        // Ausbg "V" then three version bytes.
                        if let Some(v) = rec.get(22..26).filter(|v| v[0] == b'V') {
                            firmware = Some(format!("V{}.{}.{}", v[1], v[2], v[3]));
                        }
                    }
                    _ => {}
                }
            }
            ctx.out.assets.observe_identity(
                ctx.ts,
                host,
                &Identity {
                    source: descriptor::IDENTITY,
                    vendor: Some("Siemens"),
                    model: order.as_deref(),
                    firmware: firmware.as_deref(),
                    ..Identity::default()
                },
            );
            Row::flow(ctx, &S7COMM_KNOWN_DEVICES)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(order)
                .push(firmware)
                .emit(ctx);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::over_ip::harness::{conn, field, parse_dropping, rows, run, Step};
    use osect_trafficgen::proto::s7 as gen;

    /// A Read SZL 0x001c reply naming the module and its serial.
    fn szl_reply(r: u16) -> Vec<u8> {
        let recs = [
            gen::szl_001c_record(1, "SIMATIC 300"),
            gen::szl_001c_record(2, "CPU 315-2 PN/DP"),
            gen::szl_001c_record(5, "S C-X4U421302009"),
        ];
        let data = gen::szl_response_data(0x001c, 0, &recs);
        gen::pdu(7, r, &gen::szl_response_param(), &data, None)
    }

    fn read_job(r: u16) -> Vec<u8> {
        gen::cotp_data(&gen::pdu(1, r, &gen::read_var_param(1, 0, 8), &[], None))
    }

    /// The serial is in the reply's last TPDU: the reply is decoded once,
    /// whole, when that TPDU comes, whatever the TCP segments.
    #[test]
    fn a_pdu_segmented_over_data_tpdus_is_decoded_whole() {
        let reply = gen::cotp_data_segmented(&szl_reply(2), 40);
        let (a, b) = reply.split_at(57);
        let id = conn(Transport::Tcp, 40000, 102);
        let cr = gen::cotp_connect(false, 0x0100, 0x0102);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Dir::Orig, &cr),
                Step::Data(Dir::Resp, a),
                Step::Data(Dir::Resp, b),
            ],
        );
        assert_eq!(service, Some("cotp,s7comm"));
        let tpdus = rows(&recs, "cotp").len();
        assert_eq!(tpdus, 1 + reply.len().div_ceil(40 + 7), "{tpdus} TPDUs");
        assert_eq!(rows(&recs, "s7comm").len(), 1);
        let known = rows(&recs, "s7comm_known_devices");
        assert_eq!(known.len(), 1);
        assert_eq!(field(known[0], "module_serial"), "S C-X4U421302009");
        assert_eq!(field(known[0], "module_name"), "CPU 315-2 PN/DP");
    }

    /// A gap inside a segmented PDU loses that PDU alone.
    #[test]
    fn a_gap_drops_the_pdu_in_progress() {
        let reply = gen::cotp_data_segmented(&szl_reply(2), 40);
        let first = &reply[..47];
        let id = conn(Transport::Tcp, 40000, 102);
        let job = read_job(3);
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Dir::Resp, first),
                Step::Gap(Dir::Resp),
                Step::Data(Dir::Resp, &job),
            ],
        );
        let s7 = rows(&recs, "s7comm");
        assert_eq!(s7.len(), 1);
        assert_eq!(field(s7[0], "function_name"), "Read Variable");
        assert!(rows(&recs, "s7comm_known_devices").is_empty());
    }

    #[test]
    fn a_pdu_over_the_bound_is_dropped_alone() {
        let big = gen::pdu(1, 2, &gen::read_var_param(1, 0, 8), &[0; iso::MAX_MESSAGE], None);
        let stream = [read_job(1), gen::cotp_data_segmented(&big, 8192), read_job(3)].concat();
        let mut parser = S7comm::default();
        let id = conn(Transport::Tcp, 40000, 102);
        let recs = parse_dropping(&mut parser, &id, &stream, iso::MAX_MESSAGE as u64);
        let refs: Vec<String> = rows(&recs, "s7comm")
            .iter()
            .map(|r| field(r, "pdu_reference"))
            .collect();
        // ICSNPP's little-endian reading of references 1 and 3.
        assert_eq!(refs, ["256", "768"]);
        assert_eq!(rows(&recs, "cotp").len(), 2 + big.len().div_ceil(8192));
    }
}
