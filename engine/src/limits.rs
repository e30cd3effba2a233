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
    /// Records held for the open interval before new ones are dropped and counted.
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
            records_per_interval: 250_000,
            folded_bytes: 8 << 20,
        }
    }
}
