//! Fuzz harnesses: each takes the fuzzer's bytes, drives one part of the
//! agent, and asserts invariants that must hold for any input. The
//! cargo-fuzz targets in `fuzz_targets/` are one-line wrappers; the agent's
//! test `agent/tests/fuzz_regressions.rs` includes this file to replay the
//! crash cases kept in `fuzz/regressions/<target>/` with every `cargo test`.
//! So this file depends only on `osect_engine` and `osect_wire`.
//!
//! # Packet input (`packet` target)
//!
//! `[flags] ([gap] [len: u16 BE] [len bytes])*`; a last record shorter than
//! its length is taken as it is. `flags & 0x0f`, with `0x80` as a fifth
//! bit, picks the link type from [`LINKS`], `0x10` verifies checksums (else
//! they are ignored), `0x20` turns the application parsers off, `0x40` makes
//! every table tiny so eviction runs. `gap` advances the clock by `gap² × 10 ms` (up to 11
//! minutes, so timeouts and interval ends happen); `gap = 255` steps back
//! one second instead (clocks do that).
//!
//! # Conversation input (one target per application decoder)
//!
//! The same records: `[hdr] [len] [bytes]`. `hdr & 1` says the responder
//! sent the bytes, `hdr & 2` that bytes of that direction were lost before
//! them. The driver is the engine's own streaming contract
//! (`over_ip::session::Session`, with the per-flow window of the default
//! limits): over TCP a direction's unconsumed bytes come again with its next
//! data, over UDP each record is one datagram. The parser comes from the
//! recogniser (`over_ip::probe`), as in the engine, for a connection to the
//! decoder's usual port.
//!
//! # Frame payload input (one target per link-layer decoder)
//!
//! The bytes after the Ethernet header of a frame with the decoder's
//! EtherType (0: an 802.3 frame, the bytes start with the LLC header).
//!
//! # Batch input (`batch` target)
//!
//! The bytes a collector receives from a device: decoded as a batch within
//! tight limits, and as a delta on a fixed base ([`batch_base`]). Whatever
//! decodes is bounded by the limits and, encoded again in full, has the
//! frame's digest. Seeds: [`batch_seeds`].

use osect_engine::asset::AssetTable;
use osect_engine::engine::{Engine, Options};
use osect_engine::flow::id::{ConnId, FlowRef, Transport};
use osect_engine::limits::Limits;
use osect_engine::over_ethernet;
use osect_engine::over_ip::session::Session;
use osect_engine::over_ip::{self, Ctx, Dir, Output};
use osect_engine::packet::LinkType;
use osect_engine::protocols::{self, Recognition};
use osect_engine::sink::RecordSink;
use osect_wire::batch;
use osect_wire::zeek::{json_row, tsv_row};
use osect_wire::Record;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

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
    LinkType::FDDI,
    LinkType::PPP_SERIAL,
    LinkType::NFLOG,
];

/// The link type `flags` picks: its low four bits and `0x80` as a fifth,
/// an index into [`LINKS`].
pub fn link_of(flags: u8) -> LinkType {
    let idx = usize::from(flags & 0x0f) | usize::from(flags & 0x80) >> 3;
    LINKS[idx % LINKS.len()]
}

/// The flag bits that pick `LINKS[idx]` (see [`link_of`]).
pub fn link_flags(idx: usize) -> u8 {
    (idx & 0x0f) as u8 | ((idx & 0x10) << 3) as u8
}

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
    let link = link_of(flags);
    let mut limits = Limits::default();
    if flags & FLAG_TINY_TABLES != 0 {
        limits.connections = 4;
        limits.fragments = 2;
        limits.app_flows = 2;
        limits.assets = 4;
        limits.arp_entries = 4;
        limits.reassembly_bytes_per_flow = 64;
        limits.records_per_interval = 16;
    } else {
        // Large enough for any input the fuzzer makes, small enough to
        // allocate quickly on every run.
        limits.connections = 4096;
        limits.records_per_interval = 1 << 16;
    }
    let mut engine = Engine::new(
        &limits,
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
            engine.open_connections() <= limits.connections,
            "{} connections open, limit {}",
            engine.open_connections(),
            limits.connections
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

pub const HDR_RESP: u8 = 1;
pub const HDR_GAP: u8 = 2;

/// Application decoders, from the registry: a target per well-known port
/// of each protocol, named as the protocol for the first and
/// `<protocol>_<tcp|udp>` for the others (`dnp3`, `dnp3_udp`).
pub fn app_targets() -> &'static [(String, Transport, u16)] {
    static TARGETS: OnceLock<Vec<(String, Transport, u16)>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let mut targets = Vec::new();
        for d in protocols::REGISTRY {
            if let Recognition::Probe { ports, .. } = d.recognition {
                for (i, &(transport, port)) in ports.iter().enumerate() {
                    let name = match i {
                        0 => d.info.name.to_owned(),
                        _ => format!("{}_{}", d.info.name, transport.as_str()),
                    };
                    targets.push((name, transport, port));
                }
            }
        }
        targets
    })
}

