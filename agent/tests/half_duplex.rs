//! TCP seen in one direction only (a tap or span port that carries one side
//! of a link): conn.log as Zeek's TCP analysis writes it. Conversations from
//! the traffic generator are cut to one side and replayed.
//!
//! Zeek's rules at work: a side never seen stays inactive, so payload bytes
//! come from the seen side's sequence numbers alone; a connection opened by
//! the originator's SYN whose responder is still unseen 5 s later
//! (`tcp_attempt_delay`) is given up on, and what follows on the tuple is a
//! new connection; a SYN-ACK's sender is the responder (history `^`).

mod support;

use osect_trafficgen::frame::{self, Host};
use osect_trafficgen::link;
use osect_trafficgen::pcap::Capture;
use osect_trafficgen::tcp::TcpConn;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

type Row = BTreeMap<String, String>;

const CLIENT: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x00, 0x0a],
    ip: Ipv4Addr::new(10, 2, 0, 10),
};
const SERVER: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x00, 0x14],
    ip: Ipv4Addr::new(10, 2, 0, 20),
};
const CPORT: u16 = 51000;
const SPORT: u16 = 8080;
const T0: i64 = 1_700_000_000_000_000;
const SECOND: i64 = 1_000_000;

/// A captured segment: time, direction, frame, TCP payload length.
struct Seg {
    ts: i64,
    from_client: bool,
    frame: Vec<u8>,
    ip_len: usize,
    payload: usize,
}

/// A conversation: handshake at `T0`, then `(seconds after T0, from the
/// client, bytes)` sends, then the close.
fn conversation(sends: &[(i64, bool, usize)], close_at: i64) -> Vec<Seg> {
    let mut cap = Capture::new();
    let mut c = TcpConn::new(CLIENT, CPORT, SERVER, SPORT, None, (7_000, 900_000));
    c.handshake(&mut cap, T0);
    for &(at, from_client, n) in sends {
        c.send(&mut cap, T0 + at * SECOND, from_client, &vec![0xa5; n]);
    }
    c.close(&mut cap, T0 + close_at * SECOND);
    cap.frames()
        .map(|(ts, f)| {
            let ip = link::ip_of(f).expect("IPv4");
            let tcp_hlen = usize::from(ip[20 + 12] >> 4) * 4;
            Seg {
                ts,
                from_client: ip[12..16] == CLIENT.ip.octets(),
                frame: f.to_vec(),
                ip_len: ip.len(),
                payload: ip.len() - 20 - tcp_hlen,
            }
        })
        .collect()
}

