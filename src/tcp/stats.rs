//! Counters ([`Stats`]), drop reasons ([`DropReason`]) and latency histograms ([`Latency`]).
//!
//! Identities that hold at every instant (checked by `Engine::check_invariants`):
//! - `rx_frames == rx_processed + sum(drops)`: every received frame is either processed or
//!   dropped for exactly one reason.
//! - client: `attempted == sum(outcomes) + active + aborted`.
//! - server: `syn_received - cookies_sent + cookies_accepted ==
//!   sum(outcomes) + accept_failed + active + aborted`: connections begun (SYN-RECEIVED TCBs
//!   and validated cookies) end once each; `active` counts SYN-RECEIVED TCBs too.
//!   `cookies_accepted` may exceed `cookies_sent`: a cookie is stateless, so a duplicated or
//!   replayed final ACK that arrives after its connection ended validates again and begins
//!   another connection.
//! - server: `accepted + accept_failed + half_open == syn_received - cookies_sent +
//!   cookies_accepted` (TCB path: every SYN-RECEIVED ends accepted or failed).

use hdrhistogram::Histogram;

use crate::wire::WireError;

use super::Outcome;

/// Why an inbound frame was dropped. Wire errors map 1:1, then engine reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    Truncated,
    UnknownEtherType,
    BadArp,
    BadIpVersion,
    BadIhl,
    BadLength,
    Fragment,
    Ipv6ExtHeader,
    NotTcp,
    BadDataOffset,
    BadOptionLen,
    BadChecksum,
    /// IPv6: the engine's address table (`addrs6.rs`) is full.
    NoIpv6Room,
    /// Destination address/port is not one of ours (or another worker's port).
    NotOurs,
    /// No connection for the tuple (an RST answers it unless it is an RST itself).
    NoConnection,
    /// ACK outside what we sent (SYN-SENT, SYN-RECEIVED, or past SND.NXT).
    AckNotAcceptable,
    /// Sequence number outside the receive window (answered by an ACK).
    OutOfWindow,
    /// Data that does not start at RCV.NXT (answered by an ACK; no reassembly).
    OutOfOrder,
    /// RST outside the window (RFC 5961 §3) or without an acceptable ACK in SYN-SENT.
    RstInvalid,
    /// Answered by a challenge ACK (RFC 5961: in-window RST, SYN on a synchronized tuple).
    Challenged,
    /// SYN+FIN, SYN+RST, or none of SYN/ACK/RST.
    BadFlags,
    /// ACK to no connection whose SYN cookie did not validate.
    CookieInvalid,
    /// New connection but the table is full.
    TableFull,
    /// Segment the current state does not take (e.g. RST in TIME-WAIT, SYN in SYN-SENT).
    UnexpectedState,
    /// Retransmitted SYN in SYN-RECEIVED (the SYN-ACK is retransmitted).
    DuplicateSyn,
    /// Data beyond the peer's FIN (the sequence space ended there).
    DataAfterFin,
}

impl DropReason {
    pub const COUNT: usize = 26;
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Truncated,
        DropReason::UnknownEtherType,
        DropReason::BadArp,
        DropReason::BadIpVersion,
        DropReason::BadIhl,
        DropReason::BadLength,
        DropReason::Fragment,
        DropReason::Ipv6ExtHeader,
        DropReason::NotTcp,
        DropReason::BadDataOffset,
        DropReason::BadOptionLen,
        DropReason::BadChecksum,
        DropReason::NoIpv6Room,
        DropReason::NotOurs,
        DropReason::NoConnection,
        DropReason::AckNotAcceptable,
        DropReason::OutOfWindow,
        DropReason::OutOfOrder,
        DropReason::RstInvalid,
        DropReason::Challenged,
        DropReason::BadFlags,
        DropReason::CookieInvalid,
        DropReason::TableFull,
        DropReason::UnexpectedState,
        DropReason::DuplicateSyn,
        DropReason::DataAfterFin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::UnknownEtherType => "unknown_ethertype",
            DropReason::BadArp => "bad_arp",
            DropReason::BadIpVersion => "bad_ip_version",
            DropReason::BadIhl => "bad_ihl",
            DropReason::BadLength => "bad_length",
            DropReason::Fragment => "fragment",
            DropReason::Ipv6ExtHeader => "ipv6_ext_header",
            DropReason::NotTcp => "not_tcp",
            DropReason::BadDataOffset => "bad_data_offset",
            DropReason::BadOptionLen => "bad_option_len",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::NoIpv6Room => "no_ipv6_room",
            DropReason::NotOurs => "not_ours",
            DropReason::NoConnection => "no_connection",
            DropReason::AckNotAcceptable => "ack_not_acceptable",
            DropReason::OutOfWindow => "out_of_window",
            DropReason::OutOfOrder => "out_of_order",
            DropReason::RstInvalid => "rst_invalid",
            DropReason::Challenged => "challenged",
            DropReason::BadFlags => "bad_flags",
            DropReason::CookieInvalid => "cookie_invalid",
            DropReason::TableFull => "table_full",
            DropReason::UnexpectedState => "unexpected_state",
            DropReason::DuplicateSyn => "duplicate_syn",
            DropReason::DataAfterFin => "data_after_fin",
        }
    }
}

