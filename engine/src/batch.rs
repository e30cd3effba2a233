//! The folding of an interval's records for its batch.
//!
//! # Aggregation of cyclic industrial operations
//!
//! A PLC polled ten times a second produces 600 identical-looking rows a
//! minute. With `batch.aggregate = true`, rows of the logs whose
//! descriptor says so ([`crate::protocols::folds`]) are folded per interval
//! into one row per distinct key, where the key is every field of the row
//! except `ts` and the per-transaction fields the log's descriptor names
//! ([`osect_wire::protocol::Fold`]: transaction and invoke ids, sequence
//! numbers; they change on every poll and say nothing about the
//! operation). The folded row keeps the key fields, `ts` of the first
//! occurrence, and gains `ts_end` (the last) and `count`. The set of distinct
//! keys and their counts is exactly what the per-event rows give; order is
//! by first occurrence. Logs that already count their rows (they have a
//! `count` field, like the CC-Link logs) and every IT log (conn, dns, ...)
//! pass through unchanged. Locally (`replay`) per-event rows stay available.
//!
//! # Folding at the source
//!
//! `run` folds a row when it is made ([`Folder::push`], called by the
//! engine's record sink), so an interval holds one row per distinct key
//! however many polls it saw. The key is never built: the row's key fields
//! are hashed in place (FxHash, `rustc-hash`, the hasher rustc itself uses:
//! a multiply and a rotate per word, and the engine's connection table
//! already depends on it; the keys come from our own decoders, so flooding
//! the table with chosen collisions costs an attacker a distinct key per
//! row, which the sink's bound caps) and compared field by field with the
//! stored row only on a hash match. [`aggregate`] folds a finished list the
//! same way and [`refold`] joins rows folded by several capture workers.

use osect_wire::batch::intern_schema;
use osect_wire::{FieldType, LogSchema, Record, Value};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

/// The folded form of a schema: key fields, then `ts_end` and `count`.
struct Form {
    schema: &'static LogSchema,
    /// Indexes of the original fields kept, in order (`ts` first).
    keep: Vec<usize>,
}

fn form(schema: &'static LogSchema) -> Option<Form> {
    // The registry's test holds every folded log to having no `count` of
    // its own (the CC-Link and FINS logs count their rows already).
    let (_, log) = crate::protocols::log(schema.path)?;
    let keep = log.fold.kept_fields(schema)?;
    let mut fields: Vec<(String, FieldType)> = keep
        .iter()
        .map(|i| (schema.fields[*i].name.to_owned(), schema.fields[*i].ty))
        .collect();
    fields.push(("ts_end".into(), FieldType::Time));
    fields.push(("count".into(), FieldType::Count));
    let schema = intern_schema(schema.path, &fields).ok()?;
    Some(Form { schema, keep })
}

/// Whether `schema` is the folded form of a log (its rows carry `ts_end`
/// and `count` after the key).
fn is_folded(schema: &LogSchema) -> bool {
    crate::protocols::folds(schema.path) && schema.index_of("count").is_some()
}

/// Equality as the per-event rows' distinct keys count it: a double by its
/// bits, like `osect_wire::Key`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Hashes a value consistently with [`same`].
fn hash_value(v: &Value, h: &mut FxHasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        Value::Unset => {}
        Value::Bool(b) => b.hash(h),
        Value::Count(n) => n.hash(h),
        Value::Int(n) | Value::Time(n) | Value::Interval(n) => n.hash(h),
        Value::Double(d) => d.to_bits().hash(h),
        Value::Str(s) => s.as_str().hash(h),
        Value::Addr(a) => a.hash(h),
        Value::Port(p) => p.hash(h),
        Value::Strings(v) => v.hash(h),
        Value::Counts(v) => v.hash(h),
        Value::Intervals(v) => v.hash(h),
    }
}

const NIL: u32 = u32::MAX;

/// A folded row and the next row whose key hashed the same.
struct Row {
    next: u32,
    rec: Record,
}

/// What [`Folder::push`] did with a record.
pub enum Pushed {
    /// Counted into a row the folder already held.
    Counted,
    /// The first of its key: a new row.
    New,
    /// The first of its key, but the folder was full: dropped.
    Dropped,
    /// Not a folded log: handed back.
    Pass(Record),
}

/// An interval's folded rows, filled as records are made.
#[derive(Default)]
pub struct Folder {
    /// Each log's folded form (`None`: not folded), by schema address.
    forms: FxHashMap<usize, Option<Form>>,
    /// First row of each key hash; rows with the same hash are chained.
    index: FxHashMap<u64, u32>,
    rows: Vec<Row>,
}

