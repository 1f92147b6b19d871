//! Synchronized states (SYN-RECEIVED onwards), RFC 9293 3.10.7.4 with RFC 5961:
//! sequence check, RST, SYN, ACK, data, FIN, then what the application does next.

use crate::wire::TcpRepr;

use super::addrs6::{Any, Family};
use super::data::Rx;
use super::engine::{Engine, RCV_WND, Verdict};
use super::stats::DropReason;
use super::table::Slot;
use super::tcb::{State, ctl, opt};
use super::{CloseMode, Nanos, Outcome, Role, Transmit};

impl Engine {
    pub(crate) fn synchronized<F: Family>(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let t = *self.table.get(slot);
        let fl = seg.flags;
        let state = t.state;

        // SYN (not RST: SYN+RST is filtered earlier).
        if fl.syn() {
            if state == State::SynReceived && !fl.ack() && seg.seq == t.irs {
                self.resend_synack(now, slot, tx);
                return Err(DropReason::DuplicateSyn);
            }
            if state == State::TimeWait
                && self.p.role == Role::Server
                && !fl.ack()
                && seg.seq.after(t.rcv_nxt)
            {
                // RFC 9293 3.10.7.4 / RFC 6191: a new incarnation may reuse a TIME-WAIT tuple.
                self.stats.time_wait -= 1;
                self.disarm(slot);
                self.table.remove::<F>(slot, h);
                let key = t.key;
                return self.passive_open::<F>(now, &key, h, seg, tx);
            }
            return self.challenge(now, slot, tx);
        }

        // 1. Sequence number acceptable?
        let seg_len = seg.payload.len() as u32 + fl.fin() as u32;
        let ok = seg.seq.in_window(t.rcv_nxt, RCV_WND)
            || (seg_len > 0 && seg.seq.add(seg_len - 1).in_window(t.rcv_nxt, RCV_WND));
        if !ok {
            if fl.rst() {
                return Err(DropReason::RstInvalid);
            }
            self.send_ack::<F>(now, slot, tx);
            if state == State::TimeWait && fl.fin() && seg.seq.add(seg_len) == t.rcv_nxt {
                // Retransmitted FIN: ACK it again and restart the 2 MSL timer.
                let at = now + self.p.c.time_wait;
                self.arm(slot, at);
                return Ok(());
            }
            return Err(DropReason::OutOfWindow);
        }

        // 2. RST (RFC 5961 §3).
        if fl.rst() {
            if seg.seq != t.rcv_nxt {
                return self.challenge(now, slot, tx);
            }
            match state {
                State::TimeWait => return Err(DropReason::UnexpectedState), // RFC 1337
                State::SynReceived => {
                    self.stats.accept_failed += 1;
                    self.release::<F>(slot, h);
                }
                // Both FINs sent and everything but our FIN acknowledged: the exchange is
                // complete. A peer whose TIME-WAIT ended before our retransmitted FIN (its ACK
                // of the first one was lost) answers that FIN with an RST: a clean close, as
                // for a kernel socket, not a failure.
                State::LastAck | State::Closing if t.snd_una.add(1) == t.snd_nxt => {
                    self.finish::<F>(slot, h, Outcome::Closed)
                }
                _ => {
                    if self.p.role == Role::Client
                        && !self.p.data.is_empty()
                        && t.ctl & ctl::DONE == 0
                    {
                        self.stats.request_resets += 1;
                    }
                    self.finish::<F>(slot, h, Outcome::Reset)
                }
            }
            return Ok(());
        }

        // 5. ACK (set: segments with none of SYN/ACK/RST were filtered out).
        if state == State::SynReceived {
            if !seg.ack.after(t.snd_una) || seg.ack.after(t.snd_nxt) {
                self.send_rst_for::<F>(&t.key, seg, tx);
                return Err(DropReason::AckNotAcceptable);
            }
            self.stats.accepted += 1;
            if F::v6(&t.key) {
                self.stats.v6_accepted += 1;
            }
            self.stats.half_open -= 1;
            let rx = self.rx_at;
            self.tally.accept.record(rx.saturating_sub(t.start));
            let sent_at = self.departures.sent_at(slot, t.start);
            self.tally.accept_rtt.record(rx.saturating_sub(sent_at));
            let t = self.table.get_mut(slot);
            t.state = State::Established;
            t.start = now;
            t.reset_retries();
        }
        if seg.ack.after(t.snd_nxt) {
            self.send_ack::<F>(now, slot, tx);
            return Err(DropReason::AckNotAcceptable);
        }
        let prev_una = self.table.get(slot).snd_una;
        let (state, fin_acked) = {
            let t = self.table.get_mut(slot);
            if seg.ack.after(t.snd_una) {
                t.snd_una = seg.ack;
                t.reset_retries();
            }
            t.snd_wnd = seg.window;
            if let (true, Some((v, _))) = (t.has(opt::TS), seg.options.timestamps) {
                t.aux = v;
            }
            (t.state, t.state.fin_sent() && t.snd_una == t.snd_nxt)
        };
        match state {
            State::FinWait1 if fin_acked => {
                let t = self.table.get_mut(slot);
                t.state = State::FinWait2;
                t.start = now;
                let at = now + self.p.c.data_timeout;
                self.arm(slot, at);
            }
            State::Closing if fin_acked => {
                self.enter_time_wait(now, slot, h);
                return Ok(());
            }
            State::LastAck if fin_acked => {
                self.finish::<F>(slot, h, Outcome::Closed);
                return Ok(());
            }
            _ => {}
        }
        if self.xfers.on() {
            self.data_ack(now, slot, seg, prev_una, tx);
            return self.data_segment(now, slot, h, seg, tx);
        }

        // 7. Data: only in order (no reassembly); overlap with old bytes is trimmed.
        let mut need_ack = false;
        let mut new_data = 0u32;
        let state = self.table.get(slot).state;
        if !seg.payload.is_empty()
            && matches!(
                state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            let t = *self.table.get(slot);
            let off = t.rcv_nxt.diff(seg.seq);
            if seg.seq.after(t.rcv_nxt) {
                self.send_ack::<F>(now, slot, tx);
                return Err(DropReason::OutOfOrder);
            }
            if (off as usize) < seg.payload.len() {
                new_data = (seg.payload.len() - off as usize) as u32;
                self.table.get_mut(slot).rcv_nxt = t.rcv_nxt.add(new_data);
                self.stats.bytes_in += new_data as u64;
            }
            need_ack = true;
        }

        // 8. FIN.
        match self.fin_in(now, slot, h, seg, tx) {
            FinIn::Ended => return Ok(()),
            FinIn::Ack | FinIn::New => need_ack = true,
            FinIn::None => {}
        }
        match self.p.role {
            Role::Client => {
                if need_ack {
                    self.send_ack::<F>(now, slot, tx);
                }
            }
            Role::Server => self.server_after::<F>(now, slot, new_data, need_ack, tx),
        }
        Ok(())
    }

