//! Building our segments and writing them into `Transmit` buffers.

use std::ops::Range;

use crate::wire::{MacAddr, SeqNum, TcpFlags, TcpOptions, TcpRepr};

use super::addrs6::{Any, Family};
use super::engine::Engine;
use super::fastpath::{Hdr, Out, v4_to_v6, write};
use super::table::{Key, Slot};
use super::tcb::{State, Tcb, opt};
use super::{Nanos, Transmit};

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const FIN: u8 = TcpFlags::FIN;
const PSH: u8 = TcpFlags::PSH;

/// Our timestamp clock (TSval): milliseconds of the caller's clock.
#[inline]
pub(crate) fn ts_now(now: Nanos) -> u32 {
    (now / 1_000_000) as u32
}

/// The MSS we advertise on `k`: the configured (IPv4) value, 20 less for IPv6.
#[inline]
fn mss_for<F: Family>(mss: Option<u16>, k: &Key) -> Option<u16> {
    mss.map(|m| if F::v6(k) { m.saturating_sub(20) } else { m })
}

/// One segment of ours: control bits, sequence numbers, options and the range of our
/// payload (`Params::data`) it carries.
pub(crate) struct Seg {
    pub flags: u8,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub options: TcpOptions,
    pub data: Range<usize>,
    /// The connection uses window scaling (our window field is shifted).
    pub scaled: bool,
}

impl Seg {
    /// A segment with no options and no data (RSTs).
    pub(crate) fn bare(flags: u8, seq: SeqNum, ack: SeqNum) -> Seg {
        Seg {
            flags,
            seq,
            ack,
            options: TcpOptions::default(),
            data: 0..0,
            scaled: false,
        }
    }
}

/// What a SYN-ACK says: our ISS, RCV.NXT, the negotiated option bits (`Tcb::opts`) and the
/// TSecr echoing the SYN's TSval.
pub(crate) struct SynAck {
    pub iss: SeqNum,
    pub rcv_nxt: SeqNum,
    pub opts: u8,
    pub tsecr: u32,
}

impl Engine {
    /// Writes one frame for `k`; counts `tx_frames`, `tx_full`, or `tx_no_neighbour` (server:
    /// the peer's MAC is no longer known; nothing is sent rather than a frame to another host).
    #[inline(always)]
    pub(crate) fn emit<F: Family>(&mut self, tx: &mut impl Transmit, k: &Key, s: Seg) {
        let Seg {
            flags,
            seq,
            ack,
            options,
            data,
            scaled,
        } = s;
        let dst = if F::v6(k) {
            // Converted after the IPv4 writer (below); the key waits in memory, so nothing
            // more stays live across the writer than on the IPv4 path.
            self.pending6 = Some(*k);
            self.table.v6.mac(k.remote_ip)
        } else if !self.p.learn_macs {
            self.p.c.peer_mac
        } else if let Some(mac) = self.neighbours.get(k.remote_ip) {
            mac
        } else {
            MacAddr::ZERO
        };
        if dst == MacAddr::ZERO {
            self.pending6 = None;
            self.stats.tx_no_neighbour += 1;
            return;
        }
        let Some(buf) = tx.buffer() else {
            self.pending6 = None;
            self.stats.tx_full += 1;
            return;
        };
        let hdr = Hdr {
            dst,
            src: self.p.c.local_mac,
            vlan: self.p.c.vlan,
            ttl: self.p.c.ttl,
        };
        let seg = Out {
            flags,
            seq,
            ack: if flags & ACK != 0 { ack } else { SeqNum(0) },
            window: if scaled && flags & SYN == 0 {
                self.p.win_scaled
            } else {
                self.p.win_syn
            },
            options,
            payload: self.p.data.get(data).unwrap_or(&[]),
        };
        // IPv6 is the IPv4 frame turned over after the fact (out of line), so the IPv4 writer
        // keeps building the segment in registers (a segment passed through memory to a
        // second writer stalls on store forwarding).
        let mut len = write(buf, &hdr, k, &seg);
        if F::MAY_BE_V6 && self.pending6.is_some() {
            len = len.and_then(|n| self.emit6(tx, n));
        }
        match len {
            Some(len) => {
                tx.commit(len);
                self.stats.tx_frames += 1;
            }
            None => self.stats.tx_full += 1,
        }
    }

    /// The IPv4 frame of `self.pending6` just written (`n` bytes, still `tx`'s buffer) as IPv6
    /// with the handles' addresses.
    #[inline(never)]
    fn emit6(&mut self, tx: &mut impl Transmit, n: usize) -> Option<usize> {
        let k = self.pending6.take()?;
        let (vlan, ttl) = (self.p.c.vlan.is_some(), self.p.c.ttl);
        let (src, dst) = (
            self.table.v6.addr(k.local_ip),
            self.table.v6.addr(k.remote_ip),
        );
        v4_to_v6(tx.buffer()?, n, vlan, ttl, src, dst, &k)
    }

    /// Timestamp option for a non-SYN segment of `t`.
    #[inline]
    pub(crate) fn ts_opt(&self, t: &Tcb, now: Nanos) -> TcpOptions {
        TcpOptions {
            timestamps: t
                .has(opt::TS)
                .then_some((self.segment_tsval(t, now), t.aux)),
            ..TcpOptions::default()
        }
    }

