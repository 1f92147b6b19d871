//! One pinned thread per NIC queue. Each owns its `Xsk` (UMEM, rings), its engine shard
//! (connection table, timer wheel) and its counters; nothing is shared on the hot path but the
//! hand-off queues. The loop: RX bursts -> engine (or hand-off) -> hand-off inbox -> timers ->
//! pacer (as many opens as `admit` allows) -> flush TX/completions/FILL; every `report_every`
//! a `Report` goes to the main thread.

pub mod admit;
pub mod arp;
pub mod exchange;
pub mod handoff;
mod ndp;
pub mod pace;
pub mod profile;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::tcp::{
    Engine, Latency, Nanos, PortOwners, Role, Stats, Transmit, owner_by_port, owner_of,
};
use crate::xsk::{BindMode, TxWriter, XdpStatistics, Xsk, XskCounters};
use admit::{Admission, Held};
use arp::{ArpResponder, ArpVerdict};
use handoff::{HandoffFrame, Inbox};
use pace::{Pace, Schedule};

/// RX descriptors taken per burst.
const RX_BATCH: usize = 64;
/// RX bursts served per iteration at most (replies first; then timers and opens get a turn).
const RX_BURSTS: usize = 4;
/// How often a worker reads the kernel's RX-ring overflow counter (one getsockopt).
const OVERFLOW_EVERY: Nanos = 1_000_000;
/// After its RX ring overflowed a worker keeps polling this long instead of sleeping: on a
/// busy host a worker asleep in `ppoll` gives its core away, and the wake-up can come after
/// the ring has filled again.
const NO_SLEEP_AFTER_OVERFLOW: Nanos = 200_000_000;
/// How much earlier than its next deadline an idle worker wakes up.
const EARLY: Duration = Duration::from_micros(60);
/// An XDP RX stamp further than this from the loop clock is not believed (the loop clock is
/// used): a frame is read within one iteration of arriving, or after a stall of the worker.
const STAMP_PAST: Nanos = 1_000_000_000;
const STAMP_FUTURE: Nanos = 10_000_000;
/// Copy mode, paced at most this many connections per second per worker: each SYN leaves in
/// a TX kick of its own. A copy-mode `sendto` hands its frames to the driver one after
/// another, and on veth the peer's stack processes each inside that call (netif_rx, then the
/// softirq at the BH enable): the k-th SYN of a shared kick reaches the wire only after the
/// peer has answered the k-1 before it, tens of microseconds per frame on a loaded host, and a
/// departure stamp per kick would charge that to the RTT. A `sendto` per SYN costs ~0.35 us
/// (a tenth of the closed-loop rate on veth, under 2% of a core at this rate), so faster or
/// closed-loop runs kick their SYNs in batches: their RTTs include the kernel's work on the
/// frames ahead in the same kick.
const OWN_KICK_RATE_MAX: f64 = 50_000.0;

/// The receive time of a frame: its XDP stamp on the worker's clock, else `now`.
#[inline]
fn rx_time(stamp: Option<u64>, mono_epoch: Option<Nanos>, now: Nanos) -> Nanos {
    match (stamp, mono_epoch) {
        (Some(ns), Some(mono_epoch)) => {
            let t = ns.saturating_sub(mono_epoch);
            if t + STAMP_PAST >= now && t <= now + STAMP_FUTURE {
                t
            } else {
                now
            }
        }
        _ => now,
    }
}

/// Run-wide flags set by the main thread.
#[derive(Default)]
pub struct Control {
    /// Stop opening new connections (duration reached, Ctrl-C).
    pub stop_opening: AtomicBool,
    /// Abort what is still open, send a final report and exit.
    pub finish: AtomicBool,
}

/// Everything a worker needs; built by the main thread, moved into the worker thread.
pub struct WorkerPlan {
    pub id: usize,
    pub role: Role,
    pub core: Option<core_affinity::CoreId>,
    pub engine: Engine,
    pub xsk: Xsk,
    /// Client only.
    pub pace: Option<Pace>,
    /// Client: most connections opened in one iteration (bounds catch-up after a stall).
    pub burst: usize,
    pub arp: ArpResponder,
    /// Client: the worker owning each source port; server: None (client port % workers).
    pub port_owners: Option<Arc<PortOwners>>,
    pub inboxes: Vec<Inbox>,
    pub reports: Sender<Report>,
    /// Latency buffers the main thread gives back (reports allocate nothing).
    pub spares: exchange::Spares,
    pub report_every: Duration,
    /// How long the worker keeps polling its rings after the last work before it blocks in
    /// `ppoll()` (busy polling keeps reply latency low; blocking frees the core when idle).
    pub spin: Duration,
    /// Take each frame's receive time from the XDP program's stamp (else the loop clock).
    pub wire_rx: bool,
    pub epoch: Instant,
    /// `epoch` on CLOCK_MONOTONIC (`xsk::monotonic_epoch`), read once per run: the RX stamps'
    /// offset, and the one XDP's handshake clock uses (so both read the same time alike).
    pub mono_epoch: Nanos,
    pub control: Arc<Control>,
}

