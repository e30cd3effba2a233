//! `replay` on built and damaged inputs: intervals, formats, link types,
//! bounded tables, and errors that name the file and offset.

mod support;

use osect_agent::config::Config;
use osect_agent::replay::{replay, ReplayError, ReplayOptions};
use osect_trafficgen::frame::{self, Host};
use osect_trafficgen::pcap::Capture;
use osect_wire::batch;
use osect_wire::Format;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

fn opts(out: &Path) -> ReplayOptions {
    ReplayOptions {
        out: out.to_owned(),
        format: Format::Tsv,
        ignore_checksums: false,
        interval_secs: None,
        app_layer: true,
    }
}

fn host(i: u32) -> Host {
    Host {
        mac: [0x02, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        ip: Ipv4Addr::from(0x0a00_0000 + i),
    }
}

/// `n` UDP datagrams, each between a different pair of hosts.
fn udp_flood(n: u32) -> Capture {
    let mut cap = Capture::new();
    for i in 0..n {
        let (a, b) = (host(2 * i + 1), host(2 * i + 2));
        let f = frame::udp_frame(
            &a,
            &b,
            b.mac,
            None,
            40_000 + (i % 1000) as u16,
            9999,
            i as u16,
            &[0u8; 10],
        );
        cap.push(1_700_000_000_000_000 + i64::from(i) * 10, f);
    }
    cap
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn full_table_evicts_least_recent_and_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = write(dir.path(), "flood.pcap", &udp_flood(5000).to_pcap());
    let mut cfg = Config::default();
    cfg.limits.connections = 100;
    let out = dir.path().join("out");
    let s = replay(&[pcap], &cfg, &opts(&out)).unwrap();
    assert_eq!(s.stats.packets, 5000);
    assert_eq!(s.stats.conns_evicted, 4900);
    let conn = rows(&out.join("conn.log"));
    assert_eq!(
        conn.len(),
        5000,
        "every connection is logged, evicted or not"
    );
    let evicted = conn
        .iter()
        .filter(|r| r.last().map(String::as_str) == Some("T"))
        .count();
    assert_eq!(evicted, 4900);
}

#[test]
fn intervals_give_interim_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Capture::new();
    let (a, b) = (host(1), host(2));
    // One datagram a second for 5 s: one connection spanning 5 intervals.
    for i in 0..5 {
        cap.push(
            1_700_000_000_000_000 + i * 1_000_000,
            frame::udp_frame(&a, &b, b.mac, None, 40_000, 502, i as u16, &[1, 2, 3]),
        );
    }
    let pcap = write(dir.path(), "slow.pcap", &cap.to_pcap());
    let out = dir.path().join("out");
    let mut o = opts(&out);
    o.interval_secs = Some(1);
    replay(&[pcap], &Config::default(), &o).unwrap();
    let conn = rows(&out.join("conn.log"));
    let interim_col = conn[0].len() - 2;
    let interim: Vec<_> = conn.iter().filter(|r| r[interim_col] == "T").collect();
    let last: Vec<_> = conn.iter().filter(|r| r[interim_col] == "F").collect();
    assert_eq!(interim.len(), 4, "one interim record per closed interval");
    assert_eq!(last.len(), 1);
    // Interim records are cumulative: the packet counts grow.
    let pkts: Vec<&str> = interim.iter().map(|r| r[16].as_str()).collect();
    assert_eq!(pkts, ["1", "2", "3", "4"]);
    assert_eq!(last[0][16], "5");
}

#[test]
fn json_lines_use_zeek_names() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = write(dir.path(), "f.pcap", &udp_flood(3).to_pcap());
    let out = dir.path().join("out");
    let mut o = opts(&out);
    o.format = Format::Json;
    replay(&[pcap], &Config::default(), &o).unwrap();
    let text = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        assert!(line.starts_with("{\"ts\":1700000000.0"), "{line}");
        assert!(line.contains("\"id.orig_h\":\"10.0.0."), "{line}");
        assert!(line.contains("\"proto\":\"udp\""), "{line}");
        assert!(
            line.contains("\"orig_l2_addr\":\"02:00:00:00:00:"),
            "{line}"
        );
    }
}

