//! Wire-time stamps for the handshake's network figures.
//!
//! The engine builds a SYN (client) or SYN-ACK (server) at the loop's `now`, but the frame
//! leaves user space only when the worker publishes and kicks its TX batch; the worker
//! reports that moment through `Engine::departed`. `Departures` remembers the connections
//! whose handshake frame was built since the last report and, per TCB slot, how long after
//! the TCB's `start` its frame departed (`lag`), so an RTT is measured from departure, and
//! the build -> departure wait is recorded as the generator's TX delay.

use super::Nanos;
use super::table::Slot;

/// Handshake frames remembered between two `departed` calls. A worker reports every loop
/// iteration (at most a few RX/open batches of 64); an engine driven without reports (unit
/// tests, benches) stops remembering when full and measures from the build time.
const PENDING_MAX: usize = 1024;

/// A pending entry without a TCB (a SYN cookie): only its TX delay is recorded.
pub(crate) const NO_SLOT: Slot = Slot::MAX;

pub(crate) struct Departures {
    /// (slot or NO_SLOT, build time) of frames not yet reported departed.
    pending: Vec<(Slot, Nanos)>,
    /// Per slot: departure - `Tcb::start` of its handshake frame (0 until it departs).
    lag: Vec<u32>,
}

impl Departures {
    pub(crate) fn new(slots: usize) -> Departures {
        Departures {
            pending: Vec::with_capacity(PENDING_MAX),
            lag: vec![0; slots],
        }
    }

    /// A handshake frame for `slot` (fresh TCB: its lag starts at 0) was built at `now`.
    #[inline]
    pub(crate) fn built(&mut self, slot: Slot, now: Nanos) {
        if let Some(l) = self.lag.get_mut(slot as usize) {
            *l = 0;
        }
        if self.pending.len() < PENDING_MAX {
            self.pending.push((slot, now));
        }
    }

    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The frames built so far left at `at`: sets each slot's lag from `start_of(slot)` and
    /// calls `tx_delay(at - build time, frames)` once per run of frames built at the same time
    /// (a worker builds a whole batch at one `now`: one histogram update per batch).
    pub(crate) fn departed(
        &mut self,
        at: Nanos,
        start_of: impl Fn(Slot) -> Option<Nanos>,
        mut tx_delay: impl FnMut(Nanos, u64),
    ) {
        let mut run: Option<(Nanos, u64)> = None;
        for &(slot, built) in &self.pending {
            run = match run {
                Some((b, n)) if b == built => Some((b, n + 1)),
                Some((b, n)) => {
                    tx_delay(at.saturating_sub(b), n);
                    Some((built, 1))
                }
                None => Some((built, 1)),
            };
            if let (Some(start), Some(l)) = (start_of(slot), self.lag.get_mut(slot as usize)) {
                *l = at.saturating_sub(start).min(u32::MAX as u64) as u32;
            }
        }
        if let Some((b, n)) = run {
            tx_delay(at.saturating_sub(b), n);
        }
        self.pending.clear();
    }

    /// When the handshake frame of `slot` departed, given its TCB's `start`.
    #[inline]
    pub(crate) fn sent_at(&self, slot: Slot, start: Nanos) -> Nanos {
        start + self.lag.get(slot as usize).copied().unwrap_or(0) as u64
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.lag.len() * 4 + self.pending.capacity() * std::mem::size_of::<(Slot, Nanos)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn departure_sets_lag_and_tx_delay() {
        let mut d = Departures::new(4);
        d.departed(1, |_| None, |_, _| panic!("nothing pending"));
        d.built(1, 100);
        d.built(NO_SLOT, 120);
        assert!(d.has_pending());
        d.built(2, 120);
        let mut delays = Vec::new();
        d.departed(
            150,
            |s| (s != NO_SLOT).then_some(90),
            |v, n| delays.push((v, n)),
        );
        assert_eq!(
            delays,
            vec![(50, 1), (30, 2)],
            "one call per run of equal build times"
        );
        assert_eq!(d.sent_at(2, 90), 150);
        assert_eq!(d.sent_at(1, 90), 150);
        assert!(!d.has_pending());
        // A reused slot starts over at its build time.
        d.built(1, 200);
        assert_eq!(d.sent_at(1, 200), 200);
    }

    #[test]
    fn departures_stop_remembering_when_full() {
        let mut d = Departures::new(1);
        for i in 0..PENDING_MAX as u64 + 10 {
            d.built(0, i);
        }
        let mut n = 0;
        d.departed(1 << 20, |_| Some(0), |_, k| n += k);
        assert_eq!(n, PENDING_MAX as u64);
    }
}
