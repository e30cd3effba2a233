//! The agent's spool and uplink against a real `osect-collector` process on
//! loopback: delivery with digests compared, and the security cases (other
//! CA, expired, revoked, no client certificate, another device's id), each
//! refused, logged by the collector, and the batch kept in the spool.

use osect_agent::config::Config;
use osect_agent::spool::Spool;
use osect_agent::uplink::{Uplink, UplinkStats};
use osect_collector::store::Store;
use osect_testkit::pki;
use osect_testkit::procs::{wait_for, Collector};
use osect_wire::batch::{self, Batch, Header};
use osect_wire::record::{LogSchema, Record, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The engine's modbus log: the collector takes only the project's schemas.
fn modbus() -> &'static LogSchema {
    osect_engine::protocols::log_schemas()
        .into_iter()
        .find(|s| s.path == "modbus")
        .expect("the engine writes a modbus log")
}

fn batch_bytes(device: &str, seq: u64) -> Vec<u8> {
    let start = 1_700_000_000_000_000 + seq as i64 * 1_000_000;
    let schema = modbus();
    let records = (0..50)
        .map(|i| Record {
            schema,
            values: schema
                .fields
                .iter()
                .map(|f| match f.name {
                    "ts" => Value::Time(start + i * 1000),
                    "id.orig_h" => Value::Addr("192.168.1.10".parse().unwrap()),
                    "func" => Value::from(format!("READ_{}", i % 3)),
                    _ => Value::Unset,
                })
                .collect(),
        })
        .collect();
    let b = Batch {
        header: Header {
            device_id: device.into(),
            site: "plant-a".into(),
            seq,
            interval_start_us: start,
            interval_end_us: start + 1_000_000,
            agent_version: "test".into(),
            ..Header::default()
        },
        records,
    };
    batch::encode(&b, 3, None).unwrap()
}

fn start_collector(pki: &pki::Files, work: &Path, crl: &str) -> Collector {
    Collector::start(pki, work, crl, &[])
}

fn agent_config(pki: &pki::Files, identity: &str, data: &Path, port: u16) -> Config {
    Config::parse(&pki.agent_config(identity, data, port)).unwrap()
}

/// Runs the uplink on `cfg` in a thread for `secs` seconds, or until the
/// spool is empty; returns the spool.
fn run_uplink(cfg: &Config, secs: u64) -> Arc<Mutex<Spool>> {
    run_uplink_counted(cfg, secs).0
}

/// [`run_uplink`], with the uplink's counters.
fn run_uplink_counted(cfg: &Config, secs: u64) -> (Arc<Mutex<Spool>>, UplinkStats) {
    let spool = Arc::new(Mutex::new(
        Spool::open(&cfg.spool.dir, cfg.spool.max_bytes, cfg.spool.max_age_secs).unwrap(),
    ));
    let up = Uplink::new(cfg, spool.clone());
    let stats = up.stats.clone();
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
    let stats = *stats.lock().unwrap();
    (spool, stats)
}

/// Spools batches `seqs` and returns their digests.
fn fill_spool(cfg: &Config, device: &str, seqs: std::ops::RangeInclusive<u64>) -> Vec<[u8; 32]> {
    let mut s = Spool::open(&cfg.spool.dir, cfg.spool.max_bytes, cfg.spool.max_age_secs).unwrap();
    seqs.map(|seq| {
        let b = batch_bytes(device, seq);
        s.push(seq, 0, &b).unwrap();
        batch::read_frame_info(&b).unwrap().digest
    })
    .collect()
}

