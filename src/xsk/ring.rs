//! Single-producer / single-consumer rings over memory shared with the kernel.
//!
//! Protocol (perf ring-buffer scheme, `af_xdp.rst`): free-running `u32` indices, slot
//! `idx & (size - 1)`, all arithmetic `wrapping_*`.
//!
//! | who      | step              | here                                   |
//! |----------|-------------------|----------------------------------------|
//! | producer | see free slots    | `consumer.load(Acquire)`               |
//! | producer | publish           | write entries, `producer.store(Release)`|
//! | consumer | see entries       | `producer.load(Acquire)`               |
//! | consumer | return slots      | read entries, `consumer.store(Release)`|
//! | both     | need_wakeup flag  | `flags.load(Relaxed)`                  |
//!
//! Each side caches the other side's index and refreshes it only when the cached count is
//! smaller than the batch it wants, so a full batch never comes back short just because the
//! cache was stale. Publication is one `Release` store per batch (`Producer::submit`,
//! `Peek::release`).

use std::io;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::mmap::Mmap;

/// Byte offsets of a ring's words inside its mapping (from `XDP_MMAP_OFFSETS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingOffsets {
    pub producer: u64,
    pub consumer: u64,
    pub flags: u64,
    pub desc: u64,
}

impl From<libc::xdp_ring_offset> for RingOffsets {
    fn from(o: libc::xdp_ring_offset) -> Self {
        RingOffsets {
            producer: o.producer,
            consumer: o.consumer,
            flags: o.flags,
            desc: o.desc,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for libc::xdp_desc {}
}

/// A ring entry: `u64` (FILL/COMP: UMEM addresses) or `xdp_desc` (RX/TX). Sealed: only plain
/// integer structs for which every bit pattern is valid.
pub trait Entry: sealed::Sealed + Copy + Send + 'static {}
impl Entry for u64 {}
impl Entry for libc::xdp_desc {}

/// Bytes a ring of `size` entries of `T` needs in its mapping.
pub fn map_len<T: Entry>(off: &RingOffsets, size: u32) -> usize {
    off.desc as usize + size as usize * size_of::<T>()
}

/// The mapped words of one ring. Keeps the mapping alive.
struct RingMem<T: Entry> {
    _map: Arc<Mmap>,
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    entries: NonNull<T>,
    mask: u32,
    _t: PhantomData<T>,
}

// Safety: the pointers target memory owned by `_map` (which is Send); the protocol has exactly
// one user-space side per ring, held by value in one `Producer`/`Consumer`, so moving it to
// another thread moves the only accessor.
unsafe impl<T: Entry> Send for RingMem<T> {}

impl<T: Entry> RingMem<T> {
    fn new(map: Arc<Mmap>, off: RingOffsets, size: u32) -> io::Result<Self> {
        let inval =
            |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("ring: {what}"));
        if size == 0 || !size.is_power_of_two() {
            return Err(inval("size is not a power of two"));
        }
        let len = map.len() as u64;
        for (name, o) in [
            ("producer", off.producer),
            ("consumer", off.consumer),
            ("flags", off.flags),
        ] {
            if !o.is_multiple_of(4) || o.checked_add(4).is_none_or(|end| end > len) {
                return Err(inval(&format!(
                    "{name} word outside the mapping or misaligned"
                )));
            }
        }
        let need = map_len::<T>(&off, size) as u64;
        if !off.desc.is_multiple_of(align_of::<T>() as u64) || need > len {
            return Err(inval("descriptors outside the mapping or misaligned"));
        }
        let base = map.as_ptr();
        let at = |o: u64| {
            // Safety: `o` was checked above to lie inside the mapping (`o + 4 <= len` or
            // `desc + size * size_of::<T>() <= len`), so the offset pointer stays in bounds of
            // the same allocation.
            unsafe { base.add(o as usize) }
        };
        Ok(RingMem {
            producer: NonNull::new(at(off.producer).cast()).expect("mmap base is non-null"),
            consumer: NonNull::new(at(off.consumer).cast()).expect("mmap base is non-null"),
            flags: NonNull::new(at(off.flags).cast()).expect("mmap base is non-null"),
            entries: NonNull::new(at(off.desc).cast()).expect("mmap base is non-null"),
            mask: size - 1,
            _map: map,
            _t: PhantomData,
        })
    }

    fn producer(&self) -> &AtomicU32 {
        // Safety: in bounds and 4-aligned (checked in `new`), the mapping lives as long as
        // `self` (`_map`), AtomicU32 has u32's layout, and every access from our side is atomic
        // (the kernel uses smp_load_acquire/smp_store_release on the same word).
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // Safety: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // Safety: as for `producer`.
        unsafe { self.flags.as_ref() }
    }

    fn size(&self) -> u32 {
        self.mask + 1
    }

    /// Writes slot `idx & mask`.
    ///
    /// # Safety
    /// The slot must be owned by the producer: reserved (between the published producer
    /// index and the consumer index + size), so the other side does not read it concurrently.
    unsafe fn write(&self, idx: u32, v: T) {
        // Safety: `idx & mask < size` keeps the pointer inside the entry array (checked in
        // `new`); exclusivity of the slot is the caller's contract.
        unsafe {
            self.entries
                .as_ptr()
                .add((idx & self.mask) as usize)
                .write(v)
        }
    }

    /// Reads slot `idx & mask`.
    ///
    /// # Safety
    /// The slot must hold a published entry not yet released by the consumer, so the producer
    /// does not write it concurrently.
    unsafe fn read(&self, idx: u32) -> T {
        // Safety: in bounds as in `write`; the Acquire load of the producer index that made
        // this slot visible orders the producer's write before this read; `T: Entry` is valid
        // for any bit pattern.
        unsafe { self.entries.as_ptr().add((idx & self.mask) as usize).read() }
    }
}

/// Our producer side of a ring (FILL, TX).
pub struct Producer<T: Entry> {
    mem: RingMem<T>,
    /// Next slot we will reserve.
    cached_prod: u32,
    /// Consumer index + size as last read: `cached_cons - cached_prod` slots are known free.
    cached_cons: u32,
    /// The value last stored to the shared producer word.
    published: u32,
}

impl<T: Entry> Producer<T> {
    /// A producer over `map`; reads the current indices (all zero on a fresh socket).
    /// Offsets and size are validated against the mapping.
    ///
    /// # Safety
    /// No other user-space producer of the same ring may exist while this one lives (two
    /// producers would write the same slots concurrently). The consumer side may be anyone
    /// following the ring protocol (the kernel, or one `Consumer` in tests).
    pub unsafe fn new(map: Arc<Mmap>, off: RingOffsets, size: u32) -> io::Result<Self> {
        let mem = RingMem::<T>::new(map, off, size)?;
        let prod = mem.producer().load(Ordering::Relaxed);
        let cons = mem.consumer().load(Ordering::Acquire);
        Ok(Producer {
            cached_prod: prod,
            cached_cons: cons.wrapping_add(mem.size()),
            published: prod,
            mem,
        })
    }

