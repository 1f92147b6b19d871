//! Server side: LISTEN (SYN -> SYN-RECEIVED or a cookie SYN-ACK), SYN-cookie validation on
//! an ACK without a TCB, and segments to nothing.

use crate::wire::{SeqNum, TcpRepr};

use super::cookie::{self, CookieOpts};
use super::engine::{Engine, Verdict};
use super::isn::isn;
use super::stats::DropReason;
use super::table::Key;
use super::tcb::{State, Tcb, opt};
use super::timer::Wheel;
use super::{CookieMode, Nanos, Transmit};

impl Engine {
    fn listening(&self, k: &Key) -> bool {
        self.p
            .listen
            .iter()
            .any(|&(ip, port)| port == k.local_port && (ip == 0 || ip == k.local_ip))
    }

    /// Server: a segment with no TCB.
    pub(crate) fn server_no_tcb(
        &mut self,
        now: Nanos,
        key: &Key,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        if !self.listening(key) {
            return Err(DropReason::NotOurs);
        }
        let fl = seg.flags;
        if fl.rst() {
            return Err(DropReason::NoConnection);
        }
        if fl.syn() && !fl.ack() {
            return self.passive_open(now, key, h, seg, tx);
        }
        if !fl.syn() && self.p.cookies != CookieMode::Never {
            return self.cookie_ack(now, key, h, seg, tx);
        }
        self.send_rst_for(key, seg, tx);
        Err(DropReason::NoConnection)
    }

    /// LISTEN + SYN: a SYN-RECEIVED TCB and a SYN-ACK, or a stateless cookie SYN-ACK.
    pub(crate) fn passive_open(
        &mut self,
        now: Nanos,
        key: &Key,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let neg = CookieOpts::negotiate(&seg.options, &self.p.syn);
        let tsval = seg.options.timestamps.map_or(0, |(v, _)| v);
        let mut bits = 0u8;
        if neg.timestamps {
            bits |= opt::TS;
        }
        if neg.sack_permitted {
            bits |= opt::SACK;
        }
        if let Some(ws) = neg.wscale {
            bits |= opt::WS | ws << opt::WS_SHIFT;
        }
        let cookie = match self.p.cookies {
            CookieMode::Always => true,
            CookieMode::Never => false,
            CookieMode::Auto => {
                self.stats.half_open > self.p.cookie_threshold || self.table.is_full()
            }
        };
        let rcv_nxt = seg.seq.add(1);
        if cookie {
            let iss = SeqNum(cookie::encode(self.cookie_key, key, seg.seq.0, now, &neg));
            self.stats.syn_received += 1;
            self.stats.cookies_sent += 1;
            self.send_synack(now, tx, key, iss, rcv_nxt, bits, tsval);
            self.built(None, now);
            return Ok(());
        }
        let iss = SeqNum(isn(self.isn_key, key, now));
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
        let Some(slot) = self.table.insert(h, tcb) else {
            return Err(DropReason::TableFull);
        };
        self.stats.syn_received += 1;
        self.stats.active += 1;
        self.stats.half_open += 1;
        self.send_synack(now, tx, key, iss, rcv_nxt, bits, tsval);
        self.departures.reset(slot);
        self.built(Some(slot), now);
        let at = now + self.rto(0);
        self.arm(slot, at);
        Ok(())
    }

    /// An ACK without a TCB: a returning SYN cookie, or an ACK to nothing.
    fn cookie_ack(
        &mut self,
        now: Nanos,
        key: &Key,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let irs = seg.seq.add(u32::MAX); // seq - 1
        let iss = seg.ack.add(u32::MAX);
        let Some(o) = cookie::decode(self.cookie_key, key, irs.0, iss.0, now) else {
            self.stats.cookies_rejected += 1;
            self.send_rst_for(key, seg, tx);
            return Err(DropReason::CookieInvalid);
        };
        let mut bits = 0u8;
        let tsval = seg.options.timestamps.map(|(v, _)| v);
        if o.timestamps && tsval.is_some() {
            bits |= opt::TS;
        }
        if o.sack_permitted {
            bits |= opt::SACK;
        }
        if let Some(ws) = o.wscale {
            bits |= opt::WS | ws << opt::WS_SHIFT;
        }
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
        let Some(slot) = self.table.insert(h, tcb) else {
            return Err(DropReason::TableFull);
        };
        self.stats.cookies_accepted += 1;
        self.stats.accepted += 1;
        self.stats.active += 1;
        self.server_idle(now, slot);
        // The ACK may carry the request and/or a FIN.
        self.synchronized(now, slot, h, seg, tx)
    }
}
