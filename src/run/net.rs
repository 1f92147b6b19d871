//! Addresses and next hops: parsing what the user typed, and asking the kernel (in the current
//! network namespace) for the interface's addresses and the next hop's MAC.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use crate::topo::sh;
use crate::wire::MacAddr;

use super::RunError;

/// "198.18.0.2:80" or "[2001:2::2]:80".
pub fn parse_target(s: &str) -> Result<SocketAddr, RunError> {
    let t = s.parse::<SocketAddr>().map_err(|_| {
        RunError::usage(format!(
            "target '{s}' is not HOST:PORT (e.g. 198.18.0.2:80 or [2001:2::2]:80)"
        ))
    })?;
    if t.ip().is_unspecified() || t.ip().is_multicast() || t.port() == 0 {
        return Err(RunError::usage(format!(
            "target '{s}': needs a unicast address and a port other than 0"
        )));
    }
    Ok(t)
}

/// "[ADDR:]PORT"; a bare port listens on `0.0.0.0` (every local IPv4 address); `[::]:PORT`
/// on every local IPv6 address.
pub fn parse_listen(s: &str) -> Result<SocketAddr, RunError> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            port,
        )));
    }
    s.parse::<SocketAddr>().map_err(|_| {
        RunError::usage(format!(
            "listen '{s}' is not [ADDR:]PORT (e.g. 80, 198.18.0.2:80, [::]:80 or [2001:2::2]:80)"
        ))
    })
}

/// IPv6 sources a prefix or range expands to at most (`-s 2001:2:0:1::/64` is its first
/// 65536 host addresses).
pub const MAX_V6_SOURCES: u128 = 1 << 16;

/// "1024-65535" or "5000".
pub fn parse_port_range(s: &str) -> Result<(u16, u16), RunError> {
    let bad = || RunError::usage(format!("port range '{s}' is not LO-HI (e.g. 1024-65535)"));
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
        None => {
            let p = s.parse().map_err(|_| bad())?;
            (p, p)
        }
    };
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// Source addresses: "198.18.1.0/24" (host addresses of the prefix), "A-B", or "A"; IPv6
/// alike ("2001:2:0:1::/64": host addresses from ::1, at most `MAX_V6_SOURCES`).
pub fn parse_sources(specs: &[String]) -> Result<Vec<IpAddr>, RunError> {
    let mut out = Vec::new();
    for s in specs {
        let bad = || RunError::usage(format!("source '{s}' is not an address, A-B range or CIDR"));
        if s.contains(':') {
            out.extend(parse_sources6(s)?.into_iter().map(IpAddr::V6));
        } else if let Some((a, len)) = s.split_once('/') {
            let a: Ipv4Addr = a.parse().map_err(|_| bad())?;
            let len: u32 = len.parse().map_err(|_| bad())?;
            if !(8..=32).contains(&len) {
                return Err(RunError::usage(format!(
                    "source '{s}': prefix length must be 8..32"
                )));
            }
            let base = u32::from(a) & (u32::MAX << (32 - len));
            let size = 1u64 << (32 - len);
            let (first, last) = if len >= 31 {
                (0, size - 1)
            } else {
                (1, size - 2)
            };
            out.extend((first..=last).map(|i| IpAddr::V4(Ipv4Addr::from(base + i as u32))));
        } else if let Some((a, b)) = s.split_once('-') {
            let a: u32 = a.parse::<Ipv4Addr>().map_err(|_| bad())?.into();
            let b: u32 = b.parse::<Ipv4Addr>().map_err(|_| bad())?.into();
            if a > b || b - a > 1 << 20 {
                return Err(bad());
            }
            out.extend((a..=b).map(|i| IpAddr::V4(Ipv4Addr::from(i))));
        } else {
            out.push(IpAddr::V4(s.parse().map_err(|_| bad())?));
        }
    }
    Ok(out)
}

