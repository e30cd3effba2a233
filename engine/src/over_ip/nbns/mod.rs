//! NetBIOS Name Service (RFC 1002, 137/udp): the `netbios_ns` log, one row
//! per message with the NetBIOS name, its service type (the 16th byte of
//! the name) and, for registrations and answers, the TTL and address.
//! Names a host registers for itself feed the asset ledger. NBNS shares the
//! DNS message format, so the DNS wire view is reused; conn.log names the
//! service `dns`, as Zeek does.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{datagram_probe, sender, Datagram, Row};
use crate::over_ip::dns::{Message, Name};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use std::net::{IpAddr, Ipv4Addr};

pub static NETBIOS_NS_LOG: LogSchema = LogSchema {
    path: "netbios_ns",
    fields: flow_fields![
        field("trans_id", T::Count),
        field("opcode", T::String),
        field("is_response", T::Bool),
        field("rcode", T::Count),
        field("name", T::String),
        field("service_type", T::Count),
        field("ttl", T::Interval),
        field("addr", T::Addr),
    ],
};

const PORT: u16 = 137;
const ENCODED_LEN: usize = 32;

/// Decodes a first-level encoded NetBIOS name (RFC 1001 section 14.1):
/// the 15-character name with trailing spaces removed, and the suffix byte.
pub fn decode_name(encoded: &[u8]) -> Option<(String, u8)> {
    let e = encoded.get(..ENCODED_LEN)?;
    let mut raw = [0u8; 16];
    for (i, pair) in e.chunks_exact(2).enumerate() {
        let hi = pair[0].checked_sub(b'A').filter(|v| *v < 16)?;
        let lo = pair[1].checked_sub(b'A').filter(|v| *v < 16)?;
        raw[i] = hi << 4 | lo;
    }
    let name = &raw[..15];
    let end = name
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(0, |i| i + 1);
    Some((text::bytes(&name[..end], 15), raw[15]))
}

fn first_label(n: &Name<'_>) -> String {
    let s = n.to_string_lossy();
    s.split('.').next().unwrap_or_default().to_owned()
}

pub fn opcode_name(op: u8) -> &'static str {
    match op {
        0 => "query",
        5 => "registration",
        6 => "release",
        7 => "wack",
        8 | 9 => "refresh",
        15 => "multi-homed registration",
        _ => "unknown",
    }
}

/// Recognises NBNS on port 137: a DNS-shaped message with an encoded name.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    datagram_probe::<Nbns>(t, id, data)
}

pub struct Nbns;

impl Datagram for Nbns {
    const SERVICE: &'static str = "dns";

    fn recognise(id: &ConnId, data: &[u8]) -> bool {
        if !id.has_port(PORT) {
            return false;
        }
        Message::parse(data).is_ok_and(|m| m.header.qdcount > 0 || m.header.ancount > 0)
    }

    fn log(ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) {
        let Ok(m) = Message::parse(data) else {
            return;
        };
        let h = m.header;
        let name = m
            .questions()
            .next()
            .and_then(|q| q.ok())
            .map(|q| q.name)
            .or_else(|| m.records().next().and_then(|r| r.ok()).map(|r| r.name));
        let Some(name) = name else {
            return;
        };
        let label = first_label(&name);
        let (nb, suffix) =
            decode_name(label.as_bytes()).map_or((label, None), |(n, s)| (n, Some(s)));
        // Registrations carry the record in the additional section,
        // answers in the answer section: name, TTL, then flags and address.
        let rr = m.records().next().and_then(|r| r.ok());
        let ttl = rr.map(|r| i64::from(r.ttl) * 1_000_000);
        let addr = rr
            .and_then(|r| r.rdata.get(2..6))
            .and_then(|a| <[u8; 4]>::try_from(a).ok())
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)));
        let registers = !h.qr && matches!(h.opcode, 5 | 8 | 9 | 15);
        if registers
            && addr == Some(crate::over_ip::common::sender_ip(ctx, dir))
            && suffix == Some(0)
        {
            let me = sender(ctx, dir);
            ctx.out.assets.observe_hostname(ctx.ts, me, &nb);
        }
        Row::flow(ctx, &NETBIOS_NS_LOG)
            .push(Value::Count(u64::from(h.id)))
            .push(opcode_name(h.opcode))
            .push(h.qr)
            .push(if h.qr {
                Value::Count(u64::from(h.rcode))
            } else {
                Value::Unset
            })
            .push(nb)
            .push(suffix.map_or(Value::Unset, |s| Value::Count(u64::from(s))))
            .push(ttl.map_or(Value::Unset, Value::Interval))
            .push(addr.map_or(Value::Unset, Value::Addr))
            .emit(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_first_level_encoding() {
        // "WORKGROUP" padded to 15, suffix 0x1d (master browser).
        let (n, s) = decode_name(b"FHEPFCELEHFCEPFFFACACACACACACABN").unwrap();
        assert_eq!((n.as_str(), s), ("WORKGROUP", 0x1d));
        assert!(decode_name(b"short").is_none());
        assert!(decode_name(b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz").is_none());
    }
}

#[cfg(test)]
mod stream_tests {
    use crate::flow::id::Transport;
    use crate::over_ip::harness::{conn, field, rows, run, Step};
    use crate::over_ip::Dir::Orig;

    #[test]
    fn a_registration_names_its_sender() {
        // A name registration for "PLC-01" <00> at 10.0.0.1 (the sender).
        let mut m = vec![
            0x81, 0x23, // transaction id
            0x29, 0x10, // registration request, RD, broadcast
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // counts
            0x20, // encoded name length
        ];
        let mut name = *b"PLC-01         \x00";
        name[15] = 0;
        for b in name {
            m.push(b'A' + (b >> 4));
            m.push(b'A' + (b & 0xf));
        }
        m.extend_from_slice(&[0x00, 0x00, 0x20, 0x00, 0x01]); // end, NB, IN
        m.extend_from_slice(&[0xc0, 0x0c, 0x00, 0x20, 0x00, 0x01]); // pointer, NB, IN
        m.extend_from_slice(&[0x00, 0x04, 0x93, 0xe0]); // TTL 300000
        m.extend_from_slice(&[0x00, 0x06, 0x00, 0x00, 10, 0, 0, 1]); // flags, address
        let id = conn(Transport::Udp, 137, 137);
        let (recs, service, mut assets) = run(&id, &[Step::Data(Orig, &m)]);
        assert_eq!(service, Some("dns"));
        let r = rows(&recs, "netbios_ns");
        assert_eq!(field(r[0], "opcode"), "registration");
        assert_eq!(field(r[0], "name"), "PLC-01");
        assert_eq!(field(r[0], "service_type"), "0");
        assert_eq!(field(r[0], "ttl"), "300000.000000");
        assert_eq!(field(r[0], "addr"), "10.0.0.1");
        let mut sink = crate::sink::RecordSink::new(10);
        assets.emit(i64::MAX / 2, &mut sink);
        let devices = sink.take();
        assert_eq!(devices.len(), 1, "the sender is in the asset ledger");
        assert_eq!(field(&devices[0], "hostnames"), "PLC-01");
    }
}
