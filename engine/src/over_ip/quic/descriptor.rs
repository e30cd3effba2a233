//! What QUIC (its TLS handshake goes to `ssl.log`'s parser; it writes no log of its own) is to the engine and the core.

use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "quic",
        logs: &[],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 200,
    },
    roles: &[],
};
