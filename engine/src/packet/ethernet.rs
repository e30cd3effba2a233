//! Link-layer framing down to the network protocol: Ethernet II (and Cisco
//! FabricPath around it), 802.1Q and QinQ, 802.1ah provider backbone
//! bridging, Cisco VN-Tag, MPLS, PPPoE, LLC/SNAP, Linux cooked capture
//! (v1 and v2), NFLOG, BSD loopback, PPP (with and without HDLC framing),
//! raw IP and 802.11 data frames (with or without radiotap). What each
//! carries follows Zeek's packet analyzers (`docs/sensor.md` lists them).

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
/// 802.1ah provider backbone bridging: a 4-byte I-TAG, then the customer's
/// Ethernet header.
const ETHERTYPE_PBB: u16 = 0x88e7;
/// Cisco VN-Tag: 4 bytes of tag, then the carried EtherType.
const ETHERTYPE_VNTAG: u16 = 0x8926;
/// Cisco FabricPath: a 16-byte outer header (outer addresses, the FabricPath
/// tag) in front of the whole classical Ethernet frame.
const ETHERTYPE_FABRICPATH: u16 = 0x8903;
const FABRICPATH_LEN: usize = 16;
const ETHERNET_LEN: usize = 14;
/// PPP protocol numbers for IPv4, IPv6 and unicast MPLS.
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const PPP_MPLS: u16 = 0x0281;
/// NFLOG's TLV type of the packet payload, and the address families.
const NFLOG_PAYLOAD: u16 = 9;
const AF_INET: u8 = 2;
const AF_INET6_LINUX: u8 = 10;
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
            // With HDLC-like framing when it opens with address and control
            // (0xff 0x03), otherwise the bare PPP protocol field.
            let hlen = if frame.starts_with(&[0xff, 0x03]) {
                4
            } else {
                2
            };
            ppp(
                be16(frame, hlen - 2)?,
                frame.get(hlen..).ok_or(Error::Truncated)?,
            )?
        }
        LinkType::PPP_SERIAL => ppp(be16(frame, 2)?, frame.get(4..).ok_or(Error::Truncated)?)?,
        // The FDDI header and an LLC/SNAP header, then IP.
        LinkType::FDDI => raw_ip(frame.get(13 + 8..).ok_or(Error::Truncated)?)?,
        LinkType::NFLOG => nflog(frame)?,
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

/// The network protocol a PPP protocol number carries: IP or MPLS; link
/// control and the other PPP protocols carry nothing to decode.
fn ppp_to_ethertype(proto: u16) -> Option<u16> {
    match proto {
        PPP_IPV4 => Some(ETHERTYPE_IPV4),
        PPP_IPV6 => Some(ETHERTYPE_IPV6),
        PPP_MPLS => Some(ETHERTYPE_MPLS),
        _ => None,
    }
}

/// A PPP frame of protocol `proto` without link addresses.
fn ppp(proto: u16, payload: &[u8]) -> Result<L2<'_>> {
    match ppp_to_ethertype(proto) {
        Some(et) => tagged(L2::bare(et, payload)),
        None => Ok(L2::bare(0, &[])),
    }
}

/// A Linux NFLOG record: a 4-byte header (address family, version 0,
/// resource id), then TLVs until the one holding the packet. The TLVs are
/// in the capturing host's byte order; little-endian is taken, the order of
/// the machines that capture with NFLOG.
fn nflog(frame: &[u8]) -> Result<L2<'_>> {
    let family = byte(frame, 0)?;
    if byte(frame, 1)? != 0 {
        return Err(Error::malformed("NFLOG version", 1));
    }
    let mut p = frame.get(4..).ok_or(Error::Truncated)?;
    loop {
        let tlv = p.get(..4).ok_or(Error::Truncated)?;
        let len = usize::from(u16::from_le_bytes([tlv[0], tlv[1]]));
        let ty = u16::from_le_bytes([tlv[2], tlv[3]]);
        if ty == NFLOG_PAYLOAD {
            p = &p[4..];
            break;
        }
        if len < 4 {
            return Err(Error::malformed("NFLOG TLV length", frame.len() - p.len()));
        }
        // TLVs are padded to four bytes; the padding is not in the length.
        p = p.get(len.next_multiple_of(4)..).ok_or(Error::Truncated)?;
    }
    let et = match family {
        AF_INET => ETHERTYPE_IPV4,
        AF_INET6_LINUX => ETHERTYPE_IPV6,
        _ => return Ok(L2::bare(0, &[])),
    };
    Ok(L2::bare(et, p))
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

/// An Ethernet frame that [`untagged`] leaves: 802.3, with tags, or in
/// FabricPath.
pub fn framed(frame: &[u8]) -> Result<L2<'_>> {
    let mut frame = frame;
    if be16(frame, 12)? == ETHERTYPE_FABRICPATH {
        // The classical frame follows the outer header whole; only one
        // FabricPath header is taken off, as Zeek does.
        frame = frame.get(FABRICPATH_LEN..).ok_or(Error::Truncated)?;
        if frame.len() <= ETHERNET_LEN {
            return Err(Error::Truncated);
        }
    }
    let l2 = L2 {
        dst: Some(mac_ref(frame, 0)?),
        src: Some(mac_ref(frame, 6)?),
        vlan: None,
        inner_vlan: None,
        ethertype: 0,
        payload: &frame[ETHERNET_LEN..],
    };
    tagged(carried(l2, be16(frame, 12)?)?)
}

