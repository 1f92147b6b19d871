//! The server handshake offload (bpf/handshake.h) run by the kernel on crafted frames with
//! BPF_PROG_TEST_RUN, beside the engine given the same frame, key and clock:
//! - the SYN-ACK XDP writes for a SYN is byte for byte the engine's, for every option shape;
//! - the engine accepts the cookie XDP issued, and XDP accepts the engine's;
//! - bad checksums are dropped and counted; bad and expired cookies (which the engine rejects
//!   too), option areas the wire parser rejects, data and (while the engine serves requests) everything but the
//!   handshake go to the engine;
//! - a peer's FIN is answered with the engine's FIN|ACK, and its last ACK closes.
//! - client (bpf/handshake_client.h): the SYN-ACK to the engine's `xdp_isn` SYN is checked
//!   (ack = ISN + 1 recomputed from the tuple and TSecr) and answered with ACK|FIN; wrong
//!   acks, TSecrs, missing timestamps, RSTs and other ports go to the engine; the peer's ACK
//!   of our FIN is consumed and its FIN answered with the last ACK.
//!
//! Needs root (loading BPF); fails loudly otherwise. No namespace: with no kernel ports listed
//! the program looks up no socket, so the host's own sockets cannot change a verdict.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};

use threeway::tcp::offload::{
    LatSeries, check_port_in_xdp, client_isn, client_isn_key, client_tsval, cookie_key, lat_index,
    lat_value,
};
use threeway::tcp::{
    Common, CookieMode, Engine, EngineConfig, MAX_FRAME, ServerConfig, SynOptions, Transmit,
};
use threeway::wire::{ChecksumMode, MacAddr, TcpFrame, checksum};
use threeway::xsk::{HsClient, HsConfig, SteerConfig, SteerProbe, XDP_ACTION_DROP, XDP_ACTION_TX};

const OURS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const PORT: u16 = 8080;
const PEER_PORT: u16 = 40000;
const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SECRET: [u8; 16] = *b"threeway-offload";
/// A worker-clock `now` in the middle of a cookie period.
const NOW: u64 = (7 << 36) + 123_456_789_012;

struct Out(Vec<Vec<u8>>, Vec<u8>);

impl Transmit for Out {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.1[..])
    }
    fn commit(&mut self, len: usize) {
        self.0.push(self.1[..len].to_vec());
    }
}

fn engine(syn: SynOptions, response: &[u8]) -> Engine {
    Engine::new(EngineConfig {
        common: Common {
            local_mac: MacAddr(OUR_MAC),
            syn_options: syn,
            secret: SECRET,
            ..Common::default()
        },
        role: threeway::tcp::RoleConfig::Server(ServerConfig {
            listen: vec![SocketAddrV4::new(OURS, PORT)],
            cookies: CookieMode::Always,
            response: response.to_vec(),
            ..ServerConfig::default()
        }),
    })
    .unwrap()
}

/// The engine's frames for `frame` at `now` (a fresh engine: no TCB, as XDP).
fn engine_out(e: &mut Engine, now: u64, frame: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Out(Vec::new(), vec![0; MAX_FRAME]);
    e.handle_frame(now, frame, &mut out);
    out.0
}

fn hs(syn: SynOptions, data_phase: bool) -> HsConfig {
    HsConfig {
        cookie_key: cookie_key(&SECRET),
        fixed_now: NOW,
        listen: vec![(OURS, PORT)],
        local_mac: OUR_MAC,
        mss: syn.mss,
        wscale: syn.wscale,
        sack_permitted: syn.sack_permitted,
        timestamps: syn.timestamps,
        ttl: 64,
        verify: true,
        data_phase,
        ..HsConfig::default()
    }
}

fn probe(h: &HsConfig) -> SteerProbe {
    let mut p = SteerProbe::load(&SteerConfig {
        addrs_v4: vec![OURS],
        port_lo: PORT,
        port_hi: PORT,
        ..SteerConfig::default()
    })
    .expect("the steering program with the offload loads (verifier)");
    p.set_handshake(Some(h)).unwrap();
    p
}

