//! LLDP (IEEE 802.1AB, EtherType 0x88CC) and CDP (Cisco, LLC/SNAP PID
//! 0x2000): the `lldp` log, one row per announcement, naming the switch
//! (system name and description), the port (id and description), its VLAN,
//! the management address and the capabilities. The system name feeds the
//! asset ledger as the announcing device's host name, the system
//! description as its product.

pub mod descriptor;

use crate::asset::{HostRef, Identity};
use crate::bytes::be16;
use crate::flow::id::fmt_mac;
use crate::over_ethernet::Frame;
use crate::over_ip::Output;
use crate::text::{self, MAX_NAME};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Record, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub static LLDP_LOG: LogSchema = LogSchema {
    path: "lldp",
    fields: &[
        field("ts", T::Time),
        field("src_mac", T::String),
        field("protocol", T::String),
        field("chassis_id", T::String),
        field("port_id", T::String),
        field("port_desc", T::String),
        field("system_name", T::String),
        field("system_desc", T::String),
        field("capabilities", T::SetString),
        field("mgmt_addr", T::Addr),
        field("port_vlan", T::Count),
        field("vlan", T::Count),
    ],
};

pub const ETHERTYPE_LLDP: u16 = 0x88cc;
const SNAP_CDP: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];

/// What one announcement says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repr {
    pub chassis_id: Option<String>,
    pub port_id: Option<String>,
    pub port_desc: Option<String>,
    pub system_name: Option<String>,
    pub system_desc: Option<String>,
    pub capabilities: Vec<&'static str>,
    pub mgmt_addr: Option<IpAddr>,
    pub port_vlan: Option<u16>,
}

const LLDP_CAPS: [&str; 11] = [
    "other",
    "repeater",
    "bridge",
    "wlan_ap",
    "router",
    "telephone",
    "docsis",
    "station",
    "c_vlan",
    "s_vlan",
    "tpmr",
];
const CDP_CAPS: [&str; 7] = [
    "router",
    "trans_bridge",
    "source_route_bridge",
    "switch",
    "host",
    "igmp",
    "repeater",
];

fn caps(bits: u32, names: &[&'static str]) -> Vec<&'static str> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// An identifier with a subtype: MAC addresses and network addresses are
/// printed as such, anything else as text.
fn id_text(subtype: u8, mac_subtype: u8, v: &[u8]) -> String {
    if subtype == mac_subtype {
        if let Ok(m) = <[u8; 6]>::try_from(v) {
            return fmt_mac(&m).into();
        }
    }
    if subtype == 5 {
        if let Some(a) = addr(v) {
            return a.to_string();
        }
    }
    text::bytes(v, MAX_NAME)
}

/// An IANA address-family-prefixed address (1 IPv4, 2 IPv6).
fn addr(v: &[u8]) -> Option<IpAddr> {
    match v.split_first()? {
        (1, a) => Some(IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(a.get(..4)?).ok()?,
        ))),
        (2, a) => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(a.get(..16)?).ok()?,
        ))),
        _ => None,
    }
}

impl Repr {
    /// Parses an LLDPDU (the frame payload after the EtherType).
    pub fn parse_lldp(mut b: &[u8]) -> Option<Repr> {
        let mut r = Repr::default();
        let mut first = true;
        while let Some(h) = be16(b, 0) {
            let (ty, len) = ((h >> 9) as u8, usize::from(h & 0x1ff));
            let v = b.get(2..2 + len)?;
            b = &b[2 + len..];
            // The chassis id must come first (802.1AB 8.2).
            if first && ty != 1 {
                return None;
            }
            first = false;
            match ty {
                0 => break,
                1 => r.chassis_id = v.split_first().map(|(&s, id)| id_text(s, 4, id)),
                2 => r.port_id = v.split_first().map(|(&s, id)| id_text(s, 3, id)),
                4 => r.port_desc = Some(text::bytes(v, MAX_NAME)),
                5 => r.system_name = Some(text::bytes(v, MAX_NAME)),
                6 => r.system_desc = Some(text::bytes(v, MAX_NAME)),
                7 => r.capabilities = caps(u32::from(be16(v, 2)?), &LLDP_CAPS),
                8 if r.mgmt_addr.is_none() => {
                    let alen = usize::from(*v.first()?);
                    r.mgmt_addr = v.get(1..1 + alen).and_then(addr);
                }
                127 if v.get(..4) == Some(&[0x00, 0x80, 0xc2, 0x01]) => r.port_vlan = be16(v, 4),
                _ => {}
            }
        }
        (!first).then_some(r)
    }

