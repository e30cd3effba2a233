//! IEC 61850 MMS (ISO 9506) on the ISO transport (TPKT, COTP), through the
//! ISO session (8327) and presentation (8823) layers and ACSE (8650):
//! `mms`, one row per MMS PDU: its type (initiate, confirmed request or
//! response, error, unconfirmed, reject, conclude), the invoke id, the
//! confirmed or unconfirmed service (read, write, getNameList,
//! getVariableAccessAttributes, identify, the file services...), the object
//! names it names (`domain/item` for a domain-specific variable or list,
//! the domain of a name list, a name list's identifiers, file names, what
//! an information report names), the values a read response, an
//! information report or a write request carries (as tshark shows them:
//! booleans 1/0, integers in decimal, strings as text, bit and octet
//! strings in hex, UTC times as seconds, structures and arrays flattened
//! into their members, failures by their DataAccessError name), and
//! vendor, model and revision from an identify response.
//!
//! The asset ledger learns the roles (`mms_client` sends requests,
//! `mms_server` answers), the server's vendor, model and revision from an
//! identify response, and its logical devices' names from the answer to a
//! request for the list of domains (IEC 61850-8-1 maps a logical device to
//! an MMS domain): they are kept as the device's names.
//!
//! No peer logs MMS one row per PDU; the field names are ISO 9506's. Each
//! TPDU also gets its `cotp` row, as ICSNPP's COTP analyzer writes one for
//! every TPDU on port 102.
//!
//! Recognised by its first data message, not by TSAPs (ICCP peers and
//! IEC 61850 servers are configured with any): a session Connect whose
//! presentation contexts name MMS's abstract syntax, or an MMS PDU in an
//! Accept or a data transfer (see [`probe`]); S7comm, on the same
//! transport, by its own header. A message segmented over several COTP
//! data TPDUs is reassembled up to [`iso::MAX_MESSAGE`] bytes; a longer
//! one is dropped alone and its bytes counted with the stream bytes
//! dropped.
//!
//! Uplink aggregation key: `uid is_orig pdu_type service object_names`.

pub mod descriptor;
pub mod names;

use crate::asset::Identity;
use crate::ber::{self, Tlv};
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, Row};
use crate::over_ip::{iso, AppParser, Ctx, Dir};
use crate::text::{hex_bytes, wire_text};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};
use std::collections::VecDeque;

pub static MMS: LogSchema = LogSchema {
    path: "mms",
    fields: flow_dir_fields![
        field("pdu_type", FieldType::String),
        field("invoke_id", FieldType::Count),
        field("service", FieldType::String),
        field("object_names", FieldType::VectorString),
        field("values", FieldType::VectorString),
        field("vendor_name", FieldType::String),
        field("model_name", FieldType::String),
        field("revision", FieldType::String),
    ],
};

/// Names kept from one PDU at most.
pub const MAX_NAMES: usize = 16;
/// Values kept from one PDU at most, characters of one value at most, and
/// how deep structures and arrays are followed.
pub const MAX_VALUES: usize = 16;
const MAX_VALUE_CHARS: usize = 64;
const MAX_DATA_DEPTH: u8 = 4;
/// Outstanding requests for the list of domains remembered at most.
const MAX_PENDING: usize = 8;
/// Session Connect SPDU (ISO 8327).
const CONNECT: u8 = 0x0d;
/// MMS's abstract syntax, 1.0.9506.2.1, as BER encodes it.
const MMS_SYNTAX: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x01];
/// `objectClass` of a getNameList for domains (ISO 9506-2).
const DOMAIN_CLASS: u64 = 9;

/// Recognises MMS on the ISO transport: a connection request or confirm
/// goes to the transport's [`iso::Undecided`] (this probe is the
/// transport's first, before S7comm's), which asks the probes again with
/// the first data message; a data message is MMS when it is a session
/// Connect whose presentation contexts name MMS (1.0.9506.2.1, as ICCP's
/// do too), or an MMS PDU in an Accept or a data transfer (a connection
/// joined mid-stream).
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let c = iso::first_tpdu(t, data)?;
    match c.code {
        iso::CR | iso::CC => Some(Box::<iso::Undecided>::default()),
        iso::DT => {
            let m = iso::first_message(t, data)?;
            is_mms(&m).then(|| Box::<Mms>::default() as Box<dyn AppParser>)
        }
        _ => None,
    }
}

