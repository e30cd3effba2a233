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
    f.push(FORMAT_VERSION);
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
        decode_body(&body, &Limits::FORMAT, &AnySchema),
        Err(DecodeError::TooLarge {
            what: "row count",
            ..
        })
    ));
    // Fewer rows than that, but still more values than bytes left.
    body.truncate(body.len() - 3);
    put_varint(&mut body, 5);
    assert!(matches!(
        decode_body(&body, &Limits::FORMAT, &AnySchema),
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
         01050ee807c0c40703000000000000000200014d80e4d5c882898506"
    );
    let info = read_frame_info(&encode(&b, 3, None).unwrap()).unwrap();
    assert_eq!(
        hex(&info.digest),
        "6a158c24d8fb3003edfbd4dfe1992b5f8c396db5936eba08f9534d235c58a276"
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
    // The newer header is today's with the counter count 15, one more
    // counter before the lost interval start, and the extension at the end.
    let mut lost = Vec::new();
    put_zigzag(&mut lost, today.header.health.lost_interval_start_us);
    let mut counters = Vec::new();
    for c in today.header.health.counters() {
        put_varint(&mut counters, c);
    }
    let fixed = old.len() - lost.len() - counters.len() - 1;
    let mut expected = old[..fixed].to_vec();
    expected.push(15);
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
