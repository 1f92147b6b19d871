//! Two engines (client <-> server) through a simulated link with a seeded RNG and clock:
//! loss, duplication and reordering; after draining, every counter must reconcile.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{Ipv4Addr, SocketAddrV4};

use threeway::rng::SplitMix64 as Rng;
use threeway::tcp::{
    ClientConfig, CloseMode, Common, CookieMode, DropReason, Engine, EngineConfig, MAX_FRAME,
    Nanos, Outcome, ResponseEnd, Role, RoleConfig, ServerConfig, Stats, Transmit,
};
use threeway::wire::MacAddr;

const US: Nanos = 1_000;
const MS: Nanos = 1_000_000;

/// Collects an engine's frames for the link.
struct Out {
    frames: Vec<Vec<u8>>,
    buf: Vec<u8>,
}

impl Transmit for Out {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.buf[..])
    }
    fn commit(&mut self, len: usize) {
        self.frames.push(self.buf[..len].to_vec());
    }
}

#[derive(Clone, Copy)]
struct Net {
    loss: f64,
    dup: f64,
    /// Delay is `base + uniform(0..jitter)`: a jitter above the send spacing reorders.
    base: Nanos,
    jitter: Nanos,
}

const CLEAN: Net = Net {
    loss: 0.0,
    dup: 0.0,
    base: 50 * US,
    jitter: 0,
};
const LOSSY: Net = Net {
    loss: 0.2,
    dup: 0.05,
    base: 50 * US,
    jitter: 200 * US,
};

/// (deliver at, tie-break, to server?, frame)
type Event = (Nanos, u64, bool, Vec<u8>);

struct Link {
    net: Net,
    rng: Rng,
    q: BinaryHeap<Reverse<Event>>,
    n: u64,
    delivered: [u64; 2],
}

impl Link {
    fn send(&mut self, now: Nanos, to_server: bool, frames: &mut Vec<Vec<u8>>) {
        for f in frames.drain(..) {
            if self.rng.chance(self.net.loss) {
                continue;
            }
            let copies = if self.rng.chance(self.net.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let at = now + self.net.base + self.rng.below(self.net.jitter);
                self.n += 1;
                self.q.push(Reverse((at, self.n, to_server, f.clone())));
            }
        }
    }
}

fn common(role: Role) -> Common {
    Common {
        local_mac: MacAddr([2, 0, 0, 0, 0, 1 + role as u8]),
        // The client sends to the server's MAC; the server learns its peers'.
        peer_mac: match role {
            Role::Client => MacAddr([2, 0, 0, 0, 0, 2]),
            Role::Server => MacAddr::ZERO,
        },
        rto: MS,
        rto_max: 8 * MS,
        close: CloseMode::Rst,
        time_wait: 5 * MS,
        data_timeout: 60 * MS,
        secret: *b"simulation-key!!",
        ..Common::default()
    }
}

fn client() -> ClientConfig {
    ClientConfig {
        sources: (1..=4).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect(),
        ports: (1024..=65535).collect(),
        destinations: vec![SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 1), 80)],
        syn_retries: 6,
        ..ClientConfig::default()
    }
}

fn server() -> ServerConfig {
    ServerConfig {
        listen: vec![SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)],
        cookie_threshold: usize::MAX,
        synack_retries: 5,
        ..ServerConfig::default()
    }
}

fn cfg(role: Role) -> EngineConfig {
    EngineConfig {
        common: common(role),
        role: match role {
            Role::Client => RoleConfig::Client(client()),
            Role::Server => RoleConfig::Server(server()),
        },
    }
}

struct Run {
    client: Stats,
    server: Stats,
    delivered: [u64; 2],
}