impl From<WireError> for DropReason {
    fn from(e: WireError) -> DropReason {
        match e {
            WireError::Truncated => DropReason::Truncated,
            WireError::UnknownEtherType => DropReason::UnknownEtherType,
            WireError::BadArp => DropReason::BadArp,
            WireError::BadIpVersion => DropReason::BadIpVersion,
            WireError::BadIhl => DropReason::BadIhl,
            WireError::BadLength => DropReason::BadLength,
            WireError::Fragment => DropReason::Fragment,
            WireError::Ipv6ExtHeader => DropReason::Ipv6ExtHeader,
            WireError::NotTcp => DropReason::NotTcp,
            WireError::BadDataOffset => DropReason::BadDataOffset,
            WireError::BadOptionLen => DropReason::BadOptionLen,
            WireError::BadChecksum => DropReason::BadChecksum,
        }
    }
}

/// Plain counters of one engine; `merge` sums engines (gauges included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client: connections opened (SYN queued).
    pub attempted: u64,
    /// Client: handshakes completed (acceptable SYN-ACK).
    pub established: u64,
    /// Server: handshakes completed (final ACK, TCB or cookie).
    pub accepted: u64,
    /// Server: SYNs that started a passive open (SYN-RECEIVED TCB or cookie SYN-ACK).
    pub syn_received: u64,
    pub syn_retransmits: u64,
    pub synack_retransmits: u64,
    /// Data and FIN retransmissions.
    pub data_retransmits: u64,
    pub cookies_sent: u64,
    pub cookies_accepted: u64,
    pub cookies_rejected: u64,
    pub challenge_acks: u64,
    pub rsts_sent: u64,
    pub rx_frames: u64,
    /// Frames that were processed (not dropped).
    pub rx_processed: u64,
    pub tx_frames: u64,
    /// `Transmit::buffer` had no room (the frame was lost; retransmission recovers).
    pub tx_full: u64,
    /// Server: a frame not answering a frame whose peer MAC had been evicted from the
    /// neighbour table: not sent (retransmission or the peer's own recovers).
    pub tx_no_neighbour: u64,
    /// Indexed by `Outcome as usize` (server: outcomes of accepted connections).
    pub outcomes: [u64; Outcome::COUNT],
    /// Client: the subset of `outcomes` that ended in SYN-SENT (never established), so that
    /// `attempted == established + sum(handshake_failed) + (still in SYN-SENT or aborted there)`.
    pub handshake_failed: [u64; Outcome::COUNT],
    /// Indexed by `DropReason as usize`.
    pub drops: [u64; DropReason::COUNT],
    /// Gauge: live connections (not TIME-WAIT), SYN-RECEIVED included.
    pub active: u64,
    /// Gauge: SYN-RECEIVED TCBs.
    pub half_open: u64,
    /// Gauge: TCBs in TIME-WAIT.
    pub time_wait: u64,
    /// Connections ended by `abort_all` (no outcome), and by the state they were in: still
    /// open at the end of the run.
    pub aborted: u64,
    pub aborted_syn_sent: u64,
    pub aborted_syn_received: u64,
    /// ESTABLISHED or CLOSE-WAIT (data exchange or hold).
    pub aborted_established: u64,
    /// FIN-WAIT-1/2, CLOSING, LAST-ACK.
    pub aborted_closing: u64,
    /// Server: SYN-RECEIVED TCBs that ended without the final ACK (RST or retries exhausted).
    pub accept_failed: u64,
    /// Server: SYNs answered with RST because the table was full (`--abort-on-overflow`):
    /// processed, not dropped, and no connection begun.
    pub refused_table_full: u64,
    /// Client: `open` found no free tuple.
    pub open_no_tuple: u64,
    /// Client: `open` found the table full.
    pub open_table_full: u64,
    /// Payload bytes received in order / sent (first transmissions only).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Client: complete responses that matched `expect` (and, with HTTP, a 2xx/3xx status).
    pub responses_ok: u64,
    /// Client: requests sent (first transmissions); server: responses queued.
    pub requests_sent: u64,
    /// Client: connections reset by the peer while a request was unanswered (a subset of
    /// `outcome_reset`).
    pub request_resets: u64,
    /// Client: response body bytes (HTTP: after the header, without chunk framing; else the
    /// whole response).
    pub body_bytes: u64,
    /// Client, HTTP: responses by status class (`http_other`: 1xx or an unreadable status).
    pub http_2xx: u64,
    pub http_3xx: u64,
    pub http_4xx: u64,
    pub http_5xx: u64,
    pub http_other: u64,
    /// Duplicate ACKs received (our data outstanding, no new data acknowledged).
    pub dup_acks: u64,
    /// Data retransmitted on the third duplicate ACK (a subset of `data_retransmits`).
    pub fast_retransmits: u64,
    /// Pure ACKs we sent for received data (in order, at least every second full segment).
    pub acks_sent: u64,
    /// The IPv6 part of `attempted`, `established`, `accepted` and `outcomes` (IPv4 is the
    /// rest): per-family figures of a dual-stack run.
    pub v6_attempted: u64,
    pub v6_established: u64,
    pub v6_accepted: u64,
    pub v6_outcomes: [u64; Outcome::COUNT],
}

