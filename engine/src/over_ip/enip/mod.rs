//! EtherNet/IP and CIP: `enip` (one row per encapsulation message), `cip`
//! (one row per CIP request or response, Multiple Service Packet contents
//! included), `cip_io` (connected I/O on UDP), `cip_identity` (ListIdentity
//! replies and Identity Get_Attributes_All replies), as ICSNPP logs them.
//! Device identities also go to the asset ledger.
//!
//! Recognised by content: an encapsulation header with a defined command,
//! zero options and a consistent length (TCP, or UDP ListIdentity), or a
//! CPF list with a sequenced address item and connected data (UDP I/O).
//!
//! Uplink aggregation key: `cip_io` on `uid connection_id data_length`;
//! `cip` on `uid direction cip_service_code cip_status_code class_id
//! instance_id attribute_id`; `enip` on `uid enip_command_code enip_status`.

pub mod descriptor;

pub mod names;
pub mod wire;

use crate::asset::Identity;
use crate::bytes::{le16, le32, Error};
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{hex, wire_text};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};
use std::net::{IpAddr, Ipv4Addr};
use wire::{Header, Message};

pub static ENIP: LogSchema = LogSchema {
    path: "enip",
    fields: flow_dir_fields![
        field("enip_command_code", FieldType::String),
        field("enip_command", FieldType::String),
        field("length", FieldType::Count),
        field("session_handle", FieldType::String),
        field("enip_status", FieldType::String),
        field("sender_context", FieldType::String),
        field("options", FieldType::String),
    ],
};

pub static CIP: LogSchema = LogSchema {
    path: "cip",
    fields: flow_dir_fields![
        field("cip_sequence_count", FieldType::Count),
        field("direction", FieldType::String),
        field("cip_service_code", FieldType::String),
        field("cip_service", FieldType::String),
        field("cip_status_code", FieldType::String),
        field("cip_status", FieldType::String),
        field("cip_extended_status_code", FieldType::String),
        field("cip_extended_status", FieldType::String),
        field("class_id", FieldType::String),
        field("class_name", FieldType::String),
        field("instance_id", FieldType::String),
        field("attribute_id", FieldType::String),
    ],
};

pub static CIP_IO: LogSchema = LogSchema {
    path: "cip_io",
    fields: flow_dir_fields![
        field("connection_id", FieldType::String),
        field("sequence_number", FieldType::Count),
        field("data_length", FieldType::Count),
        field("io_data", FieldType::String),
    ],
};

pub static CIP_IDENTITY: LogSchema = LogSchema {
    path: "cip_identity",
    fields: flow_dir_fields![
        field("encapsulation_version", FieldType::Count),
        field("socket_address", FieldType::Addr),
        field("socket_port", FieldType::Count),
        field("vendor_id", FieldType::Count),
        field("vendor_name", FieldType::String),
        field("device_type_id", FieldType::Count),
        field("device_type_name", FieldType::String),
        field("product_code", FieldType::Count),
        field("revision", FieldType::String),
        field("device_status", FieldType::String),
        field("serial_number", FieldType::String),
        field("product_name", FieldType::String),
        field("device_state", FieldType::String),
    ],
};

/// Largest I/O payload written into `cip_io.io_data`, in bytes.
pub const MAX_IO_DATA: usize = 512;

/// Recognises an encapsulation message (TCP or UDP) or a CIP I/O datagram.
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    match t {
        Transport::Tcp => {
            let (h, _, _) = wire::parse_encap(data).ok()?;
            // A session starts or continues with one of these.
            matches!(h.command, 0x63 | 0x64 | 0x65 | 0x66 | 0x6f | 0x70 | 0x04)
                .then(|| Box::new(Enip::new("enip")) as Box<dyn AppParser>)
        }
        Transport::Udp => {
            if let Ok((h, _, n)) = wire::parse_encap(data) {
                if n == data.len() && matches!(h.command, 0x63 | 0x64 | 0x04) {
                    return Some(Box::new(Enip::new("enip")));
                }
            }
            is_io(data).then(|| Box::new(Enip::new("cip")) as Box<dyn AppParser>)
        }
        _ => None,
    }
}

