//! `Xsk`: one AF_XDP socket with its private UMEM, four rings and free-frame pool.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::XskError;
use super::mmap::Mmap;
use super::ring::{Consumer, Producer, RingOffsets, map_len};
use super::tx::{TxSide, TxWriter};
use super::umem::{FramePool, Umem};
use super::{BindMode, XskConfig, ZeroCopy, iface, sys};

type Desc = libc::xdp_desc;

crate::counters! {
    /// The six kernel counters of `XDP_STATISTICS`.
    pub struct XdpStatistics {
        /// Dropped for reasons other than an invalid descriptor (e.g. frame larger than the UMEM frame).
        pub rx_dropped,
        pub rx_invalid_descs,
        pub tx_invalid_descs,
        /// Dropped because the RX ring was full (we were too slow).
        pub rx_ring_full,
        /// Times the kernel found the FILL ring empty.
        pub rx_fill_ring_empty_descs,
        /// Times the kernel found the TX ring empty on a kick.
        pub tx_ring_empty_descs,
    }
}

crate::counters! {
    /// Our own counters (user-space side of the socket).
    pub struct XskCounters {
        /// Frames taken from the RX ring.
        pub rx,
        /// Descriptors submitted to the TX ring.
        pub tx,
        /// TX completions reaped (frames back in the pool).
        pub tx_completed,
        /// `sendto` kicks.
        pub tx_kicks,
        /// `recvfrom` wakeups (FILL need_wakeup set).
        pub rx_wakeups,
        /// Kicks/wakeups that failed with something other than EAGAIN (EBUSY, ENOBUFS, ENETDOWN...).
        pub kick_errors,
        /// Kicks answered EAGAIN (copy-mode budget used up, completion ring full, driver busy).
        pub kick_eagain,
        /// `TxWriter::buffer` found no free frame.
        pub no_free_frame,
        /// `TxWriter::commit` found the TX ring full even after a kick: frame dropped.
        pub tx_ring_full,
        /// `TxWriter::commit` with a length of 0 or more than a frame: frame dropped.
        pub tx_bad_len,
        /// RX descriptors pointing outside their frame (skipped, frame recycled).
        pub rx_invalid,
        /// RX frames without the XDP program's metadata (the driver gave none, or
        /// `--rx-timestamp loop`): their receive time is the worker's loop clock.
        pub rx_unstamped,
        /// RX frames that found no FILL slot (kept in the pool until the next refill).
        pub fill_short,
        /// Addresses returned by the kernel that the frame pool refused (must stay 0).
        pub frame_errors,
    }
}

/// An AF_XDP socket bound to one (interface, queue), with a private UMEM.
///
/// Frame ownership: every UMEM frame is in the `FramePool`, or on the FILL/RX circuit
/// (`rx_owned` of them: FILL ring, kernel, RX ring, an `rx_burst` callback), or on the TX
/// circuit (a `TxWriter` buffer, TX ring, kernel, completion ring). RX frames go straight back
/// to FILL after the callback; TX frames come back to the pool through the completion ring.
pub struct Xsk {
    // Field order is drop order: rings are unmapped, then the socket closed, then the UMEM
    // unmapped (nothing may reference the UMEM after it is gone).
    rx: Consumer<Desc>,
    fill: Producer<u64>,
    txs: TxSide,
    counters: XskCounters,
    fd: OwnedFd,
    umem: Umem,
    ifname: String,
    queue_id: u32,
    mode: BindMode,
    tx_budget: u32,
    /// Frames meant to circulate on FILL/RX.
    rx_target: u32,
    /// Frames currently on FILL/RX (including those inside an `rx_burst` callback).
    rx_owned: u32,
    /// First ENETDOWN of the current streak.
    netdown_since: Option<Instant>,
    /// EBUSY answers bind retried through.
    bind_retries: u32,
}

/// How long ENETDOWN may persist before `flush` reports a dead device.
const NETDOWN_GRACE: Duration = Duration::from_secs(1);

/// EBUSY backoff for bind (a just-closed socket releases its queue asynchronously, ~200 ms).
const EBUSY_BACKOFF_MS: [u64; 10] = [10, 20, 40, 80, 120, 150, 150, 150, 150, 150];

fn sol_xdp<T: Copy>(fd: &OwnedFd, name: libc::c_int, v: &T) -> io::Result<()> {
    sys::setsockopt(fd, libc::SOL_XDP, name, v)
}