/// Calls `$m!(field, ...)` with every scalar counter of `Stats`, so that merge, minus and
/// fields share one list.
macro_rules! scalar_fields {
    ($m:ident) => {
        $m!(
            attempted,
            established,
            accepted,
            syn_received,
            syn_retransmits,
            synack_retransmits,
            data_retransmits,
            cookies_sent,
            cookies_accepted,
            cookies_rejected,
            challenge_acks,
            rsts_sent,
            rx_frames,
            rx_processed,
            tx_frames,
            tx_full,
            tx_no_neighbour,
            active,
            half_open,
            time_wait,
            aborted,
            aborted_syn_sent,
            aborted_syn_received,
            aborted_established,
            aborted_closing,
            accept_failed,
            refused_table_full,
            open_no_tuple,
            open_table_full,
            bytes_in,
            bytes_out,
            responses_ok,
            requests_sent,
            request_resets,
            body_bytes,
            http_2xx,
            http_3xx,
            http_4xx,
            http_5xx,
            http_other,
            dup_acks,
            fast_retransmits,
            acks_sent,
            v6_attempted,
            v6_established,
            v6_accepted
        )
    };
}

impl Stats {
    /// Applies `op` to every counter pair (scalars and array entries alike).
    fn zip_with(&mut self, o: &Stats, op: impl Fn(u64, u64) -> u64) {
        macro_rules! each {
            ($($f:ident),*) => { $( self.$f = op(self.$f, o.$f); )* };
        }
        scalar_fields!(each);
        for (a, b) in self.outcomes.iter_mut().zip(o.outcomes) {
            *a = op(*a, b);
        }
        for (a, b) in self.handshake_failed.iter_mut().zip(o.handshake_failed) {
            *a = op(*a, b);
        }
        for (a, b) in self.v6_outcomes.iter_mut().zip(o.v6_outcomes) {
            *a = op(*a, b);
        }
        for (a, b) in self.drops.iter_mut().zip(o.drops) {
            *a = op(*a, b);
        }
    }

    /// Adds `o` (engines of several workers; gauges add too).
    pub fn merge(&mut self, o: &Stats) {
        self.zip_with(o, u64::wrapping_add);
    }

    /// `self - o` counter by counter, for interval deltas (gauges become differences).
    pub fn minus(&self, o: &Stats) -> Stats {
        let mut d = *self;
        d.zip_with(o, u64::wrapping_sub);
        d
    }

