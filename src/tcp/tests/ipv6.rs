//! IPv6 in both roles: a client and a server engine over IPv6 (and both families at once),
//! every frame checked by the wire layer (checksums verified), cookies, MSS, per-family
//! counters.

use std::net::{Ipv6Addr, SocketAddrV6};

use super::*;
use crate::tcp::{DropReason, Outcome, Stats};

const C6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 1);
const S6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

fn client6(v4_too: bool) -> EngineConfig {
    tweak(base_cfg(Role::Client), |c| {
        let cl = c.client_mut();
        cl.sources6 = vec![C6, Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 2)];
        cl.destinations6 = vec![SocketAddrV6::new(S6, S_PORT, 0, 0)];
        if !v4_too {
            cl.sources.clear();
            cl.destinations.clear();
        }
    })
}

fn server6(cookies: CookieMode) -> EngineConfig {
    tweak(base_cfg(Role::Server), |c| {
        let s = c.server_mut();
        s.listen6 = vec![SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, S_PORT, 0, 0)];
        s.cookies = cookies;
    })
}

/// Opens `n` connections and carries frames both ways until quiet; every frame must parse
/// with checksums verified. Returns (client, server) stats and the frames' MSS values.
fn run(client: EngineConfig, server: EngineConfig, n: usize) -> (Stats, Stats, Vec<u16>) {
    let mut c = Engine::new(client).expect("client");
    let mut s = Engine::new(server).expect("server");
    let (mut ct, mut st) = (Tx::new(), Tx::new());
    let mut mss = Vec::new();
    let mut now = T0;
    for _ in 0..n {
        c.open(now, now, &mut ct).expect("open");
    }
    for _ in 0..100 {
        while let Some(f) = ct.frames.pop_front() {
            let p = TcpFrame::parse(&f, ChecksumMode::Verify).expect("client frame parses");
            mss.extend(p.tcp.options.mss);
            s.handle_frame(now, &f, &mut st);
        }
        while let Some(f) = st.frames.pop_front() {
            let p = TcpFrame::parse(&f, ChecksumMode::Verify).expect("server frame parses");
            mss.extend(p.tcp.options.mss);
            c.handle_frame(now, &f, &mut ct);
        }
        now += MS;
        c.handle_timeout(now, &mut ct);
        s.handle_timeout(now, &mut st);
    }
    c.check_invariants().expect("client invariants");
    s.check_invariants().expect("server invariants");
    (*c.stats(), *s.stats(), mss)
}

#[test]
fn ipv6_handshakes_in_both_roles() {
    for cookies in [CookieMode::Never, CookieMode::Always] {
        let (c, s, mss) = run(client6(false), server6(cookies), 50);
        assert_eq!((c.attempted, c.established), (50, 50), "{cookies:?}");
        assert_eq!(c.outcomes[Outcome::Closed as usize], 50);
        assert_eq!((c.v6_attempted, c.v6_established), (50, 50));
        assert_eq!(c.v6_outcomes, c.outcomes);
        assert_eq!((s.accepted, s.v6_accepted), (50, 50));
        assert_eq!(c.total_drops() + s.total_drops(), 0, "{c:?} {s:?}");
        // MSS 1460 configured: IPv6 advertises MTU - 60.
        assert!(!mss.is_empty() && mss.iter().all(|&m| m == 1440), "{mss:?}");
    }
}

#[test]
fn both_families_in_one_client() {
    let server = tweak(server6(CookieMode::Never), |c| {
        assert!(!c.server_mut().listen.is_empty(), "base listens on IPv4");
    });
    let (c, s, _) = run(client6(true), server, 60);
    assert_eq!(c.established, 60);
    // Destinations alternate (a tuple still in the table is skipped: the IPv4 destination
    // has one source to the IPv6 one's two, so it gets fewer of the first opens).
    let v6 = c.v6_established;
    assert!((30..60).contains(&v6), "{v6}");
    assert_eq!(c.v6_attempted, v6);
    assert_eq!((s.accepted, s.v6_accepted), (60, v6));
    assert_eq!(c.outcomes[Outcome::Closed as usize], 60);
    assert_eq!(c.v6_outcomes[Outcome::Closed as usize], v6);
}

#[test]
fn ipv6_needs_sources_and_listeners_of_its_family() {
    let no_src = tweak(client6(false), |c| c.client_mut().sources6.clear());
    assert!(Engine::new(no_src).is_err());
    // A server without IPv6 listeners does not take IPv6 frames.
    let (c, s, _) = run(client6(false), base_cfg(Role::Server), 3);
    assert_eq!(c.established, 0);
    assert!(s.drops[DropReason::NotOurs as usize] >= 3, "{s:?}");
}

