//! What the XDP handshake offload (bpf/handshake.h, `--offload xdp`) shares with the engine:
//! the cookie key and the rule for when a run can use it. The XDP program issues and checks
//! the engine's own cookies (`cookie.rs`), so either side accepts what the other issued.

use std::net::SocketAddrV4;

use super::isn::{SipKey, key_words, sip_words};
use super::table::Key;
use super::{CloseMode, EngineConfig, Nanos, RoleConfig};

/// The SipHash key of the engine's SYN cookies for `secret` (`Common::secret`), as the XDP
/// program needs it (`tw_hs_cfg.cookie_k0/k1`).
pub fn cookie_key(secret: &[u8; 16]) -> (u64, u64) {
    let k = SipKey::from_bytes(secret).derive(2);
    (k.0, k.1)
}

/// The SipHash key of the client's ISNs for `secret`: the engine's RFC 6528 ISN key
/// (`Engine::isn_key`, derivation 1), as XDP needs it.
pub fn client_isn_key(secret: &[u8; 16]) -> (u64, u64) {
    let k = SipKey::from_bytes(secret).derive(1);
    (k.0, k.1)
}

/// The client SYN's TSval with `--offload xdp`: microseconds of the workers' clock (32 bits,
/// wrapping every 71 minutes), so `now - TSecr` of the SYN-ACK is the handshake latency.
#[inline]
pub fn client_tsval(t: Nanos) -> u32 {
    (t / 1000) as u32
}

/// The client's ISN with `--offload xdp` (IPv4): SipHash-2-4 of the tuple's message words
/// (`isn::key_words`, ours first) and the SYN's TSval. The peer echoes both (ACK = ISN + 1,
/// TSecr = TSval), so XDP checks a SYN-ACK with no table (`tw_hs_client` in
/// bpf/handshake_client.h, `tw_sip3` over the same three words), and a new attempt on the
/// same tuple gets another ISN (its TSval differs).
pub fn client_isn(key: (u64, u64), local: SocketAddrV4, remote: SocketAddrV4, tsval: u32) -> u32 {
    let k = Key {
        local_ip: u32::from(*local.ip()),
        remote_ip: u32::from(*remote.ip()),
        local_port: local.port(),
        remote_port: remote.port(),
    };
    client_isn_of(key, &k, tsval)
}

/// `client_isn` for the engine's key of the tuple.
#[inline]
pub(crate) fn client_isn_of(key: (u64, u64), k: &Key, tsval: u32) -> u32 {
    let [w0, w1] = key_words(k);
    sip_words(SipKey(key.0, key.1), &[w0, w1, tsval as u64]) as u32
}

/// Why a server engine configuration cannot hand its handshake to XDP (`None`: it can).
pub fn server_blocker(cfg: &EngineConfig) -> Option<&'static str> {
    let RoleConfig::Server(s) = &cfg.role else {
        return Some("not a server");
    };
    if cfg.common.vlan.is_some() {
        return Some("--vlan needs the engine");
    }
    if s.listen.len() > 8 {
        return Some("more than 8 listeners");
    }
    if s.listen.is_empty() {
        return Some("IPv6 listeners only: the offload is IPv4");
    }
    None
}

/// Why a client engine configuration cannot hand its handshake to XDP (`None`: it can; the
/// run wiring is issue 14's next step). One frame out per frame in decides the close: XDP
/// answers the SYN-ACK with ACK|FIN, which completes the handshake on the peer (a Linux
/// listener counts TcpPassiveOpens) and starts a graceful close; a bare RST would only drop
/// the peer's request socket, and ACK then RST is two frames. So `--close fin` only.
pub fn client_blocker(cfg: &EngineConfig) -> Option<&'static str> {
    let RoleConfig::Client(c) = &cfg.role else {
        return Some("not a client");
    };
    let common = &cfg.common;
    if common.vlan.is_some() {
        return Some("--vlan needs the engine");
    }
    if !c.request.is_empty() {
        return Some("--request needs the engine");
    }
    if common.close != CloseMode::Fin {
        return Some("XDP closes with ACK|FIN: --close fin only");
    }
    if !common.syn_options.timestamps {
        return Some("the SYN-ACK check needs TCP timestamps (TSecr carries the attempt)");
    }
    if !c.destinations6.is_empty() {
        return Some("IPv6 destinations need the engine");
    }
    if c.sources.len() != 1 || c.destinations.len() != 1 {
        return Some("XDP marks attempts per source port: one source and one destination");
    }
    None
}