    /// Every counter by name: scalars, then `outcome_<o>`, `handshake_failed_<o>`, `drop_<r>`.
    pub fn fields(&self) -> Vec<(String, u64)> {
        let mut v = Vec::new();
        macro_rules! push {
            ($($f:ident),*) => { $( v.push((stringify!($f).to_string(), self.$f)); )* };
        }
        scalar_fields!(push);
        for o in Outcome::ALL {
            v.push((format!("outcome_{}", o.as_str()), self.outcomes[o as usize]));
        }
        for o in Outcome::ALL {
            v.push((
                format!("handshake_failed_{}", o.as_str()),
                self.handshake_failed[o as usize],
            ));
        }
        for r in DropReason::ALL {
            v.push((format!("drop_{}", r.as_str()), self.drops[r as usize]));
        }
        for o in Outcome::ALL {
            v.push((
                format!("v6_outcome_{}", o.as_str()),
                self.v6_outcomes[o as usize],
            ));
        }
        v
    }

    /// `open_no_tuple + open_table_full`.
    pub fn open_errors(&self) -> u64 {
        self.open_no_tuple + self.open_table_full
    }

    pub fn outcome(&self, o: Outcome) -> u64 {
        self.outcomes[o as usize]
    }

    pub fn drop_count(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    pub fn total_outcomes(&self) -> u64 {
        self.outcomes.iter().sum()
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// Interval latency histograms, nanoseconds. Arrival times are wire stamps where the caller
/// has them (`Engine::handle_frame_at`), departures the TX submit time (`Engine::departed`) (1 ns ..= 60 s, 3 significant figures).
#[derive(Clone, Debug)]
pub struct Latency {
    /// Client: intended start -> SYN-ACK arrival (coordinated-omission correct).
    pub connect: Histogram<u64>,
    /// Client: first SYN departed (its TX batch submitted) -> SYN-ACK arrival: the network
    /// RTT plus the peer's turnaround, without our own TX and RX delays.
    pub rtt: Histogram<u64>,
    /// Server: SYN received -> final ACK (not recorded for cookie connections).
    pub accept: Histogram<u64>,
    /// Server: SYN-ACK departed -> final ACK arrival (the network figure; no cookies).
    pub accept_rtt: Histogram<u64>,
    /// Both: handshake frame (SYN, SYN-ACK) built -> its TX batch submitted: what the
    /// generator itself adds before a frame leaves user space.
    pub tx_delay: Histogram<u64>,
    /// Client, per request: first response byte at the wire, from the request's intended
    /// start (open loop: the connection's intended start for its first request) and from
    /// the request's first transmission.
    pub ttfb: Histogram<u64>,
    pub ttfb_sent: Histogram<u64>,
    /// Client, per request: the complete response, from the same two origins.
    pub response: Histogram<u64>,
    pub response_sent: Histogram<u64>,
}

/// Highest value the histograms hold.
pub const LATENCY_MAX: u64 = 60_000_000_000;

impl Latency {
    pub fn new() -> Latency {
        Latency {
            connect: histogram(),
            rtt: histogram(),
            accept: histogram(),
            accept_rtt: histogram(),
            tx_delay: histogram(),
            ttfb: histogram(),
            ttfb_sent: histogram(),
            response: histogram(),
            response_sent: histogram(),
        }
    }

    /// Empties every histogram, keeping its buffers (no allocation).
    pub fn reset(&mut self) {
        for h in [
            &mut self.connect,
            &mut self.rtt,
            &mut self.accept,
            &mut self.accept_rtt,
            &mut self.tx_delay,
            &mut self.ttfb,
            &mut self.ttfb_sent,
            &mut self.response,
            &mut self.response_sent,
        ] {
            h.reset();
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

/// One latency histogram, as each series of `Latency` is made.
pub(crate) fn histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    let mut h = Histogram::new_with_bounds(1, LATENCY_MAX, 3).expect("valid histogram bounds");
    h.auto(false);
    h
}

/// Records `v` `n` times, clamped to the histogram range; never panics.
#[inline]
pub(crate) fn record_n(h: &mut Histogram<u64>, v: u64, n: u64) {
    h.saturating_record_n(v.clamp(1, LATENCY_MAX), n);
}

/// Records `v` clamped to the histogram range; never panics.
#[inline]
pub(crate) fn record(h: &mut Histogram<u64>, v: u64) {
    h.saturating_record(v.clamp(1, LATENCY_MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reasons_are_indexed_in_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let names: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), DropReason::COUNT);
    }

    #[test]
    fn record_clamps() {
        let mut l = Latency::new();
        record(&mut l.rtt, 0);
        record(&mut l.rtt, u64::MAX);
        assert_eq!(l.rtt.len(), 2);
    }
}
