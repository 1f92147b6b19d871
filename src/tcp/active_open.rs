//! Client side: `open` (CLOSED -> SYN-SENT), SYN-SENT processing (RFC 9293 3.10.7.3) and
//! segments for tuples of ours that have no connection.

use crate::wire::{SeqNum, TcpRepr};

use super::addrs6::{Family, V4, V6, is_v6};
use super::cookie::CookieOpts;
use super::engine::{Engine, Verdict};
use super::stats::DropReason;
use super::table::{Key, Slot};
use super::tcb::{State, Tcb, ctl, decode_lag, encode_lag};
use super::timer::Wheel;
use super::{Nanos, OpenError, Outcome, Transmit};

/// Most tuples `open` probes before reporting `NoTuple`.
const MAX_PROBES: u64 = 1024;

impl Engine {
    pub(crate) fn active_open(
        &mut self,
        now: Nanos,
        intended: Nanos,
        tx: &mut impl Transmit,
    ) -> Result<(), OpenError> {
        let Some(tuples) = self.tuples.as_mut() else {
            return Err(OpenError::NotClient);
        };
        if self.table.is_full() {
            self.stats.open_table_full += 1;
            return Err(OpenError::TableFull);
        }
        let space = tuples.space();
        let mut found = None;
        if (self.table.len() as u64) < space {
            for _ in 0..space.min(MAX_PROBES) {
                let k = tuples.current();
                tuples.advance();
                let h = self.table.hash(&k);
                if let Err(pos) = self.table.probe(&k, h) {
                    found = Some((k, h, pos));
                    break;
                }
            }
        }
        let Some((key, h, pos)) = found else {
            self.stats.open_no_tuple += 1;
            return Err(OpenError::NoTuple);
        };
        if is_v6(&key) {
            self.open_tuple::<V6>(now, intended, key, (h, pos), tx)
        } else {
            self.open_tuple::<V4>(now, intended, key, (h, pos), tx)
        }
    }

    /// The SYN of a new connection on `key` (hash `h`; `pos`: where its index probe missed).
    #[inline(always)]
    fn open_tuple<F: Family>(
        &mut self,
        now: Nanos,
        intended: Nanos,
        key: Key,
        (h, pos): (u32, usize),
        tx: &mut impl Transmit,
    ) -> Result<(), OpenError> {
        // --offload xdp: the TSval is the intended start (not the send time: a late pacer's
        // lateness stays in the latency XDP measures) and the ISN hashes it with the tuple.
        let xdp = self.p.xdp_isn && !F::v6(&key);
        // The TSval carries the intended start in µs: taken to the nearest µs here, so that
        // XDP's latency (from the TSval) and the engine's (from `intended`) are one figure.
        let intended = if xdp {
            intended.saturating_add(500) / 1000 * 1000
        } else {
            intended
        };
        let (iss, syn_ts) = if xdp {
            let ts = super::offload::client_tsval(intended);
            let k = self.isn_key;
            (
                SeqNum(super::offload::client_isn_of((k.0, k.1), &key, ts)),
                ts,
            )
        } else {
            (self.new_iss::<F>(&key, now), 0)
        };
        let mut tcb = Tcb {
            key,
            snd_una: iss,
            snd_nxt: iss.add(1),
            rcv_nxt: SeqNum(syn_ts), // SYN-SENT: the SYN's TSval (send_syn)
            iss,
            aux: encode_lag(now.saturating_sub(intended)),
            start: now,
            state: State::SynSent,
            ..Tcb::default()
        };
        Wheel::init(&mut tcb);
        let Some(slot) = self.table.insert_at::<F>(pos, h, tcb) else {
            self.stats.open_table_full += 1;
            return Err(OpenError::TableFull);
        };
        self.stats.attempted += 1;
        if F::v6(&key) {
            self.stats.v6_attempted += 1;
        }
        self.stats.active += 1;
        self.send_syn::<F>(now, slot, tx);
        self.built(Some(slot), now);
        if xdp {
            self.track_xdp(slot, iss.0, now);
        }
        let rto = self.rto(0);
        self.arm(slot, now + rto);
        Ok(())
    }

    /// SYN-SENT (RFC 9293 3.10.7.3).
    pub(crate) fn syn_sent<F: Family>(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let t = *self.table.get(slot);
        let fl = seg.flags;
        if fl.ack() && seg.ack != t.snd_nxt {
            if !fl.rst() {
                self.send_rst_for::<F>(&t.key, seg, tx);
            }
            return Err(DropReason::AckNotAcceptable);
        }
        if fl.rst() {
            if !fl.ack() {
                return Err(DropReason::RstInvalid);
            }
            self.finish::<F>(slot, h, Outcome::Refused);
            return Ok(());
        }
        if !fl.syn() || !fl.ack() {
            // A pure ACK of our SYN, or a simultaneous open (not supported).
            return Err(DropReason::UnexpectedState);
        }
        // Both from the SYN-ACK's wire time: connect from the intended start (includes the
        // generator's lateness, by design), the RTT from the SYN's departure (`Departures`
        // moved `start` there and added the wait to the lag).
        let rx = self.rx_at;
        let intended = t.start.saturating_sub(decode_lag(t.aux));
        self.tally.connect.record(rx.saturating_sub(intended));
        self.tally.rtt.record(rx.saturating_sub(t.start)); // start: the SYN's departure
        let o = &seg.options;
        let bits = CookieOpts::negotiate(o, &self.p.c.syn_options).tcb_bits();
        {
            let t = self.table.get_mut(slot);
            t.irs = seg.seq;
            t.rcv_nxt = seg.seq.add(1);
            t.snd_una = seg.ack;
            t.snd_wnd = seg.window;
            t.opts = bits;
            t.aux = o.timestamps.map_or(0, |(v, _)| v);
            t.state = State::Established;
            t.start = now;
            t.reset_retries();
        }
        self.stats.established += 1;
        if F::v6(&self.table.get(slot).key) {
            self.stats.v6_established += 1;
        }
        if self.p.data.is_empty() {
            self.send_ack::<F>(now, slot, tx);
            self.client_done::<F>(now, slot, h, tx);
        } else {
            self.xfer_begin(slot, o.mss.unwrap_or(536), seg.window);
            self.start_request(now, slot, intended, tx);
        }
        Ok(())
    }

    /// The request/response phase is over: hold, or close now.
    pub(crate) fn client_done<F: Family>(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        tx: &mut impl Transmit,
    ) {
        {
            let t = self.table.get_mut(slot);
            t.ctl |= ctl::DONE;
            t.start = now;
            t.reset_retries();
        }
        if self.p.c.hold > 0 {
            let at = now + self.p.c.hold;
            self.arm(slot, at);
        } else if self.p.c.close == super::CloseMode::None {
            self.disarm(slot);
        } else {
            self.close_now::<F>(now, slot, h, tx);
        }
    }

    /// Client: a segment for one of our tuples with no TCB (RFC 9293 3.10.7.1, CLOSED).
    pub(crate) fn client_no_tcb<F: Family>(
        &mut self,
        key: &Key,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let ours = self
            .tuples
            .as_ref()
            .is_some_and(|t| t.owns(key.local_ip, key.local_port));
        if !ours {
            return Err(DropReason::NotOurs);
        }
        if !seg.flags.rst() {
            self.send_rst_for::<F>(key, seg, tx);
        }
        Err(DropReason::NoConnection)
    }
}
