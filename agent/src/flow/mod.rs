//! Connection tracking with Zeek's conn.log semantics, in bounded tables.

pub mod conn;
pub mod frag;
pub mod history;
pub mod id;
pub mod table;
pub mod tcp;

use conn::Conn;
use id::{ConnId, Transport};
use std::net::IpAddr;
use table::Table;

/// Zeek's default inactivity timeouts, and the delay after which a closed
/// TCP connection is forgotten (so a reused tuple starts a new one).
pub const TCP_INACTIVITY_US: i64 = 300_000_000;
pub const UDP_INACTIVITY_US: i64 = 60_000_000;
pub const ICMP_INACTIVITY_US: i64 = 60_000_000;
pub const TCP_CLOSE_DELAY_US: i64 = 5_000_000;
/// Zeek forgets a DNS exchange sooner than other UDP: its DNS analyzer
/// checks every 10 s and ends a session idle for 9 s.
pub const DNS_SESSION_US: i64 = 9_000_000;

/// The recency lists, by how soon their entries expire.
const LIST_CLOSED: usize = 0;
const LIST_DNS: usize = 1;
const LIST_DATAGRAM: usize = 2;
const LIST_TCP: usize = 3;
const LISTS: usize = 4;

/// A direction-independent key: the two endpoints in a fixed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnKey {
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    proto: Transport,
}

impl ConnKey {
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: Transport) -> Self {
        let (a, b) = if (src, sport) <= (dst, dport) {
            ((src, sport), (dst, dport))
        } else {
            ((dst, dport), (src, sport))
        };
        ConnKey { a, b, proto }
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
pub struct ConnTable {
    table: Table<ConnKey, Conn, LISTS>,
    next_uid: u64,
    uid_seed: u64,
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

impl ConnTable {
    pub fn new(capacity: usize, uid_seed: u64) -> Self {
        ConnTable {
            table: Table::new(capacity),
            next_uid: 0,
            uid_seed,
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn evicted(&self) -> u64 {
        self.table.evicted
    }

    pub fn find(&self, key: &ConnKey) -> Option<u32> {
        self.table.find(key)
    }

    pub fn get(&self, idx: u32) -> Option<&Conn> {
        self.table.get(idx)
    }

    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Conn> {
        self.table.get_mut(idx)
    }

    /// A fresh uid: deterministic for a given seed and order of connections,
    /// scrambled so uids do not look sequential.
    fn uid(&mut self) -> u64 {
        self.next_uid += 1;
        let mut x = self.next_uid ^ self.uid_seed;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// Creates a connection; returns its index and the connection evicted to
    /// make room, if any.
    pub fn create(
        &mut self,
        key: ConnKey,
        id: ConnId,
        ip_proto: u8,
        ts: i64,
    ) -> (u32, Option<Conn>) {
        let uid = self.uid();
        let conn = Conn::new(id, ip_proto, uid, ts);
        let list = list_of(&conn);
        let (idx, ev) = self.table.insert(key, conn, list, |c| c.last);
        (idx, ev.map(|(_, c)| c))
    }

    /// Records activity on a connection (after its state was updated).
    pub fn touch(&mut self, idx: u32) {
        if let Some(c) = self.table.get(idx) {
            let l = list_of(c);
            self.table.touch(idx, l);
        }
    }

    pub fn remove(&mut self, idx: u32) -> Option<Conn> {
        self.table.remove(idx).map(|(_, c)| c)
    }

    /// Removes every connection idle past its timeout at `now`.
    pub fn expire(&mut self, now: i64, mut done: impl FnMut(Conn)) {
        for list in 0..LISTS {
            while let Some(idx) = self.table.tail(list) {
                let expired = self
                    .table
                    .get(idx)
                    .is_some_and(|c| c.last + timeout_of(list) <= now);
                if !expired {
                    break;
                }
                if let Some(c) = self.remove(idx) {
                    done(c);
                }
            }
        }
    }

    /// Removes up to `max` connections, least recently active first (end of
    /// input, in steps so their records can be written as they come).
    pub fn drain_some(&mut self, max: usize, mut done: impl FnMut(Conn)) {
        for _ in 0..max {
            let oldest = (0..LISTS)
                .filter_map(|l| self.table.tail(l))
                .min_by_key(|&i| self.table.get(i).map_or(i64::MIN, |c| c.last));
            let Some(idx) = oldest else { break };
            if let Some(c) = self.remove(idx) {
                done(c);
            }
        }
    }

    /// Every open connection, for interim records.
    pub fn for_each(&self, mut f: impl FnMut(&Conn)) {
        for idx in self.table.indices() {
            if let Some(c) = self.table.get(idx) {
                f(c);
            }
        }
    }
}
