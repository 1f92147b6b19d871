//! Owned memory mappings: the UMEM area (anonymous) and the four rings (socket offsets).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;

/// An owned `mmap` region, unmapped on drop.
///
/// It hands out only raw pointers: what lives in the region (frames, ring words shared with
/// the kernel) is accessed through the types built on top (`umem`, `ring`), which state
/// their own aliasing rules.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// Safety: `Mmap` is an exclusively owned address range; moving the owner to another thread
// does not change who may touch the memory, and the kernel-shared words in it are accessed
// only through atomics (`ring`).
unsafe impl Send for Mmap {}
// Safety: `&Mmap` exposes only the base pointer and length (no reads or writes), so sharing
// references between threads cannot race by itself.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Private anonymous, page-aligned, zeroed memory; `populate` pre-faults it (MAP_POPULATE).
    pub fn anonymous(len: usize, populate: bool) -> io::Result<Mmap> {
        let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        if populate {
            flags |= libc::MAP_POPULATE;
        }
        Self::map(len, libc::PROT_READ | libc::PROT_WRITE, flags, -1, 0)
    }

    /// A shared mapping of `fd` at `offset` (an AF_XDP ring), pre-faulted.
    pub fn shared(fd: BorrowedFd<'_>, offset: u64, len: usize) -> io::Result<Mmap> {
        Self::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd.as_raw_fd(),
            offset as libc::off_t,
        )
    }

    /// A read-only shared mapping of `fd` (a BPF_F_MMAPABLE map), pre-faulted.
    pub fn shared_read(fd: BorrowedFd<'_>, len: usize) -> io::Result<Mmap> {
        Self::map(
            len,
            libc::PROT_READ,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd.as_raw_fd(),
            0,
        )
    }

    fn map(
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: libc::c_int,
        offset: libc::off_t,
    ) -> io::Result<Mmap> {
        if len == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // Safety: a fresh mapping chosen by the kernel (addr = NULL), so no existing memory is
        // replaced; the result is checked against MAP_FAILED before use.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, offset) };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        Ok(Mmap { ptr, len })
    }

    /// Base address (page-aligned).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: zero-length mappings are rejected at creation.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // Safety: `ptr`/`len` describe exactly the mapping created in `map`, which nobody else
        // unmaps; every pointer derived from it is owned by a structure that holds this
        // `Mmap` (or an `Arc` of it), so none outlives the mapping.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
