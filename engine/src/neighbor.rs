//! The `arp` and `ns` logs: who asked for which address and who answered,
//! one row per distinct exchange per interval.

use crate::flow::id::{fmt_mac, Mac};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Record, Value};
use rustc_hash::FxHashMap;
use std::net::IpAddr;

const FIELDS: &[osect_wire::Field] = &[
    field("ts", T::Time),
    field("ts_end", T::Time),
    field("operation", T::String),
    field("orig_mac", T::String),
    field("orig_ip", T::Addr),
    field("resp_mac", T::String),
    field("resp_ip", T::Addr),
    field("who_has", T::Addr),
    field("vlan", T::Int),
    field("pkts", T::Count),
];

pub static ARP_LOG: LogSchema = LogSchema {
    path: "arp",
    fields: FIELDS,
};

pub static NS_LOG: LogSchema = LogSchema {
    path: "ns",
    fields: FIELDS,
};

/// One exchange: a request from `orig` for `who_has`, or the reply from
/// `resp` to `orig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Exchange {
    pub v6: bool,
    pub reply: bool,
    pub orig_mac: Option<Mac>,
    pub orig_ip: Option<IpAddr>,
    pub resp_mac: Option<Mac>,
    pub resp_ip: Option<IpAddr>,
    pub who_has: IpAddr,
    pub vlan: Option<u16>,
}

struct Seen {
    first: i64,
    last: i64,
    pkts: u64,
}

/// Exchanges of the current interval, bounded by `capacity`.
pub struct Neighbors {
    seen: FxHashMap<Exchange, Seen>,
    capacity: usize,
    /// Exchanges not logged because the table was full.
    pub dropped: u64,
}

impl Neighbors {
    pub fn new(capacity: usize) -> Self {
        Neighbors {
            seen: FxHashMap::default(),
            capacity,
            dropped: 0,
        }
    }

    pub fn observe(&mut self, ts: i64, ex: Exchange) {
        let full = self.seen.len() >= self.capacity;
        match self.seen.get_mut(&ex) {
            Some(s) => {
                s.last = ts;
                s.pkts += 1;
            }
            None if full => self.dropped += 1,
            None => {
                self.seen.insert(
                    ex,
                    Seen {
                        first: ts,
                        last: ts,
                        pkts: 1,
                    },
                );
            }
        }
    }

    /// Writes the interval's rows (oldest first) and starts a new interval.
    pub fn emit(&mut self, mut out: impl FnMut(Record)) {
        let mut rows: Vec<(Exchange, Seen)> = self.seen.drain().collect();
        rows.sort_by_key(|(e, s)| (s.first, e.reply));
        for (e, s) in rows {
            let mac = |m: Option<Mac>| m.map(|m| fmt_mac(&m)).into();
            out(Record {
                schema: if e.v6 { &NS_LOG } else { &ARP_LOG },
                values: vec![
                    Value::Time(s.first),
                    Value::Time(s.last),
                    Value::from(if e.reply { "reply" } else { "request" }),
                    mac(e.orig_mac),
                    e.orig_ip.into(),
                    mac(e.resp_mac),
                    e.resp_ip.into(),
                    Value::Addr(e.who_has),
                    e.vlan.map_or(Value::Unset, |v| Value::Int(i64::from(v))),
                    Value::Count(s.pkts),
                ],
            });
        }
    }
}
