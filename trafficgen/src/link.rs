//! The link layers and tunnels a sensor meets besides plain Ethernet, built
//! around packets from the other builders: provider backbone bridging
//! (802.1ah), Cisco VN-Tag and FabricPath, QinQ, MPLS, PPPoE, GRE (with
//! ERSPAN types I to III and PPTP), IP in IP, VXLAN, Geneve, GTP-U, AYIYA,
//! and the capture link types other than Ethernet (Linux cooked v1 and v2,
//! NFLOG, BSD loopback, PPP, raw IP, 802.11 with radiotap). Each follows its
//! specification; the field values that do not matter to a decoder are
//! fixed, plausible ones.

use crate::frame::{self, Mac};
use std::net::Ipv4Addr;

/// EtherTypes and PPP protocol numbers used here.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_PPPOE_DISCOVERY: u16 = 0x8863;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_PBB: u16 = 0x88e7;
const ETHERTYPE_VNTAG: u16 = 0x8926;
const ETHERTYPE_FABRICPATH: u16 = 0x8903;
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN_2: u16 = 0x88be;
const ETHERTYPE_ERSPAN_3: u16 = 0x22eb;
pub const PPP_IPV4: u16 = 0x0021;
/// PPP's link control protocol: configuration, echo, termination.
pub const PPP_LCP: u16 = 0xc021;

/// The IPv4 packet inside an Ethernet frame built by [`frame::ethernet`]
/// (untagged or with one 802.1Q tag), without the padding.
pub fn ip_of(eth: &[u8]) -> Option<&[u8]> {
    let at = if eth.get(12..14)? == ETHERTYPE_VLAN.to_be_bytes() {
        18
    } else {
        14
    };
    let ip = eth.get(at..)?;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    ip.get(..total)
}