/// Whether a data message carries MMS (see [`probe`]).
fn is_mms(m: &[u8]) -> bool {
    if m.first() == Some(&CONNECT) {
        return spdu(m)
            .and_then(|(_, params, _)| session_user_data(params))
            .and_then(normal_mode_parameters)
            .and_then(|n| ber::elements(n.value).find(|e| e.is_context(4)))
            .is_some_and(|list| {
                ber::elements(list.value).any(|def| {
                    ber::elements(def.value).any(|e| e.class == 0 && e.tag == 6 && e.value == MMS_SYNTAX)
                })
            });
    }
    user_data(m).and_then(parse_pdu).is_some()
}

#[derive(Default)]
pub struct Mms {
    roles_seen: bool,
    seen: bool,
    /// Invoke ids of getNameList requests for the list of domains.
    domain_lists: VecDeque<u64>,
    /// Each direction's message under reassembly.
    messages: iso::Messages,
}

/// One MMS PDU as the row shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pdu {
    /// The PDU's tag (ISO 9506-2 MMSpdu).
    pub kind: u32,
    pub invoke_id: Option<u64>,
    /// The service's tag, in the PDU type's service choice.
    pub service: Option<u32>,
    pub names: Vec<String>,
    /// Data values, in order (see the module documentation).
    pub values: Vec<String>,
    /// A getNameList request's object class.
    pub object_class: Option<u64>,
    /// vendorName, modelName and revision of an identify response.
    pub identity: [Option<String>; 3],
}

impl AppParser for Mms {
    fn service(&self) -> &'static str {
        if self.seen {
            "mms"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(m) = self.messages.next(ctx, dir, data, &mut pos) {
            if let Some(p) = user_data(&m).and_then(parse_pdu) {
                self.pdu(ctx, dir, &p);
            }
        }
        pos
    }

    fn gap(&mut self, dir: Dir) {
        self.messages.gap(dir);
    }

    fn discarded(&mut self) -> u64 {
        self.messages.take_dropped()
    }
}

impl Mms {
    fn pdu(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, p: &Pdu) {
        self.seen = true;
        let server = common::sender(ctx, dir);
        if !self.roles_seen && p.kind == 0 {
            // A confirmed request goes from client to server.
            self.roles_seen = true;
            let client = common::sender(ctx, dir);
            let server = common::receiver(ctx, dir);
            ctx.out
                .assets
                .observe_role(ctx.ts, client, descriptor::CLIENT);
            ctx.out
                .assets
                .observe_role(ctx.ts, server, descriptor::SERVER);
        }
        match (p.kind, p.service, p.invoke_id) {
            // getNameList: remember the requests for domains, whose answers
            // name the server's logical devices.
            (0, Some(1), Some(id)) if p.object_class == Some(DOMAIN_CLASS) => {
                if self.domain_lists.len() == MAX_PENDING {
                    self.domain_lists.pop_front();
                }
                self.domain_lists.push_back(id);
            }
            (1, Some(1), Some(id)) => {
                if let Some(i) = self.domain_lists.iter().position(|&x| x == id) {
                    self.domain_lists.remove(i);
                    for ld in &p.names {
                        ctx.out.assets.observe_hostname(ctx.ts, server, ld);
                    }
                }
            }
            (1, Some(2), _) => {
                let [vendor, model, revision] = &p.identity;
                ctx.out.assets.observe_identity(
                    ctx.ts,
                    server,
                    &Identity {
                        source: descriptor::IDENTITY,
                        vendor: vendor.as_deref(),
                        model: model.as_deref(),
                        firmware: revision.as_deref(),
                        ..Identity::default()
                    },
                );
            }
            _ => {}
        }
        let [vendor, model, revision] = p.identity.clone();
        Row::flow_dir(ctx, &MMS, dir)
            .push(names::pdu(p.kind))
            .push(p.invoke_id.map(Value::Count))
            .push(p.service.map(|s| names::service(p.kind, s)))
            .push((!p.names.is_empty()).then(|| Value::Strings(p.names.clone())))
            .push((!p.values.is_empty()).then(|| Value::Strings(p.values.clone())))
            .push(vendor)
            .push(model)
            .push(revision)
            .emit(ctx);
    }
}

