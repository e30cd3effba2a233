//! The collector's store and commands on real batches: idempotent insert,
//! dedup per device and key (a unit provisioned again, a renewal, repeated
//! self-tests), the migration of a version 1 store, export per device and
//! time range (TSV and JSON), sites across a device swap,
//! operator-authenticated import, deletion, SILENT devices.

mod support;

use osect_collector::export::{self, Selection};
use osect_collector::operator;
use osect_collector::store::{Inserted, Store, StoreError, UNKNOWN_KEY};
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

/// Two keys of one unit: before and after it was wiped and provisioned again.
const KEY_1: [u8; 32] = [1; 32];
const KEY_2: [u8; 32] = [2; 32];

fn frame(device: &str, site: &str, seq: u64) -> Vec<u8> {
    frame_at(device, site, seq, T0)
}

/// A batch whose interval starts `seq` minutes after `t0`.
fn frame_at(device: &str, site: &str, seq: u64, t0: i64) -> Vec<u8> {
    let start = t0 + seq as i64 * 60_000_000;
    let rec = Record {
        schema: &MODBUS,
        values: vec![Value::Time(start + 5), Value::from(format!("OP{seq}"))],
    };
    support::encode(device, site, seq, t0, vec![rec])
}

/// A batch of one row of the project's own modbus schema.
fn project_frame(device: &str, seq: u64) -> Vec<u8> {
    let start = T0 + seq as i64 * 60_000_000;
    let rec = support::row(support::project_schema("modbus"), start + 5, "READ_COILS");
    support::encode(device, "x", seq, T0, vec![rec])
}

fn insert(store: &mut Store, data: &[u8]) -> Inserted {
    insert_as(store, &KEY_1, data).unwrap()
}

fn insert_as(store: &mut Store, key: &[u8], data: &[u8]) -> Result<Inserted, StoreError> {
    let info = batch::read_frame_info(data).unwrap();
    store.insert(
        &info,
        &info.header.site,
        key,
        data,
        osect_collector::store::now_us(),
        "test",
    )
}

/// The agent's self-test batch: sequence 0, no records.
fn selftest(device: &str, site: &str, agent_version: &str) -> Vec<u8> {
    let b = Batch {
        header: Header {
            device_id: device.into(),
            site: site.into(),
            seq: 0,
            agent_version: agent_version.into(),
            ..Header::default()
        },
        records: Vec::new(),
    };
    batch::encode(&b, 3, None).unwrap()
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
    let e = insert_as(&mut s, &KEY_1, &other).unwrap_err();
    assert!(matches!(e, StoreError::Conflict { seq: 1, .. }), "{e}");
    assert_eq!(s.list(None, None, i64::MIN, i64::MAX).unwrap().len(), 1);
}

#[test]
fn a_unit_provisioned_again_starts_a_new_sequence_under_its_new_key() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(d.path()).unwrap();
    // First life: 1..=3 under KEY_1. Second life, a day later: 1..=2 again
    // under KEY_2, with other content.
    let day = 86_400_000_000;
    let first: Vec<_> = (1..=3).map(|q| frame("OSS-1", "site-a", q)).collect();
    let second: Vec<_> = (1..=2)
        .map(|q| frame_at("OSS-1", "site-b", q, T0 + day))
        .collect();
    for f in &first {
        assert_eq!(insert_as(&mut s, &KEY_1, f).unwrap(), Inserted::New);
    }
    for f in &second {
        assert_eq!(insert_as(&mut s, &KEY_2, f).unwrap(), Inserted::New);
    }
    // Retransmissions of either life are recognised; a reused number under
    // one key with other content still conflicts.
    assert_eq!(
        insert_as(&mut s, &KEY_1, &first[0]).unwrap(),
        Inserted::Duplicate
    );
    assert_eq!(
        insert_as(&mut s, &KEY_2, &second[1]).unwrap(),
        Inserted::Duplicate
    );
    assert!(matches!(
        insert_as(&mut s, &KEY_2, &first[0]),
        Err(StoreError::Conflict { seq: 1, .. })
    ));
    let all = s.list(Some("OSS-1"), None, i64::MIN, i64::MAX).unwrap();
    let order: Vec<(u8, u64)> = all.iter().map(|b| (b.key_sha256[0], b.seq)).collect();
    assert_eq!(order, vec![(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]);
    // Both lives export; the device's row follows the newer key.
    let out = d.path().join("out");
    let sel = Selection {
        device: Some("OSS-1"),
        site: None,
        from_us: i64::MIN,
        to_us: i64::MAX,
    };
    assert_eq!(export::export(&s, &sel, Format::Tsv, &out).unwrap(), 5);
    let row = &s.devices().unwrap()[0];
    assert_eq!((row.batches, row.last_seq), (5, 2));
    assert_eq!(row.site, "site-b");
    // `load` by number alone gives the most recent life's batch.
    assert_eq!(s.load("OSS-1", 1).unwrap().header.site, "site-b");
}

