//! What the kernel holds on this host that threeway must leave alone: its ephemeral port range
//! and the TCP ports its own sockets use. Read once at planning time ([`KernelPorts::read`]);
//! everything after that is a pure function of those facts, unit-tested with facts written by
//! hand.
//!
//! The XDP program also passes every frame that belongs to a kernel socket (a socket lookup
//! per steered frame), so nothing the kernel holds is ever taken; the planning here keeps
//! threeway's own tuples from colliding with the kernel's in the first place.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::RunError;

/// The lowest source port threeway uses by default (below are the well-known services).
pub const SPORT_MIN: u16 = 1024;

/// `--sport`: `auto` (every port from 1024 up that the kernel does not use for its own
/// connections) or an explicit range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SportSpec {
    Auto,
    Range(u16, u16),
}

/// One kernel TCP socket's local end (from /proc/net/tcp{,6}).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSocket {
    pub local: IpAddr,
    pub port: u16,
    pub listening: bool,
}

/// The kernel's TCP port facts, gathered once.
#[derive(Clone, Debug, Default)]
pub struct KernelPorts {
    /// `net.ipv4.ip_local_port_range` (also used by IPv6).
    pub ephemeral: Option<(u16, u16)>,
    pub sockets: Vec<KernelSocket>,
}

impl KernelPorts {
    /// Reads the facts of the current network namespace; unreadable files give empty facts
    /// (the XDP socket lookup still keeps the kernel's frames with the kernel).
    pub fn read() -> KernelPorts {
        let rd = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        KernelPorts::parse(
            &rd("/proc/sys/net/ipv4/ip_local_port_range"),
            &rd("/proc/net/tcp"),
            &rd("/proc/net/tcp6"),
        )
    }

    /// Parses `ip_local_port_range` ("32768\t60999") and the two socket tables.
    pub fn parse(range: &str, tcp: &str, tcp6: &str) -> KernelPorts {
        let mut it = range.split_whitespace().map(str::parse::<u16>);
        let ephemeral = match (it.next(), it.next()) {
            (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => Some((lo, hi)),
            _ => None,
        };
        let sockets = tcp
            .lines()
            .chain(tcp6.lines())
            .filter_map(parse_socket_line)
            .collect();
        KernelPorts { ephemeral, sockets }
    }

    /// Ports of kernel sockets bound to one of `addrs` or to a wildcard address.
    pub fn held_on(&self, addrs: &[IpAddr]) -> BTreeSet<u16> {
        self.sockets
            .iter()
            .filter(|s| covers(s.local, addrs))
            .map(|s| s.port)
            .collect()
    }

    /// `held_on(addrs)` and the ports `also` (listeners threeway opens itself).
    pub fn held_on_and(&self, addrs: &[IpAddr], also: &[u16]) -> BTreeSet<u16> {
        let mut set = self.held_on(addrs);
        set.extend(also.iter().copied());
        set
    }

    /// A kernel listener that would take connections to `addr:port`.
    pub fn listener_on(&self, addr: IpAddr, port: u16) -> Option<&KernelSocket> {
        self.sockets
            .iter()
            .find(|s| s.listening && s.port == port && covers(s.local, &[addr]))
    }

    /// Like [`listener_on`](Self::listener_on) for a listener on every address of the host.
    pub fn listener_on_any(&self, own: &[IpAddr], port: u16) -> Option<&KernelSocket> {
        self.sockets.iter().find(|s| {
            s.listening && s.port == port && (is_wildcard(s.local) || covers(s.local, own))
        })
    }
}

fn is_wildcard(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_unspecified(),
        IpAddr::V6(v) => v.is_unspecified(),
    }
}

/// A socket bound to `local` receives for one of `addrs` (wildcards and IPv4-mapped included;
/// an IPv4 wildcard covers IPv4 addresses, an IPv6 one both families, as a dual-stack socket).
fn covers(local: IpAddr, addrs: &[IpAddr]) -> bool {
    match local {
        IpAddr::V4(v) => {
            (v.is_unspecified() && addrs.iter().any(IpAddr::is_ipv4))
                || addrs.contains(&IpAddr::V4(v))
        }
        IpAddr::V6(v) => {
            v.is_unspecified()
                || addrs.contains(&IpAddr::V6(v))
                || v.to_ipv4_mapped()
                    .is_some_and(|m| addrs.contains(&IpAddr::V4(m)))
        }
    }
}

