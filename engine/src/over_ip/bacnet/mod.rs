//! BACnet/IP: `bacnet` (one row per BVLC message: function, PDU type,
//! service, invoke id, error/reject/abort reason), `bacnet_discovery`
//! (Who-Is, I-Am, Who-Has, I-Have) and `bacnet_property` (ReadProperty,
//! ReadPropertyMultiple, WriteProperty, ReadRange requests and acks), as
//! ICSNPP logs them. I-Am and device-object properties (vendor, model,
//! firmware, name) go to the asset ledger.
//!
//! Recognised by the BVLC header (type 0x81, a defined function, a length
//! equal to the datagram's) on any UDP port.
//!
//! Uplink aggregation key: `bacnet` on `uid bvlc_function pdu_type
//! pdu_service result_code`; `bacnet_property` on `uid pdu_service
//! object_type instance_number property`.

pub mod descriptor;

pub mod names;
pub mod wire;

use crate::asset::Identity;
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::wire_text;
use osect_wire::record::field;
use osect_wire::Text;
use osect_wire::{FieldType, LogSchema, Value};
use wire::{object_id, tag, unsigned, Apdu};

pub static BACNET: LogSchema = LogSchema {
    path: "bacnet",
    fields: flow_dir_fields![
        field("bvlc_function", FieldType::String),
        field("pdu_type", FieldType::String),
        field("pdu_service", FieldType::String),
        field("invoke_id", FieldType::Count),
        field("result_code", FieldType::String),
    ],
};

pub static BACNET_DISCOVERY: LogSchema = LogSchema {
    path: "bacnet_discovery",
    fields: flow_dir_fields![
        field("pdu_service", FieldType::String),
        field("device_id_type", FieldType::String),
        field("device_id_number", FieldType::Count),
        field("object_type", FieldType::String),
        field("instance_number", FieldType::Count),
        field("vendor", FieldType::String),
        field("range", FieldType::String),
        field("object_name", FieldType::String),
    ],
};

pub static BACNET_PROPERTY: LogSchema = LogSchema {
    path: "bacnet_property",
    fields: flow_dir_fields![
        field("invoke_id", FieldType::Count),
        field("pdu_service", FieldType::String),
        field("object_type", FieldType::String),
        field("instance_number", FieldType::Count),
        field("property", FieldType::String),
        field("array_index", FieldType::Count),
        field("value", FieldType::String),
    ],
};

/// Properties logged from one ReadPropertyMultiple request at most.
pub const MAX_PROPERTIES: usize = 64;

/// Recognises a BACnet/IP datagram.
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    (t == Transport::Udp && wire::parse_bvlc(data).is_some())
        .then(|| Box::new(Bacnet) as Box<dyn AppParser>)
}

pub struct Bacnet;

impl AppParser for Bacnet {
    fn service(&self) -> &'static str {
        "bacnet"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let Some(b) = wire::parse_bvlc(data) else {
            return data.len();
        };
        let apdu = b.npdu.and_then(wire::npdu_apdu).and_then(wire::parse_apdu);
        let row = Row::flow_dir(ctx, &BACNET, dir).push(names::bvlc_function(b.function));
        let Some(a) = apdu else {
            row.push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .push(Value::Unset)
                .emit(ctx);
            return data.len();
        };
        let service = a.service.unwrap_or(0);
        let (svc, result) = match a.pdu_type {
            0 | 2 | 3 => (Some(names::confirmed_service(service)), None),
            1 => (Some(names::unconfirmed_service(service)), None),
            5 => (
                Some(names::confirmed_service(service)),
                error_code(a.body).map(names::error_code),
            ),
            6 => (
                Some(Text::const_new("reject")),
                Some(names::reject_reason(service)),
            ),
            7 => (
                Some(Text::const_new("abort")),
                Some(names::abort_reason(service)),
            ),
            _ => (None, None),
        };
        row.push(names::pdu_type(a.pdu_type))
            .push(svc)
            .push(a.invoke_id.map(|i| Value::Count(u64::from(i))))
            .push(result)
            .emit(ctx);
        match (a.pdu_type, service) {
            (1, 0 | 1 | 7 | 8) => discovery(ctx, dir, &a),
            (0, 12 | 14 | 15 | 26) | (3, 12 | 14 | 26) => property(ctx, dir, &a),
            _ => {}
        }
        data.len()
    }
}

