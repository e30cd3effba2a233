//! CC-Link IE Field Basic (UDP 61450/61451): `cclink_ief_basic`, one row
//! per cyclic frame. The master's cyclic data request (SLMP 3E frame,
//! command 0x0e70) carries the protocol version, the master's address, the
//! frame sequence number, the timeout and the number of slave stations; a
//! slave's response carries its end code, address and the sequence number
//! it answers.
//!
//! Recognised by an SLMP 3E request with command 0x0e70, or an SLMP 3E
//! response on the CC-Link IE Field Basic ports (a response names no
//! command, so the port breaks the tie with plain SLMP).
//!
//! Uplink aggregation key (as NTT's parser aggregates): `uid pdu_type
//! master_ip slave_ip end_code`, with `count`, first and last time.

pub mod descriptor;

use crate::bytes::{le16, le32};
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, Row};
use crate::over_ip::slmp::wire as slmp;
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::hex;
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};
use std::net::{IpAddr, Ipv4Addr};

pub static CCLINK_IEF_BASIC: LogSchema = LogSchema {
    path: "cclink_ief_basic",
    fields: flow_dir_fields![
        field("pdu_type", FieldType::String),
        field("cyclic", FieldType::Bool),
        field("protocol_version", FieldType::Count),
        field("frame_sequence", FieldType::Count),
        field("master_ip", FieldType::Addr),
        field("slave_ip", FieldType::Addr),
        field("timeout_ms", FieldType::Count),
        field("slave_count", FieldType::Count),
        field("end_code", FieldType::String),
    ],
};

/// SLMP command of the cyclic data request.
pub const CYCLIC_COMMAND: u16 = 0x0e70;
pub const PORTS: [u16; 2] = [61450, 61451];

/// What a cyclic frame says, from the request or response data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cyclic {
    pub request: bool,
    pub version: u16,
    pub sequence: Option<u16>,
    pub master: Option<Ipv4Addr>,
    pub slave: Option<Ipv4Addr>,
    pub timeout_ms: Option<u16>,
    pub slave_count: Option<u16>,
    pub end_code: Option<u16>,
}

fn ip(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    le32(b, at).map(Ipv4Addr::from)
}

/// Decodes a cyclic request or response datagram.
pub fn parse(d: &[u8]) -> Option<Cyclic> {
    let h = slmp::parse(d).ok()?;
    if h.kind != slmp::Kind::Binary3E || h.len != d.len() {
        return None;
    }
    let data = d.get(h.data_at..)?;
    if h.response {
        Some(Cyclic {
            request: false,
            version: le16(data, 0)?,
            sequence: le16(data, 46),
            master: None,
            slave: ip(data, 40),
            timeout_ms: None,
            slave_count: None,
            end_code: h.end_code,
        })
    } else {
        if h.command != Some(CYCLIC_COMMAND) {
            return None;
        }
        Some(Cyclic {
            request: true,
            version: le16(data, 0)?,
            sequence: le16(data, 38),
            master: ip(data, 32),
            slave: None,
            timeout_ms: le16(data, 40),
            slave_count: le16(data, 46),
            end_code: None,
        })
    }
}

/// Recognises a cyclic request anywhere, or a response on the CC-Link IE
/// Field Basic ports.
pub fn probe(t: Transport, id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    if t != Transport::Udp {
        return None;
    }
    let c = parse(data)?;
    let on_port = PORTS.contains(&id.orig_p) || PORTS.contains(&id.resp_p);
    (c.request || on_port).then(|| Box::new(CclinkIefBasic::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct CclinkIefBasic {
    roles_seen: bool,
}

impl AppParser for CclinkIefBasic {
    fn service(&self) -> &'static str {
        "cclink_ief_basic"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let Some(c) = parse(data) else {
            return data.len();
        };
        if !self.roles_seen {
            self.roles_seen = true;
            let role = if c.request {
                descriptor::MASTER
            } else {
                descriptor::SLAVE
            };
            ctx.out
                .assets
                .observe_role(ctx.ts, common::sender(ctx, dir), role);
        }
        let addr = |a: Option<Ipv4Addr>| a.map_or(Value::Unset, |a| Value::Addr(IpAddr::V4(a)));
        let count = |v: Option<u16>| v.map_or(Value::Unset, |v| Value::Count(u64::from(v)));
        Row::flow_dir(ctx, &CCLINK_IEF_BASIC, dir)
            .push(if c.request {
                "cyclic_request"
            } else {
                "cyclic_response"
            })
            .push(Value::Bool(true))
            .push(Value::Count(u64::from(c.version)))
            .push(count(c.sequence))
            .push(addr(c.master))
            .push(addr(c.slave))
            .push(count(c.timeout_ms))
            .push(count(c.slave_count))
            .push(c.end_code.map(|e| hex(u64::from(e), 4)))
            .emit(ctx);
        data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn real_request_header() {
        // nttcom cclinkfieldbasic trace, frame 1: its first 71 bytes; the
        // cyclic data after them (to the declared 143) is zeroed here.
        let mut q = unhex(concat!(
            "500000ffff030086000000700e0000", // 3E header, command 0x0e70
            "0100000024000000000000000000000000000000010000002baf8d6881010000",
            "808610ac",         // master 172.16.134.128
            "0100d806",         // group, frame sequence 0x06d8
            "f4010300",         // timeout 500 ms, parallel-off count 3
            "0b000100",         // parameter id, slave count 1
            "00000000818610ac", // cyclic state, slave 172.16.134.129
        ));
        q.resize(143, 0);
        let c = parse(&q).expect("request parses");
        assert!(c.request);
        assert_eq!(c.version, 1);
        assert_eq!(c.sequence, Some(0x06d8));
        assert_eq!(c.master, Some(Ipv4Addr::new(172, 16, 134, 128)));
        assert_eq!((c.timeout_ms, c.slave_count), (Some(500), Some(1)));
        q.truncate(140);
        assert!(parse(&q).is_none());
    }
}