/// An Ethernet header with the given type, no padding added.
fn eth_header(dst: Mac, src: Mac, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// Pads a frame to Ethernet's 60-byte minimum.
fn padded(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// 802.1ad QinQ: a service tag (`outer`) over a customer tag (`inner`).
pub fn qinq(dst: Mac, src: Mac, outer: u16, inner: u16, ip: &[u8]) -> Vec<u8> {
    let mut f = eth_header(dst, src, ETHERTYPE_QINQ);
    f.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
    f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
    f.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(ip);
    padded(f)
}

/// 802.1ah provider backbone bridging: backbone addresses, the I-TAG with
/// service instance `isid`, then the customer's frame `customer` whole.
pub fn pbb(b_dst: Mac, b_src: Mac, isid: u32, customer: &[u8]) -> Vec<u8> {
    let mut f = eth_header(b_dst, b_src, ETHERTYPE_PBB);
    // Priority 0, drop eligible 0, no customer address encoding, I-SID.
    f.extend_from_slice(&(isid & 0x00ff_ffff).to_be_bytes());
    f.extend_from_slice(customer);
    padded(f)
}

/// Cisco VN-Tag (direction 0, destination and source virtual interfaces),
/// then an 802.1Q tag when `vlan` is set, then IPv4.
pub fn vntag(dst: Mac, src: Mac, vif: u16, vlan: Option<u16>, ip: &[u8]) -> Vec<u8> {
    let mut f = eth_header(dst, src, ETHERTYPE_VNTAG);
    f.extend_from_slice(&(vif & 0x3fff).to_be_bytes());
    f.extend_from_slice(&0u16.to_be_bytes());
    if let Some(v) = vlan {
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&(v & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(ip);
    padded(f)
}

/// Cisco FabricPath: outer switch addresses, the FabricPath tag (EtherType,
/// forwarding tag, TTL), then the classical Ethernet frame `inner`.
pub fn fabricpath(outer_dst: Mac, outer_src: Mac, ftag: u16, inner: &[u8]) -> Vec<u8> {
    let mut f = eth_header(outer_dst, outer_src, ETHERTYPE_FABRICPATH);
    f.extend_from_slice(&((ftag & 0x03ff) << 6 | 0x20).to_be_bytes());
    f.extend_from_slice(inner);
    f
}

/// MPLS: one label per entry of `labels`, the last with bottom of stack.
pub fn mpls(dst: Mac, src: Mac, labels: &[u32], ip: &[u8]) -> Vec<u8> {
    let mut f = eth_header(dst, src, ETHERTYPE_MPLS);
    for (i, l) in labels.iter().enumerate() {
        let bottom = u32::from(i + 1 == labels.len());
        f.extend_from_slice(&((l & 0xf_ffff) << 12 | bottom << 8 | 64).to_be_bytes());
    }
    f.extend_from_slice(ip);
    padded(f)
}

/// A PPPoE session frame (RFC 2516) of session `session` carrying a PPP
/// payload of protocol `ppp`.
pub fn pppoe_session(dst: Mac, src: Mac, session: u16, ppp: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = eth_header(dst, src, ETHERTYPE_PPPOE_SESSION);
    f.extend_from_slice(&[0x11, 0x00]);
    f.extend_from_slice(&session.to_be_bytes());
    let len = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&ppp.to_be_bytes());
    f.extend_from_slice(payload);
    padded(f)
}

/// An LCP echo request, the keep-alive a PPPoE session carries.
pub fn lcp_echo(ident: u8) -> Vec<u8> {
    vec![9, ident, 0, 8, 0x12, 0x34, 0x56, 0x78]
}

/// A PPPoE discovery frame: `code` 0x09 (PADI), 0x07 (PADO), 0x19 (PADR),
/// 0x65 (PADS), 0xa7 (PADT), with a Service-Name tag.
pub fn pppoe_discovery(dst: Mac, src: Mac, code: u8, session: u16) -> Vec<u8> {
    let mut f = eth_header(dst, src, ETHERTYPE_PPPOE_DISCOVERY);
    f.extend_from_slice(&[0x11, code]);
    f.extend_from_slice(&session.to_be_bytes());
    let tag = [0x01, 0x01, 0x00, 0x00];
    f.extend_from_slice(&(tag.len() as u16).to_be_bytes());
    f.extend_from_slice(&tag);
    padded(f)
}

/// GRE flag bits.
pub mod gre_flags {
    pub const CHECKSUM: u16 = 0x8000;
    pub const KEY: u16 = 0x2000;
    pub const SEQUENCE: u16 = 0x1000;
    pub const ACK: u16 = 0x0080;
    /// Version 1: PPTP's enhanced GRE.
    pub const VERSION_1: u16 = 0x0001;
}

/// A GRE header with `flags` and protocol `proto` (optional fields zero
/// but for the sequence number `seq`), then `payload`.
pub fn gre(flags: u16, proto: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut g = flags.to_be_bytes().to_vec();
    g.extend_from_slice(&proto.to_be_bytes());
    if flags & gre_flags::CHECKSUM != 0 {
        g.extend_from_slice(&[0, 0, 0, 0]);
    }
    if flags & gre_flags::KEY != 0 {
        // Enhanced GRE: payload length and call id.
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        g.extend_from_slice(&len.to_be_bytes());
        g.extend_from_slice(&7u16.to_be_bytes());
    }
    if flags & gre_flags::SEQUENCE != 0 {
        g.extend_from_slice(&seq.to_be_bytes());
    }
    if flags & gre_flags::ACK != 0 {
        g.extend_from_slice(&seq.wrapping_sub(1).to_be_bytes());
    }
    g.extend_from_slice(payload);
    g
}

/// GRE carrying IPv4.
pub fn gre_ip(ip: &[u8]) -> Vec<u8> {
    gre(0, ETHERTYPE_IPV4, 0, ip)
}

/// GRE carrying an Ethernet frame (transparent Ethernet bridging).
pub fn gre_ethernet(frame: &[u8]) -> Vec<u8> {
    gre(gre_flags::KEY, ETHERTYPE_TEB, 0, frame)
}

/// ERSPAN type I: GRE protocol 0x88be with no sequence number and no
/// ERSPAN header, the mirrored frame right after GRE's four bytes.
pub fn erspan_1(frame: &[u8]) -> Vec<u8> {
    gre(0, ETHERTYPE_ERSPAN_2, 0, frame)
}

/// ERSPAN type II: GRE with a sequence number, then the 8-byte ERSPAN
/// header (version 1, VLAN 0, session `session`, index 0).
pub fn erspan_2(seq: u32, session: u16, frame: &[u8]) -> Vec<u8> {
    let mut e = vec![0x10, 0x00];
    e.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    e.extend_from_slice(&[0, 0, 0, 0]);
    e.extend_from_slice(frame);
    gre(gre_flags::SEQUENCE, ETHERTYPE_ERSPAN_2, seq, &e)
}

/// ERSPAN type III: GRE with a sequence number, the 12-byte header and,
/// with `platform`, the 8-byte platform-specific sub-header.
pub fn erspan_3(seq: u32, session: u16, platform: bool, frame: &[u8]) -> Vec<u8> {
    let mut e = vec![0x20, 0x00];
    e.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    e.extend_from_slice(&[0, 0, 0, 1]); // timestamp
    e.extend_from_slice(&[0, 0]); // security group tag
    e.extend_from_slice(&[0, u8::from(platform)]); // flags, O bit last
    if platform {
        e.extend_from_slice(&[0; 8]);
    }
    e.extend_from_slice(frame);
    gre(gre_flags::SEQUENCE, ETHERTYPE_ERSPAN_3, seq, &e)
}

/// PPTP's enhanced GRE: key (length, call id), sequence number, then PPP
/// in HDLC-like framing carrying IPv4.
pub fn pptp(seq: u32, ip: &[u8]) -> Vec<u8> {
    let mut p = vec![0xff, 0x03];
    p.extend_from_slice(&PPP_IPV4.to_be_bytes());
    p.extend_from_slice(ip);
    gre(
        gre_flags::KEY | gre_flags::SEQUENCE | gre_flags::VERSION_1,
        0x880b,
        seq,
        &p,
    )
}

/// VXLAN (RFC 7348): the I flag and network identifier `vni`, then an
/// Ethernet frame.
pub fn vxlan(vni: u32, frame: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend_from_slice(&((vni & 0x00ff_ffff) << 8).to_be_bytes());
    v.extend_from_slice(frame);
    v
}

/// Geneve (RFC 8926) without options, carrying an Ethernet frame.
pub fn geneve(vni: u32, frame: &[u8]) -> Vec<u8> {
    let mut g = vec![0, 0];
    g.extend_from_slice(&ETHERTYPE_TEB.to_be_bytes());
    g.extend_from_slice(&((vni & 0x00ff_ffff) << 8).to_be_bytes());
    g.extend_from_slice(frame);
    g
}

/// A GTPv1-U T-PDU (3GPP TS 29.281) of tunnel `teid` carrying IPv4.
pub fn gtpu(teid: u32, ip: &[u8]) -> Vec<u8> {
    let mut g = vec![0x30, 0xff];
    g.extend_from_slice(&u16::try_from(ip.len()).unwrap_or(u16::MAX).to_be_bytes());
    g.extend_from_slice(&teid.to_be_bytes());
    g.extend_from_slice(ip);
    g
}

/// A GTPv1 message other than a T-PDU (3GPP TS 29.060: signalling on the
/// control port 2123, or an echo on either port) with a sequence number
/// and the information elements `ies`.
pub fn gtp_message(msg_type: u8, teid: u32, seq: u16, ies: &[u8]) -> Vec<u8> {
    // Version 1, protocol type GTP, sequence number present.
    let mut g = vec![0x32, msg_type];
    let len = u16::try_from(4 + ies.len()).unwrap_or(u16::MAX);
    g.extend_from_slice(&len.to_be_bytes());
    g.extend_from_slice(&teid.to_be_bytes());
    g.extend_from_slice(&seq.to_be_bytes());
    g.extend_from_slice(&[0, 0]); // N-PDU number, no extension header
    g.extend_from_slice(ies);
    g
}

/// AYIYA (the SixXS tunnel protocol): a 16-byte identity, a 20-byte SHA-1
/// signature, the forward operation, IPv4 as the next header, an epoch
/// time, then the packet.
pub fn ayiya(epoch: u32, ip: &[u8]) -> Vec<u8> {
    // Identity length 2^4, identity type 1; signature 5 words, SHA-1;
    // authentication 1 (shared secret), operation 1 (forward).
    let mut a = vec![0x41, 0x52, 0x11, 4];
    a.extend_from_slice(&epoch.to_be_bytes());
    a.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0x5a; 20]);
    a.extend_from_slice(ip);
    a
}

/// A UDP datagram in IPv4 between tunnel endpoints.
pub fn outer_udp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ports: (u16, u16),
    ident: u16,
    payload: &[u8],
) -> Vec<u8> {
    let u = frame::udp(src, dst, ports.0, ports.1, payload);
    frame::ipv4(src, dst, 17, ident, &u)
}

