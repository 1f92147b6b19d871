//! [`Engine`]: configuration, the public entry points and frame dispatch.
//!
//! Per-state processing lives in `active_open.rs` (SYN-SENT), `passive_open.rs` (LISTEN and
//! cookies), `established.rs` (synchronized states) and `close.rs` (timers, close, abort).

use std::net::Ipv4Addr;

use crate::wire::{ChecksumMode, MacAddr, SeqNum, TcpFlags};

use super::addrs6::{Addrs6, Family, V4, V6, is_v6};
use super::data::{ResponseEnd, Xfers};
use super::fastpath;
use super::isn::{SipKey, isn, isn_words, key_words};
use super::neighbours::Neighbours;
use super::stamps::{Departures, NO_SLOT};
use super::stats::{DropReason, Latency, Stats, record_n};
use super::table::{Key, MAX_CAPACITY, Slot, Table};
use super::tally::Tallies;
use super::tcb::State;
use super::timer::Wheel;
use super::tuple::Tuples;
use super::{
    Common, CookieMode, EngineConfig, Nanos, OpenError, Outcome, Role, RoleConfig, Transmit,
};

/// Largest payload of one segment we send (a 1460-byte MSS less the timestamp option);
/// requests and responses of any size are sent as several (`data.rs`).
pub const MAX_DATA: usize = 1448;

/// What happened to one received frame: processed, or dropped for one reason.
pub(crate) type Verdict = Result<(), DropReason>;

/// Configuration kept on the packet path: the common settings as given, the role's in the
/// shape the packet path reads.
pub(crate) struct Params {
    pub role: Role,
    pub c: Common,
    /// Server: (address, port) listeners, address 0 = any.
    pub listen: Vec<(u32, u16)>,
    pub listen6: Vec<(u128, u16)>,
    pub cookies: CookieMode,
    pub cookie_threshold: u64,
    pub syn_retries: u8,
    pub synack_retries: u8,
    pub abort_on_overflow: bool,
    pub server_fin: bool,
    /// Our payload: the request (client) or the response (server).
    pub data: Vec<u8>,
    pub expect: Vec<u8>,
    /// Client: how a response ends, requests per connection, the pause between them.
    pub response_end: ResponseEnd,
    pub requests: u32,
    pub think: Nanos,
    /// Client: `ClientConfig::xdp_isn`.
    pub xdp_isn: bool,
    /// Receive window we advertise (bytes; scaled by our window shift after the SYN).
    pub rcv_window: u32,
    /// The window field of our SYN / SYN-ACK, of later segments with and without scaling.
    pub win_syn: u16,
    pub win_scaled: u16,
    /// `c.peer_mac` is ZERO (a server that learns its peers' MACs, `neighbours`): tested per
    /// frame, so kept as one flag rather than a 6-byte compare.
    pub learn_macs: bool,
}

/// The sans-IO handshake engine of one worker (client or server).
pub struct Engine {
    pub(crate) p: Params,
    pub(crate) table: Table,
    pub(crate) wheel: Wheel,
    pub(crate) tuples: Option<Tuples>,
    pub(crate) isn_key: SipKey,
    pub(crate) cookie_key: SipKey,
    pub(crate) stats: Stats,
    pub(crate) lat: Latency,
    /// The per-handshake latencies since the last `take_latency` (added into `lat` there).
    pub(crate) tally: Tallies,
    /// Peer MACs by remote address (server, `peer_mac` ZERO): frames go to the host of
    /// their connection, never to whoever sent last.
    pub(crate) neighbours: Neighbours,
    /// Handshake frames built but not yet reported departed, and each TCB's departure lag.
    pub(crate) departures: Departures,
    /// Receive time of the segment being processed (the wire stamp the caller passed to
    /// `handle_frame_at`): latency is measured from it, engine state runs on `now`.
    pub(crate) rx_at: Nanos,
    /// Per-connection data state (`data.rs`); empty without a request or response.
    pub(crate) xfers: Xfers,
    /// The IPv6 key of the frame `emit` is writing (see `output.rs`).
    pub(crate) pending6: Option<Key>,
    /// Client with `xdp_isn`: XDP's established marks (`tw_hs_marks`) and the attempts
    /// waiting for one (`marks.rs`).
    pub(crate) xdp: Option<super::marks::XdpClient>,
}

pub use super::marks::XdpMarks;

