//! The report channel and the latency buffers that come back on it: a worker's loop
//! allocates nothing, reports included (`tests/no_alloc.rs` counts).
//!
//! Each `Report` carries the interval's histograms (~40 KiB each) to the main thread, which
//! merges them and gives the buffers back (`Returns`); the worker hands a returned buffer to
//! `Engine::take_latency`, which resets it in place and swaps it in. Reports go through a
//! bounded channel: its slots are allocated once (an unbounded channel allocates a block every
//! 31 messages).

use crossbeam_channel::{Receiver, Sender};

use super::Report;
use crate::tcp::{Engine, Latency};

/// Reports a worker may have queued before it waits for the main thread (which reads every
/// 20 ms; a report goes every 100 ms): seconds of slack.
const QUEUED_PER_WORKER: usize = 64;

/// The channel every worker reports on.
pub fn report_channel(workers: usize) -> (Sender<Report>, Receiver<Report>) {
    crossbeam_channel::bounded(QUEUED_PER_WORKER * workers.max(1))
}

/// A worker's end: latency buffers the main thread gave back.
pub struct Spares {
    back: Receiver<Latency>,
}

/// The main thread's end for one worker.
pub struct Returns {
    to: Sender<Latency>,
}

/// A worker's buffer exchange, with one buffer already in it (allocated here, before the
/// worker starts): in steady state one set records in the engine, one travels.
pub fn exchange() -> (Returns, Spares) {
    let (to, back) = crossbeam_channel::bounded(2);
    let _ = to.try_send(Latency::new());
    (Returns { to }, Spares { back })
}

impl Spares {
    /// The engine's interval histograms, for a report; the engine goes on with a returned
    /// buffer. Only when the main thread has kept both (it is far behind) is one allocated.
    pub fn take(&self, engine: &mut Engine) -> Latency {
        let mut buf = self.back.try_recv().unwrap_or_else(|_| Latency::new());
        engine.take_latency(&mut buf);
        buf
    }
}

impl Returns {
    /// Gives a merged report's buffers back (dropped if the worker has enough).
    pub fn give(&self, buf: Latency) {
        let _ = self.to.try_send(buf);
    }
}
