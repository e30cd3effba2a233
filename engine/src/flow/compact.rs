//! Compact storage for connections that have seen one packet.
//!
//! Most entries of a full table under a scan or a random-tuple flood are a
//! single SYN or datagram. Such a connection is exactly `Conn::new` (plus
//! the role flip made at creation) with that one packet applied, so it is
//! kept as the packet's [`Observation`] in 44 bytes instead of a whole
//! `Conn`, and rebuilt by applying the observation again when a second
//! packet comes, when it expires, or when it is logged. IPv4 TCP, UDP and
//! ICMP only; anything else stays a full entry.
//!
//! An entry has seen one packet, so its last activity is its insertion:
//! each timeout list is a FIFO queue, oldest first. An entry taken out of
//! the middle (a second packet came) stays in its queue, marked dead, until
//! the queue's head reaches it.

use super::conn::{Effect, LinkFacts, Observation};
use super::id::{ConnId, Transport};
use super::tcp::Seg;
use super::ConnKey;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr};

const NIL: u32 = u32::MAX;
/// Buckets the index starts with (16 KiB).
const MIN_INDEX: usize = 4096;

/// A one-packet connection, as [`super::ConnTable`] rebuilds it.
#[derive(Clone, Copy, Debug)]
pub struct Frozen {
    /// The connection's endpoints as created, before any role flip.
    pub id: ConnId,
    pub ip_proto: u8,
    /// The uid counter the connection was created with.
    pub uid_counter: u32,
    pub flipped: bool,
    pub probes_left: u8,
    pub obs: Observation,
}

/// Packed entry: 44 bytes.
#[derive(Clone, Copy)]
struct Entry {
    a: u32,
    b: u32,
    seq: u32,
    ack: u32,
    uid: u32,
    /// Next (newer) entry of the queue, or of the free list.
    next: u32,
    ts_lo: u32,
    ts_hi: u16,
    a_port: u16,
    b_port: u16,
    ip_len: u16,
    /// Payload length (TCP segment length or UDP/ICMP payload).
    len: u16,
    window: u16,
    link: u16,
    bits: u16,
}

// `bits`: what the rest of the observation and the connection hold.
const PROTO_MASK: u16 = 0b11; // 1 tcp, 2 udp, 3 icmp
const EFFECT_SHIFT: u16 = 2; // 2 bits: tcp, udp, datagram, bad checksum
const ORIG_IS_A: u16 = 1 << 4;
const FLIPPED: u16 = 1 << 5;
const DEAD: u16 = 1 << 6;
const PROBES_SHIFT: u16 = 7; // 3 bits
const SYN: u16 = 1 << 10;
const FIN: u16 = 1 << 11;
const RST: u16 = 1 << 12;
const ACK: u16 = 1 << 13;
const COMPLETE: u16 = 1 << 14;

/// Timestamps are kept as 48-bit µs offsets from an epoch set this far
/// before the first entry (so slightly older packets fit too): about 6.7
/// years of range after it.
const EPOCH_SLACK_US: i64 = 1 << 46;

#[derive(Clone, Copy)]
struct Queue {
    head: u32,
    tail: u32,
}

/// Link facts shared by many entries (one router MAC pair and VLAN carry
/// most of a mirror port's traffic), counted so unused ones are freed.
#[derive(Default)]
struct Links {
    facts: Vec<(LinkFacts, u32)>,
    ids: FxHashMap<LinkFacts, u16>,
    free: Vec<u16>,
}

impl Links {
    fn acquire(&mut self, l: &LinkFacts) -> Option<u16> {
        if let Some(&id) = self.ids.get(l) {
            self.facts[usize::from(id)].1 += 1;
            return Some(id);
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.facts[usize::from(id)] = (*l, 1);
                id
            }
            None => {
                let id = u16::try_from(self.facts.len()).ok()?;
                self.facts.push((*l, 1));
                id
            }
        };
        self.ids.insert(*l, id);
        Some(id)
    }

    fn get(&self, id: u16) -> LinkFacts {
        self.facts
            .get(usize::from(id))
            .map(|f| f.0)
            .unwrap_or_default()
    }

    fn release(&mut self, id: u16) {
        let Some(f) = self.facts.get_mut(usize::from(id)) else {
            return;
        };
        f.1 = f.1.saturating_sub(1);
        if f.1 == 0 {
            self.ids.remove(&f.0);
            self.free.push(id);
        }
    }
}