#[test]
fn a_self_test_repeats_under_the_same_key() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(d.path()).unwrap();
    let factory = selftest("OSS-1", "", "0.1.0");
    assert_eq!(insert_as(&mut s, &KEY_1, &factory).unwrap(), Inserted::New);
    assert_eq!(
        insert_as(&mut s, &KEY_1, &factory).unwrap(),
        Inserted::Duplicate
    );
    // After `assign` (a site) or an agent update the test batch differs.
    let assigned = selftest("OSS-1", "site-a", "0.2.0");
    assert_eq!(
        insert_as(&mut s, &KEY_1, &assigned).unwrap(),
        Inserted::SelftestReplaced
    );
    // Provisioned again: the new key's self-test is its own.
    assert_eq!(insert_as(&mut s, &KEY_2, &factory).unwrap(), Inserted::New);
    let tests = s.list(Some("OSS-1"), None, i64::MIN, i64::MAX).unwrap();
    let sites: Vec<(u8, &str)> = tests
        .iter()
        .map(|b| (b.key_sha256[0], b.site.as_str()))
        .collect();
    assert_eq!(sites, vec![(1, "site-a"), (2, "")]);
    // Sequence 0 with records is not a self-test: it is never replaced.
    insert_as(&mut s, &KEY_1, &frame("OSS-2", "site-a", 0)).unwrap();
    assert!(matches!(
        insert_as(&mut s, &KEY_1, &selftest("OSS-2", "site-a", "0.1.0")),
        Err(StoreError::Conflict { seq: 0, .. })
    ));
}

/// The first schema, as collectors before the key was recorded wrote it.
const SCHEMA_V1: &str = "CREATE TABLE batches (
    device TEXT NOT NULL, seq INTEGER NOT NULL, site TEXT NOT NULL,
    interval_start INTEGER NOT NULL, interval_end INTEGER NOT NULL,
    received INTEGER NOT NULL, agent_version TEXT NOT NULL, records INTEGER NOT NULL,
    health TEXT NOT NULL, digest BLOB NOT NULL, source TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (device, seq));
