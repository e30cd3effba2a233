//! Link layers and tunnels: one TCP conversation from the traffic generator
//! is wrapped in each layer Zeek's packet analysis decodes, replayed, and the
//! conn.log rows are compared with what Zeek writes for it: the inner
//! connection whole, the tunnel's outer UDP connection with its service, and
//! `tunnel_parents` naming the tunnels. `docs/sensor.md` lists Zeek's packet
//! analyzers and the sensor's status for each.

mod support;

use osect_trafficgen::frame::{self, Host};
use osect_trafficgen::link;
use osect_trafficgen::pcap::{self, Capture};
use osect_trafficgen::tcp::TcpConn;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

type Row = BTreeMap<String, String>;

const CLIENT: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x00, 0x0a],
    ip: Ipv4Addr::new(10, 1, 0, 10),
};
const SERVER: Host = Host {
    mac: [0x00, 0x1b, 0x1b, 0x00, 0x00, 0x14],
    ip: Ipv4Addr::new(10, 1, 0, 20),
};
const CPORT: u16 = 49200;
const SPORT: u16 = 8000;
/// Tunnel endpoints and the switches' own addresses.
const TEP_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const TEP_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb2];
const T0: i64 = 1_700_000_000_000_000;
const REQUEST: &[u8] = &[0xee; 37];
const RESPONSE: &[u8] = &[0xdd; 1900];

/// One packet of the conversation.
struct Packet {
    ts: i64,
    from_client: bool,
    /// The IPv4 packet.
    ip: Vec<u8>,
    /// The plain Ethernet frame it came in.
    eth: Vec<u8>,
}

/// Handshake, a request, a response of two segments, and the close.
fn conversation() -> Vec<Packet> {
    let mut cap = Capture::new();
    let mut c = TcpConn::new(CLIENT, CPORT, SERVER, SPORT, None, (1000, 70_000));
    let t = c.handshake(&mut cap, T0);
    let t = c.send(&mut cap, t, true, REQUEST);
    let t = c.send(&mut cap, t, false, RESPONSE);
    c.close(&mut cap, t);
    cap.frames()
        .map(|(ts, f)| {
            let ip = link::ip_of(f).expect("the generator builds IPv4").to_vec();
            Packet {
                ts,
                from_client: ip[12..16] == CLIENT.ip.octets(),
                ip,
                eth: f.to_vec(),
            }
        })
        .collect()
}

/// A capture of `link_type` with `wrap` applied to every packet.
fn wrapped(packets: &[Packet], link_type: u32, wrap: impl Fn(&Packet) -> Vec<u8>) -> Capture {
    let mut cap = Capture::with_link_type(link_type);
    for p in packets {
        cap.push(p.ts, wrap(p));
    }
    cap
}

/// Replays `cap` and returns its conn.log rows.
fn conn_rows(cap: &Capture) -> Vec<Row> {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("link.pcap");
    std::fs::write(&trace, cap.to_pcap()).expect("write the capture");
    let out = support::replay_file(&trace, true, false);
    support::read_log(&out.path().join("conn.log"))
}

