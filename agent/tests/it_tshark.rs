//! The decoders whose corpus captures come without a peer log, and the IT
//! service logs on the traffic generator's sessions (FTP, MQTT, syslog,
//! SIP, SMTP, QUIC), checked against Wireshark's dissection (`tshark`, listed in
//! ci/deps/apt-it.txt): every message tshark decodes must be in our log
//! with the same values.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use support::{corpus, read_log, replay_case, replay_file, Case};

/// tshark's fields for `filter`, one row per packet, in capture order.
fn tshark(trace: &std::path::Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    tshark_with(trace, &[], filter, fields)
}

/// [`tshark`] with more options (a "decode as" for a port tshark does not
/// know).
fn tshark_with(
    trace: &std::path::Path,
    options: &[&str],
    filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(trace).args(options).args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=|",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("tshark could not run ({e}): install it (ci/deps/apt-it.txt lists it)")
    });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn case(name: &str) -> Case {
    let dir = corpus().join(name);
    let trace = ["trace.pcap", "trace.pcapng"]
        .iter()
        .map(|t| dir.join(t))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name}: no capture in {}", dir.display()));
    Case {
        name: name.to_owned(),
        dir,
        trace,
        // tshark does not drop packets with bad checksums either.
        peer_flags: "-C".to_owned(),
    }
}

#[test]
fn ssdp_matches_tshark() {
    let c = case("nttcom-ssdp-com");
    let want = tshark(
        &c.trace,
        "udp.port==1900",
        &[
            "http.request.method",
            "http.response.code",
            "http.server",
            "http.user_agent",
        ],
    );
    let out = replay_case(&c, true);
    let ours = read_log(&out.path().join("ssdp.log"));
    assert!(!want.is_empty(), "tshark found no SSDP in {}", c.name);
    assert_eq!(
        ours.len(),
        want.len(),
        "one ssdp row per message tshark decodes"
    );
    for (o, w) in ours.iter().zip(&want) {
        let method = if w[0].is_empty() { &w[1] } else { &w[0] };
        assert_eq!(&o["method"], method);
        let agent = if w[2].is_empty() { &w[3] } else { &w[2] };
        let agent = if agent.is_empty() {
            "-"
        } else {
            agent.as_str()
        };
        assert_eq!(o["server_or_user_agent"], agent);
    }
}

#[test]
fn dhcpv6_matches_tshark() {
    let c = case("nttcom-dhcpv6-com");
    let want = tshark(
        &c.trace,
        "dhcpv6",
        &[
            "dhcpv6.msgtype",
            "dhcpv6.client_domain",
            "dhcpv6.vendorclass.enterprise",
            "dhcpv6.vendorclass.data",
            "dhcpv6.requested_option_code",
            "dhcpv6.duidllt.link_layer_addr",
        ],
    );
    let out = replay_case(&c, true);
    let ours = read_log(&out.path().join("dhcpv6.log"));
    assert!(!want.is_empty(), "tshark found no DHCPv6 in {}", c.name);
    assert_eq!(ours.len(), want.len(), "one dhcpv6 row per client message");
    for (o, w) in ours.iter().zip(&want) {
        assert_eq!(w[0], "1", "the capture holds solicits only");
        assert_eq!(o["msg_type"], "SOLICIT");
        assert_eq!(o["hostname"], w[1].trim_end_matches('.'));
        assert_eq!(o["enterprise_number"], w[2]);
        assert_eq!(o["vendor_class"], w[3]);
        assert_eq!(o["fingerprint"], w[4]);
        assert_eq!(o["duid_mac"], w[5]);
    }
    // Written out from RFC 8415 and the capture's first frame: Microsoft's
    // enterprise number and the Windows DHCPv6 client's option order.
    assert_eq!(ours[0]["enterprise_number"], "311");
    assert_eq!(ours[0]["fingerprint"], "24,23,17,39");
}

