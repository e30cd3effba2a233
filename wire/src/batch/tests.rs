//! Round trips, refusals and limits of the whole format.

use super::body::decode_body;
use super::codec::{put_str, put_varint, put_zigzag};
use super::header::{self, encode_header};
use super::*;
use crate::record::{field, FieldType, LogSchema, Record, Value};

static CONN: LogSchema = LogSchema {
    path: "conn",
    fields: &[
        field("ts", FieldType::Time),
        field("uid", FieldType::String),
        field("id.orig_h", FieldType::Addr),
        field("id.orig_p", FieldType::Port),
        field("duration", FieldType::Interval),
        field("orig_bytes", FieldType::Count),
        field("local_orig", FieldType::Bool),
        field("tunnel_parents", FieldType::SetString),
        field("score", FieldType::Double),
        field("delta", FieldType::Int),
        field("counts", FieldType::VectorCount),
        field("rtts", FieldType::VectorInterval),
    ],
};
static MODBUS: LogSchema = LogSchema {
    path: "modbus",
    fields: &[
        field("ts", FieldType::Time),
        field("func", FieldType::String),
    ],
};

fn sample() -> Batch {
    let conn = |i: i64| Record {
        schema: &CONN,
        values: vec![
            Value::Time(1_700_000_000_000_000 + i * 1_234),
            Value::from(format!("C{i}x")),
            Value::Addr(if i % 2 == 0 {
                "192.168.0.10".parse().unwrap()
            } else {
                "fe80::1".parse().unwrap()
            }),
            Value::Port(502),
            Value::Interval(-5 + i),
            if i == 1 {
                Value::Unset
            } else {
                Value::Count(i as u64 * 1000)
            },
            Value::Bool(i % 3 == 0),
            Value::Strings(vec!["a,b".into(), String::new()]),
            Value::Double(0.25 * i as f64),
            Value::Int(-i),
            Value::Counts(vec![1, u64::MAX]),
            Value::Intervals(vec![-1, 7]),
        ],
    };
    let modbus = |i: i64| Record {
        schema: &MODBUS,
        values: vec![
            Value::Time(1_700_000_000_000_000 + i),
            Value::Str("READ_COILS".into()),
        ],
    };
    Batch {
        header: Header {
            device_id: "OSS-0001".into(),
            site: "plant-a".into(),
            seq: 42,
            interval_start_us: 1_700_000_000_000_000,
            interval_end_us: 1_700_000_060_000_000,
            agent_version: "0.1.0".into(),
            aggregated: true,
            record_count: 5,
            health: Health {
                packets: 1000,
                bytes: 123_456,
                kernel_drops: 3,
                spool_evictions: 2,
                lost_intervals: 1,
                lost_interval_start_us: 1_699_999_940_000_000,
                lost_packets: 77,
                ..Health::default()
            },
            unknown: Vec::new(),
        },
        records: vec![conn(0), conn(1), conn(2), modbus(0), modbus(1)],
    }
}

#[test]
fn round_trip_with_and_without_dictionary() {
    let b = sample();
    for dict in std::iter::once(None).chain(DICTIONARIES.iter().map(Some)) {
        let bytes = encode(&b, 3, dict).unwrap();
        let d = decode(&bytes).unwrap();
        assert_eq!(d, b);
        let info = read_frame_info(&bytes).unwrap();
        assert_eq!(info.header, b.header);
    }
}

#[test]
fn digest_is_independent_of_level() {
    let b = sample();
    let a = read_frame_info(&encode(&b, 1, None).unwrap())
        .unwrap()
        .digest;
    let c = read_frame_info(&encode(&b, 19, DICTIONARIES.first()).unwrap())
        .unwrap()
        .digest;
    assert_eq!(a, c);
    let mut b2 = b.clone();
    b2.header.seq += 1;
    assert_ne!(
        read_frame_info(&encode(&b2, 1, None).unwrap())
            .unwrap()
            .digest,
        a
    );
}

#[test]
fn decoded_schema_is_interned_and_writes_like_the_original() {
    let bytes = encode(&sample(), 3, None).unwrap();
    let d1 = decode(&bytes).unwrap();
    let d2 = decode(&bytes).unwrap();
    assert!(std::ptr::eq(d1.records[0].schema, d2.records[0].schema));
    let mut a = String::new();
    let mut b = String::new();
    crate::zeek::tsv_row(&mut a, &d1.records[1]);
    crate::zeek::tsv_row(&mut b, &sample().records[1]);
    assert_eq!(a, b);
}

#[test]
fn every_truncation_and_every_flipped_byte_is_refused() {
    let bytes = encode(&sample(), 3, None).unwrap();
    for n in 0..bytes.len() {
        assert!(decode(&bytes[..n]).is_err(), "truncated to {n} accepted");
    }
    for i in 0..bytes.len() {
        let mut c = bytes.clone();
        c[i] ^= 0x5a;
        assert!(decode(&c).is_err(), "byte {i} flipped accepted");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(decode(&long), Err(DecodeError::Invalid { .. })));
}