#[test]
fn truncated_file_names_file_and_offset_and_keeps_earlier_records() {
    let dir = tempfile::tempdir().unwrap();
    let whole = udp_flood(50).to_pcap();
    // Cut inside the last record.
    let cut = &whole[..whole.len() - 20];
    let pcap = write(dir.path(), "cut.pcap", cut);
    let out = dir.path().join("out");
    let err = replay(&[pcap], &Config::default(), &opts(&out)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ReplayError::Read(_)));
    assert!(
        msg.contains("cut.pcap") && msg.contains("byte offset"),
        "{msg}"
    );
    assert_eq!(
        rows(&out.join("conn.log")).len(),
        49,
        "records before the damage are written"
    );
}

#[test]
fn not_a_capture_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "notes.txt",
        b"this is not a capture file at all",
    );
    let err = replay(&[f], &Config::default(), &opts(&dir.path().join("out"))).unwrap_err();
    assert!(
        err.to_string()
            .contains("notes.txt: not a pcap or pcapng file"),
        "{err}"
    );
}

#[test]
fn unknown_link_type_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = udp_flood(4).to_pcap();
    // LINKTYPE_USER0 (147) in the pcap header.
    bytes[20..24].copy_from_slice(&147u32.to_le_bytes());
    let f = write(dir.path(), "user0.pcap", &bytes);
    let s = replay(&[f], &Config::default(), &opts(&dir.path().join("out"))).unwrap();
    assert_eq!(s.stats.unsupported_link, 4);
    assert_eq!(s.stats.malformed, 0);
}

#[test]
fn corpus_pcapng_and_link_types_replay() {
    // Every corpus capture with a conn.log replays without error, whatever
    // its link type (Ethernet, SLL, raw IP, loopback, PPP, 802.11).
    for case in support::cases_with("conn.log") {
        let out = tempfile::tempdir().unwrap();
        let s = replay(
            std::slice::from_ref(&case.trace),
            &Config::default(),
            &opts(out.path()),
        );
        let s = s.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(s.stats.unsupported_link, 0, "{}", case.name);
    }
}

#[test]
fn batches_folded_at_the_source_equal_each_intervals_rows_folded() {
    // Every corpus capture in 1 s intervals: the engine's folding sink
    // gives, interval by interval, what folding the per-event rows gives.
    use osect_agent::run::file_intervals;
    let mut checked = 0;
    for case in support::cases_with("conn.log") {
        let mut folding = Config::default();
        folding.batch.interval_secs = 1;
        folding.batch.aggregate = true;
        folding.capture.ignore_checksums = case.ignore_checksums();
        let mut plain = folding.clone();
        plain.batch.aggregate = false;
        let trace = std::slice::from_ref(&case.trace);
        let mut want = Vec::new();
        file_intervals(
            &plain,
            trace,
            false,
            |_| {},
            |c| want.push((c.start_us, osect_engine::batch::aggregate(c.records))),
        )
        .unwrap();
        let mut got = Vec::new();
        file_intervals(
            &folding,
            trace,
            false,
            |_| {},
            |c| got.push((c.start_us, c.records)),
        )
        .unwrap();
        // `run` writes each interval's body as its rows come: the same
        // batch as the folded records encoded at once (same digest, same
        // rows).
        let batcher = osect_agent::batch::Batcher::new(&folding);
        let mut z = batch::Compressor::new(9, batch::dictionary(1)).unwrap();
        let mut d = batch::Decompressor::default();
        let mut staged = Vec::new();
        file_intervals(
            &folding,
            trace,
            true,
            |_| {},
            |c| {
                let body = c.staged.expect("a staged body");
                let header = batcher.header(1, c.start_us, c.end_us, 0, c.health);
                staged.push((c.start_us, body.encode(&header, &mut d).unwrap(), header));
            },
        )
        .unwrap();
        assert_eq!(staged.len(), got.len(), "{}", case.name);
        for ((start, frame, header), (_, records)) in staged.iter().zip(&got) {
            let whole = z
                .encode(&batch::Batch {
                    header: header.clone(),
                    records: records.clone(),
                })
                .unwrap();
            let (a, b) = (
                batch::decode(frame).unwrap(),
                batch::decode(&whole).unwrap(),
            );
            assert!(
                a == b,
                "{}: interval {start}: staged batch differs",
                case.name
            );
            assert_eq!(
                batch::read_frame_info(frame).unwrap().digest,
                batch::read_frame_info(&whole).unwrap().digest,
                "{}: interval {start}",
                case.name
            );
        }
        checked += got
            .iter()
            .flat_map(|(_, r)| r)
            .filter(|r| osect_engine::protocols::folds(r.schema.path))
            .count();
        assert!(got == want, "{}: folded batches differ", case.name);
    }
    assert!(checked > 100, "only {checked} folded rows compared");
}

