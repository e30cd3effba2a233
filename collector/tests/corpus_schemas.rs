//! The collector takes everything the real agent sends: every capture of
//! the corpus through `osect-agent replay --batch-out` (60 s batches,
//! folding on, as `run` sends them), each batch decoded under the
//! collector's policy (the project's schemas, the default bounds). A log or
//! field the engine writes that the allow-list lacks fails here, not in a
//! plant.

use osect_collector::admit::Policy;
use osect_testkit::procs::bin;
use osect_wire::batch;
use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn every_batch_the_agent_makes_of_the_corpus_is_taken() {
    let policy = Policy::project();
    let work = tempfile::tempdir().unwrap();
    let mut cases = 0;
    let mut batches = 0;
    let mut logs = BTreeSet::new();
    let mut refused = Vec::new();
    for (name, trace) in osect_testkit::corpus_traces() {
        let out = work.path().join(&name);
        let st = Command::new(bin("osect-agent", "osect-agent"))
            .arg("replay")
            .arg(&trace)
            .arg("--out")
            .arg(out.join("logs"))
            .arg("--batch-out")
            .arg(out.join("batches"))
            .args(["--interval", "60", "--ignore-checksums"])
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "replay {name}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        cases += 1;
        let files = std::fs::read_dir(out.join("batches"))
            .map(|d| d.map(|e| e.unwrap().path()).collect::<Vec<_>>())
            .unwrap_or_default();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            batches += 1;
            match batch::decode_with(&bytes, &policy.limits, policy.schemas) {
                Ok(b) => logs.extend(b.records.iter().map(|r| r.schema.path)),
                Err(e) => refused.push(format!("{name}/{}: {e}", f.display())),
            }
        }
    }
    println!(
        "{cases} captures, {batches} batches, {} logs taken: {logs:?}",
        logs.len()
    );
    assert!(cases >= 100, "only {cases} captures in the corpus");
    assert!(logs.len() >= 20, "{logs:?}");
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}