/// The conversation's row, checked field by field against Zeek's semantics:
/// a complete exchange (SF, `ShADadFf`), payload bytes from sequence
/// numbers, and the inner packets and IP bytes of each side.
fn check_conversation<'a>(case: &str, rows: &'a [Row], packets: &[Packet]) -> &'a Row {
    let inner: Vec<&Row> = rows
        .iter()
        .filter(|r| r["proto"] == "tcp" && r["id.orig_h"] == CLIENT.ip.to_string())
        .collect();
    assert_eq!(
        inner.len(),
        1,
        "{case}: one row for the conversation: {rows:?}"
    );
    let r = inner[0];
    let side = |client: bool| packets.iter().filter(move |p| p.from_client == client);
    let expect = [
        ("id.orig_p", CPORT.to_string()),
        ("id.resp_h", SERVER.ip.to_string()),
        ("id.resp_p", SPORT.to_string()),
        ("conn_state", "SF".to_owned()),
        ("history", "ShADadFf".to_owned()),
        ("orig_bytes", REQUEST.len().to_string()),
        ("resp_bytes", RESPONSE.len().to_string()),
        ("missed_bytes", "0".to_owned()),
        ("orig_pkts", side(true).count().to_string()),
        ("resp_pkts", side(false).count().to_string()),
        (
            "orig_ip_bytes",
            side(true).map(|p| p.ip.len()).sum::<usize>().to_string(),
        ),
        (
            "resp_ip_bytes",
            side(false).map(|p| p.ip.len()).sum::<usize>().to_string(),
        ),
    ];
    for (field, want) in expect {
        assert_eq!(r[field], want, "{case}: {field} in {r:?}");
    }
    r
}

/// Link layers with no tunnel: the conversation is the capture's only
/// connection, with the VLANs and the addresses the innermost Ethernet
/// header gives it.
#[test]
fn link_layers_carry_the_conversation() {
    let packets = conversation();
    let dst_src = |p: &Packet| {
        if p.from_client {
            (SERVER.mac, CLIENT.mac)
        } else {
            (CLIENT.mac, SERVER.mac)
        }
    };
    type Wrap = Box<dyn Fn(&Packet) -> Vec<u8>>;
    /// Name, link type, wrapping, expected vlan, inner vlan, client MAC.
    type Case = (
        &'static str,
        u32,
        Wrap,
        &'static str,
        &'static str,
        Option<[u8; 6]>,
    );
    let cases: Vec<Case> = vec![
        (
            "Ethernet",
            pcap::LINKTYPE_ETHERNET,
            Box::new(|p: &Packet| p.eth.clone()),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "802.1Q",
            pcap::LINKTYPE_ETHERNET,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                frame::ethernet(d, s, Some(30), 0x0800, &p.ip)
            }),
            "30",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "QinQ",
            pcap::LINKTYPE_ETHERNET,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                link::qinq(d, s, 100, 200, &p.ip)
            }),
            "100",
            "200",
            Some(CLIENT.mac),
        ),
        (
            // The backbone addresses are the bridges'; the customer frame's
            // are the hosts'.
            "802.1ah PBB",
            pcap::LINKTYPE_ETHERNET,
            Box::new(|p: &Packet| link::pbb(MAC_B, MAC_A, 0x0abcde, &p.eth)),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "PBB after an 802.1Q tag",
            pcap::LINKTYPE_ETHERNET,
            Box::new(|p: &Packet| {
                let inner = link::pbb(MAC_B, MAC_A, 7, &p.eth);
                frame::ethernet(MAC_B, MAC_A, Some(12), 0x88e7, &inner[14..])
            }),
            "12",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "VN-Tag with 802.1Q",
            pcap::LINKTYPE_ETHERNET,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                link::vntag(d, s, 17, Some(30), &p.ip)
            }),
            "30",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "VN-Tag inside 802.1Q",
            pcap::LINKTYPE_ETHERNET,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                let v = link::vntag(d, s, 17, None, &p.ip);
                frame::ethernet(d, s, Some(40), 0x8926, &v[14..])
            }),
            "40",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "FabricPath",
            pcap::LINKTYPE_ETHERNET,
            Box::new(|p: &Packet| link::fabricpath(MAC_B, MAC_A, 1, &p.eth)),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "MPLS",
            pcap::LINKTYPE_ETHERNET,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                link::mpls(d, s, &[16, 1000], &p.ip)
            }),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "PPPoE",
            pcap::LINKTYPE_ETHERNET,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                link::pppoe_session(d, s, 0x1234, link::PPP_IPV4, &p.ip)
            }),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "BSD loopback",
            pcap::LINKTYPE_NULL,
            Box::new(|p: &Packet| link::null(&p.ip)),
            "-",
            "-",
            None,
        ),
        (
            "PPP in HDLC-like framing",
            pcap::LINKTYPE_PPP,
            Box::new(|p: &Packet| link::ppp(true, link::PPP_IPV4, &p.ip)),
            "-",
            "-",
            None,
        ),
        (
            "PPP",
            pcap::LINKTYPE_PPP,
            Box::new(|p: &Packet| link::ppp(false, link::PPP_IPV4, &p.ip)),
            "-",
            "-",
            None,
        ),
        (
            "raw IP",
            pcap::LINKTYPE_RAW,
            Box::new(|p: &Packet| p.ip.clone()),
            "-",
            "-",
            None,
        ),
        (
            "Linux cooked capture",
            pcap::LINKTYPE_LINUX_SLL,
            Box::new(|p: &Packet| {
                let src = if p.from_client {
                    CLIENT.mac
                } else {
                    SERVER.mac
                };
                link::linux_sll(p.from_client, src, &p.ip)
            }),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "Linux cooked capture v2",
            pcap::LINKTYPE_LINUX_SLL2,
            Box::new(|p: &Packet| {
                let src = if p.from_client {
                    CLIENT.mac
                } else {
                    SERVER.mac
                };
                link::linux_sll2(p.from_client, src, 3, &p.ip)
            }),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
        (
            "NFLOG",
            pcap::LINKTYPE_NFLOG,
            Box::new(|p: &Packet| link::nflog("fw-accept", &p.ip)),
            "-",
            "-",
            None,
        ),
        (
            "802.11 with radiotap",
            pcap::LINKTYPE_IEEE802_11_RADIOTAP,
            Box::new(move |p: &Packet| {
                let (d, s) = dst_src(p);
                link::radiotap_80211(s, MAC_A, d, 1, &p.ip)
            }),
            "-",
            "-",
            Some(CLIENT.mac),
        ),
    ];
    for (case, lt, wrap, vlan, inner_vlan, mac) in cases {
        let rows = conn_rows(&wrapped(&packets, lt, wrap));
        assert_eq!(rows.len(), 1, "{case}: only the conversation: {rows:?}");
        let r = check_conversation(case, &rows, &packets);
        assert_eq!(r["tunnel_parents"], "-", "{case}");
        assert_eq!(r["vlan"], vlan, "{case}");
        assert_eq!(r["inner_vlan"], inner_vlan, "{case}");
        let mac = mac.map_or("-".to_owned(), |m| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        });
        assert_eq!(r["orig_l2_addr"], mac, "{case}");
    }
}