CREATE INDEX batches_site ON batches (site, interval_start);
CREATE TABLE audit (at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE operators (name TEXT PRIMARY KEY, token_sha256 BLOB NOT NULL);";

#[test]
fn a_version_1_store_is_migrated_and_keeps_deduplicating() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("collector.sqlite");
    let old: Vec<_> = (1..=2).map(|q| frame("OSS-1", "site-a", q)).collect();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(SCHEMA_V1).unwrap();
        for f in &old {
            let info = batch::read_frame_info(f).unwrap();
            c.execute(
                "INSERT INTO batches VALUES (?1, ?2, 'site-a', ?3, ?4, 5, '0.1.0', 1, '{}', ?5,
                 'uplink', ?6)",
                rusqlite::params![
                    "OSS-1",
                    info.header.seq as i64,
                    info.header.interval_start_us,
                    info.header.interval_end_us,
                    info.digest.as_slice(),
                    f
                ],
            )
            .unwrap();
        }
    }
    let mut s = Store::open(d.path()).unwrap();
    let kept = s.list(None, None, i64::MIN, i64::MAX).unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|b| b.key_sha256 == UNKNOWN_KEY));
    assert_eq!(s.load("OSS-1", 2).unwrap().header.seq, 2);
    // The unit retransmits a batch stored before the upgrade: stored once.
    assert_eq!(
        insert_as(&mut s, &KEY_1, &old[1]).unwrap(),
        Inserted::Duplicate
    );
    // The unit provisioned again reuses 1 with other content: a new batch.
    let again = frame_at("OSS-1", "site-b", 1, T0 + 86_400_000_000);
    assert_eq!(insert_as(&mut s, &KEY_2, &again).unwrap(), Inserted::New);
    assert_eq!(s.list(None, None, i64::MIN, i64::MAX).unwrap().len(), 3);
    drop(s);
    // Opening again changes nothing.
    assert_eq!(
        Store::open(d.path())
            .unwrap()
            .list(None, None, i64::MIN, i64::MAX)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_store_from_a_newer_collector_or_not_a_store_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("collector.sqlite");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(SCHEMA_V1).unwrap();
        c.pragma_update(None, "user_version", 9).unwrap();
    }
    let e = Store::open(d.path()).err().unwrap().to_string();
    assert!(
        e.contains(&db.display().to_string()) && e.contains("schema version 9"),
        "{e}"
    );
    // Left as it was.
    let c = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 9);
    let junk = tempfile::tempdir().unwrap();
    let file = junk.path().join("collector.sqlite");
    std::fs::write(&file, vec![b'x'; 4096]).unwrap();
    let e = Store::open(junk.path()).err().unwrap().to_string();
    assert!(e.contains(&file.display().to_string()), "{e}");
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
    assert_eq!(
        s.delete(None, Some("site-a"), "test").unwrap()["batches"],
        5
    );
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
        project_frame("OSS-9", 1),
        project_frame("OSS-9", 2),
        project_frame("OSS-8", 1),
        // Not a schema the project writes: refused like the uplink refuses it.
        frame("OSS-9", "x", 3),
    ]
    .iter()
    .enumerate()
    .map(|(i, b)| {
        let p = d.path().join(format!("{i}.osb"));
        std::fs::write(&p, b).unwrap();
        p
    })
    .collect();
    let unit = |site| operator::Unit {
        device: "OSS-9",
        key_sha256: &KEY_1,
        site,
    };
    let r = operator::import(&mut s, &unit(None), "alice", &files).unwrap();
    assert_eq!((r.new, r.duplicate, r.refused), (2, 0, 2));
    let reasons: Vec<(String, u64)> = s
        .refusals()
        .unwrap()
        .into_iter()
        .map(|r| (r.reason, r.count))
        .collect();
    assert_eq!(
        reasons,
        vec![("device mismatch".into(), 1), ("field list".into(), 1)]
    );
    let r = operator::import(&mut s, &unit(None), "alice", &files[..1]).unwrap();
    assert_eq!((r.new, r.duplicate, r.refused), (0, 1, 0));
    // The headers say site "x"; with the registry's site the batch is
    // stored under that one.
    let later = d.path().join("later.osb");
    std::fs::write(&later, project_frame("OSS-9", 5)).unwrap();
    let r = operator::import(&mut s, &unit(Some("plant-9")), "alice", &[later]).unwrap();
    assert_eq!((r.new, r.refused), (1, 0));
    let sites: Vec<(u64, String)> = s
        .list(Some("OSS-9"), None, i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|b| (b.seq, b.site))
        .collect();
    assert_eq!(
        sites,
        vec![(1, "x".into()), (2, "x".into()), (5, "plant-9".into())]
    );
    assert!(operator::import(&mut s, &unit(Some("../x")), "alice", &files).is_err());
    assert!(operator::parse_key_sha256(&"ab".repeat(32)).is_ok());
    for bad in ["ab", &"zz".repeat(32), &"é".repeat(32)] {
        assert!(operator::parse_key_sha256(bad).is_err(), "{bad}");
    }
}

#[test]
fn devices_flags_silent_ones() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(d.path()).unwrap();
    let data = frame("OSS-1", "site-a", 1);
    let info = batch::read_frame_info(&data).unwrap();
    let hour_ago = osect_collector::store::now_us() - 3_600_000_000;
    s.insert(&info, &info.header.site, &KEY_1, &data, hour_ago, "test")
        .unwrap();
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

