//! Synthetic OT traffic: frames with valid checksums written as pcap.
//!
//! [`frame`] builds Ethernet/802.1Q/IPv4/TCP/UDP/ARP frames, [`link`] the
//! other link layers and the tunnels around them, [`tcp`] whole
//! TCP conversations (handshake, acknowledged data, close), [`proto`] the
//! messages of each industrial protocol from its specification, and
//! [`scenario`] puts them together: one scenario per protocol (a read, a
//! write, an error, run/stop, an identity exchange, a message split across
//! segments, a session joined mid-stream) and `plant`, a small factory over a
//! chosen duration. Everything is deterministic from a seed.

pub mod day;
pub mod frame;
pub mod hostile;
pub mod it_sessions;
pub mod link;
pub mod lldp;
pub mod pcap;
pub mod proto;
pub mod rng;
pub mod scenario;
pub mod tcp;
