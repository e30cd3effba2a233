//! Connections announced by a parser (an FTP data channel from PORT,
//! PASV, EPRT or EPSV), as Zeek's `Analyzer::schedule_analyzer` keeps
//! them: for five minutes, every new TCP connection from the announced
//! originator to the announced responder address and port gets the
//! announced service.

use crate::flow::id::{ConnId, Transport};
use crate::over_ip::Expected;
use std::collections::VecDeque;

/// How long an announcement holds (Zeek's FTP scripts schedule the data
/// analyzer for 5 minutes).
const LIFETIME_US: i64 = 5 * 60 * 1_000_000;

pub(super) struct ExpectedConns {
    /// Oldest first, with the time each expires.
    entries: VecDeque<(i64, Expected)>,
    capacity: usize,
    pub evicted: u64,
}

impl ExpectedConns {
    pub fn new(capacity: usize) -> ExpectedConns {
        ExpectedConns {
            entries: VecDeque::new(),
            capacity,
            evicted: 0,
        }
    }

    /// Records an announcement made at `ts`; a repeated one starts again.
    pub fn add(&mut self, ts: i64, e: Expected) {
        self.entries.retain(|(_, x)| *x != e);
        if self.capacity == 0 {
            self.evicted += 1;
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
            self.evicted += 1;
        }
        self.entries.push_back((ts.saturating_add(LIFETIME_US), e));
    }

    /// The service announced for a connection that starts at `ts`.
    pub fn service(&mut self, ts: i64, id: &ConnId) -> Option<&'static str> {
        while self.entries.front().is_some_and(|(until, _)| *until < ts) {
            self.entries.pop_front();
        }
        if id.proto != Transport::Tcp {
            return None;
        }
        self.entries
            .iter()
            .rev()
            .find(|(_, e)| e.orig_h == id.orig_h && e.resp_h == id.resp_h && e.resp_p == id.resp_p)
            .map(|(_, e)| e.service)
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
}