/// A TCP segment from the peer with `flags`, options area `opts` (padded by the caller) and
/// `payload`, checksums right.
fn seg(flags: u8, seq: u32, ack: u32, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    seg_ports((PEER_PORT, PORT), flags, seq, ack, opts, payload)
}

/// `seg` from the peer's port `ports.0` to our `ports.1`.
fn seg_ports(
    ports: (u16, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let tl = 20 + opts.len() + payload.len();
    let mut f = PEER_MAC.to_vec();
    f.extend_from_slice(&[0xff; 6]); // a dst MAC the answer must not copy
    f[6..12].copy_from_slice(&PEER_MAC);
    f[0..6].copy_from_slice(&OUR_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + tl) as u16).to_be_bytes());
    ip.extend_from_slice(&[0xab, 0xcd, 0x40, 0, 63, 6, 0, 0]);
    ip.extend_from_slice(&PEER.octets());
    ip.extend_from_slice(&OURS.octets());
    let c = checksum::ipv4_header(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut t = ports.0.to_be_bytes().to_vec();
    t.extend_from_slice(&ports.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push((((20 + opts.len()) / 4) << 4) as u8);
    t.push(flags);
    t.extend_from_slice(&[0x72, 0x10, 0, 0, 0, 0]);
    t.extend_from_slice(opts);
    t.extend_from_slice(payload);
    let pseudo = checksum::pseudo_ipv4(PEER, OURS, 6, tl as u32);
    let c = checksum::transport(pseudo, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&t);
    f
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ISN: u32 = 0x1234_5678;

const LINUX: [u8; 20] = [
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7,
];

/// SYN option areas of every shape the wire parser takes.
fn syn_shapes() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("none", vec![]),
        ("linux", LINUX.to_vec()),
        ("mss-only", vec![2, 4, 5, 0xb4]),
        ("mss-small", vec![2, 4, 0, 100]),
        ("mss-1400", vec![2, 4, 5, 0x78]),
        ("mss-1440", vec![2, 4, 5, 0xa0]),
        ("ts-only", vec![1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0]),
        ("sack-only", vec![1, 1, 4, 2]),
        ("ws-only", vec![1, 3, 3, 2]),
        ("ws-15-clamped", vec![1, 3, 3, 15]),
        ("mss-ws-no-ts", vec![2, 4, 5, 0xb4, 1, 3, 3, 9]),
        (
            "reordered",
            vec![1, 3, 3, 5, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 4, 2, 2, 4, 2, 0],
        ),
        ("repeated-mss", vec![2, 4, 1, 0, 2, 4, 5, 0xb4]),
        ("unknown-kind", vec![30, 4, 9, 9, 2, 4, 5, 0xb4]),
        ("eol-then-junk", vec![2, 4, 5, 0xb4, 0, 0xee, 0xee, 0xee]),
        ("nops", vec![1, 1, 1, 1, 1, 1, 1, 1]),
        (
            "full-40",
            vec![
                2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 1, 1, 1, 1, 1, 1,
                1, 1, 30, 6, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0,
            ],
        ),
    ]
}

#[test]
fn offload_synack_is_the_engines_for_every_option_shape() {
    common::require_root();
    let ours = [
        SynOptions::default(),
        SynOptions {
            mss: Some(1400),
            wscale: None,
            sack_permitted: false,
            timestamps: false,
        },
        SynOptions {
            mss: None,
            wscale: Some(0),
            sack_permitted: true,
            timestamps: true,
        },
    ];
    for syn_opts in ours {
        let mut p = probe(&hs(syn_opts, false));
        for (name, opts) in syn_shapes() {
            let syn = seg(SYN, ISN, 0, &opts, &[]);
            let (act, out, moved) = p.run_out(&syn).unwrap();
            assert_eq!(act, XDP_ACTION_TX, "{name} {syn_opts:?}: XDP_TX");
            assert_eq!(moved.xdp_synacks, 1, "{name}");
            let want = engine_out(&mut engine(syn_opts, &[]), NOW, &syn);
            assert_eq!(want.len(), 1, "{name}: the engine answers once");
            assert_eq!(out, want[0], "{name} {syn_opts:?}: byte-identical SYN-ACK");
        }
    }
}

