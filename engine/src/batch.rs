//! The folding of an interval's records for its batch.
//!
//! # Aggregation of cyclic industrial operations
//!
//! A PLC polled ten times a second produces 600 identical-looking rows a
//! minute. With `batch.aggregate = true`, rows of the logs whose
//! descriptor says so ([`crate::protocols::folds`]) are folded per interval
//! into one row per distinct key, where the key is every field of the row except `ts` and the
//! per-transaction fields in [`PER_EVENT_FIELDS`] (transaction and invoke
//! ids, sequence numbers: they change on every poll and say nothing about
//! the operation). The folded row keeps the key fields, `ts` of the first
//! occurrence, and gains `ts_end` (the last) and `count`. The set of distinct
//! keys and their counts is exactly what the per-event rows give; order is
//! by first occurrence. Logs that already count their rows (they have a
//! `count` field, like the CC-Link logs) and every IT log (conn, dns, ...)
//! pass through unchanged. Locally (`replay`) per-event rows stay available.

use osect_wire::batch::intern_schema;
use osect_wire::{FieldType, Key, LogSchema, Record, Value};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Fields left out of the aggregation key: they differ per transaction.
pub const PER_EVENT_FIELDS: &[&str] = &[
    "ts",
    "tid",
    "trans_id",
    "transaction_id",
    "invoke_id",
    "sequence",
    "seq",
    "serial",
    "pdu_reference",
    "sid",
    "apci_tx",
    "apci_rx",
    "cip_sequence_count",
    "sender_context",
];

/// The folded form of a schema: key fields, then `ts_end` and `count`.
struct Folded {
    schema: &'static LogSchema,
    /// Indexes of the original fields kept, in order (`ts` first).
    keep: Vec<usize>,
    ts: usize,
}

fn folded(schema: &'static LogSchema) -> Option<Folded> {
    // The registry's test holds every folded log to having no `count` of
    // its own (the CC-Link and FINS logs count their rows already).
    if !crate::protocols::folds(schema.path) {
        return None;
    }
    let ts = schema.index_of("ts")?;
    let mut keep = vec![ts];
    keep.extend(
        (0..schema.fields.len()).filter(|i| !PER_EVENT_FIELDS.contains(&schema.fields[*i].name)),
    );
    let mut fields: Vec<(String, FieldType)> = keep
        .iter()
        .map(|i| (schema.fields[*i].name.to_owned(), schema.fields[*i].ty))
        .collect();
    fields.push(("ts_end".into(), FieldType::Time));
    fields.push(("count".into(), FieldType::Count));
    let schema = intern_schema(schema.path, &fields).ok()?;
    Some(Folded { schema, keep, ts })
}

/// Folds the rows of aggregated logs (see the module docs). Other rows keep
/// their order; folded rows follow in order of first occurrence.
pub fn aggregate(records: Vec<Record>) -> Vec<Record> {
    let mut forms: HashMap<*const LogSchema, Option<Folded>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    let mut rows: Vec<Record> = Vec::new();
    let mut index: HashMap<(*const LogSchema, Key), usize> = HashMap::new();
    for rec in records {
        let form = forms
            .entry(rec.schema as *const LogSchema)
            .or_insert_with(|| folded(rec.schema));
        let Some(f) = form else {
            out.push(rec);
            continue;
        };
        let ts = rec.values.get(f.ts).cloned().unwrap_or(Value::Unset);
        let key = Key(f.keep[1..]
            .iter()
            .map(|i| rec.values.get(*i).cloned().unwrap_or(Value::Unset))
            .collect());
        match index.entry((f.schema as *const LogSchema, key)) {
            Entry::Occupied(e) => {
                let row = &mut rows[*e.get()];
                let n = row.values.len();
                row.values[n - 2] = ts;
                if let Value::Count(c) = &mut row.values[n - 1] {
                    *c += 1;
                }
            }
            Entry::Vacant(e) => {
                let key = &e.key().1 .0;
                let mut values = Vec::with_capacity(key.len() + 3);
                values.push(ts.clone());
                values.extend_from_slice(key);
                values.push(ts);
                values.push(Value::Count(1));
                e.insert(rows.len());
                rows.push(Record {
                    schema: f.schema,
                    values,
                });
            }
        }
    }
    out.extend(rows);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use osect_wire::record::field;

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
}
