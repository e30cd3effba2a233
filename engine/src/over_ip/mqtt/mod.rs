//! MQTT (OASIS MQTT 3.1.1, and 3.1 and 5.0 where they differ): the
//! publish/subscribe protocol of IIoT gateways, as Zeek's three logs:
//! `mqtt_connect` (a CONNECT and the broker's CONNACK), `mqtt_subscribe`
//! (SUBSCRIBE or UNSUBSCRIBE and its acknowledgement) and `mqtt_publish`
//! (a PUBLISH, written once its QoS exchange completes: at once for QoS 0,
//! on PUBACK for 1, on PUBCOMP after PUBREC and PUBREL for 2; an exchange
//! that never completes is written with status `incomplete_qos` when the
//! connection ends). Payloads are cut at 100 bytes as Zeek's
//! `MQTT::max_payload_size`, with the full length in `payload_len`.

pub mod descriptor;

use crate::bytes::{be16, Error};
use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{at_time, AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};

pub static MQTT_CONNECT: LogSchema = LogSchema {
    path: "mqtt_connect",
    fields: flow_fields![
        field("proto_name", T::String),
        field("proto_version", T::String),
        field("client_id", T::String),
        field("connect_status", T::String),
        field("will_topic", T::String),
        field("will_payload", T::String),
    ],
};

pub static MQTT_SUBSCRIBE: LogSchema = LogSchema {
    path: "mqtt_subscribe",
    fields: flow_fields![
        field("action", T::Enum),
        field("topics", T::VectorString),
        field("qos_levels", T::VectorCount),
        field("granted_qos_level", T::Count),
        field("ack", T::Bool),
    ],
};

pub static MQTT_PUBLISH: LogSchema = LogSchema {
    path: "mqtt_publish",
    fields: flow_fields![
        field("from_client", T::Bool),
        field("retain", T::Bool),
        field("qos", T::String),
        field("status", T::String),
        field("topic", T::String),
        field("payload", T::String),
        field("payload_len", T::Count),
    ],
};

/// Zeek's `MQTT::max_payload_size`.
const MAX_PAYLOAD: usize = 100;
/// Largest control packet decoded; larger ones (bulk payloads) are skipped
/// by length without being read whole.
const MAX_PACKET: usize = 64 * 1024;
/// Exchanges waiting for their acknowledgement, per connection.
const MAX_WAITING: usize = 64;
/// Topics kept of one SUBSCRIBE.
const MAX_TOPICS: usize = 32;

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const PUBACK: u8 = 4;
const PUBREC: u8 = 5;
const PUBREL: u8 = 6;
const PUBCOMP: u8 = 7;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const UNSUBSCRIBE: u8 = 10;
const UNSUBACK: u8 = 11;

fn version_name(v: u8) -> String {
    match v {
        3 => "3.1".into(),
        4 => "3.1.1".into(),
        5 => "5.0".into(),
        _ => format!("unknown-version-{v}"),
    }
}

fn qos_name(q: u8) -> String {
    match q {
        0 => "at most once".into(),
        1 => "at least once".into(),
        2 => "exactly once".into(),
        _ => format!("unknown-qos-level-{q}"),
    }
}

fn return_code(c: u8) -> String {
    match c {
        0 => "Connection Accepted".into(),
        1 => "Refused: unacceptable protocol version".into(),
        2 => "Refused: identifier rejected".into(),
        3 => "Refused: server unavailable".into(),
        4 => "Refused: bad user name or password".into(),
        5 => "Refused: not authorized".into(),
        _ => format!("unknown-return-code-{c}"),
    }
}

/// The variable byte integer at `b[at..]` (at most four bytes): its value
/// and the bytes it took. `Err(Truncated)` when `b` ends inside it.
fn varint(b: &[u8], at: usize) -> Result<(usize, usize), Error> {
    let mut v = 0usize;
    for i in 0..4 {
        let c = *b.get(at + i).ok_or(Error::Truncated)?;
        v |= usize::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(Error::malformed("MQTT remaining length", at))
}

/// The length of the control packet at the start of `b`.
fn packet_len(b: &[u8]) -> Result<usize, Error> {
    let ty = b.first().ok_or(Error::Truncated)? >> 4;
    // Type 0 is reserved in every version.
    if ty == 0 {
        return Err(Error::malformed("MQTT packet type", 0));
    }
    let (len, n) = varint(b, 1)?;
    Ok(1 + n + len)
}

/// [`packet_len`] once the whole packet is in: a packet that has begun but
/// not ended is `Truncated`, so it waits for its next segment rather than
/// being skipped byte by byte.
fn whole_packet_len(b: &[u8]) -> Result<usize, Error> {
    match packet_len(b)? {
        n if n > b.len() => Err(Error::Truncated),
        n => Ok(n),
    }
}

/// A reader over a packet's variable header and payload.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = be16(self.b, self.at)?;
        self.at += 2;
        Some(v)
    }
    /// A length-prefixed string or binary field.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        let v = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(v)
    }
    /// MQTT 5.0 properties: skipped by their length.
    fn properties(&mut self, version: u8) -> Option<()> {
        if version == 5 {
            let (len, n) = varint(self.b, self.at).ok()?;
            self.at = self.at.checked_add(n + len)?;
            (self.at <= self.b.len()).then_some(())
        } else {
            Some(())
        }
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.at..).unwrap_or_default()
    }
}

