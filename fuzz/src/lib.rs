//! Fuzz harnesses: each takes the fuzzer's bytes, drives one part of the
//! agent, and asserts invariants that must hold for any input. The
//! cargo-fuzz targets in `fuzz_targets/` are one-line wrappers; the agent's
//! test `agent/tests/fuzz_regressions.rs` includes this file to replay the
//! crash cases kept in `fuzz/regressions/<target>/` with every `cargo test`.
//! So this file depends only on `osect_agent` and `osect_wire`.
//!
//! # Packet input (`packet` target)
//!
//! `[flags] ([gap] [len: u16 BE] [len bytes])*`; a last record shorter than
//! its length is taken as it is. `flags & 0x0f` picks the link type from
//! [`LINKS`], `0x10` verifies checksums (else they are ignored), `0x20`
//! turns the application parsers off, `0x40` makes every table tiny so
//! eviction runs. `gap` advances the clock by `gap² × 10 ms` (up to 11
//! minutes, so timeouts and interval ends happen); `gap = 255` steps back
//! one second instead (clocks do that).

use osect_agent::config::Config;
use osect_agent::decode::LinkType;
use osect_agent::engine::{Engine, Options};
use osect_wire::zeek::{json_row, tsv_row};
use osect_wire::Record;

/// Every link type the engine knows, and one it does not.
pub const LINKS: &[LinkType] = &[
    LinkType::ETHERNET,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::RAW,
    LinkType::RAW_OLD,
    LinkType::RAW_OLD2,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::PPP,
    LinkType::IEEE802_11,
    LinkType::IEEE802_11_RADIOTAP,
    LinkType(147),
];

pub const FLAG_VERIFY_CHECKSUMS: u8 = 0x10;
pub const FLAG_NO_APP: u8 = 0x20;
pub const FLAG_TINY_TABLES: u8 = 0x40;
const GAP_BACKWARDS: u8 = 255;
const INTERVAL_US: i64 = 60_000_000;
/// 2024-01-01T00:00:00Z: a plausible capture time.
const START_US: i64 = 1_704_067_200_000_000;

/// The frames of a packet input with their gap bytes.
pub fn frames(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&gap, r) = rest.split_first()?;
        let len = match r {
            [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => r.len(),
        };
        let body = r.get(2..).unwrap_or(&[]);
        let n = len.min(body.len());
        rest = &body[n..];
        Some((gap, &body[..n]))
    })
}

/// Appends one frame in the packet input format (for seeds).
pub fn push_frame(out: &mut Vec<u8>, gap: u8, frame: &[u8]) {
    let n = frame.len().min(usize::from(u16::MAX));
    out.push(gap);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&frame[..n]);
}

/// The `packet` target: see the module documentation for the input format.
pub fn packet(data: &[u8]) {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(flags & 0x0f) % LINKS.len()];
    let mut cfg = Config::default();
    if flags & FLAG_TINY_TABLES != 0 {
        cfg.limits.connections = 4;
        cfg.limits.fragments = 2;
        cfg.limits.app_flows = 2;
        cfg.limits.assets = 4;
        cfg.limits.arp_entries = 4;
        cfg.limits.reassembly_bytes_per_flow = 64;
        cfg.limits.records_per_interval = 16;
    } else {
        // Large enough for any input the fuzzer makes, small enough to
        // allocate quickly on every run.
        cfg.limits.connections = 4096;
        cfg.limits.records_per_interval = 1 << 16;
    }
    let mut engine = Engine::new(
        &cfg,
        Options {
            ignore_checksums: flags & FLAG_VERIFY_CHECKSUMS == 0,
            app_layer: flags & FLAG_NO_APP == 0,
            ..Options::default()
        },
    );
    let mut ts = START_US;
    let mut boundary = START_US + INTERVAL_US;
    let mut fed = 0u64;
    for (gap, frame) in frames(body) {
        if gap == GAP_BACKWARDS {
            ts -= 1_000_000;
        } else {
            ts += i64::from(gap) * i64::from(gap) * 10_000;
        }
        while ts >= boundary {
            engine.end_interval(boundary);
            boundary += INTERVAL_US;
        }
        engine.handle_packet(ts, link, frame);
        fed += 1;
        assert!(
            engine.open_connections() <= cfg.limits.connections,
            "{} connections open, limit {}",
            engine.open_connections(),
            cfg.limits.connections
        );
        check_records(&engine.take_records());
    }
    engine.finish(ts);
    check_records(&engine.take_records());
    let st = engine.stats();
    assert_eq!(st.packets, fed, "packets counted vs frames fed");
}

/// Writes every record as a TSV row and a JSON line: a row has exactly one
/// column per field and is one line, whatever bytes came off the wire.
pub fn check_records(recs: &[Record]) {
    let mut line = String::new();
    for r in recs {
        line.clear();
        tsv_row(&mut line, r);
        let body = line
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("TSV row without newline: {line:?}"));
        assert!(!body.contains('\n'), "newline inside a TSV row: {line:?}");
        assert_eq!(
            body.split('\t').count(),
            r.schema.fields.len(),
            "{}: TSV columns vs fields: {line:?}",
            r.schema.path
        );
        line.clear();
        json_row(&mut line, r);
        let body = line
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("JSON row without newline: {line:?}"));
        assert!(!body.contains('\n'), "newline inside a JSON row: {line:?}");
        assert!(body.starts_with('{') && body.ends_with('}'), "{line:?}");
    }
}

/// A harness by target name, for replaying saved inputs.
pub fn harness(target: &str) -> Option<Harness> {
    TARGETS.iter().find(|(n, _)| *n == target).map(|(_, f)| *f)
}

/// A harness: panics when an invariant breaks.
pub type Harness = fn(&[u8]);

/// Every target: its name (the file in `fuzz_targets/`) and its harness.
pub const TARGETS: &[(&str, Harness)] = &[("packet", packet)];
