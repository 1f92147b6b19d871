//! Client tuple chooser over `sources x ports x destinations`.
//!
//! Tuples are visited in a fixed cyclic order (destination fastest, then source, then port),
//! so connections reuse a tuple only after the whole space has been used once; `open` skips
//! tuples still in the table (active or TIME-WAIT).

use super::addrs6::is_handle;
use super::table::Key;

pub struct Tuples {
    /// IPv4 sources, and IPv6 sources as address handles (`addrs6.rs`), each cycled to the
    /// longer list's length (so one index `si` serves both families without a modulo).
    s4: Vec<u32>,
    s6: Vec<u32>,
    /// (address or handle, port); a destination takes sources of its own family.
    dests: Vec<(u32, u16)>,
    /// This worker's source ports, ascending.
    ports: Vec<u16>,
    /// Membership bitmap of `ports` (65536 bits) for `owns`.
    port_bits: Vec<u64>,
    /// Number of distinct tuples (fixed; read by every `open`).
    space: u64,
    si: usize,
    di: usize,
    pi: usize,
}

impl Tuples {
    /// `ports` are this worker's source ports (any order; 0 is refused). Destinations that
    /// are handles need IPv6 sources, the others IPv4 sources.
    pub fn new(
        s4: &[u32],
        s6: &[u32],
        dests: &[(u32, u16)],
        ports: &[u16],
    ) -> Result<Tuples, String> {
        if s4.is_empty() && s6.is_empty() {
            return Err("client needs at least one source address".into());
        }
        if dests.is_empty() {
            return Err("client needs at least one destination".into());
        }
        if dests.iter().any(|d| is_handle(d.0)) && s6.is_empty() {
            return Err("IPv6 destinations need an IPv6 source address".into());
        }
        if dests.iter().any(|d| !is_handle(d.0)) && s4.is_empty() {
            return Err("IPv4 destinations need an IPv4 source address".into());
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
        let m = s4.len().max(s6.len());
        let cycle = |s: &[u32]| -> Vec<u32> {
            if s.is_empty() {
                Vec::new()
            } else {
                s.iter().copied().cycle().take(m).collect()
            }
        };
        let per_port: usize = dests
            .iter()
            .map(|d| if is_handle(d.0) { s6.len() } else { s4.len() })
            .sum();
        Ok(Tuples {
            space: per_port as u64 * ports.len() as u64,
            s4: cycle(s4),
            s6: cycle(s6),
            dests: dests.to_vec(),
            ports,
            port_bits,
            si: 0,
            di: 0,
            pi: 0,
        })
    }

    /// Number of distinct tuples.
    #[inline]
    pub fn space(&self) -> u64 {
        self.space
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
            local_ip: if is_handle(rip) {
                self.s6[si]
            } else {
                self.s4[si]
            },
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
            if si == self.s4.len().max(self.s6.len()) {
                si = 0;
                pi += 1;
                if pi == self.ports.len() {
                    pi = 0;
                }
            }
        }
        (si, di, pi)
    }

    /// Is (`ip`, `port`) one of our local endpoints (`ip` an address or a handle)?
    pub fn owns(&self, ip: u32, port: u16) -> bool {
        self.port_bits[port as usize / 64] & (1 << (port % 64)) != 0
            && if is_handle(ip) {
                self.s6.contains(&ip)
            } else {
                self.s4.contains(&ip)
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_and_cycle() {
        let s = [0x0a00_0001, 0x0a00_0002];
        let d = [(0x0a00_0101, 80)];
        let mut t = Tuples::new(&s, &[], &d, &[1007, 1003]).unwrap();
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
            Tuples::new(&s, &[], &d, &[1003, 1007]).unwrap().current()
        );
        assert_eq!(t.current().local_port, 1003, "ascending order");
        assert!(!t.owns(s[0], 1004));
        assert!(Tuples::new(&s, &[], &d, &[]).is_err());
        assert!(Tuples::new(&s, &[], &d, &[0, 5]).is_err());
        assert!(Tuples::new(&[], &[], &d, &[5]).is_err());
        assert!(Tuples::new(&[], &[7], &d, &[5]).is_err(), "no IPv4 source");
    }

    #[test]
    fn mixed_families_pair_sources_of_their_own() {
        // Two IPv4 sources, one IPv6 (handle 7); one destination of each family.
        let d = [(0x0a00_0101, 80), (9, 80)];
        let mut t = Tuples::new(&[0x0a00_0001, 0x0a00_0002], &[7], &d, &[1000, 1001]).unwrap();
        assert_eq!(t.space(), 2 * (2 + 1));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..8 {
            let k = t.current();
            assert_eq!(is_handle(k.local_ip), is_handle(k.remote_ip));
            assert!(t.owns(k.local_ip, k.local_port));
            seen.insert(k);
            t.advance();
        }
        assert_eq!(seen.len(), 6, "every tuple of the space is visited");
        assert!(
            Tuples::new(&[0x0a00_0001], &[], &d, &[5]).is_err(),
            "no IPv6 source"
        );
    }
}
