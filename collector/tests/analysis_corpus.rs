//! Every industrial capture of the corpus, through the real agent's batches:
//! the analysis learns on it, then sees the same traffic again right after
//! learning ended and must raise no alert. A false alert on traffic the
//! baseline has seen is what makes operators stop reading alerts.

use osect_analysis::{BatchInput, Registry, SiteState};
use osect_testkit::procs::bin;
use osect_wire::batch::{self, Batch};
use osect_wire::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    let dir = std::env::var("OSECT_CORPUS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the corpus is missing: set OSECT_CORPUS (looked in {})",
        dir.display()
    );
    dir
}

const INDUSTRIAL: [&str; 12] = [
    "modbus", "dnp3", "bacnet", "enip", "cip", "s7comm", "cclink", "slmp", "fins", "iec104",
    "profinet", "opcua",
];

fn industrial_cases() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(corpus()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let ics = name.starts_with("icsnpp-")
            || name.starts_with("nttcom-")
            || INDUSTRIAL.iter().any(|p| name.contains(p));
        let trace = ["trace.pcap", "trace.pcapng"]
            .iter()
            .map(|t| e.path().join(t))
            .find(|p| p.exists());
        if let (true, Some(t)) = (ics, trace) {
            v.push((name, t));
        }
    }
    v.sort();
    v
}

/// The agent's 60 s batches of a capture, as the collector would store them.
fn batches(trace: &Path, dir: &Path) -> Vec<Batch> {
    let out = dir.join("batches");
    let st = Command::new(bin("osect-agent", "osect-agent"))
        .arg("replay")
        .arg(trace)
        .arg("--out")
        .arg(dir.join("logs"))
        .arg("--batch-out")
        .arg(&out)
        .args(["--interval", "60", "--ignore-checksums"])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "replay {}: {}",
        trace.display(),
        String::from_utf8_lossy(&st.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| batch::decode(&std::fs::read(f).unwrap()).unwrap())
        .collect()
}

fn shifted(b: &Batch, by: i64) -> Batch {
    let mut b = b.clone();
    b.header.interval_start_us += by;
    b.header.interval_end_us += by;
    for r in &mut b.records {
        for v in &mut r.values {
            if let Value::Time(t) = v {
                *t += by;
            }
        }
    }
    b
}

fn analyse(state: &mut SiteState, reg: &Registry, b: &Batch) {
    state.analyse(
        reg,
        &BatchInput {
            sensor: "OSS-0001",
            seq: b.header.seq,
            interval_start: b.header.interval_start_us,
            interval_end: b.header.interval_end_us,
            received: b.header.interval_end_us,
            health: &b.header.health,
            records: &b.records,
        },
    );
}

#[test]
fn the_corpus_seen_twice_raises_no_alert() {
    let reg = osect_collector::cli::registry();
    let cases = industrial_cases();
    assert!(cases.len() >= 19, "only {} industrial cases", cases.len());
    let work = tempfile::tempdir().unwrap();
    let (mut devices, mut pairs, mut ops, mut false_alerts) = (0, 0, 0, Vec::new());
    for (i, (name, trace)) in cases.iter().enumerate() {
        let dir = work.path().join(i.to_string());
        let bs = batches(trace, &dir);
        if bs.is_empty() {
            continue;
        }
        let first = bs.iter().map(|b| b.header.interval_start_us).min().unwrap();
        let last = bs.iter().map(|b| b.header.interval_end_us).max().unwrap();
        // Learning covers the capture; the same traffic follows at once.
        let span = last - first + 1_000_000;
        let mut st = SiteState::new(name);
        st.meta.config.learning = span;
        st.meta.config.learning_start = Some(first);
        for b in &bs {
            analyse(&mut st, &reg, b);
        }
        let learnt = st.take_changes();
        assert!(
            learnt.alerts.is_empty(),
            "{name}: learning raised {:?}",
            learnt.alerts
        );
        for b in &bs {
            analyse(&mut st, &reg, &shifted(b, span));
        }
        let again = st.take_changes();
        for a in again.alerts {
            false_alerts.push(format!("{name}: {} {}", a.kind.as_str(), a.title));
        }
        devices += st.devices.len();
        pairs += st.pairs.len();
        ops += st.operations.len();
    }
    println!(
        "{} industrial cases: {devices} devices, {pairs} pairs, {ops} operations learned; {} false alerts",
        cases.len(),
        false_alerts.len()
    );
    assert!(
        ops > 100,
        "only {ops} operations: the descriptors did not reach the analysis"
    );
    assert!(
        false_alerts.is_empty(),
        "alerts on learned traffic:\n{}",
        false_alerts.join("\n")
    );
}
