//! NTP (RFC 5905) on UDP: Zeek's `ntp.log`, one row per message.

pub mod descriptor;

use crate::bytes::{be16, be32, Error};
use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{datagram_probe, Datagram, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use std::net::Ipv4Addr;

pub static NTP_LOG: LogSchema = LogSchema {
    path: "ntp",
    fields: flow_fields![
        field("version", T::Count),
        field("mode", T::Count),
        field("stratum", T::Count),
        field("poll", T::Interval),
        field("precision", T::Interval),
        field("root_delay", T::Interval),
        field("root_disp", T::Interval),
        field("ref_id", T::String),
        field("ref_time", T::Time),
        field("org_time", T::Time),
        field("rec_time", T::Time),
        field("xmt_time", T::Time),
        field("num_exts", T::Count),
    ],
};

const PORT: u16 = 123;
const HEADER_LEN: usize = 48;
/// Seconds from the NTP era (1900) to the Unix epoch.
const EPOCH_OFFSET: i64 = 2_208_988_800;

/// The fields of an NTP message (modes 1 to 5; control and private
/// messages carry only version and mode).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Repr {
    pub version: u8,
    pub mode: u8,
    pub std: Option<Standard>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standard {
    pub stratum: u8,
    pub poll: i8,
    pub precision: i8,
    pub root_delay: u32,
    pub root_disp: u32,
    pub ref_id: [u8; 4],
    pub ref_time: u64,
    pub org_time: u64,
    pub rec_time: u64,
    pub xmt_time: u64,
    pub num_exts: u32,
}

impl Repr {
    pub fn parse(b: &[u8]) -> Result<Repr, Error> {
        let first = *b.first().ok_or(Error::Truncated)?;
        let version = (first >> 3) & 7;
        let mode = first & 7;
        // Version 0 or above 4, or mode 0, is no NTP.
        if !(1..=4).contains(&version) || mode == 0 {
            return Err(Error::malformed("NTP version or mode", 0));
        }
        if mode >= 6 {
            return Ok(Repr {
                version,
                mode,
                std: None,
            });
        }
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let ts = |at| -> Result<u64, Error> {
            Ok(u64::from(be32(b, at).ok_or(Error::Truncated)?) << 32
                | u64::from(be32(b, at + 4).ok_or(Error::Truncated)?))
        };
        let word = |at| be32(b, at).ok_or(Error::Truncated);
        Ok(Repr {
            version,
            mode,
            std: Some(Standard {
                stratum: b[1],
                poll: b[2] as i8,
                precision: b[3] as i8,
                root_delay: word(4)?,
                root_disp: word(8)?,
                ref_id: [b[12], b[13], b[14], b[15]],
                ref_time: ts(16)?,
                org_time: ts(24)?,
                rec_time: ts(32)?,
                xmt_time: ts(40)?,
                num_exts: count_extensions(&b[HEADER_LEN..]),
            }),
        })
    }
}

/// Extension fields (RFC 7822) before an optional MAC of 20 or 24 bytes.
fn count_extensions(mut rest: &[u8]) -> u32 {
    let mut n = 0;
    while rest.len() > 24 {
        let Some(len) = be16(rest, 2) else { break };
        let len = usize::from(len);
        if len < 16 || !len.is_multiple_of(4) || len > rest.len() {
            break;
        }
        n += 1;
        rest = &rest[len..];
    }
    n
}

/// An NTP timestamp as Unix microseconds; zero stays zero. Zeek holds the
/// time as a double and prints six decimals: the same double, rounded the
/// same way, gives the same microsecond.
fn ntp_time(t: u64) -> i64 {
    if t == 0 {
        return 0;
    }
    let secs = (t >> 32) as f64 - EPOCH_OFFSET as f64;
    let d = secs + (t & 0xffff_ffff) as f64 / 4_294_967_296.0;
    let s = format!("{d:.6}");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, "0"));
    let whole: i64 = whole.parse().unwrap_or(0);
    let frac: i64 = frac.parse().unwrap_or(0);
    whole * 1_000_000 + if whole < 0 { -frac } else { frac }
}

/// A 16.16 fixed-point number of seconds as microseconds.
fn short_format(v: u32) -> i64 {
    ((u64::from(v) * 1_000_000 + (1 << 15)) >> 16) as i64
}

