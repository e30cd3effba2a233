//! `osect-engine`: the sensor's sans-IO core.
//!
//! Frames and timestamps in, records out: decoding (`decode`), flow tracking
//! (`flow`), the application parsers over TCP and UDP (`app`), the protocols
//! carried directly on Ethernet (`l2`), the asset and neighbour tables, and
//! the folding of an interval's rows for batches. Nothing here reads a file,
//! a socket or a clock; the agent (`osect-agent`) wraps it with capture,
//! pcap reading, the spool and the uplink.

pub mod app;
pub mod asset;
pub mod batch;
pub mod bytes;
pub mod decode;
pub mod engine;
pub mod flow;
pub mod l2;
pub mod limits;
pub mod neighbor;
pub mod protocols;
pub mod sink;
pub mod text;