    /// Steps 7 and 8 with data state (`data.rs`): data of any size, then the FIN.
    fn data_segment(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let state = self.table.get(slot).state;
        if !seg.payload.is_empty() && state != State::SynReceived {
            match self.data_in(now, slot, h, seg, tx) {
                Ok(Rx::Ended | Rx::FinDone) => return Ok(()),
                Ok(Rx::Continue) => {}
                Err(r) => return Err(r),
            }
        }
        match self.fin_in(now, slot, h, seg, tx) {
            FinIn::Ended => {}
            FinIn::Ack => self.send_ack::<Any>(now, slot, tx),
            FinIn::New => match self.p.role {
                Role::Client => {
                    self.client_fin(now, slot, h, tx);
                }
                Role::Server => self.server_fin_in(now, slot, tx),
            },
            FinIn::None => {}
        }
        Ok(())
    }

    /// Step 8: the peer's FIN, if the segment carries one in order.
    fn fin_in(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> FinIn {
        if !seg.flags.fin() {
            return FinIn::None;
        }
        let t = *self.table.get(slot);
        let fin_seq = seg.seq.add(seg.payload.len() as u32);
        if fin_seq == t.rcv_nxt && !t.state.fin_received() {
            self.table.get_mut(slot).rcv_nxt = fin_seq.add(1);
            let next = match t.state {
                State::FinWait1 => State::Closing,
                State::FinWait2 => {
                    self.send_ack::<Any>(now, slot, tx);
                    self.enter_time_wait(now, slot, h);
                    return FinIn::Ended;
                }
                _ => State::CloseWait,
            };
            self.table.get_mut(slot).state = next;
            return if next == State::CloseWait {
                FinIn::New
            } else {
                FinIn::Ack
            };
        }
        if t.state.fin_received() {
            return FinIn::Ack; // retransmitted FIN overlapping new bytes
        }
        FinIn::None
    }

    /// RFC 5961 challenge ACK; the segment is dropped.
    fn challenge(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) -> Verdict {
        self.stats.challenge_acks += 1;
        self.send_ack::<Any>(now, slot, tx);
        Err(DropReason::Challenged)
    }

    #[allow(clippy::too_many_arguments)]
    fn server_after<F: Family>(
        &mut self,
        now: Nanos,
        slot: Slot,
        new_data: u32,
        need_ack: bool,
        tx: &mut impl Transmit,
    ) {
        let t = *self.table.get(slot);
        let respond = new_data > 0 && t.ctl & ctl::RESPONDED == 0;
        let close = t.state == State::CloseWait || (respond && self.p.server_fin);
        if respond || close {
            let from = t.snd_nxt;
            let mut sent_something = false;
            {
                let t = self.table.get_mut(slot);
                if respond {
                    t.ctl |= ctl::RESPONDED;
                    let len = self.p.data.len() as u32;
                    t.snd_nxt = t.snd_nxt.add(len);
                    self.stats.bytes_out += len as u64;
                    self.stats.requests_sent += 1;
                    sent_something = len > 0;
                }
                if close && !t.state.fin_sent() {
                    t.state = match t.state {
                        State::CloseWait => State::LastAck,
                        _ => State::FinWait1,
                    };
                    t.snd_nxt = t.snd_nxt.add(1);
                    sent_something = true;
                }
                t.start = now;
                t.reset_retries();
            }
            self.send_from::<F>(now, slot, from, tx);
            if sent_something {
                let at = now + self.rto(0);
                self.arm(slot, at);
            } else {
                self.server_idle(now, slot);
            }
            return;
        }
        if need_ack {
            self.send_ack::<F>(now, slot, tx);
        }
        if new_data > 0 || t.state == State::Established {
            let t = self.table.get(slot);
            if t.snd_una == t.snd_nxt && t.state == State::Established {
                self.server_idle(now, slot);
            }
        }
    }

    /// Server with nothing outstanding: idle timeout (`data_timeout`) unless `close` is None.
    #[inline]
    pub(crate) fn server_idle(&mut self, now: Nanos, slot: Slot) {
        if self.p.c.close == CloseMode::None {
            self.disarm(slot);
        } else {
            self.table.get_mut(slot).start = now;
            let at = now + self.p.c.data_timeout;
            self.arm(slot, at);
        }
    }
}

/// What step 8 found.
enum FinIn {
    /// No FIN (or one out of order).
    None,
    /// The peer's FIN, new: ESTABLISHED -> CLOSE-WAIT.
    New,
    /// A FIN to acknowledge (FIN-WAIT-1 -> CLOSING, or a retransmitted one).
    Ack,
    /// FIN-WAIT-2 -> TIME-WAIT (acknowledged): the connection's outcome is given.
    Ended,
}