/// PPPoE's discovery stage and a session's link control carry no IP: they
/// make no connection, and the IP between them is decoded as before.
#[test]
fn pppoe_control_frames_make_no_connections() {
    let packets = conversation();
    let mut cap = Capture::new();
    let t = packets[0].ts;
    for (i, code) in [0x09, 0x07, 0x19, 0x65].into_iter().enumerate() {
        let (d, s) = if i % 2 == 0 {
            (frame::BROADCAST, CLIENT.mac)
        } else {
            (CLIENT.mac, SERVER.mac)
        };
        cap.push(t - 1000 + i as i64, link::pppoe_discovery(d, s, code, 0));
    }
    for (i, p) in packets.iter().enumerate() {
        let (d, s) = if p.from_client {
            (SERVER.mac, CLIENT.mac)
        } else {
            (CLIENT.mac, SERVER.mac)
        };
        cap.push(
            p.ts,
            link::pppoe_session(d, s, 0x1234, link::PPP_IPV4, &p.ip),
        );
        // An echo request of the link control protocol between segments.
        let lcp = link::lcp_echo(i as u8);
        cap.push(
            p.ts + 1,
            link::pppoe_session(d, s, 0x1234, link::PPP_LCP, &lcp),
        );
    }
    let rows = conn_rows(&cap);
    assert_eq!(rows.len(), 1, "{rows:?}");
    check_conversation("PPPoE with control frames", &rows, &packets);
}