#[test]
fn batches_reach_the_collector_once_with_their_digests() {
    let work = tempfile::tempdir().unwrap();
    let pki = pki::make(&work.path().join("pki"), &["OSS-0001"]).unwrap();
    let mut col = start_collector(&pki, work.path(), "devices.crl");
    let data = work.path().join("agent");
    let cfg = agent_config(&pki, "OSS-0001", &data, col.port);
    let sent = fill_spool(&cfg, "OSS-0001", 1..=20);
    let spool = run_uplink(&cfg, 60);
    assert!(spool.lock().unwrap().is_empty(), "spool not drained");
    // Send 5..=9 again (as after a crash before the ack was seen): stored once.
    let again = fill_spool(&cfg, "OSS-0001", 5..=9);
    assert_eq!(again, sent[4..9]);
    assert!(run_uplink(&cfg, 60).lock().unwrap().is_empty());
    col.proc.kill9();
    let store = Store::open(&col.store).unwrap();
    let stored = store
        .list(Some("OSS-0001"), None, i64::MIN, i64::MAX)
        .unwrap();
    let seqs: Vec<u64> = stored.iter().map(|b| b.seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    for (b, d) in stored.iter().zip(&sent) {
        assert_eq!(&b.digest[..], &d[..], "digest of batch {}", b.seq);
    }
    println!("20 batches sent, 5 re-sent; collector holds seqs 1..=20 once, digests equal");
    let log = std::fs::read_to_string(&col.log).unwrap();
    assert_eq!(log.matches("already stored").count(), 5, "{log}");
}

/// Each refused identity: its batch stays in the spool and the collector
/// logs why.
#[test]
fn refused_devices_keep_their_batches_and_are_logged() {
    let work = tempfile::tempdir().unwrap();
    let pki = pki::make(&work.path().join("pki"), &["OSS-0001", "OSS-0002"]).unwrap();
    let col = start_collector(&pki, work.path(), "devices-revoked.crl");
    // (identity presented, device id in the batch, what the log says)
    let cases = [
        ("OTHER-CA", "OTHER-CA", "refused connection"),
        ("EXPIRED", "EXPIRED", "refused connection"),
        ("REVOKED", "REVOKED", "refused connection"),
        (
            "OSS-0002",
            "OSS-0001",
            "claims device \"OSS-0001\" but the certificate is \"OSS-0002\"",
        ),
    ];
    for (identity, claimed, expect) in cases {
        let data = work.path().join(format!("agent-{identity}"));
        let cfg = agent_config(&pki, identity, &data, col.port);
        fill_spool(&cfg, claimed, 1..=1);
        let spool = run_uplink(&cfg, 4);
        assert_eq!(
            spool.lock().unwrap().pending().collect::<Vec<_>>(),
            vec![1],
            "{identity}"
        );
        let log = std::fs::read_to_string(&col.log).unwrap();
        assert!(
            log.contains(expect),
            "{identity}: log lacks {expect:?}:\n{log}"
        );
        println!("{identity} claiming {claimed}: refused, batch kept in spool");
    }
    let log = std::fs::read_to_string(&col.log).unwrap();
    for reason in ["UnknownIssuer", "certificate expired", "Revoked"] {
        assert!(log.contains(reason), "log lacks {reason}:\n{log}");
    }
    // No client certificate at all: the handshake is refused.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = rt.block_on(no_client_cert(&pki, col.port));
    assert!(
        refused,
        "connection without a client certificate was accepted"
    );
    wait_for(
        "no-certificate refusal in the log",
        Duration::from_secs(5),
        || {
            std::fs::read_to_string(&col.log).ok().filter(|l| {
                l.contains("CertificateRequired")
                    || l.contains("NoCertificatesPresented")
                    || l.contains("peer sent no certificates")
            })
        },
    );
    let store = Store::open(&col.store).unwrap();
    assert!(
        store.devices().unwrap().is_empty(),
        "a refused batch was stored"
    );
}

/// Connects with the right CA but no client certificate; true when the
/// collector refused (the handshake or the first stream fails).
async fn no_client_cert(pki: &pki::Files, port: u16) -> bool {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(pki.path("core-ca.crt")).unwrap();
    for c in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![batch::ALPN.to_vec()];
    let qc = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(qc)));
    let conn = match ep
        .connect(
            format!("127.0.0.1:{port}").parse().unwrap(),
            pki::SERVER_NAME,
        )
        .unwrap()
        .await
    {
        Ok(c) => c,
        Err(_) => return true,
    };
    // TLS 1.3: the client may finish before the server's verdict arrives.
    osect_agent::uplink::send_batch(&conn, &batch_bytes("X", 1), Duration::from_secs(5))
        .await
        .is_err()
}

