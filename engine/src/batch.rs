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

use osect_wire::batch::{
    get_key_value, intern_schema, put_key_ref, put_key_value, KeyValue, Stager, CHUNK_BYTES,
    MAX_STR_BYTES,
};
use osect_wire::{FieldType, LogSchema, Record, Text, Value};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

/// The folded form of a schema: key fields, then `ts_end` and `count`.
struct Form {
    schema: &'static LogSchema,
    /// Indexes of the fields kept, in order (`ts` first), in the rows the
    /// form folds.
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

/// The form of rows folded already (another worker's): their key is every
/// field before `ts_end` and `count`.
fn folded_form(schema: &'static LogSchema) -> Option<Form> {
    let n = schema.fields.len();
    let folded = crate::protocols::folds(schema.path)
        && n >= 3
        && schema.index_of("ts_end") == Some(n - 2)
        && schema.index_of("count") == Some(n - 1);
    folded.then(|| Form {
        schema,
        keep: (0..n - 2).collect(),
    })
}

/// A row's times are held as microseconds; a `ts` that is not a time (the
/// schema says it is) is held as unset.
const NO_TIME: i64 = i64::MIN;

fn time_of(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Time(t)) => *t,
        _ => NO_TIME,
    }
}

fn time_value(t: i64) -> Value {
    if t == NO_TIME {
        Value::Unset
    } else {
        Value::Time(t)
    }
}

const NIL: u32 = u32::MAX;

/// Strings interned in an interval: past this many, new ones are held in
/// each key that has them.
const MAX_STRINGS: usize = 1 << 16;

/// The strings of an interval's keys, each held once (a connection's uid,
/// a function's name: met in many rows) and numbered. A string has one
/// form for the whole interval, by number when it was met while there was
/// room and in place otherwise, so equal keys stay equal bytes.
#[derive(Default)]
struct Strings {
    /// First string of each hash; strings with the same hash are chained.
    index: FxHashMap<u64, u32>,
    next: Vec<u32>,
    strs: Vec<Text>,
    /// Bytes of the strings held outside their `Text`.
    heap: usize,
}

impl Strings {
    /// The number of `s`, given one if there is room.
    fn id(&mut self, s: &Text) -> Option<u32> {
        let mut h = FxHasher::default();
        h.write(s.as_bytes());
        let hash = h.finish();
        let head = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut at = head;
        while at != NIL {
            if self.strs[at as usize] == *s {
                return Some(at);
            }
            at = self.next[at as usize];
        }
        if self.strs.len() >= MAX_STRINGS {
            return None;
        }
        let id = self.strs.len() as u32;
        let s = s.clone();
        if s.is_heap_allocated() {
            self.heap += s.capacity();
        }
        self.strs.push(s);
        self.next.push(head);
        self.index.insert(hash, id);
        Some(id)
    }
}

/// A folded row. Its key fields are bytes of [`Rows::arena`], from `start`
/// to the next row's `start`, each written by `put_key_value` or, for an
/// interned string, `put_key_ref`: equal bytes are equal keys, so a key is
/// compared in place and never held as `Value`s (a row takes its key's
/// encoded size and 40 bytes, where a `Record` took about a kilobyte).
struct Row {
    ts: i64,
    ts_end: i64,
    count: u64,
    start: u32,
    /// The next row whose key hashed the same.
    next: u32,
    form: u32,
}

/// What folding a row did.
enum Folded {
    Counted,
    New,
    /// The first of its key, with no room for it.
    Dropped,
    /// A key value the batch format cannot hold (a string over its limit).
    Unencodable,
}

/// The rows of an interval and the index of their keys.
#[derive(Default)]
struct Rows {
    /// First row of each key hash; rows with the same hash are chained.
    index: FxHashMap<u64, u32>,
    rows: Vec<Row>,
    arena: Vec<u8>,
    strings: Strings,
}

impl Rows {
    /// Row `i`'s key bytes, with `end` the arena's held length.
    fn key(&self, i: usize, end: usize) -> &[u8] {
        let s = self.rows[i].start as usize;
        let e = self.rows.get(i + 1).map_or(end, |r| r.start as usize);
        &self.arena[s..e]
    }