/// Frames from one tunnel endpoint to the other, by the packet's direction.
fn ends(p: &Packet) -> (Ipv4Addr, Ipv4Addr, [u8; 6], [u8; 6]) {
    if p.from_client {
        (TEP_A, TEP_B, MAC_B, MAC_A)
    } else {
        (TEP_B, TEP_A, MAC_A, MAC_B)
    }
}

/// Tunnels over IP (GRE in its forms, IP in IP): the tunnel is no
/// connection of its own; the inner connection names it in
/// `tunnel_parents`, one uid for both directions.
#[test]
fn ip_tunnels_name_their_tunnel() {
    let packets = conversation();
    type Inner = Box<dyn Fn(&Packet, u32) -> (u8, Vec<u8>)>;
    let cases: Vec<(&str, Inner)> = vec![
        ("GRE", Box::new(|p, _| (47, link::gre_ip(&p.ip)))),
        (
            "GRE with key and sequence",
            Box::new(|p, n| {
                use link::gre_flags::*;
                (47, link::gre(KEY | SEQUENCE | CHECKSUM, 0x0800, n, &p.ip))
            }),
        ),
        (
            "GRE bridging Ethernet",
            Box::new(|p, _| (47, link::gre_ethernet(&p.eth))),
        ),
        (
            "ERSPAN type I",
            Box::new(|p, _| (47, link::erspan_1(&p.eth))),
        ),
        (
            "ERSPAN type II",
            Box::new(|p, n| (47, link::erspan_2(n, 5, &p.eth))),
        ),
        (
            "ERSPAN type III",
            Box::new(|p, n| (47, link::erspan_3(n, 5, false, &p.eth))),
        ),
        (
            "ERSPAN type III with its platform sub-header",
            Box::new(|p, n| (47, link::erspan_3(n, 5, true, &p.eth))),
        ),
        (
            "Aruba GRE carrying 802.11",
            Box::new(|p, n| {
                // The station and the host it talks to, from the frame's
                // own addresses; the access point's BSSID between them.
                let mac =
                    |at: usize| -> [u8; 6] { p.eth[at..at + 6].try_into().unwrap_or_default() };
                let bssid = [0x00, 0x0b, 0x86, 1, 2, 3];
                let wifi = link::ieee80211_data(mac(6), bssid, mac(0), n as u16, &p.ip);
                (47, link::aruba(0x8210, &wifi))
            }),
        ),
        ("PPTP", Box::new(|p, n| (47, link::pptp(n, &p.ip)))),
        ("IP in IP", Box::new(|p, _| (4, p.ip.clone()))),
    ];
    for (case, inner) in cases {
        let mut cap = Capture::new();
        for (n, p) in packets.iter().enumerate() {
            let (src, dst, dmac, smac) = ends(p);
            let (proto, payload) = inner(p, n as u32);
            let outer = frame::ipv4(src, dst, proto, n as u16, &payload);
            cap.push(p.ts, frame::ethernet(dmac, smac, None, 0x0800, &outer));
        }
        let rows = conn_rows(&cap);
        assert_eq!(rows.len(), 1, "{case}: {rows:?}");
        let r = check_conversation(case, &rows, &packets);
        let parents = &r["tunnel_parents"];
        assert!(
            parents.starts_with('C') && !parents.contains(','),
            "{case}: one tunnel uid, not {parents}"
        );
    }
}

