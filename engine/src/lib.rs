//! `osect-engine`: the sensor's sans-IO core.
//!
//! Frames and timestamps in, records out: the headers every packet carries,
//! Ethernet to TCP/UDP and tunnels (`packet`), flow tracking (`flow`), the
//! protocols carried over IP, on TCP and UDP (`over_ip`), the protocols
//! carried directly in Ethernet frames (`over_ethernet`), the registry of
//! both (`protocols`), the asset and neighbour tables, and
//! the folding of an interval's rows for batches. Nothing here reads a file,
//! a socket or a clock; the agent (`osect-agent`) wraps it with capture,
//! pcap reading, the spool and the uplink.

pub mod asset;
pub mod batch;
pub mod ber;
pub mod bytes;
pub mod engine;
pub mod flow;
pub mod limits;
pub mod neighbor;
pub mod over_ethernet;
pub mod over_ip;
pub mod packet;
pub mod protocols;
pub mod sink;
pub mod text;
