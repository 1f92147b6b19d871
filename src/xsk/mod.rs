//! Our thin AF_XDP layer over `libc`, and the loader of the XDP steering program.
//!
//! The only module allowed `unsafe`; every `unsafe` block says why it is sound.
//!
//! - [`Xsk`]: one socket per (interface, queue) with a private UMEM, four rings and a
//!   free-frame pool; [`Xsk::rx_burst`], [`Xsk::tx`] + [`TxWriter`], [`Xsk::flush`].
//! - [`Steer`]: attaches `bpf/steer.bpf.c` (via a bpf_link: nothing survives the process)
//!   and registers sockets per queue.
//! - [`iface`]: interface index, MAC, queue counts, network namespaces.
//!
//! Kernel facts this relies on are in `shared/notes/afxdp.md`.

mod error;
mod handshake;
pub mod iface;
mod mmap;
pub mod ring;
mod socket;
mod steer;
mod sys;
mod tx;
pub mod umem;

use std::fmt;

pub use error::{SteerError, XskError};
pub use handshake::{HsClient, HsConfig, HsMarks};
pub use socket::{XdpStatistics, Xsk, XskCounters};
pub use steer::{
    MAX_ADDR_ENTRIES, Steer, SteerConfig, SteerCounters, SteerProbe, XDP_ACTION_DROP,
    XDP_ACTION_PASS, XDP_ACTION_TX, XdpAttachMode, XdpVerdict,
};
pub use sys::{DEFAULT_TX_BUDGET, EventFd, XDP_MAX_TX_SKB_BUDGET, monotonic_epoch, monotonic_ns};
pub use tx::TxWriter;

/// Sleeps until `e` is signalled or `timeout` passes.
pub fn wait_fd(e: &EventFd, timeout: std::time::Duration) {
    sys::poll_in(&[e.raw()], timeout);
}

/// Zero-copy policy for [`Xsk::open`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZeroCopy {
    /// Try zero-copy, fall back to copy mode.
    #[default]
    Auto,
    /// Zero-copy or fail.
    On,
    /// Copy mode only.
    Off,
}

/// The mode the kernel actually bound the socket in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    ZeroCopy,
    Copy,
}

impl fmt::Display for BindMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindMode::ZeroCopy => "zero-copy",
            BindMode::Copy => "copy",
        })
    }
}

/// What [`Xsk::open`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XskConfig {
    pub ifname: String,
    pub queue_id: u32,
    /// UMEM frame size: 2048 or 4096.
    pub frame_size: u32,
    /// UMEM frames (at least 2x `ring_size`; 4x is typical).
    pub frame_count: u32,
    /// RX and TX ring entries (power of two); FILL gets 2x, COMPLETION the same.
    pub ring_size: u32,
    pub zero_copy: ZeroCopy,
    /// Copy-mode descriptors per `sendto` (`XDP_MAX_TX_SKB_BUDGET`, clamped to
    /// [32, ring_size]); 0 leaves the kernel default (32). Silently 32 on kernels before 6.17.
    pub tx_budget: u32,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            ifname: String::new(),
            queue_id: 0,
            frame_size: 2048,
            frame_count: 8192,
            ring_size: 2048,
            zero_copy: ZeroCopy::Auto,
            tx_budget: 256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsk_send_and_display() {
        fn is_send<T: Send>() {}
        is_send::<Xsk>();
        is_send::<Steer>();
        assert_eq!(BindMode::ZeroCopy.to_string(), "zero-copy");
        assert_eq!(BindMode::Copy.to_string(), "copy");
        let e = Xsk::open(&XskConfig {
            ifname: "lo".into(),
            frame_size: 1000,
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("frame size 1000"), "{e}");
    }
}
