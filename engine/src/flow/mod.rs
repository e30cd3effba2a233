//! Connection tracking with Zeek's conn.log semantics, in bounded tables.

pub mod compact;
pub mod conn;
pub mod frag;
pub mod history;
pub mod id;
pub mod table;
pub mod tcp;

use compact::{CompactTable, Frozen};
use conn::{Conn, Observation};
use id::{ConnId, Transport};
use std::net::IpAddr;
use table::Table;

/// Zeek's default inactivity timeouts, and the delay after which a closed
/// TCP connection is forgotten (so a reused tuple starts a new one).
pub const TCP_INACTIVITY_US: i64 = 300_000_000;
pub const UDP_INACTIVITY_US: i64 = 60_000_000;
pub const ICMP_INACTIVITY_US: i64 = 60_000_000;
pub const TCP_CLOSE_DELAY_US: i64 = 5_000_000;
/// Zeek's `tcp_attempt_delay`: a connection whose originator sent a SYN and
/// whose responder has still not been seen this long after it is given up
/// on (logged), and its tuple's next packet starts a new connection. On a
/// capture of one direction only, a client's long connection is two rows.
pub const TCP_ATTEMPT_US: i64 = 5_000_000;
/// Zeek forgets a DNS exchange sooner than other UDP: its DNS analyzer
/// checks every 10 s and ends a session idle for 9 s.
pub const DNS_SESSION_US: i64 = 9_000_000;

/// The recency lists, by how soon their entries expire.
const LIST_CLOSED: usize = 0;
const LIST_DNS: usize = 1;
const LIST_DATAGRAM: usize = 2;
const LIST_TCP: usize = 3;
const LISTS: usize = 4;

/// A direction-independent key: the two endpoints in a fixed order, packed
/// into integers so that building, comparing and hashing it are a few
/// word operations per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnKey {
    /// The lower endpoint's address (an IPv4 one as its 32-bit value).
    a: u128,
    b: u128,
    /// `a`'s port in the high half, `b`'s in the low one.
    ports: u32,
    /// The transport ([`proto_word`]) and whether the addresses are IPv6.
    meta: u32,
}

const KEY_V6: u32 = 1 << 16;

/// A transport as a number: its IP protocol, or 256 and up for one the
/// engine does not tell apart (so it never equals a named one).
fn proto_word(p: Transport) -> u32 {
    match p {
        Transport::Tcp => 6,
        Transport::Udp => 17,
        Transport::Icmp => 1,
        Transport::Other(n) => 0x100 | u32::from(n),
    }
}

fn addr_word(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl ConnKey {
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: Transport) -> Self {
        if let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) {
            return ConnKey::v4(u32::from(s), sport, u32::from(d), dport, proto);
        }
        let (s, d) = (addr_word(src), addr_word(dst));
        // Mixed families cannot occur in one IP header; the flag follows
        // the source.
        let v6 = if src.is_ipv6() { KEY_V6 } else { 0 };
        ConnKey::ordered(
            (s, sport),
            (d, dport),
            (s, sport) <= (d, dport),
            proto_word(proto) | v6,
        )
    }

    /// The key of two IPv4 endpoints, compared as two 48-bit words.
    #[inline(always)]
    pub fn v4(src: u32, sport: u16, dst: u32, dport: u16, proto: Transport) -> Self {
        let word = |a: u32, p: u16| u64::from(a) << 16 | u64::from(p);
        let src_lower = word(src, sport) <= word(dst, dport);
        let (s, d) = (u128::from(src), u128::from(dst));
        ConnKey::ordered((s, sport), (d, dport), src_lower, proto_word(proto))
    }

    /// The two endpoints lower first.
    #[inline(always)]
    fn ordered(src: (u128, u16), dst: (u128, u16), src_lower: bool, meta: u32) -> Self {
        let (lo, hi) = if src_lower { (src, dst) } else { (dst, src) };
        ConnKey {
            a: lo.0,
            b: hi.0,
            ports: u32::from(lo.1) << 16 | u32::from(hi.1),
            meta,
        }
    }

    /// Both endpoints as IPv4 addresses and ports, lower first, for IPv4
    /// keys.
    pub fn v4_endpoints(&self) -> Option<(u32, u16, u32, u16)> {
        if self.meta & KEY_V6 != 0 {
            return None;
        }
        Some((
            u32::try_from(self.a).ok()?,
            (self.ports >> 16) as u16,
            u32::try_from(self.b).ok()?,
            self.ports as u16,
        ))
    }

    pub fn transport(&self) -> Transport {
        match self.meta & !KEY_V6 {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 => Transport::Icmp,
            n => Transport::Other(n as u8),
        }
    }
}

