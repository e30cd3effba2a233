//! IEC 61850-8-1 GOOSE (EtherType 0x88b8): `goose`, one row per message:
//! APPID, the control block, data set and GOOSE ids, the time of the last
//! state change, state and sequence numbers, the simulation (test) and
//! needs-commissioning flags, the configuration revision and the number of
//! data set entries. The data values themselves are not logged: the row
//! says how many entries `allData` held and of which types.
//!
//! Field names follow the Zeek GOOSE analyzer's `goose.log` (`gocb_ref`,
//! `dat_set`, `go_id`, `goose_t_sec`, `st_num`, `test`, ...); `appid`,
//! `num_dat_set_entries`, `data_entries` and `data_types` are this
//! sensor's. A publisher becomes a `goose_publisher` in the asset ledger.
//! Batches fold the rows of each state (see `descriptor.rs`).

pub mod descriptor;

use crate::ber::{self, Tlv};
use crate::bytes::be16;
use crate::l2_fields;
use crate::over_ethernet::Frame;
use crate::over_ip::common::{frame_sender, Row};
use crate::over_ip::Output;
use crate::text::{hex, wire_text};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};

pub static GOOSE: LogSchema = LogSchema {
    path: "goose",
    fields: l2_fields![
        field("appid", FieldType::String),
        field("gocb_ref", FieldType::String),
        field("time_allowed_to_live", FieldType::Count),
        field("dat_set", FieldType::String),
        field("go_id", FieldType::String),
        field("goose_t_sec", FieldType::Count),
        field("goose_t_nanosec", FieldType::Count),
        field("st_num", FieldType::Count),
        field("sq_num", FieldType::Count),
        field("test", FieldType::Bool),
        field("conf_rev", FieldType::Count),
        field("nds_com", FieldType::Bool),
        field("num_dat_set_entries", FieldType::Count),
        field("data_entries", FieldType::Count),
        field("data_types", FieldType::String),
    ],
};

pub const ETHERTYPE: u16 = 0x88b8;
/// APPID, length and two reserved words before the PDU.
const HEADER_LEN: usize = 8;
/// Distinct data types named in `data_types` at most (IEC 61850-8-1 knows
/// 16; the bound keeps a hostile message's row small).
const MAX_TYPES: usize = 16;

/// What one GOOSE message says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pdu {
    pub appid: u16,
    pub gocb_ref: Option<String>,
    pub time_allowed_to_live: Option<u64>,
    pub dat_set: Option<String>,
    pub go_id: Option<String>,
    /// Seconds and nanoseconds of the UtcTime `t`.
    pub t: Option<(u64, u64)>,
    pub st_num: Option<u64>,
    pub sq_num: Option<u64>,
    pub test: Option<bool>,
    pub conf_rev: Option<u64>,
    pub nds_com: Option<bool>,
    pub num_dat_set_entries: Option<u64>,
    /// Entries of `allData` and their types in order of first appearance,
    /// with how many of each.
    pub data_entries: u64,
    pub data_types: Vec<(&'static str, u64)>,
}

/// Parses a GOOSE message (the Ethernet payload, APPID first).
pub fn parse(b: &[u8]) -> Option<Pdu> {
    let appid = be16(b, 0)?;
    let length = usize::from(be16(b, 2)?);
    // The length counts the header; a shorter frame is cut off.
    let body = b.get(HEADER_LEN..length.min(b.len()))?;
    let (apdu, _) = ber::tlv(body)?;
    // goosePdu: [APPLICATION 1] IMPLICIT SEQUENCE.
    if !(apdu.class == 0x40 && apdu.constructed && apdu.tag == 1) {
        return None;
    }
    let mut p = Pdu {
        appid,
        ..Pdu::default()
    };
    for e in ber::elements(apdu.value).filter(|e| e.class == 0x80) {
        match e.tag {
            0 => p.gocb_ref = Some(wire_text(e.value)),
            1 => p.time_allowed_to_live = e.unsigned(),
            2 => p.dat_set = Some(wire_text(e.value)),
            3 => p.go_id = Some(wire_text(e.value)),
            4 => p.t = utc_time(e.value),
            5 => p.st_num = e.unsigned(),
            6 => p.sq_num = e.unsigned(),
            7 => p.test = e.boolean(),
            8 => p.conf_rev = e.unsigned(),
            9 => p.nds_com = e.boolean(),
            10 => p.num_dat_set_entries = e.unsigned(),
            11 => all_data(&e, &mut p),
            _ => {}
        }
    }
    Some(p)
}