/// The MMS PDU (or ACSE APDU carrying one) in a COTP data TPDU's user
/// data: through the session SPDU and the presentation PPDU.
pub fn user_data(b: &[u8]) -> Option<&[u8]> {
    let (si, params, rest) = spdu(b)?;
    let ppdu = match si {
        // Give Tokens then Data Transfer, both empty: the user data follows.
        0x01 => {
            let (0x01, _, rest) = spdu(rest)? else {
                return None;
            };
            rest
        }
        // Connect and Accept carry the user data in parameter 193.
        0x0d | 0x0e => session_user_data(params)?,
        _ => return None,
    };
    let (p, _) = ber::tlv(ppdu)?;
    let fully_encoded = match (p.class, p.tag) {
        // Data: fully-encoded-data [APPLICATION 1].
        (0x40, 1) => p,
        // CP-type or CPA-PPDU: its normal-mode-parameters hold the user data.
        (0x00, 17) => {
            let normal = normal_mode_parameters(ppdu)?;
            ber::elements(normal.value).find(|e| e.class == 0x40 && e.tag == 1)?
        }
        _ => return None,
    };
    // The first PDV-list's single-ASN1-type [0].
    let pdv = ber::elements(fully_encoded.value).find(|e| e.tag == 16)?;
    let value = ber::elements(pdv.value).find(|e| e.is_context(0))?;
    acse_user_data(value.value).or(Some(value.value))
}

/// The normal-mode-parameters [2] of a CP-type or CPA-PPDU (a SET).
fn normal_mode_parameters(ppdu: &[u8]) -> Option<Tlv<'_>> {
    let (p, _) = ber::tlv(ppdu)?;
    if (p.class, p.tag) != (0x00, 17) {
        return None;
    }
    ber::elements(p.value).find(|e| e.is_context(2))
}

/// An SPDU at the start of `b`: its SI, parameters and the bytes after
/// them.
fn spdu(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&si, rest) = b.split_first()?;
    let (len, rest) = length(rest)?;
    Some((si, rest.get(..len)?, &rest[len..]))
}

/// A session length: one byte, or 0xff and two.
fn length(b: &[u8]) -> Option<(usize, &[u8])> {
    match b {
        [0xff, hi, lo, rest @ ..] => Some((usize::from(u16::from_be_bytes([*hi, *lo])), rest)),
        [n, rest @ ..] if *n != 0xff => Some((usize::from(*n), rest)),
        _ => None,
    }
}

/// Parameter 193 (User Data) of a Connect or Accept SPDU.
fn session_user_data(mut params: &[u8]) -> Option<&[u8]> {
    while !params.is_empty() {
        let (code, value, rest) = spdu(params)?;
        if code == 0xc1 {
            return Some(value);
        }
        params = rest;
    }
    None
}

/// The MMS PDU in an AARQ or AARE's user-information, if `b` is one.
fn acse_user_data(b: &[u8]) -> Option<&[u8]> {
    let (a, _) = ber::tlv(b)?;
    if !(a.class == 0x40 && (a.tag == 0 || a.tag == 1)) {
        return None;
    }
    let info = ber::elements(a.value).find(|e| e.is_context(30))?;
    let external = ber::elements(info.value).find(|e| e.tag == 8)?;
    let single = ber::elements(external.value).find(|e| e.is_context(0))?;
    Some(single.value)
}

