//! Hashed timer wheel with intrusive doubly linked lists threaded through the TCBs.
//!
//! One timer per TCB: `t_deadline` (absolute tick, wrapping u32), `t_next`, `t_prev`.
//! `t_prev` is either a TCB slot, `HEAD | list` when first in a list, or `UNARMED`.
//! List `SLOTS` is the expired list that `advance` fills and `pop_expired` drains.
//! Arm and cancel are O(1); `advance` visits each elapsed bucket once (at most one
//! revolution); nothing allocates after `new`.

use super::Nanos;
use super::table::NIL;
use super::tcb::Tcb;

const HEAD: u32 = 0x8000_0000;
const UNARMED: u32 = u32::MAX;
const SLOT_BITS: u32 = 14;
const SLOTS: usize = 1 << SLOT_BITS;
const EXPIRED: usize = SLOTS;
/// How far `advance` looks ahead for the next non-empty bucket (for `next_deadline`).
const LOOKAHEAD: u32 = 64;

pub struct Wheel {
    heads: Vec<u32>,
    shift: u32,
    /// Last processed tick (absolute; TCBs keep its low 32 bits).
    cur: u64,
    /// Lower bound of armed deadlines (a hint; early wake-ups are harmless).
    hint: u64,
    armed: usize,
}

#[inline]
fn tick_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl Wheel {
    /// `shift`: log2 of the tick length in ns.
    pub fn new(shift: u32, now: Nanos) -> Wheel {
        let cur = now >> shift;
        Wheel {
            heads: vec![NIL; SLOTS + 1],
            shift,
            cur,
            hint: cur + 1,
            armed: 0,
        }
    }

    pub fn armed(&self) -> usize {
        self.armed
    }

    /// Marks a fresh TCB as unarmed (call before its first `arm`).
    #[inline]
    pub fn init(t: &mut Tcb) {
        t.t_prev = UNARMED;
        t.t_next = NIL;
    }

    /// Whether `t`'s timer is armed (a freed TCB's never is).
    #[inline]
    pub fn is_armed(t: &Tcb) -> bool {
        t.t_prev != UNARMED
    }

    /// (Re)arms `slot` to fire at the first tick at or after `at` (at least one tick ahead).
    #[inline(always)]
    pub fn arm(&mut self, tcbs: &mut [Tcb], slot: u32, at: Nanos) {
        self.cancel(tcbs, slot);
        let d = at.div_ceil(1 << self.shift).max(self.cur + 1);
        if d < self.hint {
            self.hint = d;
        }
        self.push(tcbs, slot, d as usize & (SLOTS - 1));
        tcbs[slot as usize].t_deadline = d as u32;
        self.armed += 1;
    }

    #[inline]
    fn push(&mut self, tcbs: &mut [Tcb], slot: u32, list: usize) {
        let old = self.heads[list];
        if old != NIL {
            tcbs[old as usize].t_prev = slot;
        }
        let t = &mut tcbs[slot as usize];
        t.t_next = old;
        t.t_prev = HEAD | list as u32;
        self.heads[list] = slot;
    }

    #[inline]
    fn unlink(&mut self, tcbs: &mut [Tcb], slot: u32) {
        let (prev, next) = {
            let t = &tcbs[slot as usize];
            (t.t_prev, t.t_next)
        };
        if next != NIL {
            tcbs[next as usize].t_prev = prev;
        }
        if prev & HEAD != 0 {
            self.heads[(prev & !HEAD) as usize] = next;
        } else {
            tcbs[prev as usize].t_next = next;
        }
        let t = &mut tcbs[slot as usize];
        t.t_prev = UNARMED;
        t.t_next = NIL;
    }

    /// Disarms `slot` if armed (also when it sits in the expired list).
    #[inline]
    pub fn cancel(&mut self, tcbs: &mut [Tcb], slot: u32) {
        if tcbs[slot as usize].t_prev != UNARMED {
            self.unlink(tcbs, slot);
            self.armed -= 1;
        }
    }

    /// Moves every timer due at `now` to the expired list.
    pub fn advance(&mut self, tcbs: &mut [Tcb], now: Nanos) {
        let target = now >> self.shift;
        if target <= self.cur {
            return;
        }
        let steps = (target - self.cur).min(SLOTS as u64);
        for i in 1..=steps {
            let list = (self.cur + i) as usize & (SLOTS - 1);
            let mut s = self.heads[list];
            while s != NIL {
                let t = &tcbs[s as usize];
                let next = t.t_next;
                if !tick_after(t.t_deadline, target as u32) {
                    self.unlink(tcbs, s);
                    self.push(tcbs, s, EXPIRED);
                }
                s = next;
            }
        }
        self.cur = target;
        self.hint = self.scan_hint(tcbs);
    }

    /// First tick after `cur` whose bucket holds a timer due then, or `cur + LOOKAHEAD`.
    fn scan_hint(&self, tcbs: &[Tcb]) -> u64 {
        for i in 1..LOOKAHEAD as u64 {
            let tick = self.cur + i;
            let mut s = self.heads[tick as usize & (SLOTS - 1)];
            while s != NIL {
                let t = &tcbs[s as usize];
                if t.t_deadline == tick as u32 {
                    return tick;
                }
                s = t.t_next;
            }
        }
        self.cur + LOOKAHEAD as u64
    }

    /// Takes one expired timer (now disarmed).
    #[inline]
    pub fn pop_expired(&mut self, tcbs: &mut [Tcb]) -> Option<u32> {
        let s = self.heads[EXPIRED];
        if s == NIL {
            return None;
        }
        self.unlink(tcbs, s);
        self.armed -= 1;
        Some(s)
    }

    /// When `advance` should next be called, if anything is armed.
    #[inline]
    pub fn next_deadline(&self) -> Option<Nanos> {
        if self.armed == 0 {
            None
        } else if self.heads[EXPIRED] != NIL {
            Some(self.cur << self.shift)
        } else {
            Some(self.hint.max(self.cur + 1) << self.shift)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fire_all(w: &mut Wheel, tcbs: &mut [Tcb], now: Nanos) -> Vec<u32> {
        w.advance(tcbs, now);
        let mut v = Vec::new();
        while let Some(s) = w.pop_expired(tcbs) {
            v.push(s);
        }
        v.sort();
        v
    }

    #[test]
    fn fires_at_or_after_deadline_never_before() {
        let mut tcbs = vec![Tcb::default(); 8];
        tcbs.iter_mut().for_each(Wheel::init);
        let mut w = Wheel::new(10, 0); // 1024 ns ticks
        w.arm(&mut tcbs, 0, 5_000);
        w.arm(&mut tcbs, 1, 5_000);
        w.arm(&mut tcbs, 2, 100_000_000); // many revolutions ahead
        w.arm(&mut tcbs, 3, 7_000);
        w.cancel(&mut tcbs, 3);
        assert_eq!(w.armed(), 3);
        let first = w.next_deadline().unwrap();
        assert!(first <= 5_120, "{first}");
        assert!(fire_all(&mut w, &mut tcbs, 4_999).is_empty());
        assert_eq!(fire_all(&mut w, &mut tcbs, 6_000), vec![0, 1]);
        assert!(fire_all(&mut w, &mut tcbs, 99_000_000).is_empty());
        assert_eq!(fire_all(&mut w, &mut tcbs, 100_001_000), vec![2]);
        assert_eq!(w.armed(), 0);
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn rearm_and_cancel_from_expired_list() {
        let mut tcbs = vec![Tcb::default(); 4];
        tcbs.iter_mut().for_each(Wheel::init);
        let mut w = Wheel::new(10, 0);
        for s in 0..4 {
            w.arm(&mut tcbs, s, 2_000);
        }
        w.advance(&mut tcbs, 3_000);
        w.cancel(&mut tcbs, 2);
        w.arm(&mut tcbs, 1, 50_000);
        let mut got = Vec::new();
        while let Some(s) = w.pop_expired(&mut tcbs) {
            got.push(s);
        }
        got.sort();
        assert_eq!(got, vec![0, 3]);
        assert_eq!(fire_all(&mut w, &mut tcbs, 60_000), vec![1]);
    }

    #[test]
    fn past_deadline_fires_next_tick() {
        let mut tcbs = vec![Tcb::default(); 1];
        Wheel::init(&mut tcbs[0]);
        let mut w = Wheel::new(10, 1 << 20);
        w.arm(&mut tcbs, 0, 0);
        assert_eq!(fire_all(&mut w, &mut tcbs, (1 << 20) + 1024), vec![0]);
    }
}
