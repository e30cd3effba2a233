//! Drives the industrial decoders over capture files without the engine:
//! Ethernet/802.1Q/Linux SLL, IPv4, TCP (in-order, gaps reported) and UDP,
//! one flow per 5-tuple, originator = first sender (SYN sender for TCP).
//! A TCP direction's new bytes go to the parser through the engine's
//! streaming contract (`over_ip::session::Session`).

#![allow(dead_code)]

use osect_engine::asset::AssetTable;
use osect_engine::flow::id::{ConnId, FlowRef, Mac, Transport};
use osect_engine::over_ethernet::{self, Frame};
use osect_engine::over_ip::session::Session;
use osect_engine::over_ip::{self, Ctx, Dir, Output};
use osect_engine::sink::RecordSink;
use osect_wire::Record;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Frames of a capture file: (time in microseconds, link type, bytes). A
/// damaged end is cut off (the frames before it are kept).
pub fn read_frames(path: &Path) -> Vec<(i64, i32, Vec<u8>)> {
    let mut out = Vec::new();
    let res = osect_agent::pcap::read_file(path, |ts, link, frame| {
        out.push((ts, link.0 as i32, frame.to_vec()))
    });
    match res {
        Ok(_) | Err(osect_agent::pcap::ReadError::Damaged { .. }) => out,
        Err(e) => panic!("{e}"),
    }
}

/// A TCP direction's next expected sequence number: what tells a segment's
/// new bytes from a retransmission and a lost segment from the next one.
/// The bytes themselves go to the session, which keeps what the parser has
/// not consumed.
#[derive(Default)]
struct Half {
    next_seq: Option<u32>,
}

impl Half {
    /// The new bytes of a segment and whether bytes were lost before them;
    /// `None` when it brings nothing new.
    fn fresh<'a>(&mut self, seq: u32, data: &'a [u8]) -> Option<(&'a [u8], bool)> {
        let expect = *self.next_seq.get_or_insert(seq);
        let ahead = seq.wrapping_sub(expect) as i32;
        // Far behind is no retransmission: the sender jumped.
        let jumped = ahead < -(WINDOW as i32);
        self.next_seq = Some(seq.wrapping_add(data.len() as u32));
        if ahead < 0 && !jumped {
            // Retransmission or overlap: only the new tail.
            let tail = data
                .get(ahead.unsigned_abs() as usize..)
                .unwrap_or_default();
            if tail.is_empty() {
                // Nothing new: what was expected stays expected.
                self.next_seq = Some(expect);
                return None;
            }
            return Some((tail, false));
        }
        Some((data, ahead > 0 || jumped))
    }
}

struct Flow {
    uid: String,
    id: ConnId,
    orig_mac: Mac,
    resp_mac: Mac,
    vlan: Option<u16>,
    session: Option<Session>,
    tries: u32,
    halves: [Half; 2],
}

impl Flow {
    fn ctx<'a, 'b>(&'a self, ts: i64, out: &'a mut Output<'b>) -> Ctx<'a, 'b> {
        Ctx {
            ts,
            flow: FlowRef {
                uid: &self.uid,
                id: &self.id,
                orig_mac: Some(self.orig_mac),
                resp_mac: Some(self.resp_mac),
                vlan: self.vlan,
            },
            out,
        }
    }
}

/// Per-direction reassembly window of the driver, like the engine's.
pub const WINDOW: usize = 16 * 1024;

