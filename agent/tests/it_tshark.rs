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
