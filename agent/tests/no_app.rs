//! `replay --no-app` (connection and address records only) against a replay
//! with every parser on, over every capture of the corpus: the application
//! parsers name a connection's service and write their own logs, but they
//! change nothing else in conn.log, arp.log or ns.log. With the parsers off
//! most packets take the engine's short path for known IPv4 connections,
//! so this holds that path to the general one.

mod support;

use std::path::Path;

/// The rows of a log as text, without the columns `skip`, sorted: the
/// parsers keep some connections out of the compact table, which changes
/// the order in which idle ones are found, not their rows.
fn rows(dir: &Path, log: &str, skip: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = support::read_log(&dir.join(format!("{log}.log")))
        .into_iter()
        .map(|r| {
            r.into_iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn connection_records_do_not_depend_on_the_parsers() {
    let corpus = support::corpus();
    let traces: Vec<_> = support::captures(&corpus)
        .into_iter()
        .filter(|p| {
            p.file_stem().is_some_and(|s| s == "trace") || p.starts_with(corpus.join("robustness"))
        })
        .collect();
    let (mut files, mut conns) = (0, 0);
    let mut differ = Vec::new();
    for trace in &traces {
        // Both with checksums checked and without, so packets with bad
        // checksums take both paths too.
        for ignore_checksums in [false, true] {
            let all = support::replay_file(trace, true, ignore_checksums);
            let bare = support::replay_file(trace, false, ignore_checksums);
            files += 1;
            for (log, skip) in [("conn", &["service"][..]), ("arp", &[]), ("ns", &[])] {
                let (a, b) = (rows(all.path(), log, skip), rows(bare.path(), log, skip));
                if log == "conn" {
                    conns += a.len();
                }
                if a != b {
                    let name = trace.strip_prefix(&corpus).unwrap_or(trace).display();
                    differ.push(format!(
                        "{name} (checksums ignored: {ignore_checksums}) {log}.log: {} rows with the parsers, {} without",
                        a.len(),
                        b.len()
                    ));
                }
            }
        }
    }
    println!(
        "--no-app against every parser: {files} replays, {conns} connections, {} logs differ",
        differ.len()
    );
    for d in &differ {
        println!("    {d}");
    }
    assert!(conns > 1000, "too few connections compared: {conns}");
    assert!(differ.is_empty(), "records differ without the parsers");
}
