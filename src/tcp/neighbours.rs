//! The server's small neighbour table: the peer MAC of every remote address seen, for frames
//! that do not answer a received frame (SYN-ACK and data retransmissions, give-up RSTs,
//! `abort_all`). Several clients on one L2 segment each get their own frames; behind a router
//! every entry holds the router's MAC.
//!
//! Fixed size, no allocation after `new`: 4-way sets of 16-byte entries (one cache line per
//! set); a miss in a full set replaces its oldest entry. A lookup that misses (the entry was
//! evicted, e.g. by a spoofed SYN flood) sends nothing and is counted (`tx_no_neighbour`):
//! never a frame to the wrong host.

use crate::wire::MacAddr;

const WAYS: usize = 4;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Entry {
    ip: u32,
    /// Insertion stamp (oldest is replaced); 0 = empty.
    stamp: u32,
    mac: [u8; 6],
    _pad: [u8; 2],
}

pub struct Neighbours {
    sets: Box<[[Entry; WAYS]]>,
    mask: usize,
    clock: u32,
}

impl Neighbours {
    /// Room for about `entries` peers (rounded up to a power of two of 4-way sets).
    pub fn new(entries: usize) -> Neighbours {
        let sets = (entries / WAYS).max(1).next_power_of_two();
        Neighbours {
            sets: vec![[Entry::default(); WAYS]; sets].into_boxed_slice(),
            mask: sets - 1,
            clock: 0,
        }
    }

    #[inline]
    fn set_of(&self, ip: u32) -> usize {
        (ip.wrapping_mul(0x9e37_79b1) >> 16) as usize & self.mask
    }

    /// Records that `ip` is reached through `mac` (called for every received frame; writes
    /// only when something changed).
    #[inline]
    pub fn learn(&mut self, ip: u32, mac: MacAddr) {
        let si = self.set_of(ip);
        let set = &mut self.sets[si];
        let mut victim = 0;
        for (i, e) in set.iter().enumerate() {
            if e.stamp != 0 && e.ip == ip {
                if e.mac != mac.0 {
                    set[i].mac = mac.0;
                }
                return;
            }
            if e.stamp < set[victim].stamp {
                victim = i;
            }
        }
        self.clock = self.clock.wrapping_add(1).max(1);
        set[victim] = Entry {
            ip,
            stamp: self.clock,
            mac: mac.0,
            _pad: [0; 2],
        };
    }

    #[inline]
    pub fn get(&self, ip: u32) -> Option<MacAddr> {
        self.sets[self.set_of(ip)]
            .iter()
            .find(|e| e.stamp != 0 && e.ip == ip)
            .map(|e| MacAddr(e.mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xb]);

    #[test]
    fn each_peer_keeps_its_own_mac() {
        let mut n = Neighbours::new(16);
        n.learn(1, A);
        n.learn(2, B);
        assert_eq!((n.get(1), n.get(2), n.get(3)), (Some(A), Some(B), None));
        n.learn(1, B); // the peer moved
        assert_eq!(n.get(1), Some(B));
    }

    #[test]
    fn a_full_table_forgets_the_oldest_and_never_answers_wrongly() {
        let mut n = Neighbours::new(16);
        for ip in 1..=10_000u32 {
            n.learn(ip, MacAddr([2, 0, 0, 0, (ip >> 8) as u8, ip as u8]));
        }
        let mut found = 0;
        for ip in 1..=10_000u32 {
            if let Some(m) = n.get(ip) {
                assert_eq!(m, MacAddr([2, 0, 0, 0, (ip >> 8) as u8, ip as u8]));
                found += 1;
            }
        }
        assert_eq!(found, 16, "every slot holds one of the newest peers");
        assert!(n.get(10_000).is_some(), "the newest is kept");
    }
}
