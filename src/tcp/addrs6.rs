//! IPv6 addresses as 32-bit handles, so that a [`Key`] stays 12 bytes and a TCB 64 (the IPv4
//! path reads and hashes exactly what it did before IPv6 existed).
//!
//! A handle is a value in `1..MAX_HANDLES`, i.e. an "address" in 0.0.0.0/8, which is never a
//! source or destination of a segment on the wire (RFC 1122 3.2.1.3; the IPv4 readers drop
//! such frames as `not_ours`): so a key whose local address is a handle is an IPv6 key, and
//! IPv4 and IPv6 keys never collide. Each handle holds the address, a reference count (TCBs
//! whose key names it) and the peer MAC (the server's neighbour entry for that address; the
//! client's next hop).
//!
//! Client sources and destinations are pinned for the engine's lifetime. A received frame's
//! addresses are interned for the frame; `release` after the frame frees those no TCB took.
//! Fixed size after `new` (allocated only when the engine has IPv6 work); full = `None`.

use crate::wire::MacAddr;

use super::table::{Key, fold_mul, remove_at};

/// Handles are below this (0 is "no address"; the rest of 0.0.0.0/8).
pub const MAX_HANDLES: usize = 1 << 24;

/// Is this key address an IPv6 handle (else an IPv4 address)?
#[inline(always)]
pub fn is_handle(a: u32) -> bool {
    a >> 24 == 0
}

/// Is `k` an IPv6 connection?
#[inline(always)]
pub fn is_v6(k: &Key) -> bool {
    is_handle(k.local_ip)
}

/// The family a packet-path function is compiled for. A received frame's reader and an
/// open's tuple know it, so the handshake's path runs as `V4` or `V6`, and the IPv4 code
/// carries no IPv6 branches (they cost IPv4 ~2% of the engine bench); `Any` reads it from
/// the key, for everything off that path (timers, data, close).
pub(crate) trait Family {
    /// Whether keys of this family may be IPv6 (false: the IPv6 code is left out).
    const MAY_BE_V6: bool;
    fn v6(k: &Key) -> bool;
}

pub(crate) struct V4;
pub(crate) struct V6;
pub(crate) struct Any;

impl Family for V4 {
    const MAY_BE_V6: bool = false;
    #[inline(always)]
    fn v6(k: &Key) -> bool {
        debug_assert!(!is_v6(k), "an IPv6 key on the IPv4 path");
        false
    }
}

impl Family for V6 {
    const MAY_BE_V6: bool = true;
    #[inline(always)]
    fn v6(k: &Key) -> bool {
        debug_assert!(is_v6(k), "an IPv4 key on the IPv6 path");
        true
    }
}

impl Family for Any {
    const MAY_BE_V6: bool = true;
    #[inline(always)]
    fn v6(k: &Key) -> bool {
        is_v6(k)
    }
}

#[derive(Clone, Copy, Default)]
struct Entry {
    addr: u128,
    refs: u32,
    pinned: bool,
    mac: MacAddr,
}

pub struct Addrs6 {
    /// Indexed by handle (entry 0 unused).
    entries: Vec<Entry>,
    /// Open addressing: `hash32 << 32 | handle`, 0 = empty (as `Table`'s index).
    index: Vec<u64>,
    mask: usize,
    free: Vec<u32>,
    seed: u64,
}

impl Addrs6 {
    /// Room for `handles` addresses (0: no IPv6; capped below `MAX_HANDLES`).
    pub fn new(handles: usize, seed: u64) -> Addrs6 {
        let n = handles.min(MAX_HANDLES - 1);
        let size = if n == 0 {
            0
        } else {
            (n + n / 2).next_power_of_two().max(8)
        };
        Addrs6 {
            entries: vec![Entry::default(); if n == 0 { 0 } else { n + 1 }],
            index: vec![0; size],
            mask: size.saturating_sub(1),
            free: (1..=n as u32).rev().collect(),
            seed,
        }
    }

    #[inline]
    fn hash(&self, a: u128) -> u32 {
        let h = fold_mul(
            (a as u64) ^ self.seed,
            ((a >> 64) as u64) ^ 0x9e37_79b9_7f4a_7c15,
        );
        (h ^ (h >> 32)) as u32
    }