#[test]
fn batches_whose_folded_rows_come_in_parts_decode_to_one_foldings_rows() {
    // Every corpus capture in 60 s batches, as `run` writes them, with the
    // folded rows' memory unbounded and with 2 KiB of it (a part written
    // every few keys): once decoded, the same batches, dropping nothing.
    use osect_agent::run::file_intervals;
    // Batches in parts, and rows their decoding joined.
    let (mut parted, mut joined) = (0, 0);
    for case in support::cases_with("conn.log") {
        let mut whole = Config::default();
        whole.batch.aggregate = true;
        whole.capture.ignore_checksums = case.ignore_checksums();
        whole.limits.folded_bytes = usize::MAX;
        let mut small = whole.clone();
        small.limits.folded_bytes = 2 << 10;
        let trace = std::slice::from_ref(&case.trace);
        let frames = |cfg: &Config| {
            let batcher = osect_agent::batch::Batcher::new(cfg);
            let mut d = batch::Decompressor::default();
            let mut out = Vec::new();
            file_intervals(
                cfg,
                trace,
                true,
                |_| {},
                |c| {
                    let header = batcher.header(1, c.start_us, c.end_us, 0, c.health);
                    let body = c.staged.expect("a staged body");
                    out.push(body.encode(&header, &mut d).unwrap());
                },
            )
            .unwrap();
            out
        };
        let (want, got) = (frames(&whole), frames(&small));
        assert_eq!(want.len(), got.len(), "{}", case.name);
        for (a, b) in want.iter().zip(&got) {
            let (wa, wb) = (batch::decode(a).unwrap(), batch::decode(b).unwrap());
            assert!(
                wa == wb,
                "{}: batch {} differs",
                case.name,
                wa.header.interval_start_us
            );
            assert_eq!(wb.header.health.records_dropped, 0, "{}", case.name);
            let info = batch::read_frame_info(b).unwrap();
            if info.parts {
                parted += 1;
                joined += info.header.record_count - wb.header.record_count;
            }
            // Named as the batch written in one piece is.
            assert_eq!(
                batch::digest(&wb).unwrap(),
                batch::read_frame_info(a).unwrap().digest,
                "{}",
                case.name
            );
        }
    }
    assert!(
        parted > 10 && joined > 1_000,
        "{parted} batches came in parts, {joined} rows joined"
    );
}

