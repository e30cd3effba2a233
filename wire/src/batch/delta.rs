//! The delta body (format version 2): an interval's rows written against a
//! base batch the collector already stores, so what did not change since
//! costs next to nothing.
//!
//! ```text
//! section count   varint
//! per section     log path, fields (as version 1), row count, then
//!   references    one varint per row: 0 for a new row, else
//!                 zigzag(k - expected) + 1 naming row k of the base's
//!                 section of the same schema (expected: the previous
//!                 reference plus one, 0 at first)
//!   columns       column by column, one cell per row: a version 1 value,
//!                 SAME (the row above's value), BASE (the referenced base
//!                 row's value), or a number's difference from the base
//!                 row's value (DCOUNT, DINT, DTIME, DINTERVAL)
//! ```
//!
//! Times in a column keep one running previous value (the last time the
//! column held, whatever its cell's tag) that a version 1 TIME cell is
//! coded against. The resolved rows are exactly the batch's: the frame's
//! digest is the version 1 digest of the resolved batch, checked after
//! resolving, so a delta and a full send of one batch are the same batch to
//! the collector.

use super::body::{decode_field_types, get_value, group, put_schema, put_value, sections, tag};
use super::codec::{put_varint, put_zigzag, unzigzag, zigzag, Reader};
use super::policy::{Limits, SchemaPolicy};
use super::{DecodeError, EncodeError, MAX_SECTIONS, MAX_STR_BYTES};
use crate::record::{FieldType, LogSchema, Record, Value};
use std::collections::HashMap;

/// Tags of the delta body, after the version 1 value tags.
mod dtag {
    /// The referenced base row's value.
    pub const BASE: u8 = 16;
    /// Base row's count plus a wrapping difference (zigzag).
    pub const DCOUNT: u8 = 17;
    pub const DINT: u8 = 18;
    pub const DTIME: u8 = 19;
    pub const DINTERVAL: u8 = 20;
}

/// The base rows a new row may stand on, by [`Level`]; and the base row in
/// its place when most of its cells are the same.
struct Matcher<'a> {
    /// One map per [`LEVELS`] entry.
    maps: [HashMap<Vec<u8>, Queue>; 3],
    rows: &'a [&'a Record],
}

/// What a row's key for finding its base row holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Every column but times.
    Exact,
    /// The `uid` of a connection log, else every column that names rather
    /// than measures.
    Identity,
    /// The columns that name, but the `uid` and the ports: another
    /// connection, or a row of another repetition of the same exchange.
    Shape,
}

const LEVELS: [Level; 3] = [Level::Exact, Level::Identity, Level::Shape];

/// Base rows with one key, taken in order; the last one is reused once
/// all are taken.
struct Queue {
    rows: Vec<usize>,
    next: usize,
}

impl Queue {
    fn take(&mut self) -> usize {
        let k = self.rows[self.next.min(self.rows.len() - 1)];
        self.next += 1;
        k
    }
}

fn key(schema: &LogSchema, rec: &Record, level: Level) -> Result<Vec<u8>, EncodeError> {
    let mut o = Vec::with_capacity(64);
    let mut t = 0;
    if level == Level::Identity {
        if let Some(uid) = schema.index_of("uid") {
            put_value(&mut o, rec.values.get(uid).unwrap_or(&Value::Unset), &mut t)?;
            return Ok(o);
        }
    }
    for (f, v) in schema.fields.iter().zip(&rec.values) {
        let left_out = match f.ty {
            FieldType::Time | FieldType::Interval => true,
            FieldType::Count
            | FieldType::Int
            | FieldType::Double
            | FieldType::VectorCount
            | FieldType::VectorInterval => level != Level::Exact,
            FieldType::Port => level == Level::Shape,
            _ => level == Level::Shape && f.name == "uid",
        };
        if !left_out {
            put_value(&mut o, v, &mut t)?;
        }
    }
    Ok(o)
}

