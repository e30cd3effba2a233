//! What the analysis knows of a site: devices, communication pairs, their
//! industrial operations and the alerts, as plain data the store persists
//! (serde) and the console shows.

use osect_wire::protocol::{Access, Area, Control};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Microseconds since the Unix epoch, the records' time.
pub type Micros = i64;

pub const SECOND: Micros = 1_000_000;
pub const MINUTE: Micros = 60 * SECOND;
pub const HOUR: Micros = 60 * MINUTE;
pub const DAY: Micros = 24 * HOUR;

/// A device's identity in the ledger: `mac:<mac>` with `/v<vlan>` when
/// tagged, or `ip:<address>` where only routed traffic shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceKey(pub String);

impl DeviceKey {
    pub fn mac(mac: &str, vlan: Option<u64>) -> DeviceKey {
        match vlan {
            Some(v) => DeviceKey(format!("mac:{mac}/v{v}")),
            None => DeviceKey(format!("mac:{mac}")),
        }
    }
    pub fn ip(ip: &str) -> DeviceKey {
        DeviceKey(format!("ip:{ip}"))
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an item entered the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnedHow {
    /// First seen during the site's learning period.
    Learning,
    /// First seen during a maintenance window.
    Maintenance,
    /// Approved by a user from an alert.
    Approved,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learned {
    pub how: LearnedHow,
    pub at: Micros,
}

/// Days (since the epoch, in the site's time zone) on which an item was
/// active, for period diffs: a bitmap over the last [`DaySet::SPAN`] days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySet {
    /// The day of bit 0 of `bits[0]`.
    pub start: i64,
    pub bits: Vec<u64>,
}

impl DaySet {
    /// Days kept; older days are forgotten as new ones arrive.
    pub const SPAN: i64 = 448;

    pub fn insert(&mut self, day: i64) {
        if self.bits.is_empty() {
            self.start = day - day.rem_euclid(64);
        }
        if day < self.start {
            if self.start - day >= Self::SPAN {
                return;
            }
            let words = ((self.start - day + 63) / 64) as usize;
            let mut bits = vec![0u64; words];
            bits.append(&mut self.bits);
            self.bits = bits;
            self.start -= 64 * words as i64;
            self.trim_end();
        }
        let idx = day - self.start;
        let word = (idx / 64) as usize;
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << (idx % 64);
        self.trim_start();
    }

    /// Forget words older than the span, keeping the newest.
    fn trim_start(&mut self) {
        let max_words = (Self::SPAN / 64) as usize;
        if self.bits.len() > max_words {
            let drop = self.bits.len() - max_words;
            self.bits.drain(..drop);
            self.start += 64 * drop as i64;
        }
    }

    fn trim_end(&mut self) {
        let max_words = (Self::SPAN / 64) as usize;
        self.bits.truncate(max_words);
    }

    pub fn contains(&self, day: i64) -> bool {
        if day < self.start {
            return false;
        }
        let idx = day - self.start;
        self.bits
            .get((idx / 64) as usize)
            .is_some_and(|w| w & (1 << (idx % 64)) != 0)
    }

    /// Whether any day in `[from, to]` is set.
    pub fn any_in(&self, from: i64, to: i64) -> bool {
        (from.max(self.start)..=to).any(|d| self.contains(d))
    }
}

/// A device of the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub key: DeviceKey,
    pub mac: Option<String>,
    pub vlan: Option<u64>,
    pub ips: BTreeSet<String>,
    pub hostnames: BTreeSet<String>,
    /// The vendor the MAC's IEEE assignment names.
    pub oui_vendor: Option<String>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub serial: Option<String>,
    /// Where the identity came from (`cip`, `s7comm`, `profinet_dcp`, ...).
    pub identity_source: Option<String>,
    pub os: Option<String>,
    pub roles: BTreeSet<String>,
    /// Services it used as a client and offered as a server.
    pub client_protocols: BTreeSet<String>,
    pub server_protocols: BTreeSet<String>,
    /// `tcp/502`-style ports it answered on.
    pub ports: BTreeSet<String>,
    pub sensors: BTreeSet<String>,
    pub first_seen: Micros,
    pub last_seen: Micros,
    pub learned: Option<Learned>,
    pub days: DaySet,
    /// Batches it appeared in: a device seen in many batches with a small
    /// mean gap between them is regular, and its silence is news.
    pub sightings: u64,
    /// When each identity attribute was last set: a record older than that
    /// (a late batch) does not take it back.
    pub identity_ts: BTreeMap<String, Micros>,
    /// Alerted as silent and not seen since.
    pub silent: bool,
}

impl Device {
    pub fn new(key: DeviceKey, ts: Micros) -> Device {
        Device {
            key,
            mac: None,
            vlan: None,
            ips: BTreeSet::new(),
            hostnames: BTreeSet::new(),
            oui_vendor: None,
            vendor: None,
            product: None,
            model: None,
            firmware: None,
            serial: None,
            identity_source: None,
            os: None,
            roles: BTreeSet::new(),
            client_protocols: BTreeSet::new(),
            server_protocols: BTreeSet::new(),
            ports: BTreeSet::new(),
            sensors: BTreeSet::new(),
            first_seen: ts,
            last_seen: ts,
            learned: None,
            days: DaySet::default(),
            sightings: 0,
            identity_ts: BTreeMap::new(),
            silent: false,
        }
    }

