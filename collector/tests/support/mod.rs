//! Batches for the collector's tests.

use osect_wire::batch::{self, Batch, Header};
use osect_wire::{FieldType, LogSchema, Record, Value};

/// A batch of `records` from `device` whose one-minute interval starts
/// `seq` minutes after `t0`.
pub fn encode(device: &str, site: &str, seq: u64, t0: i64, records: Vec<Record>) -> Vec<u8> {
    let start = t0 + seq as i64 * 60_000_000;
    let b = Batch {
        header: Header {
            device_id: device.into(),
            site: site.into(),
            seq,
            interval_start_us: start,
            interval_end_us: start + 60_000_000,
            agent_version: "0.1.0".into(),
            ..Header::default()
        },
        records,
    };
    batch::encode(&b, 3, None).unwrap()
}

/// The project's schema of the log `path`.
pub fn project_schema(path: &str) -> &'static LogSchema {
    osect_engine::protocols::log_schemas()
        .into_iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("the engine writes no {path} log"))
}

/// A row of `schema`: times `t`, strings `text`, counts 7, the rest unset.
pub fn row(schema: &'static LogSchema, t: i64, text: &str) -> Record {
    Record {
        schema,
        values: schema
            .fields
            .iter()
            .map(|f| match f.ty {
                FieldType::Time => Value::Time(t),
                FieldType::String => Value::from(text),
                FieldType::Count => Value::Count(7),
                _ => Value::Unset,
            })
            .collect(),
    }
}
