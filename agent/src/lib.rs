//! `osect-agent`: a passive OT network sensor.
//!
//! The core (decoding, flow tracking, application parsers, record building)
//! is sans-IO: it takes byte slices and timestamps and returns records. The
//! I/O shell (pcap files, the AF_PACKET ring, spool, uplink) wraps it.

pub mod app;
pub mod asset;
pub mod batch;
pub mod capture;
pub mod config;
pub mod decode;
pub mod engine;
pub mod flow;
pub mod l2;
pub mod neighbor;
pub mod pcap;
pub mod replay;
pub mod run;
pub mod selftest;
pub mod sink;
pub mod spool;
pub mod uplink;
