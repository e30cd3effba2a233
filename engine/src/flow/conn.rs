//! One connection's state and its conn.log record.

use super::history::History;
use super::id::{fmt_mac, ConnId, Mac, Transport};
use super::tcp::{Outcome, Seg, State, TcpConn};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Record, Text, Value};

pub static CONN_LOG: LogSchema = LogSchema {
    path: "conn",
    fields: &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("proto", T::Enum),
        field("service", T::String),
        field("duration", T::Interval),
        field("orig_bytes", T::Count),
        field("resp_bytes", T::Count),
        field("conn_state", T::String),
        field("local_orig", T::Bool),
        field("local_resp", T::Bool),
        field("missed_bytes", T::Count),
        field("history", T::String),
        field("orig_pkts", T::Count),
        field("orig_ip_bytes", T::Count),
        field("resp_pkts", T::Count),
        field("resp_ip_bytes", T::Count),
        field("tunnel_parents", T::SetString),
        field("ip_proto", T::Count),
        field("orig_l2_addr", T::String),
        field("resp_l2_addr", T::String),
        field("vlan", T::Int),
        field("inner_vlan", T::Int),
        field("interim", T::Bool),
        field("evicted", T::Bool),
    ],
};

/// Per-direction packet counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub pkts: u64,
    pub ip_bytes: u64,
    /// Payload bytes for UDP and ICMP (TCP takes them from sequence numbers).
    pub payload: u64,
}

pub struct Conn {
    pub id: ConnId,
    pub ip_proto: u8,
    pub uid: u64,
    pub start: i64,
    pub last: i64,
    pub orig: Counters,
    pub resp: Counters,
    pub tcp: Option<Box<TcpConn>>,
    pub history: History,
    pub orig_mac: Option<Mac>,
    pub resp_mac: Option<Mac>,
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
    /// The uids of the tunnels this connection came out of (Zeek's
    /// `tunnel_parents`): the first, and any others after it, such as the
    /// other direction of a VXLAN tunnel on its own source port.
    pub tunnel_parent: Option<u64>,
    pub more_parents: Option<Box<MoreParents>>,
    /// What the application parser found (conn.log's `service`).
    pub service: Option<&'static str>,
    /// The tunnel this connection carries (a tunnel's outer UDP).
    pub tunnel: TunnelFacts,
    /// The application parser following this connection, once found.
    pub app: Option<Box<crate::over_ip::session::Session>>,
    /// Payloads still to try recognising an application parser on, each
    /// on its own.
    pub app_probes_left: u8,
    /// The first bytes of each direction of an undecided TCP connection,
    /// gathered for protocol detection (see `over_ip::detect`).
    pub gathered: Option<Box<crate::over_ip::detect::Gathered>>,
    /// Gathering is over (or was never possible): the connection was
    /// decided, or showed more than detection looks at.
    pub gather_done: bool,
}

/// The services of the tunnels over UDP, as Zeek's analyzers name them.
pub const TUNNEL_SERVICES: [&str; 5] = ["vxlan", "geneve", "gtpv1", "teredo", "ayiya"];

/// What a connection carrying a tunnel knows of it, in two bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunnelFacts {
    /// One more than the tunnel's index in [`TUNNEL_SERVICES`] once it is
    /// confirmed (the connection's service); 0 before.
    confirmed: u8,
    /// The sides (1 originator, 2 responder) that sent a valid tunnel
    /// packet.
    pub sides: u8,
}

/// Tunnel parents after the first, bounded: a connection seen through more
/// tunnels than this keeps the first ones.
pub type MoreParents = heapless::Vec<u64, 3>;

/// Payloads looked at per connection before giving up on recognising it.
pub const APP_PROBES: u8 = 4;

/// The link facts a packet brings to its connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LinkFacts {
    pub src_mac: Option<Mac>,
    pub dst_mac: Option<Mac>,
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
    /// uid of the tunnel the packet came out of.
    pub parent: Option<u64>,
}

