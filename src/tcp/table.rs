//! Fixed-capacity connection table: a slab of TCBs plus an open-addressing index.
//!
//! - The slab is allocated once; free TCBs are chained through `Tcb::t_next`.
//! - The index has a power-of-two size >= 1.5 x capacity (load <= 2/3) and holds
//!   `hash32 << 32 | (slot + 1)` per entry (0 = empty). Lookups compare the 32-bit hash
//!   tag before touching the TCB; the home position is `hash32 & mask`. Deletion is by
//!   backward shift (no tombstones), so probe lengths stay short under churn.
//! - One keyed multiply hash per lookup; callers keep it for a later `remove`.

use super::addrs6::{Addrs6, Family};
use super::tcb::Tcb;

/// A connection's 4-tuple from our point of view: IPv4 addresses as big-endian `u32`, IPv6
/// addresses as handles into `Table::v6` (see `addrs6.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Key {
    pub local_ip: u32,
    pub remote_ip: u32,
    pub local_port: u16,
    pub remote_port: u16,
}

/// Slab index of a TCB.
pub type Slot = u32;

pub const NIL: u32 = u32::MAX;

/// Index size (bytes) above which lookups are warmed a burst ahead (about an L2 cache).
const WARM_ABOVE: usize = 2 << 20;

/// Largest capacity accepted (index positions must fit the 32-bit hash tag).
pub const MAX_CAPACITY: usize = 1 << 30;

pub struct Table {
    tcbs: Vec<Tcb>,
    index: Vec<u64>,
    mask: usize,
    free: u32,
    len: usize,
    seed: [u64; 3],
    /// The IPv6 addresses keys name (empty without IPv6); kept in step by insert/remove.
    pub v6: Box<Addrs6>,
}