/// Opens `n` connections, one every 2 µs of simulated time, then drains.
fn simulate(n: u64, net: Net, seed: u64, client: EngineConfig, server: EngineConfig) -> Run {
    let mut c = Engine::new(client).expect("client config");
    let mut s = Engine::new(server).expect("server config");
    let mut link = Link {
        net,
        rng: Rng(seed),
        q: BinaryHeap::new(),
        n: 0,
        delivered: [0; 2],
    };
    let mut out = Out {
        frames: Vec::new(),
        buf: vec![0; MAX_FRAME],
    };
    let gap = 2 * US;
    let (mut now, mut next_open, mut opened, mut steps) = (0, 0, 0u64, 0u64);
    loop {
        let t_open = if opened < n { next_open } else { Nanos::MAX };
        let t_link = link.q.peek().map_or(Nanos::MAX, |Reverse(e)| e.0);
        let t_c = c.poll_timeout().unwrap_or(Nanos::MAX);
        let t_s = s.poll_timeout().unwrap_or(Nanos::MAX);
        let t = t_open.min(t_link).min(t_c).min(t_s);
        if t == Nanos::MAX {
            break;
        }
        now = now.max(t);
        assert!(now < 3_600 * 1_000 * MS, "simulation does not drain");
        if t_open <= now {
            // NoTuple/TableFull would be a bug at this rate: count them via stats.
            let _ = c.open(now, next_open, &mut out);
            opened += 1;
            next_open += gap;
            link.send(now, true, &mut out.frames);
        }
        while let Some(Reverse(e)) = link.q.peek() {
            if e.0 > now {
                break;
            }
            let Some(Reverse((_, _, to_server, f))) = link.q.pop() else {
                break;
            };
            if to_server {
                link.delivered[1] += 1;
                s.handle_frame(now, &f, &mut out);
                link.send(now, false, &mut out.frames);
            } else {
                link.delivered[0] += 1;
                c.handle_frame(now, &f, &mut out);
                link.send(now, true, &mut out.frames);
            }
        }
        if t_c <= now {
            c.handle_timeout(now, &mut out);
            link.send(now, true, &mut out.frames);
        }
        if t_s <= now {
            s.handle_timeout(now, &mut out);
            link.send(now, false, &mut out.frames);
        }
        steps += 1;
        if steps % 20_000 == 0 {
            c.check_invariants().expect("client invariants");
            s.check_invariants().expect("server invariants");
        }
    }
    c.check_invariants().expect("client invariants");
    s.check_invariants().expect("server invariants");
    assert_eq!((c.tcbs(), s.tcbs()), (0, 0), "TCBs left after drain");
    Run {
        client: *c.stats(),
        server: *s.stats(),
        delivered: link.delivered,
    }
}

