//! The asset ledger: one `asset` record per device per interval.
//!
//! A device is keyed by its MAC address and VLAN (in OT networks the MAC names
//! a device better than the IP), or by its IP address when no MAC was seen.
//! Facts accumulate across intervals: a PLC whose identity was read once keeps
//! it in every later record. Everything is bounded: at most `capacity`
//! devices (when full, the least recently seen sixteenth is evicted and
//! counted), [`MAX_IPS`] addresses, [`MAX_HOSTNAMES`] names and strings of at
//! most [`MAX_TEXT`] bytes per device.

use crate::flow::id::{fmt_mac, Mac};
use crate::sink::RecordSink;
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Record, Value};
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Addresses kept per device; a router answering for a whole subnet stops
/// growing here.
pub const MAX_IPS: usize = 8;
/// Host names kept per device.
pub const MAX_HOSTNAMES: usize = 4;
/// Bytes kept of any string from the wire.
pub const MAX_TEXT: usize = 64;

/// The `asset` log.
pub static ASSET: LogSchema = LogSchema {
    path: "asset",
    fields: &[
        field("ts", FieldType::Time),
        field("mac", FieldType::String),
        field("oui_vendor", FieldType::String),
        field("vlan", FieldType::Count),
        field("ips", FieldType::SetString),
        field("hostnames", FieldType::SetString),
        field("os", FieldType::String),
        field("roles", FieldType::SetString),
        field("vendor", FieldType::String),
        field("product", FieldType::String),
        field("model", FieldType::String),
        field("firmware", FieldType::String),
        field("serial", FieldType::String),
        field("identity_source", FieldType::String),
        field("first_seen", FieldType::Time),
        field("last_seen", FieldType::Time),
    ],
};

/// A host as a parser sees it: whatever of MAC, IP and VLAN is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostRef {
    pub mac: Option<Mac>,
    pub ip: Option<IpAddr>,
    pub vlan: Option<u16>,
}

/// What a device said about itself (CIP identity, S7 SZL, BACnet device
/// object, PROFINET DCP, FINS controller data, SLMP). Unknown parts are
/// `None`; a later observation fills only what it knows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity<'a> {
    /// Where the facts came from (a protocol descriptor's source).
    pub source: IdentitySource,
    pub vendor: Option<&'a str>,
    pub product: Option<&'a str>,
    pub model: Option<&'a str>,
    pub firmware: Option<&'a str>,
    pub serial: Option<&'a str>,
}

/// Where a device's identity facts come from (`asset.log`'s
/// `identity_source`) and how specific they are. Facts of a higher rank
/// overwrite those of a lower one, never the reverse: a lower rank only
/// fills what is unknown. Each protocol's descriptor declares its sources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdentitySource {
    name: &'static str,
    rank: u8,
}

impl IdentitySource {
    /// A device's answer to a read of its identity (CIP identity, S7 SZL,
    /// MMS identify, FINS controller data, SLMP, BACnet properties): the
    /// highest rank, shared by every such answer.
    pub const fn read(name: &'static str) -> IdentitySource {
        IdentitySource {
            name,
            rank: Self::READ,
        }
    }

    /// A source less specific than a read: a discovery protocol's answer,
    /// or what a device announces unasked. `rank` is below
    /// [`IdentitySource::READ`] and unique among such sources (the
    /// registry's test checks), so two of them never take turns
    /// overwriting the same field.
    pub const fn ranked(name: &'static str, rank: u8) -> IdentitySource {
        IdentitySource { name, rank }
    }

    /// The rank of [`IdentitySource::read`].
    pub const READ: u8 = 4;

    pub fn as_str(self) -> &'static str {
        self.name
    }

    pub fn rank(self) -> u8 {
        self.rank
    }
}

/// A role a device played in the traffic (`modbus_server`). Each protocol's
/// descriptor declares the roles it implies; the registry numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role(&'static str);

