//! Property tests with a deterministic, seeded PRNG (no dependencies):
//! - robustness: random bytes and random mutations (flips, truncation, extension, checksum
//!   repair) of the golden frames through every parser: never a panic;
//! - parse -> emit -> parse is a fixed point for every frame that parses;
//! - round trip: random valid `TcpFrame`s emit, then parse back (Verify) equal;
//! - RFC 1624 incremental update equals a full recompute.
//!
//! Seed: `WIRE_PROP_SEED` (decimal or 0x-hex) or the fixed default; printed either way.
//! `WIRE_PROP_SCALE=N` runs N times as many cases.

#[path = "golden/frames.rs"]
mod frames;

/// Inside `mod wire` so that `cargo test wire` selects these tests too.
mod wire {
    use crate::frames;
    use threeway::rng::SplitMix64 as Rng;

    use std::net::{Ipv4Addr, Ipv6Addr};

    use threeway::wire::checksum;
    use threeway::wire::{
        ArpPacket, ArpRepr, ChecksumMode, EthernetFrame, EthernetRepr, IpRepr, Ipv4Packet,
        Ipv4Repr, Ipv6Packet, Ipv6Repr, MacAddr, SeqNum, TcpFlags, TcpFrame, TcpOptions, TcpPacket,
        TcpRepr,
    };

    const DEFAULT_SEED: u64 = 0x7477_6179_5f77_6972; // "tway_wir"
    const ROBUST_CASES: usize = 300_000;
    const ROUNDTRIP_CASES: usize = 50_000;
    const CHECKSUM_CASES: usize = 20_000;

    /// Case counts are multiplied by `WIRE_PROP_SCALE` (default 1) for longer soaks.
    fn cases(n: usize) -> usize {
        let scale =
            std::env::var("WIRE_PROP_SCALE").map_or(1, |v| v.parse().expect("WIRE_PROP_SCALE"));
        n * scale
    }

