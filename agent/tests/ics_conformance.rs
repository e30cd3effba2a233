//! Industrial protocol logs, written by the whole engine (`replay`),
//! compared with the peer logs of the corpus (ICSNPP and Zeek), field by
//! field on the fields both have, ignoring `uid`, masked timestamps and
//! per-run random link ids. A baseline row that has no equal row of ours
//! must be explained in `tests/known-differences/ics.toml`; at least 95%
//! must be equal. The NTT captures, which have no peer log, are checked
//! against values decoded from the specifications.

mod ics_support;
mod support;

use osect_engine::over_ip::{bacnet, dnp3, enip, iso, modbus, s7comm};
use osect_wire::zeek::tsv_row;
use osect_wire::{LogSchema, Record};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Every log these decoders write that a peer also writes.
fn schemas() -> Vec<&'static LogSchema> {
    vec![
        &modbus::MODBUS,
        &modbus::MODBUS_DETAILED,
        &modbus::MODBUS_MASK_WRITE_REGISTER,
        &modbus::MODBUS_READ_WRITE_MULTIPLE_REGISTERS,
        &enip::ENIP,
        &enip::CIP,
        &enip::CIP_IO,
        &enip::CIP_IDENTITY,
        &dnp3::DNP3,
        &dnp3::DNP3_CONTROL,
        &dnp3::DNP3_OBJECTS,
        &bacnet::BACNET,
        &bacnet::BACNET_DISCOVERY,
        &bacnet::BACNET_PROPERTY,
        &bacnet::BACNET_DEVICE_CONTROL,
        &iso::COTP,
        &s7comm::S7COMM,
        &s7comm::S7COMM_PLUS,
        &s7comm::S7COMM_KNOWN_DEVICES,
        &s7comm::S7COMM_READ_SZL,
        &s7comm::S7COMM_UPLOAD_DOWNLOAD,
    ]
}

/// Fields that are random per run in the peer's output.
const RANDOM_FIELDS: &[&str] = &["uid", "modbus_detailed_link_id"];
const L2_FIELDS: &[&str] = &["orig_l2_addr", "resp_l2_addr", "vlan"];

#[derive(Deserialize)]
struct Known {
    difference: Vec<Difference>,
}

#[derive(Deserialize)]
struct Difference {
    case: String,
    log: String,
    /// The field that differs, "*" for every field, or [`EXTRA`] for rows
    /// of ours the peer does not log.
    field: String,
    /// Which rows: a `field=value` condition on the baseline row (on our
    /// row for "extra"), or "*".
    key: String,
    reason: String,
}

/// The field name of entries for rows of ours that the peer does not log.
const EXTRA: &str = "extra";

impl Known {
    /// Whether an entry with a reason explains `field` (or, as [`EXTRA`],
    /// the whole row) of a row of `log` in `case`; `value` reads the row's
    /// fields for the entry's key.
    fn explains<'a>(
        &self,
        case: &str,
        log: &str,
        field: &str,
        value: impl Fn(&str) -> Option<&'a String>,
    ) -> bool {
        self.difference.iter().any(|d| {
            d.case == case
                && d.log == log
                && (d.field == field || (d.field == "*" && field != EXTRA))
                && !d.reason.is_empty()
                && (d.key == "*"
                    || d.key
                        .split_once('=')
                        .is_some_and(|(k, v)| value(k).is_some_and(|x| x == v)))
        })
    }
}