impl std::hash::Hash for ConnKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // Whole words, so a word-at-a-time hasher takes five steps.
        h.write_u64(self.a as u64);
        h.write_u64((self.a >> 64) as u64);
        h.write_u64(self.b as u64);
        h.write_u64((self.b >> 64) as u64);
        h.write_u64(u64::from(self.ports) << 32 | u64::from(self.meta));
    }
}

/// Ports on which a server is more likely than a client: a first packet
/// from one of them (and not to one) makes its sender the responder.
pub fn likely_server_port(proto: Transport, port: u16) -> bool {
    match proto {
        Transport::Tcp => matches!(
            port,
            21 | 22 | 23 | 25 | 53 | 80 | 88 | 102 | 110 | 111 | 135 | 139 | 143 | 179 | 389
                | 443 | 445 | 465 | 502 | 514 | 563 | 585 | 587 | 614 | 631 | 636 | 989 | 990
                | 992..=995 | 1080 | 1433 | 1521 | 1883 | 2404 | 3128 | 3306 | 3389 | 4840
                | 5060 | 5061 | 5222 | 5269 | 5432 | 5900 | 6379 | 6666..=6669
                | 8000 | 8080 | 8081 | 8443 | 8888 | 9600 | 20000 | 44818
        ),
        Transport::Udp => matches!(
            port,
            53 | 67
                | 69
                | 88
                | 123
                | 137
                | 138
                | 161
                | 162
                | 443
                | 500
                | 514
                | 520
                | 547
                | 1812
                | 1813
                | 1900
                | 2123
                | 2152
                | 2222
                | 3478
                | 3544
                | 4500
                | 4789
                | 5060
                | 5072
                | 5353
                | 5355
                | 6081
                | 9600
                | 20000
                | 44818
                | 47808
                | 61450
                | 61451
        ),
        _ => false,
    }
}

/// Every open connection, bounded; expired and evicted connections come out
/// through the callback given to [`ConnTable::expire`] and the return values.
/// One-packet connections are kept compact (see [`compact`]); `capacity`
/// bounds both kinds together.
pub struct ConnTable {
    table: Table<ConnKey, Conn, LISTS>,
    compact: CompactTable<LISTS>,
    capacity: usize,
    evicted: u64,
    next_uid: u64,
    uid_seed: u64,
    /// Expiry looks only at list tails: none of them expires before this
    /// time. Every entry that becomes a tail lowers it to its deadline (an
    /// entry put into an empty list, the one behind a tail that leaves), and
    /// [`ConnTable::expire`] raises it to the earliest tail's. Until then
    /// expiry has nothing to do.
    due: i64,
}

/// A connection just created by [`ConnTable::create`].
#[derive(Clone, Copy, Debug)]
pub struct Created {
    pub uid_counter: u64,
    /// Whether its roles were flipped at creation.
    pub flipped: bool,
}