    #[inline]
    fn find(&self, a: u128, h: u32) -> Option<u32> {
        if self.index.is_empty() {
            return None;
        }
        let mut pos = h as usize & self.mask;
        loop {
            let e = self.index[pos];
            if e == 0 {
                return None;
            }
            if (e >> 32) as u32 == h && self.entries[e as u32 as usize].addr == a {
                return Some(e as u32);
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// The handle of `a`, added (unreferenced) if new; `None` when full or without IPv6.
    #[inline]
    pub fn intern(&mut self, a: u128) -> Option<u32> {
        let h = self.hash(a);
        if let Some(handle) = self.find(a, h) {
            return Some(handle);
        }
        let handle = self.free.pop()?;
        self.entries[handle as usize] = Entry {
            addr: a,
            ..Entry::default()
        };
        let mut pos = h as usize & self.mask;
        while self.index[pos] != 0 {
            pos = (pos + 1) & self.mask;
        }
        self.index[pos] = (h as u64) << 32 | handle as u64;
        Some(handle)
    }

    /// Interns `a` for the engine's lifetime (client sources and destinations).
    pub fn pin(&mut self, a: u128, mac: MacAddr) -> Option<u32> {
        let handle = self.intern(a)?;
        let e = &mut self.entries[handle as usize];
        e.pinned = true;
        e.mac = mac;
        Some(handle)
    }

    /// Frees `handle` if nothing refers to it (after a frame, for the addresses it interned).
    #[inline]
    pub fn release(&mut self, handle: u32) {
        let e = self.entries[handle as usize];
        if e.refs != 0 || e.pinned {
            return;
        }
        let want = (self.hash(e.addr) as u64) << 32 | handle as u64;
        let mut pos = (want >> 32) as usize & self.mask;
        while self.index[pos] != want {
            if self.index[pos] == 0 {
                return;
            }
            pos = (pos + 1) & self.mask;
        }
        remove_at(&mut self.index, self.mask, pos);
        self.free.push(handle);
    }

    /// A TCB's key names `handle`.
    #[inline]
    pub fn retain(&mut self, handle: u32) {
        self.entries[handle as usize].refs += 1;
    }

    /// A TCB naming `handle` is gone.
    #[inline]
    pub fn drop_ref(&mut self, handle: u32) {
        let e = &mut self.entries[handle as usize];
        e.refs = e.refs.saturating_sub(1);
        self.release(handle);
    }

    #[inline]
    pub fn addr(&self, handle: u32) -> u128 {
        self.entries[handle as usize].addr
    }

    /// The MAC frames to `handle` go to (`ZERO`: unknown).
    #[inline]
    pub fn mac(&self, handle: u32) -> MacAddr {
        self.entries[handle as usize].mac
    }

    /// Records the MAC `handle` is reached through (writes only when it changed).
    #[inline]
    pub fn set_mac(&mut self, handle: u32, mac: MacAddr) {
        let e = &mut self.entries[handle as usize];
        if e.mac != mac {
            e.mac = mac;
        }
    }

    /// Has room for any address (the engine has IPv6 work)?
    #[inline]
    pub fn enabled(&self) -> bool {
        !self.index.is_empty()
    }

    /// Addresses held (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len().saturating_sub(1) - self.free.len()
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<Entry>() + self.index.len() * 8
    }

    /// The message words of an IPv6 key for ISNs and cookies: both addresses and the ports.
    #[inline]
    pub fn words(&self, k: &Key) -> [u64; 5] {
        let (l, r) = (self.addr(k.local_ip), self.addr(k.remote_ip));
        [
            (l >> 64) as u64,
            l as u64,
            (r >> 64) as u64,
            r as u64,
            (k.local_port as u64) << 16 | k.remote_port as u64,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intern_release_and_refs() {
        let mut a = Addrs6::new(4, 7);
        let x = a.intern(1 << 100).unwrap();
        assert!(is_handle(x) && x != 0);
        assert_eq!(a.intern(1 << 100), Some(x));
        let y = a.intern(5).unwrap();
        assert_ne!(x, y);
        a.retain(x);
        a.release(x);
        a.release(y);
        assert_eq!(a.len(), 1, "the referenced one stays");
        assert_eq!(a.addr(x), 1 << 100);
        a.drop_ref(x);
        assert_eq!(a.len(), 0);
        let p = a.pin(9, MacAddr([2; 6])).unwrap();
        a.release(p);
        assert_eq!((a.len(), a.mac(p)), (1, MacAddr([2; 6])));
    }

    #[test]
    fn full_and_disabled() {
        let mut a = Addrs6::new(2, 1);
        for i in 0..2u128 {
            let h = a.intern(i + 1).unwrap();
            a.retain(h);
        }
        assert_eq!(a.intern(99), None);
        assert_eq!(Addrs6::new(0, 1).intern(1), None);
    }

    #[test]
    fn churn_keeps_every_address_findable() {
        let mut a = Addrs6::new(64, 3);
        let mut live = std::collections::VecDeque::new();
        for i in 0..10_000u128 {
            let h = a.intern(i << 64 | i).unwrap();
            a.retain(h);
            live.push_back((i << 64 | i, h));
            if live.len() == 64 {
                let (_, h) = live.pop_front().unwrap();
                a.drop_ref(h);
            }
            for (addr, h) in &live {
                assert_eq!(a.intern(*addr), Some(*h));
            }
        }
    }
}
