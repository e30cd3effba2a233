//! Conformance of the name, address, identity and IT service logs: every
//! corpus case with a Zeek `dns`, `dhcp`, `http`, `ntp`, `ssh`, `ssl` (our
//! `tls`), `snmp`, `ftp`, `syslog`, `sip` or `quic` log is replayed and compared row by row on every field both logs
//! have, and `conn.log`'s `service` is compared for these protocols. A
//! difference must be listed in `known-differences/it.toml` with its
//! reason; the test prints a tally per log.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use support::{cases_with, read_log, replay_case};

type Row = BTreeMap<String, String>;

/// A peer log and how its rows are paired with ours.
struct Spec {
    peer: &'static str,
    ours: &'static str,
    key: fn(&Row) -> String,
    /// Fields compared; `None` for every field both logs have.
    fields: Option<&'static [&'static str]>,
}

/// Fields never compared: the peer's uids are random and its times masked.
const IGNORED: &[&str] = &["uid", "uids", "ts"];

/// Services this part of the sensor names in conn.log.
const SERVICES: &[&str] = &[
    "dns",
    "dhcp",
    "http",
    "ssl",
    "ssh",
    "ntp",
    "snmp",
    "ftp",
    "syslog",
    "sip",
    "quic",
    "ftp-data",
    "websocket",
    "xmpp",
];

fn get<'a>(r: &'a Row, f: &str) -> &'a str {
    r.get(f).map_or("?", |s| s)
}

fn conn_key(r: &Row) -> String {
    format!(
        "{}:{}-{}:{}",
        get(r, "id.orig_h"),
        get(r, "id.orig_p"),
        get(r, "id.resp_h"),
        get(r, "id.resp_p")
    )
}

fn dns_key(r: &Row) -> String {
    format!("{}/{}", conn_key(r), get(r, "trans_id"))
}

fn http_key(r: &Row) -> String {
    format!("{}/{}", conn_key(r), get(r, "trans_depth"))
}

fn dhcp_key(r: &Row) -> String {
    get(r, "mac").to_owned()
}

/// conn rows pair up whatever the roles: `a-b/proto` with `a <= b`.
fn pair_key(r: &Row) -> String {
    let a = format!("{}:{}", get(r, "id.orig_h"), get(r, "id.orig_p"));
    let b = format!("{}:{}", get(r, "id.resp_h"), get(r, "id.resp_p"));
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    format!("{a}-{b}/{}", get(r, "proto"))
}

const SPECS: &[Spec] = &[
    Spec {
        peer: "dns.log",
        ours: "dns.log",
        key: dns_key,
        fields: None,
    },
    Spec {
        peer: "dhcp.log",
        ours: "dhcp.log",
        key: dhcp_key,
        fields: None,
    },
    Spec {
        peer: "http.log",
        ours: "http.log",
        key: http_key,
        fields: None,
    },
    Spec {
        peer: "ntp.log",
        ours: "ntp.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "ssh.log",
        ours: "ssh.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "ssl.log",
        ours: "tls.log",
        key: conn_key,
        fields: Some(&[
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "version",
            "server_name",
        ]),
    },
    Spec {
        peer: "snmp.log",
        ours: "snmp.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "ftp.log",
        ours: "ftp.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "syslog.log",
        ours: "syslog.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "sip.log",
        ours: "sip.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "quic.log",
        ours: "quic.log",
        key: conn_key,
        fields: None,
    },
    Spec {
        peer: "conn.log",
        ours: "conn.log",
        key: pair_key,
        fields: Some(&["service"]),
    },
];

/// A listed difference: (case, log, row key, field) and why.
struct Known {
    case: String,
    log: String,
    key: String,
    field: String,
    reason: String,
}

fn known_differences() -> Vec<Known> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known-differences/it.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Some(toml::Value::Array(items)) = doc.get("difference") else {
        return Vec::new();
    };
    items
        .iter()
        .map(|it| {
            let s = |k: &str| it.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let k = Known {
                case: s("case"),
                log: s("log"),
                key: s("key"),
                field: s("field"),
                reason: s("reason"),
            };
            assert!(
                !k.reason.is_empty(),
                "{}: entry for {} {} has no reason",
                path.display(),
                k.case,
                k.log
            );
            k
        })
        .collect()
}

/// The services of ours and the peer's that belong to this part.
fn services(s: &str) -> BTreeSet<&str> {
    s.split(',').filter(|x| SERVICES.contains(x)).collect()
}

