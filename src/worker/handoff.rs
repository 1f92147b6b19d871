//! Frames that arrived on one worker's queue but belong to another worker's connection
//! (a kernel peer spreads replies over all queues) travel to the owner through a bounded
//! lock-free queue, copied (handshake frames are 54-300 bytes, data segments up to a full
//! 1500-byte MTU frame; the UMEM frame goes back to FILL).
//! An owner asleep in `ppoll` is woken through its eventfd, so a handed-off frame never waits
//! for the owner's next timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_queue::ArrayQueue;

use crate::xsk::EventFd;

/// Largest frame that can be handed off (a 1500-byte MTU frame with two VLAN tags); bigger
/// ones are counted and dropped. Data segments of a kernel peer land on any queue, so this
/// must hold a full-sized one (at 320 bytes every data segment handed off was lost).
pub const HANDOFF_MAX: usize = 1536;

pub struct HandoffFrame {
    len: u16,
    /// When the frame arrived on the queue that received it (its wire time): the owner's
    /// latency must not include the hand-off.
    pub rx_at: crate::tcp::Nanos,
    data: [u8; HANDOFF_MAX],
}

impl HandoffFrame {
    /// None when the frame is too big to hand off.
    pub fn copy_of(frame: &[u8], rx_at: crate::tcp::Nanos) -> Option<HandoffFrame> {
        if frame.len() > HANDOFF_MAX {
            return None;
        }
        let mut data = [0u8; HANDOFF_MAX];
        data[..frame.len()].copy_from_slice(frame);
        Some(HandoffFrame {
            len: frame.len() as u16,
            rx_at,
            data,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

/// One worker's inbox, with what it takes to wake it.
pub struct Mailbox {
    queue: ArrayQueue<HandoffFrame>,
    /// Set by the owner just before it sleeps, cleared when it wakes.
    sleeping: AtomicBool,
    pub wake: EventFd,
}

impl Mailbox {
    /// Queues `frame` for the owner and wakes it if it sleeps; false when the inbox is full.
    pub fn deliver(&self, frame: HandoffFrame) -> bool {
        if self.queue.push(frame).is_err() {
            return false;
        }
        // SeqCst pairs with `may_sleep`: either the owner sees the frame, or we see it asleep.
        if self.sleeping.load(Ordering::SeqCst) {
            self.wake.signal();
        }
        true
    }

    pub fn pop(&self) -> Option<HandoffFrame> {
        self.queue.pop()
    }

    /// The owner is about to sleep: true if it may (nothing arrived meanwhile).
    pub fn may_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        if self.queue.is_empty() {
            return true;
        }
        self.sleeping.store(false, Ordering::SeqCst);
        false
    }

    /// The owner woke up.
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
        self.wake.clear();
    }
}

pub type Inbox = Arc<Mailbox>;

/// One inbox per worker.
pub fn inboxes(workers: usize, depth: usize) -> std::io::Result<Vec<Inbox>> {
    (0..workers)
        .map(|_| {
            Ok(Arc::new(Mailbox {
                queue: ArrayQueue::new(depth),
                sleeping: AtomicBool::new(false),
                wake: EventFd::new()?,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleeping_owner_is_woken() {
        let boxes = inboxes(2, 4).unwrap();
        let owner = &boxes[1];
        assert!(owner.may_sleep());
        assert!(owner.deliver(HandoffFrame::copy_of(&[1, 2, 3], 7).unwrap()));
        // The eventfd is readable now: a ppoll on it returns at once.
        let t = std::time::Instant::now();
        crate::xsk::wait_fd(&owner.wake, std::time::Duration::from_secs(2));
        assert!(t.elapsed() < std::time::Duration::from_millis(500));
        owner.awake();
        assert!(!owner.may_sleep(), "a queued frame keeps the owner awake");
        assert_eq!(owner.pop().unwrap().bytes(), &[1, 2, 3]);
        assert!(HandoffFrame::copy_of(&[0u8; HANDOFF_MAX + 1], 0).is_none());
    }
}
