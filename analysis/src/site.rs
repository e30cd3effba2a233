//! A site's state and the analysis of its batches.
//!
//! [`SiteState::analyse`] takes one batch's records, updates the ledger, the
//! communication map and the baseline, and raises or folds alerts; what it
//! changed is collected until [`SiteState::take_changes`], which the store
//! persists in the transaction that marks the batch analysed. Nothing here
//! reads a clock: time is the records' time, and the caller's `tick` for
//! what only a clock can tell (a sensor that sends nothing).
//!
//! Records of a batch are taken in two passes, each in time order: first
//! what says which device is which (`asset`, `arp`, `ns`), then connections
//! and the protocols' rows, so a connection finds the devices of its
//! interval already known.

use crate::config::SiteConfig;
use crate::model::*;
use crate::registry::Registry;
use osect_wire::batch::Health;
use osect_wire::protocol::{Access, Area, Control};
use osect_wire::{Record, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Devices per site; past it new devices are counted, not kept.
pub const MAX_DEVICES: usize = 50_000;
/// Pairs per site.
pub const MAX_PAIRS: usize = 500_000;
/// Operations per site.
pub const MAX_OPERATIONS: usize = 1_000_000;
/// Active (open or acknowledged) alerts per site; past it, new ones are
/// counted in `dropped.alerts`.
pub const MAX_ACTIVE_ALERTS: usize = 20_000;
/// Approved or learned event items (ARP pairs, zone crossings, identities).
pub const MAX_APPROVED: usize = 200_000;
/// IPs tracked for ARP claims, and MACs per IP.
pub const MAX_ARP_IPS: usize = 65_536;
pub const MAX_ARP_MACS: usize = 8;
/// Per-device sets (IPs, names, roles, protocols, ports, sensors).
pub const MAX_SET: usize = 64;
/// Bytes kept of any string from the wire.
pub const MAX_TEXT: usize = 128;
/// Connections remembered per pair, so a connection reported in several
/// batches counts once.
pub const MAX_SEEN_CONNECTIONS: usize = 256;
/// Address ranges kept per operation.
pub const MAX_AREAS: usize = 64;
/// Days of the coverage curve kept.
pub const MAX_CURVE_DAYS: usize = 400;

/// Two MACs claiming one IP within this time are a conflict.
const ARP_WINDOW: Micros = 10 * MINUTE;
/// A device seen in this many batches with a mean gap no larger than
/// [`REGULAR_GAP`] is regular, and its silence alerts.
const REGULAR_SIGHTINGS: u64 = 10;
const REGULAR_GAP: Micros = 15 * MINUTE;
/// A regular device is silent after five times its mean gap, and at least
/// this long.
const SILENT_MIN: Micros = 10 * MINUTE;

/// What one sensor of the site has sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SensorState {
    pub batches: u64,
    pub last_seq: u64,
    pub last_received: Micros,
    pub last_interval_end: Micros,
    /// The newest record time it sent.
    pub now: Micros,
    pub silent: bool,
    /// Health of its last batch.
    pub packets: u64,
    pub kernel_drops: u64,
    pub spool_depth: u64,
    pub records_lost: u64,
}

/// What was refused for lack of room.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    pub devices: u64,
    pub pairs: u64,
    pub operations: u64,
    pub alerts: u64,
}

/// The site's state besides devices, pairs, operations and alerts: small,
/// written with every analysed batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteMeta {
    pub config: SiteConfig,
    pub next_alert_id: u64,
    pub sensors: BTreeMap<String, SensorState>,
    /// Items learned or approved that are not devices, pairs or operations
    /// (ARP claims, zone crossings, write ranges, identities).
    pub approved: BTreeSet<String>,
    /// Per IP, the MACs that claimed it, first and last.
    pub arp_claims: BTreeMap<String, BTreeMap<String, (Micros, Micros)>>,
    /// New devices, pairs and operations per day (the learning curve).
    pub new_per_day: BTreeMap<i64, u64>,
    pub first_record: Option<Micros>,
    pub last_record: Micros,
    pub dropped: Dropped,
}

impl Default for SiteMeta {
    fn default() -> Self {
        SiteMeta {
            config: SiteConfig::default(),
            next_alert_id: 1,
            sensors: BTreeMap::new(),
            approved: BTreeSet::new(),
            arp_claims: BTreeMap::new(),
            new_per_day: BTreeMap::new(),
            first_record: None,
            last_record: 0,
            dropped: Dropped::default(),
        }
    }
}

/// What changed since the last [`SiteState::take_changes`].
#[derive(Debug, Default)]
pub struct Changes {
    pub devices: BTreeSet<DeviceKey>,
    pub pairs: BTreeSet<String>,
    pub operations: BTreeSet<String>,
    /// Every alert created or changed, as it is now.
    pub alerts: Vec<Alert>,
    pub events: Vec<AlertEvent>,
    pub history: Vec<HistoryEntry>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
            && self.pairs.is_empty()
            && self.operations.is_empty()
            && self.alerts.is_empty()
            && self.history.is_empty()
    }
}

/// One stored batch, as the analysis needs it.
pub struct BatchInput<'a> {
    pub sensor: &'a str,
    pub seq: u64,
    pub interval_start: Micros,
    pub interval_end: Micros,
    /// When the core received it.
    pub received: Micros,
    pub health: &'a Health,
    pub records: &'a [Record],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ActError {
    #[error("alert {0} is not open or acknowledged (already approved or dismissed, or unknown)")]
    NotActive(u64),
    #[error("an alert cannot be set back to open")]
    Reopen,
}

#[derive(Debug)]
pub struct SiteState {
    pub site: String,
    pub meta: SiteMeta,
    pub devices: BTreeMap<DeviceKey, Device>,
    pub pairs: BTreeMap<String, Pair>,
    pub operations: BTreeMap<String, Operation>,
    /// Open and acknowledged alerts.
    pub alerts: BTreeMap<u64, Alert>,
    /// Derived: which device owns an IP, and which alert is active per item.
    ip_owner: HashMap<String, DeviceKey>,
    active: HashMap<String, u64>,
    changes: Changes,
    dirty_alerts: BTreeSet<u64>,
}

/// How a new item is treated.
enum Novelty {
    /// Learned into the baseline (learning period or maintenance window).
    Learn(LearnedHow),
    Alert,
}

/// Where a row's endpoints are, as the record gives them.
struct Endpoints {
    orig_ip: Option<IpAddr>,
    resp_ip: Option<IpAddr>,
    orig_mac: Option<String>,
    resp_mac: Option<String>,
    vlan: Option<u64>,
    resp_port: Option<u16>,
}

fn bounded(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn insert_bounded(set: &mut BTreeSet<String>, v: &str) -> bool {
    if set.len() >= MAX_SET || set.contains(v) {
        return false;
    }
    set.insert(bounded(v))
}

fn get_str<'r>(rec: &'r Record, f: &str) -> Option<&'r str> {
    match rec.get(f)? {
        Value::Str(s) if !s.is_empty() && s.as_str() != "-" => Some(s.as_str()),
        _ => None,
    }
}

fn get_time(rec: &Record, f: &str) -> Option<Micros> {
    match rec.get(f)? {
        Value::Time(t) => Some(*t),
        _ => None,
    }
}

fn get_count(rec: &Record, f: &str) -> Option<u64> {
    match rec.get(f)? {
        Value::Count(n) => Some(*n),
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

fn get_addr(rec: &Record, f: &str) -> Option<IpAddr> {
    match rec.get(f)? {
        Value::Addr(a) => Some(*a),
        _ => None,
    }
}

fn get_strings<'r>(rec: &'r Record, f: &str) -> &'r [String] {
    match rec.get(f) {
        Some(Value::Strings(v)) => v,
        _ => &[],
    }
}

/// A MAC that names one device (not broadcast, multicast or zero).
fn unicast_mac(mac: &str) -> bool {
    let first = mac
        .get(..2)
        .and_then(|h| u8::from_str_radix(h, 16).ok())
        .unwrap_or(1);
    first & 1 == 0 && mac != "00:00:00:00:00:00" && mac.len() == 17
}

/// An address that names one host.
fn unicast_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            !(a.is_broadcast() || a.is_multicast() || a.is_unspecified() || a.octets()[3] == 255)
        }
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified()),
    }
}

fn same_subnet(a: &str, b: IpAddr) -> bool {
    match (a.parse::<IpAddr>(), b) {
        (Ok(IpAddr::V4(x)), IpAddr::V4(y)) => x.octets()[..3] == y.octets()[..3],
        (Ok(IpAddr::V6(x)), IpAddr::V6(y)) => x.segments()[..4] == y.segments()[..4],
        _ => false,
    }
}

/// Whether one of `areas` holds all of `a`.
fn covers(areas: &[Area], a: &Area) -> bool {
    let end = a.start.saturating_add(a.count);
    areas
        .iter()
        .any(|x| x.space == a.space && x.start <= a.start && x.start.saturating_add(x.count) >= end)
}

/// Merges a range into a bounded list of ranges of one space; returns
/// whether it was already covered.
fn add_area(areas: &mut Vec<Area>, a: &Area) -> bool {
    if covers(areas, a) {
        return true;
    }
    if areas.len() < MAX_AREAS {
        areas.push(a.clone());
        areas.sort();
    }
    false
}