impl<'a> Matcher<'a> {
    fn new(schema: &LogSchema, rows: &'a [&'a Record]) -> Result<Self, EncodeError> {
        let mut m = Matcher {
            maps: Default::default(),
            rows,
        };
        for (k, rec) in rows.iter().enumerate() {
            for (map, level) in m.maps.iter_mut().zip(LEVELS) {
                map.entry(key(schema, rec, level)?)
                    .or_insert_with(|| Queue {
                        rows: Vec::new(),
                        next: 0,
                    })
                    .rows
                    .push(k);
            }
        }
        Ok(m)
    }

    fn take(
        &mut self,
        schema: &LogSchema,
        rec: &Record,
        level: Level,
    ) -> Result<Option<usize>, EncodeError> {
        let at = LEVELS.iter().position(|l| *l == level).unwrap_or(0);
        Ok(self.maps[at]
            .get_mut(&key(schema, rec, level)?)
            .map(Queue::take))
    }

    /// The base row `rec` stands on; `next`: the row after the one the
    /// previous reference named.
    fn find(
        &mut self,
        schema: &LogSchema,
        rec: &Record,
        next: usize,
    ) -> Result<Option<usize>, EncodeError> {
        if self.rows.is_empty() {
            return Ok(None);
        }
        for level in [Level::Exact, Level::Identity] {
            if let Some(k) = self.take(schema, rec, level)? {
                return Ok(Some(k));
            }
        }
        // A row of another identity (a new connection doing what the last
        // one did) may share most cells with the base row in its place;
        // with fewer in common, one of the same shape is a better base.
        let in_place = self.rows.get(next).is_some_and(|b| {
            let same = b.values.iter().zip(&rec.values).filter(|(a, b)| a == b);
            same.count() * 4 >= rec.values.len() * 3
        });
        if in_place {
            return Ok(Some(next));
        }
        self.take(schema, rec, Level::Shape)
    }
}

/// A stretch of a delta body: what one log's section holds there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyPart {
    pub log: &'static str,
    pub what: PartKind,
    pub bytes: std::ops::Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// The log path, its fields and the row count.
    Schema,
    /// The row references: `rows` rows, `new` of them on no base row.
    References {
        rows: usize,
        new: usize,
    },
    Column(&'static str),
}

/// The delta body of `records` against `base`'s records, and where each
/// log's parts lie in it: to measure what each costs.
pub fn delta_body_parts(
    records: &[Record],
    base: &[Record],
) -> Result<(Vec<u8>, Vec<BodyPart>), EncodeError> {
    let mut parts = Vec::new();
    let body = write_delta_body(records, base, Some(&mut parts))?;
    Ok((body, parts))
}

/// The delta body of `records` against `base`'s records.
pub(super) fn encode_delta_body(
    records: &[Record],
    base: &[Record],
) -> Result<Vec<u8>, EncodeError> {
    write_delta_body(records, base, None)
}

fn write_delta_body(
    records: &[Record],
    base: &[Record],
    mut parts: Option<&mut Vec<BodyPart>>,
) -> Result<Vec<u8>, EncodeError> {
    let mut mark = |log: &'static str, what: PartKind, bytes| {
        if let Some(p) = parts.as_deref_mut() {
            p.push(BodyPart { log, what, bytes });
        }
    };
    let sections = sections(records)?;
    let base_sections = group(base);
    let mut o = Vec::with_capacity(records.len() * 8 + 64);
    put_varint(&mut o, sections.len() as u64);
    for (schema, rows) in &sections {
        let start = o.len();
        put_schema(&mut o, schema)?;
        put_varint(&mut o, rows.len() as u64);
        mark(schema.path, PartKind::Schema, start..o.len());
        let start = o.len();
        let base_rows: &[&Record] = base_sections
            .iter()
            .find(|(s, _)| *s == *schema)
            .map_or(&[], |(_, r)| r.as_slice());
        let mut matcher = Matcher::new(schema, base_rows)?;
        let mut refs: Vec<Option<&Record>> = Vec::with_capacity(rows.len());
        let mut expected = 0i64;
        for rec in rows {
            match matcher.find(schema, rec, expected as usize)? {
                Some(k) => {
                    put_varint(&mut o, zigzag(k as i64 - expected) + 1);
                    expected = k as i64 + 1;
                    refs.push(Some(base_rows[k]));
                }
                None => {
                    o.push(0);
                    refs.push(None);
                }
            }
        }
        let new = refs.iter().filter(|r| r.is_none()).count();
        let rows_n = refs.len();
        mark(
            schema.path,
            PartKind::References { rows: rows_n, new },
            start..o.len(),
        );
        for (col, field) in schema.fields.iter().enumerate() {
            let start = o.len();
            let mut prev_time = 0i64;
            let mut above: Option<&Value> = None;
            for (rec, base) in rows.iter().zip(&refs) {
                let v = rec.values.get(col).unwrap_or(&Value::Unset);
                let b = base.and_then(|b| b.values.get(col));
                put_cell(&mut o, v, b, above, &mut prev_time)?;
                above = Some(v);
            }
            mark(schema.path, PartKind::Column(field.name), start..o.len());
        }
    }
    Ok(o)
}