impl Folder {
    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Folds `rec` if its log folds; `room` says whether a new row may be
    /// added.
    pub fn push(&mut self, rec: Record, room: bool) -> Pushed {
        let form = self
            .forms
            .entry(rec.schema as *const LogSchema as usize)
            .or_insert_with(|| form(rec.schema));
        let Some(f) = form else {
            return Pushed::Pass(rec);
        };
        let mut h = FxHasher::default();
        (f.schema as *const LogSchema as usize).hash(&mut h);
        for &i in &f.keep[1..] {
            hash_value(rec.values.get(i).unwrap_or(&Value::Unset), &mut h);
        }
        let hash = h.finish();
        let ts = rec.values.get(f.keep[0]).cloned().unwrap_or(Value::Unset);
        let head = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut at = head;
        while at != NIL {
            let row = &mut self.rows[at as usize];
            let key = &row.rec.values[1..row.rec.values.len() - 2];
            let hit = std::ptr::eq(row.rec.schema, f.schema)
                && f.keep[1..]
                    .iter()
                    .zip(key)
                    .all(|(&i, k)| same(rec.values.get(i).unwrap_or(&Value::Unset), k));
            if hit {
                let n = row.rec.values.len();
                row.rec.values[n - 2] = ts;
                if let Value::Count(c) = &mut row.rec.values[n - 1] {
                    *c += 1;
                }
                return Pushed::Counted;
            }
            at = row.next;
        }
        if !room || self.rows.len() >= NIL as usize {
            return Pushed::Dropped;
        }
        let mut old = rec.values;
        let mut values = Vec::with_capacity(f.keep.len() + 2);
        values.extend(f.keep.iter().map(|&i| {
            old.get_mut(i)
                .map_or(Value::Unset, |v| std::mem::replace(v, Value::Unset))
        }));
        values.push(ts);
        values.push(Value::Count(1));
        self.index.insert(hash, self.rows.len() as u32);
        self.rows.push(Row {
            next: head,
            rec: Record {
                schema: f.schema,
                values,
            },
        });
        Pushed::New
    }

    /// Joins a row folded elsewhere (another worker's, of the same
    /// interval and later in order): its count adds up, its `ts_end` is the
    /// later occurrence, `ts` stays the first. Returns it when it is not a
    /// folded row or is the first of its key.
    fn join(&mut self, rec: Record) -> Option<Record> {
        if !is_folded(rec.schema) || rec.values.len() < 3 {
            return Some(rec);
        }
        let n = rec.values.len();
        let mut h = FxHasher::default();
        (rec.schema as *const LogSchema as usize).hash(&mut h);
        for v in &rec.values[1..n - 2] {
            hash_value(v, &mut h);
        }
        let hash = h.finish();
        let head = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut at = head;
        while at != NIL {
            let row = &mut self.rows[at as usize];
            let hit = std::ptr::eq(row.rec.schema, rec.schema)
                && row.rec.values.len() == n
                && row.rec.values[1..n - 2]
                    .iter()
                    .zip(&rec.values[1..n - 2])
                    .all(|(a, b)| same(a, b));
            if hit {
                row.rec.values[n - 2] = rec.values[n - 2].clone();
                if let (Value::Count(c), Value::Count(d)) =
                    (&mut row.rec.values[n - 1], &rec.values[n - 1])
                {
                    *c += d;
                }
                return None;
            }
            at = row.next;
        }
        self.index.insert(hash, self.rows.len() as u32);
        self.rows.push(Row { next: head, rec });
        None
    }

    /// Appends the rows to `out` in order of first occurrence and empties
    /// the folder (its tables shrink back after a burst of distinct keys).
    pub fn take_into(&mut self, out: &mut Vec<Record>) {
        out.extend(self.rows.drain(..).map(|r| r.rec));
        self.index.clear();
        if self.rows.capacity() > 4096 {
            self.rows = Vec::new();
            self.index = FxHashMap::default();
        }
    }
}

/// Folds the rows of aggregated logs (see the module docs). Other rows keep
/// their order; folded rows follow in order of first occurrence.
pub fn aggregate(records: Vec<Record>) -> Vec<Record> {
    let mut folder = Folder::default();
    let mut out = Vec::with_capacity(records.len());
    for rec in records {
        if let Pushed::Pass(rec) = folder.push(rec, true) {
            out.push(rec);
        }
    }
    folder.take_into(&mut out);
    out
}

