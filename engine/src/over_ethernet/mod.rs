//! Protocols carried directly in Ethernet frames, without IP (LLDP, CDP,
//! PROFINET DCP, CC-Link IE Field/Control). The engine hands every frame
//! whose EtherType (or LLC/SNAP header) is not IP or ARP to [`handle`].

// The protocol folders, from the registry's list.
use crate::protocols::{declare_modules, each_protocol};
each_protocol!(declare_modules over_ethernet;);

use crate::flow::id::Mac;
use crate::over_ip::Output;

/// One non-IP frame after the Ethernet and VLAN headers.
pub struct Frame<'a> {
    pub ts: i64,
    pub src: Mac,
    pub dst: Mac,
    pub vlan: Option<u16>,
    /// The EtherType, or 0 for an 802.3 length field (then `payload` starts
    /// with the LLC header).
    pub ethertype: u16,
    pub payload: &'a [u8],
}

/// Decodes a non-IP frame into records and asset facts. Returns whether a
/// decoder recognised it.
pub fn handle(frame: &Frame<'_>, out: &mut Output<'_>) -> bool {
    crate::protocols::ethernet_decoders()
        .iter()
        .any(|handle| handle(frame, out))
}
