//! Bytes from the wire as log text, the way Zeek keeps them: the bytes are
//! stored as they are (bounded) and the log writer escapes what is not
//! printable. Valid UTF-8 stays UTF-8; any other byte becomes the code point
//! of the same value, so the writer prints control bytes as `\xNN`.

use crate::app::Ctx;

/// The same context with another time: for rows written later than the
/// message that opened them (a DNS query logged when its reply comes).
pub fn at_time<'c, 'b>(ctx: &'c mut Ctx<'_, 'b>, ts: i64) -> Ctx<'c, 'b> {
    Ctx {
        ts,
        flow: ctx.flow.clone(),
        out: ctx.out,
    }
}

/// Longest name (DNS, host, server name) taken into a log field. DNS names
/// are at most 255 bytes on the wire.
pub const MAX_NAME: usize = 255;
/// Longest free-text field (URI, user agent, banner, TXT data).
pub const MAX_TEXT: usize = 1024;

/// `b` as log text, cut at `max` bytes.
pub fn bytes(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// Appends `b` to `out` the way [`bytes`] converts it.
pub fn push_bytes(out: &mut String, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(b.iter().map(|&c| char::from(c))),
    }
}

/// Lower-case hex digits of `b`.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(char::from(DIGITS[usize::from(c >> 4)]));
        s.push(char::from(DIGITS[usize::from(c & 0xf)]));
    }
    s
}

/// Seconds as a double, rounded to the microsecond an interval field holds.
pub fn secs_to_micros(s: f64) -> i64 {
    (s * 1e6).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_utf8_and_maps_other_bytes() {
        assert_eq!(bytes("héllo".as_bytes(), MAX_TEXT), "héllo");
        assert_eq!(bytes(b"a\x00\xffb", MAX_TEXT), "a\u{0}\u{ff}b");
        assert_eq!(bytes(b"abcdef", 3), "abc");
        assert_eq!(hex(&[0, 0xab, 0x5f, 0xf0]), "00ab5ff0");
        assert_eq!(secs_to_micros(0.000_000_953_674), 1);
    }
}
