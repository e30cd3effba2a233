//! Zeek's ASCII log format (TSV with `#` header lines) and JSON lines.

use crate::record::{FieldType, LogSchema, Record, Text, Value};
use std::fmt::Write as _;
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Tsv,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tsv" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?}: expected tsv or json")),
        }
    }
}

/// Rows are formatted straight into the writer's buffer, handed to the
/// output once it holds this much.
const WRITE_CHUNK: usize = 1 << 16;

/// Writes the rows of one log to `out`, header first (TSV) or as one JSON
/// object per line. `open_ts` is the `#open` time in microseconds. The writer
/// buffers itself: `out` needs no `BufWriter`, and [`LogWriter::close`]
/// writes what is buffered.
pub struct LogWriter<W: Write> {
    out: W,
    schema: &'static LogSchema,
    format: Format,
    buf: Vec<u8>,
}

impl<W: Write> LogWriter<W> {
    pub fn new(
        mut out: W,
        schema: &'static LogSchema,
        format: Format,
        open_ts: i64,
    ) -> io::Result<Self> {
        if format == Format::Tsv {
            let mut h = String::new();
            h.push_str(
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
            );
            let _ = writeln!(h, "#path\t{}", schema.path);
            let _ = writeln!(h, "#open\t{}", zeek_date(open_ts));
            h.push_str("#fields");
            for f in schema.fields {
                h.push('\t');
                h.push_str(f.name);
            }
            h.push_str("\n#types");
            for f in schema.fields {
                h.push('\t');
                h.push_str(f.ty.zeek_name());
            }
            h.push('\n');
            out.write_all(h.as_bytes())?;
        }
        Ok(LogWriter {
            out,
            schema,
            format,
            buf: Vec::with_capacity(WRITE_CHUNK + 4096),
        })
    }

    pub fn write(&mut self, rec: &Record) -> io::Result<()> {
        match self.format {
            Format::Tsv => tsv_row_bytes(&mut self.buf, rec),
            Format::Json => json_row_bytes(&mut self.buf, rec),
        }
        if self.buf.len() >= WRITE_CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes what is buffered and the `#close` line (TSV), and flushes.
    pub fn close(mut self, close_ts: i64) -> io::Result<W> {
        if self.format == Format::Tsv {
            writeln!(self.buf, "#close\t{}", zeek_date(close_ts))?;
        }
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }

    pub fn schema(&self) -> &'static LogSchema {
        self.schema
    }
}