    /// The name to show: a hostname, else the first IP, else the key.
    pub fn label(&self) -> String {
        self.hostnames
            .iter()
            .next()
            .or(self.ips.iter().next())
            .cloned()
            .unwrap_or_else(|| self.key.0.clone())
    }

    /// The mean time between the batches it appeared in.
    pub fn mean_gap(&self) -> Micros {
        if self.sightings < 2 {
            return Micros::MAX;
        }
        (self.last_seen - self.first_seen) / (self.sightings as i64 - 1)
    }

    /// An identity attribute by name, for history and diffs.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        match name {
            "vendor" => self.vendor.as_deref(),
            "product" => self.product.as_deref(),
            "model" => self.model.as_deref(),
            "firmware" => self.firmware.as_deref(),
            "serial" => self.serial.as_deref(),
            "os" => self.os.as_deref(),
            _ => None,
        }
    }
}

/// The identity attributes whose changes the history keeps.
pub const IDENTITY_ATTRIBUTES: [&str; 6] =
    ["vendor", "product", "model", "firmware", "serial", "os"];

/// One communication pair: a client device, a server device and the
/// server's transport and port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PairKey {
    pub orig: DeviceKey,
    pub resp: DeviceKey,
    pub proto: String,
    pub port: u16,
}

impl PairKey {
    /// The pair's key in the store and in alert items.
    pub fn id(&self) -> String {
        format!("{}>{}>{}/{}", self.orig, self.resp, self.proto, self.port)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub key: PairKey,
    /// Application protocols seen on it (`modbus`, `dns`).
    pub services: BTreeSet<String>,
    pub first_seen: Micros,
    pub last_seen: Micros,
    pub connections: u64,
    pub packets: u64,
    pub bytes: u64,
    pub learned: Option<Learned>,
    pub days: DaySet,
    /// The latest connections (by uid), with the packets and bytes counted
    /// for them, so a connection's next report adds only the difference.
    pub seen: BTreeMap<String, (u64, u64)>,
}

/// One industrial operation on a pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub pair: String,
    pub protocol: String,
    pub log: String,
    /// The operation's name from the protocol's key fields
    /// (`WRITE_MULTIPLE_REGISTERS`, `0x1401/0x0000`).
    pub name: String,
    pub access: Option<Access>,
    pub control: Option<Control>,
    /// Address ranges it touched (merged, bounded).
    pub areas: Vec<Area>,
    pub count: u64,
    pub first_seen: Micros,
    pub last_seen: Micros,
    pub learned: Option<Learned>,
    pub days: DaySet,
    /// Cycle estimates from folded rows: mean period and its spread.
    pub cycle: Cycle,
}