/// One IPv6 `-s` value: a prefix (its host addresses from ::1, the subnet-router anycast
/// address ::0 left out), an A-B range, or one address.
fn parse_sources6(s: &str) -> Result<Vec<Ipv6Addr>, RunError> {
    let bad = || {
        RunError::usage(format!(
            "source '{s}' is not an IPv6 address, A-B range or CIDR"
        ))
    };
    let (first, last) = if let Some((a, len)) = s.split_once('/') {
        let a: Ipv6Addr = a.parse().map_err(|_| bad())?;
        let len: u32 = len.parse().map_err(|_| bad())?;
        if !(16..=128).contains(&len) {
            return Err(RunError::usage(format!(
                "source '{s}': prefix length must be 16..128"
            )));
        }
        let mask = if len == 128 {
            u128::MAX
        } else {
            !(u128::MAX >> len)
        };
        let base = u128::from(a) & mask;
        if len == 128 {
            (base, base)
        } else {
            let size = 1u128.checked_shl(128 - len).unwrap_or(0).wrapping_sub(1);
            (base + 1, base + size.min(MAX_V6_SOURCES))
        }
    } else if let Some((a, b)) = s.split_once('-') {
        let a = u128::from(a.parse::<Ipv6Addr>().map_err(|_| bad())?);
        let b = u128::from(b.parse::<Ipv6Addr>().map_err(|_| bad())?);
        if a > b || b - a >= MAX_V6_SOURCES {
            return Err(RunError::usage(format!(
                "source '{s}': an IPv6 range must run upwards and hold at most {MAX_V6_SOURCES} addresses"
            )));
        }
        (a, b)
    } else {
        let a = u128::from(s.parse::<Ipv6Addr>().map_err(|_| bad())?);
        (a, a)
    };
    Ok((first..=last).map(Ipv6Addr::from).collect())
}

/// "2-5", "0,2,4" or "1".
pub fn parse_cores(s: &str) -> Result<Vec<usize>, RunError> {
    let bad = || RunError::usage(format!("--cores '{s}' is not a list like 2-5 or 0,2,4"));
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(out)
}

/// IPv4 addresses assigned to `iface` (kernel view, this namespace).
pub fn iface_ipv4(iface: &str) -> Result<Vec<Ipv4Addr>, RunError> {
    let out = sh(&["ip", "-o", "-4", "addr", "show", "dev", iface]).map_err(RunError::env)?;
    Ok(out
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "inet")
        .filter_map(|w| w[1].split('/').next()?.parse().ok())
        .collect())
}

/// Global IPv6 addresses assigned to `iface` (kernel view, this namespace).
pub fn iface_ipv6(iface: &str) -> Result<Vec<Ipv6Addr>, RunError> {
    let out = sh(&[
        "ip", "-o", "-6", "addr", "show", "dev", iface, "scope", "global",
    ])
    .map_err(RunError::env)?;
    Ok(out
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "inet6")
        .filter_map(|w| w[1].split('/').next()?.parse().ok())
        .collect())
}

/// The next hop towards `dst` through `iface`: the gateway, or `dst` itself when on-link.
pub fn next_hop(dst: IpAddr, iface: &str) -> Result<IpAddr, RunError> {
    let fam = if dst.is_ipv6() { "-6" } else { "-4" };
    let out = sh(&[
        "ip",
        "-o",
        fam,
        "route",
        "get",
        &dst.to_string(),
        "oif",
        iface,
    ])
    .map_err(|e| {
        RunError::env(format!(
            "no route to {dst} via {iface}: {e}; add an address/route on {iface}"
        ))
    })?;
    let words: Vec<&str> = out.split_whitespace().collect();
    Ok(words
        .windows(2)
        .find(|w| w[0] == "via")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(dst))
}

