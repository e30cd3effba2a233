//! The sans-IO packet engine: frames in, records out.
//!
//! Call order: [`Engine::handle_packet`] for every frame in time order;
//! [`Engine::end_interval`] at each interval boundary (interim connection
//! records, address and asset records for the interval); [`Engine::finish`]
//! at the end of input. [`Engine::take_records`] drains what was produced.
//! Nothing here reads a clock, a file or a socket: time is the packets'.
//!
//! By concern: this file holds the engine's state, its public calls and
//! intervals; `fast` the short path for known connections with the parsers
//! off; `addresses` frames to IP and ARP, ICMP and neighbor discovery; `ip`
//! fragments, the transport dispatch and tunnels; `conns` the general path of
//! a TCP or UDP packet to its connection; `session` the application glue and
//! a finished connection's records.

use crate::asset::AssetTable;
use crate::flow::conn::{uid_string, Conn, Effect, LinkFacts, Observation};
use crate::flow::frag::{FragKey, FragTable};
use crate::flow::id::{ConnId, FlowRef, Mac, Transport};
use crate::flow::tcp::Seg;
use crate::flow::{likely_server_port, ConnKey, ConnTable, Created, TCP_ATTEMPT_US};
use crate::limits::Limits;
use crate::neighbor::{Exchange, Neighbors};
use crate::over_ip::session::Session;
use crate::over_ip::{Dir, Output};
use crate::packet::ethernet::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, L2};
use crate::packet::{arp, checksum, icmp, ipv4, ipv6, tcp, tunnel, udp, LinkType};
use crate::sink::RecordSink;
use crate::{over_ethernet, over_ip};
use osect_wire::Record;
use std::net::IpAddr;

mod addresses;
mod conns;
mod expected;
mod fast;
mod ip;
mod session;

use session::close_conn;

/// How deep tunnels may nest before the rest is ignored.
const MAX_TUNNEL_DEPTH: u8 = 3;
/// How often (in capture time) idle connections are looked for.
const EXPIRY_CHECK_US: i64 = 1000;

/// Counters over the engine's life; the batch header reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    /// Frames whose headers were truncated or impossible.
    pub malformed: u64,
    /// Frames of a link type the engine does not decode.
    pub unsupported_link: u64,
    pub bad_ip_checksum: u64,
    pub bad_transport_checksum: u64,
    pub conns_evicted: u64,
    pub frags_evicted: u64,
    pub frags_dropped: u64,
    /// Connections not followed by an application parser because
    /// `limits.app_flows` were in use.
    pub app_flows_denied: u64,
    /// Undecided TCP connections not gathering their first bytes for
    /// protocol detection because `limits.dpd_buffers` were in use.
    pub dpd_buffers_refused: u64,
    pub app_bytes_overflowed: u64,
    pub neighbors_dropped: u64,
    pub records_dropped: u64,
    /// Announced connections (FTP data channels) forgotten before their
    /// time because the table was full.
    pub expected_evicted: u64,
}

/// The engine's switches, from the config and the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub ignore_checksums: bool,
    /// Run the application and industrial protocol parsers.
    pub app_layer: bool,
    pub uid_seed: u64,
    /// Fold the rows of folded logs as they are made, for batches
    /// ([`crate::batch`]); off, every row is kept as it came.
    pub fold: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ignore_checksums: false,
            app_layer: true,
            uid_seed: 0x6f73_6563_7421,
            fold: false,
        }
    }
}

/// Link-layer facts carried down to the connection.
#[derive(Clone, Copy)]
struct Meta<'a> {
    /// In the captured frame, not copied (see `packet::mac_ref`).
    src_mac: Option<&'a Mac>,
    dst_mac: Option<&'a Mac>,
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    /// uid of the tunnel this packet came out of.
    parent: Option<u64>,
    depth: u8,
}

impl Meta<'_> {
    fn link(&self) -> LinkFacts {
        LinkFacts {
            src_mac: self.src_mac.copied(),
            dst_mac: self.dst_mac.copied(),
            vlan: self.vlan,
            inner_vlan: self.inner_vlan,
            parent: self.parent,
        }
    }
}

/// The connection a packet belongs to.
struct Found {
    idx: u32,
    /// The sender is the originator.
    is_orig: bool,
    /// Set when this packet created the connection.
    created: Option<Created>,
}

