//! TCP connections whose start the capture missed. Zeek's TCP analysis calls
//! such a connection partial (`SetPartialStatus`: the originator's first
//! segment is not a bare SYN, or the responder's first has no SYN), and its
//! HTTP, SSL and SSH analyzers ignore a partial connection's payload: no
//! service in conn.log and no rows of their own. A handshake whose SYN alone
//! was missed is not partial (the originator's ACK of the SYN-ACK completes
//! it). Conversations from the traffic generator are replayed whole and cut.

mod support;

use osect_trafficgen::frame::Host;
use osect_trafficgen::pcap::Capture;
use osect_trafficgen::tcp::TcpConn;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

type Row = BTreeMap<String, String>;

const CLIENT: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x01, 0x0a],
    ip: Ipv4Addr::new(10, 3, 0, 10),
};
const SERVER: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x01, 0x14],
    ip: Ipv4Addr::new(10, 3, 0, 20),
};
const T0: i64 = 1_700_000_000_000_000;
const MS: i64 = 1_000;

/// A protocol's exchange: the service and log it gives, and what each side
/// says.
struct Exchange {
    service: &'static str,
    log: &'static str,
    port: u16,
    request: &'static [u8],
    reply: &'static [u8],
}

const EXCHANGES: &[Exchange] = &[
    Exchange {
        service: "http",
        log: "http.log",
        port: 80,
        request: b"GET /index.html HTTP/1.1\r\nHost: plc.example\r\n\r\n",
        reply: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    },
    Exchange {
        service: "ssh",
        log: "ssh.log",
        port: 22,
        request: b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
        reply: b"SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n",
    },
];

/// The exchange's frames: handshake (SYN, SYN-ACK, ACK), request, reply,
/// close.
fn frames(x: &Exchange) -> Vec<(i64, Vec<u8>)> {
    let mut cap = Capture::new();
    let mut c = TcpConn::new(CLIENT, 50100, SERVER, x.port, None, (11_000, 770_000));
    c.handshake(&mut cap, T0);
    c.send(&mut cap, T0 + 10 * MS, true, x.request);
    c.send(&mut cap, T0 + 20 * MS, false, x.reply);
    c.close(&mut cap, T0 + 30 * MS);
    cap.frames().map(|(ts, f)| (ts, f.to_vec())).collect()
}

/// Replays the frames but the first `skip`; conn.log and the protocol's log.
fn replay(frames: &[(i64, Vec<u8>)], skip: usize, log: &str) -> (Vec<Row>, Vec<Row>) {
    let mut cap = Capture::new();
    for (ts, f) in &frames[skip..] {
        cap.push(*ts, f.clone());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("cut.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    (
        support::read_log(&out.path().join("conn.log")),
        support::read_log(&out.path().join(log)),
    )
}

#[test]
fn whole_connection_is_named() {
    for x in EXCHANGES {
        let (conn, rows) = replay(&frames(x), 0, x.log);
        assert_eq!(conn.len(), 1, "{conn:?}");
        assert_eq!(conn[0]["service"], x.service, "{conn:?}");
        assert_eq!(conn[0]["history"], "ShADadFf", "{conn:?}");
        assert_eq!(rows.len(), 1, "{} {rows:?}", x.log);
    }
}

#[test]
fn connection_joined_mid_stream_is_left_alone() {
    for x in EXCHANGES {
        // Without the handshake the client's request comes first.
        let (conn, rows) = replay(&frames(x), 3, x.log);
        assert_eq!(conn.len(), 1, "{conn:?}");
        assert_eq!(conn[0]["id.orig_h"], CLIENT.ip.to_string(), "{conn:?}");
        assert_eq!(conn[0]["service"], "-", "{} {conn:?}", x.service);
        assert!(rows.is_empty(), "{} {rows:?}", x.log);
    }
}

#[test]
fn handshake_without_its_syn_is_not_partial() {
    for x in EXCHANGES {
        let (conn, rows) = replay(&frames(x), 1, x.log);
        assert_eq!(conn.len(), 1, "{conn:?}");
        assert_eq!(conn[0]["id.orig_h"], CLIENT.ip.to_string(), "{conn:?}");
        assert_eq!(conn[0]["service"], x.service, "{conn:?}");
        assert_eq!(rows.len(), 1, "{} {rows:?}", x.log);
    }
}
