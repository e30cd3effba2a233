//! SNMP (RFC 1157, 3416, 3412) on UDP 161/162: the `snmp` log, one row per
//! message with the version, whether a community string was sent (never
//! the string itself: it is a password) and the PDU type. SNMPv3 PDUs may
//! be encrypted; their type is logged when the scoped PDU is in clear.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::Row;
use crate::over_ip::{AppParser, Ctx, Dir};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};

pub static SNMP_LOG: LogSchema = LogSchema {
    path: "snmp",
    fields: flow_fields![
        field("version", T::String),
        field("community_present", T::Bool),
        field("pdu_type", T::String),
        field("request_id", T::Count),
    ],
};

const PORTS: [u16; 2] = [161, 162];

/// One BER element: tag, contents, and the rest after it.
/// (SNMP's tags are all single bytes; see [`crate::ber`].)
pub fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (t, rest) = crate::ber::tlv(b)?;
    Some((*b.first()?, t.value, rest))
}

fn integer(b: &[u8]) -> Option<u64> {
    (b.len() <= 8).then(|| b.iter().fold(0u64, |a, &c| a << 8 | u64::from(c)))
}

/// The decoded header of an SNMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    /// 0 (v1), 1 (v2c) or 3 (v3) as on the wire.
    pub version: u64,
    pub community_present: bool,
    /// The PDU's context tag (0xa0 to 0xa8), if readable.
    pub pdu_tag: Option<u8>,
    pub request_id: Option<u64>,
}

impl Repr {
    pub fn parse(b: &[u8]) -> Option<Repr> {
        let (0x30, msg, _) = tlv(b)? else { return None };
        let (0x02, v, rest) = tlv(msg)? else {
            return None;
        };
        let version = integer(v)?;
        let (community_present, pdu) = match version {
            0 | 1 => {
                let (0x04, c, rest) = tlv(rest)? else {
                    return None;
                };
                (!c.is_empty(), rest)
            }
            3 => {
                // msgGlobalData, msgSecurityParameters, then the scoped PDU
                // in clear (a SEQUENCE) or encrypted (an OCTET STRING).
                let (_, _, rest) = tlv(rest)?;
                let (_, _, rest) = tlv(rest)?;
                let pdu = match tlv(rest) {
                    Some((0x30, scoped, _)) => {
                        let (_, _, r) = tlv(scoped)?; // contextEngineID
                        let (_, _, r) = tlv(r)?; // contextName
                        r
                    }
                    _ => &[][..],
                };
                (false, pdu)
            }
            _ => return None,
        };
        let (pdu_tag, request_id) = match tlv(pdu) {
            Some((tag @ 0xa0..=0xa8, body, _)) => {
                let id = tlv(body).and_then(|(t, v, _)| if t == 0x02 { integer(v) } else { None });
                (Some(tag), id)
            }
            _ => (None, None),
        };
        Some(Repr {
            version,
            community_present,
            pdu_tag,
            request_id,
        })
    }
}

pub fn pdu_name(tag: u8) -> &'static str {
    match tag {
        0xa0 => "get_request",
        0xa1 => "get_next_request",
        0xa2 => "response",
        0xa3 => "set_request",
        0xa4 => "trap",
        0xa5 => "get_bulk_request",
        0xa6 => "inform_request",
        0xa7 => "trap_v2",
        0xa8 => "report",
        _ => "unknown",
    }
}

fn version_name(v: u64) -> &'static str {
    match v {
        0 => "1",
        1 => "2c",
        _ => "3",
    }
}

/// Recognises SNMP on its ports by its BER header.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let ports = PORTS.contains(&id.resp_p) || PORTS.contains(&id.orig_p);
    (t == Transport::Udp && ports && Repr::parse(data).is_some())
        .then(|| Box::new(Snmp) as Box<dyn AppParser>)
}

pub struct Snmp;

impl AppParser for Snmp {
    fn service(&self) -> &'static str {
        "snmp"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, _dir: Dir, data: &[u8]) -> usize {
        if let Some(r) = Repr::parse(data) {
            Row::flow(ctx, &SNMP_LOG)
                .push(version_name(r.version))
                .push(r.community_present)
                .push(r.pdu_tag.map(pdu_name))
                .push(r.request_id.map_or(Value::Unset, Value::Count))
                .emit(ctx);
        }
        data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An SNMPv2c get-request for sysDescr.0 with community "public".
    const GET: &[u8] = &[
        0x30, 0x29, // message SEQUENCE
        0x02, 0x01, 0x01, // version: 1 (v2c)
        0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', // community
        0xa0, 0x1c, // get-request PDU
        0x02, 0x04, 0x12, 0x34, 0x56, 0x78, // request-id
        0x02, 0x01, 0x00, // error-status
        0x02, 0x01, 0x00, // error-index
        0x30, 0x0e, 0x30, 0x0c, // varbind list, varbind
        0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, // sysDescr.0
        0x05, 0x00, // NULL
    ];

    #[test]
    fn decodes_a_v2c_get() {
        let r = Repr::parse(GET).unwrap();
        assert_eq!(r.version, 1);
        assert!(r.community_present);
        assert_eq!(r.pdu_tag.map(pdu_name), Some("get_request"));
        assert_eq!(r.request_id, Some(0x1234_5678));
        assert!(Repr::parse(&GET[..20]).is_none());
    }
}