impl Operation {
    /// The operation's key in the store and in alert items.
    pub fn id(&self) -> String {
        format!("{}#{}#{}", self.pair, self.log, self.name)
    }
}

/// Period estimates from folded rows, µs, kept as integer sums so the
/// result does not depend on the order batches are analysed in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle {
    pub samples: u64,
    pub sum: u64,
    pub sum_squares: u128,
}

impl Cycle {
    /// A period estimate from a folded row, weighted by the intervals it
    /// spans (`count - 1`), so a row of hundreds of polls outweighs a row
    /// of two whose values happened to repeat.
    pub fn add(&mut self, period: u64, weight: u64) {
        self.samples += weight;
        self.sum = self.sum.saturating_add(period.saturating_mul(weight));
        self.sum_squares = self
            .sum_squares
            .saturating_add(u128::from(period) * u128::from(period) * u128::from(weight));
    }
    /// Mean period, when cyclic.
    pub fn period(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.sum as f64 / self.samples as f64)
    }
    /// Standard deviation of the period estimates.
    pub fn jitter(&self) -> Option<f64> {
        (self.samples > 1).then(|| {
            let n = self.samples as f64;
            let mean = self.sum as f64 / n;
            ((self.sum_squares as f64 - n * mean * mean).max(0.0) / (n - 1.0)).sqrt()
        })
    }
}

/// An attribute change of a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub device: DeviceKey,
    pub ts: Micros,
    pub attribute: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    NewDevice,
    SilentDevice,
    /// A known device uses an IP it has not used before.
    NewAddress,
    /// A known device's IP is now used by another MAC.
    AddressMoved,
    /// One IP answered by two MACs.
    ArpSpoof,
    NewPair,
    /// A known device answers on a port it has not served before.
    NewService,
    /// A new function code, command, service or object on a known pair.
    NewOperation,
    /// A write on a pair and protocol where only reads were seen.
    WriteAfterReads,
    /// A write to an address range the operation has not written before.
    NewWriteRange,
    /// A controller's program, configuration or state changed.
    ControllerChange,
    /// Firmware, model or identity of a known device changed.
    IdentityChange,
    /// Traffic between zones not allowed to talk.
    CrossZone,
    SensorSilent,
    CaptureLoss,
    RecordsLost,
    ClockSkew,
}