/// Link-layer decoders: target name and EtherType. Each Ethernet protocol
/// of the registry on its own EtherType, and `llc`: 802.3 frames with an
/// LLC header (CDP), which every decoder is offered.
pub fn l2_targets() -> &'static [(&'static str, u16)] {
    static TARGETS: OnceLock<Vec<(&'static str, u16)>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let registry = protocols::REGISTRY
            .iter()
            .filter_map(|d| match d.recognition {
                Recognition::Ethernet { ethertype, .. } => Some((d.info.name, ethertype)),
                Recognition::Probe { .. } => None,
            });
        registry.chain([("llc", 0)]).collect()
    })
}

/// Every target name (each is a file in `fuzz_targets/`).
pub fn targets() -> impl Iterator<Item = &'static str> {
    ["packet", "batch", "websocket"]
        .into_iter()
        .chain(app_targets().iter().map(|t| t.0.as_str()))
        .chain(l2_targets().iter().map(|t| t.0))
}

/// Runs the harness of `target` on `data`; false if there is no such target.
pub fn run(target: &str, data: &[u8]) -> bool {
    if target == "packet" {
        packet(data);
    } else if target == "batch" {
        batch_frame(data);
    } else if target == "websocket" {
        websocket(data);
    } else if let Some(&(_, transport, port)) = app_targets().iter().find(|t| t.0 == target) {
        conversation(transport, port, data);
    } else if let Some(&(_, ethertype)) = l2_targets().iter().find(|t| t.0 == target) {
        frame_payload(ethertype, data);
    } else {
        return false;
    }
    true
}

/// One conversation through the parser the recogniser picks.
pub fn conversation(transport: Transport, port: u16, data: &[u8]) {
    let window = Limits::default().reassembly_bytes_per_flow;
    let id = ConnId {
        orig_h: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        orig_p: 49152,
        resp_h: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        resp_p: port,
        proto: transport,
    };
    let mut records = RecordSink::new(1 << 16);
    let mut assets = AssetTable::new(64);
    let mut out = Output {
        records: &mut records,
        assets: &mut assets,
    };
    let mut session: Option<Session> = None;
    let mut ts = START_US;
    fn flow(id: &ConnId) -> FlowRef<'_> {
        FlowRef {
            uid: "Cfuzz",
            id,
            orig_mac: Some([2, 0, 0, 0, 0, 1]),
            resp_mac: Some([2, 0, 0, 0, 0, 2]),
            vlan: None,
        }
    }
    for (hdr, chunk) in frames(data) {
        ts += 1_000_000;
        let dir = if hdr & HDR_RESP == 0 {
            Dir::Orig
        } else {
            Dir::Resp
        };
        if hdr & HDR_GAP != 0 {
            if let Some(s) = session.as_mut() {
                s.gap(dir);
            }
        }
        if session.is_none() {
            session =
                over_ip::probe(transport, &id, dir, chunk).map(|p| Session::new(p, "Cfuzz".into()));
        }
        let Some(s) = session.as_mut() else { continue };
        let mut ctx = Ctx {
            ts,
            flow: flow(&id),
            out: &mut out,
        };
        if transport == Transport::Tcp {
            s.stream(&mut ctx, dir, chunk, window);
        } else {
            s.datagram(&mut ctx, dir, chunk);
        }
    }
    if let Some(s) = session.as_mut() {
        let mut ctx = Ctx {
            ts: ts + 1_000_000,
            flow: flow(&id),
            out: &mut out,
        };
        s.finish(&mut ctx);
    }
    check_records(&records.take());
}

/// The `websocket` target: a conversation (same input) that starts after
/// an HTTP upgrade to WebSocket, so every record goes to the frame parser
/// and to whatever the unmasked payload carries.
pub fn websocket(data: &[u8]) {
    const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Protocol: mqtt\r\n\r\n";
    const SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: mqtt\r\n\r\n";
    let mut input = Vec::with_capacity(UPGRADE.len() + SWITCHED.len() + 6 + data.len());
    push_frame(&mut input, 0, UPGRADE);
    push_frame(&mut input, HDR_RESP, SWITCHED);
    input.extend_from_slice(data);
    conversation(Transport::Tcp, 80, &input);
}

