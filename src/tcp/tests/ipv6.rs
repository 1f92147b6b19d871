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