impl SiteState {
    pub fn new(site: &str) -> SiteState {
        SiteState::from_parts(
            site,
            SiteMeta::default(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// Rebuilds a state from what the store kept.
    pub fn from_parts(
        site: &str,
        meta: SiteMeta,
        devices: Vec<Device>,
        pairs: Vec<Pair>,
        operations: Vec<Operation>,
        alerts: Vec<Alert>,
    ) -> SiteState {
        let mut s = SiteState {
            site: site.to_owned(),
            meta,
            devices: devices.into_iter().map(|d| (d.key.clone(), d)).collect(),
            pairs: pairs.into_iter().map(|p| (p.key.id(), p)).collect(),
            operations: operations.into_iter().map(|o| (o.id(), o)).collect(),
            alerts: alerts
                .into_iter()
                .filter(|a| a.state.is_active())
                .map(|a| (a.id, a))
                .collect(),
            ip_owner: HashMap::new(),
            active: HashMap::new(),
            changes: Changes::default(),
            dirty_alerts: BTreeSet::new(),
        };
        for d in s.devices.values() {
            for ip in &d.ips {
                s.ip_owner.insert(ip.clone(), d.key.clone());
            }
        }
        s.active = s.alerts.values().map(|a| (a.item.clone(), a.id)).collect();
        s
    }

    pub fn take_changes(&mut self) -> Changes {
        let mut c = std::mem::take(&mut self.changes);
        for id in std::mem::take(&mut self.dirty_alerts) {
            if let Some(a) = self.alerts.get(&id) {
                c.alerts.push(a.clone());
                if !a.state.is_active() {
                    self.active.remove(&a.item);
                    self.alerts.remove(&id);
                }
            }
        }
        c
    }

    /// Analyses one batch of this site.
    pub fn analyse(&mut self, reg: &Registry, b: &BatchInput<'_>) {
        let first = b.records.iter().filter_map(|r| get_time(r, "ts")).min();
        if let Some(t) = first {
            self.meta.first_record = Some(self.meta.first_record.map_or(t, |f| f.min(t)));
            if self.meta.config.learning_start.is_none() {
                self.meta.config.learning_start = Some(t);
            }
        }
        let mut order: Vec<(u8, Micros, usize)> = b
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let phase = match r.schema.path {
                    "asset" | "arp" | "ns" => 0,
                    "conn" => 1,
                    _ => 2,
                };
                (phase, get_time(r, "ts").unwrap_or(b.interval_start), i)
            })
            .collect();
        order.sort_unstable();
        let mut seen: BTreeMap<DeviceKey, Micros> = BTreeMap::new();
        let mut uid_pairs: HashMap<String, String> = HashMap::new();
        for &(_, ts, i) in &order {
            let rec = &b.records[i];
            self.meta.last_record = self.meta.last_record.max(ts);
            match rec.schema.path {
                "asset" => self.asset(b.sensor, ts, rec, &mut seen),
                "arp" | "ns" => self.arp(b.sensor, ts, rec),
                "conn" => self.conn(b.sensor, ts, rec, &mut seen, &mut uid_pairs),
                path => {
                    if let Some((proto, log)) = reg.log(path) {
                        if let Some(spec) = &log.operation {
                            self.operation(b.sensor, ts, rec, proto.name, spec, &uid_pairs);
                        }
                    }
                }
            }
        }
        self.sighted(b.sensor, &seen);
        self.sensor_batch(b);
        self.silent_devices(b.sensor);
    }

    /// What only a clock can tell: sensors that stopped sending.
    pub fn tick(&mut self, now: Micros) {
        let after = self.meta.config.sensor_silent_after;
        let silent: Vec<String> = self
            .meta
            .sensors
            .iter()
            .filter(|(_, s)| !s.silent && s.last_received > 0 && now - s.last_received > after)
            .map(|(n, _)| n.clone())
            .collect();
        for name in silent {
            let last = self.meta.sensors.get(&name).map_or(0, |s| s.last_received);
            if let Some(s) = self.meta.sensors.get_mut(&name) {
                s.silent = true;
            }
            let mut detail = BTreeMap::new();
            detail.insert("last_batch".to_owned(), last.to_string());
            self.raise(Raise {
                kind: AlertKind::SensorSilent,
                item: format!("sensor-silent|{name}"),
                ts: now,
                devices: Vec::new(),
                title: format!("sensor {name} has sent nothing since its last batch"),
                detail,
                evidence: None,
                control: None,
                count: 1,
            });
        }
    }

    // ------------------------------------------------------------ novelty

    fn novelty(&self, ts: Micros) -> Novelty {
        let c = &self.meta.config;
        if c.is_learning(ts) {
            Novelty::Learn(LearnedHow::Learning)
        } else if c.in_maintenance(ts) {
            Novelty::Learn(LearnedHow::Maintenance)
        } else {
            Novelty::Alert
        }
    }

    /// An event item: learned silently, already approved, or an alert.
    fn event_alerts(&mut self, ts: Micros, item: &str, severity: Severity) -> bool {
        if self.meta.approved.contains(item) {
            return false;
        }
        match self.novelty(ts) {
            Novelty::Learn(LearnedHow::Maintenance) if severity == Severity::Critical => true,
            Novelty::Learn(_) => {
                if self.meta.approved.len() < MAX_APPROVED {
                    self.meta.approved.insert(item.to_owned());
                }
                false
            }
            Novelty::Alert => true,
        }
    }

    fn count_new(&mut self, ts: Micros) {
        let day = self.meta.config.day_of(ts);
        *self.meta.new_per_day.entry(day).or_default() += 1;
        while self.meta.new_per_day.len() > MAX_CURVE_DAYS {
            self.meta.new_per_day.pop_first();
        }
    }

    // ------------------------------------------------------------ devices

    /// The device for a MAC (and VLAN), created when new. `None` when the
    /// ledger is full.
    fn mac_device(
        &mut self,
        sensor: &str,
        ts: Micros,
        mac: &str,
        vlan: Option<u64>,
        ev: &Evidence,
    ) -> Option<DeviceKey> {
        let key = DeviceKey::mac(mac, vlan);
        if self.devices.contains_key(&key) {
            return Some(key);
        }
        self.new_device(sensor, ts, key, Some(mac), vlan, ev)
    }

    fn new_device(
        &mut self,
        sensor: &str,
        ts: Micros,
        key: DeviceKey,
        mac: Option<&str>,
        vlan: Option<u64>,
        ev: &Evidence,
    ) -> Option<DeviceKey> {
        if self.devices.len() >= MAX_DEVICES {
            self.meta.dropped.devices += 1;
            return None;
        }
        let mut d = Device::new(key.clone(), ts);
        d.mac = mac.map(str::to_owned);
        d.vlan = vlan;
        d.sensors.insert(sensor.to_owned());
        d.days.insert(self.meta.config.day_of(ts));
        self.count_new(ts);
        let item = format!("device|{key}");
        match self.novelty(ts) {
            Novelty::Learn(how) => d.learned = Some(Learned { how, at: ts }),
            Novelty::Alert if self.meta.approved.contains(&item) => {
                d.learned = Some(Learned {
                    how: LearnedHow::Approved,
                    at: ts,
                })
            }
            Novelty::Alert => {
                let label = d.label();
                self.raise(Raise {
                    kind: AlertKind::NewDevice,
                    item,
                    ts,
                    devices: vec![key.clone()],
                    title: format!("new device {label}"),
                    detail: BTreeMap::new(),
                    evidence: Some(ev.clone()),
                    control: None,
                    count: 1,
                });
            }
        }
        self.devices.insert(key.clone(), d);
        self.changes.devices.insert(key.clone());
        Some(key)
    }

    fn is_known(&self, key: &DeviceKey) -> bool {
        self.devices.get(key).is_some_and(|d| d.learned.is_some())
    }

    fn touch(
        &mut self,
        key: &DeviceKey,
        sensor: &str,
        ts: Micros,
        seen: &mut BTreeMap<DeviceKey, Micros>,
    ) {
        let day = self.meta.config.day_of(ts);
        if let Some(d) = self.devices.get_mut(key) {
            d.first_seen = d.first_seen.min(ts);
            if let Some(l) = d.learned.as_mut().filter(|l| l.how != LearnedHow::Approved) {
                l.at = l.at.min(ts);
            }
            if !d.sensors.contains(sensor) {
                insert_bounded(&mut d.sensors, sensor);
            }
            if !d.days.contains(day) {
                d.days.insert(day);
            }
            let e = seen.entry(key.clone()).or_insert(ts);
            *e = (*e).max(ts);
            self.changes.devices.insert(key.clone());
        }
    }

    /// A device gained an IP: recorded, and alerted when the device is known.
    fn add_ip(&mut self, key: &DeviceKey, ip: IpAddr, ts: Micros, ev: &Evidence) {
        if !unicast_ip(ip) {
            return;
        }
        let ip_s = ip.to_string();
        let Some(d) = self.devices.get_mut(key) else {
            return;
        };
        if d.ips.contains(&ip_s) || d.ips.len() >= MAX_SET {
            self.seen_earlier(&format!("addr|{key}|{ip_s}"), ts);
            self.ip_owner.insert(ip_s, key.clone());
            return;
        }
        let had = !d.ips.is_empty();
        // An address outside every subnet the device is on is a host behind
        // it (a router's MAC carries routed traffic), not its own.
        if had && !d.ips.iter().any(|x| same_subnet(x, ip)) {
            return;
        }
        d.ips.insert(ip_s.clone());
        let known = d.learned.is_some();
        let label = d.label();
        let previous = self.ip_owner.insert(ip_s.clone(), key.clone());
        self.changes.history.push(HistoryEntry {
            device: key.clone(),
            ts,
            attribute: "ip".to_owned(),
            old: None,
            new: Some(ip_s.clone()),
        });
        if !(known && had) {
            // A new device's first addresses are part of its own alert; an
            // IP that moved to a new device is news about the old owner.
            if let Some(prev) = previous.filter(|p| p != key && self.is_known(p)) {
                if !known {
                    let item = format!("moved|{ip_s}|{key}");
                    if self.event_alerts(ts, &item, Severity::Medium) {
                        let mut detail = BTreeMap::new();
                        detail.insert("ip".to_owned(), ip_s.clone());
                        self.raise(Raise {
                            kind: AlertKind::AddressMoved,
                            item,
                            ts,
                            devices: vec![prev, key.clone()],
                            title: format!("{ip_s} is now used by another device ({label})"),
                            detail,
                            evidence: Some(ev.clone()),
                            control: None,
                            count: 1,
                        });
                    }
                }
            }
            return;
        }
        let item = format!("addr|{key}|{ip_s}");
        if self.event_alerts(ts, &item, Severity::Medium) {
            let mut detail = BTreeMap::new();
            detail.insert("ip".to_owned(), ip_s.clone());
            self.raise(Raise {
                kind: AlertKind::NewAddress,
                item,
                ts,
                devices: vec![key.clone()],
                title: format!("{label} uses a new address {ip_s}"),
                detail,
                evidence: Some(ev.clone()),
                control: None,
                count: 1,
            });
        }
    }

    fn asset(
        &mut self,
        sensor: &str,
        ts: Micros,
        rec: &Record,
        seen: &mut BTreeMap<DeviceKey, Micros>,
    ) {
        let ev = evidence(sensor, rec, ts);
        let vlan = get_count(rec, "vlan");
        let first = get_time(rec, "first_seen").unwrap_or(ts);
        let last = get_time(rec, "last_seen").unwrap_or(ts);
        let ips: Vec<IpAddr> = get_strings(rec, "ips")
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let key = match get_str(rec, "mac").filter(|m| unicast_mac(m)) {
            Some(mac) => self.mac_device(sensor, first, mac, vlan, &ev),
            None => {
                let Some(ip) = ips.first().copied().filter(|ip| unicast_ip(*ip)) else {
                    return;
                };
                let ip_s = ip.to_string();
                match self.ip_owner.get(&ip_s).cloned() {
                    Some(k) => Some(k),
                    None => self.new_device(sensor, first, DeviceKey::ip(&ip_s), None, vlan, &ev),
                }
            }
        };
        let Some(key) = key else {
            return;
        };
        self.touch(&key, sensor, first, seen);
        self.touch(&key, sensor, last, seen);
        for ip in ips {
            self.add_ip(&key, ip, last, &ev);
        }
        let mut changed: Vec<(String, Option<String>, String)> = Vec::new();
        // Values seen before the sighting that set them, in a batch analysed
        // after it.
        let mut earlier = Vec::new();
        let Some(d) = self.devices.get_mut(&key) else {
            return;
        };
        let mut names = Vec::new();
        for h in get_strings(rec, "hostnames") {
            if insert_bounded(&mut d.hostnames, h) {
                names.push(bounded(h));
            }
        }
        for r in get_strings(rec, "roles") {
            insert_bounded(&mut d.roles, r);
        }
        if let Some(v) = get_str(rec, "oui_vendor") {
            d.oui_vendor = Some(bounded(v));
        }
        if let Some(v) = get_str(rec, "identity_source") {
            d.identity_source = Some(bounded(v));
        }
        for attr in IDENTITY_ATTRIBUTES {
            let Some(new) = get_str(rec, attr).map(bounded) else {
                continue;
            };
            let slot = match attr {
                "vendor" => &mut d.vendor,
                "product" => &mut d.product,
                "model" => &mut d.model,
                "firmware" => &mut d.firmware,
                "serial" => &mut d.serial,
                _ => &mut d.os,
            };
            // What the device says now wins over what it said before, not
            // over what it says in a batch analysed earlier but sent later.
            let as_of = d.identity_ts.get(attr).copied().unwrap_or(Micros::MIN);
            if last < as_of {
                if slot.as_deref() == Some(new.as_str()) {
                    earlier.push(format!("ident|{key}|{attr}|{new}"));
                }
                continue;
            }
            d.identity_ts.insert(attr.to_owned(), last);
            if slot.as_deref() != Some(new.as_str()) {
                changed.push((attr.to_owned(), slot.clone(), new.clone()));
                *slot = Some(new);
            }
        }
        let known = d.learned.is_some();
        let label = d.label();
        for item in earlier {
            self.seen_earlier(&item, last);
        }
        for name in names {
            self.changes.history.push(HistoryEntry {
                device: key.clone(),
                ts: last,
                attribute: "hostname".to_owned(),
                old: None,
                new: Some(name),
            });
        }
        for (attr, old, new) in changed {
            self.changes.history.push(HistoryEntry {
                device: key.clone(),
                ts: last,
                attribute: attr.clone(),
                old: old.clone(),
                new: Some(new.clone()),
            });
            // A first value is learning about the device, not a change, and
            // so is every value seen while learning (several devices behind
            // one gateway take turns); the passive OS guess is too soft to
            // alert on.
            let item = format!("ident|{key}|{attr}|{new}");
            let Some(old) = old else {
                if self.meta.approved.len() < MAX_APPROVED {
                    self.meta.approved.insert(item);
                }
                continue;
            };
            if !known || attr == "os" {
                continue;
            }
            if self.event_alerts(last, &item, Severity::High) {
                let mut detail = BTreeMap::new();
                detail.insert("attribute".to_owned(), attr.clone());
                detail.insert("old".to_owned(), old.clone());
                detail.insert("new".to_owned(), new.clone());
                self.raise(Raise {
                    kind: AlertKind::IdentityChange,
                    item,
                    ts: last,
                    devices: vec![key.clone()],
                    title: format!("{label}: {attr} changed from {old} to {new}"),
                    detail,
                    evidence: Some(ev.clone()),
                    control: None,
                    count: 1,
                });
            }
        }
    }

    fn arp(&mut self, sensor: &str, ts: Micros, rec: &Record) {
        // A request claims its sender's address, a reply its responder's.
        let (mac, ip) = if get_str(rec, "operation") == Some("reply") {
            (get_str(rec, "resp_mac"), get_addr(rec, "resp_ip"))
        } else {
            (get_str(rec, "orig_mac"), get_addr(rec, "orig_ip"))
        };
        let (Some(mac), Some(ip)) = (mac, ip) else {
            return;
        };
        if !unicast_mac(mac) || !unicast_ip(ip) {
            return;
        }
        let last = get_time(rec, "ts_end").unwrap_or(ts);
        let ip_s = ip.to_string();
        if !self.meta.arp_claims.contains_key(&ip_s) && self.meta.arp_claims.len() >= MAX_ARP_IPS {
            return;
        }
        let claims = self.meta.arp_claims.entry(ip_s.clone()).or_default();
        if !claims.contains_key(mac) && claims.len() >= MAX_ARP_MACS {
            if let Some(oldest) = claims
                .iter()
                .min_by_key(|(_, t)| t.1)
                .map(|(m, _)| m.clone())
            {
                claims.remove(&oldest);
            }
        }
        let t = claims.entry(mac.to_owned()).or_insert((ts, last));
        *t = (t.0.min(ts), t.1.max(last));
        // The conflict starts when the later of the two first claimed the
        // IP, whichever record is analysed first.
        let others: Vec<(String, Micros)> = claims
            .iter()
            .filter(|(m, t)| m.as_str() != mac && (last - t.1).abs() <= ARP_WINDOW)
            .map(|(m, t)| (m.clone(), t.0.max(ts)))
            .collect();
        let vlan = get_count(rec, "vlan");
        for (other, since) in others {
            let (a, b) = if other.as_str() < mac {
                (other.as_str(), mac)
            } else {
                (mac, other.as_str())
            };
            let item = format!("arp|{ip_s}|{a}|{b}");
            if self.event_alerts(since, &item, Severity::Critical) {
                let mut detail = BTreeMap::new();
                detail.insert("ip".to_owned(), ip_s.clone());
                detail.insert("macs".to_owned(), format!("{a} {b}"));
                self.raise(Raise {
                    kind: AlertKind::ArpSpoof,
                    item,
                    ts: since,
                    devices: vec![DeviceKey::mac(a, vlan), DeviceKey::mac(b, vlan)],
                    title: format!("{ip_s} is answered by two MACs, {a} and {b}"),
                    detail,
                    evidence: Some(evidence(sensor, rec, ts)),
                    control: None,
                    count: 1,
                });
            }
        }
    }

    /// The device at one end of a row: by MAC when the MAC is that host's,
    /// by IP when the MAC is a router's (the IP is not on its segment).
    fn endpoint(
        &mut self,
        sensor: &str,
        ts: Micros,
        ip: Option<IpAddr>,
        mac: Option<&str>,
        vlan: Option<u64>,
        ev: &Evidence,
    ) -> Option<DeviceKey> {
        if let Some(ip) = ip {
            if !unicast_ip(ip) {
                return None;
            }
        }
        let ip_s = ip.map(|i| i.to_string());
        if let Some(mac) = mac.filter(|m| unicast_mac(m)) {
            let key = DeviceKey::mac(mac, vlan);
            let routed = match (self.devices.get(&key), ip, &ip_s) {
                (Some(d), Some(ip), Some(s)) => {
                    !d.ips.contains(s)
                        && !d.ips.is_empty()
                        && !d.ips.iter().any(|x| same_subnet(x, ip))
                }
                _ => false,
            };
            if !routed {
                let key = self.mac_device(sensor, ts, mac, vlan, ev)?;
                if let Some(ip) = ip {
                    self.add_ip(&key, ip, ts, ev);
                }
                return Some(key);
            }
        }
        let ip_s = ip_s?;
        // Traffic without a usable MAC stays with the device the IP first
        // named, whoever claims the IP later, so the same traffic always
        // lands on the same pair.
        let by_ip = DeviceKey::ip(&ip_s);
        if self.devices.contains_key(&by_ip) {
            return Some(by_ip);
        }
        if let Some(k) = self.ip_owner.get(&ip_s) {
            return Some(k.clone());
        }
        let key = self.new_device(sensor, ts, DeviceKey::ip(&ip_s), None, vlan, ev)?;
        if let Some(d) = self.devices.get_mut(&key) {
            d.ips.insert(ip_s.clone());
        }
        self.ip_owner.insert(ip_s, key.clone());
        Some(key)
    }

    fn endpoints(rec: &Record) -> Endpoints {
        Endpoints {
            orig_ip: get_addr(rec, "id.orig_h"),
            resp_ip: get_addr(rec, "id.resp_h"),
            orig_mac: get_str(rec, "orig_l2_addr").map(str::to_owned),
            resp_mac: get_str(rec, "resp_l2_addr").map(str::to_owned),
            vlan: get_count(rec, "vlan"),
            resp_port: match rec.get("id.resp_p") {
                Some(Value::Port(p)) => Some(*p),
                Some(Value::Count(n)) => u16::try_from(*n).ok(),
                _ => None,
            },
        }
    }

    // ------------------------------------------------------------ pairs

    fn conn(
        &mut self,
        sensor: &str,
        ts: Micros,
        rec: &Record,
        seen: &mut BTreeMap<DeviceKey, Micros>,
        uid_pairs: &mut HashMap<String, String>,
    ) {
        let ev = evidence(sensor, rec, ts);
        let e = Self::endpoints(rec);
        let proto = get_str(rec, "proto").unwrap_or("-").to_owned();
        let Some(orig) = self.endpoint(sensor, ts, e.orig_ip, e.orig_mac.as_deref(), e.vlan, &ev)
        else {
            return;
        };
        let duration = match rec.get("duration") {
            Some(Value::Interval(d)) => *d,
            _ => 0,
        };
        let end = ts.saturating_add(duration.max(0));
        self.touch(&orig, sensor, ts, seen);
        self.touch(&orig, sensor, end, seen);
        let service = get_str(rec, "service").map(bounded);
        let Some(resp) = self.endpoint(sensor, ts, e.resp_ip, e.resp_mac.as_deref(), e.vlan, &ev)
        else {
            // Broadcast and multicast: only the sender's protocols.
            if let (Some(s), Some(d)) = (&service, self.devices.get_mut(&orig)) {
                insert_bounded(&mut d.client_protocols, s);
            }
            return;
        };
        self.touch(&resp, sensor, ts, seen);
        self.touch(&resp, sensor, end, seen);
        let port = e.resp_port.unwrap_or(0);
        let key = PairKey {
            orig: orig.clone(),
            resp: resp.clone(),
            proto: bounded(&proto),
            port,
        };
        let id = key.id();
        let uid = get_str(rec, "uid").map(str::to_owned);
        if let Some(u) = &uid {
            uid_pairs.insert(u.clone(), id.clone());
        }
        let port_name = format!("{proto}/{port}");
        let service_name = service.clone().unwrap_or_else(|| port_name.clone());
        if !self.pair(sensor, ts, &key, &ev) {
            return;
        }
        let pkts =
            get_count(rec, "orig_pkts").unwrap_or(0) + get_count(rec, "resp_pkts").unwrap_or(0);
        let bytes = get_count(rec, "orig_ip_bytes").unwrap_or(0)
            + get_count(rec, "resp_ip_bytes").unwrap_or(0);
        let day = self.meta.config.day_of(ts);
        if let Some(p) = self.pairs.get_mut(&id) {
            p.last_seen = p.last_seen.max(end);
            p.first_seen = p.first_seen.min(ts);
            if let Some(l) = p.learned.as_mut().filter(|l| l.how != LearnedHow::Approved) {
                l.at = l.at.min(ts);
            }
            p.days.insert(day);
            if let Some(s) = &service {
                insert_bounded(&mut p.services, s);
            }
            // A connection reported again (interim rows, then its end)
            // counts once, with the most packets and bytes any report gave,
            // whichever report is analysed first.
            let (pk0, by0) = match uid.as_ref().and_then(|u| p.seen.get(u)) {
                Some(v) => *v,
                None => {
                    p.connections += 1;
                    (0, 0)
                }
            };
            p.packets += pkts.saturating_sub(pk0);
            p.bytes += bytes.saturating_sub(by0);
            if let Some(u) = uid {
                if !p.seen.contains_key(&u) && p.seen.len() >= MAX_SEEN_CONNECTIONS {
                    p.seen.pop_first();
                }
                p.seen.insert(u, (pkts.max(pk0), bytes.max(by0)));
            }
        }
        self.changes.pairs.insert(id.clone());
        if let Some(d) = self.devices.get_mut(&orig) {
            insert_bounded(&mut d.client_protocols, &service_name);
        }
        let known_resp = self.is_known(&resp);
        let new_port = match self.devices.get_mut(&resp) {
            Some(d) => {
                insert_bounded(&mut d.server_protocols, &service_name);
                insert_bounded(&mut d.ports, &port_name)
            }
            None => false,
        };
        // A connection refused or unanswered offers no service.
        let answered = get_count(rec, "resp_pkts").unwrap_or(0) > 0
            && !matches!(
                get_str(rec, "conn_state"),
                Some("REJ" | "S0" | "RSTR" | "RSTOS0")
            );
        if new_port && known_resp && answered {
            let item = format!("service|{resp}|{port_name}");
            let label = self
                .devices
                .get(&resp)
                .map(Device::label)
                .unwrap_or_default();
            if self.event_alerts(ts, &item, Severity::Medium) {
                let mut detail = BTreeMap::new();
                detail.insert("port".to_owned(), port_name.clone());
                detail.insert("service".to_owned(), service_name.clone());
                self.raise(Raise {
                    kind: AlertKind::NewService,
                    item,
                    ts,
                    devices: vec![resp.clone(), orig.clone()],
                    title: format!("{label} answers on a new port {port_name} ({service_name})"),
                    detail,
                    evidence: Some(ev.clone()),
                    control: None,
                    count: 1,
                });
            }
        }
        self.zones(ts, &key, &e, &ev);
    }

    /// The pair, created when new (and alerted when both devices are
    /// known). False when the map is full.
    fn pair(&mut self, _sensor: &str, ts: Micros, key: &PairKey, ev: &Evidence) -> bool {
        let id = key.id();
        if self.pairs.contains_key(&id) {
            return true;
        }
        if self.pairs.len() >= MAX_PAIRS {
            self.meta.dropped.pairs += 1;
            return false;
        }
        self.count_new(ts);
        let item = format!("pair|{id}");
        let learned = match self.novelty(ts) {
            Novelty::Learn(how) => Some(Learned { how, at: ts }),
            Novelty::Alert if self.meta.approved.contains(&item) => Some(Learned {
                how: LearnedHow::Approved,
                at: ts,
            }),
            Novelty::Alert => {
                // A new device's communications are part of its own alert.
                if self.is_known(&key.orig) && self.is_known(&key.resp) {
                    let label = |k: &DeviceKey| {
                        self.devices
                            .get(k)
                            .map(Device::label)
                            .unwrap_or_else(|| k.0.clone())
                    };
                    let title = format!(
                        "new communication {} -> {} {}/{}",
                        label(&key.orig),
                        label(&key.resp),
                        key.proto,
                        key.port
                    );
                    self.raise(Raise {
                        kind: AlertKind::NewPair,
                        item,
                        ts,
                        devices: vec![key.orig.clone(), key.resp.clone()],
                        title,
                        detail: BTreeMap::new(),
                        evidence: Some(ev.clone()),
                        control: None,
                        count: 1,
                    });
                }
                None
            }
        };
        let day = self.meta.config.day_of(ts);
        let mut days = DaySet::default();
        days.insert(day);
        self.pairs.insert(
            id.clone(),
            Pair {
                key: key.clone(),
                services: BTreeSet::new(),
                first_seen: ts,
                last_seen: ts,
                connections: 0,
                packets: 0,
                bytes: 0,
                learned,
                days,
                seen: BTreeMap::new(),
            },
        );
        self.changes.pairs.insert(id);
        true
    }

    fn zones(&mut self, ts: Micros, key: &PairKey, e: &Endpoints, ev: &Evidence) {
        let c = &self.meta.config;
        if c.zones.is_empty() {
            return;
        }
        let (Some(a), Some(b)) = (c.zone_of(e.orig_ip, e.vlan), c.zone_of(e.resp_ip, e.vlan))
        else {
            return;
        };
        if c.is_allowed(a, b) {
            return;
        }
        let (a, b) = (a.to_owned(), b.to_owned());
        let id = key.id();
        let item = format!("zone|{id}");
        // Zones are policy: traffic across them alerts in learning too.
        if self.meta.approved.contains(&item) || self.meta.config.in_maintenance(ts) {
            return;
        }
        let mut detail = BTreeMap::new();
        detail.insert("from_zone".to_owned(), a.clone());
        detail.insert("to_zone".to_owned(), b.clone());
        self.raise(Raise {
            kind: AlertKind::CrossZone,
            item,
            ts,
            devices: vec![key.orig.clone(), key.resp.clone()],
            title: format!(
                "traffic from zone {a} to zone {b} ({}/{}) is not allowed",
                key.proto, key.port
            ),
            detail,
            evidence: Some(ev.clone()),
            control: None,
            count: 1,
        });
    }

    // ------------------------------------------------------------ operations

    fn operation(
        &mut self,
        sensor: &str,
        ts: Micros,
        rec: &Record,
        protocol: &'static str,
        spec: &osect_wire::protocol::OperationSpec,
        uid_pairs: &HashMap<String, String>,
    ) {
        let ev = evidence(sensor, rec, ts);
        let pair_id = match get_str(rec, "uid").and_then(|u| uid_pairs.get(u)) {
            Some(id) => id.clone(),
            None => {
                // No connection row in this batch: find the pair from the
                // row's own endpoints.
                let e = Self::endpoints(rec);
                let orig = e
                    .orig_ip
                    .and_then(|ip| self.ip_owner.get(&ip.to_string()).cloned());
                let resp = e
                    .resp_ip
                    .and_then(|ip| self.ip_owner.get(&ip.to_string()).cloned());
                let (Some(orig), Some(resp), Some(port)) = (orig, resp, e.resp_port) else {
                    return;
                };
                let found = self
                    .pairs
                    .values()
                    .find(|p| p.key.orig == orig && p.key.resp == resp && p.key.port == port)
                    .map(|p| p.key.id());
                match found {
                    Some(id) => id,
                    None => {
                        let key = PairKey {
                            orig,
                            resp,
                            proto: "-".to_owned(),
                            port,
                        };
                        if !self.pair(sensor, ts, &key, &ev) {
                            return;
                        }
                        key.id()
                    }
                }
            }
        };
        let class = (spec.classify)(rec);
        let name = bounded(&osect_wire::protocol::operation_name(spec, rec));
        let count = get_count(rec, "count").unwrap_or(1).max(1);
        let last = get_time(rec, "ts_end").unwrap_or(ts).max(ts);
        let log = rec.schema.path;
        let op_id = format!("{pair_id}#{log}#{name}");
        let day = self.meta.config.day_of(ts);
        let (pair_known, orig, resp) = match self.pairs.get(&pair_id) {
            Some(p) => (p.learned.is_some(), p.key.orig.clone(), p.key.resp.clone()),
            None => return,
        };
        if let Some(p) = self.pairs.get_mut(&pair_id) {
            insert_bounded(&mut p.services, protocol);
            p.last_seen = p.last_seen.max(last);
        }
        let label = |s: &Self, k: &DeviceKey| {
            s.devices
                .get(k)
                .map(Device::label)
                .unwrap_or_else(|| k.0.clone())
        };
        let who = format!("{} -> {}", label(self, &orig), label(self, &resp));
        let mut detail = BTreeMap::new();
        detail.insert("protocol".to_owned(), protocol.to_owned());
        detail.insert("operation".to_owned(), name.clone());
        if let Some(c) = class.control {
            detail.insert("control".to_owned(), c.as_str().to_owned());
        }
        if let Some(a) = &class.area {
            detail.insert(
                "area".to_owned(),
                format!("{}:{}+{}", a.space, a.start, a.count),
            );
        }
        let devices = vec![orig.clone(), resp.clone()];
        // A write to addresses no learned write of the pair has written.
        let range_alert = |a: &Area| {
            (
                AlertKind::NewWriteRange,
                format!("range|{pair_id}#{log}|{}:{}+{}", a.space, a.start, a.count),
                format!(
                    "{who}: {protocol} {name} writes {} {}-{}, a range not written before",
                    a.space,
                    a.start,
                    a.start + a.count - 1
                ),
                None,
            )
        };
        let is_new = !self.operations.contains_key(&op_id);
        if is_new {
            if self.operations.len() >= MAX_OPERATIONS {
                self.meta.dropped.operations += 1;
                return;
            }
            self.count_new(ts);
            // Reads only so far on this pair and protocol?
            let reads_only = {
                let prefix = format!("{pair_id}#{log}#");
                let mut any = false;
                let mut only_reads = true;
                for o in self
                    .operations
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                {
                    any = true;
                    if o.1.access != Some(Access::Read) {
                        only_reads = false;
                    }
                }
                any && only_reads
            };
            let item = format!("op|{op_id}");
            let learned = match self.novelty(ts) {
                Novelty::Learn(how)
                    if !(how == LearnedHow::Maintenance && is_critical(class.control)) =>
                {
                    Some(Learned { how, at: ts })
                }
                _ if self.meta.approved.contains(&item) => Some(Learned {
                    how: LearnedHow::Approved,
                    at: ts,
                }),
                _ => None,
            };
            let mut days = DaySet::default();
            days.insert(day);
            self.operations.insert(
                op_id.clone(),
                Operation {
                    pair: pair_id.clone(),
                    protocol: protocol.to_owned(),
                    log: log.to_owned(),
                    name: name.clone(),
                    access: class.access,
                    control: class.control,
                    areas: class.area.iter().cloned().collect(),
                    count: 0,
                    first_seen: ts,
                    last_seen: ts,
                    learned: learned.clone(),
                    days,
                    cycle: Cycle::default(),
                },
            );
            // Controller changes other than memory writes alert below, each
            // time; a memory write is news when the pair never wrote, or
            // wrote elsewhere.
            if learned.is_none() && pair_known {
                let prior = self.learned_writes(&pair_id, log, &op_id);
                let new_op = (
                    AlertKind::NewOperation,
                    item.clone(),
                    format!("{who}: new {protocol} operation {name}"),
                    None,
                );
                let alert = match class.control {
                    Some(Control::MemoryWrite) if prior.is_none() => Some((
                        AlertKind::ControllerChange,
                        format!("ctl|{pair_id}|{}", Control::MemoryWrite.as_str()),
                        format!(
                            "{who}: {protocol} {} ({name}) where none was seen",
                            control_title(Control::MemoryWrite)
                        ),
                        Some(Control::MemoryWrite),
                    )),
                    Some(Control::MemoryWrite) => match &class.area {
                        Some(a) if !covers(prior.as_deref().unwrap_or_default(), a) => {
                            Some(range_alert(a))
                        }
                        _ => Some(new_op),
                    },
                    Some(_) => None,
                    None if class.access == Some(Access::Write) && reads_only => Some((
                        AlertKind::WriteAfterReads,
                        item,
                        format!("{who}: {protocol} write {name} where only reads were seen"),
                        None,
                    )),
                    None => Some(new_op),
                };
                if let Some((kind, item, title, control)) = alert {
                    if !self.meta.approved.contains(&item) {
                        self.raise(Raise {
                            kind,
                            item,
                            ts,
                            devices: devices.clone(),
                            title,
                            detail: detail.clone(),
                            evidence: Some(ev.clone()),
                            control,
                            count,
                        });
                    }
                }
            }
        } else if let (Some(area), Some(Access::Write)) = (&class.area, class.access) {
            // A learned write operation on a range no learned write of the
            // pair has written.
            let learned = self
                .operations
                .get(&op_id)
                .is_some_and(|o| o.learned.is_some());
            let covered = covers(
                &self.learned_writes(&pair_id, log, "").unwrap_or_default(),
                area,
            );
            if let Some(o) = self.operations.get_mut(&op_id) {
                add_area(&mut o.areas, area);
            }
            if !covered && learned {
                let (kind, item, title, _) = range_alert(area);
                if self.event_alerts(ts, &item, Severity::High) {
                    self.raise(Raise {
                        kind,
                        item,
                        ts,
                        devices: devices.clone(),
                        title,
                        detail: detail.clone(),
                        evidence: Some(ev.clone()),
                        control: None,
                        count,
                    });
                }
            }
        } else if let Some(area) = &class.area {
            if let Some(o) = self.operations.get_mut(&op_id) {
                add_area(&mut o.areas, area);
            }
        }
        // Program and state changes alert whenever they are not in the
        // baseline, each time, not only the first.
        if let Some(control) = class.control.filter(|c| *c != Control::MemoryWrite) {
            let learned = self
                .operations
                .get(&op_id)
                .is_some_and(|o| o.learned.is_some());
            if !learned {
                let item = format!("ctl|{pair_id}|{}", control.as_str());
                let critical = is_critical(Some(control));
                let alerts = !self.meta.approved.contains(&item)
                    && match self.novelty(ts) {
                        Novelty::Learn(LearnedHow::Maintenance) => critical,
                        Novelty::Learn(_) => false,
                        Novelty::Alert => true,
                    };
                if alerts {
                    self.raise(Raise {
                        kind: AlertKind::ControllerChange,
                        item,
                        ts,
                        devices: devices.clone(),
                        title: format!("{who}: {protocol} {} ({name})", control_title(control)),
                        detail: detail.clone(),
                        evidence: Some(ev.clone()),
                        control: Some(control),
                        count,
                    });
                }
            }
        }
        if let Some(o) = self.operations.get_mut(&op_id) {
            o.count += count;
            o.first_seen = o.first_seen.min(ts);
            if let Some(l) = o.learned.as_mut().filter(|l| l.how != LearnedHow::Approved) {
                l.at = l.at.min(ts);
            }
            o.last_seen = o.last_seen.max(last);
            o.days.insert(day);
            if count > 1 && last > ts {
                o.cycle.add(((last - ts) as u64) / (count - 1), count - 1);
            }
        }
        self.changes.operations.insert(op_id);
    }

    /// The ranges the learned write operations of a pair's log wrote,
    /// `except` one operation; `None` when it has no learned write.
    fn learned_writes(&self, pair_id: &str, log: &str, except: &str) -> Option<Vec<Area>> {
        let prefix = format!("{pair_id}#{log}#");
        let writes: Vec<&Operation> = self
            .operations
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, o)| {
                k.as_str() != except && o.learned.is_some() && o.access == Some(Access::Write)
            })
            .map(|(_, o)| o)
            .collect();
        (!writes.is_empty()).then(|| {
            writes
                .iter()
                .flat_map(|o| o.areas.iter().cloned())
                .collect()
        })
    }

    // ------------------------------------------------------------ sensors

    fn sighted(&mut self, sensor: &str, seen: &BTreeMap<DeviceKey, Micros>) {
        for (key, &ts) in seen {
            if let Some(d) = self.devices.get_mut(key) {
                d.sightings += 1;
                d.last_seen = d.last_seen.max(ts);
                d.silent = false;
                insert_bounded(&mut d.sensors, sensor);
            }
        }
    }

    fn silent_devices(&mut self, sensor: &str) {
        let now = self.meta.sensors.get(sensor).map_or(0, |s| s.now);
        if self.meta.config.is_learning(now) {
            return;
        }
        let silent: Vec<DeviceKey> = self
            .devices
            .values()
            .filter(|d| {
                !d.silent
                    && d.learned.is_some()
                    && d.sightings >= REGULAR_SIGHTINGS
                    && d.mean_gap() <= REGULAR_GAP
                    && d.sensors.contains(sensor)
                    && now - d.last_seen > (5 * d.mean_gap()).max(SILENT_MIN)
            })
            .map(|d| d.key.clone())
            .collect();
        for key in silent {
            let (label, last) = match self.devices.get_mut(&key) {
                Some(d) => {
                    d.silent = true;
                    (d.label(), d.last_seen)
                }
                None => continue,
            };
            self.changes.devices.insert(key.clone());
            let item = format!("silent|{key}");
            if self.meta.approved.contains(&item) || self.meta.config.in_maintenance(now) {
                continue;
            }
            let mut detail = BTreeMap::new();
            detail.insert("last_seen".to_owned(), last.to_string());
            self.raise(Raise {
                kind: AlertKind::SilentDevice,
                item,
                ts: now,
                devices: vec![key],
                title: format!("{label}, seen regularly until now, has gone silent"),
                detail,
                evidence: None,
                control: None,
                count: 1,
            });
        }
    }

    fn sensor_batch(&mut self, b: &BatchInput<'_>) {
        let h = b.health;
        let max_ts = b
            .records
            .iter()
            .filter_map(|r| get_time(r, "ts"))
            .max()
            .unwrap_or(b.interval_end);
        let lost = h.spool_evictions + h.records_dropped + h.lost_intervals;
        {
            let s = self.meta.sensors.entry(b.sensor.to_owned()).or_default();
            s.batches += 1;
            s.last_seq = s.last_seq.max(b.seq);
            s.last_received = s.last_received.max(b.received);
            s.last_interval_end = s.last_interval_end.max(b.interval_end);
            s.now = s.now.max(b.interval_end.min(max_ts.max(b.interval_start)));
            s.silent = false;
            s.packets = h.packets;
            s.kernel_drops = h.kernel_drops;
            s.spool_depth = h.spool_depth;
            s.records_lost = lost;
        }
        let c = &self.meta.config;
        let seen = h.packets + h.kernel_drops;
        let sensor = b.sensor.to_owned();
        if h.kernel_drops > 0 && h.kernel_drops * 1000 > c.capture_loss_per_mille * seen {
            let mut detail = BTreeMap::new();
            detail.insert("kernel_drops".to_owned(), h.kernel_drops.to_string());
            detail.insert("packets".to_owned(), h.packets.to_string());
            self.raise(Raise {
                kind: AlertKind::CaptureLoss,
                item: format!("loss|{sensor}"),
                ts: b.interval_end,
                devices: Vec::new(),
                title: format!(
                    "sensor {sensor} lost {} of {seen} packets in an interval",
                    h.kernel_drops
                ),
                detail,
                evidence: None,
                control: None,
                count: 1,
            });
        }
        if lost > 0 {
            let mut detail = BTreeMap::new();
            detail.insert("spool_evictions".to_owned(), h.spool_evictions.to_string());
            detail.insert("records_dropped".to_owned(), h.records_dropped.to_string());
            detail.insert("lost_intervals".to_owned(), h.lost_intervals.to_string());
            self.raise(Raise {
                kind: AlertKind::RecordsLost,
                item: format!("lost|{sensor}"),
                ts: b.interval_end,
                devices: Vec::new(),
                title: format!(
                    "sensor {sensor} lost records (spool evictions, full tables or lost intervals)"
                ),
                detail,
                evidence: None,
                control: None,
                count: lost,
            });
        }
        let skew = self.meta.config.clock_skew;
        if b.interval_end > b.received + skew {
            let mut detail = BTreeMap::new();
            detail.insert(
                "ahead_s".to_owned(),
                ((b.interval_end - b.received) / SECOND).to_string(),
            );
            self.raise(Raise {
                kind: AlertKind::ClockSkew,
                item: format!("skew|{sensor}"),
                ts: b.received,
                devices: Vec::new(),
                title: format!("sensor {sensor}'s clock is ahead of the core's"),
                detail,
                evidence: None,
                control: None,
                count: 1,
            });
        }
    }

    // ------------------------------------------------------------ alerts

    /// What `item`'s open alert reports was seen at `ts`, in a batch from
    /// before the one that raised it but analysed after it (sent again
    /// after the collector stopped): the alert starts there, so the alerts
    /// do not depend on the order batches arrived in.
    fn seen_earlier(&mut self, item: &str, ts: Micros) {
        let Some(a) = self.active.get(item).and_then(|id| self.alerts.get_mut(id)) else {
            return;
        };
        if ts < a.first_seen {
            a.first_seen = ts;
            self.dirty_alerts.insert(a.id);
        }
    }

    fn raise(&mut self, r: Raise) {
        if let Some(&id) = self.active.get(&r.item) {
            if let Some(a) = self.alerts.get_mut(&id) {
                a.count += r.count;
                a.first_seen = a.first_seen.min(r.ts);
                a.last_seen = a.last_seen.max(r.ts);
                if let Some(e) = r.evidence {
                    push_evidence(&mut a.evidence, e);
                }
                self.dirty_alerts.insert(id);
                self.changes.events.push(AlertEvent::Updated(id));
                return;
            }
        }
        if self.alerts.len() >= MAX_ACTIVE_ALERTS {
            self.meta.dropped.alerts += 1;
            return;
        }
        let id = self.meta.next_alert_id;
        self.meta.next_alert_id += 1;
        let alert = Alert {
            id,
            site: self.site.clone(),
            kind: r.kind,
            severity: severity(r.kind, r.control),
            item: r.item.clone(),
            title: r.title,
            devices: r.devices,
            detail: r.detail,
            first_seen: r.ts,
            last_seen: r.ts,
            count: r.count,
            evidence: r.evidence.into_iter().collect(),
            state: AlertState::Open,
            actions: Vec::new(),
        };
        self.alerts.insert(id, alert);
        self.active.insert(r.item, id);
        self.dirty_alerts.insert(id);
        self.changes.events.push(AlertEvent::New(id));
    }

    /// A user's decision on an active alert. Approving puts its item in the
    /// baseline: no more alerts for it.
    pub fn act(
        &mut self,
        id: u64,
        state: AlertState,
        by: &str,
        at: Micros,
        note: Option<String>,
    ) -> Result<(), ActError> {
        if state == AlertState::Open {
            return Err(ActError::Reopen);
        }
        let a = self.alerts.get_mut(&id).ok_or(ActError::NotActive(id))?;
        a.state = state;
        a.actions.push(AlertAction {
            state,
            by: by.to_owned(),
            at,
            note: note.map(|n| bounded(&n)),
        });
        let item = a.item.clone();
        self.dirty_alerts.insert(id);
        if state == AlertState::Approved {
            self.approve_item(&item, at);
        }
        Ok(())
    }

    fn approve_item(&mut self, item: &str, at: Micros) {
        let learned = Some(Learned {
            how: LearnedHow::Approved,
            at,
        });
        let (kind, rest) = item.split_once('|').unwrap_or((item, ""));
        match kind {
            "device" => {
                let key = DeviceKey(rest.to_owned());
                if let Some(d) = self.devices.get_mut(&key) {
                    d.learned = learned;
                    self.changes.devices.insert(key);
                }
            }
            "pair" => {
                if let Some(p) = self.pairs.get_mut(rest) {
                    p.learned = learned;
                    self.changes.pairs.insert(rest.to_owned());
                }
            }
            "op" => {
                if let Some(o) = self.operations.get_mut(rest) {
                    o.learned = learned;
                    self.changes.operations.insert(rest.to_owned());
                }
            }
            "ctl" => {
                // Every operation with this control on the pair.
                let (pair, control) = rest.rsplit_once('|').unwrap_or((rest, ""));
                let prefix = format!("{pair}#");
                let ids: Vec<String> = self
                    .operations
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter(|(_, o)| o.control.map(Control::as_str) == Some(control))
                    .map(|(k, _)| k.clone())
                    .collect();
                for id in ids {
                    if let Some(o) = self.operations.get_mut(&id) {
                        o.learned = learned.clone();
                    }
                    self.changes.operations.insert(id);
                }
            }
            _ => {}
        }
        if self.meta.approved.len() < MAX_APPROVED {
            self.meta.approved.insert(item.to_owned());
        }
    }

    /// Starts learning again from `at`: what is new for another learning
    /// period joins the baseline.
    pub fn restart_learning(&mut self, at: Micros) {
        self.meta.config.learning_start = Some(at);
    }
}