fn cookie_of(synack: &[u8]) -> u32 {
    u32::from_be_bytes(synack[38..42].try_into().unwrap())
}

#[test]
fn offload_cookies_are_shared_with_the_engine() {
    common::require_root();
    let o = SynOptions::default();
    let mut p = probe(&hs(o, false));
    let syn = seg(SYN, ISN, 0, &LINUX, &[]);
    let (_, synack, _) = p.run_out(&syn).unwrap();
    let cookie = cookie_of(&synack);
    let ts = [1, 1, 8, 10, 0, 0, 0x30, 0x3a, 0, 0, 0, 0];
    let ack = seg(ACK, ISN + 1, cookie.wrapping_add(1), &ts, &[]);

    // XDP accepts its own cookie ...
    let (act, _, moved) = p.run_out(&ack).unwrap();
    assert_eq!((act, moved.xdp_accepted), (XDP_ACTION_DROP, 1));
    // ... and so does the engine (what a request segment relies on).
    let mut e = engine(o, &[]);
    assert!(engine_out(&mut e, NOW, &ack).is_empty());
    assert_eq!(
        e.stats().cookies_accepted,
        1,
        "the engine accepts XDP's cookie"
    );
    // The engine's cookie is XDP's: the SYN-ACKs are the same bytes (first test), and XDP
    // accepts it one period later too, not two.
    let mut later = hs(o, false);
    later.fixed_now = NOW + (1 << 36);
    p.set_handshake(Some(&later)).unwrap();
    assert_eq!(
        p.run_out(&ack).unwrap().2.xdp_accepted,
        1,
        "previous period"
    );
    later.fixed_now = NOW + (2 << 36);
    p.set_handshake(Some(&later)).unwrap();
    let (_, _, moved) = p.run_out(&ack).unwrap();
    assert_eq!(
        (moved.xdp_bad_cookie, moved.dropped_no_socket),
        (1, 1),
        "expired: to the engine"
    );
    let mut e = engine(o, &[]);
    assert_eq!(
        engine_out(&mut e, NOW + (2 << 36), &ack).len(),
        1,
        "the engine's RST"
    );
    assert_eq!(e.stats().cookies_rejected, 1, "the engine rejects it too");
    p.set_handshake(Some(&hs(o, false))).unwrap();

    for (name, f) in [
        (
            "cookie^1",
            seg(ACK, ISN + 1, cookie.wrapping_add(1) ^ 1, &ts, &[]),
        ),
        (
            "cookie mac bit",
            seg(ACK, ISN + 1, cookie.wrapping_add(1) ^ 0x40, &ts, &[]),
        ),
        (
            "cookie opts bit",
            seg(ACK, ISN + 1, cookie.wrapping_add(1) ^ (1 << 20), &ts, &[]),
        ),
        (
            "other isn",
            seg(ACK, ISN + 2, cookie.wrapping_add(1), &ts, &[]),
        ),
    ] {
        let (_, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(
            (moved.xdp_bad_cookie, moved.dropped_no_socket),
            (1, 1),
            "{name}"
        );
        assert_eq!(moved.xdp_accepted, 0, "{name}");
        let mut e = engine(o, &[]);
        engine_out(&mut e, NOW, &f);
        assert_eq!(
            e.stats().cookies_rejected,
            1,
            "{name}: the engine rejects it too"
        );
    }
}

#[test]
fn offload_bad_checksums_and_odd_options() {
    common::require_root();
    let o = SynOptions::default();
    let mut p = probe(&hs(o, false));
    let syn = seg(SYN, ISN, 0, &LINUX, &[]);
    for (name, at) in [
        ("ip checksum", 14 + 10),
        ("tcp checksum", 34 + 16),
        ("tcp byte", 34 + 4),
    ] {
        let mut f = syn.clone();
        f[at] ^= 0x5a;
        let (act, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(
            (act, moved.xdp_bad_checksum),
            (XDP_ACTION_DROP, 1),
            "{name}"
        );
        assert!(
            engine_out(&mut engine(o, &[]), NOW, &f).is_empty(),
            "{name}: engine drops too"
        );
    }
    // Option areas TcpOptions::parse rejects: the engine's verdict (it drops them).
    for (name, opts) in [
        ("len-0", vec![2, 0, 0, 0]),
        ("len-1", vec![30, 1, 0, 0]),
        ("past-end", vec![2, 4, 5, 0xb4, 30, 9, 0, 0]),
        ("mss-len-3", vec![2, 3, 5, 1]),
        ("ts-len-8", vec![8, 8, 0, 0, 0, 0, 0, 0]),
        ("kind-no-len", vec![1, 1, 1, 30]),
    ] {
        let f = seg(SYN, ISN, 0, &opts, &[]);
        let (act, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(act, XDP_ACTION_DROP, "{name}: to the (absent) socket");
        assert_eq!(
            (moved.xdp_to_engine, moved.dropped_no_socket),
            (1, 1),
            "{name}"
        );
        assert!(
            engine_out(&mut engine(o, &[]), NOW, &f).is_empty(),
            "{name}"
        );
    }
    // A SYN with data, and a request after the handshake: the engine's.
    for (name, f) in [
        ("syn+data", seg(SYN, ISN, 0, &[], b"x")),
        (
            "request",
            seg(ACK | PSH, ISN + 1, 5, &[], b"GET / HTTP/1.0\r\n\r\n"),
        ),
    ] {
        let (_, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(
            (moved.xdp_to_engine, moved.dropped_no_socket),
            (1, 1),
            "{name}"
        );
    }
    // Not a listener of ours (another port in the steered range would be; here the address).
    let mut other = hs(o, false);
    other.listen = vec![(Ipv4Addr::new(198, 18, 0, 9), PORT)];
    p.set_handshake(Some(&other)).unwrap();
    let (_, _, moved) = p.run_out(&syn).unwrap();
    assert_eq!(
        (moved.xdp_synacks, moved.dropped_no_socket),
        (0, 1),
        "not listening"
    );
}

#[test]
fn offload_close_and_data_phase() {
    common::require_root();
    let o = SynOptions::default();
    let mut p = probe(&hs(o, false));
    let (_, synack, _) = p.run_out(&seg(SYN, ISN, 0, &LINUX, &[])).unwrap();
    let c1 = cookie_of(&synack).wrapping_add(1);
    let tsval_of = |f: &[u8]| {
        let f = TcpFrame::parse(f, ChecksumMode::Verify).unwrap();
        f.tcp.options.timestamps.expect("timestamps negotiated").0
    };
    let syn_ts = tsval_of(&synack);
    assert_eq!(syn_ts & 1, 0, "the SYN-ACK's TSval is even");
    let ts = ts_area(0x303b, syn_ts);
    // The peer closes: FIN|ACK answered as the engine's server (CLOSE-WAIT -> LAST-ACK).
    let fin = seg(FIN | ACK, ISN + 1, c1, &ts, &[]);
    let (act, out, moved) = p.run_out(&fin).unwrap();
    assert_eq!((act, moved.xdp_fins_answered), (XDP_ACTION_TX, 1));
    assert_eq!(moved.xdp_accepted, 0, "a FIN without PSH is no accept");
    let want = engine_out(&mut engine(o, &[]), NOW, &fin);
    assert_eq!(want.len(), 1);
    assert_eq!(out, want[0], "byte-identical FIN|ACK");
    let fin_ts = tsval_of(&out);
    assert_eq!(fin_ts & 1, 1, "the FIN|ACK's TSval is odd");
    let last = seg(
        ACK,
        ISN + 2,
        c1.wrapping_add(1),
        &ts_area(0x303b, fin_ts),
        &[],
    );
    let (act, _, moved) = p.run_out(&last).unwrap();
    assert_eq!((act, moved.xdp_closed), (XDP_ACTION_DROP, 1));
    // A handshake ACK echoing an odd TSval is not taken for an accept (that TSval is our
    // FIN's): the engine decides.
    let odd = seg(ACK, ISN + 1, c1, &ts_area(0x303b, fin_ts), &[]);
    let (_, _, moved) = p.run_out(&odd).unwrap();
    assert_eq!((moved.xdp_accepted, moved.xdp_bad_cookie), (0, 1));
    // Threeway's XDP client closes in its third segment, ACK|PSH|FIN: accepted, answered
    // with FIN|PSH|ACK (no last ACK will come: neither side keeps state) and closed at once.
    // The engine, which holds a TCB, answers FIN|ACK and waits in LAST-ACK: the rest of the
    // frame is the same.
    let closing = seg(FIN | PSH | ACK, ISN + 1, c1, &ts, &[]);
    let (act, out, moved) = p.run_out(&closing).unwrap();
    assert_eq!(
        (
            act,
            moved.xdp_accepted,
            moved.xdp_fins_answered,
            moved.xdp_closed
        ),
        (XDP_ACTION_TX, 1, 1, 1)
    );
    let mut want = engine_out(&mut engine(o, &[]), NOW, &closing).remove(0);
    const FLAGS: usize = 14 + 20 + 13;
    const CSUM: usize = 14 + 20 + 16;
    assert_eq!((want[FLAGS], out[FLAGS]), (FIN | ACK, FIN | PSH | ACK));
    want[FLAGS] = out[FLAGS];
    want[CSUM..CSUM + 2].copy_from_slice(&out[CSUM..CSUM + 2]);
    assert_eq!(
        out, want,
        "the engine's FIN|ACK but for PSH (and the checksum)"
    );
    TcpFrame::parse(&out, ChecksumMode::Verify).expect("its checksum right");
    let (act, _, moved) = p.run_out(&seg(RST, ISN + 1, 0, &[], &[])).unwrap();
    assert_eq!((act, moved.xdp_rsts), (XDP_ACTION_DROP, 1));

    // While the engine serves requests: SYN and final ACK stay in XDP, the rest is its.
    p.set_handshake(Some(&hs(o, true))).unwrap();
    let ack = seg(ACK, ISN + 1, c1, &ts, &[]);
    let (_, _, moved) = p.run_out(&ack).unwrap();
    assert_eq!((moved.xdp_accepted, moved.xdp_accepted_data_phase), (1, 1));
    for (name, f) in [
        ("fin", fin),
        ("last ack", last),
        ("rst", seg(RST, ISN + 1, 0, &[], &[])),
    ] {
        let (_, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(moved.dropped_no_socket, 1, "{name}: to the engine");
    }
}

/// The client's source port and the server it connects to (the peer, here).
const CPORT: u16 = 40001;
/// XDP's clock in the client tests (the engine's `now` there).
const CLIENT_NOW: u64 = 5_000_000_000;
const SPORT: u16 = 80;

fn client_engine() -> Engine {
    Engine::new(EngineConfig {
        common: Common {
            local_mac: MacAddr(OUR_MAC),
            peer_mac: MacAddr(PEER_MAC),
            secret: SECRET,
            ..Common::default()
        },
        role: threeway::tcp::RoleConfig::Client(threeway::tcp::ClientConfig {
            sources: vec![OURS],
            ports: vec![CPORT],
            destinations: vec![SocketAddrV4::new(PEER, SPORT)],
            xdp_isn: true,
            ..threeway::tcp::ClientConfig::default()
        }),
    })
    .unwrap()
}

fn client_probe() -> SteerProbe {
    let mut p = SteerProbe::load(&SteerConfig {
        addrs_v4: vec![OURS],
        port_lo: CPORT - 1,
        port_hi: CPORT + 1,
        ..SteerConfig::default()
    })
    .expect("the steering program with the client offload loads (verifier)");
    p.set_handshake(Some(&client_hs())).unwrap();
    p
}

/// The client offload's configuration in these tests (XDP's clock fixed at CLIENT_NOW).
fn client_hs() -> HsConfig {
    HsConfig {
        local_mac: OUR_MAC,
        ttl: 64,
        verify: true,
        client: Some(HsClient {
            isn_key: client_isn_key(&SECRET),
            ports: (CPORT, CPORT),
            split: 0,
        }),
        fixed_now: CLIENT_NOW,
        ..HsConfig::default()
    }
}

/// A timestamps option area: NOP NOP TS(val, ecr).
fn ts_area(val: u32, ecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&val.to_be_bytes());
    o.extend_from_slice(&ecr.to_be_bytes());
    o
}

/// What XDP must send for the client (tw_emit: IP id 0, DF, TTL 64, window 0xffff).
fn client_answer(frame: &[u8], flags: u8, seq: u32, ack: u32, ts: (u32, u32)) {
    let f = TcpFrame::parse(frame, ChecksumMode::Verify).expect("checksums right");
    assert_eq!((f.eth.src.0, f.eth.dst.0), (OUR_MAC, PEER_MAC));
    let t = &f.tcp;
    assert_eq!((t.src_port, t.dst_port), (CPORT, SPORT));
    assert_eq!(
        (t.flags.0, t.seq.0, t.ack.0, t.window),
        (flags, seq, ack, 0xffff)
    );
    assert_eq!(
        t.options.timestamps,
        Some(ts),
        "TSval kept, the peer's echoed"
    );
    assert_eq!(
        (t.options.mss, t.options.wscale, t.options.sack_permitted),
        (None, None, false)
    );
    assert!(t.payload.is_empty());
    assert_eq!(frame.len(), 14 + 20 + 32);
}

#[test]
fn offload_client_synack_checked_and_answered() {
    common::require_root();
    // The engine's SYN: TSval = the intended start (µs), ISN = the keyed hash XDP checks.
    let now = CLIENT_NOW;
    let intended = now - 2_000_000;
    let mut e = client_engine();
    let mut out = Out(Vec::new(), vec![0; MAX_FRAME]);
    e.open(now, intended, &mut out).unwrap();
    let syn = TcpFrame::parse(&out.0[0], ChecksumMode::Verify).unwrap();
    let (tsval, _) = syn
        .tcp
        .options
        .timestamps
        .expect("the SYN carries timestamps");
    assert_eq!(tsval, client_tsval(intended));
    let isn = syn.tcp.seq.0;
    let (ours, theirs) = (
        SocketAddrV4::new(OURS, CPORT),
        SocketAddrV4::new(PEER, SPORT),
    );
    assert_eq!(
        isn,
        client_isn(client_isn_key(&SECRET), ours, theirs, tsval)
    );

    let mut p = client_probe();
    const IRS: u32 = 0xfedc_ba98;
    let peer_ts: u32 = 0x0102_0304;
    // A Linux SYN-ACK: MSS, SACK-permitted, TS, NOP, WS.
    let mut linux = vec![2, 4, 5, 0xb4, 4, 2, 8, 10];
    linux.extend_from_slice(&peer_ts.to_be_bytes());
    linux.extend_from_slice(&tsval.to_be_bytes());
    linux.extend_from_slice(&[1, 3, 3, 7]);
    let from = (SPORT, CPORT);
    let synack = seg_ports(from, SYN | ACK, IRS, isn.wrapping_add(1), &linux, &[]);
    assert_eq!(p.client_mark(CPORT).unwrap(), 0, "no mark before");
    let (act, ans, moved) = p.run_out(&synack).unwrap();
    assert_eq!((act, moved.xdp_client_established), (XDP_ACTION_TX, 1));
    assert_eq!(
        p.client_mark(CPORT).unwrap(),
        isn.wrapping_add(1),
        "the port marked established for this ISS"
    );
    // The latency from the intended start (a whole µs, as the engine takes it, so the TSval
    // carries it exactly), in XDP's histogram: 2 ms, one count.
    let lat = p
        .client_latency(LatSeries::Answered)
        .expect("tw_hs_lat reads");
    let at = lat_index(2_000_000);
    assert_eq!((lat[at], lat.iter().sum::<u64>()), (1, 1));
    assert!(
        lat_value(at).abs_diff(2_000_000) < 2_000_000 / 200,
        "within 0.5%"
    );
    let marks = p.client_marks().expect("tw_hs_marks maps (BPF_F_MMAPABLE)");
    assert_eq!(
        marks.get(CPORT),
        isn.wrapping_add(1),
        "the mapped view agrees"
    );
    client_answer(
        &ans,
        ACK | PSH | FIN,
        isn.wrapping_add(1),
        IRS.wrapping_add(1),
        (tsval, peer_ts),
    );
    // The engine takes the same SYN-ACK as its own (what a fallback relies on).
    let mut out = Out(Vec::new(), vec![0; MAX_FRAME]);
    e.handle_frame(now + 1_000_000, &synack, &mut out);
    assert_eq!(e.stats().established, 1, "the engine accepts it too");
    // The same SYN-ACK again (the peer retransmits it): answered, no second latency.
    let (act, _, _) = p.run_out(&synack).unwrap();
    assert_eq!(act, XDP_ACTION_TX);
    let lat = p.client_latency(LatSeries::Answered).unwrap();
    assert_eq!(lat.iter().sum::<u64>(), 1, "one latency per attempt");

    // Not ours to answer: to the engine (no socket in the probe: dropped, counted).
    let bad = |ack: u32, opts: &[u8]| seg_ports(from, SYN | ACK, IRS, ack, opts, &[]);
    for (name, f, bad_synack) in [
        ("ack^1", bad(isn.wrapping_add(1) ^ 1, &linux), 1),
        ("ack = isn", bad(isn, &linux), 1),
        (
            "other tsecr",
            bad(isn.wrapping_add(1), &ts_area(peer_ts, tsval ^ 0x100)),
            1,
        ),
        (
            "no timestamps",
            bad(isn.wrapping_add(1), &[2, 4, 5, 0xb4]),
            1,
        ),
        (
            "refused",
            seg_ports(from, RST | ACK, 0, isn.wrapping_add(1), &[], &[]),
            0,
        ),
        (
            "other port",
            seg_ports(
                (SPORT, CPORT + 1),
                SYN | ACK,
                IRS,
                isn.wrapping_add(1),
                &linux,
                &[],
            ),
            0,
        ),
        (
            "data",
            seg_ports(from, ACK | PSH, IRS + 1, isn.wrapping_add(2), &[], b"x"),
            0,
        ),
    ] {
        let (act, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(
            (act, moved.dropped_no_socket, moved.xdp_client_bad_synack),
            (XDP_ACTION_DROP, 1, bad_synack),
            "{name}: to the engine"
        );
        assert_eq!(moved.xdp_client_established, 0, "{name}");
    }
    assert_eq!(p.client_mark(CPORT + 1).unwrap(), 0, "other port unmarked");
    let mut f = synack.clone();
    f[34 + 16] ^= 0x5a;
    let (act, _, moved) = p.run_out(&f).unwrap();
    assert_eq!((act, moved.xdp_bad_checksum), (XDP_ACTION_DROP, 1));

    // The close: the peer ACKs our FIN (consumed), then sends its FIN (the last ACK).
    let ts = ts_area(peer_ts + 1, tsval);
    let fin_ack = seg_ports(from, ACK, IRS + 1, isn.wrapping_add(2), &ts, &[]);
    let (act, _, moved) = p.run_out(&fin_ack).unwrap();
    assert_eq!((act, moved.xdp_client_fins_acked), (XDP_ACTION_DROP, 1));
    let fin = seg_ports(from, FIN | ACK, IRS + 1, isn.wrapping_add(2), &ts, &[]);
    let (act, ans, moved) = p.run_out(&fin).unwrap();
    assert_eq!((act, moved.xdp_client_fins_answered), (XDP_ACTION_TX, 1));
    client_answer(
        &ans,
        ACK,
        isn.wrapping_add(2),
        IRS.wrapping_add(2),
        (tsval, peer_ts + 1),
    );
    // threeway's XDP server marks its dataless FIN with PSH (it keeps no state waiting for
    // the last ACK): consumed, not answered. A FIN with another ack (not this port's attempt,
    // which its mark tells without a hash) is the engine's.
    let stateless = seg_ports(
        from,
        FIN | PSH | ACK,
        IRS + 1,
        isn.wrapping_add(2),
        &ts,
        &[],
    );
    let (act, _, moved) = p.run_out(&stateless).unwrap();
    assert_eq!((act, moved.xdp_client_fins_stateless), (XDP_ACTION_DROP, 1));
    let other = seg_ports(from, FIN | ACK, IRS + 1, isn.wrapping_add(3), &ts, &[]);
    let (_, _, moved) = p.run_out(&other).unwrap();
    assert_eq!(
        (moved.dropped_no_socket, moved.xdp_client_fins_answered),
        (1, 0)
    );

    // --offload check (one worker): XDP answers half the source ports (`check_port_in_xdp`):
    // CPORT + 1 is XDP's, CPORT the engine's, whose SYN-ACKs go on (no socket in the probe:
    // dropped, counted) with no mark or answered latency moved; one with the right ack is
    // timed in the witness series, nothing else is.
    assert!(!check_port_in_xdp(CPORT, 1) && check_port_in_xdp(CPORT + 1, 1));
    let mut h = client_hs();
    let hc = h.client.as_mut().unwrap();
    (hc.split, hc.ports) = (1, (CPORT, CPORT + 1));
    p.set_handshake(Some(&h)).unwrap();
    let sum = |p: &SteerProbe, s| p.client_latency(s).unwrap().iter().sum::<u64>();
    let lat_before = sum(&p, LatSeries::Answered);
    assert_eq!(sum(&p, LatSeries::Witness), 0, "nothing witnessed yet");
    let (mark_before, eisn) = (p.client_mark(CPORT).unwrap(), isn);
    for (name, f) in [
        ("wrong ack", bad(1, &linux)),
        ("no timestamps", bad(eisn + 1, &[2, 4, 5, 0xb4])),
        ("refused", seg_ports(from, RST | ACK, 0, eisn + 1, &[], &[])),
        (
            "data",
            seg_ports(from, ACK | PSH, IRS + 1, eisn + 1, &[], b"x"),
        ),
        ("the right ack", synack.clone()),
    ] {
        let (act, _, moved) = p.run_out(&f).unwrap();
        assert_eq!(
            (act, moved.dropped_no_socket, moved.xdp_client_established),
            (XDP_ACTION_DROP, 1, 0),
            "{name}: the engine's"
        );
        assert_eq!(moved.xdp_client_bad_synack, 0, "{name}: not counted in XDP");
    }
    assert_eq!(sum(&p, LatSeries::Answered), lat_before);
    let w = p.client_latency(LatSeries::Witness).unwrap();
    assert_eq!(
        (w[lat_index(2_000_000)], w.iter().sum::<u64>()),
        (1, 1),
        "the right SYN-ACK timed once, from the same intended start (2 ms)"
    );
    assert_eq!(
        p.client_mark(CPORT).unwrap(),
        mark_before,
        "the engine's port's mark untouched"
    );
    let xport = SocketAddrV4::new(OURS, CPORT + 1);
    let xisn = client_isn(client_isn_key(&SECRET), xport, theirs, tsval);
    let xdps = seg_ports((SPORT, CPORT + 1), SYN | ACK, IRS, xisn + 1, &linux, &[]);
    let (act, _, moved) = p.run_out(&xdps).unwrap();
    assert_eq!(
        (act, moved.xdp_client_established),
        (XDP_ACTION_TX, 1),
        "XDP's half"
    );
    assert_eq!(sum(&p, LatSeries::Answered), lat_before + 1);
}
