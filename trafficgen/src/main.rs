//! `osect-trafficgen SCENARIO [--seconds N] [--seed N] --out FILE.pcap`;
//! `plant-day` also takes `--day N` and `--events e1,e2,...`.

use osect_trafficgen::{day, scenario};
use std::process::ExitCode;

fn usage() -> ExitCode {
    let events: Vec<&str> = day::Event::ALL.iter().map(|e| e.name()).collect();
    eprintln!(
        "usage: osect-trafficgen SCENARIO [--seconds N] [--seed N] --out FILE.pcap\n       \
         osect-trafficgen plant-day --day N [--seconds N] [--seed N] [--events E,...] --out FILE.pcap\n\
         scenarios: {} plant-day\nevents: {}",
        scenario::names().collect::<Vec<_>>().join(" "),
        events.join(",")
    );
    ExitCode::from(2)
}

fn number(flag: &str, v: &str) -> Result<u64, ExitCode> {
    v.parse().map_err(|e| {
        eprintln!("{flag} {v:?}: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn run() -> Result<(), ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        return Err(usage());
    };
    let plant_day = name == "plant-day";
    let (mut seconds, mut seed, mut out) = (None, 1u64, None);
    let (mut day_no, mut events) = (None, Vec::new());
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let v = it.next();
        match (a.as_str(), v) {
            ("--seconds", Some(v)) => seconds = Some(number(a, v)?),
            ("--seed", Some(v)) => seed = number(a, v)?,
            ("--out", Some(v)) => out = Some(v.clone()),
            ("--day", Some(v)) if plant_day => day_no = Some(number(a, v)?),
            ("--events", Some(v)) if plant_day => {
                events = day::parse_events(v).map_err(|e| {
                    eprintln!("--events: {e}");
                    ExitCode::from(2)
                })?;
            }
            _ => return Err(usage()),
        }
    }
    let Some(out) = out else {
        return Err(usage());
    };
    let cap = if plant_day {
        let Some(n) = day_no else {
            eprintln!("plant-day needs --day N");
            return Err(usage());
        };
        let seconds = seconds.unwrap_or(day::DEFAULT_SECONDS);
        if seconds < day::MIN_SECONDS {
            eprintln!(
                "--seconds {seconds}: plant-day needs at least {}",
                day::MIN_SECONDS
            );
            return Err(ExitCode::from(2));
        }
        day::plant_day(n, seconds, seed, &events)
    } else {
        match scenario::by_name(name, seconds.unwrap_or(120), seed) {
            Some(c) => c,
            None => {
                eprintln!("unknown scenario {name:?}");
                return Err(usage());
            }
        }
    };
    if let Err(e) = std::fs::write(&out, cap.to_pcap()) {
        eprintln!("cannot write {out}: {e}");
        return Err(ExitCode::FAILURE);
    }
    eprintln!("{out}: {} frames", cap.len());
    Ok(())
}
