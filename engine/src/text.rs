//! Text for logs, in one place. Bytes from the wire as log text, the way
//! Zeek keeps them: the bytes are stored as they are (bounded) and the log
//! writer escapes what is not printable. Valid UTF-8 stays UTF-8 ([`bytes`]);
//! any other byte becomes the code point of the same value, so the writer
//! prints control bytes as `\xNN` ([`escape_bytes`], [`wire_text`] for
//! fixed-width industrial strings). Codes as hex ([`hex`], [`hex_bytes`]).

use osect_wire::Text;

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
pub fn hex_bytes(b: &[u8]) -> String {
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

/// Longest string taken from the wire into a log field.
pub const MAX_FIELD_TEXT: usize = 256;

/// Text from the wire for a log: trailing NULs and spaces dropped, one
/// character per byte (see [`escape_bytes`]), at most [`MAX_FIELD_TEXT`]
/// bytes of input.
pub fn wire_text(b: &[u8]) -> String {
    let b = &b[..b.len().min(MAX_FIELD_TEXT)];
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map_or(0, |i| i + 1);
    escape_bytes(&b[..end])
}

/// A code as `0x` and `digits` lower-case hex digits (`0x0a`), the ICSNPP
/// spelling.
pub fn hex(v: u64, digits: usize) -> Text {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // "0x" and up to 16 digits: kept inline in the Text, no allocation.
    let mut s = [b'0'; 18];
    let mut i = s.len();
    let mut n = v;
    loop {
        i -= 1;
        s[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 && s.len() - i >= digits.min(16) {
            break;
        }
    }
    i -= 2;
    s[i + 1] = b'x';
    ascii(&s[i..])
}

/// Bytes from the wire as a string of one character per byte (Latin-1),
/// at most [`MAX_FIELD_TEXT`] of them: the log writer then escapes control
/// bytes as `\xNN`, as Zeek prints a binary string.
pub fn escape_bytes(b: &[u8]) -> String {
    b[..b.len().min(MAX_FIELD_TEXT)]
        .iter()
        .map(|&c| char::from(c))
        .collect()
}

/// A domain name in DNS wire form, uncompressed (DHCP's client FQDN, DHCPv6's
/// FQDN option), as dotted text: labels up to the root label or the first
/// label that runs past the end.
pub fn dotted_name(mut b: &[u8]) -> String {
    let mut out = Vec::new();
    while let Some((&l, rest)) = b.split_first() {
        let Some(label) = rest.get(..usize::from(l)).filter(|_| l != 0) else {
            break;
        };
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(label);
        b = &rest[usize::from(l)..];
    }
    bytes(&out, MAX_NAME)
}

/// Text of bytes a formatter wrote from ASCII tables (uids, MACs, hex): the
/// ASCII check is a few word operations, where UTF-8 validation is a loop.
/// Bytes that are not ASCII give an empty text.
pub fn ascii(b: &[u8]) -> Text {
    if !b.is_ascii() {
        return Text::default();
    }
    // SAFETY: ASCII bytes are valid UTF-8.
    unsafe { Text::from_utf8_unchecked(b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_utf8_and_maps_other_bytes() {
        assert_eq!(bytes("héllo".as_bytes(), MAX_TEXT), "héllo");
        assert_eq!(bytes(b"a\x00\xffb", MAX_TEXT), "a\u{0}\u{ff}b");
        assert_eq!(bytes(b"abcdef", 3), "abc");
        assert_eq!(hex_bytes(&[0, 0xab, 0x5f, 0xf0]), "00ab5ff0");
        assert_eq!(secs_to_micros(0.000_000_953_674), 1);
    }

    #[test]
    fn wire_text_trims_and_escapes() {
        assert_eq!(wire_text(b"CPU 315-2 PN/DP\0\0\0"), "CPU 315-2 PN/DP");
        assert_eq!(wire_text(b"a\x01b\\  "), "a\u{1}b\\");
        assert_eq!(wire_text(&[b'x'; 1000]).len(), MAX_FIELD_TEXT);
    }

    #[test]
    fn dotted_name_reads_labels_to_the_root() {
        assert_eq!(dotted_name(b"\x03plc\x04site\x00"), "plc.site");
        assert_eq!(dotted_name(b"\x03plc\x04site"), "plc.site");
        assert_eq!(dotted_name(b"\x03plc\x09cut"), "plc");
        assert_eq!(dotted_name(b"\x00\x03plc"), "");
        assert_eq!(dotted_name(b""), "");
    }

    #[test]
    fn hex_pads_to_its_digits() {
        assert_eq!(hex(10, 2), "0x0a");
        for (v, d) in [(0, 0), (0, 4), (0x1234, 2), (u64::MAX, 4), (7, 16)] {
            assert_eq!(hex(v, d), format!("0x{v:0d$x}"), "hex({v}, {d})");
        }
    }
}