/// Revoking a device while the collector runs: the changed CRL file is
/// reloaded, and the device's next batch is refused and kept.
#[test]
fn crl_change_is_picked_up_while_running() {
    let work = tempfile::tempdir().unwrap();
    let pki = pki::make(&work.path().join("pki"), &["OSS-0001"]).unwrap();
    let live_crl = pki.path("live.crl");
    std::fs::copy(pki.path("devices.crl"), &live_crl).unwrap();
    let col = start_collector(&pki, work.path(), "live.crl");
    let data = work.path().join("agent-REVOKED");
    let cfg = agent_config(&pki, "REVOKED", &data, col.port);
    fill_spool(&cfg, "REVOKED", 1..=1);
    assert!(
        run_uplink(&cfg, 30).lock().unwrap().is_empty(),
        "not yet revoked: sent"
    );
    std::fs::copy(pki.path("devices-revoked.crl"), &live_crl).unwrap();
    wait_for("CRL reload", Duration::from_secs(10), || {
        std::fs::read_to_string(&col.log)
            .ok()
            .filter(|l| l.contains("(1 revoked)"))
    });
    fill_spool(&cfg, "REVOKED", 2..=2);
    let spool = run_uplink(&cfg, 4);
    assert_eq!(spool.lock().unwrap().pending().collect::<Vec<_>>(), vec![2]);
    let log = std::fs::read_to_string(&col.log).unwrap();
    assert!(
        log.contains("Revoked") || log.contains("is revoked"),
        "{log}"
    );
    println!("REVOKED: batch 1 stored before the CRL changed, batch 2 refused after and kept");
}

