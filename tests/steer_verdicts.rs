//! The frame-verdict test: one set of crafted frames (VLAN, QinQ, IPv4 options and
//! fragments, IPv6 extension headers, ARP, truncations at every offset) gets the same
//! steer/pass/drop decision from the XDP program, run by the kernel with BPF_PROG_TEST_RUN,
//! and from the Rust header reader (`SteerConfig::verdict` over `wire::headers`). Frames
//! the program steers are exactly the frames the Rust side takes as ours.
//!
//! Needs root (loading BPF); fails loudly otherwise. Runs in a namespace of its own so
//! that no kernel socket can claim a frame (the program's socket lookup).

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use threeway::xsk::{SteerConfig, SteerProbe, XdpVerdict, iface};

const OURS4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const OTHER4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
const PREFIX4: Ipv4Addr = Ipv4Addr::new(198, 19, 5, 5);
const EMULATED: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);
const PORT: u16 = 40001;
const LISTEN: u16 = 8080;

fn ours6() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2)
}

/// An emulated IPv6 source (its solicitations are ours), a prefix of emulated sources, and
/// a kernel address inside that prefix (TCP ours, solicitations the kernel's).
fn emulated6() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 7)
}
fn prefix6_addr() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 5, 0, 0, 0xab, 0xcd)
}
fn kernel_in_prefix6() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 5, 0, 0, 0, 1)
}
/// The last of 200 listed IPv6 addresses (no fixed limit: the program's LPM trie).
fn listed6_last() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 2, 0, 0, 0, 200)
}

fn cfg() -> SteerConfig {
    SteerConfig {
        // Past the old 16-address table: the program's LPM trie takes any number.
        addrs_v4: std::iter::once(OURS4)
            .chain((1..=100).map(|i| Ipv4Addr::new(198, 18, 2, i)))
            .collect(),
        addrs_v6: [ours6(), kernel_in_prefix6()]
            .into_iter()
            .chain((1..=200).map(|i| Ipv6Addr::new(0x2001, 2, 0, 2, 0, 0, 0, i)))
            .collect(),
        nd_v6: vec![emulated6()],
        prefix_v6: Some((Ipv6Addr::new(0x2001, 2, 0, 5, 0, 0, 0, 0), 64)),
        port_lo: 40000,
        port_hi: 40999,
        listen_ports: vec![LISTEN],
        arp_v4: vec![EMULATED],
        prefix_v4: Some((Ipv4Addr::new(198, 19, 0, 0), 16)),
        // As a run sets it: steered frames get their RX stamp on the way.
        rx_stamps: true,
        // This namespace has no kernel sockets: no port needs the socket lookup.
        kernel_ports: Vec::new(),
    }
}

fn eth(tags: &[(u16, u16)], ethertype: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// A TCP SYN header with `opts` (a multiple of 4 bytes) and the data offset to match.
fn tcp(dport: u16, opts: &[u8]) -> Vec<u8> {
    let mut t = vec![0x9c, 0x40];
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
    t.push((((20 + opts.len()) / 4) << 4) as u8);
    t.extend_from_slice(&[0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
    t.extend_from_slice(opts);
    t
}

/// IPv4 with `ip_opts` (multiple of 4), protocol, flags/offset word, then `payload`.
fn v4(dst: Ipv4Addr, proto: u8, flags_off: u16, ip_opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let hl = 20 + ip_opts.len();
    let mut p = vec![0x40 | (hl / 4) as u8, 0];
    p.extend_from_slice(&((hl + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34]);
    p.extend_from_slice(&flags_off.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0, 198, 18, 0, 1]);
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(ip_opts);
    p.extend_from_slice(payload);
    p
}

fn v6(dst: Ipv6Addr, nexthdr: u8, ext: &[u8], upper: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((ext.len() + upper.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[nexthdr, 64]);
    p.extend_from_slice(&Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1).octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(ext);
    p.extend_from_slice(upper);
    p
}

/// ICMPv6 `kind` (135: Neighbor Solicitation) with `target` and a source link-layer
/// option; the checksum is left 0 (the program and the model leave checking to the worker).
fn icmp6(kind: u8, target: Ipv6Addr) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target.octets());
    m.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 2]);
    m
}

