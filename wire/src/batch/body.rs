//! The body codec: log sections, each naming its log path and fields, then
//! its rows column by column, every value a one-byte tag and a compact
//! payload or "same as the row above".

use super::codec::{put_str, put_varint, put_zigzag, take_array, Reader};
use super::policy::{Limits, SchemaPolicy};
use super::{DecodeError, EncodeError, MAX_FIELDS, MAX_SECTIONS, MAX_STR_BYTES};
use crate::record::{FieldType, LogSchema, Record, Value};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) mod tag {
    pub const UNSET: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const COUNT: u8 = 3;
    pub const INT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const TIME: u8 = 6;
    pub const INTERVAL: u8 = 7;
    pub const STR: u8 = 8;
    pub const ADDR4: u8 = 9;
    pub const ADDR6: u8 = 10;
    pub const PORT: u8 = 11;
    pub const STRINGS: u8 = 12;
    pub const COUNTS: u8 = 13;
    pub const INTERVALS: u8 = 14;
    /// The same value as the row before in this column.
    pub const SAME: u8 = 15;
}

const FIELD_TYPES: [FieldType; 14] = [
    FieldType::Time,
    FieldType::Interval,
    FieldType::String,
    FieldType::Addr,
    FieldType::Port,
    FieldType::Count,
    FieldType::Int,
    FieldType::Double,
    FieldType::Bool,
    FieldType::Enum,
    FieldType::SetString,
    FieldType::VectorString,
    FieldType::VectorCount,
    FieldType::VectorInterval,
];

fn type_code(t: FieldType) -> u8 {
    FIELD_TYPES.iter().position(|x| *x == t).unwrap_or(0) as u8
}

/// A body's sections: each schema with its rows, in order of first
/// appearance.
pub(super) type Sections<'a> = Vec<(&'static LogSchema, Vec<&'a Record>)>;

/// `records` grouped by schema, in order of first appearance. A few dozen
/// logs at most, so a linear search beats hashing.
pub(super) fn group(records: &[Record]) -> Sections<'_> {
    let mut sections: Sections<'_> = Vec::new();
    for rec in records {
        match sections.iter_mut().find(|(s, _)| *s == rec.schema) {
            Some((_, rows)) => rows.push(rec),
            None => sections.push((rec.schema, vec![rec])),
        }
    }
    sections
}

/// [`group`], within the format's section limit.
pub(super) fn sections(records: &[Record]) -> Result<Sections<'_>, EncodeError> {
    let sections = group(records);
    if sections.len() > MAX_SECTIONS {
        return Err(EncodeError::TooLarge {
            what: "section count",
            len: sections.len(),
            max: MAX_SECTIONS,
        });
    }
    Ok(sections)
}

/// A section's log path and fields (name and type code).
pub(super) fn put_schema(o: &mut Vec<u8>, schema: &LogSchema) -> Result<(), EncodeError> {
    if schema.fields.len() > MAX_FIELDS {
        return Err(EncodeError::TooLarge {
            what: "field count",
            len: schema.fields.len(),
            max: MAX_FIELDS,
        });
    }
    put_str(o, schema.path);
    put_varint(o, schema.fields.len() as u64);
    for f in schema.fields {
        put_str(o, f.name);
        o.push(type_code(f.ty));
    }
    Ok(())
}

/// A section's fields after its log path, as [`put_schema`] wrote them.
pub(super) fn decode_field_types(
    r: &mut Reader<'_>,
) -> Result<Vec<(String, FieldType)>, DecodeError> {
    let nf = r.len_unchecked("field count", MAX_FIELDS)?;
    let mut fields = Vec::with_capacity(nf);
    for _ in 0..nf {
        let name = r.string("field name", MAX_STR_BYTES)?;
        let code = r.u8("field type")?;
        let ty = *FIELD_TYPES
            .get(usize::from(code))
            .ok_or_else(|| r.invalid_err(format!("field type code {code}")))?;
        fields.push((name, ty));
    }
    Ok(fields)
}