/// An IP packet after its header (and any reassembly).
struct Ip<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    /// IP bytes as the header declares them.
    total_len: u32,
    /// The transport bytes the header declares.
    l4_len: u32,
    /// The transport bytes captured.
    payload: &'a [u8],
    complete: bool,
    v6: bool,
    /// The IP header (IPv6: the fixed header), for passive fingerprints.
    header: &'a [u8],
}

impl<'a> Ip<'a> {
    /// A datagram reassembled from the fragments of `key`: whole, with
    /// `head` bytes of IP headers before its transport `payload`.
    fn reassembled(key: &FragKey, payload: &'a [u8], head: u32, header: &'a [u8]) -> Self {
        Ip {
            src: key.src,
            dst: key.dst,
            proto: key.proto,
            total_len: head + payload.len() as u32,
            l4_len: payload.len() as u32,
            payload,
            complete: true,
            v6: key.src.is_ipv6(),
            header,
        }
    }
}

pub struct Engine {
    opts: Options,
    conns: ConnTable,
    frags: FragTable,
    neighbors: Neighbors,
    sink: RecordSink,
    assets: AssetTable,
    syn_signatures: over_ip::fingerprint::SynSignatures,
    apps: session::AppFlows,
    /// Connections parsers announced, as many as `limits.app_flows`.
    expected: expected::ExpectedConns,
    reassembly_limit: usize,
    next_expiry_check: i64,
    stats: Stats,
}

impl Engine {
    pub fn new(l: &Limits, opts: Options) -> Engine {
        Engine {
            conns: ConnTable::new(l.connections, opts.uid_seed),
            frags: FragTable::new(l.fragments),
            neighbors: Neighbors::new(l.arp_entries),
            sink: if opts.fold {
                RecordSink::folding(l.records_per_interval, l.folded_bytes)
            } else {
                RecordSink::new(l.records_per_interval)
            },
            assets: AssetTable::new(l.assets),
            syn_signatures: Default::default(),
            apps: session::AppFlows {
                live: 0,
                limit: l.app_flows,
                gathering: 0,
                gather_limit: l.dpd_buffers,
            },
            expected: expected::ExpectedConns::new(l.app_flows),
            reassembly_limit: l.reassembly_bytes_per_flow,
            next_expiry_check: i64::MIN,
            stats: Stats::default(),
            opts,
        }
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.conns_evicted = self.conns.evicted();
        s.frags_evicted = self.frags.evicted();
        s.frags_dropped = self.frags.dropped;
        s.neighbors_dropped = self.neighbors.dropped;
        s.expected_evicted = self.expected.evicted;
        s.records_dropped = self.sink.dropped();
        s
    }

    /// Connections currently tracked.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Takes the records produced so far.
    pub fn take_records(&mut self) -> Vec<Record> {
        self.sink.take()
    }

    /// Hands the records that pass the folding so far to `f`, in order;
    /// they count against the interval's room until
    /// [`Engine::take_records`] (see [`RecordSink::hand_off`]).
    pub fn hand_off_records(&mut self, f: impl FnMut(Record)) {
        self.sink.hand_off(f)
    }

    /// Writes the folded rows so far into `st`, after the records handed
    /// off ([`RecordSink::stage_folded`]); [`Engine::take_records`] ends
    /// the interval.
    pub fn stage_folded(
        &mut self,
        st: &mut osect_wire::batch::Stager,
    ) -> (u64, Option<osect_wire::batch::EncodeError>) {
        self.sink.stage_folded(st)
    }

    /// Writes the folded rows so far into `st` as a part of the interval's
    /// batch when they take more than `limits.folded_bytes`
    /// ([`RecordSink::stage_folded_part`]).
    pub fn stage_folded_part(
        &mut self,
        st: &mut osect_wire::batch::Stager,
    ) -> (u64, Option<osect_wire::batch::EncodeError>) {
        self.sink.stage_folded_part(st)
    }

    /// Hands the records produced so far to `f`, in order.
    pub fn drain_records<E>(&mut self, f: impl FnMut(Record) -> Result<(), E>) -> Result<(), E> {
        self.sink.drain(f)
    }

