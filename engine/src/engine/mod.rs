//! The sans-IO packet engine: frames in, records out.
//!
//! Call order: [`Engine::handle_packet`] for every frame in time order;
//! [`Engine::end_interval`] at each interval boundary (interim connection
//! records, address and asset records for the interval); [`Engine::finish`]
//! at the end of input. [`Engine::take_records`] drains what was produced.
//! Nothing here reads a clock, a file or a socket: time is the packets'.

use crate::app::session::Session;
use crate::app::{Dir, Output};
use crate::asset::AssetTable;
use crate::decode::ethernet::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, L2};
use crate::decode::{arp, checksum, icmp, ipv4, ipv6, tcp, tunnel, udp, LinkType};
use crate::flow::conn::{uid_string, Conn, Effect, LinkFacts, Observation};
use crate::flow::frag::{FragKey, FragTable};
use crate::flow::id::{ConnId, FlowRef, Mac, Transport};
use crate::flow::tcp::Seg;
use crate::flow::{likely_server_port, ConnKey, ConnTable, Created};
use crate::limits::Limits;
use crate::neighbor::{Exchange, Neighbors};
use crate::sink::RecordSink;
use crate::{app, l2};
use osect_wire::Record;
use std::net::IpAddr;

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
    pub app_bytes_overflowed: u64,
    pub neighbors_dropped: u64,
    pub records_dropped: u64,
}

/// The engine's switches, from the config and the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub ignore_checksums: bool,
    /// Run the application and industrial protocol parsers.
    pub app_layer: bool,
    pub uid_seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ignore_checksums: false,
            app_layer: true,
            uid_seed: 0x6f73_6563_7421,
        }
    }
}