/// The common settings' limits (a clear message for each).
fn check_common(c: &Common) -> Result<(), String> {
    if c.capacity == 0 || c.capacity > MAX_CAPACITY {
        return Err(format!(
            "capacity must be in 1..={MAX_CAPACITY}, got {}",
            c.capacity
        ));
    }
    if c.rto == 0 {
        return Err("rto must be > 0".into());
    }
    if c.rto_max < c.rto {
        return Err(format!(
            "rto_max ({} ns) must be >= rto ({} ns)",
            c.rto_max, c.rto
        ));
    }
    if c.data_timeout == 0 {
        return Err("data_timeout must be > 0".into());
    }
    if c.ttl == 0 {
        return Err("ttl must be > 0".into());
    }
    if c.syn_options.wscale.is_some_and(|w| w > 14) {
        return Err("syn_options.wscale must be <= 14 (RFC 7323)".into());
    }
    if c.rcv_window == 0 {
        return Err("rcv_window must be > 0".into());
    }
    if c.syn_options.mss.is_some_and(|m| m < 64) {
        return Err("syn_options.mss must be >= 64".into());
    }
    Ok(())
}

/// Receive window we advertise and accept into (RCV.WND), unscaled.
pub(crate) const RCV_WND: u32 = 0xffff;

impl Engine {
    pub fn new(cfg: EngineConfig) -> Result<Engine, String> {
        let EngineConfig { common: c, role } = cfg;
        check_common(&c)?;
        let secret = SipKey::from_bytes(&c.secret);
        let role_kind = match role {
            RoleConfig::Client(_) => Role::Client,
            RoleConfig::Server(_) => Role::Server,
        };
        let win_syn = c.rcv_window.min(0xffff) as u16;
        let win_scaled = (c.rcv_window >> c.syn_options.wscale.unwrap_or(0)).min(0xffff) as u16;
        let rcv_window = c.rcv_window;
        let learn_macs = c.peer_mac == MacAddr::ZERO;
        let mut p = Params {
            role: role_kind,
            c,
            listen: Vec::new(),
            listen6: Vec::new(),
            cookies: CookieMode::Never,
            cookie_threshold: 0,
            syn_retries: 0,
            xdp_isn: false,
            synack_retries: 0,
            abort_on_overflow: false,
            server_fin: false,
            data: Vec::new(),
            expect: Vec::new(),
            response_end: ResponseEnd::FirstBytes,
            requests: 1,
            think: 0,
            rcv_window,
            win_syn,
            win_scaled,
            learn_macs,
        };
        let table_key = secret.derive(3);
        let mut table = Table::new(p.c.capacity, [table_key.0, table_key.1, secret.derive(4).0])?;
        let tuples = match role {
            RoleConfig::Client(cl) => {
                if p.c.peer_mac == MacAddr::ZERO {
                    return Err("a client needs the next hop's MAC (peer_mac)".into());
                }
                if cl.syn_retries > 15 {
                    return Err("syn_retries must be <= 15".into());
                }
                if cl.request.is_empty() && !cl.expect.is_empty() {
                    return Err("expect is set but request is empty (no response to check)".into());
                }
                if cl.requests == 0 {
                    return Err("requests must be >= 1".into());
                }
                if cl.requests > 1 && cl.response_end == ResponseEnd::Fin {
                    return Err(
                        "a response that ends at the server's FIN leaves no connection for a \
                         second request: use requests 1, or frame responses by size or HTTP"
                            .into(),
                    );
                }
                if cl.request.len() > u32::MAX as usize / 2 {
                    return Err("request must be under 2 GiB".into());
                }
                p.response_end = cl.response_end;
                p.requests = cl.requests;
                p.think = cl.think;
                let t = client_tuples(&mut table, &p.c, &cl)?;
                p.syn_retries = cl.syn_retries;
                p.xdp_isn = cl.xdp_isn;
                p.data = cl.request;
                p.expect = cl.expect;
                Some(t)
            }
            RoleConfig::Server(sv) => {
                if sv.listen.is_empty() && sv.listen6.is_empty() {
                    return Err("server needs at least one listen address".into());
                }
                if sv.synack_retries > 15 {
                    return Err("synack_retries must be <= 15".into());
                }
                if sv.response.len() > u32::MAX as usize / 2 {
                    return Err("response must be under 2 GiB".into());
                }
                for l in &sv.listen {
                    if l.ip().octets()[0] == 0 && !l.ip().is_unspecified() {
                        return Err(format!("listen address {l} is in 0.0.0.0/8 (not routable)"));
                    }
                }
                p.listen = sv
                    .listen
                    .iter()
                    .map(|l| (u32::from(*l.ip()), l.port()))
                    .collect();
                p.listen6 = sv
                    .listen6
                    .iter()
                    .map(|l| (u128::from(*l.ip()), l.port()))
                    .collect();
                if !p.listen6.is_empty() {
                    // Each TCB names two addresses; two more for the frame in hand.
                    *table.v6 = Addrs6::new(2 * p.c.capacity + 4, secret.derive(5).0);
                }
                p.cookies = sv.cookies;
                p.cookie_threshold = sv.cookie_threshold as u64;
                p.synack_retries = sv.synack_retries;
                p.abort_on_overflow = sv.abort_on_overflow;
                p.server_fin = sv.server_fin;
                p.data = sv.response;
                None
            }
        };
        let departures = Departures::new(table.tcbs_mut().len());
        let xfers = if p.data.is_empty() {
            Xfers::none()
        } else {
            Xfers::new(table.tcbs_mut().len())
        };
        // Tick ~ rto / 8, between 1 us and 1 ms (power of two ns).
        let shift = (63 - (p.c.rto / 8).max(1).leading_zeros()).clamp(10, 20);
        let neighbours = Neighbours::new(if p.c.peer_mac == MacAddr::ZERO {
            4096
        } else {
            4
        });
        Ok(Engine {
            p,
            table,
            wheel: Wheel::new(shift, 0),
            tuples,
            isn_key: secret.derive(1),
            cookie_key: secret.derive(2),
            stats: Stats::default(),
            lat: Latency::new(),
            tally: Tallies::new(),
            neighbours,
            departures,
            rx_at: 0,
            xdp: None,
            xfers,
            pending6: None,
        })
    }