/// One line of /proc/net/tcp{,6}: `sl local_address rem_address st ...` with the address
/// printed as native-endian 32-bit words in hex, then `:PORT` in hex; state 0A = LISTEN.
fn parse_socket_line(line: &str) -> Option<KernelSocket> {
    let mut f = line.split_whitespace();
    let _sl = f.next()?.strip_suffix(':')?;
    let (addr, port) = f.next()?.split_once(':')?;
    let _remote = f.next()?;
    let state = u8::from_str_radix(f.next()?, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    let local = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(KernelSocket {
        local,
        port,
        listening: state == 0x0a,
    })
}

/// The ports a kernel socket may hold on `addrs` (the XDP program checks frames to these
/// against the kernel's sockets): the ephemeral range, the ports kernel sockets hold on those
/// addresses now, and `also` (listeners threeway opens itself, e.g. `--metrics`).
pub fn kernel_port_set(k: &KernelPorts, addrs: &[IpAddr], also: &[u16]) -> Vec<u16> {
    let mut set = k.held_on_and(addrs, also);
    if let Some((lo, hi)) = k.ephemeral {
        set.extend(lo..=hi);
    }
    set.into_iter().collect()
}

/// Where the kernel's ports are watched during a run (re-read every second, so a kernel
/// service started after threeway keeps its frames too).
#[derive(Clone, Debug, Default)]
pub struct KernelWatch {
    pub addrs: Vec<IpAddr>,
    pub also: Vec<u16>,
}

impl KernelWatch {
    pub fn ports(&self, k: &KernelPorts) -> Vec<u16> {
        kernel_port_set(k, &self.addrs, &self.also)
    }
}

/// The source ports a client may use, and what was left out (for the configuration echo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePorts {
    /// Usable ports, ascending.
    pub usable: Vec<u16>,
    /// What was excluded and why, e.g. "kernel ephemeral 32768-60999; kernel sockets: 22".
    pub excluded: String,
    pub warning: Option<String>,
}

/// Source ports for `spec` on `sources`, slice `seg` of `nseg`: the kernel's ephemeral range is
/// left out of `auto` (a default range inside it would collide with the kernel's own
/// connections); then the segment's slice is taken (the same on every host, so segments stay
/// disjoint); then ports that kernel sockets hold on those addresses are left out, and so are
/// `also_held` (listeners threeway itself opens, e.g. `--metrics`).
pub fn source_ports(
    spec: SportSpec,
    k: &KernelPorts,
    sources: &[IpAddr],
    also_held: &[u16],
    (seg, nseg): (u16, u16),
) -> Result<SourcePorts, RunError> {
    let held = k.held_on_and(sources, also_held);
    let (lo, hi) = match spec {
        SportSpec::Auto => (SPORT_MIN, u16::MAX),
        SportSpec::Range(lo, hi) => (lo, hi),
    };
    let eph = k.ephemeral.filter(|&(elo, ehi)| elo <= hi && ehi >= lo);
    let skip_eph = spec == SportSpec::Auto;
    let base: Vec<u16> = (lo..=hi)
        .filter(|p| !(skip_eph && eph.is_some_and(|(elo, ehi)| (elo..=ehi).contains(p))))
        .collect();
    let slice = segment_slice(&base, seg, nseg)?;
    let usable: Vec<u16> = slice
        .iter()
        .copied()
        .filter(|p| !held.contains(p))
        .collect();
    let mut excluded = Vec::new();
    if let (true, Some((elo, ehi))) = (skip_eph, eph) {
        excluded.push(format!("kernel ephemeral {elo}-{ehi}"));
    }
    let held_in: Vec<String> = held
        .iter()
        .filter(|p| slice.binary_search(p).is_ok())
        .map(u16::to_string)
        .collect();
    if !held_in.is_empty() {
        excluded.push(format!("held by kernel sockets: {}", held_in.join(",")));
    }
    let warning = match (skip_eph, eph) {
        (false, Some((elo, ehi))) => Some(format!(
            "--sport {lo}-{hi} overlaps the kernel's ephemeral ports {elo}-{ehi}: a kernel \
             connection to the same target may pick one of our tuples (its frames stay with the \
             kernel, ours then time out); leave --sport out to skip that range"
        )),
        _ => None,
    };
    if usable.is_empty() {
        return Err(RunError::usage(format!(
            "no usable source port in {lo}-{hi} ({}): pass a wider --sport",
            excluded.join("; ")
        )));
    }
    Ok(SourcePorts {
        usable,
        excluded: if excluded.is_empty() {
            "none".into()
        } else {
            excluded.join("; ")
        },
        warning,
    })
}