/// Parses an MMS PDU.
pub fn parse_pdu(b: &[u8]) -> Option<Pdu> {
    let (t, _) = ber::tlv(b)?;
    if t.class != 0x80 || t.tag > 13 {
        return None;
    }
    let mut p = Pdu {
        kind: t.tag,
        ..Pdu::default()
    };
    let mut els = ber::elements(t.value);
    match t.tag {
        // Confirmed request and response: invokeID, then the service.
        0 | 1 => {
            let id = els.next().filter(|e| e.class == 0 && e.tag == 2)?;
            p.invoke_id = id.unsigned();
            // A request's listOfModifier (a universal SEQUENCE) is skipped.
            let s = els.find(|e| e.class == 0x80)?;
            p.service = Some(s.tag);
            service(&mut p, &s);
        }
        // Confirmed error, reject: the invoke id is context [0].
        2 | 4 => p.invoke_id = els.find(|e| e.is_context(0)).and_then(|e| e.unsigned()),
        // Unconfirmed: an information report names its variables or their
        // list, then gives its listOfAccessResult [0].
        3 => {
            let s = els.find(|e| e.class == 0x80)?;
            p.service = Some(s.tag);
            if s.tag == 0 {
                let mut report = ber::elements(s.value);
                if let Some(spec) = report.next() {
                    access_specification(&mut p, &spec);
                }
                if let Some(list) = report.next().filter(|e| e.is_context(0)) {
                    values(&mut p, list.value, true);
                }
            }
        }
        // Cancel: the invoke id is the PDU's own contents.
        5..=7 => p.invoke_id = t.unsigned(),
        _ => {}
    }
    Some(p)
}

/// What the row shows of a confirmed service's request or response.
fn service(p: &mut Pdu, s: &Tlv<'_>) {
    let request = p.kind == 0;
    match (s.tag, request) {
        // getNameList: the class and domain asked for; the identifiers answered.
        (1, true) => {
            for e in ber::elements(s.value) {
                if e.is_context(0) {
                    p.object_class = ber::elements(e.value).next().and_then(|c| c.unsigned());
                } else if e.is_context(1) {
                    if let Some(d) = ber::elements(e.value).find(|d| d.is_context(1)) {
                        push_name(p, wire_text(d.value));
                    }
                }
            }
        }
        (1, false) => {
            if let Some(list) = ber::elements(s.value).find(|e| e.is_context(0)) {
                for id in ber::elements(list.value) {
                    push_name(p, wire_text(id.value));
                }
            }
        }
        (2, false) => {
            for e in ber::elements(s.value).filter(|e| e.class == 0x80 && e.tag <= 2) {
                p.identity[e.tag as usize] = Some(wire_text(e.value));
            }
        }
        // read: variableAccessSpecification [1]; write: it comes first.
        (4, true) => {
            if let Some(v) = ber::elements(s.value).find(|e| e.is_context(1)) {
                if let Some(spec) = ber::elements(v.value).next() {
                    access_specification(p, &spec);
                }
            }
        }
        (4, false) => {
            if let Some(list) = ber::elements(s.value).find(|e| e.is_context(1)) {
                values(p, list.value, true);
            }
        }
        // write: the specification, then listOfData [0].
        (5, true) => {
            let mut els = ber::elements(s.value);
            if let Some(spec) = els.next() {
                access_specification(p, &spec);
            }
            if let Some(list) = els.next().filter(|e| e.is_context(0)) {
                values(p, list.value, false);
            }
        }
        // getVariableAccessAttributes and getNamedVariableListAttributes:
        // an ObjectName.
        (6, true) => {
            if let Some(name) = ber::elements(s.value).find(|e| e.is_context(0)) {
                object_name(p, &name);
            }
        }
        (12, true) => object_name(p, s),
        // File services: every file name they carry.
        (46 | 72 | 75 | 76 | 77, true) => file_names(p, s.value, 0),
        _ => {}
    }
}

/// The names of a VariableAccessSpecification: a listOfVariable [0] or a
/// variableListName [1].
fn access_specification(p: &mut Pdu, spec: &Tlv<'_>) {
    if spec.is_context(0) {
        for var in ber::elements(spec.value) {
            if let Some(name) = ber::elements(var.value).find(|e| e.is_context(0)) {
                object_name(p, &name);
            }
        }
    } else if spec.is_context(1) {
        object_name(p, spec);
    }
}

