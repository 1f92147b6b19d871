//! The specialised reader/writer agree with the wire layer, byte for byte.

use super::*;
use crate::tcp::fastpath::{self, Hdr, Out};

use crate::rng::SplitMix64 as Rng;

/// IPv6 addresses of a segment (`None`: IPv4, the key's own).
type Six = Option<(u128, u128)>;

fn random_six(r: &mut Rng) -> Six {
    let a = |r: &mut Rng| (r.next_u64() as u128) << 64 | r.next_u64() as u128;
    r.bool().then(|| (a(r), a(r)))
}

fn random_segment(r: &mut Rng, payload: &[u8]) -> (Hdr, Key, Out<'static>, usize) {
    let hdr = Hdr {
        dst: MacAddr([r.next_u64() as u8; 6]),
        src: MacAddr([r.next_u64() as u8, 1, 2, 3, 4, 5]),
        vlan: r.bool().then(|| r.next_u64() as u16),
        ttl: r.next_u64() as u8 | 1,
    };
    // Never 0.0.0.0/8 (the IPv6 handles' range, `not_ours` on the wire).
    let k = Key {
        local_ip: r.next_u64() as u32 | 1 << 31,
        remote_ip: r.next_u64() as u32 | 1 << 30,
        local_port: r.next_u64() as u16,
        remote_port: r.next_u64() as u16,
    };
    let options = TcpOptions {
        mss: r.bool().then(|| r.next_u64() as u16),
        wscale: r.bool().then(|| r.next_u64() as u8 % 15),
        sack_permitted: r.bool(),
        timestamps: r.bool().then(|| (r.next_u64() as u32, r.next_u64() as u32)),
    };
    let out = Out {
        flags: r.next_u64() as u8,
        seq: SeqNum(r.next_u64() as u32),
        ack: SeqNum(r.next_u64() as u32),
        window: r.next_u64() as u16,
        options,
        payload: &[],
    };
    let n = (r.next_u64() % (payload.len() as u64 + 1)) as usize;
    (hdr, k, out, n)
}

fn wire_frame<'a>(hdr: &Hdr, k: &Key, six: Six, s: &Out<'a>) -> TcpFrame<'a> {
    let ip = match six {
        None => IpRepr::V4(Ipv4Repr {
            src: Ipv4Addr::from(k.local_ip),
            dst: Ipv4Addr::from(k.remote_ip),
            protocol: PROTO_TCP,
            payload_len: 0,
            ttl: hdr.ttl,
            ident: 0,
            dont_frag: true,
            dscp_ecn: 0,
        }),
        Some((src, dst)) => IpRepr::V6(crate::wire::Ipv6Repr {
            src: src.into(),
            dst: dst.into(),
            next_header: PROTO_TCP,
            payload_len: 0,
            hop_limit: hdr.ttl,
            traffic_class: 0,
            flow_label: 0,
        }),
    };
    TcpFrame {
        eth: EthernetRepr {
            dst: hdr.dst,
            src: hdr.src,
            vlan: hdr.vlan,
            ethertype: if six.is_some() {
                EtherType::IPV6
            } else {
                EtherType::IPV4
            },
        },
        ip,
        tcp: TcpRepr {
            src_port: k.local_port,
            dst_port: k.remote_port,
            seq: s.seq,
            ack: s.ack,
            flags: TcpFlags(s.flags),
            window: s.window,
            urgent: 0,
            options: s.options,
            payload: s.payload,
        },
    }
}

#[test]
fn writer_matches_tcpframe_emit() {
    let mut r = Rng(1);
    let payload: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let (mut a, mut b) = (vec![0u8; MAX_FRAME], vec![0u8; MAX_FRAME]);
    for _ in 0..100_000 {
        let (hdr, k, s, n) = random_segment(&mut r, &payload);
        let s = Out {
            payload: &payload[..n],
            ..s
        };
        let six = random_six(&mut r);
        let la = write_any(&mut a, &hdr, &k, six, &s).expect("fits");
        let lb = wire_frame(&hdr, &k, six, &s).emit(&mut b).expect("fits");
        assert_eq!(a[..la], b[..lb], "{s:?} {six:?}");
    }
    // Too small a buffer: None, no panic.
    let (hdr, k, s, _) = random_segment(&mut r, &payload);
    assert!(fastpath::write(&mut a[..30], &hdr, &k, &s).is_none());
    assert!(fastpath::write6(&mut a[..60], &hdr, 1, 2, &k, &s).is_none());
}

/// `fastpath::write` or, with IPv6 addresses, `write6`.
fn write_any(buf: &mut [u8], hdr: &Hdr, k: &Key, six: Six, s: &Out<'_>) -> Option<usize> {
    match six {
        None => fastpath::write(buf, hdr, k, s),
        Some((src, dst)) => fastpath::write6(buf, hdr, src, dst, k, s),
    }
}

