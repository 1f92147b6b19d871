//! In-memory engine benchmark: client and server engines on one core, connected by two
//! frame rings, RST close; IPv4, and the same over IPv6 (`--no-ipv6`: not). The engines are
//! driven as workers drive them: every received frame has its own receive stamp (the XDP
//! wire stamps), the pacer's intended starts are spread, `departed` follows every TX batch.
//! `cargo bench --bench engine [-- --json] [-- -n N] [-- -r RUNS]
//! [-- --no-live | --live-only]`: the median of RUNS runs (5), with a small table and with 1M live
//! connections in both tables (cache-cold lookups).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::time::Instant;

use threeway::tcp::{
    ClientConfig, CloseMode, Common, Engine, EngineConfig, MAX_FRAME, Nanos, Role, RoleConfig,
    ServerConfig, TCB_BYTES,
};
use threeway::wire::{ChecksumMode, MacAddr};

#[path = "../tests/support/ring.rs"]
mod ring;
use ring::Ring;

/// Source addresses of the client: one for the small table; enough tuples for 1M live
/// connections plus the measured ones otherwise.
fn sources(n: u8) -> Vec<Ipv4Addr> {
    (1..=n).map(|i| Ipv4Addr::new(10, 0, 1, i)).collect()
}

/// `v6`: the same run over IPv6 (2001:2::1 -> [2001:2::2]:80).
fn cfg(role: Role, checksum: ChecksumMode, capacity: usize, live: usize, v6: bool) -> EngineConfig {
    let common = Common {
        local_mac: MacAddr([2, 0, 0, 0, 0, role as u8]),
        peer_mac: MacAddr([2, 0, 0, 0, 0, 9]),
        // The live connections stay half-open for the whole run: no retransmissions.
        rto: if live > 0 { 1 << 50 } else { 200_000_000 },
        rto_max: if live > 0 { 1 << 51 } else { 2_000_000_000 },
        close: CloseMode::Rst,
        time_wait: 0,
        data_timeout: 1_000_000_000,
        capacity,
        secret: *b"benchmark-secret",
        checksum,
        ..Common::default()
    };
    let (c6, s6) = (
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2),
    );
    let role = match role {
        Role::Client if v6 => RoleConfig::Client(ClientConfig {
            sources6: vec![c6],
            ports: (1024..=65535).collect(),
            destinations6: vec![SocketAddrV6::new(s6, 80, 0, 0)],
            ..ClientConfig::default()
        }),
        Role::Client => RoleConfig::Client(ClientConfig {
            sources: if live > 0 {
                sources(64)
            } else {
                vec![Ipv4Addr::new(10, 0, 0, 1)]
            },
            ports: (1024..=65535).collect(),
            destinations: vec![SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80)],
            ..ClientConfig::default()
        }),
        Role::Server => RoleConfig::Server(ServerConfig {
            listen: vec![SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)],
            listen6: if v6 {
                vec![SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 80, 0, 0)]
            } else {
                Vec::new()
            },
            cookie_threshold: usize::MAX,
            ..ServerConfig::default()
        }),
    };
    EngineConfig { common, role }
}

/// CPU time of this thread in ns (`/proc/thread-self/schedstat`), to factor out other load
/// on a shared machine; `None` where unavailable.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

const BATCH: usize = 256;

/// Opens `live` connections that stay in both tables for the run: their SYN-ACKs are lost,
/// so the client holds them in SYN-SENT and the server in SYN-RECEIVED.
fn fill(client: &mut Engine, server: &mut Engine, live: usize, now: Nanos) {
    let (mut c2s, mut s2c) = (Ring::new(4 * BATCH), Ring::new(4 * BATCH));
    let mut opened = 0;
    while opened < live {
        for _ in 0..BATCH.min(live - opened) {
            client
                .open(now, now, &mut c2s)
                .expect("open a live connection");
            opened += 1;
        }
        for i in 0..c2s.n {
            server.handle_frame(now, c2s.frame(i), &mut s2c);
        }
        c2s.n = 0;
        s2c.n = 0;
        client.departed(now);
        server.departed(now);
    }
    assert_eq!((client.active(), server.active()), (live, live));
}

/// Simulated time between the phases of a burst (open, server RX, client RX, ...): the
/// latencies recorded are microseconds, as on a network.
const PHASE: Nanos = 5_000;
/// Spacing of the pacer's intended starts within a burst, and of the receive stamps of a
/// burst's frames: every frame has its own wire time, as the XDP stamps give a worker.
const OPEN_EVERY: Nanos = 75;
const RX_EVERY: Nanos = 11;

