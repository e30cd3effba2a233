//! Devices as untrusted senders, through real QUIC with mutual TLS against a
//! real `osect-collector serve`: the fleet list decides a batch's site
//! whatever its header says; suspended and unlisted devices are refused and
//! their batches stay in the agent's spool until the list lets them in; a
//! device with a valid certificate sending sections the project does not
//! write (a path that climbs out of the export folder, unknown fields,
//! wrong types, huge strings, too many rows) stores nothing, its refusals
//! are counted, and `export` writes nothing outside its folder. Deltas
//! resolve only on the sender's own stored batch: a base the collector
//! lacks, another device's, or rows the base does not have get a clear
//! answer and lose nothing stored.

mod support;

use osect_agent::config::Config;
use osect_agent::spool::Spool;
use osect_agent::uplink::{self, Uplink};
use osect_collector::store::Store;
use osect_testkit::pki;
use osect_testkit::procs::{bin, Collector};
use osect_wire::batch::{self, intern_schema, Reply};
use osect_wire::{FieldType, LogSchema, Record};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T0: i64 = 1_800_000_000_000_000;

fn encode(device: &str, site: &str, seq: u64, records: Vec<Record>) -> Vec<u8> {
    support::encode(device, site, seq, T0, records)
}

/// An honest batch: two modbus rows.
fn modbus_batch(device: &str, site: &str, seq: u64) -> Vec<u8> {
    let s = support::project_schema("modbus");
    let t = T0 + seq as i64 * 60_000_000;
    encode(
        device,
        site,
        seq,
        vec![
            support::row(s, t + 1, "READ_COILS"),
            support::row(s, t + 2, "WRITE_SINGLE_COIL"),
        ],
    )
}

fn start_collector(pki: &pki::Files, work: &Path, extra: &[&str]) -> Collector {
    Collector::start(pki, work, "devices.crl", extra)
}

/// `(device, site, seq)` of every stored batch.
fn stored(c: &Collector) -> Vec<(String, String, u64)> {
    let s = Store::open(&c.store).unwrap();
    s.list(None, None, i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|b| (b.device, b.site, b.seq))
        .collect()
}

/// `(device, reason, count)` of the refused-batches counters.
fn refusals(c: &Collector) -> Vec<(String, String, u64)> {
    let s = Store::open(&c.store).unwrap();
    s.refusals()
        .unwrap()
        .into_iter()
        .map(|r| (r.device, r.reason, r.count))
        .collect()
}

fn agent_config(pki: &pki::Files, identity: &str, data: &Path, port: u16) -> Config {
    Config::parse(&pki.agent_config(identity, data, port)).unwrap()
}

fn open_spool(cfg: &Config) -> Spool {
    Spool::open(&cfg.spool.dir, cfg.spool.max_bytes, cfg.spool.max_age_secs).unwrap()
}

/// Runs the agent's uplink for `secs` seconds or until its spool is empty;
/// returns the batches left in the spool.
fn run_uplink(cfg: &Config, secs: u64) -> usize {
    let spool = Arc::new(Mutex::new(open_spool(cfg)));
    let up = Uplink::new(cfg, spool.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = spool.clone();
    rt.block_on(async move {
        let task = tokio::spawn(up.run(stop_rx));
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) && !s.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap().unwrap();
    });
    let n = spool.lock().unwrap().len();
    n
}

/// Sends each batch on its own stream as the agent's uplink does and
/// returns the collector's replies.
fn send(cfg: &Config, batches: &[Vec<u8>]) -> Vec<Reply> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = uplink::tls::client_config(&cfg.uplink).unwrap();
        let link = uplink::connect(&cfg.uplink, &client).await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            out.push(
                uplink::send_batch(&link.conn, b, Duration::from_secs(20))
                    .await
                    .unwrap(),
            );
        }
        link.conn.close(0u32.into(), b"done");
        out
    })
}

fn refused_with(r: &Reply, text: &str) -> bool {
    matches!(r, Reply::Refused(m) if m.contains(text))
}

