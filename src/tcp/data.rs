//! Data of any size in both roles, for engines with a request (client) or a response
//! (server): sending in MSS-sized segments within the peer's window and a congestion window,
//! retransmission on RTO and on three duplicate ACKs (NewReno-like recovery), in-order
//! receive that counts bytes and frames responses (`--expect`, `--response-size`, HTTP, FIN),
//! cumulative ACKs (at least every second full segment, at once on PSH, out-of-order or FIN),
//! keep-alive (`requests` per connection, `think` between them).
//!
//! The per-connection state is one fixed [`Xfer`] per TCB slot, allocated with the table only
//! when the engine has data to send: the handshake-only engine has none and never comes here.
//! The payload is the one configured request (or response): byte `o` of the stream is
//! `data[o % data.len()]`, so the n-th request (or response) needs no buffer either.

use crate::wire::{SeqNum, TcpRepr};

use super::addrs6::Any;
use super::engine::Engine;
use super::http::{Feed, Http};
use super::output::Seg;
use super::stats::{DropReason, record};
use super::table::Slot;
use super::tcb::{State, Tcb, ctl, opt};
use super::{Nanos, Outcome, Role, Transmit};

/// How a client knows a response is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResponseEnd {
    /// Once `expect` (or, without one, the first byte) has arrived.
    #[default]
    FirstBytes,
    /// After exactly this many bytes.
    Size(u64),
    /// At the server's FIN.
    Fin,
    /// HTTP/1.1 framing: Content-Length, chunked, or FIN; the status must be 2xx or 3xx.
    Http,
}

/// `Xfer::flags`.
mod xf {
    /// Client: waiting `think` before the next request.
    pub const THINK: u8 = 1;
    /// Send our FIN once the queued data is sent.
    pub const FIN_AFTER: u8 = 2;
    /// In loss recovery until `recover` is acknowledged.
    pub const RECOVERY: u8 = 4;
    /// Server: the request stream's framing was decided (HTTP: one response per header
    /// block ending in an empty line; else one response to the first data).
    pub const DECIDED: u8 = 8;
    pub const HTTP: u8 = 16;
    /// Client: the first byte of the current response has arrived.
    pub const FIRST_BYTE: u8 = 32;
}

/// Data-phase state of one connection (64 bytes), beside its TCB.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Xfer {
    /// Client: the current request's intended start (open loop: the connection's intended
    /// start, then the previous response's end + think) and its first transmission.
    pub intended: Nanos,
    pub sent_at: Nanos,
    /// End of the data queued so far (SND.NXT reaches it when everything is sent).
    pub snd_end: SeqNum,
    /// SND.NXT when loss was detected (recovery ends when it is acknowledged).
    pub recover: SeqNum,
    /// Congestion window (bytes).
    pub cwnd: u32,
    /// The peer's window in bytes (scaled).
    pub wnd: u32,
    /// Client: bytes of the current response so far.
    pub rx: u32,
    pub http: Http,
    /// Client: responses complete on this connection.
    pub done: u16,
    /// Largest payload per segment (the peer's MSS, ours, less our options).
    pub mss: u16,
    /// In-order segments received since our last ACK.
    pub unacked: u8,
    pub dupacks: u8,
    pub flags: u8,
    /// Server: progress through "\r\n\r\n" of the request stream.
    pub crlf: u8,
}

/// Initial congestion window, segments (RFC 6928).
const IW: u32 = 10;

/// Per-slot data state (empty for an engine without data).
pub(crate) struct Xfers(Vec<Xfer>);

impl Xfers {
    pub(crate) fn new(slots: usize) -> Xfers {
        Xfers(vec![Xfer::default(); slots])
    }
    pub(crate) fn none() -> Xfers {
        Xfers(Vec::new())
    }
    #[inline]
    pub(crate) fn on(&self) -> bool {
        !self.0.is_empty()
    }
    #[inline]
    pub(crate) fn get(&mut self, slot: Slot) -> &mut Xfer {
        &mut self.0[slot as usize]
    }
    pub(crate) fn memory_bytes(&self) -> usize {
        self.0.len() * std::mem::size_of::<Xfer>()
    }
}

/// Bytes of per-connection data state when data is configured.
pub const XFER_BYTES: usize = std::mem::size_of::<Xfer>();

/// What a data segment led to (`data_in`).
pub(crate) enum Rx {
    /// Go on with the segment's FIN, if any.
    Continue,
    /// The connection has ended.
    Ended,
    /// The segment's FIN was taken with its data.
    FinDone,
}

