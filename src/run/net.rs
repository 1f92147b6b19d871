//! Addresses and next hops: parsing what the user typed, and asking the kernel (in the current
//! network namespace) for the interface's addresses and the next hop's MAC.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use crate::topo::sh;
use crate::wire::MacAddr;

use super::RunError;

/// "198.18.0.2:80" (IPv6 targets are refused with a clear message).
pub fn parse_target(s: &str) -> Result<SocketAddrV4, RunError> {
    if s.starts_with('[') {
        return Err(RunError::usage(format!(
            "target '{s}': IPv6 targets are not supported yet; use an IPv4 HOST:PORT"
        )));
    }
    s.parse::<SocketAddrV4>().map_err(|_| {
        RunError::usage(format!(
            "target '{s}' is not HOST:PORT (e.g. 198.18.0.2:80)"
        ))
    })
}

/// "[ADDR:]PORT"; a bare port listens on `0.0.0.0` (every local address).
pub fn parse_listen(s: &str) -> Result<SocketAddrV4, RunError> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
    }
    s.parse::<SocketAddrV4>().map_err(|_| {
        RunError::usage(format!(
            "listen '{s}' is not [ADDR:]PORT (e.g. 80 or 198.18.0.2:80)"
        ))
    })
}

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

/// Source addresses: "198.18.1.0/24" (host addresses of the prefix), "A-B", or "A".
pub fn parse_sources(specs: &[String]) -> Result<Vec<Ipv4Addr>, RunError> {
    let mut out = Vec::new();
    for s in specs {
        let bad = || RunError::usage(format!("source '{s}' is not an address, A-B range or CIDR"));
        if let Some((a, len)) = s.split_once('/') {
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
            out.extend((first..=last).map(|i| Ipv4Addr::from(base + i as u32)));
        } else if let Some((a, b)) = s.split_once('-') {
            let a: u32 = a.parse::<Ipv4Addr>().map_err(|_| bad())?.into();
            let b: u32 = b.parse::<Ipv4Addr>().map_err(|_| bad())?.into();
            if a > b || b - a > 1 << 20 {
                return Err(bad());
            }
            out.extend((a..=b).map(Ipv4Addr::from));
        } else {
            out.push(s.parse().map_err(|_| bad())?);
        }
    }
    Ok(out)
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

/// The next hop towards `dst` through `iface`: the gateway, or `dst` itself when on-link.
pub fn next_hop(dst: Ipv4Addr, iface: &str) -> Result<Ipv4Addr, RunError> {
    let out = sh(&[
        "ip",
        "-o",
        "-4",
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

/// The MAC of `hop` from the kernel's neighbour table, asking the kernel to resolve it (by
/// sending one UDP datagram to the discard port) when it is not there yet.
pub fn resolve_mac(hop: Ipv4Addr, iface: &str, timeout: Duration) -> Result<MacAddr, RunError> {
    let deadline = Instant::now() + timeout;
    let mut poke = Instant::now();
    loop {
        if let Some(mac) = neigh_lookup(hop, iface) {
            return Ok(mac);
        }
        if Instant::now() >= poke {
            if let Ok(s) = UdpSocket::bind("0.0.0.0:0") {
                let _ = s.send_to(b"", (hop, 9));
            }
            poke = Instant::now() + Duration::from_millis(200);
        }
        if Instant::now() >= deadline {
            return Err(RunError::env(format!(
                "next hop {hop} on {iface} did not answer ARP within {timeout:?}; check the link and addresses, or pass --dst-mac"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn neigh_lookup(hop: Ipv4Addr, iface: &str) -> Option<MacAddr> {
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
        assert!(
            parse_target("[2001:2::1]:80")
                .unwrap_err()
                .msg
                .contains("IPv6")
        );
        assert!(parse_target("host").is_err());
        assert_eq!(parse_listen("80").unwrap(), "0.0.0.0:80".parse().unwrap());
        assert_eq!(parse_port_range("1024-2047").unwrap(), (1024, 2047));
        assert!(parse_port_range("9-1").is_err());
        assert_eq!(parse_sources(&["198.18.1.0/30".into()]).unwrap().len(), 2);
        assert_eq!(
            parse_sources(&["198.18.1.7/32".into()]).unwrap(),
            vec![Ipv4Addr::new(198, 18, 1, 7)]
        );
        assert_eq!(
            parse_sources(&["198.18.1.1-198.18.1.3".into()])
                .unwrap()
                .len(),
            3
        );
        assert_eq!(parse_cores("0-2,5").unwrap(), vec![0, 1, 2, 5]);
    }
}
