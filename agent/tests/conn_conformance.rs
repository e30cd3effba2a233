//! conn.log conformance: every corpus case with a Zeek conn.log is replayed
//! and compared row by row on the fields Zeek's semantics define.

mod support;

use std::collections::BTreeMap;
use support::{cases_with, known_differences, read_log, replay_case};

const FIELDS: &[&str] = &[
    "ts",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "conn_state",
    "history",
    "orig_pkts",
    "resp_pkts",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "orig_bytes",
    "resp_bytes",
    "missed_bytes",
    "duration",
];

type Row = BTreeMap<String, String>;

/// The known-differences field naming a row only the sensor logs.
const EXTRA: &str = "extra";

fn key(r: &Row) -> String {
    format!(
        "{}:{}-{}:{}/{}",
        r.get("id.orig_h").map_or("?", |s| s),
        r.get("id.orig_p").map_or("?", |s| s),
        r.get("id.resp_h").map_or("?", |s| s),
        r.get("id.resp_p").map_or("?", |s| s),
        r.get("proto").map_or("?", |s| s)
    )
}

/// Direction-independent key, so a row whose roles differ still pairs up.
fn pair_key(r: &Row) -> String {
    let a = format!(
        "{}:{}",
        r.get("id.orig_h").map_or("?", |s| s),
        r.get("id.orig_p").map_or("?", |s| s)
    );
    let b = format!(
        "{}:{}",
        r.get("id.resp_h").map_or("?", |s| s),
        r.get("id.resp_p").map_or("?", |s| s)
    );
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    format!("{a}-{b}/{}", r.get("proto").map_or("?", |s| s))
}

fn micros(s: &str) -> Option<i64> {
    osect_wire::zeek::parse_tsv_value(osect_wire::FieldType::Interval, s).and_then(|v| match v {
        osect_wire::Value::Interval(us) => Some(us),
        _ => None,
    })
}

fn equal(field: &str, base: &str, ours: &str) -> bool {
    if base.contains('X') {
        // The peer's test masked this value.
        return true;
    }
    match field {
        "duration" | "ts" => match (micros(base), micros(ours)) {
            (Some(a), Some(b)) => (a - b).abs() <= i64::from(field == "duration"),
            _ => base == ours,
        },
        _ => base == ours,
    }
}

#[test]
fn conn_log_matches_zeek() {
    let known = known_differences("conn.toml");
    let mut tally: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut rows, mut rows_equal, mut rows_known, mut rows_extra) = (0u64, 0u64, 0u64, 0u64);
    let mut unexplained = Vec::new();
    let mut used_known = vec![false; known.len()];
    for case in cases_with("conn.log") {
        let base = read_log(&case.dir.join("conn.log"));
        let out = replay_case(&case, true);
        let ours = read_log(&out.path().join("conn.log"));
        // Pair rows by endpoints in time order; logs cut to a few columns
        // (no endpoints) pair by position.
        let mut pool: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
        let mut ours_sorted: Vec<&Row> = ours.iter().collect();
        ours_sorted.sort_by(|a, b| a.get("ts").cmp(&b.get("ts")));
        for r in &ours_sorted {
            pool.entry(pair_key(r)).or_default().push(r);
        }
        let has_ids = base.first().is_some_and(|r| r.contains_key("id.orig_h"));
        let mut base_sorted: Vec<&Row> = base.iter().collect();
        if has_ids {
            base_sorted.sort_by(|a, b| a.get("ts").cmp(&b.get("ts")));
        }
        let mut taken: Vec<usize> = Vec::new();
        for b in base_sorted.iter() {
            rows += 1;
            let k = key(b);
            let matched = if has_ids {
                pool.get_mut(&pair_key(b))
                    .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
            } else {
                // No endpoints to pair on: take the closest unused row.
                let best = (0..ours_sorted.len())
                    .filter(|j| !taken.contains(j))
                    .max_by_key(|&j| {
                        FIELDS
                            .iter()
                            .filter(|f| {
                                b.get(**f)
                                    .is_some_and(|v| ours_sorted[j].get(**f) == Some(v))
                            })
                            .count()
                    });
                best.map(|j| {
                    taken.push(j);
                    ours_sorted[j]
                })
            };
            let mut diffs = Vec::new();
            match matched {
                None => diffs.push(("*".to_owned(), "row missing".to_owned())),
                Some(o) => {
                    for f in FIELDS {
                        let Some(bv) = b.get(*f) else { continue };
                        let ov = o.get(*f).map_or("", |s| s);
                        let t = tally.entry(f).or_default();
                        t.1 += 1;
                        if equal(f, bv, ov) {
                            t.0 += 1;
                        } else {
                            diffs.push((f.to_string(), format!("{f}: zeek {bv} ours {ov}")));
                        }
                    }
                }
            }
            if diffs.is_empty() {
                rows_equal += 1;
                continue;
            }
            let mut all_known = true;
            for (f, text) in &diffs {
                let hit = known.iter().position(|kd| {
                    kd.case == case.name
                        && (kd.key == k || kd.key == "*")
                        && (kd.field == *f || kd.field == "*")
                });
                match hit {
                    Some(i) => used_known[i] = true,
                    None => {
                        all_known = false;
                        unexplained.push(format!("{} {k} {text}", case.name));
                    }
                }
            }
            if all_known {
                rows_known += 1;
            }
        }
        // Rows of ours that no baseline row took: connections Zeek did not
        // log at all.
        let extra: Vec<&Row> = if has_ids {
            pool.into_values().flatten().collect()
        } else {
            (0..ours_sorted.len())
                .filter(|j| !taken.contains(j))
                .map(|j| ours_sorted[j])
                .collect()
        };
        for o in extra {
            rows_extra += 1;
            let k = key(o);
            let hit = known.iter().position(|kd| {
                kd.case == case.name && (kd.key == k || kd.key == "*") && kd.field == EXTRA
            });
            match hit {
                Some(i) => used_known[i] = true,
                None => unexplained.push(format!("{} {k} a row the peer does not have", case.name)),
            }
        }
    }
    println!("conn.log conformance: {rows} baseline rows, {rows_equal} equal on every field, {rows_known} with known differences; {rows_extra} rows of ours the peer does not have");
    for (f, (eq, n)) in &tally {
        println!("  {f:<14} {eq:>5}/{n:<5} equal");
    }
    for (i, kd) in known.iter().enumerate() {
        if !used_known[i] {
            println!(
                "  known difference no longer seen: {} {} {}",
                kd.case, kd.key, kd.field
            );
        }
    }
    for u in &unexplained {
        println!("  UNEXPLAINED {u}");
    }
    let share = rows_equal as f64 / rows.max(1) as f64;
    println!("  equal share: {:.2}%", share * 100.0);
    assert!(
        unexplained.is_empty(),
        "{} differences not in tests/known-differences/conn.toml",
        unexplained.len()
    );
    assert!(
        share >= 0.99,
        "only {:.2}% of rows equal (goal 99%)",
        share * 100.0
    );
}