    /// One captured frame at `ts` (microseconds since the epoch).
    pub fn handle_packet(&mut self, ts: i64, link: LinkType, frame: &[u8]) {
        self.stats.packets += 1;
        self.stats.bytes += frame.len() as u64;
        self.expire(ts);
        // The common frame goes straight on: merged with the general
        // decoder's result, its fields would be stored piecewise and read
        // back whole, a store-forwarding stall per packet.
        if link == LinkType::ETHERNET {
            if let Some(l2) = ethernet::untagged(frame) {
                if !self.opts.app_layer && self.known_ipv4(ts, &l2) {
                    return;
                }
                return self.frame(ts, &l2);
            }
        }
        self.other_frame(ts, link, frame);
    }

    /// Any other frame: tagged, 802.3, or of another link type.
    #[inline(never)]
    fn other_frame(&mut self, ts: i64, link: LinkType, frame: &[u8]) {
        let decoded = if link == LinkType::ETHERNET {
            ethernet::framed(frame).map(Some)
        } else {
            ethernet::decode(link, frame)
        };
        match decoded {
            Ok(Some(l2)) => self.frame(ts, &l2),
            Ok(None) => self.stats.unsupported_link += 1,
            Err(_) => self.stats.malformed += 1,
        }
    }

    #[inline(always)]
    fn frame(&mut self, ts: i64, l2: &L2<'_>) {
        let meta = Meta {
            src_mac: l2.src,
            dst_mac: l2.dst,
            vlan: l2.vlan,
            inner_vlan: l2.inner_vlan,
            parent: None,
            depth: 0,
        };
        self.link(ts, l2, meta);
    }

    /// Interim records for open connections and the interval's address and
    /// asset records.
    pub fn end_interval(&mut self, ts: i64) {
        self.end_interval_with(ts, |_| {});
    }

    /// [`Engine::end_interval`], calling `drain` with the record sink after
    /// each open connection's record, so that a caller writing records as
    /// they come ([`RecordSink::hand_off`]) never holds a record per open
    /// connection.
    pub fn end_interval_with(&mut self, ts: i64, mut drain: impl FnMut(&mut RecordSink)) {
        self.next_expiry_check = i64::MIN;
        self.expire(ts);
        let sink = &mut self.sink;
        self.conns.for_each(|c| {
            sink.push(c.record(true, false));
            drain(sink);
        });
        self.neighbors.emit(|r| sink.push(r));
        self.assets.emit(ts, sink);
        drain(sink);
    }

    /// The end of input: every connection is logged.
    pub fn finish(&mut self, ts: i64) {
        while !self.finish_some(ts, usize::MAX) {}
    }

    /// The end of input in steps: logs up to `max` connections and returns
    /// whether everything is done, so the caller can write records between
    /// steps instead of holding them all.
    pub fn finish_some(&mut self, ts: i64, max: usize) -> bool {
        let (sink, assets, apps) = (&mut self.sink, &mut self.assets, &mut self.apps);
        self.conns
            .drain_some(max, |c| close_conn(c, ts, false, sink, assets, apps));
        if !self.conns.is_empty() {
            return false;
        }
        if !assets.emitting() {
            self.neighbors.emit(|r| sink.push(r));
        }
        assets.emit_some(ts, sink, max)
    }

    #[inline(always)]
    fn expire(&mut self, now: i64) {
        // Timeouts are whole seconds: checking once per millisecond of
        // capture time is exact enough and keeps busy links cheap.
        let since = now.wrapping_sub(self.next_expiry_check);
        if !(-EXPIRY_CHECK_US..0).contains(&since) {
            self.expire_now(now);
        }
    }

    /// The check itself, out of line: most packets skip it.
    #[inline(never)]
    fn expire_now(&mut self, now: i64) {
        self.next_expiry_check = now + EXPIRY_CHECK_US;
        let (sink, assets, apps) = (&mut self.sink, &mut self.assets, &mut self.apps);
        self.conns
            .expire(now, |c| close_conn(c, now, false, sink, assets, apps));
    }
}

/// Steps the interval grid to packet time `ts`: calls `close(b)` for the
/// boundary `b` it passed, if any. A gap in the traffic closes one interval,
/// not every empty one in it: the grid jumps to the interval holding `ts`.
pub fn step_intervals(boundary: &mut Option<i64>, iv: i64, ts: i64, mut close: impl FnMut(i64)) {
    let b = *boundary.get_or_insert((ts.div_euclid(iv) + 1) * iv);
    if ts >= b {
        close(b);
        *boundary = Some((ts.div_euclid(iv) + 1) * iv);
    }
}