fn put_cell(
    o: &mut Vec<u8>,
    v: &Value,
    base: Option<&Value>,
    above: Option<&Value>,
    prev_time: &mut i64,
) -> Result<(), EncodeError> {
    if base == Some(v) {
        o.push(dtag::BASE);
    } else if above == Some(v) {
        o.push(tag::SAME);
    } else {
        match (v, base) {
            (Value::Count(n), Some(Value::Count(b))) => {
                o.push(dtag::DCOUNT);
                put_zigzag(o, n.wrapping_sub(*b) as i64);
            }
            (Value::Int(n), Some(Value::Int(b))) => {
                o.push(dtag::DINT);
                put_zigzag(o, n.wrapping_sub(*b));
            }
            (Value::Interval(n), Some(Value::Interval(b))) => {
                o.push(dtag::DINTERVAL);
                put_zigzag(o, n.wrapping_sub(*b));
            }
            (Value::Time(t), Some(Value::Time(b)))
                if t.wrapping_sub(*b).unsigned_abs()
                    <= t.wrapping_sub(*prev_time).unsigned_abs() =>
            {
                o.push(dtag::DTIME);
                put_zigzag(o, t.wrapping_sub(*b));
            }
            _ => return put_value(o, v, prev_time),
        }
    }
    if let Value::Time(t) = v {
        *prev_time = *t;
    }
    Ok(())
}

/// Bytes a value stands for once resolved (its version 1 size, about):
/// bounds what a few bytes of references may expand to.
fn weight(v: &Value) -> usize {
    1 + match v {
        Value::Str(s) => s.len() + 2,
        Value::Strings(l) => l.iter().map(|s| s.len() + 2).sum::<usize>() + 2,
        Value::Counts(l) => l.len() * 10 + 2,
        Value::Intervals(l) => l.len() * 10 + 2,
        Value::Addr(_) => 16,
        _ => 9,
    }
}