/// Linux cooked capture v1 (`LINKTYPE_LINUX_SLL`): packet type, ARPHRD
/// Ethernet, the sender's address, then the protocol.
pub fn linux_sll(outgoing: bool, src: Mac, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, if outgoing { 4 } else { 0 }, 0, 1, 0, 6];
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// Linux cooked capture v2 (`LINKTYPE_LINUX_SLL2`).
pub fn linux_sll2(outgoing: bool, src: Mac, ifindex: u32, ip: &[u8]) -> Vec<u8> {
    let mut f = ETHERTYPE_IPV4.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ifindex.to_be_bytes());
    f.extend_from_slice(&[0, 1, if outgoing { 4 } else { 0 }, 6]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(ip);
    f
}

/// A Linux NFLOG record (`LINKTYPE_NFLOG`) of an IPv4 packet: the header,
/// a prefix TLV (padded to four bytes) and the payload TLV, in the
/// little-endian order of the capturing host.
pub fn nflog(prefix: &str, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0];
    let tlv = |f: &mut Vec<u8>, ty: u16, v: &[u8]| {
        let len = u16::try_from(4 + v.len()).unwrap_or(u16::MAX);
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(&ty.to_le_bytes());
        f.extend_from_slice(v);
        f.resize(f.len().next_multiple_of(4), 0);
    };
    let mut p = prefix.as_bytes().to_vec();
    p.push(0);
    tlv(&mut f, 10, &p);
    tlv(&mut f, 9, ip);
    f
}

