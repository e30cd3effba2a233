//! Inputs that once crashed a fuzz target (or that pin an edge case) live in
//! `fuzz/regressions/<target>/`; each goes through the same harness as the
//! fuzzer with every `cargo test`, so a fixed crash stays fixed. Crashes not
//! fixed yet wait in `fuzz/known-crashes/<target>/` (listed with their
//! reason in `fuzz/known-crashes.txt`); they must still crash, so the list
//! never claims a bug that is gone.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

// The harnesses are shared with the cargo-fuzz crate; the seed helpers in
// it are used only there.
#[allow(dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod harness;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_harness_has_a_fuzz_target_file() {
    let files = names(&fuzz_dir().join("fuzz_targets"));
    let harnesses: BTreeSet<String> = harness::targets().map(str::to_owned).collect();
    assert_eq!(
        files, harnesses,
        "fuzz_targets/*.rs and the harness table differ"
    );
}

/// Runs every saved input under `root`: (`target/file`, whether it panicked).
fn replay_saved(root: &Path) -> Vec<(String, bool)> {
    let mut results = Vec::new();
    for target in names(root) {
        let dir = root.join(&target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let name = format!("{target}/{}", file.file_name().unwrap().to_string_lossy());
            match catch_unwind(AssertUnwindSafe(|| harness::run(&target, &data))) {
                Ok(true) => results.push((name, false)),
                Ok(false) => panic!("{}: no fuzz target named {target}", dir.display()),
                Err(_) => results.push((name, true)),
            }
        }
    }
    results
}

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = fuzz_dir().join("regressions");
    let results = replay_saved(&root);
    assert!(
        !results.is_empty(),
        "no saved inputs under {}",
        root.display()
    );
    let failures: Vec<_> = results.iter().filter(|r| r.1).map(|r| &r.0).collect();
    assert!(
        failures.is_empty(),
        "saved fuzz inputs fail again: {failures:?}"
    );
}

#[test]
fn known_crashes_still_crash() {
    let root = fuzz_dir().join("known-crashes");
    if !root.is_dir() {
        // No open crash: nothing to check.
        return;
    }
    let fixed: Vec<_> = replay_saved(&root)
        .into_iter()
        .filter(|r| !r.1)
        .map(|r| r.0)
        .collect();
    assert!(
        fixed.is_empty(),
        "fixed: move {fixed:?} from fuzz/known-crashes/ to fuzz/regressions/ \
         and delete their lines in fuzz/known-crashes.txt"
    );
}

/// The batch target's seeds pass its harness (they decode, within its
/// limits, to batches with the frames' digests), and a frame cut short
/// decodes to nothing.
#[test]
fn batch_seeds_pass_the_harness() {
    for seed in harness::batch_seeds() {
        assert!(harness::batch_frame(&seed));
        assert!(!harness::batch_frame(&seed[..seed.len() - 1]));
    }
}