/// CPF with a sequenced address item (0x8002) then connected data (0x00b1),
/// filling the datagram.
fn is_io(d: &[u8]) -> bool {
    le16(d, 0) == Some(2)
        && le16(d, 2) == Some(0x8002)
        && le16(d, 4) == Some(8)
        && le16(d, 14) == Some(0x00b1)
        && le16(d, 16).map(usize::from) == Some(d.len().saturating_sub(18))
}

pub struct Enip {
    service: &'static str,
    /// The last request's service and class, to recognise an Identity
    /// Get_Attributes_All reply.
    last_request: Option<(u8, Option<u32>)>,
    roles_seen: bool,
}

impl Enip {
    fn new(service: &'static str) -> Self {
        Enip {
            service,
            last_request: None,
            roles_seen: false,
        }
    }
}

impl AppParser for Enip {
    fn service(&self) -> &'static str {
        self.service
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if ctx.flow.id.proto == Transport::Udp {
            if let Ok((h, body, _)) = wire::parse_encap(data) {
                self.encap(ctx, dir, &h, body);
            } else if is_io(data) {
                io(ctx, dir, data);
            }
            return data.len();
        }
        let mut pos = 0;
        while let Some(frame) = next_frame(data, &mut pos, frame_len) {
            if let Ok((h, body, _)) = wire::parse_encap(frame) {
                self.encap(ctx, dir, &h, body);
            }
        }
        pos
    }
}

fn frame_len(b: &[u8]) -> Result<usize, Error> {
    wire::parse_encap(b).map(|(_, _, n)| n)
}

fn io(ctx: &mut Ctx<'_, '_>, dir: Dir, d: &[u8]) {
    let conn = le32(d, 6).unwrap_or(0);
    let seq = le32(d, 10).unwrap_or(0);
    let payload = d.get(18..).unwrap_or(&[]);
    let shown = &payload[..payload.len().min(MAX_IO_DATA)];
    let hexdata = crate::text::hex_bytes(shown);
    Row::flow_dir(ctx, &CIP_IO, dir)
        .push(hex(u64::from(conn), 8))
        .push(Value::Count(u64::from(seq)))
        .push(Value::Count(payload.len() as u64))
        .push(hexdata)
        .emit(ctx);
}

