//! The sinks file (`--notify FILE`, TOML). Every sink has a name, unique in
//! the file: deliveries are recorded per sink name, so renaming a sink makes
//! it a new sink that starts with the notifications queued from then on.
//!
//! ```toml
//! [[webhook]]
//! name = "soc"
//! url = "https://soc.example.net/osect"
//! secret_file = "/etc/osect/webhook.secret"   # HMAC-SHA256 key
//! timeout_ms = 10000
//! ca_file = "/etc/osect/soc-ca.pem"            # optional, beside the public roots
//!
//! [[syslog]]
//! name = "siem"
//! address = "siem.example.net:601"
//! transport = "tcp"                           # or "udp"
//! facility = "local4"
//! app_name = "osect"
//!
//! [delivery]                                  # all optional
//! initial_backoff_ms = 1000
//! max_backoff_ms = 300000
//! give_up_after_secs = 259200
//! batch = 100
//! poll_ms = 1000
//! ```

use super::NotifyError;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
    #[serde(default)]
    pub syslog: Vec<SyslogConfig>,
    #[serde(default)]
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    /// `http://` or `https://`; redirects are not followed.
    pub url: String,
    /// A file holding the shared secret (surrounding whitespace ignored).
    pub secret_file: PathBuf,
    /// Time for one attempt: connect, send, response headers.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// CA certificates (PEM) an `https://` receiver may chain to besides
    /// the public roots, for a receiver under a private CA.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    pub name: String,
    /// `host:port`, resolved at each connection.
    pub address: String,
    pub transport: Transport,
    /// A name (`kern`, `user`, ..., `local0` to `local7`) or a number 0-23.
    #[serde(default = "default_facility")]
    pub facility: Facility,
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// HOSTNAME field; the machine's host name when absent.
    pub hostname: Option<String>,
    /// The SD-ID of the structured data element (`name@enterprise-number`);
    /// the default uses the documentation number of RFC 5612, so an operator
    /// with an IANA enterprise number should set its own.
    #[serde(default = "default_sd_id")]
    pub sd_id: String,
    /// Largest message sent; the text after the structured data is cut to
    /// fit (RFC 5426 receivers must take 480 bytes and should take 2048).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Time for one attempt: connect and write.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    /// Octet-counting framing (RFC 6587 section 3.4.1).
    Tcp,
}

/// A syslog facility code (0-23).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "FacilitySpec")]
pub struct Facility(pub u8);

#[derive(Deserialize)]
#[serde(untagged)]
enum FacilitySpec {
    Code(i64),
    Name(String),
}

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl TryFrom<FacilitySpec> for Facility {
    type Error = String;
    fn try_from(s: FacilitySpec) -> Result<Self, String> {
        match s {
            FacilitySpec::Code(c) => u8::try_from(c)
                .ok()
                .filter(|c| usize::from(*c) < FACILITIES.len())
                .map(Facility)
                .ok_or_else(|| format!("facility {c} is not 0 to 23")),
            FacilitySpec::Name(n) => FACILITIES
                .iter()
                .position(|f| f.eq_ignore_ascii_case(&n))
                .and_then(|i| u8::try_from(i).ok())
                .map(Facility)
                .ok_or_else(|| format!("facility {n:?} is not one of {}", FACILITIES.join(", "))),
        }
    }
}

/// Retry and pacing, shared by every sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Wait after the first failed attempt; doubled after each further one.
    pub initial_backoff_ms: u64,
    /// The longest wait between two attempts.
    pub max_backoff_ms: u64,
    /// A notification not accepted this long after it was queued is marked
    /// failed and no longer tried.
    pub give_up_after_secs: u64,
    /// Most notifications one sink is sent per round.
    pub batch: u32,
    /// Pause between rounds when a sink has nothing due.
    pub poll_ms: u64,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            initial_backoff_ms: 1000,
            max_backoff_ms: 300_000,
            give_up_after_secs: 3 * 86_400,
            batch: 100,
            poll_ms: 1000,
        }
    }
}

fn default_timeout_ms() -> u64 {
    10_000
}
fn default_facility() -> Facility {
    Facility(16)
}
fn default_app_name() -> String {
    "osect-collector".into()
}
fn default_sd_id() -> String {
    "osect@32473".into()
}
fn default_max_message_bytes() -> usize {
    2048
}

/// Sink names are stored with each delivery and shown by `outbox`.
const MAX_NAME_CHARS: usize = 64;

impl Config {
    /// Reads and checks a sinks file.
    pub fn load(path: &Path) -> Result<Config, NotifyError> {
        let fail = |message: String| NotifyError::Config {
            file: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let config: Config = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        config.check().map_err(fail)?;
        Ok(config)
    }

    /// Every sink's name, webhooks first.
    pub fn sink_names(&self) -> Vec<&str> {
        let w = self.webhook.iter().map(|w| w.name.as_str());
        w.chain(self.syslog.iter().map(|s| s.name.as_str()))
            .collect()
    }

    fn check(&self) -> Result<(), String> {
        let names = self.sink_names();
        if names.is_empty() {
            return Err("no sink: add a [[webhook]] or a [[syslog]] table".into());
        }
        let mut seen = HashSet::new();
        for n in &names {
            if n.is_empty() || n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control)
            {
                return Err(format!(
                    "sink name {n:?}: 1 to {MAX_NAME_CHARS} characters, no control characters"
                ));
            }
            if !seen.insert(*n) {
                return Err(format!("sink name {n:?} is used twice"));
            }
        }
        for w in &self.webhook {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err(format!(
                    "webhook {}: url {:?} is not http:// or https://",
                    w.name, w.url
                ));
            }
        }
        for s in &self.syslog {
            if !valid_sd_name(&s.sd_id) || !s.sd_id.contains('@') {
                return Err(format!(
                    "syslog {}: sd_id {:?} is not name@enterprise-number in printable ASCII \
                     (at most 32 characters, no '=', ' ', ']' or '\"')",
                    s.name, s.sd_id
                ));
            }
            if s.max_message_bytes < 480 {
                return Err(format!(
                    "syslog {}: max_message_bytes {} is below the 480 every receiver takes",
                    s.name, s.max_message_bytes
                ));
            }
        }
        let d = &self.delivery;
        if d.batch == 0 || d.initial_backoff_ms == 0 || d.max_backoff_ms < d.initial_backoff_ms {
            return Err(
                "delivery: batch and initial_backoff_ms must be above 0 and max_backoff_ms at \
                 least initial_backoff_ms"
                    .into(),
            );
        }
        if d.give_up_after_secs.saturating_mul(1_000_000) >= super::RETAIN_US as u64 {
            return Err(format!(
                "delivery: give_up_after_secs must be below the outbox's retention of {} s",
                super::RETAIN_US / 1_000_000
            ));
        }
        Ok(())
    }
}

/// SD-NAME of RFC 5424: 1 to 32 printable ASCII characters except `=`,
/// space, `]` and `"`.
pub(super) fn valid_sd_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
}