/// `--offload check`: whether XDP answers source port `port` (the engine the others) when
/// `workers` workers take the ports in turn (worker w: p, p + W, p + 2W, ...). The port's
/// place in that sequence, in blocks of four, each two XDP and two engine in one of the four
/// orders XXEE, EEXX, XEEX, EXXE, picked by a Fibonacci hash of the block's number:
/// - each half follows either half equally often (what the worker did for the previous
///   attempt, slept or handled the engine's close, shifts when the next one starts: strict
///   alternation made the halves' p50 differ ~20%);
/// - a burst of attempts after a stall is split within two (a hash of each port split
///   bursts unevenly);
/// - a cost that comes back every 2^k attempts falls in both halves alike. With the fixed
///   order XXEE, the attempt the 4 ms timer tick delays (HZ=250: every 80th at 20k/s, a
///   fixed place in an exactly paced sequence) was 3-5x slower at p90, all of those fell in
///   one half, and its p99 came out 0.3-3x the other's, by the run's phase.
///
/// `tw_check_engine` (bpf/handshake_client.h) is its negation.
pub fn check_port_in_xdp(port: u16, workers: u16) -> bool {
    let seq = (port / workers.max(1)) as u32;
    let order = (seq >> 2).wrapping_mul(0x9e37_79b1) >> 30;
    // Bit `place` of nibble `order`: the engine's places of XXEE, EEXX, XEEX, EXXE.
    (CHECK_ORDERS >> (order * 4 + (seq & 3))) & 1 == 0
}

/// The four orders of a block of `check_port_in_xdp` as nibbles, bit set = the engine's.
const CHECK_ORDERS: u32 = 0x963c;

/// Buckets of the client offload's XDP latency histogram (`tw_hs_lat`, bpf/
/// handshake_client.h): ns values below 256 exact, then 128 buckets per power of two (each
/// under 0.8% of its values wide) up to 2^37 ns.
pub const LAT_BUCKETS: usize = 3968;

/// The elements of `tw_hs_lat`: which SYN-ACKs a histogram holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatSeries {
    /// The SYN-ACKs XDP answered, once per attempt: the run's latency.
    Answered = 0,
    /// `--offload check`: the engine's half timed in XDP as well (the same SYN-ACKs the
    /// engine times, with the same clock read as their RX stamps), to check one against the
    /// other with no sampling difference.
    Witness = 1,
}

/// The bucket of `ns` (what `tw_lat_index` computes in XDP).
pub fn lat_index(ns: u64) -> usize {
    if ns < 256 {
        return ns as usize;
    }
    let shift = 63 - ns.leading_zeros() - 7;
    let i = shift as u64 * 128 + (ns >> shift);
    (i as usize).min(LAT_BUCKETS - 1)
}

/// The value a bucket stands for: its middle (HdrHistogram's equivalent-value convention).
pub fn lat_value(i: usize) -> u64 {
    if i < 256 {
        return i as u64;
    }
    let shift = (i / 128 - 1) as u32;
    let low = ((i - shift as usize * 128) as u64) << shift;
    low + (1u64 << shift) / 2
}

#[cfg(test)]
mod tests {

    #[test]
    fn check_split_is_balanced_blocks_in_hashed_orders() {
        use super::check_port_in_xdp;
        for workers in [1u16, 2, 3] {
            let seq: Vec<bool> = (0..16384u32)
                .map(|i| check_port_in_xdp((i * workers as u32) as u16, workers))
                .collect();
            // Two of each four to each half; all four orders used.
            assert!(seq.chunks(4).all(|b| b.iter().filter(|x| **x).count() == 2));
            let orders: std::collections::HashSet<_> = seq.chunks(4).collect();
            assert_eq!(orders.len(), 4, "{orders:?}");
            // Half of each place modulo 2^k (k <= 6) goes to each half, and each half follows
            // either half about equally often.
            for m in [2usize, 4, 8, 16, 32, 64] {
                for r in 0..m {
                    let at: Vec<_> = seq.iter().skip(r).step_by(m).collect();
                    let x = at.iter().filter(|b| ***b).count() as f64 / at.len() as f64;
                    assert!(
                        (x - 0.5).abs() < 0.06,
                        "workers {workers} mod {m} = {r}: {x}"
                    );
                }
            }
            let after_x = seq.windows(2).filter(|w| w[0]).map(|w| w[1] as u32);
            let (n, x) = after_x.fold((0, 0), |(n, x), b| (n + 1, x + b));
            assert!((x as f64 / n as f64 - 0.5).abs() < 0.03, "{x} of {n}");
        }
    }