impl Xsk {
    /// Creates the socket, registers the UMEM, maps the rings, primes FILL and binds
    /// (zero-copy first under `ZeroCopy::Auto`, then copy), with `XDP_USE_NEED_WAKEUP`.
    pub fn open(cfg: &XskConfig) -> Result<Xsk, XskError> {
        validate(cfg)?;
        let ifindex = iface::index(&cfg.ifname)?;
        let at = format!("{} queue {}", cfg.ifname, cfg.queue_id);
        let ring = cfg.ring_size;
        let fill_size = 2 * ring;

        let fd = sys::xdp_socket().map_err(|e| {
            let hint = (e.raw_os_error() == Some(libc::EAFNOSUPPORT))
                .then(|| "this kernel lacks AF_XDP (CONFIG_XDP_SOCKETS)".to_string());
            XskError::new(format!("AF_XDP socket for {at}"), e, None, hint)
        })?;

        let umem = Umem::new(cfg.frame_size, cfg.frame_count).map_err(|e| {
            XskError::new(
                format!(
                    "mmap of the {} MiB UMEM for {at}",
                    (cfg.frame_size as u64 * cfg.frame_count as u64) >> 20
                ),
                e,
                None,
                Some("lower the frame count".into()),
            )
        })?;
        // Zeroed: tx_metadata_len and flags must be 0 (padding read as garbage gives EINVAL).
        // Safety: xdp_umem_reg is plain integers; all-zero is a valid value.
        let mut reg: libc::xdp_umem_reg = unsafe { std::mem::zeroed() };
        reg.addr = umem.addr();
        reg.len = umem.len();
        reg.chunk_size = cfg.frame_size;
        // RX data lands at chunk + XDP_PACKET_HEADROOM (256) + this; the XDP program's RX
        // stamp (`RX_META_LEN` bytes) sits right before the data. With 16 bytes of headroom
        // the stamp shares the data's first cache line instead of costing one of its own.
        reg.headroom = super::umem::RX_META_LEN as u32;
        sol_xdp(&fd, libc::XDP_UMEM_REG, &reg).map_err(|e| {
            let hint = matches!(e.raw_os_error(), Some(libc::ENOMEM) | Some(libc::EPERM) | Some(libc::ENOBUFS))
                .then(|| "RLIMIT_MEMLOCK too low: run as root or `ulimit -l unlimited`, or lower the frame count".into());
            XskError::new(format!("UMEM registration for {at}"), e, None, hint)
        })?;

        let sizes = [
            (libc::XDP_UMEM_FILL_RING, fill_size, "FILL"),
            (libc::XDP_UMEM_COMPLETION_RING, ring, "COMPLETION"),
            (libc::XDP_RX_RING, ring, "RX"),
            (libc::XDP_TX_RING, ring, "TX"),
        ];
        for (opt, size, name) in sizes {
            sol_xdp(&fd, opt, &size).map_err(|e| {
                XskError::new(
                    format!("sizing the {name} ring ({size}) for {at}"),
                    e,
                    None,
                    None,
                )
            })?;
        }

        let (off, len) =
            sys::getsockopt::<libc::xdp_mmap_offsets>(&fd, libc::SOL_XDP, libc::XDP_MMAP_OFFSETS)
                .map_err(|e| XskError::new(format!("XDP_MMAP_OFFSETS for {at}"), e, None, None))?;
        if len != std::mem::size_of::<libc::xdp_mmap_offsets>() {
            return Err(XskError::config(
                format!("XDP_MMAP_OFFSETS for {at}"),
                "the kernel returned the pre-5.4 layout (no need_wakeup flags)",
                Some("use Linux 5.4 or newer".into()),
            ));
        }
        let map = |pgoff: u64, off: RingOffsets, bytes: usize, name: &str| {
            Mmap::shared(fd.as_fd(), pgoff, bytes)
                .map(Arc::new)
                .map_err(|e| {
                    XskError::new(format!("mmap of the {name} ring for {at}"), e, None, None)
                })
                .map(|m| (m, off))
        };
        let ring_err = |name: &'static str| {
            move |e: io::Error| XskError::new(format!("{name} ring layout"), e, None, None)
        };
        let (m, o) = map(
            libc::XDP_PGOFF_RX_RING as u64,
            off.rx.into(),
            map_len::<Desc>(&off.rx.into(), ring),
            "RX",
        )?;
        let rx = {
            // Safety: this socket's RX ring, just mapped; this is its only user-space side.
            unsafe { Consumer::<Desc>::new(m, o, ring) }
        }
        .map_err(ring_err("RX"))?;
        let (m, o) = map(
            libc::XDP_PGOFF_TX_RING as u64,
            off.tx.into(),
            map_len::<Desc>(&off.tx.into(), ring),
            "TX",
        )?;
        let tx = {
            // Safety: this socket's TX ring, just mapped; this is its only user-space side.
            unsafe { Producer::<Desc>::new(m, o, ring) }
        }
        .map_err(ring_err("TX"))?;
        let (m, o) = map(
            libc::XDP_UMEM_PGOFF_FILL_RING,
            off.fr.into(),
            map_len::<u64>(&off.fr.into(), fill_size),
            "FILL",
        )?;
        let mut fill = {
            // Safety: this socket's FILL ring, just mapped; this is its only user-space side.
            unsafe { Producer::<u64>::new(m, o, fill_size) }
        }
        .map_err(ring_err("FILL"))?;
        let (m, o) = map(
            libc::XDP_UMEM_PGOFF_COMPLETION_RING,
            off.cr.into(),
            map_len::<u64>(&off.cr.into(), ring),
            "COMP",
        )?;
        let comp = {
            // Safety: this socket's COMPLETION ring, just mapped; this is its only user-space side.
            unsafe { Consumer::<u64>::new(m, o, ring) }
        }
        .map_err(ring_err("COMPLETION"))?;

