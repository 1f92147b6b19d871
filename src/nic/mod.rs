//! Real NICs: the receive-side-scaling (RSS) maths that decides which queue a reply lands on
//! ([`rss`]), reading a NIC's RSS state and features through `ethtool` ([`ethtool`]), and what
//! each driver supports for XDP and AF_XDP zero-copy ([`drivers`]). See `deploy/nic-setup` for
//! the host side and notes `afxdp.md` §12 for why the client chooses its source ports.
//!
//! Nothing here does I/O on the packet path: a run reads the NIC once at start-up, builds
//! per-worker port bitmaps with [`rss::Rss::port_bitmaps`], and re-reads on channel or RETA
//! changes.

pub mod drivers;
pub mod ethtool;
pub mod rss;
