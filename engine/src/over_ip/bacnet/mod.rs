//! BACnet/IP: `bacnet` (one row per BVLC message: function, PDU type,
//! service, invoke id, error/reject/abort reason), `bacnet_discovery`
//! (Who-Is, I-Am, Who-Has, I-Have), `bacnet_property` (ReadProperty,
//! ReadPropertyMultiple, WriteProperty, ReadRange requests and acks: a row
//! per property read or written, a row per value returned, a row per
//! property error) and `bacnet_device_control` (ReinitializeDevice and
//! DeviceCommunicationControl requests and their results), as ICSNPP logs
//! them. I-Am and device-object properties (vendor, model, firmware, name)
//! go to the asset ledger.
//!
//! A segmented request or complex ACK is reassembled (one message per
//! direction at a time, up to [`MAX_SEGMENTED`] bytes, segments in order)
//! and its properties logged when its last segment arrives; every segment
//! has its own `bacnet` row.
//!
//! Recognised by the BVLC header (type 0x81, a defined function, a length
//! equal to the datagram's) on any UDP port.
//!
//! Uplink aggregation key: `bacnet` on `uid bvlc_function pdu_type
//! pdu_service result_code`; `bacnet_property` on `uid pdu_service
//! object_type instance_number property`.

pub mod descriptor;

pub mod names;
pub mod vendors;
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

pub static BACNET_DEVICE_CONTROL: LogSchema = LogSchema {
    path: "bacnet_device_control",
    fields: flow_dir_fields![
        field("invoke_id", FieldType::Count),
        field("pdu_service", FieldType::String),
        field("time_duration", FieldType::Count),
        field("device_state", FieldType::String),
        field("password", FieldType::String),
        field("result", FieldType::String),
        field("result_code", FieldType::String),
    ],
};

/// `bacnet_property` rows from one message at most (an object list read
/// whole gives a row per object).
pub const MAX_PROPERTIES: usize = 256;
/// Bytes of one segmented message reassembled at most.
pub const MAX_SEGMENTED: usize = 16 * 1024;

/// Recognises a BACnet/IP datagram.
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    (t == Transport::Udp && wire::parse_bvlc(data).is_some())
        .then(|| Box::new(Bacnet::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Bacnet {
    /// The segmented message being reassembled, per direction.
    segmented: [Option<Segmented>; 2],
}

/// A segmented message's header and the bytes of its segments so far.
struct Segmented {
    pdu_type: u8,
    invoke_id: Option<u8>,
    service: Option<u8>,
    next: u8,
    body: Vec<u8>,
}

impl Bacnet {
    /// Takes in one segment; returns the whole message's body once its
    /// last segment is in. Out-of-order or missing segments and messages
    /// over [`MAX_SEGMENTED`] bytes are dropped.
    fn reassemble(&mut self, dir: Dir, a: &Apdu<'_>, seq: u8, more: bool) -> Option<Vec<u8>> {
        let slot = &mut self.segmented[usize::from(!dir.is_orig())];
        if seq == 0 {
            *slot = Some(Segmented {
                pdu_type: a.pdu_type,
                invoke_id: a.invoke_id,
                service: a.service,
                next: 0,
                body: Vec::new(),
            });
        }
        let s = slot.as_mut()?;
        let same = s.pdu_type == a.pdu_type && s.invoke_id == a.invoke_id && s.service == a.service;
        if !same || s.next != seq || s.body.len() + a.body.len() > MAX_SEGMENTED {
            *slot = None;
            return None;
        }
        s.body.extend_from_slice(a.body);
        s.next = s.next.wrapping_add(1);
        if more {
            return None;
        }
        slot.take().map(|s| s.body)
    }
}

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
        let whole;
        let a = match a.segment {
            Some((seq, more)) => match self.reassemble(dir, &a, seq, more) {
                Some(body) => {
                    whole = body;
                    Apdu { body: &whole, ..a }
                }
                None => return data.len(),
            },
            None => a,
        };
        match (a.pdu_type, service) {
            (1, 0 | 1 | 7 | 8) => discovery(ctx, dir, &a),
            (0, 12 | 14 | 15 | 26) | (3, 12 | 26) => property(ctx, dir, &a),
            (3, 14) => property_multiple_ack(ctx, dir, &a),
            (5, 12 | 14 | 15 | 16) => property_error(ctx, dir, &a),
            (0 | 2 | 5, 17 | 20) => device_control(ctx, dir, &a),
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
                source: descriptor::IDENTITY,
                vendor: vendor_name.as_deref(),
                product: product.as_deref(),
                ..Identity::default()
            },
        );
    }
}