crate::counters! {
    /// Counters of the worker loop itself.
    pub struct LoopCounters {
        pub handoff_out,
        pub handoff_in,
        /// The owner's inbox was full or the frame too big.
        pub handoff_dropped,
        pub arp_replies,
        /// Neighbor Advertisements sent for emulated IPv6 addresses.
        pub nd_replies,
        pub arp_malformed,
        pub late_starts,
        /// Iterations in which due opens were held back, by what held them (see `admit`).
        pub open_held_rx,
        pub open_held_tx,
        pub open_held_overflow,
        /// ... because over half the tuples were held and opens outpaced completions.
        pub open_held_tuples,
        pub open_no_tuple,
        pub open_table_full,
        /// SYNs that left in a TX kick of their own (copy mode, paced at a moderate rate).
        pub syn_own_kicks,
        /// Time spent in iterations that did work, and in all iterations.
        pub busy_ns,
        pub loop_ns,
    }
}

/// A worker's cumulative counters plus the latency recorded since its previous report.
pub struct Report {
    pub worker: usize,
    pub stats: Stats,
    pub latency: Latency,
    pub xsk: XskCounters,
    pub xdp: Option<XdpStatistics>,
    pub lp: LoopCounters,
    /// Last report of this worker: it has stopped.
    pub last: bool,
    /// The socket failed (device gone): the message says what happened.
    pub error: Option<String>,
}

/// Adapts the AF_XDP TX writer to the engine's `Transmit`.
struct XskTx<'a, 'b>(&'a mut TxWriter<'b>);

impl Transmit for XskTx<'_, '_> {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        self.0.buffer()
    }
    fn commit(&mut self, len: usize) {
        self.0.commit(len)
    }
}

/// Pins the thread (when asked) and runs the loop until `control.finish`.
pub fn run(mut plan: WorkerPlan) {
    if let Some(core) = plan.core {
        core_affinity::set_for_current(core);
    }
    let mut sched = plan.pace.clone().map(Schedule::new);
    // A quarter of the idle TX room (at most two RX bursts' worth) stays for replies.
    let tx_reserve = (plan.xsk.tx_room() / 4).min(2 * RX_BATCH as u32);
    let mut admission = Admission::new(plan.burst as u32, tx_reserve);
    let mut overflow_read_at: Nanos = 0;
    let mut established_at = 0;
    let mut overflowed_at: Option<Nanos> = None;
    let mut lp = LoopCounters::default();
    // One clock read per iteration: the time an iteration took is charged at the next read.
    let clock = |epoch: Instant| epoch.elapsed().as_nanos() as Nanos;
    let report_every = plan.report_every.as_nanos() as Nanos;
    let spin = plan.spin.as_nanos() as Nanos;
    let (mut last_report, mut last_work) = (clock(plan.epoch), clock(plan.epoch));
    let (mut prev, mut prev_busy) = (last_work, false);
    // `None`: every frame is timed by the loop clock (`--rx-timestamp loop`).
    let mono_epoch = plan.wire_rx.then_some(plan.mono_epoch);
    let mut error = None;
    let own_kicks = plan.xsk.mode() == BindMode::Copy
        && plan
            .pace
            .as_ref()
            .is_some_and(|p| p.rate > 0.0 && p.rate <= OWN_KICK_RATE_MAX);
    loop {
        let now = clock(plan.epoch);
        lp.loop_ns += now - prev;
        if prev_busy {
            lp.busy_ns += now - prev;
        }
        prev = now;
        let mut work = 0;
        for _ in 0..RX_BURSTS {
            let n = rx(&mut plan, now, mono_epoch, &mut lp);
            work += n;
            if n < RX_BATCH {
                break;
            }
        }
        work += drain_inbox(&mut plan, now, &mut lp);
        if plan.engine.poll_timeout().is_some_and(|t| t <= now) {
            plan.engine
                .handle_timeout(now, &mut XskTx(&mut plan.xsk.tx()));
            work += 1;
        }
        let stopping = plan.control.stop_opening.load(Ordering::Relaxed);
        if now >= overflow_read_at {
            overflow_read_at = now + OVERFLOW_EVERY;
            if let Ok(x) = plan.xsk.statistics()
                && admission.observe_overflow(x.rx_ring_full)
            {
                overflowed_at = Some(now);
            }
            let e = &plan.engine;
            let done = e.stats().established;
            admission.observe_tuples(e.tcbs() as u64, e.tuple_space(), done - established_at);
            established_at = done;
        }
        if let (Some(s), false) = (sched.as_mut(), stopping) {
            work += open_due(&mut plan, s, &mut admission, now, own_kicks, &mut lp);
        }
        if let Err(e) = send_queued(&mut plan, now) {
            error = Some(e.to_string());
        }
        prev_busy = work > 0;
        if prev_busy {
            last_work = now;
        }
        let report_due = now - last_report >= report_every;
        if report_due
            && error.is_none()
            && let Err(e) = plan.xsk.check_alive()
        {
            error = Some(e.to_string()); // device gone while idle (flush sees it only on TX)
        }
        let finish = plan.control.finish.load(Ordering::Relaxed) || error.is_some();
        if finish || report_due {
            if finish {
                plan.engine.abort_all(now, &mut XskTx(&mut plan.xsk.tx()));
                let _ = plan.xsk.flush();
            }
            lp.late_starts = sched.as_ref().map_or(0, |s| s.late);
            send_report(&mut plan, &lp, finish, error.take());
            last_report = now;
            if finish {
                return;
            }
        }
        let recent_overflow = overflowed_at.is_some_and(|t| now - t < NO_SLEEP_AFTER_OVERFLOW);
        if now - last_work > spin && !recent_overflow {
            // Wake a little early: ppoll's timer slack is ~50 us.
            let wake = next_wake(&plan, sched.as_ref(), stopping, now).saturating_sub(EARLY);
            // With other workers, sleep on the hand-off eventfd too (they wake us).
            let mailbox = &plan.inboxes[plan.id];
            let multi = plan.inboxes.len() > 1;
            if !wake.is_zero() && (!multi || mailbox.may_sleep()) {
                let also = multi.then_some(&mailbox.wake);
                plan.xsk.wait(also, wake.min(Duration::from_millis(1)));
                if multi {
                    mailbox.awake();
                }
            }
        }
    }
}

