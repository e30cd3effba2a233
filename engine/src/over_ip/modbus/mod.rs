//! Modbus/TCP: `modbus` (one row per message, Zeek's fields), and ICSNPP's
//! `modbus_detailed` (one row per request/response pair),
//! `modbus_mask_write_register` and `modbus_read_write_multiple_registers`.
//!
//! Recognised by its MBAP header (protocol id 0, a length in range, a
//! defined function code, or on port 502 a vendor function Zeek names) on
//! any port, from any message: a session joined mid-stream is decoded
//! from its next whole frame, and after a gap the parser skips to the next
//! plausible header. `modbus` has Zeek's rows: exception responses only
//! for the functions Zeek's analyzer decodes, and only with their code.
//!
//! Uplink aggregation key for cyclic polling: `modbus_detailed` on
//! `uid unit func address quantity exception_code`; `modbus` on
//! `uid unit func pdu_type exception`.

pub mod descriptor;

use compact_str::format_compact;
use osect_wire::Text;
pub mod wire;

use crate::bytes::Error;
use crate::flow::id::{ConnId, Transport};
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::escape_bytes;
use crate::{flow_dir_fields, flow_fields};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};
use wire::{Pdu, MBAP_LEN};

pub static MODBUS: LogSchema = LogSchema {
    path: "modbus",
    fields: flow_fields![
        field("tid", FieldType::Count),
        field("unit", FieldType::Count),
        field("func", FieldType::String),
        field("pdu_type", FieldType::String),
        field("exception", FieldType::String),
    ],
};

pub static MODBUS_DETAILED: LogSchema = LogSchema {
    path: "modbus_detailed",
    fields: flow_fields![
        field("tid", FieldType::Count),
        field("unit", FieldType::Count),
        field("func", FieldType::String),
        field("address", FieldType::Count),
        field("quantity", FieldType::Count),
        field("request_values", FieldType::VectorCount),
        field("response_values", FieldType::VectorCount),
        field("modbus_detailed_link_id", FieldType::String),
        field("matched", FieldType::Bool),
        field("request_subfunction_code", FieldType::String),
        field("response_subfunction_code", FieldType::String),
        field("request_data", FieldType::String),
        field("response_data", FieldType::String),
        field("exception_code", FieldType::String),
        field("mei_type", FieldType::String),
    ],
};

pub static MODBUS_MASK_WRITE_REGISTER: LogSchema = LogSchema {
    path: "modbus_mask_write_register",
    fields: flow_dir_fields![
        field("modbus_detailed_link_id", FieldType::String),
        field("tid", FieldType::Count),
        field("unit", FieldType::Count),
        field("func", FieldType::String),
        field("request_response", FieldType::String),
        field("address", FieldType::Count),
        field("and_mask", FieldType::Count),
        field("or_mask", FieldType::Count),
    ],
};

pub static MODBUS_READ_WRITE_MULTIPLE_REGISTERS: LogSchema = LogSchema {
    path: "modbus_read_write_multiple_registers",
    fields: flow_dir_fields![
        field("modbus_detailed_link_id", FieldType::String),
        field("tid", FieldType::Count),
        field("unit", FieldType::Count),
        field("func", FieldType::String),
        field("request_response", FieldType::String),
        field("write_start_address", FieldType::Count),
        field("write_registers", FieldType::VectorCount),
        field("read_start_address", FieldType::Count),
        field("read_quantity", FieldType::Count),
        field("read_registers", FieldType::VectorCount),
    ],
};

/// Requests waiting for their response, per connection.
pub const MAX_PENDING: usize = 64;

/// Recognises Modbus/TCP from any whole frame.
pub fn probe(t: Transport, id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    if t != Transport::Tcp {
        return None;
    }
    let (_, pdu, _) = wire::parse_frame(data).ok()?;
    let f = *pdu.first()?;
    // A vendor function opens a session only on Modbus's own port (a
    // Unity client's first message is function 90).
    let opens = wire::known_function(f) || (id.resp_p == 502 && vendor_function(f));
    if !opens {
        return None;
    }
    Some(Box::new(Modbus::default()))
}

struct Pending {
    tid: u16,
    unit: u8,
    function: u8,
    address: Option<u16>,
    quantity: Option<u16>,
    values: Vec<u16>,
    subfunction: Option<u16>,
    data: String,
    link: Option<String>,
    /// False for the stand-in of a response whose request was not seen.
    seen: bool,
}

#[derive(Default)]
pub struct Modbus {
    pending: Vec<Pending>,
    /// Requests dropped because [`MAX_PENDING`] were waiting.
    pub flooded: u64,
    roles_seen: bool,
    links: u64,
}