struct Baseline {
    names: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_baseline(path: &Path, schema: &LogSchema) -> Option<Baseline> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut names: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            names = Some(f.split('\t').map(str::to_owned).collect());
        } else if !line.starts_with('#') && !line.is_empty() {
            rows.push(line.split('\t').map(str::to_owned).collect::<Vec<_>>());
        }
    }
    let width = rows.first().map_or(0, Vec::len);
    let names = names.or_else(|| {
        // Baselines without a header: the ICSNPP column order, which the
        // schema follows; older modbus.log had only func and exception.
        let ours: Vec<String> = schema
            .fields
            .iter()
            .map(|f| f.name.to_owned())
            .filter(|n| !L2_FIELDS.contains(&n.as_str()))
            .collect();
        if ours.len() == width {
            Some(ours)
        } else if schema.path == "modbus" && width == 8 {
            Some(
                [
                    "ts",
                    "uid",
                    "id.orig_h",
                    "id.orig_p",
                    "id.resp_h",
                    "id.resp_p",
                    "func",
                    "exception",
                ]
                .map(str::to_owned)
                .to_vec(),
            )
        } else {
            None
        }
    })?;
    Some(Baseline { names, rows })
}

fn our_rows(records: &[Record], path: &str) -> Vec<BTreeMap<&'static str, String>> {
    records
        .iter()
        .filter(|r| r.schema.path == path)
        .map(|r| {
            let mut line = String::new();
            tsv_row(&mut line, r);
            r.schema
                .fields
                .iter()
                .map(|f| f.name)
                .zip(line.trim_end_matches('\n').split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Runs a case's capture through the whole engine (`replay`, as the
/// sensor does) and reads back every log it wrote: log name to rows of
/// field name and TSV text.
fn replay_logs(case: &Path, trace: &Path) -> BTreeMap<String, Vec<BTreeMap<String, String>>> {
    let flags = std::fs::read_to_string(case.join("case.toml")).unwrap_or_default();
    // ICSNPP's test suite analyses loopback captures whose TCP checksums
    // were never filled in (offload): it runs without checksum checks.
    let icsnpp = case
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("icsnpp-"));
    let out = support::replay_file(trace, true, icsnpp || flags.contains(" -C"));
    std::fs::read_dir(out.path())
        .expect("replay output")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_string_lossy().into_owned();
            Some((name, support::read_log(&path)))
        })
        .collect()
}

/// The peer's test suite masks anything that looks like a timestamp as
/// `XXXXXXXXXX.XXXXXX`, keeping digits before it: those compare as a prefix.
const MASK: &str = "XXXXXXXXXX.XXXXXX";

fn same(ours: Option<&str>, peer: &str) -> bool {
    match (ours, peer.find(MASK)) {
        (Some(o), Some(at)) => o.starts_with(&peer[..at]),
        (o, None) => o == Some(peer),
        (None, Some(_)) => false,
    }
}

#[derive(Default)]
struct Tally {
    baseline: usize,
    equal: usize,
    explained: usize,
    /// Rows of ours that match no peer row, and how many of them are explained.
    extra: usize,
    extra_explained: usize,
    unexplained: Vec<String>,
}