/// The ObjectName inside `e`: vmd-specific [0], domain-specific [1] (as
/// `domain/item`) or aa-specific [2].
fn object_name(p: &mut Pdu, e: &Tlv<'_>) {
    let Some(n) = ber::elements(e.value).next() else {
        return;
    };
    match (n.class, n.tag) {
        (0x80, 0 | 2) => push_name(p, wire_text(n.value)),
        (0x80, 1) => {
            let mut ids = ber::elements(n.value).map(|i| wire_text(i.value));
            if let (Some(domain), Some(item)) = (ids.next(), ids.next()) {
                push_name(p, format!("{domain}/{item}"));
            }
        }
        _ => {}
    }
}

/// GraphicStrings (file name components) up to two levels down.
fn file_names(p: &mut Pdu, b: &[u8], depth: u8) {
    for e in ber::elements(b) {
        if e.class == 0 && e.tag == 25 {
            push_name(p, wire_text(e.value));
        } else if e.constructed && depth < 2 {
            file_names(p, e.value, depth + 1);
        }
    }
}

/// The values of a listOfAccessResult (`results`: a failure [0] is an
/// alternative) or a listOfData.
fn values(p: &mut Pdu, list: &[u8], results: bool) {
    for e in ber::elements(list) {
        if results && e.is_context(0) && !e.constructed {
            let code = e.unsigned().unwrap_or(u64::MAX);
            push_value(p, names::data_access_error(code).to_owned());
        } else {
            data(p, &e, 0);
        }
    }
}

/// One Data (ISO 9506-2, with IEC 61850-8-1's floating point and UTC
/// time), structures and arrays by their members.
fn data(p: &mut Pdu, d: &Tlv<'_>, depth: u8) {
    if d.class != 0x80 {
        return;
    }
    let v = d.value;
    let text = match d.tag {
        1 | 2 => {
            if d.constructed && depth < MAX_DATA_DEPTH {
                for member in ber::elements(v) {
                    data(p, &member, depth + 1);
                }
            }
            return;
        }
        3 => d.boolean().map(|b| if b { "1" } else { "0" }.to_owned()),
        5 => signed(v).map(|n| n.to_string()),
        6 | 13 => d.unsigned().map(|n| n.to_string()),
        7 => Some(float(v)),
        // A bit string's first byte counts the unused bits of its last.
        4 => Some(hex_bytes(v.get(1..).unwrap_or_default())),
        10 | 16 => Some(wire_text(v)),
        17 => utc_time(v),
        _ => Some(hex_bytes(v)),
    };
    if let Some(t) = text {
        push_value(p, t);
    }
}

/// A BER INTEGER of at most 8 bytes.
fn signed(v: &[u8]) -> Option<i64> {
    let (&first, _) = v.split_first()?;
    if v.len() > 8 {
        return None;
    }
    let init = if first & 0x80 != 0 { -1i64 } else { 0 };
    Some(v.iter().fold(init, |a, &c| a << 8 | i64::from(c)))
}

/// A FloatingPoint: the exponent width (8 single, 11 double), then the
/// IEEE 754 bytes; in hex when it is neither.
fn float(v: &[u8]) -> String {
    match v {
        [8, b @ ..] => b
            .try_into()
            .map(|b| f32::from_be_bytes(b).to_string())
            .unwrap_or_else(|_| hex_bytes(v)),
        [11, b @ ..] => b
            .try_into()
            .map(|b| f64::from_be_bytes(b).to_string())
            .unwrap_or_else(|_| hex_bytes(v)),
        _ => hex_bytes(v),
    }
}