/// What a packet's transport header does to its connection.
#[derive(Clone, Copy, Debug)]
pub enum Effect {
    Tcp(Seg),
    /// A UDP datagram and its payload length.
    Udp(u32),
    /// ICMP or another IP protocol, and its payload length.
    Datagram(u32),
    /// A transport checksum that did not verify: only history notes it.
    BadChecksum,
}

/// One packet as its connection sees it: [`Conn::apply`] of the same
/// observation always has the same result, so a one-packet connection can
/// be kept as its observation (see `flow::compact`).
#[derive(Clone, Copy, Debug)]
pub struct Observation {
    pub ts: i64,
    pub is_orig: bool,
    /// The IP packet's total length.
    pub ip_len: u32,
    pub link: LinkFacts,
    pub effect: Effect,
}

impl Conn {
    pub fn new(id: ConnId, ip_proto: u8, uid: u64, ts: i64) -> Conn {
        Conn {
            id,
            ip_proto,
            uid,
            start: ts,
            last: ts,
            orig: Counters::default(),
            resp: Counters::default(),
            tcp: if id.proto == Transport::Tcp {
                Some(Box::default())
            } else {
                None
            },
            history: History::default(),
            orig_mac: None,
            resp_mac: None,
            vlan: None,
            inner_vlan: None,
            tunnel_parent: None,
            more_parents: None,
            service: None,
            tunnel: TunnelFacts::default(),
            app: None,
            app_probes_left: APP_PROBES,
            gathered: None,
            gather_done: false,
        }
    }

    /// Applies one packet; for TCP, what the stream reassembly made of it.
    #[inline(always)]
    pub fn apply(&mut self, o: &Observation) -> Option<Outcome> {
        let plen = match o.effect {
            Effect::BadChecksum => {
                self.history.scaled(o.is_orig, 'C');
                return None;
            }
            Effect::Tcp(s) => {
                self.note_packet(o);
                let t = self.tcp.as_mut()?;
                let both_closed = matches!(t.orig.state, State::Closed | State::Reset)
                    && matches!(t.resp.state, State::Closed | State::Reset);
                if !both_closed {
                    self.last = o.ts;
                }
                return Some(t.segment(o.is_orig, &s, &mut self.history));
            }
            Effect::Udp(plen) => {
                self.note_packet(o);
                self.history.once(o.is_orig, 'D');
                plen
            }
            Effect::Datagram(plen) => {
                self.note_packet(o);
                plen
            }
        };
        self.last = o.ts;
        let side = if o.is_orig {
            &mut self.orig
        } else {
            &mut self.resp
        };
        side.payload += u64::from(plen);
        None
    }

    /// Counts a valid packet on its side of the connection.
    fn note_packet(&mut self, o: &Observation) {
        let side = if o.is_orig {
            &mut self.orig
        } else {
            &mut self.resp
        };
        side.pkts += 1;
        side.ip_bytes += u64::from(o.ip_len);
        let l = &o.link;
        if self.orig_mac.is_none() || self.resp_mac.is_none() {
            let (own, peer) = if o.is_orig {
                (&mut self.orig_mac, &mut self.resp_mac)
            } else {
                (&mut self.resp_mac, &mut self.orig_mac)
            };
            if own.is_none() {
                *own = l.src_mac;
            }
            if peer.is_none() {
                *peer = l.dst_mac;
            }
        }
        if self.vlan.is_none() {
            self.vlan = l.vlan;
            self.inner_vlan = l.inner_vlan;
        }
        if let Some(p) = l.parent {
            self.add_parent(p);
        }
    }

    /// A valid packet of tunnel `service` from `is_orig`'s side: the
    /// connection's service once the tunnel is confirmed, as Zeek's
    /// analyzers confirm it (Teredo with `Tunnel::delay_teredo_confirmation`,
    /// on by default: once both sides sent one; the others at once).
    pub fn tunnel_packet(&mut self, service: &'static str, is_orig: bool) {
        let t = &mut self.tunnel;
        t.sides |= if is_orig { 1 } else { 2 };
        if service != "teredo" || t.sides == 3 {
            if let Some(i) = TUNNEL_SERVICES.iter().position(|s| *s == service) {
                t.confirmed = i as u8 + 1;
            }
        }
    }