/// The uncompressed body for `records` (public for dictionary training).
pub fn encode_body(records: &[Record]) -> Result<Vec<u8>, EncodeError> {
    let sections = sections(records)?;
    let mut o = Vec::with_capacity(records.len() * 32 + 64);
    put_varint(&mut o, sections.len() as u64);
    for (schema, rows) in &sections {
        put_schema(&mut o, schema)?;
        put_varint(&mut o, rows.len() as u64);
        for col in 0..schema.fields.len() {
            let mut prev_time = 0i64;
            let mut prev: Option<&Value> = None;
            for rec in rows {
                let v = rec.values.get(col).unwrap_or(&Value::Unset);
                if prev == Some(v) {
                    o.push(tag::SAME);
                } else {
                    put_value(&mut o, v, &mut prev_time)?;
                }
                prev = Some(v);
            }
        }
    }
    Ok(o)
}

pub(super) fn put_value(
    o: &mut Vec<u8>,
    v: &Value,
    prev_time: &mut i64,
) -> Result<(), EncodeError> {
    match v {
        Value::Unset => o.push(tag::UNSET),
        Value::Bool(false) => o.push(tag::FALSE),
        Value::Bool(true) => o.push(tag::TRUE),
        Value::Count(n) => {
            o.push(tag::COUNT);
            put_varint(o, *n);
        }
        Value::Int(n) => {
            o.push(tag::INT);
            put_zigzag(o, *n);
        }
        Value::Double(d) => {
            o.push(tag::DOUBLE);
            o.extend_from_slice(&d.to_le_bytes());
        }
        Value::Time(t) => {
            o.push(tag::TIME);
            put_zigzag(o, t.wrapping_sub(*prev_time));
            *prev_time = *t;
        }
        Value::Interval(t) => {
            o.push(tag::INTERVAL);
            put_zigzag(o, *t);
        }
        Value::Str(s) => {
            o.push(tag::STR);
            put_checked_str(o, s)?;
        }
        Value::Addr(IpAddr::V4(a)) => {
            o.push(tag::ADDR4);
            o.extend_from_slice(&a.octets());
        }
        Value::Addr(IpAddr::V6(a)) => {
            o.push(tag::ADDR6);
            o.extend_from_slice(&a.octets());
        }
        Value::Port(p) => {
            o.push(tag::PORT);
            put_varint(o, u64::from(*p));
        }
        Value::Strings(v) => {
            o.push(tag::STRINGS);
            put_varint(o, v.len() as u64);
            for s in v {
                put_checked_str(o, s)?;
            }
        }
        Value::Counts(v) => {
            o.push(tag::COUNTS);
            put_varint(o, v.len() as u64);
            for n in v {
                put_varint(o, *n);
            }
        }
        Value::Intervals(v) => {
            o.push(tag::INTERVALS);
            put_varint(o, v.len() as u64);
            for n in v {
                put_zigzag(o, *n);
            }
        }
    }
    Ok(())
}

/// `v` as a column's first row writes it (a time whole, not as a
/// difference from the row above): the form in which an interval's folded
/// rows hold their key fields until it closes (`osect_engine::batch`). Two
/// values write the same bytes exactly when they are the same key (a double
/// by its bits, as [`crate::Key`] compares it).
pub fn put_key_value(o: &mut Vec<u8>, v: &Value) -> Result<(), EncodeError> {
    put_value(o, v, &mut 0)
}

/// Tag of a key value held by number (never in a body: its tags end at
/// [`tag::SAME`]).
const KEY_REF: u8 = 16;

/// A key value its holder keeps elsewhere as number `id` (a string met
/// in many keys, held once).
pub fn put_key_ref(o: &mut Vec<u8>, id: u32) {
    o.push(KEY_REF);
    put_varint(o, u64::from(id));
}

/// A key value as [`put_key_value`] or [`put_key_ref`] wrote it.
pub enum KeyValue {
    Value(Value),
    Ref(u32),
}