/// Slice `seg` of `nseg` of `ports` (contiguous, disjoint across segments).
fn segment_slice(ports: &[u16], seg: u16, nseg: u16) -> Result<Vec<u16>, RunError> {
    let per = ports.len() / nseg as usize;
    if per == 0 {
        return Err(RunError::usage(format!(
            "{} source ports are too few for {nseg} segments: pass a wider --sport",
            ports.len()
        )));
    }
    let first = seg as usize * per;
    let last = if seg + 1 == nseg {
        ports.len()
    } else {
        first + per
    };
    Ok(ports[first..last].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two listeners (22 on every address, 2222 on 198.18.0.1), a connection from
    // 198.18.0.1:40000, and an IPv6 wildcard listener on 9000: the shapes /proc prints.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 010012C6:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 010012C6:9C40 020012C6:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0A0012C6:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 100 0 0 10 0
";
    const A4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const A: IpAddr = IpAddr::V4(A4);

    fn facts() -> KernelPorts {
        KernelPorts::parse("32768\t60999\n", TCP, TCP6)
    }

    #[test]
    fn parses_the_proc_tables() {
        let k = facts();
        assert_eq!(k.ephemeral, Some((32768, 60999)));
        assert_eq!(k.sockets.len(), 5);
        assert_eq!(k.sockets[1].local, A);
        assert_eq!((k.sockets[1].port, k.sockets[1].listening), (2222, true));
        assert_eq!((k.sockets[2].port, k.sockets[2].listening), (40000, false));
        assert_eq!(k.sockets[4].port, 9000);
        // 198.18.0.10:5000 is not ours; everything else covers A.
        assert_eq!(
            k.held_on(&[A]).into_iter().collect::<Vec<_>>(),
            [22, 2222, 9000, 40000]
        );
        assert!(k.listener_on(A, 2222).is_some());
        assert!(
            k.listener_on(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10)), 2222)
                .is_none()
        );
        assert!(
            k.listener_on(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10)), 9000)
                .is_some()
        );
        assert!(
            KernelPorts::parse("", "garbage\n1: x y z\n", "")
                .sockets
                .is_empty()
        );
    }

    #[test]
    fn auto_leaves_out_the_ephemeral_range_and_kernel_sockets() {
        let sp = source_ports(SportSpec::Auto, &facts(), &[A], &[9464], (0, 1)).unwrap();
        assert_eq!(sp.usable.first(), Some(&1024));
        assert_eq!(sp.usable.last(), Some(&65535));
        for p in [2222, 9000, 9464, 32768, 40000, 60999] {
            assert!(!sp.usable.contains(&p), "{p}");
        }
        assert!(sp.usable.contains(&32767) && sp.usable.contains(&61000));
        assert_eq!(
            sp.usable.len(),
            (32767 - 1024 + 1) + (65535 - 61000 + 1) - 3
        );
        assert_eq!(
            sp.excluded,
            "kernel ephemeral 32768-60999; held by kernel sockets: 2222,9000,9464"
        );
        assert_eq!(sp.warning, None);
    }

    #[test]
    fn an_explicit_range_keeps_the_ephemeral_ports_and_warns() {
        let sp = source_ports(SportSpec::Range(30000, 40000), &facts(), &[A], &[], (0, 1)).unwrap();
        assert_eq!(
            sp.usable.len(),
            10001 - 1,
            "only 40000 (a kernel socket) is left out"
        );
        assert!(
            sp.warning
                .unwrap()
                .contains("overlaps the kernel's ephemeral ports")
        );
        let sp = source_ports(SportSpec::Range(2000, 3000), &facts(), &[A], &[], (0, 1)).unwrap();
        assert_eq!((sp.usable.len(), sp.warning), (1000, None));
        let e =
            source_ports(SportSpec::Range(2222, 2222), &facts(), &[A], &[], (0, 1)).unwrap_err();
        assert!(e.to_string().contains("no usable source port"), "{e}");
    }

    #[test]
    fn the_kernels_ports_are_its_ephemeral_range_and_its_sockets() {
        let set = kernel_port_set(&facts(), &[A], &[9464]);
        // 22, 2222, 9000 and 9464 outside the ephemeral range (40000 is inside it).
        assert_eq!(set.len(), (60999 - 32768 + 1) + 4, "{:?}", &set[..8]);
        for p in [22, 2222, 9000, 9464, 32768, 40000, 60999] {
            assert!(set.binary_search(&p).is_ok(), "{p}");
        }
        assert!(
            set.binary_search(&5000).is_err(),
            "198.18.0.10's socket is not on A"
        );
    }

    #[test]
    fn segments_split_the_usable_ports() {
        let usable: Vec<u16> = (1000..1010).chain(2000..2005).collect();
        let parts: Vec<Vec<u16>> = (0..3)
            .map(|i| segment_slice(&usable, i, 3).unwrap())
            .collect();
        assert_eq!(parts.concat(), usable);
        assert_eq!(parts[0], [1000, 1001, 1002, 1003, 1004]);
        assert!(segment_slice(&usable[..2], 0, 3).is_err());
        // Segments are cut before the held ports are taken out: the same cut on every host.
        let seg1 = source_ports(SportSpec::Range(2200, 2299), &facts(), &[A], &[], (0, 2)).unwrap();
        assert_eq!(
            seg1.usable,
            (2200..2250).filter(|&p| p != 2222).collect::<Vec<_>>()
        );
        let seg2 = source_ports(SportSpec::Range(2200, 2299), &facts(), &[A], &[], (1, 2)).unwrap();
        assert_eq!(seg2.usable, (2250..2300).collect::<Vec<_>>());
    }
}
