//! Capacities of the engine's tables. The agent's configuration reads them
//! from its `[limits]` section.

use serde::Deserialize;

/// Capacities of every table; when one is full the least recently active
/// entry is evicted and counted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub connections: usize,
    pub fragments: usize,
    /// Bytes buffered per TCP direction for in-order application parsing.
    pub reassembly_bytes_per_flow: usize,
    /// Flows with application parser state at once.
    pub app_flows: usize,
    /// Undecided TCP connections gathering their first bytes (up to 1 KiB
    /// each) for protocol detection at once.
    pub dpd_buffers: usize,
    pub assets: usize,
    pub arp_entries: usize,
    /// Rows one interval's batch may hold (rows handed to it as they come,
    /// folded rows, a key once in each part of its folded log) before new
    /// ones are dropped and counted, shared by the capture workers of one
    /// batch; at most what a collector takes in one (its default is
    /// 1,000,000). Where the batch is written as rows come (a file, one
    /// live worker) they are held compressed (2 to 7 bytes a row); several
    /// live workers hold their shares as records until the interval closes.
    pub records_per_interval: usize,
    /// Bytes an interval's folded rows (`run`'s batches) may take before
    /// they are written into its batch as a part and folding starts afresh.
    pub folded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 1_000_000,
            fragments: 4096,
            reassembly_bytes_per_flow: 16 * 1024,
            app_flows: 65_536,
            dpd_buffers: 4096,
            assets: 65_536,
            arp_entries: 65_536,
            records_per_interval: 500_000,
            folded_bytes: 8 << 20,
        }
    }
}
