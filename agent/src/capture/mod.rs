//! Live capture: the platform I/O that feeds the sans-IO engine.
//!
//! All `unsafe` code of the agent's capture path (the memory-mapped packet
//! ring and its kernel headers) is confined to [`afpacket`].

pub mod afpacket;

pub use afpacket::{AfPacketRing, KernelStats};

#[cfg(test)]
mod veth_test;
