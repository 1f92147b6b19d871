//! Timers (retransmission, give-up, hold, TIME-WAIT), the client's configured close, and
//! `abort_all`.

use super::addrs6::{Any, Family};
use super::engine::Engine;
use super::table::Slot;
use super::tcb::{State, ctl};
use super::{CloseMode, Nanos, Outcome, Role, Transmit};

impl Engine {
    /// Client: close an established connection as configured (`close`).
    pub(crate) fn close_now<F: Family>(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        tx: &mut impl Transmit,
    ) {
        match self.p.c.close {
            CloseMode::Rst | CloseMode::None => {
                self.send_reset::<F>(slot, tx);
                self.finish::<F>(slot, h, Outcome::Closed);
            }
            CloseMode::Fin => {
                let from = {
                    let t = self.table.get_mut(slot);
                    t.state = match t.state {
                        State::Established => State::FinWait1,
                        State::CloseWait => State::LastAck,
                        _ => return,
                    };
                    let from = t.snd_nxt;
                    t.snd_nxt = from.add(1);
                    t.start = now;
                    t.reset_retries();
                    from
                };
                self.send_from::<F>(now, slot, from, tx);
                let at = now + self.rto(0);
                self.arm(slot, at);
            }
        }
    }

    /// The close handshake is complete: outcome `closed`; the tuple stays reserved for
    /// `time_wait` (freed at once when it is 0).
    pub(crate) fn enter_time_wait(&mut self, now: Nanos, slot: Slot, h: u32) {
        self.stats.outcomes[Outcome::Closed as usize] += 1;
        self.stats.active -= 1;
        if self.p.c.time_wait == 0 {
            self.disarm(slot);
            self.table.remove::<Any>(slot, h);
            return;
        }
        self.stats.time_wait += 1;
        self.table.get_mut(slot).state = State::TimeWait;
        let at = now + self.p.c.time_wait;
        self.arm(slot, at);
    }

    /// Retransmission limit reached or phase timed out: RST (when synchronized), then
    /// `response_timeout` while a client's request is unanswered, else `timeout`.
    fn give_up(&mut self, slot: Slot, h: u32, tx: &mut impl Transmit) {
        let t = self.table.get(slot);
        let awaiting = self.p.role == Role::Client
            && !self.p.data.is_empty()
            && t.ctl & ctl::DONE == 0
            && !t.state.fin_sent();
        self.send_reset::<Any>(slot, tx);
        let o = if awaiting {
            Outcome::ResponseTimeout
        } else {
            Outcome::Timeout
        };
        self.finish::<Any>(slot, h, o);
    }

    pub(crate) fn on_timer(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) {
        let t = *self.table.get(slot);
        let h = self.table.hash(&t.key);
        match t.state {
            State::SynSent => {
                if self.xdp_established(slot) {
                    self.xdp_done(slot);
                    return;
                }
                if t.retries() >= self.p.syn_retries {
                    self.finish::<Any>(slot, h, Outcome::Timeout);
                    return;
                }
                self.table.get_mut(slot).bump_retries();
                self.stats.syn_retransmits += 1;
                self.send_syn::<Any>(now, slot, tx);
                // Same ISN and TSval: XDP marks it as the first; look for that again soon.
                self.track_xdp(slot, t.iss.0, now);
                let at = now + self.rto(t.retries() + 1);
                self.arm(slot, at);
            }
            State::SynReceived => {
                if t.retries() >= self.p.synack_retries {
                    self.stats.accept_failed += 1;
                    self.release::<Any>(slot, h);
                    return;
                }
                self.table.get_mut(slot).bump_retries();
                self.stats.synack_retransmits += 1;
                self.resend_synack(now, slot, tx);
                let at = now + self.rto(t.retries() + 1);
                self.arm(slot, at);
            }
            State::TimeWait => {
                self.stats.time_wait -= 1;
                self.table.remove::<Any>(slot, h);
            }
            _ => {
                if self.xfers.on() && self.data_timer(now, slot, h, tx) {
                    return;
                }
                let phase_end = t.start.saturating_add(self.p.c.data_timeout);
                if t.snd_una != t.snd_nxt {
                    if now >= phase_end {
                        self.give_up(slot, h, tx);
                        return;
                    }
                    self.table.get_mut(slot).bump_retries();
                    self.stats.data_retransmits += 1;
                    self.send_from::<Any>(now, slot, t.snd_una, tx);
                    let at = (now + self.rto(t.retries() + 1)).min(phase_end);
                    self.arm(slot, at);
                    return;
                }
                let holding = self.p.role == Role::Client
                    && t.ctl & ctl::DONE != 0
                    && matches!(t.state, State::Established | State::CloseWait);
                if holding {
                    let end = t.start.saturating_add(self.p.c.hold);
                    if self.p.c.hold == 0 && self.p.c.close == CloseMode::None {
                        return; // held until abort_all
                    }
                    if now >= end {
                        self.close_now::<Any>(now, slot, h, tx);
                    } else {
                        self.arm(slot, end);
                    }
                    return;
                }
                if self.p.role == Role::Server
                    && self.p.c.close == CloseMode::None
                    && t.state != State::FinWait2
                {
                    return; // waits for the peer
                }
                if now >= phase_end {
                    self.give_up(slot, h, tx);
                } else {
                    self.arm(slot, phase_end);
                }
            }
        }
    }

    /// End of run: RST every live connection (counted `aborted`), drop TIME-WAIT entries.
    /// Afterwards the table is empty and `attempted == sum(outcomes) + aborted` (client).
    pub fn abort_all(&mut self, now: Nanos, tx: &mut impl Transmit) {
        let _ = now;
        for (slot, h) in self.table.slots() {
            let t = *self.table.get(slot);
            if t.state == State::TimeWait {
                self.stats.time_wait -= 1;
                self.disarm(slot);
                self.table.remove::<Any>(slot, h);
                continue;
            }
            if t.state != State::SynSent {
                self.send_reset::<Any>(slot, tx);
            }
            self.stats.aborted += 1;
            *match t.state {
                State::SynSent => &mut self.stats.aborted_syn_sent,
                State::SynReceived => &mut self.stats.aborted_syn_received,
                State::Established | State::CloseWait => &mut self.stats.aborted_established,
                _ => &mut self.stats.aborted_closing,
            } += 1;
            self.release::<Any>(slot, h);
        }
    }
}