/// Link-layer facts carried down to the connection.
#[derive(Clone, Copy)]
struct Meta<'a> {
    /// In the captured frame, not copied (see `decode::mac_ref`).
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
    syn_signatures: app::fingerprint::SynSignatures,
    app_limit: usize,
    app_live: usize,
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
            sink: RecordSink::new(l.records_per_interval),
            assets: AssetTable::new(l.assets),
            syn_signatures: Default::default(),
            app_limit: l.app_flows,
            app_live: 0,
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

    /// With the application parsers off, a packet of a connection already
    /// in the full table only updates that connection: the common one (a
    /// whole, unfragmented IPv4 TCP or UDP packet with a plain header in an
    /// untagged frame) is taken straight from its headers to the
    /// connection, without the general path's decoder results, address
    /// enums and lookup. Returns `false`, having changed nothing, for any
    /// other packet, which the general path then takes.
    #[inline(always)]
    fn known_ipv4(&mut self, ts: i64, l2: &L2<'_>) -> bool {
        if l2.ethertype != ETHERTYPE_IPV4 {
            return false;
        }
        // The plain header checked in place: version 4, five words, no
        // more-fragments flag or fragment offset, all of it captured.
        let b = l2.payload;
        let Some(h) = b.first_chunk::<{ ipv4::HEADER_LEN }>() else {
            return false;
        };
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if h[0] != 0x45 || h[6] & 0x3f != 0 || h[7] != 0 {
            return false;
        }
        let Some(payload) = b.get(ipv4::HEADER_LEN..total) else {
            return false;
        };
        if !(self.opts.ignore_checksums || checksum::header_ok(h)) {
            return false;
        }
        let src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
        let ip = Ip {
            src: IpAddr::V4(src.into()),
            dst: IpAddr::V4(dst.into()),
            proto: h[9],
            total_len: total as u32,
            l4_len: payload.len() as u32,
            payload,
            complete: true,
            v6: false,
            header: h,
        };
        let meta = Meta {
            src_mac: l2.src,
            dst_mac: l2.dst,
            vlan: None,
            inner_vlan: None,
            parent: None,
            depth: 0,
        };
        match ip.proto {
            6 => self.known_tcp(ts, &ip, (src, dst), &meta),
            17 => self.known_udp(ts, &ip, (src, dst), &meta),
            _ => false,
        }
    }

    #[inline(always)]
    fn known_tcp(&mut self, ts: i64, ip: &Ip<'_>, (src, dst): (u32, u32), meta: &Meta<'_>) -> bool {
        let Ok(seg) = tcp::Segment::parse(ip.payload, ip.l4_len) else {
            return false;
        };
        let key = ConnKey::v4(src, seg.src_port, dst, seg.dst_port, Transport::Tcp);
        let Some(f) = self.known(&key, ip, seg.src_port, |c| reopens(seg.flags, c)) else {
            return false;
        };
        let checksum_ok = self.tcp_checksum_ok(ip);
        let obs = self.observation(ts, &f, ip, meta, checksum_ok, Effect::Tcp(seg_of(&seg)));
        self.apply(&f, &obs);
        true
    }

    #[inline(always)]
    fn known_udp(&mut self, ts: i64, ip: &Ip<'_>, (src, dst): (u32, u32), meta: &Meta<'_>) -> bool {
        let Ok(d) = udp::Datagram::parse(ip.payload) else {
            return false;
        };
        // A tunnel's packets go on to their inner packets.
        if udp_tunnel(d.src_port, d.dst_port, d.payload).is_some() {
            return false;
        }
        let key = ConnKey::v4(src, d.src_port, dst, d.dst_port, Transport::Udp);
        let Some(f) = self.known(&key, ip, d.src_port, |_| false) else {
            return false;
        };
        let checksum_ok = self.udp_checksum_ok(ip, &d);
        let obs = self.observation(
            ts,
            &f,
            ip,
            meta,
            checksum_ok,
            Effect::Udp(udp_payload_len(&d)),
        );
        self.apply(&f, &obs);
        true
    }

    /// A packet's observation applied to its connection, and the activity
    /// noted.
    #[inline(always)]
    fn apply(&mut self, f: &Found, obs: &Observation) {
        if let Some(c) = self.conns.get_mut(f.idx) {
            c.apply(obs);
        }
        self.done(f, obs);
    }

    /// The full-table connection of `key` that a packet from `ip.src` port
    /// `sport` continues, unless the packet starts a new one (`reopens`).
    #[inline(always)]
    fn known(
        &self,
        key: &ConnKey,
        ip: &Ip<'_>,
        sport: u16,
        reopens: impl Fn(&Conn) -> bool,
    ) -> Option<Found> {
        let idx = self.conns.find_full(key)?;
        let c = self.conns.get(idx).filter(|c| !reopens(c))?;
        Some(Found {
            idx,
            is_orig: c.sent_by(ip.src, sport),
            created: None,
        })
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
        self.next_expiry_check = i64::MIN;
        self.expire(ts);
        let sink = &mut self.sink;
        self.conns.for_each(|c| sink.push(c.record(true, false)));
        self.neighbors.emit(|r| sink.push(r));
        self.assets.emit(ts, sink);
    }

    /// The end of input: every connection is logged.
    pub fn finish(&mut self, ts: i64) {
        while !self.finish_some(ts, usize::MAX) {}
    }

    /// The end of input in steps: logs up to `max` connections and returns
    /// whether everything is done, so the caller can write records between
    /// steps instead of holding them all.
    pub fn finish_some(&mut self, ts: i64, max: usize) -> bool {
        let (sink, assets, app_live) = (&mut self.sink, &mut self.assets, &mut self.app_live);
        self.conns
            .drain_some(max, |c| close_conn(c, ts, false, sink, assets, app_live));
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
        let (sink, assets, app_live) = (&mut self.sink, &mut self.assets, &mut self.app_live);
        self.conns
            .expire(now, |c| close_conn(c, now, false, sink, assets, app_live));
    }

    #[inline(always)]
    fn link(&mut self, ts: i64, l2: &L2<'_>, meta: Meta<'_>) {
        match l2.ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => self.ip(ts, l2.payload, meta),
            ETHERTYPE_ARP => match arp::Arp::parse(l2.payload) {
                Ok(a) => self.arp(ts, &a, meta),
                Err(_) => self.stats.malformed += 1,
            },
            et => {
                let (Some(src), Some(dst)) = (l2.src, l2.dst) else {
                    return;
                };
                let frame = l2::Frame {
                    ts,
                    src: *src,
                    dst: *dst,
                    vlan: l2.vlan,
                    ethertype: et,
                    payload: l2.payload,
                };
                if self.opts.app_layer {
                    let mut out = Output {
                        records: &mut self.sink,
                        assets: &mut self.assets,
                    };
                    l2::handle(&frame, &mut out);
                }
            }
        }
    }

    fn arp(&mut self, ts: i64, a: &arp::Arp, meta: Meta<'_>) {
        let nonzero = |m: Mac| (m != [0; 6] && m != [0xff; 6]).then_some(m);
        let ex = if a.op == arp::REPLY {
            Exchange {
                v6: false,
                reply: true,
                orig_mac: nonzero(a.target_mac),
                orig_ip: Some(IpAddr::V4(a.target_ip)),
                resp_mac: Some(a.sender_mac),
                resp_ip: Some(IpAddr::V4(a.sender_ip)),
                who_has: IpAddr::V4(a.sender_ip),
                vlan: meta.vlan,
            }
        } else {
            Exchange {
                v6: false,
                reply: false,
                orig_mac: Some(a.sender_mac),
                orig_ip: Some(IpAddr::V4(a.sender_ip)),
                resp_mac: nonzero(a.target_mac),
                resp_ip: None,
                who_has: IpAddr::V4(a.target_ip),
                vlan: meta.vlan,
            }
        };
        self.neighbors.observe(ts, ex);
        let ip = (!a.sender_ip.is_unspecified()).then_some(IpAddr::V4(a.sender_ip));
        self.assets.observe_host(ts, a.sender_mac, ip, meta.vlan);
    }

    /// An IP packet: checked, reassembled when a fragment, and handed to
    /// its transport in one place, so the transport code is inlined once.
    fn ip(&mut self, ts: i64, b: &[u8], meta: Meta<'_>) {
        // A datagram reassembled from fragments, while it is handled.
        let whole;
        let ip = match b.first().map(|v| v >> 4) {
            Some(4) => {
                let p = match ipv4::Packet::parse(b) {
                    Ok(p) => p,
                    Err(_) => {
                        self.stats.malformed += 1;
                        return;
                    }
                };
                if !self.opts.ignore_checksums && !p.header_checksum_ok() {
                    self.stats.bad_ip_checksum += 1;
                    return;
                }
                let hlen = p.header.len() as u32;
                if p.is_fragment() {
                    let key = FragKey {
                        src: IpAddr::V4(p.src),
                        dst: IpAddr::V4(p.dst),
                        ident: u32::from(p.ident),
                        proto: p.proto,
                    };
                    let Some(w) = self.frags.add(
                        ts,
                        key,
                        usize::from(p.frag_offset),
                        p.more_frags,
                        p.payload,
                    ) else {
                        return;
                    };
                    whole = w;
                    Ip::reassembled(&key, &whole.payload, hlen, p.header)
                } else {
                    Ip {
                        src: IpAddr::V4(p.src),
                        dst: IpAddr::V4(p.dst),
                        proto: p.proto,
                        total_len: u32::from(p.total_len),
                        l4_len: u32::from(p.total_len) - hlen,
                        payload: p.payload,
                        complete: p.complete,
                        v6: false,
                        header: p.header,
                    }
                }
            }
            Some(6) => {
                let p = match ipv6::Packet::parse(b) {
                    Ok(p) => p,
                    Err(_) => {
                        self.stats.malformed += 1;
                        return;
                    }
                };
                let ext = p.ext_len as u32;
                if let Some(f) = p.fragment {
                    let key = FragKey {
                        src: IpAddr::V6(p.src),
                        dst: IpAddr::V6(p.dst),
                        ident: f.ident,
                        proto: p.proto,
                    };
                    let Some(w) = self
                        .frags
                        .add(ts, key, usize::from(f.offset), f.more, p.payload)
                    else {
                        return;
                    };
                    whole = w;
                    let head = ipv6::HEADER_LEN as u32 + ext;
                    Ip::reassembled(&key, &whole.payload, head, &b[..ipv6::HEADER_LEN])
                } else {
                    Ip {
                        src: IpAddr::V6(p.src),
                        dst: IpAddr::V6(p.dst),
                        proto: p.proto,
                        total_len: p.total_len,
                        l4_len: p.total_len.saturating_sub(ipv6::HEADER_LEN as u32 + ext),
                        payload: p.payload,
                        complete: p.complete,
                        v6: true,
                        header: &b[..ipv6::HEADER_LEN],
                    }
                }
            }
            _ => {
                self.stats.malformed += 1;
                return;
            }
        };
        self.transport(ts, &ip, meta);
    }

    #[inline(always)]
    fn transport(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
        match ip.proto {
            6 => self.tcp(ts, ip, meta),
            17 => self.udp(ts, ip, meta),
            1 | 58 => self.icmp(ts, ip, meta),
            4 | 41 if meta.depth < MAX_TUNNEL_DEPTH => {
                let parent = self.tunnel_uid(ip);
                self.decapsulated(ts, tunnel::Inner::Ip(ip.payload), meta, parent);
            }
            47 if meta.depth < MAX_TUNNEL_DEPTH => match tunnel::gre(ip.payload) {
                Ok(t) => {
                    let parent = self.tunnel_uid(ip);
                    self.decapsulated(ts, t, meta, parent);
                }
                Err(_) => self.stats.malformed += 1,
            },
            // IPv6 with no next header carries nothing.
            59 => {}
            other => self.other_ip(ts, ip, other, meta),
        }
    }

    /// A stable uid for a non-UDP tunnel (IP-in-IP, GRE) between two hosts.
    fn tunnel_uid(&self, ip: &Ip<'_>) -> u64 {
        // Both ends in address order and the protocol, hashed field by
        // field as always, so a tunnel keeps its uid.
        let (a, b) = if ip.src <= ip.dst {
            (ip.src, ip.dst)
        } else {
            (ip.dst, ip.src)
        };
        let mut h = rustc_hash::FxHasher::default();
        std::hash::Hash::hash(&((a, 0u16), (b, 0u16), Transport::Other(ip.proto)), &mut h);
        std::hash::Hasher::finish(&h)
    }

    /// A tunnel's inner packet, out of line: the decoders above it are
    /// inlined into one another, and a tunnel starts them over.
    #[inline(never)]
    fn decapsulated(&mut self, ts: i64, t: tunnel::Inner<'_>, meta: Meta<'_>, parent: u64) {
        match t {
            tunnel::Inner::Ip(b) => self.ip(ts, b, inner(meta, parent, None)),
            tunnel::Inner::Ethernet(b) => match ethernet::ethernet(b) {
                Ok(l2) => self.link(ts, &l2, inner(meta, parent, Some(&l2))),
                Err(_) => self.stats.malformed += 1,
            },
            tunnel::Inner::None => {}
        }
    }

    /// Finds or creates the connection for a packet.
    fn lookup(
        &mut self,
        ts: i64,
        ip: &Ip<'_>,
        (sport, dport): (u16, u16),
        proto: Transport,
        flip: impl Fn() -> bool,
        reuse: impl Fn(&Conn) -> bool,
    ) -> Found {
        let key = ConnKey::new(ip.src, sport, ip.dst, dport, proto);
        let mut found = self.conns.find(&key);
        if let Some(idx) = found {
            if self.conns.get(idx).is_some_and(&reuse) {
                if let Some(c) = self.conns.remove(idx) {
                    close_conn(
                        c,
                        ts,
                        false,
                        &mut self.sink,
                        &mut self.assets,
                        &mut self.app_live,
                    );
                }
                found = None;
            }
        }
        let (idx, created) = match found {
            Some(i) => (i, None),
            None => {
                let id = ConnId {
                    orig_h: ip.src,
                    orig_p: sport,
                    resp_h: ip.dst,
                    resp_p: dport,
                    proto,
                };
                let (idx, uid_counter, evicted) = self.conns.create(key, id, ip.proto, ts);
                if let Some(c) = evicted {
                    close_conn(
                        c,
                        ts,
                        true,
                        &mut self.sink,
                        &mut self.assets,
                        &mut self.app_live,
                    );
                }
                let flipped = flip();
                if flipped {
                    if let Some(c) = self.conns.get_mut(idx) {
                        c.flip();
                    }
                }
                (
                    idx,
                    Some(Created {
                        uid_counter,
                        flipped,
                    }),
                )
            }
        };
        let is_orig = self
            .conns
            .get(idx)
            .is_some_and(|c| c.sent_by(ip.src, sport));
        Found {
            idx,
            is_orig,
            created,
        }
    }

    /// What a packet does to its connection `f`; a failed transport
    /// checksum leaves only its mark in history.
    fn observation(
        &mut self,
        ts: i64,
        f: &Found,
        ip: &Ip<'_>,
        meta: &Meta<'_>,
        checksum_ok: bool,
        effect: Effect,
    ) -> Observation {
        if !checksum_ok {
            self.stats.bad_transport_checksum += 1;
        }
        Observation {
            ts,
            is_orig: f.is_orig,
            ip_len: ip.total_len,
            link: meta.link(),
            effect: if checksum_ok {
                effect
            } else {
                Effect::BadChecksum
            },
        }
    }

    /// A packet's connection is up to date: note the activity, and keep a
    /// connection this packet created compact if that is all it holds.
    fn done(&mut self, f: &Found, obs: &Observation) {
        match f.created {
            Some(created) => self.conns.settle(f.idx, created, obs),
            None => self.conns.touch(f.idx),
        }
    }

    /// Whether a TCP segment's checksum verifies, or needs no check (off,
    /// or the packet not all captured).
    #[inline(always)]
    fn tcp_checksum_ok(&self, ip: &Ip<'_>) -> bool {
        self.opts.ignore_checksums
            || !ip.complete
            || checksum::transport_ok(ip.src, ip.dst, 6, &ip.payload[..ip.l4_len as usize])
    }

    /// The same for a UDP datagram, where IPv4 may leave the checksum out.
    #[inline(always)]
    fn udp_checksum_ok(&self, ip: &Ip<'_>, d: &udp::Datagram<'_>) -> bool {
        let full = ip.payload.len() >= usize::from(d.length) && ip.complete;
        self.opts.ignore_checksums
            || !full
            || (!ip.v6 && d.checksum == 0)
            || checksum::transport_ok(ip.src, ip.dst, 17, &ip.payload[..usize::from(d.length)])
    }

    fn tcp(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
        let seg = match tcp::Segment::parse(ip.payload, ip.l4_len) {
            Ok(s) => s,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        let checksum_ok = self.tcp_checksum_ok(ip);
        let flags = seg.flags;
        let (sp, dp) = (seg.src_port, seg.dst_port);
        let f = self.lookup(
            ts,
            ip,
            (sp, dp),
            Transport::Tcp,
            || want_flip_tcp(flags, sp, dp),
            |c| reopens(flags, c),
        );
        let s = seg_of(&seg);
        let obs = self.observation(ts, &f, ip, &meta, checksum_ok, Effect::Tcp(s));
        let Some(c) = self.conns.get_mut(f.idx) else {
            return;
        };
        let Some(out) = c.apply(&obs) else {
            self.done(&f, &obs);
            return;
        };
        if self.opts.app_layer && s.syn {
            let mut o = Output {
                records: &mut self.sink,
                assets: &mut self.assets,
            };
            self.syn_signatures.observe(
                ts,
                ip.header,
                seg.header,
                meta.src_mac.copied(),
                meta.vlan,
                &mut o,
            );
        }
        if self.opts.app_layer {
            let dir = if f.is_orig { Dir::Orig } else { Dir::Resp };
            if out.peer_gap > 0 {
                if let Some(a) = c.app.as_mut() {
                    a.gap(if f.is_orig { Dir::Resp } else { Dir::Orig });
                }
            }
            if let Some((off, len)) = out.deliver {
                if let Some(data) = seg.payload.get(off..off + len) {
                    let limit = self.reassembly_limit;
                    app_data(
                        c,
                        ts,
                        dir,
                        data,
                        &mut self.sink,
                        &mut self.assets,
                        &mut self.app_live,
                        self.app_limit,
                        &mut self.stats,
                        |s, ctx, d| s.stream(ctx, dir, d, limit),
                    );
                }
            }
        }
        self.done(&f, &obs);
    }

    fn udp(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
        let d = match udp::Datagram::parse(ip.payload) {
            Ok(d) => d,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        let checksum_ok = self.udp_checksum_ok(ip, &d);
        let (sp, dp) = (d.src_port, d.dst_port);
        let f = self.lookup(
            ts,
            ip,
            (sp, dp),
            Transport::Udp,
            || {
                // A reply from a server port makes its sender the responder,
                // unless it went to everyone.
                likely_server_port(Transport::Udp, sp)
                    && !likely_server_port(Transport::Udp, dp)
                    && !is_broadcast(ip.dst)
            },
            |_| false,
        );
        let obs = self.observation(
            ts,
            &f,
            ip,
            &meta,
            checksum_ok,
            Effect::Udp(udp_payload_len(&d)),
        );
        let Some(c) = self.conns.get_mut(f.idx) else {
            return;
        };
        c.apply(&obs);
        if !checksum_ok {
            self.done(&f, &obs);
            return;
        }
        let uid = c.uid;
        // Tunnels over UDP: the outer connection names the tunnel, the inner
        // packets are decoded with it as their parent.
        let tun = if meta.depth < MAX_TUNNEL_DEPTH {
            udp_tunnel(sp, dp, d.payload)
        } else {
            None
        };
        if let Some((service, t)) = tun {
            c.tunnel_service = Some(service);
            self.conns.touch(f.idx);
            self.decapsulated(ts, t, meta, uid);
            return;
        }
        if self.opts.app_layer {
            let dir = if f.is_orig { Dir::Orig } else { Dir::Resp };
            app_data(
                c,
                ts,
                dir,
                d.payload,
                &mut self.sink,
                &mut self.assets,
                &mut self.app_live,
                self.app_limit,
                &mut self.stats,
                |s, ctx, data| s.datagram(ctx, dir, data),
            );
        }
        self.done(&f, &obs);
    }

    fn icmp(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
        let b = ip.payload;
        if b.len() < 8 {
            self.stats.malformed += 1;
            return;
        }
        let v6 = ip.proto == 58;
        let (ty, code) = (b[0], b[1]);
        let full = ip.complete && b.len() >= ip.l4_len as usize;
        let checksum_ok = self.opts.ignore_checksums || !full || {
            let msg = &b[..ip.l4_len as usize];
            if v6 {
                checksum::transport_ok(ip.src, ip.dst, 58, msg)
            } else {
                checksum::fold(checksum::sum(0, msg)) == 0xffff
            }
        };
        if !checksum_ok {
            self.stats.bad_transport_checksum += 1;
            return;
        }
        let (sp, dp) = icmp::conn_ports(v6, ty, code);
        let f = self.lookup(ts, ip, (sp, dp), Transport::Icmp, || false, |_| false);
        let plen = ip.l4_len.saturating_sub(8);
        let obs = self.observation(ts, &f, ip, &meta, true, Effect::Datagram(plen));
        self.apply(&f, &obs);
        if v6 && (ty == 135 || ty == 136) {
            self.neighbor_discovery(ts, ip, ty, b, &meta);
        }
    }

    /// ICMPv6 neighbor solicitation (135) and advertisement (136).
    fn neighbor_discovery(&mut self, ts: i64, ip: &Ip<'_>, ty: u8, b: &[u8], meta: &Meta<'_>) {
        let Some(t) = b.get(8..24) else {
            self.stats.malformed += 1;
            return;
        };
        let mut a = [0u8; 16];
        a.copy_from_slice(t);
        let target = IpAddr::V6(a.into());
        // The link-layer address option: source (1) in a solicitation,
        // target (2) in an advertisement.
        let mut opt_mac = None;
        let mut o = &b[24..];
        while o.len() >= 8 {
            let len = usize::from(o[1]) * 8;
            if len == 0 || len > o.len() {
                break;
            }
            if (o[0] == 1 || o[0] == 2) && len == 8 {
                let mut m = [0u8; 6];
                m.copy_from_slice(&o[2..8]);
                opt_mac = Some(m);
            }
            o = &o[len..];
        }
        let unspecified = |a: IpAddr| (!a.is_unspecified()).then_some(a);
        let ex = if ty == 135 {
            Exchange {
                v6: true,
                reply: false,
                orig_mac: opt_mac.or(meta.src_mac.copied()),
                orig_ip: unspecified(ip.src),
                resp_mac: None,
                resp_ip: None,
                who_has: target,
                vlan: meta.vlan,
            }
        } else {
            Exchange {
                v6: true,
                reply: true,
                orig_mac: meta.dst_mac.copied().filter(|m| m[0] & 1 == 0),
                orig_ip: Some(ip.dst).filter(|d| !d.is_multicast()),
                resp_mac: opt_mac.or(meta.src_mac.copied()),
                resp_ip: Some(ip.src),
                who_has: target,
                vlan: meta.vlan,
            }
        };
        self.neighbors.observe(ts, ex);
    }

    fn other_ip(&mut self, ts: i64, ip: &Ip<'_>, proto: u8, meta: Meta<'_>) {
        let f = self.lookup(ts, ip, (0, 0), Transport::Other(proto), || false, |_| false);
        let obs = self.observation(ts, &f, ip, &meta, true, Effect::Datagram(ip.l4_len));
        self.apply(&f, &obs);
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

/// Link facts for a packet that came out of a tunnel.
fn inner<'a>(meta: Meta<'a>, parent: u64, l2: Option<&L2<'a>>) -> Meta<'a> {
    Meta {
        src_mac: l2.and_then(|l| l.src),
        dst_mac: l2.and_then(|l| l.dst),
        vlan: l2.and_then(|l| l.vlan),
        inner_vlan: l2.and_then(|l| l.inner_vlan),
        parent: Some(parent),
        depth: meta.depth + 1,
    }
}

/// Zeek's choice of roles for a TCP connection not first seen from its SYN:
/// a SYN-ACK's sender is the responder; mid-stream, guess from the ports.
fn want_flip_tcp(flags: u8, sport: u16, dport: u16) -> bool {
    let syn = flags & tcp::SYN != 0;
    let ack = flags & tcp::ACK != 0;
    if syn {
        return ack;
    }
    if !likely_server_port(Transport::Tcp, sport) {
        return false;
    }
    !likely_server_port(Transport::Tcp, dport) || sport < dport
}

/// Whether a segment starts a new connection on the tuple of `c`: a SYN
/// after `c` finished.
fn reopens(flags: u8, c: &Conn) -> bool {
    flags & tcp::SYN != 0
        && flags & tcp::ACK == 0
        && c.tcp.as_ref().is_some_and(|t| t.is_finished())
}

/// What the connection's TCP state takes from a segment.
#[inline(always)]
fn seg_of(seg: &tcp::Segment<'_>) -> Seg {
    let flags = seg.flags;
    Seg {
        seq: seg.seq,
        ack: seg.ack,
        syn: flags & tcp::SYN != 0,
        fin: flags & tcp::FIN != 0,
        rst: flags & tcp::RST != 0,
        ackf: flags & tcp::ACK != 0,
        len: seg.payload_len,
        complete: seg.payload.len() >= seg.payload_len as usize,
        window: seg.window,
    }
}

fn udp_payload_len(d: &udp::Datagram<'_>) -> u32 {
    u32::from(d.length) - udp::HEADER_LEN as u32
}

fn is_broadcast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_broadcast() || v.is_multicast(),
        IpAddr::V6(v) => v.is_multicast(),
    }
}

fn udp_tunnel(sport: u16, dport: u16, payload: &[u8]) -> Option<(&'static str, tunnel::Inner<'_>)> {
    let on = |p: u16| sport == p || dport == p;
    let r = if on(tunnel::VXLAN_PORT) {
        tunnel::vxlan(payload).map(|t| ("vxlan", t))
    } else if on(tunnel::GENEVE_PORT) {
        tunnel::geneve(payload).map(|t| ("geneve", t))
    } else if on(tunnel::GTPU_PORT) {
        tunnel::gtpv1(payload).map(|t| ("gtpv1", t))
    } else if on(tunnel::GRE_IN_UDP_PORT) {
        tunnel::gre(payload).map(|t| ("gre", t))
    } else if on(tunnel::TEREDO_PORT) || tunnel::looks_like_teredo(payload) {
        // Teredo runs between arbitrary ports once a relay is involved, so
        // on other ports it is recognised by content, as Zeek does.
        tunnel::teredo(payload).map(|t| ("teredo", t))
    } else {
        return None;
    };
    r.ok()
}

/// Hands payload to the connection's application session, creating it when
/// a parser recognises the payload and `limits.app_flows` allows.
#[allow(clippy::too_many_arguments)]
fn app_data(
    c: &mut Conn,
    ts: i64,
    dir: Dir,
    data: &[u8],
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    app_live: &mut usize,
    app_limit: usize,
    stats: &mut Stats,
    feed: impl FnOnce(&mut Session, &mut app::Ctx<'_, '_>, &[u8]),
) {
    if data.is_empty() {
        return;
    }
    if c.app.is_none() {
        // Recognised on the first payloads of either direction (possibly
        // the middle of a session whose start the sensor never saw).
        if c.app_probes_left == 0 {
            return;
        }
        c.app_probes_left -= 1;
        let Some(parser) = app::probe(c.id.proto, &c.id, dir, data) else {
            return;
        };
        if *app_live >= app_limit {
            stats.app_flows_denied += 1;
            return;
        }
        *app_live += 1;
        c.app = Some(Box::new(Session::new(parser, uid_string(c.uid))));
    }
    let Some(mut session) = c.app.take() else {
        return;
    };
    let before = session.overflowed;
    in_context(c, &mut session, ts, sink, assets, |s, ctx| {
        feed(s, ctx, data)
    });
    stats.app_bytes_overflowed += session.overflowed - before;
    note_service(c, &session);
    c.app = Some(session);
}

/// Runs `f` on a connection's session with the application context; the
/// session's uid is lent to the context meanwhile.
fn in_context(
    c: &Conn,
    session: &mut Session,
    ts: i64,
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    f: impl FnOnce(&mut Session, &mut app::Ctx<'_, '_>),
) {
    let uid = std::mem::take(&mut session.uid);
    let mut out = Output {
        records: sink,
        assets,
    };
    let mut ctx = app::Ctx {
        ts,
        flow: FlowRef {
            uid: &uid,
            id: &c.id,
            orig_mac: c.orig_mac,
            resp_mac: c.resp_mac,
            vlan: c.vlan,
        },
        out: &mut out,
    };
    f(session, &mut ctx);
    session.uid = uid;
}

/// A parser may learn more as it goes (cotp, then s7comm-plus); an empty
/// name means not confirmed yet.
fn note_service(c: &mut Conn, session: &Session) {
    let name = session.service();
    if !name.is_empty() {
        c.service = Some(name);
    }
}

/// Logs a connection that ended, expired or was evicted.
fn close_conn(
    mut c: Conn,
    ts: i64,
    evicted: bool,
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    app_live: &mut usize,
) {
    if let Some(mut s) = c.app.take() {
        *app_live = app_live.saturating_sub(1);
        in_context(&c, &mut s, ts, sink, assets, |s, ctx| s.finish(ctx));
        note_service(&mut c, &s);
    }
    if let Some(m) = c.orig_mac {
        if c.orig.pkts > 0 {
            assets.observe_host(c.start, m, Some(c.id.orig_h), c.vlan);
        }
    }
    if let Some(m) = c.resp_mac {
        if c.resp.pkts > 0 {
            assets.observe_host(c.start, m, Some(c.id.resp_h), c.vlan);
        }
    }
    sink.push(c.record(false, evicted));
}
