//! The client offload's established attempts (`--offload xdp`): XDP answers an attempt's
//! SYN-ACK and marks its source port (`tw_hs_marks`); no frame reaches the worker, so the
//! engine has to look. Waiting for each SYN-SENT timer (one RTO) would hold every attempt's
//! slot, port and `--max-active` place for an RTO: ports / RTO bounded the rate (~340k/s with
//! 32k ports and 100 ms). So each open (and SYN retransmission) is queued, and each
//! `handle_timeout` looks at the oldest few: marked ones end, ended ones leave, and the rest go
//! to the back (a lost SYN does not hold the others up, at any RTT). The attempt's RTO timer
//! still reads the mark when it fires, so every attempt ends exactly once, whichever comes
//! first. While attempts went out in the last `BUSY` the worker looks every loop; after that
//! (a lull, or only lost ones left) every `IDLE_POLL`, so it can sleep.

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

/// Since the last open: looked for every loop (an RTT on a LAN is well inside).
pub(crate) const BUSY: Nanos = 2_000_000;
/// After that, how often.
pub(crate) const IDLE_POLL: Nanos = 1_000_000;
/// Entries looked at per call.
const SCAN: usize = 32;
/// One per source port at most (one source and one destination), and a retransmission's.
const CAPACITY: usize = 1 << 16;

#[derive(Clone, Copy)]
struct Entry {
    slot: Slot,
    iss: u32,
}

pub(crate) struct XdpClient {
    pub(crate) marks: XdpMarks,
    /// `--offload check`: the worker count (`offload::check_port_in_xdp`); the engine's half
    /// of the source ports is not queued (never marked). 0: every port is XDP's.
    split: u16,
    ring: Box<[Entry]>,
    head: usize,
    len: usize,
    /// The last open's time, and when to look next.
    last_open: Nanos,
    next: Nanos,
}

impl XdpClient {
    pub(crate) fn new(marks: XdpMarks, split: u16) -> XdpClient {
        XdpClient {
            marks,
            split,
            ring: vec![Entry { slot: 0, iss: 0 }; CAPACITY].into_boxed_slice(),
            head: 0,
            len: 0,
            last_open: 0,
            next: 0,
        }
    }

    /// When `handle_timeout` should look again, while any attempt waits.
    pub(crate) fn due(&self) -> Option<Nanos> {
        (self.len > 0).then_some(self.next)
    }

    fn push(&mut self, e: Entry) {
        self.ring[(self.head + self.len) & (CAPACITY - 1)] = e;
        self.len += 1;
    }

    fn pop(&mut self) -> Entry {
        let e = self.ring[self.head];
        self.head = (self.head + 1) & (CAPACITY - 1);
        self.len -= 1;
        e
    }
}

impl Engine {
    /// Queues an attempt whose SYN just went out (full: its timer decides, as without).
    #[inline]
    pub(crate) fn track_xdp(&mut self, slot: Slot, iss: u32, now: Nanos) {
        let table = &self.table;
        if let Some(x) = self.xdp.as_mut()
            && x.len < CAPACITY
            && (x.split == 0
                || super::offload::check_port_in_xdp(table.get(slot).key.local_port, x.split))
        {
            x.push(Entry { slot, iss });
            (x.last_open, x.next) = (now, now);
        }
    }

    /// Looks at the oldest `SCAN` queued attempts: ends those XDP marked established, drops
    /// those that ended otherwise, and sends the others to the back.
    pub(crate) fn poll_xdp(&mut self, now: Nanos) {
        let Some(mut x) = self.xdp.take() else {
            return;
        };
        for _ in 0..x.len.min(SCAN) {
            let e = x.pop();
            let t = self.table.get(e.slot);
            // A freed slot is unarmed; a reused one has another ISS.
            let live = t.state == State::SynSent && t.iss.0 == e.iss && Wheel::is_armed(t);
            if !live {
                continue;
            }
            if (x.marks)(t.key.local_port) == e.iss.wrapping_add(1) {
                self.xdp_done(e.slot);
            } else {
                x.push(e);
            }
        }
        let busy = now.saturating_sub(x.last_open) < BUSY;
        x.next = if busy { now } else { now + IDLE_POLL };
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
