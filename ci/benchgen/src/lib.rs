//! The benchmark's input captures.
//!
//! [`Base::load`] reads corpus captures (Ethernet only) into one time-ordered
//! mix and indexes every unicast MAC, IPv4 and IPv6 address in it.
//! [`Base::write_repeated`] writes the mix again and again; repetition `k`
//! gets its own addresses and MACs (a one-to-one mapping, so a flow stays a
//! flow and two flows never merge) and starts after repetition `k - 1`
//! ended. Every checksum that covers a rewritten address (IPv4 header, TCP,
//! UDP, ICMPv6) is adjusted incrementally (RFC 1624), so a valid checksum
//! stays valid and a bad one stays bad by the same amount.
//!
//! [`write_flood`] writes TCP SYNs and UDP datagrams between random
//! addresses and ports: millions of distinct tuples, each a new connection.

use osect_engine::packet::checksum;
use osect_engine::packet::{ethernet, ipv4, ipv6, LinkType};
use osect_pcap as pcap;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// 2024-01-01T00:00:00Z.
const START_US: i64 = 1_704_067_200_000_000;
/// Longest idle time kept between two packets of a source: some corpus
/// captures span years.
const MAX_GAP_US: i64 = 5_000_000;
/// Pause between two sources and between two repetitions.
const SEAM_US: i64 = 1_000_000;
/// Rewritten identifiers are numbered in 24 bits (the low half of a MAC,
/// an address in 10.0.0.0/8).
const ID_SPACE: u64 = 1 << 24;
/// An address that is not rewritten (multicast, broadcast, unspecified).
const KEEP: u32 = u32::MAX;

const ETHERTYPE_ARP: u16 = 0x0806;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;

/// Where a transport checksum lies and whether zero means "none" (UDP).
#[derive(Clone, Copy, Debug)]
struct L4 {
    csum_at: usize,
    zero_is_none: bool,
}

/// The rewritable parts of a frame, found once when the mix is loaded.
#[derive(Clone, Copy, Debug)]
enum Net {
    Other,
    V4 {
        at: usize,
        src: u32,
        dst: u32,
        l4: Option<L4>,
    },
    V6 {
        at: usize,
        src: u32,
        dst: u32,
        l4: Option<L4>,
    },
    Arp {
        at: usize,
        sha: u32,
        spa: u32,
        tha: u32,
        tpa: u32,
    },
}

struct Frame {
    /// Microseconds from the start of the mix.
    ts: i64,
    data: Vec<u8>,
    dst_mac: u32,
    src_mac: u32,
    net: Net,
}

/// Numbers each distinct value in order of first sight.
struct Index<T> {
    ids: HashMap<T, u32>,
}

impl<T: std::hash::Hash + Eq + Copy> Index<T> {
    fn new() -> Self {
        Index {
            ids: HashMap::new(),
        }
    }

    fn id(&mut self, v: T) -> u32 {
        let n = self.ids.len() as u32;
        *self.ids.entry(v).or_insert(n)
    }

    fn len(&self) -> u64 {
        self.ids.len() as u64
    }
}

/// The corpus mix, ready to be repeated.
pub struct Base {
    frames: Vec<Frame>,
    /// Time from the first packet of one repetition to the first of the next.
    period_us: i64,
    macs: u64,
    v4: u64,
    v6: u64,
    /// Distinct (protocol, address pair, port pair) in the mix.
    pub flows: usize,
    pub files: usize,
    pub bytes: u64,
}

/// What a write produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub packets: u64,
    pub bytes: u64,
}

fn is_unicast_mac(m: &[u8]) -> bool {
    m[0] & 1 == 0 && m.iter().any(|&b| b != 0)
}

fn is_unicast_v4(a: [u8; 4]) -> bool {
    !(a[0] >= 224 || a == [0; 4])
}