/// GRE that Zeek does not decode (a routing field, reserved flags, an
/// unknown version, enhanced GRE with another payload) yields no inner
/// connection.
#[test]
fn gre_that_zeek_refuses_is_not_decapsulated() {
    let packets = conversation();
    for (case, flags, proto) in [
        ("routing present", 0x4000u16, 0x0800u16),
        ("reserved flags", 0x0008, 0x0800),
        ("version 2", 0x0002, 0x0800),
        ("enhanced GRE carrying IPv4 directly", 0x2001, 0x0800),
    ] {
        let mut cap = Capture::new();
        for (n, p) in packets.iter().enumerate() {
            let (src, dst, dmac, smac) = ends(p);
            let outer = frame::ipv4(src, dst, 47, n as u16, &link::gre(flags, proto, 0, &p.ip));
            cap.push(p.ts, frame::ethernet(dmac, smac, None, 0x0800, &outer));
        }
        let rows = conn_rows(&cap);
        assert!(
            rows.iter().all(|r| r["proto"] != "tcp"),
            "{case}: no inner connection: {rows:?}"
        );
    }
}

/// Tunnels over UDP: the outer datagrams are connections named by the
/// tunnel's service, and the inner connection lists each outer connection
/// it came out of; here each direction uses its own source port, as VXLAN
/// endpoints do, so there are two.
#[test]
fn udp_tunnels_are_connections_and_parents() {
    let packets = conversation();
    type Inner = Box<dyn Fn(&Packet, u32) -> Vec<u8>>;
    let cases: Vec<(&str, u16, &str, Inner)> = vec![
        (
            "VXLAN",
            4789,
            "vxlan",
            Box::new(|p, _| link::vxlan(42, &p.eth)),
        ),
        (
            "Geneve",
            6081,
            "geneve",
            Box::new(|p, _| link::geneve(42, &p.eth)),
        ),
        (
            "GTP-U",
            2152,
            "gtpv1",
            Box::new(|p, _| link::gtpu(0x0102_0304, &p.ip)),
        ),
        // Zeek's GTPv1 analyzer takes the control port as well.
        (
            "GTP-U on the GTP-C port",
            2123,
            "gtpv1",
            Box::new(|p, _| link::gtpu(0x0102_0304, &p.ip)),
        ),
        (
            "AYIYA",
            5072,
            "ayiya",
            Box::new(|p, n| link::ayiya(n, &p.ip)),
        ),
        // AYIYA is recognised by its content on any port, as Zeek does.
        (
            "AYIYA away from its port",
            33434,
            "ayiya",
            Box::new(|p, n| link::ayiya(n, &p.ip)),
        ),
    ];
    for (case, port, service, inner) in cases {
        let mut cap = Capture::new();
        for (n, p) in packets.iter().enumerate() {
            let (src, dst, dmac, smac) = ends(p);
            let sport = if p.from_client { 50_001 } else { 50_002 };
            let outer = link::outer_udp(src, dst, (sport, port), n as u16, &inner(p, n as u32));
            cap.push(p.ts, frame::ethernet(dmac, smac, None, 0x0800, &outer));
        }
        let rows = conn_rows(&cap);
        assert_eq!(rows.len(), 3, "{case}: two outer and one inner: {rows:?}");
        let outer: Vec<&Row> = rows.iter().filter(|r| r["proto"] == "udp").collect();
        assert_eq!(outer.len(), 2, "{case}");
        for o in &outer {
            assert_eq!(o["id.resp_p"], port.to_string(), "{case}");
            assert_eq!(o["service"], service, "{case}");
            assert_eq!(o["tunnel_parents"], "-", "{case}");
        }
        let r = check_conversation(case, &rows, &packets);
        // In the order the tunnels were first seen: the client's side first.
        let by_orig = |h: Ipv4Addr| {
            outer
                .iter()
                .find(|o| o["id.orig_h"] == h.to_string())
                .map(|o| o["uid"].clone())
                .unwrap_or_default()
        };
        assert_eq!(
            r["tunnel_parents"],
            format!("{},{}", by_orig(TEP_A), by_orig(TEP_B)),
            "{case}"
        );
    }
}

