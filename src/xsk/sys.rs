//! Constants missing from `libc` and thin syscall wrappers returning `io::Result`.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `XDP_MAX_TX_SKB_BUDGET` (Linux 6.17+): per-`sendto` descriptor budget in copy mode,
/// range [32, TX ring size]. Not in libc 0.2.191.
pub const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;

/// The kernel's copy-mode TX budget when `XDP_MAX_TX_SKB_BUDGET` is not set or not supported.
pub const DEFAULT_TX_BUDGET: u32 = 32;

/// `BPF_PROG_TEST_RUN` (include/uapi/linux/bpf.h, `union bpf_attr`'s `test` member).
const BPF_PROG_TEST_RUN: libc::c_long = 10;

#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Runs a loaded program once on `data` (`BPF_PROG_TEST_RUN`); returns its return value
/// (for XDP the action). The kernel refuses frames shorter than 14 bytes (EINVAL).
pub fn prog_test_run(prog: std::os::fd::BorrowedFd<'_>, data: &[u8]) -> io::Result<u32> {
    test_run(prog, data, None).map(|attr| attr.retval)
}

/// Like [`prog_test_run`], and returns the frame as the program left it (`XDP_TX` answers
/// rewritten in place), at most `out_cap` bytes.
pub fn prog_test_run_out(
    prog: std::os::fd::BorrowedFd<'_>,
    data: &[u8],
    out_cap: usize,
) -> io::Result<(u32, Vec<u8>)> {
    let mut out = vec![0u8; out_cap];
    let attr = test_run(prog, data, Some(&mut out))?;
    out.truncate((attr.data_size_out as usize).min(out_cap));
    Ok((attr.retval, out))
}

/// One `BPF_PROG_TEST_RUN` of `data`, the output frame into `out` if given; the attribute
/// block as the kernel left it (`retval`, `data_size_out`).
fn test_run(
    prog: std::os::fd::BorrowedFd<'_>,
    data: &[u8],
    out: Option<&mut [u8]>,
) -> io::Result<TestRunAttr> {
    // No buffer: data_out stays 0. (A pointer with size 0 would let the kernel copy the whole
    // frame to it.)
    let (data_out, data_size_out) = match out {
        Some(out) => (out.as_mut_ptr() as u64, out.len() as u32),
        None => (0, 0),
    };
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: data.len() as u32,
        data_in: data.as_ptr() as u64,
        data_size_out,
        data_out,
        repeat: 1,
        ..Default::default()
    };
    // Safety: `attr` is a valid, zero-padded `bpf_attr` prefix of the size passed; the kernel
    // only reads `data` (data_size_in bytes, alive for the call), writes at most
    // `data_size_out` bytes to `out` when one is given (that long, borrowed for the call) and
    // writes `attr`'s outputs; no ctx buffers are given (their pointers are 0).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            &mut attr as *mut TestRunAttr,
            size_of::<TestRunAttr>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(last());
    }
    Ok(attr)
}

/// The last OS error as an `io::Error`.
fn last() -> io::Error {
    io::Error::last_os_error()
}

/// A worker's clock (`epoch.elapsed()`) and the XDP program's (`bpf_ktime_get_ns`, raw
/// CLOCK_MONOTONIC) differ by the epoch's CLOCK_MONOTONIC time: read between two reads of the
/// worker's clock (error well under a microsecond).
pub fn monotonic_epoch(epoch: std::time::Instant) -> u64 {
    let a = epoch.elapsed().as_nanos() as u64;
    let m = monotonic_ns();
    let b = epoch.elapsed().as_nanos() as u64;
    m.saturating_sub(a + (b - a) / 2)
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of `bpf_ktime_get_ns()` (the XDP program's RX
/// stamps) and of `std::time::Instant` on Linux.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: `ts` is a live, writable timespec for the whole call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(rc, 0, "CLOCK_MONOTONIC always exists on Linux");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)`.
pub fn xdp_socket() -> io::Result<OwnedFd> {
    // Safety: plain syscall with constant arguments; no pointers involved.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last());
    }
    // Safety: `fd` was just returned by socket(2), is valid and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, &value, sizeof value)`.
pub fn setsockopt<T: Copy>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // Safety: `value` is a live reference to `size_of::<T>()` readable bytes for the whole call;
    // the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(last()) } else { Ok(()) }
}

/// `getsockopt` into a zero-initialised `T`; returns the value and the length the kernel wrote.
///
/// Only for plain-old-data UAPI structs (every bit pattern, including all zeroes, is valid).
pub fn getsockopt<T: Copy>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<(T, usize)> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    // Safety: `value` provides `len` writable bytes and `len` is a valid in/out length; the
    // kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(last());
    }
    // Safety: `value` was zero-initialised and T is a C POD struct of integers (callers in
    // this module use only libc's xdp_* structs, u32 and c_int), so every byte pattern is
    // valid.
    Ok((unsafe { value.assume_init() }, len as usize))
}