fn pow2(exp: i8) -> i64 {
    text::secs_to_micros(2f64.powi(i32::from(exp)))
}

/// Recognises NTP on port 123: a well-formed header.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    datagram_probe::<Ntp>(t, id, data)
}

pub struct Ntp;

impl Datagram for Ntp {
    const SERVICE: &'static str = "ntp";

    fn recognise(id: &ConnId, data: &[u8]) -> bool {
        id.has_port(PORT) && Repr::parse(data).is_ok()
    }

    /// Zeek's NTP analyzer flips the roles on a server message (mode 4)
    /// from the originator or a client message (mode 3) from the responder.
    fn flips_roles(dir: Dir, data: &[u8]) -> bool {
        match Repr::parse(data) {
            Ok(r) => (r.mode == 4 && dir.is_orig()) || (r.mode == 3 && !dir.is_orig()),
            Err(_) => false,
        }
    }

    fn log(ctx: &mut Ctx<'_, '_>, _dir: Dir, data: &[u8]) {
        let Ok(r) = Repr::parse(data) else {
            return;
        };
        let row = Row::flow(ctx, &NTP_LOG)
            .push(Value::Count(u64::from(r.version)))
            .push(Value::Count(u64::from(r.mode)));
        let row = match r.std {
            None => (0..11).fold(row, |row, _| row.push(Value::Unset)),
            Some(s) => {
                let ref_id = if s.stratum >= 2 {
                    Ipv4Addr::from(s.ref_id).to_string()
                } else {
                    text::bytes(&s.ref_id, 4)
                };
                row.push(Value::Count(u64::from(s.stratum)))
                    .push(Value::Interval(pow2(s.poll)))
                    .push(Value::Interval(pow2(s.precision)))
                    .push(Value::Interval(short_format(s.root_delay)))
                    .push(Value::Interval(short_format(s.root_disp)))
                    .push(ref_id)
                    .push(Value::Time(ntp_time(s.ref_time)))
                    .push(Value::Time(ntp_time(s.org_time)))
                    .push(Value::Time(ntp_time(s.rec_time)))
                    .push(Value::Time(ntp_time(s.xmt_time)))
                    .push(Value::Count(u64::from(s.num_exts)))
            }
        };
        row.emit(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // zeek-ntp-ntp3 frame 3: a version 3 symmetric-active message.
    const V3: [u8; 48] = [
        0xd9, // LI 3 (unsynchronised), version 3, mode 1
        0x00, // stratum
        0x0a, // poll 2^10
        0xfa, // precision 2^-6
        0x00, 0x00, 0x00, 0x00, // root delay
        0x00, 0x01, 0x02, 0x90, // root dispersion
        0x00, 0x00, 0x00, 0x00, // reference id
        0, 0, 0, 0, 0, 0, 0, 0, // reference time
        0, 0, 0, 0, 0, 0, 0, 0, // origin time
        0, 0, 0, 0, 0, 0, 0, 0, // receive time
        0xc5, 0x02, 0x04, 0xec, 0xec, 0x42, 0xee, 0x92, // transmit time
    ];

    #[test]
    fn decodes_a_version_3_message() {
        let r = Repr::parse(&V3).unwrap();
        assert_eq!((r.version, r.mode), (3, 1));
        let s = r.std.unwrap();
        assert_eq!(pow2(s.poll), 1_024_000_000);
        assert_eq!(pow2(s.precision), 15_625);
        assert_eq!(short_format(s.root_disp), 1_010_010);
        assert_eq!(ntp_time(s.ref_time), 0);
        assert_eq!(ntp_time(s.xmt_time), 1_096_255_084_922_896);
        assert_eq!(s.num_exts, 0);
    }

    #[test]
    fn rejects_short_and_bad_headers() {
        assert_eq!(Repr::parse(&V3[..47]), Err(Error::Truncated));
        assert_eq!(
            Repr::parse(&[0x00]),
            Err(Error::malformed("NTP version or mode", 0))
        );
        assert_eq!(Repr::parse(&[]), Err(Error::Truncated));
        assert_eq!(Repr::parse(&[0x1e]).unwrap().std, None);
    }
}
