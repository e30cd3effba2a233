//! Syslog messages (RFC 3164 and RFC 5424) and TCP framing (RFC 6587).

/// `<PRI>` and the text, PRI from the facility and severity.
pub fn message(facility: u8, severity: u8, text: &str) -> Vec<u8> {
    format!("<{}>{text}", u16::from(facility) * 8 + u16::from(severity)).into_bytes()
}

/// An octet-counted TCP frame (RFC 6587 3.4.1).
pub fn octet_counted(msg: &[u8]) -> Vec<u8> {
    let mut v = format!("{} ", msg.len()).into_bytes();
    v.extend_from_slice(msg);
    v
}
