//! Per-parser negative tests: every malformed input is the expected `Err(WireError)`.

#[path = "golden/frames.rs"]
mod frames;

/// Inside `mod wire` so that `cargo test wire` selects these tests too.
mod wire {
    use crate::frames;

    use crate::frames::hex;
    use threeway::wire::checksum;
    use threeway::wire::{
        ArpPacket, ArpRepr, ChecksumMode, EthernetFrame, Ipv4Packet, Ipv4Repr, Ipv6Packet,
        Ipv6Repr, TcpFrame, TcpOptions, TcpPacket, TcpRepr, WireError,
    };

    use ChecksumMode::{Trust, Verify};
    use WireError::*;

    const ETH: usize = 14;
    const IP4: usize = ETH + 20;
    const IP6: usize = ETH + 40;

    fn both(frame: &[u8]) -> [Result<(), WireError>; 2] {
        [Verify, Trust].map(|m| TcpFrame::parse(frame, m).map(|_| ()))
    }

    /// Recomputes the IPv4 header checksum of an Ethernet/IPv4 frame (IHL as written).
    fn fix_ip4(f: &mut [u8]) {
        let hl = usize::from(f[ETH] & 0x0f) * 4;
        f[ETH + 10..ETH + 12].copy_from_slice(&[0, 0]);
        let c = checksum::ipv4_header(&f[ETH..ETH + hl]);
        f[ETH + 10..ETH + 12].copy_from_slice(&c.to_be_bytes());
    }