    /// Ring size in entries.
    pub fn size(&self) -> u32 {
        self.mem.size()
    }

    /// Free slots, refreshing the consumer index only when fewer than `wanted` are cached.
    pub fn free(&mut self, wanted: u32) -> u32 {
        let free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free >= wanted {
            return free;
        }
        self.cached_cons = self
            .mem
            .consumer()
            .load(Ordering::Acquire)
            .wrapping_add(self.mem.size());
        self.cached_cons.wrapping_sub(self.cached_prod)
    }

    /// Reserves up to `n` slots (fewer only when the ring really has fewer free).
    /// Unused slots are cancelled when the guard drops.
    pub fn reserve(&mut self, n: u32) -> Reservation<'_, T> {
        let len = self.free(n).min(n);
        let start = self.cached_prod;
        self.cached_prod = start.wrapping_add(len);
        Reservation {
            ring: self,
            start,
            len,
            done: false,
        }
    }

    /// Publishes every committed slot with one `Release` store; returns how many were new.
    pub fn submit(&mut self) -> u32 {
        let n = self.cached_prod.wrapping_sub(self.published);
        if n != 0 {
            self.mem
                .producer()
                .store(self.cached_prod, Ordering::Release);
            self.published = self.cached_prod;
        }
        n
    }

    /// Committed but not yet submitted entries.
    pub fn pending(&self) -> u32 {
        self.cached_prod.wrapping_sub(self.published)
    }

    /// Submitted entries the consumer has not taken yet (reads the consumer index).
    pub fn unconsumed(&self) -> u32 {
        self.published
            .wrapping_sub(self.mem.consumer().load(Ordering::Acquire))
    }

