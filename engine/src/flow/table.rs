//! A bounded hash table with recency lists: entries sit on one of a few
//! lists ordered by last activity, so expiry pops list tails and a full table
//! evicts its least recently active entry. Nothing grows past `capacity`.

use rustc_hash::FxHashMap;
use std::hash::Hash;

const NIL: u32 = u32::MAX;

struct Slot<K, V> {
    key: K,
    val: V,
    prev: u32,
    next: u32,
    list: u8,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

pub struct Table<K, V, const LISTS: usize> {
    map: FxHashMap<K, u32>,
    slots: Vec<Option<Slot<K, V>>>,
    free: Vec<u32>,
    lists: [List; LISTS],
    capacity: usize,
    /// Entries evicted because the table was full.
    pub evicted: u64,
}

impl<K: Hash + Eq + Copy, V, const LISTS: usize> Table<K, V, LISTS> {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, NIL as usize - 1);
        Table {
            map: FxHashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; LISTS],
            capacity,
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn find(&self, key: &K) -> Option<u32> {
        self.map.get(key).copied()
    }

    pub fn get(&self, idx: u32) -> Option<&V> {
        self.slots.get(idx as usize)?.as_ref().map(|s| &s.val)
    }

    pub fn get_mut(&mut self, idx: u32) -> Option<&mut V> {
        self.slots
            .get_mut(idx as usize)?
            .as_mut()
            .map(|s| &mut s.val)
    }

    pub fn key(&self, idx: u32) -> Option<&K> {
        self.slots.get(idx as usize)?.as_ref().map(|s| &s.key)
    }

    /// Inserts at the head of `list`. When the table is full the least
    /// recently active entry is evicted and returned: the list tail with
    /// the smallest `last_active`.
    pub fn insert(
        &mut self,
        key: K,
        val: V,
        list: usize,
        last_active: impl Fn(&V) -> i64,
    ) -> (u32, Option<(K, V)>) {
        let mut evicted = None;
        if self.map.len() >= self.capacity {
            if let Some(idx) = self.oldest(last_active) {
                evicted = self.remove(idx);
                self.evicted += 1;
            }
        }
        let slot = Slot {
            key,
            val,
            prev: NIL,
            next: NIL,
            list: list as u8,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        self.link_head(idx, list);
        (idx, evicted)
    }

    /// Marks an entry as just active, moving it to the head of `list`.
    /// Returns the list it left the tail of, if it was one's tail.
    pub fn touch(&mut self, idx: u32, list: usize) -> Option<usize> {
        let Some(Some(s)) = self.slots.get(idx as usize) else {
            return None;
        };
        let from = usize::from(s.list);
        // A connection's packets often come in runs: already in place.
        if from == list && self.lists[list].head == idx {
            return None;
        }
        let was_tail = self.lists.get(from).is_some_and(|l| l.tail == idx);
        self.unlink(idx);
        self.link_head(idx, list);
        was_tail.then_some(from)
    }

    pub fn remove(&mut self, idx: u32) -> Option<(K, V)> {
        self.slots.get(idx as usize)?.as_ref()?;
        self.unlink(idx);
        let slot = self.slots[idx as usize].take()?;
        self.map.remove(&slot.key);
        self.free.push(idx);
        Some((slot.key, slot.val))
    }

    /// The least recently active entry: the list tail with the smallest
    /// `last_active`.
    pub fn oldest(&self, last_active: impl Fn(&V) -> i64) -> Option<u32> {
        (0..LISTS)
            .filter_map(|l| self.tail(l))
            .min_by_key(|&i| self.get(i).map_or(i64::MIN, &last_active))
    }

    /// The least recently active entry of `list`.
    pub fn tail(&self, list: usize) -> Option<u32> {
        let t = self.lists[list].tail;
        (t != NIL).then_some(t)
    }

    /// Every entry index, in no particular order.
    pub fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as u32)
    }

    fn link_head(&mut self, idx: u32, list: usize) {
        let old = self.lists[list].head;
        if let Some(Some(s)) = self.slots.get_mut(idx as usize) {
            s.prev = NIL;
            s.next = old;
            s.list = list as u8;
        }
        if old != NIL {
            if let Some(Some(s)) = self.slots.get_mut(old as usize) {
                s.prev = idx;
            }
        } else {
            self.lists[list].tail = idx;
        }
        self.lists[list].head = idx;
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next, list) = match self.slots.get(idx as usize) {
            Some(Some(s)) => (s.prev, s.next, s.list as usize),
            _ => return,
        };
        if prev != NIL {
            if let Some(Some(s)) = self.slots.get_mut(prev as usize) {
                s.next = next;
            }
        } else {
            self.lists[list].head = next;
        }
        if next != NIL {
            if let Some(Some(s)) = self.slots.get_mut(next as usize) {
                s.prev = prev;
            }
        } else {
            self.lists[list].tail = prev;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recent_when_full() {
        let mut t: Table<u32, &str, 1> = Table::new(2);
        let (a, _) = t.insert(1, "a", 0, |_| 0);
        t.insert(2, "b", 0, |_| 0);
        t.touch(a, 0);
        let (_, ev) = t.insert(3, "c", 0, |_| 0);
        assert_eq!(ev, Some((2, "b")));
        assert_eq!(t.len(), 2);
        assert_eq!(t.evicted, 1);
        assert!(t.find(&1).is_some() && t.find(&3).is_some());
    }

    #[test]
    fn tail_is_oldest() {
        let mut t: Table<u32, (), 2> = Table::new(10);
        let (a, _) = t.insert(1, (), 1, |_| 0);
        t.insert(2, (), 1, |_| 0);
        assert_eq!(t.tail(1), Some(a));
        t.touch(a, 1);
        assert_eq!(t.key(t.tail(1).unwrap()), Some(&2));
        t.remove(a);
        t.remove(t.tail(1).unwrap());
        assert!(t.is_empty() && t.tail(1).is_none());
    }
}
