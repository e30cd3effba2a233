//! IP fragment reassembly, bounded by the number of packets in progress and
//! by the 64 KiB an IP packet can have.

use super::table::Table;
use std::net::IpAddr;

/// Fragments older than this are dropped.
pub const FRAG_TIMEOUT_US: i64 = 60_000_000;
const MAX_PACKET: usize = 65_535;
const MAX_PIECES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ident: u32,
    pub proto: u8,
}

struct Partial {
    first: i64,
    data: Vec<u8>,
    /// Received byte ranges of the payload.
    pieces: Vec<(usize, usize)>,
    /// Payload length, known once the last fragment arrived.
    total: Option<usize>,
}

/// A reassembled payload.
pub struct Whole {
    pub payload: Vec<u8>,
}

pub struct FragTable {
    table: Table<FragKey, Partial, 1>,
    /// Fragments dropped as malformed (overlong, too many pieces).
    pub dropped: u64,
    /// Packets given up on after the timeout.
    pub timed_out: u64,
}

impl FragTable {
    pub fn new(capacity: usize) -> Self {
        FragTable {
            table: Table::new(capacity),
            dropped: 0,
            timed_out: 0,
        }
    }

    pub fn evicted(&self) -> u64 {
        self.table.evicted
    }

    /// Adds a fragment's payload at byte `offset`; returns the whole payload
    /// once every byte is there.
    pub fn add(
        &mut self,
        ts: i64,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
    ) -> Option<Whole> {
        self.expire(ts);
        let end = offset + data.len();
        if end > MAX_PACKET {
            self.dropped += 1;
            return None;
        }
        let idx = match self.table.find(&key) {
            Some(i) => i,
            None => {
                let p = Partial {
                    first: ts,
                    data: Vec::new(),
                    pieces: Vec::new(),
                    total: None,
                };
                self.table.insert(key, p, 0, |p| p.first).0
            }
        };
        let p = self.table.get_mut(idx)?;
        if p.pieces.len() >= MAX_PIECES {
            self.dropped += 1;
            self.table.remove(idx);
            return None;
        }
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        p.data[offset..end].copy_from_slice(data);
        p.pieces.push((offset, end));
        if !more {
            p.total = Some(end);
        }
        let total = p.total?;
        // Complete when the pieces cover 0..total.
        p.pieces.sort_unstable();
        let mut covered = 0;
        for &(s, e) in &p.pieces {
            if s > covered {
                return None;
            }
            covered = covered.max(e);
        }
        if covered < total {
            return None;
        }
        let (_, mut p) = self.table.remove(idx)?;
        p.data.truncate(total);
        Some(Whole { payload: p.data })
    }

    fn expire(&mut self, now: i64) {
        while let Some(idx) = self.table.tail(0) {
            let old = self
                .table
                .get(idx)
                .is_some_and(|p| p.first + FRAG_TIMEOUT_US < now);
            if !old {
                break;
            }
            self.table.remove(idx);
            self.timed_out += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key() -> FragKey {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        FragKey {
            src: a,
            dst: a,
            ident: 7,
            proto: 17,
        }
    }

    #[test]
    fn out_of_order_fragments() {
        let mut t = FragTable::new(4);
        assert!(t.add(0, key(), 8, false, &[2; 4]).is_none());
        let w = t.add(1, key(), 0, true, &[1; 8]).unwrap();
        assert_eq!(w.payload, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
    }

    #[test]
    fn bounded() {
        let mut t = FragTable::new(2);
        for i in 0..10 {
            let mut k = key();
            k.ident = i;
            t.add(0, k, 0, true, &[0; 8]);
        }
        assert_eq!(t.evicted(), 8);
        assert!(t.add(0, key(), 70_000, false, &[0; 8]).is_none());
        assert_eq!(t.dropped, 1);
    }
}