#[test]
fn the_fleet_list_decides_the_site_and_holds_suspended_batches_in_the_spool() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pki = pki::make(&w.join("pki"), &["OSS-A", "OSS-B", "OSS-C"]).unwrap();
    let list = w.join("fleet.list");
    std::fs::write(
        &list,
        "# written by the registry\nOSS-A\tplant-a\tacme\tactive\nOSS-B\tplant-b\tbeta\tsuspended\n",
    )
    .unwrap();
    let c = start_collector(&pki, w, &["--fleet-list", list.to_str().unwrap()]);

    // A's batch names B's site: it lands under A's, with a warning.
    let a = agent_config(&pki, "OSS-A", &w.join("a"), c.port);
    let replies = send(&a, &[modbus_batch("OSS-A", "plant-b", 1)]);
    assert_eq!(replies, vec![Reply::Stored]);
    assert_eq!(stored(&c), vec![("OSS-A".into(), "plant-a".into(), 1)]);
    c.wait_log(
        "device OSS-A: batch 1 names site \"plant-b\" but the fleet list assigns it to plant-a",
    );

    // C is not in the list: refused, with the reason.
    let cc = agent_config(&pki, "OSS-C", &w.join("c"), c.port);
    let replies = send(&cc, &[modbus_batch("OSS-C", "plant-a", 1)]);
    assert!(
        refused_with(&replies[0], "OSS-C is not in the fleet list"),
        "{replies:?}"
    );

    // B is suspended: its agent's batches are refused and stay in its spool.
    let b = agent_config(&pki, "OSS-B", &w.join("b"), c.port);
    {
        let mut s = open_spool(&b);
        for seq in 1..=3 {
            s.push(seq, 0, &modbus_batch("OSS-B", "plant-b", seq))
                .unwrap();
        }
    }
    assert_eq!(run_uplink(&b, 3), 3);
    c.wait_log("device OSS-B: batch refused: device OSS-B suspended");
    assert!(stored(&c).iter().all(|(d, _, _)| d != "OSS-B"));
    let refusals = refusals(&c);
    assert!(
        refusals
            .iter()
            .any(|(d, r, n)| d == "OSS-B" && r == "suspended" && *n >= 1),
        "{refusals:?}"
    );
    assert!(refusals.contains(&("OSS-C".into(), "unknown device".into(), 1)));

    // The registry resumes B: the list is replaced, the collector reloads
    // it, and the spooled batches arrive under B's site.
    let tmp = w.join("fleet.list.new");
    std::fs::write(
        &tmp,
        "OSS-A\tplant-a\tacme\tactive\nOSS-B\tplant-b\tbeta\tactive\n",
    )
    .unwrap();
    std::fs::rename(&tmp, &list).unwrap();
    c.wait_log("reloaded fleet list");
    assert_eq!(run_uplink(&b, 20), 0);
    let b_stored: Vec<_> = stored(&c)
        .into_iter()
        .filter(|(d, _, _)| d == "OSS-B")
        .collect();
    assert_eq!(
        b_stored,
        (1..=3)
            .map(|q| ("OSS-B".to_string(), "plant-b".to_string(), q))
            .collect::<Vec<_>>()
    );

    // `devices` shows the counters.
    let out = Command::new(bin("osect-collector", "osect-collector"))
        .args(["devices", "--store"])
        .arg(&c.store)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("OSS-C") && l.contains("unknown device"))
        .unwrap_or_else(|| panic!("no OSS-C refusal line in {text}"));
    assert!(line.contains(" 1 "), "{line}");
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_attacker_with_a_device_key_stores_nothing_and_export_stays_in_its_folder() {
    let work = tempfile::tempdir().unwrap();
    // Deep enough that four `..` stay inside the test's folder.
    let w = work.path().join("w1/w2/w3/w4");
    std::fs::create_dir_all(&w).unwrap();
    let pki = pki::make(&w.join("pki"), &["OSS-A"]).unwrap();
    let c = start_collector(&pki, &w, &["--max-batch-records", "1000"]);
    let a = agent_config(&pki, "OSS-A", &w.join("a"), c.port);

    let modbus = support::project_schema("modbus");
    let fields = |s: &LogSchema| -> Vec<(String, FieldType)> {
        s.fields.iter().map(|f| (f.name.to_owned(), f.ty)).collect()
    };
    // The same fields under a path that climbs out of the export folder.
    let traversal = intern_schema("../../../../osect-traversal-proof", &fields(modbus)).unwrap();
    let mut extra = fields(modbus);
    extra.push(("exfil".into(), FieldType::String));
    let unknown_field = intern_schema("modbus", &extra).unwrap();
    let mut typed = fields(modbus);
    let func = modbus.index_of("func").unwrap();
    typed[func].1 = FieldType::Count;
    let wrong_type = intern_schema("modbus", &typed).unwrap();

    let t = T0 + 1;
    let hostile = vec![
        // The traversal section first, an honest one after it.
        encode(
            "OSS-A",
            "plant-a",
            1,
            vec![
                support::row(traversal, t, "x"),
                support::row(modbus, t, "READ_COILS"),
            ],
        ),
        encode(
            "OSS-A",
            "plant-a",
            2,
            vec![support::row(unknown_field, t, "x")],
        ),
        encode(
            "OSS-A",
            "plant-a",
            3,
            vec![support::row(wrong_type, t, "x")],
        ),
        encode(
            "OSS-A",
            "plant-a",
            4,
            vec![support::row(modbus, t, &"A".repeat(100_000))],
        ),
        encode(
            "OSS-A",
            "plant-a",
            5,
            (0..1001)
                .map(|i| support::row(modbus, t + i, "READ_COILS"))
                .collect(),
        ),
    ];
    let replies = send(&a, &hostile);
    let want = [
        "unknown log: \"../../../../osect-traversal-proof\"",
        "unknown field: modbus: \"exfil\"",
        "field type: modbus: func is count",
        "string value is 100000 bytes",
        "record count is 1001",
    ];
    for (r, w) in replies.iter().zip(want) {
        assert!(refused_with(r, w), "{r:?} is not refused with {w:?}");
    }
    assert_eq!(stored(&c), vec![]);
    let mut refusals = refusals(&c);
    refusals.sort();
    let mut expected: Vec<(String, String, u64)> = [
        "field type",
        "over limit: record count",
        "over limit: string value",
        "unknown field",
        "unknown log",
    ]
    .iter()
    .map(|r| ("OSS-A".to_string(), r.to_string(), 1))
    .collect();
    expected.sort();
    assert_eq!(refusals, expected);

    // One honest batch, then export into A/B.
    assert_eq!(
        send(&a, &[modbus_batch("OSS-A", "plant-a", 6)]),
        vec![Reply::Stored]
    );
    let before = files_under(work.path());
    let out = w.join("A/B");
    let st = Command::new(bin("osect-collector", "osect-collector"))
        .args(["export", "--store"])
        .arg(&c.store)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let after = files_under(work.path());
    let new: Vec<&PathBuf> = after.iter().filter(|p| !before.contains(p)).collect();
    let out_rel = out.strip_prefix(work.path()).unwrap();
    assert!(!new.is_empty());
    for p in &new {
        assert!(
            p.starts_with(out_rel),
            "export wrote {} outside A/B",
            p.display()
        );
    }
    assert_eq!(files_under(&out), vec![PathBuf::from("OSS-A/modbus.log")]);
    assert!(!after
        .iter()
        .any(|p| p.to_string_lossy().contains("traversal")));
}

