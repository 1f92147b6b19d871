//! The steering program on single frames: its Rust model (`SteerConfig::verdict`, over the one
//! header reader) and `SteerProbe`, the loaded program run with `BPF_PROG_TEST_RUN`.

use super::*;

/// What the steering program does with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpVerdict {
    /// To the AF_XDP socket of the queue (TCP or ARP that is ours).
    Steer,
    /// To the kernel.
    Pass,
    /// Dropped (not because no socket was registered: that is `Steer`).
    Drop,
}

impl SteerConfig {
    /// The Rust model of the program's decision, from the one header reader
    /// (`wire::headers`): TCP to one of our addresses and ports, or ARP for an emulated
    /// address, is steered; everything else (malformed, fragments, other protocols, kernel
    /// addresses) is passed. Kernel sockets (the program's socket lookup) are not modelled:
    /// compare in a namespace without sockets on our ports.
    pub fn verdict(&self, frame: &[u8]) -> XdpVerdict {
        use crate::wire::headers::{self, Net};
        let Ok(h) = headers::read(frame) else {
            return self.nd_verdict(frame);
        };
        let l3 = &frame[h.link.l3..];
        let ours = match h.net {
            Net::Tcp4 { seg, .. } => {
                let dst = Ipv4Addr::new(l3[16], l3[17], l3[18], l3[19]);
                self.v4_flags(dst) & ADDR_TCP != 0
                    && self.port_is_ours(u16::from_be_bytes([frame[seg.0 + 2], frame[seg.0 + 3]]))
            }
            Net::Tcp6 { seg, .. } => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&l3[24..40]);
                self.v6_flags(a) & ADDR_TCP != 0
                    && self.port_is_ours(u16::from_be_bytes([frame[seg.0 + 2], frame[seg.0 + 3]]))
            }

            Net::Arp => {
                use crate::wire::{ArpPacket, ArpRepr};
                let arp = ArpPacket::new_checked(l3).and_then(|p| ArpRepr::parse(&p));
                arp.is_ok_and(|a| self.v4_flags(a.target_ip) & ADDR_NEIGH != 0)
            }
        };
        if ours {
            XdpVerdict::Steer
        } else {
            XdpVerdict::Pass
        }
    }

    /// Not TCP or ARP: a Neighbor Solicitation (ICMPv6 type 135, right after the IPv6
    /// header and its extension headers) for an emulated address is steered.
    fn nd_verdict(&self, frame: &[u8]) -> XdpVerdict {
        use crate::wire::{EtherType, headers};
        let ns_for_us = headers::link(frame).ok().is_some_and(|link| {
            let l3 = &frame[link.l3.min(frame.len())..];
            link.ethertype == EtherType::IPV6
                && headers::ipv6(l3).is_ok_and(|ip| {
                    let icmp = &l3[ip.upper..ip.end];
                    ip.protocol == 58 && icmp.len() >= 24 && icmp[0] == 135 && {
                        let mut t = [0u8; 16];
                        t.copy_from_slice(&icmp[8..24]);
                        self.v6_flags(t) & ADDR_NEIGH != 0
                    }
                })
        });
        if ns_for_us {
            XdpVerdict::Steer
        } else {
            XdpVerdict::Pass
        }
    }

    pub(super) fn in_prefix(&self, a: Ipv4Addr) -> bool {
        self.prefix_v4.is_some_and(|(net, len)| {
            let mask = v4_mask(len);
            // A /0 is no prefix (it would take the whole IPv4 Internet).
            mask != 0 && u32::from(a) & mask == u32::from(net) & mask
        })
    }

    fn port_is_ours(&self, port: u16) -> bool {
        (self.port_lo != 0 && (self.port_lo..=self.port_hi).contains(&port))
            || self.listen_ports.contains(&port)
    }
}

/// The steering program loaded but attached nowhere, run on single frames with
/// `BPF_PROG_TEST_RUN`: the kernel's own verdict on crafted frames, no interface needed.
pub struct SteerProbe {
    ebpf: Ebpf,
}