        // Prime FILL, leaving slack for the kernel's lazily published FILL consumer index.
        let mut pool = FramePool::full(cfg.frame_size, cfg.frame_count);
        let rx_target = (fill_size - ring / 2).min(cfg.frame_count / 2);
        let mut r = fill.reserve(rx_target);
        let n = r.len();
        for i in 0..n {
            r.set(i, pool.get().expect("frame_count/2 frames are free"));
        }
        r.commit(n);
        fill.submit();

        let mut bind_retries = 0;
        let mode = bind(&fd, ifindex, cfg, &at, &mut bind_retries)?;

        let mut tx_budget = sys::DEFAULT_TX_BUDGET;
        if cfg.tx_budget > 0 {
            let want = cfg.tx_budget.clamp(sys::DEFAULT_TX_BUDGET, ring);
            if sol_xdp(&fd, sys::XDP_MAX_TX_SKB_BUDGET, &want).is_ok() {
                tx_budget = want;
            }
        }

        let txs = TxSide {
            tx,
            comp,
            pool,
            region: umem.region(),
            fd: fd.as_raw_fd(),
            copy: mode == BindMode::Copy,
            budget: tx_budget,
            frame_size: cfg.frame_size,
            outstanding: 0,
        };
        Ok(Xsk {
            rx,
            fill,
            txs,
            counters: XskCounters::default(),
            fd,
            umem,
            ifname: cfg.ifname.clone(),
            queue_id: cfg.queue_id,
            mode,
            tx_budget,
            rx_target,
            rx_owned: n,
            netdown_since: None,
            bind_retries,
        })
    }

    /// The socket (for XSKMAP registration and poll).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Zero-copy or copy, as confirmed by `XDP_OPTIONS` after bind.
    pub fn mode(&self) -> BindMode {
        self.mode
    }

    /// Descriptors per copy-mode `sendto` (32 unless `XDP_MAX_TX_SKB_BUDGET` was accepted).
    pub fn tx_budget(&self) -> u32 {
        self.tx_budget
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }

    /// UMEM frame size in bytes.
    pub fn frame_size(&self) -> u32 {
        self.umem.frame_size()
    }

    /// Frames free for TX right now.
    pub fn free_frames(&self) -> usize {
        self.txs.pool.len()
    }

    /// Frames waiting in the RX ring (one Acquire load of the producer index): the backlog the
    /// worker serves before it opens more connections.
    pub fn rx_backlog(&mut self) -> u32 {
        self.rx.available(u32::MAX)
    }

    /// Frames that can be queued for TX right now without loss: free UMEM frames, bounded by
    /// the free TX ring slots (frames still to be reaped from completions are not counted).
    pub fn tx_room(&mut self) -> u32 {
        (self.txs.pool.len() as u32).min(self.txs.tx.free(u32::MAX))
    }

    /// Peeks up to `max` RX descriptors, calls `f(frame, rx_ns, &mut tx)` for each, then gives
    /// the frames back to FILL (one store) and releases the RX slots (one store). Returns the
    /// count. `rx_ns`: the frame's CLOCK_MONOTONIC arrival at the XDP hook, from its metadata
    /// (`None` for RST/FIN, which the program does not time, and, counted in `rx_unstamped`,
    /// when there is no metadata).
    /// Calls `f` on each of the next `max` received frames without taking them (the next
    /// `rx_burst` does): a first pass over a burst, to warm its lookups.
    pub fn rx_look(&mut self, max: usize, mut f: impl FnMut(&[u8])) {
        let max = max.min(self.rx.size() as usize) as u32;
        let region = self.txs.region;
        let pk = self.rx.peek(max);
        for i in 0..pk.len() {
            let d = pk.get(i);
            // Safety: the frame is on the RX ring and not yet released, so the kernel does not
            // write it; we only read it, and nothing else holds it until `rx_burst`.
            if let Some(bytes) = unsafe { region.rx_bytes(d.addr, d.len as usize) } {
                f(bytes);
            }
        }
        // Not released: the frames stay for `rx_burst`.
    }

    pub fn rx_burst(
        &mut self,
        max: usize,
        mut f: impl FnMut(&[u8], Option<u64>, &mut TxWriter<'_>),
    ) -> usize {
        let max = max.min(self.rx.size() as usize) as u32;
        let Xsk {
            rx,
            fill,
            txs,
            counters,
            rx_owned,
            ..
        } = self;
        let pk = rx.peek(max);
        let n = pk.len();
        if n == 0 {
            return 0;
        }
        let region = txs.region;
        {
            let mut w = TxWriter {
                side: txs,
                counters,
                cur: None,
            };
            for i in 0..n {
                let d = pk.get(i);
                // Safety: the frame came off the RX ring and goes back to FILL only after this
                // loop, so the kernel does not write it meanwhile; TxWriter hands out only
                // pooled frames, never this one, so no `&mut` aliases it.
                match unsafe { region.rx_bytes(d.addr, d.len as usize) } {
                    Some(bytes) => {
                        // Safety: as above, the frame (and its headroom) is ours until FILL.
                        let stamp = match unsafe { region.take_rx_stamp(d.addr) } {
                            None => {
                                w.counters.rx_unstamped += 1;
                                None
                            }
                            Some(0) => None, // RST/FIN: deliberately not timed
                            t => t,
                        };
                        f(bytes, stamp, &mut w)
                    }
                    None => w.counters.rx_invalid += 1,
                }
            }
        }
        let mut r = fill.reserve(n);
        let k = r.len();
        for i in 0..k {
            r.set(i, txs.pool.base(pk.get(i).addr));
        }
        r.commit(k);
        for i in k..n {
            // FILL short (kernel not yet caught up): park in the pool, refill later.
            if txs.pool.put(pk.get(i).addr).is_err() {
                counters.frame_errors += 1;
            }
            *rx_owned -= 1;
            counters.fill_short += 1;
        }
        fill.submit();
        pk.release();
        counters.rx += n as u64;
        n as usize
    }

    /// A writer for timer- or pacer-driven sends; `flush` submits what it queued.
    pub fn tx(&mut self) -> TxWriter<'_> {
        TxWriter {
            side: &mut self.txs,
            counters: &mut self.counters,
            cur: None,
        }
    }

    /// Submits pending TX descriptors (one Release store), kicks when the kernel needs it,
    /// reaps completions, refills FILL, wakes RX when FILL's need_wakeup flag is set.
    /// Transient errors are counted and retried on the next call; `Err` only when the device
    /// is gone (ENXIO) or down for more than a second (ENETDOWN).
    pub fn flush(&mut self) -> Result<(), XskError> {
        self.txs.submit(&mut self.counters);
        let mut hard = self.txs.kick(&mut self.counters);
        self.txs.reap(&mut self.counters);
        self.refill();
        if self.fill.needs_wakeup() {
            self.counters.rx_wakeups += 1;
            if let Err(e) = sys::wake_rx(self.fd.as_raw_fd()) {
                self.counters.kick_errors += 1;
                if matches!(e.raw_os_error(), Some(libc::ENETDOWN) | Some(libc::ENXIO)) {
                    hard = Some(e);
                }
            }
        }
        match hard {
            None => {
                self.netdown_since = None;
                Ok(())
            }
            Some(e) => self.dead_check(e),
        }
    }

    fn dead_check(&mut self, e: io::Error) -> Result<(), XskError> {
        let at = format!("AF_XDP I/O on {} queue {}", self.ifname, self.queue_id);
        if e.raw_os_error() == Some(libc::ENXIO) || iface::index(&self.ifname).is_err() {
            return Err(XskError::new(
                at,
                e,
                Some("the socket was unbound: the device went away".into()),
                Some("check the interface and restart".into()),
            )
            .dead());
        }
        let since = *self.netdown_since.get_or_insert_with(Instant::now);
        if since.elapsed() > NETDOWN_GRACE {
            let hint = format!("bring it up: `ip link set dev {} up`", self.ifname);
            return Err(
                XskError::new(at, e, Some("the interface stayed down".into()), Some(hint)).dead(),
            );
        }
        Ok(())
    }

    /// Tops FILL back up to its target from the pool (only after a short FILL reservation).
    fn refill(&mut self) {
        if self.rx_owned >= self.rx_target {
            return;
        }
        let want = (self.rx_target - self.rx_owned).min(self.txs.pool.len() as u32);
        let mut r = self.fill.reserve(want);
        let mut k = 0;
        while k < r.len() {
            match self.txs.pool.get() {
                Some(a) => r.set(k, a),
                None => break,
            }
            k += 1;
        }
        r.commit(k);
        self.rx_owned += k;
        self.fill.submit();
    }

    /// Liveness probe for a socket with nothing to send: when its device is unregistered the
    /// kernel unbinds the socket and sets its error (`SO_ERROR` = ENETDOWN) but `poll()` does
    /// not wake for it, and `flush` only notices on a kick (TX). An idle server would run on
    /// forever; the workers call this every report (100 ms). `Err` as `flush` (device gone).
    pub fn check_alive(&mut self) -> Result<(), XskError> {
        let err = match sys::getsockopt::<libc::c_int>(&self.fd, libc::SOL_SOCKET, libc::SO_ERROR) {
            Ok((0, _)) => return Ok(()),
            Ok((errno, _)) => io::Error::from_raw_os_error(errno),
            Err(e) => e,
        };
        if matches!(err.raw_os_error(), Some(libc::ENETDOWN) | Some(libc::ENXIO)) {
            return self.dead_check(err);
        }
        Ok(())
    }

    /// The kernel's `XDP_STATISTICS`.
    pub fn statistics(&self) -> Result<XdpStatistics, XskError> {
        let (s, _) =
            sys::getsockopt::<libc::xdp_statistics>(&self.fd, libc::SOL_XDP, libc::XDP_STATISTICS)
                .map_err(|e| {
                    XskError::new(
                        format!("XDP_STATISTICS on {} queue {}", self.ifname, self.queue_id),
                        e,
                        None,
                        None,
                    )
                })?;
        Ok(XdpStatistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
        })
    }

    /// Our counters.
    /// Blocks until RX frames arrive, `also` (an eventfd another thread may signal) becomes
    /// readable, or `timeout` passes (`ppoll(POLLIN)`), so an idle worker does not spin. In
    /// copy mode `poll` also pushes pending TX.
    pub fn wait(&self, also: Option<&sys::EventFd>, timeout: Duration) {
        match also {
            Some(e) => sys::poll_in(&[self.fd(), e.raw()], timeout),
            None => sys::poll_in(&[self.fd()], timeout),
        }
    }

    pub fn counters(&self) -> XskCounters {
        self.counters
    }

    /// How many EBUSY answers `open` waited out (the queue's previous socket was still
    /// being released).
    pub fn bind_retries(&self) -> u32 {
        self.bind_retries
    }

    /// Submitted TX descriptors not yet completed by the kernel.
    pub fn tx_outstanding(&self) -> u32 {
        self.txs.outstanding
    }
}

