//! Link-layer framing down to the network protocol: Ethernet II, 802.1Q and
//! QinQ, MPLS, PPPoE, LLC/SNAP, Linux cooked capture, BSD loopback, PPP,
//! raw IP and 802.11 data frames (with or without radiotap).

use super::{be16, byte, mac_ref, Error, LinkType, Result};
use crate::flow::id::Mac;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_PPPOE: u16 = 0x8864;
const MAX_TAGS: usize = 8;

/// What the link layer says about a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2<'a> {
    pub src: Option<&'a Mac>,
    pub dst: Option<&'a Mac>,
    /// Outer and inner 802.1Q VLAN ids.
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
    /// The network protocol's EtherType; 0 for an 802.3 frame whose
    /// `payload` starts with an LLC header that is not SNAP.
    pub ethertype: u16,
    pub payload: &'a [u8],
}

impl<'a> L2<'a> {
    fn bare(ethertype: u16, payload: &'a [u8]) -> Self {
        L2 {
            src: None,
            dst: None,
            vlan: None,
            inner_vlan: None,
            ethertype,
            payload,
        }
    }
}

/// Decodes the link layer. `Ok(None)` means the link type is not supported.
#[inline]
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Option<L2<'_>>> {
    let l2 = match link {
        LinkType::ETHERNET => ethernet(frame)?,
        LinkType::NULL | LinkType::LOOP => {
            let fam = frame.get(..4).ok_or(Error::Truncated)?;
            let fam = if link == LinkType::NULL {
                // Host byte order of the capturing machine: accept both.
                let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
                if le < 256 {
                    le
                } else {
                    u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]])
                }
            } else {
                u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]])
            };
            let et = match fam {
                2 => ETHERTYPE_IPV4,
                24 | 28 | 30 => ETHERTYPE_IPV6,
                _ => return Err(Error::malformed("loopback address family", 0)),
            };
            L2::bare(et, &frame[4..])
        }
        LinkType::RAW | LinkType::RAW_OLD | LinkType::RAW_OLD2 => raw_ip(frame)?,
        LinkType::IPV4 => L2::bare(ETHERTYPE_IPV4, frame),
        LinkType::IPV6 => L2::bare(ETHERTYPE_IPV6, frame),
        LinkType::LINUX_SLL => {
            let proto = be16(frame, 14)?;
            let alen = be16(frame, 4)?;
            let mut l2 = L2::bare(proto, &frame[16..]);
            if alen == 6 {
                l2.src = Some(mac_ref(frame, 6)?);
            }
            tagged(l2)?
        }
        LinkType::LINUX_SLL2 => {
            let proto = be16(frame, 0)?;
            let alen = byte(frame, 11)?;
            let payload = frame.get(20..).ok_or(Error::Truncated)?;
            let mut l2 = L2::bare(proto, payload);
            if alen == 6 {
                l2.src = Some(mac_ref(frame, 12)?);
            }
            tagged(l2)?
        }
        LinkType::PPP => {
            let mut p = frame;
            if p.len() >= 2 && p[0] == 0xff && p[1] == 0x03 {
                p = &p[2..];
            }
            let proto = be16(p, 0)?;
            L2::bare(ppp_to_ethertype(proto)?, &p[2..])
        }
        LinkType::IEEE802_11 => ieee80211(frame)?,
        LinkType::IEEE802_11_RADIOTAP => {
            let len = usize::from(u16::from_le_bytes([byte(frame, 2)?, byte(frame, 3)?]));
            ieee80211(frame.get(len..).ok_or(Error::Truncated)?)?
        }
        _ => return Ok(None),
    };
    Ok(Some(l2))
}

fn raw_ip(frame: &[u8]) -> Result<L2<'_>> {
    let et = match byte(frame, 0)? >> 4 {
        4 => ETHERTYPE_IPV4,
        6 => ETHERTYPE_IPV6,
        _ => return Err(Error::malformed("IP version", 0)),
    };
    Ok(L2::bare(et, frame))
}

fn ppp_to_ethertype(proto: u16) -> Result<u16> {
    match proto {
        0x0021 => Ok(ETHERTYPE_IPV4),
        0x0057 => Ok(ETHERTYPE_IPV6),
        // Link control and other PPP protocols carry no IP.
        _ => Ok(0),
    }
}

/// An Ethernet II frame that carries IP or ARP directly, the common case;
/// `None` for anything else, which [`framed`] decodes.
#[inline(always)]
pub fn untagged(frame: &[u8]) -> Option<L2<'_>> {
    let et = be16(frame, 12).ok()?;
    if !matches!(et, ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP) {
        return None;
    }
    Some(L2 {
        src: Some(mac_ref(frame, 6).ok()?),
        dst: Some(mac_ref(frame, 0).ok()?),
        vlan: None,
        inner_vlan: None,
        ethertype: et,
        payload: &frame[14..],
    })
}

/// An Ethernet II or 802.3 frame.
#[inline]
pub fn ethernet(frame: &[u8]) -> Result<L2<'_>> {
    match untagged(frame) {
        Some(l2) => Ok(l2),
        None => framed(frame),
    }
}