    /// The confirmed tunnel's service.
    pub fn tunnel_service(&self) -> Option<&'static str> {
        let i = usize::from(self.tunnel.confirmed.checked_sub(1)?);
        TUNNEL_SERVICES.get(i).copied()
    }

    /// Notes that a packet came out of tunnel `p`.
    fn add_parent(&mut self, p: u64) {
        match self.tunnel_parent {
            None => self.tunnel_parent = Some(p),
            Some(first) if first == p => {}
            Some(_) => {
                let more = self.more_parents.get_or_insert_with(Default::default);
                if !more.contains(&p) {
                    // Full: the first parents are kept.
                    let _ = more.push(p);
                }
            }
        }
    }

    /// Whether a packet from `addr` port `port` comes from the originator.
    #[inline(always)]
    pub fn sent_by(&self, addr: std::net::IpAddr, port: u16) -> bool {
        self.id.orig_h == addr && self.id.orig_p == port
    }

    /// Swaps originator and responder once traffic was counted, as Zeek's
    /// `Connection::FlipRoles` does when an analyzer finds the roles
    /// reversed: the endpoints change places and history notes `^`, while
    /// the packets, bytes and history letters counted so far stay on the
    /// side they were counted for (so a reply the flip is made on counts
    /// for the new originator; the session keeps who really sent, for the
    /// asset ledger).
    pub fn flip_midway(&mut self) {
        let id = self.id;
        self.id = ConnId {
            orig_h: id.resp_h,
            orig_p: id.resp_p,
            resp_h: id.orig_h,
            resp_p: id.orig_p,
            proto: id.proto,
        };
        std::mem::swap(&mut self.orig_mac, &mut self.resp_mac);
        self.history.flip();
    }

    /// Zeek's `FlipRoles` on a TCP connection whose application found the
    /// roles reversed (a DNS reply first from the originator) on a packet
    /// of `ip_len` IP bytes from the originator: each endpoint's TCP state
    /// and packet counts so far go with its host (Zeek's TCP session and
    /// ConnSize analyzers swap them), history keeps its letters and notes
    /// `^`, and that packet, which ConnSize counts only after its payload
    /// was delivered, counts for the new originator.
    pub fn flip_stream_midway(&mut self, ip_len: u32) {
        self.orig.pkts = self.orig.pkts.saturating_sub(1);
        self.orig.ip_bytes = self.orig.ip_bytes.saturating_sub(u64::from(ip_len));
        std::mem::swap(&mut self.orig, &mut self.resp);
        if let Some(t) = self.tcp.as_mut() {
            std::mem::swap(&mut t.orig, &mut t.resp);
        }
        self.orig.pkts += 1;
        self.orig.ip_bytes += u64::from(ip_len);
        self.flip_midway();
    }

    /// Swaps originator and responder (Zeek's role flip), with what was
    /// counted for each.
    pub fn flip(&mut self) {
        std::mem::swap(&mut self.orig, &mut self.resp);
        if let Some(t) = self.tcp.as_mut() {
            std::mem::swap(&mut t.orig, &mut t.resp);
        }
        self.history.swap_sides();
        self.flip_midway();
    }

    pub fn conn_state(&self) -> &'static str {
        match (&self.tcp, self.id.proto) {
            (Some(t), _) => t.conn_state(&self.history),
            (None, Transport::Udp) => match (self.orig.pkts > 0, self.resp.pkts > 0) {
                (true, true) => "SF",
                (true, false) => "S0",
                (false, true) => "SHR",
                (false, false) => "OTH",
            },
            _ => "OTH",
        }
    }

    /// The conn.log row; `interim` for a connection still open at an
    /// interval's end, `evicted` for one pushed out of a full table.
    pub fn record(&self, interim: bool, evicted: bool) -> Record {
        let duration = self.last - self.start;
        let (ob, rb, missed) = match &self.tcp {
            Some(t) => (
                t.orig.size(t.resp.state),
                t.resp.size(t.orig.state),
                t.missed_bytes,
            ),
            None => (self.orig.payload, self.resp.payload, 0),
        };
        let service = match (self.tunnel_service(), self.service) {
            (Some(a), Some(b)) => Value::from(format!("{a},{b}")),
            (Some(a), None) | (None, Some(a)) => Value::from(a),
            (None, None) => Value::Unset,
        };
        let sized = |v: u64| {
            if duration > 0 {
                Value::Count(v)
            } else {
                Value::Unset
            }
        };
        Record {
            schema: &CONN_LOG,
            values: vec![
                Value::Time(self.start),
                Value::Str(uid_string(self.uid)),
                Value::Addr(self.id.orig_h),
                Value::Port(self.id.orig_p),
                Value::Addr(self.id.resp_h),
                Value::Port(self.id.resp_p),
                Value::from(self.id.proto.as_str()),
                service,
                if duration > 0 {
                    Value::Interval(duration)
                } else {
                    Value::Unset
                },
                sized(ob),
                sized(rb),
                Value::from(self.conn_state()),
                Value::Unset,
                Value::Unset,
                Value::Count(missed),
                if self.history.as_str().is_empty() {
                    Value::Unset
                } else {
                    Value::from(self.history.as_str())
                },
                Value::Count(self.orig.pkts),
                Value::Count(self.orig.ip_bytes),
                Value::Count(self.resp.pkts),
                Value::Count(self.resp.ip_bytes),
                match self.tunnel_parent {
                    Some(p) => Value::Strings(
                        std::iter::once(p)
                            .chain(self.more_parents.iter().flat_map(|m| m.iter().copied()))
                            .map(|u| uid_string(u).into())
                            .collect(),
                    ),
                    None => Value::Unset,
                },
                Value::Count(u64::from(self.ip_proto)),
                self.orig_mac.map(|m| fmt_mac(&m)).into(),
                self.resp_mac.map(|m| fmt_mac(&m)).into(),
                self.vlan.map_or(Value::Unset, |v| Value::Int(i64::from(v))),
                self.inner_vlan
                    .map_or(Value::Unset, |v| Value::Int(i64::from(v))),
                Value::Bool(interim),
                Value::Bool(evicted),
            ],
        }
    }
}