/// What a run produced.
pub struct Run {
    pub records: Vec<Record>,
    /// (uid, service) of every flow a parser claimed.
    pub services: Vec<(ConnId, &'static str)>,
    pub assets: AssetTable,
}

/// Runs every frame through the decoders.
pub fn run(frames: &[(i64, i32, Vec<u8>)]) -> Run {
    let mut sink = RecordSink::new(10_000_000);
    let mut assets = AssetTable::new(4096);
    let mut flows: HashMap<(IpAddr, u16, IpAddr, u16, u8), Flow> = HashMap::new();
    let mut last_ts = 0;
    for (ts, link, data) in frames {
        last_ts = *ts;
        let Some(l2) = link_layer(*link, data) else {
            continue;
        };
        let (src, dst, vlan, ethertype, payload) = l2;
        if ethertype != 0x0800 && ethertype != 0x86dd && ethertype != 0x0806 {
            let mut out = Output {
                records: &mut sink,
                assets: &mut assets,
            };
            over_ethernet::handle(
                &Frame {
                    ts: *ts,
                    src,
                    dst,
                    vlan,
                    ethertype,
                    payload,
                },
                &mut out,
            );
            continue;
        }
        let Some((sip, dip, proto, l4)) = ip_layer(ethertype, payload) else {
            continue;
        };
        let (sport, dport, seq, syn, l7) = match proto {
            6 => {
                let Some(t) = l4.get(..20) else { continue };
                let off = usize::from(t[12] >> 4) * 4;
                let Some(p) = l4.get(off..) else { continue };
                (
                    u16::from_be_bytes([t[0], t[1]]),
                    u16::from_be_bytes([t[2], t[3]]),
                    u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
                    t[13] & 0x02 != 0,
                    p,
                )
            }
            17 => {
                let Some(u) = l4.get(..8) else { continue };
                let len = usize::from(u16::from_be_bytes([u[4], u[5]]));
                let p = l4.get(8..len.max(8).min(l4.len())).unwrap_or(&[]);
                (
                    u16::from_be_bytes([u[0], u[1]]),
                    u16::from_be_bytes([u[2], u[3]]),
                    0,
                    false,
                    p,
                )
            }
            _ => continue,
        };
        let fwd = (sip, sport, dip, dport, proto);
        let rev = (dip, dport, sip, sport, proto);
        let (key, dir) = if flows.contains_key(&fwd) {
            (fwd, Dir::Orig)
        } else if flows.contains_key(&rev) {
            (rev, Dir::Resp)
        } else {
            // Like Zeek, a connection first seen from a well-known server
            // port (no SYN) is taken to be the server's reply.
            let flip = !syn && server_port(sport) && !server_port(dport);
            let (key, dir) = if flip {
                (rev, Dir::Resp)
            } else {
                (fwd, Dir::Orig)
            };
            let (oh, op, rh, rp, _) = key;
            let (om, rm) = if flip { (dst, src) } else { (src, dst) };
            let n = flows.len();
            flows.insert(
                key,
                Flow {
                    uid: format!("C{n}"),
                    id: ConnId {
                        orig_h: oh,
                        orig_p: op,
                        resp_h: rh,
                        resp_p: rp,
                        proto: if proto == 6 {
                            Transport::Tcp
                        } else {
                            Transport::Udp
                        },
                    },
                    orig_mac: om,
                    resp_mac: rm,
                    vlan,
                    session: None,
                    tries: 0,
                    halves: [Half::default(), Half::default()],
                },
            );
            (key, dir)
        };
        let Some(flow) = flows.get_mut(&key) else {
            continue;
        };
        let (bytes, gap) = if proto == 6 {
            let half = &mut flow.halves[usize::from(!dir.is_orig())];
            if syn {
                half.next_seq = Some(seq.wrapping_add(1));
                continue;
            }
            if l7.is_empty() {
                continue;
            }
            let Some(fresh) = half.fresh(seq, l7) else {
                continue;
            };
            fresh
        } else {
            (l7, false)
        };
        if flow.session.is_none() && flow.tries < 8 && !bytes.is_empty() {
            flow.tries += 1;
            flow.session = over_ip::probe(flow.id.proto, &flow.id, dir, bytes)
                .map(|p| Session::new(p, flow.uid.as_str().into()));
        }
        let Some(mut session) = flow.session.take() else {
            continue;
        };
        let mut out = Output {
            records: &mut sink,
            assets: &mut assets,
        };
        let mut ctx = flow.ctx(*ts, &mut out);
        if proto == 6 {
            if gap {
                session.gap(dir);
            }
            session.stream(&mut ctx, dir, bytes, WINDOW);
        } else {
            session.datagram(&mut ctx, dir, bytes);
        }
        flow.session = Some(session);
    }
    let mut services = Vec::new();
    let mut keys: Vec<_> = flows.keys().copied().collect();
    keys.sort_by_key(|k| flows[k].uid.clone());
    for k in keys {
        let Some(flow) = flows.get_mut(&k) else {
            continue;
        };
        if let Some(mut session) = flow.session.take() {
            services.push((flow.id, session.service()));
            let mut out = Output {
                records: &mut sink,
                assets: &mut assets,
            };
            session.finish(&mut flow.ctx(last_ts, &mut out));
        }
    }
    Run {
        records: sink.take(),
        services,
        assets,
    }
}

/// Ports of the industrial services, and the system port range.
fn server_port(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            2222 | 2404 | 4840 | 5000 | 5007 | 9600 | 20000 | 44818 | 47808 | 61450 | 61451
        )
}