impl AppParser for Modbus {
    fn service(&self) -> &'static str {
        "modbus"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(frame) = next_frame(data, &mut pos, frame_len) {
            self.message(ctx, dir, frame);
        }
        pos
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        for p in std::mem::take(&mut self.pending) {
            detailed(ctx, &p, None);
        }
    }
}

fn frame_len(b: &[u8]) -> Result<usize, Error> {
    const UNKNOWN_FUNCTION: Error = Error::malformed("Modbus function code", MBAP_LEN);
    match wire::parse_frame(b) {
        Ok((_, pdu, n)) if pdu.first().is_some_and(|&f| named_function(f)) => Ok(n),
        Ok(_) => Err(UNKNOWN_FUNCTION),
        Err(e @ Error::Malformed { .. }) => Err(e),
        Err(Error::Truncated) => {
            // The function code is visible once the header is.
            match b.get(MBAP_LEN) {
                Some(&f) if !named_function(f) => Err(UNKNOWN_FUNCTION),
                _ => Err(Error::Truncated),
            }
        }
    }
}

/// Vendor and legacy function codes Zeek names (Modicon 484, 584/984 and
/// 884 programming, Concept and Unity programming, firmware replacement,
/// object messaging): not in the specification's table, but a session
/// already recognised carries them whole.
fn vendor_function(f: u8) -> bool {
    matches!(
        f & 0x7f,
        0x09 | 0x0a | 0x0d | 0x0e | 0x12 | 0x13 | 0x28 | 0x29 | 0x5a | 0x5b | 0x7d..=0x7f
    )
}

/// A function code a frame of a recognised session may carry.
fn named_function(f: u8) -> bool {
    wire::known_function(f) || vendor_function(f)
}

/// The exception responses Zeek's Modbus analyzer decodes (and so logs):
/// those of the functions it parses. Other codes with the exception bit,
/// and any sent by the client, give no `modbus` row there.
fn zeek_exception(f: u8) -> bool {
    matches!(f, 0x81..=0x87 | 0x8f | 0x90 | 0x94..=0x98)
}

impl Modbus {
    fn message(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, frame: &[u8]) {
        let Ok((h, pdu, _)) = wire::parse_frame(frame) else {
            return;
        };
        if !self.roles_seen {
            self.roles_seen = true;
            let (client, server) = match dir {
                Dir::Orig => (common::orig_host(ctx), common::resp_host(ctx)),
                Dir::Resp => (common::resp_host(ctx), common::orig_host(ctx)),
            };
            ctx.out
                .assets
                .observe_role(ctx.ts, server, descriptor::SERVER);
            ctx.out
                .assets
                .observe_role(ctx.ts, client, descriptor::CLIENT);
        }
        // Requests come from the client, which opened the connection.
        let is_request = dir.is_orig();
        let req = if is_request {
            None
        } else {
            self.pending
                .iter()
                .position(|p| p.tid == h.tid && p.function == pdu[0] & 0x7f)
                .map(|i| self.pending.remove(i))
        };
        let p = wire::parse_pdu(pdu, is_request, req.as_ref().and_then(|r| r.quantity));
        // Zeek writes a message with the exception bit only as the
        // exception response of a function it parses, with its code.
        let logged = p.function < 0x80
            || (!is_request && zeek_exception(p.function) && p.exception.is_some());
        if logged {
            Row::flow(ctx, &MODBUS)
                .push(Value::Count(u64::from(h.tid)))
                .push(Value::Count(u64::from(h.unit)))
                .push(function_name(p.function))
                .push(if is_request { "REQ" } else { "RESP" })
                .push(p.exception.map(exception_name))
                .emit(ctx);
        }

        let link = matches!(p.function & 0x7f, 0x16 | 0x17 | 0x2b).then(|| {
            req.as_ref()
                .and_then(|r| r.link.clone())
                .unwrap_or_else(|| self.link_id(ctx, h.tid))
        });
        if p.function & 0x7f == 0x16 && p.exception.is_none() {
            mask_write(ctx, dir, &h, &p, link.as_deref());
        }
        if p.function & 0x7f == 0x17 && p.exception.is_none() {
            read_write(ctx, dir, &h, &p, link.as_deref());
        }

        if !detailed_function(p.function) {
            // Functions without a detailed decoder get one bare row per message.
            Row::flow(ctx, &MODBUS_DETAILED)
                .push(Value::Count(u64::from(h.tid)))
                .push(Value::Count(u64::from(h.unit)))
                .push(function_name(p.function))
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .emit(ctx);
            return;
        }
        if is_request {
            if self.pending.len() >= MAX_PENDING {
                let old = self.pending.remove(0);
                self.flooded += 1;
                detailed(ctx, &old, None);
            }
            self.pending.push(Pending {
                tid: h.tid,
                unit: h.unit,
                function: p.function,
                address: p.address,
                quantity: p.quantity,
                values: p.values,
                subfunction: p.subfunction,
                data: escape_bytes(p.data),
                link,
                seen: true,
            });
        } else {
            let req = req.unwrap_or(Pending {
                tid: h.tid,
                unit: h.unit,
                function: p.function & 0x7f,
                address: None,
                quantity: None,
                values: Vec::new(),
                subfunction: None,
                data: String::new(),
                link,
                seen: false,
            });
            detailed(ctx, &req, Some(&p));
        }
    }