fn arp(op: u16, htype: u16, target: Ipv4Addr) -> Vec<u8> {
    let mut a = htype.to_be_bytes().to_vec();
    a.extend_from_slice(&[0x08, 0x00, 6, 4]);
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&[2, 0, 0, 0, 0, 2, 198, 18, 0, 1]);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target.octets());
    a
}

fn frame(l2: Vec<u8>, l3: &[u8]) -> Vec<u8> {
    let mut f = l2;
    f.extend_from_slice(l3);
    f
}

/// (name, frame, the verdict we mean it to get).
fn frames() -> Vec<(String, Vec<u8>, XdpVerdict)> {
    use XdpVerdict::{Pass, Steer};
    let syn = tcp(PORT, &[]);
    let syn_opts = tcp(LISTEN, &[2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7]);
    let ip = v4(OURS4, 6, 0x4000, &[], &syn);
    let mut out: Vec<(String, Vec<u8>, XdpVerdict)> = Vec::new();
    let mut add = |name: &str, f: Vec<u8>, v| out.push((name.to_string(), f, v));

    // Link layer: untagged, 802.1Q, QinQ (802.1ad outer, 802.1Q inner; and two 802.1Q),
    // three tags (not read).
    type Tags = &'static [(u16, u16)];
    let tagsets: [(&str, Tags, XdpVerdict); 5] = [
        ("untagged", &[], Steer),
        ("8021q", &[(0x8100, 5)], Steer),
        ("qinq-88a8", &[(0x88a8, 100), (0x8100, 5)], Steer),
        ("qinq-8100x2", &[(0x8100, 100), (0x8100, 5)], Steer),
        ("three-tags", &[(0x88a8, 1), (0x8100, 2), (0x8100, 3)], Pass),
    ];
    for (name, tags, v) in tagsets {
        add(&format!("v4-syn-{name}"), frame(eth(tags, 0x0800), &ip), v);
        add(
            &format!("v6-syn-{name}"),
            frame(eth(tags, 0x86dd), &v6(ours6(), 6, &[], &syn)),
            v,
        );
        add(
            &format!("arp-emulated-{name}"),
            frame(eth(tags, 0x0806), &arp(1, 1, EMULATED)),
            v,
        );
    }
    let e4 = || eth(&[], 0x0800);
    let e6 = || eth(&[], 0x86dd);
    // Addresses and ports.
    add(
        "v4-options-listen",
        frame(e4(), &v4(OURS4, 6, 0, &[], &syn_opts)),
        Steer,
    );
    add(
        "v4-other-addr",
        frame(e4(), &v4(OTHER4, 6, 0, &[], &syn)),
        Pass,
    );
    add(
        "v4-listed-100th",
        frame(e4(), &v4(Ipv4Addr::new(198, 18, 2, 100), 6, 0, &[], &syn)),
        Steer,
    );
    add(
        "v4-prefix-addr",
        frame(e4(), &v4(PREFIX4, 6, 0, &[], &syn)),
        Steer,
    );
    add(
        "v4-other-port",
        frame(e4(), &v4(OURS4, 6, 0, &[], &tcp(22, &[]))),
        Pass,
    );
    add("v4-udp", frame(e4(), &v4(OURS4, 17, 0, &[], &syn)), Pass);
    // IPv4 options (IHL 6 and 15), fragments.
    add(
        "v4-ihl6",
        frame(e4(), &v4(OURS4, 6, 0, &[1, 1, 1, 0], &syn)),
        Steer,
    );
    add(
        "v4-ihl15",
        frame(e4(), &v4(OURS4, 6, 0, &[1; 40], &syn)),
        Steer,
    );
    add("v4-mf", frame(e4(), &v4(OURS4, 6, 0x2000, &[], &syn)), Pass);
    add(
        "v4-offset",
        frame(e4(), &v4(OURS4, 6, 0x0001, &[], &syn)),
        Pass,
    );
    add(
        "v4-df-offset",
        frame(e4(), &v4(OURS4, 6, 0x4010, &[], &syn)),
        Pass,
    );
    // Length fields: Ethernet padding, total length past the frame or short of the header,
    // IHL < 5, data offset < 5 or past the segment.
    let mut padded = frame(e4(), &ip);
    padded.extend_from_slice(&[0; 6]);
    add("v4-padding", padded, Steer);
    let mut long = frame(e4(), &ip);
    long[17] += 1;
    add("v4-total-past-frame", long, Pass);
    let mut short = frame(e4(), &ip);
    short[16..18].copy_from_slice(&19u16.to_be_bytes());
    add("v4-total-below-ihl", short, Pass);
    let mut ihl4 = frame(e4(), &ip);
    ihl4[14] = 0x44;
    add("v4-ihl4", ihl4, Pass);
    let mut ver = frame(e4(), &ip);
    ver[14] = 0x65;
    add("v4-version6", ver, Pass);
    let mut doff4 = frame(e4(), &ip);
    doff4[14 + 20 + 12] = 0x40;
    add("tcp-doff4", doff4, Pass);
    let mut doff15 = frame(e4(), &ip);
    doff15[14 + 20 + 12] = 0xf0;
    add("tcp-doff-past-segment", doff15, Pass);
    // IPv6: extension headers in front of TCP, and ones we do not walk past.
    let hbh = [60u8, 0, 1, 4, 0, 0, 0, 0];
    let dst_opts = [6u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let ext2 = [&hbh[..], &dst_opts[..]].concat();
    add(
        "v6-hbh-dstopts",
        frame(e6(), &v6(ours6(), 0, &ext2, &syn)),
        Steer,
    );
    add(
        "v6-routing-done",
        frame(e6(), &v6(ours6(), 43, &[6, 0, 0, 0, 0, 0, 0, 0], &syn)),
        Steer,
    );
    add(
        "v6-routing-segments-left",
        frame(e6(), &v6(ours6(), 43, &[6, 0, 0, 1, 0, 0, 0, 0], &syn)),
        Pass,
    );
    add(
        "v6-ah",
        frame(
            e6(),
            &v6(ours6(), 51, &[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &syn),
        ),
        Steer,
    );
    add(
        "v6-fragment",
        frame(e6(), &v6(ours6(), 44, &[6, 0, 0, 0, 0, 0, 0, 1], &syn)),
        Pass,
    );
    let four: Vec<u8> = [[0u8, 0, 0, 0, 0, 0, 0, 0]; 3]
        .concat()
        .into_iter()
        .chain([6, 0, 0, 0, 0, 0, 0, 0])
        .collect();
    add(
        "v6-four-ext",
        frame(e6(), &v6(ours6(), 0, &four, &syn)),
        Steer,
    );
    let five = [[0u8, 0, 0, 0, 0, 0, 0, 0]; 4]
        .concat()
        .into_iter()
        .chain([6, 0, 0, 0, 0, 0, 0, 0])
        .collect::<Vec<u8>>();
    add(
        "v6-five-ext",
        frame(e6(), &v6(ours6(), 0, &five, &syn)),
        Pass,
    );
    add(
        "v6-ext-past-payload",
        frame(e6(), &v6(ours6(), 0, &[6, 9, 0, 0, 0, 0, 0, 0], &syn)),
        Pass,
    );
    add("v6-esp", frame(e6(), &v6(ours6(), 50, &[], &syn)), Pass);
    add("v6-udp", frame(e6(), &v6(ours6(), 17, &[], &syn)), Pass);
    let other6 = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 3);
    add(
        "v6-other-addr",
        frame(e6(), &v6(other6, 6, &[], &syn)),
        Pass,
    );
    let mut v6long = frame(e6(), &v6(ours6(), 6, &[], &syn));
    v6long[19] += 1;
    add("v6-payload-past-frame", v6long, Pass);
    // IPv6 addresses: listed past the old 4-address table, emulated, a prefix with a kernel
    // address inside it.
    for (name, a) in [
        ("v6-listed-200th", listed6_last()),
        ("v6-emulated", emulated6()),
        ("v6-prefix", prefix6_addr()),
        ("v6-kernel-in-prefix", kernel_in_prefix6()),
    ] {
        add(name, frame(e6(), &v6(a, 6, &[], &syn)), Steer);
    }
    // Neighbor Solicitations: for emulated addresses (listed, or in the prefix) to us; for
    // the kernel's own addresses, and every other ICMPv6 message, to the kernel.
    let ns = |t: Ipv6Addr| frame(e6(), &v6(t, 58, &[], &icmp6(135, t)));
    add("ns-emulated", ns(emulated6()), Steer);
    add("ns-prefix", ns(prefix6_addr()), Steer);
    add("ns-kernel-addr", ns(ours6()), Pass);
    add("ns-kernel-in-prefix", ns(kernel_in_prefix6()), Pass);
    add("ns-listed-not-emulated", ns(listed6_last()), Pass);
    add(
        "ns-behind-hbh",
        frame(
            e6(),
            &v6(
                emulated6(),
                0,
                &[58, 0, 1, 4, 0, 0, 0, 0],
                &icmp6(135, emulated6()),
            ),
        ),
        Steer,
    );
    add(
        "na-emulated",
        frame(e6(), &v6(emulated6(), 58, &[], &icmp6(136, emulated6()))),
        Pass,
    );
    add(
        "ra",
        frame(e6(), &v6(emulated6(), 58, &[], &icmp6(134, emulated6()))),
        Pass,
    );
    add(
        "echo-emulated",
        frame(e6(), &v6(emulated6(), 58, &[], &icmp6(128, emulated6()))),
        Pass,
    );
    add(
        "ns-short",
        frame(
            e6(),
            &v6(emulated6(), 58, &[], &icmp6(135, emulated6())[..20]),
        ),
        Pass,
    );
    // ARP: prefix addresses except the kernel's own, op and hardware type checked.
    let ea = || eth(&[], 0x0806);
    add("arp-prefix", frame(ea(), &arp(1, 1, PREFIX4)), Steer);
    add(
        "arp-reply-emulated",
        frame(ea(), &arp(2, 1, EMULATED)),
        Steer,
    );
    add("arp-kernel-addr", frame(ea(), &arp(1, 1, OURS4)), Pass);
    add("arp-op3", frame(ea(), &arp(3, 1, EMULATED)), Pass);
    add("arp-htype6", frame(ea(), &arp(1, 6, EMULATED)), Pass);
    add("lldp", frame(eth(&[], 0x88cc), &[0; 40]), Pass);

    // Every steered frame cut at every offset from the Ethernet header on.
    let steered: Vec<(String, Vec<u8>)> = out
        .iter()
        .filter(|(n, _, v)| *v == Steer && n != "v4-padding")
        .map(|(n, f, _)| (n.clone(), f.clone()))
        .collect();
    for (name, f) in steered {
        for len in 14..f.len() {
            // Without padding, every cut is a length field past the frame's end.
            out.push((format!("{name}-cut{len}"), f[..len].to_vec(), Pass));
        }
    }
    out
}

#[test]
fn steer_verdicts_xdp_program_and_rust_reader_agree() {
    let lab = common::pair("twsv", 1);
    let ns = lab.a.netns.clone();
    let cases = frames();
    // In the lab's namespace: no kernel socket there can claim a frame.
    let report = std::thread::spawn(move || {
        iface::enter_netns(&ns).unwrap_or_else(|e| panic!("setns into {ns}: {e}"));
        let cfg = cfg();
        let mut probe = SteerProbe::load(&cfg).expect("load the XDP program for test runs");
        let mut bad = Vec::new();
        let (mut steer, mut pass) = (0, 0);
        for (name, f, want) in &cases {
            let (xdp, moved) = probe.run(f).unwrap_or_else(|e| panic!("{name}: {e}"));
            let rust = cfg.verdict(f);
            if xdp != rust || rust != *want {
                bad.push(format!(
                    "{name}: xdp {xdp:?} ({:?}), rust {rust:?}, meant {want:?}",
                    moved
                        .fields()
                        .into_iter()
                        .filter(|(_, v)| *v != 0)
                        .collect::<Vec<_>>()
                ));
            }
            match xdp {
                XdpVerdict::Steer => steer += 1,
                _ => pass += 1,
            }
        }
        (bad, steer, pass, cases.len())
    })
    .join()
    .expect("test-run thread");
    let (bad, steer, pass, n) = report;
    eprintln!("steer_verdicts: {n} frames, {steer} steered, {pass} passed");
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(steer > 20 && pass > 500, "{steer} steered, {pass} passed");
}

/// Below 14 bytes the kernel refuses a test run; the Rust side passes such frames (the
/// program cannot even read an EtherType there and passes them too).
#[test]
fn steer_verdicts_runt_frames_pass_in_rust() {
    let f = frame(eth(&[], 0x0800), &v4(OURS4, 6, 0, &[], &tcp(PORT, &[])));
    for len in 0..14 {
        assert_eq!(cfg().verdict(&f[..len]), XdpVerdict::Pass, "{len}");
    }
    assert_eq!(cfg().verdict(&f), XdpVerdict::Steer);
}