/// One RX burst of `ring` into `e` as a worker handles it: the burst's lookups warmed (a
/// table past the caches), each frame with its own receive stamp (before `now`), then the
/// TX batch's departure reported.
fn rx_burst(e: &mut Engine, now: Nanos, ring: &mut Ring, out: &mut Ring) {
    if e.warms() {
        std::hint::black_box((0..ring.n).fold(0, |a, i| a ^ e.warm_frame(ring.frame(i))));
    }
    let first = now - ring.n as Nanos * RX_EVERY;
    for i in 0..ring.n {
        e.handle_frame_at(now, first + i as Nanos * RX_EVERY, ring.frame(i), out);
    }
    ring.n = 0;
    e.departed(now + PHASE / 10);
}

/// Runs `n` handshakes beside `live` live connections; returns (wall seconds, CPU seconds,
/// handshakes completed). Driven as workers drive the engines: distinct intended starts and
/// receive stamps, `departed` after every TX batch.
fn run(n: u64, checksum: ChecksumMode, live: usize, v6: bool) -> (f64, f64, u64) {
    let cap = live + 4 * BATCH;
    let mut client = Engine::new(cfg(Role::Client, checksum, cap, live, v6)).expect("client");
    let mut server = Engine::new(cfg(Role::Server, checksum, cap, live, v6)).expect("server");
    let mut c2s = Ring::new(4 * BATCH);
    let mut s2c = Ring::new(4 * BATCH);
    let mut now: Nanos = 1_000_000_000;
    fill(&mut client, &mut server, live, now);
    let t0 = Instant::now();
    let c0 = cpu_ns();
    let mut opened = 0u64;
    while opened < n {
        // Each burst's lookups are warmed first, as the worker does (a no-op for a small table).
        std::hint::black_box(client.warm_opens(BATCH));
        // The pacer's intended starts: spread over the time since the last burst.
        let first = now - BATCH as Nanos * OPEN_EVERY;
        for i in 0..BATCH {
            if client
                .open(now, first + i as Nanos * OPEN_EVERY, &mut c2s)
                .is_ok()
            {
                opened += 1;
            }
        }
        client.departed(now + PHASE / 10);
        while c2s.n > 0 || s2c.n > 0 {
            now += PHASE;
            rx_burst(&mut server, now, &mut c2s, &mut s2c);
            now += PHASE;
            rx_burst(&mut client, now, &mut s2c, &mut c2s);
        }
        now += PHASE; // simulated time moves on
        client.handle_timeout(now, &mut c2s);
        server.handle_timeout(now, &mut s2c);
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => secs,
    };
    let (c, s) = (client.stats(), server.stats());
    assert_eq!(c.established, opened, "client handshakes");
    assert_eq!(s.accepted, opened, "server accepts");
    assert_eq!((client.active(), server.active()), (live, live));
    client.check_invariants().expect("client invariants");
    server.check_invariants().expect("server invariants");
    (secs, cpu, c.established)
}

/// Micro-benchmarks of the wire layer as the engine uses it (`--micro`).
fn micro() {
    use threeway::wire::{
        EtherType, EthernetRepr, IpRepr, Ipv4Repr, SeqNum, TcpFlags, TcpFrame, TcpOptions, TcpRepr,
    };
    let f = TcpFrame {
        eth: EthernetRepr {
            dst: MacAddr([2; 6]),
            src: MacAddr([3; 6]),
            vlan: None,
            ethertype: EtherType::IPV4,
        },
        ip: IpRepr::V4(Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: 6,
            payload_len: 0,
            ttl: 64,
            ident: 0,
            dont_frag: true,
            dscp_ecn: 0,
        }),
        tcp: TcpRepr {
            src_port: 1234,
            dst_port: 80,
            seq: SeqNum(1),
            ack: SeqNum(0),
            flags: TcpFlags(TcpFlags::SYN),
            window: 65535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                wscale: Some(7),
                sack_permitted: true,
                timestamps: Some((1, 0)),
            },
            payload: &[],
        },
    };
    let mut buf = vec![0u8; MAX_FRAME];
    let n = 10_000_000u32;
    let t = Instant::now();
    let mut len = 0;
    for i in 0..n {
        let mut g = f;
        g.tcp.seq = SeqNum(i);
        len = std::hint::black_box(g.emit(std::hint::black_box(&mut buf)).unwrap_or(0));
    }
    println!(
        "  TcpFrame::emit SYN: {:.1} ns",
        t.elapsed().as_nanos() as f64 / n as f64
    );
    let t = Instant::now();
    let mut ok = 0;
    for _ in 0..n {
        let r = TcpFrame::parse(std::hint::black_box(&buf[..len]), ChecksumMode::Verify);
        ok += std::hint::black_box(r).is_ok() as u32;
    }
    println!(
        "  TcpFrame::parse SYN (verify): {:.1} ns ({ok})",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}

