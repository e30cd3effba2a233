//! A site's analysis as the pages and the API show it: the state read from
//! the store (kept in memory while the site's version is unchanged), and
//! views of devices, pairs, alerts and the map with times in the site's
//! time zone.

use crate::db::Lang;
use crate::i18n::{self, Msg};
use osect_analysis::coverage::{self, Coverage};
use osect_analysis::{Alert, AlertKind, Device, Micros, Pair, SiteState};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Sites whose state is kept in memory.
const CACHED_SITES: usize = 32;

/// Values computed from a site's state, by the version they were computed
/// at (every writer of the site bumps it), for [`CACHED_SITES`] sites.
pub struct VersionCache<T> {
    entries: Mutex<HashMap<String, (i64, Arc<T>)>>,
}

impl<T> Default for VersionCache<T> {
    fn default() -> Self {
        VersionCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> VersionCache<T> {
    pub fn get(&self, site: &str, version: i64) -> Option<Arc<T>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(site)
            .filter(|(v, _)| *v == version)
            .map(|(_, s)| s.clone())
    }

    pub fn put(&self, site: &str, version: i64, value: Arc<T>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHED_SITES && !entries.contains_key(site) {
                if let Some(k) = entries.keys().next().cloned() {
                    entries.remove(&k);
                }
            }
            entries.insert(site.to_owned(), (version, value));
        }
    }
}

/// The zone of a device: the first of its addresses (or its VLAN) that a
/// zone of the site holds.
pub fn zone_of<'a>(s: &'a SiteState, d: &Device) -> Option<&'a str> {
    let c = &s.meta.config;
    d.ips
        .iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .find_map(|ip| c.zone_of(Some(ip), d.vlan))
        .or_else(|| c.zone_of(None, d.vlan))
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    pub key: String,
    pub label: String,
    pub mac: String,
    pub vlan: String,
    pub ips: Vec<String>,
    pub hostnames: Vec<String>,
    pub vendor: String,
    pub product: String,
    pub model: String,
    pub firmware: String,
    pub serial: String,
    pub os: String,
    pub roles: Vec<String>,
    pub client_protocols: Vec<String>,
    pub server_protocols: Vec<String>,
    pub ports: Vec<String>,
    pub sensors: Vec<String>,
    pub zone: String,
    pub first_seen: String,
    pub last_seen: String,
    pub first_seen_us: Micros,
    pub last_seen_us: Micros,
    /// How it entered the baseline (`learning`, `maintenance`, `approved`);
    /// empty while it is not in it (it alerted as new).
    pub learned: String,
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn learned(l: &Option<osect_analysis::Learned>) -> String {
    l.as_ref()
        .map(|l| {
            serde_json::to_value(l.how)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

pub fn device_view(s: &SiteState, d: &Device, tz: &jiff::tz::TimeZone) -> DeviceView {
    DeviceView {
        key: d.key.0.clone(),
        label: d.label(),
        mac: opt(&d.mac),
        vlan: d.vlan.map(|v| v.to_string()).unwrap_or_default(),
        ips: d.ips.iter().cloned().collect(),
        hostnames: d.hostnames.iter().cloned().collect(),
        vendor: d
            .vendor
            .clone()
            .or(d.oui_vendor.clone())
            .unwrap_or_default(),
        product: opt(&d.product),
        model: opt(&d.model),
        firmware: opt(&d.firmware),
        serial: opt(&d.serial),
        os: opt(&d.os),
        roles: d.roles.iter().cloned().collect(),
        client_protocols: d.client_protocols.iter().cloned().collect(),
        server_protocols: d.server_protocols.iter().cloned().collect(),
        ports: d.ports.iter().cloned().collect(),
        sensors: d.sensors.iter().cloned().collect(),
        zone: zone_of(s, d).unwrap_or("").to_owned(),
        first_seen: i18n::local_time(d.first_seen, tz),
        last_seen: i18n::local_time(d.last_seen, tz),
        first_seen_us: d.first_seen,
        last_seen_us: d.last_seen,
        learned: learned(&d.learned),
    }
}

/// Filters of the assets table; empty fields match everything.
#[derive(Debug, Default, Clone, serde::Deserialize, Serialize)]
pub struct AssetFilter {
    pub zone: Option<String>,
    pub role: Option<String>,
    pub vendor: Option<String>,
    pub protocol: Option<String>,
    /// First seen on or after this day (`YYYY-MM-DD`, site time).
    pub since: Option<String>,
    /// Text in the key, a name, an address or the product.
    pub q: Option<String>,
    /// The page of the table, from 1 ([`ASSETS_PER_PAGE`] rows each).
    pub page: Option<usize>,
}

/// Rows of the assets table per page: a site of thousands of devices pages
/// instead of sending megabytes of HTML.
pub const ASSETS_PER_PAGE: usize = 200;

impl AssetFilter {
    /// Checks the parameters; `since` becomes microseconds in the site's zone.
    pub fn since_us(&self, tz: &jiff::tz::TimeZone) -> Result<Option<Micros>, Msg> {
        for (name, v) in [
            ("zone", &self.zone),
            ("role", &self.role),
            ("vendor", &self.vendor),
            ("protocol", &self.protocol),
            ("q", &self.q),
        ] {
            if v.as_ref().is_some_and(|v| v.len() > crate::web::MAX_NAME) {
                return Err(Msg::new("err_too_long")
                    .arg("field", name)
                    .arg("max", crate::web::MAX_NAME));
            }
        }
        match self.since.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(day) => parse_day(day, tz).map(Some),
        }
    }

    pub fn matches(&self, v: &DeviceView, since: Option<Micros>) -> bool {
        fn set(f: &Option<String>) -> Option<&str> {
            f.as_deref().filter(|x| !x.is_empty())
        }
        set(&self.zone).is_none_or(|z| v.zone == z)
            && set(&self.role).is_none_or(|r| v.roles.iter().any(|x| x == r))
            && set(&self.vendor).is_none_or(|x| v.vendor == x)
            && set(&self.protocol).is_none_or(|p| {
                v.client_protocols
                    .iter()
                    .chain(&v.server_protocols)
                    .any(|x| x == p)
            })
            && since.is_none_or(|t| v.first_seen_us >= t)
            && set(&self.q).is_none_or(|q| {
                let q = q.to_lowercase();
                [&v.key, &v.label, &v.product, &v.model, &v.vendor]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&q))
                    || v.ips.iter().chain(&v.hostnames).any(|f| f.contains(&q))
            })
    }
}

