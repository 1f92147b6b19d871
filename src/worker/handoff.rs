//! Frames that arrived on one worker's queue but belong to another worker's connection
//! (a kernel peer spreads replies over all queues) travel to the owner through a bounded
//! lock-free queue, copied (they are 54-300 byte headers; the UMEM frame goes back to FILL).

use std::sync::Arc;

use crossbeam_queue::ArrayQueue;

/// Largest frame that can be handed off; bigger ones are counted and dropped.
pub const HANDOFF_MAX: usize = 320;

pub struct HandoffFrame {
    len: u16,
    data: [u8; HANDOFF_MAX],
}

impl HandoffFrame {
    /// None when the frame is too big to hand off.
    pub fn copy_of(frame: &[u8]) -> Option<HandoffFrame> {
        if frame.len() > HANDOFF_MAX {
            return None;
        }
        let mut data = [0u8; HANDOFF_MAX];
        data[..frame.len()].copy_from_slice(frame);
        Some(HandoffFrame {
            len: frame.len() as u16,
            data,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

pub type Inbox = Arc<ArrayQueue<HandoffFrame>>;

/// One inbox per worker.
pub fn inboxes(workers: usize, depth: usize) -> Vec<Inbox> {
    (0..workers)
        .map(|_| Arc::new(ArrayQueue::new(depth)))
        .collect()
}
