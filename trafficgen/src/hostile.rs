//! `hostile-names`: a small plant whose devices announce attacker-chosen
//! strings in every place the sensor records a name, so that whatever
//! shows them (web pages, the map, reports, CSV downloads) can be checked
//! to treat them as text. Each string is short enough to pass the agent's
//! truncation whole. Where each one lands:
//!
//! | string | sent by | agent record |
//! |---|---|---|
//! | `<script>alert(1)</script>` | DHCP DISCOVER host name (option 12) of 00:0c:29:66:00:01 | `dhcp.host_name`, asset hostname |
//! | `"><img src=x onerror=alert(1)>` | SSDP NOTIFY `SERVER`, inside `USN` and `LOCATION`, from 192.168.10.121 | `ssdp.server_or_user_agent`, `usn`, `location`, asset product |
//! | `=HYPERLINK("http://x","y")` | CIP identity product name of 192.168.10.103 (ListIdentity and Get_Attribute_All) | `cip_identity.product_name`, asset product |
//! | `+cmd\|' /C calc'!A0` | CIP identity product name of 192.168.10.122 | `cip_identity.product_name`, asset product |
//! | `@SUM(1+1)` | S7 SZL 0x001c module name of 192.168.10.102 | `s7comm_known_devices.module_name`, asset product |
//! | `-2+3` | NetBIOS name registration of 192.168.10.123 | `netbios_ns.name`, asset hostname |
//! | `=2+5` | mDNS announcement `=2+5.local` of 192.168.10.124 | `dns.query`, asset hostname |
//! | `=SUM(A1:A9)` | SLMP model (read type name) of 192.168.10.104 | `slmp.model`, asset model |
//! | `-1+1` | FINS controller model of 192.168.10.105 | `fins.controller_model`, asset model |
//! | `=1+2` and `<svg onload=alert(3)>` | PROFINET DCP name of station and type of station of an IO device, 192.168.10.125 | `profinet_dcp.station_name`, `type_of_station`, asset hostname and product |
//! | `<iframe src=javascript:alert(4)>` | LLDP system name of a switch port | `lldp.system_name`, asset hostname |

use crate::frame::{ethernet, udp_frame, BROADCAST};
use crate::lldp::{lldp, Port};
use crate::pcap::Capture;
use crate::proto::{enip, fins, it, profinet, slmp};
use crate::scenario::{
    enip_identity_session, fins_call, host, rockwell_identity, s7_identity, s7_setup, Net, MS,
    S7_FIRMWARE, SEC, START,
};
use crate::tcp::TcpConn;
use std::net::Ipv4Addr;

pub const SCRIPT: &str = "<script>alert(1)</script>";
pub const IMG: &str = "\"><img src=x onerror=alert(1)>";
pub const HYPERLINK: &str = "=HYPERLINK(\"http://x\",\"y\")";
pub const CMD: &str = "+cmd|' /C calc'!A0";
pub const SUM: &str = "@SUM(1+1)";
pub const NETBIOS: &str = "-2+3";
pub const MDNS: &str = "=2+5";
pub const SLMP_MODEL: &str = "=SUM(A1:A9)";
pub const FINS_MODEL: &str = "-1+1";
pub const DCP_STATION: &str = "=1+2";
pub const DCP_VENDOR: &str = "<svg onload=alert(3)>";
pub const LLDP_NAME: &str = "<iframe src=javascript:alert(4)>";

/// Every string the scenario announces.
pub const ALL: [&str; 12] = [
    SCRIPT,
    IMG,
    HYPERLINK,
    CMD,
    SUM,
    NETBIOS,
    MDNS,
    SLMP_MODEL,
    FINS_MODEL,
    DCP_STATION,
    DCP_VENDOR,
    LLDP_NAME,
];