/// The median of `runs` runs: (handshakes/s, ns/handshake, wall handshakes/s, every run's
/// handshakes/s).
fn median(
    runs: usize,
    n: u64,
    checksum: ChecksumMode,
    live: usize,
    v6: bool,
) -> (f64, f64, f64, Vec<f64>) {
    let mut r: Vec<(f64, f64)> = (0..runs.max(1))
        .map(|_| {
            let (secs, cpu, done) = run(n, checksum, live, v6);
            // Rates from CPU time: the wall clock also counts time other processes held the core.
            (done as f64 / cpu, done as f64 / secs)
        })
        .collect();
    let all = r.iter().map(|x| x.0).collect();
    r.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (rate, wall) = r[r.len() / 2];
    (rate, 1e9 / rate, wall, all)
}

fn rates(v: &[f64]) -> String {
    let m: Vec<String> = v.iter().map(|r| format!("{:.2}", r / 1e6)).collect();
    format!("[{} M]", m.join(" "))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--micro") {
        micro();
        return;
    }
    let json = args.iter().any(|a| a == "--json");
    let n = args
        .iter()
        .position(|a| a == "-n")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000u64);

    let runs = args
        .iter()
        .position(|a| a == "-r")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5usize);
    let live = if args.iter().any(|a| a == "--no-live") {
        0
    } else {
        1 << 20
    };

    if args.iter().any(|a| a == "--live-only") {
        // For profiling the cache-cold case alone.
        let (rate, ns, _, all) = median(runs, n, ChecksumMode::Verify, 1 << 20, false);
        println!(
            "1M live conns: {rate:.0} handshakes/s  {ns:.1} ns/handshake  {}",
            rates(&all)
        );
        return;
    }
    run(n / 10, ChecksumMode::Verify, 0, false); // warm-up
    let (rate, ns, wall, all) = median(runs, n, ChecksumMode::Verify, 0, false);
    let (trate, tns, twall, _) = median(runs, n, ChecksumMode::Trust, 0, false);
    // `--no-ipv6`: IPv4 rows only (profiling the IPv4 path alone).
    let six = (!args.iter().any(|a| a == "--no-ipv6"))
        .then(|| median(runs, n, ChecksumMode::Verify, 0, true));
    let cold = (live > 0).then(|| median(runs, n, ChecksumMode::Verify, live, false));
    let big =
        Engine::new(cfg(Role::Server, ChecksumMode::Verify, 1 << 20, 0, false)).expect("1M table");
    let per_conn = big.table_bytes() as f64 / (1 << 20) as f64;

    if json {
        let (lrate, lns) = cold.as_ref().map_or((0.0, 0.0), |c| (c.0, c.1));
        let (rate6, ns6) = six.as_ref().map_or((0.0, 0.0), |c| (c.0, c.1));
        println!(
            "{{\"engine_handshakes_per_s\":{rate:.0},\"ns_per_handshake\":{ns:.1},\
             \"tcb_bytes\":{TCB_BYTES},\"table_bytes_per_conn\":{per_conn:.1},\
             \"engine_handshakes_per_s_trust\":{trate:.0},\
             \"engine_handshakes_per_s_wall\":{wall:.0},\"runs\":{runs},\
             \"engine_handshakes_per_s_1m_live\":{lrate:.0},\"ns_per_handshake_1m_live\":{lns:.1},\
             \"engine_handshakes_per_s_ipv6\":{rate6:.0},\"ns_per_handshake_ipv6\":{ns6:.1}}}"
        );
    } else {
        println!(
            "engine: {n} handshakes per run, median of {runs} (client+server, RST close, one core, CPU time)"
        );
        println!(
            "  checksum verify: {rate:>12.0} handshakes/s  {ns:>7.1} ns/handshake  {}",
            rates(&all)
        );
        println!("  checksum trust:  {trate:>12.0} handshakes/s  {tns:>7.1} ns/handshake");
        if let Some((r6, ns6, _, all6)) = &six {
            println!(
                "  IPv6 (verify):   {r6:>12.0} handshakes/s  {ns6:>7.1} ns/handshake  {} ({:.2} x IPv4)",
                rates(all6),
                r6 / rate
            );
        }
        println!("  wall clock:      {wall:>12.0} handshakes/s (verify), {twall:.0} (trust)");
        if let Some((lrate, lns, _, lall)) = &cold {
            println!(
                "  1M live conns:   {lrate:>12.0} handshakes/s  {lns:>7.1} ns/handshake  {} \
                 (verify, {live} live in each table: {:.2} x the small table)",
                rates(lall),
                lrate / rate
            );
        }
        println!("  TCB: {TCB_BYTES} bytes; 1M-entry table: {per_conn:.1} bytes/connection");
    }
}