fn is_unicast_v6(a: [u8; 16]) -> bool {
    a[0] != 0xff && a[..15].iter().any(|&b| b != 0)
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// Offset of `inner` in `outer` (a sub-slice of it).
fn offset(outer: &[u8], inner: &[u8]) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// Where the transport checksum of a header starting at `at` lies, if the
/// capture holds it and it covers the IP addresses.
fn transport(frame: &[u8], at: usize, proto: u8) -> Option<L4> {
    let (csum_at, zero_is_none) = match proto {
        PROTO_TCP => (at + 16, false),
        PROTO_UDP => (at + 6, true),
        PROTO_ICMPV6 => (at + 2, false),
        _ => return None,
    };
    (frame.len() >= csum_at + 2).then_some(L4 {
        csum_at,
        zero_is_none,
    })
}

/// The corpus captures (`<case>/trace.pcap` or `trace.pcapng` directly
/// under `corpus`) of the cases whose name starts with one of `include`
/// (every case when it is empty) and not with `exclude` (when not empty),
/// in name order.
pub fn cases(corpus: &Path, include: &[String], exclude: &str) -> Result<Vec<PathBuf>, String> {
    let wanted = |name: &str| {
        (include.is_empty() || include.iter().any(|p| name.starts_with(p.as_str())))
            && (exclude.is_empty() || !name.starts_with(exclude))
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus)
        .map_err(|e| format!("{}: {e}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(wanted))
        .collect();
    dirs.sort();
    Ok(dirs.iter().filter_map(|d| case_trace(d)).collect())
}

/// A corpus case's capture: `trace.pcap` or `trace.pcapng` in its folder.
pub fn case_trace(dir: &Path) -> Option<PathBuf> {
    ["trace.pcap", "trace.pcapng"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

impl Base {
    /// Loads `files` in order; files that are not Ethernet are skipped.
    /// Returns the mix and the files skipped.
    pub fn load(files: &[PathBuf]) -> Result<(Base, Vec<PathBuf>), String> {
        let mut base = Base {
            frames: Vec::new(),
            period_us: 0,
            macs: 0,
            v4: 0,
            v6: 0,
            flows: 0,
            files: 0,
            bytes: 0,
        };
        let (mut macs, mut v4, mut v6) = (Index::new(), Index::new(), Index::new());
        let mut flows = HashSet::new();
        let mut skipped = Vec::new();
        let mut clock = 0i64;
        for path in files {
            let mut frames = Vec::new();
            let mut other_link = false;
            let mut last = None;
            let res = pcap::read_file(path, |ts, link, data| {
                if link != LinkType::ETHERNET {
                    other_link = true;
                    return;
                }
                let gap = last.map_or(0, |l: i64| (ts - l).clamp(0, MAX_GAP_US));
                last = Some(ts);
                clock += gap;
                frames.push((clock, data.to_vec()));
            });
            if let Err(e) = res {
                return Err(e.to_string());
            }
            if other_link || frames.is_empty() {
                skipped.push(path.clone());
                continue;
            }
            base.files += 1;
            for (ts, data) in frames {
                let f = Frame::index(ts, data, &mut macs, &mut v4, &mut v6, &mut flows);
                base.bytes += f.data.len() as u64;
                base.frames.push(f);
            }
            clock += SEAM_US;
        }
        base.period_us = clock.max(SEAM_US);
        base.macs = macs.len();
        base.v4 = v4.len();
        base.v6 = v6.len();
        base.flows = flows.len();
        Ok((base, skipped))
    }

    pub fn packets(&self) -> usize {
        self.frames.len()
    }

    /// Repetitions possible before rewritten identifiers would repeat.
    pub fn max_repetitions(&self) -> u64 {
        ID_SPACE / self.macs.max(self.v4).max(self.v6).max(1)
    }

    /// Writes `reps` repetitions of the mix as a pcap file.
    pub fn write_repeated<W: Write>(&self, reps: u64, out: W) -> io::Result<Written> {
        self.write_spaced(reps, self.period_us, out)
    }

    /// Writes `reps` repetitions of the mix, repetition `k` starting
    /// `k * every_us` after the first: with `every_us` under the mix's
    /// length they run side by side (a dense capture: many cells at once),
    /// merged in time order.
    pub fn write_spaced<W: Write>(&self, reps: u64, every_us: i64, out: W) -> io::Result<Written> {
        if reps > self.max_repetitions() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{reps} repetitions would reuse addresses: at most {}",
                    self.max_repetitions()
                ),
            ));
        }
        let mut w = PcapWriter::new(out)?;
        let mut buf = Vec::with_capacity(1 << 16);
        let every_us = every_us.max(0);
        // Each repetition's next frame, earliest first (ties: lower k).
        let mut next: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u64, usize)>> = (0
            ..reps)
            .filter(|_| !self.frames.is_empty())
            .map(|k| std::cmp::Reverse((START_US + k as i64 * every_us + self.frames[0].ts, k, 0)))
            .collect();
        while let Some(std::cmp::Reverse((ts, k, i))) = next.pop() {
            let f = &self.frames[i];
            buf.clear();
            buf.extend_from_slice(&f.data);
            self.rewrite(k, f, &mut buf);
            w.write(ts, &buf)?;
            if let Some(g) = self.frames.get(i + 1) {
                next.push(std::cmp::Reverse((ts - f.ts + g.ts, k, i + 1)));
            }
        }
        w.finish()
    }

    fn rewrite(&self, k: u64, f: &Frame, b: &mut [u8]) {
        let mac = |id: u32, old: &[u8]| -> [u8; 6] {
            let n = ((k * self.macs + u64::from(id)) % ID_SPACE) as u32;
            let mut m = arr::<6>(old);
            m[3..].copy_from_slice(&n.to_be_bytes()[1..]);
            m
        };
        let v4 = |id: u32, old: &[u8]| -> [u8; 4] {
            if id == KEEP {
                return arr(old);
            }
            let n = ((k * self.v4 + u64::from(id)) % ID_SPACE) as u32;
            (0x0a00_0000 | n).to_be_bytes()
        };
        let v6 = |id: u32, old: &[u8]| -> [u8; 16] {
            let mut a = arr::<16>(old);
            if id != KEEP {
                let n = (k * self.v6 + u64::from(id)) as u32;
                a[12..].copy_from_slice(&n.to_be_bytes());
            }
            a
        };
        if f.dst_mac != KEEP {
            let m = mac(f.dst_mac, &b[0..6]);
            b[0..6].copy_from_slice(&m);
        }
        if f.src_mac != KEEP {
            let m = mac(f.src_mac, &b[6..12]);
            b[6..12].copy_from_slice(&m);
        }
        match f.net {
            Net::Other => {}
            Net::V4 { at, src, dst, l4 } => {
                let old: [u8; 8] = arr(&b[at + 12..]);
                let mut new = [0u8; 8];
                new[..4].copy_from_slice(&v4(src, &old[..4]));
                new[4..].copy_from_slice(&v4(dst, &old[4..]));
                b[at + 12..at + 20].copy_from_slice(&new);
                adjust(b, at + 10, &old, &new, false);
                if let Some(t) = l4 {
                    adjust(b, t.csum_at, &old, &new, t.zero_is_none);
                }
            }
            Net::V6 { at, src, dst, l4 } => {
                let old: [u8; 32] = arr(&b[at + 8..]);
                let mut new = [0u8; 32];
                new[..16].copy_from_slice(&v6(src, &old[..16]));
                new[16..].copy_from_slice(&v6(dst, &old[16..]));
                b[at + 8..at + 40].copy_from_slice(&new);
                if let Some(t) = l4 {
                    adjust(b, t.csum_at, &old, &new, t.zero_is_none);
                }
            }
            Net::Arp {
                at,
                sha,
                spa,
                tha,
                tpa,
            } => {
                for (field, id) in [(at + 8, sha), (at + 18, tha)] {
                    if id != KEEP {
                        let m = mac(id, &b[field..field + 6]);
                        b[field..field + 6].copy_from_slice(&m);
                    }
                }
                for (field, id) in [(at + 14, spa), (at + 24, tpa)] {
                    let a = v4(id, &b[field..field + 4]);
                    b[field..field + 4].copy_from_slice(&a);
                }
            }
        }
    }
}

