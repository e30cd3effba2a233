//! The batch thread: the workers' closed intervals merged into one batch
//! per interval, their per-interval summaries (assets, neighbours,
//! fingerprints, folded rows) joined as one engine would write them.

use super::closer::{thread_cpu, Closer};
use super::intervals::Closed;
use osect_wire::batch::Health;
use osect_wire::{Key, Record, Value};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc::Receiver;

/// Intervals the batch thread waits on for a slow worker before closing
/// them with what it has.
const MAX_PENDING_INTERVALS: usize = 4;

/// What a capture worker tells the batch thread.
pub(super) enum Msg {
    Closed(Box<Closed>),
    /// Worker `worker` has seen `packets` in the interval open from `start_us`.
    Progress {
        worker: u16,
        start_us: i64,
        packets: u64,
    },
    Done,
}

/// Whether the oldest pending interval, of which `have` workers reported,
/// is closed now: every worker reported, too many intervals wait for a
/// slow one, or the records waiting (`held`) passed `budget`.
fn due(have: usize, workers: usize, intervals: usize, held: usize, budget: usize) -> bool {
    have >= workers || intervals > MAX_PENDING_INTERVALS || held > budget
}

/// Joins the workers' intervals into batches. The records waiting to be
/// joined are bounded by `budget`: past it the oldest interval is closed
/// with what it has, as for a slow worker (a worker's part that comes
/// after is a batch of its own).
pub(super) fn batch_thread(
    mut closer: Closer,
    rx: Receiver<Msg>,
    workers: usize,
    budget: usize,
) -> Closer {
    let mut pending: BTreeMap<i64, (usize, Closed)> = BTreeMap::new();
    let mut held = 0usize;
    let mut fingerprints = HashSet::new();
    // Each worker's latest progress: a lost interval counts every worker's packets.
    let mut open = vec![(0i64, 0u64); workers];
    let mut done = 0;
    while done < workers {
        let Ok(msg) = rx.recv() else { break };
        match msg {
            Msg::Closed(c) if workers == 1 => closer.emit(*c),
            Msg::Closed(c) => {
                let e = pending.entry(c.start_us).or_insert_with(|| {
                    (
                        0,
                        Closed {
                            start_us: c.start_us,
                            end_us: c.end_us,
                            records: Vec::new(),
                            staged: None,
                            health: Health::default(),
                        },
                    )
                });
                e.0 += 1;
                held += c.records.len();
                merge(&mut e.1, *c);
                while let Some((&start, &(n, _))) = pending.first_key_value() {
                    if !due(n, workers, pending.len(), held, budget) {
                        break;
                    }
                    if let Some((_, c)) = pending.remove(&start) {
                        held = held.saturating_sub(c.records.len());
                        emit_merged(&mut closer, c, &mut fingerprints);
                    }
                }
            }
            Msg::Progress {
                worker,
                start_us,
                packets,
            } => {
                if let Some(p) = open.get_mut(usize::from(worker)) {
                    *p = (start_us, packets);
                }
                let seen = open.iter().filter(|p| p.0 == start_us).map(|p| p.1).sum();
                closer.progress(start_us, seen);
            }
            Msg::Done => done += 1,
        }
    }
    while let Some((_, (_, c))) = pending.pop_first() {
        emit_merged(&mut closer, c, &mut fingerprints);
    }
    closer.clean();
    closer.cpu = thread_cpu();
    closer
}

/// An interval merged from several workers, its per-interval summaries joined.
fn emit_merged(closer: &mut Closer, mut c: Closed, fingerprints: &mut HashSet<Key>) {
    join_summaries(&mut c.records, fingerprints);
    if closer.batcher.aggregate {
        c.records = osect_engine::batch::refold(std::mem::take(&mut c.records));
    }
    closer.emit(c);
}

