//! Golden frames from the real Linux stack (see tests/golden/frames.rs for how they were
//! captured): each parses with `ChecksumMode::Verify` to the expected `Repr`, and emitting
//! that `Repr` reproduces the captured bytes exactly, writing every byte.

#[path = "golden/frames.rs"]
mod frames;

/// Inside `mod wire` so that `cargo test wire` selects these tests too.
mod wire {
    use crate::frames;

    use std::net::{Ipv4Addr, Ipv6Addr};

    use crate::frames::hex;
    use threeway::wire::{
        ArpOp, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetFrame, EthernetRepr, IpRepr,
        Ipv4Packet, Ipv4Repr, Ipv6Repr, MacAddr, SeqNum, TcpFlags, TcpFrame, TcpOptions, TcpPacket,
        TcpRepr, WireError,
    };

    const MAC1: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const MAC2: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
    const IP1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const IP2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const S: u8 = TcpFlags::SYN;
    const A: u8 = TcpFlags::ACK;

    fn ip6(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, last)
    }

    fn eth(from1: bool, ethertype: u16) -> EthernetRepr {
        let (src, dst) = if from1 { (MAC1, MAC2) } else { (MAC2, MAC1) };
        EthernetRepr {
            dst,
            src,
            vlan: None,
            ethertype,
        }
    }

    fn v4(from1: bool, ident: u16, payload_len: u16) -> IpRepr {
        let (src, dst) = if from1 { (IP1, IP2) } else { (IP2, IP1) };
        IpRepr::V4(Ipv4Repr {
            src,
            dst,
            protocol: 6,
            payload_len,
            ttl: 64,
            ident,
            dont_frag: true,
            dscp_ecn: 0,
        })
    }

    fn v6(from1: bool, flow_label: u32, payload_len: u16) -> IpRepr {
        let (src, dst) = if from1 {
            (ip6(1), ip6(2))
        } else {
            (ip6(2), ip6(1))
        };
        IpRepr::V6(Ipv6Repr {
            src,
            dst,
            next_header: 6,
            payload_len,
            hop_limit: 64,
            traffic_class: 0,
            flow_label,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp<'a>(
        ports: (u16, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: TcpOptions,
        payload: &'a [u8],
    ) -> TcpRepr<'a> {
        TcpRepr {
            src_port: ports.0,
            dst_port: ports.1,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags: TcpFlags(flags),
            window,
            urgent: 0,
            options,
            payload,
        }
    }

    fn syn_opts(mss: u16, ts: (u32, u32)) -> TcpOptions {
        TcpOptions {
            mss: Some(mss),
            wscale: Some(10),
            sack_permitted: true,
            timestamps: Some(ts),
        }
    }

    fn ts_only(ts: (u32, u32)) -> TcpOptions {
        TcpOptions {
            timestamps: Some(ts),
            ..TcpOptions::default()
        }
    }

    /// Parses `bytes` (both modes), compares with `want`, then emits `want` into sentinel-filled
    /// buffers (two different sentinels, so every byte is proven written) and compares bytes.
    fn check(bytes: &[u8], want: &TcpFrame<'_>) {
        let got = TcpFrame::parse(bytes, ChecksumMode::Verify).expect("golden frame parses");
        assert_eq!(&got, want);
        assert_eq!(
            TcpFrame::parse(bytes, ChecksumMode::Trust).as_ref(),
            Ok(want)
        );
        assert_eq!(want.buffer_len(), bytes.len());
        for sentinel in [0xa5u8, 0x5a] {
            let mut buf = vec![sentinel; bytes.len() + 16];
            let n = want.emit(&mut buf).expect("emit");
            assert_eq!(n, bytes.len());
            assert_eq!(&buf[..n], bytes, "emit differs from the capture");
            assert!(
                buf[n..].iter().all(|&b| b == sentinel),
                "emit wrote past its length"
            );
        }
    }

    #[test]
    fn v4_syn() {
        let b = hex(frames::V4_SYN);
        let want = TcpFrame {
            eth: eth(true, EtherType::IPV4),
            ip: v4(true, 11815, 40),
            tcp: tcp(
                (40000, 5000),
                2190018061,
                0,
                S,
                64240,
                syn_opts(1460, (3050412268, 0)),
                &[],
            ),
        };
        check(&b, &want);
        // Layer by layer, against tcpdump's reading of the same bytes.
        let f = EthernetFrame::new_checked(&b[..]).unwrap();
        assert_eq!(
            (f.src(), f.dst(), f.ethertype(), f.vlan()),
            (MAC1, MAC2, 0x0800, None)
        );
        let ip = Ipv4Packet::new_checked(f.payload()).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(
            (ip.checksum(), ip.total_len(), ip.header_len()),
            (0x806d, 60, 20)
        );
        let t = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(
            (t.checksum(), t.header_len(), t.options().len()),
            (0x39c7, 40, 20)
        );
        assert!(t.flags().syn() && !t.flags().ack());
        assert_eq!(t.flags().to_string(), "S");
    }

    #[test]
    fn v4_syn_ack() {
        let b = hex(frames::V4_SYN_ACK);
        let opts = syn_opts(1460, (3261923469, 3050412268));
        let want = TcpFrame {
            eth: eth(false, EtherType::IPV4),
            ip: v4(false, 0, 40),
            tcp: tcp(
                (5000, 40000),
                2403579797,
                2190018062,
                S | A,
                65160,
                opts,
                &[],
            ),
        };
        check(&b, &want);
    }

    #[test]
    fn v4_ack() {
        let b = hex(frames::V4_ACK);
        let opts = ts_only((3050412268, 3261923469));
        let want = TcpFrame {
            eth: eth(true, EtherType::IPV4),
            ip: v4(true, 11816, 32),
            tcp: tcp((40000, 5000), 2190018062, 2403579798, A, 63, opts, &[]),
        };
        check(&b, &want);
    }

    #[test]
    fn v4_data() {
        let b = hex(frames::V4_DATA);
        let opts = ts_only((3050412468, 3261923469));
        let want = TcpFrame {
            eth: eth(true, EtherType::IPV4),
            ip: v4(true, 11817, 38),
            tcp: tcp(
                (40000, 5000),
                2190018062,
                2403579798,
                TcpFlags::PSH | A,
                63,
                opts,
                b"hello\n",
            ),
        };
        check(&b, &want);
        let got = TcpFrame::parse(&b, ChecksumMode::Verify).unwrap();
        // Zero-copy: the payload borrows from the frame.
        assert!(std::ptr::eq(got.tcp.payload.as_ptr(), &b[b.len() - 6]));
    }

    #[test]
    fn v4_fin() {
        let b = hex(frames::V4_FIN);
        let opts = ts_only((3261923669, 3050412468));
        let want = TcpFrame {
            eth: eth(false, EtherType::IPV4),
            ip: v4(false, 50885, 32),
            tcp: tcp(
                (5000, 40000),
                2403579798,
                2190018068,
                TcpFlags::FIN | A,
                64,
                opts,
                &[],
            ),
        };
        check(&b, &want);
        assert!(want.tcp.flags.fin());
    }

    #[test]
    fn v4_rst() {
        let b = hex(frames::V4_RST);
        let flags = TcpFlags::RST | A;
        let want = TcpFrame {
            eth: eth(false, EtherType::IPV4),
            ip: v4(false, 0, 20),
            tcp: tcp(
                (5001, 40001),
                0,
                1030346864,
                flags,
                0,
                TcpOptions::default(),
                &[],
            ),
        };
        check(&b, &want);
        assert_eq!(want.tcp.flags.to_string(), "R.");
    }

    #[test]
    fn v6_syn() {
        let b = hex(frames::V6_SYN);
        let want = TcpFrame {
            eth: eth(true, EtherType::IPV6),
            ip: v6(true, 0xf98af, 40),
            tcp: tcp(
                (40000, 5000),
                2202844276,
                0,
                S,
                64800,
                syn_opts(1440, (3142329754, 0)),
                &[],
            ),
        };
        check(&b, &want);
    }

    #[test]
    fn v6_syn_ack() {
        let b = hex(frames::V6_SYN_ACK);
        let opts = syn_opts(1440, (2096226028, 3142329754));
        let want = TcpFrame {
            eth: eth(false, EtherType::IPV6),
            ip: v6(false, 0x8ea5d, 40),
            tcp: tcp(
                (5000, 40000),
                825502560,
                2202844277,
                S | A,
                64260,
                opts,
                &[],
            ),
        };
        check(&b, &want);
    }

    fn check_arp(bytes: &[u8], want_eth: EthernetRepr, want: ArpRepr) {
        let f = EthernetFrame::new_checked(bytes).unwrap();
        assert_eq!(EthernetRepr::parse(&f), Ok(want_eth));
        let pkt = ArpPacket::new_checked(f.payload()).unwrap();
        assert_eq!(ArpRepr::parse(&pkt), Ok(want));
        assert_eq!(
            TcpFrame::parse(bytes, ChecksumMode::Verify),
            Err(WireError::UnknownEtherType)
        );
        for sentinel in [0xa5u8, 0x5a] {
            let mut buf = vec![sentinel; bytes.len()];
            let (eh, rest) = buf.split_at_mut(want_eth.buffer_len());
            want_eth.emit(&mut EthernetFrame::new_unchecked(eh));
            want.emit(&mut ArpPacket::new_unchecked(
                &mut rest[..want.buffer_len()],
            ));
            assert_eq!(buf, bytes);
        }
    }

    #[test]
    fn arp_request() {
        let eth = EthernetRepr {
            dst: MacAddr::BROADCAST,
            src: MAC1,
            vlan: None,
            ethertype: EtherType::ARP,
        };
        let arp = ArpRepr {
            op: ArpOp::Request,
            sender_mac: MAC1,
            sender_ip: IP1,
            target_mac: MacAddr::ZERO,
            target_ip: IP2,
        };
        check_arp(&hex(frames::ARP_REQUEST), eth, arp);
    }

    #[test]
    fn arp_reply() {
        let eth = EthernetRepr {
            dst: MAC1,
            src: MAC2,
            vlan: None,
            ethertype: EtherType::ARP,
        };
        let arp = ArpRepr {
            op: ArpOp::Reply,
            sender_mac: MAC2,
            sender_ip: IP2,
            target_mac: MAC1,
            target_ip: IP1,
        };
        check_arp(&hex(frames::ARP_REPLY), eth, arp);
    }

    #[test]
    fn v6_non_tcp_frames_refused() {
        // MLDv2 report behind a hop-by-hop options header, as the kernel sent it: the
        // reader walks the extension header and finds ICMPv6.
        let mld = hex(frames::V6_MLD_HBH);
        assert_eq!(
            TcpFrame::parse(&mld, ChecksumMode::Verify),
            Err(WireError::NotTcp)
        );
        // ICMPv6 neighbour solicitation: plain next header 58.
        let ns = hex(frames::V6_ICMP_NS);
        assert_eq!(
            TcpFrame::parse(&ns, ChecksumMode::Verify),
            Err(WireError::NotTcp)
        );
    }

    /// The same SYN inside one 802.1Q tag: parses to the same TCP/IP, re-emits byte for byte.
    #[test]
    fn v4_syn_vlan_tagged() {
        let plain = hex(frames::V4_SYN);
        let mut tagged = plain[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x20, 0x64]);
        tagged.extend_from_slice(&plain[12..]);
        let p = TcpFrame::parse(&plain, ChecksumMode::Verify).unwrap();
        let want = TcpFrame {
            eth: EthernetRepr {
                vlan: Some(0x2064),
                ..p.eth
            },
            ..p
        };
        check(&tagged, &want);
    }

    /// Writes the fuzz seed corpus from the golden frames (`cargo test --test wire_golden --
    /// --ignored write_fuzz_seeds`); the files are committed under fuzz/seeds/.
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        use std::fs;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds");
        let put = |target: &str, name: &str, data: &[u8]| {
            let dir = format!("{root}/{target}");
            fs::create_dir_all(&dir).unwrap();
            fs::write(format!("{dir}/{}", name.to_lowercase()), data).unwrap();
        };
        for (name, h) in frames::ALL {
            let b = hex(h);
            put("ethernet", name, &b);
            put("tcp_frame", name, &b);
            let l3 = &b[14..];
            match u16::from_be_bytes([b[12], b[13]]) {
                EtherType::ARP => put("arp", name, l3),
                EtherType::IPV4 => {
                    put("ipv4", name, l3);
                    put("tcp", name, &l3[20..]);
                }
                EtherType::IPV6 => {
                    put("ipv6", name, l3);
                    if l3[6] == 6 {
                        put("tcp", name, &l3[40..]);
                    }
                }
                other => panic!("unexpected ethertype {other:#x}"),
            }
        }
    }
}
