//! The client offload's established attempts (`--offload xdp`): XDP answers an attempt's
//! SYN-ACK and marks its source port (`tw_hs_marks`); no frame reaches the worker, so the
//! engine has to look. Waiting for each SYN-SENT timer (one RTO) would hold every attempt's
//! slot, port and `--max-active` place for an RTO: ports / RTO bounded the rate (~340k/s with
//! 32k ports and 100 ms). So each open is queued here in send order, and every worker loop
//! (`handle_timeout`, due at once while any is queued) ends the marked ones among the oldest
//! few. Marks come back in about send order (one RTT each); one that has not come within
//! `WINDOW` (a lost SYN or SYN-ACK) leaves the queue, and its RTO timer decides as before
//! (retransmit, or read the mark then), so every attempt still ends exactly once.

use super::Nanos;
use super::Outcome;
use super::addrs6::Any;
use super::engine::Engine;
use super::table::Slot;
use super::tcb::State;
use super::timer::Wheel;

/// Reads the client offload's established mark of a source port: the ack (ISS + 1) of the
/// SYN-ACK XDP answered there, 0 = none (a view of shared memory, not I/O).
pub type XdpMarks = Box<dyn Fn(u16) -> u32 + Send>;

/// How long an attempt waits in the queue for its mark: far above a LAN's RTT, far below
/// an RTO, so a loss costs the queue little.
pub(crate) const WINDOW: Nanos = 2_000_000;
/// Entries looked at per call: past a lost head, so one loss does not hold the rest back.
const SCAN: usize = 32;
/// One per source port at most (one source and one destination).
const CAPACITY: usize = 1 << 16;

#[derive(Clone, Copy)]
struct Entry {
    slot: Slot,
    iss: u32,
    sent: Nanos,
}

const DONE: Slot = Slot::MAX;

pub(crate) struct XdpClient {
    pub(crate) marks: XdpMarks,
    /// `--offload check`: the engine's half of the source ports is not queued (never marked).
    half: bool,
    ring: Box<[Entry]>,
    head: usize,
    len: usize,
}

impl XdpClient {
    pub(crate) fn new(marks: XdpMarks, half: bool) -> XdpClient {
        let e = Entry {
            slot: DONE,
            iss: 0,
            sent: 0,
        };
        XdpClient {
            marks,
            half,
            ring: vec![e; CAPACITY].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    /// The oldest queued attempt's send time.
    pub(crate) fn oldest(&self) -> Option<Nanos> {
        (self.len > 0).then(|| self.ring[self.head].sent)
    }

    fn at(&mut self, i: usize) -> &mut Entry {
        &mut self.ring[(self.head + i) & (CAPACITY - 1)]
    }
}

impl Engine {
    /// Queues an attempt whose SYN just went out (full: its timer decides, as without).
    #[inline]
    pub(crate) fn track_xdp(&mut self, slot: Slot, iss: u32, now: Nanos) {
        let port = self.table.get(slot).key.local_port;
        if let Some(x) = self.xdp.as_mut()
            && x.len < CAPACITY
            && (!x.half || super::offload::check_port_in_xdp(port))
        {
            let i = x.len;
            *x.at(i) = Entry {
                slot,
                iss,
                sent: now,
            };
            x.len += 1;
        }
    }

    /// Ends the queued attempts XDP marked established (among the oldest `SCAN`), and drops
    /// from the queue those that ended otherwise or waited past `WINDOW`.
    pub(crate) fn poll_xdp(&mut self, now: Nanos) {
        let Some(mut x) = self.xdp.take() else {
            return;
        };
        for i in 0..x.len.min(SCAN) {
            let e = *x.at(i);
            if e.slot == DONE {
                continue;
            }
            let t = self.table.get(e.slot);
            // A freed slot is unarmed; a reused one has another ISS.
            let live = t.state == State::SynSent && t.iss.0 == e.iss && Wheel::is_armed(t);
            if !live {
                x.at(i).slot = DONE;
            } else if (x.marks)(t.key.local_port) == e.iss.wrapping_add(1) {
                x.at(i).slot = DONE;
                self.xdp_done(e.slot);
            } else if now.saturating_sub(e.sent) > WINDOW {
                x.at(i).slot = DONE; // its RTO timer decides
            }
        }
        while x.len > 0 && x.at(0).slot == DONE {
            x.head = (x.head + 1) & (CAPACITY - 1);
            x.len -= 1;
        }
        self.xdp = Some(x);
    }

    /// XDP answered this attempt's SYN-ACK (its mark is our ISS + 1).
    #[inline]
    pub(crate) fn xdp_established(&self, slot: Slot) -> bool {
        let t = self.table.get(slot);
        !super::addrs6::is_v6(&t.key)
            && self
                .xdp
                .as_ref()
                .is_some_and(|x| (x.marks)(t.key.local_port) == t.iss.add(1).0)
    }

    /// Ends an attempt XDP established: established and closed (XDP sent the ACK|PSH|FIN).
    pub(crate) fn xdp_done(&mut self, slot: Slot) {
        let h = self.table.hash(&self.table.get(slot).key);
        self.stats.established += 1;
        self.table.get_mut(slot).state = State::Established;
        self.finish::<Any>(slot, h, Outcome::Closed);
    }
}