/// Joins the folded rows of several workers' lists, concatenated in worker
/// order: the result equals folding the per-event rows of the concatenation
/// ([`aggregate`]). Other rows keep their order.
pub fn refold(records: Vec<Record>) -> Vec<Record> {
    let mut folder = Folder::default();
    let mut out = Vec::with_capacity(records.len());
    for rec in records {
        out.extend(folder.join(rec));
    }
    folder.take_into(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use osect_wire::record::field;
    use std::collections::HashMap;

    static MODBUS: LogSchema = LogSchema {
        path: "modbus",
        fields: &[
            field("ts", FieldType::Time),
            field("uid", FieldType::String),
            field("tid", FieldType::Count),
            field("func", FieldType::String),
        ],
    };
    static CONN: LogSchema = LogSchema {
        path: "conn",
        fields: &[
            field("ts", FieldType::Time),
            field("uid", FieldType::String),
        ],
    };

    fn modbus(ts: i64, tid: u64, func: &str) -> Record {
        Record {
            schema: &MODBUS,
            values: vec![Value::Time(ts), "C1".into(), Value::Count(tid), func.into()],
        }
    }

    #[test]
    fn folding_keeps_every_distinct_key_and_its_count() {
        let mut recs = Vec::new();
        for i in 0..100 {
            recs.push(modbus(
                i * 100,
                i as u64,
                if i % 10 == 0 { "WRITE" } else { "READ" },
            ));
        }
        recs.push(Record {
            schema: &CONN,
            values: vec![Value::Time(5), "C1".into()],
        });
        let out = aggregate(recs.clone());
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].schema.path, "conn");
        // WRITE came first (i = 0), so it is folded first.
        let read = &out[2];
        assert_eq!(read.get("func"), Some(&Value::Str("READ".into())));
        assert_eq!(read.get("count"), Some(&Value::Count(90)));
        assert_eq!(read.get("ts"), Some(&Value::Time(100)));
        assert_eq!(read.get("ts_end"), Some(&Value::Time(9900)));
        assert_eq!(read.get("tid"), None);
        let write = &out[1];
        assert_eq!(write.get("count"), Some(&Value::Count(10)));
        assert_eq!(write.get("ts_end"), Some(&Value::Time(9000)));
        // Distinct keys and counts equal the per-event rows'.
        let mut per_event: HashMap<String, u64> = HashMap::new();
        for r in recs.iter().filter(|r| r.schema.path == "modbus") {
            *per_event
                .entry(format!("{:?}{:?}", r.get("uid"), r.get("func")))
                .or_default() += 1;
        }
        let mut folded: HashMap<String, u64> = HashMap::new();
        for r in &out[1..] {
            let Some(Value::Count(c)) = r.get("count") else {
                panic!()
            };
            folded.insert(format!("{:?}{:?}", r.get("uid"), r.get("func")), *c);
        }
        assert_eq!(per_event, folded);
    }

    fn per_event(n: u64) -> Vec<Record> {
        // Keys repeat with a period that is not the workers' split, and a
        // conn row now and then.
        (0..n)
            .map(|i| {
                if i % 7 == 3 {
                    Record {
                        schema: &CONN,
                        values: vec![Value::Time(i as i64), format!("C{i}").into()],
                    }
                } else {
                    let func = ["READ", "WRITE", "DIAG", "READ_MULTI"][(i % 4) as usize];
                    modbus(i as i64 * 10, i, func)
                }
            })
            .collect()
    }

    #[test]
    fn a_folding_sink_folds_as_records_come() {
        let recs = per_event(1000);
        let mut sink = crate::sink::RecordSink::folding(10_000);
        for r in recs.clone() {
            sink.push(r);
        }
        // Four operations held as four rows, whatever the traffic.
        assert_eq!(
            sink.len(),
            recs.iter().filter(|r| r.schema.path == "conn").count() + 4
        );
        assert_eq!(sink.take(), aggregate(recs));
        assert!(sink.is_empty());
    }

    #[test]
    fn a_full_folding_sink_still_counts_known_keys() {
        let mut sink = crate::sink::RecordSink::folding(2);
        for (i, func) in ["READ", "WRITE", "DIAG", "READ", "WRITE"]
            .iter()
            .enumerate()
        {
            sink.push(modbus(i as i64, i as u64, func));
        }
        // DIAG found the sink full; the repeats of READ and WRITE did not
        // need room.
        assert_eq!(sink.dropped(), 1);
        let counts: Vec<_> = sink
            .take()
            .iter()
            .map(|r| (r.get("func").cloned(), r.get("count").cloned()))
            .collect();
        assert_eq!(
            counts,
            [
                (Some(Value::from("READ")), Some(Value::Count(2))),
                (Some(Value::from("WRITE")), Some(Value::Count(2))),
            ]
        );
    }

    #[test]
    fn refolding_workers_rows_equals_folding_their_concatenation() {
        let recs = per_event(500);
        // Three workers, each with its share of the traffic.
        let mut joined = Vec::new();
        let mut by_worker = Vec::new();
        for w in 0..3 {
            let share: Vec<Record> = recs
                .iter()
                .enumerate()
                .filter(|(i, _)| (i / 5) % 3 == w)
                .map(|(_, r)| r.clone())
                .collect();
            by_worker.extend(aggregate(share.clone()));
            joined.extend(share);
        }
        assert_eq!(joined.len(), recs.len());
        assert_eq!(refold(by_worker), aggregate(joined));
    }
}
