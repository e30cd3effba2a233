//! The general path: a TCP or UDP packet to its connection (lookup,
//! orientation as Zeek chooses it, checksums) and its payload on.

use super::ip::{udp_tunnel, IPPROTO_GRE};
use super::session::{app_data, gap};
use super::*;

impl Engine {
    /// Finds or creates the connection for a packet.
    pub(super) fn lookup(
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
                        &mut self.apps,
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
                        &mut self.apps,
                    );
                }
                let flipped = flip();
                if let Some(c) = self.conns.get_mut(idx) {
                    if flipped {
                        c.flip();
                    }
                    if let Some(service) = self.expected.service(ts, &c.id) {
                        c.service = Some(service);
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
    pub(super) fn observation(
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
    pub(super) fn done(&mut self, f: &Found, obs: &Observation) {
        match f.created {
            Some(created) => self.conns.settle(f.idx, created, obs),
            None => self.conns.touch(f.idx),
        }
    }

    /// Whether a TCP segment's checksum verifies, or needs no check (off,
    /// or the packet not all captured).
    #[inline(always)]
    pub(super) fn tcp_checksum_ok(&self, ip: &Ip<'_>) -> bool {
        self.opts.ignore_checksums
            || !ip.complete
            || checksum::transport_ok(ip.src, ip.dst, 6, &ip.payload[..ip.l4_len as usize])
    }

    /// The same for a UDP datagram, where IPv4 may leave the checksum out.
    #[inline(always)]
    pub(super) fn udp_checksum_ok(&self, ip: &Ip<'_>, d: &udp::Datagram<'_>) -> bool {
        let full = ip.payload.len() >= usize::from(d.length) && ip.complete;
        self.opts.ignore_checksums
            || !full
            || (!ip.v6 && d.checksum == 0)
            || checksum::transport_ok(ip.src, ip.dst, 17, &ip.payload[..usize::from(d.length)])
    }

    pub(super) fn tcp(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
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
            |c| reopens(flags, c, ts),
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
                gap(c, dir.other(), out.peer_gap, &mut self.apps);
            }
            if let Some((off, len)) = out.deliver {
                if let Some(data) = seg.payload.get(off..off + len) {
                    let limit = self.reassembly_limit;
                    app_data(
                        c,
                        ts,
                        dir,
                        data,
                        obs.ip_len,
                        &mut self.sink,
                        &mut self.assets,
                        &mut self.apps,
                        &mut self.stats,
                        &mut self.expected,
                        |s, ctx, dir, d| s.stream(ctx, dir, d, limit),
                    );
                }
            }
            if out.unkept_after > 0 {
                gap(c, dir, out.unkept_after, &mut self.apps);
            }
        }
        self.done(&f, &obs);
    }

    pub(super) fn udp(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
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
            let parent = match service {
                Some(s) => {
                    // Zeek confirms GTPv1 only on a G-PDU that carries IP,
                    // not on signalling (GTP-C, echo requests).
                    if s != "gtpv1" || !matches!(t, tunnel::Inner::None) {
                        c.tunnel_packet(s, f.is_orig);
                    }
                    uid
                }
                None => self.tunnel_uid(ip, IPPROTO_GRE),
            };
            self.conns.touch(f.idx);
            self.decapsulated(ts, t, meta, parent);
            return;
        }
        if self.opts.app_layer {
            let dir = if f.is_orig { Dir::Orig } else { Dir::Resp };
            app_data(
                c,
                ts,
                dir,
                d.payload,
                obs.ip_len,
                &mut self.sink,
                &mut self.assets,
                &mut self.apps,
                &mut self.stats,
                &mut self.expected,
                |s, ctx, dir, data| s.datagram(ctx, dir, data),
            );
        }
        self.done(&f, &obs);
    }
}

/// Zeek's choice of roles for a TCP connection not first seen from its SYN:
/// a SYN-ACK's sender is the responder; mid-stream, guess from the ports.
pub(super) fn want_flip_tcp(flags: u8, sport: u16, dport: u16) -> bool {
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

/// Whether a segment at `ts` starts a new connection on the tuple of `c`: a
/// SYN after `c` finished, or any segment once `c` was given up on as an
/// unanswered attempt (its SYN, the first packet, is `TCP_ATTEMPT_US` old).
pub(super) fn reopens(flags: u8, c: &Conn, ts: i64) -> bool {
    c.tcp.as_ref().is_some_and(|t| {
        (flags & tcp::SYN != 0 && flags & tcp::ACK == 0 && t.is_finished())
            || (t.unanswered_attempt() && ts.saturating_sub(c.start) >= TCP_ATTEMPT_US)
    })
}

/// What the connection's TCP state takes from a segment.
#[inline(always)]
pub(super) fn seg_of(seg: &tcp::Segment<'_>) -> Seg {
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

pub(super) fn udp_payload_len(d: &udp::Datagram<'_>) -> u32 {
    u32::from(d.length) - udp::HEADER_LEN as u32
}

pub(super) fn is_broadcast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_broadcast() || v.is_multicast(),
        IpAddr::V6(v) => v.is_multicast(),
    }
}