/// The error code of an Error PDU: two application enumerations.
fn error_code(body: &[u8]) -> Option<u32> {
    let (_, next) = tag(body, 0)?;
    let (code, _) = tag(body, next)?;
    unsigned(code.data)
}

fn discovery(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>) {
    let b = a.body;
    let service = a.service.unwrap_or(0);
    let mut device: Option<(u16, u32)> = None;
    let mut object: Option<(u16, u32)> = None;
    let mut vendor = None;
    let mut range = None;
    let mut name = None;
    match service {
        0 => {
            // I-Am: device id, max APDU, segmentation, vendor id.
            let mut at = 0;
            let mut values = [None; 4];
            for v in values.iter_mut() {
                let Some((t, next)) = tag(b, at) else { break };
                *v = Some(t);
                at = next;
            }
            object = values[0].and_then(|t| object_id(t.data));
            vendor = values[3].and_then(|t| unsigned(t.data));
        }
        1 => {
            // I-Have: device id, object id, object name.
            let mut at = 0;
            let mut values = [None; 3];
            for v in values.iter_mut() {
                let Some((t, next)) = tag(b, at) else { break };
                *v = Some(t);
                at = next;
            }
            device = values[0].and_then(|t| object_id(t.data));
            object = values[1].and_then(|t| object_id(t.data));
            name = values[2].and_then(|t| t.data.get(1..)).map(wire_text);
        }
        7 | 8 => {
            // Who-Has / Who-Is: optional limits (context 0, 1), then the
            // object (context 2 id or 3 name) for Who-Has.
            let mut at = 0;
            let (mut low, mut high) = (None, None);
            while let Some((t, next)) = tag(b, at) {
                match (t.number, t.context) {
                    (0, true) => low = unsigned(t.data),
                    (1, true) => high = unsigned(t.data),
                    (2, true) => object = object_id(t.data),
                    (3, true) => name = t.data.get(1..).map(wire_text),
                    _ => {}
                }
                at = next;
            }
            range = Some(match (low, high) {
                (Some(l), Some(h)) => format!("{l}-{h}"),
                _ => "All".to_owned(),
            });
        }
        _ => {}
    }
    let svc = match service {
        0 => "i-am",
        1 => "i-have",
        7 => "who-has",
        _ => "who-is",
    };
    let vendor_name = vendor.map(names::vendor);
    Row::flow_dir(ctx, &BACNET_DISCOVERY, dir)
        .push(svc)
        .push(device.map(|d| names::object_type(d.0)))
        .push(device.map(|d| Value::Count(u64::from(d.1))))
        .push(object.map(|o| names::object_type(o.0)))
        .push(object.map(|o| Value::Count(u64::from(o.1))))
        .push(vendor_name.clone())
        .push(range)
        .push(name)
        .emit(ctx);
    if service == 0 {
        let host = common::sender(ctx, dir);
        ctx.out
            .assets
            .observe_role(ctx.ts, host, descriptor::DEVICE);
        let product = object.map(|o| format!("BACnet device {}", o.1));
        ctx.out.assets.observe_identity(
            ctx.ts,
            host,
            &Identity {
                source: "bacnet",
                vendor: vendor_name.as_deref(),
                product: product.as_deref(),
                ..Identity::default()
            },
        );
    }
}