    /// The kernel's need_wakeup flag on this ring.
    pub fn needs_wakeup(&self) -> bool {
        self.mem.flags().load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    #[cfg(test)]
    fn cached_free(&self) -> u32 {
        self.cached_cons.wrapping_sub(self.cached_prod)
    }
}

/// Slots reserved on a `Producer`. `commit(k)` keeps the first `k` (to be published by the
/// next `submit`); dropping the guard without `commit` cancels them all.
pub struct Reservation<'a, T: Entry> {
    ring: &'a mut Producer<T>,
    start: u32,
    len: u32,
    done: bool,
}

impl<T: Entry> Reservation<'_, T> {
    /// Number of reserved slots.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True when nothing could be reserved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes reserved slot `i` (0-based). Panics when `i >= len()`.
    pub fn set(&mut self, i: u32, v: T) {
        assert!(i < self.len, "reservation slot {i} out of {}", self.len);
        // Safety: slot `start + i` lies in [cached_prod_before, cached_prod_before + len), which
        // `reserve` took from the free space `cached_cons - cached_prod`; the consumer reads
        // no slot beyond the published producer index, so this slot is ours alone.
        unsafe { self.ring.mem.write(self.start.wrapping_add(i), v) }
    }

    /// Keeps the first `k` slots for the next `submit`, cancels the rest. Panics when `k > len()`.
    pub fn commit(mut self, k: u32) {
        assert!(k <= self.len, "commit {k} of {} reserved", self.len);
        self.ring.cached_prod = self.start.wrapping_add(k);
        self.done = true;
    }
}

impl<T: Entry> Drop for Reservation<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            // The guard holds `&mut Producer`, so no later reservation exists: rewinding to
            // `start` returns exactly our slots.
            self.ring.cached_prod = self.start;
        }
    }
}

/// Our consumer side of a ring (RX, COMP).
pub struct Consumer<T: Entry> {
    mem: RingMem<T>,
    /// Producer index as last read.
    cached_prod: u32,
    /// Next entry we will read; equals the shared consumer word after each release.
    cached_cons: u32,
}

impl<T: Entry> Consumer<T> {
    /// A consumer over `map`; reads the current indices. Offsets and size are validated
    /// against the mapping.
    ///
    /// # Safety
    /// No other user-space consumer of the same ring may exist while this one lives (it
    /// could release slots whose entries this one still reads).
    pub unsafe fn new(map: Arc<Mmap>, off: RingOffsets, size: u32) -> io::Result<Self> {
        let mem = RingMem::<T>::new(map, off, size)?;
        let cons = mem.consumer().load(Ordering::Relaxed);
        let prod = mem.producer().load(Ordering::Acquire);
        Ok(Consumer {
            cached_prod: prod,
            cached_cons: cons,
            mem,
        })
    }

    /// Ring size in entries.
    pub fn size(&self) -> u32 {
        self.mem.size()
    }

    /// Entries ready, refreshing the producer index only when fewer than `wanted` are cached.
    pub fn available(&mut self, wanted: u32) -> u32 {
        let avail = self.cached_prod.wrapping_sub(self.cached_cons);
        if avail >= wanted {
            return avail;
        }
        self.cached_prod = self.mem.producer().load(Ordering::Acquire);
        self.cached_prod.wrapping_sub(self.cached_cons)
    }

    /// Up to `n` ready entries. They stay in the ring (and come back on the next `peek`) until
    /// the guard's `release`.
    pub fn peek(&mut self, n: u32) -> Peek<'_, T> {
        let len = self.available(n).min(n);
        let start = self.cached_cons;
        Peek {
            ring: self,
            start,
            len,
        }
    }

    /// The kernel's need_wakeup flag on this ring.
    pub fn needs_wakeup(&self) -> bool {
        self.mem.flags().load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    #[cfg(test)]
    fn cached_available(&self) -> u32 {
        self.cached_prod.wrapping_sub(self.cached_cons)
    }
}

/// Entries peeked from a `Consumer`.
pub struct Peek<'a, T: Entry> {
    ring: &'a mut Consumer<T>,
    start: u32,
    len: u32,
}