/// UtcTime (IEC 61850-8-1 8.1.3.7): seconds, a 24-bit binary fraction of
/// a second, and a quality byte.
fn utc_time(v: &[u8]) -> Option<(u64, u64)> {
    let v: &[u8; 8] = v.try_into().ok()?;
    let secs = u64::from(u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
    let frac = u64::from(u32::from_be_bytes([0, v[4], v[5], v[6]]));
    Some((secs, (frac * 1_000_000_000) >> 24))
}

/// Counts the top-level entries of `allData` by type.
fn all_data(e: &Tlv<'_>, p: &mut Pdu) {
    for d in ber::elements(e.value) {
        p.data_entries += 1;
        let name = data_type(&d);
        if let Some((_, c)) = p.data_types.iter_mut().find(|(n, _)| *n == name) {
            *c += 1;
        } else if p.data_types.len() < MAX_TYPES {
            p.data_types.push((name, 1));
        }
    }
}

/// The MMS Data alternative an element is (ISO 9506-2, IEC 61850-8-1).
fn data_type(d: &Tlv<'_>) -> &'static str {
    if d.class != 0x80 {
        return "unknown";
    }
    match d.tag {
        1 => "array",
        2 => "structure",
        3 => "boolean",
        4 => "bit-string",
        5 => "integer",
        6 => "unsigned",
        7 => "floating-point",
        9 => "octet-string",
        10 => "visible-string",
        12 => "binary-time",
        13 => "bcd",
        14 => "boolean-array",
        15 => "object-id",
        16 => "mms-string",
        17 => "utc-time",
        _ => "unknown",
    }
}

/// Decodes a GOOSE frame. Returns whether it was one.
pub fn handle(frame: &Frame<'_>, out: &mut Output<'_>) -> bool {
    if frame.ethertype != ETHERTYPE {
        return false;
    }
    let Some(p) = parse(frame.payload) else {
        return false;
    };
    out.assets
        .observe_role(frame.ts, frame_sender(frame), descriptor::PUBLISHER);
    let types = p
        .data_types
        .iter()
        .map(|(n, c)| format!("{n}:{c}"))
        .collect::<Vec<_>>()
        .join(",");
    Row::l2(frame, &GOOSE)
        .push(hex(u64::from(p.appid), 4))
        .push(p.gocb_ref)
        .push(p.time_allowed_to_live.map(Value::Count))
        .push(p.dat_set)
        .push(p.go_id)
        .push(p.t.map(|t| t.0).map(Value::Count))
        .push(p.t.map(|t| t.1).map(Value::Count))
        .push(p.st_num.map(Value::Count))
        .push(p.sq_num.map(Value::Count))
        .push(p.test)
        .push(p.conf_rev.map(Value::Count))
        .push(p.nds_com)
        .push(p.num_dat_set_entries.map(Value::Count))
        .push(Value::Count(p.data_entries))
        .push((!types.is_empty()).then_some(types))
        .emit_l2(out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GOOSE message as an IED publishes it: two booleans and a
    /// timestamp in its data set.
    pub(crate) fn message() -> Vec<u8> {
        let mut pdu = Vec::new();
        let mut put = |tag: u8, v: &[u8]| {
            pdu.push(tag);
            pdu.push(v.len() as u8);
            pdu.extend_from_slice(v);
        };
        put(0x80, b"IED1LD0/LLN0$GO$gcb1");
        put(0x81, &[0x07, 0xd0]);
        put(0x82, b"IED1LD0/LLN0$DS1");
        put(0x83, b"IED1_GOOSE1");
        put(0x84, &[0x65, 0x5c, 0x6a, 0x00, 0x80, 0x00, 0x00, 0x0a]);
        put(0x85, &[0x05]);
        put(0x86, &[0x00, 0x8c]);
        put(0x87, &[0x00]);
        put(0x88, &[0x01]);
        put(0x89, &[0x00]);
        put(0x8a, &[0x03]);
        put(
            0xab,
            &[0x83, 1, 1, 0x83, 1, 0, 0x91, 8, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        let mut apdu = vec![0x61, 0x81, pdu.len() as u8];
        apdu.extend_from_slice(&pdu);
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&((apdu.len() + 8) as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&apdu);
        m
    }

    #[test]
    fn a_published_message() {
        let p = parse(&message()).unwrap();
        assert_eq!(p.appid, 1);
        assert_eq!(p.gocb_ref.as_deref(), Some("IED1LD0/LLN0$GO$gcb1"));
        assert_eq!(p.time_allowed_to_live, Some(2000));
        assert_eq!(p.dat_set.as_deref(), Some("IED1LD0/LLN0$DS1"));
        assert_eq!(p.go_id.as_deref(), Some("IED1_GOOSE1"));
        assert_eq!(p.t, Some((0x655c_6a00, 500_000_000)));
        assert_eq!((p.st_num, p.sq_num), (Some(5), Some(140)));
        assert_eq!((p.test, p.nds_com), (Some(false), Some(false)));
        assert_eq!((p.conf_rev, p.num_dat_set_entries), (Some(1), Some(3)));
        assert_eq!(p.data_entries, 3);
        assert_eq!(p.data_types, vec![("boolean", 2), ("utc-time", 1)]);
    }

    #[test]
    fn not_goose() {
        let mut m = message();
        m[8] = 0x62; // no goosePdu
        assert_eq!(parse(&m), None);
        assert_eq!(parse(&message()[..12]), None);
    }
}