/// The MAC of `hop` from the kernel's neighbour table, asking the kernel to resolve it (ARP or
/// a Neighbor Solicitation, by sending one UDP datagram to the discard port) when it is not
/// there yet.
pub fn resolve_mac(hop: IpAddr, iface: &str, timeout: Duration) -> Result<MacAddr, RunError> {
    let deadline = Instant::now() + timeout;
    let mut poke = Instant::now();
    loop {
        if let Some(mac) = neigh_lookup(hop, iface) {
            return Ok(mac);
        }
        if Instant::now() >= poke {
            poke_neighbour(hop, iface);
            poke = Instant::now() + Duration::from_millis(200);
        }
        if Instant::now() >= deadline {
            return Err(RunError::env(format!(
                "next hop {hop} on {iface} did not answer {} within {timeout:?}; check the link and addresses, or pass --dst-mac",
                if hop.is_ipv6() {
                    "neighbour discovery"
                } else {
                    "ARP"
                }
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One UDP datagram to `hop`'s discard port: the kernel resolves the neighbour to send it.
fn poke_neighbour(hop: IpAddr, iface: &str) {
    let (bind, to): (SocketAddr, SocketAddr) = match hop {
        IpAddr::V4(h) => (SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), (h, 9).into()),
        IpAddr::V6(h) => {
            // A link-local next hop needs the interface as its scope.
            let scope = crate::xsk::iface::index(iface).unwrap_or(0);
            (
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
                SocketAddr::V6(SocketAddrV6::new(h, 9, 0, scope)),
            )
        }
    };
    if let Ok(s) = UdpSocket::bind(bind) {
        let _ = s.send_to(b"", to);
    }
}

/// `hop`'s MAC in the kernel's neighbour table (complete entries only).
pub fn neigh_lookup(hop: IpAddr, iface: &str) -> Option<MacAddr> {
    match hop {
        IpAddr::V4(h) => arp_lookup(h, iface),
        IpAddr::V6(h) => {
            let out = sh(&[
                "ip",
                "-6",
                "neigh",
                "show",
                "dev",
                iface,
                "to",
                &h.to_string(),
            ])
            .ok()?;
            neigh6_mac(&out)
        }
    }
}

/// The lladdr of an `ip -6 neigh show` line in a state with a usable address.
fn neigh6_mac(out: &str) -> Option<MacAddr> {
    out.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        let usable = !l.contains("FAILED") && !l.contains("INCOMPLETE");
        let at = w.iter().position(|x| *x == "lladdr")?;
        usable.then(|| w.get(at + 1)?.parse().ok()).flatten()
    })
}

fn arp_lookup(hop: Ipv4Addr, iface: &str) -> Option<MacAddr> {
    let text = std::fs::read_to_string("/proc/net/arp").ok()?;
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // IP address, HW type, Flags (0x2 = complete), HW address, Mask, Device
        (f.len() >= 6 && f[0] == hop.to_string() && f[2] != "0x0" && f[5] == iface)
            .then(|| f[3].parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_input() {
        assert_eq!(
            parse_target("198.18.0.2:80").unwrap(),
            "198.18.0.2:80".parse().unwrap()
        );
        assert_eq!(
            parse_target("[2001:2::1]:80").unwrap(),
            "[2001:2::1]:80".parse().unwrap()
        );
        assert!(parse_target("[::]:80").is_err());
        assert!(parse_target("host").is_err());
        assert_eq!(parse_listen("80").unwrap(), "0.0.0.0:80".parse().unwrap());
        assert_eq!(parse_listen("[::]:80").unwrap(), "[::]:80".parse().unwrap());
        assert_eq!(parse_port_range("1024-2047").unwrap(), (1024, 2047));
        assert!(parse_port_range("9-1").is_err());
        assert_eq!(parse_sources(&["198.18.1.0/30".into()]).unwrap().len(), 2);
        assert_eq!(
            parse_sources(&["198.18.1.7/32".into()]).unwrap(),
            vec![IpAddr::V4(Ipv4Addr::new(198, 18, 1, 7))]
        );
        let v6 = parse_sources(&["2001:2:0:1::/64".into()]).unwrap();
        assert_eq!(v6.len() as u128, MAX_V6_SOURCES);
        assert_eq!(v6[0], "2001:2:0:1::1".parse::<IpAddr>().unwrap());
        assert_eq!(
            parse_sources(&["2001:2:0:1::/126".into()]).unwrap().len(),
            3
        );
        let r = parse_sources(&["2001:2:0:1::1-2001:2:0:1::40".into()]).unwrap();
        assert_eq!(r.len(), 64);
        assert!(parse_sources(&["2001:2::9-2001:2::1".into()]).is_err());
        assert!(parse_sources(&["2001:2::/8".into()]).is_err());
        assert_eq!(
            parse_sources(&["198.18.1.1-198.18.1.3".into()])
                .unwrap()
                .len(),
            3
        );
        assert_eq!(parse_cores("0-2,5").unwrap(), vec![0, 1, 2, 5]);
    }
}
