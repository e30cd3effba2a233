//! Every capture of the robustness corpus (`$OSECT_CORPUS/robustness/`,
//! hundreds of small, often deliberately broken files) goes through
//! `replay` without a panic and within 2 s, and the packets the engine
//! counted as malformed are reported per file and in total. A damaged file
//! may end the replay with an error; that is an answer, not a crash.

use osect_agent::config::Config;
use osect_agent::replay::{self, ReplayOptions};
use osect_wire::Format;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(2);

mod support;

#[test]
fn every_robustness_capture_replays_without_panic_in_time() {
    let dir = support::corpus().join("robustness");
    let files = support::captures(&dir);
    assert!(!files.is_empty(), "no captures under {}", dir.display());
    // Small tables, so eviction paths run too.
    let mut cfg = Config::default();
    cfg.limits.connections = 256;
    cfg.limits.fragments = 64;
    cfg.limits.app_flows = 64;
    cfg.limits.records_per_interval = 100_000;
    let out = tempfile::tempdir().unwrap();

    let (mut packets, mut malformed, mut read_errors) = (0u64, 0u64, 0usize);
    let mut failures = Vec::new();
    let started = Instant::now();
    let (mut slowest, mut slowest_name) = (Duration::ZERO, String::new());
    for (i, file) in files.iter().enumerate() {
        let name = file
            .strip_prefix(&dir)
            .unwrap_or(file)
            .display()
            .to_string();
        let opts = ReplayOptions {
            out: out.path().join(i.to_string()),
            format: Format::Tsv,
            // Checksums ignored: bad packets travel deeper into the decoders.
            ignore_checksums: true,
            interval_secs: None,
            app_layer: true,
        };
        let t0 = Instant::now();
        let res = catch_unwind(AssertUnwindSafe(|| {
            replay::replay(std::slice::from_ref(file), &cfg, &opts)
        }));
        let took = t0.elapsed();
        if took > slowest {
            slowest = took;
            slowest_name.clone_from(&name);
        }
        match res {
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: panicked: {msg}"));
                continue;
            }
            Ok(Ok(s)) => {
                println!(
                    "{name}: {} packets, {} malformed, {:.0} ms",
                    s.stats.packets,
                    s.stats.malformed,
                    took.as_secs_f64() * 1e3
                );
                packets += s.stats.packets;
                malformed += s.stats.malformed;
            }
            Ok(Err(e)) => {
                println!("{name}: stopped on a damaged file: {e}");
                read_errors += 1;
            }
        }
        if took > TIME_LIMIT {
            failures.push(format!("{name}: took {took:?}, limit {TIME_LIMIT:?}"));
        }
        let _ = std::fs::remove_dir_all(&opts.out);
    }
    // Straight to stderr, past the test harness's capture: the totals are
    // the point of this suite.
    let _ = writeln!(
        std::io::stderr(),
        "robustness: {} files, {packets} packets, {malformed} counted as malformed, \
         {read_errors} damaged files, slowest {slowest_name} {:.0} ms, total {:.1} s",
        files.len(),
        slowest.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