/// The text of the application-tagged value at `b[at..]` as ICSNPP
/// writes it: a null writes nothing, octet strings in hex, bit strings as
/// `T`/`F` per bit, dates `month/day/year`, times `h:m:s.hundredths`,
/// object identifiers `type: instance`, character strings in UTF-8 only;
/// enumerations of the properties ICSNPP names are named.
fn value_text(property: u32, b: &[u8], at: usize) -> Option<String> {
    let (t, _) = tag(b, at)?;
    if t.context {
        return None;
    }
    Some(match t.number {
        1 => (if t.lvt != 0 { "true" } else { "false" }).to_owned(),
        2 => unsigned(t.data)?.to_string(),
        3 => {
            let u = unsigned(t.data)?;
            let shift = 32 - 8 * t.data.len() as u32;
            (((u << shift) as i32) >> shift).to_string()
        }
        4 => format!("{:.6}", f32::from_be_bytes(t.data.try_into().ok()?)),
        5 => format!("{:.6}", f64::from_be_bytes(t.data.try_into().ok()?)),
        6 => t.data.iter().map(|b| format!("{b:02x}")).collect(),
        7 => character_string(t.data),
        8 => t
            .data
            .get(1..)?
            .iter()
            .flat_map(|byte| {
                (0..8)
                    .rev()
                    .map(move |i| if byte >> i & 1 == 1 { 'T' } else { 'F' })
            })
            .collect(),
        9 => {
            let e = unsigned(t.data)?;
            names::property_enum(property, e).map_or_else(|| e.to_string(), |n| n.to_string())
        }
        10 => match *t.data {
            [year, month, day, _] => format!("{month}/{day}/{}", 1900 + u32::from(year)),
            _ => return None,
        },
        11 => match *t.data {
            [h, m, s, hundredths] => format!("{h}:{m}:{s}.{hundredths}"),
            _ => return None,
        },
        12 => {
            let (ty, inst) = object_id(t.data)?;
            format!("{}: {inst}", names::object_type(ty))
        }
        _ => return None,
    })
    .filter(|v| !v.is_empty())
}

/// One `bacnet_property` row: object, property, array index, value.
#[derive(Default)]
struct PropertyRow {
    object: Option<(u16, u32)>,
    property: Option<u32>,
    index: Option<u32>,
    value: Option<String>,
}

/// Writes a `bacnet_property` row; a device object's properties in an ACK
/// also tell the ledger what the device is.
fn property_row(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>, svc: &str, r: PropertyRow) {
    if a.pdu_type == 3 && r.object.is_some_and(|o| o.0 == 8) {
        let host = common::sender(ctx, dir);
        device_fact(ctx, host, r.property, r.value.as_deref());
    }
    Row::flow_dir(ctx, &BACNET_PROPERTY, dir)
        .push(a.invoke_id.map(|i| Value::Count(u64::from(i))))
        .push(svc)
        .push(r.object.map(|o| names::object_type(o.0)))
        .push(r.object.map(|o| Value::Count(u64::from(o.1))))
        .push(r.property.map(names::property))
        .push(r.index.map(|i| Value::Count(u64::from(i))))
        .push(r.value)
        .emit(ctx);
}

