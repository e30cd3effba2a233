//! `replay --no-app` (connection and address records only) against a replay
//! with every parser on, over every capture of the corpus: the application
//! parsers name a connection's service and write their own logs, and the
//! DNS and NTP parsers may flip a connection's roles as Zeek's analyzers do
//! (endpoints swapped, `^` in history), but they change nothing else in
//! conn.log, arp.log or ns.log. With the parsers off most packets take the
//! engine's short path for known IPv4 connections, so this holds that path
//! to the general one.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

/// The rows of a log as text, without the columns `skip`, sorted: the
/// parsers keep some connections out of the compact table, which changes
/// the order in which idle ones are found, not their rows.
fn rows(dir: &Path, log: &str, skip: &[&str], totals: bool) -> Vec<String> {
    let mut out: Vec<String> = support::read_log(&dir.join(format!("{log}.log")))
        .into_iter()
        .map(|r| {
            unflipped(r, totals)
                .into_iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out
}

/// A conn row with its endpoints in a fixed order and no `^` in history,
/// so a row a parser flipped compares equal to the one it was (other logs'
/// rows are left as they are). What a flipped row counted before the flip
/// stays on the side it was counted for, as in Zeek (history letters
/// included), so with `totals` the per-side counts, the state and the
/// history give way to the totals.
fn unflipped(mut r: BTreeMap<String, String>, totals: bool) -> BTreeMap<String, String> {
    if let Some(h) = r.get_mut("history") {
        h.retain(|c| c != '^');
    }
    if totals {
        r.remove("conn_state");
        r.remove("history");
        for total in ["pkts", "ip_bytes", "bytes"] {
            let (o, p) = (format!("orig_{total}"), format!("resp_{total}"));
            let n = |k: &str, r: &BTreeMap<String, String>| {
                r.get(k).and_then(|v| v.parse::<u64>().ok())
            };
            if let (Some(a), Some(b)) = (n(&o, &r), n(&p, &r)) {
                r.remove(&o);
                r.remove(&p);
                r.insert(format!("total_{total}"), (a + b).to_string());
            }
        }
    }
    let end = |r: &BTreeMap<String, String>, side: &str| {
        (
            r.get(&format!("id.{side}_h")).cloned(),
            r.get(&format!("id.{side}_p")).cloned(),
        )
    };
    if end(&r, "orig") > end(&r, "resp") {
        for (a, b) in [
            ("id.orig_h", "id.resp_h"),
            ("id.orig_p", "id.resp_p"),
            ("orig_l2_addr", "resp_l2_addr"),
        ] {
            let (x, y) = (r.remove(a), r.remove(b));
            if let Some(y) = y {
                r.insert(a.to_owned(), y);
            }
            if let Some(x) = x {
                r.insert(b.to_owned(), x);
            }
        }
    }
    r
}

/// The role flips in a replay's conn.log.
fn flips(dir: &Path) -> usize {
    support::read_log(&dir.join("conn.log"))
        .iter()
        .filter_map(|r| r.get("history"))
        .map(|h| h.matches('^').count())
        .sum()
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
                let (a, b) = (
                    rows(all.path(), log, skip, false),
                    rows(bare.path(), log, skip, false),
                );
                if log == "conn" {
                    conns += a.len();
                }
                // Where a parser flipped roles, the counts before the flip
                // stay where they were counted: totals must still agree.
                let flipped_alike = log == "conn"
                    && flips(all.path()) > flips(bare.path())
                    && rows(all.path(), log, skip, true) == rows(bare.path(), log, skip, true);
                if a != b && !flipped_alike {
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