impl Frame {
    fn index(
        ts: i64,
        data: Vec<u8>,
        macs: &mut Index<[u8; 6]>,
        v4: &mut Index<[u8; 4]>,
        v6: &mut Index<[u8; 16]>,
        flows: &mut HashSet<(u8, IpAddr, u16, IpAddr, u16)>,
    ) -> Frame {
        let mut mac_id = |m: &[u8]| {
            if is_unicast_mac(m) {
                macs.id(arr(m))
            } else {
                KEEP
            }
        };
        let (dst_mac, src_mac) = if data.len() >= 14 {
            (mac_id(&data[0..6]), mac_id(&data[6..12]))
        } else {
            (KEEP, KEEP)
        };
        let mut id4 = |a: [u8; 4]| if is_unicast_v4(a) { v4.id(a) } else { KEEP };
        let net = match ethernet::decode(LinkType::ETHERNET, &data) {
            Ok(Some(l2)) if l2.ethertype == ethernet::ETHERTYPE_IPV4 => {
                let at = offset(&data, l2.payload);
                match ipv4::Packet::parse(l2.payload) {
                    Ok(p) => {
                        let t = at + p.header.len();
                        let l4 = if p.frag_offset == 0 {
                            transport(&data, t, p.proto)
                        } else {
                            None
                        };
                        if p.frag_offset == 0 {
                            add_flow(
                                flows,
                                p.proto,
                                p.src.into(),
                                p.dst.into(),
                                &data[t.min(data.len())..],
                            );
                        }
                        Net::V4 {
                            at,
                            src: id4(p.src.octets()),
                            dst: id4(p.dst.octets()),
                            l4,
                        }
                    }
                    Err(_) => Net::Other,
                }
            }
            Ok(Some(l2)) if l2.ethertype == ethernet::ETHERTYPE_IPV6 => {
                let at = offset(&data, l2.payload);
                match ipv6::Packet::parse(l2.payload) {
                    Ok(p) => {
                        let first = p.fragment.is_none_or(|f| f.offset == 0);
                        let t = at + ipv6::HEADER_LEN + p.ext_len;
                        let l4 = if first {
                            transport(&data, t, p.proto)
                        } else {
                            None
                        };
                        if first {
                            add_flow(
                                flows,
                                p.proto,
                                p.src.into(),
                                p.dst.into(),
                                &data[t.min(data.len())..],
                            );
                        }
                        let mut id6 = |a: [u8; 16]| if is_unicast_v6(a) { v6.id(a) } else { KEEP };
                        Net::V6 {
                            at,
                            src: id6(p.src.octets()),
                            dst: id6(p.dst.octets()),
                            l4,
                        }
                    }
                    Err(_) => Net::Other,
                }
            }
            Ok(Some(l2)) if l2.ethertype == ETHERTYPE_ARP => {
                let at = offset(&data, l2.payload);
                // Ethernet/IPv4 ARP only: hardware 1, protocol 0x0800, lengths 6 and 4.
                match data.get(at..at + 28) {
                    Some(a) if a[..6] == [0, 1, 8, 0, 6, 4] => Net::Arp {
                        at,
                        sha: mac_id(&a[8..14]),
                        spa: id4(arr(&a[14..18])),
                        tha: mac_id(&a[18..24]),
                        tpa: id4(arr(&a[24..28])),
                    },
                    _ => Net::Other,
                }
            }
            _ => Net::Other,
        };
        Frame {
            ts,
            data,
            dst_mac,
            src_mac,
            net,
        }
    }
}

