//! The provisioning station's configuration (`/etc/osect/station.toml`).
//! Unknown keys are errors, like the agent's own configuration.

use crate::modem::net::Apn;
use crate::modem::Timing;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Station {
    /// The fleet registry (SQLite file).
    pub registry: PathBuf,
    /// The PKI directory (device CA, core CA, CRL).
    pub pki: PathBuf,
    pub core: Core,
    pub selftest: Selftest,
    pub collector: Collector,
    pub certificates: Certificates,
    pub modem: ModemConfig,
    pub device: DeviceFiles,
    pub terms: Terms,
}

impl Default for Station {
    fn default() -> Self {
        Station {
            registry: PathBuf::from("/var/lib/osect/registry.sqlite"),
            pki: PathBuf::from("/var/lib/osect/pki"),
            core: Core::default(),
            selftest: Selftest::default(),
            collector: Collector::default(),
            certificates: Certificates::default(),
            modem: ModemConfig::default(),
            device: DeviceFiles::default(),
            terms: Terms::default(),
        }
    }
}

/// The core the devices send to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Core {
    /// `host:port` written to a device at `factory` (uplink stays disabled
    /// until `assign`, which may set a site-specific endpoint).
    pub endpoint: String,
    /// The name in the collector's server certificate.
    pub server_name: String,
}

impl Default for Core {
    fn default() -> Self {
        Core {
            endpoint: String::new(),
            server_name: "collector.osect".into(),
        }
    }
}

/// The factory self-test: the agent sends one batch to a collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Selftest {
    /// The agent binary (`osect-agent selftest --config FILE`).
    pub agent: PathBuf,
    /// The collector the self-test talks to (`host:port`); empty: core.endpoint.
    pub endpoint: String,
    pub timeout_secs: u64,
}

impl Default for Selftest {
    fn default() -> Self {
        Selftest {
            agent: PathBuf::from("osect-agent"),
            endpoint: String::new(),
            timeout_secs: 60,
        }
    }
}

/// How the station reaches the collector's administrative commands.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Collector {
    /// The collector binary (`import`, `delete-site`).
    pub command: PathBuf,
    /// The collector's store directory.
    pub store: PathBuf,
    /// The operator's token for `import` (from `osect-collector operator-add`);
    /// `receive-return --token-file` overrides it.
    pub token_file: PathBuf,
    pub timeout_secs: u64,
    /// The fleet list the collector reads (device, site, customer, state),
    /// rewritten on every change to it; empty: not written.
    pub fleet_list: PathBuf,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            command: PathBuf::from("osect-collector"),
            store: PathBuf::from("/var/lib/osect-collector"),
            token_file: PathBuf::new(),
            timeout_secs: 300,
            fleet_list: PathBuf::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Certificates {
    pub validity_days: u32,
    /// `renew` re-issues a certificate this close to its expiry.
    pub renew_before_days: u32,
    /// The CRL's nextUpdate, from its issue.
    pub crl_valid_hours: u32,
}

impl Default for Certificates {
    fn default() -> Self {
        Certificates {
            validity_days: 825,
            renew_before_days: 60,
            crl_valid_hours: 7 * 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemConfig {
    /// Ttys tried by `--modem auto` and when a modem re-appears elsewhere.
    pub candidates: Vec<String>,
    pub command_timeout_ms: u64,
    pub reappear_timeout_secs: u64,
    pub registration_timeout_secs: u64,
    /// Whether `factory` needs the modem registered on a network.
    pub require_registration: bool,
    /// The SIM PIN, when the SIMs have one.
    pub pin: String,
    pub apn: Apn,
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig {
            candidates: vec!["/dev/ttyUSB*".into(), "/dev/ttyACM*".into()],
            command_timeout_ms: 5000,
            reappear_timeout_secs: 30,
            registration_timeout_secs: 120,
            require_registration: true,
            pin: String::new(),
            apn: Apn {
                apn: "internet".into(),
                auth: Default::default(),
                user: String::new(),
                password: String::new(),
                pdp_type: "IPV4V6".into(),
            },
        }
    }
}

impl ModemConfig {
    pub fn timing(&self) -> Timing {
        Timing {
            command: Duration::from_millis(self.command_timeout_ms.max(100)),
            reappear: Duration::from_secs(self.reappear_timeout_secs),
            registration: Duration::from_secs(self.registration_timeout_secs),
        }
    }
}

/// Ownership of the files written to a device.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceFiles {
    /// The agent's user; the device key and spool are given to it. Empty:
    /// files stay owned by whoever runs the tool.
    pub agent_user: String,
}

/// The terms of service's calendar.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Terms {
    /// The operator's closing days besides weekends and national holidays:
    /// yearly `MM-DD` or `MM-DD..MM-DD` (may wrap the year end), or single
    /// `YYYY-MM-DD` dates.
    pub closing_days: Vec<String>,
}

impl Default for Terms {
    fn default() -> Self {
        Terms {
            closing_days: vec!["12-29..01-03".into()],
        }
    }
}

impl Station {
    pub fn load(path: &Path) -> Result<Station, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read station config {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("station config {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let e = toml::from_str::<Station>("[modem]\napm = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("apm"), "{e}");
        let s: Station =
            toml::from_str("[modem.apn]\napn = \"iot.example\"\nauth = \"chap\"\n").unwrap();
        assert_eq!(s.modem.apn.apn, "iot.example");
        assert_eq!(s.modem.apn.pdp_type, "IPV4V6");
    }
}