    /// Parses a CDP packet (after the LLC/SNAP header).
    pub fn parse_cdp(b: &[u8]) -> Option<Repr> {
        if !matches!(b.first()?, 1 | 2) {
            return None;
        }
        let mut r = Repr::default();
        let mut at = 4;
        while let (Some(ty), Some(len)) = (be16(b, at), be16(b, at + 2)) {
            let len = usize::from(len);
            let v = b.get(at + 4..at + len.max(4))?;
            match ty {
                0x0001 => {
                    let id = text::bytes(v, MAX_NAME);
                    r.chassis_id = Some(id.clone());
                    r.system_name = Some(id);
                }
                0x0002 | 0x0016 if r.mgmt_addr.is_none() => r.mgmt_addr = cdp_address(v),
                0x0003 => r.port_id = Some(text::bytes(v, MAX_NAME)),
                0x0004 => r.capabilities = caps(crate::bytes::be32(v, 0)?, &CDP_CAPS),
                0x0005 => r.system_desc = Some(text::bytes(v, MAX_NAME)),
                0x000a => r.port_vlan = be16(v, 0),
                _ => {}
            }
            at += len.max(4);
        }
        Some(r)
    }
}

/// The first IPv4 address of a CDP address list.
fn cdp_address(v: &[u8]) -> Option<IpAddr> {
    // count (4), then: protocol type, length, protocol, address length, address
    let (1, 1, 0xcc) = (*v.get(4)?, *v.get(5)?, *v.get(6)?) else {
        return None;
    };
    let a = v.get(9..13)?;
    if be16(v, 7)? != 4 {
        return None;
    }
    Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(a).ok()?)))
}

/// Decodes LLDP and CDP frames; returns whether the frame was one.
pub fn handle(frame: &Frame<'_>, out: &mut Output<'_>) -> bool {
    let (source, repr) = if frame.ethertype == ETHERTYPE_LLDP {
        (descriptor::LLDP, Repr::parse_lldp(frame.payload))
    } else if frame.ethertype == 0 && frame.payload.starts_with(&SNAP_CDP) {
        (
            descriptor::CDP,
            Repr::parse_cdp(&frame.payload[SNAP_CDP.len()..]),
        )
    } else {
        return false;
    };
    let Some(r) = repr else {
        return true;
    };
    let host = HostRef {
        mac: Some(frame.src),
        ip: None,
        vlan: frame.vlan,
    };
    if let Some(name) = &r.system_name {
        out.assets.observe_hostname(frame.ts, host, name);
    }
    // CDP's software version runs over several lines; the first names it.
    if let Some(desc) = r.system_desc.as_deref().and_then(|d| d.lines().next()) {
        let id = Identity {
            source,
            product: Some(desc),
            ..Identity::default()
        };
        out.assets.observe_identity(frame.ts, host, &id);
    }
    out.records.push(Record {
        schema: &LLDP_LOG,
        values: vec![
            Value::Time(frame.ts),
            Value::Str(fmt_mac(&frame.src)),
            Value::from(source.as_str()),
            r.chassis_id.into(),
            r.port_id.into(),
            r.port_desc.into(),
            r.system_name.into(),
            r.system_desc.into(),
            if r.capabilities.is_empty() {
                Value::Unset
            } else {
                Value::Strings(r.capabilities.iter().map(|c| (*c).to_owned()).collect())
            },
            r.mgmt_addr.map_or(Value::Unset, Value::Addr),
            r.port_vlan
                .map_or(Value::Unset, |v| Value::Count(u64::from(v))),
            frame
                .vlan
                .map_or(Value::Unset, |v| Value::Count(u64::from(v))),
        ],
    });
    true
}
