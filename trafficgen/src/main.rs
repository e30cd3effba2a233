//! `osect-trafficgen SCENARIO [--seconds N] [--seed N] --out FILE.pcap`

use osect_trafficgen::scenario;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: osect-trafficgen SCENARIO [--seconds N] [--seed N] --out FILE.pcap\nscenarios: {}",
        scenario::NAMES.join(" ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        return usage();
    };
    let (mut seconds, mut seed, mut out) = (120u64, 1u64, None);
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let v = it.next();
        match (a.as_str(), v) {
            ("--seconds", Some(v)) => match v.parse() {
                Ok(n) => seconds = n,
                Err(e) => {
                    eprintln!("--seconds {v:?}: {e}");
                    return ExitCode::from(2);
                }
            },
            ("--seed", Some(v)) => match v.parse() {
                Ok(n) => seed = n,
                Err(e) => {
                    eprintln!("--seed {v:?}: {e}");
                    return ExitCode::from(2);
                }
            },
            ("--out", Some(v)) => out = Some(v.clone()),
            _ => return usage(),
        }
    }
    let Some(out) = out else {
        return usage();
    };
    let Some(cap) = scenario::by_name(name, seconds, seed) else {
        eprintln!("unknown scenario {name:?}");
        return usage();
    };
    if let Err(e) = std::fs::write(&out, cap.to_pcap()) {
        eprintln!("cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!("{out}: {} frames", cap.len());
    ExitCode::SUCCESS
}