    /// Processes one received Ethernet frame, received at `now`.
    pub fn handle_frame(&mut self, now: Nanos, frame: &[u8], tx: &mut impl Transmit) {
        self.handle_frame_at(now, now, frame, tx)
    }

    /// Processes one received Ethernet frame that arrived at `rx_at` (its wire time, e.g. the
    /// XDP program's stamp; may be a little before or after `now`). Latency is measured from
    /// `rx_at`, timers and state from `now`.
    pub fn handle_frame_at(
        &mut self,
        now: Nanos,
        rx_at: Nanos,
        frame: &[u8],
        tx: &mut impl Transmit,
    ) {
        self.rx_at = rx_at;
        self.stats.rx_frames += 1;
        match self.frame(now, frame, tx) {
            Ok(()) => self.stats.rx_processed += 1,
            Err(r) => self.stats.drops[r as usize] += 1,
        }
    }

    fn frame(&mut self, now: Nanos, frame: &[u8], tx: &mut impl Transmit) -> Verdict {
        // The fast path's `Rx` is used in place (no `Result` re-wrapping copy of the struct,
        // which stalled on store forwarding); other frames take the IPv6 or wire-layer path.
        match fastpath::fast(frame, self.p.c.checksum == ChecksumMode::Verify) {
            Some(f) => self.segment::<V4>(now, frame, &f, tx),
            None => self.frame_other(now, frame, tx),
        }
    }

    /// IPv6 (fast reader, else the wire layer) and every IPv4 frame the fast reader leaves.
    #[inline(never)]
    fn frame_other(&mut self, now: Nanos, frame: &[u8], tx: &mut impl Transmit) -> Verdict {
        let verify = self.p.c.checksum == ChecksumMode::Verify;
        if let Some(f) = fastpath::fast6(frame, verify) {
            return self.segment6(now, frame, &f, tx);
        }
        match fastpath::parse_slow(frame, self.p.c.checksum)? {
            fastpath::Parsed::V4(f) => self.segment::<V4>(now, frame, &f, tx),
            fastpath::Parsed::V6(f) => self.segment6(now, frame, &f, tx),
        }
    }

    /// An IPv6 segment: its addresses become handles for the frame (kept if a TCB takes
    /// them), the sender's MAC is recorded, then the one segment path.
    fn segment6(
        &mut self,
        now: Nanos,
        frame: &[u8],
        f: &fastpath::Rx6<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let v6 = &mut self.table.v6;
        if !v6.enabled() {
            return Err(DropReason::NotOurs); // no IPv6 address of ours at all
        }
        let Some(dst) = v6.intern(f.dst) else {
            return Err(DropReason::NoIpv6Room);
        };
        let Some(src) = v6.intern(f.src) else {
            v6.release(dst);
            return Err(DropReason::NoIpv6Room);
        };
        // A server learns each peer's MAC; a client's peers are behind its next hop.
        let mac = match self.p.c.peer_mac {
            MacAddr::ZERO => fastpath::src_mac(frame),
            m if self.p.c.peer_mac6 == MacAddr::ZERO => m,
            _ => self.p.c.peer_mac6,
        };
        v6.set_mac(src, mac);
        let rx = fastpath::Rx {
            src,
            dst,
            tcp: f.tcp,
        };
        let r = self.segment::<V6>(now, frame, &rx, tx);
        self.table.v6.release(src);
        self.table.v6.release(dst);
        r
    }

