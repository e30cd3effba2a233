//! The collector's store and commands on real batches: idempotent insert,
//! export per device and time range (TSV and JSON), sites across a device
//! swap, operator-authenticated import, deletion, SILENT devices.

use osect_collector::export::{self, Selection};
use osect_collector::operator;
use osect_collector::store::{Inserted, Store};
use osect_wire::batch::{self, Batch, Header};
use osect_wire::record::{field, FieldType, LogSchema, Record, Value};
use osect_wire::Format;
use std::process::Command;

static MODBUS: LogSchema = LogSchema {
    path: "modbus",
    fields: &[
        field("ts", FieldType::Time),
        field("func", FieldType::String),
    ],
};

const T0: i64 = 1_700_000_000_000_000;

fn frame(device: &str, site: &str, seq: u64) -> Vec<u8> {
    let start = T0 + seq as i64 * 60_000_000;
    let b = Batch {
        header: Header {
            device_id: device.into(),
            site: site.into(),
            seq,
            interval_start_us: start,
            interval_end_us: start + 60_000_000,
            agent_version: "0.1.0".into(),
            ..Header::default()
        },
        records: vec![Record {
            schema: &MODBUS,
            values: vec![Value::Time(start + 5), Value::Str(format!("OP{seq}"))],
        }],
    };
    batch::encode(&b, 3, None).unwrap()
}

fn insert(store: &mut Store, data: &[u8]) -> Inserted {
    let info = batch::read_frame_info(data).unwrap();
    store
        .insert(&info, data, osect_collector::store::now_us(), "test")
        .unwrap()
}

#[test]
fn insert_is_idempotent_and_refuses_a_reused_seq() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(d.path()).unwrap();
    let a = frame("OSS-1", "site-a", 1);
    assert_eq!(insert(&mut s, &a), Inserted::New);
    assert_eq!(insert(&mut s, &a), Inserted::Duplicate);
    // Same (device, seq), other content.
    let other = frame("OSS-1", "site-b", 1);
    let info = batch::read_frame_info(&other).unwrap();
    assert!(s.insert(&info, &other, 0, "test").is_err());
    assert_eq!(s.list(None, None, i64::MIN, i64::MAX).unwrap().len(), 1);
}

#[test]
fn export_by_device_site_and_range_then_delete() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(&d.path().join("store")).unwrap();
    // OSS-1 served site-a, then was swapped for OSS-2 at the same site.
    for seq in 1..=3 {
        insert(&mut s, &frame("OSS-1", "site-a", seq));
    }
    for seq in 1..=2 {
        insert(&mut s, &frame("OSS-2", "site-a", seq));
    }
    insert(&mut s, &frame("OSS-3", "site-b", 1));
    let out = d.path().join("out");
    let all = Selection {
        device: None,
        site: Some("site-a"),
        from_us: i64::MIN,
        to_us: i64::MAX,
    };
    assert_eq!(export::export(&s, &all, Format::Tsv, &out).unwrap(), 5);
    let tsv = std::fs::read_to_string(out.join("OSS-1/modbus.log")).unwrap();
    assert!(tsv.contains("#fields\tts\tfunc\n"), "{tsv}");
    assert!(tsv.contains("\tOP2\n") && tsv.contains("\tOP3\n"));
    assert!(out.join("OSS-2/modbus.log").exists());
    assert!(!out.join("OSS-3").exists());
    // One device, the second batch's minute only, as JSON.
    let range = Selection {
        device: Some("OSS-1"),
        site: None,
        from_us: T0 + 120_000_000,
        to_us: T0 + 180_000_000,
    };
    let jout = d.path().join("json");
    assert_eq!(export::export(&s, &range, Format::Json, &jout).unwrap(), 1);
    let json = std::fs::read_to_string(jout.join("OSS-1/modbus.json")).unwrap();
    assert_eq!(json, "{\"ts\":1700000120.000005,\"func\":\"OP2\"}\n");
    // Contract end at site-a.
    assert_eq!(s.delete(None, Some("site-a"), "test").unwrap(), 5);
    let left: Vec<String> = s.devices().unwrap().into_iter().map(|r| r.device).collect();
    assert_eq!(left, vec!["OSS-3"]);
}

#[test]
fn import_needs_the_operator_token_and_the_right_device() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(&d.path().join("store")).unwrap();
    let token = d.path().join("alice.token");
    operator::add(&s, "alice", &token).unwrap();
    let wrong = d.path().join("wrong.token");
    std::fs::write(&wrong, "00").unwrap();
    assert!(operator::authenticate(&s, "alice", &wrong).is_err());
    assert!(operator::authenticate(&s, "mallory", &token).is_err());
    operator::authenticate(&s, "alice", &token).unwrap();
    let files: Vec<_> = [
        frame("OSS-9", "x", 1),
        frame("OSS-9", "x", 2),
        frame("OSS-8", "x", 1),
    ]
    .iter()
    .enumerate()
    .map(|(i, b)| {
        let p = d.path().join(format!("{i}.osb"));
        std::fs::write(&p, b).unwrap();
        p
    })
    .collect();
    let r = operator::import(&mut s, "alice", "OSS-9", &files).unwrap();
    assert_eq!((r.new, r.duplicate, r.refused), (2, 0, 1));
    let r = operator::import(&mut s, "alice", "OSS-9", &files[..1]).unwrap();
    assert_eq!((r.new, r.duplicate, r.refused), (0, 1, 0));
}

#[test]
fn devices_flags_silent_ones() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(d.path()).unwrap();
    let data = frame("OSS-1", "site-a", 1);
    let info = batch::read_frame_info(&data).unwrap();
    let hour_ago = osect_collector::store::now_us() - 3_600_000_000;
    s.insert(&info, &data, hour_ago, "test").unwrap();
    insert(&mut s, &frame("OSS-2", "site-a", 1));
    drop(s);
    let out = Command::new(env!("CARGO_BIN_EXE_osect-collector"))
        .args(["devices", "--silent-after-secs", "600", "--store"])
        .arg(d.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |dev: &str| {
        text.lines()
            .find(|l| l.starts_with(dev))
            .unwrap()
            .to_owned()
    };
    assert!(line("OSS-1").contains("SILENT for 36"), "{text}");
    assert!(line("OSS-2").ends_with("ok"), "{text}");
}