    fn seed(test: &str) -> Rng {
        let s = match std::env::var("WIRE_PROP_SEED") {
            Ok(v) => match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).expect("WIRE_PROP_SEED hex"),
                None => v.parse().expect("WIRE_PROP_SEED decimal"),
            },
            Err(_) => DEFAULT_SEED,
        };
        println!("{test}: seed {s:#x} (set WIRE_PROP_SEED to change)");
        Rng(s)
    }

    fn golden() -> Vec<Vec<u8>> {
        frames::ALL.iter().map(|(_, h)| frames::hex(h)).collect()
    }

    /// Best effort: recompute the IPv4 header and TCP checksums of a (mutated) frame so that
    /// `Verify` gets past them and the deeper parsers see the mutation.
    fn repair_checksums(f: &mut [u8]) {
        let Ok(eth) = EthernetFrame::new_checked(&*f) else {
            return;
        };
        let (eh, et) = (eth.header_len(), eth.ethertype());
        let l3 = &mut f[eh..];
        match et {
            0x0800 => {
                let Ok(mut ip) = Ipv4Packet::new_checked(&mut *l3) else {
                    return;
                };
                ip.fill_checksum();
                let (src, dst, hl, tl) = (ip.src(), ip.dst(), ip.header_len(), ip.total_len());
                let seg = &mut l3[hl..usize::from(tl)];
                if seg.len() >= 20 {
                    seg[16..18].copy_from_slice(&[0, 0]);
                    let p = checksum::pseudo_ipv4(src, dst, 6, seg.len() as u32);
                    let c = checksum::transport(p, seg);
                    seg[16..18].copy_from_slice(&c.to_be_bytes());
                }
            }
            0x86dd => {
                let Ok(ip) = Ipv6Packet::new_checked(&*l3) else {
                    return;
                };
                let (src, dst, pl) = (ip.src(), ip.dst(), usize::from(ip.payload_len()));
                let seg = &mut l3[40..40 + pl];
                if seg.len() >= 20 {
                    seg[16..18].copy_from_slice(&[0, 0]);
                    let p = checksum::pseudo_ipv6(&src, &dst, 6, seg.len() as u32);
                    let c = checksum::transport(p, seg);
                    seg[16..18].copy_from_slice(&c.to_be_bytes());
                }
            }
            _ => {}
        }
    }

    fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], out: &mut Vec<u8>) {
        out.clear();
        if rng.index(8) == 0 {
            // Pure random bytes, random length.
            out.resize(rng.index(160), 0);
            rng.fill(out);
            return;
        }
        out.extend_from_slice(&corpus[rng.index(corpus.len())]);
        for _ in 0..1 + rng.index(4) {
            match rng.index(6) {
                0 | 1 => {
                    // Flip bits in one byte, biased towards the headers.
                    if !out.is_empty() {
                        let limit = if rng.bool() { 80 } else { usize::MAX };
                        let at = rng.index(out.len().min(limit));
                        out[at] ^= 1 << rng.index(8);
                    }
                }
                2 => {
                    // Overwrite a byte with an interesting value.
                    if !out.is_empty() {
                        let at = rng.index(out.len());
                        out[at] = [0, 1, 2, 4, 5, 0x0f, 0x10, 0x40, 0x45, 0x7f, 0x80, 0xff]
                            [rng.index(12)];
                    }
                }
                3 => {
                    let len = rng.index(out.len() + 1);
                    out.truncate(len);
                }
                4 => {
                    for _ in 0..1 + rng.index(24) {
                        out.push(rng.u8());
                    }
                }
                _ => {
                    // Insert random bytes in the middle (shifts every later field).
                    let at = rng.index(out.len() + 1);
                    let n = 1 + rng.index(8);
                    for _ in 0..n {
                        out.insert(at, rng.u8());
                    }
                }
            }
        }
        if rng.bool() {
            repair_checksums(out);
        }
    }

    /// Runs every parser and every accessor over `buf` (and the usual layer offsets into it).
    fn exercise(buf: &[u8]) -> u64 {
        let mut acc = 0u64; // keeps the optimiser from skipping accessors
        for mode in [ChecksumMode::Verify, ChecksumMode::Trust] {
            if let Ok(f) = TcpFrame::parse(buf, mode) {
                acc += u64::from(f.tcp.seq.0) + f.tcp.payload.len() as u64;
                reemit_fixed_point(&f);
            }
        }
        if let Ok(e) = EthernetFrame::new_checked(buf) {
            let r = EthernetRepr::parse(&e).expect("ethernet repr is infallible after new_checked");
            acc += u64::from(e.ethertype())
                + e.payload().len() as u64
                + u64::from(r.vlan.unwrap_or(0));
            acc += u64::from(e.src().0[0] ^ e.dst().0[5]) + e.header_len() as u64;
        }
        for off in [0usize, 14, 18, 34, 54, 74] {
            let Some(b) = buf.get(off..) else { continue };
            if let Ok(p) = ArpPacket::new_checked(b) {
                acc += u64::from(p.oper()) + u64::from(p.sender_ip().to_bits());
                if let Ok(r) = ArpRepr::parse(&p) {
                    acc += u64::from(r.target_ip.to_bits()) + u64::from(r.sender_mac.0[0]);
                }
            }
            if let Ok(p) = Ipv4Packet::new_checked(b) {
                acc += u64::from(p.total_len()) + p.header_len() as u64 + u64::from(p.dscp_ecn());
                acc += u64::from(p.ident()) + u64::from(p.dont_frag()) + u64::from(p.more_frags());
                acc += u64::from(p.frag_offset()) + u64::from(p.ttl()) + u64::from(p.protocol());
                acc += u64::from(p.checksum()) + u64::from(p.src().to_bits() ^ p.dst().to_bits());
                acc += u64::from(p.verify_checksum()) + p.payload().len() as u64;
                for verify in [true, false] {
                    if let Ok(r) = Ipv4Repr::parse(&p, verify) {
                        acc += u64::from(r.payload_len);
                    }
                }
            }
            if let Ok(p) = Ipv6Packet::new_checked(b) {
                acc += u64::from(p.traffic_class()) + u64::from(p.flow_label());
                acc += u64::from(p.payload_len())
                    + u64::from(p.next_header())
                    + u64::from(p.hop_limit());
                acc += u64::from(p.src().octets()[15] ^ p.dst().octets()[0])
                    + p.payload().len() as u64;
                if let Ok(r) = Ipv6Repr::parse(&p) {
                    acc += u64::from(r.payload_len);
                }
            }
            if let Ok(p) = TcpPacket::new_checked(b) {
                acc += u64::from(p.src_port()) + u64::from(p.dst_port()) + u64::from(p.seq().0);
                acc += u64::from(p.ack().0) + p.header_len() as u64 + u64::from(p.flags().0);
                acc += u64::from(p.window()) + u64::from(p.checksum()) + u64::from(p.urgent());
                acc += p.options().len() as u64 + p.payload().len() as u64;
                if let Ok(r) = TcpRepr::parse(&p) {
                    acc += r.buffer_len() as u64;
                }
            }
            if let Ok(r) = TcpRepr::parse_segment(b) {
                acc += r.header_len() as u64;
            }
            for end in [b.len().min(40), b.len()] {
                if let Ok(o) = TcpOptions::parse(&b[..end]) {
                    acc += o.buffer_len() as u64;
                }
            }
        }
        acc
    }

    /// Whatever parses, emits, and parses back (Verify) to the same frame, except the IP payload
    /// length, which follows the re-encoded options (unknown options, NOPs and IP options go).
    fn reemit_fixed_point(f: &TcpFrame<'_>) {
        let mut buf = [0u8; 2048];
        let Ok(n) = f.emit(&mut buf) else {
            panic!("a parsed frame must emit: {f:?}");
        };
        let back =
            TcpFrame::parse(&buf[..n], ChecksumMode::Verify).expect("re-emitted frame parses");
        assert_eq!(back, normalised(f));
    }

    /// `f` as `emit` writes it: IP payload length from the TCP repr, EtherType from the IP version.
    fn normalised<'a>(f: &TcpFrame<'a>) -> TcpFrame<'a> {
        let seg = f.tcp.buffer_len() as u16;
        let mut want = *f;
        match &mut want.ip {
            IpRepr::V4(r) => {
                r.payload_len = seg;
                want.eth.ethertype = 0x0800;
            }
            IpRepr::V6(r) => {
                r.payload_len = seg;
                want.eth.ethertype = 0x86dd;
            }
        }
        want
    }

    #[test]
    fn random_and_mutated_frames_never_panic() {
        let mut rng = seed("robustness");
        let corpus = golden();
        let mut buf = Vec::with_capacity(256);
        let mut acc = 0u64;
        let (mut ok_verify, mut ok_trust) = (0usize, 0usize);
        let n = cases(ROBUST_CASES);
        for _ in 0..n {
            mutate(&mut rng, &corpus, &mut buf);
            acc = acc.wrapping_add(exercise(&buf));
            ok_verify += usize::from(TcpFrame::parse(&buf, ChecksumMode::Verify).is_ok());
            ok_trust += usize::from(TcpFrame::parse(&buf, ChecksumMode::Trust).is_ok());
        }
        println!(
            "{ROBUST_CASES} cases: {ok_verify} parsed with Verify, {ok_trust} with Trust ({acc:x})"
        );
        // The mutations must reach past the outer layers often enough to mean something.
        assert!(ok_verify > n / 20, "only {ok_verify} parsed");
    }

    fn random_frame<'a>(rng: &mut Rng, payload_pool: &'a [u8]) -> TcpFrame<'a> {
        let mut mac = || {
            let mut m = [0u8; 6];
            rng.fill(&mut m);
            MacAddr(m)
        };
        let (dst, src) = (mac(), mac());
        let eth = EthernetRepr {
            dst,
            src,
            vlan: if rng.bool() { Some(rng.u16()) } else { None },
            ethertype: 0, // emit writes the right one; compared after normalisation
        };
        let ip = if rng.bool() {
            IpRepr::V4(Ipv4Repr {
                src: Ipv4Addr::from_bits(rng.u32()),
                dst: Ipv4Addr::from_bits(rng.u32()),
                protocol: 6,
                payload_len: 0,
                ttl: rng.u8(),
                ident: rng.u16(),
                dont_frag: rng.bool(),
                dscp_ecn: rng.u8(),
            })
        } else {
            IpRepr::V6(Ipv6Repr {
                src: Ipv6Addr::from_bits(
                    u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()),
                ),
                dst: Ipv6Addr::from_bits(
                    u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()),
                ),
                next_header: 6,
                payload_len: 0,
                hop_limit: rng.u8(),
                traffic_class: rng.u8(),
                flow_label: rng.u32() & 0xf_ffff,
            })
        };
        let options = TcpOptions {
            mss: rng.bool().then(|| rng.u16()),
            wscale: rng.bool().then(|| rng.u8()),
            sack_permitted: rng.bool(),
            timestamps: rng.bool().then(|| (rng.u32(), rng.u32())),
        };
        let plen = if rng.bool() {
            0
        } else {
            rng.index(payload_pool.len() + 1)
        };
        let start = rng.index(payload_pool.len() - plen + 1);
        let tcp = TcpRepr {
            src_port: rng.u16(),
            dst_port: rng.u16(),
            seq: SeqNum(rng.u32()),
            ack: SeqNum(rng.u32()),
            flags: TcpFlags(rng.u8()),
            window: rng.u16(),
            urgent: rng.u16(),
            options,
            payload: &payload_pool[start..start + plen],
        };
        TcpFrame { eth, ip, tcp }
    }

    #[test]
    fn random_valid_frames_round_trip() {
        let mut rng = seed("round trip");
        let mut pool = [0u8; 1400];
        rng.fill(&mut pool);
        let mut buf = [0u8; 2048];
        for _ in 0..cases(ROUNDTRIP_CASES) {
            let f = random_frame(&mut rng, &pool);
            let n = f.emit(&mut buf).expect("fits");
            assert_eq!(n, f.buffer_len());
            let back =
                TcpFrame::parse(&buf[..n], ChecksumMode::Verify).expect("emitted frame parses");
            let want = normalised(&f);
            assert_eq!(back, want);
            assert!(std::ptr::eq(
                back.tcp.payload.as_ptr_range().end,
                buf[..n].as_ptr_range().end
            ));
        }
    }

    #[test]
    fn incremental_checksum_matches_recompute() {
        let mut rng = seed("rfc1624");
        for _ in 0..cases(CHECKSUM_CASES) {
            // IPv4 header: change one 16-bit word other than the checksum.
            let mut h = [0u8; 20];
            rng.fill(&mut h);
            h[10..12].copy_from_slice(&[0, 0]);
            let c = checksum::ipv4_header(&h);
            let w = [0, 1, 2, 3, 4, 6, 7, 8, 9][rng.index(9)] * 2;
            let old = u16::from_be_bytes([h[w], h[w + 1]]);
            let new = if rng.index(4) == 0 {
                [0, 0xffff, old][rng.index(3)]
            } else {
                rng.u16()
            };
            h[w..w + 2].copy_from_slice(&new.to_be_bytes());
            assert_eq!(checksum::update(c, old, new), checksum::ipv4_header(&h));

            // TCP segment: rewrite seq (two words) and a port, with the pseudo-header included.
            let len = 20 + rng.index(60);
            let mut seg = vec![0u8; len];
            rng.fill(&mut seg);
            seg[16..18].copy_from_slice(&[0, 0]);
            let (src, dst) = (
                Ipv4Addr::from_bits(rng.u32()),
                Ipv4Addr::from_bits(rng.u32()),
            );
            let pseudo = checksum::pseudo_ipv4(src, dst, 6, len as u32);
            let mut c = checksum::transport(pseudo, &seg);
            for w in [4usize, 6, 0] {
                let old = u16::from_be_bytes([seg[w], seg[w + 1]]);
                let new = rng.u16();
                seg[w..w + 2].copy_from_slice(&new.to_be_bytes());
                c = checksum::update(c, old, new);
            }
            assert_eq!(c, checksum::transport(pseudo, &seg));
        }
    }
}
