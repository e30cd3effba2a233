//! The agent's TOML configuration. Every section and key is checked: an
//! unknown key or a value of the wrong type is an error naming the key.

pub use osect_engine::limits::Limits;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub device: Device,
    pub capture: Capture,
    pub limits: Limits,
    pub batch: Batch,
    pub spool: Spool,
    pub uplink: Uplink,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Device {
    /// The device serial; equals the certificate's subject CN.
    pub id: String,
    /// The customer site the device serves, when assigned.
    pub site: Option<String>,
    pub labels: Vec<String>,
    /// The persistent data partition.
    pub data_dir: PathBuf,
}

impl Default for Device {
    fn default() -> Self {
        Device {
            id: "unprovisioned".into(),
            site: None,
            labels: Vec::new(),
            data_dir: PathBuf::from("/data"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capture {
    /// The mirror-port interface.
    pub interface: String,
    /// TPACKET_V3 block size in bytes (a multiple of the page size).
    pub block_size: u32,
    pub block_count: u32,
    /// Largest frame kept; longer frames are truncated by the kernel.
    pub frame_size: u32,
    /// How long the kernel may hold a partly filled block.
    pub block_timeout_ms: u32,
    pub promiscuous: bool,
    /// Workers sharing the interface through PACKET_FANOUT (1: no fanout).
    pub fanout_workers: u16,
    /// Analyse packets with bad checksums too (Zeek's `-C`).
    pub ignore_checksums: bool,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            interface: "eth1".into(),
            block_size: 1 << 20,
            block_count: 64,
            frame_size: 2048,
            block_timeout_ms: 100,
            promiscuous: true,
            fanout_workers: 1,
            ignore_checksums: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Batch {
    pub interval_secs: u64,
    pub zstd_level: i32,
    /// Aggregate cyclic industrial operations per interval on the uplink.
    pub aggregate: bool,
    /// The zstd dictionary for batch bodies (`osect_wire::batch::DICTIONARIES`);
    /// 0 compresses without one.
    pub dictionary: u32,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            interval_secs: 60,
            zstd_level: 9,
            aggregate: true,
            dictionary: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Spool {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub max_age_secs: u64,
}

impl Default for Spool {
    fn default() -> Self {
        Spool {
            dir: PathBuf::from("/data/spool"),
            max_bytes: 1 << 30,
            max_age_secs: 30 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Uplink {
    pub enabled: bool,
    /// `host:port` of the collector.
    pub endpoint: String,
    /// The name in the collector's certificate.
    pub server_name: String,
    /// The core's CA certificate (pinned: nothing else is trusted).
    pub ca: PathBuf,
    /// The device's certificate and private key (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Bytes per second sent at most; 0 means no limit.
    pub rate_limit_bytes_per_sec: u64,
    /// Bytes per calendar month sent at most; 0 means no cap.
    pub monthly_cap_bytes: u64,
    pub keepalive_secs: u64,
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    /// Send each batch as a delta on the last one the collector
    /// acknowledged (format version 2) when that is smaller; `false` sends
    /// every batch in full.
    pub delta: bool,
}

impl Default for Uplink {
    fn default() -> Self {
        Uplink {
            enabled: false,
            endpoint: String::new(),
            server_name: "collector.osect".into(),
            ca: PathBuf::from("/data/identity/core-ca.crt"),
            cert: PathBuf::from("/data/identity/device.crt"),
            key: PathBuf::from("/data/identity/device.key"),
            rate_limit_bytes_per_sec: 0,
            monthly_cap_bytes: 0,
            keepalive_secs: 15,
            backoff_min_ms: 500,
            backoff_max_ms: 60_000,
            delta: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key or a bad value.
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        let c = &self.capture;
        if c.block_size == 0 || !c.block_size.is_multiple_of(4096) {
            return Err(format!(
                "capture.block_size = {}: must be a positive multiple of 4096",
                c.block_size
            ));
        }
        if c.frame_size < 128 || c.frame_size > c.block_size {
            return Err(format!(
                "capture.frame_size = {}: must be between 128 and capture.block_size",
                c.frame_size
            ));
        }
        if c.block_count == 0 {
            return Err("capture.block_count must be at least 1".into());
        }
        if c.fanout_workers == 0 {
            return Err("capture.fanout_workers must be at least 1".into());
        }
        if self.limits.connections == 0 {
            return Err("limits.connections must be at least 1".into());
        }
        if self.batch.interval_secs == 0 {
            return Err("batch.interval_secs must be at least 1".into());
        }
        if !(1..=22).contains(&self.batch.zstd_level) {
            return Err(format!(
                "batch.zstd_level = {}: must be between 1 and 22",
                self.batch.zstd_level
            ));
        }
        if self.batch.dictionary != 0
            && osect_wire::batch::dictionary(self.batch.dictionary).is_none()
        {
            return Err(format!(
                "batch.dictionary = {}: unknown (0 for none, or one of {:?})",
                self.batch.dictionary,
                osect_wire::batch::DICTIONARIES
                    .iter()
                    .map(|d| d.id)
                    .collect::<Vec<_>>()
            ));
        }
        if self.uplink.enabled && self.uplink.endpoint.is_empty() {
            return Err("uplink.endpoint is required when uplink.enabled = true".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[capture]\ninterfac = \"eth0\"\n").unwrap_err();
        assert!(e.contains("interfac"), "{e}");
    }

    #[test]
    fn bad_value_is_named() {
        let e = Config::parse("[capture]\nblock_size = 1000\n").unwrap_err();
        assert!(e.contains("capture.block_size"), "{e}");
        let e = Config::parse("[batch]\ninterval_secs = \"x\"\n").unwrap_err();
        assert!(e.contains("interval_secs"), "{e}");
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.batch.interval_secs, 60);
        assert_eq!(c.limits.connections, 1_000_000);
    }
}
