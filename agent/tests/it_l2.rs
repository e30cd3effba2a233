//! LLDP and CDP: announcements built by the traffic generator are replayed
//! and the `lldp` log is compared with what was put in, and with
//! Wireshark's dissection of the same capture (`tshark`).

use osect_trafficgen::lldp::{cdp, lldp, Port};
use osect_trafficgen::pcap::Capture;
use std::net::Ipv4Addr;
use std::process::Command;

mod support;

const SWITCH: [u8; 6] = [0x00, 0x1b, 0x54, 0x12, 0x34, 0x56];

fn port() -> Port<'static> {
    Port {
        chassis_mac: SWITCH,
        port_id: "Gi0/7",
        port_desc: "PLC line 3",
        system_name: "sw-line3.plant",
        system_desc: "Cisco IOS 15.2(2)E",
        capabilities: 0x0014,
        mgmt: Ipv4Addr::new(192, 168, 10, 2),
        vlan: 30,
    }
}

fn tshark(trace: &std::path::Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(trace)
        .args(["-Y", "lldp or cdp", "-T", "fields", "-E", "separator=|"]);
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

#[test]
fn lldp_and_cdp_announcements_are_logged() {
    let mut cap = Capture::new();
    cap.push(1_700_000_000_000_000, lldp(SWITCH, &port()));
    cap.push(1_700_000_001_000_000, cdp(SWITCH, &port()));
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("l2.pcap");
    std::fs::write(&trace, cap.to_pcap()).unwrap();
    let out = dir.path().join("logs");
    let opts = osect_agent::replay::ReplayOptions {
        out: out.clone(),
        format: osect_wire::Format::Tsv,
        ignore_checksums: false,
        interval_secs: None,
        app_layer: true,
    };
    osect_agent::replay::replay(
        std::slice::from_ref(&trace),
        &osect_agent::config::Config::default(),
        &opts,
    )
    .unwrap();
    let rows = support::read_log(&out.join("lldp.log"));
    assert_eq!(rows.len(), 2);
    let (l, c) = (&rows[0], &rows[1]);
    assert_eq!(l["protocol"], "lldp");
    assert_eq!(l["chassis_id"], "00:1b:54:12:34:56");
    assert_eq!(l["port_id"], "Gi0/7");
    assert_eq!(l["port_desc"], "PLC line 3");
    assert_eq!(l["system_name"], "sw-line3.plant");
    assert_eq!(l["capabilities"], "bridge,router");
    assert_eq!(l["mgmt_addr"], "192.168.10.2");
    assert_eq!(l["port_vlan"], "30");
    assert_eq!(c["protocol"], "cdp");
    assert_eq!(c["system_name"], "sw-line3.plant");
    assert_eq!(c["port_id"], "Gi0/7");
    assert_eq!(c["mgmt_addr"], "192.168.10.2");
    assert_eq!(c["port_vlan"], "30");
    assert_eq!(c["capabilities"], "router,switch,igmp");

    // The same values as Wireshark reads them.
    let w = tshark(
        &trace,
        &[
            "lldp.chassis.id.mac",
            "lldp.port.id",
            "lldp.tlv.system.name",
            "lldp.mgn.addr.ip4",
            "lldp.ieee.802_1.port_vlan.id",
            "cdp.deviceid",
            "cdp.portid",
            "cdp.nrgyz.ip_address",
            "cdp.native_vlan",
        ],
    );
    assert_eq!(w.len(), 2, "tshark decodes both frames");
    assert_eq!(w[0][0], l["chassis_id"]);
    assert_eq!(w[0][1], l["port_id"]);
    assert_eq!(w[0][2], l["system_name"]);
    assert_eq!(w[0][3], l["mgmt_addr"]);
    assert_eq!(w[0][4], l["port_vlan"]);
    assert_eq!(w[1][5], c["system_name"]);
    assert_eq!(w[1][6], c["port_id"]);
    assert_eq!(w[1][8], c["port_vlan"]);
}