/// `bind(fd, sockaddr_xdp)`.
pub fn bind_xdp(fd: &impl AsRawFd, addr: &libc::sockaddr_xdp) -> io::Result<()> {
    // Safety: `addr` is a live, fully initialised sockaddr_xdp and the length matches it.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (addr as *const libc::sockaddr_xdp).cast(),
            size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(last()) } else { Ok(()) }
}

/// TX kick: `sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0)`.
pub fn kick_tx(fd: RawFd) -> io::Result<()> {
    // Safety: a zero-length send with null buffer and address is the documented AF_XDP kick;
    // the kernel dereferences neither pointer.
    let rc = unsafe {
        libc::sendto(
            fd,
            std::ptr::null(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null(),
            0,
        )
    };
    if rc < 0 { Err(last()) } else { Ok(()) }
}

/// RX wakeup: `recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)`.
pub fn wake_rx(fd: RawFd) -> io::Result<()> {
    // Safety: a zero-length receive with null buffer and address is the documented AF_XDP
    // wakeup; the kernel writes through neither pointer.
    let rc = unsafe {
        libc::recvfrom(
            fd,
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if rc < 0 { Err(last()) } else { Ok(()) }
}

/// `ppoll(fds, POLLIN, timeout)` with nanosecond resolution over one or two descriptors;
/// errors and timeouts both mean "nothing to do now".
pub fn poll_in(fds: &[RawFd], timeout: std::time::Duration) {
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: libc::POLLIN,
        revents: 0,
    }; 2];
    let n = fds.len().min(2);
    for (p, fd) in pfds.iter_mut().zip(fds) {
        p.fd = *fd;
    }
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // Safety: `pfds` holds `n` (<= 2) valid, initialised pollfds and `ts` a valid timespec, both
    // living across the call; a null signal mask leaves the mask unchanged.
    unsafe {
        libc::ppoll(pfds.as_mut_ptr(), n as libc::nfds_t, &ts, std::ptr::null());
    }
}

/// An eventfd one thread writes to wake another that sleeps in `poll_in` on it.
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub fn new() -> io::Result<EventFd> {
        // Safety: eventfd takes no pointers; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // Safety: `fd` was just returned by eventfd and is owned by nobody else.
        Ok(EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Adds 1 to the counter (makes the descriptor readable). EAGAIN (counter full) is fine.
    pub fn signal(&self) {
        let one: u64 = 1;
        // Safety: writes 8 bytes from a live u64 to a descriptor we own.
        unsafe {
            libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    /// Resets the counter (EAGAIN when it was already 0 is fine).
    pub fn clear(&self) {
        let mut v: u64 = 0;
        // Safety: reads at most 8 bytes into a live u64 from a descriptor we own.
        unsafe {
            libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8);
        }
    }
}

/// Symbolic name of an errno value, for error messages.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::E2BIG => "E2BIG",
        libc::ERANGE => "ERANGE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENOBUFS => "ENOBUFS",
        _ => "errno",
    }
}

#[cfg(test)]
mod tests {
    use super::{monotonic_epoch, monotonic_ns};
    use std::time::{Duration, Instant};

    #[test]
    fn monotonic_epoch_matches_the_instant_clock() {
        let epoch = Instant::now() - Duration::from_millis(5);
        let m = monotonic_epoch(epoch);
        let since = epoch.elapsed().as_nanos() as u64;
        let err = (monotonic_ns() - m).abs_diff(since);
        assert!(
            err < 1_000_000,
            "{err} ns between CLOCK_MONOTONIC and Instant"
        );
    }
}
