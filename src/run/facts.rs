//! Host facts: everything planning reads about the machine, gathered once by
//! [`HostFacts::gather`], the only I/O of planning. `connect::plan` and `serve::plan` are pure
//! functions of the parsed arguments and these facts, unit-tested with facts written by hand
//! (see `plan_tests.rs`).
//!
//! A dry run gathers the same facts without changing anything (no ARP solicitation) and
//! stands in for what is missing (no such interface, an unresolved next hop), so the plan is
//! printed the same way a real run would make it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::nic::rss::Rss;
use crate::wire::MacAddr;

use super::host::KernelPorts;
use super::net;

/// What planning knows about the host.
#[derive(Clone, Debug)]
pub struct HostFacts {
    /// Whether we may attach XDP and open AF_XDP sockets (Err: what to do).
    pub privileged: Result<(), String>,
    pub cpus: usize,
    pub iface: Result<IfaceFacts, String>,
    pub kernel_ports: KernelPorts,
    /// Next hop towards each client target, in the order given.
    pub routes: Vec<(IpAddr, Result<NextHop, String>)>,
    /// 16 bytes from the kernel's RNG and the clock, for keys when no --seed is given.
    pub entropy: [u8; 16],
}

#[derive(Clone, Debug)]
pub struct IfaceFacts {
    pub name: String,
    pub mac: MacAddr,
    pub ipv4: Vec<Ipv4Addr>,
    /// Global-scope IPv6 addresses.
    pub ipv6: Vec<Ipv6Addr>,
    pub rx_queues: u32,
    pub tx_queues: u32,
    /// The NIC's Toeplitz key and indirection table (`ethtool -x`), or why not (veth).
    pub rss: Result<Rss, String>,
    /// A software device (veth, ...: /sys/devices/virtual): its peer receives frames we
    /// send with XDP_TX only if the peer has an XDP program of its own.
    pub virtual_dev: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// The gateway, or the target itself when on-link.
    pub ip: IpAddr,
    /// From the kernel's neighbour table (ARP or neighbour discovery; solicited in a real run).
    pub mac: Result<MacAddr, String>,
}

/// How to gather.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gather {
    /// Everything a run needs; unresolved next hops are solicited for up to this long.
    Run { resolve: Duration },
    /// Read only; stand-ins for what is missing.
    DryRun { queues: u32 },
}

impl HostFacts {
    /// Reads the facts for a run on `iface` towards `targets` (client; empty for a server).
    pub fn gather(iface: &str, targets: &[IpAddr], how: Gather) -> HostFacts {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut iface_facts = read_iface(iface);
        let mut routes: Vec<(IpAddr, Result<NextHop, String>)> = targets
            .iter()
            .map(|t| {
                let hop = net::next_hop(*t, iface).map_err(|e| e.msg);
                let hop = hop.map(|ip| NextHop {
                    ip,
                    mac: match how {
                        Gather::Run { resolve } => {
                            net::resolve_mac(ip, iface, resolve).map_err(|e| e.msg)
                        }
                        Gather::DryRun { .. } => {
                            Ok(net::neigh_lookup(ip, iface).unwrap_or(MacAddr::ZERO))
                        }
                    },
                });
                (*t, hop)
            })
            .collect();
        let mut privileged = privileged();
        if let Gather::DryRun { queues } = how {
            // Stand-ins: a dry run plans for the interface it was told about, as root would.
            privileged = Ok(());
            if iface_facts.is_err() {
                iface_facts = Ok(IfaceFacts {
                    name: iface.to_string(),
                    mac: MacAddr::ZERO,
                    ipv4: Vec::new(),
                    ipv6: Vec::new(),
                    rx_queues: queues,
                    tx_queues: queues,
                    rss: Err("dry run: no such interface here".into()),
                    virtual_dev: false,
                });
            }
            for (t, hop) in &mut routes {
                if hop.is_err() {
                    *hop = Ok(NextHop {
                        ip: *t,
                        mac: Ok(MacAddr::ZERO),
                    });
                }
            }
        }
        HostFacts {
            privileged,
            cpus,
            iface: iface_facts,
            kernel_ports: KernelPorts::read(),
            routes,
            entropy: entropy(),
        }
    }
}

/// Root, failing closed: an unreadable /proc/self/status is an error, not a pass.
pub fn privileged() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status to check for root: {e}"))?;
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .ok_or("no Uid: line in /proc/self/status")?;
    if euid != "0" {
        return Err(
            "threeway needs root (or CAP_NET_ADMIN + CAP_BPF + CAP_NET_RAW + CAP_IPC_LOCK): run it with sudo"
                .into(),
        );
    }
    Ok(())
}

fn read_iface(iface: &str) -> Result<IfaceFacts, String> {
    if !std::path::Path::new(&format!("/sys/class/net/{iface}")).exists() {
        return Err(format!(
            "no such interface '{iface}' in this network namespace; list them with `ip link`"
        ));
    }
    let (rx_queues, tx_queues) =
        crate::xsk::iface::queue_count(iface).map_err(|e| e.to_string())?;
    let mac = MacAddr(crate::xsk::iface::mac(iface).map_err(|e| e.to_string())?);
    let ipv4 = net::iface_ipv4(iface).map_err(|e| e.msg)?;
    let ipv6 = net::iface_ipv6(iface).map_err(|e| e.msg)?;
    let rss = crate::nic::ethtool::inspect(iface)
        .and_then(|i| i.rss)
        .map_err(|e| format!("no RSS table: {}", e.lines().next().unwrap_or("")))
        .and_then(|cfg| {
            cfg.to_rss()
                .map_err(|e| e.lines().next().unwrap_or("").to_string())
        });
    Ok(IfaceFacts {
        name: iface.to_string(),
        mac,
        ipv4,
        ipv6,
        rx_queues,
        tx_queues,
        rss,
        virtual_dev: std::fs::canonicalize(format!("/sys/class/net/{iface}"))
            .is_ok_and(|p| p.starts_with("/sys/devices/virtual")),
    })
}

fn entropy() -> [u8; 16] {
    let mut key = [0u8; 16];
    if let Ok(b) = std::fs::read("/proc/sys/kernel/random/uuid") {
        for (i, x) in b.iter().enumerate() {
            key[i % 16] ^= x.wrapping_mul(i as u8 | 1);
        }
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    for (i, x) in t.as_nanos().to_le_bytes().iter().enumerate() {
        key[i] ^= x;
    }
    key
}