/// What a client's response bytes led to.
enum After {
    /// Keep receiving (ACK as usual).
    Continue,
    /// A response completed and something carrying our ACK went out (the next request, an
    /// ACK before thinking, or the close).
    Answered,
    /// The connection has ended.
    Ended,
}

/// What a data segment did to the client's current response.
enum Progress {
    More,
    Complete,
    Bad,
}

impl Engine {
    /// A new synchronized connection: fresh data state (peer MSS and window from its SYN).
    #[inline]
    pub(crate) fn xfer_begin(&mut self, slot: Slot, peer_mss: u16, window: u16) {
        if self.xfers.on() {
            self.xfer_init(slot, peer_mss, window);
        }
    }

    fn xfer_init(&mut self, slot: Slot, peer_mss: u16, window: u16) {
        let t = *self.table.get(slot);
        let ours = self.p.c.syn_options.mss.unwrap_or(1460);
        let opts = if t.has(opt::TS) { 12 } else { 0 };
        let mss = (peer_mss.min(ours).max(64) - opts).min(super::engine::MAX_DATA as u16);
        *self.xfers.get(slot) = Xfer {
            snd_end: t.snd_nxt,
            recover: t.snd_nxt,
            cwnd: IW * mss as u32,
            wnd: window as u32,
            mss,
            ..Xfer::default()
        };
    }

    /// The peer's window field, scaled (segments after the SYN).
    #[inline]
    fn peer_window(t: &Tcb, field: u16) -> u32 {
        if t.has(opt::WS) {
            (field as u32) << (t.opts >> opt::WS_SHIFT).min(14)
        } else {
            field as u32
        }
    }

    /// Client: queue the next request (the first right after the handshake) and send it.
    pub(crate) fn start_request(
        &mut self,
        now: Nanos,
        slot: Slot,
        intended: Nanos,
        tx: &mut impl Transmit,
    ) {
        let len = self.p.data.len() as u32;
        {
            let t = self.table.get_mut(slot);
            t.start = now;
            t.reset_retries();
        }
        let x = self.xfers.get(slot);
        x.intended = intended;
        x.sent_at = now;
        x.rx = 0;
        x.http = Http::default();
        x.flags &= !(xf::THINK | xf::FIRST_BYTE);
        x.snd_end = x.snd_end.add(len);
        self.stats.bytes_out += len as u64;
        self.stats.requests_sent += 1;
        self.push(now, slot, tx);
        self.arm_data(now, slot);
    }

    /// Sends queued data the windows allow, then our FIN if it is due; true if it sent.
    pub(crate) fn push(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) -> bool {
        let mut sent = false;
        loop {
            let t = *self.table.get(slot);
            let x = *self.xfers.get(slot);
            let left = x.snd_end.diff(t.snd_nxt);
            if left == 0 || x.snd_end.before(t.snd_nxt) {
                break;
            }
            let flight = t.snd_nxt.diff(t.snd_una);
            let room = x.wnd.min(x.cwnd).saturating_sub(flight);
            let n = left
                .min(x.mss as u32)
                .min(room)
                .min(self.payload_room(&t, t.snd_nxt));
            if n == 0 {
                break;
            }
            // The FIN rides on the last data segment when it is due.
            let fin = n == left
                && x.flags & xf::FIN_AFTER != 0
                && matches!(t.state, State::Established | State::CloseWait);
            let mut tf = t;
            if fin {
                tf.state = if t.state == State::Established {
                    State::FinWait1
                } else {
                    State::LastAck
                };
            }
            let n = self.send_segment(now, &tf, t.snd_nxt, n, n == left, fin, tx);
            let tm = self.table.get_mut(slot);
            tm.snd_nxt = t.snd_nxt.add(n + fin as u32);
            tm.state = tf.state;
            self.xfers.get(slot).unacked = 0;
            sent = true;
        }
        let t = *self.table.get(slot);
        let x = *self.xfers.get(slot);
        if x.flags & xf::FIN_AFTER != 0 && t.snd_nxt == x.snd_end && !t.state.fin_sent() {
            let next = match t.state {
                State::Established => State::FinWait1,
                State::CloseWait => State::LastAck,
                _ => return sent,
            };
            let tm = self.table.get_mut(slot);
            tm.state = next;
            tm.snd_nxt = t.snd_nxt.add(1);
            self.send_from::<Any>(now, slot, t.snd_nxt, tx);
            sent = true;
        }
        sent
    }