/// One non-IP frame's payload through the link-layer decoders.
pub fn frame_payload(ethertype: u16, data: &[u8]) {
    let mut records = RecordSink::new(1 << 16);
    let mut assets = AssetTable::new(64);
    let mut out = Output {
        records: &mut records,
        assets: &mut assets,
    };
    let frame = over_ethernet::Frame {
        ts: START_US,
        src: [2, 0, 0, 0, 0, 1],
        dst: [1, 0x80, 0xc2, 0, 0, 0x0e],
        vlan: None,
        ethertype,
        payload: data,
    };
    over_ethernet::handle(&frame, &mut out);
    check_records(&records.take());
}

/// Limits of the `batch` target: small, so that what a few bytes may
/// expand to is checked against them.
const BATCH_LIMITS: batch::Limits = batch::Limits {
    body_bytes: 1 << 20,
    records: 10_000,
    str_bytes: 4096,
};

/// Takes only the base's schemas, so nothing is interned per input.
struct BaseSchemas;

impl batch::SchemaPolicy for BaseSchemas {
    fn resolve(
        &self,
        path: &str,
        fields: &[(String, osect_wire::FieldType)],
    ) -> Result<&'static osect_wire::LogSchema, batch::Refusal> {
        base_schemas()
            .iter()
            .copied()
            .find(|s| {
                s.path == path
                    && s.fields.len() == fields.len()
                    && s.fields
                        .iter()
                        .zip(fields)
                        .all(|(a, (n, t))| a.name == n && a.ty == *t)
            })
            .ok_or_else(|| batch::Refusal {
                reason: "unknown log",
                detail: path.to_owned(),
            })
    }
}

fn base_schemas() -> [&'static osect_wire::LogSchema; 2] {
    let find = |path: &str| {
        osect_engine::protocols::log_schemas()
            .into_iter()
            .find(|s| s.path == path)
            .expect("the engine writes conn and modbus logs")
    };
    [find("conn"), find("modbus")]
}

/// A batch of `n` rows of each base schema at minute `minute`: times move,
/// the rest repeats with a few counts changing.
fn batch_of(seq: u64, minute: i64, n: u64) -> batch::Batch {
    let t = START_US + minute * INTERVAL_US;
    let records = base_schemas()
        .into_iter()
        .flat_map(|schema| {
            (0..n).map(move |i| Record {
                schema,
                values: schema
                    .fields
                    .iter()
                    .map(|f| match f.ty {
                        osect_wire::FieldType::Time => osect_wire::Value::Time(t + i as i64 * 1000),
                        osect_wire::FieldType::String => {
                            osect_wire::Value::from(format!("{}-{i}", f.name))
                        }
                        osect_wire::FieldType::Count => osect_wire::Value::Count(i * 7 + (seq % 3)),
                        osect_wire::FieldType::Addr => {
                            osect_wire::Value::Addr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8)))
                        }
                        osect_wire::FieldType::Port => osect_wire::Value::Port(502),
                        _ => osect_wire::Value::Unset,
                    })
                    .collect(),
            })
        })
        .collect::<Vec<_>>();
    batch::Batch {
        header: batch::Header {
            device_id: "OSS-FUZZ".into(),
            site: "plant".into(),
            seq,
            interval_start_us: t,
            interval_end_us: t + INTERVAL_US,
            record_count: records.len() as u64,
            ..batch::Header::default()
        },
        records,
    }
}

/// The base the `batch` target resolves deltas on (batch 1).
pub fn batch_base() -> &'static batch::Base {
    static BASE: std::sync::OnceLock<batch::Base> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let frame = batch::encode(&batch_of(1, 0, 6), 1, None).expect("the base encodes");
        batch::Base::from_frame(&frame).expect("the base decodes")
    })
}

/// Seeds of the `batch` target: a batch in full, a delta on the base with
/// rows added and changed, and one with the dictionary.
pub fn batch_seeds() -> Vec<Vec<u8>> {
    let next = batch_of(2, 1, 8);
    vec![
        batch::encode(&next, 1, None).expect("the seed encodes"),
        batch::encode_delta(&next, batch_base(), 1, None).expect("the seed encodes"),
        batch::encode_delta(&next, batch_base(), 1, batch::DICTIONARIES.first())
            .expect("the seed encodes"),
    ]
}

/// The `batch` target: see the module docs. Returns whether the input
/// decoded either way.
pub fn batch_frame(data: &[u8]) -> bool {
    let full = batch::decode_with(data, &BATCH_LIMITS, &BaseSchemas);
    let delta = batch::decode_delta_with(data, batch_base(), &BATCH_LIMITS, &BaseSchemas);
    let mut decoded = false;
    for b in [full, delta].into_iter().flatten() {
        assert!(b.records.len() <= BATCH_LIMITS.records);
        let again = batch::encode(&b, 1, None).expect("a decoded batch encodes");
        let digest = |f: &[u8]| batch::read_frame_info(f).expect("a frame").digest;
        assert_eq!(digest(&again), digest(data), "resolved batch's digest");
        decoded = true;
    }
    decoded
}
