//! `osect-agent`: a passive OT network sensor.
//!
//! The core (decoding, flow tracking, application parsers, record building)
//! is the sans-IO `osect-engine` crate: it takes byte slices and timestamps
//! and returns records. This crate is the I/O shell around it: pcap files,
//! the AF_PACKET ring, the configuration, the spool, the uplink and the
//! commands.

pub mod batch;
pub mod capture;
pub mod config;
pub use osect_pcap as pcap;
pub mod replay;
pub mod run;
pub mod selftest;
pub mod spool;
pub mod uplink;