/// Resolves a delta body against `base`'s records, each section under the
/// schema `schemas` gives it, within `limits` (the resolved rows may stand
/// for at most `limits.body_bytes` of values).
pub(super) fn decode_delta_body(
    body: &[u8],
    base: &[Record],
    limits: &Limits,
    schemas: &dyn SchemaPolicy,
) -> Result<Vec<Record>, DecodeError> {
    let base_sections = group(base);
    let mut r = Reader::new(body);
    let nsec = r.len_unchecked("section count", MAX_SECTIONS)?;
    let mut out = Vec::new();
    let mut resolved = 0usize;
    for _ in 0..nsec {
        let path = r.string("log path", MAX_STR_BYTES)?;
        let fields = decode_field_types(&mut r)?;
        let schema = schemas
            .resolve(&path, &fields)
            .map_err(DecodeError::Refused)?;
        let nf = fields.len();
        let nrows = r.len_unchecked("row count", body.len())?;
        if out.len() + nrows > limits.records {
            return Err(DecodeError::TooLarge {
                what: "record count",
                len: out.len() + nrows,
                max: limits.records,
            });
        }
        // A reference and every cell take at least one byte each.
        if nrows.saturating_mul(nf + 1) > r.remaining() {
            return Err(r.truncated("section rows"));
        }
        let base_rows: &[&Record] = base_sections
            .iter()
            .find(|(s, _)| **s == *schema)
            .map_or(&[], |(_, rows)| rows.as_slice());
        let mut refs: Vec<Option<&Record>> = Vec::with_capacity(nrows);
        let mut expected = 0i64;
        for i in 0..nrows {
            let code = r.varint("row reference")?;
            if code == 0 {
                refs.push(None);
                continue;
            }
            let d = unzigzag(code - 1);
            let k = expected
                .checked_add(d)
                .and_then(|k| usize::try_from(k).ok())
                .filter(|k| *k < base_rows.len())
                .ok_or_else(|| {
                    r.invalid_err(format!(
                        "{path} row {i} refers to base row {} of {} in that log",
                        expected.saturating_add(d),
                        base_rows.len()
                    ))
                })?;
            expected = k as i64 + 1;
            refs.push(Some(base_rows[k]));
        }
        let mut rows: Vec<Vec<Value>> = (0..nrows).map(|_| Vec::with_capacity(nf)).collect();
        for col in 0..nf {
            let mut prev_time = 0i64;
            for i in 0..nrows {
                let v = get_cell(&mut r, &rows, &refs, i, col, &mut prev_time, limits)?;
                resolved += weight(&v);
                if resolved > limits.body_bytes {
                    return Err(DecodeError::TooLarge {
                        what: "resolved body",
                        len: resolved,
                        max: limits.body_bytes,
                    });
                }
                rows[i].push(v);
            }
        }
        out.extend(rows.into_iter().map(|values| Record { schema, values }));
    }
    if r.remaining() != 0 {
        return r.invalid(format!(
            "{} trailing bytes after the last section",
            r.remaining()
        ));
    }
    Ok(out)
}

fn get_cell(
    r: &mut Reader<'_>,
    rows: &[Vec<Value>],
    refs: &[Option<&Record>],
    i: usize,
    col: usize,
    prev_time: &mut i64,
    limits: &Limits,
) -> Result<Value, DecodeError> {
    let t = *r.buf.get(r.pos).ok_or_else(|| r.truncated("value tag"))?;
    let base = || {
        refs[i]
            .and_then(|b| b.values.get(col))
            .ok_or_else(|| r.invalid_err(format!("row {i} column {col}: no base value")))
    };
    let v = match t {
        tag::SAME => match i.checked_sub(1).and_then(|p| rows[p].get(col)) {
            Some(prev) => prev.clone(),
            None => return r.invalid("repeat of a value in a column's first row".into()),
        },
        dtag::BASE => base()?.clone(),
        dtag::DCOUNT | dtag::DINT | dtag::DTIME | dtag::DINTERVAL => {
            let b = base()?.clone();
            r.pos += 1;
            let d = r.zigzag("difference from the base")?;
            match (t, b) {
                (dtag::DCOUNT, Value::Count(b)) => Value::Count(b.wrapping_add(d as u64)),
                (dtag::DINT, Value::Int(b)) => Value::Int(b.wrapping_add(d)),
                (dtag::DTIME, Value::Time(b)) => Value::Time(b.wrapping_add(d)),
                (dtag::DINTERVAL, Value::Interval(b)) => Value::Interval(b.wrapping_add(d)),
                (_, b) => {
                    return r.invalid(format!(
                        "row {i} column {col}: difference tag {t} on a base value {b:?}"
                    ))
                }
            }
        }
        _ => return get_value(r, prev_time, limits.str_bytes),
    };
    if matches!(t, tag::SAME | dtag::BASE) {
        r.pos += 1;
    }
    if let Value::Time(t) = v {
        *prev_time = t;
    }
    Ok(v)
}
