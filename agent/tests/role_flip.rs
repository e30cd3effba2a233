//! Roles found reversed by the application: Zeek's DNS analyzer flips a
//! connection whose first message is a reply from its originator (unless it
//! went to a multicast group), its NTP analyzer one on a server message from
//! the originator or a client message from the responder. Both ports being
//! server ports, the transport layer had kept the first sender as
//! originator. After the flip conn.log and the protocol's log name the other
//! host as originator and history notes `^`; as in Zeek, what was counted
//! before the flip stays on the side it was counted for. The asset ledger
//! still sees only the hosts that sent. Captures from the traffic generator.

mod support;

use osect_trafficgen::frame::{udp_frame, Host};
use osect_trafficgen::pcap::Capture;
use osect_trafficgen::proto::it;
use osect_trafficgen::tcp::TcpConn;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

type Row = BTreeMap<String, String>;

const CLIENT: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x02, 0x0a],
    ip: Ipv4Addr::new(10, 4, 0, 10),
};
const SERVER: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x02, 0x14],
    ip: Ipv4Addr::new(10, 4, 0, 20),
};
const T0: i64 = 1_700_000_000_000_000;

/// Replays `(from the client, payload)` datagrams between the two hosts on
/// `port` at both ends, 10 ms apart; conn.log, the protocol's log and the
/// asset log.
fn replay(port: u16, sends: &[(bool, Vec<u8>)], log: &str) -> (Vec<Row>, Vec<Row>, Vec<Row>) {
    let mut cap = Capture::new();
    for (i, (from_client, payload)) in sends.iter().enumerate() {
        let (src, dst) = if *from_client {
            (&CLIENT, &SERVER)
        } else {
            (&SERVER, &CLIENT)
        };
        let ts = T0 + 10_000 * i64::try_from(i).unwrap_or(0);
        cap.push(
            ts,
            udp_frame(src, dst, dst.mac, None, port, port, 1 + i as u16, payload),
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("flip.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    let read = |name: &str| support::read_log(&out.path().join(name));
    (read("conn.log"), read(log), read("asset.log"))
}

fn check(row: &Row, want: &[(&str, &str)]) {
    for (field, value) in want {
        assert_eq!(row[*field], *value, "{field} in {row:?}");
    }
}

/// Whether the asset log has a row for `h`.
fn seen(assets: &[Row], h: &Host) -> bool {
    let ip = h.ip.to_string();
    assets.iter().any(|r| r.values().any(|v| *v == ip))
}

#[test]
fn dns_reply_first_flips_the_roles() {
    let reply = it::dns(0x1234, "plc.example", Some([10, 4, 0, 99]));
    let (conn, dns, assets) = replay(53, &[(false, reply)], "dns.log");
    let client = CLIENT.ip.to_string();
    let server = SERVER.ip.to_string();
    assert_eq!(conn.len(), 1, "{conn:?}");
    check(
        &conn[0],
        &[
            ("id.orig_h", &client),
            ("id.resp_h", &server),
            ("service", "dns"),
            ("history", "D^"),
            ("orig_pkts", "1"),
            ("resp_pkts", "0"),
        ],
    );
    assert_eq!(dns.len(), 1, "{dns:?}");
    check(&dns[0], &[("id.orig_h", &client), ("query", "plc.example")]);
    assert!(seen(&assets, &SERVER), "{assets:?}");
    assert!(!seen(&assets, &CLIENT), "{assets:?}");
}

#[test]
fn dns_query_first_keeps_the_roles() {
    let query = it::dns(0x1234, "plc.example", None);
    let reply = it::dns(0x1234, "plc.example", Some([10, 4, 0, 99]));
    let (conn, dns, _) = replay(53, &[(true, query), (false, reply)], "dns.log");
    assert_eq!(conn.len(), 1, "{conn:?}");
    let client = CLIENT.ip.to_string();
    check(&conn[0], &[("id.orig_h", &client), ("history", "Dd")]);
    assert_eq!(dns.len(), 1, "{dns:?}");
    check(&dns[0], &[("id.orig_h", &client)]);
}

#[test]
fn ntp_server_message_first_flips_the_roles_once() {
    let sends = [
        (false, it::ntp(4, 3_900_000_000)),
        (true, it::ntp(3, 3_900_000_001)),
        (false, it::ntp(4, 3_900_000_002)),
    ];
    let (conn, ntp, assets) = replay(123, &sends, "ntp.log");
    let client = CLIENT.ip.to_string();
    assert_eq!(conn.len(), 1, "{conn:?}");
    // The server's first message was counted for the originator's side
    // before the flip, as Zeek counts it.
    check(
        &conn[0],
        &[
            ("id.orig_h", &client),
            ("service", "ntp"),
            ("history", "D^d"),
            ("orig_pkts", "2"),
            ("resp_pkts", "1"),
        ],
    );
    assert_eq!(ntp.len(), 3, "{ntp:?}");
    for row in &ntp {
        check(row, &[("id.orig_h", &client)]);
    }
    assert!(
        seen(&assets, &SERVER) && seen(&assets, &CLIENT),
        "{assets:?}"
    );
}

/// Over TCP as over UDP: Zeek's DNS analyzer flips a connection whose first
/// message (after its length) is a reply from the originator. The
/// endpoints' TCP state and packet counts so far go with their hosts (Zeek's
/// TCP session and ConnSize analyzers swap them) but for the packet of the
/// reply, counted after its payload was delivered, for the new originator;
/// the history letters stay and `^` follows them.
#[test]
fn dns_reply_first_over_tcp_flips_the_roles() {
    let reply = it::dns(0x1234, "plc.example", Some([10, 4, 0, 99]));
    let mut stream = u16::try_from(reply.len())
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    stream.extend_from_slice(&reply);
    let mut cap = Capture::new();
    let mut c = TcpConn::new(CLIENT, 40053, SERVER, 53, None, (5_000, 60_000));
    let t = c.handshake(&mut cap, T0);
    let t = c.send(&mut cap, t + 1_000, true, &stream);
    c.close(&mut cap, t + 1_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("flip-tcp.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    let conn = support::read_log(&out.path().join("conn.log"));
    let dns = support::read_log(&out.path().join("dns.log"));
    let server = SERVER.ip.to_string();
    let len = stream.len().to_string();
    assert_eq!(conn.len(), 1, "{conn:?}");
    // The client sent SYN, ACK, the reply, FIN and ACK; the server SYN-ACK,
    // the reply's ACK and FIN.
    check(
        &conn[0],
        &[
            ("id.orig_h", &server),
            ("id.orig_p", "53"),
            ("id.resp_p", "40053"),
            ("proto", "tcp"),
            ("service", "dns"),
            ("conn_state", "SF"),
            // After the flip the client's last ACK is the responder's
            // first: `a`.
            ("history", "ShAD^fFa"),
            ("orig_bytes", "0"),
            ("resp_bytes", &len),
            ("orig_pkts", "4"),
            ("resp_pkts", "4"),
        ],
    );
    assert_eq!(dns.len(), 1, "{dns:?}");
    check(
        &dns[0],
        &[
            ("id.orig_h", &server),
            ("proto", "tcp"),
            ("query", "plc.example"),
        ],
    );
}
