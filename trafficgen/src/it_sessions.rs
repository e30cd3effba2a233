//! The IT protocols a plant's network carries besides its control
//! traffic: FTP moving a PLC program and firmware, an IIoT gateway's MQTT,
//! devices' syslog, an intercom's SIP, a historian's report mail, HTTP/3
//! and DNS over QUIC.

use crate::frame::{udp_frame, Host};
use crate::pcap::Capture;
use crate::proto::quic::{self, Ids, Kind, VERSION_1, VERSION_2};
use crate::proto::{ftp, mqtt, sip, smtp, syslog, tls, websocket as ws};
use crate::scenario::{Net, MS};
use crate::tcp::TcpConn;

/// The engineering station uploads a program to the S7 PLC's FTP server
/// over a passive data connection, then downloads its firmware image over
/// an active one; the welcome is a multi-line reply.
pub fn ftp_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let (eng, plc) = (net.eng, net.s7_plc);
    let mut c = TcpConn::new(eng, 50_100, plc, 21, net.vlan, (7000, 9000));
    let mut t = c.handshake(cap, t);
    t = say(
        cap,
        &mut c,
        t,
        false,
        &ftp::multiline_reply(
            220,
            &["PLC FTP server ready", "Authorised use only", "Go ahead"],
        ),
    );
    for (cmd, arg, code, text) in [
        ("USER", "engineer", 331, "Password required"),
        ("PASS", "s7-service", 230, "User logged in"),
        ("TYPE", "I", 200, "Type set to I"),
        ("CWD", "/programs", 250, "Directory changed"),
    ] {
        t = say(cap, &mut c, t, true, &ftp::command(cmd, arg));
        t = say(cap, &mut c, t, false, &ftp::reply(code, text));
    }
    let program: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    t = say(cap, &mut c, t, true, &ftp::command("PASV", ""));
    let pasv = format!("Entering Passive Mode ({})", ftp::host_port(plc.ip, 40_001));
    t = say(cap, &mut c, t, false, &ftp::reply(227, &pasv));
    t = say(cap, &mut c, t, true, &ftp::command("STOR", "line1.prg"));
    t = say(cap, &mut c, t, false, &ftp::reply(150, "Ok to send data"));
    let mut d = TcpConn::new(eng, 50_101, plc, 40_001, net.vlan, (100, 200));
    t = d.handshake(cap, t);
    t = d.send(cap, t, true, &program);
    t = d.close(cap, t);
    t = say(cap, &mut c, t, false, &ftp::reply(226, "Transfer complete"));
    t = say(
        cap,
        &mut c,
        t,
        true,
        &ftp::command("PORT", &ftp::host_port(eng.ip, 50_102)),
    );
    t = say(
        cap,
        &mut c,
        t,
        false,
        &ftp::reply(200, "PORT command successful"),
    );
    t = say(
        cap,
        &mut c,
        t,
        true,
        &ftp::command("RETR", "/firmware/cpu.bin"),
    );
    let size = 2048;
    let opening = format!("Opening BINARY mode data connection for cpu.bin ({size} bytes)");
    t = say(cap, &mut c, t, false, &ftp::reply(150, &opening));
    let mut d = TcpConn::new(plc, 20, eng, 50_102, net.vlan, (300, 400));
    t = d.handshake(cap, t);
    t = d.send(cap, t, true, &vec![0x5a; size]);
    t = d.close(cap, t);
    t = say(cap, &mut c, t, false, &ftp::reply(226, "Transfer complete"));
    t = say(cap, &mut c, t, true, &ftp::command("QUIT", ""));
    t = say(cap, &mut c, t, false, &ftp::reply(221, "Goodbye"));
    c.close(cap, t)
}

/// One control line, and the time the peer takes to answer.
fn say(cap: &mut Capture, c: &mut TcpConn, t: i64, client: bool, b: &[u8]) -> i64 {
    c.send(cap, t, client, b) + if client { 2 * MS } else { 10 * MS }
}