/// The key value written at `*at` in `buf`; `*at` moves past it.
pub fn get_key_value(buf: &[u8], at: &mut usize) -> Result<KeyValue, DecodeError> {
    let mut r = Reader::new(buf);
    r.pos = *at;
    let v = if buf.get(*at) == Some(&KEY_REF) {
        r.pos += 1;
        let id = r.varint("key value number")?;
        KeyValue::Ref(
            u32::try_from(id).map_err(|_| r.invalid_err(format!("key value number {id}")))?,
        )
    } else {
        KeyValue::Value(get_value(&mut r, &mut 0, MAX_STR_BYTES)?)
    };
    *at = r.pos;
    Ok(v)
}

fn put_checked_str(o: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    if s.len() > MAX_STR_BYTES {
        return Err(EncodeError::TooLarge {
            what: "string value",
            len: s.len(),
            max: MAX_STR_BYTES,
        });
    }
    put_str(o, s);
    Ok(())
}

/// Decodes a body, each section under the schema `schemas` gives it, within
/// `limits`; returns its rows and how many the body held. With `parts`
/// (format version 3) a log may come in several sections, and its rows are
/// joined ([`join_parts`]).
pub(super) fn decode_body(
    body: &[u8],
    limits: &Limits,
    schemas: &dyn SchemaPolicy,
    parts: bool,
) -> Result<(Vec<Record>, usize), DecodeError> {
    let mut r = Reader::new(body);
    let nsec = r.len_unchecked("section count", MAX_SECTIONS)?;
    // Each log's rows and how many sections held them, in order of its
    // first section.
    let mut logs: Vec<(&'static LogSchema, Vec<Record>, usize)> = Vec::new();
    let mut held = 0usize;
    for _ in 0..nsec {
        let path = r.string("log path", MAX_STR_BYTES)?;
        let fields = decode_field_types(&mut r)?;
        let nf = fields.len();
        let schema = schemas
            .resolve(&path, &fields)
            .map_err(DecodeError::Refused)?;
        // Every value takes at least one byte: this bounds the allocation.
        let nrows = r.len_unchecked("row count", body.len())?;
        if held + nrows > limits.records {
            return Err(DecodeError::TooLarge {
                what: "record count",
                len: held + nrows,
                max: limits.records,
            });
        }
        if nrows.saturating_mul(nf) > r.remaining() {
            return Err(r.truncated("section rows"));
        }
        let mut rows: Vec<Vec<Value>> = (0..nrows).map(|_| Vec::with_capacity(nf)).collect();
        for col in 0..nf {
            let mut prev_time = 0i64;
            for i in 0..rows.len() {
                let v = if r.buf.get(r.pos) == Some(&tag::SAME) {
                    r.pos += 1;
                    match i.checked_sub(1).and_then(|p| rows[p].get(col)) {
                        Some(prev) => prev.clone(),
                        None => {
                            return r.invalid("repeat of a value in a column's first row".into())
                        }
                    }
                } else {
                    get_value(&mut r, &mut prev_time, limits.str_bytes)?
                };
                rows[i].push(v);
            }
        }
        held += nrows;
        let rows = rows.into_iter().map(|values| Record { schema, values });
        match logs.iter_mut().find(|(s, ..)| parts && *s == schema) {
            Some((_, held, sections)) => {
                held.extend(rows);
                *sections += 1;
            }
            None => logs.push((schema, rows.collect(), 1)),
        }
    }
    if r.remaining() != 0 {
        return r.invalid(format!(
            "{} trailing bytes after the last section",
            r.remaining()
        ));
    }
    let mut out = Vec::with_capacity(held);
    for (schema, rows, sections) in logs {
        if sections > 1 {
            out.extend(join_parts(schema, rows)?);
        } else {
            out.extend(rows);
        }
    }
    Ok((out, held))
}

/// Whether `schema` is a folded log's: `ts` first, `ts_end` and `count`
/// last (`osect_engine::batch`). Only such a log may come in parts.
pub(super) fn folded_form(schema: &LogSchema) -> bool {
    let f = schema.fields;
    let named = |i: usize, name: &str, ty: FieldType| {
        f.get(i).is_some_and(|x| x.name == name && x.ty == ty)
    };
    f.len() >= 3
        && named(0, "ts", FieldType::Time)
        && named(f.len() - 2, "ts_end", FieldType::Time)
        && named(f.len() - 1, "count", FieldType::Count)
}

/// The rows of a folded log written in parts (the agent writes what it
/// has folded when its folding memory fills, and folds afresh): one row
/// per key (every field but `ts`, `ts_end` and `count`), in order of first
/// occurrence, with the counts added, `ts` of its first part and `ts_end`
/// of its last. Parts are in the order they were written, so that is the
/// row one folding of the whole interval makes.
pub(super) fn join_parts(
    schema: &'static LogSchema,
    rows: Vec<Record>,
) -> Result<Vec<Record>, DecodeError> {
    let invalid = |what: String| DecodeError::Invalid { what, at: 0 };
    if !folded_form(schema) {
        return Err(invalid(format!(
            "log {} in several sections, but not a folded log (ts first, ts_end and count last)",
            schema.path
        )));
    }
    let n = schema.fields.len();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<Record> = Vec::with_capacity(rows.len());
    let mut key = Vec::new();
    for rec in rows {
        key.clear();
        let fields = rec.values.get(1..n - 2).unwrap_or_default();
        for v in fields {
            put_key_value(&mut key, v).map_err(|e| invalid(e.to_string()))?;
        }
        let Some(&Value::Count(count)) = rec.values.get(n - 1) else {
            return Err(invalid(format!(
                "log {}: a count that is not a count",
                schema.path
            )));
        };
        match index.get(key.as_slice()) {
            Some(&i) => {
                let row = &mut out[i].values;
                let Value::Count(total) = &mut row[n - 1] else {
                    return Err(invalid(format!(
                        "log {}: a count that is not a count",
                        schema.path
                    )));
                };
                *total = total.checked_add(count).ok_or_else(|| {
                    invalid(format!("log {}: a key's count past 2^64", schema.path))
                })?;
                row[n - 2] = rec.values[n - 2].clone();
            }
            None => {
                index.insert(key.clone(), out.len());
                out.push(rec);
            }
        }
    }
    Ok(out)
}

pub(super) fn get_value(
    r: &mut Reader<'_>,
    prev_time: &mut i64,
    max_str: usize,
) -> Result<Value, DecodeError> {
    let t = r.u8("value tag")?;
    Ok(match t {
        tag::UNSET => Value::Unset,
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::COUNT => Value::Count(r.varint("count")?),
        tag::INT => Value::Int(r.zigzag("int")?),
        tag::DOUBLE => Value::Double(f64::from_le_bytes(take_array(r, "double")?)),
        tag::TIME => {
            let v = prev_time.wrapping_add(r.zigzag("time")?);
            *prev_time = v;
            Value::Time(v)
        }
        tag::INTERVAL => Value::Interval(r.zigzag("interval")?),
        tag::STR => Value::Str(r.string("string value", max_str)?.into()),
        tag::ADDR4 => Value::Addr(IpAddr::V4(Ipv4Addr::from(take_array::<4>(
            r,
            "IPv4 address",
        )?))),
        tag::ADDR6 => Value::Addr(IpAddr::V6(Ipv6Addr::from(take_array::<16>(
            r,
            "IPv6 address",
        )?))),
        tag::PORT => {
            let p = r.varint("port")?;
            Value::Port(u16::try_from(p).map_err(|_| r.invalid_err(format!("port {p}")))?)
        }
        tag::STRINGS => {
            let n = r.len_unchecked("string list length", r.remaining())?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.string("string list item", max_str)?);
            }
            Value::Strings(v)
        }
        tag::COUNTS => {
            let n = r.len_unchecked("count list length", r.remaining())?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.varint("count list item")?);
            }
            Value::Counts(v)
        }
        tag::INTERVALS => {
            let n = r.len_unchecked("interval list length", r.remaining())?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.zigzag("interval list item")?);
            }
            Value::Intervals(v)
        }
        other => return r.invalid(format!("value tag {other}")),
    })
}