    /// A server's TSval marks the phase its peer's ACK answers, so that the XDP server
    /// (bpf/handshake.h) tells the handshake's final ACK from the ACK of its FIN without state:
    /// even on the SYN-ACK, odd in LAST-ACK (after our FIN; TSvals stay non-decreasing, as
    /// PAWS needs, since both round the same millisecond clock and LAST-ACK is the last
    /// state).
    #[inline]
    fn segment_tsval(&self, t: &Tcb, now: Nanos) -> u32 {
        let v = self.tsval(now);
        if t.state == State::LastAck { v | 1 } else { v }
    }

    /// Client SYN (first transmission or retransmission).
    pub(crate) fn send_syn<F: Family>(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) {
        let t = *self.table.get(slot);
        let s = self.p.c.syn_options;
        // The ISN XDP checks binds the SYN's TSval (kept in `rcv_nxt` while SYN-SENT), so a
        // retransmission repeats it.
        let tsval = if self.p.xdp_isn && !F::v6(&t.key) {
            t.rcv_nxt.0
        } else {
            self.tsval(now)
        };
        let o = TcpOptions {
            mss: mss_for::<F>(s.mss, &t.key),
            wscale: s.wscale,
            sack_permitted: s.sack_permitted,
            timestamps: s.timestamps.then_some((tsval, 0)),
        };
        let seg = Seg {
            options: o,
            ..Seg::bare(SYN, t.iss, SeqNum(0))
        };
        self.emit::<F>(tx, &t.key, seg);
    }

    /// SYN-ACK with the options negotiated in `opts` bits (`tsecr` echoes the SYN's TSval).
    pub(crate) fn send_synack<F: Family>(
        &mut self,
        now: Nanos,
        tx: &mut impl Transmit,
        k: &Key,
        a: SynAck,
    ) {
        let SynAck {
            iss,
            rcv_nxt,
            opts,
            tsecr,
        } = a;
        let o = TcpOptions {
            mss: mss_for::<F>(self.p.c.syn_options.mss, k),
            wscale: if opts & opt::WS != 0 {
                self.p.c.syn_options.wscale
            } else {
                None
            },
            sack_permitted: opts & opt::SACK != 0,
            // Even: see `segment_tsval`.
            timestamps: (opts & opt::TS != 0).then_some((self.tsval(now) & !1, tsecr)),
        };
        let seg = Seg {
            options: o,
            ..Seg::bare(SYN | ACK, iss, rcv_nxt)
        };
        self.emit::<F>(tx, k, seg);
    }

    /// SYN-ACK retransmission / duplicate-SYN answer for a SYN-RECEIVED TCB.
    pub(crate) fn resend_synack(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) {
        let t = *self.table.get(slot);
        let a = SynAck {
            iss: t.iss,
            rcv_nxt: t.rcv_nxt,
            opts: t.opts,
            tsecr: t.aux,
        };
        self.send_synack::<Any>(now, tx, &t.key, a);
    }

    /// Everything from `from` to SND.NXT: our data bytes, then our FIN if it lies in that
    /// range. `from == snd_nxt` gives a pure ACK.
    pub(crate) fn send_from<F: Family>(
        &mut self,
        now: Nanos,
        slot: Slot,
        from: SeqNum,
        tx: &mut impl Transmit,
    ) {
        let t = *self.table.get(slot);
        let sent = t.sent_data() as usize;
        let off = (from.diff(t.iss).wrapping_sub(1) as usize).min(sent);
        let fin = t.state.fin_sent() && from != t.snd_nxt;
        let mut flags = ACK;
        if off < sent {
            flags |= PSH;
        }
        if fin {
            flags |= FIN;
        }
        let seg = Seg {
            options: self.ts_opt(&t, now),
            data: off.min(sent)..sent,
            scaled: t.has(opt::WS),
            ..Seg::bare(flags, from, t.rcv_nxt)
        };
        self.emit::<F>(tx, &t.key, seg);
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` (also the RFC 5961 challenge ACK).
    #[inline]
    pub(crate) fn send_ack<F: Family>(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) {
        let nxt = self.table.get(slot).snd_nxt;
        self.send_from::<F>(now, slot, nxt, tx);
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>`: we reset a connection of ours.
    pub(crate) fn send_reset<F: Family>(&mut self, slot: Slot, tx: &mut impl Transmit) {
        let t = *self.table.get(slot);
        self.stats.rsts_sent += 1;
        self.emit::<F>(tx, &t.key, Seg::bare(RST | ACK, t.snd_nxt, t.rcv_nxt));
    }

    /// RST answering a segment that has no connection (RFC 9293 3.10.7.1):
    /// `<SEQ=SEG.ACK><CTL=RST>` if it had an ACK, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
    pub(crate) fn send_rst_for<F: Family>(
        &mut self,
        k: &Key,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) {
        self.stats.rsts_sent += 1;
        if seg.flags.ack() {
            self.emit::<F>(tx, k, Seg::bare(RST, seg.ack, SeqNum(0)));
        } else {
            let len = seg.payload.len() as u32 + seg.flags.syn() as u32 + seg.flags.fin() as u32;
            self.emit::<F>(tx, k, Seg::bare(RST | ACK, SeqNum(0), seg.seq.add(len)));
        }
    }
}