/// An agent one minor version ahead: a health counter appended and a
/// header extension field. Today's collector stores the batch, keeps the
/// extras, and `devices` shows them as unknown.
#[test]
fn a_batch_from_an_agent_one_minor_version_ahead_is_stored() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pki = pki::make(&w.join("pki"), &["OSS-N"]).unwrap();
    let c = start_collector(&pki, w, &[]);
    let a = agent_config(&pki, "OSS-N", &w.join("a"), c.port);
    let honest = batch::decode(&modbus_batch("OSS-N", "plant-n", 1)).unwrap();
    let mut newer = honest.clone();
    newer.header.agent_version = "0.2.0".into();
    newer.header.health.packets = 500;
    newer.header.health.unknown = vec![12_345];
    newer.header.unknown = vec![batch::UnknownField {
        tag: 1,
        value: b"boot-7f3a".to_vec(),
    }];
    let bytes = batch::encode(&newer, 3, None).unwrap();
    assert_eq!(send(&a, std::slice::from_ref(&bytes)), vec![Reply::Stored]);
    let stored = Store::open(&c.store).unwrap().load("OSS-N", 1).unwrap();
    assert_eq!(stored, newer);
    assert_eq!(batch::encode(&stored, 3, None).unwrap(), bytes);
    let out = Command::new(bin("osect-collector", "osect-collector"))
        .args(["devices", "--store"])
        .arg(&c.store)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("unknown to this collector: counters [12345], header fields [1 (9 bytes)]"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("OSS-N")).unwrap();
    assert!(row.contains("0.2.0") && row.contains(" 500 "), "{row}");
}