    /// Bytes from `seq` to the end of the payload copy it lies in.
    #[inline]
    fn payload_room(&self, t: &Tcb, seq: SeqNum) -> u32 {
        let len = self.p.data.len().max(1);
        (len - (seq.diff(t.iss).wrapping_sub(1) as usize) % len) as u32
    }

    /// One segment of our payload at `seq` (at most `n` bytes, never across the end of the
    /// payload, where the next request or response begins), with our FIN when `fin`.
    /// Returns the payload bytes sent.
    #[allow(clippy::too_many_arguments)]
    fn send_segment(
        &mut self,
        now: Nanos,
        t: &Tcb,
        seq: SeqNum,
        n: u32,
        psh: bool,
        fin: bool,
        tx: &mut impl Transmit,
    ) -> u32 {
        let len = self.p.data.len();
        let at = (seq.diff(t.iss).wrapping_sub(1) as usize) % len.max(1);
        let n = (n as usize).min(len - at);
        let mut flags = crate::wire::TcpFlags::ACK;
        if psh || at + n == len {
            flags |= crate::wire::TcpFlags::PSH;
        }
        if fin {
            flags |= crate::wire::TcpFlags::FIN;
        }
        let seg = Seg {
            options: self.ts_opt(t, now),
            data: at..at + n,
            scaled: t.has(opt::WS),
            ..Seg::bare(flags, seq, t.rcv_nxt)
        };
        self.emit::<Any>(tx, &t.key, seg);
        n as u32
    }

    /// The RTO while data is unacknowledged; else the phase deadline (client: the response
    /// must be complete by then; server: idle timeout).
    pub(crate) fn arm_data(&mut self, now: Nanos, slot: Slot) {
        let t = *self.table.get(slot);
        if t.snd_una != t.snd_nxt {
            let at = (now + self.rto(t.retries())).min(t.start + self.p.c.data_timeout);
            self.arm(slot, at.max(now + 1));
        } else if self.p.role == Role::Client {
            let at = t.start + self.p.c.data_timeout;
            self.arm(slot, at.max(now + 1));
        } else if self.xfers.get(slot).flags & xf::FIN_AFTER != 0 {
            let at = now + self.p.c.data_timeout; // zero window: give up at the deadline
            self.arm(slot, at);
        } else {
            self.server_idle(now, slot);
        }
    }

    /// An acceptable ACK: window, congestion window, duplicate-ACK fast retransmit, more data.
    /// `prev_una` and `prev_wnd` are SND.UNA and the window before this segment.
    pub(crate) fn data_ack(
        &mut self,
        now: Nanos,
        slot: Slot,
        seg: &TcpRepr<'_>,
        prev_una: SeqNum,
        tx: &mut impl Transmit,
    ) {
        let t = *self.table.get(slot);
        let wnd = Self::peer_window(&t, seg.window);
        let x = self.xfers.get(slot);
        let prev_wnd = x.wnd;
        x.wnd = wnd;
        let mss = x.mss as u32;
        if t.snd_una.after(prev_una) {
            let acked = t.snd_una.diff(prev_una);
            x.dupacks = 0;
            if x.flags & xf::RECOVERY != 0 {
                if t.snd_una.before(x.recover) {
                    // Partial ACK: the next hole, at once (NewReno, RFC 6582).
                    self.retransmit(now, slot, false, tx);
                } else {
                    x.flags &= !xf::RECOVERY;
                }
            } else {
                x.cwnd = x.cwnd.saturating_add(acked.min(mss)); // slow start, per ACK
            }
        } else if t.snd_una != t.snd_nxt
            && seg.payload.is_empty()
            && !seg.flags.fin()
            && wnd == prev_wnd
        {
            self.stats.dup_acks += 1;
            x.dupacks = x.dupacks.saturating_add(1);
            if x.dupacks == 3 && x.flags & xf::RECOVERY == 0 {
                let flight = t.snd_nxt.diff(t.snd_una);
                x.cwnd = (flight / 2).max(2 * mss);
                x.flags |= xf::RECOVERY;
                x.recover = t.snd_nxt;
                self.stats.fast_retransmits += 1;
                self.retransmit(now, slot, false, tx);
            }
        }
        if self.push(now, slot, tx) || t.snd_una.after(prev_una) {
            self.arm_data(now, slot);
        }
    }

