//! The TX side of an `Xsk`: TX and completion rings plus the frame pool (`TxSide`), and the
//! `TxWriter` that lends free UMEM frames for outbound packets and queues them.

use std::io;
use std::os::fd::RawFd;

use super::ring::{Consumer, Producer};
use super::socket::XskCounters;
use super::sys;
use super::umem::{FramePool, Region};

type Desc = libc::xdp_desc;

/// TX ring, completion ring and the frame pool: what a `TxWriter` needs.
pub(super) struct TxSide {
    pub(super) tx: Producer<Desc>,
    pub(super) comp: Consumer<u64>,
    pub(super) pool: FramePool,
    pub(super) region: Region,
    pub(super) fd: RawFd,
    pub(super) copy: bool,
    pub(super) budget: u32,
    pub(super) frame_size: u32,
    /// Submitted descriptors not yet completed.
    pub(super) outstanding: u32,
}

impl TxSide {
    pub(super) fn submit(&mut self, c: &mut XskCounters) -> u32 {
        let n = self.tx.submit();
        self.outstanding = self.outstanding.wrapping_add(n);
        c.tx += n as u64;
        n
    }

    /// Completion ring -> frame pool. Every call: a full completion ring stops TX.
    pub(super) fn reap(&mut self, c: &mut XskCounters) -> u32 {
        let pk = self.comp.peek(self.comp.size());
        let n = pk.len();
        for i in 0..n {
            if self.pool.put(pk.get(i)).is_err() {
                c.frame_errors += 1;
            }
        }
        pk.release();
        self.outstanding = self.outstanding.saturating_sub(n);
        c.tx_completed += n as u64;
        n
    }

    /// Kicks the kernel when it needs it. Copy mode: `sendto` transmits at most `budget`
    /// descriptors and answers EAGAIN while more remain, so repeat (reaping between calls)
    /// until the ring is drained or a call makes no progress. Returns ENETDOWN/ENXIO.
    pub(super) fn kick(&mut self, c: &mut XskCounters) -> Option<io::Error> {
        let rounds = if self.copy {
            self.tx.size() / self.budget.max(1) + 2
        } else {
            1
        };
        for _ in 0..rounds {
            let unconsumed = self.tx.unconsumed();
            let wanted = if self.copy {
                unconsumed > 0
            } else {
                self.outstanding > 0
            };
            if !wanted || !(self.copy || self.tx.needs_wakeup()) {
                return None;
            }
            c.tx_kicks += 1;
            match sys::kick_tx(self.fd) {
                Ok(()) => return None,
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => {
                        c.kick_eagain += 1;
                        let reaped = self.reap(c);
                        if reaped == 0 && self.tx.unconsumed() == unconsumed {
                            return None; // no progress: try again on the next flush
                        }
                    }
                    Some(libc::ENETDOWN) | Some(libc::ENXIO) => {
                        c.kick_errors += 1;
                        return Some(e);
                    }
                    _ => {
                        // EBUSY (copy mode: the driver dropped one), ENOBUFS: retry later.
                        c.kick_errors += 1;
                        return None;
                    }
                },
            }
        }
        None
    }
}

/// Queues frames for TX: `buffer()` lends a whole free UMEM frame, `commit(len)` puts its
/// first `len` bytes on the TX ring (published by the next `Xsk::flush`, or earlier when the
/// ring fills up). A buffer not committed goes back to the pool.
pub struct TxWriter<'a> {
    pub(super) side: &'a mut TxSide,
    pub(super) counters: &'a mut XskCounters,
    pub(super) cur: Option<u64>,
}

impl TxWriter<'_> {
    /// A whole free frame to write a packet into, or `None` (counted in `no_free_frame`) when
    /// every frame is in flight. Calling it again before `commit` returns the same frame.
    pub fn buffer(&mut self) -> Option<&mut [u8]> {
        let addr = match self.cur {
            Some(a) => a,
            None => {
                let a = match self.side.pool.get() {
                    Some(a) => a,
                    None => {
                        self.side.reap(self.counters);
                        match self.side.pool.get() {
                            Some(a) => a,
                            None => {
                                self.counters.no_free_frame += 1;
                                return None;
                            }
                        }
                    }
                };
                self.cur = Some(a);
                a
            }
        };
        // Safety: `addr` came from the pool and is held only in `self.cur` until `commit`
        // or drop; the slice borrows `self` mutably, so no second `&mut` to it can coexist.
        Some(unsafe { self.side.region.frame_mut(addr) })
    }

    /// Queues the current buffer's first `len` bytes for TX. No-op without a buffer.
    pub fn commit(&mut self, len: usize) {
        let Some(addr) = self.cur.take() else { return };
        if len == 0 || len > self.side.frame_size as usize {
            self.counters.tx_bad_len += 1;
            self.give_back(addr);
            return;
        }
        let desc = Desc {
            addr,
            len: len as u32,
            options: 0,
        };
        if self.side.tx.free(1) == 0 {
            // Ring full: publish what we have, let the kernel send, reap, then retry once.
            self.side.submit(self.counters);
            let _ = self.side.kick(self.counters);
            self.side.reap(self.counters);
        }
        let mut r = self.side.tx.reserve(1);
        if r.is_empty() {
            drop(r);
            self.counters.tx_ring_full += 1;
            self.give_back(addr);
            return;
        }
        r.set(0, desc);
        r.commit(1);
    }

    /// Descriptors committed but not yet submitted.
    pub fn pending(&self) -> u32 {
        self.side.tx.pending()
    }

    /// Frames free for `buffer()` right now.
    pub fn free_frames(&self) -> usize {
        self.side.pool.len()
    }

    fn give_back(&mut self, addr: u64) {
        if self.side.pool.put(addr).is_err() {
            self.counters.frame_errors += 1;
        }
    }
}

impl Drop for TxWriter<'_> {
    fn drop(&mut self) {
        if let Some(a) = self.cur.take() {
            self.give_back(a);
        }
    }
}