fn validate(cfg: &XskConfig) -> Result<(), XskError> {
    let what = || {
        format!(
            "AF_XDP configuration for {} queue {}",
            cfg.ifname, cfg.queue_id
        )
    };
    if !matches!(cfg.frame_size, 2048 | 4096) {
        return Err(XskError::config(
            what(),
            format!("frame size {} is not 2048 or 4096", cfg.frame_size),
            None,
        ));
    }
    if !cfg.ring_size.is_power_of_two() || !(64..=(1 << 16)).contains(&cfg.ring_size) {
        return Err(XskError::config(
            what(),
            format!(
                "ring size {} is not a power of two in 64..=65536",
                cfg.ring_size
            ),
            None,
        ));
    }
    if cfg.frame_count < 2 * cfg.ring_size {
        return Err(XskError::config(
            what(),
            format!(
                "{} frames cannot feed rings of {}",
                cfg.frame_count, cfg.ring_size
            ),
            Some(format!(
                "use at least {} frames (4x the ring size is typical)",
                2 * cfg.ring_size
            )),
        ));
    }
    Ok(())
}

fn bind(
    fd: &OwnedFd,
    ifindex: u32,
    cfg: &XskConfig,
    at: &str,
    retries: &mut u32,
) -> Result<BindMode, XskError> {
    let attempts: &[u16] = match cfg.zero_copy {
        ZeroCopy::Auto => &[libc::XDP_ZEROCOPY, libc::XDP_COPY],
        ZeroCopy::On => &[libc::XDP_ZEROCOPY],
        ZeroCopy::Off => &[libc::XDP_COPY],
    };
    let mut last = None;
    for (i, &mode) in attempts.iter().enumerate() {
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: mode | libc::XDP_USE_NEED_WAKEUP,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: cfg.queue_id,
            sxdp_shared_umem_fd: 0,
        };
        match bind_retry(fd, &sa, retries) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => {
                let fallback = i + 1 < attempts.len()
                    && matches!(
                        e.raw_os_error(),
                        Some(libc::EOPNOTSUPP) | Some(libc::EINVAL)
                    );
                last = Some((e, mode));
                if !fallback {
                    break;
                }
            }
        }
    }
    if let Some((e, mode)) = last {
        return Err(bind_error(e, mode, cfg, at));
    }
    let (opts, _) = sys::getsockopt::<libc::xdp_options>(fd, libc::SOL_XDP, libc::XDP_OPTIONS)
        .map_err(|e| XskError::new(format!("XDP_OPTIONS on {at}"), e, None, None))?;
    Ok(if opts.flags & libc::XDP_OPTIONS_ZEROCOPY != 0 {
        BindMode::ZeroCopy
    } else {
        BindMode::Copy
    })
}

