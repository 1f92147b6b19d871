//! threeway: a kernel-bypass TCP handshake engine and connection-rate load tester.
//!
//! Layers, with one-way dependencies (see ARCHITECTURE.md):
//!
//! - [`wire`]: zero-copy packet views and `Repr` parse/emit (Ethernet, ARP, IPv4, IPv6, TCP).
//! - [`tcp`]: the sans-IO handshake engine (no I/O, no clock reads; `now` is passed in).
//! - [`xsk`]: our thin AF_XDP layer over `libc` and the XDP steering program loader;
//!   the only module allowed `unsafe`.
//! - [`worker`]: one pinned thread per NIC queue: RX ring -> engine -> TX ring.
//! - [`report`]: counters, histograms and the human/machine output built from them.
//! - [`run`]: command line -> plan -> session (attach, workers, collection, summary).
//! - [`topo`], [`kernel`]: lab topologies (netns + veth) and the kernel-socket baseline.
//! - [`nic`]: Toeplitz RSS, per-queue source ports, `ethtool` parsing, the driver table.
//! - [`cli`], [`units`], [`counters`], [`rng`]: argument parsing, human units, counter sets,
//!   a seeded SplitMix64.
#![deny(unsafe_code)]

pub mod cli;
pub mod counters;
pub mod kernel;
pub mod nic;
pub mod report;
pub mod rng;
pub mod run;
pub mod tcp;
pub mod topo;
pub mod units;
pub mod wire;
pub mod worker;
#[allow(unsafe_code)]
pub mod xsk;