/// `YYYY-MM-DD-HH-MM-SS` in UTC, as Zeek writes `#open`/`#close`.
fn zeek_date(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Log rows are formatted into bytes: every piece is ASCII or comes from a
/// `&str`, so a row is valid UTF-8 without checking each digit written.
type Buf = Vec<u8>;

/// Microseconds as Zeek's fixed six-decimal seconds.
fn fmt_micros(out: &mut Buf, us: i64) {
    let a = us.unsigned_abs();
    let secs = a / 1_000_000;
    let f = (a % 1_000_000) as usize;
    let sign = usize::from(us < 0);
    let int = digit_count(secs);
    // Sign, up to 20 digits of seconds, the point and six decimals.
    let (at, b) = room::<28>(out);
    b[0] = b'-';
    digits_before(secs, b, sign + int);
    b[sign + int] = b'.';
    for (k, p) in [f / 10_000, f / 100 % 100, f % 100].into_iter().enumerate() {
        let d = sign + int + 1 + 2 * k;
        b[d..d + 2].copy_from_slice(&PAIRS[p * 2..p * 2 + 2]);
    }
    out.truncate(at + sign + int + 7);
}

/// `N` bytes of room at the end of `out`, and where they start. Values are
/// built where they stay: built on the stack, their pieces (stores of a
/// few bytes) would be read back as wider words to copy them out, which
/// the CPU cannot forward from the stores and waits for; and a copy of a
/// varying size is a call to `memcpy`. The caller cuts `out` back to what
/// it wrote.
#[inline(always)]
fn room<const N: usize>(out: &mut Buf) -> (usize, &mut [u8; N]) {
    let at = out.len();
    out.extend_from_slice(&[0u8; N]);
    match out.last_chunk_mut::<N>() {
        Some(b) => (at, b),
        None => unreachable!("room of {N} bytes was just added"),
    }
}

/// Appends `b`: up to 16 bytes as two overlapping words of constant size
/// (see [`room`]).
#[inline(always)]
fn push_short(out: &mut Buf, b: &[u8]) {
    let n = b.len();
    if !(4..=16).contains(&n) {
        return out.extend_from_slice(b);
    }
    let (at, r) = room::<16>(out);
    if n >= 8 {
        r[..8].copy_from_slice(&b[..8]);
        r[n - 8..n].copy_from_slice(&b[n - 8..]);
    } else {
        r[..4].copy_from_slice(&b[..4]);
        r[n - 4..n].copy_from_slice(&b[n - 4..]);
    }
    out.truncate(at + n);
}

/// The two decimal digits of 0 to 99.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// How many decimal digits `n` has.
fn digit_count(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Writes the decimal digits of `n` so that they end just before `end` in
/// `b`, two at a time; they start [`digit_count`] bytes earlier.
fn digits_before(mut n: u64, b: &mut [u8], end: usize) {
    let mut i = end;
    while n >= 100 {
        let p = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        b[i..i + 2].copy_from_slice(&PAIRS[p..p + 2]);
    }
    if n >= 10 {
        let p = n as usize * 2;
        b[i - 2..i].copy_from_slice(&PAIRS[p..p + 2]);
    } else {
        b[i - 1] = b'0' + n as u8;
    }
}

/// Decimal digits without the formatting machinery (the hot path of log
/// writing).
fn fmt_uint(out: &mut Buf, n: u64) {
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    let len = digit_count(n);
    let (at, b) = room::<20>(out);
    digits_before(n, b, len);
    out.truncate(at + len);
}

fn fmt_int(out: &mut Buf, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    fmt_uint(out, n.unsigned_abs());
}

fn fmt_addr(out: &mut Buf, a: &std::net::IpAddr) {
    match a {
        std::net::IpAddr::V4(v) => {
            // Each octet's digits are copied whole, the dot after them.
            let (at, b) = room::<16>(out);
            let mut n = 0;
            for o in v.octets() {
                let d = OCTETS[usize::from(o)];
                b[n..n + 4].copy_from_slice(&d);
                n += usize::from(d[3]);
                b[n] = b'.';
                n += 1;
            }
            out.truncate(at + n - 1);
        }
        std::net::IpAddr::V6(v) => {
            let _ = write!(out, "{v}");
        }
    }
}

/// The decimal digits of each octet, their count in the last byte.
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut i = 0;
    while i < 256 {
        let (h, te, o) = ((i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8);
        t[i] = if i >= 100 {
            [b'0' + h, b'0' + te, b'0' + o, 3]
        } else if i >= 10 {
            [b'0' + te, b'0' + o, 0, 2]
        } else {
            [b'0' + o, 0, 0, 1]
        };
        i += 1;
    }
    t
};

/// Zeek prints doubles with up to six decimals and no trailing zeros.
fn fmt_double(out: &mut Buf, d: f64) {
    if !d.is_finite() {
        let _ = write!(out, "{d}");
        return;
    }
    let s = format!("{d:.6}");
    let t = s.trim_end_matches('0');
    let t = t.strip_suffix('.').map_or(t, |t| t);
    out.extend_from_slice(if t == "-0" { b"0" } else { t.as_bytes() });
}

/// Zeek's TSV escaping: non-printable bytes, the backslash and the separators
/// become `\xHH`; an empty string is `(empty)`, a lone `-` is escaped.
#[inline]
fn tsv_str(out: &mut Buf, s: &str, in_set: bool) {
    // Most values are plain printable ASCII: copied at once.
    let b = s.as_bytes();
    if plain(b, in_set) && !b.is_empty() && b != b"-" {
        push_short(out, b);
    } else {
        tsv_str_escaped(out, s, in_set);
    }
}

#[cold]
#[inline(never)]
fn tsv_str_escaped(out: &mut Buf, s: &str, in_set: bool) {
    match s {
        "" => return out.extend_from_slice(b"(empty)"),
        "-" => return out.extend_from_slice(b"\\x2d"),
        _ => {}
    }
    let mut utf8 = [0u8; 4];
    for c in s.chars() {
        let esc = c.is_control() || c == '\\' || c == '\t' || (in_set && c == ',');
        if esc && (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

/// Whether `b` is printable ASCII without a backslash (nor a comma in a
/// set): TSV as it is. Eight bytes at a time with word arithmetic; every
/// byte is tested the same way, so words may overlap or repeat bytes.
fn plain(b: &[u8], in_set: bool) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A zero byte in `v` (exact as to whether there is one).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let comma = if in_set { b',' } else { b'\\' };
    // Below 0x20, 0x80 and up, 0x7f, a backslash, a comma.
    let bad = |v: u64| {
        v.wrapping_sub(ONES * 0x20) & !v & HIGH != 0
            || v & HIGH != 0
            || zero(v ^ (ONES * 0x7f))
            || zero(v ^ (ONES * u64::from(b'\\')))
            || zero(v ^ (ONES * u64::from(comma)))
    };
    let word = |w: &[u8]| u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let half = |w: &[u8]| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    let n = b.len();
    if n >= 8 {
        // Whole words, then the last eight bytes for what is left.
        let mut words = b.chunks_exact(8);
        if words.by_ref().any(|w| bad(word(w))) {
            return false;
        }
        return words.remainder().is_empty() || !bad(word(&b[n - 8..]));
    }
    let v = match n {
        0 => return true,
        1..=3 => u64::from_ne_bytes([b[0], b[n / 2], b[n - 1], b[0], b[0], b[0], b[0], b[0]]),
        _ => half(b) | half(&b[n - 4..]) << 32,
    };
    !bad(v)
}

fn tsv_value(out: &mut Buf, v: &Value) {
    match v {
        Value::Unset => out.push(b'-'),
        Value::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
        Value::Count(n) => fmt_uint(out, *n),
        Value::Int(n) => fmt_int(out, *n),
        Value::Double(d) => fmt_double(out, *d),
        Value::Time(us) | Value::Interval(us) => fmt_micros(out, *us),
        Value::Str(s) => tsv_str(out, s, false),
        Value::Addr(a) => fmt_addr(out, a),
        Value::Port(p) => fmt_uint(out, u64::from(*p)),
        Value::Strings(v) => tsv_list(out, v, |o, s| tsv_str(o, s, true)),
        Value::Counts(v) => tsv_list(out, v, |o, n| fmt_uint(o, *n)),
        Value::Intervals(v) => tsv_list(out, v, |o, us| fmt_micros(o, *us)),
    }
}

fn tsv_list<T>(out: &mut Buf, items: &[T], mut each: impl FnMut(&mut Buf, &T)) {
    if items.is_empty() {
        out.extend_from_slice(b"(empty)");
        return;
    }
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, it);
    }
}

fn tsv_row_bytes(out: &mut Buf, rec: &Record) {
    for (i, v) in rec.values.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        tsv_value(out, v);
    }
    out.push(b'\n');
}

/// Appends `rec` as one TSV line.
pub fn tsv_row(out: &mut String, rec: &Record) {
    let mut b = Vec::with_capacity(256);
    tsv_row_bytes(&mut b, rec);
    out.push_str(&String::from_utf8_lossy(&b));
}

fn json_str(out: &mut Buf, s: &str) {
    out.push(b'"');
    let mut utf8 = [0u8; 4];
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
        }
    }
    out.push(b'"');
}