/// How long the worker may block: until its next timer or intended start.
fn next_wake(plan: &WorkerPlan, sched: Option<&Schedule>, stopping: bool, now: Nanos) -> Duration {
    let mut t = plan.engine.poll_timeout().unwrap_or(Nanos::MAX);
    if let (Some(s), false) = (sched, stopping) {
        t = t.min(s.next_due(plan.engine.active()).unwrap_or(Nanos::MAX));
    }
    Duration::from_nanos(t.saturating_sub(now))
}

fn rx(
    plan: &mut WorkerPlan,
    now: Nanos,
    mono_epoch: Option<Nanos>,
    lp: &mut LoopCounters,
) -> usize {
    let WorkerPlan {
        id,
        role,
        engine,
        xsk,
        arp,
        inboxes,
        port_owners,
        ..
    } = plan;
    let workers = inboxes.len();
    // Batched lookups: the burst's index entries and TCBs are loaded first, their cache
    // misses overlapping (no-op for a table that fits the caches).
    if engine.warms() {
        let mut warm = 0;
        xsk.rx_look(RX_BATCH, |frame| warm ^= engine.warm_frame(frame));
        std::hint::black_box(warm);
    }
    xsk.rx_burst(RX_BATCH, |frame, stamp, tx| {
        let rx_at = rx_time(stamp, mono_epoch, now);
        let owner = match port_owners {
            Some(t) => owner_by_port(frame, t),
            None => owner_of(*role, frame, workers),
        };
        match owner {
            Some(owner) if owner != *id => {
                lp.handoff_out += 1;
                let pushed = HandoffFrame::copy_of(frame, rx_at).map(|h| inboxes[owner].deliver(h));
                if pushed != Some(true) {
                    lp.handoff_dropped += 1;
                }
            }
            Some(_) => engine.handle_frame_at(now, rx_at, frame, &mut XskTx(tx)),
            None => reply_arp_or_engine(arp, engine, (now, rx_at), frame, tx, lp),
        }
    })
}

/// Frames with no owner: ARP for an emulated address, or anything else (the engine counts
/// the drop reason).
fn reply_arp_or_engine(
    arp: &ArpResponder,
    engine: &mut Engine,
    (now, rx_at): (Nanos, Nanos),
    frame: &[u8],
    tx: &mut TxWriter<'_>,
    lp: &mut LoopCounters,
) {
    // Only ARP frames take a TX buffer; a buffer left uncommitted is the one the engine gets.
    if arp.wants(frame)
        && let Some(buf) = tx.buffer()
    {
        match arp.handle(frame, buf) {
            ArpVerdict::Replied(len) => {
                tx.commit(len);
                lp.arp_replies += 1;
                return;
            }
            ArpVerdict::RepliedNd(len) => {
                tx.commit(len);
                lp.nd_replies += 1;
                return;
            }
            ArpVerdict::Malformed(_) => lp.arp_malformed += 1,
            ArpVerdict::Ignored => {}
        }
    }
    // Everything else is counted by the engine under its drop reason.
    engine.handle_frame_at(now, rx_at, frame, &mut XskTx(tx));
}

