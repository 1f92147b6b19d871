//! Server side: LISTEN (SYN -> SYN-RECEIVED or a cookie SYN-ACK), SYN-cookie validation on
//! an ACK without a TCB, and segments to nothing.

use crate::wire::{SeqNum, TcpRepr};

use super::addrs6::Family;
use super::cookie::{self, CookieOpts};
use super::engine::{Engine, Verdict};
use super::output::SynAck;
use super::stats::DropReason;
use super::table::Key;
use super::tcb::{State, Tcb};
use super::timer::Wheel;
use super::{CookieMode, Nanos, Transmit};

impl Engine {
    #[inline]
    fn listening<F: Family>(&self, k: &Key) -> bool {
        if F::v6(k) {
            return self.listening6(k);
        }
        self.p
            .listen
            .iter()
            .any(|&(ip, port)| port == k.local_port && (ip == 0 || ip == k.local_ip))
    }

    #[inline(never)]
    fn listening6(&self, k: &Key) -> bool {
        let ip6 = self.table.v6.addr(k.local_ip);
        self.p
            .listen6
            .iter()
            .any(|&(ip, port)| port == k.local_port && (ip == 0 || ip == ip6))
    }

    /// Server: a segment with no TCB.
    pub(crate) fn server_no_tcb<F: Family>(
        &mut self,
        now: Nanos,
        key: &Key,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        if !self.listening::<F>(key) {
            return Err(DropReason::NotOurs);
        }
        let fl = seg.flags;
        if fl.rst() {
            return Err(DropReason::NoConnection);
        }
        if fl.syn() && !fl.ack() {
            return self.passive_open::<F>(now, key, h, seg, tx);
        }
        if !fl.syn() && self.p.cookies != CookieMode::Never {
            return self.cookie_ack::<F>(now, key, h, seg, tx);
        }
        self.send_rst_for::<F>(key, seg, tx);
        Err(DropReason::NoConnection)
    }

    /// LISTEN + SYN: a SYN-RECEIVED TCB and a SYN-ACK, or a stateless cookie SYN-ACK.
    pub(crate) fn passive_open<F: Family>(
        &mut self,
        now: Nanos,
        key: &Key,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let neg = CookieOpts::negotiate(&seg.options, &self.p.c.syn_options);
        let tsval = seg.options.timestamps.map_or(0, |(v, _)| v);
        let bits = neg.tcb_bits();
        let cookie = match self.p.cookies {
            CookieMode::Always => true,
            CookieMode::Never => false,
            CookieMode::Auto => {
                self.stats.half_open > self.p.cookie_threshold || self.table.is_full()
            }
        };
        let rcv_nxt = seg.seq.add(1);
        let synack = |iss| SynAck {
            iss,
            rcv_nxt,
            opts: bits,
            tsecr: tsval,
        };
        if cookie {
            let (w, n) = self.tuple_words(key);
            let iss = SeqNum(cookie::encode(
                self.cookie_key,
                &w[..n],
                seg.seq.0,
                now,
                &neg,
            ));
            self.stats.syn_received += 1;
            self.stats.cookies_sent += 1;
            self.send_synack::<F>(now, tx, key, synack(iss));
            self.built(None, now);
            return Ok(());
        }
        let iss = self.new_iss::<F>(key, now);
        let mut tcb = Tcb {
            key: *key,
            snd_una: iss,
            snd_nxt: iss.add(1),
            rcv_nxt,
            iss,
            irs: seg.seq,
            aux: tsval,
            start: self.rx_at, // accept latency runs from the SYN's wire time
            snd_wnd: seg.window,
            state: State::SynReceived,
            opts: bits,
            ..Tcb::default()
        };
        Wheel::init(&mut tcb);
        let Some(slot) = self.table.insert::<F>(h, tcb) else {
            if self.p.abort_on_overflow {
                self.stats.refused_table_full += 1;
                self.send_rst_for::<F>(key, seg, tx);
                return Ok(());
            }
            return Err(DropReason::TableFull);
        };
        self.stats.syn_received += 1;
        self.stats.active += 1;
        self.stats.half_open += 1;
        self.xfer_begin(slot, neg.mss, seg.window);
        self.send_synack::<F>(now, tx, key, synack(iss));
        self.departures.reset(slot);
        self.built(Some(slot), now);
        let at = now + self.rto(0);
        self.arm(slot, at);
        Ok(())
    }

    /// An ACK without a TCB: a returning SYN cookie, or an ACK to nothing.
    fn cookie_ack<F: Family>(
        &mut self,
        now: Nanos,
        key: &Key,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let irs = seg.seq.add(u32::MAX); // seq - 1
        let iss = seg.ack.add(u32::MAX);
        let (w, n) = self.tuple_words(key);
        let Some(o) = cookie::decode(self.cookie_key, &w[..n], irs.0, iss.0, now) else {
            self.send_rst_for::<F>(key, seg, tx);
            if seg.flags.fin() {
                // A final handshake ACK does not carry a FIN; this is a FIN for a connection
                // that has ended (typically a peer's retransmitted FIN after our TIME-WAIT).
                return Err(DropReason::NoConnection);
            }
            self.stats.cookies_rejected += 1;
            return Err(DropReason::CookieInvalid);
        };
        let tsval = seg.options.timestamps.map(|(v, _)| v);
        let bits = CookieOpts {
            timestamps: o.timestamps && tsval.is_some(),
            ..o
        }
        .tcb_bits();
        let mut tcb = Tcb {
            key: *key,
            snd_una: seg.ack,
            snd_nxt: seg.ack,
            rcv_nxt: seg.seq,
            iss,
            irs,
            aux: tsval.unwrap_or(0),
            start: now,
            snd_wnd: seg.window,
            state: State::Established,
            opts: bits,
            ..Tcb::default()
        };
        Wheel::init(&mut tcb);
        let Some(slot) = self.table.insert::<F>(h, tcb) else {
            return Err(DropReason::TableFull);
        };
        self.stats.cookies_accepted += 1;
        self.stats.accepted += 1;
        if F::v6(key) {
            self.stats.v6_accepted += 1;
        }
        self.stats.active += 1;
        // The SYN's window is not known: the ACK's (unscaled until `data_ack` scales it).
        self.xfer_begin(slot, o.mss, seg.window);
        self.server_idle(now, slot);
        // The ACK may carry the request and/or a FIN.
        self.synchronized::<F>(now, slot, h, seg, tx)
    }
}