fn json_value(out: &mut Buf, v: &Value) {
    match v {
        Value::Unset => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Count(n) => fmt_uint(out, *n),
        Value::Int(n) => fmt_int(out, *n),
        Value::Double(d) if d.is_finite() => fmt_double(out, *d),
        Value::Double(_) => out.extend_from_slice(b"null"),
        Value::Time(us) | Value::Interval(us) => fmt_micros(out, *us),
        Value::Str(s) => json_str(out, s),
        Value::Addr(a) => json_str(out, &a.to_string()),
        Value::Port(p) => fmt_uint(out, u64::from(*p)),
        Value::Strings(v) => json_list(out, v, |o, s| json_str(o, s)),
        Value::Counts(v) => json_list(out, v, |o, n| fmt_uint(o, *n)),
        Value::Intervals(v) => json_list(out, v, |o, us| fmt_micros(o, *us)),
    }
}

fn json_list<T>(out: &mut Buf, items: &[T], mut each: impl FnMut(&mut Buf, &T)) {
    out.push(b'[');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, it);
    }
    out.push(b']');
}

/// One JSON object with Zeek's field names; unset fields are left out, as
/// Zeek's JSON writer does.
fn json_row_bytes(out: &mut Buf, rec: &Record) {
    out.push(b'{');
    let mut first = true;
    for (f, v) in rec.schema.fields.iter().zip(&rec.values) {
        if matches!(v, Value::Unset) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        json_str(out, f.name);
        out.push(b':');
        json_value(out, v);
    }
    out.extend_from_slice(b"}\n");
}