fn add_flow(
    flows: &mut HashSet<(u8, IpAddr, u16, IpAddr, u16)>,
    proto: u8,
    a: IpAddr,
    b: IpAddr,
    l4: &[u8],
) {
    let (pa, pb) = match (proto, l4) {
        (PROTO_TCP | PROTO_UDP, [a0, a1, b0, b1, ..]) => (
            u16::from_be_bytes([*a0, *a1]),
            u16::from_be_bytes([*b0, *b1]),
        ),
        _ => (0, 0),
    };
    let key = if (a, pa) <= (b, pb) {
        (proto, a, pa, b, pb)
    } else {
        (proto, b, pb, a, pa)
    };
    flows.insert(key);
}

/// Replaces the one's-complement checksum at `at` after the covered bytes
/// `old` became `new` (RFC 1624, eqn. 3): the checksum's error, if it had
/// one, is kept exactly.
fn adjust(b: &mut [u8], at: usize, old: &[u8], new: &[u8], zero_is_none: bool) {
    let cur = u16::from_be_bytes([b[at], b[at + 1]]);
    if zero_is_none && cur == 0 {
        return;
    }
    let mut acc = u32::from(!cur);
    for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        acc += u32::from(!u16::from_be_bytes([o[0], o[1]]));
        acc += u32::from(u16::from_be_bytes([n[0], n[1]]));
    }
    let mut sum = !checksum::fold(acc);
    if zero_is_none && sum == 0 {
        sum = 0xffff;
    }
    b[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// A legacy pcap file with microsecond timestamps, link type Ethernet.
struct PcapWriter<W: Write> {
    out: io::BufWriter<W>,
    written: Written,
}

impl<W: Write> PcapWriter<W> {
    fn new(out: W) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(1 << 20, out);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&LinkType::ETHERNET.0.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            written: Written {
                packets: 0,
                bytes: 24,
            },
        })
    }

    fn write(&mut self, ts: i64, frame: &[u8]) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(ts.div_euclid(1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(ts.rem_euclid(1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.written.packets += 1;
        self.written.bytes += 16 + frame.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> io::Result<Written> {
        self.out.flush()?;
        Ok(self.written)
    }
}

/// splitmix64: a small, fast, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Writes `packets` frames, each between random addresses and ports: three
/// TCP SYNs for every UDP datagram, valid checksums, 1 µs apart.
pub fn write_flood<W: Write>(packets: u64, seed: u64, out: W) -> io::Result<Written> {
    let mut w = PcapWriter::new(out)?;
    let mut rng = Rng(seed);
    let mut f = Vec::with_capacity(64);
    for i in 0..packets {
        let r = rng.next();
        let s = rng.next();
        let tcp = r & 3 != 0;
        let src = [10, (r >> 8) as u8, (r >> 16) as u8, (r >> 24) as u8];
        let dst = [10, (s >> 8) as u8, (s >> 16) as u8, (s >> 24) as u8];
        let (sport, dport) = ((r >> 32) as u16 | 1024, (s >> 32) as u16);
        f.clear();
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00]);
        let l4_len: u16 = if tcp { 20 } else { 16 };
        let ip_at = f.len();
        f.extend_from_slice(&[
            0x45,
            0,
            0,
            0,
            0,
            0,
            0x40,
            0,
            64,
            if tcp { PROTO_TCP } else { PROTO_UDP },
            0,
            0,
        ]);
        f[ip_at + 2..ip_at + 4].copy_from_slice(&(20 + l4_len).to_be_bytes());
        f[ip_at + 4..ip_at + 6].copy_from_slice(&(i as u16).to_be_bytes());
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        let ip_sum = !checksum::fold(checksum::sum(0, &f[ip_at..ip_at + 20]));
        f[ip_at + 10..ip_at + 12].copy_from_slice(&ip_sum.to_be_bytes());
        let t = f.len();
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        if tcp {
            f.extend_from_slice(&(s as u32).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
        } else {
            f.extend_from_slice(&l4_len.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(b"flooding");
        }
        let proto = if tcp { PROTO_TCP } else { PROTO_UDP };
        let pseudo = checksum::pseudo_header(
            IpAddr::from(src),
            IpAddr::from(dst),
            proto,
            u32::from(l4_len),
        );
        let mut sum = !checksum::fold(checksum::sum(pseudo, &f[t..]));
        if !tcp && sum == 0 {
            sum = 0xffff;
        }
        let at = if tcp { t + 16 } else { t + 6 };
        f[at..at + 2].copy_from_slice(&sum.to_be_bytes());
        w.write(START_US + i as i64, &f)?;
    }
    w.finish()
}

/// An IPv4/TCP frame from `src` to `dst` (ports in `ports`), valid
/// checksums, written into `f`.
fn tcp_frame(
    f: &mut Vec<u8>,
    (src, dst): ([u8; 4], [u8; 4]),
    ports: (u16, u16),
    (seq, ack, flags): (u32, u32, u8),
    ident: u16,
    payload: &[u8],
) {
    f.clear();
    let mac = |a: [u8; 4]| [0x02, 0, a[0], a[1], a[2], a[3]];
    f.extend_from_slice(&mac(dst));
    f.extend_from_slice(&mac(src));
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_at = f.len();
    let len = (40 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&ident.to_be_bytes());
    f.extend_from_slice(&[0x40, 0, 64, PROTO_TCP, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    let ip_sum = !checksum::fold(checksum::sum(0, &f[ip_at..ip_at + 20]));
    f[ip_at + 10..ip_at + 12].copy_from_slice(&ip_sum.to_be_bytes());
    let t = f.len();
    f.extend_from_slice(&ports.0.to_be_bytes());
    f.extend_from_slice(&ports.1.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    let pseudo = checksum::pseudo_header(
        IpAddr::from(src),
        IpAddr::from(dst),
        PROTO_TCP,
        u32::from(len - 20),
    );
    let sum = !checksum::fold(checksum::sum(pseudo, &f[t..]));
    f[t + 16..t + 18].copy_from_slice(&sum.to_be_bytes());
}

/// Writes a burst of cyclic polling in one interval: a Modbus/TCP master
/// (10.1.0.1) polling one PLC (10.1.0.2:502) on one connection, `requests`
/// requests each answered, evenly spread over `secs` seconds inside one
/// minute of capture time. The requests cycle over 8 operations (read
/// holding registers at 8 addresses), each answered with one of `values`
/// values (at least 1, at most 65,536), so folded the register log holds
/// `8 * values` rows whatever `requests` is (with enough requests); their
/// transaction ids all differ. Many values make a burst whose folded rows
/// are mostly distinct.
pub fn write_poll_burst<W: Write>(
    requests: u64,
    secs: u64,
    values: u32,
    out: W,
) -> io::Result<Written> {
    let values = u64::from(values.clamp(1, 1 << 16));
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    const FIN_ACK: u8 = 0x11;
    let mut w = PcapWriter::new(out)?;
    let (master, plc) = ([10, 1, 0, 1], [10, 1, 0, 2]);
    let (mport, sport) = (50_000, 502);
    let (mut mseq, mut sseq) = (1_000u32, 9_000u32);
    let mut f = Vec::with_capacity(128);
    let mut ident = 0u16;
    let mut send = |w: &mut PcapWriter<W>,
                    ts: i64,
                    from_master: bool,
                    seq_ack: (u32, u32, u8),
                    payload: &[u8]| {
        ident = ident.wrapping_add(1);
        let (addrs, ports) = if from_master {
            ((master, plc), (mport, sport))
        } else {
            ((plc, master), (sport, mport))
        };
        tcp_frame(&mut f, addrs, ports, seq_ack, ident, payload);
        w.write(ts, &f)
    };
    // A second after the minute starts, so the burst lies in one interval.
    let t0 = START_US + 1_000_000;
    send(&mut w, t0, true, (mseq, 0, SYN), &[])?;
    send(&mut w, t0 + 100, false, (sseq, mseq + 1, SYN | ACK), &[])?;
    mseq += 1;
    sseq += 1;
    send(&mut w, t0 + 200, true, (mseq, sseq, ACK), &[])?;
    let span = (secs.clamp(1, 58) * 1_000_000) as i64;
    let step = (span / requests.max(1) as i64).max(2);
    let mut t = t0 + 1_000;
    for i in 0..requests {
        let tid = i as u16;
        let addr = (i % 8) as u16 * 100;
        let mut req = Vec::with_capacity(12);
        req.extend_from_slice(&tid.to_be_bytes());
        req.extend_from_slice(&[0, 0, 0, 6, 1, 3]);
        req.extend_from_slice(&addr.to_be_bytes());
        req.extend_from_slice(&[0, 2]);
        let mut resp = Vec::with_capacity(13);
        resp.extend_from_slice(&tid.to_be_bytes());
        resp.extend_from_slice(&[0, 0, 0, 7, 1, 3, 4]);
        resp.extend_from_slice(&(addr ^ 0x5a5a).to_be_bytes());
        resp.extend_from_slice(&((i / 8 % values) as u16).to_be_bytes());
        send(&mut w, t, true, (mseq, sseq, PSH_ACK), &req)?;
        mseq = mseq.wrapping_add(req.len() as u32);
        send(&mut w, t + step / 2, false, (sseq, mseq, PSH_ACK), &resp)?;
        sseq = sseq.wrapping_add(resp.len() as u32);
        t += step;
    }
    send(&mut w, t, true, (mseq, sseq, FIN_ACK), &[])?;
    send(&mut w, t + 100, false, (sseq, mseq + 1, FIN_ACK), &[])?;
    send(&mut w, t + 200, true, (mseq + 1, sseq + 1, ACK), &[])?;
    w.finish()
}

#[cfg(test)]
mod tests;