#[test]
fn limits_are_enforced_before_allocation() {
    // A frame declaring a 2^40-byte body.
    let mut f = Vec::new();
    f.extend_from_slice(&MAGIC);
    f.push(FULL_VERSION);
    f.push(0);
    f.extend_from_slice(&0u32.to_le_bytes());
    let h = encode_header(&sample().header);
    put_varint(&mut f, h.len() as u64);
    f.extend_from_slice(&h);
    put_varint(&mut f, 1 << 40);
    let e = decode(&f).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::TooLarge {
                what: "body length",
                ..
            }
        ),
        "{e}"
    );
    // A body claiming more rows than it has bytes.
    let mut body = Vec::new();
    put_varint(&mut body, 1);
    put_str(&mut body, "x");
    put_varint(&mut body, 1);
    put_str(&mut body, "ts");
    body.push(0);
    put_varint(&mut body, 1_000_000);
    assert!(matches!(
        decode_body(&body, &Limits::FORMAT, &AnySchema, false),
        Err(DecodeError::TooLarge {
            what: "row count",
            ..
        })
    ));
    // Fewer rows than that, but still more values than bytes left.
    body.truncate(body.len() - 3);
    put_varint(&mut body, 5);
    assert!(matches!(
        decode_body(&body, &Limits::FORMAT, &AnySchema, false),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn replies_round_trip() {
    for r in [
        Reply::Stored,
        Reply::Malformed("digest".into()),
        Reply::Refused("device OSS-2 is not OSS-1".into()),
        Reply::Retry("disk".into()),
        Reply::NeedFull("no batch 7".into()),
    ] {
        assert_eq!(Reply::decode(&r.encode()).unwrap(), r);
    }
    assert!(Reply::decode(&[9, 0]).is_err());
    assert!(Reply::decode(&[0, 5, b'a']).is_err());
}

#[test]
fn wrong_version_and_magic_are_named() {
    let mut bytes = encode(&sample(), 3, None).unwrap();
    bytes[4] = 9;
    assert!(decode(&bytes)
        .unwrap_err()
        .to_string()
        .contains("version 9"));
    bytes[0] = b'X';
    assert!(matches!(decode(&bytes), Err(DecodeError::BadMagic)));
}

/// The encoding of a known batch, pinned: a change here changes every
/// digest the agents and collectors compare, so it must be deliberate.
#[test]
fn encoding_is_stable() {
    let b = sample();
    assert_eq!(
        hex(&encode_header(&b.header)),
        "084f53532d3030303107706c616e742d612a8080f28183898506809c8ebb8389850605302e312e30\
         010510e807c0c40703000000000000000200014d000080e4d5c882898506"
    );
    let info = read_frame_info(&encode(&b, 3, None).unwrap()).unwrap();
    assert_eq!(
        hex(&info.digest),
        "eb6ae813620b87da78ef5ca040e434a40e89a1770e4915a57c74807269fdee74"
    );
}

/// Takes only `modbus` with its two fields, under the test's own schema.
struct OnlyModbus;

impl SchemaPolicy for OnlyModbus {
    fn resolve(
        &self,
        path: &str,
        fields: &[(String, FieldType)],
    ) -> Result<&'static LogSchema, Refusal> {
        let same = fields.len() == MODBUS.fields.len()
            && fields
                .iter()
                .zip(MODBUS.fields)
                .all(|((n, t), f)| n == f.name && *t == f.ty);
        if path == MODBUS.path && same {
            Ok(&MODBUS)
        } else {
            Err(Refusal {
                reason: "unknown log",
                detail: path.to_owned(),
            })
        }
    }
}

#[test]
fn a_policy_decides_the_schemas_and_the_limits() {
    let mut b = sample();
    let bytes = encode(&b, 3, None).unwrap();
    match decode_with(&bytes, &Limits::FORMAT, &OnlyModbus) {
        Err(DecodeError::Refused(r)) => {
            assert_eq!((r.reason, r.detail.as_str()), ("unknown log", "conn"))
        }
        other => panic!("conn taken: {other:?}"),
    }
    b.records.retain(|r| r.schema.path == "modbus");
    let bytes = encode(&b, 3, None).unwrap();
    let d = decode_with(&bytes, &Limits::FORMAT, &OnlyModbus).unwrap();
    assert!(d.records.iter().all(|r| std::ptr::eq(r.schema, &MODBUS)));
    let limited = |l: Limits| match decode_with(&bytes, &l, &OnlyModbus) {
        Err(DecodeError::TooLarge { what, .. }) => what,
        other => panic!("{l:?} not enforced: {other:?}"),
    };
    let f = Limits::FORMAT;
    assert_eq!(limited(Limits { records: 1, ..f }), "record count");
    assert_eq!(limited(Limits { str_bytes: 9, ..f }), "string value");
    assert_eq!(
        limited(Limits {
            body_bytes: 10,
            ..f
        }),
        "body length"
    );
    // Exactly at each limit is taken.
    let body = encode_body(&b.records).unwrap().len();
    let exact = Limits {
        records: 2,
        str_bytes: "READ_COILS".len(),
        body_bytes: body,
    };
    assert_eq!(decode_with(&bytes, &exact, &OnlyModbus).unwrap(), d);
}

/// What an agent one minor version ahead sends: a health counter appended
/// and an extension field. Today's decoder keeps both as unknown, reads
/// every known field as before, and encodes them back byte for byte.
#[test]
fn a_header_from_a_newer_minor_version_is_read_and_its_extras_kept() {
    let today = sample();
    let mut newer = today.clone();
    newer.header.health.unknown = vec![12_345];
    newer.header.unknown = vec![UnknownField {
        tag: 1,
        value: b"boot-7f3a".to_vec(),
    }];
    let old = encode_header(&today.header);
    let new = encode_header(&newer.header);
    // The newer header is today's with the counter count one more, one more
    // counter before the lost interval start, and the extension at the end.
    let mut lost = Vec::new();
    put_zigzag(&mut lost, today.header.health.lost_interval_start_us);
    let mut counters = Vec::new();
    for c in today.header.health.counters() {
        put_varint(&mut counters, c);
    }
    let fixed = old.len() - lost.len() - counters.len() - 1;
    let mut expected = old[..fixed].to_vec();
    expected.push(Health::COUNTERS.len() as u8 + 1);
    expected.extend_from_slice(&counters);
    put_varint(&mut expected, 12_345);
    expected.extend_from_slice(&lost);
    expected.extend_from_slice(&[1, 9]);
    expected.extend_from_slice(b"boot-7f3a");
    assert_eq!(new, expected);
    let bytes = encode(&newer, 3, None).unwrap();
    let d = decode(&bytes).unwrap();
    assert_eq!(d, newer);
    assert_eq!(d.header.health.packets, 1000);
    assert_eq!(d.header.health.lost_packets, 77);
    assert_eq!(
        d.header.health.lost_interval_start_us,
        1_699_999_940_000_000
    );
    assert_eq!(encode_header(&d.header), new);
    // An agent one counter behind (the header as it sent it before the
    // last counter was appended): read with that counter 0, and written
    // back to the bytes it came in, so its digest holds.
    let mut older = old[..fixed].to_vec();
    older.push(Health::COUNTERS.len() as u8 - 1);
    older.extend_from_slice(&counters[..counters.len() - 1]);
    older.extend_from_slice(&lost);
    let h = header::decode_header(&older).unwrap();
    assert_eq!(h.health.absent, 1);
    assert_eq!(h.health.dpd_buffers_refused, 0);
    assert_eq!(h.health.lost_packets, 77);
    assert_eq!(encode_header(&h), older);
    // Fewer counters than version 1 has is not a newer agent: refused.
    let mut short = Vec::new();
    put_str(&mut short, "OSS-1");
    put_str(&mut short, "");
    short.extend_from_slice(&[1, 0, 0]);
    put_str(&mut short, "0.1.0");
    short.extend_from_slice(&[0, 0, 13]);
    short.extend_from_slice(&[0; 14]);
    let e = header::decode_header(&short).unwrap_err().to_string();
    assert!(
        e.contains("13 health counters, version 1 has at least 14"),
        "{e}"
    );
    // An extension cut short is refused.
    let mut cut = old.clone();
    cut.extend_from_slice(&[2, 5, b'a']);
    assert!(header::decode_header(&cut).is_err());
}

/// A base of 40 polled operations and the next interval: most rows
/// unchanged but for their times, one count changed, one row gone, one new
/// row, one row twice, and the order changed.
fn base_and_next() -> (Base, Batch) {
    let op = |i: u64, t: i64, n: u64| Record {
        schema: &MODBUS_FOLDED,
        values: vec![
            Value::Time(t + i as i64 * 1_000),
            Value::Addr("10.0.0.5".parse().unwrap()),
            Value::Str(format!("READ_HOLDING_REGISTERS unit {i}").into()),
            Value::Count(i * 10),
            Value::Time(t + 59_000_000 + i as i64),
            Value::Count(n),
        ],
    };
    let t0 = 1_700_000_000_000_000;
    let mut base = sample();
    base.records.extend((0..40).map(|i| op(i, t0, 600)));
    let base = Base::from_frame(&encode(&base, 3, None).unwrap()).unwrap();
    let t1 = t0 + 60_000_000;
    let mut next = sample();
    next.header.seq = 43;
    next.records.truncate(4);
    next.records[0].values[5] = Value::Count(77_777);
    let mut ops: Vec<Record> = (0..40)
        .filter(|i| *i != 7)
        .map(|i| op(i, t1, 600))
        .collect();
    ops[3].values[5] = Value::Count(599);
    ops.swap(10, 20);
    ops.push(op(99, t1, 1));
    ops.push(op(5, t1, 600));
    next.records.extend(ops);
    next.header.record_count = next.records.len() as u64;
    (base, next)
}

static MODBUS_FOLDED: LogSchema = LogSchema {
    path: "modbus",
    fields: &[
        field("ts", FieldType::Time),
        field("id.resp_h", FieldType::Addr),
        field("func", FieldType::String),
        field("address", FieldType::Count),
        field("ts_end", FieldType::Time),
        field("count", FieldType::Count),
    ],
};

#[test]
fn a_delta_resolves_to_its_batch_with_the_full_digest_in_fewer_bytes() {
    let (base, next) = base_and_next();
    let full = encode(&next, 3, None).unwrap();
    let delta = encode_delta(&next, &base, 3, None).unwrap();
    let info = read_frame_info(&delta).unwrap();
    assert_eq!(info.base, Some(base.reference()));
    assert_eq!(info.digest, read_frame_info(&full).unwrap().digest);
    let back = decode_delta_with(&delta, &base, &Limits::FORMAT, &AnySchema).unwrap();
    assert_eq!(back, next);
    // Encoded again in full, the resolved batch is the full batch's bytes.
    assert_eq!(encode(&back, 3, None).unwrap(), full);
    // A full frame decodes with or without a base.
    assert_eq!(
        decode_delta_with(&full, &base, &Limits::FORMAT, &AnySchema).unwrap(),
        next
    );
    let (body, dbody) = (
        encode_body(&next.records).unwrap(),
        super::delta::encode_delta_body(&next.records, &base.batch.records).unwrap(),
    );
    assert!(
        dbody.len() * 3 < body.len() && delta.len() < full.len(),
        "delta body {} of full {}, frame {} of {}",
        dbody.len(),
        body.len(),
        delta.len(),
        full.len()
    );
}

#[test]
fn a_delta_decodes_only_on_its_own_base() {
    let (base, next) = base_and_next();
    let delta = encode_delta(&next, &base, 3, None).unwrap();
    assert!(matches!(decode(&delta), Err(DecodeError::NeedsBase(42))));
    let mut other = base.clone();
    other.batch.header.seq = 41;
    assert!(matches!(
        decode_delta_with(&delta, &other, &Limits::FORMAT, &AnySchema),
        Err(DecodeError::BaseMismatch { want: 42, have: 41 })
    ));
    let mut other = base.clone();
    other.digest[0] ^= 1;
    assert!(matches!(
        decode_delta_with(&delta, &other, &Limits::FORMAT, &AnySchema),
        Err(DecodeError::BaseMismatch { .. })
    ));
    // The same sequence number and digest but other rows (a forged base):
    // the resolved rows do not match the digest.
    let mut forged = base.clone();
    forged.batch.records[5].values[5] = Value::Count(1);
    assert!(matches!(
        decode_delta_with(&delta, &forged, &Limits::FORMAT, &AnySchema),
        Err(DecodeError::Digest)
    ));
    for n in 0..delta.len() {
        assert!(
            decode_delta_with(&delta[..n], &base, &Limits::FORMAT, &AnySchema).is_err(),
            "truncated to {n} accepted"
        );
    }
    for i in 0..delta.len() {
        let mut c = delta.clone();
        c[i] ^= 0x5a;
        assert!(
            decode_delta_with(&c, &base, &Limits::FORMAT, &AnySchema).is_err(),
            "byte {i} flipped accepted"
        );
    }
}

/// A delta frame around a hand-made body on `base`, its digest made up.
fn delta_frame(header: &Header, base: &Base, body: &[u8]) -> Vec<u8> {
    let h = encode_header(header);
    let digest = super::frame::content_digest(&h, body);
    Compressor::new(3, None)
        .unwrap()
        .frame(&h, Some(base.reference()), body, digest)
        .unwrap()
}

/// A delta body: one modbus section of `nrows`, its reference column and
/// its cells as given.
fn delta_body(nrows: u64, refs: &[u64], cells: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    put_varint(&mut o, 1);
    put_str(&mut o, "modbus");
    put_varint(&mut o, 2);
    put_str(&mut o, "ts");
    o.push(0);
    put_str(&mut o, "func");
    o.push(2);
    put_varint(&mut o, nrows);
    for r in refs {
        put_varint(&mut o, *r);
    }
    o.extend_from_slice(cells);
    o
}

#[test]
fn a_hostile_delta_is_refused_by_name() {
    // The base's modbus section has two rows (sample()).
    let base = Base::from_frame(&encode(&sample(), 3, None).unwrap()).unwrap();
    let mut h = sample().header;
    h.seq = 43;
    let err = |h: &Header, body: &[u8], limits: &Limits| {
        decode_delta_with(&delta_frame(h, &base, body), &base, limits, &AnySchema)
            .unwrap_err()
            .to_string()
    };
    h.record_count = 1;
    // Row 0 refers to base row 5 of 2.
    let e = err(&h, &delta_body(1, &[zz(5) + 1], &[16, 16]), &Limits::FORMAT);
    assert!(e.contains("refers to base row 5 of 2"), "{e}");
    // A negative reference.
    let e = err(
        &h,
        &delta_body(1, &[zz(-3) + 1], &[16, 16]),
        &Limits::FORMAT,
    );
    assert!(e.contains("refers to base row -3 of 2"), "{e}");
    // BASE on a new row.
    let e = err(&h, &delta_body(1, &[0], &[16, 16]), &Limits::FORMAT);
    assert!(e.contains("no base value"), "{e}");
    // A count's difference on a base time.
    let e = err(&h, &delta_body(1, &[1], &[17, 2, 16]), &Limits::FORMAT);
    assert!(e.contains("difference tag 17"), "{e}");
    // An unknown tag.
    let e = err(&h, &delta_body(1, &[1], &[21, 16]), &Limits::FORMAT);
    assert!(e.contains("value tag 21"), "{e}");
    // Many rows each repeating the base row: bounded by the limits on
    // records and on what the rows stand for.
    h.record_count = 100_000;
    let refs: Vec<u64> = std::iter::once(1)
        .chain(std::iter::repeat_n(zz(-1) + 1, 99_999))
        .collect();
    let cells = vec![16u8; 200_000];
    let few = Limits {
        records: 1_000,
        ..Limits::FORMAT
    };
    let e = err(&h, &delta_body(100_000, &refs, &cells), &few);
    assert!(e.contains("record count"), "{e}");
    let small = Limits {
        body_bytes: 400_000,
        ..Limits::FORMAT
    };
    let e = err(&h, &delta_body(100_000, &refs, &cells), &small);
    assert!(e.contains("resolved body"), "{e}");
    // Rows claimed beyond the bytes that hold them.
    let e = err(&h, &delta_body(1 << 40, &[], &[]), &Limits::FORMAT);
    assert!(e.contains("row count") || e.contains("truncated"), "{e}");
    // The honest version of the same: base row 1, resolved.
    h.record_count = 1;
    let hb = encode_header(&h);
    let want = vec![base.batch.records[4].clone()];
    let digest = super::frame::content_digest(&hb, &encode_body(&want).unwrap());
    let body = delta_body(1, &[zz(1) + 1], &[16, 16]);
    let f = Compressor::new(3, None)
        .unwrap()
        .frame(&hb, Some(base.reference()), &body, digest)
        .unwrap();
    let ok = decode_delta_with(&f, &base, &Limits::FORMAT, &AnySchema).unwrap();
    assert_eq!(ok.records, want);
}

fn zz(v: i64) -> u64 {
    super::codec::zigzag(v)
}

/// `n` connection rows whose columns differ row to row (so chunks fill),
/// with a modbus row every 97th and values that repeat now and then.
fn busy(n: i64) -> Vec<Record> {
    let mut out = sample().records;
    for i in 0..n {
        if i % 97 == 5 {
            let mut m = out[3].clone();
            m.values[0] = Value::Time(1_700_000_000_000_000 + i * 7);
            out.push(m);
            continue;
        }
        let mut r = out[(i % 3) as usize].clone();
        r.values[0] = Value::Time(1_700_000_000_000_000 + i * 311 - (i % 5) * 1000);
        r.values[1] = Value::from(format!("C{:x}", i.wrapping_mul(0x9e37_79b9)));
        r.values[5] = Value::Count((i as u64 / 3) * 1_234_567);
        r.values[8] = Value::Double(if i % 11 == 0 { -0.0 } else { 0.0 });
        if i % 13 == 0 {
            for v in &mut r.values[4..] {
                *v = Value::Unset;
            }
        }
        out.push(r);
    }
    out
}

fn staged(records: &[Record], level: i32, dict: Option<&Dictionary>) -> (Vec<u8>, usize) {
    let mut st = Stager::new(Compressor::new(level, dict).unwrap());
    let mut flushed = 0;
    for r in records {
        st.push(r.clone()).unwrap();
        flushed = flushed.max(st.compressed_bytes());
    }
    assert_eq!(st.rows(), records.len() as u64);
    let body = st.take().unwrap();
    assert_eq!(st.rows(), 0);
    let mut d = Decompressor::default();
    (body.encode(&sample().header, &mut d).unwrap(), flushed)
}

#[test]
fn a_staged_body_is_the_batch_encode_writes() {
    let dict = DICTIONARIES.first();
    // Small: never a full chunk, so the very same frame.
    let b = sample();
    let (frame, flushed) = staged(&b.records, 9, dict);
    assert_eq!(flushed, 0);
    assert_eq!(frame, encode(&b, 9, dict).unwrap());
    // Busy: columns compressed as they filled, the body in many zstd
    // frames that today's decoder reads as one; same records, same digest.
    let records = busy(20_000);
    let want = Batch {
        header: sample().header,
        records,
    };
    let (frame, flushed) = staged(&want.records, 9, dict);
    assert!(flushed > 0, "no chunk was compressed early");
    let got = decode(&frame).unwrap();
    assert_eq!(got.header.record_count, want.records.len() as u64);
    let full = encode(&want, 9, dict).unwrap();
    assert!(
        got.records == decode(&full).unwrap().records,
        "records differ"
    );
    assert_eq!(
        read_frame_info(&frame).unwrap().digest,
        read_frame_info(&full).unwrap().digest
    );
    // The chunks cost little over one frame.
    assert!(
        frame.len() < full.len() * 11 / 10,
        "staged {} bytes, one frame {}",
        frame.len(),
        full.len()
    );
    // A delta on it, and one written with it as the base, still resolve.
    let base = Base::from_frame(&frame).unwrap();
    let mut next = got.clone();
    next.header.seq += 1;
    next.records.truncate(8_000);
    let delta = encode_delta(&next, &base, 9, dict).unwrap();
    let resolved = decode_delta_with(&delta, &base, &Limits::FORMAT, &AnySchema).unwrap();
    assert!(resolved.records == next.records, "delta records differ");
}

#[test]
fn a_stager_refuses_a_row_it_cannot_hold_and_keeps_the_rest() {
    let mut st = Stager::new(Compressor::new(3, None).unwrap());
    let b = sample();
    st.push(b.records[0].clone()).unwrap();
    let mut long = b.records[1].clone();
    long.values[1] = Value::from("x".repeat(MAX_STR_BYTES + 1));
    let e = st.push(long).unwrap_err().to_string();
    assert!(e.contains("string value"), "{e}");
    st.push(b.records[1].clone()).unwrap();
    let frame = st
        .take()
        .unwrap()
        .encode(&b.header, &mut Decompressor::default())
        .unwrap();
    assert_eq!(decode(&frame).unwrap().records, b.records[..2]);
}

/// Writes `rows` (all of one log) into `st` as a section written column by
/// column.
fn put_section(st: &mut Stager, rows: &[&Record]) -> Result<(), EncodeError> {
    let schema = rows[0].schema;
    let mut w = st.section(schema, rows.len() as u64)?;
    for col in 0..schema.fields.len() {
        for r in rows {
            w.put(r.values[col].clone())?;
        }
    }
    w.finish()
}

#[test]
fn sections_written_by_column_are_the_body_encode_writes() {
    let dict = DICTIONARIES.first();
    let want = Batch {
        header: sample().header,
        records: busy(20_000),
    };
    let groups = super::body::group(&want.records);
    assert!(groups.len() >= 2);
    let mut st = Stager::new(Compressor::new(9, dict).unwrap());
    // The first log's rows as they come, the others a section each.
    for r in &groups[0].1 {
        st.push((*r).clone()).unwrap();
    }
    for (_, rows) in &groups[1..] {
        put_section(&mut st, rows).unwrap();
    }
    assert_eq!(st.rows(), want.records.len() as u64);
    let frame = st
        .take()
        .unwrap()
        .encode(&want.header, &mut Decompressor::default())
        .unwrap();
    let full = encode(&want, 9, dict).unwrap();
    assert_eq!(
        read_frame_info(&frame).unwrap().digest,
        read_frame_info(&full).unwrap().digest
    );
    assert!(decode(&frame).unwrap().records == decode(&full).unwrap().records);
}

#[test]
fn a_section_past_a_frame_is_written_in_several() {
    let b = sample();
    // Uids of 60 bytes, every one its own: 6 MB of column.
    let rows: Vec<Record> = (0..100_000)
        .map(|i| {
            let mut r = b.records[0].clone();
            r.values[0] = Value::Time(1_700_000_000_000_000 + i * 1_000);
            r.values[1] = Value::from(format!(
                "{:060x}",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ));
            r
        })
        .collect();
    let want = Batch {
        header: b.header.clone(),
        records: rows,
    };
    assert!(encode_body(&want.records).unwrap().len() > SECTION_FRAME_BYTES);
    let mut st = Stager::new(Compressor::new(3, None).unwrap());
    let refs: Vec<&Record> = want.records.iter().collect();
    put_section(&mut st, &refs).unwrap();
    let frame = st
        .take()
        .unwrap()
        .encode(&want.header, &mut Decompressor::default())
        .unwrap();
    let full = encode(&want, 3, None).unwrap();
    assert_eq!(
        read_frame_info(&frame).unwrap().digest,
        read_frame_info(&full).unwrap().digest
    );
    assert!(decode(&frame).unwrap().records == want.records);
}

#[test]
fn a_section_written_by_column_is_whole_or_not_at_all() {
    let b = sample();
    let conn: Vec<&Record> = b
        .records
        .iter()
        .filter(|r| r.schema.path == "conn")
        .collect();
    assert!(conn.len() >= 2);
    let mut st = Stager::new(Compressor::new(3, None).unwrap());
    put_section(&mut st, &conn).unwrap();
    let m = &b.records[3];
    // One value short: refused, and the body stays as it was.
    let mut w = st.section(m.schema, 1).unwrap();
    for v in &m.values[1..] {
        w.put(v.clone()).unwrap();
    }
    let e = w.finish().unwrap_err().to_string();
    assert!(e.contains("ended at row 0 of column"), "{e}");
    // One value too many.
    let mut w = st.section(m.schema, 1).unwrap();
    for v in &m.values {
        w.put(v.clone()).unwrap();
    }
    let e = w.put(Value::Unset).unwrap_err().to_string();
    assert!(e.contains("value count"), "{e}");
    drop(w);
    // A row of the same log after a sealed section would be a second
    // section of it: refused, as only a folded log comes in parts.
    let e = st.push(conn[0].clone()).unwrap_err().to_string();
    assert!(e.contains("only a folded log"), "{e}");
    let frame = st
        .take()
        .unwrap()
        .encode(&b.header, &mut Decompressor::default())
        .unwrap();
    let want: Vec<Record> = conn.iter().map(|r| (*r).clone()).collect();
    assert_eq!(decode(&frame).unwrap().records, want);
}

/// Per-event occurrences `(time, operation)` folded as the agent folds an
/// interval's rows: one row per operation in order of first occurrence,
/// `ts` of the first, `ts_end` of the last, `count`.
fn fold(events: &[(i64, u64)]) -> Vec<Record> {
    let mut rows: Vec<Record> = Vec::new();
    for &(t, op) in events {
        let func = Value::Str(format!("READ_HOLDING_REGISTERS unit {op}").into());
        match rows.iter_mut().find(|r| r.values[2] == func) {
            Some(r) => {
                r.values[4] = Value::Time(t);
                let Value::Count(n) = &mut r.values[5] else {
                    unreachable!()
                };
                *n += 1;
            }
            None => rows.push(Record {
                schema: &MODBUS_FOLDED,
                values: vec![
                    Value::Time(t),
                    Value::Addr("10.0.0.5".parse().unwrap()),
                    func,
                    Value::Count(op * 10),
                    Value::Time(t),
                    Value::Count(1),
                ],
            }),
        }
    }
    rows
}

/// A minute of polls of 50 operations, a few of them out of time order
/// (as a capture may be), and its connection rows.
fn polled_minute() -> (Vec<(i64, u64)>, Vec<Record>) {
    let t0 = 1_700_000_000_000_000;
    let events = (0..3_000i64)
        .map(|i| {
            let late = if i % 101 == 7 { -5_000_000 } else { 0 };
            (t0 + i * 20_000 + late, (i as u64 * 7) % 50)
        })
        .collect();
    (events, sample().records[..3].to_vec())
}

/// The minute's batch with its folded rows written in three parts, its
/// connection rows pushed between them.
fn in_parts(events: &[(i64, u64)], conn: &[Record]) -> Vec<u8> {
    let mut st = Stager::new(Compressor::new(3, None).unwrap());
    let stretches = [0..1_000, 1_000..2_200, 2_200..events.len()];
    for (i, s) in stretches.into_iter().enumerate() {
        st.push(conn[i].clone()).unwrap();
        let part = fold(&events[s]);
        put_section(&mut st, &part.iter().collect::<Vec<_>>()).unwrap();
    }
    st.take()
        .unwrap()
        .encode(&sample().header, &mut Decompressor::default())
        .unwrap()
}

#[test]
fn a_folded_log_in_parts_decodes_as_one_folding_of_the_interval() {
    let (events, conn) = polled_minute();
    let frame = in_parts(&events, &conn);
    // Version 3: a decoder of versions 1 and 2 refuses it rather than show
    // a key's parts as rows of their own.
    assert_eq!(frame[4], PARTS_VERSION);
    let info = read_frame_info(&frame).unwrap();
    assert!(info.parts);
    let whole = fold(&events);
    assert_eq!(whole.len(), 50);
    assert_eq!(info.header.record_count, 3 + 150);
    let got = decode(&frame).unwrap();
    let mut want = conn.clone();
    want.extend(whole);
    assert_eq!(got.records, want);
    assert_eq!(got.header.record_count, want.len() as u64);
    // A late occurrence kept its row's first and last times as they came.
    assert!(events[7].0 < events[0].0);
    // Named by its digest in full, which is not the parts' frame's.
    let full = encode(&got, 9, None).unwrap();
    assert_eq!(full[4], FULL_VERSION);
    assert_eq!(
        read_frame_info(&full).unwrap().digest,
        digest(&got).unwrap()
    );
    assert_ne!(info.digest, digest(&got).unwrap());
    assert_eq!(decode(&full).unwrap(), got);
    // The same rows in one section each: version 1, the batch `encode`
    // writes (no parts, no change).
    let mut st = Stager::new(Compressor::new(9, None).unwrap());
    for r in &got.records[..3] {
        st.push(r.clone()).unwrap();
    }
    put_section(&mut st, &got.records[3..].iter().collect::<Vec<_>>()).unwrap();
    let one = st
        .take()
        .unwrap()
        .encode(&got.header, &mut Decompressor::default())
        .unwrap();
    assert_eq!(one[4], FULL_VERSION);
    assert_eq!(read_frame_info(&one).unwrap().digest, digest(&got).unwrap());
}

#[test]
fn deltas_work_on_and_with_a_batch_in_parts() {
    let (events, conn) = polled_minute();
    let frame = in_parts(&events, &conn);
    let parted = decode(&frame).unwrap();
    // As a base: named by its digest in full, as the collector stores it.
    let base = Base::from_frame(&frame).unwrap();
    assert_eq!(base.batch, parted);
    assert_eq!(base.digest, digest(&parted).unwrap());
    let mut next = parted.clone();
    next.header.seq += 1;
    next.records[5].values[5] = Value::Count(12_345);
    next.records.swap(3, 40);
    let delta = encode_delta(&next, &base, 3, None).unwrap();
    assert_eq!(
        read_frame_info(&delta).unwrap().base,
        Some(base.reference())
    );
    let back = decode_delta_with(&delta, &base, &Limits::FORMAT, &AnySchema).unwrap();
    assert_eq!(back, next);
    // Sent as a delta on an earlier batch: resolved to its rows joined,
    // with the digest its full send has.
    let (earlier, _) = base_and_next();
    let delta = encode_delta(&parted, &earlier, 3, None).unwrap();
    assert_eq!(
        read_frame_info(&delta).unwrap().digest,
        read_frame_info(&encode(&parted, 3, None).unwrap())
            .unwrap()
            .digest
    );
    let back = decode_delta_with(&delta, &earlier, &Limits::FORMAT, &AnySchema).unwrap();
    assert_eq!(back, parted);
}

#[test]
fn only_a_folded_log_comes_in_parts() {
    let b = sample();
    let conn: Vec<&Record> = b.records[..3].iter().collect();
    // The stager does not write one.
    let mut st = Stager::new(Compressor::new(3, None).unwrap());
    put_section(&mut st, &conn[..1]).unwrap();
    let e = put_section(&mut st, &conn[1..]).unwrap_err().to_string();
    assert!(e.contains("only a folded log comes in parts"), "{e}");
    // A decoder refuses one: conn in two sections of a version 3 body.
    let one = |r: &Record| encode_body(std::slice::from_ref(r)).unwrap()[1..].to_vec();
    let mut body = Vec::new();
    put_varint(&mut body, 2);
    body.extend(one(conn[0]));
    body.extend(one(conn[1]));
    let mut header = b.header.clone();
    header.record_count = 2;
    let h = encode_header(&header);
    let digest = super::frame::content_digest(&h, &body);
    let z = Compressor::new(3, None).unwrap().compress(&body).unwrap();
    let frame = super::frame::frame(&h, None, true, z.clone(), body.len(), digest, None).unwrap();
    let e = decode(&frame).unwrap_err().to_string();
    assert!(e.contains("log conn in several sections"), "{e}");
    // In version 1, two sections of a log are read as they come.
    let frame = super::frame::frame(&h, None, false, z, body.len(), digest, None).unwrap();
    assert_eq!(decode(&frame).unwrap().records, b.records[..2]);
}

static IEC104_FOLDED: LogSchema = LogSchema {
    path: "iec104",
    fields: &[
        field("ts", FieldType::Time),
        field("uid", FieldType::String),
        field("id.orig_h", FieldType::Addr),
        field("id.orig_p", FieldType::Port),
        field("id.resp_h", FieldType::Addr),
        field("id.resp_p", FieldType::Port),
        field("apci_type", FieldType::String),
        field("type_id", FieldType::Count),
        field("type_name", FieldType::String),
        field("cot", FieldType::Count),
        field("cot_name", FieldType::String),
        field("originator", FieldType::Count),
        field("common_address", FieldType::Count),
        field("ioa", FieldType::Count),
        field("ts_end", FieldType::Time),
        field("count", FieldType::Count),
    ],
};

/// Rows of one connection polling `n` objects, as a folded log holds them.
fn polls(t: i64, uid: &str, port: u16, n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            schema: &IEC104_FOLDED,
            values: vec![
                Value::Time(t + i as i64 * 100),
                Value::from(uid),
                Value::Addr("192.168.10.20".parse().unwrap()),
                Value::Port(port),
                Value::Addr("192.168.10.108".parse().unwrap()),
                Value::Port(2404),
                Value::from("I"),
                Value::Count(100 + i % 3),
                Value::from(["C_IC_NA_1", "M_ME_NC_1", "M_SP_NA_1"][(i % 3) as usize]),
                Value::Count(6),
                Value::from("act"),
                Value::Count(0),
                Value::Count(1),
                Value::Count(i),
                Value::Time(t + 29_000_000 + i as i64),
                Value::Count(3),
            ],
        })
        .collect()
}