/// An IIoT gateway (the HMI host) connects to the OPC UA server's MQTT
/// broker, subscribes to set-points and publishes measurements at QoS 0,
/// 1 and 2; the broker delivers a retained set-point.
pub fn mqtt_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(net.hmi, 51_000, net.opcua_srv, 1883, net.vlan, (11, 22));
    let mut t = c.handshake(cap, t);
    let steps: Vec<(bool, Vec<u8>)> = vec![
        (
            true,
            mqtt::connect("gw-line1", Some(("plant/gw-line1/state", "offline"))),
        ),
        (false, mqtt::connack(0)),
        (true, mqtt::subscribe(1, &[("plant/line1/setpoint/#", 1)])),
        (false, mqtt::suback(1, &[1])),
        (
            true,
            mqtt::publish(0, false, 0, "plant/line1/temp", b"21.7"),
        ),
        (
            true,
            mqtt::publish(1, false, 2, "plant/line1/pressure", b"1.013"),
        ),
        (false, mqtt::publish_ack(4, 2)),
        (
            true,
            mqtt::publish(2, false, 3, "plant/line1/batch", b"B-1042 done"),
        ),
        (false, mqtt::publish_ack(5, 3)),
        (true, mqtt::publish_ack(6, 3)),
        (false, mqtt::publish_ack(7, 3)),
        (
            false,
            mqtt::publish(0, true, 0, "plant/line1/setpoint/speed", b"1200"),
        ),
    ];
    for (client, b) in steps {
        t = c.send(cap, t, client, &b) + 5 * MS;
    }
    c.close(cap, t)
}

/// Devices report to the engineering station's syslog collector: UDP
/// messages with and without a PRI, and a TCP stream mixing octet counting
/// and line framing.
pub fn syslog_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let msgs: [&[u8]; 3] = [
        &syslog::message(
            4,
            5,
            "Jan  5 09:00:00 plc-s7 auth: login engineer from 192.168.10.10",
        ),
        &syslog::message(23, 3, "1 2026-01-05T09:00:01Z rtu1 io - - - module 3 fault"),
        b"switch1: port 7 link down",
    ];
    let mut t = t;
    for (i, m) in msgs.iter().enumerate() {
        let f = udp_frame(
            &net.remote_io,
            &net.eng,
            net.eng.mac,
            net.vlan,
            40_514,
            514,
            u16::try_from(i).unwrap_or(0),
            m,
        );
        cap.push(t, f);
        t += 20 * MS;
    }
    let mut c = TcpConn::new(net.fins_plc, 41_514, net.eng, 514, net.vlan, (5, 6));
    t = c.handshake(cap, t);
    let mut stream = syslog::octet_counted(&syslog::message(1, 4, "plc: cycle time over 50 ms"));
    stream.extend_from_slice(&syslog::message(1, 6, "plc: mode RUN"));
    stream.push(b'\n');
    t = c.send_split(cap, t, true, &stream, &[10, 40]);
    c.close(cap, t)
}