impl Role {
    pub const fn new(name: &'static str) -> Role {
        Role(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The role's bit in a device's set; 0 for a role no descriptor
    /// declares (the registry's test finds those).
    fn bit(self) -> u32 {
        crate::protocols::role_names()
            .iter()
            .position(|n| *n == self.0)
            .map_or(0, |i| 1 << i)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum DevKey {
    Mac(Mac, Option<u16>),
    Ip(IpAddr, Option<u16>),
}

#[derive(Debug, Default)]
struct Device {
    first_seen: i64,
    last_seen: i64,
    ips: Vec<IpAddr>,
    roles: u32,
    /// Only devices that named or described themselves have these: most
    /// of a large table is just addresses.
    details: Option<Box<Details>>,
}

#[derive(Debug, Default)]
struct Details {
    hostnames: Vec<String>,
    os: Option<String>,
    vendor: Option<String>,
    product: Option<String>,
    model: Option<String>,
    firmware: Option<String>,
    serial: Option<String>,
    identity_source: Option<IdentitySource>,
}

static NO_DETAILS: Details = Details {
    hostnames: Vec::new(),
    os: None,
    vendor: None,
    product: None,
    model: None,
    firmware: None,
    serial: None,
    identity_source: None,
};

/// Devices seen so far, bounded by `limits.assets`.
pub struct AssetTable {
    capacity: usize,
    devices: FxHashMap<DevKey, Device>,
    /// End of the last emitted interval: devices seen after it are reported.
    last_emit: i64,
    /// Devices of a report still to be written, last first.
    to_emit: Vec<DevKey>,
    evicted: u64,
}

impl AssetTable {
    pub fn new(capacity: usize) -> Self {
        AssetTable {
            capacity: capacity.max(1),
            devices: FxHashMap::default(),
            last_emit: i64::MIN,
            to_emit: Vec::new(),
            evicted: 0,
        }
    }

    /// Devices forgotten because the table was full, since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// A host was seen sending from `mac` with source address `ip`.
    pub fn observe_host(&mut self, ts: i64, mac: Mac, ip: Option<IpAddr>, vlan: Option<u16>) {
        self.device(
            ts,
            HostRef {
                mac: Some(mac),
                ip,
                vlan,
            },
        );
    }

    /// A device described itself. Known parts replace earlier values from a
    /// source as specific or less; a less specific source (a discovery
    /// broadcast) only fills parts still unknown.
    pub fn observe_identity(&mut self, ts: i64, host: HostRef, id: &Identity<'_>) {
        let Some(dev) = self.device(ts, host) else {
            return;
        };
        let d = dev.details.get_or_insert_with(Box::default);
        let weaker = d
            .identity_source
            .is_some_and(|s| s.rank() > id.source.rank());
        let mut any = false;
        for (slot, v) in [
            (&mut d.vendor, id.vendor),
            (&mut d.product, id.product),
            (&mut d.model, id.model),
            (&mut d.firmware, id.firmware),
            (&mut d.serial, id.serial),
        ] {
            if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
                if !weaker || slot.is_none() {
                    set_text(slot, v);
                    any = true;
                }
            }
        }
        if any && !weaker {
            d.identity_source = Some(id.source);
        }
    }

    /// The device played `role` in some exchange.
    pub fn observe_role(&mut self, ts: i64, host: HostRef, role: Role) {
        if let Some(d) = self.device(ts, host) {
            d.roles |= role.bit();
        }
    }

    /// The device announced or was given a host name (DHCP, NBNS, mDNS, CIFS
    /// browser). The first [`MAX_HOSTNAMES`] distinct names are kept.
    pub fn observe_hostname(&mut self, ts: i64, host: HostRef, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        if let Some(dev) = self.device(ts, host) {
            let d = dev.details.get_or_insert_with(Box::default);
            let name = bounded(name);
            if d.hostnames.len() < MAX_HOSTNAMES && !d.hostnames.iter().any(|h| h == name) {
                d.hostnames.push(name.to_owned());
            }
        }
    }

    /// An operating system the device named in an announcement (an SSDP
    /// `SERVER` header): kept only while nothing else named one, so that it
    /// and the fingerprint's guess never take turns.
    pub fn observe_announced_os(&mut self, ts: i64, host: HostRef, os: &str) {
        let os = os.trim();
        if os.is_empty() {
            return;
        }
        if let Some(d) = self.device(ts, host) {
            let slot = &mut d.details.get_or_insert_with(Box::default).os;
            if slot.is_none() {
                set_text(slot, os);
            }
        }
    }

    /// A guess of the device's operating system; the latest one wins.
    pub fn observe_os(&mut self, ts: i64, host: HostRef, os: &str) {
        let os = os.trim();
        if os.is_empty() {
            return;
        }
        if let Some(d) = self.device(ts, host) {
            set_text(&mut d.details.get_or_insert_with(Box::default).os, os);
        }
    }

    /// Writes one `asset` record per device seen since the previous report.
    pub fn emit(&mut self, ts: i64, out: &mut RecordSink) {
        while !self.emit_some(ts, out, usize::MAX) {}
    }

    /// A report in steps of at most `max` records, so a caller can write
    /// them between steps instead of holding a record per device at once;
    /// returns whether the report is complete.
    pub fn emit_some(&mut self, ts: i64, out: &mut RecordSink, max: usize) -> bool {
        if !self.emitting() {
            let since = self.last_emit;
            self.to_emit.extend(
                self.devices
                    .iter()
                    .filter(|(_, d)| d.last_seen > since)
                    .map(|(k, _)| *k),
            );
            self.to_emit.sort_unstable_by(|a, b| b.cmp(a));
            self.last_emit = ts;
        }
        for _ in 0..max {
            let Some(k) = self.to_emit.pop() else { break };
            if let Some(d) = self.devices.get(&k) {
                out.push(record(ts, &k, d));
            }
        }
        if self.to_emit.is_empty() {
            self.to_emit = Vec::new();
        }
        !self.emitting()
    }

    /// Whether a report is under way.
    pub fn emitting(&self) -> bool {
        !self.to_emit.is_empty()
    }

    /// Finds or makes the device for `host`; `None` when neither MAC nor IP is
    /// known.
    fn device(&mut self, ts: i64, host: HostRef) -> Option<&mut Device> {
        let key = match (host.mac, host.ip) {
            (Some(m), _) => DevKey::Mac(m, host.vlan),
            (None, Some(ip)) => DevKey::Ip(ip, host.vlan),
            (None, None) => return None,
        };
        if self.devices.len() >= self.capacity && !self.devices.contains_key(&key) {
            self.evict_oldest();
        }
        let d = self.devices.entry(key).or_insert_with(|| Device {
            first_seen: ts,
            ..Device::default()
        });
        d.last_seen = d.last_seen.max(ts);
        // A host without an address yet (DHCP) or a broadcast is no address
        // of the device.
        let real = |ip: &IpAddr| match ip {
            IpAddr::V4(a) => !a.is_unspecified() && !a.is_broadcast(),
            IpAddr::V6(a) => !a.is_unspecified(),
        };
        if let Some(ip) = host.ip.filter(real) {
            if d.ips.len() < MAX_IPS && !d.ips.contains(&ip) {
                // Most devices have one address: no room for more until then.
                d.ips.reserve_exact(1);
                d.ips.push(ip);
            }
        }
        Some(d)
    }

    /// Forgets the least recently seen sixteenth of the table at once, so a
    /// flood of new devices costs a scan per many insertions, not per one.
    fn evict_oldest(&mut self) {
        let n = (self.devices.len() / 16).max(1);
        let mut ages: Vec<i64> = self.devices.values().map(|d| d.last_seen).collect();
        let (_, cut, _) = ages.select_nth_unstable(n - 1);
        let cut = *cut;
        let mut left = n;
        self.devices.retain(|_, d| {
            if left > 0 && d.last_seen <= cut {
                left -= 1;
                false
            } else {
                true
            }
        });
        self.evicted += (n - left) as u64;
    }
}

mod oui {
    include!(concat!(env!("OUT_DIR"), "/oui.rs"));

    /// The registered owner of the MAC's OUI (IEEE MA-L), from `ieee-data`.
    pub fn vendor(mac: &super::Mac) -> Option<&'static str> {
        let key = u32::from_be_bytes([0, mac[0], mac[1], mac[2]]);
        let i = OUI_KEYS.binary_search(&key).ok()?;
        OUI_NAMES.get(usize::from(*OUI_NAME_INDEX.get(i)?)).copied()
    }
}

/// The vendor of a MAC's OUI, for every log that names a device.
pub fn oui_vendor(mac: &Mac) -> Option<&'static str> {
    oui::vendor(mac)
}

/// `s` cut to at most [`MAX_TEXT`] bytes on a character boundary.
fn bounded(s: &str) -> &str {
    if s.len() <= MAX_TEXT {
        return s;
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn set_text(slot: &mut Option<String>, v: &str) {
    let v = bounded(v);
    if slot.as_deref() != Some(v) {
        *slot = Some(v.to_owned());
    }
}

fn record(ts: i64, key: &DevKey, dev: &Device) -> Record {
    let d = dev.details.as_deref().unwrap_or(&NO_DETAILS);
    let (mac, vlan) = match key {
        DevKey::Mac(m, v) => (Some(*m), *v),
        DevKey::Ip(_, v) => (None, *v),
    };
    let text = |s: &Option<String>| s.as_deref().map_or(Value::Unset, Value::from);
    Record {
        schema: &ASSET,
        values: vec![
            Value::Time(ts),
            mac.map_or(Value::Unset, |m| Value::Str(fmt_mac(&m))),
            mac.and_then(|m| oui_vendor(&m))
                .map_or(Value::Unset, Value::from),
            vlan.map_or(Value::Unset, |v| Value::Count(u64::from(v))),
            Value::Strings(dev.ips.iter().map(ToString::to_string).collect()),
            Value::Strings(d.hostnames.clone()),
            text(&d.os),
            Value::Strings(
                crate::protocols::role_names()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| dev.roles & (1 << i) != 0)
                    .map(|(_, r)| (*r).to_owned())
                    .collect(),
            ),
            text(&d.vendor),
            text(&d.product),
            text(&d.model),
            text(&d.firmware),
            text(&d.serial),
            d.identity_source
                .map_or(Value::Unset, |s| Value::from(s.as_str())),
            Value::Time(dev.first_seen),
            Value::Time(dev.last_seen),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const PLC: Mac = [0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03];

    fn host(mac: Mac, ip: [u8; 4]) -> HostRef {
        HostRef {
            mac: Some(mac),
            ip: Some(IpAddr::V4(Ipv4Addr::from(ip))),
            vlan: Some(10),
        }
    }

    #[test]
    fn facts_accumulate_and_persist_across_intervals() {
        let mut t = AssetTable::new(16);
        let h = host(PLC, [10, 0, 0, 5]);
        t.observe_role(1_000, h, crate::over_ip::s7comm::descriptor::PLC);
        t.observe_identity(
            1_000,
            h,
            &Identity {
                source: crate::over_ip::s7comm::descriptor::IDENTITY,
                vendor: Some("Siemens"),
                model: Some("6ES7 315-2EH14-0AB0 "),
                ..Identity::default()
            },
        );
        t.observe_identity(
            1_500,
            h,
            &Identity {
                source: crate::over_ip::s7comm::descriptor::IDENTITY,
                firmware: Some("V3.2.6"),
                ..Identity::default()
            },
        );
        // A discovery answer does not override what the PLC said, but fills
        // what is unknown.
        t.observe_identity(
            1_600,
            h,
            &Identity {
                source: crate::over_ethernet::profinet_dcp::descriptor::IDENTITY,
                model: Some("vendor 0x002a device 0x0101"),
                product: Some("S7-300"),
                ..Identity::default()
            },
        );
        let mut sink = RecordSink::new(10);
        t.emit(2_000, &mut sink);
        let recs = sink.take();
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.get("mac"), Some(&Value::from("00:1b:1b:01:02:03")));
        assert_eq!(r.get("model"), Some(&Value::from("6ES7 315-2EH14-0AB0")));
        assert_eq!(r.get("firmware"), Some(&Value::from("V3.2.6")));
        assert_eq!(r.get("vendor"), Some(&Value::from("Siemens")));
        assert_eq!(r.get("roles"), Some(&Value::Strings(vec!["s7_plc".into()])));
        assert_eq!(r.get("oui_vendor"), Some(&Value::from("Siemens AG")));
        assert_eq!(r.get("first_seen"), Some(&Value::Time(1_000)));
        assert_eq!(r.get("last_seen"), Some(&Value::Time(1_600)));
        assert_eq!(r.get("product"), Some(&Value::from("S7-300")));
        assert_eq!(r.get("identity_source"), Some(&Value::from("s7comm")));

        // Quiet in the next interval: no record; seen again: identity kept.
        t.emit(3_000, &mut sink);
        assert!(sink.is_empty());
        t.observe_host(3_500, PLC, None, Some(10));
        t.emit(4_000, &mut sink);
        let recs = sink.take();
        assert_eq!(recs[0].get("firmware"), Some(&Value::from("V3.2.6")));
    }

    #[test]
    fn table_and_lists_are_bounded() {
        let mut t = AssetTable::new(32);
        for i in 0..100u8 {
            t.observe_host(i64::from(i), [2, 0, 0, 0, 0, i], None, None);
        }
        assert!(t.len() <= 32);
        assert_eq!(t.evicted() as usize + t.len(), 100);
        // The newest device survives eviction.
        let mut sink = RecordSink::new(1000);
        t.emit(1_000, &mut sink);
        assert!(sink
            .take()
            .iter()
            .any(|r| r.get("mac") == Some(&Value::from("02:00:00:00:00:63"))));

        let mut t = AssetTable::new(4);
        for i in 0..20u8 {
            t.observe_host(
                1,
                PLC,
                Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))),
                Some(10),
            );
            t.observe_hostname(1, host(PLC, [10, 0, 0, 1]), &format!("name{i}"));
        }
        t.observe_os(1, host(PLC, [10, 0, 0, 1]), &"x".repeat(500));
        t.emit(2, &mut sink);
        let recs = sink.take();
        assert_eq!(recs.len(), 1);
        let Some(Value::Strings(ips)) = recs[0].get("ips") else {
            panic!("ips missing")
        };
        assert_eq!(ips.len(), MAX_IPS);
        let Some(Value::Strings(names)) = recs[0].get("hostnames") else {
            panic!("hostnames missing")
        };
        assert_eq!(names.len(), MAX_HOSTNAMES);
        assert_eq!(recs[0].get("os"), Some(&Value::from("x".repeat(MAX_TEXT))));
    }

