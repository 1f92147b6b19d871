//! Which source ports each client worker uses, and the port -> worker table the workers use to
//! route replies (hand-off). With a Toeplitz NIC whose key and indirection table `ethtool -x`
//! reports, worker q gets the ports whose SYN-ACK hashes to queue q, so replies arrive where
//! their connection lives; otherwise (veth, unknown hash) ports are split `port % workers` and
//! replies on a foreign queue take the counted hand-off path.

use std::net::{IpAddr, SocketAddr};

use crate::nic::rss::Rss;
use crate::tcp::PortOwners;

/// Per-worker ports plus the owner of every port.
pub struct PortPlan {
    pub per_worker: Vec<Vec<u16>>,
    pub owner: PortOwners,
    /// How the ports were chosen, for the config echo.
    pub how: String,
}

/// `port % workers` over the usable ports (ascending).
pub fn modulo(usable: &[u16], workers: usize, why: &str) -> PortPlan {
    let mut per_worker = vec![Vec::new(); workers];
    for &p in usable {
        per_worker[p as usize % workers].push(p);
    }
    let how = format!("port % {workers} ({why}); replies on other queues are handed off");
    PortPlan {
        owner: PortOwners::new(&per_worker),
        per_worker,
        how,
    }
}

/// RSS-aware ports when the NIC's Toeplitz key and table are known (`rss`; else why not)
/// and the run has one source and one destination (the hash covers the addresses: the IPv4
/// or the IPv6 tuple); else `modulo`. Only `usable` ports (ascending; see `host::source_ports`) are handed out.
pub fn plan(
    rss: Result<&Rss, String>,
    workers: usize,
    sources: &[IpAddr],
    targets: &[SocketAddr],
    usable: &[u16],
) -> PortPlan {
    let table = match rss {
        Ok(t) => t,
        Err(why) => return modulo(usable, workers, &why),
    };
    if sources.len() != 1 || targets.len() != 1 {
        return modulo(
            usable,
            workers,
            "RSS-aware ports need one source and one target",
        );
    }
    from_rss(table, workers, sources[0], targets[0], usable)
        .unwrap_or_else(|why| modulo(usable, workers, &why))
}

/// Worker q gets the usable ports whose SYN-ACK from `target` to `source` hashes to queue q.
pub fn from_rss(
    table: &Rss,
    workers: usize,
    source: IpAddr,
    target: SocketAddr,
    usable: &[u16],
) -> Result<PortPlan, String> {
    let (Some(&lo), Some(&hi)) = (usable.first(), usable.last()) else {
        return Err("no usable source ports".into());
    };
    let mut ok = vec![false; 65536];
    for &p in usable {
        ok[p as usize] = true;
    }
    let maps = table
        .port_bitmaps(source, target, lo, hi)
        .map_err(|e| first_line(&e.to_string()))?;
    if maps.len() < workers || maps.iter().take(workers).any(|m| m.is_empty()) {
        return Err("the RSS table does not reach every worker's queue".into());
    }
    let per_worker: Vec<Vec<u16>> = maps
        .iter()
        .take(workers)
        .map(|m| m.iter().filter(|p| ok[*p as usize]).collect())
        .collect();
    if per_worker.iter().any(Vec::is_empty) {
        return Err("the usable ports do not reach every worker's queue".into());
    }
    let unused: usize = maps
        .iter()
        .skip(workers)
        .map(|m| m.iter().filter(|p| ok[*p as usize]).count())
        .sum();
    let how = format!(
        "RSS-aware (Toeplitz, {} queues in the table; {unused} ports hash to queues without a worker and are not used)",
        table.queues()
    );
    Ok(PortPlan {
        owner: PortOwners::new(&per_worker),
        per_worker,
        how,
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nic::rss::{MS_KEY, Tuple, equal_reta};

    #[test]
    fn modulo_partitions_and_owns() {
        let usable: Vec<u16> = (1000..=1009).collect();
        let p = modulo(&usable, 3, "test");
        assert_eq!(p.per_worker.iter().map(|v| v.len()).sum::<usize>(), 10);
        for (w, ports) in p.per_worker.iter().enumerate() {
            assert!(ports.iter().all(|x| p.owner.owner(*x) == Some(w)));
        }
        assert_eq!(p.owner.owner(999), None);
    }

    #[test]
    fn rss_ports_bring_replies_back_to_their_worker() {
        let table = Rss::new(MS_KEY.to_vec(), equal_reta(128, 4)).unwrap();
        let (src, dst): (IpAddr, SocketAddr) = (
            "198.18.0.1".parse().unwrap(),
            "198.18.0.2:80".parse().unwrap(),
        );
        let all: Vec<u16> = (1024..=65535).collect();
        let p = from_rss(&table, 4, src, dst, &all).unwrap();
        let mut total = 0;
        for (w, ports) in p.per_worker.iter().enumerate() {
            assert!(ports.len() > 10_000, "worker {w}: {} ports", ports.len());
            for port in ports {
                let t = Tuple::syn_ack(src, *port, dst);
                assert_eq!(table.queue_of(&t).unwrap() as usize, w, "port {port}");
                assert_eq!(p.owner.owner(*port), Some(w));
            }
            total += ports.len();
        }
        assert_eq!(total, 65535 - 1024 + 1, "the workers partition the range");
        // Fewer workers than queues: ports hashing to queues 2 and 3 go unused.
        let p = from_rss(&table, 2, src, dst, &all).unwrap();
        assert!(p.per_worker.iter().map(Vec::len).sum::<usize>() < 40_000);
        // Ports left out (kernel ephemeral range) are never handed out.
        let usable: Vec<u16> = (1024..=32767).collect();
        let p = from_rss(&table, 4, src, dst, &usable).unwrap();
        assert!(p.per_worker.iter().flatten().all(|&x| x <= 32767));
        assert_eq!(
            p.per_worker.iter().map(Vec::len).sum::<usize>(),
            usable.len()
        );
        // The IPv6 tuple: the hash covers both 128-bit addresses.
        let (s6, d6): (IpAddr, SocketAddr) = (
            "2001:2:0:1::1".parse().unwrap(),
            "[2001:2::2]:80".parse().unwrap(),
        );
        let p = from_rss(&table, 4, s6, d6, &all).unwrap();
        for (w, ports) in p.per_worker.iter().enumerate() {
            assert!(ports.len() > 10_000, "worker {w}: {} ports", ports.len());
            for port in ports.iter().step_by(97) {
                let t = Tuple::syn_ack(s6, *port, d6);
                assert_eq!(table.queue_of(&t).unwrap() as usize, w, "port {port}");
            }
        }
    }
}
