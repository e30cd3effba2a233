//! A site's analysis settings: learning period, zones, maintenance windows
//! and the sensor health thresholds.

use crate::model::{Micros, DAY, MINUTE};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A zone: the subnets and VLANs it is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    pub subnets: Vec<Subnet>,
    pub vlans: Vec<u64>,
}

/// An IPv4 or IPv6 prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub addr: IpAddr,
    pub prefix: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("subnet {0:?}: expected ADDRESS/PREFIX, like 192.168.10.0/24")]
    Subnet(String),
    #[error("zone name {0:?}: use 1 to 64 letters, digits, '.', '_' or '-'")]
    ZoneName(String),
    #[error("zone {0:?} is not defined")]
    UnknownZone(String),
    #[error("maintenance window ends ({end}) before it starts ({start})")]
    Window { start: Micros, end: Micros },
    #[error("learning period of {0} s: must be between 1 s and 365 days")]
    Learning(i64),
    #[error("{0} zones: at most {max}", max = MAX_ZONES)]
    TooManyZones(usize),
}

/// Zones per site.
pub const MAX_ZONES: usize = 256;
/// Maintenance windows kept per site (the oldest are dropped).
pub const MAX_WINDOWS: usize = 1024;

impl Subnet {
    pub fn parse(s: &str) -> Result<Subnet, ConfigError> {
        let bad = || ConfigError::Subnet(s.to_owned());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let prefix: u8 = p.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Subnet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A maintenance window: new items are learned, not alerted (critical
/// kinds still alert).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: Micros,
    pub end: Micros,
    pub note: String,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteConfig {
    /// Length of the learning period.
    pub learning: Micros,
    /// When learning (re)started; `None` until the site's first record.
    pub learning_start: Option<Micros>,
    pub zones: Vec<Zone>,
    /// Zone pairs allowed to talk (either direction). Traffic between two
    /// different zones not listed here alerts; with no zones, nothing does.
    pub allowed: Vec<(String, String)>,
    pub maintenance: Vec<Window>,
    /// The site's offset from UTC, for days (diffs, coverage) and display.
    pub utc_offset_secs: i32,
    /// The site's time zone name, for display.
    pub time_zone: String,
    /// Kernel drops above this share of packets (per mille) alert.
    pub capture_loss_per_mille: u64,
    /// A sensor with no batch for this long is silent.
    pub sensor_silent_after: Micros,
    /// A batch more than this far in the future of its arrival, or this old
    /// with nothing waiting in the sensor's spool, shows a skewed clock.
    pub clock_skew: Micros,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            learning: 7 * DAY,
            learning_start: None,
            zones: Vec::new(),
            allowed: Vec::new(),
            maintenance: Vec::new(),
            utc_offset_secs: 9 * 3600,
            time_zone: "Asia/Tokyo".to_owned(),
            capture_loss_per_mille: 10,
            sensor_silent_after: 10 * MINUTE,
            clock_skew: 5 * MINUTE,
        }
    }
}

/// Zone names follow the fleet's rule for names.
pub use osect_wire::name::valid_name;

impl SiteConfig {
    pub fn set_learning(&mut self, secs: i64) -> Result<(), ConfigError> {
        if !(1..=365 * 86_400).contains(&secs) {
            return Err(ConfigError::Learning(secs));
        }
        self.learning = secs * 1_000_000;
        Ok(())
    }

    /// Adds or replaces a zone.
    pub fn set_zone(&mut self, zone: Zone) -> Result<(), ConfigError> {
        if !valid_name(&zone.name) {
            return Err(ConfigError::ZoneName(zone.name));
        }
        if let Some(z) = self.zones.iter_mut().find(|z| z.name == zone.name) {
            *z = zone;
        } else if self.zones.len() >= MAX_ZONES {
            return Err(ConfigError::TooManyZones(self.zones.len() + 1));
        } else {
            self.zones.push(zone);
        }
        Ok(())
    }

    pub fn remove_zone(&mut self, name: &str) -> Result<(), ConfigError> {
        let before = self.zones.len();
        self.zones.retain(|z| z.name != name);
        if self.zones.len() == before {
            return Err(ConfigError::UnknownZone(name.to_owned()));
        }
        self.allowed.retain(|(a, b)| a != name && b != name);
        Ok(())
    }