/// `l2` with the type/length field `et` read: an EtherType, or an 802.3
/// length whose payload (the padding cut off) starts with an LLC header.
fn carried(mut l2: L2<'_>, et: u16) -> Result<L2<'_>> {
    l2.ethertype = et;
    if et <= 1500 {
        let n = usize::from(et).min(l2.payload.len());
        l2.payload = &l2.payload[..n];
        l2.ethertype = 0;
        l2 = llc(l2)?;
    }
    Ok(l2)
}

/// Unwraps VLAN tags, MPLS labels, PPPoE and SNAP until a network protocol.
fn tagged(mut l2: L2<'_>) -> Result<L2<'_>> {
    for _ in 0..MAX_TAGS {
        match l2.ethertype {
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tci = be16(l2.payload, 0)?;
                let id = tci & 0x0fff;
                // The first tag is the outer VLAN; as in Zeek, any later
                // tag is the inner one, a third overwriting the second.
                if l2.vlan.is_none() {
                    l2.vlan = Some(id);
                } else {
                    l2.inner_vlan = Some(id);
                }
                let et = be16(l2.payload, 2)?;
                l2.payload = &l2.payload[4..];
                l2 = carried(l2, et)?;
            }
            ETHERTYPE_PBB => {
                // The I-TAG, then the customer frame's own addresses and
                // type: its addresses are the ones the connection sees.
                let p = l2.payload;
                if p.len() <= 4 + ETHERNET_LEN {
                    return Err(Error::Truncated);
                }
                l2.dst = Some(mac_ref(p, 4)?);
                l2.src = Some(mac_ref(p, 10)?);
                l2.payload = &p[4 + ETHERNET_LEN..];
                l2 = carried(l2, be16(p, 16)?)?;
            }
            ETHERTYPE_VNTAG => {
                let et = be16(l2.payload, 4)?;
                l2.payload = l2.payload.get(6..).ok_or(Error::Truncated)?;
                l2.ethertype = et;
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
                // Session stage: version/type, code, session id, length,
                // then the PPP protocol. Like Zeek, the length field is not
                // used to cut the payload: IP's own length does that.
                let proto = be16(l2.payload, 6)?;
                let Some(et) = ppp_to_ethertype(proto) else {
                    // PPP control (LCP, authentication, IPCP): nothing here
                    // is a network packet, and it stays a PPPoE frame.
                    return Ok(l2);
                };
                l2.ethertype = et;
                l2.payload = l2.payload.get(8..).ok_or(Error::Truncated)?;
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

/// Hands `each` the packets of an 802.11 A-MSDU (a QoS data frame whose QoS
/// control has the A-MSDU bit) as Zeek's IEEE802_11 analyzer walks them:
/// subframes of a 14-byte header (destination, source, length) and an
/// LLC/SNAP payload, each but the last padded to four bytes, all with the
/// frame header's addresses. Returns false, having called nothing, for a
/// frame that is no A-MSDU; stops at a truncated subframe or one without
/// SNAP, as Zeek does.
pub fn ieee80211_amsdu<'a>(f: &'a [u8], mut each: impl FnMut(&L2<'a>)) -> Result<bool> {
    let fc = byte(f, 0)?;
    let flags = byte(f, 1)?;
    if (fc >> 2) & 0x3 != 2 || (fc >> 4) & 0x8 == 0 || flags & 0x40 != 0 {
        return Ok(false);
    }
    let qos = if flags & 0x03 == 0x03 { 30 } else { 24 };
    if byte(f, qos)? & 0x80 == 0 {
        return Ok(false);
    }
    let header = ieee80211(f)?;
    let mut rest = f.get(qos + 2..).ok_or(Error::Truncated)?;
    while !rest.is_empty() {
        let len = usize::from(be16(rest, 12)?);
        let body = rest.get(14..14 + len).ok_or(Error::Truncated)?;
        let l2 = llc(L2 {
            payload: body,
            ethertype: 0,
            ..header
        })?;
        if l2.ethertype == 0 {
            return Err(Error::malformed("A-MSDU subframe without SNAP", 14));
        }
        each(&l2);
        let next = 14 + len;
        rest = rest
            .get(next + len % 4..)
            .or(rest.get(next..))
            .unwrap_or_default();
    }
    Ok(true)
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

    /// Two subframes, the first padded by its length modulo four as Zeek
    /// skips it, each with the frame header's addresses.
    #[test]
    fn amsdu_subframes_are_each_a_packet() {
        let mut f = vec![0x88, 0x01, 0, 0];
        f.extend_from_slice(&[1; 6]); // BSSID
        f.extend_from_slice(&[2; 6]); // station
        f.extend_from_slice(&[3; 6]); // destination
        f.extend_from_slice(&[0, 0, 0x80, 0]); // sequence, QoS with A-MSDU
        for (body, pad) in [(&[0x45, 1, 2][..], 3), (&[0x45, 4][..], 0)] {
            f.extend_from_slice(&[9; 12]);
            f.extend_from_slice(&(8 + body.len() as u16).to_be_bytes());
            f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
            f.extend_from_slice(body);
            f.extend(std::iter::repeat_n(0, pad));
        }
        let mut seen = Vec::new();
        let amsdu = ieee80211_amsdu(&f, |l2| {
            seen.push((
                l2.src.copied(),
                l2.dst.copied(),
                l2.ethertype,
                l2.payload.to_vec(),
            ))
        });
        assert_eq!(amsdu, Ok(true));
        let from = |p: &[u8]| (Some([2; 6]), Some([3; 6]), ETHERTYPE_IPV4, p.to_vec());
        assert_eq!(seen, vec![from(&[0x45, 1, 2]), from(&[0x45, 4])]);
        // Without the A-MSDU bit it is one frame.
        f[24] = 0;
        assert_eq!(ieee80211_amsdu(&f, |_| {}), Ok(false));
    }

    #[test]
    fn unknown_link_type_is_not_an_error() {
        assert_eq!(decode(LinkType(147), &[1, 2, 3]), Ok(None));
    }
}