/// A batch that does not decode, and one over the collector's size limit,
/// are answered with a clear error and logged; nothing is stored.
#[test]
fn malformed_and_oversized_batches_get_a_clear_error() {
    use osect_wire::batch::Reply;
    let work = tempfile::tempdir().unwrap();
    let pki = pki::make(&work.path().join("pki"), &["OSS-0001"]).unwrap();
    let col = start_collector(&pki, work.path(), "devices.crl");
    let cfg = agent_config(&pki, "OSS-0001", &work.path().join("agent"), col.port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (garbled, oversized) = rt.block_on(async {
        let client = osect_agent::uplink::tls::client_config(&cfg.uplink).unwrap();
        let link = osect_agent::uplink::connect(&cfg.uplink, &client)
            .await
            .unwrap();
        let mut bytes = batch_bytes("OSS-0001", 1);
        let n = bytes.len();
        bytes[n - 40] ^= 0xff;
        let t = Duration::from_secs(10);
        let garbled = osect_agent::uplink::send_batch(&link.conn, &bytes, t)
            .await
            .unwrap();
        let big = vec![0u8; (16 << 20) + 1];
        let oversized = osect_agent::uplink::send_batch(&link.conn, &big, Duration::from_secs(60))
            .await
            .unwrap();
        (garbled, oversized)
    });
    assert!(
        matches!(&garbled, Reply::Malformed(m) if m.contains("batch 1")),
        "{garbled:?}"
    );
    assert!(
        matches!(&oversized, Reply::Malformed(m) if m.contains("over the collector's limit")),
        "{oversized:?}"
    );
    let log = std::fs::read_to_string(&col.log).unwrap();
    assert_eq!(log.matches("malformed batch rejected").count(), 2, "{log}");
    assert!(Store::open(&col.store)
        .unwrap()
        .devices()
        .unwrap()
        .is_empty());
    println!("garbled: {garbled:?}\noversized: {oversized:?}");
}

/// The files under `dir` with their bytes, by path relative to `dir`.
fn tree(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn export(col: &Collector, out: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let st = std::process::Command::new(osect_testkit::procs::bin(
        "osect-collector",
        "osect-collector",
    ))
    .args(["export", "--store"])
    .arg(&col.store)
    .arg("--out")
    .arg(out)
    .status()
    .unwrap();
    assert!(st.success());
    tree(out)
}

/// Batches go as deltas on the newest acknowledged batch: fewer bytes, the
/// same stored batches (same digests) and a byte-identical export as in
/// full. When the collector loses its store, the deltas on a base it no
/// longer has are answered "send it in full", and the batches arrive.
#[test]
fn deltas_store_what_full_batches_store_and_survive_a_lost_store() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pki = pki::make(&w.join("pki"), &["OSS-0001"]).unwrap();
    for d in ["full", "delta"] {
        std::fs::create_dir_all(w.join(d)).unwrap();
    }
    let col_full = start_collector(&pki, &w.join("full"), "devices.crl");
    let mut col = start_collector(&pki, &w.join("delta"), "devices.crl");
    let mut full_cfg = agent_config(&pki, "OSS-0001", &w.join("agent-full"), col_full.port);
    full_cfg.uplink.delta = false;
    let mut cfg = agent_config(&pki, "OSS-0001", &w.join("agent"), col.port);
    assert!(cfg.uplink.delta, "deltas are the default");
    let digests = fill_spool(&full_cfg, "OSS-0001", 1..=10);
    assert_eq!(fill_spool(&cfg, "OSS-0001", 1..=10), digests);
    let full_bytes: usize = (1..=10).map(|s| batch_bytes("OSS-0001", s).len()).sum();
    let (spool, full) = run_uplink_counted(&full_cfg, 60);
    assert!(spool.lock().unwrap().is_empty());
    let (spool, delta) = run_uplink_counted(&cfg, 60);
    assert!(spool.lock().unwrap().is_empty());
    assert_eq!((full.acked, full.acked_deltas), (10, 0));
    assert_eq!(full.acked_bytes, full_bytes as u64);
    // The first goes in full and makes the base of the rest.
    assert_eq!(
        (delta.acked, delta.acked_deltas, delta.resent_full),
        (10, 9, 0)
    );
    // Small batches: the frame's digests and header are much of them.
    assert!(
        delta.acked_bytes * 4 < full.acked_bytes * 3,
        "deltas {} bytes, in full {}",
        delta.acked_bytes,
        full.acked_bytes
    );
    let stored = |c: &Collector| -> Vec<(u64, Vec<u8>)> {
        Store::open(&c.store)
            .unwrap()
            .list(Some("OSS-0001"), None, i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|b| (b.seq, b.digest))
            .collect()
    };
    let want: Vec<(u64, Vec<u8>)> = (1..=10).zip(digests.iter().map(|d| d.to_vec())).collect();
    assert_eq!(stored(&col_full), want);
    assert_eq!(stored(&col), want);
    let a = export(&col_full, &w.join("export-full"));
    let b = export(&col, &w.join("export-delta"));
    // Every row of the ten batches is in the export.
    let rows = a
        .values()
        .map(|f| {
            f.split(|b| *b == b'\n')
                .filter(|l| !l.starts_with(b"#") && !l.is_empty())
                .count()
        })
        .sum::<usize>();
    assert_eq!(rows, 500, "{:?}", a.keys());
    assert!(a == b, "exports differ: {:?} vs {:?}", a.keys(), b.keys());

    // The collector loses its store; the agent's base (batch 10) with it.
    col.proc.kill9();
    std::fs::remove_dir_all(&col.store).unwrap();
    let col = start_collector(&pki, &w.join("delta"), "devices.crl");
    cfg.uplink.endpoint = format!("127.0.0.1:{}", col.port);
    let more = fill_spool(&cfg, "OSS-0001", 11..=15);
    let (spool, after) = run_uplink_counted(&cfg, 60);
    assert!(spool.lock().unwrap().is_empty());
    assert_eq!(after.acked, 5);
    assert!(after.resent_full >= 1, "{after:?}");
    // Batch 11 went in full, the rest as deltas on it.
    assert_eq!(after.acked_deltas, 4, "{after:?}");
    let want: Vec<(u64, Vec<u8>)> = (11..=15).zip(more.iter().map(|d| d.to_vec())).collect();
    assert_eq!(stored(&col), want);
    let log = col.log_text();
    assert!(
        log.contains("is a delta on batch 10: this collector does not store that batch"),
        "{log}"
    );
    let refusals = Store::open(&col.store).unwrap().refusals().unwrap();
    assert!(
        refusals.iter().any(|r| r.reason == "base missing"),
        "{refusals:?}"
    );
}

/// Batch `seq` of polled modbus operations with its folded rows in two
/// parts (format version 3), as `run` spools it when its folding memory
/// fills: operation 0 in both parts.
fn parted_batch(device: &str, seq: u64) -> Vec<u8> {
    let s = osect_engine::batch::folded_schema(modbus()).expect("modbus folds");
    let start = 1_700_000_000_000_000 + seq as i64 * 60_000_000;
    let row = |t: i64, op: u64, count: u64| Record {
        schema: s,
        values: s
            .fields
            .iter()
            .map(|f| match f.name {
                "ts" | "ts_end" => Value::Time(start + t),
                "id.orig_h" => Value::Addr("192.168.1.10".parse().unwrap()),
                "func" => Value::from(format!("READ_{op}")),
                "count" => Value::Count(count),
                _ => Value::Unset,
            })
            .collect(),
    };
    let parts = [
        (0..20).map(|op| row(op as i64, op, 10)).collect::<Vec<_>>(),
        vec![row(30_000_000, 0, seq)],
    ];
    let header = batch::decode(&batch_bytes(device, seq)).unwrap().header;
    osect_testkit::batch_in_parts(&header, &parts).unwrap()
}

#[test]
fn batches_in_parts_go_joined_and_deltas_stand_on_them() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pki = pki::make(&w.join("pki"), &["OSS-0001"]).unwrap();
    let col = start_collector(&pki, w, "devices.crl");
    let cfg = agent_config(&pki, "OSS-0001", &w.join("agent"), col.port);
    let mut s = Spool::open(&cfg.spool.dir, cfg.spool.max_bytes, cfg.spool.max_age_secs).unwrap();
    let mut want = Vec::new();
    for seq in 1..=4 {
        let frame = parted_batch("OSS-0001", seq);
        assert!(batch::read_frame_info(&frame).unwrap().parts);
        let joined = batch::decode(&frame).unwrap();
        assert_eq!(joined.records.len(), 20);
        want.push((seq, batch::digest(&joined).unwrap().to_vec(), joined));
        s.push(seq, 0, &frame).unwrap();
    }
    drop(s);
    let (spool, stats) = run_uplink_counted(&cfg, 60);
    assert!(spool.lock().unwrap().is_empty());
    // The first in full, joined; the rest as deltas on the one before,
    // which the collector holds under the joined digest (no resend).
    assert_eq!(
        (stats.acked, stats.acked_deltas, stats.resent_full),
        (4, 3, 0)
    );
    let store = Store::open(&col.store).unwrap();
    for (seq, digest, joined) in want {
        assert_eq!(store.load("OSS-0001", seq).unwrap(), joined, "batch {seq}");
        let listed = store
            .list(Some("OSS-0001"), None, i64::MIN, i64::MAX)
            .unwrap();
        assert!(listed.iter().any(|b| b.seq == seq && b.digest == digest));
    }
}
