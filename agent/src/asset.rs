//! The asset ledger: one record per device per interval.

use crate::flow::id::Mac;
use crate::sink::RecordSink;
use std::net::IpAddr;

/// Devices seen in the current interval, bounded by `limits.assets`.
pub struct AssetTable {
    capacity: usize,
}

impl AssetTable {
    pub fn new(capacity: usize) -> Self {
        AssetTable { capacity }
    }

    /// A host was seen sending from `mac` with source address `ip`.
    pub fn observe_host(&mut self, _ts: i64, _mac: Mac, _ip: Option<IpAddr>, _vlan: Option<u16>) {
        let _ = self.capacity;
    }

    /// Writes one `asset` record per device seen in the interval ending at `ts`.
    pub fn emit(&mut self, _ts: i64, _out: &mut RecordSink) {}
}