    pub fn allow(&mut self, a: &str, b: &str) -> Result<(), ConfigError> {
        for z in [a, b] {
            if !self.zones.iter().any(|x| x.name == z) {
                return Err(ConfigError::UnknownZone(z.to_owned()));
            }
        }
        if !self.is_allowed(a, b) {
            self.allowed.push((a.to_owned(), b.to_owned()));
        }
        Ok(())
    }

    pub fn add_window(&mut self, w: Window) -> Result<(), ConfigError> {
        if w.end <= w.start {
            return Err(ConfigError::Window {
                start: w.start,
                end: w.end,
            });
        }
        if self.maintenance.len() >= MAX_WINDOWS {
            self.maintenance.remove(0);
        }
        self.maintenance.push(w);
        Ok(())
    }

    pub fn is_allowed(&self, a: &str, b: &str) -> bool {
        a == b
            || self
                .allowed
                .iter()
                .any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    }

    /// The zone of an address (the longest matching prefix), else of its VLAN.
    pub fn zone_of(&self, ip: Option<IpAddr>, vlan: Option<u64>) -> Option<&str> {
        let by_ip = ip.and_then(|ip| {
            self.zones
                .iter()
                .flat_map(|z| z.subnets.iter().map(move |s| (z, s)))
                .filter(|(_, s)| s.contains(ip))
                .max_by_key(|(_, s)| s.prefix)
                .map(|(z, _)| z.name.as_str())
        });
        by_ip.or_else(|| {
            vlan.and_then(|v| {
                self.zones
                    .iter()
                    .find(|z| z.vlans.contains(&v))
                    .map(|z| z.name.as_str())
            })
        })
    }

    pub fn in_maintenance(&self, ts: Micros) -> bool {
        self.maintenance.iter().any(|w| ts >= w.start && ts < w.end)
    }

    /// The end of learning, once it has started.
    pub fn learning_end(&self) -> Option<Micros> {
        self.learning_start.map(|s| s.saturating_add(self.learning))
    }

    pub fn is_learning(&self, ts: Micros) -> bool {
        self.learning_end().is_none_or(|end| ts < end)
    }

    /// The day number of a time in the site's time zone.
    pub fn day_of(&self, ts: Micros) -> i64 {
        (ts + i64::from(self.utc_offset_secs) * 1_000_000).div_euclid(DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_match_by_prefix_and_zones_by_longest_prefix_then_vlan() {
        let mut c = SiteConfig::default();
        let zone = |name: &str, subnets: &[&str], vlans: &[u64]| Zone {
            name: name.to_owned(),
            subnets: subnets.iter().map(|s| Subnet::parse(s).unwrap()).collect(),
            vlans: vlans.to_vec(),
        };
        c.set_zone(zone("plant", &["192.168.0.0/16"], &[])).unwrap();
        c.set_zone(zone("control", &["192.168.10.0/24"], &[10]))
            .unwrap();
        c.set_zone(zone("v6", &["fd00::/8"], &[30])).unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(c.zone_of(ip("192.168.10.7"), None), Some("control"));
        assert_eq!(c.zone_of(ip("192.168.20.7"), None), Some("plant"));
        assert_eq!(c.zone_of(ip("10.0.0.1"), Some(10)), Some("control"));
        assert_eq!(c.zone_of(ip("fd12::1"), None), Some("v6"));
        assert_eq!(c.zone_of(ip("10.0.0.1"), None), None);
        assert!(c.allow("plant", "nowhere").is_err());
        c.allow("plant", "control").unwrap();
        assert!(c.is_allowed("control", "plant"));
        assert!(!c.is_allowed("control", "v6"));
        assert_eq!(
            Subnet::parse("192.168.1.0/33"),
            Err(ConfigError::Subnet("192.168.1.0/33".into()))
        );
        assert!(Subnet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(c.set_zone(zone("../x", &[], &[])).is_err());
    }

    #[test]
    fn days_are_counted_in_the_site_time_zone() {
        let c = SiteConfig::default();
        // 2026-01-05 15:00 UTC is 2026-01-06 00:00 in Tokyo.
        let t = 1_767_625_200_000_000;
        assert_eq!(c.day_of(t) - c.day_of(t - 1), 1);
    }
}