/// A UtcTime: seconds since 1970, a 24-bit binary fraction of a second and
/// a quality byte, as seconds with six decimals.
fn utc_time(v: &[u8]) -> Option<String> {
    let [a, b, c, d, f1, f2, f3, _quality] = *v else {
        return None;
    };
    let secs = u32::from_be_bytes([a, b, c, d]);
    let fraction = u64::from(u32::from_be_bytes([0, f1, f2, f3]));
    Some(format!("{secs}.{:06}", (fraction * 1_000_000) >> 24))
}

fn push_value(p: &mut Pdu, mut value: String) {
    if p.values.len() < MAX_VALUES {
        if let Some((cut, _)) = value.char_indices().nth(MAX_VALUE_CHARS) {
            value.truncate(cut);
        }
        p.values.push(value);
    }
}

fn push_name(p: &mut Pdu, name: String) {
    if p.names.len() < MAX_NAMES {
        p.names.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::over_ip::harness::{conn, field, parse_dropping, rows, run, Step};
    use osect_trafficgen::proto::{iec61850 as gen, s7};

    /// A BER element with a short-form or two-byte length.
    fn el(id: &[u8], v: &[u8]) -> Vec<u8> {
        let mut b = id.to_vec();
        if v.len() < 0x80 {
            b.push(v.len() as u8);
        } else {
            b.extend_from_slice(&[0x82, (v.len() >> 8) as u8, v.len() as u8]);
        }
        b.extend_from_slice(v);
        b
    }

    /// An MMS PDU in a COTP data TPDU, as a data transfer SPDU.
    fn data_tpdu(mms: &[u8]) -> Vec<u8> {
        let pdv = el(&[0x30], &[&[0x02, 1, 3][..], &el(&[0xa0], mms)].concat());
        let mut user = vec![0x01, 0x00, 0x01, 0x00];
        user.extend(el(&[0x61], &pdv));
        let mut t = vec![0x03, 0x00, 0, 0, 0x02, 0xf0, 0x80];
        t.extend(user);
        let n = t.len() as u16;
        t[2..4].copy_from_slice(&n.to_be_bytes());
        t
    }

    fn domain_item(d: &str, i: &str) -> Vec<u8> {
        el(
            &[0xa1],
            &[el(&[0x1a], d.as_bytes()), el(&[0x1a], i.as_bytes())].concat(),
        )
    }

    #[test]
    fn a_read_request_names_its_variables() {
        let var = el(
            &[0x30],
            &el(&[0xa0], &domain_item("IED1LD0", "LLN0$ST$Mod")),
        );
        let read = el(&[0xa4], &el(&[0xa1], &el(&[0xa0], &var)));
        let pdu = el(&[0xa0], &[&[0x02, 1, 5][..], &read].concat());
        let t = data_tpdu(&pdu);
        assert!(probe(
            Transport::Tcp,
            &conn(Transport::Tcp, 1, 102),
            Dir::Orig,
            &t
        )
        .is_some());
        let c = iso::cotp(&t[4..]).unwrap();
        let p = parse_pdu(user_data(c.data).unwrap()).unwrap();
        assert_eq!((p.kind, p.invoke_id, p.service), (0, Some(5), Some(4)));
        assert_eq!(p.names, vec!["IED1LD0/LLN0$ST$Mod"]);
    }

    #[test]
    fn values_of_reports_reads_and_writes() {
        let report = gen::information_report("LD0/LLN0$BR$brcb01", 2, true, 1_767_603_600, 231.5);
        let p = parse_pdu(&report).unwrap();
        assert_eq!((p.kind, p.service), (3, Some(0)));
        assert_eq!(p.names, ["RPT"]);
        assert_eq!(
            p.values,
            ["LD0/LLN0$BR$brcb01", "6400", "2", "1", "1767603600.500000", "231.5"]
        );
        // A failure, a negative integer, a nested array and an octet string.
        let results = [
            el(&[0x80], &[10]),
            el(&[0x85], &[0xff, 0x38]),
            el(&[0xa1], &el(&[0xa2], &el(&[0x86], &[0x01, 0x00]))),
            el(&[0x89], &[0xde, 0xad]),
        ]
        .concat();
        let read = el(&[0xa4], &el(&[0xa1], &results));
        let p = parse_pdu(&gen::confirmed(true, 9, &read)).unwrap();
        assert_eq!(p.values, ["object-non-existent", "-200", "256", "dead"]);
        let write = gen::confirmed(false, 3, &gen::write_request("LD0", "CSWI1$CO$Pos$Oper", true));
        assert_eq!(parse_pdu(&write).unwrap().values, ["1"]);
        // Bounded: values past MAX_VALUES and characters past 64 are cut.
        let long = el(&[0x8a], &[b'x'; 100]);
        let many = el(&[0xa4], &el(&[0xa1], &long.repeat(MAX_VALUES + 4)));
        let p = parse_pdu(&gen::confirmed(true, 1, &many)).unwrap();
        assert_eq!(p.values.len(), MAX_VALUES);
        assert_eq!(p.values[0].len(), MAX_VALUE_CHARS);
    }

    #[test]
    fn identify_and_domain_list_feed_the_ledger() {
        let class = el(&[0xa0], &[0x80, 1, 9]);
        let scope = el(&[0xa1], &[0x80, 0]);
        let gnl = el(&[0xa1], &[class, scope].concat());
        let req = data_tpdu(&el(&[0xa0], &[&[0x02, 1, 1][..], &gnl].concat()));
        let list = el(
            &[0xa0],
            &[el(&[0x1a], b"IED1LD0"), el(&[0x1a], b"IED1PROT")].concat(),
        );
        let resp = data_tpdu(&el(
            &[0xa1],
            &[&[0x02, 1, 1][..], &el(&[0xa1], &list)].concat(),
        ));
        let ident = [
            el(&[0x80], b"ACME"),
            el(&[0x81], b"IED-3000"),
            el(&[0x82], b"2.1"),
        ]
        .concat();
        let id_resp = data_tpdu(&el(
            &[0xa1],
            &[&[0x02, 1, 2][..], &el(&[0xa2], &ident)].concat(),
        ));
        let id = conn(Transport::Tcp, 40000, 102);
        let (recs, service, assets) = run(
            &id,
            &[
                Step::Data(Dir::Orig, &req),
                Step::Data(Dir::Resp, &resp),
                Step::Data(Dir::Resp, &id_resp),
            ],
        );
        assert_eq!(service, Some("mms"));
        let r = rows(&recs, "mms");
        assert_eq!(r.len(), 3);
        assert_eq!(field(r[0], "service"), "getNameList");
        assert_eq!(field(r[1], "object_names"), "IED1LD0,IED1PROT");
        assert_eq!(field(r[2], "vendor_name"), "ACME");
        assert_eq!(field(r[2], "revision"), "2.1");
        let mut assets = assets;
        let mut sink = crate::sink::RecordSink::new(16);
        assets.emit(i64::MAX, &mut sink);
        let devices = sink.take();
        let server = devices
            .iter()
            .find(|a| field(a, "roles").contains("mms_server"))
            .expect("server row");
        assert_eq!(field(server, "vendor"), "ACME");
        assert_eq!(field(server, "model"), "IED-3000");
        assert_eq!(field(server, "firmware"), "2.1");
        assert_eq!(field(server, "hostnames"), "IED1LD0,IED1PROT");
        assert_eq!(field(server, "identity_source"), "mms");
    }

    /// The TPDU codes of the `cotp` rows.
    fn cotp_codes(recs: &[osect_wire::Record]) -> Vec<String> {
        rows(recs, "cotp").iter().map(|r| field(r, "pdu_code")).collect()
    }

    #[test]
    fn s7comm_behind_a_connection_request_stays_s7comm() {
        let cr = gen::connect(false, 0x0100, 0x0102);
        let cc = gen::connect(true, 0x0102, 0x0100);
        let setup = s7::cotp_data(&s7::pdu(1, 1, &s7::setup_param(), &[], None));
        let id = conn(Transport::Tcp, 40000, 102);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Dir::Orig, &cr),
                Step::Data(Dir::Resp, &cc),
                Step::Data(Dir::Orig, &setup),
            ],
        );
        assert_eq!(service, Some("cotp,s7comm"));
        assert_eq!(cotp_codes(&recs), ["0x0e", "0x0d", "0x0f"]);
        assert_eq!(rows(&recs, "s7comm").len(), 1);
        assert!(rows(&recs, "mms").is_empty());
    }

    #[test]
    fn mms_is_found_by_its_session_connect_whatever_the_tsaps() {
        let id = conn(Transport::Tcp, 40000, 102);
        let cr = gen::connect(false, 0x0100, 0x0102);
        let cc = gen::connect(true, 0x0102, 0x0100);
        let cn = gen::associate(false, &gen::initiate(false));
        let ac = gen::associate(true, &gen::initiate(true));
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Dir::Orig, &cr),
                Step::Data(Dir::Resp, &cc),
                Step::Data(Dir::Orig, &cn),
                Step::Data(Dir::Resp, &ac),
            ],
        );
        assert_eq!(service, Some("mms"));
        assert_eq!(cotp_codes(&recs), ["0x0e", "0x0d", "0x0f", "0x0f"]);
        let r = rows(&recs, "mms");
        assert_eq!(field(r[0], "pdu_type"), "initiate-RequestPDU");
        assert_eq!(field(r[1], "pdu_type"), "initiate-ResponsePDU");
        assert!(rows(&recs, "s7comm").is_empty());
        // A session connect naming another abstract syntax is not MMS: the
        // connection keeps its `cotp` rows only.
        let mut other = cn.clone();
        let at = other
            .windows(MMS_SYNTAX.len())
            .position(|w| w == MMS_SYNTAX)
            .expect("the connect names MMS");
        other[at + 4] = 0x07;
        let (recs, service, _) = run(
            &id,
            &[Step::Data(Dir::Orig, &cr), Step::Data(Dir::Orig, &other)],
        );
        assert_eq!(service, Some("cotp"));
        assert_eq!(cotp_codes(&recs), ["0x0e", "0x0f"]);
        assert!(rows(&recs, "mms").is_empty());
    }

    #[test]
    fn a_message_over_several_data_tpdus_is_decoded_once_whole() {
        let read = gen::confirmed(false, 7, &gen::read_request("IED1PROT", "PTOC1$ST$Str$general"));
        let split = gen::data_segmented(&read, 16);
        let id = conn(Transport::Tcp, 40000, 102);
        let cr = gen::connect(false, 0x0100, 0x0102);
        // Split again across TCP segments, between and inside TPDUs: the
        // connection is known to be MMS once the message is whole.
        let (a, b) = split.split_at(30);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Dir::Orig, &cr),
                Step::Data(Dir::Orig, a),
                Step::Data(Dir::Orig, b),
            ],
        );
        assert_eq!(service, Some("mms"));
        let tpdus = cotp_codes(&recs).len() - 1;
        assert!(tpdus >= 4, "{tpdus} data TPDUs");
        let r = rows(&recs, "mms");
        assert_eq!(r.len(), 1);
        assert_eq!(field(r[0], "invoke_id"), "7");
        assert_eq!(field(r[0], "object_names"), "IED1PROT/PTOC1$ST$Str$general");
    }

    #[test]
    fn a_message_over_the_bound_is_dropped_alone() {
        let small = |id| gen::data(&gen::confirmed(false, id, &gen::identify_request()));
        // An identify request padded past the bound, in TPDUs of 8 KiB.
        let mut big = gen::confirmed(false, 2, &gen::identify_request());
        big.extend(vec![0u8; iso::MAX_MESSAGE]);
        let big = gen::data_segmented(&big, 8192);
        let mut parser = Mms::default();
        let stream = [small(1), big, small(3)].concat();
        let id = conn(Transport::Tcp, 40000, 102);
        let recs = parse_dropping(&mut parser, &id, &stream, iso::MAX_MESSAGE as u64);
        let ids: Vec<String> = rows(&recs, "mms")
            .iter()
            .map(|r| field(r, "invoke_id"))
            .collect();
        assert_eq!(ids, ["1", "3"]);
    }
}
