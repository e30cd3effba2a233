//! DHCPv6 (RFC 8415) client messages on 546-547/udp: the `dhcpv6` log,
//! one row per client message, with what identifies the client's system:
//! its host name (option 39, client FQDN), the order of the options it
//! requests (option 6, a fingerprint of the DHCP client), and its vendor
//! class (option 16: enterprise number and data). Host names feed the
//! asset ledger.

pub mod descriptor;

use crate::bytes::{be16, be32};
use crate::flow::id::{fmt_mac, ConnId, Mac, Transport};
use crate::flow_fields;
use crate::over_ip::common::{datagram_probe, sender, Datagram, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};

pub static DHCPV6_LOG: LogSchema = LogSchema {
    path: "dhcpv6",
    fields: flow_fields![
        field("msg_type", T::String),
        field("trans_id", T::Count),
        field("duid_mac", T::String),
        field("hostname", T::String),
        field("fingerprint", T::String),
        field("enterprise_number", T::Count),
        field("vendor_class", T::String),
    ],
};

const CLIENT_PORT: u16 = 546;
const SERVER_PORT: u16 = 547;
/// Options requested that are kept in the fingerprint.
const MAX_OPTIONS: usize = 64;

/// The parts of a client message the log uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr<'a> {
    pub msg_type: u8,
    pub trans_id: u32,
    /// The link-layer address of a DUID-LLT or DUID-LL on Ethernet.
    pub duid_mac: Option<Mac>,
    /// Option 39's domain name, in DNS wire form.
    pub fqdn: Option<&'a [u8]>,
    /// Option 6's list of option codes, two bytes each.
    pub oro: Option<&'a [u8]>,
    pub enterprise: Option<u32>,
    pub vendor_class: Option<&'a [u8]>,
}

impl<'a> Repr<'a> {
    pub fn parse(b: &'a [u8]) -> Option<Repr<'a>> {
        let msg_type = *b.first()?;
        if !(1..=13).contains(&msg_type) || matches!(msg_type, 12 | 13) {
            return None;
        }
        let trans_id = be32(b, 0)? & 0x00ff_ffff;
        let mut r = Repr {
            msg_type,
            trans_id,
            duid_mac: None,
            fqdn: None,
            oro: None,
            enterprise: None,
            vendor_class: None,
        };
        let mut at = 4;
        while at < b.len() {
            let code = be16(b, at)?;
            let len = usize::from(be16(b, at + 2)?);
            let v = b.get(at + 4..at + 4 + len)?;
            match code {
                1 => {
                    // DUID-LLT (1) or DUID-LL (3) with hardware type 1.
                    let addr_at = match (be16(v, 0), be16(v, 2)) {
                        (Some(1), Some(1)) => Some(8),
                        (Some(3), Some(1)) => Some(4),
                        _ => None,
                    };
                    r.duid_mac = addr_at
                        .and_then(|a| v.get(a..a + 6))
                        .and_then(|m| m.try_into().ok());
                }
                39 => r.fqdn = v.get(1..),
                6 => r.oro = Some(v),
                16 => {
                    r.enterprise = be32(v, 0);
                    r.vendor_class = v.get(4..);
                }
                _ => {}
            }
            at += 4 + len;
        }
        Some(r)
    }
}

pub fn msg_type_name(t: u8) -> &'static str {
    match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        _ => "unknown",
    }
}

/// The vendor-class data: `u16`-length-prefixed strings joined by commas.
fn vendor_data(mut b: &[u8]) -> String {
    let mut out = Vec::new();
    while let Some(len) = be16(b, 0) {
        let Some(s) = b.get(2..2 + usize::from(len)) else {
            break;
        };
        if !out.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(s);
        b = &b[2 + usize::from(len)..];
    }
    text::bytes(&out, MAX_NAME)
}

/// Recognises DHCPv6 on its ports.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    datagram_probe::<Dhcpv6>(t, id, data)
}

pub struct Dhcpv6;

impl Datagram for Dhcpv6 {
    const SERVICE: &'static str = "dhcpv6";

    fn recognise(id: &ConnId, data: &[u8]) -> bool {
        let ports = [CLIENT_PORT, SERVER_PORT];
        ports.contains(&id.orig_p) && ports.contains(&id.resp_p) && Repr::parse(data).is_some()
    }

    fn log(ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) {
        let Some(r) = Repr::parse(data) else {
            return;
        };
        // Server messages carry nothing about the client's system.
        if matches!(r.msg_type, 2 | 7 | 10) {
            return;
        }
        let hostname = r.fqdn.map(text::dotted_name);
        if let Some(h) = &hostname {
            // The sender's frame address, not the DUID's: a DUID outlives
            // the interface it was made from (cloned machines keep it).
            let me = sender(ctx, dir);
            let short = h.split('.').next().unwrap_or(h);
            ctx.out.assets.observe_hostname(ctx.ts, me, short);
        }
        let fingerprint = r.oro.map(|o| {
            o.chunks_exact(2)
                .take(MAX_OPTIONS)
                .map(|c| u16::from_be_bytes([c[0], c[1]]).to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        Row::flow(ctx, &DHCPV6_LOG)
            .push(msg_type_name(r.msg_type))
            .push(Value::Count(u64::from(r.trans_id)))
            .push(r.duid_mac.map(|m| fmt_mac(&m)))
            .push(hostname)
            .push(fingerprint)
            .push(
                r.enterprise
                    .map_or(Value::Unset, |e| Value::Count(u64::from(e))),
            )
            .push(r.vendor_class.map(vendor_data))
            .emit(ctx);
    }
}