/// An Ethernet frame that [`untagged`] leaves: 802.3, or with tags.
pub fn framed(frame: &[u8]) -> Result<L2<'_>> {
    let mut l2 = L2 {
        dst: Some(mac_ref(frame, 0)?),
        src: Some(mac_ref(frame, 6)?),
        vlan: None,
        inner_vlan: None,
        ethertype: be16(frame, 12)?,
        payload: &frame[14..],
    };
    let et = l2.ethertype;
    if et <= 1500 {
        // 802.3 length field: the payload is that long (padding follows).
        let n = usize::from(et).min(l2.payload.len());
        l2.payload = &l2.payload[..n];
        l2.ethertype = 0;
        l2 = llc(l2)?;
    }
    tagged(l2)
}

/// Unwraps VLAN tags, MPLS labels, PPPoE and SNAP until a network protocol.
fn tagged(mut l2: L2<'_>) -> Result<L2<'_>> {
    for _ in 0..MAX_TAGS {
        match l2.ethertype {
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tci = be16(l2.payload, 0)?;
                let id = tci & 0x0fff;
                if l2.vlan.is_none() {
                    l2.vlan = Some(id);
                } else if l2.inner_vlan.is_none() {
                    l2.inner_vlan = Some(id);
                }
                l2.ethertype = be16(l2.payload, 2)?;
                l2.payload = &l2.payload[4..];
                if l2.ethertype <= 1500 {
                    let n = usize::from(l2.ethertype).min(l2.payload.len());
                    l2.payload = &l2.payload[..n];
                    l2.ethertype = 0;
                    l2 = llc(l2)?;
                }
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => {
                let mut p = l2.payload;
                loop {
                    let label = p.get(..4).ok_or(Error::Truncated)?;
                    p = &p[4..];
                    if label[2] & 0x01 != 0 {
                        break;
                    }
                }
                let r = raw_ip(p)?;
                l2.ethertype = r.ethertype;
                l2.payload = r.payload;
                return Ok(l2);
            }
            ETHERTYPE_PPPOE => {
                let len = usize::from(be16(l2.payload, 4)?);
                let proto = be16(l2.payload, 6)?;
                let end = (6 + len).min(l2.payload.len());
                l2.ethertype = ppp_to_ethertype(proto)?;
                l2.payload = l2.payload.get(8..end.max(8)).ok_or(Error::Truncated)?;
                return Ok(l2);
            }
            _ => return Ok(l2),
        }
    }
    // More tags than MAX_TAGS.
    Err(Error::malformed("tag stack depth", 0))
}

/// An 802.2 LLC header; SNAP headers carry an EtherType.
fn llc(mut l2: L2<'_>) -> Result<L2<'_>> {
    let p = l2.payload;
    if p.len() >= 8 && p[0] == 0xaa && p[1] == 0xaa && p[2] == 0x03 && p[3..6] == [0, 0, 0] {
        l2.ethertype = be16(p, 6)?;
        l2.payload = &p[8..];
    }
    Ok(l2)
}

/// An 802.11 data frame with an LLC/SNAP header; other frames carry no IP.
fn ieee80211(f: &[u8]) -> Result<L2<'_>> {
    let fc = byte(f, 0)?;
    let flags = byte(f, 1)?;
    let ftype = (fc >> 2) & 0x3;
    let subtype = fc >> 4;
    if ftype != 2 || flags & 0x40 != 0 {
        // Management, control, or protected data: nothing to decode.
        return Ok(L2::bare(0, &[]));
    }
    let to_ds = flags & 0x01 != 0;
    let from_ds = flags & 0x02 != 0;
    let mut hlen = 24;
    if to_ds && from_ds {
        hlen += 6;
    }
    if subtype & 0x8 != 0 {
        hlen += 2; // QoS control
        if flags & 0x80 != 0 {
            hlen += 4; // HT control
        }
    }
    let (dst, src) = match (to_ds, from_ds) {
        (false, false) => (mac_ref(f, 4)?, mac_ref(f, 10)?),
        (true, false) => (mac_ref(f, 16)?, mac_ref(f, 10)?),
        (false, true) => (mac_ref(f, 4)?, mac_ref(f, 16)?),
        (true, true) => (mac_ref(f, 16)?, mac_ref(f, 24)?),
    };
    if subtype & 0x4 != 0 {
        // Null-function frames carry no payload.
        return Ok(L2::bare(0, &[]));
    }
    let payload = f.get(hlen..).ok_or(Error::Truncated)?;
    let l2 = llc(L2 {
        src: Some(src),
        dst: Some(dst),
        vlan: None,
        inner_vlan: None,
        ethertype: 0,
        payload,
    })?;
    tagged(l2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_keeps_both_vlans() {
        let frame = [
            0, 1, 2, 3, 4, 5, // destination
            6, 7, 8, 9, 10, 11, // source
            0x88, 0xa8, 0x00, 0x64, // S-tag, VLAN 100
            0x81, 0x00, 0x00, 0xc8, // C-tag, VLAN 200
            0x08, 0x00, // IPv4
            0x45,
        ];
        let l2 = decode(LinkType::ETHERNET, &frame).unwrap().unwrap();
        assert_eq!(l2.vlan, Some(100));
        assert_eq!(l2.inner_vlan, Some(200));
        assert_eq!(l2.ethertype, ETHERTYPE_IPV4);
        assert_eq!(l2.payload, &[0x45]);
    }

    #[test]
    fn truncated_vlan_tag() {
        let frame = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00];
        assert_eq!(decode(LinkType::ETHERNET, &frame), Err(Error::Truncated));
    }

    #[test]
    fn unknown_link_type_is_not_an_error() {
        assert_eq!(decode(LinkType(147), &[1, 2, 3]), Ok(None));
    }
}
