//! The record model shared by `osect-agent` and `osect-collector`.
//!
//! A record is a row of typed [`Value`]s described by a static [`LogSchema`]
//! (Zeek's log path, field names and types). The writers turn rows into
//! Zeek's TSV log format or JSON lines with Zeek's field names.
#![deny(unsafe_code)]

pub mod batch;
pub mod name;
pub mod protocol;
pub mod record;
pub mod zeek;

pub use record::{Field, FieldType, Key, LogSchema, Record, Text, Value};
pub use zeek::{Format, LogWriter};