impl Enip {
    fn encap(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, h: &Header, body: &[u8]) {
        Row::flow_dir(ctx, &ENIP, dir)
            .push(hex(u64::from(h.command), 2))
            .push(names::command(h.command))
            .push(Value::Count(u64::from(h.length)))
            .push(hex(u64::from(h.session), 8))
            .push(names::enip_status(h.status))
            // The eight bytes in order: their big-endian number's digits.
            .push(hex(u64::from_be_bytes(h.context), 16))
            .push(hex(u64::from(h.options), 8))
            .emit(ctx);
        if !self.roles_seen && matches!(h.command, 0x65 | 0x6f | 0x70) && dir.is_orig() {
            self.roles_seen = true;
            let (c, s) = (common::orig_host(ctx), common::resp_host(ctx));
            ctx.out.assets.observe_role(ctx.ts, s, descriptor::ADAPTER);
            ctx.out.assets.observe_role(ctx.ts, c, descriptor::SCANNER);
        }
        match h.command {
            0x63 if !body.is_empty() => {
                for item in wire::parse_items(body).unwrap_or_default() {
                    if item.kind == 0x0c {
                        if let Some(id) = wire::parse_identity_item(item.data) {
                            identity(ctx, dir, &id, true);
                        }
                    }
                }
            }
            0x6f | 0x70 => {
                // Interface handle (4) and timeout (2) precede the items.
                let Some(items) = body.get(6..).and_then(wire::parse_items) else {
                    return;
                };
                for item in items {
                    match item.kind {
                        0x00b2 => self.cip(ctx, dir, None, item.data),
                        0x00b1 => {
                            let seq = le16(item.data, 0);
                            if let Some(msg) = item.data.get(2..) {
                                self.cip(ctx, dir, seq, msg);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn cip(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, seq: Option<u16>, msg: &[u8]) {
        let Some(m) = wire::parse_cip(msg) else {
            return;
        };
        cip_row(ctx, dir, seq, &m);
        match m {
            Message::Request {
                service: 0x0a,
                data,
                ..
            } => {
                for inner in wire::multiple_service(data) {
                    if let Some(im) = wire::parse_cip(inner) {
                        cip_row(ctx, dir, seq, &im);
                    }
                }
                self.last_request = Some((0x0a, None));
            }
            Message::Request { service, path, .. } => {
                self.last_request = Some((service, path.class));
            }
            Message::Response {
                service: 0x0a,
                data,
                ..
            } => {
                for inner in wire::multiple_service(data) {
                    if let Some(im) = wire::parse_cip(inner) {
                        cip_row(ctx, dir, seq, &im);
                    }
                }
            }
            Message::Response {
                service: 0x01,
                status: 0,
                data,
                ..
            } if self.last_request == Some((0x01, Some(1))) => {
                if let Some(id) = wire::parse_identity_attrs(data) {
                    identity(ctx, dir, &id, false);
                }
            }
            Message::Response { .. } => {}
        }
    }
}

fn opt_hex(v: Option<u32>) -> Value {
    v.map_or(Value::Unset, |v| Value::from(hex(u64::from(v), 2)))
}

fn cip_row(ctx: &mut Ctx<'_, '_>, dir: Dir, seq: Option<u16>, m: &Message<'_>) {
    let row = Row::flow_dir(ctx, &CIP, dir).push(
        seq.filter(|&s| s != 0)
            .map_or(Value::Unset, |s| Value::Count(u64::from(s))),
    );
    let row = match *m {
        Message::Request { service, path, .. } => row
            .push("request")
            .push(hex(u64::from(service), 2))
            .push(names::service(service))
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push(opt_hex(path.class))
            .push(path.class.map(names::class))
            .push(opt_hex(path.instance))
            .push(opt_hex(path.attribute)),
        Message::Response {
            service,
            status,
            extended,
            ..
        } => row
            .push("response")
            .push(hex(u64::from(service), 2))
            .push(names::service(service))
            .push(hex(u64::from(status), 2))
            .push(names::cip_status(status))
            .push(extended.map(|e| hex(u64::from(e), 4)))
            .push(extended.map(names::extended_status))
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset),
    };
    row.emit(ctx);
}

fn identity(ctx: &mut Ctx<'_, '_>, dir: Dir, id: &wire::Identity<'_>, from_list: bool) {
    let name = wire_text(id.product_name);
    let (ver, addr, port) = if from_list {
        (
            Value::Count(u64::from(id.encap_version)),
            Value::Addr(IpAddr::V4(Ipv4Addr::from(id.socket_addr))),
            Value::Count(u64::from(id.socket_port)),
        )
    } else {
        (Value::Unset, Value::Unset, Value::Unset)
    };
    Row::flow_dir(ctx, &CIP_IDENTITY, dir)
        .push(ver)
        .push(addr)
        .push(port)
        .push(Value::Count(u64::from(id.vendor)))
        .push(names::vendor(id.vendor))
        .push(Value::Count(u64::from(id.device_type)))
        .push(names::device_type(id.device_type))
        .push(Value::Count(u64::from(id.product_code)))
        .push(format!("{}.{}", id.revision.0, id.revision.1))
        .push(hex(u64::from(id.status), 4))
        .push(hex(u64::from(id.serial), 8))
        .push(name.clone())
        .push(id.state.map(|s| hex(u64::from(s), 4)))
        .emit(ctx);
    let firmware = format!("{}.{}", id.revision.0, id.revision.1);
    let serial = hex(u64::from(id.serial), 8);
    let model = format!("product code {}", id.product_code);
    let host = common::sender(ctx, dir);
    ctx.out.assets.observe_identity(
        ctx.ts,
        host,
        &Identity {
            source: descriptor::IDENTITY,
            vendor: Some(names::vendor(id.vendor)),
            product: Some(&name),
            model: Some(&model),
            firmware: Some(&firmware),
            serial: Some(&serial),
        },
    );
    ctx.out
        .assets
        .observe_role(ctx.ts, host, descriptor::ADAPTER);
}
