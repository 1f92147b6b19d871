//! The UMEM: one anonymous mapping per socket, cut into equal frames, and the pool of frames
//! user space currently holds.

use std::io;
use std::ptr::NonNull;

use super::mmap::Mmap;

/// The UMEM area: `frame_count` frames of `frame_size` bytes (a power of two, 2048 or 4096),
/// page-aligned and pre-faulted.
pub struct Umem {
    map: Mmap,
    frame_size: u32,
    frame_count: u32,
}

impl Umem {
    pub fn new(frame_size: u32, frame_count: u32) -> io::Result<Umem> {
        if !matches!(frame_size, 2048 | 4096) || frame_count == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let len = frame_size as usize * frame_count as usize;
        Ok(Umem {
            map: Mmap::anonymous(len, true)?,
            frame_size,
            frame_count,
        })
    }

    pub fn addr(&self) -> u64 {
        self.map.as_ptr() as u64
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// A copyable view for slicing frames while other fields are borrowed.
    pub fn region(&self) -> Region {
        Region {
            base: NonNull::new(self.map.as_ptr()).expect("mmap base is non-null"),
            len: self.map.len() as u64,
            frame_size: self.frame_size,
        }
    }
}

/// `sizeof(struct tw_rx_meta)` and `TW_RX_META_MAGIC` (bpf/shared.h).
pub const RX_META_LEN: usize = 16;
pub const RX_META_MAGIC: u32 = 0x7477_7473;

/// Raw view of the UMEM for slicing frames. Valid while the owning `Umem` lives: the `Xsk`
/// that holds both declares the `Umem` last, so it is dropped after every `Region` user.
#[derive(Clone, Copy)]
pub struct Region {
    base: NonNull<u8>,
    len: u64,
    frame_size: u32,
}

// Safety: `Region` is a pointer into the UMEM owned by the same `Xsk`; it moves with it.
unsafe impl Send for Region {}

impl Region {
    /// `addr .. addr + len` if it lies inside one frame, else `None`.
    fn check(&self, addr: u64, len: usize) -> Option<usize> {
        let end = addr.checked_add(len as u64)?;
        let frame_end = (addr & !(self.frame_size as u64 - 1)) + self.frame_size as u64;
        (end <= self.len && end <= frame_end).then_some(addr as usize)
    }

    /// Bytes of a received frame.
    ///
    /// # Safety
    /// The frame must be owned by user space (taken from the RX ring, not yet returned to
    /// FILL) and not mutably borrowed elsewhere for `'a`.
    pub unsafe fn rx_bytes<'a>(&self, addr: u64, len: usize) -> Option<&'a [u8]> {
        let off = self.check(addr, len)?;
        // Safety: bounds checked above against the mapping; exclusivity and liveness are the
        // caller's contract (the kernel does not write a frame it has handed to us).
        Some(unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(off), len) })
    }

    /// The RX timestamp the XDP program left in the metadata area just before a received
    /// frame's data (`struct tw_rx_meta`, bpf/shared.h), clearing its magic so that a later
    /// frame in this chunk without metadata is not read as stamped. `None`: no metadata;
    /// `Some(0)`: metadata, but the program did not time this frame.
    ///
    /// # Safety
    /// As `rx_bytes`: the frame must be owned by user space and not borrowed elsewhere.
    pub unsafe fn take_rx_stamp(&self, addr: u64) -> Option<u64> {
        let at = addr.checked_sub(RX_META_LEN as u64)?;
        // The metadata lies in the same chunk, in the headroom in front of the data.
        if at & !(self.frame_size as u64 - 1) != addr & !(self.frame_size as u64 - 1) {
            return None;
        }
        let off = self.check(at, RX_META_LEN)?;
        // Safety: bounds checked above (inside the frame's own chunk); the frame is ours by
        // the caller's contract, so nothing else reads or writes these 16 bytes meanwhile.
        let m = unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(off), RX_META_LEN) };
        let magic = u32::from_ne_bytes(m[8..12].try_into().expect("4 bytes"));
        if magic != RX_META_MAGIC {
            return None;
        }
        m[8..12].fill(0);
        Some(u64::from_ne_bytes(m[..8].try_into().expect("8 bytes")))
    }

    /// A whole frame for writing.
    ///
    /// # Safety
    /// `addr` must be a frame base taken from the `FramePool` and not yet handed to the
    /// kernel, and no other reference to the frame may exist for `'a`.
    pub unsafe fn frame_mut<'a>(&self, addr: u64) -> &'a mut [u8] {
        let off = self
            .check(addr, self.frame_size as usize)
            .expect("frame address inside the UMEM");
        // Safety: bounds checked above; the frame is exclusively ours by the caller's contract.
        unsafe {
            std::slice::from_raw_parts_mut(self.base.as_ptr().add(off), self.frame_size as usize)
        }
    }
}

/// Why `FramePool::put` refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Address outside the UMEM.
    OutOfRange,
    /// The frame is already in the pool (a double free): refused, the pool is unchanged.
    AlreadyFree,
}