    /// An id tying a `modbus_detailed` row to its rows in the per-function
    /// logs: unique within the sensor's run.
    fn link_id(&mut self, ctx: &Ctx<'_, '_>, tid: u16) -> String {
        self.links += 1;
        format!("{}-{tid}-{}", ctx.flow.uid, self.links)
    }
}

/// Functions whose requests and responses `modbus_detailed` pairs up.
fn detailed_function(f: u8) -> bool {
    matches!(f & 0x7f, 1..=6 | 8 | 0x0f | 0x10 | 0x14..=0x18 | 0x2b)
}

fn counts(v: &[u16]) -> Value {
    Value::Counts(v.iter().map(|&x| u64::from(x)).collect())
}

fn opt_count(v: Option<u16>) -> Value {
    v.map_or(Value::Unset, |v| Value::Count(u64::from(v)))
}

/// One `modbus_detailed` row: a request with its response, or either alone.
fn detailed(ctx: &mut Ctx<'_, '_>, req: &Pending, resp: Option<&Pdu<'_>>) {
    let f = req.function;
    let exception = resp.and_then(|r| r.exception);
    let (req_values, resp_values) = match f {
        // Reads carry values in the response, writes in the request.
        1..=4 | 0x18 => (None, resp.map(|r| r.values.as_slice())),
        5 | 6 => (
            Some(req.values.as_slice()),
            resp.map(|r| r.values.as_slice()),
        ),
        0x0f | 0x10 => (Some(req.values.as_slice()), None),
        _ => (None, None),
    };
    let vec_or_unset = |v: Option<&[u16]>| match v {
        Some(v) if !v.is_empty() && exception.is_none() => counts(v),
        _ => Value::Unset,
    };
    let extra = resp.filter(|r| !r.extra_bits.is_empty()).map(|r| {
        r.extra_bits
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    let (address, quantity) = match f {
        0x17 | 0x2b | 8 => (None, None),
        0x16 => (req.address, None),
        0x18 => (req.address, resp.and_then(|r| r.quantity).or(req.quantity)),
        _ => (req.address, req.quantity),
    };
    let sub = |s: Option<u16>| s.map(diagnostic_name);
    let (req_data, resp_data) = if f == 8 {
        (Some(req.data.clone()), resp.map(|r| escape_bytes(r.data)))
    } else {
        (None, extra)
    };
    Row::flow(ctx, &MODBUS_DETAILED)
        .push(Value::Count(u64::from(req.tid)))
        .push(Value::Count(u64::from(req.unit)))
        .push(function_name(f))
        .push(opt_count(address))
        .push(opt_count(quantity))
        .push(vec_or_unset(req_values))
        .push(vec_or_unset(resp_values))
        .push(req.link.clone())
        .push(Value::Bool(resp.is_some() && req.seen))
        .push(sub(req.subfunction))
        .push(sub(resp.and_then(|r| r.subfunction)))
        .push(req_data)
        .push(resp_data)
        .push(exception.map(exception_name))
        .push(resp.and_then(|r| r.mei_type).map(mei_name))
        .emit(ctx);
}

fn req_resp(dir: Dir) -> &'static str {
    if dir.is_orig() {
        "REQUEST"
    } else {
        "RESPONSE"
    }
}

fn mask_write(ctx: &mut Ctx<'_, '_>, dir: Dir, h: &wire::Mbap, p: &Pdu<'_>, link: Option<&str>) {
    let (and, or) = p.masks.map_or((None, None), |(a, o)| (Some(a), Some(o)));
    Row::flow_dir(ctx, &MODBUS_MASK_WRITE_REGISTER, dir)
        .push(link)
        .push(Value::Count(u64::from(h.tid)))
        .push(Value::Count(u64::from(h.unit)))
        .push(function_name(p.function))
        .push(req_resp(dir))
        .push(opt_count(p.address))
        .push(opt_count(and))
        .push(opt_count(or))
        .emit(ctx);
}

fn read_write(ctx: &mut Ctx<'_, '_>, dir: Dir, h: &wire::Mbap, p: &Pdu<'_>, link: Option<&str>) {
    let row = Row::flow_dir(ctx, &MODBUS_READ_WRITE_MULTIPLE_REGISTERS, dir)
        .push(link)
        .push(Value::Count(u64::from(h.tid)))
        .push(Value::Count(u64::from(h.unit)))
        .push(function_name(p.function))
        .push(req_resp(dir));
    let row = if dir.is_orig() {
        row.push(opt_count(p.address))
            .push(counts(&p.values))
            .push(opt_count(p.read.map(|r| r.0)))
            .push(opt_count(p.read.map(|r| r.1)))
            .push(Value::Unset)
    } else {
        row.push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push(counts(&p.values))
    };
    row.emit(ctx);
}

/// Zeek's names for function codes; an exception response is the name plus
/// `_EXCEPTION`.
pub fn function_name(f: u8) -> Text {
    let name = match f & 0x7f {
        0x01 => "READ_COILS",
        0x02 => "READ_DISCRETE_INPUTS",
        0x03 => "READ_HOLDING_REGISTERS",
        0x04 => "READ_INPUT_REGISTERS",
        0x05 => "WRITE_SINGLE_COIL",
        0x06 => "WRITE_SINGLE_REGISTER",
        0x07 => "READ_EXCEPTION_STATUS",
        0x08 => "DIAGNOSTICS",
        0x0b => "GET_COMM_EVENT_COUNTER",
        0x0c => "GET_COMM_EVENT_LOG",
        0x0f => "WRITE_MULTIPLE_COILS",
        0x10 => "WRITE_MULTIPLE_REGISTERS",
        0x11 => "REPORT_SLAVE_ID",
        0x14 => "READ_FILE_RECORD",
        0x15 => "WRITE_FILE_RECORD",
        0x16 => "MASK_WRITE_REGISTER",
        0x17 => "READ_WRITE_MULTIPLE_REGISTERS",
        0x18 => "READ_FIFO_QUEUE",
        0x2b => "ENCAP_INTERFACE_TRANSPORT",
        0x5b => "OBJECT_MESSAGING",
        0x09 => "PROGRAM_484",
        0x0a => "POLL_484",
        0x0d => "PROGRAM_584_984",
        0x0e => "POLL_584_984",
        0x12 => "PROGRAM_884_U84",
        0x13 => "RESET_COMM_LINK_884_U84",
        0x28 => "PROGRAM_CONCEPT",
        0x29 => "MULTIPLE_FUNCTION_CODES",
        0x5a => "PROGRAM_UNITY",
        0x7d => "FIRMWARE_REPLACEMENT",
        0x7e => "PROGRAM_584_984_2",
        0x7f => "REPORT_LOCAL_ADDRESS",
        _ => return format_compact!("unknown-{f}"),
    };
    if f & 0x80 != 0 {
        format_compact!("{name}_EXCEPTION")
    } else {
        Text::const_new(name)
    }
}

pub fn exception_name(e: u8) -> Text {
    match e {
        0x01 => "ILLEGAL_FUNCTION",
        0x02 => "ILLEGAL_DATA_ADDRESS",
        0x03 => "ILLEGAL_DATA_VALUE",
        0x04 => "SLAVE_DEVICE_FAILURE",
        0x05 => "ACKNOWLEDGE",
        0x06 => "SLAVE_DEVICE_BUSY",
        0x08 => "MEMORY_PARITY_ERROR",
        0x0a => "GATEWAY_PATH_UNAVAILABLE",
        0x0b => "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND",
        _ => return format_compact!("unknown-{e}"),
    }
    .into()
}

fn diagnostic_name(s: u16) -> Text {
    match s {
        0x00 => "Return Query Data",
        0x01 => "Restart Communications Option",
        0x02 => "Return Diagnostic Register",
        0x03 => "Change ASCII Input Delimiter",
        0x04 => "Force Listen Only Mode",
        0x0a => "Clear Counters and Diagnostic Register",
        0x0b => "Return Bus Message Count",
        0x0c => "Return Bus Communication Error Count",
        0x0d => "Return Bus Exception Error Count",
        0x0e => "Return Server Message Count",
        0x0f => "Return Server No Response Count",
        0x10 => "Return Server NAK Count",
        0x11 => "Return Server Busy Count",
        0x12 => "Return Bus Character Overrun Count",
        0x14 => "Clear Overrun Counter and Flag",
        _ => return format_compact!("unknown-{s}"),
    }
    .into()
}

fn mei_name(m: u8) -> Text {
    match m {
        0x0d => Text::const_new("CANopen General Reference"),
        0x0e => Text::const_new("Read Device Identification"),
        _ => format_compact!("unknown-{m}"),
    }
}