/// A `YYYY-MM-DD` day's start in `tz`, with a clear error.
pub fn parse_day(day: &str, tz: &jiff::tz::TimeZone) -> Result<Micros, Msg> {
    let bad = || Msg::new("err_day").arg("value", day);
    let date: jiff::civil::Date = day.parse().map_err(|_| bad())?;
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_microsecond())
        .map_err(|_| bad())
}

/// The values each filter can take, for the selects.
#[derive(Debug, Default, Serialize)]
pub struct FilterChoices {
    pub zones: Vec<String>,
    pub roles: Vec<String>,
    pub vendors: Vec<String>,
    pub protocols: Vec<String>,
}

pub fn choices(views: &[DeviceView]) -> FilterChoices {
    let mut c = FilterChoices::default();
    for v in views {
        if !v.zone.is_empty() {
            c.zones.push(v.zone.clone());
        }
        c.roles.extend(v.roles.iter().cloned());
        if !v.vendor.is_empty() {
            c.vendors.push(v.vendor.clone());
        }
        c.protocols.extend(
            v.client_protocols
                .iter()
                .chain(&v.server_protocols)
                .cloned(),
        );
    }
    for list in [&mut c.zones, &mut c.roles, &mut c.vendors, &mut c.protocols] {
        list.sort();
        list.dedup();
    }
    c
}