/// Runs `osect-collector` with `args`; returns stdout, panicking on failure.
fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_osect-collector"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn delete_site_clears_every_table_with_a_site_column_and_residue_proves_it() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("store");
    let mut s = Store::open(&dir).unwrap();
    for seq in 1..=3 {
        insert(&mut s, &frame("OSS-1", "site-a", seq));
    }
    insert(&mut s, &frame("OSS-2", "site-b", 1));
    s.count_refusal("OSS-1", "site-a", "unknown log", "x")
        .unwrap();
    s.count_refusal("OSS-2", "site-b", "unknown log", "x")
        .unwrap();
    // A table added later by anyone, found by its `site` column.
    let db = rusqlite::Connection::open(dir.join("collector.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE later_findings (site TEXT NOT NULL, what TEXT);
         INSERT INTO later_findings VALUES ('site-a', 'secret-of-a'), ('site-a', 'b'), ('site-b', 'c');",
    )
    .unwrap();
    drop(db);
    drop(s);
    let store = dir.to_str().unwrap();
    let residue = |site: &str| -> serde_json::Value {
        serde_json::from_str(&cli(&[
            "residue", "--store", store, "--site", site, "--json",
        ]))
        .unwrap()
    };
    let b_before = residue("site-b");
    assert_eq!(b_before["rows"], 3, "{b_before}");
    let a = residue("site-a");
    assert_eq!(a["site"], "site-a");
    assert_eq!(
        (
            &a["tables"]["batches"],
            &a["tables"]["refusals"],
            &a["tables"]["later_findings"],
            &a["rows"]
        ),
        (&3.into(), &1.into(), &2.into(), &6.into()),
        "{a}"
    );
    let on_disk = |marker: &[u8]| {
        ["collector.sqlite", "collector.sqlite-wal"]
            .iter()
            .any(|f| {
                let raw = std::fs::read(dir.join(f)).unwrap_or_default();
                raw.windows(marker.len()).any(|w| w == marker)
            })
    };
    assert!(on_disk(b"secret-of-a"));
    let out = cli(&[
        "delete", "--store", store, "--site", "site-a", "--by", "registry",
    ]);
    assert!(out.starts_with("deleted 6 rows ("), "{out}");
    let a = residue("site-a");
    assert_eq!(a["rows"], 0, "{a}");
    assert!(a["tables"].as_object().unwrap().values().all(|n| n == 0));
    assert_eq!(residue("site-b"), b_before);
    // The deleted rows are gone from the file, not only from the tables.
    assert!(!on_disk(b"secret-of-a"));
    let text = cli(&["residue", "--store", store, "--site", "site-a"]);
    assert!(text.lines().last().unwrap().ends_with(" 0"), "{text}");
}

/// A store written before batches were checked may hold a section whose
/// path climbs out of the export folder, or a device whose name does: export
/// skips them and writes only inside its folder.
#[test]
fn export_writes_only_project_logs_of_plain_devices_inside_its_folder() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Store::open(&d.path().join("store")).unwrap();
    let modbus = support::project_schema("modbus");
    let fields: Vec<(String, FieldType)> = modbus
        .fields
        .iter()
        .map(|f| (f.name.to_owned(), f.ty))
        .collect();
    let traversal = batch::intern_schema("../../../../osect-traversal-proof", &fields).unwrap();
    let t = T0 + 60_000_005;
    let hostile = support::encode(
        "OSS-1",
        "site-a",
        1,
        T0,
        vec![
            support::row(traversal, t, "x"),
            support::row(modbus, t, "READ_COILS"),
        ],
    );
    insert(&mut s, &hostile);
    let climbing = support::encode("..", "site-a", 1, T0, vec![support::row(modbus, t, "x")]);
    insert(&mut s, &climbing);
    let out = d.path().join("a/b/c/d/A/B");
    let all = Selection {
        device: None,
        site: None,
        from_us: i64::MIN,
        to_us: i64::MAX,
    };
    assert_eq!(export::export(&s, &all, Format::Tsv, &out).unwrap(), 1);
    let mut written = Vec::new();
    let mut todo = vec![d.path().to_owned()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if !p.starts_with(d.path().join("store")) {
                written.push(p.strip_prefix(d.path()).unwrap().to_owned());
            }
        }
    }
    assert_eq!(
        written,
        vec![std::path::PathBuf::from("a/b/c/d/A/B/OSS-1/modbus.log")]
    );
}