pub struct CompactTable<const LISTS: usize> {
    slots: Vec<Entry>,
    free: u32,
    /// Open addressing by key hash: slot + 1, 0 for an empty bucket. It
    /// starts small and doubles as entries come, up to `max_index`: a
    /// table sized for a flood would otherwise be probed at random over
    /// megabytes, a cache miss for every new connection.
    index: Vec<u32>,
    max_index: usize,
    queues: [Queue; LISTS],
    links: Links,
    live: usize,
    capacity: usize,
    epoch: Option<i64>,
}

fn v4(a: IpAddr) -> Option<u32> {
    match a {
        IpAddr::V4(a) => Some(u32::from(a)),
        IpAddr::V6(_) => None,
    }
}

fn proto_code(p: Transport) -> Option<u16> {
    match p {
        Transport::Tcp => Some(1),
        Transport::Udp => Some(2),
        Transport::Icmp => Some(3),
        Transport::Other(_) => None,
    }
}

/// The key of an entry: both endpoints in [`ConnKey`] order and the proto.
fn key_hash(a: u32, a_port: u16, b: u32, b_port: u16, proto: u16) -> u64 {
    let x = (u64::from(a) << 32 | u64::from(b))
        ^ (u64::from(a_port) << 48 | u64::from(b_port) << 32 | u64::from(proto))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let x = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

impl Entry {
    fn hash(&self) -> u64 {
        key_hash(
            self.a,
            self.a_port,
            self.b,
            self.b_port,
            self.bits & PROTO_MASK,
        )
    }

    fn ts(&self, epoch: i64) -> i64 {
        epoch + (i64::from(self.ts_hi) << 32 | i64::from(self.ts_lo))
    }
}

/// A key in entry terms: addresses, ports, proto code.
type Key = (u32, u16, u32, u16, u16);

fn entry_key(key: &ConnKey) -> Option<Key> {
    let (a, a_port, b, b_port) = key.v4_endpoints()?;
    Some((a, a_port, b, b_port, proto_code(key.transport())?))
}

impl<const LISTS: usize> CompactTable<LISTS> {
    /// Room for `capacity` entries; memory is taken as entries come.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, NIL as usize - 1);
        let max_index = capacity + capacity / 4 + 1;
        CompactTable {
            // Reserved, not touched: pages become resident as slots fill.
            slots: Vec::with_capacity(capacity),
            free: NIL,
            index: vec![0; max_index.min(MIN_INDEX)],
            max_index,
            queues: [Queue {
                head: NIL,
                tail: NIL,
            }; LISTS],
            links: Links::default(),
            live: 0,
            capacity,
            epoch: None,
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn bucket(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.index.len() as u128) >> 64) as usize
    }

    /// The bucket holding `key`'s slot, if present.
    fn find_bucket(&self, k: Key) -> Option<usize> {
        let mut i = self.bucket(key_hash(k.0, k.1, k.2, k.3, k.4));
        loop {
            let s = *self.index.get(i)?;
            if s == 0 {
                return None;
            }
            if let Some(e) = self.slots.get(s as usize - 1) {
                if (e.a, e.a_port, e.b, e.b_port, e.bits & PROTO_MASK) == k {
                    return Some(i);
                }
            }
            i = if i + 1 == self.index.len() { 0 } else { i + 1 };
        }
    }

    /// Stores a one-packet connection in `list`; false when it does not fit
    /// the packed form or no slot is free (it then stays a full entry).
    pub fn insert(&mut self, f: &Frozen, list: usize) -> bool {
        let key = ConnKey::new(
            f.id.orig_h,
            f.id.orig_p,
            f.id.resp_h,
            f.id.resp_p,
            f.id.proto,
        );
        let Some(k) = entry_key(&key) else {
            return false;
        };
        let o = &f.obs;
        let (effect, seq, ack, len, window, tcp_bits) = match o.effect {
            Effect::Tcp(s) => {
                let flags = [(s.syn, SYN), (s.fin, FIN), (s.rst, RST), (s.ackf, ACK)]
                    .iter()
                    .filter(|(on, _)| *on)
                    .fold(if s.complete { COMPLETE } else { 0 }, |b, (_, f)| b | f);
                (0, s.seq, s.ack, s.len, s.window, flags)
            }
            Effect::Udp(n) => (1, 0, 0, n, 0, 0),
            Effect::Datagram(n) => (2, 0, 0, n, 0, 0),
            Effect::BadChecksum => (3, 0, 0, 0, 0, 0),
        };
        let epoch = *self.epoch.get_or_insert(o.ts - EPOCH_SLACK_US);
        let rel = o.ts - epoch;
        let (Ok(len), Ok(ip_len)) = (u16::try_from(len), u16::try_from(o.ip_len)) else {
            return false;
        };
        let fits = (0..1 << 48).contains(&rel)
            && f.probes_left < 8
            && o.link.parent.is_none()
            && list < LISTS;
        if !fits || self.live >= self.capacity || self.find_bucket(k).is_some() {
            return false;
        }
        let Some(slot) = self.alloc() else {
            return false;
        };
        let Some(link) = self.links.acquire(&o.link) else {
            self.release_slot(slot);
            return false;
        };
        let orig_is_a = (v4(f.id.orig_h), f.id.orig_p) == (Some(k.0), k.1);
        let mut bits = k.4 | effect << EFFECT_SHIFT | u16::from(f.probes_left) << PROBES_SHIFT;
        bits |= tcp_bits;
        if orig_is_a {
            bits |= ORIG_IS_A;
        }
        if f.flipped {
            bits |= FLIPPED;
        }
        let e = Entry {
            a: k.0,
            b: k.2,
            seq,
            ack,
            uid: f.uid_counter,
            next: NIL,
            ts_lo: rel as u32,
            ts_hi: (rel >> 32) as u16,
            a_port: k.1,
            b_port: k.3,
            ip_len,
            len,
            window,
            link,
            bits,
        };
        self.slots[slot as usize] = e;
        // At most three quarters full before the last doubling; at the
        // largest size, full entries are 80% (the slots run out first).
        if (self.live + 1) * 4 > self.index.len() * 3 && self.index.len() < self.max_index {
            self.grow();
        }
        self.place(slot);
        let q = &mut self.queues[list];
        if q.tail == NIL {
            q.head = slot;
        } else {
            self.slots[q.tail as usize].next = slot;
        }
        self.queues[list].tail = slot;
        self.live += 1;
        true
    }

    /// Takes the connection with `key` out, if it is here.
    pub fn take(&mut self, key: &ConnKey) -> Option<Frozen> {
        let bucket = self.find_bucket(entry_key(key)?)?;
        let slot = self.index[bucket] - 1;
        let f = self.frozen(slot)?;
        self.unindex(bucket);
        self.kill(slot);
        Some(f)
    }

    /// The insertion time of the oldest entry.
    pub fn oldest_ts(&mut self) -> Option<i64> {
        Some(self.oldest_head()?.1)
    }

    /// The list whose live head is oldest, and that head's time.
    fn oldest_head(&mut self) -> Option<(usize, i64)> {
        let epoch = self.epoch?;
        let mut best: Option<(usize, i64)> = None;
        for l in 0..LISTS {
            let Some(h) = self.live_head(l) else { continue };
            let ts = self.slots[h as usize].ts(epoch);
            if best.is_none_or(|(_, b)| ts < b) {
                best = Some((l, ts));
            }
        }
        best
    }

    /// Takes out the oldest entry.
    pub fn pop_oldest(&mut self) -> Option<Frozen> {
        let list = self.oldest_head()?.0;
        self.pop_head(list)
    }

    /// Frees the dead entries at the queue heads (taken out since they were
    /// queued), with the link facts they held.
    pub fn reclaim(&mut self) {
        for l in 0..LISTS {
            self.live_head(l);
        }
    }

    /// The time of the oldest live entry of `list`; `i64::MIN` when more
    /// than a few dead entries come before it. It only looks: dead entries
    /// are freed by [`CompactTable::reclaim`] and as entries are stored, so
    /// what fits the table does not depend on who asked.
    pub fn head_ts(&self, list: usize) -> Option<i64> {
        const LOOK: usize = 8;
        let epoch = self.epoch?;
        let mut h = self.queues.get(list)?.head;
        for _ in 0..LOOK {
            let e = self.slots.get(h as usize)?;
            if e.bits & DEAD == 0 {
                return Some(e.ts(epoch));
            }
            h = e.next;
        }
        Some(i64::MIN)
    }

    /// Takes out the head of `list` if it has been idle `timeout` at `now`.
    pub fn pop_expired(&mut self, list: usize, now: i64, timeout: i64) -> Option<Frozen> {
        let epoch = self.epoch?;
        let s = self.live_head(list)?;
        if self.slots[s as usize].ts(epoch) + timeout > now {
            return None;
        }
        self.pop_head(list)
    }

    /// Every entry, in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(Frozen)) {
        for (slot, e) in self.slots.iter().enumerate() {
            if e.bits & DEAD == 0 {
                if let Some(fr) = self.frozen(slot as u32) {
                    f(fr);
                }
            }
        }
    }

    fn frozen(&self, slot: u32) -> Option<Frozen> {
        let e = self.slots.get(slot as usize)?;
        let epoch = self.epoch?;
        let proto = match e.bits & PROTO_MASK {
            1 => Transport::Tcp,
            2 => Transport::Udp,
            _ => Transport::Icmp,
        };
        let ((oh, op), (rh, rp)) = {
            let a = (IpAddr::V4(Ipv4Addr::from(e.a)), e.a_port);
            let b = (IpAddr::V4(Ipv4Addr::from(e.b)), e.b_port);
            if e.bits & ORIG_IS_A != 0 {
                (a, b)
            } else {
                (b, a)
            }
        };
        let flipped = e.bits & FLIPPED != 0;
        let len = u32::from(e.len);
        let effect = match (e.bits >> EFFECT_SHIFT) & 0b11 {
            0 => Effect::Tcp(Seg {
                seq: e.seq,
                ack: e.ack,
                syn: e.bits & SYN != 0,
                fin: e.bits & FIN != 0,
                rst: e.bits & RST != 0,
                ackf: e.bits & ACK != 0,
                len,
                complete: e.bits & COMPLETE != 0,
                window: e.window,
            }),
            1 => Effect::Udp(len),
            2 => Effect::Datagram(len),
            _ => Effect::BadChecksum,
        };
        Some(Frozen {
            id: ConnId {
                orig_h: oh,
                orig_p: op,
                resp_h: rh,
                resp_p: rp,
                proto,
            },
            ip_proto: match proto {
                Transport::Tcp => 6,
                Transport::Udp => 17,
                _ => 1,
            },
            uid_counter: e.uid,
            flipped,
            probes_left: ((e.bits >> PROBES_SHIFT) & 0b111) as u8,
            obs: Observation {
                ts: e.ts(epoch),
                // The packet's sender created the connection.
                is_orig: !flipped,
                ip_len: u32::from(e.ip_len),
                link: self.links.get(e.link),
                effect,
            },
        })
    }

    /// The head of `list` after freeing the dead entries before it.
    fn live_head(&mut self, list: usize) -> Option<u32> {
        loop {
            let h = self.queues.get(list)?.head;
            let e = self.slots.get(h as usize)?;
            if e.bits & DEAD == 0 {
                return Some(h);
            }
            self.unlink_head(list);
            self.release_slot(h);
        }
    }

    fn pop_head(&mut self, list: usize) -> Option<Frozen> {
        let h = self.live_head(list)?;
        let f = self.frozen(h)?;
        let e = &self.slots[h as usize];
        if let Some(b) = self.find_bucket((e.a, e.a_port, e.b, e.b_port, e.bits & PROTO_MASK)) {
            self.unindex(b);
        }
        self.kill(h);
        self.unlink_head(list);
        self.release_slot(h);
        Some(f)
    }

    fn unlink_head(&mut self, list: usize) {
        let q = &mut self.queues[list];
        let h = q.head;
        let next = self.slots.get(h as usize).map_or(NIL, |e| e.next);
        q.head = next;
        if next == NIL {
            q.tail = NIL;
        }
    }

    /// Marks a slot dead (it stays queued until its queue's head reaches
    /// it) and lets go of its link facts.
    fn kill(&mut self, slot: u32) {
        if let Some(e) = self.slots.get_mut(slot as usize) {
            if e.bits & DEAD == 0 {
                e.bits |= DEAD;
                let link = e.link;
                self.links.release(link);
                self.live -= 1;
            }
        }
    }

    fn alloc(&mut self) -> Option<u32> {
        if self.free == NIL && self.slots.len() >= self.capacity {
            self.reclaim();
        }
        if self.free != NIL {
            let s = self.free;
            self.free = self.slots[s as usize].next;
            return Some(s);
        }
        if self.slots.len() < self.capacity {
            self.slots.push(Entry {
                a: 0,
                b: 0,
                seq: 0,
                ack: 0,
                uid: 0,
                next: NIL,
                ts_lo: 0,
                ts_hi: 0,
                a_port: 0,
                b_port: 0,
                ip_len: 0,
                len: 0,
                window: 0,
                link: 0,
                bits: DEAD,
            });
            return Some((self.slots.len() - 1) as u32);
        }
        None
    }

    fn release_slot(&mut self, slot: u32) {
        if let Some(e) = self.slots.get_mut(slot as usize) {
            e.bits = DEAD;
            e.next = self.free;
            self.free = slot;
        }
    }

    /// Puts `slot` in the first free bucket from its home on.
    fn place(&mut self, slot: u32) {
        let mut i = self.bucket(self.slots[slot as usize].hash());
        while self.index[i] != 0 {
            i = if i + 1 == self.index.len() { 0 } else { i + 1 };
        }
        self.index[i] = slot + 1;
    }

    /// Doubles the index (up to its largest size) and places every entry
    /// anew.
    fn grow(&mut self) {
        let size = (self.index.len() * 2).min(self.max_index);
        let old = std::mem::replace(&mut self.index, vec![0; size]);
        for s in old.into_iter().filter(|&s| s != 0) {
            self.place(s - 1);
        }
    }

    /// Empties a bucket, shifting later entries of its probe run back so
    /// every entry stays reachable from its home bucket.
    fn unindex(&mut self, mut hole: usize) {
        let n = self.index.len();
        self.index[hole] = 0;
        let mut i = hole;
        loop {
            i = if i + 1 == n { 0 } else { i + 1 };
            let s = self.index[i];
            if s == 0 {
                return;
            }
            let home = self.bucket(self.slots[s as usize - 1].hash());
            // Move it back unless its home lies cyclically in (hole, i].
            let stays = if hole <= i {
                hole < home && home <= i
            } else {
                hole < home || home <= i
            };
            if !stays {
                self.index[hole] = s;
                self.index[i] = 0;
                hole = i;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frozen(i: u32, ts: i64, mac: u8) -> Frozen {
        Frozen {
            id: ConnId {
                orig_h: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
                orig_p: 40000,
                resp_h: IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)),
                resp_p: 502,
                proto: Transport::Tcp,
            },
            ip_proto: 6,
            uid_counter: i,
            flipped: false,
            probes_left: 4,
            obs: Observation {
                ts,
                is_orig: true,
                ip_len: 60,
                link: LinkFacts {
                    src_mac: Some([2, 0, 0, 0, 0, mac]),
                    dst_mac: Some([2, 0, 0, 0, 0, 1]),
                    vlan: Some(10),
                    inner_vlan: None,
                    parent: None,
                },
                effect: Effect::Tcp(Seg {
                    seq: 7 * i,
                    ack: 0,
                    syn: true,
                    fin: false,
                    rst: false,
                    ackf: false,
                    len: 0,
                    complete: true,
                    window: 64240,
                }),
            },
        }
    }

    fn key(f: &Frozen) -> ConnKey {
        ConnKey::new(
            f.id.orig_h,
            f.id.orig_p,
            f.id.resp_h,
            f.id.resp_p,
            f.id.proto,
        )
    }

    #[test]
    fn entries_are_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 44);
    }

    #[test]
    fn stores_and_gives_back_exactly() {
        let mut t: CompactTable<2> = CompactTable::new(100);
        let f = frozen(3, 1_700_000_000_123_456, 9);
        assert!(t.insert(&f, 1));
        assert!(!t.insert(&f, 1), "a key is stored once");
        let g = t.take(&key(&f)).expect("stored");
        assert_eq!(format!("{f:?}"), format!("{g:?}"));
        assert!(t.take(&key(&f)).is_none());
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn pops_oldest_first_and_expires_by_list() {
        let mut t: CompactTable<2> = CompactTable::new(100);
        for i in 0..10 {
            assert!(t.insert(&frozen(i, 1_000_000 + i64::from(i), 9), (i % 2) as usize));
        }
        // A dead entry at a head is skipped.
        t.take(&key(&frozen(0, 0, 9)));
        assert_eq!(t.oldest_ts(), Some(1_000_001));
        assert_eq!(t.pop_oldest().map(|f| f.uid_counter), Some(1));
        assert!(t.pop_expired(0, 1_000_009, 8).is_none());
        assert_eq!(
            t.pop_expired(0, 1_000_010, 8).map(|f| f.uid_counter),
            Some(2)
        );
        assert_eq!(t.len(), 7);
        let mut seen = Vec::new();
        t.for_each(|f| seen.push(f.uid_counter));
        seen.sort_unstable();
        assert_eq!(seen, vec![3, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn index_grows_with_the_entries_up_to_its_size_for_the_capacity() {
        let cap = 30_000;
        let mut t: CompactTable<1> = CompactTable::new(cap);
        assert_eq!(t.index.len(), MIN_INDEX);
        for i in 0..cap as u32 {
            assert!(t.insert(&frozen(i, i64::from(i), 9), 0));
            assert!(t.live * 4 <= t.index.len() * 3 || t.index.len() == t.max_index);
        }
        assert_eq!(t.index.len(), cap + cap / 4 + 1);
        assert!(!t.insert(&frozen(cap as u32, 0, 9), 0), "full at capacity");
        // Every entry is still found after the moves of each doubling.
        for i in (0..cap as u32).rev() {
            let f = t.take(&key(&frozen(i, 0, 9))).expect("stored");
            assert_eq!(f.uid_counter, i);
        }
        assert!(t.is_empty() && t.index.iter().all(|&s| s == 0));
    }

    #[test]
    fn bounded_and_every_key_stays_findable_through_churn() {
        let mut t: CompactTable<1> = CompactTable::new(64);
        let mut rng = 1u64;
        let mut present = std::collections::HashSet::new();
        for step in 0..20_000i64 {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let i = (rng >> 40) as u32 % 200;
            let f = frozen(i, step, (i % 3) as u8);
            if present.contains(&i) {
                assert!(t.take(&key(&f)).is_some(), "key {i} lost at step {step}");
                present.remove(&i);
            } else if t.insert(&f, 0) {
                present.insert(i);
            } else {
                assert!(t.len() == 64 || t.slots.len() == 64);
            }
            if step % 7 == 0 {
                if let Some(old) = t.pop_oldest() {
                    present.remove(&old.uid_counter);
                }
            }
            assert_eq!(t.len(), present.len());
            assert!(t.slots.len() <= 64 && t.links.facts.len() <= 3);
        }
    }

    #[test]
    fn ipv6_and_tunnelled_packets_stay_full() {
        let mut t: CompactTable<1> = CompactTable::new(10);
        let mut f = frozen(1, 5, 1);
        f.id.orig_h = "fe80::1".parse().expect("address");
        assert!(!t.insert(&f, 0));
        let mut g = frozen(1, 5, 1);
        g.obs.link.parent = Some(77);
        assert!(!t.insert(&g, 0));
    }
}
