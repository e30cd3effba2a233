//! A test driver for application parsers: the engine's streaming contract
//! ([`Session`]) with the per-flow window of the default limits. The parser
//! comes from [`crate::over_ip::probe`] on the first payload, as in the
//! engine.

use crate::asset::AssetTable;
use crate::flow::id::{ConnId, FlowRef, Transport};
use crate::limits::Limits;
use crate::over_ip::session::Session;
use crate::over_ip::{probe, AppParser, Ctx, Dir, Output};
use crate::sink::RecordSink;
use osect_wire::Record;
use std::net::{IpAddr, Ipv4Addr};

/// One step of a conversation.
pub enum Step<'a> {
    Data(Dir, &'a [u8]),
    /// Bytes of this direction were lost.
    Gap(Dir),
    /// This many bytes of this direction were lost.
    Lost(Dir, u64),
}

/// A connection from 10.0.0.1:`sport` to 10.0.0.2:`dport`.
pub fn conn(proto: Transport, sport: u16, dport: u16) -> ConnId {
    ConnId {
        orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        orig_p: sport,
        resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        resp_p: dport,
        proto,
    }
}

/// Runs the steps (one second apart) and returns the records, the
/// service named and the asset table.
pub fn run(id: &ConnId, steps: &[Step<'_>]) -> (Vec<Record>, Option<&'static str>, AssetTable) {
    let mut records = RecordSink::new(10_000);
    let mut assets = AssetTable::new(100);
    let window = Limits::default().reassembly_bytes_per_flow;
    let mut session: Option<Session> = None;
    let mut ts = 1_000_000_000_000_000i64;
    let flow = || FlowRef {
        uid: "Ctest",
        id,
        orig_mac: Some([2, 0, 0, 0, 0, 1]),
        resp_mac: Some([2, 0, 0, 0, 0, 2]),
        vlan: None,
    };
    {
        let mut out = Output {
            records: &mut records,
            assets: &mut assets,
        };
        for step in steps {
            ts += 1_000_000;
            let mut ctx = Ctx {
                ts,
                flow: flow(),
                out: &mut out,
            };
            match *step {
                Step::Gap(dir) => {
                    if let Some(s) = session.as_mut() {
                        s.gap(dir);
                    }
                }
                Step::Lost(dir, len) => {
                    if let Some(s) = session.as_mut() {
                        s.content_gap(dir, len);
                    }
                }
                Step::Data(dir, data) => {
                    if session.is_none() {
                        session =
                            probe(id.proto, id, dir, data).map(|p| Session::new(p, "Ctest".into()));
                    }
                    let Some(s) = session.as_mut() else { continue };
                    if id.proto == Transport::Tcp {
                        s.stream(&mut ctx, dir, data, window);
                    } else {
                        s.datagram(&mut ctx, dir, data);
                    }
                }
            }
        }
        if let Some(s) = session.as_mut() {
            let mut ctx = Ctx {
                ts: ts + 1_000_000,
                flow: flow(),
                out: &mut out,
            };
            s.finish(&mut ctx);
        }
    }
    let service = session.as_ref().map(|s| s.service());
    (records.take(), service, assets)
}

/// `data` handed to `parser` in one call, from the originator, bypassing
/// the session's window: the parser must consume it all and count more
/// than `dropped` bytes discarded, once. Its records.
pub fn parse_dropping(
    parser: &mut dyn AppParser,
    id: &ConnId,
    data: &[u8],
    dropped: u64,
) -> Vec<Record> {
    let mut records = RecordSink::new(10_000);
    let mut assets = AssetTable::new(10);
    let mut out = Output {
        records: &mut records,
        assets: &mut assets,
    };
    let mut ctx = Ctx {
        ts: 1,
        flow: FlowRef {
            uid: "Ctest",
            id,
            orig_mac: None,
            resp_mac: None,
            vlan: None,
        },
        out: &mut out,
    };
    assert_eq!(parser.parse(&mut ctx, Dir::Orig, data), data.len());
    let counted = parser.discarded();
    assert!(counted > dropped, "{counted} bytes dropped");
    assert_eq!(parser.discarded(), 0, "counted once");
    records.take()
}

/// The value of `field` in `rec`, as the TSV writer would print it.
pub fn field(rec: &Record, name: &str) -> String {
    let i = rec
        .schema
        .index_of(name)
        .unwrap_or_else(|| panic!("{} has no field {name}", rec.schema.path));
    let mut s = String::new();
    osect_wire::zeek::tsv_row(&mut s, rec);
    s.trim_end_matches('\n')
        .split('\t')
        .nth(i)
        .unwrap_or_default()
        .to_owned()
}

/// The records of log `path`.
pub fn rows<'a>(recs: &'a [Record], path: &str) -> Vec<&'a Record> {
    recs.iter().filter(|r| r.schema.path == path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mutated copies of real messages, cut at random places, fed to every
    /// parser through the streaming contract: nothing may panic and no
    /// parser may consume more than it was given (checked by `Session`).
    #[test]
    fn mutated_messages_never_panic() {
        let seeds: &[(Transport, u16, &[u8])] = &[
            (Transport::Udp, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03plc\x00\x00\x01\x00\x01"),
            (Transport::Tcp, 80, b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            (Transport::Tcp, 443, b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03"),
            (Transport::Tcp, 22, b"SSH-2.0-x\r\n\x00\x00\x00\x0c\x04\x14\x01\x02\x03\x04\x05\x06\x00\x00\x00\x00"),
            (Transport::Udp, 123, b"\xe3\x00\x06\xec\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
            (Transport::Udp, 67, &[0u8; 300]),
            (Transport::Udp, 161, b"\x30\x0c\x02\x01\x01\x04\x01p\xa0\x04\x02\x02\x00\x01"),
            (Transport::Udp, 1900, b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"),
            (Transport::Udp, 137, b"\x00\x01\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20EBEBEBEBEBEBEBEBEBEBEBEBEBEBEBAA\x00\x00\x20\x00\x01"),
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for &(proto, port, seed) in seeds {
            for _ in 0..300 {
                let mut m = seed.to_vec();
                for _ in 0..(next() % 6) {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
                m.truncate(1 + (next() as usize) % m.len());
                let cut = (next() as usize) % m.len();
                let id = conn(proto, 40000, port);
                let steps = [
                    Step::Data(Dir::Orig, &m[..cut]),
                    Step::Data(Dir::Orig, &m[cut..]),
                    Step::Gap(Dir::Resp),
                    Step::Data(Dir::Resp, &m),
                ];
                let _ = run(&id, &steps);
            }
        }
    }
}
