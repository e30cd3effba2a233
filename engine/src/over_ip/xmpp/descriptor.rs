//! What XMPP is to the engine and the core.

use crate::flow::id::Transport;
use crate::protocols::{Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "xmpp",
        // Zeek's XMPP analyzer writes no log: it names the service and
        // hands the stream to SSL after STARTTLS.
        logs: &[],
        industrial: false,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        // By port, after every probe that reads content (5269, servers to
        // each other, too).
        precedence: 890,
        ports: &[(Transport::Tcp, 5222)],
    },
    roles: &[],
    identities: &[],
};