/// bind(2), retrying EBUSY (the queue's previous socket is released asynchronously).
fn bind_retry(fd: &OwnedFd, sa: &libc::sockaddr_xdp, retries: &mut u32) -> io::Result<()> {
    let mut backoff = EBUSY_BACKOFF_MS.iter();
    loop {
        match sys::bind_xdp(fd, sa) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => match backoff.next() {
                Some(ms) => {
                    *retries += 1;
                    std::thread::sleep(Duration::from_millis(*ms))
                }
                None => return Err(e),
            },
            r => return r,
        }
    }
}

fn bind_error(e: io::Error, mode: u16, cfg: &XskConfig, at: &str) -> XskError {
    let what = format!("AF_XDP bind on {at}");
    let zc = mode == libc::XDP_ZEROCOPY;
    let (why, hint): (Option<String>, Option<String>) = match e.raw_os_error() {
        Some(libc::EINVAL) => match iface::queue_count(&cfg.ifname) {
            Ok((rx, tx)) if cfg.queue_id >= rx.min(tx) => {
                let n = rx.min(tx);
                (
                    Some(format!("queue_id >= the device's queue count {n}")),
                    Some(format!("use --queues {n}")),
                )
            }
            _ if zc => (
                Some("zero-copy constraints not met (MTU + 26 must fit the frame)".into()),
                Some("use --zero-copy auto (or off), or a smaller MTU".into()),
            ),
            _ => (
                Some("invalid bind (queue, MTU larger than the frame, or flags)".into()),
                None,
            ),
        },
        Some(libc::EOPNOTSUPP) if zc => (
            Some(format!(
                "the driver of {} has no AF_XDP zero-copy",
                cfg.ifname
            )),
            Some("use --zero-copy auto (or off)".into()),
        ),
        Some(libc::EBUSY) => (
            Some("the queue is still held by another AF_XDP socket after ~1 s of retries".into()),
            Some("stop the other user of this queue (another threeway?) and retry".into()),
        ),
        Some(libc::ENETDOWN) => (
            Some("the interface is down".into()),
            Some(format!("`ip link set dev {} up`", cfg.ifname)),
        ),
        Some(libc::ENODEV) => (Some("the interface disappeared".into()), None),
        _ => (None, None),
    };
    XskError::new(what, e, why, hint)
}
