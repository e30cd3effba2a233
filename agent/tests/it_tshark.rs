//! The decoders whose corpus captures come without a peer log, checked
//! against Wireshark's dissection (`tshark`, listed in ci/deps/apt-it.txt):
//! every message tshark decodes must be in our log with the same values.

mod support;

use std::process::Command;
use support::{corpus, read_log, replay_case, Case};

/// tshark's fields for `filter`, one row per packet, in capture order.
fn tshark(trace: &std::path::Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(trace)
        .args(["-Y", filter, "-T", "fields", "-E", "separator=|"]);
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
