//! Batched lookups: before a burst is processed, the index entries (and TCBs) it will look
//! up are loaded back to back, so that their cache misses overlap instead of stalling one
//! lookup at a time (the pattern of DPDK's bulk lookup). Only for a table past the caches
//! (`Table::cold`); a small one is always warm and the pass would only cost.
//!
//! The results are meaningless: callers fold them into `std::hint::black_box` once per burst.

use super::engine::Engine;
use super::table::Key;

/// Offsets in an untagged Ethernet + IPv4 (IHL 5) frame: the only shape warmed (anything
/// else is looked up cold, as before).
const ETHERTYPE: usize = 12;
const IP_VHL: usize = 14;
const IP_SRC: usize = 26;
const TCP_PORTS: usize = 34;

impl Engine {
    /// Whether warming pays (the table is past the caches); else the `warm_*` calls return at
    /// once and a caller may skip its first pass.
    #[inline]
    pub fn warms(&self) -> bool {
        self.table.cold()
    }

    /// Warms the lookup `frame` will make (a received frame, before `handle_frame_at`).
    #[inline]
    pub fn warm_frame(&self, frame: &[u8]) -> u64 {
        if !self.warms() {
            return 0;
        }
        let Some(h) = frame.get(..TCP_PORTS + 4) else {
            return 0;
        };
        if h[ETHERTYPE..ETHERTYPE + 2] != [0x08, 0x00] || h[IP_VHL] != 0x45 {
            return 0;
        }
        let be32 = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let be16 = |at: usize| u16::from_be_bytes([h[at], h[at + 1]]);
        let key = Key {
            local_ip: be32(IP_SRC + 4),
            remote_ip: be32(IP_SRC),
            local_port: be16(TCP_PORTS + 2),
            remote_port: be16(TCP_PORTS),
        };
        self.table.warm(self.table.hash(&key))
    }

    /// Client: warms the lookups of the next `n` opens (the tuples `open` will try first).
    #[inline]
    pub fn warm_opens(&self, n: usize) -> u64 {
        let (Some(t), true) = (self.tuples.as_ref(), self.warms()) else {
            return 0;
        };
        let mut acc = 0;
        t.upcoming(n, |k| acc ^= self.table.warm(self.table.hash(&k)));
        acc
    }
}
