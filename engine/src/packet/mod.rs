//! The headers every packet carries, L2 to L4 (Ethernet, VLAN, MPLS, IP,
//! TCP, UDP, ICMP, tunnels): pure functions over byte slices that return
//! small views. Every length read from the wire is checked before use; a
//! header that does not fit is [`Error::Truncated`], one that contradicts
//! itself is [`Error::Malformed`] (the engine's one error for bytes that are
//! not a message, [`crate::bytes::Error`]).

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod tcp;
pub mod tunnel;
pub mod udp;

pub use link::LinkType;

pub use crate::bytes::Error;

pub type Result<T> = core::result::Result<T, Error>;

/// [`crate::bytes::be16`], past the end a truncated header.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Result<u16> {
    crate::bytes::be16(b, at).ok_or(Error::Truncated)
}

/// [`crate::bytes::be32`], past the end a truncated header.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Result<u32> {
    crate::bytes::be32(b, at).ok_or(Error::Truncated)
}

#[inline]
pub(crate) fn byte(b: &[u8], at: usize) -> Result<u8> {
    b.get(at).copied().ok_or(Error::Truncated)
}

#[inline]
pub(crate) fn mac(b: &[u8], at: usize) -> Result<[u8; 6]> {
    mac_ref(b, at).copied()
}

/// The six bytes of a MAC address in place: the link layer hands references
/// down, so no byte-wise copy is made and read back at another width.
#[inline]
pub(crate) fn mac_ref(b: &[u8], at: usize) -> Result<&[u8; 6]> {
    b.get(at..at + 6)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::Truncated)
}