    /// The `asset` records of the engine run over a trafficgen capture, by MAC.
    fn ledger(cap: &osect_trafficgen::pcap::Capture) -> Vec<(String, Record)> {
        use crate::engine::{Engine, Options};
        use crate::packet::LinkType;
        let mut e = Engine::new(&crate::limits::Limits::default(), Options::default());
        let mut end = 0;
        for (ts, f) in cap.frames() {
            e.handle_packet(ts, LinkType::ETHERNET, f);
            end = ts;
        }
        e.finish(end + 1);
        e.take_records()
            .into_iter()
            .filter(|r| r.schema.path == "asset")
            .filter_map(|r| match r.get("mac") {
                Some(Value::Str(m)) => Some((m.to_string(), r.clone())),
                _ => None,
            })
            .collect()
    }

    fn device<'a>(l: &'a [(String, Record)], mac: &str) -> &'a Record {
        match l.iter().find(|(m, _)| m == mac) {
            Some((_, r)) => r,
            None => panic!("no asset record for {mac}"),
        }
    }

    fn names(r: &Record) -> Vec<String> {
        match r.get("hostnames") {
            Some(Value::Strings(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn announcements_reach_the_ledger() {
        use osect_trafficgen::hostile::{self, hostile_names};
        let l = ledger(&hostile_names());

        // SSDP: the camera's SERVER header, not of UPnP's form, is its product.
        let camera = device(&l, "00:40:8c:66:00:02");
        assert_eq!(camera.get("product"), Some(&Value::from(hostile::IMG)));
        assert_eq!(camera.get("identity_source"), Some(&Value::from("ssdp")));
        assert_eq!(camera.get("os"), Some(&Value::Unset));

        // PROFINET DCP: the IO device's name of station is a host name, its
        // type of station the product.
        let io = device(&l, "00:0e:8c:66:00:07");
        assert_eq!(names(io), [hostile::DCP_STATION]);
        assert_eq!(io.get("product"), Some(&Value::from(hostile::DCP_VENDOR)));
        assert_eq!(
            io.get("model"),
            Some(&Value::from("vendor 0x002a device 0x0101"))
        );
        assert_eq!(
            io.get("identity_source"),
            Some(&Value::from("profinet_dcp"))
        );
        assert_eq!(
            io.get("ips"),
            Some(&Value::Strings(vec!["192.168.10.125".into()]))
        );

        // LLDP: the switch port's system name and description.
        let switch = device(&l, "00:1e:49:66:00:03");
        assert_eq!(names(switch), [hostile::LLDP_NAME]);
        assert_eq!(switch.get("product"), Some(&Value::from("switch")));
        assert_eq!(switch.get("identity_source"), Some(&Value::from("lldp")));
    }

    #[test]
    fn announcements_rank_among_themselves() {
        use osect_trafficgen::frame::{udp_frame, Host};
        use osect_trafficgen::lldp::{cdp, lldp, Port};
        use osect_trafficgen::proto::it::ssdp_notify;
        use osect_trafficgen::scenario::START;
        let ap = Host {
            mac: [0x00, 0x1b, 0x1b, 0x77, 0x00, 0x01],
            ip: Ipv4Addr::new(192, 168, 20, 5),
        };
        let group = Host {
            mac: [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa],
            ip: Ipv4Addr::new(239, 255, 255, 250),
        };
        let notify = ssdp_notify(
            "http://192.168.20.5/desc.xml",
            "upnp:rootdevice",
            "Linux/4.19, UPnP/1.0, SCALANCE-W/6.2",
            "uuid:1::upnp:rootdevice",
        );
        let ssdp = udp_frame(&ap, &group, group.mac, None, 1900, 1900, 1, &notify);
        let port = |desc| Port {
            chassis_mac: ap.mac,
            port_id: "P1",
            port_desc: "uplink",
            system_name: "ap-hall-2",
            system_desc: desc,
            capabilities: 0x0008,
            mgmt: ap.ip,
            vlan: 1,
        };
        let mut cap = osect_trafficgen::pcap::Capture::new();
        // SSDP first, then LLDP, then SSDP again: LLDP's description stays.
        cap.push(START, ssdp.clone());
        cap.push(
            START + 1_000,
            lldp(ap.mac, &port("SIMATIC NET SCALANCE W788")),
        );
        cap.push(START + 2_000, ssdp);
        // A CDP version string of several lines from another switch.
        let sw = [0x00, 0x1e, 0x49, 0x77, 0x00, 0x02];
        let ios = "Cisco IOS Software, C2960 Software, Version 15.0(2)SE\nCompiled Fri";
        cap.push(START + 3_000, cdp(sw, &port(ios)));
        let l = ledger(&cap);

        let r = device(&l, "00:1b:1b:77:00:01");
        assert_eq!(
            r.get("product"),
            Some(&Value::from("SIMATIC NET SCALANCE W788"))
        );
        assert_eq!(r.get("identity_source"), Some(&Value::from("lldp")));
        assert_eq!(r.get("os"), Some(&Value::from("Linux/4.19")));
        assert_eq!(names(r), ["ap-hall-2"]);
        let r = device(&l, "00:1e:49:77:00:02");
        assert_eq!(
            r.get("product"),
            Some(&Value::from(
                "Cisco IOS Software, C2960 Software, Version 15.0(2)SE"
            ))
        );
        assert_eq!(r.get("identity_source"), Some(&Value::from("cdp")));
    }
}