type L2<'a> = (Mac, Mac, Option<u16>, u16, &'a [u8]);

fn link_layer(link: i32, d: &[u8]) -> Option<L2<'_>> {
    let (mut src, mut dst) = ([0u8; 6], [0u8; 6]);
    let (mut ethertype, mut at) = match link {
        1 => {
            dst.copy_from_slice(d.get(0..6)?);
            src.copy_from_slice(d.get(6..12)?);
            (u16::from_be_bytes([*d.get(12)?, *d.get(13)?]), 14)
        }
        113 => {
            let n = usize::from(u16::from_be_bytes([*d.get(4)?, *d.get(5)?])).min(6);
            src[..n].copy_from_slice(d.get(6..6 + n)?);
            (u16::from_be_bytes([*d.get(14)?, *d.get(15)?]), 16)
        }
        _ => return None,
    };
    let mut vlan = None;
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        vlan = Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]) & 0x0fff);
        ethertype = u16::from_be_bytes([*d.get(at + 2)?, *d.get(at + 3)?]);
        at += 4;
    }
    if ethertype < 0x0600 {
        let len = usize::from(ethertype);
        return Some((src, dst, vlan, 0, d.get(at..at + len.min(d.len() - at))?));
    }
    Some((src, dst, vlan, ethertype, d.get(at..)?))
}

fn ip_layer(ethertype: u16, d: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    match ethertype {
        0x0800 => {
            let ihl = usize::from(d.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*d.get(2)?, *d.get(3)?]));
            // Fragments other than the first carry no transport header.
            if u16::from_be_bytes([*d.get(6)?, *d.get(7)?]) & 0x1fff != 0 {
                return None;
            }
            let src = Ipv4Addr::new(d[12], d[13], d[14], d[15]);
            let dst = Ipv4Addr::new(*d.get(16)?, d[17], d[18], d[19]);
            if ihl < 20 || d.len() < ihl {
                return None;
            }
            let end = total.clamp(ihl, d.len());
            Some((src.into(), dst.into(), d[9], d.get(ihl..end)?))
        }
        0x86dd => {
            let plen = usize::from(u16::from_be_bytes([*d.get(4)?, *d.get(5)?]));
            let src: [u8; 16] = d.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = d.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(d.len());
            Some((
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
                d[6],
                d.get(40..end)?,
            ))
        }
        _ => None,
    }
}

/// Frames of a generated capture, as [`read_frames`] returns them.
pub fn capture_frames(cap: &osect_trafficgen::pcap::Capture) -> Vec<(i64, i32, Vec<u8>)> {
    let mut f: Vec<_> = cap.frames().map(|(t, b)| (t, 1, b.to_vec())).collect();
    f.sort_by_key(|x| x.0);
    f
}
