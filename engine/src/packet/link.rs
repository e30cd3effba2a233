//! Capture link types (the pcap `LINKTYPE_*` numbers).

/// A link type; unknown values are kept, counted and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const PPP: LinkType = LinkType(9);
    pub const FDDI: LinkType = LinkType(10);
    /// PPP in HDLC-like framing (RFC 1662): address, control, protocol.
    pub const PPP_SERIAL: LinkType = LinkType(50);
    pub const RAW_OLD: LinkType = LinkType(12);
    pub const RAW_OLD2: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const IEEE802_11: LinkType = LinkType(105);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    pub const NFLOG: LinkType = LinkType(239);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}