#[test]
fn a_new_connection_doing_what_the_last_did_stands_on_the_base_rows() {
    let t0 = 1_700_000_000_000_000;
    let mut base = sample();
    base.records = polls(t0, "CoQPPXO0KtLG", 49500, 30);
    base.header.record_count = 30;
    let base = Base::from_frame(&encode(&base, 9, None).unwrap()).unwrap();
    let mut next = base.batch.clone();
    next.header.seq += 1;
    // Another connection, same polls: ts, uid, port and ts_end differ.
    next.records = polls(t0 + 60_000_000, "CzY81sVn4hLa", 49512, 30);
    // Two more cells changed: too few in common with the row in its place,
    // but the same shape (naming cells) as a base row.
    next.records[28].values[9] = Value::Count(7);
    next.records[28].values[13] = Value::Count(999);
    // A naming cell no base row has: a new row.
    next.records[29].values[8] = Value::from("M_ME_NC_9");
    next.records[29].values[13] = Value::Count(999);
    let (_, parts) = delta_body_parts(&next.records, &base.batch.records).unwrap();
    let refs: Vec<_> = parts
        .iter()
        .filter_map(|p| match p.what {
            PartKind::References { rows, new } => Some((rows, new)),
            _ => None,
        })
        .collect();
    assert_eq!(refs, [(30, 1)]);
    let delta = encode_delta(&next, &base, 9, None).unwrap();
    let full = encode(&next, 9, None).unwrap();
    let back = decode_delta_with(&delta, &base, &Limits::FORMAT, &AnySchema).unwrap();
    assert_eq!(back, next);
    assert_eq!(encode(&back, 9, None).unwrap(), full);
    assert!(
        delta.len() < full.len(),
        "delta {} of full {}",
        delta.len(),
        full.len()
    );
}