/// Deltas from a device: stored in full when their base is the sender's own
/// stored batch, whatever the order and however often they come; a delta on
/// a base the collector lacks (never sent, or another device's) is answered
/// "send it in full", one referring to rows its base does not have is
/// refused as malformed, and nothing already stored is lost.
#[test]
fn deltas_resolve_only_on_the_senders_own_stored_base() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pki = pki::make(&w.join("pki"), &["OSS-A", "OSS-B"]).unwrap();
    let c = start_collector(&pki, w, &[]);
    let a = agent_config(&pki, "OSS-A", &w.join("a"), c.port);
    let b = agent_config(&pki, "OSS-B", &w.join("b"), c.port);
    let first = modbus_batch("OSS-A", "plant-a", 1);
    let base = batch::Base::from_frame(&first).unwrap();
    let on = |base: &batch::Base, seq: u64| {
        let next = batch::decode(&modbus_batch("OSS-A", "plant-a", seq)).unwrap();
        batch::encode_delta(&next, base, 3, None).unwrap()
    };
    // In order, out of order, twice, and once more in full.
    let replies = send(
        &a,
        &[
            first.clone(),
            on(&base, 3),
            on(&base, 2),
            on(&base, 3),
            modbus_batch("OSS-A", "plant-a", 2),
        ],
    );
    assert_eq!(replies, vec![Reply::Stored; 5]);
    let want = |dev: &str, site: &str, seqs: &[u64]| -> Vec<(String, String, u64)> {
        seqs.iter()
            .map(|s| (dev.to_owned(), site.to_owned(), *s))
            .collect()
    };
    assert_eq!(stored(&c), want("OSS-A", "plant-a", &[1, 2, 3]));
    let store = Store::open(&c.store).unwrap();
    for seq in 1..=3 {
        let sent = batch::decode(&modbus_batch("OSS-A", "plant-a", seq)).unwrap();
        assert_eq!(store.load("OSS-A", seq).unwrap(), sent, "batch {seq}");
    }
    drop(store);

    let need_full = |r: &Reply, text: &str| matches!(r, Reply::NeedFull(m) if m.contains(text));
    // B names A's batch 1 as its base: B has no batch 1.
    let theirs = batch::decode(&modbus_batch("OSS-B", "plant-b", 2)).unwrap();
    let r = send(&b, &[batch::encode_delta(&theirs, &base, 3, None).unwrap()]);
    assert!(need_full(&r[0], "does not store that batch"), "{r:?}");
    // A names a batch it never sent, and its batch 1 with another digest.
    let mut ghost = base.clone();
    ghost.batch.header.seq = 9;
    let mut other = base.clone();
    other.digest[0] ^= 1;
    let r = send(&a, &[on(&ghost, 4), on(&other, 4)]);
    assert!(need_full(&r[0], "does not store that batch"), "{r:?}");
    assert!(need_full(&r[1], "has another digest"), "{r:?}");
    // A forged base: batch 1's number and digest, with a row batch 1 does
    // not have; the delta refers to it.
    let mut forged = base.clone();
    let s = support::project_schema("modbus");
    let t5 = T0 + 5 * 60_000_000;
    forged.batch.records.push(support::row(s, T0, "EXTRA"));
    let mut fifth = batch::decode(&modbus_batch("OSS-A", "plant-a", 5)).unwrap();
    fifth.records.push(support::row(s, t5, "EXTRA"));
    let r = send(
        &a,
        &[batch::encode_delta(&fifth, &forged, 3, None).unwrap()],
    );
    assert!(
        matches!(&r[0], Reply::Malformed(m) if m.contains("refers to base row 2 of 2")),
        "{r:?}"
    );
    // Nothing stored was lost, and each answer was counted.
    assert_eq!(stored(&c), want("OSS-A", "plant-a", &[1, 2, 3]));
    let mut counted = refusals(&c);
    counted.sort();
    assert_eq!(
        counted,
        vec![
            ("OSS-A".into(), "base missing".into(), 2),
            ("OSS-A".into(), "malformed".into(), 1),
            ("OSS-B".into(), "base missing".into(), 1),
        ]
    );
}