#[inline(always)]
pub(crate) fn fold_mul(a: u64, b: u64) -> u64 {
    let full = (a as u128) * (b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

impl Table {
    pub fn new(capacity: usize, seed: [u64; 3]) -> Result<Table, String> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(format!(
                "capacity must be in 1..={MAX_CAPACITY}, got {capacity}"
            ));
        }
        let size = (capacity + capacity / 2).next_power_of_two().max(8);
        let mut tcbs = vec![Tcb::default(); capacity];
        for (i, t) in tcbs.iter_mut().enumerate() {
            t.t_next = if i + 1 < capacity { i as u32 + 1 } else { NIL };
        }
        Ok(Table {
            tcbs,
            index: vec![0; size],
            mask: size - 1,
            free: 0,
            len: 0,
            seed,
            v6: Box::new(Addrs6::new(0, 0)),
        })
    }

    /// Keyed hash of a tuple (one per packet).
    #[inline]
    pub fn hash(&self, k: &Key) -> u32 {
        let a = ((k.local_ip as u64) << 32 | k.remote_ip as u64) ^ self.seed[0];
        let b = ((k.local_port as u64) << 16 | k.remote_port as u64) ^ self.seed[1];
        let h = fold_mul(fold_mul(a, b) ^ self.seed[2], 0x9e37_79b9_7f4a_7c15);
        (h ^ (h >> 32)) as u32
    }

    #[inline]
    pub fn find(&self, k: &Key, h: u32) -> Option<Slot> {
        self.probe(k, h).ok()
    }

    /// `find`, and on a miss the empty index position its probe ended at: where `insert`
    /// would put `k` (`insert_at`), so a new key's index is probed once.
    #[inline]
    pub fn probe(&self, k: &Key, h: u32) -> Result<Slot, usize> {
        let mut pos = h as usize & self.mask;
        loop {
            let e = self.index[pos];
            if e == 0 {
                return Err(pos);
            }
            if (e >> 32) as u32 == h {
                let slot = (e as u32).wrapping_sub(1);
                if self.tcbs[slot as usize].key == *k {
                    return Ok(slot);
                }
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// An index past the caches' reach: lookups of new tuples miss, so warming them a burst
    /// ahead (`warm`) pays; below, it would only add work.
    #[inline]
    pub fn cold(&self) -> bool {
        self.index.len() * 8 > WARM_ABOVE
    }

    /// Loads `h`'s home index entry and, when its tag matches, that TCB's key: the misses of a
    /// burst's lookups, issued back to back, overlap, and its lookups then hit the cache (std
    /// has no stable prefetch; `unsafe` is for `xsk` only). Fold the results into
    /// `std::hint::black_box` so that the loads stay.
    #[inline]
    pub fn warm(&self, h: u32) -> u64 {
        let e = self.index[h as usize & self.mask];
        let slot = (e as u32).wrapping_sub(1) as usize;
        match self.tcbs.get(slot) {
            Some(t) if e != 0 && (e >> 32) as u32 == h => e ^ t.key.remote_ip as u64,
            _ => e,
        }
    }

    /// Inserts a TCB for `tcb.key` (which must not be present); `None` when full.
    #[inline]
    pub fn insert<F: Family>(&mut self, h: u32, tcb: Tcb) -> Option<Slot> {
        let mut pos = h as usize & self.mask;
        while self.index[pos] != 0 {
            pos = (pos + 1) & self.mask;
        }
        self.insert_at::<F>(pos, h, tcb)
    }

    /// `insert` at `pos`, the position a `probe` of `tcb.key` missed at, with no insert or
    /// remove since (so it is still the first empty one of the key's probe).
    #[inline]
    pub fn insert_at<F: Family>(&mut self, pos: usize, h: u32, tcb: Tcb) -> Option<Slot> {
        let slot = self.free;
        if slot == NIL {
            return None;
        }
        debug_assert!(self.index[pos] == 0);
        let t = &mut self.tcbs[slot as usize];
        self.free = t.t_next;
        *t = tcb;
        self.index[pos] = (h as u64) << 32 | (slot as u64 + 1);
        self.len += 1;
        let k = self.tcbs[slot as usize].key;
        if F::v6(&k) {
            self.v6_refs(&k, true);
        }
        Some(slot)
    }

    /// Removes `slot`, whose key hashes to `h` (of family `F`).
    pub fn remove<F: Family>(&mut self, slot: Slot, h: u32) {
        let want = (h as u64) << 32 | (slot as u64 + 1);
        let mut pos = h as usize & self.mask;
        loop {
            let e = self.index[pos];
            if e == want {
                break;
            }
            if e == 0 {
                return; // not present: nothing to do
            }
            pos = (pos + 1) & self.mask;
        }
        remove_at(&mut self.index, self.mask, pos);
        let t = &mut self.tcbs[slot as usize];
        t.t_next = self.free;
        let k = t.key;
        self.free = slot;
        self.len -= 1;
        if F::v6(&k) {
            self.v6_refs(&k, false);
        }
    }

    /// An IPv6 key's addresses gain (`true`) or lose a reference (out of line: the IPv4
    /// path only tests the family).
    #[cold]
    #[inline(never)]
    fn v6_refs(&mut self, k: &Key, gain: bool) {
        for a in [k.local_ip, k.remote_ip] {
            if gain {
                self.v6.retain(a);
            } else {
                self.v6.drop_ref(a);
            }
        }
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> &Tcb {
        &self.tcbs[slot as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> &mut Tcb {
        &mut self.tcbs[slot as usize]
    }

    /// The slab, for the timer wheel's intrusive links.
    #[inline]
    pub fn tcbs_mut(&mut self) -> &mut [Tcb] {
        &mut self.tcbs
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_full(&self) -> bool {
        self.free == NIL
    }

    /// Bytes held by the slab and the index.
    pub fn memory_bytes(&self) -> usize {
        self.tcbs.len() * std::mem::size_of::<Tcb>() + self.index.len() * 8 + self.v6.memory_bytes()
    }

    /// Some live slot and its hash, or `None` when empty.
    #[cfg(test)]
    pub fn any(&self) -> Option<(Slot, u32)> {
        self.index
            .iter()
            .find(|&&e| e != 0)
            .map(|&e| ((e as u32).wrapping_sub(1), (e >> 32) as u32))
    }

    /// Every live slot (not on the packet path: allocates).
    pub fn slots(&self) -> Vec<(Slot, u32)> {
        self.index
            .iter()
            .filter(|&&e| e != 0)
            .map(|&e| ((e as u32).wrapping_sub(1), (e >> 32) as u32))
            .collect()
    }
}

/// Backward-shift deletion of position `hole` of an index of `hash32 << 32 | value` entries
/// (0 = empty) whose home is `hash32 & mask`.
pub(crate) fn remove_at(index: &mut [u64], mask: usize, mut hole: usize) {
    let mut j = hole;
    loop {
        j = (j + 1) & mask;
        let e = index[j];
        if e == 0 {
            break;
        }
        let home = (e >> 32) as usize & mask;
        // The entry at j may move to the hole unless its home lies in (hole, j].
        let d_home = home.wrapping_sub(hole) & mask;
        let d_j = j.wrapping_sub(hole) & mask;
        if d_home == 0 || d_home > d_j {
            index[hole] = e;
            hole = j;
        }
    }
    index[hole] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::addrs6::Any;

    fn key(i: u32) -> Key {
        Key {
            local_ip: 0x0a00_0001,
            remote_ip: 0x0a00_0002 + (i >> 16),
            local_port: 80,
            remote_port: i as u16,
        }
    }

    fn tcb(k: Key) -> Tcb {
        Tcb {
            key: k,
            ..Tcb::default()
        }
    }

    #[test]
    fn insert_find_remove_churn() {
        let mut t = Table::new(1000, [1, 2, 3]).unwrap();
        let mut live = std::collections::VecDeque::new();
        for i in 0..100_000u32 {
            let k = key(i);
            let h = t.hash(&k);
            assert!(t.find(&k, h).is_none());
            let s = t.insert::<Any>(h, tcb(k)).unwrap();
            live.push_back((k, s));
            if live.len() == 1000 {
                assert!(t.is_full());
                assert!(
                    t.insert::<Any>(t.hash(&key(u32::MAX)), tcb(key(u32::MAX)))
                        .is_none()
                );
                // remove every other old one, then the front
                let (k, s) = live.pop_front().unwrap();
                let h = t.hash(&k);
                assert_eq!(t.find(&k, h), Some(s));
                t.remove::<Any>(s, h);
                assert!(t.find(&k, h).is_none());
            }
            if i % 7 == 0 && !live.is_empty() {
                let (k, s) = live.remove(live.len() / 2).unwrap();
                t.remove::<Any>(s, t.hash(&k));
            }
        }
        assert_eq!(t.len(), live.len());
        for (k, s) in &live {
            assert_eq!(t.find(k, t.hash(k)), Some(*s));
        }
        while let Some((s, h)) = t.any() {
            t.remove::<Any>(s, h);
        }
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn colliding_hashes_shift_back() {
        // Force every key to the same home position by using equal hashes.
        let mut t = Table::new(16, [0, 0, 0]).unwrap();
        let ks: Vec<Key> = (0..10).map(key).collect();
        let slots: Vec<Slot> = ks
            .iter()
            .map(|k| t.insert::<Any>(7, tcb(*k)).unwrap())
            .collect();
        t.remove::<Any>(slots[3], 7);
        for (i, k) in ks.iter().enumerate() {
            assert_eq!(t.find(k, 7), (i != 3).then_some(slots[i]));
        }
    }

    #[test]
    fn rejects_bad_capacity() {
        assert!(Table::new(0, [0; 3]).is_err());
    }
}