/// Each list holds entries of one timeout, so its tail is always the next
/// to expire.
fn list_of(c: &Conn) -> usize {
    match &c.tcp {
        Some(t) if t.is_finished() => LIST_CLOSED,
        Some(_) => LIST_TCP,
        None if c.id.proto == Transport::Udp && (c.id.resp_p == 53 || c.id.orig_p == 53) => {
            LIST_DNS
        }
        None => LIST_DATAGRAM,
    }
}

fn timeout_of(list: usize) -> i64 {
    match list {
        LIST_CLOSED => TCP_CLOSE_DELAY_US,
        LIST_DNS => DNS_SESSION_US,
        LIST_TCP => TCP_INACTIVITY_US,
        // UDP, ICMP and other IP protocols share one timeout.
        _ => UDP_INACTIVITY_US.max(ICMP_INACTIVITY_US),
    }
}

/// A connection's uid from its creation counter: deterministic for a given
/// seed and order of connections, scrambled so uids do not look sequential.
fn uid_of(counter: u64, seed: u64) -> u64 {
    let mut x = counter ^ seed;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The connection a compact entry stands for: created, flipped as it was,
/// and its one packet applied again.
fn thaw(f: &Frozen, seed: u64) -> Conn {
    let mut c = Conn::new(
        f.id,
        f.ip_proto,
        uid_of(u64::from(f.uid_counter), seed),
        f.obs.ts,
    );
    if f.flipped {
        c.flip();
    }
    c.app_probes_left = f.probes_left;
    c.apply(&f.obs);
    c
}

impl ConnTable {
    pub fn new(capacity: usize, uid_seed: u64) -> Self {
        ConnTable {
            table: Table::new(capacity),
            compact: CompactTable::new(capacity),
            capacity: capacity.max(1),
            evicted: 0,
            next_uid: 0,
            uid_seed,
            due: i64::MAX,
        }
    }

    /// An entry of `list` last active at `last` was put at that list's head
    /// (its tail too, if the list was empty), or became its tail.
    fn listed(&mut self, list: usize, last: i64) {
        self.due = self.due.min(last.saturating_add(timeout_of(list)));
    }

    /// The oldest entries of `list` (full and compact) may have changed.
    /// One hidden behind dead compact entries counts as due at once.
    fn tail_changed(&mut self, list: usize) {
        let tail = self.table.tail(list).and_then(|i| self.table.get(i));
        for last in [tail.map(|c| c.last), self.compact.head_ts(list)]
            .into_iter()
            .flatten()
        {
            self.listed(list, last);
        }
    }

    pub fn len(&self) -> usize {
        self.table.len() + self.compact.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The full entry for `key`, if it has one; compact entries are not
    /// looked at.
    #[inline]
    pub fn find_full(&self, key: &ConnKey) -> Option<u32> {
        self.table.find(key)
    }

    /// The full entry for `key`; a compact one is made full first.
    #[inline]
    pub fn find(&mut self, key: &ConnKey) -> Option<u32> {
        if let Some(i) = self.table.find(key) {
            return Some(i);
        }
        if self.compact.is_empty() {
            return None;
        }
        self.find_compact(key)
    }

    /// A compact entry made full, out of line: a packet of a connection
    /// seen once before is the rare case.
    #[inline(never)]
    fn find_compact(&mut self, key: &ConnKey) -> Option<u32> {
        let c = thaw(&self.compact.take(key)?, self.uid_seed);
        let list = list_of(&c);
        // The compact entry's place is free: nothing is evicted.
        let (idx, _) = self.table.insert(*key, c, list, |c| c.last);
        // It may be its full list's tail now, and the compact queue may
        // have a new head.
        self.tail_changed(list);
        Some(idx)
    }

    pub fn get(&self, idx: u32) -> Option<&Conn> {
        self.table.get(idx)
    }

    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Conn> {
        self.table.get_mut(idx)
    }

    /// Creates a connection; returns its index, how it was created, and the
    /// connection evicted to make room, if any.
    pub fn create(
        &mut self,
        key: ConnKey,
        id: ConnId,
        ip_proto: u8,
        ts: i64,
    ) -> (u32, u64, Option<Conn>) {
        let evicted = if self.len() >= self.capacity {
            let c = self.take_oldest();
            self.evicted += u64::from(c.is_some());
            c
        } else {
            None
        };
        self.next_uid += 1;
        let conn = Conn::new(id, ip_proto, uid_of(self.next_uid, self.uid_seed), ts);
        let list = list_of(&conn);
        self.listed(list, ts);
        let (idx, _) = self.table.insert(key, conn, list, |c| c.last);
        (idx, self.next_uid, evicted)
    }

    /// Keeps a connection created by the packet `obs` compact, when that
    /// packet is all it holds.
    pub fn settle(&mut self, idx: u32, created: Created, obs: &Observation) {
        let Some(c) = self.table.get(idx) else {
            return;
        };
        let Ok(uid_counter) = u32::try_from(created.uid_counter) else {
            return;
        };
        if c.app.is_some()
            || c.gathered.is_some()
            || c.gather_done
            || c.service.is_some()
            || c.tunnel.sides != 0
            || c.tunnel_parent.is_some()
            || c.orig.pkts + c.resp.pkts > 1
        {
            return;
        }
        let id = if created.flipped {
            ConnId {
                orig_h: c.id.resp_h,
                orig_p: c.id.resp_p,
                resp_h: c.id.orig_h,
                resp_p: c.id.orig_p,
                proto: c.id.proto,
            }
        } else {
            c.id
        };
        let f = Frozen {
            id,
            ip_proto: c.ip_proto,
            uid_counter,
            flipped: created.flipped,
            probes_left: c.app_probes_left,
            obs: *obs,
        };
        debug_assert_eq!(
            thaw(&f, self.uid_seed).record(false, false).values,
            c.record(false, false).values,
            "a compact entry rebuilds its connection"
        );
        let list = list_of(c);
        if self.compact.insert(&f, list) {
            self.table.remove(idx);
            self.tail_changed(list);
        }
    }

    /// Records activity on a connection (after its state was updated).
    pub fn touch(&mut self, idx: u32) {
        if let Some(c) = self.table.get(idx) {
            let (l, last) = (list_of(c), c.last);
            self.listed(l, last);
            if let Some(left) = self.table.touch(idx, l) {
                self.tail_changed(left);
            }
        }
    }

    pub fn remove(&mut self, idx: u32) -> Option<Conn> {
        // A tail may have gone: the next expiry looks at every list.
        self.due = i64::MIN;
        self.table.remove(idx).map(|(_, c)| c)
    }

    /// Takes out the least recently active connection of either kind.
    fn take_oldest(&mut self) -> Option<Conn> {
        let full = self.table.oldest(|c| c.last);
        let full_last = full.and_then(|i| self.table.get(i)).map(|c| c.last);
        match (full_last, self.compact.oldest_ts()) {
            (Some(f), Some(c)) if c < f => self.compact_oldest(),
            (None, Some(_)) => self.compact_oldest(),
            _ => full.and_then(|i| self.remove(i)),
        }
    }

    fn compact_oldest(&mut self) -> Option<Conn> {
        self.due = i64::MIN;
        let f = self.compact.pop_oldest()?;
        Some(thaw(&f, self.uid_seed))
    }

    /// Removes every connection idle past its timeout at `now`.
    pub fn expire(&mut self, now: i64, mut done: impl FnMut(Conn)) {
        if now < self.due {
            // What fits the compact table must not depend on whether
            // expiry had work: its dead entries go at every check.
            self.compact.reclaim();
            return;
        }
        for list in 0..LISTS {
            let timeout = timeout_of(list);
            while let Some(idx) = self.table.tail(list) {
                let expired = self.table.get(idx).is_some_and(|c| c.last + timeout <= now);
                if !expired {
                    break;
                }
                if let Some(c) = self.remove(idx) {
                    done(c);
                }
            }
            while let Some(f) = self.compact.pop_expired(list, now, timeout) {
                done(thaw(&f, self.uid_seed));
            }
        }
        self.due = i64::MAX;
        for list in 0..LISTS {
            self.tail_changed(list);
        }
    }

    /// Removes up to `max` connections, least recently active first (end of
    /// input, in steps so their records can be written as they come).
    pub fn drain_some(&mut self, max: usize, mut done: impl FnMut(Conn)) {
        for _ in 0..max {
            let Some(c) = self.take_oldest() else { break };
            done(c);
        }
    }

    /// Every open connection, for interim records.
    pub fn for_each(&self, mut f: impl FnMut(&Conn)) {
        for idx in self.table.indices() {
            if let Some(c) = self.table.get(idx) {
                f(c);
            }
        }
        self.compact.for_each(|fr| f(&thaw(&fr, self.uid_seed)));
    }
}

#[cfg(test)]
mod tests {
    use super::conn::{Effect, LinkFacts};
    use super::*;
    use std::net::Ipv4Addr;

    const S: i64 = 1_000_000;

    /// A UDP connection from 10.0.0.`host`, one packet at `ts`, kept full
    /// (as one with a second packet would be).
    fn udp(t: &mut ConnTable, host: u8, ts: i64) -> u32 {
        let (src, dst) = (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
        );
        let key = ConnKey::new(src, 1000, dst, 2000, Transport::Udp);
        let id = ConnId {
            orig_h: src,
            orig_p: 1000,
            resp_h: dst,
            resp_p: 2000,
            proto: Transport::Udp,
        };
        let (idx, _, _) = t.create(key, id, 17, ts);
        see(t, idx, ts, Effect::Udp(10));
        idx
    }

    fn see(t: &mut ConnTable, idx: u32, ts: i64, effect: Effect) {
        let obs = Observation {
            ts,
            is_orig: true,
            ip_len: 38,
            link: LinkFacts::default(),
            effect,
        };
        if let Some(c) = t.get_mut(idx) {
            c.apply(&obs);
        }
        t.touch(idx);
    }

    fn expired(t: &mut ConnTable, now: i64) -> Vec<i64> {
        let mut starts = Vec::new();
        t.expire(now, |c| starts.push(c.start / S));
        starts
    }

    #[test]
    fn expiry_waits_for_the_earliest_tail() {
        let mut t = ConnTable::new(16, 1);
        udp(&mut t, 1, 0);
        udp(&mut t, 2, 10 * S);
        assert!(expired(&mut t, 59 * S).is_empty());
        assert_eq!(expired(&mut t, 60 * S), [0]);
        assert!(expired(&mut t, 69 * S).is_empty());
        assert_eq!(expired(&mut t, 70 * S), [10]);
        assert!(t.is_empty());
    }

    #[test]
    fn an_entry_left_behind_a_moved_tail_expires_on_time() {
        // A packet that does not renew a connection (a bad checksum) still
        // moves it to the head of its list, so the list is no longer in
        // order of activity: the entry behind it becomes the tail when it
        // moves, and its deadline must count although it was listed first.
        let mut t = ConnTable::new(16, 1);
        let a = udp(&mut t, 1, 0);
        let b = udp(&mut t, 2, 30 * S);
        see(&mut t, b, 31 * S, Effect::BadChecksum);
        see(&mut t, a, 40 * S, Effect::BadChecksum);
        // The tail is b now (deadline 90 s); a, at the head, is due at 60 s
        // but only tails expire, and it expires once it is a tail again.
        assert!(expired(&mut t, 60 * S).is_empty());
        see(&mut t, b, 61 * S, Effect::Udp(10));
        assert_eq!(expired(&mut t, 62 * S), [0]);
        assert_eq!(expired(&mut t, 121 * S), [30]);
    }
}