    /// The one segment path, compiled per family (`F`: `V4` or `V6`, as the reader found).
    #[inline(always)]
    fn segment<F: Family>(
        &mut self,
        now: Nanos,
        frame: &[u8],
        f: &fastpath::Rx<'_>,
        tx: &mut impl Transmit,
    ) -> Verdict {
        let seg = &f.tcp;
        let fl = seg.flags;
        if fl.0 & (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::RST) == 0
            || fl.has(TcpFlags::SYN | TcpFlags::FIN)
            || fl.has(TcpFlags::SYN | TcpFlags::RST)
        {
            return Err(DropReason::BadFlags);
        }
        let key = Key {
            local_ip: f.dst,
            remote_ip: f.src,
            local_port: seg.dst_port,
            remote_port: seg.src_port,
        };
        if self.p.learn_macs && !F::v6(&key) {
            self.neighbours.learn(f.src, fastpath::src_mac(frame));
        }
        let h = self.table.hash(&key);
        match self.table.find(&key, h) {
            Some(slot) => {
                if self.table.get(slot).state == State::SynSent {
                    self.syn_sent::<F>(now, slot, h, seg, tx)
                } else {
                    self.synchronized::<F>(now, slot, h, seg, tx)
                }
            }
            None => match self.p.role {
                Role::Client => self.client_no_tcb::<F>(&key, seg, tx),
                Role::Server => self.server_no_tcb::<F>(now, &key, h, seg, tx),
            },
        }
    }

    /// Client with `xdp_isn`: where XDP marks the attempts it established (`XdpMarks`). A
    /// SYN-SENT TCB whose ISS + 1 is found there ends established and closed (XDP sent the
    /// ACK|PSH|FIN), neither retransmitted nor timed out: looked for every loop while its
    /// mark is due (`marks.rs`), else when its timer fires. `split` (`--offload check`:
    /// the worker count): XDP answers only the source ports `offload::check_port_in_xdp` picks;
    /// the others are the engine's, never marked. 0: all are XDP's.
    pub fn set_xdp_marks(&mut self, m: XdpMarks, split: u16) {
        self.xdp = Some(super::marks::XdpClient::new(m, split));
    }

    /// Client: starts one connection whose open-loop schedule said `intended` (for
    /// coordinated-omission-correct connect latency); the SYN goes out now.
    pub fn open(
        &mut self,
        now: Nanos,
        intended: Nanos,
        tx: &mut impl Transmit,
    ) -> Result<(), OpenError> {
        self.active_open(now, intended, tx)
    }

    /// Handshake frames (SYN, SYN-ACK) were built since the last `departed`.
    #[inline]
    pub fn departing(&self) -> bool {
        self.departures.has_pending()
    }

    /// The frames built since the last call left user space at `at` (the TX submit/kick of
    /// their batch): RTTs are measured from there, and build -> `at` is the TX delay.
    pub fn departed(&mut self, at: Nanos) {
        let lat = &mut self.lat;
        self.departures.departed(at, self.table.tcbs_mut(), |d, n| {
            record_n(&mut lat.tx_delay, d, n)
        });
    }

    /// Remembers a handshake frame just built for `slot` (`None`: a SYN cookie).
    #[inline]
    pub(crate) fn built(&mut self, slot: Option<super::table::Slot>, now: Nanos) {
        self.departures.built(slot.unwrap_or(NO_SLOT), now);
    }