fn is_critical(control: Option<Control>) -> bool {
    severity(AlertKind::ControllerChange, control) == Severity::Critical && control.is_some()
}

fn control_title(c: Control) -> &'static str {
    match c {
        Control::ProgramDownload => "program download",
        Control::ProgramUpload => "program upload",
        Control::ProgramAccess => "program area access",
        Control::Stop => "controller stop",
        Control::Run => "controller run",
        Control::Pause => "controller pause",
        Control::Restart => "controller reset or restart",
        Control::FileTransfer => "file transfer",
        Control::Command => "process command",
        Control::CommControl => "communication control",
        Control::MemoryWrite => "memory write",
    }
}

struct Raise {
    kind: AlertKind,
    item: String,
    ts: Micros,
    devices: Vec<DeviceKey>,
    title: String,
    detail: BTreeMap<String, String>,
    evidence: Option<Evidence>,
    control: Option<Control>,
    count: u64,
}

fn evidence(sensor: &str, rec: &Record, ts: Micros) -> Evidence {
    Evidence {
        log: rec.schema.path.to_owned(),
        uid: get_str(rec, "uid").map(bounded),
        ts,
        sensor: sensor.to_owned(),
    }
}

/// Keeps the first half of the evidence and the latest records after it.
fn push_evidence(list: &mut Vec<Evidence>, e: Evidence) {
    if list.len() >= Alert::MAX_EVIDENCE {
        list.remove(Alert::MAX_EVIDENCE / 2);
    }
    list.push(e);
}

