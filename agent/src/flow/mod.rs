//! Connection tracking with Zeek's conn.log semantics.

pub mod id;
