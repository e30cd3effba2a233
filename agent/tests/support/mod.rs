//! Shared helpers for the corpus tests: finding the corpus, reading Zeek
//! logs, and replaying a case.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The reference corpus: `OSECT_CORPUS`, else `../shared/corpus` beside the
/// repository. Panics with a clear message when it is missing.
pub fn corpus() -> PathBuf {
    let p = std::env::var_os("OSECT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    assert!(
        p.join("README.md").is_file(),
        "the reference corpus is missing: set OSECT_CORPUS to the folder holding the cases (looked in {})",
        p.display()
    );
    p
}

/// Every capture file under `dir`, at any depth, in name order.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(captures(&p));
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap" | "dump" | "trace")
        ) {
            out.push(p);
        }
    }
    out
}

/// A corpus case: its folder, capture and peer flags.
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub trace: PathBuf,
    pub peer_flags: String,
}

impl Case {
    /// Whether the peer analysed packets with bad checksums (`-C`). The
    /// ICSNPP parsers' test suites run Zeek that way; their captures hold
    /// loopback traffic whose checksums were never filled in.
    pub fn ignore_checksums(&self) -> bool {
        self.peer_flags.split_whitespace().any(|f| f == "-C") || self.name.starts_with("icsnpp-")
    }
}

/// Every case that has the peer log `log` (e.g. "conn.log").
pub fn cases_with(log: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let root = corpus();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("corpus folder readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join(log).is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let trace = ["trace.pcap", "trace.pcapng"]
            .iter()
            .map(|t| dir.join(t))
            .find(|p| p.is_file());
        let Some(trace) = trace else { continue };
        let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap_or_default();
        let peer_flags = toml
            .lines()
            .find_map(|l| l.strip_prefix("peer_flags = "))
            .map(|s| s.trim_matches('"').to_owned())
            .unwrap_or_default();
        out.push(Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir,
            trace,
            peer_flags,
        });
    }
    out
}

/// A Zeek TSV log as rows of named fields. Handles both the full header
/// (`#fields`) and zeek-cut output (a plain first line of names).
pub fn read_log(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut names: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            names = Some(f.split('\t').map(str::to_owned).collect());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match &names {
            None => names = Some(line.split('\t').map(str::to_owned).collect()),
            Some(n) => {
                let row = n
                    .iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_owned))
                    .collect();
                rows.push(row);
            }
        }
    }
    rows
}

/// Replays a case into a fresh temporary folder and returns it.
pub fn replay_case(case: &Case, app_layer: bool) -> tempfile::TempDir {
    replay_file(&case.trace, app_layer, case.ignore_checksums())
}

/// Replays one capture into a fresh temporary folder and returns it.
pub fn replay_file(trace: &Path, app_layer: bool, ignore_checksums: bool) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    let opts = osect_agent::replay::ReplayOptions {
        out: out.path().to_owned(),
        format: osect_wire::Format::Tsv,
        ignore_checksums,
        interval_secs: None,
        app_layer,
    };
    if let Err(e) = osect_agent::replay::replay(
        &[trace.to_owned()],
        &osect_agent::config::Config::default(),
        &opts,
    ) {
        // A damaged capture still yields the records read before the damage.
        eprintln!("{}: {e}", trace.display());
    }
    out
}

/// A known difference: (case, row key, field) with the reason.
pub struct Known {
    pub case: String,
    pub key: String,
    pub field: String,
    pub reason: String,
}

/// Reads a known-differences file: one entry per `[[difference]]` table
/// with `case`, `key`, `field` ("*" for a missing row) and `reason`.
pub fn known_differences(name: &str) -> Vec<Known> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/known-differences")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let doc: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    if let Some(toml::Value::Array(items)) = doc.get("difference") {
        for it in items {
            let get = |k: &str| it.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let k = Known {
                case: get("case"),
                key: get("key"),
                field: get("field"),
                reason: get("reason"),
            };
            assert!(
                !k.reason.is_empty(),
                "{}: an entry for {} has no reason",
                path.display(),
                k.case
            );
            out.push(k);
        }
    }
    out
}