    /// Resends one segment from SND.UNA (data, or our FIN when only it is outstanding); on
    /// an RTO the congestion window restarts at one segment.
    pub(crate) fn retransmit(&mut self, now: Nanos, slot: Slot, rto: bool, tx: &mut impl Transmit) {
        let t = *self.table.get(slot);
        self.stats.data_retransmits += 1;
        let x = self.xfers.get(slot);
        if rto {
            x.cwnd = x.mss as u32;
            x.flags |= xf::RECOVERY;
            x.recover = t.snd_nxt;
            x.dupacks = 0;
        }
        let (mss, snd_end) = (x.mss as u32, x.snd_end);
        let data_left = snd_end.diff(t.snd_una).min(t.snd_nxt.diff(t.snd_una));
        let data_left = if snd_end.before(t.snd_una) {
            0
        } else {
            data_left
        };
        if data_left == 0 {
            // Only our FIN is outstanding.
            self.send_from::<Any>(now, slot, t.snd_una, tx);
            return;
        }
        let n = data_left.min(mss).min(self.payload_room(&t, t.snd_una));
        let fin = t.state.fin_sent() && n == data_left;
        self.send_segment(now, &t, t.snd_una, n, true, fin, tx);
    }

    /// In-window data of an established connection: in order only (an out-of-order segment
    /// is dropped and answered by a duplicate ACK), counted, framed (client), answered
    /// (server), ACKed cumulatively.
    pub(crate) fn data_in(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        seg: &TcpRepr<'_>,
        tx: &mut impl Transmit,
    ) -> Result<Rx, DropReason> {
        let t = *self.table.get(slot);
        if t.state.fin_received() {
            if seg.seq.add(seg.payload.len() as u32).after(t.rcv_nxt) {
                self.send_ack::<Any>(now, slot, tx);
                return Err(DropReason::DataAfterFin);
            }
            return Ok(Rx::Continue);
        }
        if seg.seq.after(t.rcv_nxt) {
            self.send_ack::<Any>(now, slot, tx);
            return Err(DropReason::OutOfOrder);
        }
        let off = t.rcv_nxt.diff(seg.seq) as usize;
        if off >= seg.payload.len() {
            // All old (our ACK was lost): ACK again at once.
            self.send_ack::<Any>(now, slot, tx);
            return Ok(Rx::Continue);
        }
        // Accept up to the window we advertised; the peer resends the rest.
        let wnd = self.p.rcv_window as usize;
        let fresh = &seg.payload[off..seg.payload.len().min(off + wnd.max(1))];
        let n = fresh.len() as u32;
        self.table.get_mut(slot).rcv_nxt = t.rcv_nxt.add(n);
        self.stats.bytes_in += n as u64;
        match self.p.role {
            Role::Client => {
                // A FIN right behind the response's last bytes is taken first, so that the
                // close that follows the response acknowledges it (LAST-ACK, one frame).
                let fin_with = seg.flags.fin()
                    && off + fresh.len() == seg.payload.len()
                    && t.state == State::Established
                    && t.ctl & ctl::DONE == 0;
                if fin_with {
                    let tm = self.table.get_mut(slot);
                    tm.rcv_nxt = tm.rcv_nxt.add(1);
                    tm.state = State::CloseWait;
                }
                match self.client_data(now, slot, h, fresh, tx) {
                    After::Ended => return Ok(Rx::Ended),
                    After::Answered if fin_with => return Ok(Rx::FinDone),
                    // The next request or an ACK went out.
                    After::Answered => return Ok(Rx::Continue),
                    After::Continue if fin_with => {
                        return Ok(if self.client_fin(now, slot, h, tx) {
                            Rx::Ended
                        } else {
                            Rx::FinDone
                        });
                    }
                    After::Continue => {}
                }
            }
            Role::Server => {
                if self.server_data(now, slot, fresh, tx) {
                    return Ok(Rx::Continue); // our data carried the ACK
                }
            }
        }
        let x = self.xfers.get(slot);
        x.unacked = x.unacked.saturating_add(1);
        let full = fresh.len() >= x.mss as usize;
        if x.unacked >= 2 || !full || seg.flags.psh() || seg.flags.fin() {
            if self.table.get(slot).state.fin_received() || !seg.flags.fin() {
                self.stats.acks_sent += 1;
                self.send_ack::<Any>(now, slot, tx);
            }
            self.xfers.get(slot).unacked = 0;
        }
        Ok(Rx::Continue)
    }