    /// Counts `count` occurrences of the key `key` of form `form` seen from
    /// `ts` to `ts_end`.
    fn fold<'v>(
        &mut self,
        form: u32,
        key: impl Iterator<Item = &'v Value>,
        (ts, ts_end, count): (i64, i64, u64),
        room: bool,
    ) -> Folded {
        let held = self.arena.len();
        for v in key {
            if let Value::Str(s) = v {
                if s.len() > MAX_STR_BYTES {
                    self.arena.truncate(held);
                    return Folded::Unencodable;
                }
                if let Some(id) = self.strings.id(s) {
                    put_key_ref(&mut self.arena, id);
                    continue;
                }
            }
            if put_key_value(&mut self.arena, v).is_err() {
                self.arena.truncate(held);
                return Folded::Unencodable;
            }
        }
        let mut h = FxHasher::default();
        form.hash(&mut h);
        h.write(&self.arena[held..]);
        let hash = h.finish();
        let head = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut at = head;
        while at != NIL {
            let i = at as usize;
            if self.rows[i].form == form && self.key(i, held) == &self.arena[held..] {
                self.arena.truncate(held);
                let row = &mut self.rows[i];
                row.ts_end = ts_end;
                row.count += count;
                return Folded::Counted;
            }
            at = self.rows[i].next;
        }
        let Ok(start) = u32::try_from(held) else {
            self.arena.truncate(held);
            return Folded::Dropped;
        };
        if !room || self.rows.len() >= NIL as usize || u32::try_from(self.arena.len()).is_err() {
            self.arena.truncate(held);
            return Folded::Dropped;
        }
        self.index.insert(hash, self.rows.len() as u32);
        self.rows.push(Row {
            ts,
            ts_end,
            count,
            start,
            next: head,
            form,
        });
        Folded::New
    }

    /// The key value at `*at` in the arena, moving `*at` past it. The
    /// bytes are this table's own, so they decode (were one not to, the
    /// value would be unset).
    fn value_at(&self, at: &mut usize) -> Value {
        match get_key_value(&self.arena, at) {
            Ok(KeyValue::Value(v)) => v,
            Ok(KeyValue::Ref(id)) => self
                .strings
                .strs
                .get(id as usize)
                .map_or(Value::Unset, |s| Value::Str(s.clone())),
            Err(_) => Value::Unset,
        }
    }

    /// Bytes the rows take in memory: what is written of the arena, the
    /// rows, the key index and the strings (room reserved but not written
    /// is not resident; a hash table writes its control bytes whole).
    fn bytes(&self) -> usize {
        fn table<K, V>(t: &FxHashMap<K, V>) -> usize {
            t.capacity() + t.len() * std::mem::size_of::<(K, V)>()
        }
        let s = &self.strings;
        self.arena.len()
            + self.rows.len() * std::mem::size_of::<Row>()
            + table(&self.index)
            + s.strs.len() * std::mem::size_of::<Text>()
            + s.heap
            + s.next.len() * std::mem::size_of::<u32>()
            + table(&s.index)
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.index.clear();
        self.arena.clear();
        self.strings.index.clear();
        self.strings.next.clear();
        self.strings.strs.clear();
        self.strings.heap = 0;
        // The tables shrink back after a burst of distinct keys.
        if self.rows.capacity() > 4096
            || self.arena.capacity() > 1 << 20
            || self.strings.strs.capacity() > 4096
        {
            *self = Rows::default();
        }
    }
}

/// What [`Folder::push`] did with a record.
pub enum Pushed {
    /// Counted into a row the folder already held.
    Counted,
    /// The first of its key: a new row.
    New,
    /// The first of its key, but the folder was full: dropped.
    Dropped,
    /// Not a folded log (or a key the batch format cannot hold): handed
    /// back.
    Pass(Record),
}

/// An interval's folded rows, filled as records are made.
#[derive(Default)]
pub struct Folder {
    forms: Vec<Form>,
    /// Each log's form in `forms` (`None`: not folded), by schema address.
    by_schema: FxHashMap<usize, Option<u32>>,
    rows: Rows,
    /// Rows of the open interval were written as a part already
    /// ([`Folder::stage_part`]).
    parted: bool,
}