#[test]
fn server_answers_each_ipv6_peer_at_its_own_mac_and_frees_addresses() {
    let mut s = Engine::new(server6(CookieMode::Never)).expect("server");
    let mut c = Engine::new(client6(false)).expect("client");
    let (mut ct, mut st) = (Tx::new(), Tx::new());
    c.open(T0, T0, &mut ct).unwrap();
    let syn = ct.frames.pop_front().unwrap();
    s.handle_frame(T0, &syn, &mut st);
    let synack = st.frames.pop_front().expect("SYN-ACK");
    assert_eq!(synack[..6], C_MAC.0, "to the SYN's sender");
    assert_eq!(
        s.table.v6.len(),
        2,
        "both addresses held by the SYN-RECEIVED TCB"
    );
    // Retries exhausted: the TCB and its addresses go.
    for i in 1..100 {
        s.handle_timeout(T0 + i * 10 * MS, &mut st);
    }
    assert_eq!((s.tcbs(), s.table.v6.len()), (0, 0));
    // A segment to a tuple with no connection interns nothing that stays.
    let mut rst = syn.clone();
    rst[14 + 40 + 13] = TcpFlags::ACK;
    s.handle_frame(T0, &rst, &mut st);
    assert_eq!(s.table.v6.len(), 0);
}

/// A valid IPv6 SYN from the client engine, its IPv6 header at 14.
fn v6_syn() -> Vec<u8> {
    let mut c = Engine::new(client6(false)).expect("client");
    let mut tx = Tx::new();
    c.open(T0, T0, &mut tx).unwrap();
    tx.frames.pop_front().unwrap()
}

/// `f` with an 8-byte extension header of type `nh` (pointing on to TCP) before TCP.
fn with_ext(f: &[u8], nh: u8, fill: [u8; 6]) -> Vec<u8> {
    let mut g = f[..54].to_vec();
    g[20] = nh;
    g.extend_from_slice(&[6, 0]);
    g.extend_from_slice(&fill);
    g.extend_from_slice(&f[54..]);
    let pl = (g.len() - 54) as u16;
    g[18..20].copy_from_slice(&pl.to_be_bytes());
    g
}

#[test]
fn malformed_ipv6_frames_are_counted_drops() {
    let syn = v6_syn();
    let mut s = Engine::new(server6(CookieMode::Never)).expect("server");
    let mut tx = Tx::new();
    let mut feed = |f: &[u8], want: Option<DropReason>| {
        let before = *s.stats();
        s.handle_frame(T0, f, &mut tx);
        let d = s.stats().minus(&before);
        match want {
            Some(r) => assert_eq!(d.drops[r as usize], 1, "{r:?}: {d:?}"),
            None => assert_eq!(d.rx_processed, 1, "{d:?}"),
        }
        s.check_invariants().unwrap();
    };
    // Extension headers walked to TCP (hop-by-hop, destination options, routing done) are
    // processed; a fragment or a routing header with segments left is a named drop.
    let hbh = with_ext(&syn, 0, [1, 4, 0, 0, 0, 0]);
    feed(&syn, None); // the SYN: a SYN-RECEIVED TCB; the same SYN again is a duplicate
    feed(&hbh, Some(DropReason::DuplicateSyn));
    feed(
        &with_ext(&syn, 60, [1, 4, 0, 0, 0, 0]),
        Some(DropReason::DuplicateSyn),
    );
    feed(
        &with_ext(&syn, 43, [0, 0, 0, 0, 0, 0]),
        Some(DropReason::DuplicateSyn),
    );
    feed(
        &with_ext(&syn, 43, [0, 1, 0, 0, 0, 0]),
        Some(DropReason::Ipv6ExtHeader),
    );
    feed(
        &with_ext(&syn, 44, [0, 0, 0, 0, 0, 1]),
        Some(DropReason::Fragment),
    );
    // More than four extension headers: not walked (as the XDP program).
    let mut five = syn.clone();
    for _ in 0..5 {
        // Each new header points at the previous first header.
        let first = five[20];
        five = with_ext(&five, 60, [1, 4, 0, 0, 0, 0]);
        five[54] = first;
    }
    feed(&five, Some(DropReason::Ipv6ExtHeader));
    // Payload length past the frame, and one short of the TCP header.
    let mut long = syn.clone();
    long[19] = long[19].wrapping_add(1);
    feed(&long, Some(DropReason::BadLength));
    let mut short = syn.clone();
    short[18..20].copy_from_slice(&10u16.to_be_bytes());
    feed(&short, Some(DropReason::Truncated));
    // A corrupted TCP checksum.
    let mut bad = syn.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x55;
    feed(&bad, Some(DropReason::BadChecksum));
    // Truncation at every offset, of the plain SYN and of the hop-by-hop one: a counted
    // drop each time, never a panic.
    for f in [&syn, &hbh] {
        for len in 0..f.len() {
            let before = s.stats().total_drops();
            s.handle_frame(T0, &f[..len], &mut tx);
            assert_eq!(s.stats().total_drops(), before + 1, "cut at {len}");
        }
    }
    s.check_invariants().unwrap();
}
