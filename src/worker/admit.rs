//! Admission of new connections: how many the pacer may open in one loop iteration.
//!
//! A worker serves what it has already started before it starts more. Every open costs a TX
//! frame now and brings 2-4 RX frames one RTT later; opening faster than the loop drains RX
//! overflows the XDP RX ring, the lost SYN-ACKs and responses come back as retransmissions,
//! each one more work for the same loop, and the run collapses far below what the loop could
//! carry. So the budget of one iteration is the smallest of:
//! - `burst`: catching up after a late period comes in bursts of at most this size;
//! - RX room: a burst's worth minus the RX backlog left after serving RX;
//! - TX room: free UMEM frames / TX ring slots minus a reserve for replies in flight;
//! - the overflow cap: opens per look (every millisecond), cut to half of what the last
//!   period opened whenever the kernel's RX-ring overflow counter (`XDP_STATISTICS
//!   .rx_ring_full`) rose since the previous look, and grown back by an eighth per quiet look
//!   (AIMD, like TCP's congestion window: the generator backs off where the loop overflows);
//! - the tuple cap: once more than half the tuple space is held, opens per period are capped at
//!   5/4 of the handshakes that completed in the last period. A target that drops SYNs parks
//!   each lost SYN's tuple for a whole RTO; opening faster than the target completes would
//!   fill the tuple space with parked SYNs, refuse the opens it could have served
//!   (`open_no_tuple`) and synchronise the retransmissions into bursts that overflow it again.
//!
//! Held-back opens stay due: the pacer issues them later, counted as late starts, and their
//! latency still runs from the intended start.

/// Which limit held opens back in an iteration (for the diagnosis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// RX frames were still waiting after the RX bursts.
    RxBacklog,
    /// Too few free UMEM frames or TX ring slots.
    TxRoom,
    /// The XDP RX ring overflowed recently.
    Overflow,
    /// Over half the tuples are held and opens already outpace completions.
    Tuples,
}

#[derive(Debug)]
pub struct Admission {
    burst: u32,
    tx_reserve: u32,
    /// Opens allowed per period; None = no overflow seen lately (unlimited).
    period_cap: Option<u32>,
    /// Opens allowed this period by tuple pressure; None = tuples are plentiful.
    tuple_cap: Option<u32>,
    opened: u32,
    last_overflow: Option<u64>,
}

/// A cap grown past this many opens per period is lifted.
const UNCAPPED: u32 = 1 << 20;
/// Opens per period the tuple cap always allows (so a stalled target is still probed).
const TUPLE_FLOOR: u64 = 8;

impl Admission {
    /// `burst` >= 1 opens per iteration at most; `tx_reserve` frames stay for replies.
    pub fn new(burst: u32, tx_reserve: u32) -> Admission {
        Admission {
            burst: burst.max(1),
            tx_reserve,
            period_cap: None,
            tuple_cap: None,
            opened: 0,
            last_overflow: None,
        }
    }

    /// Starts a period with the kernel's cumulative RX-ring overflow counter; true when it
    /// rose during the period that ends.
    pub fn observe_overflow(&mut self, rx_ring_full: u64) -> bool {
        let rose = self.last_overflow.is_some_and(|l| rx_ring_full > l);
        self.last_overflow = Some(rx_ring_full);
        self.period_cap = if rose {
            Some((self.opened / 2).max(1))
        } else {
            self.period_cap
                .map(|c| c.saturating_add(c / 8 + 1))
                .filter(|c| *c < UNCAPPED)
        };
        self.opened = 0;
        rose
    }

    /// Sets the tuple cap of the period `observe_overflow` started: `held` tuples of `space`
    /// are in the table, `completed` handshakes completed during the period that ended.
    pub fn observe_tuples(&mut self, held: u64, space: u64, completed: u64) {
        self.tuple_cap = (held * 2 > space).then(|| {
            let c = completed.saturating_add(completed / 4).max(TUPLE_FLOOR);
            c.min(u32::MAX as u64) as u32
        });
    }

    /// Opens allowed now, and what held them below `burst` (None when nothing did).
    pub fn budget(&self, rx_backlog: u32, tx_room: u32) -> (u32, Option<Held>) {
        let rx = self.burst.saturating_sub(rx_backlog);
        let tx = tx_room.saturating_sub(self.tx_reserve);
        let left = |cap: Option<u32>| cap.map_or(u32::MAX, |c| c.saturating_sub(self.opened));
        let (overflow, tuples) = (left(self.period_cap), left(self.tuple_cap));
        let n = self.burst.min(rx).min(tx).min(overflow).min(tuples);
        let held = if n == self.burst {
            None
        } else if n == tx {
            Some(Held::TxRoom)
        } else if n == rx {
            Some(Held::RxBacklog)
        } else if n == overflow {
            Some(Held::Overflow)
        } else {
            Some(Held::Tuples)
        };
        (n, held)
    }

    /// `n` connections were opened.
    pub fn opened(&mut self, n: u32) {
        self.opened = self.opened.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_limit_wins_and_is_named() {
        let a = Admission::new(64, 16);
        assert_eq!(a.budget(0, 1000), (64, None));
        assert_eq!(a.budget(60, 1000), (4, Some(Held::RxBacklog)));
        assert_eq!(a.budget(500, 1000), (0, Some(Held::RxBacklog)));
        assert_eq!(a.budget(0, 20), (4, Some(Held::TxRoom)));
        assert_eq!(a.budget(0, 10), (0, Some(Held::TxRoom)));
    }

    #[test]
    fn overflow_halves_the_rate_and_quiet_periods_restore_it() {
        let mut a = Admission::new(64, 0);
        assert!(!a.observe_overflow(100), "the first look is the baseline");
        a.opened(400);
        assert!(a.observe_overflow(150));
        assert_eq!(a.budget(0, 1000), (64, None), "200 left in this period");
        a.opened(190);
        assert_eq!(a.budget(0, 1000), (10, Some(Held::Overflow)));
        a.opened(10);
        assert_eq!(a.budget(0, 1000), (0, Some(Held::Overflow)));
        assert!(!a.observe_overflow(150));
        assert_eq!(a.budget(0, 1000).0, 64, "226 allowed in the next period");
        a.opened(226);
        assert_eq!(a.budget(0, 1000).0, 0);
        for _ in 0..200 {
            a.observe_overflow(150);
        }
        a.opened(1 << 24);
        assert_eq!(a.budget(0, 1000), (64, None), "the cap is lifted again");
        let mut one = Admission::new(0, 0);
        assert_eq!(one.budget(0, 10).0, 1, "burst is at least 1");
        one.observe_overflow(0);
        one.observe_overflow(9);
        assert_eq!(one.budget(0, 10).0, 1, "never below one open per period");
    }

    #[test]
    fn tuple_pressure_caps_opens_at_the_completion_rate() {
        let mut a = Admission::new(64, 0);
        a.observe_tuples(30_000, 64_512, 100);
        assert_eq!(a.budget(0, 1000), (64, None), "under half the tuples held");
        a.opened(100);
        a.observe_overflow(0); // the next period
        a.observe_tuples(40_000, 64_512, 100);
        a.opened(100);
        assert_eq!(a.budget(0, 1000), (25, Some(Held::Tuples)), "5/4 of 100");
        a.opened(25);
        assert_eq!(a.budget(0, 1000), (0, Some(Held::Tuples)));
        a.observe_overflow(0);
        a.observe_tuples(60_000, 64_512, 0);
        assert_eq!(a.budget(0, 1000).0, 8, "a stalled target is still probed");
    }
}