/// Appends `rec` as one JSON line.
pub fn json_row(out: &mut String, rec: &Record) {
    let mut b = Vec::with_capacity(256);
    json_row_bytes(&mut b, rec);
    out.push_str(&String::from_utf8_lossy(&b));
}

/// Parses one TSV cell back into a value of the given type (the collector's
/// export and the tests use it). `None` when the text is not of that type.
pub fn parse_tsv_value(ty: FieldType, s: &str) -> Option<Value> {
    if s == "-" {
        return Some(Value::Unset);
    }
    let micros = |s: &str| -> Option<i64> {
        let neg = s.starts_with('-');
        let s = s.trim_start_matches('-');
        let (a, b) = s.split_once('.').unwrap_or((s, ""));
        let mut frac = b.to_owned();
        frac.truncate(6);
        while frac.len() < 6 {
            frac.push('0');
        }
        let v = a.parse::<i64>().ok()? * 1_000_000 + frac.parse::<i64>().ok()?;
        Some(if neg { -v } else { v })
    };
    let list = |s: &str| -> Vec<String> {
        if s == "(empty)" {
            Vec::new()
        } else {
            s.split(',').map(str::to_owned).collect()
        }
    };
    Some(match ty {
        FieldType::Time => Value::Time(micros(s)?),
        FieldType::Interval => Value::Interval(micros(s)?),
        FieldType::String | FieldType::Enum => Value::Str(if s == "(empty)" {
            Text::default()
        } else {
            Text::from(s)
        }),
        FieldType::Addr => Value::Addr(s.parse().ok()?),
        FieldType::Port => Value::Port(s.parse().ok()?),
        FieldType::Count => Value::Count(s.parse().ok()?),
        FieldType::Int => Value::Int(s.parse().ok()?),
        FieldType::Double => Value::Double(s.parse().ok()?),
        FieldType::Bool => Value::Bool(s == "T"),
        FieldType::SetString | FieldType::VectorString => Value::Strings(list(s)),
        FieldType::VectorCount => Value::Counts(
            list(s)
                .iter()
                .map(|x| x.parse().ok())
                .collect::<Option<Vec<_>>>()?,
        ),
        FieldType::VectorInterval => Value::Intervals(
            list(s)
                .iter()
                .map(|x| micros(x))
                .collect::<Option<Vec<_>>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::field;

    #[test]
    fn plain_matches_the_byte_rule() {
        let simple = |b: &[u8], in_set: bool| {
            b.iter()
                .all(|&c| (0x20..0x7f).contains(&c) && c != b'\\' && !(in_set && c == b','))
        };
        assert!(plain(b"", false));
        for len in (1..=19).chain([24]) {
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    for in_set in [false, true] {
                        assert_eq!(plain(&b, in_set), simple(&b, in_set), "{b:?} {in_set}");
                    }
                }
            }
        }
    }

    #[test]
    fn addresses_and_times_as_std_writes_them() {
        for o in 0..=255u8 {
            for a in [
                [o, 0, 9, 255],
                [10, o, 100, 1],
                [192, 168, o, 99],
                [1, 22, 133, o],
            ] {
                let ip = std::net::IpAddr::from(a);
                let mut b = Vec::new();
                fmt_addr(&mut b, &ip);
                assert_eq!(b, ip.to_string().as_bytes());
            }
        }
        for us in [
            0i64,
            7,
            -7,
            999_999,
            1_000_000,
            -1_000_001,
            1_704_067_764_499_776,
            i64::MIN,
        ] {
            let mut b = Vec::new();
            fmt_micros(&mut b, us);
            let a = us.unsigned_abs();
            let sign = if us < 0 { "-" } else { "" };
            let want = format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000);
            assert_eq!(String::from_utf8(b).unwrap(), want);
        }
    }

    static SCHEMA: LogSchema = LogSchema {
        path: "test",
        fields: &[
            field("ts", FieldType::Time),
            field("name", FieldType::String),
            field("tags", FieldType::SetString),
            field("n", FieldType::Count),
            field("d", FieldType::Double),
        ],
    };

    fn rec() -> Record {
        Record {
            schema: &SCHEMA,
            values: vec![
                Value::Time(1_254_722_767_492_060),
                Value::Str("a\tb\\".into()),
                Value::Strings(vec![]),
                Value::Unset,
                Value::Double(1.5),
            ],
        }
    }

    #[test]
    fn tsv_header_and_row() {
        let mut w = LogWriter::new(Vec::new(), &SCHEMA, Format::Tsv, 0).unwrap();
        w.write(&rec()).unwrap();
        let out = String::from_utf8(w.close(0).unwrap()).unwrap();
        assert!(out.contains("#fields\tts\tname\ttags\tn\td\n"));
        assert!(out.contains("#types\ttime\tstring\tset[string]\tcount\tdouble\n"));
        assert!(out.contains("#open\t1970-01-01-00-00-00\n"));
        assert!(out.contains("1254722767.492060\ta\\x09b\\x5c\t(empty)\t-\t1.5\n"));
    }

    #[test]
    fn json_row_omits_unset() {
        let mut s = String::new();
        json_row(&mut s, &rec());
        assert_eq!(
            s,
            "{\"ts\":1254722767.492060,\"name\":\"a\\tb\\\\\",\"tags\":[],\"d\":1.5}\n"
        );
    }

    #[test]
    fn micros_round_trip() {
        for us in [0, 1, -1, 999_999, 1_254_722_767_492_060, -2_500_000] {
            let mut b = Vec::new();
            fmt_micros(&mut b, us);
            let s = String::from_utf8(b).unwrap();
            assert_eq!(parse_tsv_value(FieldType::Time, &s), Some(Value::Time(us)));
        }
        let text = |us| {
            let mut b = Vec::new();
            fmt_micros(&mut b, us);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(text(-1), "-0.000001");
        assert_eq!(text(12_000_005), "12.000005");
        assert_eq!(text(i64::MIN), "-9223372036854.775808");
    }

    #[test]
    fn addresses_as_std_formats_them() {
        for a in [
            "0.0.0.0",
            "10.0.0.255",
            "192.168.100.9",
            "255.255.255.255",
            "fe80::1",
        ] {
            let ip: std::net::IpAddr = a.parse().unwrap();
            let mut b = Vec::new();
            fmt_addr(&mut b, &ip);
            assert_eq!(b, a.as_bytes());
        }
    }

    #[test]
    fn values_append_after_what_is_written() {
        // Formatters write in room made at the end of the row and cut it
        // back: what came before stays, what they add is exact.
        let mut b = b"row".to_vec();
        fmt_uint(&mut b, 1_234_567);
        fmt_addr(&mut b, &std::net::IpAddr::from([10, 0, 200, 7]));
        fmt_micros(&mut b, -1_500_000);
        fmt_uint(&mut b, 5);
        assert_eq!(b, b"row123456710.0.200.7-1.5000005");
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            let mut b = b"|".to_vec();
            tsv_str(&mut b, &text[..n], false);
            b.push(b'|');
            let want = if n == 0 { "(empty)" } else { &text[..n] };
            assert_eq!(String::from_utf8(b).unwrap(), format!("|{want}|"), "{n}");
        }
    }

    #[test]
    fn integers_as_std_formats_them() {
        let mut b = Vec::new();
        for n in [0, 9, 10, 99, 100, 101, 65_535, 1_000_000, u64::MAX] {
            b.clear();
            fmt_uint(&mut b, n);
            assert_eq!(b, n.to_string().as_bytes());
        }
        for n in [0, -1, -10, 42, i64::MIN, i64::MAX] {
            b.clear();
            fmt_int(&mut b, n);
            assert_eq!(b, n.to_string().as_bytes());
        }
    }

    #[test]
    fn date_of_known_day() {
        assert_eq!(zeek_date(1_700_000_000_000_000), "2023-11-14-22-13-20");
    }
}
