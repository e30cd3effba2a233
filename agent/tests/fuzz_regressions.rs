//! Inputs that once crashed a fuzz target (or that pin an edge case) live in
//! `fuzz/regressions/<target>/`; each goes through the same harness as the
//! fuzzer with every `cargo test`, so a fixed crash stays fixed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

// The harnesses are shared with the cargo-fuzz crate; the seed helpers in
// it are used only there.
#[allow(dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod harness;

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for dir in dirs {
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        let run = harness::harness(&target)
            .unwrap_or_else(|| panic!("{}: no fuzz target named {target}", dir.display()));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failures.push(format!(
                    "{target}/{}",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved inputs under {}", root.display());
    assert!(
        failures.is_empty(),
        "saved fuzz inputs fail again: {failures:?}"
    );
}
