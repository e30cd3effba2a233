//! The short path: with the parsers off, a packet of a known IPv4 TCP or
//! UDP connection goes from its headers straight to the connection.

use super::conns::{reopens, seg_of, udp_payload_len};
use super::ip::udp_tunnel;
use super::*;

impl Engine {
    /// With the application parsers off, a packet of a connection already
    /// in the full table only updates that connection: the common one (a
    /// whole, unfragmented IPv4 TCP or UDP packet with a plain header in an
    /// untagged frame) is taken straight from its headers to the
    /// connection, without the general path's decoder results, address
    /// enums and lookup. Returns `false`, having changed nothing, for any
    /// other packet, which the general path then takes.
    #[inline(always)]
    pub(super) fn known_ipv4(&mut self, ts: i64, l2: &L2<'_>) -> bool {
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
    pub(super) fn known_tcp(
        &mut self,
        ts: i64,
        ip: &Ip<'_>,
        (src, dst): (u32, u32),
        meta: &Meta<'_>,
    ) -> bool {
        let Ok(seg) = tcp::Segment::parse(ip.payload, ip.l4_len) else {
            return false;
        };
        let key = ConnKey::v4(src, seg.src_port, dst, seg.dst_port, Transport::Tcp);
        let Some(f) = self.known(&key, ip, seg.src_port, |c| reopens(seg.flags, c, ts)) else {
            return false;
        };
        let checksum_ok = self.tcp_checksum_ok(ip);
        let obs = self.observation(ts, &f, ip, meta, checksum_ok, Effect::Tcp(seg_of(&seg)));
        self.apply(&f, &obs);
        true
    }

    #[inline(always)]
    pub(super) fn known_udp(
        &mut self,
        ts: i64,
        ip: &Ip<'_>,
        (src, dst): (u32, u32),
        meta: &Meta<'_>,
    ) -> bool {
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
    pub(super) fn apply(&mut self, f: &Found, obs: &Observation) {
        if let Some(c) = self.conns.get_mut(f.idx) {
            c.apply(obs);
        }
        self.done(f, obs);
    }

    /// The full-table connection of `key` that a packet from `ip.src` port
    /// `sport` continues, unless the packet starts a new one (`reopens`).
    #[inline(always)]
    pub(super) fn known(
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
}
