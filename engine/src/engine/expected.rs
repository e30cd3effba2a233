//! Connections announced by a parser (an FTP data channel from PORT,
//! PASV, EPRT or EPSV), as Zeek's `Analyzer::schedule_analyzer` keeps
//! them: for five minutes, every new TCP connection from the announced
//! originator to the announced responder address and port gets the
//! announced service.

use crate::flow::id::{ConnId, Transport};
use crate::over_ip::Expected;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// How long an announcement holds (Zeek's FTP scripts schedule the data
/// analyzer for 5 minutes).
const LIFETIME_US: i64 = 5 * 60 * 1_000_000;

/// Originator, responder and responder port of an announced connection.
type Key = (IpAddr, IpAddr, u16);

pub(super) struct ExpectedConns {
    /// Each announced connection's expiry and service: every new TCP
    /// connection looks itself up here, so the lookup is a hash, not a scan.
    live: FxHashMap<Key, (i64, &'static str)>,
    /// Announcements oldest first, with the time each expires; one whose
    /// expiry no longer matches `live` was announced again since and is
    /// skipped.
    order: VecDeque<(i64, Key)>,
    capacity: usize,
    pub evicted: u64,
}

impl ExpectedConns {
    pub fn new(capacity: usize) -> ExpectedConns {
        ExpectedConns {
            live: FxHashMap::default(),
            order: VecDeque::new(),
            capacity,
            evicted: 0,
        }
    }

    /// Records an announcement made at `ts`; a repeated one starts again.
    pub fn add(&mut self, ts: i64, e: Expected) {
        if self.capacity == 0 {
            self.evicted += 1;
            return;
        }
        let key = (e.orig_h, e.resp_h, e.resp_p);
        let until = ts.saturating_add(LIFETIME_US);
        match self.live.get(&key) {
            Some((u, _)) if *u == until => {}
            Some(_) => self.order.push_back((until, key)),
            None => {
                if self.live.len() >= self.capacity {
                    self.drop_oldest();
                    self.evicted += 1;
                }
                self.order.push_back((until, key));
            }
        }
        self.live.insert(key, (until, e.service));
        // Renewed announcements leave stale entries behind; dropping them
        // keeps `order` within twice the table's bound.
        if self.order.len() > 2 * self.capacity {
            let live = &self.live;
            self.order
                .retain(|(u, k)| live.get(k).is_some_and(|(lu, _)| lu == u));
        }
    }

    /// Takes the oldest live announcement off both structures.
    fn drop_oldest(&mut self) {
        while let Some((u, k)) = self.order.pop_front() {
            if self.live.get(&k).is_some_and(|(lu, _)| *lu == u) {
                self.live.remove(&k);
                return;
            }
        }
    }

    /// The service announced for a connection that starts at `ts`.
    pub fn service(&mut self, ts: i64, id: &ConnId) -> Option<&'static str> {
        while let Some(&(u, k)) = self.order.front().filter(|(u, _)| *u < ts) {
            self.order.pop_front();
            if self.live.get(&k).is_some_and(|(lu, _)| *lu == u) {
                self.live.remove(&k);
            }
        }
        if id.proto != Transport::Tcp {
            return None;
        }
        self.live
            .get(&(id.orig_h, id.resp_h, id.resp_p))
            .map(|(_, service)| *service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn conn(orig: u8, resp: u8, port: u16, proto: Transport) -> ConnId {
        ConnId {
            orig_h: ip(orig),
            orig_p: 40_000,
            resp_h: ip(resp),
            resp_p: port,
            proto,
        }
    }

    const DATA: Expected = Expected {
        orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        resp_p: 5001,
        service: "ftp-data",
    };

    #[test]
    fn matches_the_announced_tcp_connection_until_it_expires() {
        let mut t = ExpectedConns::new(4);
        t.add(0, DATA);
        assert_eq!(
            t.service(1, &conn(1, 2, 5001, Transport::Tcp)),
            Some("ftp-data")
        );
        // Another port, the other way round, or UDP: not announced.
        assert_eq!(t.service(1, &conn(1, 2, 5002, Transport::Tcp)), None);
        assert_eq!(t.service(1, &conn(2, 1, 5001, Transport::Tcp)), None);
        assert_eq!(t.service(1, &conn(1, 2, 5001, Transport::Udp)), None);
        assert_eq!(
            t.service(LIFETIME_US + 1, &conn(1, 2, 5001, Transport::Tcp)),
            None
        );
    }

    #[test]
    fn a_full_table_evicts_the_oldest_and_counts_it() {
        let mut t = ExpectedConns::new(2);
        for p in 1..=3 {
            t.add(0, Expected { resp_p: p, ..DATA });
        }
        assert_eq!(t.evicted, 1);
        assert_eq!(t.service(1, &conn(1, 2, 1, Transport::Tcp)), None);
        assert_eq!(
            t.service(1, &conn(1, 2, 3, Transport::Tcp)),
            Some("ftp-data")
        );
    }

    #[test]
    fn a_renewed_announcement_lives_on_and_leaves_the_table_bounded() {
        let mut t = ExpectedConns::new(2);
        for ts in 0..100 {
            t.add(ts, DATA);
        }
        assert!(t.order.len() <= 4, "{}", t.order.len());
        assert_eq!(t.evicted, 0);
        // Still announced after the first announcement's lifetime.
        assert_eq!(
            t.service(LIFETIME_US + 50, &conn(1, 2, 5001, Transport::Tcp)),
            Some("ftp-data")
        );
        // Eviction goes by the last announcement: port 7, announced after
        // the renewed one's last time, stays when a third comes.
        t.add(100, Expected { resp_p: 7, ..DATA });
        t.add(101, Expected { resp_p: 8, ..DATA });
        assert_eq!(t.evicted, 1);
        assert_eq!(t.service(102, &conn(1, 2, 5001, Transport::Tcp)), None);
        assert_eq!(
            t.service(102, &conn(1, 2, 7, Transport::Tcp)),
            Some("ftp-data")
        );
    }
}