/// BSD loopback (`LINKTYPE_NULL`): the address family in the capturing
/// host's byte order (little-endian here), then IPv4.
pub fn null(ip: &[u8]) -> Vec<u8> {
    let mut f = 2u32.to_le_bytes().to_vec();
    f.extend_from_slice(ip);
    f
}

/// PPP (`LINKTYPE_PPP`), with HDLC-like address and control when `hdlc`.
pub fn ppp(hdlc: bool, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = if hdlc { vec![0xff, 0x03] } else { Vec::new() };
    f.extend_from_slice(&proto.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An 802.11 QoS data frame from a station to its access point (`bssid`),
/// LLC/SNAP then IPv4, behind a minimal radiotap header.
pub fn radiotap_80211(sta: Mac, bssid: Mac, dst: Mac, seq: u16, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0];
    f.extend_from_slice(&ieee80211_data(sta, bssid, dst, seq, ip));
    f
}

/// GRE from an Aruba access point to its controller: protocol type
/// `proto` (0x8200 and up) and the station's 802.11 frame as it came.
pub fn aruba(proto: u16, frame: &[u8]) -> Vec<u8> {
    gre(0, proto, 0, frame)
}

/// An 802.11 QoS data frame from a station to its access point (`bssid`),
/// LLC/SNAP then IPv4.
pub fn ieee80211_data(sta: Mac, bssid: Mac, dst: Mac, seq: u16, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x88, 0x01, 0x2c, 0x00];
    f.extend_from_slice(&bssid);
    f.extend_from_slice(&sta);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&(seq << 4).to_le_bytes());
    f.extend_from_slice(&[0, 0]); // QoS control
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_comes_back_out_of_a_padded_frame() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let ip = frame::ipv4(src, dst, 17, 1, &frame::udp(src, dst, 1, 2, b"x"));
        let f = frame::ethernet([1; 6], [2; 6], Some(5), 0x0800, &ip);
        assert!(f.len() > 18 + ip.len(), "the frame is padded");
        assert_eq!(ip_of(&f), Some(ip.as_slice()));
    }

    #[test]
    fn gre_fields_take_their_place() {
        let g = gre(gre_flags::KEY | gre_flags::SEQUENCE, 0x0800, 9, b"ip");
        assert_eq!(&g[..4], &[0x30, 0x00, 0x08, 0x00]);
        assert_eq!(&g[8..12], &9u32.to_be_bytes());
        assert_eq!(&g[12..], b"ip");
        assert_eq!(erspan_1(b"f"), vec![0, 0, 0x88, 0xbe, b'f']);
    }
}