/// Each worker's engine keeps its own asset ledger and neighbor table, so a
/// device, or an address exchange, whose packets the fanout hash spread over
/// several workers is reported by each of them (ARP all reaches one worker;
/// an IPv6 neighbor solicitation sent to a multicast and a unicast address
/// does not). Its records of one interval become one, as one engine would
/// write it: sets joined within their bounds, the earliest first sighting,
/// the latest last one, packets added up, and a fact only one worker knew
/// kept. (Past the bound, the addresses of the record met first are kept:
/// which ones a single ledger keeps depends on the order of the traffic
/// anyway.)
///
/// A passive fingerprint is logged once per host, kind and signature by an
/// engine; workers each log the ones they see first. `fingerprints` holds
/// those reported in earlier intervals (bounded as an engine's memory is),
/// so a worker's later first sighting is dropped, and the rows of one
/// interval become one with the earliest time.
fn join_summaries(records: &mut Vec<Record>, fingerprints: &mut HashSet<Key>) {
    use osect_engine::asset::ASSET;
    use osect_engine::neighbor::{ARP_LOG, NS_LOG};
    use osect_engine::over_ip::fingerprint::{FINGERPRINT_LOG, MAX_SEEN};
    let mut seen: HashMap<(&'static str, Key), usize> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    let field = |r: &Record, name| r.get(name).cloned().unwrap_or(Value::Unset);
    let mut new_fingerprints = Vec::new();
    for r in records.drain(..) {
        if std::ptr::eq(r.schema, &FINGERPRINT_LOG) {
            let key = Key(r
                .schema
                .fields
                .iter()
                .zip(&r.values)
                .filter(|(f, _)| f.name != "ts")
                .map(|(_, v)| v.clone())
                .collect());
            if fingerprints.contains(&key) {
                continue;
            }
            match seen.entry((r.schema.path, key.clone())) {
                Entry::Occupied(e) => join_summary(&mut out[*e.get()], r),
                Entry::Vacant(e) => {
                    e.insert(out.len());
                    out.push(r);
                    new_fingerprints.push(key);
                }
            }
            continue;
        }
        let key = if std::ptr::eq(r.schema, &ASSET) {
            // The ledger's key: MAC and VLAN, or the addresses when no MAC was seen.
            let mac = field(&r, "mac");
            let who = if mac == Value::Unset {
                field(&r, "ips")
            } else {
                mac
            };
            vec![who, field(&r, "vlan")]
        } else if std::ptr::eq(r.schema, &ARP_LOG) || std::ptr::eq(r.schema, &NS_LOG) {
            // The exchange: every field but its times and count.
            r.schema
                .fields
                .iter()
                .zip(&r.values)
                .filter(|(f, _)| !matches!(f.name, "ts" | "ts_end" | "pkts"))
                .map(|(_, v)| v.clone())
                .collect()
        } else {
            out.push(r);
            continue;
        };
        match seen.entry((r.schema.path, Key(key))) {
            Entry::Occupied(e) => join_summary(&mut out[*e.get()], r),
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(r);
            }
        }
    }
    for key in new_fingerprints {
        if fingerprints.len() >= MAX_SEEN {
            fingerprints.clear();
        }
        fingerprints.insert(key);
    }
    *records = out;
}

/// Adds what record `r` says to `into` (same log, same device or exchange).
fn join_summary(into: &mut Record, r: Record) {
    use osect_engine::asset::{MAX_HOSTNAMES, MAX_IPS};
    for ((f, slot), v) in into
        .schema
        .fields
        .iter()
        .zip(&mut into.values)
        .zip(r.values)
    {
        match (f.name, slot, v) {
            ("ts" | "first_seen", Value::Time(a), Value::Time(b)) => *a = (*a).min(b),
            ("ts_end" | "last_seen", Value::Time(a), Value::Time(b)) => *a = (*a).max(b),
            ("pkts", Value::Count(a), Value::Count(b)) => *a += b,
            (name, Value::Strings(a), Value::Strings(b)) => {
                let bound = match name {
                    "ips" => MAX_IPS,
                    "hostnames" => MAX_HOSTNAMES,
                    _ => usize::MAX,
                };
                for s in b {
                    if a.len() >= bound {
                        break;
                    }
                    if !a.contains(&s) {
                        a.push(s);
                    }
                }
            }
            (_, slot, v) if *slot == Value::Unset => *slot = v,
            _ => {}
        }
    }
}