/// ReadProperty, WriteProperty and ReadRange requests and the ReadProperty
/// and ReadRange ACKs; ReadPropertyMultiple requests. Context tags: 0
/// object, 1 property, 2 index, 3 value (WriteProperty, ReadProperty-ACK:
/// a row per value returned); a ReadRange ACK's item count (4) is its
/// value. ReadPropertyMultiple lists properties inside context 1
/// brackets, a row each.
fn property(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>) {
    let b = a.body;
    let service = a.service.unwrap_or(0);
    let is_ack = a.pdu_type == 3;
    let svc = match (service, is_ack) {
        (12, false) => "read-property-request",
        (12, true) => "read-property-ack",
        (14, _) => "read-property-multiple-request",
        (15, _) => "write-property",
        (26, false) => "read-range-request",
        _ => "read-range-ack",
    };
    let mut rows: Vec<PropertyRow> = Vec::new();
    let mut at = 0;
    let mut head = PropertyRow::default();
    let mut values: Vec<Option<String>> = Vec::new();
    let mut depth = 0u32;
    // The tag's position in the service data, as ICSNPP counts its tags.
    let mut position = 0usize;
    while let Some((t, next)) = tag(b, at) {
        // ICSNPP's array index: for ReadProperty and ReadRange requests
        // the third tag whatever it is (a ReadRange without an index gives
        // its range's opening tag, read as 0); for WriteProperty the last
        // tag numbered 2 from the third on, context or application (an
        // Unsigned value written is taken for the index).
        match (service, is_ack) {
            (12 | 26, false) if position == 2 => head.index = Some(icsnpp_unsigned(t.data)),
            (15, _) if position >= 2 && t.number == 2 => head.index = Some(icsnpp_unsigned(t.data)),
            _ => {}
        }
        position += 1;
        if t.opening {
            depth += 1;
            if depth == 1 && t.number == 3 && service == 15 {
                head.value = value_text(head.property.unwrap_or(0), b, next);
            }
        } else if t.closing {
            depth = depth.saturating_sub(1);
            if service == 14 && depth == 0 {
                flush(&mut rows, &mut head);
            }
        } else if service == 14 {
            match (depth, t.number) {
                (0, 0) => head.object = object_id(t.data),
                (1, 0) => {
                    flush(&mut rows, &mut head);
                    head.property = unsigned(t.data);
                }
                // ICSNPP logs no array index for ReadPropertyMultiple.
                _ => {}
            }
        } else if depth == 0 {
            match t.number {
                0 => head.object = object_id(t.data),
                1 => head.property = unsigned(t.data),
                2 if is_ack => head.index = unsigned(t.data),
                4 if is_ack && service == 26 => {
                    head.value = unsigned(t.data).map(|n| format!("item_count: {n}"));
                }
                _ => {}
            }
        } else if is_ack && service == 12 && !t.context && values.len() < MAX_PROPERTIES {
            values.push(value_text(head.property.unwrap_or(0), b, at));
        }
        at = next;
    }
    if is_ack && service == 12 {
        for value in values {
            let r = PropertyRow {
                object: head.object,
                property: head.property,
                index: head.index,
                value,
            };
            property_row(ctx, dir, a, svc, r);
        }
        return;
    }
    if service == 14 {
        flush(&mut rows, &mut head);
    } else {
        rows.push(head);
    }
    for r in rows {
        property_row(ctx, dir, a, svc, r);
    }
}

/// An unsigned as ICSNPP reads one: its first four bytes, 0 for none.
fn icsnpp_unsigned(d: &[u8]) -> u32 {
    d.iter().take(4).fold(0, |v, &b| v << 8 | u32::from(b))
}

/// Ends a ReadPropertyMultiple request's property reference: a row for
/// it, on the object it was listed under.
fn flush(rows: &mut Vec<PropertyRow>, head: &mut PropertyRow) {
    if head.property.is_some() && rows.len() < MAX_PROPERTIES {
        rows.push(PropertyRow {
            object: head.object,
            property: head.property.take(),
            index: head.index.take(),
            value: None,
        });
    }
}

/// A ReadPropertyMultiple ACK: for each object (context 0) a list of
/// results (1): property (2), optional array index (3), then its value
/// (4: a row per application-tagged value, or one row without a value if
/// there is none) or an access error (5: one row, value `PropertyError`),
/// as ICSNPP writes them. ICSNPP logs the values of an object list under
/// `object-identifier`, the kind of value each is; so does this log.
fn property_multiple_ack(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>) {
    const SVC: &str = "read-property-multiple-ack";
    let b = a.body;
    let mut at = 0;
    let mut head = PropertyRow::default();
    // Inside a result's value (4) or error (5), how deep, and whether it
    // gave a row yet.
    let mut result: Option<(u8, u32, bool)> = None;
    let mut rows = 0;
    while let Some((t, next)) = tag(b, at) {
        if rows >= MAX_PROPERTIES {
            break;
        }
        let logged = PropertyRow {
            object: head.object,
            property: head.property.map(|p| if p == 76 { 75 } else { p }),
            index: None,
            value: None,
        };
        match result.as_mut() {
            None if t.opening && matches!(t.number, 4 | 5) => result = Some((t.number, 1, false)),
            None if t.opening || t.closing => {}
            None => match t.number {
                0 => head.object = object_id(t.data),
                2 => head.property = unsigned(t.data),
                _ => {}
            },
            Some((_, depth, _)) if t.opening => *depth += 1,
            Some((_, depth, written)) if t.closing => {
                *depth -= 1;
                if *depth == 0 {
                    if !*written {
                        property_row(ctx, dir, a, SVC, logged);
                        rows += 1;
                    }
                    result = None;
                }
            }
            Some((5, _, written)) => {
                if !*written {
                    *written = true;
                    let value = Some("PropertyError".to_owned());
                    property_row(ctx, dir, a, SVC, PropertyRow { value, ..logged });
                    rows += 1;
                }
            }
            Some((_, _, written)) if !t.context => {
                *written = true;
                let value = value_text(head.property.unwrap_or(0), b, at);
                property_row(ctx, dir, a, SVC, PropertyRow { value, ..logged });
                rows += 1;
            }
            Some(_) => {}
        }
        at = next;
    }
}