/// Replays the segments of one side and returns conn.log, oldest first.
fn replay_side(segs: &[Seg], client_side: bool) -> Vec<Row> {
    let mut cap = Capture::new();
    for s in segs.iter().filter(|s| s.from_client == client_side) {
        cap.push(s.ts, s.frame.clone());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("one-side.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    let mut rows = support::read_log(&out.path().join("conn.log"));
    rows.sort_by(|a, b| a["ts"].cmp(&b["ts"]));
    rows
}

/// Packets, IP bytes and payload bytes of one side's segments in `[from, to)`.
fn tally(segs: &[Seg], client: bool, from: i64, to: i64) -> (usize, usize, usize) {
    segs.iter()
        .filter(|s| s.from_client == client && (from..to).contains(&s.ts))
        .fold((0, 0, 0), |(n, ip, pl), s| {
            (n + 1, ip + s.ip_len, pl + s.payload)
        })
}

fn check(row: &Row, want: &[(&str, String)]) {
    for (field, value) in want {
        assert_eq!(&row[*field], value, "{field} in {row:?}");
    }
}

/// Only the client's side, closed within 5 s: SYN then FIN with the
/// responder never seen is `SH`; the acknowledgements of the unseen
/// server's data count for nothing.
#[test]
fn client_side_only() {
    let segs = conversation(&[(1, true, 300), (2, false, 5000)], 3);
    let rows = replay_side(&segs, true);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (pkts, ip, payload) = tally(&segs, true, T0, i64::MAX);
    check(
        &rows[0],
        &[
            ("id.orig_h", CLIENT.ip.to_string()),
            ("id.resp_p", SPORT.to_string()),
            ("conn_state", "SH".into()),
            ("history", "SADF".into()),
            ("orig_bytes", payload.to_string()),
            ("resp_bytes", "0".into()),
            ("missed_bytes", "0".into()),
            ("orig_pkts", pkts.to_string()),
            ("orig_ip_bytes", ip.to_string()),
            ("resp_pkts", "0".into()),
            ("resp_ip_bytes", "0".into()),
        ],
    );
}

/// Only the client's side of a connection that goes on past 5 s: Zeek gives
/// up on the attempt 5 s after the SYN (`S0`, what was sent until then), and
/// the segments after it are a new connection joined mid-stream, closed by
/// the client's FIN (`SH`).
#[test]
fn client_side_only_beyond_the_attempt_delay() {
    let segs = conversation(&[(1, true, 300), (2, false, 800), (9, true, 2000)], 12);
    let rows = replay_side(&segs, true);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let cut = T0 + 5 * SECOND;
    let (pkts, ip, payload) = tally(&segs, true, T0, cut);
    check(
        &rows[0],
        &[
            ("id.orig_h", CLIENT.ip.to_string()),
            ("conn_state", "S0".into()),
            ("history", "SAD".into()),
            ("orig_bytes", payload.to_string()),
            ("resp_bytes", "0".into()),
            ("orig_pkts", pkts.to_string()),
            ("orig_ip_bytes", ip.to_string()),
            ("resp_pkts", "0".into()),
        ],
    );
    let (pkts, ip, payload) = tally(&segs, true, cut, i64::MAX);
    check(
        &rows[1],
        &[
            ("id.orig_h", CLIENT.ip.to_string()),
            ("id.orig_p", CPORT.to_string()),
            ("conn_state", "SH".into()),
            // The client's last ACK is the new connection's first pure ACK.
            ("history", "DFA".into()),
            ("orig_bytes", payload.to_string()),
            ("resp_bytes", "0".into()),
            ("missed_bytes", "0".into()),
            ("orig_pkts", pkts.to_string()),
            ("orig_ip_bytes", ip.to_string()),
            ("resp_pkts", "0".into()),
        ],
    );
    assert_ne!(rows[0]["uid"], rows[1]["uid"]);
}

/// Only the server's side: its SYN-ACK makes it the responder (`^h`), its
/// data counts from its sequence numbers, and its FIN with the client never
/// seen is `SHR`, however long the connection lasts.
#[test]
fn server_side_only() {
    let segs = conversation(&[(1, true, 300), (2, false, 5000), (8, false, 700)], 10);
    let rows = replay_side(&segs, false);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (pkts, ip, payload) = tally(&segs, false, T0, i64::MAX);
    check(
        &rows[0],
        &[
            ("id.orig_h", CLIENT.ip.to_string()),
            ("id.resp_h", SERVER.ip.to_string()),
            ("id.resp_p", SPORT.to_string()),
            ("conn_state", "SHR".into()),
            ("history", "^hadf".into()),
            ("orig_bytes", "0".into()),
            ("resp_bytes", payload.to_string()),
            ("missed_bytes", "0".into()),
            ("orig_pkts", "0".into()),
            ("resp_pkts", pkts.to_string()),
            ("resp_ip_bytes", ip.to_string()),
        ],
    );
}

/// A SYN retransmitted past 5 s without an answer (the usual 0, 1, 3, 7 s
/// of a stack's retries): the attempt is given up on 5 s after its SYN, and
/// the retry at 7 s is a connection of its own, as in Zeek.
#[test]
fn a_syn_unanswered_for_5_s_is_given_up_on() {
    let mut cap = Capture::new();
    let seg = frame::tcp(
        CLIENT.ip,
        SERVER.ip,
        CPORT,
        SPORT,
        1,
        0,
        frame::flags::SYN,
        &[],
    );
    let ip = frame::ipv4(CLIENT.ip, SERVER.ip, 6, 1, &seg);
    for at in [0, 1, 3, 7] {
        cap.push(
            T0 + at * SECOND,
            frame::ethernet(SERVER.mac, CLIENT.mac, None, 0x0800, &ip),
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("syns.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    let mut rows = support::read_log(&out.path().join("conn.log"));
    rows.sort_by(|a, b| a["ts"].cmp(&b["ts"]));
    assert_eq!(rows.len(), 2, "{rows:?}");
    check(
        &rows[0],
        &[
            ("conn_state", "S0".into()),
            ("history", "S".into()),
            ("orig_pkts", "3".into()),
            ("duration", "3.000000".into()),
        ],
    );
    check(
        &rows[1],
        &[
            ("conn_state", "S0".into()),
            ("history", "S".into()),
            ("orig_pkts", "1".into()),
        ],
    );
}
