use super::*;
use std::path::Path;

fn corpus() -> PathBuf {
    let root = std::env::var_os("OSECT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    assert!(
        root.is_dir(),
        "corpus not found at {}: set OSECT_CORPUS",
        root.display()
    );
    root
}

/// Corpus cases with IPv4 and IPv6, TCP, UDP, ICMPv6, ARP, VLAN tags and
/// deliberately bad checksums.
fn sample() -> Vec<PathBuf> {
    let root = corpus();
    let mut files = Vec::new();
    for case in [
        "icsnpp-modbus-modbus_example",
        "zeek-ftp-ftp-ipv6",
        "zeek-core-tcp-bad-checksum-syn",
        "zeek-core-udp-corrupt",
        "zeek-core-q-in-q",
        "zeek-icmp-icmp6-nd-short-options",
        "nttcom-bacnet",
    ] {
        let dir = root.join(case);
        let f = case_trace(&dir).unwrap_or_else(|| panic!("no trace in {}", dir.display()));
        files.push(f);
    }
    files
}

/// (IP header checksum ok, transport checksum ok) of a frame, where the
/// frame holds them.
fn validity(frame: &[u8]) -> (Option<bool>, Option<bool>) {
    let Ok(Some(l2)) = ethernet::decode(LinkType::ETHERNET, frame) else {
        return (None, None);
    };
    let seg_ok = |src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8], complete: bool, first: bool| {
        let udp_none = proto == PROTO_UDP && seg.get(6..8) == Some(&[0, 0]);
        (complete && first && !udp_none && matches!(proto, PROTO_TCP | PROTO_UDP | PROTO_ICMPV6))
            .then(|| checksum::transport_ok(src, dst, proto, seg))
    };
    match l2.ethertype {
        ethernet::ETHERTYPE_IPV4 => match ipv4::Packet::parse(l2.payload) {
            Ok(p) => (
                Some(p.header_checksum_ok()),
                seg_ok(
                    p.src.into(),
                    p.dst.into(),
                    p.proto,
                    p.payload,
                    p.complete,
                    p.frag_offset == 0,
                ),
            ),
            Err(_) => (None, None),
        },
        ethernet::ETHERTYPE_IPV6 => match ipv6::Packet::parse(l2.payload) {
            Ok(p) => (
                None,
                seg_ok(
                    p.src.into(),
                    p.dst.into(),
                    p.proto,
                    p.payload,
                    p.complete,
                    p.fragment.is_none(),
                ),
            ),
            Err(_) => (None, None),
        },
        _ => (None, None),
    }
}

fn unicast_ips(frame: &[u8]) -> Vec<IpAddr> {
    let Ok(Some(l2)) = ethernet::decode(LinkType::ETHERNET, frame) else {
        return Vec::new();
    };
    let ips: Vec<IpAddr> = match l2.ethertype {
        ethernet::ETHERTYPE_IPV4 => ipv4::Packet::parse(l2.payload)
            .map(|p| vec![p.src.into(), p.dst.into()])
            .unwrap_or_default(),
        ethernet::ETHERTYPE_IPV6 => ipv6::Packet::parse(l2.payload)
            .map(|p| vec![p.src.into(), p.dst.into()])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    ips.into_iter()
        .filter(|a| match a {
            IpAddr::V4(v) => is_unicast_v4(v.octets()),
            IpAddr::V6(v) => is_unicast_v6(v.octets()),
        })
        .collect()
}

fn read_back(bytes: &[u8]) -> Vec<(i64, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pcap");
    std::fs::write(&path, bytes).unwrap();
    let mut frames = Vec::new();
    pcap::read_file(&path, |ts, link, f| {
        assert_eq!(link, LinkType::ETHERNET);
        frames.push((ts, f.to_vec()));
    })
    .unwrap();
    frames
}

#[test]
fn repetitions_keep_checksum_validity_and_get_their_own_addresses() {
    let (base, skipped) = Base::load(&sample()).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let reps = 3;
    let mut out = Vec::new();
    let w = base.write_repeated(reps, &mut out).unwrap();
    assert_eq!(w.packets, reps * base.packets() as u64);
    assert_eq!(w.bytes, out.len() as u64);
    let frames = read_back(&out);
    assert_eq!(frames.len(), reps as usize * base.packets());

    let (mut bad_before, mut checked) = (0, 0);
    let mut per_rep: Vec<HashSet<IpAddr>> = vec![HashSet::new(); reps as usize];
    for (i, (ts, f)) in frames.iter().enumerate() {
        let orig = &base.frames[i % base.packets()];
        let k = i / base.packets();
        assert_eq!(
            *ts,
            START_US + k as i64 * base.period_us + orig.ts,
            "packet {i}"
        );
        assert_eq!(f.len(), orig.data.len());
        let (was, is) = (validity(&orig.data), validity(f));
        assert_eq!(
            was, is,
            "packet {i} (repetition {k}): checksum validity changed"
        );
        checked += usize::from(was.1.is_some());
        bad_before += usize::from(was.1 == Some(false)) + usize::from(was.0 == Some(false));
        per_rep[k].extend(unicast_ips(f));
        if k > 0 {
            assert_ne!(f, &orig.data, "packet {i}: repetition {k} not rewritten");
        }
    }
    assert!(checked > 100, "only {checked} transport checksums checked");
    assert!(
        bad_before > 0,
        "the sample has bad checksums: they must stay bad"
    );
    for a in 0..per_rep.len() {
        for b in a + 1..per_rep.len() {
            let shared: Vec<_> = per_rep[a].intersection(&per_rep[b]).collect();
            assert!(
                shared.is_empty(),
                "repetitions {a} and {b} share {shared:?}"
            );
        }
    }
}

#[test]
fn too_many_repetitions_are_refused() {
    let (base, _) = Base::load(&sample()[..1]).unwrap();
    let e = base
        .write_repeated(base.max_repetitions() + 1, io::sink())
        .unwrap_err();
    assert!(e.to_string().contains("reuse addresses"), "{e}");
}

#[test]
fn a_flood_is_distinct_tuples_with_valid_checksums() {
    let mut out = Vec::new();
    let w = write_flood(2000, 7, &mut out).unwrap();
    assert_eq!(w.packets, 2000);
    let frames = read_back(&out);
    let mut tuples = HashSet::new();
    for (_, f) in &frames {
        let (ip, l4) = validity(f);
        assert_eq!((ip, l4), (Some(true), Some(true)), "{f:02x?}");
        let l2 = ethernet::decode(LinkType::ETHERNET, f).unwrap().unwrap();
        let p = ipv4::Packet::parse(l2.payload).unwrap();
        tuples.insert((p.src, p.dst, p.proto, p.payload[..4].to_vec()));
    }
    assert_eq!(tuples.len(), 2000);
    let mut again = Vec::new();
    write_flood(2000, 7, &mut again).unwrap();
    assert_eq!(out, again, "same seed, same file");
}

fn case_name(trace: &Path) -> &str {
    trace
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

#[test]
fn cases_are_selected_by_name_prefix() {
    let root = corpus();
    let industrial_prefixes = ["icsnpp-".to_string(), "nttcom-".to_string()];
    let industrial = cases(&root, &industrial_prefixes, "zeek-core-").unwrap();
    let every = cases(&root, &[], "zeek-core-").unwrap();
    assert!(!industrial.is_empty());
    for t in &industrial {
        let name = case_name(t);
        assert!(
            industrial_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str())),
            "{name} selected"
        );
        assert!(every.contains(t), "{name} missing from every case");
    }
    assert!(every.len() > industrial.len());
    assert!(every
        .iter()
        .all(|t| !case_name(t).starts_with("zeek-core-")));
    assert!(every.windows(2).all(|w| w[0] < w[1]), "name order");
    let missing = root.join("no-such-folder");
    let err = cases(&missing, &[], "").unwrap_err();
    assert!(err.contains("no-such-folder"), "{err}");
}