#[cfg(test)]
mod tests {
    //! Each alert kind from records of the engine's own `conn`, `asset` and
    //! `arp` logs, and of one industrial log whose operations read, write
    //! and stop a controller.
    use super::*;
    use osect_wire::protocol::{Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
    use osect_wire::record::field;
    use osect_wire::{FieldType as T, LogSchema};

    use osect_engine::{asset::ASSET, flow::conn::CONN_LOG as CONN, neighbor::ARP_LOG as ARP};

    /// A row of `schema` with the named fields set, the others unset.
    fn row(schema: &'static LogSchema, fields: Vec<(&str, Value)>) -> Record {
        let mut values = vec![Value::Unset; schema.fields.len()];
        for (name, v) in fields {
            let i = schema
                .index_of(name)
                .unwrap_or_else(|| panic!("{} has no field {name}", schema.path));
            values[i] = v;
        }
        Record { schema, values }
    }
    static PLC: LogSchema = LogSchema {
        path: "plc",
        fields: &[
            field("ts", T::Time),
            field("ts_end", T::Time),
            field("uid", T::String),
            field("id.orig_h", T::Addr),
            field("id.resp_h", T::Addr),
            field("id.resp_p", T::Port),
            field("func", T::String),
            field("address", T::Count),
            field("count", T::Count),
        ],
    };
    fn classify(r: &Record) -> OpClass {
        let addr = get_count(r, "address").unwrap_or(0);
        match get_str(r, "func") {
            Some("READ") => OpClass::read().with_area("holding", addr, 10),
            Some("WRITE") => OpClass {
                control: Some(Control::MemoryWrite),
                ..OpClass::write()
            }
            .with_area("holding", addr, 10),
            Some("STOP") => OpClass::control(Control::Stop),
            _ => OpClass::default(),
        }
    }
    static PLC_PROTO: ProtocolInfo = ProtocolInfo {
        name: "plcproto",
        industrial: true,
        logs: &[LogInfo {
            schema: &PLC,
            fold: Fold::Yes { per_event: &[] },
            operation: Some(OperationSpec {
                key: &["func"],
                classify,
            }),
        }],
    };

    const T0: Micros = 1_767_603_600_000_000;
    const HMI: (&str, &str) = ("00:0c:29:00:00:14", "192.168.10.20");
    const PLC1: (&str, &str) = ("00:1b:1b:00:00:66", "192.168.10.102");
    const EWS: (&str, &str) = ("00:0c:29:00:00:0a", "192.168.10.10");

    fn reg() -> Registry {
        Registry::new(&[&PLC_PROTO])
    }
    fn s(v: &str) -> Value {
        Value::from(v)
    }
    fn ip(v: &str) -> Value {
        Value::Addr(v.parse().unwrap())
    }
    fn asset(ts: Micros, dev: (&str, &str), firmware: Option<&str>) -> Record {
        row(
            &ASSET,
            vec![
                ("ts", Value::Time(ts)),
                ("mac", s(dev.0)),
                ("vlan", Value::Count(10)),
                ("ips", Value::Strings(vec![dev.1.to_owned()])),
                ("roles", Value::Strings(vec![])),
                ("firmware", firmware.map_or(Value::Unset, s)),
                ("first_seen", Value::Time(ts)),
                ("last_seen", Value::Time(ts)),
            ],
        )
    }
    fn conn(ts: Micros, uid: &str, a: (&str, &str), b: (&str, &str), port: u16) -> Record {
        row(
            &CONN,
            vec![
                ("ts", Value::Time(ts)),
                ("uid", s(uid)),
                ("id.orig_h", ip(a.1)),
                ("id.orig_p", Value::Port(49152)),
                ("id.resp_h", ip(b.1)),
                ("id.resp_p", Value::Port(port)),
                ("proto", s("tcp")),
                ("service", s("plcproto")),
                ("duration", Value::Interval(1_000_000)),
                ("conn_state", s("SF")),
                ("orig_pkts", Value::Count(10)),
                ("orig_ip_bytes", Value::Count(600)),
                ("resp_pkts", Value::Count(10)),
                ("resp_ip_bytes", Value::Count(800)),
                ("orig_l2_addr", s(a.0)),
                ("resp_l2_addr", s(b.0)),
                ("vlan", Value::Int(10)),
                ("interim", Value::Bool(false)),
            ],
        )
    }
    fn op(
        ts: Micros,
        uid: &str,
        a: (&str, &str),
        b: (&str, &str),
        func: &str,
        address: u64,
        count: u64,
    ) -> Record {
        Record {
            schema: &PLC,
            values: vec![
                Value::Time(ts),
                Value::Time(ts + (count as i64 - 1) * 100_000),
                s(uid),
                ip(a.1),
                ip(b.1),
                Value::Port(502),
                s(func),
                Value::Count(address),
                Value::Count(count),
            ],
        }
    }
    fn arp_reply(ts: Micros, asker: (&str, &str), mac: &str, claimed: &str) -> Record {
        row(
            &ARP,
            vec![
                ("ts", Value::Time(ts)),
                ("ts_end", Value::Time(ts)),
                ("operation", s("reply")),
                ("orig_mac", s(asker.0)),
                ("orig_ip", ip(asker.1)),
                ("resp_mac", s(mac)),
                ("resp_ip", ip(claimed)),
                ("vlan", Value::Int(10)),
            ],
        )
    }
    fn batch(st: &mut SiteState, sensor: &str, start: Micros, records: Vec<Record>) {
        let h = Health {
            packets: 1000,
            ..Health::default()
        };
        st.analyse(
            &reg(),
            &BatchInput {
                sensor,
                seq: 1,
                interval_start: start,
                interval_end: start + MINUTE,
                received: start + MINUTE + SECOND,
                health: &h,
                records: &records,
            },
        );
    }
    /// A normal minute: the HMI reads the PLC, both announce themselves.
    /// The uid of the minute's polling connection.
    fn uid(t: Micros) -> String {
        format!("C{}", (t - T0) / MINUTE)
    }
    fn normal(t: Micros) -> Vec<Record> {
        vec![
            asset(t, HMI, None),
            asset(t, PLC1, Some("V3.2.6")),
            conn(t, &uid(t), HMI, PLC1, 502),
            op(t + 1000, &uid(t), HMI, PLC1, "READ", 100, 600),
            arp_reply(t, HMI, PLC1.0, PLC1.1),
        ]
    }
    /// A site that learned for an hour of normal minutes.
    fn learned() -> SiteState {
        let mut st = SiteState::new("plant");
        st.meta.config.learning = HOUR;
        for m in 0..61 {
            batch(&mut st, "S1", T0 + m * MINUTE, normal(T0 + m * MINUTE));
        }
        let c = st.take_changes();
        assert!(c.alerts.is_empty(), "learning raised {:?}", c.alerts);
        st
    }
    /// Kinds of the alerts the batch opened.
    fn kinds(c: &Changes) -> Vec<AlertKind> {
        c.alerts
            .iter()
            .filter(|a| c.events.contains(&AlertEvent::New(a.id)))
            .map(|a| a.kind)
            .collect()
    }
    const AFTER: Micros = T0 + 2 * HOUR;

    #[test]
    fn learning_is_quiet_and_a_normal_minute_after_it_too() {
        let mut st = learned();
        assert_eq!(st.devices.len(), 2);
        assert_eq!(st.pairs.len(), 1);
        assert_eq!(st.operations.len(), 1);
        assert!(st.devices.values().all(|d| d.learned.is_some()));
        batch(&mut st, "S1", AFTER, normal(AFTER));
        assert!(st.take_changes().alerts.is_empty());
        // Folded rows count as the operations they stand for, and give the
        // cycle: 600 reads a minute, one every 100 ms.
        let o = st.operations.values().next().unwrap();
        assert_eq!(o.count, 62 * 600);
        assert!((o.cycle.period().unwrap() - 100_000.0).abs() < 1.0);
        assert_eq!(o.cycle.jitter(), Some(0.0));
        let p = st.pairs.values().next().unwrap();
        assert_eq!(
            (p.connections, p.packets, p.bytes),
            (62, 62 * 20, 62 * 1400)
        );
    }

    #[test]
    fn a_new_device_alerts_once_with_its_evidence_and_repeats_fold() {
        let mut st = learned();
        let new = ("00:80:f4:00:00:70", "192.168.10.112");
        let mut r = normal(AFTER);
        r.push(asset(AFTER + 5, new, None));
        r.push(conn(AFTER + 10, "C9", HMI, new, 502));
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        // Its pair is part of the device's alert, not one of its own.
        assert_eq!(kinds(&c), vec![AlertKind::NewDevice]);
        let a = &c.alerts[0];
        assert_eq!(a.devices, vec![DeviceKey::mac(new.0, Some(10))]);
        assert_eq!(a.evidence[0].log, "asset");
        assert_eq!(a.first_seen, AFTER + 5);
        assert_eq!(a.severity, Severity::High);
        assert_eq!(c.events, vec![AlertEvent::New(a.id)]);
        // Seen again: no new alert.
        let mut r = normal(AFTER + MINUTE);
        r.push(conn(AFTER + MINUTE, "C10", HMI, new, 502));
        batch(&mut st, "S1", AFTER + MINUTE, r);
        assert!(st.take_changes().alerts.is_empty());
    }

    #[test]
    fn a_new_pair_of_known_devices_and_a_new_service() {
        let mut st = learned();
        let mut r = normal(AFTER);
        r.push(conn(AFTER + 7, "C2", PLC1, HMI, 102));
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::NewPair, AlertKind::NewService]);
        assert_eq!(c.alerts[0].severity, Severity::Medium);
    }

    #[test]
    fn controller_stop_alerts_every_time_until_approved() {
        let mut st = learned();
        let mut r = normal(AFTER);
        r.push(op(AFTER + 9, &uid(AFTER), HMI, PLC1, "STOP", 0, 1));
        r.push(op(AFTER + 10, &uid(AFTER), HMI, PLC1, "STOP", 0, 1));
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::ControllerChange]);
        let a = &c.alerts[0];
        assert_eq!((a.severity, a.count), (Severity::Critical, 2));
        assert_eq!(a.detail.get("control").map(String::as_str), Some("stop"));
        assert_eq!(a.evidence.len(), 2);
        // Dismissed, then the controller is stopped again: a new alert.
        st.act(a.id, AlertState::Dismissed, "alice", AFTER + MINUTE, None)
            .unwrap();
        assert_eq!(st.take_changes().alerts[0].state, AlertState::Dismissed);
        let mut r = normal(AFTER + HOUR);
        r.push(op(
            AFTER + HOUR + 9,
            &uid(AFTER + HOUR),
            HMI,
            PLC1,
            "STOP",
            0,
            1,
        ));
        batch(&mut st, "S1", AFTER + HOUR, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::ControllerChange]);
        assert_ne!(c.alerts[0].id, a.id);
        // Approved: part of the baseline, no more alerts.
        st.act(
            c.alerts[0].id,
            AlertState::Approved,
            "alice",
            AFTER + HOUR,
            Some("planned".into()),
        )
        .unwrap();
        st.take_changes();
        let mut r = normal(AFTER + 2 * HOUR);
        r.push(op(
            AFTER + 2 * HOUR + 9,
            &uid(AFTER + 2 * HOUR),
            HMI,
            PLC1,
            "STOP",
            0,
            1,
        ));
        batch(&mut st, "S1", AFTER + 2 * HOUR, r);
        assert!(st.take_changes().alerts.is_empty());
        assert_eq!(
            st.act(a.id, AlertState::Approved, "bob", AFTER, None),
            Err(ActError::NotActive(a.id))
        );
    }

    #[test]
    fn writes_where_reads_were_seen_and_to_new_ranges() {
        let mut st = SiteState::new("plant");
        st.meta.config.learning = HOUR;
        for m in 0..61 {
            let t = T0 + m * MINUTE;
            let mut r = normal(t);
            r.push(op(t + 50, &uid(t), HMI, PLC1, "WRITE", 300, 1));
            batch(&mut st, "S1", t, r);
        }
        st.take_changes();
        // The learned write, on its learned range: nothing.
        let mut r = normal(AFTER);
        r.push(op(AFTER + 50, &uid(AFTER), HMI, PLC1, "WRITE", 300, 1));
        batch(&mut st, "S1", AFTER, r);
        assert!(st.take_changes().alerts.is_empty());
        // Registers 4000-4009, never written.
        let mut r = normal(AFTER + MINUTE);
        r.push(op(
            AFTER + MINUTE + 50,
            &uid(AFTER + MINUTE),
            HMI,
            PLC1,
            "WRITE",
            4000,
            1,
        ));
        batch(&mut st, "S1", AFTER + MINUTE, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::NewWriteRange]);
        assert_eq!(c.alerts[0].detail["area"], "holding:4000+10");

        // On a pair that only ever read, a first write is a controller
        // change (memory write), not just a new operation.
        let mut st = learned();
        let mut r = normal(AFTER);
        r.push(op(AFTER + 50, &uid(AFTER), HMI, PLC1, "WRITE", 100, 1));
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::ControllerChange]);
        assert_eq!(c.alerts[0].severity, Severity::High);
    }

    #[test]
    fn maintenance_learns_but_critical_kinds_still_alert() {
        let mut st = learned();
        st.meta
            .config
            .add_window(crate::config::Window {
                start: AFTER,
                end: AFTER + HOUR,
                note: "line 2 retrofit".into(),
                by: "ops".into(),
            })
            .unwrap();
        let new = ("00:80:f4:00:00:70", "192.168.10.112");
        let mut r = normal(AFTER);
        r.push(asset(AFTER + 5, new, None));
        r.push(op(AFTER + 9, &uid(AFTER), HMI, PLC1, "STOP", 0, 1));
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::ControllerChange]);
        let d = &st.devices[&DeviceKey::mac(new.0, Some(10))];
        assert_eq!(
            d.learned.as_ref().map(|l| l.how),
            Some(LearnedHow::Maintenance)
        );
    }

    #[test]
    fn arp_spoofing_and_a_new_address() {
        let mut st = learned();
        let mut r = normal(AFTER);
        r.push(arp_reply(AFTER + 3, HMI, EWS.0, PLC1.1));
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::ArpSpoof]);
        let a = &c.alerts[0];
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.detail["ip"], PLC1.1);
        // The HMI announcing a second address is a new address.
        let mut r = normal(AFTER + MINUTE);
        let mut extra = asset(AFTER + MINUTE, HMI, None);
        extra.values[ASSET.index_of("ips").unwrap()] =
            Value::Strings(vec![HMI.1.to_owned(), "192.168.10.21".to_owned()]);
        r.push(extra);
        batch(&mut st, "S1", AFTER + MINUTE, r);
        assert_eq!(kinds(&st.take_changes()), vec![AlertKind::NewAddress]);
    }

    #[test]
    fn an_earlier_batch_analysed_late_moves_the_alert_start_back() {
        // Minute 2's batch arrives before minute 1's (sent again after the
        // collector stopped): the alerts start at minute 1 all the same.
        let mut st = learned();
        let second = AFTER + 2 * MINUTE;
        let first = AFTER + MINUTE;
        let with_new_ip = |ts| {
            let mut a = asset(ts, HMI, None);
            a.values[ASSET.index_of("ips").unwrap()] =
                Value::Strings(vec![HMI.1.to_owned(), "192.168.10.21".to_owned()]);
            a
        };
        let mut r = normal(second);
        r[1] = asset(second, PLC1, Some("V3.3.0"));
        r.push(with_new_ip(second));
        batch(&mut st, "S1", second, r);
        let c = st.take_changes();
        assert_eq!(
            kinds(&c),
            vec![AlertKind::IdentityChange, AlertKind::NewAddress]
        );
        assert!(c.alerts.iter().all(|a| a.first_seen == second));
        let mut r = normal(first);
        r[1] = asset(first, PLC1, Some("V3.3.0"));
        r.push(with_new_ip(first));
        batch(&mut st, "S1", first, r);
        let c = st.take_changes();
        assert_eq!(c.alerts.len(), 2, "the same two alerts, updated");
        assert!(c.alerts.iter().all(|a| a.first_seen == first));
        // An older value reported late changes nothing.
        let mut r = normal(AFTER);
        r[1] = asset(AFTER, PLC1, Some("V3.2.6"));
        batch(&mut st, "S1", AFTER, r);
        assert!(st.take_changes().alerts.is_empty());
    }

    #[test]
    fn firmware_change_alerts_and_is_in_the_history() {
        let mut st = learned();
        let mut r = normal(AFTER);
        r[1] = asset(AFTER, PLC1, Some("V3.3.0"));
        r[1].values[ASSET.index_of("hostnames").unwrap()] =
            Value::Strings(vec!["plc-line2".into()]);
        batch(&mut st, "S1", AFTER, r);
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::IdentityChange]);
        assert_eq!(c.alerts[0].detail["old"], "V3.2.6");
        assert_eq!(c.alerts[0].detail["new"], "V3.3.0");
        let h: Vec<_> = c
            .history
            .iter()
            .filter(|h| h.attribute == "firmware")
            .collect();
        assert!(c
            .history
            .iter()
            .any(|h| h.attribute == "hostname" && h.new.as_deref() == Some("plc-line2")));
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].old.as_deref(), Some("V3.2.6"));
    }

    #[test]
    fn traffic_across_zones_not_allowed() {
        let mut st = learned();
        let zone = |n: &str, s: &str| crate::config::Zone {
            name: n.into(),
            subnets: vec![crate::config::Subnet::parse(s).unwrap()],
            vlans: vec![],
        };
        st.meta
            .config
            .set_zone(zone("control", "192.168.10.96/27"))
            .unwrap();
        st.meta
            .config
            .set_zone(zone("ops", "192.168.10.0/27"))
            .unwrap();
        batch(&mut st, "S1", AFTER, normal(AFTER));
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::CrossZone]);
        assert_eq!(c.alerts[0].detail["from_zone"], "ops");
        st.meta.config.allow("ops", "control").unwrap();
        batch(&mut st, "S1", AFTER + MINUTE, normal(AFTER + MINUTE));
        assert!(st.take_changes().alerts.is_empty());
    }

    #[test]
    fn sensor_health_and_silence() {
        let mut st = learned();
        let h = Health {
            packets: 900,
            kernel_drops: 100,
            spool_evictions: 2,
            ..Health::default()
        };
        let recs = normal(AFTER);
        st.analyse(
            &reg(),
            &BatchInput {
                sensor: "S1",
                seq: 99,
                interval_start: AFTER,
                interval_end: AFTER + MINUTE,
                // Received ten minutes before the sensor says it closed.
                received: AFTER + MINUTE - 10 * MINUTE,
                health: &h,
                records: &recs,
            },
        );
        let c = st.take_changes();
        assert_eq!(
            kinds(&c),
            vec![
                AlertKind::CaptureLoss,
                AlertKind::RecordsLost,
                AlertKind::ClockSkew
            ]
        );
        // No batch for 20 minutes: the sensor is silent, once.
        st.tick(AFTER + 20 * MINUTE);
        assert_eq!(kinds(&st.take_changes()), vec![AlertKind::SensorSilent]);
        st.tick(AFTER + 30 * MINUTE);
        assert!(st.take_changes().alerts.is_empty());
    }

    #[test]
    fn a_regular_device_gone_silent() {
        let mut st = learned();
        // The PLC stops answering; the HMI's minutes go on.
        for m in 0..20 {
            let t = AFTER + m * MINUTE;
            batch(&mut st, "S1", t, vec![asset(t, HMI, None)]);
        }
        let c = st.take_changes();
        assert_eq!(kinds(&c), vec![AlertKind::SilentDevice]);
        assert_eq!(c.alerts[0].devices, vec![DeviceKey::mac(PLC1.0, Some(10))]);
    }

    #[test]
    fn period_diff_and_coverage() {
        let mut st = learned();
        let day2 = T0 + DAY;
        let new = ("00:80:f4:00:00:70", "192.168.10.112");
        let mut r = vec![asset(day2, HMI, None), asset(day2, new, None)];
        r.push(conn(day2, "C7", HMI, new, 502));
        batch(&mut st, "S1", day2, r);
        let a = crate::diff::Period {
            from: T0,
            to: T0 + HOUR,
        };
        let b = crate::diff::Period {
            from: day2,
            to: day2 + HOUR,
        };
        let d = crate::diff::diff(&st, &[], a, b);
        assert_eq!(d.devices_added, vec![DeviceKey::mac(new.0, Some(10))]);
        assert_eq!(d.devices_removed, vec![DeviceKey::mac(PLC1.0, Some(10))]);
        assert_eq!(d.pairs_added.len(), 1);
        assert_eq!(d.pairs_removed.len(), 1);
        assert_eq!(d.operations_removed.len(), 1);
        let c = crate::coverage::coverage(&st);
        assert_eq!(c.status, crate::coverage::Status::Settling);
        assert_eq!(c.devices, 3);
        assert_eq!(c.devices_learned, 2);
        assert_eq!(c.curve.iter().map(|(_, n)| n).sum::<u64>(), 4 + 2);
    }

    #[test]
    fn a_connection_reported_in_several_batches_counts_once_in_any_order() {
        let report = |t: Micros, pkts: u64| {
            let mut c = conn(t, "CLONG", HMI, PLC1, 502);
            c.values[CONN.index_of("orig_pkts").unwrap()] = Value::Count(pkts);
            c.values[CONN.index_of("interim").unwrap()] = Value::Bool(pkts < 30);
            c
        };
        let mut counts = Vec::new();
        for order in [[10, 20, 30], [30, 10, 20]] {
            let mut st = SiteState::new("plant");
            for (i, pkts) in order.into_iter().enumerate() {
                batch(
                    &mut st,
                    "S1",
                    T0 + i as i64 * MINUTE,
                    vec![report(T0, pkts)],
                );
            }
            let p = st.pairs.values().next().unwrap();
            counts.push((p.connections, p.packets));
        }
        // 30 from the originator and the 10 of the responder, once.
        assert_eq!(counts, vec![(1, 40), (1, 40)]);
    }

    #[test]
    fn tables_are_bounded() {
        let mut st = learned();
        let n = MAX_ARP_MACS + 4;
        let recs: Vec<Record> = (0..n)
            .map(|i| {
                arp_reply(
                    AFTER + i as i64,
                    HMI,
                    &format!("02:00:00:00:00:{i:02x}"),
                    PLC1.1,
                )
            })
            .collect();
        batch(&mut st, "S1", AFTER, recs);
        assert!(st.meta.arp_claims[PLC1.1].len() <= MAX_ARP_MACS);
        let long = "x".repeat(10_000);
        assert_eq!(bounded(&long).len(), MAX_TEXT);
        assert_eq!(bounded("日本語のホスト名").len(), "日本語のホスト名".len());
    }
}