fn text_of(b: &[u8]) -> String {
    text::bytes(b, text::MAX_TEXT)
}

/// Recognises MQTT by a client's CONNECT with the protocol name of 3.1
/// (`MQIsdp`) or 3.1.1 and 5.0 (`MQTT`), on any port.
pub fn probe(
    transport: Transport,
    _id: &ConnId,
    dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    if transport != Transport::Tcp || dir != Dir::Orig || data.first() != Some(&0x10) {
        return None;
    }
    let (_, n) = varint(data, 1).ok()?;
    let mut r = Reader { b: data, at: 1 + n };
    let name = r.bytes()?;
    let level = r.u8()?;
    let ok = matches!((name, level), (b"MQTT", 4 | 5) | (b"MQIsdp", 3));
    ok.then(|| Box::new(Mqtt::default()) as Box<dyn AppParser>)
}

/// A CONNECT waiting for its CONNACK.
struct Connect {
    ts: i64,
    name: String,
    version: String,
    client_id: String,
    will_topic: Option<String>,
    will_payload: Option<String>,
}

struct Publish {
    ts: i64,
    from_client: bool,
    id: u16,
    retain: bool,
    qos: u8,
    topic: String,
    payload: String,
    payload_len: usize,
    rec: bool,
    rel: bool,
}

struct Subscribe {
    ts: i64,
    id: u16,
    subscribe: bool,
    topics: Vec<String>,
    qos: Vec<u64>,
}

#[derive(Default)]
pub struct Mqtt {
    version: u8,
    connect: Option<Connect>,
    publishes: Vec<Publish>,
    subscribes: Vec<Subscribe>,
    acked: bool,
    /// Bytes of an oversized packet still to skip, per direction.
    skip: [usize; 2],
}