/// Zeek-style connection uid: "C" and base62 digits.
pub fn uid_string(n: u64) -> Text {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // 'C' and at most 11 base-62 digits: a u64 fits inline in a Text.
    let mut s = [b'C'; 12];
    let mut len = 1;
    let mut v = n;
    loop {
        s[len] = DIGITS[(v % 62) as usize];
        len += 1;
        v /= 62;
        if v == 0 {
            break;
        }
    }
    crate::text::ascii(&s[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_base62() {
        assert_eq!(uid_string(0), "C0");
        assert_eq!(uid_string(61), "Cz");
        assert_eq!(uid_string(62), "C01");
    }
}

#[cfg(test)]
mod tunnel_service {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn udp_conn() -> Conn {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let id = ConnId {
            orig_h: a,
            orig_p: 3797,
            resp_h: b,
            resp_p: 3544,
            proto: Transport::Udp,
        };
        Conn::new(id, 17, 1, 0)
    }

    #[test]
    fn teredo_is_confirmed_by_both_sides_the_others_at_once() {
        let mut c = udp_conn();
        c.tunnel_packet("teredo", false);
        c.tunnel_packet("teredo", false);
        assert_eq!(c.tunnel_service(), None, "the responder alone");
        c.tunnel_packet("teredo", true);
        assert_eq!(c.tunnel_service(), Some("teredo"));
        for s in TUNNEL_SERVICES.into_iter().filter(|s| *s != "teredo") {
            let mut v = udp_conn();
            v.tunnel_packet(s, true);
            assert_eq!(v.tunnel_service(), Some(s));
        }
    }
}

#[cfg(test)]
mod size {
    /// The table holds up to `limits.connections` of these: keep them small.
    #[test]
    fn connection_state_stays_small() {
        assert!(std::mem::size_of::<super::Conn>() <= 304);
        assert!(std::mem::size_of::<crate::flow::history::History>() <= 96);
        assert!(std::mem::size_of::<crate::flow::tcp::TcpConn>() <= 168);
    }
}
