//! Interval batches: an interval's records, folded for the uplink as they
//! were made (`osect_engine::batch`, the engine's folding sink), with the
//! header that says who sent them and how the sensor fared.

use crate::config::Config;
use osect_wire::batch::{Batch, Header, Health};
use osect_wire::Record;

/// Builds batches for one device.
pub struct Batcher {
    pub device_id: String,
    pub site: String,
    pub aggregate: bool,
}

impl Batcher {
    pub fn new(cfg: &Config) -> Self {
        Batcher {
            device_id: cfg.device.id.clone(),
            site: cfg.device.site.clone().unwrap_or_default(),
            aggregate: cfg.batch.aggregate,
        }
    }

    /// The batch for one closed interval; with `aggregate` its records
    /// come folded from the engine.
    pub fn close(
        &self,
        seq: u64,
        start_us: i64,
        end_us: i64,
        records: Vec<Record>,
        health: Health,
    ) -> Batch {
        Batch {
            header: self.header(seq, start_us, end_us, records.len() as u64, health),
            records,
        }
    }

    /// The header of one closed interval's batch of `record_count` rows.
    pub fn header(
        &self,
        seq: u64,
        start_us: i64,
        end_us: i64,
        record_count: u64,
        health: Health,
    ) -> Header {
        Header {
            device_id: self.device_id.clone(),
            site: self.site.clone(),
            seq,
            interval_start_us: start_us,
            interval_end_us: end_us,
            agent_version: env!("CARGO_PKG_VERSION").into(),
            aggregated: self.aggregate,
            record_count,
            health,
            // This build writes no extension fields.
            unknown: Vec::new(),
        }
    }
}
