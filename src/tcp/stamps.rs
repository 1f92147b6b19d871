//! Wire-time stamps for the handshake's network figures.
//!
//! The engine builds a SYN (client) or SYN-ACK (server) at the loop's `now`, but the frame
//! leaves user space only when the worker publishes and kicks its TX batch; the worker
//! reports that moment through `Engine::departed`. `Departures` remembers the connections
//! whose handshake frame was built since the last report, moves each one's send time to the
//! departure, and records the build -> departure wait as the generator's TX delay.
//!
//! Client (SYN-SENT): `Tcb::start` becomes the departure and the send lag in `Tcb::aux`
//! (intended start -> SYN) grows by the wait, so the TCB alone gives both figures. Server
//! (SYN-RECEIVED): `start` stays the SYN's arrival (accept latency) and the departure is kept
//! aside, per slot, as `lag` (departure - start) for the accept RTT.

use super::Nanos;
use super::table::Slot;
use super::tcb::{State, Tcb, decode_lag, encode_lag};

/// Handshake frames remembered between two `departed` calls. A worker reports every loop
/// iteration (at most a few RX/open batches of 64); an engine driven without reports (unit
/// tests, benches) stops remembering when full and measures from the build time.
const PENDING_MAX: usize = 1024;

/// A pending entry without a TCB (a SYN cookie): only its TX delay is recorded.
pub(crate) const NO_SLOT: Slot = Slot::MAX;

pub(crate) struct Departures {
    /// (slot or NO_SLOT, build time) of frames not yet reported departed.
    pending: Vec<(Slot, Nanos)>,
    /// Server, per slot: departure - `Tcb::start` of its SYN-ACK (0 until it departs).
    lag: Vec<u32>,
}

impl Departures {
    pub(crate) fn new(slots: usize) -> Departures {
        Departures {
            pending: Vec::with_capacity(PENDING_MAX),
            lag: vec![0; slots],
        }
    }

    /// A handshake frame for `slot` was built at `now`.
    #[inline]
    pub(crate) fn built(&mut self, slot: Slot, now: Nanos) {
        if self.pending.len() < PENDING_MAX {
            self.pending.push((slot, now));
        }
    }

    /// A fresh SYN-RECEIVED TCB in `slot`: no departure yet.
    #[inline]
    pub(crate) fn reset(&mut self, slot: Slot) {
        if let Some(l) = self.lag.get_mut(slot as usize) {
            *l = 0;
        }
    }

    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The frames built so far left at `at`: moves each TCB's send time there and calls
    /// `tx_delay(at - build time, frames)` once per run of frames built at the same time (a
    /// worker builds a whole batch at one `now`: one histogram update per batch). Idempotent
    /// per TCB, so a slot freed and reused since its entry was made is still right.
    pub(crate) fn departed(
        &mut self,
        at: Nanos,
        tcbs: &mut [Tcb],
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
            let Some(t) = tcbs.get_mut(slot as usize) else {
                continue;
            };
            match t.state {
                State::SynSent if at > t.start => {
                    t.aux = encode_lag(decode_lag(t.aux) + (at - t.start));
                    t.start = at;
                }
                State::SynReceived => {
                    if let Some(l) = self.lag.get_mut(slot as usize) {
                        *l = at.saturating_sub(t.start).min(u32::MAX as u64) as u32;
                    }
                }
                _ => {}
            }
        }
        if let Some((b, n)) = run {
            tx_delay(at.saturating_sub(b), n);
        }
        self.pending.clear();
    }

    /// Server: when the SYN-ACK of `slot` departed, given its TCB's `start`.
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

    fn tcb(state: State, start: Nanos, aux: u32) -> Tcb {
        Tcb {
            state,
            start,
            aux,
            ..Tcb::default()
        }
    }

    #[test]
    fn departure_moves_send_times_and_records_tx_delay() {
        let mut d = Departures::new(4);
        let mut tcbs = [
            tcb(State::SynSent, 100, 7),    // client: SYN built at 100, 7 ns late
            tcb(State::SynReceived, 90, 0), // server: SYN arrived at 90
            tcb(State::Established, 50, 3), // not a handshake frame's TCB
            Tcb::default(),
        ];
        d.departed(1, &mut tcbs, |_, _| panic!("nothing pending"));
        d.reset(1);
        d.built(0, 100);
        d.built(NO_SLOT, 120);
        d.built(1, 120);
        d.built(2, 120);
        assert!(d.has_pending());
        let mut delays = Vec::new();
        d.departed(150, &mut tcbs, |v, n| delays.push((v, n)));
        assert_eq!(
            delays,
            vec![(50, 1), (30, 3)],
            "one call per run of equal build times"
        );
        assert_eq!((tcbs[0].start, decode_lag(tcbs[0].aux)), (150, 57));
        assert_eq!((tcbs[1].start, d.sent_at(1, 90)), (90, 150));
        assert_eq!((tcbs[2].start, tcbs[2].aux), (50, 3), "untouched");
        assert!(!d.has_pending());
        // Reported twice (a slot reused within one batch): the same result.
        d.built(0, 100);
        d.built(1, 120);
        d.departed(150, &mut tcbs, |_, _| {});
        assert_eq!((tcbs[0].start, decode_lag(tcbs[0].aux)), (150, 57));
        assert_eq!(d.sent_at(1, 90), 150);
        d.reset(1);
        assert_eq!(d.sent_at(1, 90), 90);
    }

    #[test]
    fn departures_stop_remembering_when_full() {
        let mut d = Departures::new(1);
        for i in 0..PENDING_MAX as u64 + 10 {
            d.built(NO_SLOT, i);
        }
        let mut n = 0;
        d.departed(1 << 20, &mut [], |_, k| n += k);
        assert_eq!(n, PENDING_MAX as u64);
    }
}