#[test]
fn industrial_logs_match_the_peers() {
    let corpus = support::corpus();
    let known: Known = toml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known-differences/ics.toml"),
        )
        .expect("tests/known-differences/ics.toml"),
    )
    .expect("ics.toml parses");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let schemas = schemas();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let logs: Vec<_> = schemas
            .iter()
            .filter(|s| case.join(format!("{}.log", s.path)).is_file())
            .collect();
        if logs.is_empty() {
            continue;
        }
        let Some(trace) = ["trace.pcap", "trace.pcapng"]
            .iter()
            .map(|t| case.join(t))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let replayed = replay_logs(&case, &trace);
        for schema in logs {
            let Some(base) = read_baseline(&case.join(format!("{}.log", schema.path)), schema)
            else {
                panic!("{name}/{}.log: cannot map its columns", schema.path);
            };
            let ours: Vec<BTreeMap<&'static str, String>> = replayed
                .get(schema.path)
                .map(|rows| {
                    rows.iter()
                        .map(|r| {
                            schema
                                .fields
                                .iter()
                                .filter_map(|f| r.get(f.name).map(|v| (f.name, v.clone())))
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let tally = tallies
                .entry(format!("{name}/{}", schema.path))
                .or_default();
            let mut used = vec![false; ours.len()];
            // Whether a row of ours is one the peer is known not to log.
            let extra_known = |o: &BTreeMap<&str, String>| {
                known.explains(&name, schema.path, EXTRA, |k| o.get(k))
            };
            for row in &base.rows {
                tally.baseline += 1;
                let get = |n: &str| {
                    base.names
                        .iter()
                        .position(|x| x == n)
                        .and_then(|i| row.get(i))
                };
                let compared: Vec<(&str, &String)> = base
                    .names
                    .iter()
                    .zip(row)
                    .filter(|(n, _)| {
                        !RANDOM_FIELDS.contains(&n.as_str()) && schema.index_of(n).is_some()
                    })
                    .map(|(n, v)| (n.as_str(), v))
                    .collect();
                let diff = |o: &BTreeMap<&str, String>| -> Vec<&str> {
                    compared
                        .iter()
                        .filter(|(n, v)| !same(o.get(n).map(String::as_str), v))
                        .map(|(n, _)| *n)
                        .collect()
                };
                // Among equal rows of ours, one that no "extra" entry
                // explains is paired first, so the explained ones are what
                // is left over.
                let equal_row = |extra: bool| {
                    (0..ours.len()).find(|&i| {
                        !used[i] && extra_known(&ours[i]) == extra && diff(&ours[i]).is_empty()
                    })
                };
                if let Some(i) = equal_row(false).or_else(|| equal_row(true)) {
                    used[i] = true;
                    tally.equal += 1;
                    continue;
                }
                // The closest row of ours on the same connection decides
                // which fields differ.
                let same_conn = |o: &BTreeMap<&str, String>| {
                    ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
                        .iter()
                        .all(|k| get(k).is_none_or(|v| o.get(k) == Some(v)))
                };
                let best = (0..ours.len())
                    .filter(|&i| !used[i] && same_conn(&ours[i]))
                    .min_by_key(|&i| diff(&ours[i]).len());
                let fields: Vec<&str> = best.map_or_else(|| vec!["*row*"], |i| diff(&ours[i]));
                let explained = fields
                    .iter()
                    .all(|f| known.explains(&name, schema.path, f, get));
                if explained {
                    if let Some(i) = best {
                        used[i] = true;
                    }
                    tally.explained += 1;
                } else {
                    let detail: Vec<String> = fields
                        .iter()
                        .map(|f| {
                            let theirs = get(f).map_or("?", String::as_str);
                            let mine = best
                                .and_then(|i| ours[i].get(f))
                                .map_or("?", String::as_str);
                            format!("{f}: peer {theirs:?} ours {mine:?}")
                        })
                        .collect();
                    tally.unexplained.push(format!(
                        "row {:?}: {}",
                        row.get(6..10),
                        detail.join("; ")
                    ));
                }
            }
            for (o, _) in ours.iter().zip(&used).filter(|(_, u)| !**u) {
                tally.extra += 1;
                if extra_known(o) {
                    tally.extra_explained += 1;
                } else {
                    let key: Vec<&str> = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
                        .iter()
                        .map(|k| o.get(k).map_or("-", String::as_str))
                        .collect();
                    tally
                        .unexplained
                        .push(format!("extra row of ours {key:?}: {o:?}"));
                }
            }
        }
    }
    let (mut total, mut equal, mut extra, mut bad) = (0, 0, 0, 0);
    println!(
        "{:<70} {:>6} {:>6} {:>6} {:>6} {:>12}",
        "case/log", "peer", "equal", "known", "other", "extra(known)"
    );
    for (k, t) in &tallies {
        println!(
            "{k:<70} {:>6} {:>6} {:>6} {:>6} {:>5} ({:>4})",
            t.baseline,
            t.equal,
            t.explained,
            t.unexplained.len(),
            t.extra,
            t.extra_explained
        );
        for u in t.unexplained.iter().take(5) {
            println!("    {u}");
        }
        total += t.baseline;
        equal += t.equal;
        extra += t.extra;
        bad += t.unexplained.len();
    }
    let share = equal as f64 / total.max(1) as f64;
    println!(
        "total: {total} peer rows, {equal} equal ({:.1}%), {extra} rows of ours the peer lacks, {bad} unexplained",
        share * 100.0
    );
    assert!(total > 0, "no peer logs found in the corpus");
    assert_eq!(
        bad, 0,
        "differences without a reason in known-differences/ics.toml"
    );
    assert!(
        share >= 0.95,
        "only {:.1}% of peer rows are equal",
        share * 100.0
    );
}

/// Rows of `log` from a corpus case, as field name to TSV text.
fn case_rows(case: &str, log: &str) -> Vec<BTreeMap<&'static str, String>> {
    let dir = support::corpus().join(case);
    let trace = ["trace.pcap", "trace.pcapng"]
        .iter()
        .map(|t| dir.join(t))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{case}: no trace"));
    let run = ics_support::run(&ics_support::read_frames(&trace));
    our_rows(&run.records, log)
}

fn field<'a>(row: &'a BTreeMap<&'static str, String>, name: &str) -> &'a str {
    row.get(name).map_or("?", String::as_str)
}

// The NTT captures have no peer log: every frame must give a row, and a
// few frames' fields are checked against values decoded by hand from the
// specification (frame numbers are tshark's).

#[test]
fn cclink_ie_field_basic_capture() {
    let rows = case_rows("nttcom-cclinkfieldbasic", "cclink_ief_basic");
    assert_eq!(rows.len(), 444, "one row per cyclic datagram");
    // Frame 1: the master's cyclic data request, broadcast.
    let r = &rows[0];
    assert_eq!(field(r, "pdu_type"), "cyclic_request");
    assert_eq!(field(r, "protocol_version"), "1");
    assert_eq!(field(r, "frame_sequence"), "1752");
    assert_eq!(field(r, "master_ip"), "172.16.134.128");
    assert_eq!(field(r, "timeout_ms"), "500");
    assert_eq!(field(r, "slave_count"), "1");
    // Frame 2: the slave's response to the same sequence number.
    let r = &rows[1];
    assert_eq!(field(r, "pdu_type"), "cyclic_response");
    assert_eq!(field(r, "end_code"), "0x0000");
    assert_eq!(field(r, "slave_ip"), "172.16.134.129");
    assert_eq!(field(r, "frame_sequence"), "1752");
    // Frame 3: the next cycle.
    assert_eq!(field(&rows[2], "frame_sequence"), "1753");
}

#[test]
fn cclink_ie_field_control_captures() {
    for case in ["nttcom-cclinkfield-cclinkcontrol", "nttcom-cclinkienoip"] {
        let rows = case_rows(case, "cclink_ie");
        assert_eq!(rows.len(), 500, "{case}: one row per 0x890f frame");
        // Frame 1: IP transient (0x26) from node 0 on CC-Link IE Field.
        let r = &rows[0];
        assert_eq!(field(r, "service"), "cclink_ie_field");
        assert_eq!(field(r, "pdu_type"), "ipTransient");
        assert_eq!(field(r, "src_mac"), "00:11:11:11:11:11");
        assert_eq!(field(r, "connection_info"), "0x1301");
        assert_eq!(field(r, "src_node_number"), "0x0000");
        // Frame 2: a timer frame (0x1c); frame 3: transient 1 (0x22).
        assert_eq!(field(&rows[1], "pdu_type"), "timer");
        assert_eq!(field(&rows[2], "pdu_type"), "transient1");
    }
}

#[test]
fn cclink_ie_tsn_slmp_capture() {
    let rows = case_rows("nttcom-cclinktsnslmp", "slmp");
    assert_eq!(rows.len(), 7156, "one row per SLMP datagram");
    // Frame 1: notification (subheader 0x00e8, command 0x0e94), serial 0x94.
    let r = &rows[0];
    assert_eq!(field(r, "frame_type"), "TSN binary");
    assert_eq!(field(r, "command"), "0x0e94");
    assert_eq!(field(r, "command_name"), "Notification");
    assert_eq!(field(r, "serial"), "148");
    assert_eq!(field(r, "module_io"), "0x03ff");
    // Frame 2: cyclic configuration, subcommand 0 (0x0e93/0x0000).
    let r = &rows[1];
    assert_eq!(field(r, "pdu_type"), "request");
    assert_eq!(field(r, "command"), "0x0e93");
    assert_eq!(field(r, "command_name"), "Cyclic Config Main");
    for (i, name) in [
        (2, "Cyclic Config Trn Sub Payload"),
        (4, "Cyclic Config Rcv Src Info"),
    ] {
        assert_eq!(field(&rows[i], "command_name"), name, "frame {}", i + 1);
    }
    assert!(rows
        .iter()
        .any(|r| field(r, "command_name") == "Slave Config"));
    assert!(rows
        .iter()
        .any(|r| field(r, "command_name") == "Network Config Tslt"));
}

/// The same capture through the whole engine: every datagram reaches the
/// SLMP parser. Some of its 40-byte payloads read as an IPv6 header, which
/// must not make the connection a Teredo tunnel (Zeek's Teredo detection
/// does not take them either).
#[test]
fn cclink_ie_tsn_slmp_through_the_engine() {
    let case = support::corpus().join("nttcom-cclinktsnslmp");
    let mut logs = replay_logs(&case, &case.join("trace.pcap"));
    let slmp = logs.remove("slmp").unwrap_or_default();
    assert_eq!(slmp.len(), 7156, "one row per SLMP datagram");
    let conns = logs.remove("conn").unwrap_or_default();
    assert!(!conns.is_empty(), "conn.log written");
    for c in &conns {
        assert_eq!(c.get("service").map(String::as_str), Some("slmp"), "{c:?}");
        assert_eq!(c.get("tunnel_parents").map(String::as_str), Some("-"));
    }
}

#[test]
fn omron_fins_capture() {
    let rows = case_rows("nttcom-omronfins", "fins");
    assert_eq!(rows.len(), 20, "one row per FINS datagram");
    // Frame 1: Multiple Memory Area Read from node 1 to node 0x64, SID 0x54.
    let r = &rows[0];
    assert_eq!(field(r, "icf_type"), "command");
    assert_eq!(field(r, "command"), "0x0104");
    assert_eq!(field(r, "command_name"), "Multiple Memory Area Read");
    assert_eq!(field(r, "dst_node"), "0.100.0");
    assert_eq!(field(r, "src_node"), "0.1.0");
    assert_eq!(field(r, "sid"), "84");
    assert_eq!(field(r, "memory_area"), "WR word");
    // Frame 2: its response, end code 0 (normal completion).
    let r = &rows[1];
    assert_eq!(field(r, "icf_type"), "response");
    assert_eq!(field(r, "end_code"), "0x0000");
    assert_eq!(field(r, "sid"), "84");
}

/// Service names the industrial decoders put in conn.log.
const ICS_SERVICES: &[&str] = &[
    "modbus",
    "dnp3_tcp",
    "dnp3_udp",
    "enip",
    "cip",
    "bacnet",
    "cotp",
    "cotp,s7comm",
    "cotp,s7comm-plus",
];

/// conn.log's `service` through the engine (`replay`), against the peers':
/// every connection the peer gave an industrial service has the same one,
/// and no connection the peer left without one is claimed.
#[test]
fn conn_service_matches_the_peers() {
    let corpus = support::corpus();
    let mut checked = 0;
    let mut wrong = Vec::new();
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("conn.log").is_file())
        .collect();
    cases.sort();
    for case in cases {
        let peer = std::fs::read_to_string(case.join("conn.log")).unwrap_or_default();
        let mut names: Vec<String> = Vec::new();
        let mut peer_rows = Vec::new();
        for line in peer.lines() {
            if let Some(f) = line.strip_prefix("#fields\t") {
                names = f.split('\t').map(str::to_owned).collect();
            } else if !line.starts_with('#') {
                peer_rows.push(line.split('\t').map(str::to_owned).collect::<Vec<_>>());
            }
        }
        let col = |n: &str| names.iter().position(|x| x == n);
        let (Some(oh), Some(op), Some(rh), Some(rp), Some(sv)) = (
            col("id.orig_h"),
            col("id.orig_p"),
            col("id.resp_h"),
            col("id.resp_p"),
            col("service"),
        ) else {
            continue;
        };
        if !peer_rows.iter().any(|r| {
            r.get(sv)
                .is_some_and(|s| ICS_SERVICES.contains(&s.as_str()))
        }) {
            continue;
        }
        let Some(trace) = ["trace.pcap", "trace.pcapng"]
            .iter()
            .map(|t| case.join(t))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let mut services: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
        for r in replay_logs(&case, &trace)
            .remove("conn")
            .unwrap_or_default()
        {
            let g = |n: &str| r.get(n).cloned().unwrap_or_default();
            services.insert(
                (
                    g("id.orig_h"),
                    g("id.orig_p"),
                    g("id.resp_h"),
                    g("id.resp_p"),
                ),
                g("service"),
            );
        }
        let name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for r in &peer_rows {
            let key = (r[oh].clone(), r[op].clone(), r[rh].clone(), r[rp].clone());
            let theirs = r[sv].as_str();
            let mine = services.get(&key).map_or("?", String::as_str);
            let ics_theirs = ICS_SERVICES.contains(&theirs);
            let ics_mine = ICS_SERVICES.contains(&mine);
            if ics_theirs || (theirs == "-" && ics_mine) {
                checked += 1;
                if theirs != mine {
                    wrong.push(format!("{name} {key:?}: peer {theirs:?} ours {mine:?}"));
                }
            }
        }
    }
    println!(
        "conn service: {checked} connections checked, {} differ",
        wrong.len()
    );
    for w in &wrong {
        println!("    {w}");
    }
    assert!(checked > 0, "no industrial connections in the corpus");
    assert!(wrong.is_empty(), "conn.log service differs from the peers");
}

