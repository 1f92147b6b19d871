//! The handshake latencies' recording on the packet path: counts in hdrhistogram's own
//! buckets, kept by the engine and added into the report's [`Latency`] histograms when they
//! are taken (`Engine::take_latency`).
//!
//! Same precision as recording into the histograms directly: 1 ns ..= 60 s, 3 significant
//! figures (2048 sub-buckets, unit 1 ns), and the same bucket for every value, so the merged
//! histogram is the one direct recording gives (counts, min, max, mean, percentiles; tested
//! below). The difference is the cost per value: an index computed inline and one counter
//! incremented, where `Histogram::saturating_record` is an out-of-line call that also keeps
//! its min, max and total per value (~10% of an engine-bench handshake with distinct
//! per-frame receive stamps).

use hdrhistogram::Histogram;

use super::stats::{LATENCY_MAX, Latency, record_n};

/// Half the sub-buckets of a power-of-two bucket (2048 in all: 3 significant figures).
const HALF_BITS: u32 = 10;
/// `leading_zeros` of the largest value of bucket 0 (2047), less one: bucket 0 holds
/// 0..2048 one by one, bucket b >= 1 holds 2048 << (b - 1) .. 2048 << b in steps of 1 << b.
const BASE: u32 = 64 - (HALF_BITS + 1);

/// Index of the counter of `v` (1..=LATENCY_MAX), hdrhistogram's `index_for` for unit 1 and
/// 2048 sub-buckets: bucket b's upper half-range at `(b + 1) << 10`.
#[inline(always)]
const fn index(v: u64) -> usize {
    let b = BASE - (v | ((1 << (HALF_BITS + 1)) - 1)).leading_zeros();
    ((b as u64) << HALF_BITS) as usize + (v >> b) as usize
}

/// The lowest value whose counter is `i`: what the merge records for it.
#[inline]
fn lowest(i: usize) -> u64 {
    if i < 2 << HALF_BITS {
        i as u64
    } else {
        let b = (i >> HALF_BITS) - 1;
        (((i & ((1 << HALF_BITS) - 1)) + (1 << HALF_BITS)) as u64) << b
    }
}

const LEN: usize = index(LATENCY_MAX) + 1;

/// One histogram's counts since the last merge.
pub(crate) struct Tally {
    /// 32 bits keep the touched part small in cache; a count saturates (4G values in one
    /// report interval, never at real rates) rather than wraps.
    counts: Box<[u32]>,
    /// Touched counter range (`lo > hi`: none), so a merge reads only that.
    lo: u32,
    hi: u32,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            counts: vec![0; LEN].into_boxed_slice(),
            lo: u32::MAX,
            hi: 0,
        }
    }

    /// Records `v` clamped to the histogram range; never panics.
    #[inline(always)]
    pub(crate) fn record(&mut self, v: u64) {
        let i = index(v.clamp(1, LATENCY_MAX));
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.saturating_add(1);
        }
        self.lo = self.lo.min(i as u32);
        self.hi = self.hi.max(i as u32);
    }

    /// Adds the counts into `h` and clears them (no allocation).
    fn merge_into(&mut self, h: &mut Histogram<u64>) {
        if self.lo <= self.hi {
            let (lo, hi) = (self.lo as usize, self.hi as usize);
            for (i, c) in self.counts[lo..=hi].iter_mut().enumerate() {
                if *c != 0 {
                    record_n(h, lowest(lo + i), *c as u64);
                    *c = 0;
                }
            }
        }
        self.lo = u32::MAX;
        self.hi = 0;
    }
}

/// The four per-handshake histograms of `Latency` (client: connect, RTT; server: accept,
/// accept RTT); the others, per TX batch or per request, are recorded into it directly.
pub(crate) struct Tallies {
    pub connect: Tally,
    pub rtt: Tally,
    pub accept: Tally,
    pub accept_rtt: Tally,
}

impl Tallies {
    pub(crate) fn new() -> Tallies {
        Tallies {
            connect: Tally::new(),
            rtt: Tally::new(),
            accept: Tally::new(),
            accept_rtt: Tally::new(),
        }
    }

    /// Adds every count into `lat` and clears them.
    pub(crate) fn merge_into(&mut self, lat: &mut Latency) {
        self.connect.merge_into(&mut lat.connect);
        self.rtt.merge_into(&mut lat.rtt);
        self.accept.merge_into(&mut lat.accept);
        self.accept_rtt.merge_into(&mut lat.accept_rtt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::stats::record;

    /// Values at and around every bucket edge, and a spread of others, up to past the top.
    fn values() -> Vec<u64> {
        let mut v: Vec<u64> = (0..5000).collect();
        for s in 11..36 {
            for d in [0u64, 1, 2, 3] {
                v.push((1u64 << s) - d);
                v.push((1u64 << s) + d);
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push((x % (LATENCY_MAX + LATENCY_MAX / 8)) >> (x % 30));
        }
        v.extend([LATENCY_MAX - 1, LATENCY_MAX, LATENCY_MAX + 1, u64::MAX]);
        v
    }

    #[test]
    fn buckets_are_hdrhistograms() {
        let h = Latency::new().rtt;
        // hdrhistogram's counts run to the end of the top bucket; ours to LATENCY_MAX's.
        assert!(LEN <= h.distinct_values());
        for v in values() {
            let c = v.clamp(1, LATENCY_MAX);
            let i = index(c);
            assert!(i < LEN, "{v}");
            assert_eq!(lowest(i), h.lowest_equivalent(c), "{v}");
        }
    }

    #[test]
    fn merged_counts_are_direct_recording() {
        let (mut direct, mut merged) = (Latency::new(), Latency::new());
        let mut t = Tallies::new();
        // Two intervals: the second merge starts from cleared counts.
        for part in values().chunks(60_000) {
            for &v in part {
                record(&mut direct.rtt, v);
                t.rtt.record(v);
            }
            t.merge_into(&mut merged);
            assert_eq!(direct.rtt, merged.rtt);
            for q in [0.0, 0.5, 0.9, 0.999, 1.0] {
                assert_eq!(
                    direct.rtt.value_at_quantile(q),
                    merged.rtt.value_at_quantile(q)
                );
            }
            assert_eq!(direct.rtt.len(), merged.rtt.len());
            assert_eq!(direct.rtt.min(), merged.rtt.min());
            assert_eq!(direct.rtt.max(), merged.rtt.max());
            assert_eq!(direct.rtt.mean(), merged.rtt.mean());
        }
        assert!(merged.connect.is_empty() && merged.accept.is_empty());
        t.merge_into(&mut merged); // nothing new
        assert_eq!(direct.rtt, merged.rtt);
    }
}