/// An Error PDU answering a property service: ICSNPP writes it to
/// `bacnet_property` as `ERROR: <service>` with the error code in the
/// object type column.
fn property_error(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>) {
    let service = names::confirmed_service(a.service.unwrap_or(0));
    Row::flow_dir(ctx, &BACNET_PROPERTY, dir)
        .push(a.invoke_id.map(|i| Value::Count(u64::from(i))))
        .push(format!("ERROR: {service}"))
        .push(error_code(a.body).map(names::error_code))
        .push(Value::Unset)
        .push(Value::Unset)
        .push(Value::Unset)
        .push(Value::Unset)
        .emit(ctx);
}

/// ReinitializeDevice (20) and DeviceCommunicationControl (17) requests,
/// and the Simple-ACK or Error that answers them. Request parameters
/// (context tags): DeviceCommunicationControl 0 time duration in minutes
/// (0 or absent: indefinite), 1 enable-disable, 2 password;
/// ReinitializeDevice 0 state, 1 password. A request without a password
/// logs an empty one, as ICSNPP does.
fn device_control(ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu<'_>) {
    let service = a.service.unwrap_or(0);
    let row = Row::flow_dir(ctx, &BACNET_DEVICE_CONTROL, dir)
        .push(a.invoke_id.map(|i| Value::Count(u64::from(i))));
    let row = match a.pdu_type {
        0 => {
            let (mut duration, mut state, mut password) = (None, None, String::new());
            let mut at = 0;
            while let Some((t, next)) = tag(a.body, at) {
                if t.context && !t.opening && !t.closing {
                    match (service, t.number) {
                        (17, 0) => duration = unsigned(t.data).filter(|&d| d != 0),
                        (17, 1) | (20, 0) => state = unsigned(t.data),
                        (17, 2) | (20, 1) => password = character_string(t.data),
                        _ => {}
                    }
                }
                at = next;
            }
            let (svc, state) = if service == 17 {
                (
                    "device_communication_control",
                    state.map(names::enable_disable),
                )
            } else {
                ("reinitialize_device", state.map(names::reinitialized_state))
            };
            row.push(svc)
                .push(duration.map(|d| Value::Count(u64::from(d))))
                .push(state)
                .push(password)
                .push(Value::Unset)
                .push(Value::Unset)
        }
        2 => row
            .push(names::confirmed_service(service))
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push("SUCCESS")
            .push(Value::Unset),
        _ => row
            .push(names::confirmed_service(service))
            .push(Value::Unset)
            .push(Value::Unset)
            .push(Value::Unset)
            .push("ERROR")
            .push(error_code(a.body).map(names::error_code)),
    };
    row.emit(ctx);
}

/// A CharacterString's text: UTF-8 (character set 0) only, as ICSNPP
/// reads it; other character sets give an empty text.
fn character_string(d: &[u8]) -> String {
    match d.split_first() {
        Some((0, text)) => wire_text(text),
        _ => String::new(),
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
        source: descriptor::IDENTITY,
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

#[cfg(test)]
mod tests {
    use super::value_text;

    // Values as ICSNPP's bacnet_property.log writes them (its "services"
    // test: `device: 29`, `operational`, `226`).
    #[test]
    fn values() {
        let text = |b: &[u8], property| value_text(property, b, 0);
        assert_eq!(text(&[0x00], 85), None, "null");
        assert_eq!(text(&[0x11], 85).as_deref(), Some("true"));
        assert_eq!(text(&[0x21, 226], 76).as_deref(), Some("226"));
        assert_eq!(text(&[0x31, 0xfe], 85).as_deref(), Some("-2"));
        assert_eq!(
            text(&[0x44, 0x41, 0x20, 0, 0], 85).as_deref(),
            Some("10.000000")
        );
        assert_eq!(text(&[0x62, 0xbe, 0xef], 85).as_deref(), Some("beef"));
        assert_eq!(text(&[0x73, 0, b'o', b'k'], 77).as_deref(), Some("ok"));
        assert_eq!(text(&[0x73, 4, b'o', b'k'], 77), None, "not UTF-8");
        assert_eq!(text(&[0x82, 0x04, 0xa0], 111).as_deref(), Some("TFTFFFFF"));
        assert_eq!(text(&[0x91, 0], 112).as_deref(), Some("operational"));
        assert_eq!(text(&[0x91, 8], 79).as_deref(), Some("device"));
        assert_eq!(
            text(&[0xa4, 124, 12, 7, 1], 56).as_deref(),
            Some("12/7/2024")
        );
        assert_eq!(
            text(&[0xb4, 16, 5, 9, 50], 57).as_deref(),
            Some("16:5:9.50")
        );
        assert_eq!(
            text(&[0xc4, 0x02, 0, 0, 29], 75).as_deref(),
            Some("device: 29")
        );
    }
}