/// The capture, a few seconds from [`START`].
pub fn hostile_names() -> Capture {
    let net = Net::default();
    let mut cap = Capture::new();
    let cap = &mut cap;
    let t = START;
    let vlan = net.vlan;

    // DHCP: a PC asks for an address under a script tag.
    let pc = host([0x00, 0x0c, 0x29, 0x66, 0x00, 0x01], [0, 0, 0, 0]);
    let bcast = host(BROADCAST, [255, 255, 255, 255]);
    let q = it::dhcp(false, 0x4854_4d4c, pc.mac, [0; 4], SCRIPT);
    cap.push(t, udp_frame(&pc, &bcast, BROADCAST, vlan, 68, 67, 1, &q));
    let a = it::dhcp(true, 0x4854_4d4c, pc.mac, [192, 168, 10, 120], "");
    cap.push(
        t + 3 * MS,
        udp_frame(&net.gateway, &bcast, BROADCAST, vlan, 67, 68, 2, &a),
    );

    // SSDP: a camera announces itself.
    let camera = host([0x00, 0x40, 0x8c, 0x66, 0x00, 0x02], [192, 168, 10, 121]);
    let group = host([0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa], [239, 255, 255, 250]);
    let n = it::ssdp_notify(
        &format!("http://192.168.10.121:80/{IMG}.xml"),
        "upnp:rootdevice",
        IMG,
        &format!("uuid:{IMG}::upnp:rootdevice"),
    );
    cap.push(
        t + 100 * MS,
        udp_frame(&camera, &group, group.mac, vlan, 1900, 1900, 3, &n),
    );

    // CIP identity: the EtherNet/IP PLC and a second Rockwell device.
    let id = enip::Identity {
        name: HYPERLINK,
        ..rockwell_identity()
    };
    enip_identity_session(cap, &net, t + 200 * MS, &id, 49_300);
    let second = Net {
        enip_plc: host([0x00, 0x00, 0xbc, 0x66, 0x00, 0x03], [192, 168, 10, 122]),
        ..Net::default()
    };
    let id = enip::Identity {
        name: CMD,
        serial: 0x0bad_f00d,
        ..rockwell_identity()
    };
    enip_identity_session(cap, &second, t + 400 * MS, &id, 49_301);

    // S7: the engineering station reads the S7 PLC's identity.
    let mut c = TcpConn::new(net.eng, 49_200, net.s7_plc, 102, vlan, (7000, 9000));
    let mut r = 0x0100;
    let mut at = c.handshake(cap, t + 600 * MS);
    at = s7_setup(&mut c, cap, at, r);
    at = s7_identity(&mut c, cap, at, &mut r, (S7_FIRMWARE, SUM));
    c.close(cap, at + 10 * MS);

    // NetBIOS: a PC registers its name; mDNS: another announces its own.
    let nb = host([0x00, 0x0c, 0x29, 0x66, 0x00, 0x04], [192, 168, 10, 123]);
    let to = host(BROADCAST, [192, 168, 10, 255]);
    let reg = it::nbns_registration(0x0101, NETBIOS, nb.ip.octets());
    cap.push(
        t + 800 * MS,
        udp_frame(&nb, &to, BROADCAST, vlan, 137, 137, 4, &reg),
    );
    let md = host([0x00, 0x0c, 0x29, 0x66, 0x00, 0x05], [192, 168, 10, 124]);
    let mgroup = host([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb], [224, 0, 0, 251]);
    let ann = it::dns(0, &format!("{MDNS}.local"), Some(md.ip.octets()));
    cap.push(
        t + 900 * MS,
        udp_frame(&md, &mgroup, mgroup.mac, vlan, 5353, 5353, 5, &ann),
    );

    // SLMP and FINS model reads by the engineering station.
    let mut c = TcpConn::new(net.eng, 49_700, net.slmp_plc, 5000, vlan, (51_000, 53_000));
    at = c.handshake(cap, t + SEC);
    at = c.send(
        cap,
        at,
        true,
        &slmp::request(None, slmp::READ_TYPE_NAME, 0, &[]),
    );
    let model = slmp::response(None, 0, &slmp::type_name(SLMP_MODEL, 0x0366));
    at = c.send(cap, at + 2 * MS, false, &model);
    c.close(cap, at + 10 * MS);
    let cd = fins::controller_data(FINS_MODEL, "01.00");
    let (eng, plc) = ((&net.eng, 0x0a), (&net.fins_plc, 0x69));
    fins_call(
        cap,
        vlan,
        eng,
        plc,
        t + 1200 * MS,
        1,
        (0x05, 0x01),
        &[0x01],
        &cd,
    );

    // PROFINET DCP: an IO device answers the engineering station's identify
    // (a device of its own, so that no identity read outranks what it says).
    let q = profinet::identify_request(7);
    let dcp = 0x8892;
    cap.push(
        t + 1300 * MS,
        ethernet(profinet::DCP_MULTICAST, net.eng.mac, vlan, dcp, &q),
    );
    let io_device = [0x00, 0x0e, 0x8c, 0x66, 0x00, 0x07];
    let ip = [[192, 168, 10, 125], [255, 255, 255, 0], [192, 168, 10, 1]];
    let a = profinet::identify_response(7, DCP_STATION, DCP_VENDOR, (0x002a, 0x0101), ip);
    cap.push(
        t + 1320 * MS,
        ethernet(net.eng.mac, io_device, vlan, dcp, &a),
    );

    // LLDP: the switch port the engineering station hangs on.
    let switch: [u8; 6] = [0x00, 0x1e, 0x49, 0x66, 0x00, 0x06];
    let port = Port {
        chassis_mac: switch,
        port_id: "Gi1/0/3",
        port_desc: "eng station",
        system_name: LLDP_NAME,
        system_desc: "switch",
        capabilities: 0x0004,
        mgmt: Ipv4Addr::new(192, 168, 10, 2),
        vlan: 10,
    };
    let mut from = switch;
    from[5] = 0x03;
    cap.push(t + 1400 * MS, lldp(from, &port));
    std::mem::take(cap)
}
