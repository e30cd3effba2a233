//! IP packets: fragments, the transport dispatch, and tunnels (with
//! `tunnel_parents`).

use super::*;

/// IP protocol number of GRE.
pub(super) const IPPROTO_GRE: u8 = 47;

impl Engine {
    /// An IP packet: checked, reassembled when a fragment, and handed to
    /// its transport in one place, so the transport code is inlined once.
    pub(super) fn ip(&mut self, ts: i64, b: &[u8], meta: Meta<'_>) {
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
    pub(super) fn transport(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
        match ip.proto {
            6 => self.tcp(ts, ip, meta),
            17 => self.udp(ts, ip, meta),
            1 | 58 => self.icmp(ts, ip, meta),
            4 | 41 if meta.depth < MAX_TUNNEL_DEPTH => {
                let parent = self.tunnel_uid(ip, ip.proto);
                self.decapsulated(ts, tunnel::Inner::Ip(ip.payload), meta, parent);
            }
            IPPROTO_GRE if meta.depth < MAX_TUNNEL_DEPTH => match tunnel::gre(ip.payload) {
                Ok(t) => {
                    let parent = self.tunnel_uid(ip, ip.proto);
                    self.decapsulated(ts, t, meta, parent);
                }
                Err(_) => self.stats.malformed += 1,
            },
            // IPv6 with no next header carries nothing.
            59 => {}
            other => self.other_ip(ts, ip, other, meta),
        }
    }

    /// A stable uid for a tunnel that is no connection of its own (IP in
    /// IP, GRE, also GRE over UDP) between two hosts.
    pub(super) fn tunnel_uid(&self, ip: &Ip<'_>, proto: u8) -> u64 {
        // Both ends in address order and the protocol, hashed field by
        // field as always, so a tunnel keeps its uid.
        let (a, b) = if ip.src <= ip.dst {
            (ip.src, ip.dst)
        } else {
            (ip.dst, ip.src)
        };
        let mut h = rustc_hash::FxHasher::default();
        std::hash::Hash::hash(&((a, 0u16), (b, 0u16), Transport::Other(proto)), &mut h);
        std::hash::Hasher::finish(&h)
    }

    /// A tunnel's inner packet, out of line: the decoders above it are
    /// inlined into one another, and a tunnel starts them over.
    #[inline(never)]
    pub(super) fn decapsulated(
        &mut self,
        ts: i64,
        t: tunnel::Inner<'_>,
        meta: Meta<'_>,
        parent: u64,
    ) {
        match t {
            tunnel::Inner::Ip(b) => self.ip(ts, b, inner(meta, parent, None)),
            tunnel::Inner::Ethernet(b) => match ethernet::ethernet(b) {
                Ok(l2) => self.link(ts, &l2, inner(meta, parent, Some(&l2))),
                Err(_) => self.stats.malformed += 1,
            },
            tunnel::Inner::Ieee80211(b) => {
                let amsdu = ethernet::ieee80211_amsdu(b, |l2| {
                    self.link(ts, l2, inner(meta, parent, Some(l2)))
                });
                let one = match amsdu {
                    Ok(true) => return,
                    Ok(false) => ethernet::decode(LinkType::IEEE802_11, b),
                    Err(e) => Err(e),
                };
                match one {
                    Ok(Some(l2)) => self.link(ts, &l2, inner(meta, parent, Some(&l2))),
                    Ok(None) => {}
                    Err(_) => self.stats.malformed += 1,
                }
            }
            tunnel::Inner::None => {}
        }
    }

    pub(super) fn other_ip(&mut self, ts: i64, ip: &Ip<'_>, proto: u8, meta: Meta<'_>) {
        let f = self.lookup(ts, ip, (0, 0), Transport::Other(proto), || false, |_| false);
        let obs = self.observation(ts, &f, ip, &meta, true, Effect::Datagram(ip.l4_len));
        self.apply(&f, &obs);
    }
}

/// Link facts for a packet that came out of a tunnel.
pub(super) fn inner<'a>(meta: Meta<'a>, parent: u64, l2: Option<&L2<'a>>) -> Meta<'a> {
    Meta {
        src_mac: l2.and_then(|l| l.src),
        dst_mac: l2.and_then(|l| l.dst),
        vlan: l2.and_then(|l| l.vlan),
        inner_vlan: l2.and_then(|l| l.inner_vlan),
        parent: Some(parent),
        depth: meta.depth + 1,
    }
}

/// A tunnel over UDP on these ports or with this payload: the outer
/// connection's service (none for GRE, which Zeek names as a tunnel of its
/// own, not by the UDP connection) and what it carries.
pub(super) fn udp_tunnel(
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Option<(Option<&'static str>, tunnel::Inner<'_>)> {
    let on = |p: u16| sport == p || dport == p;
    let r = if on(tunnel::VXLAN_PORT) {
        tunnel::vxlan(payload).map(|t| ("vxlan", t))
    } else if on(tunnel::GENEVE_PORT) {
        tunnel::geneve(payload).map(|t| ("geneve", t))
    } else if on(tunnel::GTPU_PORT) || on(tunnel::GTPC_PORT) {
        tunnel::gtpv1(payload).map(|t| ("gtpv1", t))
    } else if on(tunnel::GRE_IN_UDP_PORT) {
        return tunnel::gre(payload).ok().map(|t| (None, t));
    } else if on(tunnel::AYIYA_PORT) {
        tunnel::ayiya(payload).map(|t| ("ayiya", t))
    } else if on(tunnel::TEREDO_PORT) || tunnel::looks_like_teredo(payload) {
        // Teredo runs between arbitrary ports once a relay is involved, so
        // on other ports it is recognised by content, as Zeek does.
        tunnel::teredo(payload).map(|t| ("teredo", t))
    } else if tunnel::looks_like_ayiya(payload) {
        // Zeek tries AYIYA's content rule on every UDP payload too.
        tunnel::ayiya(payload).map(|t| ("ayiya", t))
    } else {
        return None;
    };
    r.ok().map(|(service, t)| (Some(service), t))
}