/// GRE over UDP (RFC 8086, port 4754): as in Zeek, the tunnel is GRE's,
/// named by its endpoints like GRE over IP, not the UDP connections that
/// carry it, which get no service.
#[test]
fn gre_over_udp_is_a_gre_tunnel() {
    let packets = conversation();
    let mut cap = Capture::new();
    for (n, p) in packets.iter().enumerate() {
        let (src, dst, dmac, smac) = ends(p);
        let sport = if p.from_client { 50_001 } else { 50_002 };
        let outer = link::outer_udp(src, dst, (sport, 4754), n as u16, &link::gre_ip(&p.ip));
        cap.push(p.ts, frame::ethernet(dmac, smac, None, 0x0800, &outer));
    }
    let rows = conn_rows(&cap);
    assert_eq!(rows.len(), 3, "two outer and one inner: {rows:?}");
    let outer: Vec<&Row> = rows.iter().filter(|r| r["proto"] == "udp").collect();
    assert!(outer.iter().all(|o| o["service"] == "-"), "{outer:?}");
    let r = check_conversation("GRE over UDP", &rows, &packets);
    let parents = &r["tunnel_parents"];
    assert!(
        parents.starts_with('C') && !parents.contains(','),
        "one tunnel: {parents}"
    );
    assert!(
        outer.iter().all(|o| &o["uid"] != parents),
        "the tunnel is not a UDP connection"
    );
}

/// GTP signalling (a Create PDP Context exchange on 2123, an echo on 2152)
/// carries no packet: as Zeek, which confirms GTPv1 only on a G-PDU with
/// IP inside, the connections have no service and nothing comes out of
/// them; the control port is a server port, so a capture that starts with
/// the response still has the GGSN as responder.
#[test]
fn gtp_signalling_is_no_tunnel_service() {
    // IEs: IMSI (type 2, 8 bytes), recovery (type 14), NSAPI (type 20).
    let create = [
        &[0x02, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0xf5][..],
        &[0x0e, 0x00],
        &[0x14, 0x05],
    ]
    .concat();
    // IEs: cause (type 1) "request accepted" (128), recovery.
    let accepted = [0x01, 0x80, 0x0e, 0x00];
    let sgsn_port = 40_123;
    let messages: Vec<(bool, u16, Vec<u8>)> = vec![
        // The capture starts with the response of an exchange it missed.
        (
            false,
            2123,
            link::gtp_message(17, 0x1111_2222, 6, &accepted),
        ),
        (true, 2123, link::gtp_message(16, 0, 7, &create)),
        (
            false,
            2123,
            link::gtp_message(17, 0x1111_2222, 7, &accepted),
        ),
        (true, 2152, link::gtp_message(1, 0, 8, &[])),
        (false, 2152, link::gtp_message(2, 0, 8, &[0x0e, 0x00])),
    ];
    let mut cap = Capture::new();
    for (n, (from_sgsn, port, m)) in messages.iter().enumerate() {
        let (src, dst, ports, dmac, smac) = if *from_sgsn {
            (TEP_A, TEP_B, (sgsn_port, *port), MAC_B, MAC_A)
        } else {
            (TEP_B, TEP_A, (*port, sgsn_port), MAC_A, MAC_B)
        };
        let outer = link::outer_udp(src, dst, ports, n as u16, m);
        let ts = T0 + n as i64 * 10_000;
        cap.push(ts, frame::ethernet(dmac, smac, None, 0x0800, &outer));
    }
    let rows = conn_rows(&cap);
    assert_eq!(rows.len(), 2, "one connection per port: {rows:?}");
    for r in &rows {
        assert_eq!(r["proto"], "udp");
        assert_eq!(r["id.orig_h"], TEP_A.to_string(), "the SGSN originates");
        assert_eq!(r["service"], "-", "{r:?}");
    }
    let control = rows
        .iter()
        .find(|r| r["id.resp_p"] == "2123")
        .expect("2123");
    assert_eq!(control["orig_pkts"], "1");
    assert_eq!(control["resp_pkts"], "2");
}
