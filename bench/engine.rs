//! In-memory engine benchmark: client and server engines on one core, connected by two
//! frame rings, RST close, IPv4 then IPv6. `cargo bench --bench engine [-- --json] [-- -n N]
//! [-- --no-ipv6]`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::time::Instant;

use threeway::tcp::{
    ClientConfig, CloseMode, Common, Engine, EngineConfig, MAX_FRAME, Nanos, Role, RoleConfig,
    ServerConfig, TCB_BYTES, Transmit,
};
use threeway::wire::{ChecksumMode, MacAddr};

/// Fixed-slot frame ring: no allocation while running.
struct Ring {
    data: Vec<u8>,
    lens: Vec<usize>,
    n: usize,
}

impl Ring {
    fn new(slots: usize) -> Ring {
        Ring {
            data: vec![0; slots * MAX_FRAME],
            lens: vec![0; slots],
            n: 0,
        }
    }
    fn frame(&self, i: usize) -> &[u8] {
        &self.data[i * MAX_FRAME..i * MAX_FRAME + self.lens[i]]
    }
}

impl Transmit for Ring {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        let i = self.n;
        if i == self.lens.len() {
            return None;
        }
        Some(&mut self.data[i * MAX_FRAME..(i + 1) * MAX_FRAME])
    }
    fn commit(&mut self, len: usize) {
        self.lens[self.n] = len;
        self.n += 1;
    }
}

fn cfg(role: Role, checksum: ChecksumMode, capacity: usize, v6: bool) -> EngineConfig {
    let common = Common {
        local_mac: MacAddr([2, 0, 0, 0, 0, role as u8]),
        peer_mac: MacAddr([2, 0, 0, 0, 0, 9]),
        rto: 200_000_000,
        rto_max: 2_000_000_000,
        close: CloseMode::Rst,
        time_wait: 0,
        data_timeout: 1_000_000_000,
        capacity,
        secret: *b"benchmark-secret",
        checksum,
        ..Common::default()
    };
    let (c6, s6) = (
        "2001:2::1".parse().ok(),
        "2001:2::2".parse::<Ipv6Addr>().ok(),
    );
    let role = match role {
        Role::Client if v6 => RoleConfig::Client(ClientConfig {
            sources6: c6.into_iter().collect(),
            ports: (1024..=65535).collect(),
            destinations6: s6
                .map(|a| SocketAddrV6::new(a, 80, 0, 0))
                .into_iter()
                .collect(),
            ..ClientConfig::default()
        }),
        Role::Client => RoleConfig::Client(ClientConfig {
            sources: vec![Ipv4Addr::new(10, 0, 0, 1)],
            ports: (1024..=65535).collect(),
            destinations: vec![SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80)],
            ..ClientConfig::default()
        }),
        Role::Server => RoleConfig::Server(ServerConfig {
            listen: vec![SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)],
            listen6: vec![SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 80, 0, 0)],
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

/// Runs `n` handshakes; returns (wall seconds, CPU seconds, handshakes completed).
fn run(n: u64, checksum: ChecksumMode, v6: bool) -> (f64, f64, u64) {
    const BATCH: usize = 256;
    let mut client = Engine::new(cfg(Role::Client, checksum, 4 * BATCH, v6)).expect("client");
    let mut server = Engine::new(cfg(Role::Server, checksum, 4 * BATCH, v6)).expect("server");
    let mut c2s = Ring::new(4 * BATCH);
    let mut s2c = Ring::new(4 * BATCH);
    let mut now: Nanos = 1_000_000_000;
    let t0 = Instant::now();
    let c0 = cpu_ns();
    let mut opened = 0u64;
    while opened < n {
        for _ in 0..BATCH {
            if client.open(now, now, &mut c2s).is_ok() {
                opened += 1;
            }
        }
        while c2s.n > 0 || s2c.n > 0 {
            for i in 0..c2s.n {
                server.handle_frame(now, c2s.frame(i), &mut s2c);
            }
            c2s.n = 0;
            for i in 0..s2c.n {
                client.handle_frame(now, s2c.frame(i), &mut c2s);
            }
            s2c.n = 0;
        }
        now += 20_000; // simulated time moves on
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

    run(n / 10, ChecksumMode::Verify, false); // warm-up
    let (secs, cpu, done) = run(n, ChecksumMode::Verify, false);
    let (tsecs, tcpu, tdone) = run(n, ChecksumMode::Trust, false);
    // `--no-ipv6`: IPv4 rows only (profiling the IPv4 path alone).
    let (_, cpu6, done6) = if args.iter().any(|a| a == "--no-ipv6") {
        (0.0, f64::NAN, 0)
    } else {
        run(n, ChecksumMode::Verify, true)
    };
    let rate6 = done6 as f64 / cpu6;
    // Rates from CPU time: the wall clock also counts time other processes held the core.
    let rate = done as f64 / cpu;
    let ns = cpu * 1e9 / done as f64;
    let trate = tdone as f64 / tcpu;

    let big = Engine::new(cfg(Role::Server, ChecksumMode::Verify, 1 << 20, false)).expect("1M");
    let per_conn = big.table_bytes() as f64 / (1 << 20) as f64;

    if json {
        println!(
            "{{\"engine_handshakes_per_s\":{rate:.0},\"ns_per_handshake\":{ns:.1},\
             \"tcb_bytes\":{TCB_BYTES},\"table_bytes_per_conn\":{per_conn:.1},\
             \"engine_handshakes_per_s_trust\":{trate:.0},\
             \"engine_handshakes_per_s_ipv6\":{rate6:.0},\
             \"engine_handshakes_per_s_wall\":{:.0}}}",
            done as f64 / secs
        );
    } else {
        println!("engine: {done} handshakes (client+server, RST close, one core, CPU time)");
        println!("  checksum verify: {rate:>12.0} handshakes/s  {ns:>7.1} ns/handshake");
        println!(
            "  checksum trust:  {trate:>12.0} handshakes/s  {:>7.1} ns/handshake",
            tcpu * 1e9 / tdone as f64
        );
        println!(
            "  IPv6 (verify):   {rate6:>12.0} handshakes/s  {:>7.1} ns/handshake ({:.2} of IPv4)",
            cpu6 * 1e9 / done6 as f64,
            rate6 / rate
        );
        println!(
            "  wall clock:      {:>12.0} handshakes/s (verify), {:.0} (trust)",
            done as f64 / secs,
            tdone as f64 / tsecs
        );
        println!("  TCB: {TCB_BYTES} bytes; 1M-entry table: {per_conn:.1} bytes/connection");
    }
}