/// Identities that hold after a drain, whatever the network did.
fn reconcile(r: &Run, n: u64) {
    let (c, s) = (&r.client, &r.server);
    eprintln!(
        "client outcomes {:?} established {} syn_rtx {} data_rtx {} drops {}; server accepted {} \
         failed {} outcomes {:?} synack_rtx {} cookies {}/{} drops {}",
        c.outcomes,
        c.established,
        c.syn_retransmits,
        c.data_retransmits,
        c.total_drops(),
        s.accepted,
        s.accept_failed,
        s.outcomes,
        s.synack_retransmits,
        s.cookies_accepted,
        s.cookies_sent,
        s.total_drops()
    );
    assert_eq!(c.attempted, n, "every open succeeded");
    assert_eq!(c.open_errors(), 0);
    assert_eq!(
        c.total_outcomes(),
        c.attempted,
        "client: one outcome per attempt"
    );
    assert_eq!(
        (c.active, c.time_wait, s.active, s.time_wait, s.half_open),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(
        s.syn_received,
        s.total_outcomes() + s.accept_failed + s.cookies_sent - s.cookies_accepted,
        "server: every passive open ends"
    );
    assert_eq!(c.rx_frames, r.delivered[0]);
    assert_eq!(s.rx_frames, r.delivered[1]);
    assert_eq!(c.rx_frames, c.rx_processed + c.total_drops());
    assert_eq!(s.rx_frames, s.rx_processed + s.total_drops());
    assert!(
        s.accepted <= c.established,
        "server accepts only handshakes the client completed"
    );
    assert_eq!(c.tx_full + s.tx_full, 0);
}

const N: u64 = 100_000;

#[test]
fn tcp_sim_rst_close_clean() {
    let r = simulate(N, CLEAN, 1, cfg(Role::Client), cfg(Role::Server));
    reconcile(&r, N);
    let (c, s) = (&r.client, &r.server);
    assert_eq!(c.outcome(Outcome::Closed), N);
    assert_eq!((c.established, s.accepted, s.syn_received), (N, N, N));
    assert_eq!(s.outcome(Outcome::Reset), N, "server sees the client's RST");
    assert_eq!(c.tx_frames, s.rx_frames);
    assert_eq!(c.tx_frames, 3 * N);
    assert_eq!(s.tx_frames, N);
    assert_eq!(c.total_drops() + s.total_drops(), 0);
    assert_eq!(c.syn_retransmits + s.synack_retransmits, 0);
}

#[test]
fn tcp_sim_rst_close_lossy_and_deterministic() {
    let r = simulate(N, LOSSY, 7, cfg(Role::Client), cfg(Role::Server));
    reconcile(&r, N);
    let (c, s) = (&r.client, &r.server);
    assert!(c.syn_retransmits > 0 && s.synack_retransmits > 0);
    assert!(c.outcome(Outcome::Closed) > N * 9 / 10, "{:?}", c.outcomes);
    // ACK and RST leave together; reordered, the RST fails the accept (RFC 5961 exact seq).
    assert!(
        s.accepted + s.accept_failed > N * 9 / 10,
        "{} {}",
        s.accepted,
        s.accept_failed
    );
    let again = simulate(N, LOSSY, 7, cfg(Role::Client), cfg(Role::Server));
    assert_eq!(
        (again.client, again.server),
        (r.client, r.server),
        "same seed, same stats"
    );
}

fn http_server() -> ServerConfig {
    ServerConfig {
        response: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ..server()
    }
}

fn http(role: Role) -> EngineConfig {
    EngineConfig {
        common: Common {
            close: CloseMode::Fin,
            ..common(role)
        },
        role: match role {
            Role::Client => RoleConfig::Client(ClientConfig {
                request: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                expect: b"HTTP/1.1 200".to_vec(),
                ..client()
            }),
            Role::Server => RoleConfig::Server(http_server()),
        },
    }
}

#[test]
fn tcp_sim_request_response_fin_clean() {
    let r = simulate(N, CLEAN, 3, http(Role::Client), http(Role::Server));
    reconcile(&r, N);
    let (c, s) = (&r.client, &r.server);
    assert_eq!((c.established, s.accepted, c.responses_ok), (N, N, N));
    assert_eq!(c.outcome(Outcome::Closed), N);
    assert_eq!(
        s.outcome(Outcome::Closed),
        N,
        "server: CLOSE-WAIT -> LAST-ACK -> closed"
    );
    assert_eq!(c.bytes_out, s.bytes_in);
    assert_eq!(s.bytes_out, c.bytes_in);
    assert_eq!(c.total_drops() + s.total_drops(), 0);
    // SYN, SYN-ACK, ACK + request, response, FIN, FIN, ACK: no extra pure ACKs.
    assert_eq!((c.tx_frames, s.tx_frames), (4 * N, 3 * N));
}

#[test]
fn tcp_sim_request_response_server_fin_six_frames() {
    let server = EngineConfig {
        role: RoleConfig::Server(ServerConfig {
            server_fin: true,
            ..http_server()
        }),
        ..http(Role::Server)
    };
    let r = simulate(N, CLEAN, 23, http(Role::Client), server);
    reconcile(&r, N);
    let (c, s) = (&r.client, &r.server);
    assert_eq!(c.outcome(Outcome::Closed), N);
    // SYN, SYN-ACK, ACK + request, response + FIN, ACK + FIN (LAST-ACK), ACK.
    assert_eq!((c.tx_frames, s.tx_frames), (3 * N, 3 * N));
}

#[test]
fn tcp_sim_request_response_fin_lossy() {
    let r = simulate(N, LOSSY, 11, http(Role::Client), http(Role::Server));
    reconcile(&r, N);
    let c = &r.client;
    assert!(c.responses_ok > N * 9 / 10, "{}", c.responses_ok);
    assert!(c.data_retransmits > 0);
    assert_eq!(c.outcome(Outcome::BadResponse), 0);
}

#[test]
fn tcp_sim_server_fin_and_cookies_lossy() {
    let server = EngineConfig {
        role: RoleConfig::Server(ServerConfig {
            server_fin: true,
            cookies: CookieMode::Always,
            ..http_server()
        }),
        ..http(Role::Server)
    };
    let r = simulate(N / 2, LOSSY, 13, http(Role::Client), server);
    reconcile(&r, N / 2);
    let s = &r.server;
    assert!(s.cookies_accepted > 0 && s.cookies_sent >= s.cookies_accepted);
    assert_eq!(s.half_open, 0);
}

#[test]
fn tcp_sim_cookies_clean_match_client() {
    let server = EngineConfig {
        role: RoleConfig::Server(ServerConfig {
            cookies: CookieMode::Always,
            ..server()
        }),
        ..cfg(Role::Server)
    };
    let r = simulate(N / 2, CLEAN, 5, cfg(Role::Client), server);
    reconcile(&r, N / 2);
    let (c, s) = (&r.client, &r.server);
    assert_eq!(
        (c.established, s.accepted, s.cookies_accepted),
        (N / 2, N / 2, N / 2)
    );
}

/// A request of ~3 KB (several segments) and a 20,000-byte HTTP body (14 segments), three
/// requests per connection (keep-alive), FIN close.
const BODY: usize = 20_000;
const REQUESTS: u32 = 3;

fn big_request() -> Vec<u8> {
    let pad = "p".repeat(3000);
    format!("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}\r\n\r\n").into_bytes()
}

fn bulk(role: Role) -> EngineConfig {
    let common = Common {
        close: CloseMode::Fin,
        data_timeout: 400 * MS,
        ..common(role)
    };
    match role {
        Role::Client => EngineConfig {
            common,
            role: RoleConfig::Client(ClientConfig {
                request: big_request(),
                expect: b"HTTP/1.1 200".to_vec(),
                response_end: ResponseEnd::Http,
                requests: REQUESTS,
                ..client()
            }),
        },
        Role::Server => {
            let mut response =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\n\r\n").into_bytes();
            response.extend((0..BODY).map(|i| (i % 251) as u8));
            EngineConfig {
                common,
                role: RoleConfig::Server(ServerConfig {
                    response,
                    ..server()
                }),
            }
        }
    }
}

/// 5% loss, 5% duplication, and a delay spread (200 µs) far above the send spacing: most
/// bursts arrive reordered.
const IMPAIRED: Net = Net {
    loss: 0.05,
    dup: 0.05,
    base: 50 * US,
    jitter: 200 * US,
};

const NB: u64 = 2_000;

#[test]
fn tcp_sim_multi_segment_both_ways_keepalive_clean() {
    let r = simulate(NB, CLEAN, 17, bulk(Role::Client), bulk(Role::Server));
    reconcile(&r, NB);
    let (c, s) = (&r.client, &r.server);
    let n = NB * REQUESTS as u64;
    assert_eq!(c.outcome(Outcome::Closed), NB, "{:?}", c.outcomes);
    assert_eq!(
        (c.requests_sent, c.responses_ok, s.requests_sent),
        (n, n, n)
    );
    assert_eq!(c.body_bytes, n * BODY as u64, "every body's length");
    assert_eq!(c.bytes_out, n * big_request().len() as u64);
    assert_eq!((c.bytes_out, s.bytes_out), (s.bytes_in, c.bytes_in));
    assert_eq!(c.data_retransmits + s.data_retransmits, 0);
    assert_eq!(c.total_drops() + s.total_drops(), 0);
    assert!(
        c.acks_sent > 0 && s.acks_sent > 0,
        "cumulative ACKs both ways"
    );
    assert!(
        c.acks_sent < c.rx_frames * 3 / 4,
        "about every second segment is ACKed: {} ACKs for {} frames",
        c.acks_sent,
        c.rx_frames
    );
}

#[test]
fn tcp_sim_multi_segment_both_ways_loss_reorder_duplication() {
    let r = simulate(NB, IMPAIRED, 19, bulk(Role::Client), bulk(Role::Server));
    reconcile(&r, NB);
    let (c, s) = (&r.client, &r.server);
    let n = NB * REQUESTS as u64;
    eprintln!(
        "client: ok {} rtx {} dupacks {} ooo {}; server: rtx {} fast {} dupacks {} ooo {}",
        c.responses_ok,
        c.data_retransmits,
        c.dup_acks,
        c.drop_count(DropReason::OutOfOrder),
        s.data_retransmits,
        s.fast_retransmits,
        s.dup_acks,
        s.drop_count(DropReason::OutOfOrder)
    );
    assert!(
        c.responses_ok > n * 95 / 100,
        "{} of {n}: {:?}",
        c.responses_ok,
        c.outcomes
    );
    assert_eq!(
        c.outcome(Outcome::BadResponse),
        0,
        "reordering never corrupts a response"
    );
    assert!(c.body_bytes >= c.responses_ok * BODY as u64);
    // Recovery happened in both directions.
    assert!(s.data_retransmits > 0 && s.fast_retransmits > 0 && s.dup_acks > 0);
    assert!(c.data_retransmits > 0);
    assert!(c.drop_count(DropReason::OutOfOrder) > 0 && s.drop_count(DropReason::OutOfOrder) > 0);
    let again = simulate(NB, IMPAIRED, 19, bulk(Role::Client), bulk(Role::Server));
    assert_eq!(
        (again.client, again.server),
        (r.client, r.server),
        "deterministic"
    );
}