#[test]
fn cifs_browser_matches_tshark() {
    let c = case("nttcom-cifs-com");
    let want = tshark(
        &c.trace,
        "browser",
        &[
            "browser.command",
            "browser.server",
            "browser.os_major",
            "browser.os_minor",
            "browser.server_type",
            "browser.proto_major",
            "browser.proto_minor",
            "browser.sig",
        ],
    );
    let out = replay_case(&c, true);
    let ours = read_log(&out.path().join("mswin_browser.log"));
    assert!(
        !want.is_empty(),
        "tshark found no browser messages in {}",
        c.name
    );
    assert_eq!(
        ours.len(),
        want.len(),
        "one mswin_browser row per browser message"
    );
    let or_unset = |s: String| if s.is_empty() { "-".to_owned() } else { s };
    for (o, w) in ours.iter().zip(&want) {
        let cmd = u8::from_str_radix(w[0].trim_start_matches("0x"), 16).unwrap();
        assert_eq!(
            o["command"],
            osect_engine::over_ip::browser::command_name(cmd)
        );
        assert_eq!(o["server_name"], or_unset(w[1].clone()));
        if !w[2].is_empty() {
            assert_eq!(o["os_version"], format!("{}.{}", w[2], w[3]));
            let ty = u64::from_str_radix(w[4].trim_start_matches("0x"), 16).unwrap();
            assert_eq!(o["server_type"], ty.to_string());
        }
        if !w[5].is_empty() && cmd != 8 {
            assert_eq!(o["browser_version"], format!("{}.{}", w[5], w[6]));
        }
        assert_eq!(o["signature"], or_unset(w[7].clone()));
    }
    // Written out from MS-BRWS 2.2.1: a host announcement's signature is
    // 0xAA55, and the capture's Windows 2000 host announces version 5.0.
    assert!(ours
        .iter()
        .any(|o| o["server_name"] == "SNG-WIN2K" && o["os_version"] == "5.0"));
}

/// A generated session written as a capture, and the sensor's logs of it.
struct Generated {
    _dir: tempfile::TempDir,
    trace: std::path::PathBuf,
    logs: tempfile::TempDir,
}

impl Generated {
    fn new(scenario: &str) -> Generated {
        let cap = osect_trafficgen::scenario::by_name(scenario, 30, 1).expect("scenario exists");
        let dir = tempfile::tempdir().expect("temp dir");
        let trace = dir.path().join(format!("{scenario}.pcap"));
        std::fs::write(&trace, cap.to_pcap()).expect("write capture");
        // The generator writes valid checksums: verify them.
        let logs = replay_file(&trace, true, false);
        Generated {
            _dir: dir,
            trace,
            logs,
        }
    }

    fn log(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        read_log(&self.logs.path().join(format!("{name}.log")))
    }

