//! OPC UA binary (UA TCP): `opcua`, one row per message chunk: message
//! type, chunk type, size, the endpoint URL of a Hello, the secure channel
//! id, the security policy of an OpenSecureChannel and its security mode
//! (readable when the policy is None), and the service of a readable
//! message (its request or response type).
//!
//! Recognised by the message header (HEL, ACK, ERR, RHE, OPN, CLO or MSG,
//! chunk type F, C or A, a plausible size) on any port. Every chunk carries
//! its header, so unlike a parser that needs the Hello, a session joined
//! mid-stream or after a gap is decoded from its next chunk.
//!
//! Uplink aggregation key: `uid msg_type security_policy security_mode
//! service`.

pub mod descriptor;

use crate::bytes::{le32, Error};
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::wire_text;
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};

pub static OPCUA: LogSchema = LogSchema {
    path: "opcua",
    fields: flow_dir_fields![
        field("msg_type", FieldType::String),
        field("chunk_type", FieldType::String),
        field("size", FieldType::Count),
        field("endpoint_url", FieldType::String),
        field("secure_channel_id", FieldType::Count),
        field("security_policy", FieldType::String),
        field("security_mode", FieldType::String),
        field("service", FieldType::String),
    ],
};

/// Largest chunk accepted (UA TCP buffers are negotiated; 16 MiB bounds
/// them).
pub const MAX_CHUNK: usize = 16 << 20;

/// Length of the chunk at the start of `b`.
pub fn frame_len(b: &[u8]) -> Result<usize, Error> {
    let head = &b[..b.len().min(4)];
    let known = [&b"HEL"[..], b"ACK", b"ERR", b"RHE", b"OPN", b"CLO", b"MSG"];
    if !known
        .iter()
        .any(|k| k.starts_with(&head[..head.len().min(3)]))
    {
        return Err(Error::malformed("OPC UA message type", 0));
    }
    if let Some(&c) = head.get(3) {
        if !matches!(c, b'F' | b'C' | b'A') {
            return Err(Error::malformed("OPC UA chunk type", 3));
        }
    }
    let size = le32(b, 4).ok_or(Error::Truncated)? as usize;
    if !(8..=MAX_CHUNK).contains(&size) {
        return Err(Error::malformed("OPC UA message size", 4));
    }
    if b.len() < size {
        return Err(Error::Truncated);
    }
    Ok(size)
}

/// A UA string at `b[*at..]` (length -1 is null); advances `*at`.
fn ua_string<'a>(b: &'a [u8], at: &mut usize) -> Option<Option<&'a [u8]>> {
    let n = le32(b, *at)? as i32;
    *at += 4;
    if n < 0 {
        return Some(None);
    }
    let s = b.get(*at..*at + n as usize)?;
    *at += n as usize;
    Some(Some(s))
}

/// Skips an encoded NodeId; returns its numeric id when it has one.
fn node_id(b: &[u8], at: &mut usize) -> Option<Option<u32>> {
    let enc = *b.get(*at)?;
    *at += 1;
    match enc & 0x3f {
        0 => {
            *at += 1;
            Some(Some(u32::from(*b.get(*at - 1)?)))
        }
        1 => {
            *at += 3;
            Some(Some(u32::from(u16::from_le_bytes([
                *b.get(*at - 2)?,
                *b.get(*at - 1)?,
            ]))))
        }
        2 => {
            *at += 6;
            Some(le32(b, *at - 4))
        }
        3 | 5 => {
            *at += 2;
            ua_string(b, at)?;
            Some(None)
        }
        4 => {
            *at += 18;
            Some(None)
        }
        _ => None,
    }
}

/// What one chunk says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    pub msg_type: String,
    pub chunk_type: char,
    pub size: u32,
    pub endpoint_url: Option<String>,
    pub channel: Option<u32>,
    pub policy: Option<String>,
    pub mode: Option<&'static str>,
    pub service: Option<u32>,
}