fn equal(field: &str, base: &str, ours: &str) -> bool {
    if base.contains("XXXX") {
        return true;
    }
    if field == "service" {
        return services(base) == services(ours);
    }
    base == ours
}

/// The fields of `base` compared against `ours`.
fn compared<'a>(spec: &Spec, base: &'a Row, ours: &Row) -> Vec<&'a str> {
    base.keys()
        .map(String::as_str)
        .filter(|f| !IGNORED.contains(f) && ours.contains_key(*f))
        .filter(|f| spec.fields.is_none_or(|fs| fs.contains(f)))
        .collect()
}

#[derive(Default)]
struct Tally {
    rows: usize,
    equal: usize,
    known: usize,
}

#[test]
fn it_logs_match_zeek() {
    let known = known_differences();
    let mut used = vec![false; known.len()];
    let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut cases: BTreeMap<String, support::Case> = BTreeMap::new();
    for spec in SPECS {
        for c in cases_with(spec.peer) {
            cases.entry(c.name.clone()).or_insert(c);
        }
    }
    for (name, case) in &cases {
        let out = replay_case(case, true);
        for spec in SPECS {
            let peer = case.dir.join(spec.peer);
            if !peer.is_file() {
                continue;
            }
            let mut base = read_log(&peer);
            if spec.peer == "conn.log" {
                // Only connections where either side names one of ours.
                let ours = read_log(&out.path().join(spec.ours));
                let mine: BTreeSet<String> = ours
                    .iter()
                    .filter(|r| !services(get(r, "service")).is_empty())
                    .map(pair_key)
                    .collect();
                base.retain(|r| {
                    !services(get(r, "service")).is_empty() || mine.contains(&pair_key(r))
                });
            }
            if base.is_empty() {
                continue;
            }
            let mut ours: Vec<Option<Row>> = read_log(&out.path().join(spec.ours))
                .into_iter()
                .map(Some)
                .collect();
            let t = tally.entry(spec.peer).or_default();
            for b in &base {
                t.rows += 1;
                let key = (spec.key)(b);
                // Some peer logs are cut down to a few columns (no ids).
                let cut = |o: &Row| {
                    let mut o = o.clone();
                    o.retain(|f, _| b.contains_key(f));
                    (spec.key)(&o)
                };
                // The unpaired row of ours with this key that agrees most.
                let best = ours
                    .iter()
                    .enumerate()
                    .filter_map(|(i, o)| o.as_ref().map(|o| (i, o)))
                    .filter(|(_, o)| cut(o) == key)
                    .max_by_key(|(_, o)| {
                        compared(spec, b, o)
                            .iter()
                            .filter(|f| equal(f, &b[**f], &o[**f]))
                            .count()
                    })
                    .map(|(i, _)| i);
                let diffs: Vec<(String, String, String)> = match best.and_then(|i| ours[i].take()) {
                    // Whether a connection exists at all is conn.log's test.
                    None if spec.peer == "conn.log" => {
                        t.rows -= 1;
                        continue;
                    }
                    None => vec![("*".to_owned(), "row".to_owned(), "missing".to_owned())],
                    Some(o) => compared(spec, b, &o)
                        .into_iter()
                        .filter(|f| !equal(f, &b[*f], &o[*f]))
                        .map(|f| (f.to_owned(), b[f].clone(), o[f].clone()))
                        .collect(),
                };
                if diffs.is_empty() {
                    t.equal += 1;
                    continue;
                }
                let mut all_known = true;
                for (field, zeek, mine) in diffs {
                    let hit = known.iter().position(|k| {
                        k.case == *name
                            && k.log == spec.peer.trim_end_matches(".log")
                            && (k.key == key || k.key == "*")
                            && (k.field == field || k.field == "*")
                    });
                    match hit {
                        Some(i) => used[i] = true,
                        None => {
                            all_known = false;
                            unexplained.push(format!(
                                "{name} {} [{key}] {field}: zeek {zeek:?}, ours {mine:?}",
                                spec.peer
                            ));
                        }
                    }
                }
                if all_known {
                    t.known += 1;
                }
            }
        }
    }
    let (mut rows, mut equal_rows) = (0, 0);
    for (log, t) in &tally {
        println!(
            "{log:10} rows {:4}  equal {:4}  known differences {:3}  unexplained {:3}",
            t.rows,
            t.equal,
            t.known,
            t.rows - t.equal - t.known
        );
        rows += t.rows;
        equal_rows += t.equal;
    }
    let share = equal_rows as f64 / rows.max(1) as f64;
    println!(
        "all logs: {equal_rows}/{rows} rows equal on every compared field ({:.1}%)",
        share * 100.0
    );
    for (k, u) in known.iter().zip(&used) {
        if !u {
            println!(
                "note: known difference no longer seen: {} {} [{}] {}",
                k.case, k.log, k.key, k.field
            );
        }
    }
    assert!(
        unexplained.is_empty(),
        "differences not listed in known-differences/it.toml:\n{}",
        unexplained.join("\n")
    );
}