/// The HMI's intercom registers with a PBX (the gateway), is challenged,
/// then places a call that is answered busy.
pub fn sip_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let (phone, pbx) = (net.hmi, net.gateway);
    let from = "\"Line 1\" <sip:101@pbx.plant>";
    let via = "SIP/2.0/UDP 192.168.10.20:5060";
    let reg = |seq: &str| {
        sip::request(
            "REGISTER",
            "sip:pbx.plant",
            &[
                ("Via", &format!("{via};branch=z9hG4bK{seq}")),
                ("From", &format!("{from};tag=a1")),
                ("To", from),
                ("Call-ID", "reg-1@192.168.10.20"),
                ("CSeq", &format!("{seq} REGISTER")),
                ("User-Agent", "intercom 2.1"),
            ],
            "",
        )
    };
    let resp = |code: u16, reason: &str, seq: &str, to_tag: &str| {
        sip::response(
            code,
            reason,
            &[
                (
                    "Via",
                    &format!("{via};received=192.168.10.20;branch=z9hG4bK{seq}"),
                ),
                ("From", &format!("{from};tag=a1")),
                ("To", &format!("{from}{to_tag}")),
                ("Call-ID", "reg-1@192.168.10.20"),
                ("CSeq", &format!("{seq} REGISTER")),
            ],
            "",
        )
    };
    let invite = sip::request(
        "INVITE",
        "sip:200@pbx.plant",
        &[
            ("Via", &format!("{via};branch=z9hG4bK9")),
            ("From", &format!("{from};tag=c9")),
            ("To", "<sip:200@pbx.plant>"),
            ("Call-ID", "call-9@192.168.10.20"),
            ("CSeq", "1 INVITE"),
            ("Subject", "shift handover"),
            ("Content-Type", "application/sdp"),
        ],
        "v=0\r\no=- 1 1 IN IP4 192.168.10.20\r\n",
    );
    let busy = sip::response(
        486,
        "Busy Here",
        &[
            ("Via", &format!("{via};branch=z9hG4bK9")),
            ("From", &format!("{from};tag=c9")),
            ("To", "<sip:200@pbx.plant>;tag=p7"),
            ("Call-ID", "call-9@192.168.10.20"),
            ("CSeq", "1 INVITE"),
            ("Warning", "399 pbx.plant \"operator busy\""),
        ],
        "",
    );
    let msgs: Vec<(bool, Vec<u8>)> = vec![
        (true, reg("1")),
        (false, resp(401, "Unauthorized", "1", ";tag=p1")),
        (true, reg("2")),
        (false, resp(100, "Trying", "2", "")),
        (false, resp(200, "OK", "2", ";tag=p2")),
        (true, invite),
        (false, busy),
    ];
    let mut t = t;
    for (i, (from_phone, m)) in msgs.iter().enumerate() {
        let (src, dst) = if *from_phone {
            (phone, pbx)
        } else {
            (pbx, phone)
        };
        let ident = u16::try_from(100 + i).unwrap_or(0);
        cap.push(
            t,
            udp_frame(&src, &dst, dst.mac, net.vlan, 5060, 5060, ident, m),
        );
        t += 30 * MS;
    }
    t
}

/// The engineering station (a historian) mails the shift report through
/// the gateway's relay: EHLO, one message to two recipients, QUIT.
pub fn smtp_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let (mut c, mut t) = smtp_open(cap, net, (net.eng, 52_025), 25, (31, 41), t);
    let exchanges: [(&str, Vec<u8>); 5] = [
        (
            "EHLO hist01.plant",
            smtp::reply(250, &["relay.plant", "8BITMIME", "SIZE 10240000"]),
        ),
        (
            "MAIL FROM:<historian@plant.example>",
            smtp::reply(250, &["2.1.0 Ok"]),
        ),
        (
            "RCPT TO:<ops@plant.example>",
            smtp::reply(250, &["2.1.5 Ok"]),
        ),
        (
            "RCPT TO:<lead@plant.example>",
            smtp::reply(250, &["2.1.5 Ok"]),
        ),
        (
            "DATA",
            smtp::reply(354, &["End data with <CR><LF>.<CR><LF>"]),
        ),
    ];
    for (cmd, answer) in exchanges {
        t = say(cap, &mut c, t, true, &smtp::command(cmd));
        t = say(cap, &mut c, t, false, &answer);
    }
    let mail = smtp::message(
        &[
            (
                "Received",
                "from hist01.plant (hist01.plant [192.168.10.10])",
            ),
            ("From", "Historian <historian@plant.example>"),
            (
                "To",
                "ops@plant.example, \"Shift Lead\" <lead@plant.example>",
            ),
            ("Subject", "Shift report line 1"),
            ("Date", "Mon, 05 Jan 2026 09:00:00 +0000"),
            ("Message-ID", "<r1@hist01.plant>"),
            ("X-Mailer", "histmail 1.0"),
        ],
        "Batch B-1042 done.\n.end of report",
    );
    t = say(cap, &mut c, t, true, &mail);
    t = say(
        cap,
        &mut c,
        t,
        false,
        &smtp::reply(250, &["2.0.0 Ok: queued as 4F2A"]),
    );
    t = say(cap, &mut c, t, true, &smtp::command("QUIT"));
    t = say(cap, &mut c, t, false, &smtp::reply(221, &["2.0.0 Bye"]));
    c.close(cap, t)
}