#[test]
fn spaced_repetitions_run_side_by_side_in_time_order() {
    let (base, _) = Base::load(&sample()).unwrap();
    let (reps, every) = (4u64, 1_000i64);
    let mut out = Vec::new();
    let w = base.write_spaced(reps, every, &mut out).unwrap();
    assert_eq!(w.packets, reps * base.packets() as u64);
    let frames = read_back(&out);
    assert!(
        frames.windows(2).all(|p| p[0].0 <= p[1].0),
        "not in time order"
    );
    // Every repetition's frames are there, each shifted by its start.
    let mut times: Vec<i64> = frames.iter().map(|f| f.0).collect();
    let mut want: Vec<i64> = (0..reps as i64)
        .flat_map(|k| base.frames.iter().map(move |f| START_US + k * every + f.ts))
        .collect();
    times.sort();
    want.sort();
    assert_eq!(times, want);
    // They overlap: the last starts before the first ends.
    let span = base.frames.last().unwrap().ts;
    assert!((reps as i64 - 1) * every < span);
}

#[test]
fn a_poll_burst_folds_into_its_operations() {
    // 4 values: 32 rows; 500 values over 5,000 polls: every poll its own row.
    for (values, rows) in [(4, 32), (500, 4_000)] {
        poll_burst_folds(values, rows);
    }
}

fn poll_burst_folds(values: u32, rows: usize) {
    use osect_engine::engine::{Engine, Options};
    let mut out = Vec::new();
    let w = write_poll_burst(5_000, 50, values, &mut out).unwrap();
    // Handshake, request and response each, close.
    assert_eq!(w.packets, 3 + 2 * 5_000 + 3);
    let frames = read_back(&out);
    let mut e = Engine::new(
        &osect_engine::limits::Limits::default(),
        Options {
            fold: true,
            ..Options::default()
        },
    );
    let mut last = 0;
    for (ts, f) in &frames {
        assert_eq!(validity(f), (Some(true), Some(true)), "{f:02x?}");
        assert!(*ts >= last && *ts - START_US < 60_000_000);
        last = *ts;
        e.handle_packet(*ts, LinkType::ETHERNET, f);
    }
    e.finish(last);
    let records = e.take_records();
    // One row per operation and value read: 8 addresses, `values` each.
    let detailed: Vec<_> = records
        .iter()
        .filter(|r| r.schema.path == "modbus_detailed")
        .collect();
    assert_eq!(detailed.len(), rows);
    let total: u64 = detailed
        .iter()
        .map(|r| match r.get("count") {
            Some(osect_wire::Value::Count(n)) => *n,
            other => panic!("count {other:?}"),
        })
        .sum();
    assert_eq!(total, 5_000);
}