    /// The roles `asset.log` gives the host with address `ip`.
    fn roles(&self, ip: &str) -> String {
        self.log("asset")
            .into_iter()
            .find(|a| a["ips"].split(',').any(|i| i == ip))
            .map(|a| a["roles"].clone())
            .unwrap_or_default()
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

#[test]
fn generated_ftp_matches_tshark() {
    let g = Generated::new("ftp");
    let msgs = tshark(
        &g.trace,
        "ftp",
        &[
            "ftp.request.command",
            "ftp.request.arg",
            "ftp.response.code",
            "ftp.response.arg",
            "ftp.passive.port",
            "ftp.active.port",
        ],
    );
    // Each request with the final reply tshark saw before the next one.
    let mut exchanges: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for m in msgs {
        if !m[0].is_empty() {
            exchanges.push((m, Vec::new()));
        } else if let Some(e) = exchanges.last_mut() {
            e.1 = m;
        }
    }
    let logged = ["PASV", "STOR", "PORT", "RETR"];
    let want: Vec<_> = exchanges
        .iter()
        .filter(|(r, _)| logged.contains(&r[0].as_str()))
        .collect();
    let ours = g.log("ftp");
    assert_eq!(ours.len(), want.len(), "one ftp row per logged command");
    for (o, (req, reply)) in ours.iter().zip(&want) {
        assert_eq!(o["command"], req[0]);
        assert_eq!(o["reply_code"], reply[2]);
        assert_eq!(o["reply_msg"], reply[3]);
        assert_eq!(o["user"], "engineer");
        assert_eq!(o["password"], "<hidden>");
        match req[0].as_str() {
            "PASV" => assert_eq!(o["data_channel.resp_p"], reply[4]),
            "PORT" => {
                assert_eq!(o["arg"], req[1]);
                assert_eq!(o["data_channel.resp_p"], req[5]);
            }
            // File commands name the file by URL, from the working
            // directory the earlier CWD set.
            _ => assert!(
                o["arg"].starts_with("ftp://192.168.10.102/")
                    && o["arg"].ends_with(req[1].trim_start_matches('/')),
                "{} {}",
                o["arg"],
                req[1]
            ),
        }
    }
    assert_eq!(ours[1]["arg"], "ftp://192.168.10.102/programs/line1.prg");
    assert_eq!(ours[3]["arg"], "ftp://192.168.10.102/firmware/cpu.bin");
    assert_eq!(ours[3]["file_size"], "2048");
    assert!(g.roles("192.168.10.102").contains("ftp_server"));
    let conn = g.log("conn");
    let control = conn
        .iter()
        .find(|c| c["id.resp_p"] == "21")
        .expect("control connection");
    assert_eq!(control["service"], "ftp");
    // The data connections tshark ties to a PORT or PASV: ftp-data, as
    // Zeek names the connections its FTP analyzer announced.
    let data = tshark(&g.trace, "ftp-data", &["tcp.srcport", "tcp.dstport"]);
    let ports: std::collections::BTreeSet<&str> = data.iter().map(|d| d[1].as_str()).collect();
    assert_eq!(ports.len(), 2, "one passive, one active data connection");
    for port in ports {
        let c = conn
            .iter()
            .find(|c| c["id.resp_p"] == port)
            .unwrap_or_else(|| panic!("no conn row to port {port}"));
        assert_eq!(c["service"], "ftp-data", "to port {port}");
    }
    // Another connection to the same host is not the data channel.
    assert!(conn
        .iter()
        .filter(|c| c["service"] == "ftp-data")
        .all(|c| ["40001", "50102"].contains(&c["id.resp_p"].as_str())));
}

#[test]
fn generated_mqtt_matches_tshark() {
    let g = Generated::new("mqtt");
    let msgs = tshark(
        &g.trace,
        "mqtt",
        &[
            "mqtt.msgtype",
            "mqtt.clientid",
            "mqtt.willtopic",
            "mqtt.topic",
            "mqtt.qos",
            "mqtt.retain",
            "mqtt.msg",
            "mqtt.conack.val",
            "mqtt.sub.qos",
        ],
    );
    let of = |t: &str| msgs.iter().filter(|m| m[0] == t).collect::<Vec<_>>();
    let connect = g.log("mqtt_connect");
    assert_eq!(connect.len(), of("1").len());
    assert_eq!(connect[0]["client_id"], of("1")[0][1]);
    assert_eq!(connect[0]["will_topic"], of("1")[0][2]);
    assert_eq!(of("2")[0][7], "0");
    assert_eq!(connect[0]["connect_status"], "Connection Accepted");
    let sub = g.log("mqtt_subscribe");
    assert_eq!(sub.len(), of("8").len());
    assert_eq!(sub[0]["topics"], of("8")[0][3]);
    assert_eq!(sub[0]["qos_levels"], of("8")[0][8]);
    let publish = g.log("mqtt_publish");
    let want = of("3");
    assert_eq!(publish.len(), want.len(), "every publish completes");
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let qos = ["at most once", "at least once", "exactly once"];
    for (o, w) in publish.iter().zip(&want) {
        assert_eq!(o["topic"], w[3]);
        let level: usize = w[4].parse().expect("qos");
        assert_eq!(o["qos"], qos[level]);
        assert_eq!(o["retain"], if w[5] == "1" { "T" } else { "F" });
        assert_eq!(hex(&o["payload"]), w[6]);
        assert_eq!(o["status"], "ok");
    }
    assert!(g.roles("192.168.10.109").contains("mqtt_broker"));
}

#[test]
fn generated_syslog_matches_tshark() {
    let g = Generated::new("syslog");
    let want = tshark(
        &g.trace,
        "syslog",
        &["syslog.facility", "syslog.level", "syslog.msg"],
    );
    let ours = g.log("syslog");
    let udp: Vec<_> = ours.iter().filter(|r| r["proto"] == "udp").collect();
    assert_eq!(udp.len(), want.len(), "one row per datagram tshark decodes");
    let facilities = ["KERN", "USER", "MAIL", "DAEMON", "AUTH"];
    let severities = ["EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE"];
    for (o, w) in udp.iter().zip(&want) {
        match (w[0].parse::<usize>(), w[1].parse::<usize>()) {
            (Ok(f), Ok(s)) if f < 5 => {
                assert_eq!(o["facility"], facilities[f]);
                assert_eq!(o["severity"], severities[s]);
            }
            (Ok(23), Ok(3)) => assert_eq!((&*o["facility"], &*o["severity"]), ("LOCAL7", "ERR")),
            _ => assert_eq!(o["facility"], "UNSPECIFIED"),
        }
        assert_eq!(o["message"], w[2]);
    }
    // The TCP stream: one octet-counted message, one line.
    let tcp: Vec<_> = ours.iter().filter(|r| r["proto"] == "tcp").collect();
    assert_eq!(tcp.len(), 2);
    assert_eq!(tcp[0]["message"], "plc: cycle time over 50 ms");
    assert_eq!(tcp[1]["severity"], "INFO");
}

#[test]
fn generated_sip_matches_tshark() {
    let g = Generated::new("sip");
    let msgs = tshark(
        &g.trace,
        "sip",
        &[
            "sip.Method",
            "sip.Status-Code",
            "sip.Call-ID",
            "sip.CSeq",
            "sip.User-Agent",
            "sip.Warning",
        ],
    );
    let responses: Vec<_> = msgs.iter().filter(|m| !m[1].is_empty()).collect();
    let ours = g.log("sip");
    assert_eq!(ours.len(), responses.len(), "one sip row per response");
    for (o, w) in ours.iter().zip(&responses) {
        assert_eq!(o["status_code"], w[1]);
        assert_eq!(o["call_id"], w[2]);
        assert_eq!(o["seq"], w[3]);
        assert_eq!(Some(o["method"].as_str()), w[3].split(' ').nth(1));
        assert_eq!(o["warning"], dash(&w[5]));
    }
    assert_eq!(ours[0]["user_agent"], msgs[0][4]);
    assert_eq!(ours[0]["request_from"], "\"Line 1\" <sip:101@pbx.plant>");
    // The final 200 follows the provisional 100 of the same transaction.
    assert_eq!(ours[2]["response_path"].split(',').count(), 2);
}

#[test]
fn generated_smtp_matches_tshark() {
    let g = Generated::new("smtp");
    let msgs = tshark(
        &g.trace,
        "smtp or imf",
        &[
            "smtp.req.command",
            "smtp.req.parameter",
            "smtp.response.code",
            "imf.subject",
            "imf.from",
            "imf.message_id",
            "imf.to",
        ],
    );
    let ours = g.log("smtp");
    assert_eq!(
        ours.len(),
        2,
        "the relayed message, and the STARTTLS session"
    );
    let o = ours
        .iter()
        .find(|o| o["id.resp_p"] == "25")
        .expect("the relayed message's row");
    assert_eq!(o["tls"], "F");
    let param = |cmd: &str| {
        msgs.iter()
            .filter(|m| m[0] == cmd)
            .map(|m| m[1].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(o["helo"], param("EHLO")[0]);
    let addr = |p: &str| p.split(['<', '>']).nth(1).unwrap_or_default().to_owned();
    assert_eq!(o["mailfrom"], addr(&param("MAIL")[0]));
    let mut rcpt: Vec<String> = param("RCPT").iter().map(|p| addr(p)).collect();
    rcpt.sort();
    assert_eq!(o["rcptto"], rcpt.join(","));
    let imf = msgs
        .iter()
        .find(|m| !m[3].is_empty())
        .expect("tshark reads the message");
    assert_eq!(o["subject"], imf[3]);
    assert_eq!(o["from"], imf[4]);
    assert_eq!(o["msg_id"], imf[5]);
    let mut to: Vec<&str> = imf[6].split(", ").collect();
    to.sort();
    assert_eq!(o["to"], to.join(","));
    assert_eq!(o["path"], "192.168.10.1,192.168.10.10");
    // Written when the server took the message: its reply is the last.
    assert_eq!(o["last_reply"], "250 2.0.0 Ok: queued as 4F2A");

    // Port 587: after the 220 to STARTTLS, TLS (tshark's dissection).
    let sub = &ours
        .iter()
        .find(|o| o["id.resp_p"] == "587")
        .expect("the STARTTLS session's row");
    assert_eq!(sub["tls"], "T");
    assert_eq!(sub["helo"], param("EHLO")[1]);
    assert_eq!(sub["last_reply"], "220 2.0.0 Ready to start TLS");
    let hellos = tshark(
        &g.trace,
        "tcp.port == 587 && tls.handshake",
        &[
            "tls.handshake.type",
            "tls.handshake.extensions_server_name",
            "tls.handshake.ciphersuite",
        ],
    );
    let client = hellos.iter().find(|h| h[0] == "1").expect("a ClientHello");
    let server = hellos.iter().find(|h| h[0] == "2").expect("a ServerHello");
    let tls = g.log("tls");
    let row = tls
        .iter()
        .find(|r| r["id.resp_p"] == "587")
        .expect("a tls row for the STARTTLS session");
    assert_eq!(row["server_name"], client[1]);
    assert_eq!(row["cipher"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(server[2], "0x1301");
    assert_eq!(row["version"], "TLSv13");
    let conn = g.log("conn");
    let c = conn
        .iter()
        .find(|c| c["id.resp_p"] == "587")
        .expect("conn row");
    assert_eq!(c["service"], "smtp,ssl");
}

#[test]
fn generated_quic_matches_tshark() {
    let g = Generated::new("quic");
    // Debian 12's tshark does not know DNS over QUIC's port.
    let quic = |filter: &str, fields: &[&str]| {
        tshark_with(&g.trace, &["-d", "udp.port==853,quic"], filter, fields)
    };
    // The clients' Initials with CRYPTO frames; tshark dissects the TLS of
    // the first hello of each connection only (the retried one reuses the
    // stream's offsets).
    let initials = quic(
        "quic.frame_type == 6 && (udp.dstport == 443 || udp.dstport == 853)",
        &["udp.srcport", "quic.version", "quic.dcid", "quic.scid"],
    );
    let hellos = quic(
        "tls.handshake.type == 1",
        &[
            "udp.srcport",
            "tls.handshake.extensions_server_name",
            "tls.handshake.extensions_alpn_str",
        ],
    );
    let mut ours = g.log("quic");
    // Rows are written when a session ends; compare them in time order.
    ours.sort_by(|a, b| a["ts"].cmp(&b["ts"]));
    // The DoQ client's Initial is answered by a Retry: Zeek writes that
    // session's row and starts a new one with the retried Initial.
    assert_eq!(initials.len(), 3, "tshark reads three client Initials");
    assert_eq!(
        ours.len(),
        initials.len(),
        "one quic row per client Initial"
    );
    for (o, w) in ours.iter().zip(&initials) {
        // A datagram of coalesced packets lists each one's: the first's.
        let w: Vec<&str> = w
            .iter()
            .map(|f| f.split(',').next().unwrap_or(""))
            .collect();
        assert_eq!(o["id.orig_p"], w[0]);
        let version = match w[1] {
            "0x00000001" => "1",
            "0x6b3343cf" => "quicv2",
            v => panic!("unexpected version {v}"),
        };
        assert_eq!(o["version"], version);
        assert_eq!(o["client_initial_dcid"], w[2]);
        assert_eq!(o["client_scid"], w[3]);
        let hello = hellos
            .iter()
            .find(|h| h[0] == w[0])
            .expect("tshark reads the connection's ClientHello");
        assert_eq!(o["server_name"], hello[1]);
        assert_eq!(
            Some(o["client_protocol"].as_str()),
            hello[2].split(',').next()
        );
    }
    // The server's id: from its first long-header packet of each session.
    let server = quic(
        "quic.header_form == 1 && (udp.srcport == 443 || udp.srcport == 853)",
        &["quic.scid"],
    );
    let first_scid = |s: &str| s.split(',').next().unwrap_or_default().to_owned();
    assert_eq!(ours[0]["server_scid"], first_scid(&server[0][0]));
    // Zeek takes a Retry's ids only when the Retry opens the session.
    assert_eq!(server.len(), 3, "Initial, Retry, Initial");
    assert_eq!(ours[1]["server_scid"], "-");
    assert_eq!(ours[2]["server_scid"], first_scid(&server[2][0]));
    // Written out from Zeek's letters (client upper case): HTTP/3 has two
    // Initials in one datagram, the ClientHello whole after the second;
    // the server's Initial+ServerHello and Handshake;
    // the client's Initial and Handshake; then 1-RTT packets, noted at the
    // 1st, 2nd and 4th of each side (client 4, server 2).
    assert_eq!(ours[0]["history"], "IISishIHoOOoO");
    // DoQ: Initial+ClientHello, Retry; then the retried Initial and the
    // server's Initial with a CONNECTION_CLOSE.
    assert_eq!(ours[1]["history"], "ISr");
    assert_eq!(ours[2]["history"], "ISic");
    // The TLS log has the handshake of the HTTP/3 connection.
    let tls = g.log("tls");
    let h3 = tls
        .iter()
        .find(|r| r["id.resp_p"] == "443")
        .expect("a tls row for the HTTP/3 connection");
    assert_eq!(h3["version"], "TLSv13");
    assert_eq!(h3["cipher"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(h3["server_name"], "gateway.plant.example");
    let conn = g.log("conn");
    for port in ["443", "853"] {
        let c = conn
            .iter()
            .find(|r| r["id.resp_p"] == port)
            .expect("a conn row");
        assert_eq!(c["service"], "quic,ssl", "port {port}");
    }
}

#[test]
fn generated_http_matches_tshark() {
    let g = Generated::new("http");
    let conn = g.log("conn");
    let service = |port: &str| {
        conn.iter()
            .find(|c| c["id.orig_p"] == port)
            .map(|c| c["service"].clone())
            .unwrap_or_else(|| panic!("no conn row from port {port}"))
    };
    // tshark follows each upgrade into WebSocket frames and the CONNECT
    // tunnel into SSH; Zeek names both in the service. websocket.log has a
    // row per handshake with the request's and the response's headers.
    let hs = tshark(
        &g.trace,
        "http.upgrade",
        &[
            "tcp.srcport",
            "http.host",
            "http.request.uri",
            "http.user_agent",
            "http.sec_websocket_protocol",
            "http.sec_websocket_extensions",
        ],
    );
    let mut handshakes = g.log("websocket");
    handshakes.sort_by(|a, b| a["ts"].cmp(&b["ts"]));
    assert_eq!(hs.len(), 4, "two upgrades, each with its 101");
    assert_eq!(handshakes.len(), 2);
    for (w, pair) in handshakes.iter().zip(hs.chunks(2)) {
        let (req, resp) = (&pair[0], &pair[1]);
        assert_eq!(w["id.orig_p"], req[0]);
        assert_eq!(w["host"], dash(&req[1]));
        assert_eq!(w["uri"], dash(&req[2]));
        assert_eq!(w["user_agent"], dash(&req[3]));
        // One value each here: Zeek splits the lists on commas only.
        assert_eq!(w["client_protocols"], dash(&req[4]));
        assert_eq!(w["client_extensions"], dash(&req[5]));
        assert_eq!(w["subprotocol"], dash(&resp[4]));
        assert_eq!(w["server_extensions"], dash(&resp[5]));
    }
    // The frames tshark reads, with their payload unmasked and the
    // fragments joined: a text message on the HMI's connection; on the
    // gateway's, MQTT, which the sensor finds in that payload (Debian's
    // tshark does not dissect MQTT over WebSocket: its bytes are compared).
    let frames = tshark(
        &g.trace,
        "websocket",
        &[
            "tcp.srcport",
            "websocket.opcode",
            "data.data",
            "websocket.payload.text",
        ],
    );
    assert!(frames
        .iter()
        .any(|f| f[0] == "53080" && f[3] == "subscribe line1"));
    assert_eq!(service("53080"), "http,websocket");
    assert_eq!(service("53090"), "http,mqtt,websocket");
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let sent: String = frames
        .iter()
        .filter(|f| f[0] == "53090")
        .map(|f| f[2].clone())
        .collect();
    let connect = g.log("mqtt_connect");
    assert_eq!(connect.len(), 1);
    assert!(sent.contains(&hex(&connect[0]["client_id"])));
    let publish = g.log("mqtt_publish");
    assert_eq!(publish.len(), 1);
    assert_eq!(publish[0]["status"], "ok");
    assert!(sent.contains(&(hex(&publish[0]["topic"]) + "0007" + &hex(&publish[0]["payload"]))));
    // The broker's CONNACK is in the frames it sent, after its pong.
    let answer = frames
        .iter()
        .find(|f| f[0] == "9001")
        .expect("broker frames");
    assert_eq!(answer[1], "10,2");
    assert_eq!(answer[2], "20020000");
    assert_eq!(connect[0]["connect_status"], "Connection Accepted");
    let banners = tshark(&g.trace, "ssh.protocol", &["tcp.srcport", "ssh.protocol"]);
    assert_eq!(banners.len(), 2);
    assert_eq!(service(&banners[0][0]), "http,ssh");
    let ssh = g.log("ssh");
    assert_eq!(ssh.len(), 1, "the SSH handshake inside the tunnel");
    assert_eq!(ssh[0]["client"], banners[0][1]);
    assert_eq!(ssh[0]["server"], banners[1][1]);

    // Every request tshark reads, in order, with its response's code and
    // both body lengths (tshark's Content-Length, or the de-chunked body).
    let msgs = tshark(
        &g.trace,
        "http",
        &[
            "tcp.srcport",
            "http.request.method",
            "http.response.code",
            "http.content_length",
            "http.file_data",
            "tcp.dstport",
        ],
    );
    let mut ours = g.log("http");
    ours.sort_by(|a, b| (&a["ts"], &a["trans_depth"]).cmp(&(&b["ts"], &b["trans_depth"])));
    let requests: Vec<(String, String)> = msgs
        .iter()
        .filter(|m| !m[1].is_empty())
        .flat_map(|m| {
            m[1].split(',')
                .map(|x| (m[0].clone(), x.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ours.len(), requests.len(), "one http row per request");
    for (o, (port, method)) in ours.iter().zip(&requests) {
        assert_eq!(&o["id.orig_p"], port);
        assert_eq!(&o["method"], method);
    }
    // Final responses on the recipe connection, split where pipelined.
    let finals: Vec<(String, usize)> = msgs
        .iter()
        .filter(|m| m[0] == "8080" && m[5] == "53081")
        .filter(|m| !m[2].is_empty() && !m[2].starts_with('1'))
        .flat_map(|m| {
            let codes: Vec<&str> = m[2].split(',').collect();
            let bodies: Vec<&str> = m[4].split(',').collect();
            codes
                .into_iter()
                .zip(bodies)
                .map(|(c, b)| {
                    (
                        c.to_owned(),
                        b.replace("\\r\\n", "rn").replace("\\n", "n").len(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let recipe: Vec<_> = ours.iter().filter(|o| o["id.orig_p"] == "53081").collect();
    assert_eq!(recipe.len(), finals.len());
    for (o, (code, body)) in recipe.iter().zip(&finals) {
        assert_eq!(&o["status_code"], code);
        assert_eq!(o["response_body_len"], body.to_string());
    }
    let post = tshark(
        &g.trace,
        "http.request.method == \"POST\"",
        &["http.content_length"],
    );
    assert_eq!(recipe[0]["request_body_len"], post[0][0]);
    // The interim 100 Continue is the row's info code, as Zeek logs it.
    assert_eq!(recipe[0]["info_code"], "100");
    assert_eq!(recipe[0]["info_msg"], "Continue");

    // The framing connection: each body as tshark reads it (none in the
    // replies to HEAD, 204 and 304 whatever their Content-Length; the
    // de-chunked body where a reply has both headers; each of two
    // pipelined POSTs' bodies; the multipart/byteranges body whole), and
    // the 102 as its POST's info code.
    let framing = tshark(
        &g.trace,
        "http && tcp.port == 53082",
        &[
            "tcp.srcport",
            "http.request.method",
            "http.response.code",
            "http.file_data",
        ],
    );
    let (mut sent, mut answered) = (Vec::new(), Vec::new());
    for m in &framing {
        let bodies: Vec<usize> = m[3]
            .split(',')
            .map(|b| b.replace("\\r\\n", "rn").replace("\\n", "n").len())
            .collect();
        let body = |i: usize| bodies.get(i).copied().unwrap_or(0).to_string();
        if m[0] == "53082" {
            sent.extend(m[1].split(',').enumerate().map(|(i, _)| body(i)));
        } else {
            answered.extend(
                m[2].split(',')
                    .enumerate()
                    .filter(|(_, c)| !c.starts_with('1'))
                    .map(|(i, c)| (c.to_owned(), body(i))),
            );
        }
    }
    let rows: Vec<_> = ours.iter().filter(|o| o["id.orig_p"] == "53082").collect();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|o| (o["status_code"].clone(), o["response_body_len"].clone()))
        .collect();
    assert_eq!(got, answered);
    assert_eq!(answered.len(), 8);
    let got: Vec<&String> = rows.iter().map(|o| &o["request_body_len"]).collect();
    assert_eq!(got, sent.iter().collect::<Vec<_>>());
    let processing = rows
        .iter()
        .find(|o| o["uri"] == "/batch/start")
        .expect("the POST answered after a 102");
    assert_eq!(
        (
            processing["info_code"].as_str(),
            processing["info_msg"].as_str()
        ),
        ("102", "Processing")
    );
}