/// The corpus's WebSocket cases carry only Zeek's conn.log; the rows Zeek
/// writes to websocket.log for the same captures are in Zeek's own test
/// baselines (testing/btest/Baseline/scripts.base.protocols.websocket.*),
/// written out here: host, URI, user agent, the server's subprotocol, the
/// client's protocols (the start of the list: wstunnel sends a bearer token
/// after `v1`) and both extension lists.
#[test]
fn websocket_handshakes_match_zeek() {
    #[rustfmt::skip]
    let expected: [(&str, [&str; 7]); 3] = [
        ("zeek-scripts-base-protocols-websocket-wstunnel-https",
         ["localhost:8888", "/v1/events", "-", "v1",
          "v1,authorization.bearer.eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.", "-", "-"]),
        ("zeek-scripts-base-protocols-websocket-wstunnel-http",
         ["localhost:8888", "/v1/events", "-", "v1",
          "v1,authorization.bearer.eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.", "-", "-"]),
        ("zeek-scripts-base-protocols-websocket-jupyter-websocket",
         ["192.168.122.182",
          "/user/christian/api/kernels/f8645ecd-0a76-4bb1-9e6e-cb464276bc69/channels?session_id=deeecee7-efc2-42a1-a7c1-e1c0569436e3",
          "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0",
          "v1.kernel.websocket.jupyter.org", "v1.kernel.websocket.jupyter.org", "-",
          "permessage-deflate"]),
    ];
    let fields = [
        "host",
        "uri",
        "user_agent",
        "subprotocol",
        "client_protocols",
        "server_extensions",
        "client_extensions",
    ];
    let cases = cases_with("conn.log");
    for (name, want) in expected {
        let Some(case) = cases.iter().find(|c| c.name == name) else {
            panic!("corpus case {name} missing");
        };
        let out = replay_case(case, true);
        let rows = read_log(&out.path().join("websocket.log"));
        assert_eq!(rows.len(), 1, "{name}: one handshake");
        for (f, w) in fields.iter().zip(want) {
            let got = get(&rows[0], f);
            let ok = if *f == "client_protocols" {
                got.starts_with(w)
            } else {
                got == w
            };
            assert!(ok, "{name} {f}: zeek {w:?}, ours {got:?}");
        }
    }
    // Zeek's http.log for wstunnel-http: the HTTP inside the frames shares
    // the connection's transactions, so the tunnelled 301 answers the
    // upgrade request and the tunnelled request is left unanswered.
    let http = cases
        .iter()
        .find(|c| c.name == "zeek-scripts-base-protocols-websocket-wstunnel-http")
        .map(|c| replay_case(c, true))
        .map(|o| read_log(&o.path().join("http.log")))
        .unwrap_or_default();
    let rows: Vec<[&str; 4]> = http
        .iter()
        .map(|r| ["host", "uri", "status_code", "user_agent"].map(|f| get(r, f)))
        .collect();
    assert_eq!(
        rows,
        [
            ["localhost:8888", "/v1/events", "301", "-"],
            ["zeek.org", "/", "-", "curl/7.81.0"]
        ]
    );
    // Zeek's ssl.log for wstunnel-https: TLS 1.3 to zeek.org, found in
    // the frames' payload.
    let https = cases
        .iter()
        .find(|c| c.name == "zeek-scripts-base-protocols-websocket-wstunnel-https")
        .map(|c| replay_case(c, true));
    let tls = https.map(|o| read_log(&o.path().join("tls.log")));
    let tls = tls.unwrap_or_default();
    assert_eq!(tls.len(), 1);
    assert_eq!(get(&tls[0], "server_name"), "zeek.org");
    assert_eq!(get(&tls[0], "version"), "TLSv13");
}