/// The folded form of the project's `modbus` log, as batches carry it.
fn folded_modbus() -> &'static LogSchema {
    let s = support::project_schema("modbus");
    let (_, log) = osect_engine::protocols::log("modbus").unwrap();
    let mut fields: Vec<(String, FieldType)> = log
        .fold
        .kept_fields(s)
        .unwrap()
        .into_iter()
        .map(|i| (s.fields[i].name.to_owned(), s.fields[i].ty))
        .collect();
    fields.push(("ts_end".into(), FieldType::Time));
    fields.push(("count".into(), FieldType::Count));
    intern_schema("modbus", &fields).unwrap()
}

/// A batch whose folded log comes in parts (format version 3) is stored
/// with its parts joined, under the digest the joined batch has, so a delta
/// the agent writes on it resolves.
#[test]
fn a_batch_in_parts_is_stored_joined_and_deltas_stand_on_it() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pki = pki::make(&w.join("pki"), &["OSS-P"]).unwrap();
    let c = start_collector(&pki, w, &[]);
    let a = agent_config(&pki, "OSS-P", &w.join("a"), c.port);
    let s = folded_modbus();
    let mut st = batch::Stager::new(batch::Compressor::new(3, None).unwrap());
    // READ_COILS in both parts, WRITE_SINGLE_COIL in the first.
    let parts = [
        vec![
            support::row(s, T0 + 1, "READ_COILS"),
            support::row(s, T0 + 2, "WRITE_SINGLE_COIL"),
        ],
        vec![support::row(s, T0 + 30_000_000, "READ_COILS")],
    ];
    for rows in &parts {
        let mut part = st.section(s, rows.len() as u64).unwrap();
        for col in 0..s.fields.len() {
            for r in rows {
                part.put(r.values[col].clone()).unwrap();
            }
        }
        part.finish().unwrap();
    }
    let header = batch::decode(&modbus_batch("OSS-P", "plant-p", 1))
        .unwrap()
        .header;
    let frame = st
        .take()
        .unwrap()
        .encode(&header, &mut batch::Decompressor::default())
        .unwrap();
    assert!(batch::read_frame_info(&frame).unwrap().parts);
    let joined = batch::decode(&frame).unwrap();
    assert_eq!(joined.records.len(), 2);
    assert_eq!(
        joined.records[0].get("count"),
        Some(&osect_wire::Value::Count(14))
    );
    assert_eq!(send(&a, std::slice::from_ref(&frame)), vec![Reply::Stored]);
    let store = Store::open(&c.store).unwrap();
    assert_eq!(store.load("OSS-P", 1).unwrap(), joined);
    let listed = store.list(None, None, i64::MIN, i64::MAX).unwrap();
    assert_eq!(listed[0].digest, batch::digest(&joined).unwrap());
    drop(store);
    // The agent's base for the next batch names that digest.
    let base = batch::Base::from_frame(&frame).unwrap();
    let mut next = joined.clone();
    next.header.seq = 2;
    next.records[1].values[0] = osect_wire::Value::Time(T0 + 61_000_000);
    let delta = batch::encode_delta(&next, &base, 3, None).unwrap();
    assert_eq!(send(&a, &[delta]), vec![Reply::Stored]);
    assert_eq!(
        Store::open(&c.store).unwrap().load("OSS-P", 2).unwrap(),
        next
    );
}
