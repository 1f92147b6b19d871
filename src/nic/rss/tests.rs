//! Toeplitz against Microsoft's published vectors, and the port chooser against the full hash.

use std::net::{IpAddr, SocketAddr};

use super::*;

/// "Verifying the RSS Hash Calculation" (Microsoft, Windows driver docs): destination,
/// source, hash over the addresses only, hash over addresses and ports. Key: [`MS_KEY`].
const MS_IPV4: [(&str, &str, u32, u32); 5] = [
    (
        "161.142.100.80:1766",
        "66.9.149.187:2794",
        0x323e8fc2,
        0x51ccc178,
    ),
    (
        "65.69.140.83:4739",
        "199.92.111.2:14230",
        0xd718262a,
        0xc626b0ea,
    ),
    (
        "12.22.207.184:38024",
        "24.19.198.95:12898",
        0xd2d0a5de,
        0x5c2b394a,
    ),
    (
        "209.142.163.6:2217",
        "38.27.205.30:48228",
        0x82989176,
        0xafc7327f,
    ),
    (
        "202.188.127.2:1303",
        "153.39.163.191:44251",
        0x5d1809c5,
        0x10e828a2,
    ),
];

const MS_IPV6: [(&str, &str, u32, u32); 3] = [
    (
        "[3ffe:2501:200:3::1]:1766",
        "[3ffe:2501:200:1fff::7]:2794",
        0x2cc18cd5,
        0x40207d3d,
    ),
    (
        "[ff02::1]:4739",
        "[3ffe:501:8::260:97ff:fe40:efab]:14230",
        0x0f0c461c,
        0xdde51bbf,
    ),
    (
        "[fe80::200:f8ff:fe21:67cf]:38024",
        "[3ffe:1900:4545:3:200:f8ff:fe21:67cf]:44251",
        0x4b61e985,
        0x02d1feef,
    ),
];

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn check_vectors(rows: &[(&str, &str, u32, u32)]) {
    for &(dst, src, ip_only, with_tcp) in rows {
        let (dst, src) = (sa(dst), sa(src));
        let t = Tuple {
            src: src.ip(),
            dst: dst.ip(),
            src_port: src.port(),
            dst_port: dst.port(),
        };
        assert_eq!(
            hash(&MS_KEY, &t).unwrap(),
            with_tcp,
            "{src} -> {dst} with TCP"
        );
        let input = t.input().unwrap();
        let addrs = &input[..input.len() - 4];
        assert_eq!(
            toeplitz(&MS_KEY, addrs),
            ip_only,
            "{src} -> {dst} addresses only"
        );
    }
}

#[test]
fn ms_vectors_ipv4_tcp() {
    check_vectors(&MS_IPV4);
}

#[test]
fn ms_vectors_ipv6_tcp() {
    check_vectors(&MS_IPV6);
}

#[test]
fn a_52_byte_key_hashes_like_its_40_byte_prefix() {
    // Inputs of at most 36 bytes never reach key bytes 40..52.
    let mut long = MS_KEY.to_vec();
    long.extend_from_slice(&[0xff; 12]);
    let rss = Rss::new(long, vec![0]).unwrap();
    let (dst, src) = (sa(MS_IPV6[0].0), sa(MS_IPV6[0].1));
    let t = Tuple {
        src: src.ip(),
        dst: dst.ip(),
        src_port: src.port(),
        dst_port: dst.port(),
    };
    assert_eq!(hash(rss.key(), &t).unwrap(), MS_IPV6[0].3);
}

#[test]
fn reta_lookup_is_hash_mod_len() {
    let reta = [5, 6, 7];
    assert_eq!(reta_queue(&reta, 0x51ccc178), Some(reta[0x51ccc178 % 3]));
    assert_eq!(reta_queue(&[], 7), None);
    assert_eq!(equal_reta(8, 3), vec![0, 1, 2, 0, 1, 2, 0, 1]);
}

use crate::rng::SplitMix64 as Rng;

/// A 512-entry table over 6 queues in random order (like a table an operator weighted).
fn odd_reta(rng: &mut Rng) -> Vec<u16> {
    (0..512).map(|_| (rng.next_u64() % 6) as u16).collect()
}

fn endpoints() -> [(IpAddr, SocketAddr); 2] {
    [
        ("198.18.1.7".parse().unwrap(), sa("198.19.0.2:443")),
        ("2001:db8::17".parse().unwrap(), sa("[2001:db8:1::2]:8080")),
    ]
}

#[test]
fn port_hasher_equals_full_toeplitz() {
    let mut rng = Rng(1);
    for key in [MS_KEY.to_vec(), ports_only_key(52), symmetric_key(40)] {
        for (ours, target) in endpoints() {
            let h = PortHasher::new(&key, ours, target).unwrap();
            for _ in 0..2000 {
                let port = rng.next_u64() as u16;
                let full = hash(&key, &Tuple::syn_ack(ours, port, target)).unwrap();
                assert_eq!(h.hash(port), full, "port {port} {ours} <- {target}");
            }
        }
    }
}