impl Mqtt {
    fn packet(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, p: &[u8]) -> Option<()> {
        let ty = p[0] >> 4;
        let flags = p[0] & 0x0f;
        let (_, n) = varint(p, 1).ok()?;
        let mut r = Reader { b: p, at: 1 + n };
        match ty {
            CONNECT => {
                let name = text_of(r.bytes()?);
                let level = r.u8()?;
                let cflags = r.u8()?;
                let _keepalive = r.u16()?;
                self.version = level;
                r.properties(level)?;
                let client_id = text_of(r.bytes()?);
                let (mut will_topic, mut will_payload) = (None, None);
                if cflags & 0x04 != 0 {
                    r.properties(level)?;
                    will_topic = Some(text_of(r.bytes()?));
                    let m = r.bytes()?;
                    will_payload = Some(text::bytes(m, MAX_PAYLOAD));
                }
                self.connect = Some(Connect {
                    ts: ctx.ts,
                    name,
                    version: version_name(level),
                    client_id,
                    will_topic,
                    will_payload,
                });
            }
            CONNACK if !dir.is_orig() => {
                let _ack_flags = r.u8()?;
                let code = r.u8()?;
                let c = self.connect.take()?;
                self.acked = true;
                ctx.out
                    .assets
                    .observe_role(ctx.ts, common::resp_host(ctx), descriptor::BROKER);
                let mut at = at_time(ctx, c.ts);
                Row::flow(&at, &MQTT_CONNECT)
                    .push(c.name)
                    .push(c.version)
                    .push(c.client_id)
                    .push(return_code(code))
                    .push(c.will_topic)
                    .push(c.will_payload)
                    .emit(&mut at);
            }
            PUBLISH => {
                let qos = (flags >> 1) & 3;
                let topic = text_of(r.bytes()?);
                let id = if qos > 0 { r.u16()? } else { 0 };
                r.properties(self.version)?;
                let payload = r.rest();
                let p = Publish {
                    ts: ctx.ts,
                    from_client: dir.is_orig(),
                    id,
                    retain: flags & 1 != 0,
                    qos,
                    topic,
                    payload: text::bytes(payload, MAX_PAYLOAD),
                    payload_len: payload.len(),
                    rec: false,
                    rel: false,
                };
                if qos == 0 {
                    log_publish(ctx, p, "ok");
                } else {
                    // A newer exchange with the same id replaces the old.
                    if let Some(i) = self.publishes.iter().position(|w| w.id == id) {
                        let old = self.publishes.remove(i);
                        log_publish(ctx, old, "incomplete_qos");
                    }
                    if self.publishes.len() >= MAX_WAITING {
                        let old = self.publishes.remove(0);
                        log_publish(ctx, old, "incomplete_qos");
                    }
                    self.publishes.push(p);
                }
            }
            PUBACK | PUBREC | PUBREL | PUBCOMP => {
                let id = r.u16()?;
                let i = self.publishes.iter().position(|w| w.id == id)?;
                let w = &mut self.publishes[i];
                let done = match ty {
                    PUBACK => w.qos == 1,
                    PUBREC => {
                        w.rec = true;
                        false
                    }
                    PUBREL => {
                        w.rel = true;
                        false
                    }
                    _ => w.qos == 2 && w.rec && w.rel,
                };
                if done {
                    let w = self.publishes.remove(i);
                    log_publish(ctx, w, "ok");
                }
            }
            SUBSCRIBE | UNSUBSCRIBE => {
                let id = r.u16()?;
                r.properties(self.version)?;
                let (mut topics, mut qos) = (Vec::new(), Vec::new());
                while !r.rest().is_empty() && topics.len() < MAX_TOPICS {
                    topics.push(text_of(r.bytes()?));
                    if ty == SUBSCRIBE {
                        qos.push(u64::from(r.u8()? & 3));
                    }
                }
                if self.subscribes.len() >= MAX_WAITING {
                    self.subscribes.remove(0);
                }
                self.subscribes.push(Subscribe {
                    ts: ctx.ts,
                    id,
                    subscribe: ty == SUBSCRIBE,
                    topics,
                    qos,
                });
            }
            SUBACK | UNSUBACK => {
                let id = r.u16()?;
                let i = self.subscribes.iter().position(|s| s.id == id)?;
                let s = self.subscribes.remove(i);
                // The first granted level, as Zeek reports it (3.1.1 has
                // no payload in UNSUBACK).
                let granted = if ty == SUBACK {
                    r.properties(self.version)?;
                    r.u8().map(u64::from)
                } else {
                    None
                };
                log_subscribe(ctx, s, granted, true);
            }
            _ => {}
        }
        Some(())
    }
}

fn log_subscribe(ctx: &mut Ctx<'_, '_>, s: Subscribe, granted: Option<u64>, ack: bool) {
    let mut at = at_time(ctx, s.ts);
    let action = if s.subscribe {
        "MQTT::SUBSCRIBE"
    } else {
        "MQTT::UNSUBSCRIBE"
    };
    let qos = if s.subscribe {
        Value::Counts(s.qos)
    } else {
        Value::Unset
    };
    Row::flow(&at, &MQTT_SUBSCRIBE)
        .push(action)
        .push(Value::Strings(s.topics))
        .push(qos)
        .push(granted.map_or(Value::Unset, Value::Count))
        .push(ack)
        .emit(&mut at);
}

fn log_publish(ctx: &mut Ctx<'_, '_>, p: Publish, status: &str) {
    let mut at = at_time(ctx, p.ts);
    Row::flow(&at, &MQTT_PUBLISH)
        .push(p.from_client)
        .push(p.retain)
        .push(qos_name(p.qos))
        .push(status)
        .push(p.topic)
        .push(p.payload)
        .push(Value::Count(p.payload_len as u64))
        .emit(&mut at);
}

impl AppParser for Mqtt {
    /// Named once the broker acknowledged a CONNECT.
    fn service(&self) -> &'static str {
        if self.acked {
            "mqtt"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let side = usize::from(!dir.is_orig());
        let mut pos = self.skip[side].min(data.len());
        self.skip[side] -= pos;
        loop {
            // A packet too large to hold is skipped once its header is in.
            if let Some(Ok(len)) = data.get(pos..).map(packet_len) {
                if len > MAX_PACKET {
                    let here = len.min(data.len() - pos);
                    self.skip[side] = len - here;
                    return pos + here;
                }
            }
            let Some(p) = next_frame(data, &mut pos, whole_packet_len) else {
                return pos;
            };
            // A packet that does not decode is skipped by its length.
            let _ = self.packet(ctx, dir, p);
        }
    }

    fn gap(&mut self, dir: Dir) {
        self.skip[usize::from(!dir.is_orig())] = 0;
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        for p in std::mem::take(&mut self.publishes) {
            log_publish(ctx, p, "incomplete_qos");
        }
        for s in std::mem::take(&mut self.subscribes) {
            log_subscribe(ctx, s, None, false);
        }
    }
}

#[cfg(test)]
mod tests;