impl SteerProbe {
    pub fn load(cfg: &SteerConfig) -> Result<SteerProbe, SteerError> {
        Ok(SteerProbe { ebpf: load(cfg)? })
    }

    /// Runs the program once on `frame` (at least 14 bytes: the kernel refuses shorter
    /// ones). No socket is registered, so a steered frame comes back as XDP_DROP counted
    /// `dropped_no_socket`: that is `Steer`. Also returns the counters it moved.
    pub fn run(&mut self, frame: &[u8]) -> Result<(XdpVerdict, SteerCounters), SteerError> {
        let before = read_counters(&self.ebpf)?;
        let fd = program(&mut self.ebpf)?
            .fd()
            .map_err(|e| steer_err("finding the loaded XDP program".into(), &e, None))?;
        let act =
            crate::xsk::sys::prog_test_run(std::os::fd::AsFd::as_fd(fd), frame).map_err(|e| {
                SteerError::new(
                    format!("BPF_PROG_TEST_RUN on a {}-byte frame", frame.len()),
                    Some(e),
                    None,
                    Some("needs root (CAP_BPF) and Linux >= 4.12".into()),
                )
            })?;
        let after = read_counters(&self.ebpf)?;
        let moved = after.minus(&before);
        let v = match act {
            XDP_PASS => XdpVerdict::Pass,
            XDP_DROP if moved.dropped_no_socket == 1 => XdpVerdict::Steer,
            XDP_DROP => XdpVerdict::Drop,
            other => {
                return Err(SteerError::new(
                    "BPF_PROG_TEST_RUN",
                    None,
                    Some(format!("unexpected XDP action {other}")),
                    None,
                ));
            }
        };
        Ok((v, moved))
    }

    /// See [`Steer::set_handshake`].
    pub fn set_handshake(&mut self, h: Option<&HsConfig>) -> Result<(), SteerError> {
        crate::xsk::handshake::write_hs(&mut self.ebpf, h)
    }

    /// The client offload's established mark of source `port`: the ack (ISS + 1) of the
    /// SYN-ACK XDP last answered there, 0 = none.
    pub fn client_mark(&self, port: u16) -> Result<u32, SteerError> {
        crate::xsk::handshake::read_mark(&self.ebpf, port)
    }

    /// `tw_hs_marks` mapped (what the workers read).
    pub fn client_marks(&self) -> Result<crate::xsk::HsMarks, SteerError> {
        crate::xsk::handshake::map_marks(&self.ebpf)
    }

    /// See [`Steer::client_latency`].
    pub fn client_latency(
        &self,
        series: crate::tcp::offload::LatSeries,
    ) -> Result<Vec<u64>, SteerError> {
        crate::xsk::handshake::read_latency(&self.ebpf, series)
    }

    /// Runs the program once on `frame` and returns its action (`XDP_*` number), the frame
    /// as the program left it (an `XDP_TX` answer) and the counters it moved.
    pub fn run_out(&mut self, frame: &[u8]) -> Result<(u32, Vec<u8>, SteerCounters), SteerError> {
        let before = read_counters(&self.ebpf)?;
        let fd = program(&mut self.ebpf)?
            .fd()
            .map_err(|e| steer_err("finding the loaded XDP program".into(), &e, None))?;
        let (act, out) =
            crate::xsk::sys::prog_test_run_out(std::os::fd::AsFd::as_fd(fd), frame, 4096).map_err(
                |e| {
                    SteerError::new(
                        format!("BPF_PROG_TEST_RUN on a {}-byte frame", frame.len()),
                        Some(e),
                        None,
                        Some("needs root (CAP_BPF) and Linux >= 5.18".into()),
                    )
                },
            )?;
        let after = read_counters(&self.ebpf)?;
        Ok((act, out, after.minus(&before)))
    }
}

/// XDP action numbers (`enum xdp_action`), as [`SteerProbe::run_out`] returns them.
pub const XDP_ACTION_DROP: u32 = XDP_DROP;
pub const XDP_ACTION_PASS: u32 = XDP_PASS;
pub const XDP_ACTION_TX: u32 = 3;

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