/// The frames user space holds and may hand out.
///
/// **Ownership invariant:** each of the `count` frames is in exactly one place at a time:
/// in this pool (its bit set in `in_pool`, its base address once on `stack`), or on loan
/// (FILL ring, kernel, RX ring, an `rx_burst` callback, a `TxWriter` buffer, the TX ring, the
/// completion ring). `get` moves a frame from the pool to a loan; `put` moves one back and
/// refuses a frame that is already here, so a frame is never handed out twice. The frames
/// on loan are `count - len()`; nothing is lost as long as every loan ends in `put` or in a
/// ring that gives the address back (FILL->RX, TX->COMP).
pub struct FramePool {
    stack: Vec<u64>,
    in_pool: Vec<u64>,
    shift: u32,
    count: u32,
}

impl FramePool {
    /// A pool holding every frame (`count` frames of `frame_size` bytes, a power of two).
    pub fn full(frame_size: u32, count: u32) -> FramePool {
        assert!(frame_size.is_power_of_two());
        let shift = frame_size.trailing_zeros();
        // LIFO: the lowest frames are handed out first.
        let stack = (0..count as u64).rev().map(|i| i << shift).collect();
        let mut in_pool = vec![!0u64; (count as usize).div_ceil(64)];
        if !count.is_multiple_of(64) {
            *in_pool.last_mut().unwrap() = (1u64 << (count % 64)) - 1;
        }
        FramePool {
            stack,
            in_pool,
            shift,
            count,
        }
    }

    /// Frames in the pool.
    pub fn len(&self) -> usize {
        self.stack.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    /// Frames on loan.
    pub fn on_loan(&self) -> u32 {
        self.count - self.stack.len() as u32
    }

    /// Takes a frame (its base address) out of the pool.
    pub fn get(&mut self) -> Option<u64> {
        let addr = self.stack.pop()?;
        let i = (addr >> self.shift) as usize;
        self.in_pool[i / 64] &= !(1u64 << (i % 64));
        Some(addr)
    }

    /// Returns a frame; any address inside it is accepted (RX descriptors point past the
    /// headroom). Refuses out-of-range addresses and double frees.
    pub fn put(&mut self, addr: u64) -> Result<(), FrameError> {
        let i = addr >> self.shift;
        if i >= self.count as u64 {
            return Err(FrameError::OutOfRange);
        }
        let i = i as usize;
        let bit = 1u64 << (i % 64);
        if self.in_pool[i / 64] & bit != 0 {
            return Err(FrameError::AlreadyFree);
        }
        self.in_pool[i / 64] |= bit;
        self.stack.push((i as u64) << self.shift);
        Ok(())
    }

    /// Base address of the frame containing `addr`.
    pub fn base(&self, addr: u64) -> u64 {
        addr >> self.shift << self.shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rng::SplitMix64 as Rng;

    #[test]
    fn xsk_frame_pool_never_double_frees_or_leaks() {
        for seed in [3u64, 99, 0x1234_5678] {
            let mut rng = Rng(seed);
            let count = 1000;
            let mut pool = FramePool::full(2048, count);
            let mut loans: Vec<u64> = Vec::new();
            for _ in 0..100_000 {
                match rng.index(4) {
                    0 | 1 => {
                        if let Some(a) = pool.get() {
                            assert_eq!(a % 2048, 0);
                            assert!(!loans.contains(&a), "handed out twice");
                            loans.push(a);
                        } else {
                            assert_eq!(loans.len(), count as usize);
                        }
                    }
                    2 if !loans.is_empty() => {
                        // Give back, sometimes as an RX-style address inside the frame.
                        let a = loans.swap_remove(rng.index(loans.len()));
                        let off = [0u64, 256, 2047][rng.index(3)];
                        assert_eq!(pool.put(a + off), Ok(()));
                        // A second return of the same frame is refused.
                        assert_eq!(pool.put(a), Err(FrameError::AlreadyFree));
                    }
                    _ => {
                        assert_eq!(
                            pool.put(count as u64 * 2048 + 5),
                            Err(FrameError::OutOfRange)
                        );
                    }
                }
                assert_eq!(pool.len() + loans.len(), count as usize, "leak");
                assert_eq!(pool.on_loan() as usize, loans.len());
            }
            for a in loans.drain(..) {
                pool.put(a).unwrap();
            }
            let mut all: Vec<u64> = std::iter::from_fn(|| pool.get()).collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), count as usize);
        }
    }

    #[test]
    fn xsk_region_bounds() {
        let umem = Umem::new(2048, 4).unwrap();
        let r = umem.region();
        // Safety (test): nothing else references this fresh UMEM.
        unsafe {
            assert!(r.rx_bytes(256, 1500).is_some());
            assert!(r.rx_bytes(256, 1800).is_none()); // crosses into the next frame
            assert!(r.rx_bytes(3 * 2048 + 256, 100).is_some());
            assert!(r.rx_bytes(4 * 2048, 1).is_none());
            let f = r.frame_mut(2048);
            f[0] = 7;
            assert_eq!(r.rx_bytes(2048, 1).unwrap()[0], 7);
        }
    }
}