/// The corpus's malformed and fuzzer-found captures go through every
/// decoder without a panic, and every record matches its schema.
#[test]
fn robustness_captures() {
    let dir = support::corpus().join("robustness");
    let files = support::captures(&dir);
    assert!(!files.is_empty(), "no captures in {}", dir.display());
    let mut records = 0;
    for f in &files {
        let Ok(frames) = std::panic::catch_unwind(|| ics_support::read_frames(f)) else {
            // A capture the reader rejects is not the decoders' input.
            continue;
        };
        let run = ics_support::run(&frames);
        for r in &run.records {
            assert_eq!(
                r.values.len(),
                r.schema.fields.len(),
                "{}: {} row",
                f.display(),
                r.schema.path
            );
        }
        records += run.records.len();
    }
    println!("{} captures, {records} records", files.len());
}

/// tshark's fields for every frame of a corpus case matching `filter`.
fn tshark_fields(case: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let trace = support::corpus().join(case).join("trace.pcap");
    let mut cmd = std::process::Command::new("tshark");
    cmd.arg("-r")
        .arg(&trace)
        .args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run tshark (Debian package tshark): {e}"));
    assert!(out.status.success(), "tshark failed on {case}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The corpus's S7 identification session (icsnpp-s7comm-s7ident): a
/// s7comm_read_szl row for each Read SZL request and reply, with the SZL
/// id, index and method tshark decodes and ICSNPP's PDU reference (the
/// header's bytes read little-endian); its four Start Upload jobs, which
/// the PLC refuses, each a s7comm_upload_download row.
#[test]
fn s7_read_szl_on_the_corpus() {
    let case = "icsnpp-s7comm-s7ident";
    let ours: Vec<[String; 4]> = case_rows(case, "s7comm_read_szl")
        .iter()
        .map(|r| ["pdu_reference", "method", "szl_id", "szl_index"].map(|f| field(r, f).to_owned()))
        .collect();
    let theirs: Vec<[String; 4]> = tshark_fields(
        case,
        "s7comm.data.userdata.szl_id",
        &[
            "s7comm.header.pduref",
            "s7comm.param.userdata.reqres1",
            "s7comm.data.userdata.szl_id",
            "s7comm.data.userdata.szl_index",
        ],
    )
    .iter()
    .map(|t| {
        let pdu_ref = t[0]
            .parse::<u16>()
            .map_or_else(|_| t[0].clone(), |v| v.swap_bytes().to_string());
        let method = if t[1] == "0x11" {
            "Request"
        } else {
            "Response"
        };
        [pdu_ref, method.to_owned(), t[2].clone(), t[3].clone()]
    })
    .collect();
    assert_eq!(ours.len(), 10);
    assert_eq!(ours, theirs);
    // Each Start Upload job has its row; the Acks refusing them carry no
    // parameter and are no step of a transfer.
    let jobs: Vec<[String; 3]> = case_rows(case, "s7comm_upload_download")
        .iter()
        .map(|r| ["rosctr", "function_name", "filename"].map(|f| field(r, f).to_owned()))
        .collect();
    let theirs: Vec<[String; 3]> = tshark_fields(
        case,
        "s7comm.param.func >= 0x1a && s7comm.param.func <= 0x1f",
        &[
            "s7comm.header.rosctr",
            "s7comm.param.func",
            "s7comm.param.blockcontrol.filename",
        ],
    )
    .iter()
    .map(|t| {
        let rosctr = if t[0] == "1" {
            "Job-Request"
        } else {
            "ACK-Data"
        };
        let function = if t[1] == "0x1d" {
            "Start Upload"
        } else {
            "other"
        };
        [rosctr.to_owned(), function.to_owned(), t[2].clone()]
    })
    .collect();
    assert_eq!(jobs.len(), 4);
    assert_eq!(jobs, theirs);
}

/// The corpus's BACnet service sweep (icsnpp-bacnet-bacnet_error_reject_abort):
/// its DeviceCommunicationControl and ReinitializeDevice requests and the
/// Error refusing a restart give bacnet_device_control rows with the
/// invoke ids tshark decodes and the error the peer's bacnet.log names.
#[test]
fn bacnet_device_control_on_the_corpus() {
    let case = "icsnpp-bacnet-bacnet_error_reject_abort";
    let ours: Vec<[String; 4]> = case_rows(case, "bacnet_device_control")
        .iter()
        .map(|r| {
            ["invoke_id", "pdu_service", "result", "result_code"].map(|f| field(r, f).to_owned())
        })
        .collect();
    let service = |code: &str| match code {
        "17" => "device_communication_control",
        _ => "reinitialize_device",
    };
    let theirs: Vec<(String, String)> = tshark_fields(
        case,
        "bacapp.confirmed_service == 17 || bacapp.confirmed_service == 20",
        &["bacapp.invoke_id", "bacapp.confirmed_service"],
    )
    .iter()
    .map(|t| (t[0].clone(), service(&t[1]).to_owned()))
    .collect();
    let ids: Vec<(String, String)> = ours.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(ids, theirs);
    let refused = ours
        .iter()
        .find(|r| r[2] == "ERROR")
        .expect("the refused restart");
    assert_eq!(refused[3], "password-failure");
}