/// Decodes a whole chunk.
pub fn parse_chunk(b: &[u8]) -> Option<Chunk> {
    let size = le32(b, 4)?;
    let mut c = Chunk {
        msg_type: String::from_utf8_lossy(b.get(..3)?).into_owned(),
        chunk_type: char::from(*b.get(3)?),
        size,
        ..Chunk::default()
    };
    match b.get(..3)? {
        b"HEL" => {
            let mut at = 28;
            c.endpoint_url = ua_string(b, &mut at).flatten().map(wire_text);
        }
        b"OPN" => {
            c.channel = le32(b, 8);
            let mut at = 12;
            let policy = ua_string(b, &mut at)?.map(wire_text);
            // Sender certificate and receiver thumbprint.
            ua_string(b, &mut at)?;
            ua_string(b, &mut at)?;
            // Sequence header; the body is readable only without security.
            at += 8;
            if policy.as_deref().is_some_and(|p| p.ends_with("#None")) && c.chunk_type == 'F' {
                let type_id = node_id(b, &mut at)?;
                c.service = type_id;
                if type_id == Some(446) {
                    // RequestHeader: auth token, timestamp, handle, return
                    // diagnostics, audit entry, timeout, additional header.
                    node_id(b, &mut at)?;
                    at += 16;
                    ua_string(b, &mut at)?;
                    at += 4;
                    node_id(b, &mut at)?;
                    let enc = *b.get(at)?;
                    at += 1;
                    if enc & 1 != 0 {
                        ua_string(b, &mut at)?;
                    }
                    // Client protocol version, request type, mode.
                    c.mode = match le32(b, at + 8)? {
                        1 => Some("None"),
                        2 => Some("Sign"),
                        3 => Some("SignAndEncrypt"),
                        _ => Some("Invalid"),
                    };
                }
            }
            c.policy = policy;
        }
        b"MSG" | b"CLO" => {
            c.channel = le32(b, 8);
            // Security token, sequence number, request id, then the type id
            // (meaningful only when the channel is not encrypted).
            let mut at = 24;
            if c.chunk_type == 'F' {
                c.service = node_id(b, &mut at).flatten();
            }
        }
        _ => {}
    }
    Some(c)
}

/// Names of the common service encodings (binary encoding node ids).
pub fn service_name(id: u32) -> String {
    let n = match id {
        422 => "FindServersRequest",
        425 => "FindServersResponse",
        428 => "GetEndpointsRequest",
        431 => "GetEndpointsResponse",
        446 => "OpenSecureChannelRequest",
        449 => "OpenSecureChannelResponse",
        452 => "CloseSecureChannelRequest",
        461 => "CreateSessionRequest",
        464 => "CreateSessionResponse",
        467 => "ActivateSessionRequest",
        470 => "ActivateSessionResponse",
        473 => "CloseSessionRequest",
        476 => "CloseSessionResponse",
        527 => "BrowseRequest",
        530 => "BrowseResponse",
        631 => "ReadRequest",
        634 => "ReadResponse",
        673 => "WriteRequest",
        676 => "WriteResponse",
        712 => "CallRequest",
        715 => "CallResponse",
        751 => "CreateMonitoredItemsRequest",
        754 => "CreateMonitoredItemsResponse",
        787 => "CreateSubscriptionRequest",
        790 => "CreateSubscriptionResponse",
        826 => "PublishRequest",
        829 => "PublishResponse",
        397 => "ServiceFault",
        _ => return format!("unknown-{id}"),
    };
    n.to_owned()
}

/// Recognises a UA TCP chunk.
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    (t == Transport::Tcp && data.len() >= 8 && frame_len(data).is_ok())
        .then(|| Box::new(Opcua::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Opcua {
    roles_seen: bool,
}

impl AppParser for Opcua {
    fn service(&self) -> &'static str {
        "opcua-binary"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(f) = next_frame(data, &mut pos, frame_len) {
            let Some(c) = parse_chunk(f) else { continue };
            if !self.roles_seen {
                self.roles_seen = true;
                let (cl, s) = (common::orig_host(ctx), common::resp_host(ctx));
                ctx.out.assets.observe_role(ctx.ts, s, descriptor::SERVER);
                ctx.out.assets.observe_role(ctx.ts, cl, descriptor::CLIENT);
            }
            Row::flow_dir(ctx, &OPCUA, dir)
                .push(c.msg_type)
                .push(c.chunk_type.to_string())
                .push(Value::Count(u64::from(c.size)))
                .push(c.endpoint_url)
                .push(c.channel.map(|v| Value::Count(u64::from(v))))
                .push(c.policy)
                .push(c.mode)
                .push(c.service.map(service_name))
                .emit(ctx);
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_partial_headers() {
        let url = b"opc.tcp://plc:4840";
        let mut h = b"HELF".to_vec();
        h.extend_from_slice(&(32 + url.len() as u32).to_le_bytes());
        for v in [0u32, 65536, 65536, 0, 0] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&(url.len() as u32).to_le_bytes());
        h.extend_from_slice(url);
        assert_eq!(frame_len(&h), Ok(h.len()));
        let c = parse_chunk(&h).unwrap();
        assert_eq!(c.endpoint_url.as_deref(), Some("opc.tcp://plc:4840"));
        assert_eq!(frame_len(&h[..6]), Err(Error::Truncated));
        assert_eq!(
            frame_len(b"GET / HTTP/1.1"),
            Err(Error::malformed("OPC UA message type", 0))
        );
        assert_eq!(
            frame_len(b"MSGX\x10\0\0\0"),
            Err(Error::malformed("OPC UA chunk type", 3))
        );
    }
}