/// HTTP as a plant's hosts use it: the HMI opens a WebSocket to the OPC UA
/// server's web interface (RFC 6455, with the RFC's example key and
/// accept, and the OPC UA JSON subprotocol) and exchanges a text frame
/// each way; the IIoT gateway speaks MQTT over WebSocket to the broker;
/// the engineering station reaches a vendor's SSH service through the
/// gateway's proxy with CONNECT; it uploads a recipe with
/// `Expect: 100-continue` and then pipelines two GETs whose responses come
/// back in one segment.
pub fn http_sessions(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(net.hmi, 53_080, net.opcua_srv, 8080, net.vlan, (71, 81));
    let mut t = c.handshake(cap, t);
    let upgrade = "GET /live HTTP/1.1\r\nHost: opcua-srv:8080\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Protocol: opcua+uajson\r\nSec-WebSocket-Version: 13\r\n\r\n";
    t = say(cap, &mut c, t, true, upgrade.as_bytes());
    let switched = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: opcua+uajson\r\n\r\n";
    t = say(cap, &mut c, t, false, switched.as_bytes());
    // A masked text frame "subscribe line1" from the client, and the
    // server's unmasked "ok".
    let key = Some([0x37, 0xfa, 0x21, 0x3d]);
    t = say(
        cap,
        &mut c,
        t,
        true,
        &ws::frame(true, ws::TEXT, key, b"subscribe line1"),
    );
    t = say(
        cap,
        &mut c,
        t,
        false,
        &ws::frame(true, ws::TEXT, None, b"ok"),
    );
    t = c.close(cap, t);
    t = mqtt_over_websocket(cap, net, t + 100 * MS);

    let mut c = TcpConn::new(net.eng, 53_128, net.gateway, 3128, net.vlan, (91, 101));
    t = c.handshake(cap, t + 100 * MS);
    let connect = "CONNECT support.vendor.example:22 HTTP/1.1\r\n\
        Host: support.vendor.example:22\r\n\r\n";
    t = say(cap, &mut c, t, true, connect.as_bytes());
    t = say(
        cap,
        &mut c,
        t,
        false,
        b"HTTP/1.1 200 Connection established\r\n\r\n",
    );
    t = say(cap, &mut c, t, true, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    t = say(cap, &mut c, t, false, b"SSH-2.0-OpenSSH_8.4\r\n");
    t = c.close(cap, t);

    let mut c = TcpConn::new(net.eng, 53_081, net.opcua_srv, 8080, net.vlan, (111, 121));
    t = c.handshake(cap, t + 100 * MS);
    let recipe = "batch=B-1042&temp=72.5&time=3600";
    let post = format!(
        "POST /recipes HTTP/1.1\r\nHost: opcua-srv:8080\r\nExpect: 100-continue\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        recipe.len()
    );
    t = say(cap, &mut c, t, true, post.as_bytes());
    t = say(cap, &mut c, t, false, b"HTTP/1.1 100 Continue\r\n\r\n");
    t = say(cap, &mut c, t, true, recipe.as_bytes());
    let created = "HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\nstored\n";
    t = say(cap, &mut c, t, false, created.as_bytes());
    let gets = "GET /recipes/1 HTTP/1.1\r\nHost: opcua-srv:8080\r\n\r\n\
        GET /recipes/2 HTTP/1.1\r\nHost: opcua-srv:8080\r\n\r\n";
    t = say(cap, &mut c, t, true, gets.as_bytes());
    let answers = [
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\ntemp=72.5\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ntemp=\r\n4\r\n68.0\r\n0\r\n\r\n",
    ]
    .concat();
    t = say(cap, &mut c, t, false, answers.as_bytes());
    t = c.close(cap, t);
    http_framing_session(cap, net, t + 100 * MS)
}

/// The framings a reply's length depends on (RFC 9112 section 6.3): a
/// reply to HEAD and 204 and 304 replies carry no body whatever their
/// Content-Length; chunked encoding wins over a Content-Length; a 102
/// Processing comes before the final reply to a POST; two POSTs (one
/// length-framed, one chunked) go out before either reply; and a 206 with
/// a multipart/byteranges body ends the connection.
fn http_framing_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(net.eng, 53_082, net.opcua_srv, 8080, net.vlan, (151, 161));
    let mut t = c.handshake(cap, t);
    let host = "Host: opcua-srv:8080\r\n";
    let exchanges: [(String, &str); 5] = [
        (
            format!("HEAD /firmware.bin HTTP/1.1\r\n{host}\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n",
        ),
        (
            format!("GET /alarms/ack HTTP/1.1\r\n{host}\r\n"),
            "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        ),
        (
            format!("GET /recipes/1 HTTP/1.1\r\n{host}If-None-Match: \"r1\"\r\n\r\n"),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 11\r\nETag: \"r1\"\r\n\r\n",
        ),
        (
            format!("GET /trend/line1 HTTP/1.1\r\n{host}\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n\
             6\r\n72.5;1\r\n4\r\n68.0\r\n0\r\n\r\n",
        ),
        (
            format!("POST /batch/start HTTP/1.1\r\n{host}Content-Length: 8\r\n\r\nB-1043\r\n"),
            "HTTP/1.1 102 Processing\r\n\r\n",
        ),
    ];
    for (request, reply) in &exchanges {
        t = say(cap, &mut c, t, true, request.as_bytes());
        t = say(cap, &mut c, t, false, reply.as_bytes());
    }
    t = say(
        cap,
        &mut c,
        t + 500 * MS,
        false,
        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nstarted",
    );
    let posts = format!(
        "POST /setpoint HTTP/1.1\r\n{host}Content-Length: 5\r\n\r\n71.5\n\
         POST /setpoint HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n\
         4\r\n68.0\r\n3\r\n;ok\r\n0\r\n\r\n"
    );
    t = say(cap, &mut c, t, true, posts.as_bytes());
    let replies = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
        HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes";
    t = say(cap, &mut c, t, false, replies.as_bytes());
    let range = format!("GET /trend/line2 HTTP/1.1\r\n{host}Range: bytes=0-3,10-13\r\n\r\n");
    t = say(cap, &mut c, t, true, range.as_bytes());
    let parts = "--PART\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-3/20\r\n\r\n\
        72.5\r\n--PART\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-13/20\r\n\r\n\
        68.0\r\n--PART--\r\n";
    let partial = format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=PART\r\n\
         Content-Length: {}\r\n\r\n{parts}",
        parts.len()
    );
    t = say(cap, &mut c, t, false, partial.as_bytes());
    c.close(cap, t)
}

/// The IIoT gateway (the HMI host) publishes to the broker over MQTT over
/// WebSocket (subprotocol `mqtt`, MQTT 3.1.1 section 6): it offers
/// per-message compression, which the broker declines; its CONNECT is
/// split over two frames with a ping between them, a measurement with a
/// 200-byte payload takes the 16-bit length form, and both sides close
/// with status 1000.
fn mqtt_over_websocket(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(net.hmi, 53_090, net.opcua_srv, 9001, net.vlan, (131, 141));
    let mut t = c.handshake(cap, t);
    let upgrade = "GET /mqtt HTTP/1.1\r\nHost: opcua-srv:9001\r\nUser-Agent: gw-agent/2.1\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Protocol: mqtt\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    t = say(cap, &mut c, t, true, upgrade.as_bytes());
    let switched = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n\
        Sec-WebSocket-Protocol: mqtt\r\n\r\n";
    t = say(cap, &mut c, t, false, switched.as_bytes());
    let key = |n: u8| Some([0x5a ^ n, 0x17, 0xc3, 0x80 | n]);
    let hello = mqtt::connect("gw-line1-ws", None);
    let (a, b) = hello.split_at(hello.len() / 2);
    let mut first = ws::frame(false, ws::BINARY, key(1), a);
    first.extend(ws::frame(true, ws::PING, key(2), b"hb"));
    first.extend(ws::frame(true, ws::CONTINUATION, key(3), b));
    t = say(cap, &mut c, t, true, &first);
    let mut answer = ws::frame(true, ws::PONG, None, b"hb");
    answer.extend(ws::frame(true, ws::BINARY, None, &mqtt::connack(0)));
    t = say(cap, &mut c, t, false, &answer);
    let reading: Vec<u8> = (0..200u32).map(|i| b'0' + (i % 10) as u8).collect();
    let publish = mqtt::publish(1, false, 7, "plant/line1/vibration", &reading);
    t = say(
        cap,
        &mut c,
        t,
        true,
        &ws::frame(true, ws::BINARY, key(4), &publish),
    );
    let ack = mqtt::publish_ack(4, 7);
    t = say(
        cap,
        &mut c,
        t,
        false,
        &ws::frame(true, ws::BINARY, None, &ack),
    );
    let bye = ws::close(1000, "done");
    t = say(
        cap,
        &mut c,
        t,
        true,
        &ws::frame(true, ws::CLOSE, key(5), &bye),
    );
    t = say(
        cap,
        &mut c,
        t,
        false,
        &ws::frame(true, ws::CLOSE, None, &ws::close(1000, "")),
    );
    c.close(cap, t)
}

/// A connection from `client` to the gateway's mail relay on `port`, up to
/// the relay's greeting.
fn smtp_open(
    cap: &mut Capture,
    net: &Net,
    client: (Host, u16),
    port: u16,
    isn: (u32, u32),
    t: i64,
) -> (TcpConn, i64) {
    let mut c = TcpConn::new(client.0, client.1, net.gateway, port, net.vlan, isn);
    let t = c.handshake(cap, t);
    let greeting = smtp::reply(220, &["relay.plant ESMTP"]);
    let t = say(cap, &mut c, t, false, &greeting);
    (c, t)
}

/// The HMI submits mail on port 587 and upgrades the session with
/// STARTTLS (RFC 3207): after the server's 220 both sides speak TLS 1.3.
pub fn smtp_starttls_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let (mut c, mut t) = smtp_open(cap, net, (net.hmi, 52_587), 587, (51, 61), t);
    t = say(cap, &mut c, t, true, &smtp::command("EHLO hmi01.plant"));
    let ehlo = smtp::reply(250, &["relay.plant", "STARTTLS", "AUTH PLAIN"]);
    t = say(cap, &mut c, t, false, &ehlo);
    t = say(cap, &mut c, t, true, &smtp::command("STARTTLS"));
    let ready = smtp::reply(220, &["2.0.0 Ready to start TLS"]);
    t = say(cap, &mut c, t, false, &ready);
    let hello = tls::client_hello("relay.plant", &[], false);
    t = say(cap, &mut c, t, true, &tls::record(22, &hello));
    let server = [
        tls::record(22, &tls::server_hello(true)),
        tls::record(20, &[1]),
        tls::record(23, &[0x3c; 220]),
    ]
    .concat();
    t = say(cap, &mut c, t, false, &server);
    let finished = [tls::record(20, &[1]), tls::record(23, &[0x4d; 80])].concat();
    t = say(cap, &mut c, t, true, &finished);
    t = say(cap, &mut c, t, true, &tls::record(23, &[0x5e; 400]));
    t = say(cap, &mut c, t, false, &tls::record(23, &[0x6f; 60]));
    c.close(cap, t)
}

/// Two QUIC connections. The engineering station opens HTTP/3 (version 1)
/// to the gateway's management page: two Initials with the ClientHello,
/// the server's Initial with the ServerHello and a Handshake packet in one
/// datagram, the client's acknowledging Initial with its Handshake packet,
/// then 1-RTT packets both ways. The HMI asks the gateway for DNS over
/// QUIC (version 2): the server answers with a Retry, the client retries
/// with the token, and the server closes the connection in its Initial
/// (no application protocol in common).
pub fn quic_sessions(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let (eng, hmi, gw) = (net.eng, net.hmi, net.gateway);
    let odcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
    let (ccid, scid) = (
        [0xc1, 0x1e, 0x47, 0x01],
        [0x5e, 0x4e, 0x12, 0x34, 0xab, 0xcd, 0xef, 0x01],
    );
    // Once the server answered, the client sends to its connection id
    // (RFC 9000 section 7.2); the keys stay those of the first.
    let client_ids = |pn, dcid| Ids {
        odcid: &odcid,
        dcid,
        scid: &ccid,
        pn,
    };
    let server_ids = Ids {
        odcid: &odcid,
        dcid: &ccid,
        scid: &scid,
        pn: 0,
    };
    // The ClientHello split over two Initial packets in one datagram.
    let hello = tls::client_hello("gateway.plant.example", &["h3"], true);
    let (head, tail) = hello.split_at(hello.len() / 2);
    let mut client_flight = quic::initial(
        VERSION_1,
        false,
        &client_ids(0, &odcid),
        &[],
        &quic::crypto_at(0, head),
        0,
    );
    let second = quic::initial(
        VERSION_1,
        false,
        &client_ids(1, &odcid),
        &[],
        &quic::crypto_at(head.len(), tail),
        1200usize.saturating_sub(client_flight.len()),
    );
    client_flight.extend(second);
    let mut server_flight = quic::initial(
        VERSION_1,
        true,
        &server_ids,
        &[],
        &[quic::ack(0), quic::crypto(&tls::server_hello(false))].concat(),
        0,
    );
    server_flight.extend(quic::long(
        VERSION_1,
        Kind::Handshake,
        &ccid,
        &scid,
        &[0x77; 300],
    ));
    let mut client_ack = quic::initial(
        VERSION_1,
        false,
        &client_ids(2, &scid),
        &[],
        &quic::ack(0),
        0,
    );
    client_ack.extend(quic::long(
        VERSION_1,
        Kind::Handshake,
        &scid,
        &ccid,
        &[0x66; 60],
    ));
    let datagrams: Vec<(bool, Vec<u8>)> = vec![
        (true, client_flight),
        (false, server_flight),
        (true, client_ack),
        (false, quic::short(&ccid, &[0x21; 40])),
        (true, quic::short(&scid, &[0x22; 90])),
        (true, quic::short(&scid, &[0x23; 30])),
        (false, quic::short(&ccid, &[0x24; 700])),
        (true, quic::short(&scid, &[0x25; 30])),
        (true, quic::short(&scid, &[0x26; 30])),
    ];
    let t = datagrams_between(cap, net, t, (eng, 51_443), (gw, 443), &datagrams);

    let odcid = [0x0d, 0x0c, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
    let ccid = [0xd0, 0x0c];
    let retry_cid = [0x7e, 0x72, 0x11, 0x00, 0x00, 0x01];
    let token = b"retry-token-192.168.10.20";
    let doq = quic::crypto(&tls::client_hello("dns.plant.example", &["doq"], true));
    let first = Ids {
        odcid: &odcid,
        dcid: &odcid,
        scid: &ccid,
        pn: 0,
    };
    let second = Ids {
        odcid: &retry_cid,
        dcid: &retry_cid,
        scid: &ccid,
        pn: 1,
    };
    let refusal = Ids {
        odcid: &retry_cid,
        dcid: &ccid,
        scid: &[0x5e, 0x02],
        pn: 0,
    };
    // TLS alert 120 (no_application_protocol) as a crypto error.
    let close = quic::connection_close(0x0100 + 120, "no ALPN");
    let datagrams: Vec<(bool, Vec<u8>)> = vec![
        (
            true,
            quic::initial(VERSION_2, false, &first, &[], &doq, 1200),
        ),
        (
            false,
            quic::retry(VERSION_2, &odcid, &ccid, &retry_cid, token),
        ),
        (
            true,
            quic::initial(VERSION_2, false, &second, token, &doq, 1200),
        ),
        (
            false,
            quic::initial(VERSION_2, true, &refusal, &[], &close, 0),
        ),
    ];
    datagrams_between(cap, net, t, (hmi, 52_853), (gw, 853), &datagrams)
}

/// UDP datagrams between a client and a server, 15 ms apart; `true`
/// marks the client's.
fn datagrams_between(
    cap: &mut Capture,
    net: &Net,
    mut t: i64,
    client: (Host, u16),
    server: (Host, u16),
    datagrams: &[(bool, Vec<u8>)],
) -> i64 {
    for (i, (from_client, d)) in datagrams.iter().enumerate() {
        let (src, dst) = if *from_client {
            (client, server)
        } else {
            (server, client)
        };
        let ident = u16::try_from(300 + i).unwrap_or(0);
        let frame = udp_frame(&src.0, &dst.0, dst.0.mac, net.vlan, src.1, dst.1, ident, d);
        cap.push(t, frame);
        t += 15 * MS;
    }
    t
}