    /// Recomputes the TCP checksum of an Ethernet/IPv4 frame with a 20-byte IP header.
    fn fix_tcp4(f: &mut [u8]) {
        let tl = usize::from(u16::from_be_bytes([f[ETH + 2], f[ETH + 3]]));
        let seg_end = ETH + tl;
        f[IP4 + 16..IP4 + 18].copy_from_slice(&[0, 0]);
        let src = std::net::Ipv4Addr::new(f[ETH + 12], f[ETH + 13], f[ETH + 14], f[ETH + 15]);
        let dst = std::net::Ipv4Addr::new(f[ETH + 16], f[ETH + 17], f[ETH + 18], f[ETH + 19]);
        let p = checksum::pseudo_ipv4(src, dst, 6, (seg_end - IP4) as u32);
        let c = checksum::transport(p, &f[IP4..seg_end]);
        f[IP4 + 16..IP4 + 18].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn truncated_at_every_length() {
        for (name, h) in frames::ALL {
            let f = hex(h);
            let ethertype = u16::from_be_bytes([f[12], f[13]]);
            for len in 0..f.len() {
                let cut = &f[..len];
                let want = match (len, ethertype) {
                    (0..ETH, _) => Truncated,
                    (_, 0x0806) => UnknownEtherType,
                    (_, 0x86dd) if len >= IP6 => BadLength,
                    _ => Truncated,
                };
                for r in both(cut) {
                    assert_eq!(r, Err(want), "{name} cut at {len}");
                }
                assert!(
                    EthernetFrame::new_checked(cut).is_err() == (len < ETH),
                    "{name} {len}"
                );
            }
        }
    }

    #[test]
    fn truncated_layers() {
        let syn = hex(frames::V4_SYN);
        let ip = &syn[ETH..];
        for len in 0..ip.len() {
            // < 20: no header; >= 20: total length (60) is past the buffer.
            let want = Truncated;
            assert_eq!(
                Ipv4Packet::new_checked(&ip[..len]).err(),
                Some(want),
                "ipv4 {len}"
            );
        }
        let seg = &syn[IP4..];
        for len in 0..seg.len() {
            let want = if len < 20 { Truncated } else { BadDataOffset };
            assert_eq!(
                TcpPacket::new_checked(&seg[..len]).err(),
                Some(want),
                "tcp {len}"
            );
            assert_eq!(
                TcpRepr::parse_segment(&seg[..len]).err(),
                Some(want),
                "tcp repr {len}"
            );
        }
        let v6 = hex(frames::V6_SYN);
        let ip6 = &v6[ETH..];
        for len in 0..ip6.len() {
            let want = if len < 40 { Truncated } else { BadLength };
            assert_eq!(
                Ipv6Packet::new_checked(&ip6[..len]).err(),
                Some(want),
                "ipv6 {len}"
            );
        }
        let arp = hex(frames::ARP_REQUEST);
        for len in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&arp[ETH..ETH + len]).err(),
                Some(Truncated)
            );
        }
        // Ethernet: 13 bytes, and a VLAN tag cut short.
        assert_eq!(
            EthernetFrame::new_checked(&syn[..13]).err(),
            Some(Truncated)
        );
        let mut tagged = syn[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00]);
        for len in 14..=tagged.len() {
            assert_eq!(
                EthernetFrame::new_checked(&tagged[..len]).err(),
                Some(Truncated)
            );
        }
    }

    #[test]
    fn ethernet_padding_is_ignored() {
        let orig = hex(frames::V4_RST);
        let want = TcpFrame::parse(&orig, Verify).unwrap();
        let mut rst = orig.clone();
        rst.resize(60, 0); // minimum Ethernet frame, as a NIC pads it
        let got = TcpFrame::parse(&rst, Verify).unwrap();
        assert_eq!(got, want);
        assert!(got.tcp.payload.is_empty());
    }

    #[test]
    fn ipv4_header_errors() {
        let ack = hex(frames::V4_ACK);
        let mut f = ack.clone();
        for ihl in 0..5u8 {
            f[ETH] = 0x40 | ihl;
            assert_eq!(both(&f), [Err(BadIhl); 2], "ihl {ihl}");
            assert_eq!(Ipv4Packet::new_checked(&f[ETH..]).err(), Some(BadIhl));
        }
        // IHL 15 (60 bytes) is past the 52-byte packet.
        f[ETH] = 0x4f;
        assert_eq!(both(&f), [Err(BadIhl); 2]);
        // Wrong version nibble.
        for v in [0u8, 5, 6, 15] {
            f[ETH] = (v << 4) | 5;
            assert_eq!(both(&f), [Err(BadIpVersion); 2], "version {v}");
        }
        // Total length below the header / past the buffer.
        let mut f = ack.clone();
        f[ETH + 2..ETH + 4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(both(&f), [Err(BadLength); 2]);
        f[ETH + 2..ETH + 4].copy_from_slice(&53u16.to_be_bytes());
        assert_eq!(both(&f), [Err(Truncated); 2]);
        // Not TCP (UDP), with a correct header checksum.
        let mut f = ack.clone();
        f[ETH + 9] = 17;
        fix_ip4(&mut f);
        assert_eq!(both(&f), [Err(NotTcp); 2]);
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let syn = hex(frames::V4_SYN);
        let want = TcpFrame::parse(&syn, Verify).unwrap();
        let mut f = syn[..IP4].to_vec();
        f.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
        f.extend_from_slice(&syn[IP4..]);
        f[ETH] = 0x46;
        f[ETH + 2..ETH + 4].copy_from_slice(&64u16.to_be_bytes());
        fix_ip4(&mut f);
        let got = TcpFrame::parse(&f, Verify).unwrap(); // TCP checksum unchanged: options aren't in it
        assert_eq!(got.tcp, want.tcp);
        assert_eq!(got.ip, want.ip);
    }

    #[test]
    fn ipv4_fragments() {
        let syn = hex(frames::V4_SYN);
        // MF set; offset 1 (8 bytes); both. Header checksum fixed so Verify reaches the check.
        for flags_off in [0x6000u16, 0x4001, 0x2001, 0x1fff] {
            let mut f = syn.clone();
            f[ETH + 6..ETH + 8].copy_from_slice(&flags_off.to_be_bytes());
            fix_ip4(&mut f);
            assert_eq!(both(&f), [Err(Fragment); 2], "{flags_off:#x}");
            let pkt = Ipv4Packet::new_checked(&f[ETH..]).unwrap();
            assert_eq!(Ipv4Repr::parse(&pkt, true), Err(Fragment));
        }
        // DF alone is not a fragment.
        assert!(TcpFrame::parse(&syn, Verify).is_ok());
    }

    #[test]
    fn bad_checksums() {
        for name in ["V4_SYN", "V4_DATA", "V4_RST", "V6_SYN"] {
            let f = hex(frames::ALL.iter().find(|(n, _)| *n == name).unwrap().1);
            let v6 = name.starts_with("V6");
            let tcp_off = if v6 { IP6 } else { IP4 };
            // The TCP checksum field, a header byte and the last byte (payload or option).
            for at in [tcp_off + 16, tcp_off + 17, tcp_off + 4, f.len() - 1] {
                for bit in [0x01u8, 0x80] {
                    let mut bad = f.clone();
                    bad[at] ^= bit;
                    assert_eq!(
                        TcpFrame::parse(&bad, Verify).map(|_| ()),
                        Err(BadChecksum),
                        "{name} {at}"
                    );
                    assert!(TcpFrame::parse(&bad, Trust).is_ok(), "{name} {at} trust");
                }
            }
            if !v6 {
                // IPv4 header checksum field, and the TTL (covered by it but not by TCP's).
                for at in [ETH + 10, ETH + 11, ETH + 8] {
                    let mut bad = f.clone();
                    bad[at] ^= 0x10;
                    assert_eq!(TcpFrame::parse(&bad, Verify).map(|_| ()), Err(BadChecksum));
                    assert!(TcpFrame::parse(&bad, Trust).is_ok());
                    let pkt = Ipv4Packet::new_checked(&bad[ETH..]).unwrap();
                    assert!(!pkt.verify_checksum());
                    assert_eq!(Ipv4Repr::parse(&pkt, true), Err(BadChecksum));
                    assert!(Ipv4Repr::parse(&pkt, false).is_ok());
                }
            }
        }
    }

    #[test]
    fn tcp_data_offset_errors() {
        let ack = hex(frames::V4_ACK); // 32-byte TCP header, no payload
        for doff in (0..5u8).chain([9, 15]) {
            let mut f = ack.clone();
            f[IP4 + 12] = doff << 4;
            fix_tcp4(&mut f);
            assert_eq!(both(&f), [Err(BadDataOffset); 2], "doff {doff}");
            assert_eq!(TcpPacket::new_checked(&f[IP4..]).err(), Some(BadDataOffset));
        }
    }

    /// SYN options (frame offsets): 54 MSS(02 04 05 b4) 58 SACK-perm(04 02) 60 TS(08 0a + 8)
    /// 70 NOP 71 WS(03 03 0a); the area ends at 74.
    #[test]
    fn tcp_option_errors() {
        let syn = hex(frames::V4_SYN);
        let cases: &[(usize, u8)] = &[
            (55, 0),  // MSS length 0
            (55, 1),  // MSS length 1
            (55, 3),  // MSS wrong length
            (55, 6),  // MSS wrong length (fits the area)
            (55, 21), // past the header
            (59, 0),  // SACK-perm length 0
            (59, 3),  // SACK-perm wrong length
            (61, 8),  // TS wrong length
            (61, 1),  // TS length 1
            (72, 4),  // WS past the header
            (72, 2),  // WS wrong length
        ];
        for &(at, v) in cases {
            let mut f = syn.clone();
            f[at] = v;
            fix_tcp4(&mut f);
            assert_eq!(both(&f), [Err(BadOptionLen); 2], "byte {at} = {v}");
            assert_eq!(TcpOptions::parse(&f[IP4 + 20..IP4 + 40]), Err(BadOptionLen));
        }
        // Kind byte as the last byte of the area: its length byte is missing.
        let mut f = syn.clone();
        f[70..74].copy_from_slice(&[1, 1, 1, 3]);
        fix_tcp4(&mut f);
        assert_eq!(both(&f), [Err(BadOptionLen); 2]);
    }

    #[test]
    fn tcp_options_skipped_and_stopped() {
        let base = TcpOptions::parse(&[2, 4, 5, 0xb4]).unwrap();
        // Unknown kind (254, experimental) skipped by length; SACK blocks (kind 5) skipped.
        let area = [
            254, 6, 1, 2, 3, 4, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 5, 0xb4,
        ];
        assert_eq!(TcpOptions::parse(&area), Ok(base));
        // EOL stops parsing: what follows (even garbage) is ignored.
        assert_eq!(TcpOptions::parse(&[2, 4, 5, 0xb4, 0, 2, 0, 9]), Ok(base));
        assert_eq!(TcpOptions::parse(&[]), Ok(TcpOptions::default()));
        assert_eq!(TcpOptions::parse(&[1, 1, 1, 1]), Ok(TcpOptions::default()));
        // In a frame: EOL where the SYN has NOP before WS -> no wscale.
        let mut f = hex(frames::V4_SYN);
        f[70] = 0;
        fix_tcp4(&mut f);
        let p = TcpFrame::parse(&f, Verify).unwrap();
        assert_eq!(p.tcp.options.wscale, None);
        assert_eq!(p.tcp.options.mss, Some(1460));
    }

    #[test]
    fn ipv6_errors() {
        let syn = hex(frames::V6_SYN);
        // The next-header value alone: `Ipv6Repr::parse` refuses every extension header.
        for nh in [0u8, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254] {
            let mut f = syn.clone();
            f[ETH + 6] = nh;
            let pkt = Ipv6Packet::new_checked(&f[ETH..]).unwrap();
            assert_eq!(Ipv6Repr::parse(&pkt), Err(Ipv6ExtHeader));
        }
        // A real extension header in front of the SYN: walked (the TCP checksum does not
        // cover it), or refused with its reason.
        let with_ext = |nh: u8, ext: &[u8]| {
            let mut f = syn[..ETH + 40].to_vec();
            f[ETH + 6] = nh;
            let plen = u16::from_be_bytes([f[ETH + 4], f[ETH + 5]]) + ext.len() as u16;
            f[ETH + 4..ETH + 6].copy_from_slice(&plen.to_be_bytes());
            f.extend_from_slice(ext);
            f.extend_from_slice(&syn[ETH + 40..]);
            f
        };
        for nh in [0u8, 43, 60, 135, 139, 140, 253, 254] {
            let f = with_ext(nh, &[6, 0, 0, 0, 0, 0, 0, 0]);
            assert_eq!(both(&f), [Ok(()); 2], "next header {nh}");
        }
        assert_eq!(
            both(&with_ext(51, &[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
            [Ok(()); 2]
        );
        let frag = with_ext(44, &[6, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(both(&frag), [Err(Fragment); 2]);
        let routed = with_ext(43, &[6, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(both(&routed), [Err(Ipv6ExtHeader); 2], "segments left");
        let many = with_ext(0, &[[0u8, 0, 0, 0, 0, 0, 0, 0]; 5].concat());
        assert_eq!(both(&many), [Err(Ipv6ExtHeader); 2], "five headers");
        let past = with_ext(0, &[6, 200, 0, 0, 0, 0, 0, 0]);
        assert_eq!(both(&past), [Err(BadLength); 2], "length past the payload");
        let esp = with_ext(50, &[0; 8]);
        assert_eq!(both(&esp), [Err(NotTcp); 2]);
        for nh in [17u8, 58, 59] {
            let mut f = syn.clone();
            f[ETH + 6] = nh;
            assert_eq!(both(&f), [Err(NotTcp); 2], "next header {nh}");
        }
        let mut f = syn.clone();
        f[ETH] = 0x45;
        assert_eq!(both(&f), [Err(BadIpVersion); 2]);
        let mut f = syn.clone();
        f[ETH + 5] += 1; // payload length one past the buffer
        assert_eq!(both(&f), [Err(BadLength); 2]);
    }

    #[test]
    fn unknown_ethertypes() {
        let syn = hex(frames::V4_SYN);
        for et in [0x0806u16, 0x88cc, 0x88a8, 0x0000, 0x05dc, 0xffff] {
            let mut f = syn.clone();
            f[12..14].copy_from_slice(&et.to_be_bytes());
            assert_eq!(both(&f), [Err(UnknownEtherType); 2], "{et:#06x}");
        }
        // Two tags (QinQ: 802.1ad or 802.1Q outer) are read; a third is not.
        for outer in [[0x88, 0xa8], [0x81, 0x00]] {
            let mut f = syn[..12].to_vec();
            f.extend_from_slice(&outer);
            f.extend_from_slice(&[0x00, 0x01, 0x81, 0x00, 0x00, 0x02]);
            f.extend_from_slice(&syn[12..]);
            assert_eq!(both(&f), [Ok(()); 2]);
            let mut f3 = f[..12].to_vec();
            f3.extend_from_slice(&[0x81, 0x00, 0x00, 0x03]);
            f3.extend_from_slice(&f[12..]);
            assert_eq!(both(&f3), [Err(UnknownEtherType); 2]);
        }
        // IPv4 EtherType with an IPv6 packet behind it, and the reverse.
        let v6 = hex(frames::V6_SYN);
        let mut f = v6.clone();
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(both(&f), [Err(BadIpVersion); 2]);
        let mut f = syn.clone();
        f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(both(&f), [Err(BadIpVersion); 2]);
    }

    #[test]
    fn bad_arp() {
        let req = hex(frames::ARP_REQUEST);
        let arp = &req[ETH..];
        let header_cases: &[(usize, u8)] = &[(1, 6), (0, 1), (3, 0xdd), (2, 0x86), (4, 8), (5, 16)];
        for &(at, v) in header_cases {
            let mut a = arp.to_vec();
            a[at] = v;
            assert_eq!(
                ArpPacket::new_checked(&a[..]).err(),
                Some(BadArp),
                "byte {at} = {v}"
            );
        }
        for op in [0u16, 3, 0x0100, 0xffff] {
            let mut a = arp.to_vec();
            a[6..8].copy_from_slice(&op.to_be_bytes());
            let pkt = ArpPacket::new_checked(&a[..]).unwrap();
            assert_eq!(ArpRepr::parse(&pkt), Err(BadArp), "op {op}");
        }
        // Ethernet padding after the 28 bytes is fine.
        let mut padded = arp.to_vec();
        padded.resize(46, 0);
        assert!(ArpRepr::parse(&ArpPacket::new_checked(&padded[..]).unwrap()).is_ok());
    }

    #[test]
    fn emit_into_short_buffer() {
        let syn = hex(frames::V4_SYN);
        let p = TcpFrame::parse(&syn, Verify).unwrap();
        for len in 0..syn.len() {
            let mut buf = vec![0u8; len];
            assert_eq!(p.emit(&mut buf), Err(Truncated), "len {len}");
        }
    }
}