#[test]
fn every_chosen_port_lands_on_its_queue() {
    let mut rng = Rng(2);
    let tables = [equal_reta(128, 4), odd_reta(&mut rng)];
    for (key, reta) in [
        (MS_KEY.to_vec(), &tables[0]),
        (ports_only_key(40), &tables[1]),
    ] {
        let rss = Rss::new(key, reta.clone()).unwrap();
        for (ours, target) in endpoints() {
            for q in 0..rss.queues() {
                let map = rss.port_bitmap(ours, target, q, 1024, 65535).unwrap();
                assert!(!map.is_empty(), "queue {q} got no ports");
                for port in map.iter() {
                    let t = Tuple::syn_ack(ours, port, target);
                    assert_eq!(
                        rss.queue_of(&t).unwrap(),
                        q,
                        "port {port} for {ours} <- {target}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_queues_partition_the_port_range() {
    let (lo, hi) = (1024u16, 65535u16);
    let rss = Rss::new(MS_KEY.to_vec(), equal_reta(128, 4)).unwrap();
    for (ours, target) in endpoints() {
        let maps = rss.port_bitmaps(ours, target, lo, hi).unwrap();
        assert_eq!(maps.len(), 4);
        assert_eq!(
            maps.iter().map(PortBitmap::len).sum::<usize>(),
            usize::from(hi - lo) + 1
        );
        for port in lo..=hi {
            let owners = maps.iter().filter(|m| m.contains(port)).count();
            assert_eq!(owners, 1, "port {port} owned by {owners} queues");
        }
        for (q, m) in maps.iter().enumerate() {
            // Toeplitz spreads ports evenly over an `equal` table: 16,128 each, give or take.
            assert!(
                (14_000..18_300).contains(&m.len()),
                "queue {q}: {} ports",
                m.len()
            );
            assert_eq!(m, &rss.port_bitmap(ours, target, q as u16, lo, hi).unwrap());
        }
    }
}

#[test]
fn ports_only_key_ignores_ipv4_addresses() {
    let rss = Rss::new(ports_only_key(40), equal_reta(128, 4)).unwrap();
    let first = rss.port_bitmaps(
        "198.18.0.1".parse().unwrap(),
        sa("198.19.0.2:80"),
        1024,
        65535,
    );
    let mut rng = Rng(3);
    for _ in 0..8 {
        let ours = IpAddr::from((rng.next_u64() as u32).to_be_bytes());
        let target = SocketAddr::new(IpAddr::from((rng.next_u64() as u32).to_be_bytes()), 80);
        assert_eq!(
            rss.port_bitmaps(ours, target, 1024, 65535),
            first,
            "{ours} <- {target}"
        );
    }
    let other_port = rss.port_bitmaps(
        "198.18.0.1".parse().unwrap(),
        sa("198.19.0.2:81"),
        1024,
        65535,
    );
    assert_ne!(other_port, first, "the target port is part of the hash");
}

#[test]
fn symmetric_key_hashes_both_directions_alike() {
    for len in KEY_LENS {
        let key = symmetric_key(len);
        for (ours, target) in endpoints() {
            let fwd = Tuple {
                src: ours,
                dst: target.ip(),
                src_port: 40000,
                dst_port: target.port(),
            };
            let rev = Tuple::syn_ack(ours, 40000, target);
            assert_eq!(hash(&key, &fwd).unwrap(), hash(&key, &rev).unwrap());
        }
    }
}

#[test]
fn presets_and_key_strings() {
    assert_eq!(preset_key("symmetric", 40), Some(symmetric_key(40)));
    assert_eq!(preset_key("toeplitz-sport", 52).map(|k| k.len()), Some(52));
    assert_eq!(preset_key("keep", 40), None);
    let s = format_key(&MS_KEY);
    assert!(
        s.starts_with("6d:5a:56:da:") && s.ends_with(":01:fa"),
        "{s}"
    );
    assert_eq!(parse_key(&s).unwrap(), MS_KEY.to_vec());
    assert_eq!(parse_key("6d:5a"), Err(RssError::KeyLength(2)));
    assert!(matches!(parse_key("6d:5g:00"), Err(RssError::KeySyntax(_))));
}

#[test]
fn errors_say_what_to_do() {
    assert_eq!(Rss::new(vec![0; 39], vec![0]), Err(RssError::KeyLength(39)));
    assert_eq!(Rss::new(MS_KEY.to_vec(), vec![]), Err(RssError::EmptyReta));
    let rss = Rss::new(MS_KEY.to_vec(), equal_reta(64, 2)).unwrap();
    let (ours, target) = endpoints()[0];
    let e = rss.port_bitmap(ours, target, 2, 1024, 2047).unwrap_err();
    assert_eq!(
        e,
        RssError::QueueNotInReta {
            queue: 2,
            queues: 2
        }
    );
    assert!(e.to_string().contains("ethtool -X IF equal N"), "{e}");
    assert_eq!(
        rss.port_bitmaps(ours, target, 9, 8),
        Err(RssError::EmptyRange { lo: 9, hi: 8 })
    );
    let v6_target = endpoints()[1].1;
    assert_eq!(
        rss.port_bitmaps(ours, v6_target, 1, 2),
        Err(RssError::MixedFamilies)
    );
}

#[test]
fn bitmap_edges() {
    let mut m = PortBitmap::new(65500, 65535);
    for p in [65500, 65535, 65535, 1, 65520] {
        m.insert(p);
    }
    assert_eq!(m.iter().collect::<Vec<_>>(), vec![65500, 65520, 65535]);
    assert_eq!(m.len(), 3);
    assert!(!m.contains(1) && m.contains(65535));
    let full = PortBitmap::new(0, 65535);
    assert_eq!(
        (full.range(), full.len(), full.iter().count()),
        ((0, 65535), 0, 0)
    );
}