impl AlertKind {
    pub const ALL: [AlertKind; 17] = [
        AlertKind::NewDevice,
        AlertKind::SilentDevice,
        AlertKind::NewAddress,
        AlertKind::AddressMoved,
        AlertKind::ArpSpoof,
        AlertKind::NewPair,
        AlertKind::NewService,
        AlertKind::NewOperation,
        AlertKind::WriteAfterReads,
        AlertKind::NewWriteRange,
        AlertKind::ControllerChange,
        AlertKind::IdentityChange,
        AlertKind::CrossZone,
        AlertKind::SensorSilent,
        AlertKind::CaptureLoss,
        AlertKind::RecordsLost,
        AlertKind::ClockSkew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NewDevice => "new_device",
            AlertKind::SilentDevice => "silent_device",
            AlertKind::NewAddress => "new_address",
            AlertKind::AddressMoved => "address_moved",
            AlertKind::ArpSpoof => "arp_spoof",
            AlertKind::NewPair => "new_pair",
            AlertKind::NewService => "new_service",
            AlertKind::NewOperation => "new_operation",
            AlertKind::WriteAfterReads => "write_after_reads",
            AlertKind::NewWriteRange => "new_write_range",
            AlertKind::ControllerChange => "controller_change",
            AlertKind::IdentityChange => "identity_change",
            AlertKind::CrossZone => "cross_zone",
            AlertKind::SensorSilent => "sensor_silent",
            AlertKind::CaptureLoss => "capture_loss",
            AlertKind::RecordsLost => "records_lost",
            AlertKind::ClockSkew => "clock_skew",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Kinds about the sensor itself rather than the plant: never learned
    /// into a baseline.
    pub fn is_sensor_health(self) -> bool {
        matches!(
            self,
            AlertKind::SensorSilent
                | AlertKind::CaptureLoss
                | AlertKind::RecordsLost
                | AlertKind::ClockSkew
        )
    }
}

/// How urgent an alert is; see [`severity`] for the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The severity rule:
/// - critical: what changes a controller's program or stops the process
///   (program download, upload or access, stop, pause, restart, file
///   transfer, communication control) and ARP spoofing;
/// - high: other controller changes (run, process commands, memory
///   writes), writes to new ranges or where only reads were seen, identity
///   and firmware changes, traffic across zones, new devices;
/// - medium: new pairs, services, operations and addresses, a regular
///   device gone silent, and the sensor's health (silent, capture loss,
///   records lost);
/// - low: the sensor's clock skew.
///
/// Critical alerts are raised even inside a maintenance window.
pub fn severity(kind: AlertKind, control: Option<Control>) -> Severity {
    match kind {
        AlertKind::ControllerChange => match control {
            Some(
                Control::ProgramDownload
                | Control::ProgramUpload
                | Control::ProgramAccess
                | Control::Stop
                | Control::Pause
                | Control::Restart
                | Control::FileTransfer
                | Control::CommControl,
            ) => Severity::Critical,
            _ => Severity::High,
        },
        AlertKind::ArpSpoof => Severity::Critical,
        AlertKind::NewWriteRange
        | AlertKind::WriteAfterReads
        | AlertKind::IdentityChange
        | AlertKind::CrossZone
        | AlertKind::NewDevice => Severity::High,
        AlertKind::NewPair
        | AlertKind::NewService
        | AlertKind::NewOperation
        | AlertKind::NewAddress
        | AlertKind::AddressMoved
        | AlertKind::SilentDevice
        | AlertKind::SensorSilent
        | AlertKind::CaptureLoss
        | AlertKind::RecordsLost => Severity::Medium,
        AlertKind::ClockSkew => Severity::Low,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged,
    /// Approved into the baseline: its item raises no more alerts.
    Approved,
    Dismissed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Approved => "approved",
            AlertState::Dismissed => "dismissed",
        }
    }
    pub fn parse(s: &str) -> Option<AlertState> {
        [
            AlertState::Open,
            AlertState::Acknowledged,
            AlertState::Approved,
            AlertState::Dismissed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    /// Open and acknowledged alerts still fold repeats in.
    pub fn is_active(self) -> bool {
        matches!(self, AlertState::Open | AlertState::Acknowledged)
    }
}

/// A record that triggered or repeated an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub log: String,
    pub uid: Option<String>,
    pub ts: Micros,
    /// The sensor that sent it.
    pub sensor: String,
}

/// A state change of an alert, with who and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertAction {
    pub state: AlertState,
    pub by: String,
    pub at: Micros,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Per site, from 1.
    pub id: u64,
    pub site: String,
    pub kind: AlertKind,
    pub severity: Severity,
    /// What the alert is about; repeats of the same item fold into it, and
    /// approving it puts the item in the baseline.
    pub item: String,
    /// A one-line description (English; the console translates the kind).
    pub title: String,
    pub devices: Vec<DeviceKey>,
    /// Details by name (control, operation, zone pair, addresses).
    pub detail: BTreeMap<String, String>,
    pub first_seen: Micros,
    pub last_seen: Micros,
    pub count: u64,
    /// The first records, then the latest ones, at most
    /// [`Alert::MAX_EVIDENCE`].
    pub evidence: Vec<Evidence>,
    pub state: AlertState,
    pub actions: Vec<AlertAction>,
}

impl Alert {
    pub const MAX_EVIDENCE: usize = 16;
}

/// A change of an alert that the store persists and, for `New`, the
/// notifications send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertEvent {
    New(u64),
    Updated(u64),
}
