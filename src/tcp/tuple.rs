//! Client tuple chooser over `sources x ports x destinations`.
//!
//! Tuples are visited in a fixed cyclic order (destination fastest, then source, then port),
//! so connections reuse a tuple only after the whole space has been used once; `open` skips
//! tuples still in the table (active or TIME-WAIT).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::table::Key;

pub struct Tuples {
    sources: Vec<u32>,
    dests: Vec<(u32, u16)>,
    /// This worker's source ports, ascending.
    ports: Vec<u16>,
    /// Membership bitmap of `ports` (65536 bits) for `owns`.
    port_bits: Vec<u64>,
    si: usize,
    di: usize,
    pi: usize,
}

impl Tuples {
    /// `ports` are this worker's source ports (any order; 0 is refused).
    pub fn new(
        sources: &[Ipv4Addr],
        dests: &[SocketAddrV4],
        ports: &[u16],
    ) -> Result<Tuples, String> {
        if sources.is_empty() {
            return Err("client needs at least one source address".into());
        }
        if dests.is_empty() {
            return Err("client needs at least one destination".into());
        }
        let mut ports = ports.to_vec();
        ports.sort_unstable();
        ports.dedup();
        if ports.is_empty() || ports[0] == 0 {
            return Err("client needs source ports (none given, or port 0)".into());
        }
        let mut port_bits = vec![0u64; 1024];
        for p in &ports {
            port_bits[*p as usize / 64] |= 1 << (p % 64);
        }
        Ok(Tuples {
            sources: sources.iter().map(|&a| u32::from(a)).collect(),
            dests: dests
                .iter()
                .map(|d| (u32::from(*d.ip()), d.port()))
                .collect(),
            ports,
            port_bits,
            si: 0,
            di: 0,
            pi: 0,
        })
    }

    /// Number of distinct tuples.
    pub fn space(&self) -> u64 {
        self.sources.len() as u64 * self.ports.len() as u64 * self.dests.len() as u64
    }

    #[inline]
    pub fn current(&self) -> Key {
        self.key_at((self.si, self.di, self.pi))
    }

    #[inline]
    pub fn advance(&mut self) {
        (self.si, self.di, self.pi) = self.after((self.si, self.di, self.pi));
    }

    /// The next `n` tuples from the current one, without moving on (to warm their lookups).
    #[inline]
    pub fn upcoming(&self, n: usize, mut f: impl FnMut(Key)) {
        let mut c = (self.si, self.di, self.pi);
        for _ in 0..n {
            f(self.key_at(c));
            c = self.after(c);
        }
    }

    /// The tuple at cursor (source, destination, port).
    #[inline(always)]
    fn key_at(&self, (si, di, pi): (usize, usize, usize)) -> Key {
        let (rip, rport) = self.dests[di];
        Key {
            local_ip: self.sources[si],
            remote_ip: rip,
            local_port: self.ports[pi],
            remote_port: rport,
        }
    }

    /// The cursor after `c`: destination fastest, then source, then port.
    #[inline(always)]
    fn after(&self, (mut si, mut di, mut pi): (usize, usize, usize)) -> (usize, usize, usize) {
        di += 1;
        if di == self.dests.len() {
            di = 0;
            si += 1;
            if si == self.sources.len() {
                si = 0;
                pi += 1;
                if pi == self.ports.len() {
                    pi = 0;
                }
            }
        }
        (si, di, pi)
    }

    /// Is (`ip`, `port`) one of our local endpoints?
    pub fn owns(&self, ip: u32, port: u16) -> bool {
        self.port_bits[port as usize / 64] & (1 << (port % 64)) != 0 && self.sources.contains(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_and_cycle() {
        let s = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
        let d = [SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 1), 80)];
        let mut t = Tuples::new(&s, &d, &[1007, 1003]).unwrap();
        // 2 ports x 2 sources x 1 dest
        assert_eq!(t.space(), 4);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..4 {
            let k = t.current();
            assert_eq!(k.local_port % 4, 3);
            assert!(t.owns(k.local_ip, k.local_port));
            seen.insert(k);
            t.advance();
        }
        assert_eq!(seen.len(), 4);
        let mut ahead = Vec::new();
        t.upcoming(4, |k| ahead.push(k)); // one whole cycle: back at the start
        for k in ahead {
            assert_eq!(k, t.current(), "upcoming is the order open takes");
            t.advance();
        }
        assert_eq!(
            t.current(),
            Tuples::new(&s, &d, &[1003, 1007]).unwrap().current()
        );
        assert_eq!(t.current().local_port, 1003, "ascending order");
        assert!(!t.owns(u32::from(s[0]), 1004));
        assert!(Tuples::new(&s, &d, &[]).is_err());
        assert!(Tuples::new(&s, &d, &[0, 5]).is_err());
        assert!(Tuples::new(&[], &d, &[5]).is_err());
    }
}