/// The text of a property value: the first application-tagged value.
fn value_text(property: u32, b: &[u8], at: usize) -> Option<String> {
    let (t, _) = tag(b, at)?;
    if t.context {
        return None;
    }
    Some(match t.number {
        0 => "null".to_owned(),
        1 => (if t.lvt != 0 { "true" } else { "false" }).to_owned(),
        2 => unsigned(t.data)?.to_string(),
        3 => {
            let u = unsigned(t.data)?;
            let shift = 32 - 8 * t.data.len() as u32;
            (((u << shift) as i32) >> shift).to_string()
        }
        4 => format!("{:.6}", f32::from_be_bytes(t.data.try_into().ok()?)),
        5 => format!("{:.6}", f64::from_be_bytes(t.data.try_into().ok()?)),
        7 => wire_text(t.data.get(1..)?),
        9 => {
            let e = unsigned(t.data)?;
            match property {
                117 => names::units(e).map_or_else(|| e.to_string(), str::to_owned),
                36 => names::event_state(e).map_or_else(|| e.to_string(), str::to_owned),
                _ => e.to_string(),
            }
        }
        12 => {
            let (ty, inst) = object_id(t.data)?;
            format!("{}:{inst}", names::object_type(ty))
        }
        _ => return None,
    })
}

/// Object, property, array index and value of one property row.
type PropertyRow = (Option<(u16, u32)>, Option<u32>, Option<u32>, Option<String>);

fn property(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>) {
    let b = a.body;
    let service = a.service.unwrap_or(0);
    let is_ack = a.pdu_type == 3;
    let svc = match (service, is_ack) {
        (12, false) => "read-property-request",
        (12, true) => "read-property-ack",
        (14, false) => "read-property-multiple-request",
        (14, true) => "read-property-multiple-ack",
        (15, _) => "write-property",
        (26, false) => "read-range-request",
        _ => "read-range-ack",
    };
    let mut rows: heapless::Vec<PropertyRow, MAX_PROPERTIES> = heapless::Vec::new();
    let mut at = 0;
    let mut object = None;
    let (mut prop, mut index, mut value) = (None, None, None);
    let mut depth = 0u32;
    // Context tags: 0 object, 1 property, 2 index, 3 value (opening).
    // ReadPropertyMultiple lists properties inside context 1 brackets.
    while let Some((t, next)) = tag(b, at) {
        if t.opening {
            depth += 1;
            if depth == 1 && t.number == 3 && matches!(service, 12 | 15) {
                value = value_text(prop.unwrap_or(0), b, next);
            }
        } else if t.closing {
            depth = depth.saturating_sub(1);
        } else if service == 14 && !is_ack {
            match (depth, t.number) {
                (0, 0) => object = object_id(t.data),
                (1, 0) => {
                    if let Some(p) = prop.take() {
                        let _ = rows.push((object, Some(p), index.take(), None));
                    }
                    prop = unsigned(t.data);
                }
                (1, 1) => index = unsigned(t.data),
                _ => {}
            }
        } else if depth == 0 {
            match t.number {
                0 => object = object_id(t.data),
                1 => prop = unsigned(t.data),
                2 => index = unsigned(t.data),
                _ => {}
            }
        }
        at = next;
    }
    let _ = rows.push((object, prop, index, value));
    let host = common::sender(ctx, dir);
    for (object, prop, index, value) in rows {
        if is_ack && object.is_some_and(|o| o.0 == 8) {
            device_fact(ctx, host, prop, value.as_deref());
        }
        Row::flow_dir(ctx, &BACNET_PROPERTY, dir)
            .push(a.invoke_id.map(|i| Value::Count(u64::from(i))))
            .push(svc)
            .push(object.map(|o| names::object_type(o.0)))
            .push(object.map(|o| Value::Count(u64::from(o.1))))
            .push(prop.map(names::property))
            .push(index.map(|i| Value::Count(u64::from(i))))
            .push(value)
            .emit(ctx);
    }
}

/// A device object's property read back: identity facts for the ledger.
fn device_fact(
    ctx: &mut Ctx<'_, '_>,
    host: crate::asset::HostRef,
    prop: Option<u32>,
    value: Option<&str>,
) {
    let Some(v) = value else { return };
    let mut id = Identity {
        source: "bacnet",
        ..Identity::default()
    };
    match prop {
        Some(121) => id.vendor = Some(v),
        Some(70) => id.model = Some(v),
        Some(44) => id.firmware = Some(v),
        Some(77) => id.product = Some(v),
        _ => return,
    }
    ctx.out.assets.observe_identity(ctx.ts, host, &id);
}
