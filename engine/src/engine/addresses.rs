//! Frames to IP, and the address facts of the link: ARP, ICMP and IPv6
//! neighbor discovery for the `arp` and `ns` logs.

use super::*;

impl Engine {
    #[inline(always)]
    pub(super) fn link(&mut self, ts: i64, l2: &L2<'_>, meta: Meta<'_>) {
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
                let frame = over_ethernet::Frame {
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
                    over_ethernet::handle(&frame, &mut out);
                }
            }
        }
    }

    pub(super) fn arp(&mut self, ts: i64, a: &arp::Arp, meta: Meta<'_>) {
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

    pub(super) fn icmp(&mut self, ts: i64, ip: &Ip<'_>, meta: Meta<'_>) {
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
    pub(super) fn neighbor_discovery(
        &mut self,
        ts: i64,
        ip: &Ip<'_>,
        ty: u8,
        b: &[u8],
        meta: &Meta<'_>,
    ) {
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
}
