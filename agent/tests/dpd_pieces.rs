//! Protocol detection over a connection's first bytes put back together, as
//! Zeek's DPD matches its signatures over the first bytes of each TCP
//! direction reassembled (up to `dpd_buffer_size`, 1,024 bytes, and
//! `dpd_max_packets`, 100 pieces): a client that sends its first message a
//! few bytes at a time is recognised, and the parser is given those bytes
//! once, in order. Conversations from the traffic generator.

mod support;

use osect_trafficgen::frame::Host;
use osect_trafficgen::pcap::Capture;
use osect_trafficgen::proto::modbus;
use osect_trafficgen::tcp::TcpConn;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

type Row = BTreeMap<String, String>;

const CLIENT: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x03, 0x0a],
    ip: Ipv4Addr::new(10, 5, 0, 10),
};
const SERVER: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x03, 0x14],
    ip: Ipv4Addr::new(10, 5, 0, 20),
};
const T0: i64 = 1_700_000_000_000_000;
const MS: i64 = 1_000;

/// A connection on `port`: the client sends `request` cut at `cuts`, the
/// server answers `reply` whole; conn.log and the log `log`.
fn replay(
    port: u16,
    request: &[u8],
    cuts: &[usize],
    reply: &[u8],
    log: &str,
) -> (Vec<Row>, Vec<Row>) {
    let mut cap = Capture::new();
    let mut c = TcpConn::new(CLIENT, 50200, SERVER, port, None, (21_000, 880_000));
    c.handshake(&mut cap, T0);
    let t = c.send_split(&mut cap, T0 + 10 * MS, true, request, cuts);
    let t = c.send(&mut cap, t + 10 * MS, false, reply);
    c.close(&mut cap, t + 10 * MS);
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("pieces.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    (
        support::read_log(&out.path().join("conn.log")),
        support::read_log(&out.path().join(log)),
    )
}

fn get<'a>(r: &'a Row, f: &str) -> &'a str {
    r.get(f).map_or("?", |s| s)
}

const REQUEST: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: plc.example\r\n\r\n";
const REPLY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn http_request_line_in_pieces_is_recognised_and_parsed_once() {
    // G, E, T, " /in", "dex.html HTTP", "/1.1\r\n", then the headers.
    let cuts = [1, 2, 3, 7, 18, 24];
    let (conn, http) = replay(80, REQUEST, &cuts, REPLY, "http.log");
    assert_eq!(conn.len(), 1, "{conn:?}");
    assert_eq!(get(&conn[0], "service"), "http", "{conn:?}");
    assert_eq!(
        get(&conn[0], "orig_bytes"),
        REQUEST.len().to_string(),
        "{conn:?}"
    );
    assert_eq!(http.len(), 1, "one request, parsed once: {http:?}");
    let r = &http[0];
    for (field, want) in [
        ("method", "GET"),
        ("host", "plc.example"),
        ("uri", "/index.html"),
        ("status_code", "200"),
        ("request_body_len", "0"),
        ("response_body_len", "5"),
    ] {
        assert_eq!(get(r, field), want, "{field} in {r:?}");
    }
}

#[test]
fn modbus_request_in_pieces_is_recognised_and_parsed_once() {
    let request = modbus::frame(7, 1, &modbus::read_request(3, 100, 2));
    let reply = modbus::frame(7, 1, &modbus::registers_response(3, &[11, 12]));
    // No piece alone is a Modbus frame: 2 bytes, 3 bytes, then the rest.
    let (conn, rows) = replay(502, &request, &[2, 5], &reply, "modbus.log");
    assert_eq!(conn.len(), 1, "{conn:?}");
    assert_eq!(get(&conn[0], "service"), "modbus", "{conn:?}");
    let seen: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (get(r, "tid"), get(r, "func"), get(r, "pdu_type")))
        .collect();
    assert_eq!(
        seen,
        [
            ("7", "READ_HOLDING_REGISTERS", "REQ"),
            ("7", "READ_HOLDING_REGISTERS", "RESP")
        ]
    );
}

#[test]
fn detection_gives_up_past_the_pieces_zeek_looks_at() {
    // 101 pieces that are no protocol, then a request line: past
    // dpd_max_packets, and past the payloads probed on their own.
    let mut request = vec![b'x'; 101];
    request.extend_from_slice(REQUEST);
    let cuts: Vec<usize> = (1..=101).collect();
    let (conn, http) = replay(80, &request, &cuts, REPLY, "http.log");
    assert_eq!(conn.len(), 1, "{conn:?}");
    assert_eq!(get(&conn[0], "service"), "-", "{conn:?}");
    assert!(http.is_empty(), "{http:?}");
}