#[test]
fn arp_exchanges_are_aggregated_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (host(1), host(2));
    let mut cap = Capture::new();
    // Three identical requests and one reply, tagged VLAN 10.
    for i in 0..3 {
        cap.push(
            1_700_000_000_000_000 + i * 1000,
            frame::arp(&a, &b, false, Some(10)),
        );
    }
    cap.push(1_700_000_000_010_000, frame::arp(&b, &a, true, Some(10)));
    let pcap = write(dir.path(), "arp.pcap", &cap.to_pcap());
    let out = dir.path().join("out");
    replay(&[pcap], &Config::default(), &opts(&out)).unwrap();
    let arp = rows(&out.join("arp.log"));
    assert_eq!(arp.len(), 2, "{arp:?}");
    // ts ts_end operation orig_mac orig_ip resp_mac resp_ip who_has vlan pkts
    assert_eq!(
        arp[0][2..],
        [
            "request",
            "02:00:00:00:00:01",
            "10.0.0.1",
            "-",
            "-",
            "10.0.0.2",
            "10",
            "3"
        ]
    );
    assert_eq!(
        arp[1][2..],
        [
            "reply",
            "02:00:00:00:00:01",
            "10.0.0.1",
            "02:00:00:00:00:02",
            "10.0.0.2",
            "10.0.0.2",
            "10",
            "1"
        ]
    );
}

/// An Ethernet frame with an ICMPv6 neighbor solicitation (135) or
/// advertisement (136) for `target`, with a link-layer address option.
fn nd_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 16],
    dst: [u8; 16],
    ty: u8,
    target: [u8; 16],
) -> Vec<u8> {
    use osect_engine::packet::checksum;
    let mut icmp = vec![ty, 0, 0, 0, if ty == 136 { 0x60 } else { 0 }, 0, 0, 0];
    icmp.extend_from_slice(&target);
    // Source (1) or target (2) link-layer address option.
    icmp.extend_from_slice(&[if ty == 135 { 1 } else { 2 }, 1]);
    icmp.extend_from_slice(&src_mac);
    let (s, d) = (std::net::IpAddr::from(src), std::net::IpAddr::from(dst));
    let sum = checksum::fold(checksum::sum(
        checksum::pseudo_header(s, d, 58, icmp.len() as u32),
        &icmp,
    ));
    icmp[2..4].copy_from_slice(&(!sum).to_be_bytes());
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, icmp.len() as u8, 58, 255]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&icmp);
    f
}

#[test]
fn neighbor_discovery_feeds_ns() {
    let dir = tempfile::tempdir().unwrap();
    let ll = |last: u8| {
        let mut a = [0u8; 16];
        a[0] = 0xfe;
        a[1] = 0x80;
        a[15] = last;
        a
    };
    let (ma, mb) = ([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb]);
    let mut solicited = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    solicited[15] = 2;
    let mut cap = Capture::new();
    cap.push(
        1_700_000_000_000_000,
        nd_frame(
            ma,
            [0x33, 0x33, 0xff, 0, 0, 2],
            ll(1),
            solicited,
            135,
            ll(2),
        ),
    );
    cap.push(
        1_700_000_000_000_500,
        nd_frame(mb, ma, ll(2), ll(1), 136, ll(2)),
    );
    let pcap = write(dir.path(), "nd.pcap", &cap.to_pcap());
    let out = dir.path().join("out");
    let s = replay(&[pcap], &Config::default(), &opts(&out)).unwrap();
    assert_eq!(s.stats.bad_transport_checksum, 0);
    let ns = rows(&out.join("ns.log"));
    // ts ts_end operation orig_mac orig_ip resp_mac resp_ip who_has vlan pkts
    assert_eq!(ns.len(), 2, "{ns:?}");
    assert_eq!(
        ns[0][2..],
        [
            "request",
            "02:00:00:00:00:0a",
            "fe80::1",
            "-",
            "-",
            "fe80::2",
            "-",
            "1"
        ]
    );
    assert_eq!(
        ns[1][2..],
        [
            "reply",
            "02:00:00:00:00:0a",
            "fe80::1",
            "02:00:00:00:00:0b",
            "fe80::2",
            "fe80::2",
            "-",
            "1"
        ]
    );
}