#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    pub id: String,
    pub orig: String,
    pub resp: String,
    pub orig_label: String,
    pub resp_label: String,
    pub transport: String,
    pub port: u16,
    pub services: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub connections: u64,
    pub packets: u64,
    pub bytes: u64,
    pub learned: String,
    pub operations: Vec<OperationView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationView {
    pub protocol: String,
    pub name: String,
    pub access: String,
    pub control: String,
    pub areas: Vec<String>,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// Mean period and jitter of cyclic traffic, in seconds.
    pub period_s: Option<f64>,
    pub jitter_s: Option<f64>,
    pub learned: String,
}

fn enum_str<T: Serialize>(v: &Option<T>) -> String {
    v.as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn label_of(s: &SiteState, key: &osect_analysis::DeviceKey) -> String {
    s.devices
        .get(key)
        .map_or_else(|| key.0.clone(), Device::label)
}

pub fn pair_view(s: &SiteState, p: &Pair, tz: &jiff::tz::TimeZone) -> PairView {
    let id = p.key.id();
    // Seconds to 10 µs: a fast cycle of 12.5 ms keeps its half millisecond.
    let round = |v: f64| (v / 10.0).round() / 100_000.0;
    let operations = s
        .operations
        .range(format!("{id}#")..)
        .take_while(|(_, o)| o.pair == id)
        .map(|(_, o)| OperationView {
            protocol: o.protocol.clone(),
            name: o.name.clone(),
            access: enum_str(&o.access),
            control: enum_str(&o.control),
            areas: o
                .areas
                .iter()
                .map(|a| format!("{} {}..{}", a.space, a.start, a.start + a.count - 1))
                .collect(),
            count: o.count,
            first_seen: i18n::local_time(o.first_seen, tz),
            last_seen: i18n::local_time(o.last_seen, tz),
            period_s: o.cycle.period().map(round),
            jitter_s: o.cycle.jitter().map(round),
            learned: learned(&o.learned),
        })
        .collect();
    PairView {
        orig_label: label_of(s, &p.key.orig),
        resp_label: label_of(s, &p.key.resp),
        orig: p.key.orig.0.clone(),
        resp: p.key.resp.0.clone(),
        transport: p.key.proto.clone(),
        port: p.key.port,
        services: p.services.iter().cloned().collect(),
        first_seen: i18n::local_time(p.first_seen, tz),
        last_seen: i18n::local_time(p.last_seen, tz),
        connections: p.connections,
        packets: p.packets,
        bytes: p.bytes,
        learned: learned(&p.learned),
        operations,
        id,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    pub log: String,
    pub uid: String,
    pub time: String,
    pub sensor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    pub state: String,
    pub by: String,
    pub at: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: u64,
    pub site: String,
    pub kind: String,
    pub severity: String,
    pub title: String,
    pub item: String,
    pub devices: Vec<(String, String)>,
    pub detail: BTreeMap<String, String>,
    /// The details as the pages show them: times in the site's zone,
    /// durations as people read them.
    pub detail_shown: BTreeMap<String, String>,
    pub first_seen: String,
    pub last_seen: String,
    pub first_seen_us: Micros,
    pub count: u64,
    pub evidence: Vec<EvidenceView>,
    pub state: String,
    pub actions: Vec<ActionView>,
}

pub fn alert_view(
    s: Option<&SiteState>,
    a: &Alert,
    tz: &jiff::tz::TimeZone,
    lang: Lang,
) -> AlertView {
    AlertView {
        id: a.id,
        site: a.site.clone(),
        kind: a.kind.as_str().to_owned(),
        severity: a.severity.as_str().to_owned(),
        title: alert_title(s, a, lang).unwrap_or_else(|| a.title.clone()),
        item: a.item.clone(),
        devices: a
            .devices
            .iter()
            .map(|k| {
                (
                    k.0.clone(),
                    s.map_or_else(|| k.0.clone(), |s| label_of(s, k)),
                )
            })
            .collect(),
        detail: a.detail.clone(),
        detail_shown: a
            .detail
            .iter()
            .map(|(k, v)| (k.clone(), shown_detail(k, v, tz, lang)))
            .collect(),
        first_seen: i18n::local_time(a.first_seen, tz),
        last_seen: i18n::local_time(a.last_seen, tz),
        first_seen_us: a.first_seen,
        count: a.count,
        evidence: a
            .evidence
            .iter()
            .map(|e| EvidenceView {
                log: e.log.clone(),
                uid: e.uid.clone().unwrap_or_default(),
                time: i18n::local_time(e.ts, tz),
                sensor: e.sensor.clone(),
            })
            .collect(),
        state: a.state.as_str().to_owned(),
        actions: a
            .actions
            .iter()
            .map(|x| ActionView {
                state: x.state.as_str().to_owned(),
                by: x.by.clone(),
                at: i18n::local_time(x.at, tz),
                note: x.note.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// An alert's detail as the pages show it: the analysis keeps times in
/// microseconds since the epoch and the clock skew in seconds.
fn shown_detail(key: &str, value: &str, tz: &jiff::tz::TimeZone, lang: Lang) -> String {
    match (key, value.parse::<i64>()) {
        ("last_batch" | "last_seen", Ok(us)) => i18n::local_time(us, tz),
        ("ahead_s", Ok(s)) => i18n::duration(s as f64, lang),
        _ => value.to_owned(),
    }
}

/// An alert's one-line title in `lang`, made from its kind, its devices
/// (named as the site knows them now), its details and its item (which
/// names the sensor or the pair's transport and port); `None` where a field
/// it needs is missing, and the stored English title is shown instead.
pub fn alert_title(s: Option<&SiteState>, a: &Alert, lang: Lang) -> Option<String> {
    let device = |i: usize| {
        a.devices
            .get(i)
            .map(|k| s.map_or_else(|| k.0.clone(), |s| label_of(s, k)))
    };
    let detail = |k: &str| a.detail.get(k).cloned();
    // Items are `kind|part|part`; a pair's id ends in `>transport/port`.
    let part = |i: usize| a.item.split('|').nth(i).map(str::to_owned);
    let service = || a.item.rsplit_once('>').map(|(_, p)| p.to_owned());
    let operation = |key: &'static str| -> Option<Msg> {
        Some(
            Msg::new(key)
                .arg("from", device(0)?)
                .arg("to", device(1)?)
                .arg("protocol", detail("protocol")?)
                .arg("operation", detail("operation")?),
        )
    };
    let sensor = || part(1);
    let msg = match a.kind {
        AlertKind::NewDevice => Msg::new("alert_new_device").arg("device", device(0)?),
        AlertKind::SilentDevice => Msg::new("alert_silent_device").arg("device", device(0)?),
        AlertKind::NewAddress => Msg::new("alert_new_address")
            .arg("device", device(0)?)
            .arg("ip", detail("ip")?),
        AlertKind::AddressMoved => Msg::new("alert_address_moved")
            .arg("ip", detail("ip")?)
            .arg("device", device(1)?),
        AlertKind::ArpSpoof => Msg::new("alert_arp_spoof")
            .arg("ip", detail("ip")?)
            .arg("macs", detail("macs")?),
        AlertKind::NewPair => Msg::new("alert_new_pair")
            .arg("from", device(0)?)
            .arg("to", device(1)?)
            .arg("service", service()?),
        AlertKind::NewService => Msg::new("alert_new_service")
            .arg("device", device(0)?)
            .arg("port", detail("port")?)
            .arg("service", detail("service")?),
        AlertKind::NewOperation => operation("alert_new_operation")?,
        AlertKind::WriteAfterReads => operation("alert_write_after_reads")?,
        AlertKind::NewWriteRange => {
            operation("alert_new_write_range")?.arg("area", detail("area")?)
        }
        AlertKind::ControllerChange => {
            let control = detail("control")?;
            operation("alert_controller_change")?
                .arg("control", i18n::word(lang, "control_", &control))
        }
        AlertKind::IdentityChange => {
            let attribute = detail("attribute")?;
            Msg::new("alert_identity_change")
                .arg("device", device(0)?)
                .arg("attribute", i18n::word(lang, "attr_", &attribute))
                .arg("old", detail("old")?)
                .arg("new", detail("new")?)
        }
        AlertKind::CrossZone => Msg::new("alert_cross_zone")
            .arg("from", detail("from_zone")?)
            .arg("to", detail("to_zone")?)
            .arg("service", service()?),
        AlertKind::SensorSilent => Msg::new("alert_sensor_silent").arg("sensor", sensor()?),
        AlertKind::CaptureLoss => Msg::new("alert_capture_loss")
            .arg("sensor", sensor()?)
            .arg("dropped", detail("kernel_drops")?)
            .arg("packets", detail("packets")?),
        AlertKind::RecordsLost => Msg::new("alert_records_lost").arg("sensor", sensor()?),
        AlertKind::ClockSkew => Msg::new("alert_clock_skew").arg("sensor", sensor()?).arg(
            "ahead",
            i18n::duration(detail("ahead_s")?.parse().ok()?, lang),
        ),
    };
    Some(msg.text(lang))
}

/// The baseline's status for the pages.
#[derive(Debug, Serialize)]
pub struct BaselineView {
    pub status: &'static str,
    pub days_learned: String,
    pub learning_end: String,
    pub devices: usize,
    pub pairs: usize,
    pub operations: usize,
    pub devices_learned: usize,
    pub pairs_learned: usize,
    pub operations_learned: usize,
    /// New items per day over the last days, oldest first.
    pub curve: Vec<(String, u64)>,
}

pub fn baseline_view(s: &SiteState, tz: &jiff::tz::TimeZone) -> BaselineView {
    let c: Coverage = coverage::coverage(s);
    let day_name = |d: i64| {
        jiff::civil::Date::new(1970, 1, 1)
            .ok()
            .and_then(|e| e.checked_add(jiff::Span::new().days(d)).ok())
            .map_or_else(|| d.to_string(), |x| x.strftime("%m-%d").to_string())
    };
    BaselineView {
        status: c.status.as_str(),
        days_learned: format!("{:.1}", c.days_learned),
        learning_end: c
            .learning_end
            .map_or_else(|| "-".into(), |t| i18n::local_time(t, tz)),
        devices: c.devices,
        pairs: c.pairs,
        operations: c.operations,
        devices_learned: c.devices_learned,
        pairs_learned: c.pairs_learned,
        operations_learned: c.operations_learned,
        curve: c.curve.iter().map(|(d, n)| (day_name(*d), *n)).collect(),
    }
}

/// The communication map's data: devices grouped by zone (else VLAN, else
/// /24 subnet), one edge per device pair and protocol, and where to draw
/// each device and group box (the server lays the map out, so the browser
/// only draws: a force layout of thousands of devices takes seconds).
#[derive(Debug, Serialize)]
pub struct MapData {
    pub groups: Vec<String>,
    /// Each group's box, in the order of `groups`.
    pub boxes: Vec<MapBox>,
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
}

#[derive(Debug, Serialize)]
pub struct MapBox {
    pub group: String,
    /// The box's centre and size, in the map's units.
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub devices: usize,
}

#[derive(Debug, Serialize)]
pub struct MapNode {
    pub id: String,
    pub label: String,
    /// What the device says it is (its product), shown when it is selected.
    pub product: String,
    pub group: String,
    pub roles: Vec<String>,
    /// Not in the baseline: it alerted as new.
    pub new: bool,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Serialize)]
pub struct MapEdge {
    pub source: String,
    pub target: String,
    pub protocol: String,
    pub pairs: usize,
    pub bytes: u64,
    pub new: bool,
}

fn group_of(s: &SiteState, d: &Device) -> String {
    if let Some(z) = zone_of(s, d) {
        return format!("zone {z}");
    }
    if let Some(v) = d.vlan {
        return format!("VLAN {v}");
    }
    d.ips
        .iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .find_map(|ip| match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
            }
            IpAddr::V6(_) => None,
        })
        .unwrap_or_else(|| "-".into())
}

/// Map units between devices in a group, and between groups.
const CELL_X: f64 = 110.0;
const CELL_Y: f64 = 70.0;
const GAP: f64 = 140.0;

/// Lays groups out on rows, each group's devices on a square grid.
fn layout(groups: &[String], nodes: &mut [MapNode]) -> Vec<MapBox> {
    let index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(&g) = index.get(n.group.as_str()) {
            members[g].push(i);
        }
    }
    let per_row = (groups.len() as f64).sqrt().ceil().max(1.0) as usize;
    let (mut x0, mut y0, mut row_height) = (0.0, 0.0, 0.0f64);
    let mut boxes = Vec::with_capacity(groups.len());
    for (g, list) in members.iter().enumerate() {
        let cols = (list.len() as f64).sqrt().ceil().max(1.0) as usize;
        let rows = list.len().div_ceil(cols).max(1);
        for (j, &i) in list.iter().enumerate() {
            nodes[i].x = x0 + (j % cols) as f64 * CELL_X;
            nodes[i].y = y0 + (j / cols) as f64 * CELL_Y;
        }
        let (w, h) = (cols as f64 * CELL_X, rows as f64 * CELL_Y);
        boxes.push(MapBox {
            group: groups[g].clone(),
            x: x0 + (w - CELL_X) / 2.0,
            y: y0 + (h - CELL_Y) / 2.0,
            w: w + CELL_X / 2.0,
            h: h + CELL_Y / 2.0,
            devices: list.len(),
        });
        row_height = row_height.max(h);
        x0 += w + GAP;
        if (g + 1) % per_row == 0 {
            x0 = 0.0;
            y0 += row_height + GAP;
            row_height = 0.0;
        }
    }
    boxes
}

pub fn map_data(s: &SiteState) -> MapData {
    let mut groups: Vec<String> = Vec::new();
    let mut nodes: Vec<MapNode> = s
        .devices
        .values()
        .map(|d| {
            let group = group_of(s, d);
            groups.push(group.clone());
            MapNode {
                id: d.key.0.clone(),
                label: d.label(),
                product: opt(&d.product),
                group,
                roles: d.roles.iter().cloned().collect(),
                new: d.learned.is_none(),
                x: 0.0,
                y: 0.0,
            }
        })
        .collect();
    groups.sort();
    groups.dedup();
    let boxes = layout(&groups, &mut nodes);
    let mut edges: BTreeMap<(&str, &str, String), MapEdge> = BTreeMap::new();
    for p in s.pairs.values() {
        let protocol = p
            .services
            .iter()
            .next()
            .cloned()
            .unwrap_or_else(|| format!("{}/{}", p.key.proto, p.key.port));
        let e = edges
            .entry((&p.key.orig.0, &p.key.resp.0, protocol.clone()))
            .or_insert_with(|| MapEdge {
                source: p.key.orig.0.clone(),
                target: p.key.resp.0.clone(),
                protocol,
                pairs: 0,
                bytes: 0,
                new: false,
            });
        e.pairs += 1;
        e.bytes += p.bytes;
        e.new |= p.learned.is_none();
    }
    MapData {
        groups,
        boxes,
        nodes,
        edges: edges.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_details_show_times_and_durations_not_raw_numbers() {
        let tokyo = i18n::time_zone(i18n::DEFAULT_TIME_ZONE).unwrap();
        // 2026-01-01T00:00:00Z, as the analysis keeps it.
        let us = "1767225600000000";
        for key in ["last_batch", "last_seen"] {
            assert_eq!(
                shown_detail(key, us, &tokyo, Lang::Ja),
                "2026-01-01 09:00:00 JST"
            );
        }
        assert_eq!(
            shown_detail("ahead_s", "5400", &tokyo, Lang::En),
            "1 h 30 min"
        );
        assert_eq!(
            shown_detail("ahead_s", "5400", &tokyo, Lang::Ja),
            "1 時間 30 分"
        );
        assert_eq!(shown_detail("port", "502", &tokyo, Lang::Ja), "502");
        assert_eq!(shown_detail("last_seen", "soon", &tokyo, Lang::En), "soon");
    }
}