#[test]
fn reader_matches_tcpframe_parse_on_valid_and_mutated_frames() {
    let mut r = Rng(2);
    let payload: Vec<u8> = (0..100u32).map(|i| i as u8).collect();
    let mut buf = vec![0u8; MAX_FRAME];
    let (mut fast_hits, mut fast6_hits) = (0, 0);
    for i in 0..200_000 {
        let (hdr, k, s, n) = random_segment(&mut r, &payload);
        let s = Out {
            payload: &payload[..n],
            ..s
        };
        let six = random_six(&mut r);
        let mut len = write_any(&mut buf, &hdr, &k, six, &s).expect("fits");
        if r.one_in(3) {
            // An outer 802.1ad tag: QinQ (or a lone 802.1ad tag on an untagged frame). The
            // fast path reads both through `wire::headers::link`, as the slow path does.
            buf.copy_within(12..len, 16);
            buf[12..16].copy_from_slice(&[0x88, 0xa8, r.u8(), r.u8()]);
            len += 4;
        }
        let f = &mut buf[..];
        if i % 2 == 1 {
            // Mutate 1-3 bytes and sometimes the length.
            for _ in 0..1 + r.next_u64() % 3 {
                let at = (r.next_u64() % len as u64) as usize;
                f[at] = r.next_u64() as u8;
            }
            if r.bool() {
                len = (r.next_u64() % (len as u64 + 8)) as usize;
            }
        }
        for mode in [ChecksumMode::Verify, ChecksumMode::Trust] {
            let frame = &f[..len];
            let wire = TcpFrame::parse(frame, mode);
            let ours = fastpath::parse(frame, mode);
            let verify = mode == ChecksumMode::Verify;
            if let Some(fast) = fastpath::fast(frame, verify) {
                fast_hits += 1;
                assert_eq!(Ok(fastpath::Parsed::V4(fast)), ours);
            }
            if let Some(fast) = fastpath::fast6(frame, verify) {
                fast6_hits += 1;
                assert_eq!(Ok(fastpath::Parsed::V6(fast)), ours);
            }
            match (wire, ours) {
                (Ok(w), Ok(fastpath::Parsed::V4(o))) => {
                    let IpRepr::V4(ip) = w.ip else {
                        panic!("v4 expected")
                    };
                    assert_eq!(o.tcp, w.tcp);
                    assert_eq!((o.src, o.dst), (ip.src.into(), ip.dst.into()));
                    assert_eq!(fastpath::src_mac(frame), w.eth.src);
                }
                (Ok(w), Ok(fastpath::Parsed::V6(o))) => {
                    let IpRepr::V6(ip) = w.ip else {
                        panic!("v6 expected")
                    };
                    assert_eq!(o.tcp, w.tcp);
                    assert_eq!((o.src, o.dst), (ip.src.into(), ip.dst.into()));
                }
                (Err(e), Err(d)) => assert_eq!(crate::tcp::DropReason::from(e), d),
                (Ok(w), Err(d)) => {
                    // A mutated IPv4 destination landed in 0.0.0.0/8.
                    assert_eq!(d, crate::tcp::DropReason::NotOurs, "{w:?}");
                }
                (w, o) => panic!("wire {w:?} vs ours {o:?}"),
            }
        }
    }
    assert!(fast_hits > 50_000, "{fast_hits}");
    assert!(fast6_hits > 50_000, "{fast6_hits}");
}

/// The warm-up pass loads exactly the entries the lookups will read (and nothing when the
/// table fits the caches).
#[test]
fn warm_passes_touch_the_entries_lookups_read() {
    let big = |role| tweak(base_cfg(role), |c| c.common.capacity = 1 << 18);
    let mut c = H::new(big(Role::Client));
    let want = c.e.table.warm(c.e.table.hash(&c.key()));
    assert!(c.e.warms());
    assert_eq!(c.e.warm_opens(1), want, "the first tuple open takes");
    c.e.open(c.now, c.now, &mut c.tx).expect("open");
    let syn = c.tx.frames.pop_front().expect("SYN");
    let mut s = H::new(big(Role::Server));
    let key = s.key();
    assert_eq!(s.e.warm_frame(&syn), s.e.table.warm(s.e.table.hash(&key)));
    s.e.handle_frame(s.now, &syn, &mut s.tx);
    let slot =
        s.e.table
            .find(&key, s.e.table.hash(&key))
            .expect("SYN-RECEIVED");
    let e = s.e.warm_frame(&syn);
    assert_eq!(
        e >> 32,
        s.e.table.hash(&key) as u64,
        "the TCB's index entry"
    );
    assert_eq!(e as u32, (slot + 1) ^ C_IP.to_bits(), "and its TCB");
    let small = H::server();
    assert!(!small.e.warms());
    assert_eq!((small.e.warm_frame(&syn), small.e.warm_opens(8)), (0, 0));
}