fn drain_inbox(plan: &mut WorkerPlan, now: Nanos, lp: &mut LoopCounters) -> usize {
    let WorkerPlan {
        id,
        engine,
        xsk,
        inboxes,
        ..
    } = plan;
    let inbox = &inboxes[*id];
    let mut tx = xsk.tx();
    let mut n = 0;
    while n < RX_BATCH {
        let Some(h) = inbox.pop() else { break };
        engine.handle_frame_at(now, h.rx_at, h.bytes(), &mut XskTx(&mut tx));
        n += 1;
    }
    lp.handoff_in += n as u64;
    n
}

/// Opens the connections due now, as many as `admission` allows; the rest stay due (late
/// starts, latency from their intended start).
fn open_due(
    plan: &mut WorkerPlan,
    s: &mut Schedule,
    admission: &mut Admission,
    now: Nanos,
    own_kicks: bool,
    lp: &mut LoopCounters,
) -> usize {
    if s.due(now, plan.engine.active()).is_none() {
        return 0;
    }
    let (budget, held) = admission.budget(plan.xsk.rx_backlog(), plan.xsk.tx_room());
    std::hint::black_box(plan.engine.warm_opens(budget as usize));
    // `own_kicks`: each SYN leaves in a kick of its own (`OWN_KICK_RATE_MAX`), after the
    // replies queued before it, which go first. Errors: the loop's flush reports them.
    if own_kicks && plan.xsk.tx().pending() > 0 {
        let _ = send_queued(plan, now);
    }
    let mut n = 0;
    while n < budget as usize {
        let Some(intended) = s.due(now, plan.engine.active()) else {
            break;
        };
        s.issue(now, intended);
        match plan
            .engine
            .open(now, intended, &mut XskTx(&mut plan.xsk.tx()))
        {
            Ok(()) => {}
            Err(crate::tcp::OpenError::TableFull) => lp.open_table_full += 1,
            Err(_) => lp.open_no_tuple += 1,
        }
        n += 1;
        if own_kicks && plan.engine.departing() {
            lp.syn_own_kicks += 1;
            let _ = send_queued(plan, now);
        }
    }
    admission.opened(n as u32);
    if n == budget as usize && s.due(now, plan.engine.active()).is_some() {
        match held {
            Some(Held::RxBacklog) => lp.open_held_rx += 1,
            Some(Held::TxRoom) => lp.open_held_tx += 1,
            Some(Held::Overflow) => lp.open_held_overflow += 1,
            Some(Held::Tuples) => lp.open_held_tuples += 1,
            None => {}
        }
    }
    n
}

/// Submits and kicks what is queued (`Xsk::flush`). Handshake frames built since the last
/// call are stamped departed just before the kick (one clock read, only when there are
/// some): that starts their RTT.
fn send_queued(plan: &mut WorkerPlan, now: Nanos) -> Result<(), crate::xsk::XskError> {
    let departing = plan.engine.departing();
    let at = if departing {
        plan.epoch.elapsed().as_nanos() as Nanos
    } else {
        now
    };
    let r = plan.xsk.flush();
    if departing {
        plan.engine.departed(at);
    }
    r
}

fn send_report(plan: &mut WorkerPlan, lp: &LoopCounters, last: bool, error: Option<String>) {
    let report = Report {
        worker: plan.id,
        stats: *plan.engine.stats(),
        latency: plan.spares.take(&mut plan.engine),
        xsk: plan.xsk.counters(),
        xdp: plan.xsk.statistics().ok(),
        lp: *lp,
        last,
        error,
    };
    let _ = plan.reports.send(report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_time_converts_stamps_and_refuses_implausible_ones() {
        let mono = Some(5_000_000_000);
        let now = 2_000_000_000;
        assert_eq!(rx_time(Some(6_999_000_000), mono, now), now - 1_000_000);
        assert_eq!(
            rx_time(Some(7_000_500_000), mono, now),
            now + 500_000,
            "read after now"
        );
        assert_eq!(rx_time(None, mono, now), now, "no metadata: loop clock");
        assert_eq!(
            rx_time(Some(6_999_000_000), None, now),
            now,
            "--rx-timestamp loop"
        );
        assert_eq!(
            rx_time(Some(1), mono, now),
            now,
            "stale or foreign: loop clock"
        );
        assert_eq!(rx_time(Some(u64::MAX), mono, now), now);
    }
}