    /// Client: response bytes.
    fn client_data(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        fresh: &[u8],
        tx: &mut impl Transmit,
    ) -> After {
        if self.table.get(slot).ctl & ctl::DONE != 0 {
            return After::Continue;
        }
        let rx = self.rx_at;
        let x = *self.xfers.get(slot);
        if x.flags & xf::FIRST_BYTE == 0 {
            self.xfers.get(slot).flags |= xf::FIRST_BYTE;
            record(&mut self.lat.ttfb, rx.saturating_sub(x.intended));
            record(&mut self.lat.ttfb_sent, rx.saturating_sub(x.sent_at));
        }
        match self.frame_response(slot, fresh) {
            Progress::More => After::Continue,
            Progress::Bad => {
                self.send_reset::<Any>(slot, tx);
                self.finish::<Any>(slot, h, Outcome::BadResponse);
                After::Ended
            }
            Progress::Complete => {
                if self.response_complete(now, slot, h, tx) {
                    After::Ended
                } else {
                    After::Answered
                }
            }
        }
    }

    /// `--expect`, then the configured end of a response.
    fn frame_response(&mut self, slot: Slot, fresh: &[u8]) -> Progress {
        let x = *self.xfers.get(slot);
        let exp = &self.p.expect;
        let at = x.rx as usize;
        if at < exp.len() {
            let n = fresh.len().min(exp.len() - at);
            if fresh[..n] != exp[at..at + n] {
                return Progress::Bad;
            }
        }
        let got = x.rx as u64 + fresh.len() as u64;
        self.xfers.get(slot).rx = got.min(u32::MAX as u64) as u32;
        match self.p.response_end {
            ResponseEnd::FirstBytes => {
                self.stats.body_bytes += fresh.len() as u64;
                if got >= exp.len().max(1) as u64 {
                    Progress::Complete
                } else {
                    Progress::More
                }
            }
            ResponseEnd::Size(n) => {
                let take = (n.saturating_sub(x.rx as u64)).min(fresh.len() as u64);
                self.stats.body_bytes += take;
                if got >= n {
                    Progress::Complete
                } else {
                    Progress::More
                }
            }
            ResponseEnd::Fin => {
                self.stats.body_bytes += fresh.len() as u64;
                Progress::More
            }
            ResponseEnd::Http => {
                let mut http = x.http;
                let before = http.header_done();
                let r = http.feed(fresh, &mut self.stats.body_bytes);
                self.xfers.get(slot).http = http;
                if !before && http.header_done() && !self.count_status(http.class()) {
                    return Progress::Bad;
                }
                match r {
                    Feed::More => Progress::More,
                    Feed::Done { .. } => Progress::Complete,
                    Feed::Bad => {
                        self.stats.http_other += 1;
                        Progress::Bad
                    }
                }
            }
        }
    }

    /// Counts an HTTP status class; true if it is a success (2xx, 3xx).
    fn count_status(&mut self, class: u16) -> bool {
        let s = &mut self.stats;
        *match class {
            2 => &mut s.http_2xx,
            3 => &mut s.http_3xx,
            4 => &mut s.http_4xx,
            5 => &mut s.http_5xx,
            _ => &mut s.http_other,
        } += 1;
        matches!(class, 2 | 3)
    }

    /// A complete, right response: latency, then the next request or the configured close.
    /// True if the connection ended.
    fn response_complete(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        tx: &mut impl Transmit,
    ) -> bool {
        let rx = self.rx_at;
        self.stats.responses_ok += 1;
        let x = self.xfers.get(slot);
        x.done = x.done.saturating_add(1);
        let (done, intended, sent_at) = (x.done, x.intended, x.sent_at);
        record(&mut self.lat.response, rx.saturating_sub(intended));
        record(&mut self.lat.response_sent, rx.saturating_sub(sent_at));
        let fin_in = self.table.get(slot).state.fin_received();
        if (done as u32) < self.p.requests && !fin_in {
            if self.p.think == 0 {
                self.start_request(now, slot, now, tx);
            } else {
                self.xfers.get(slot).flags |= xf::THINK;
                self.table.get_mut(slot).start = now;
                let at = now + self.p.think;
                self.arm(slot, at);
                self.send_ack::<Any>(now, slot, tx);
            }
            return false;
        }
        if self.p.c.hold > 0 || self.p.c.close == super::CloseMode::None {
            self.send_ack::<Any>(now, slot, tx); // else the FIN or RST that follows
        }
        let before = self.stats.active;
        self.client_done::<Any>(now, slot, h, tx);
        self.stats.active < before
    }