    #[test]
    fn lat_buckets_are_log_linear_and_invert() {
        use super::{LAT_BUCKETS, lat_index, lat_value};
        // Contiguous: each bucket's value lands in it, and the index never decreases.
        let mut last = 0;
        for i in 0..LAT_BUCKETS {
            assert_eq!(lat_index(lat_value(i)), i, "bucket {i}");
        }
        for v in (0..40_000_000u64).step_by(997) {
            let i = lat_index(v);
            assert!(i >= last);
            last = i;
            let got = lat_value(i);
            assert!(
                got.abs_diff(v) as f64 <= v as f64 / 256.0 + 1.0,
                "{v} -> {got}"
            );
        }
        assert_eq!(lat_index(1 << 40), LAT_BUCKETS - 1, "clamped");
        assert_eq!(
            (lat_index(255), lat_index(256), lat_index(511)),
            (255, 256, 383)
        );
    }
    use super::*;

    #[test]
    fn cookie_key_is_the_engines() {
        let secret = [7u8; 16];
        let k = SipKey::from_bytes(&secret).derive(2);
        assert_eq!(cookie_key(&secret), (k.0, k.1));
        assert_ne!(cookie_key(&secret), cookie_key(&[8u8; 16]));
    }

    #[test]
    fn client_isn_binds_tuple_tsval_and_key() {
        let key = client_isn_key(&[7u8; 16]);
        let a = |o: u8, p: u16| SocketAddrV4::new(std::net::Ipv4Addr::new(198, 18, 0, o), p);
        let (l, r) = (a(2, 40000), a(1, 80));
        let isn = client_isn(key, l, r, 1000);
        let k = Key {
            local_ip: 0xc612_0002,
            remote_ip: 0xc612_0001,
            local_port: 40000,
            remote_port: 80,
        };
        assert_eq!(
            isn,
            client_isn_of(key, &k, 1000),
            "the engine's key of the tuple"
        );
        assert_ne!(
            isn,
            client_isn(key, l, r, 1001),
            "another attempt, another ISN"
        );
        assert_ne!(isn, client_isn(key, a(2, 40001), r, 1000));
        assert_ne!(isn, client_isn(key, r, l, 1000), "ours first");
        assert_ne!(isn, client_isn(client_isn_key(&[8u8; 16]), l, r, 1000));
        assert_eq!(client_tsval(1_500_999), 1500);
    }

    #[test]
    fn client_blockers() {
        use super::super::{ClientConfig, Common};
        use std::net::Ipv4Addr;
        let ok = EngineConfig {
            common: Common {
                close: CloseMode::Fin,
                ..Common::default()
            },
            role: RoleConfig::Client(ClientConfig {
                sources: vec![Ipv4Addr::new(198, 18, 0, 2)],
                destinations: vec![SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 80)],
                ..ClientConfig::default()
            }),
        };
        assert_eq!(client_blocker(&ok), None);
        let with = |f: &dyn Fn(&mut EngineConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            client_blocker(&c)
        };
        fn client(c: &mut EngineConfig) -> &mut ClientConfig {
            match &mut c.role {
                RoleConfig::Client(cl) => cl,
                _ => unreachable!("a client configuration"),
            }
        }
        assert!(
            with(&|c| c.common.close = CloseMode::Rst)
                .unwrap()
                .contains("ACK|FIN")
        );
        assert!(
            with(&|c| c.common.syn_options.timestamps = false)
                .unwrap()
                .contains("timestamps")
        );
        assert!(with(&|c| c.common.vlan = Some(7)).is_some());
        assert!(
            with(&|c| client(c).request = b"GET".to_vec())
                .unwrap()
                .contains("--request")
        );
        assert!(
            with(&|c| client(c).sources.push(Ipv4Addr::new(198, 18, 0, 3)))
                .unwrap()
                .contains("one source")
        );
    }
}