impl<T: Entry> Peek<'_, T> {
    /// Number of entries.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True when nothing was ready.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entry `i` (0-based). Panics when `i >= len()`.
    pub fn get(&self, i: u32) -> T {
        assert!(i < self.len, "peek entry {i} out of {}", self.len);
        // Safety: entry `start + i` is below the producer index we loaded with Acquire and at
        // or above our consumer index, which we have not released: the producer will not
        // overwrite it until we store a consumer index past it.
        unsafe { self.ring.mem.read(self.start.wrapping_add(i)) }
    }

    /// Returns all peeked slots to the producer (one `Release` store).
    pub fn release(self) {
        let n = self.len;
        self.release_n(n);
    }

    /// Returns the first `k` slots; the rest stay for the next `peek`. Panics when `k > len()`.
    pub fn release_n(self, k: u32) {
        assert!(k <= self.len, "release {k} of {} peeked", self.len);
        if k == 0 {
            return;
        }
        self.ring.cached_cons = self.start.wrapping_add(k);
        self.ring
            .mem
            .consumer()
            .store(self.ring.cached_cons, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rng::SplitMix64 as Rng;

    /// `Rng::below` for ring counts.
    fn below(rng: &mut Rng, n: u32) -> u32 {
        rng.below(n.into()) as u32
    }

    const OFF: RingOffsets = RingOffsets {
        producer: 0,
        consumer: 64,
        flags: 128,
        desc: 256,
    };

    /// A producer/consumer pair over one anonymous mapping, indices starting at `start`.
    fn pair<T: Entry>(size: u32, start: u32) -> (Producer<T>, Consumer<T>, Arc<Mmap>) {
        let map = Arc::new(Mmap::anonymous(map_len::<T>(&OFF, size), false).unwrap());
        // Preset both indices (a ring that has already wrapped many times).
        let mem = RingMem::<T>::new(map.clone(), OFF, size).unwrap();
        mem.producer().store(start, Ordering::Relaxed);
        mem.consumer().store(start, Ordering::Relaxed);
        drop(mem);
        // Safety: exactly one producer and one consumer over this private mapping.
        let p = unsafe { Producer::new(map.clone(), OFF, size) }.unwrap();
        // Safety: as above.
        let c = unsafe { Consumer::new(map.clone(), OFF, size) }.unwrap();
        (p, c, map)
    }

    fn desc(i: u64) -> libc::xdp_desc {
        libc::xdp_desc {
            addr: i * 2048,
            len: (i % 1500) as u32 + 1,
            options: 0,
        }
    }

    #[test]
    fn xsk_ring_push_10000_random_batches_with_wraparound() {
        for seed in [1u64, 7, 0xdead_beef] {
            let mut rng = Rng(seed);
            // Start 100 below u32::MAX: the free-running indices wrap early in the run.
            let (mut p, mut c, _m) = pair::<libc::xdp_desc>(64, u32::MAX - 100);
            let (mut next_out, mut next_in) = (1u64, 1u64);
            while next_in <= 10_000 {
                if below(&mut rng, 2) == 0 && next_out <= 10_000 {
                    let want = 1 + below(&mut rng, 80); // sometimes more than the ring holds
                    let mut r = p.reserve(want);
                    assert!(r.len() <= want);
                    let k = r.len().min((10_001 - next_out) as u32);
                    let use_k = if k > 0 { 1 + below(&mut rng, k) } else { 0 };
                    for i in 0..use_k {
                        r.set(i, desc(next_out + i as u64));
                    }
                    r.commit(use_k);
                    next_out += use_k as u64;
                    if below(&mut rng, 3) != 0 {
                        p.submit();
                    }
                } else {
                    let pk = c.peek(1 + below(&mut rng, 80));
                    let k = if pk.is_empty() {
                        0
                    } else {
                        1 + below(&mut rng, pk.len())
                    };
                    for i in 0..k {
                        let d = pk.get(i);
                        assert_eq!(d.addr, next_in * 2048, "seed {seed}");
                        assert_eq!(d.len, (next_in % 1500) as u32 + 1);
                        next_in += 1;
                    }
                    pk.release_n(k);
                }
                if next_out > 10_000 {
                    p.submit();
                }
                // Ring invariant: never more in flight than the ring holds.
                assert!(next_out - next_in <= 64);
            }
            assert_eq!(next_out, 10_001);
            assert!(c.peek(1).is_empty());
        }
    }

    #[test]
    fn xsk_ring_two_threads_acquire_release() {
        let (mut p, mut c, _m) = pair::<u64>(256, u32::MAX - 1000);
        const N: u64 = 200_000;
        let prod = std::thread::spawn(move || {
            let mut rng = Rng(42);
            let mut next = 0u64;
            while next < N {
                let want = 1 + below(&mut rng, 64);
                let mut r = p.reserve(want);
                let k = r.len().min((N - next) as u32);
                for i in 0..k {
                    r.set(i, next + i as u64);
                }
                r.commit(k);
                next += k as u64;
                p.submit();
                if k == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut rng = Rng(43);
        let mut expect = 0u64;
        while expect < N {
            let pk = c.peek(1 + below(&mut rng, 64));
            if pk.is_empty() {
                std::thread::yield_now();
                continue;
            }
            for i in 0..pk.len() {
                assert_eq!(pk.get(i), expect);
                expect += 1;
            }
            pk.release();
        }
        prod.join().unwrap();
    }

    #[test]
    fn xsk_ring_reservation_cancel() {
        let (mut p, mut c, _m) = pair::<u64>(8, 0);
        {
            let mut r = p.reserve(5);
            assert_eq!(r.len(), 5);
            r.set(0, 11);
            // dropped without commit: cancelled
        }
        assert_eq!(p.pending(), 0);
        assert_eq!(p.submit(), 0);
        assert_eq!(p.free(8), 8);
        let mut r = p.reserve(6);
        for i in 0..6 {
            r.set(i, 100 + i as u64);
        }
        r.commit(2); // keep 2, cancel 4
        assert_eq!(p.pending(), 2);
        assert_eq!(p.free(6), 6);
        let r = p.reserve(3);
        assert_eq!(r.len(), 3);
        drop(r);
        assert_eq!(p.submit(), 2);
        let pk = c.peek(8);
        assert_eq!(pk.len(), 2);
        assert_eq!((pk.get(0), pk.get(1)), (100, 101));
        pk.release();
        // A reservation larger than the ring comes back exactly as large as the free space.
        let r = p.reserve(100);
        assert_eq!(r.len(), 8);
        r.commit(8);
        assert_eq!(p.reserve(1).len(), 0);
    }

    #[test]
    fn xsk_ring_cached_index_refresh_only_when_short() {
        let (mut p, mut c, _m) = pair::<u64>(16, 0);
        let mut r = p.reserve(8);
        for i in 0..8 {
            r.set(i, i as u64);
        }
        r.commit(8);
        p.submit();
        assert_eq!(p.cached_free(), 8);
        // Consumer: 8 visible; a request for 4 is served from a fresh read (cache was 0 < 4).
        assert_eq!(c.available(4), 8);
        c.peek(8).release();
        // Producer: the consumer freed 8 more, but 4 <= 8 cached, so no refresh.
        assert_eq!(p.free(4), 8);
        assert_eq!(p.cached_free(), 8);
        // 9 > 8 cached: refresh and see all 16.
        assert_eq!(p.free(9), 16);
        assert_eq!(p.cached_free(), 16);
        // Consumer side: publish 3 more; cached available 0 < 1 refreshes.
        let mut r = p.reserve(3);
        for i in 0..3 {
            r.set(i, 50 + i as u64);
        }
        r.commit(3);
        p.submit();
        assert_eq!(c.cached_available(), 0);
        assert_eq!(c.available(1), 3);
        // Publish 2 more: asking for <= 3 does not refresh, asking for 4 does.
        let mut r = p.reserve(2);
        r.set(0, 60);
        r.set(1, 61);
        r.commit(2);
        p.submit();
        assert_eq!(c.available(3), 3);
        assert_eq!(c.available(4), 5);
        let pk = c.peek(5);
        let got: Vec<u64> = (0..pk.len()).map(|i| pk.get(i)).collect();
        assert_eq!(got, [50, 51, 52, 60, 61]);
        // Not released: the same entries come back.
        assert_eq!(c.peek(1).get(0), 50);
    }

    #[test]
    fn xsk_ring_rejects_bad_layout() {
        let map = Arc::new(Mmap::anonymous(4096, false).unwrap());
        // Safety: each constructor fails validation, so no ring side is ever created.
        unsafe {
            assert!(Producer::<u64>::new(map.clone(), OFF, 12).is_err()); // not a power of two
            assert!(Producer::<u64>::new(map.clone(), OFF, 1024).is_err()); // past the mapping
        }
        let bad = RingOffsets {
            consumer: 66,
            ..OFF
        };
        // Safety: validation fails; nothing is created.
        assert!(unsafe { Consumer::<u64>::new(map, bad, 8) }.is_err()); // misaligned word
    }
}