fn merge(into: &mut Closed, c: Closed) {
    into.end_us = into.end_us.max(c.end_us);
    into.records.extend(c.records);
    let (a, b) = (&mut into.health, c.health);
    a.packets += b.packets;
    a.bytes += b.bytes;
    a.kernel_drops += b.kernel_drops;
    a.kernel_freezes += b.kernel_freezes;
    a.malformed += b.malformed;
    a.flows_evicted += b.flows_evicted;
    a.expected_evicted += b.expected_evicted;
    a.dpd_buffers_refused += b.dpd_buffers_refused;
    a.records_dropped += b.records_dropped;
    a.records_truncated += b.records_truncated;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_closes_when_all_report_or_too_much_waits() {
        // Two of three workers reported, one interval waiting, within budget.
        assert!(!due(2, 3, 1, 1_000, 10_000));
        assert!(due(3, 3, 1, 1_000, 10_000));
        // A slow worker: more intervals wait than allowed.
        assert!(due(1, 3, MAX_PENDING_INTERVALS + 1, 1_000, 10_000));
        // Records waiting past the budget.
        assert!(due(2, 3, 1, 10_001, 10_000));
    }

    fn asset(mac: Option<&str>, ips: &[&str], os: Option<&str>, seen: (i64, i64)) -> Record {
        use osect_engine::asset::ASSET;
        let mut values = vec![Value::Unset; ASSET.fields.len()];
        let mut set = |name: &str, v: Value| values[ASSET.index_of(name).unwrap()] = v;
        set("ts", Value::Time(1_000));
        if let Some(m) = mac {
            set("mac", Value::from(m));
        }
        set(
            "ips",
            Value::Strings(ips.iter().map(|s| s.to_string()).collect()),
        );
        set("hostnames", Value::Strings(Vec::new()));
        set("roles", Value::Strings(Vec::new()));
        if let Some(os) = os {
            set("os", Value::from(os));
        }
        set("first_seen", Value::Time(seen.0));
        set("last_seen", Value::Time(seen.1));
        Record {
            schema: &ASSET,
            values,
        }
    }

    #[test]
    fn workers_asset_records_of_one_device_become_one() {
        const A: &str = "00:1b:1b:01:02:03";
        static OTHER: osect_wire::LogSchema = osect_wire::LogSchema {
            path: "other",
            fields: &[],
        };
        let many: Vec<String> = (2..20).map(|i| format!("10.0.0.{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let other = Record {
            schema: &OTHER,
            values: Vec::new(),
        };
        let mut records = vec![
            asset(Some(A), &["10.0.0.1", "10.0.0.2"], None, (10, 20)),
            other,
            // Devices known by address only: two addresses, two devices.
            asset(None, &["10.9.0.1"], None, (1, 2)),
            asset(None, &["10.9.0.2"], None, (1, 2)),
            // The same device as the first, from another worker.
            asset(Some(A), &many, Some("Linux"), (5, 15)),
        ];
        join_summaries(&mut records, &mut HashSet::new());
        assert_eq!(records.len(), 4);
        assert_eq!(records[1].schema.path, "other");
        let a = &records[0];
        let want: Vec<String> = ["10.0.0.1"]
            .into_iter()
            .chain(many.iter().copied())
            .take(osect_engine::asset::MAX_IPS)
            .map(str::to_owned)
            .collect();
        assert_eq!(a.get("ips"), Some(&Value::Strings(want)));
        assert_eq!(a.get("os"), Some(&Value::from("Linux")));
        assert_eq!(a.get("first_seen"), Some(&Value::Time(5)));
        assert_eq!(a.get("last_seen"), Some(&Value::Time(20)));
        assert_eq!(
            records[2].get("ips"),
            Some(&Value::Strings(vec!["10.9.0.1".into()]))
        );
        assert_eq!(
            records[3].get("ips"),
            Some(&Value::Strings(vec!["10.9.0.2".into()]))
        );
    }

    #[test]
    fn workers_rows_of_one_neighbor_exchange_become_one() {
        use osect_engine::neighbor::{Exchange, Neighbors};
        let solicit = |target: u8| Exchange {
            v6: true,
            reply: false,
            orig_mac: Some([2, 0, 0, 0, 0, 1]),
            orig_ip: Some("fe80::1".parse().unwrap()),
            resp_mac: None,
            resp_ip: None,
            who_has: format!("fe80::{target}").parse().unwrap(),
            vlan: None,
        };
        // Worker 0 saw the multicast solicitation, worker 1 the unicast one.
        let mut records = Vec::new();
        for (ts, targets) in [(10, &[3, 4][..]), (30, &[3][..])] {
            let mut n = Neighbors::new(16);
            for &t in targets {
                n.observe(ts, solicit(t));
                n.observe(ts + 5, solicit(t));
            }
            n.emit(|r| records.push(r));
        }
        join_summaries(&mut records, &mut HashSet::new());
        // Rows first seen at once come in no particular order.
        records.sort_by_key(|r| format!("{:?}", r.get("who_has")));
        let rows: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.get("who_has"),
                    r.get("ts"),
                    r.get("ts_end"),
                    r.get("pkts"),
                )
            })
            .collect();
        let addr = |t: &str| Value::Addr(t.parse().unwrap());
        assert_eq!(
            rows,
            [
                (
                    Some(&addr("fe80::3")),
                    Some(&Value::Time(10)),
                    Some(&Value::Time(35)),
                    Some(&Value::Count(4))
                ),
                (
                    Some(&addr("fe80::4")),
                    Some(&Value::Time(10)),
                    Some(&Value::Time(15)),
                    Some(&Value::Count(2))
                ),
            ]
        );
    }

    #[test]
    fn workers_fingerprints_are_reported_once() {
        use osect_engine::over_ip::fingerprint::FINGERPRINT_LOG;
        let fp = |ts: i64, sig: &str| {
            let mut values = vec![Value::Unset; FINGERPRINT_LOG.fields.len()];
            let mut set =
                |name: &str, v: Value| values[FINGERPRINT_LOG.index_of(name).unwrap()] = v;
            set("ts", Value::Time(ts));
            set("mod", "syn".into());
            set("src_ip", Value::Addr("192.168.1.5".parse().unwrap()));
            set("raw_sig", sig.into());
            Record {
                schema: &FINGERPRINT_LOG,
                values,
            }
        };
        let linux = "4:64:0:1460:64240,7:mss,sok,ts,nop,ws:df,id+:0";
        let windows = "4:128:0:1460:64240,8:mss,nop,ws,nop,nop,sok:df,id+:0";
        let mut earlier = HashSet::new();
        // Both workers saw the host's SYN in the first interval.
        let mut first = vec![fp(20, linux), fp(10, linux)];
        join_summaries(&mut first, &mut earlier);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].get("ts"), Some(&Value::Time(10)));
        // A worker's first sighting in a later interval was already reported.
        let mut second = vec![fp(70, linux), fp(75, windows)];
        join_summaries(&mut second, &mut earlier);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].get("raw_sig"), Some(&Value::from(windows)));
    }
}