    /// Client: the peer's FIN arrived while a response was awaited: the end of a response
    /// framed by FIN, else `closed_early`. True if the connection ended.
    pub(crate) fn client_fin(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        tx: &mut impl Transmit,
    ) -> bool {
        if self.table.get(slot).ctl & ctl::DONE != 0 {
            return false;
        }
        let x = *self.xfers.get(slot);
        let by_fin = self.p.response_end == ResponseEnd::Fin
            || (self.p.response_end == ResponseEnd::Http && x.http.until_fin());
        if by_fin && x.flags & xf::FIRST_BYTE != 0 {
            self.send_ack::<Any>(now, slot, tx);
            return self.response_complete(now, slot, h, tx);
        }
        self.send_reset::<Any>(slot, tx);
        self.finish::<Any>(slot, h, Outcome::ClosedEarly);
        true
    }

    /// Client: `think` is over: the next request.
    pub(crate) fn think_over(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) -> bool {
        let x = self.xfers.get(slot);
        if x.flags & xf::THINK == 0 {
            return false;
        }
        self.start_request(now, slot, now, tx);
        true
    }

    /// Server: request bytes: one response per request (HTTP: per header block; otherwise
    /// one response to the first data), then FIN if configured or the client closed.
    /// True if it sent (the ACK rode along).
    fn server_data(
        &mut self,
        now: Nanos,
        slot: Slot,
        fresh: &[u8],
        tx: &mut impl Transmit,
    ) -> bool {
        let x = self.xfers.get(slot);
        if x.flags & xf::DECIDED == 0 {
            x.flags |= xf::DECIDED;
            if looks_like_http(fresh) {
                x.flags |= xf::HTTP;
            }
        }
        let mut requests = 0u32;
        if x.flags & xf::HTTP != 0 {
            for &b in fresh {
                x.crlf = match (x.crlf, b) {
                    (0 | 2, b'\r') => x.crlf + 1,
                    (1 | 3, b'\n') => x.crlf + 1,
                    (_, b'\r') => 1,
                    _ => 0,
                };
                if x.crlf == 4 {
                    x.crlf = 0;
                    requests += 1;
                }
            }
        } else if self.table.get(slot).ctl & ctl::RESPONDED == 0 {
            requests = 1;
        }
        if requests == 0 {
            return false;
        }
        let len = self.p.data.len() as u32;
        let x = self.xfers.get(slot);
        x.snd_end = x.snd_end.add(len.saturating_mul(requests));
        if self.p.server_fin {
            x.flags |= xf::FIN_AFTER;
        }
        self.stats.requests_sent += requests as u64;
        self.stats.bytes_out += len as u64 * requests as u64;
        let t = self.table.get_mut(slot);
        t.ctl |= ctl::RESPONDED;
        let idle = t.snd_una == t.snd_nxt;
        if idle {
            t.start = now;
            t.reset_retries();
        }
        let sent = self.push(now, slot, tx);
        self.arm_data(now, slot);
        sent
    }

    /// Server: the client's FIN: our FIN follows the data still queued (and carries the
    /// FIN's ACK; else a pure ACK goes out).
    pub(crate) fn server_fin_in(&mut self, now: Nanos, slot: Slot, tx: &mut impl Transmit) {
        self.xfers.get(slot).flags |= xf::FIN_AFTER;
        if !self.push(now, slot, tx) {
            self.send_ack::<Any>(now, slot, tx);
        }
        self.arm_data(now, slot);
    }

    /// The data-phase timer of a synchronized connection with data state. True if handled.
    pub(crate) fn data_timer(
        &mut self,
        now: Nanos,
        slot: Slot,
        h: u32,
        tx: &mut impl Transmit,
    ) -> bool {
        let t = *self.table.get(slot);
        if t.state == State::TimeWait {
            return false;
        }
        if t.snd_una == t.snd_nxt {
            if self.p.role == Role::Client && self.think_over(now, slot, tx) {
                return true;
            }
            return false;
        }
        let phase_end = t.start.saturating_add(self.p.c.data_timeout);
        if now >= phase_end {
            return false; // the caller gives up
        }
        let _ = h;
        self.table.get_mut(slot).bump_retries();
        self.retransmit(now, slot, true, tx);
        let at = (now + self.rto(t.retries() + 1)).min(phase_end);
        self.arm(slot, at);
        true
    }
}

/// A request stream that begins like an HTTP request line ("GET ", "POST ", ...).
fn looks_like_http(b: &[u8]) -> bool {
    let word = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    word > 0 && word < 10 && b.get(word) == Some(&b' ')
}