impl Folder {
    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows.rows.len()
    }

    /// Bytes the rows take in memory (their keys, the rows, the index of
    /// keys, the interned strings).
    pub fn bytes(&self) -> usize {
        self.rows.bytes()
    }

    /// Logs whose rows a part may hold: the sections it may add.
    pub fn forms(&self) -> usize {
        self.forms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.rows.is_empty()
    }

    /// The form of `schema`'s rows, made by `make` the first time.
    fn form_of(
        &mut self,
        schema: &'static LogSchema,
        make: fn(&'static LogSchema) -> Option<Form>,
    ) -> Option<u32> {
        let forms = &mut self.forms;
        *self
            .by_schema
            .entry(schema as *const LogSchema as usize)
            .or_insert_with(|| {
                let f = make(schema)?;
                forms.push(f);
                Some(forms.len() as u32 - 1)
            })
    }

    /// Folds `rec` if its log folds; `room` says whether a new row may be
    /// added.
    pub fn push(&mut self, rec: Record, room: bool) -> Pushed {
        let Some(form) = self.form_of(rec.schema, form) else {
            return Pushed::Pass(rec);
        };
        let keep = &self.forms[form as usize].keep;
        let ts = time_of(rec.values.get(keep[0]));
        let key = keep[1..]
            .iter()
            .map(|&i| rec.values.get(i).unwrap_or(&Value::Unset));
        let pushed = match self.rows.fold(form, key, (ts, ts, 1), room) {
            Folded::Counted => Pushed::Counted,
            Folded::New => Pushed::New,
            Folded::Dropped => Pushed::Dropped,
            Folded::Unencodable => return Pushed::Pass(rec),
        };
        rec.free();
        pushed
    }

    /// Joins a row folded elsewhere (another worker's, of the same
    /// interval and later in order): its count adds up, its `ts_end` is the
    /// later occurrence, `ts` stays the first. Returns it when it is not a
    /// folded row.
    fn join(&mut self, rec: Record) -> Option<Record> {
        let Some(form) = self.form_of(rec.schema, folded_form) else {
            return Some(rec);
        };
        let n = rec.values.len();
        let (Some(Value::Count(count)), true) = (rec.values.last(), n == rec.schema.fields.len())
        else {
            return Some(rec);
        };
        let times = (
            time_of(rec.values.first()),
            time_of(rec.values.get(n - 2)),
            *count,
        );
        match self
            .rows
            .fold(form, rec.values[1..n - 2].iter(), times, true)
        {
            Folded::Unencodable => Some(rec),
            _ => {
                rec.free();
                None
            }
        }
    }

    /// Row `i` as a record of its folded log.
    fn record(&self, i: usize) -> Record {
        let row = &self.rows.rows[i];
        let f = &self.forms[row.form as usize];
        let mut values = Vec::with_capacity(f.schema.fields.len());
        values.push(time_value(row.ts));
        let mut at = row.start as usize;
        for _ in 1..f.keep.len() {
            values.push(self.rows.value_at(&mut at));
        }
        values.push(time_value(row.ts_end));
        values.push(Value::Count(row.count));
        Record {
            schema: f.schema,
            values,
        }
    }

    /// Appends the rows to `out` in order of first occurrence and empties
    /// the folder.
    pub fn take_into(&mut self, out: &mut Vec<Record>) {
        out.extend((0..self.len()).map(|i| self.record(i)));
        self.rows.clear();
        self.parted = false;
    }

    /// Writes the rows into `st` and empties the folder, at the interval's
    /// close: the same body as [`Folder::take_into`]'s records pushed into
    /// `st`. Many rows go as sections of their own, each log's written
    /// column by column without making records, the logs in order of their
    /// first row; a few (keys under a chunk of the stager's) are pushed as
    /// records one at a time, so the nearly empty interval's body stays the
    /// one zstd frame it was. After parts, the rest is the last part.
    /// Returns the rows `st` refused, and the first refusal.
    pub fn stage_into(&mut self, st: &mut Stager) -> (u64, Option<osect_wire::batch::EncodeError>) {
        let parted = std::mem::take(&mut self.parted);
        if !parted && self.rows.arena.len() < CHUNK_BYTES {
            let (mut lost, mut first) = (0, None);
            for i in 0..self.len() {
                if let Err(e) = st.push(self.record(i)) {
                    lost += 1;
                    first.get_or_insert(e);
                }
            }
            self.rows.clear();
            return (lost, first);
        }
        let r = self.stage_sections(st);
        self.rows.clear();
        r
    }

    /// Writes the rows into `st` as a part of the interval's folded rows,
    /// each log's a section after its earlier parts, and folds afresh with
    /// the memory given back: a key met again makes a row of its own in the
    /// next part, which the batch's decoder joins with this one
    /// (`osect_wire::batch`, format version 3). Returns what
    /// [`Folder::stage_into`] does.
    pub fn stage_part(&mut self, st: &mut Stager) -> (u64, Option<osect_wire::batch::EncodeError>) {
        if self.is_empty() {
            return (0, None);
        }
        let r = self.stage_sections(st);
        self.rows = Rows::default();
        self.parted = true;
        r
    }

    /// Each log's rows as a section, the logs in order of their first row.
    fn stage_sections(&self, st: &mut Stager) -> (u64, Option<osect_wire::batch::EncodeError>) {
        let (mut lost, mut first) = (0, None);
        let mut by_form: Vec<Vec<u32>> = (0..self.forms.len()).map(|_| Vec::new()).collect();
        let mut order = Vec::new();
        for (i, row) in self.rows.rows.iter().enumerate() {
            let rows = &mut by_form[row.form as usize];
            if rows.is_empty() {
                order.push(row.form as usize);
            }
            rows.push(i as u32);
        }
        let mut cursors = Vec::new();
        for f in order {
            let rows = &by_form[f];
            if let Err(e) = self.stage_form(st, f, rows, &mut cursors) {
                lost += rows.len() as u64;
                first.get_or_insert(e);
            }
        }
        (lost, first)
    }

    /// The section of form `f`'s rows `rows`.
    fn stage_form(
        &self,
        st: &mut Stager,
        f: usize,
        rows: &[u32],
        cursors: &mut Vec<usize>,
    ) -> Result<(), osect_wire::batch::EncodeError> {
        let form = &self.forms[f];
        let all = &self.rows.rows;
        let mut w = st.section(form.schema, rows.len() as u64)?;
        for &i in rows {
            w.put(time_value(all[i as usize].ts))?;
        }
        // Each row's next key value in the arena, column after column.
        cursors.clear();
        cursors.extend(rows.iter().map(|&i| all[i as usize].start as usize));
        for _ in 1..form.keep.len() {
            for at in cursors.iter_mut() {
                w.put(self.rows.value_at(at))?;
            }
        }
        for &i in rows {
            w.put(time_value(all[i as usize].ts_end))?;
        }
        for &i in rows {
            w.put(Value::Count(all[i as usize].count))?;
        }
        w.finish()
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
        let mut sink = crate::sink::RecordSink::folding(10_000, usize::MAX);
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
    fn folded_rows_staged_are_the_rows_taken() {
        // A few rows (pushed as records), and 40,000 distinct ones (past a
        // chunk: sections written by column).
        let distinct: Vec<Record> = (0..40_000)
            .map(|i| modbus(i, i as u64, &format!("F{}", i % 20_011)))
            .chain((0..3).map(|i| modbus(i, 7, "F5")))
            .collect();
        for recs in [per_event(3000), distinct] {
            staged_as_taken(recs);
        }
    }

    fn staged_as_taken(recs: Vec<Record>) {
        use osect_wire::batch::{read_frame_info, Compressor, Decompressor, Header};
        let (mut a, mut b) = (
            crate::sink::RecordSink::folding(100_000, usize::MAX),
            crate::sink::RecordSink::folding(100_000, usize::MAX),
        );
        let (mut sa, mut sb) = (
            Stager::new(Compressor::new(3, None).unwrap()),
            Stager::new(Compressor::new(3, None).unwrap()),
        );
        for r in &recs {
            a.push(r.clone());
            b.push(r.clone());
            b.hand_off(|r| sb.push(r).unwrap());
        }
        // As records, then pushed; and held compactly, then staged.
        for r in a.take() {
            sa.push(r).unwrap();
        }
        let held = b.len();
        assert_eq!(b.stage_folded(&mut sb).0, 0);
        assert_eq!(b.len(), held);
        assert!(b.take().is_empty());
        assert!(b.is_empty());
        let frame = |st: &mut Stager| {
            st.take()
                .unwrap()
                .encode(
                    &Header {
                        device_id: "S1".into(),
                        ..Header::default()
                    },
                    &mut Decompressor::default(),
                )
                .unwrap()
        };
        let (fa, fb) = (frame(&mut sa), frame(&mut sb));
        assert_eq!(
            read_frame_info(&fa).unwrap().digest,
            read_frame_info(&fb).unwrap().digest
        );
        let got = osect_wire::batch::decode(&fb).unwrap().records;
        assert_eq!(got.len(), aggregate(recs).len());
    }

    /// `recs` through a folding sink of `capacity` rows whose folded rows
    /// may take `folded_bytes`, written as `run` writes them (records
    /// handed off as they come, a part when the folded rows fill their
    /// bytes, the rest at the close); the frame and the rows dropped.
    fn staged_frame(recs: &[Record], capacity: usize, folded_bytes: usize) -> (Vec<u8>, u64) {
        use osect_wire::batch::{Compressor, Decompressor, Header};
        let mut sink = crate::sink::RecordSink::folding(capacity, folded_bytes);
        let mut st = Stager::new(Compressor::new(3, None).unwrap());
        for r in recs {
            sink.push(r.clone());
            sink.hand_off(|r| st.push(r).unwrap());
            assert_eq!(sink.stage_folded_part(&mut st).0, 0);
        }
        assert_eq!(sink.stage_folded(&mut st).0, 0);
        assert!(sink.take().is_empty());
        let header = Header {
            device_id: "S1".into(),
            ..Header::default()
        };
        let frame = st
            .take()
            .unwrap()
            .encode(&header, &mut Decompressor::default())
            .unwrap();
        (frame, sink.dropped())
    }

    #[test]
    fn folded_rows_in_parts_decode_as_one_folding_of_the_interval() {
        use osect_wire::batch::{decode, read_frame_info, PARTS_VERSION};
        // 40,000 rows of 20,011 distinct keys, most met again later, and
        // connection rows between.
        let recs: Vec<Record> = (0..40_000)
            .map(|i| match i % 9 {
                4 => Record {
                    schema: &CONN,
                    values: vec![Value::Time(i), format!("C{i}").into()],
                },
                _ => modbus(i, i as u64, &format!("F{}", (i * 7) % 20_011)),
            })
            .collect();
        let (whole, dropped) = staged_frame(&recs, 1_000_000, usize::MAX);
        assert_eq!(dropped, 0);
        let want = decode(&whole).unwrap();
        assert_eq!(want.records, aggregate(recs.clone()));
        // Folding in 64 KiB: parts, each key once per part it was met in.
        let (parted, dropped) = staged_frame(&recs, 1_000_000, 64 << 10);
        assert_eq!(dropped, 0);
        let info = read_frame_info(&parted).unwrap();
        assert_eq!(parted[4], PARTS_VERSION);
        assert!(
            info.header.record_count > want.records.len() as u64 + 1_000,
            "{} rows written for {} folded",
            info.header.record_count,
            want.records.len()
        );
        // Decoded, the parts are joined: exactly the rows of one folding.
        assert_eq!(decode(&parted).unwrap().records, want.records);
        // Holding folding to that memory by its rows instead (the room the
        // 64 KiB held) drops keys.
        let (_, dropped) = staged_frame(&recs, 1_000, usize::MAX);
        assert!(dropped > 10_000, "{dropped}");
    }

    #[test]
    fn a_key_the_batch_cannot_hold_is_not_folded() {
        let long = "x".repeat(osect_wire::batch::MAX_STR_BYTES + 1);
        let mut folder = Folder::default();
        assert!(matches!(
            folder.push(modbus(1, 1, "READ"), true),
            Pushed::New
        ));
        let Pushed::Pass(r) = folder.push(modbus(2, 2, &long), true) else {
            panic!("folded a key the batch format cannot hold")
        };
        assert_eq!(r, modbus(2, 2, &long));
        // The row before it is whole.
        assert!(matches!(
            folder.push(modbus(3, 3, "READ"), true),
            Pushed::Counted
        ));
        let mut out = Vec::new();
        folder.take_into(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].get("count"), Some(&Value::Count(2)));
        assert_eq!(out[0].get("ts_end"), Some(&Value::Time(3)));
    }

    #[test]
    fn a_full_folding_sink_still_counts_known_keys() {
        let mut sink = crate::sink::RecordSink::folding(2, usize::MAX);
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