    /// When `handle_timeout` should next be called (a lower bound; cheap).
    pub fn poll_timeout(&self) -> Option<Nanos> {
        let marks = self.xdp.as_ref().and_then(|x| x.due());
        match (self.wheel.next_deadline(), marks) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every timer due at `now` (retransmissions, give-ups, hold, TIME-WAIT).
    pub fn handle_timeout(&mut self, now: Nanos, tx: &mut impl Transmit) {
        self.poll_xdp(now);
        self.wheel.advance(self.table.tcbs_mut(), now);
        while let Some(slot) = self.wheel.pop_expired(self.table.tcbs_mut()) {
            self.on_timer(now, slot, tx);
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Live connections (not TIME-WAIT; SYN-RECEIVED included).
    pub fn active(&self) -> usize {
        self.stats.active as usize
    }

    /// TCBs in the table (live + TIME-WAIT).
    pub fn tcbs(&self) -> usize {
        self.table.len()
    }

    /// Hands the interval's histograms over in `into` and goes on recording into `into`'s
    /// old buffers, reset in place: no allocation (the worker's report path; the report's
    /// buffers come back from the main thread to be passed here again).
    pub fn take_latency(&mut self, into: &mut Latency) {
        self.tally.merge_into(&mut self.lat);
        into.reset();
        std::mem::swap(&mut self.lat, into);
    }

    /// How many distinct client tuples this engine can use (0 for a server).
    pub fn tuple_space(&self) -> u64 {
        self.tuples.as_ref().map_or(0, |t| t.space())
    }

    /// Bytes held by the connection table (slab + index + per-connection data state).
    pub fn table_bytes(&self) -> usize {
        self.table.memory_bytes() + self.departures.memory_bytes() + self.xfers.memory_bytes()
    }

    pub fn role(&self) -> Role {
        self.p.role
    }

    /// State of the connection on `key` (tests and debugging).
    pub fn state_of(
        &self,
        local: (Ipv4Addr, u16),
        remote: (Ipv4Addr, u16),
    ) -> Option<&'static str> {
        let key = Key {
            local_ip: u32::from(local.0),
            remote_ip: u32::from(remote.0),
            local_port: local.1,
            remote_port: remote.1,
        };
        self.table
            .find(&key, self.table.hash(&key))
            .map(|s| self.table.get(s).state.as_str())
    }

    /// Checks the accounting identities (see `stats.rs`) and the table against the gauges.
    /// Scans the table: for tests, not for the packet path.
    pub fn check_invariants(&self) -> Result<(), String> {
        let s = &self.stats;
        if s.rx_frames != s.rx_processed + s.total_drops() {
            return Err(format!(
                "rx_frames {} != processed {} + drops {}",
                s.rx_frames,
                s.rx_processed,
                s.total_drops()
            ));
        }
        let ended = s.total_outcomes() + s.active + s.aborted;
        match self.p.role {
            Role::Client => {
                if s.attempted != ended {
                    return Err(format!(
                        "attempted {} != outcomes {} + active {} + aborted {}",
                        s.attempted,
                        s.total_outcomes(),
                        s.active,
                        s.aborted
                    ));
                }
            }
            Role::Server => {
                // Connections begun: SYN-RECEIVED TCBs plus validated cookies. A cookie is
                // stateless and can validate more than once (a duplicated final ACK arriving
                // after its connection ended), so cookies_accepted may exceed cookies_sent.
                let begun = s.syn_received - s.cookies_sent.min(s.syn_received);
                if s.cookies_sent > s.syn_received
                    || begun + s.cookies_accepted != ended + s.accept_failed
                {
                    return Err(format!(
                        "syn_received {} - cookies_sent {} + cookies_accepted {} != \
                         outcomes {} + active {} + aborted {} + accept_failed {}",
                        s.syn_received,
                        s.cookies_sent,
                        s.cookies_accepted,
                        s.total_outcomes(),
                        s.active,
                        s.aborted,
                        s.accept_failed
                    ));
                }
            }
        }
        let (mut half, mut tw) = (0u64, 0u64);
        for (slot, _) in self.table.slots() {
            match self.table.get(slot).state {
                State::SynReceived => half += 1,
                State::TimeWait => tw += 1,
                _ => {}
            }
        }
        if self.table.len() as u64 != s.active + s.time_wait {
            return Err(format!(
                "table holds {} TCBs, active {} + time_wait {}",
                self.table.len(),
                s.active,
                s.time_wait
            ));
        }
        if half != s.half_open || tw != s.time_wait {
            return Err(format!(
                "table: {half} SYN-RECEIVED / {tw} TIME-WAIT, gauges {} / {}",
                s.half_open, s.time_wait
            ));
        }
        if self.wheel.armed() > self.table.len() {
            return Err(format!(
                "{} timers armed for {} TCBs",
                self.wheel.armed(),
                self.table.len()
            ));
        }
        Ok(())
    }

    /// Our TSval at `now`: milliseconds, or with `xdp_isn` microseconds (the SYN's TSval is
    /// the intended start in µs, and later TSvals must not go below it: the peer's PAWS).
    #[inline(always)]
    pub(crate) fn tsval(&self, now: Nanos) -> u32 {
        if self.p.xdp_isn {
            super::offload::client_tsval(now)
        } else {
            super::output::ts_now(now)
        }
    }

    /// RFC 6528 ISS for a new connection on `k` (over the IPv6 addresses themselves).
    #[inline(always)]
    pub(crate) fn new_iss<F: Family>(&self, k: &Key, now: Nanos) -> SeqNum {
        SeqNum(if F::v6(k) {
            self.iss6(k, now)
        } else {
            isn(self.isn_key, k, now)
        })
    }

    #[inline(never)]
    fn iss6(&self, k: &Key, now: Nanos) -> u32 {
        isn_words(self.isn_key, &self.table.v6.words(k), now)
    }

    /// The message words of `k` for SYN cookies: `(words, how many)`.
    #[inline]
    pub(crate) fn tuple_words(&self, k: &Key) -> ([u64; 5], usize) {
        if is_v6(k) {
            (self.table.v6.words(k), 5)
        } else {
            let [a, b] = key_words(k);
            ([a, b, 0, 0, 0], 2)
        }
    }

    /// Retransmission timeout after `retries` retransmissions (doubling, capped).
    #[inline]
    pub(crate) fn rto(&self, retries: u8) -> Nanos {
        self.p
            .c
            .rto
            .saturating_mul(1 << retries.min(40))
            .min(self.p.c.rto_max)
    }

    #[inline]
    pub(crate) fn arm(&mut self, slot: Slot, at: Nanos) {
        self.wheel.arm(self.table.tcbs_mut(), slot, at);
    }

    #[inline]
    pub(crate) fn disarm(&mut self, slot: Slot) {
        self.wheel.cancel(self.table.tcbs_mut(), slot);
    }

    /// Ends a live connection with `o` and frees its TCB.
    #[inline]
    pub(crate) fn finish<F: Family>(&mut self, slot: Slot, h: u32, o: Outcome) {
        self.stats.outcomes[o as usize] += 1;
        if F::v6(&self.table.get(slot).key) {
            self.stats.v6_outcomes[o as usize] += 1;
        }
        if self.table.get(slot).state == State::SynSent {
            self.stats.handshake_failed[o as usize] += 1;
        }
        self.release::<F>(slot, h);
    }

    /// Frees a live (non-TIME-WAIT) TCB, fixing the gauges.
    #[inline]
    pub(crate) fn release<F: Family>(&mut self, slot: Slot, h: u32) {
        if self.table.get(slot).state == State::SynReceived {
            self.stats.half_open -= 1;
        }
        self.stats.active -= 1;
        self.disarm(slot);
        self.table.remove::<F>(slot, h);
    }
}

/// The client's tuples: IPv4 addresses as they are, IPv6 ones pinned as handles (with the
/// next hop's MAC) in the table's address store.
fn client_tuples(
    table: &mut Table,
    c: &Common,
    cl: &super::ClientConfig,
) -> Result<Tuples, String> {
    for a in &cl.sources {
        if a.octets()[0] == 0 {
            return Err(format!("source address {a} is in 0.0.0.0/8 (not routable)"));
        }
    }
    for d in &cl.destinations {
        if d.ip().octets()[0] == 0 {
            return Err(format!("destination {d} is in 0.0.0.0/8 (not routable)"));
        }
    }
    let n6 = cl.sources6.len() + cl.destinations6.len();
    if n6 > 0 {
        *table.v6 = Addrs6::new(n6 + 4, table.hash(&Key::default()) as u64 | 1);
    }
    let mac6 = if c.peer_mac6 == MacAddr::ZERO {
        c.peer_mac
    } else {
        c.peer_mac6
    };
    let mut pin = |a: std::net::Ipv6Addr| {
        table
            .v6
            .pin(u128::from(a), mac6)
            .ok_or_else(|| "too many IPv6 addresses".to_string())
    };
    let s6 = cl
        .sources6
        .iter()
        .map(|a| pin(*a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dests: Vec<(u32, u16)> = cl
        .destinations
        .iter()
        .map(|d| (u32::from(*d.ip()), d.port()))
        .collect();
    for d in &cl.destinations6 {
        dests.push((pin(*d.ip())?, d.port()));
    }
    let s4: Vec<u32> = cl.sources.iter().map(|&a| u32::from(a)).collect();
    Tuples::new(&s4, &s6, &dests, &cl.ports)
}
