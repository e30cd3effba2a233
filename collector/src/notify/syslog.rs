//! The syslog sink: one RFC 5424 message per notification, over UDP
//! (RFC 5426, one message per datagram) or TCP with octet-counting framing
//! (RFC 6587: `<length> <message>`). Accepted means sent for UDP, written
//! for TCP; the TCP connection is kept and opened again when the receiver
//! has closed it.
//!
//! The message: PRI from the facility and the alert's severity, version 1,
//! the time the notification was queued, HOSTNAME, APP-NAME, the process
//! id, the alert kind as MSGID, one structured data element with the site,
//! alert id, event, delivery id, kind, severity, count, first and last seen
//! (RFC 3339 when the payload has them in µs) and the devices, then the
//! title as UTF-8 text after a byte order mark.

use super::config::{SyslogConfig, Transport};
use super::{Notification, NotifyError};
use serde_json::Value;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

/// Structured data values longer than this are cut (each device is one value).
const MAX_SD_VALUE_BYTES: usize = 256;
/// At most this many devices are named in the structured data.
const MAX_SD_DEVICES: usize = 16;
const BOM: &str = "\u{feff}";
/// Devices are left out of a message that would leave less room than this
/// for its text.
const MIN_TEXT_BYTES: usize = 128;

#[derive(Debug)]
pub struct Syslog {
    name: String,
    address: String,
    transport: Transport,
    facility: u8,
    app_name: String,
    hostname: String,
    sd_id: String,
    max_message_bytes: usize,
    timeout: Duration,
    tcp: Option<TcpStream>,
}

impl Syslog {
    pub fn new(c: &SyslogConfig) -> Result<Syslog, NotifyError> {
        let hostname = match &c.hostname {
            Some(h) => h.clone(),
            None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
        };
        Ok(Syslog {
            name: c.name.clone(),
            address: c.address.clone(),
            transport: c.transport,
            facility: c.facility.0,
            app_name: c.app_name.clone(),
            hostname,
            sd_id: c.sd_id.clone(),
            max_message_bytes: c.max_message_bytes,
            timeout: Duration::from_millis(c.timeout_ms),
            tcp: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One attempt; `Err` says why the message was not sent.
    pub async fn send(&mut self, n: &Notification) -> Result<(), String> {
        let msg = self.message(n);
        let sent = tokio::time::timeout(self.timeout, self.transmit(&msg)).await;
        let result = match sent {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} ms", self.timeout.as_millis())),
        };
        result.map_err(|e| {
            // A half-written frame would misalign the next one.
            self.tcp = None;
            format!("syslog {} {}: {e}", self.transport_name(), self.address)
        })
    }

    fn transport_name(&self) -> &'static str {
        match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }

    async fn transmit(&mut self, msg: &[u8]) -> Result<(), String> {
        match self.transport {
            Transport::Udp => {
                let to = tokio::net::lookup_host(&self.address)
                    .await
                    .map_err(|e| e.to_string())?
                    .next()
                    .ok_or("the name resolves to no address")?;
                let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
                let n = sock.send_to(msg, to).await.map_err(|e| e.to_string())?;
                if n == msg.len() {
                    Ok(())
                } else {
                    Err(format!("sent {n} of {} bytes", msg.len()))
                }
            }
            Transport::Tcp => {
                let stream = match self.tcp.take().filter(still_open) {
                    Some(s) => s,
                    None => TcpStream::connect(&self.address)
                        .await
                        .map_err(|e| e.to_string())?,
                };
                let stream = self.tcp.insert(stream);
                let mut frame = format!("{} ", msg.len()).into_bytes();
                frame.extend_from_slice(msg);
                stream.write_all(&frame).await.map_err(|e| e.to_string())?;
                stream.flush().await.map_err(|e| e.to_string())
            }
        }
    }

    /// The RFC 5424 message for `n`, at most `max_message_bytes` long.
    pub fn message(&self, n: &Notification) -> Vec<u8> {
        let p = &n.payload;
        let severity = p.get("severity").and_then(scalar);
        let kind = p.get("kind").and_then(scalar);
        let header = format!(
            "<{}>1 {} {} {} {} {} ",
            u16::from(self.facility) * 8 + u16::from(syslog_severity(severity.as_deref())),
            super::rfc3339(n.created_us),
            header_field(&self.hostname, 255),
            header_field(&self.app_name, 48),
            std::process::id(),
            header_field(kind.as_deref().unwrap_or("alert"), 32),
        );
        let mut params: Vec<(&str, String)> = vec![
            ("site", n.site.clone()),
            ("alert", n.alert_id.to_string()),
            ("event", n.event.clone()),
            ("delivery", n.delivery_id.clone()),
        ];
        for name in ["kind", "severity", "count"] {
            if let Some(v) = p.get(name).and_then(scalar) {
                params.push((name, v));
            }
        }
        // The analysis's times are µs since the epoch; a receiver reads RFC 3339.
        for name in ["first_seen", "last_seen"] {
            let v = p.get(name);
            if let Some(t) = v.and_then(Value::as_i64).map(super::rfc3339) {
                params.push((name, t));
            } else if let Some(v) = v.and_then(scalar) {
                params.push((name, v));
            }
        }
        let fixed = params.len();
        if let Some(devices) = p.get("devices").and_then(Value::as_array) {
            for d in devices.iter().take(MAX_SD_DEVICES) {
                params.push(("device", scalar(d).unwrap_or_else(|| d.to_string())));
            }
        }
        let title = p
            .get("title")
            .and_then(scalar)
            .unwrap_or_else(|| format!("alert {} of site {}", n.alert_id, n.site));
        // Devices are left out, last first, until the title has room (up
        // to MIN_TEXT_BYTES of it).
        let text_room = (1 + BOM.len() + title.len()).min(MIN_TEXT_BYTES);
        let mut sd = structured_data(&self.sd_id, &params);
        let max = self.max_message_bytes;
        while header.len() + sd.len() + text_room > max && params.len() > fixed {
            params.pop();
            sd = structured_data(&self.sd_id, &params);
        }
        let mut out = header + &sd;
        let room = self
            .max_message_bytes
            .saturating_sub(out.len() + 1 + BOM.len());
        if room > 0 {
            out.push(' ');
            out.push_str(BOM);
            out.push_str(cut(&title, room));
        }
        out.into_bytes()
    }
}

/// A reused connection the receiver has closed would swallow the next
/// write: a receiver never sends, so a readable socket means it closed.
fn still_open(s: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    match s.try_read(&mut probe) {
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        Ok(_) => false,
    }
}

/// Alert severities (`critical`, `high`, `medium`, `low`, `info`) as syslog
/// severities 2 (critical) to 6 (informational); anything else is 4
/// (warning).
fn syslog_severity(s: Option<&str>) -> u8 {
    match s.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => 2,
        Some("high") => 3,
        Some("medium") => 4,
        Some("low") => 5,
        Some("info" | "informational") => 6,
        _ => 4,
    }
}

/// A JSON string or number as text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A header field: printable ASCII without spaces, at most `max` bytes;
/// `-` (the nil value) when nothing is left.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

fn structured_data(sd_id: &str, params: &[(&str, String)]) -> String {
    let mut sd = format!("[{sd_id}");
    for (name, value) in params {
        sd.push(' ');
        sd.push_str(name);
        sd.push_str("=\"");
        sd.push_str(&escape_sd_value(cut(value, MAX_SD_VALUE_BYTES)));
        sd.push('"');
    }
    sd.push(']');
    sd
}

/// RFC 5424 section 6.3.3: `"`, `\` and `]` are escaped with a backslash.
fn escape_sd_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes ending on a character.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
