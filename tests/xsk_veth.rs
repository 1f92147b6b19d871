//! AF_XDP sockets and the XDP steering program over a veth pair between two network
//! namespaces. Needs root (fails loudly otherwise: `common::require_root`), `ip`, `ping`.
//!
//! Topology per test: the shared lab (`common::pair`, `threeway::topo::VethPair`):
//! `twx-<pid>-<n>-a` (tw0, 198.18.0.1/24) <-> `twx-<pid>-<n>-b` (tw1, 198.18.0.2/24), 2 RX +
//! 2 TX queues on each end, one test at a time; removed on drop, also on panic.
//!
//! `cargo test --release xsk_veth -- --nocapture` prints the raw packet rate of test (a).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

mod common;

use threeway::xsk::{BindMode, Steer, SteerConfig, XdpAttachMode, Xsk, XskConfig, ZeroCopy, iface};

const IP_A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PORT_LO: u16 = 40000;
const PORT_HI: u16 = 40999;

fn run(cmd: &str, args: &[&str]) -> String {
    let mut full = vec![cmd];
    full.extend_from_slice(args);
    threeway::topo::sh(&full).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `f` on a thread inside namespace `ns`.
fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        iface::enter_netns(&ns).unwrap_or_else(|e| panic!("setns into {ns}: {e}"));
        f()
    })
}

fn steer_cfg(addr: Ipv4Addr) -> SteerConfig {
    SteerConfig {
        addrs_v4: vec![addr],
        port_lo: PORT_LO,
        port_hi: PORT_HI,
        ..Default::default()
    }
}

fn xsk_cfg(ifname: &str, queue: u32) -> XskConfig {
    XskConfig {
        ifname: ifname.into(),
        queue_id: queue,
        zero_copy: ZeroCopy::Auto,
        ..Default::default()
    }
}

// ---- hand-built Ethernet/IPv4/TCP frames ----

fn csum_add(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        acc += (*b as u32) << 8;
    }
    acc
}

fn csum_fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
    let mut acc = csum_add(0, &src.octets());
    acc = csum_add(acc, &dst.octets());
    acc += 6 + segment.len() as u32;
    csum_fold(csum_add(acc, segment))
}

const FRAME_LEN: usize = 14 + 20 + 20;

/// A TCP SYN, `seq` in the sequence number, with correct IPv4 and TCP checksums.
#[allow(clippy::too_many_arguments)]
fn write_syn(
    buf: &mut [u8],
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
) -> usize {
    let f = &mut buf[..FRAME_LEN];
    f.fill(0);
    f[0..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = 14;
    f[ip] = 0x45;
    f[ip + 2..ip + 4].copy_from_slice(&40u16.to_be_bytes());
    f[ip + 6] = 0x40; // DF
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    f[ip + 12..ip + 16].copy_from_slice(&src.octets());
    f[ip + 16..ip + 20].copy_from_slice(&dst.octets());
    let c = csum_fold(csum_add(0, &f[ip..ip + 20]));
    f[ip + 10..ip + 12].copy_from_slice(&c.to_be_bytes());
    let t = ip + 20;
    f[t..t + 2].copy_from_slice(&sport.to_be_bytes());
    f[t + 2..t + 4].copy_from_slice(&dport.to_be_bytes());
    f[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
    f[t + 12] = 5 << 4;
    f[t + 13] = 0x02; // SYN
    f[t + 14..t + 16].copy_from_slice(&65535u16.to_be_bytes());
    let c = tcp_checksum(src, dst, &f[t..t + 20]);
    f[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
    FRAME_LEN
}

/// `(dport, seq)` of a frame whose IPv4 and TCP checksums verify.
fn parse_syn(f: &[u8]) -> Option<(u16, u32)> {
    if f.len() < FRAME_LEN || f[12..14] != [0x08, 0x00] || f[14] != 0x45 || f[23] != 6 {
        return None;
    }
    if csum_fold(csum_add(0, &f[14..34])) != 0 {
        return None;
    }
    let src = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
    let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
    if tcp_checksum(src, dst, &f[34..54]) != 0 {
        return None;
    }
    let dport = u16::from_be_bytes([f[36], f[37]]);
    let seq = u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
    Some((dport, seq))
}

// ---- (a) 100,000 frames, A queue 0 -> B ----

#[test]
fn xsk_veth_100k_frames_steered_to_sockets() {
    let pair = common::pair("twx", 2);
    const N: u32 = 100_000;
    // Frames in flight, below the 2048-entry RX ring; TWX_WINDOW overrides (to measure).
    let window: u64 = std::env::var("TWX_WINDOW")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1024);
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(2));
    let (mac_tx, mac_rx) = mpsc::channel();

    let rx_thread = {
        let (received, stop, ready) = (received.clone(), stop.clone(), ready.clone());
        in_ns(&pair.b.netns, move || {
            mac_tx.send(iface::mac("tw1").unwrap()).unwrap();
            let mut steer = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B))
                .unwrap_or_else(|e| panic!("{e}"));
            let mut socks: Vec<Xsk> = (0..2)
                .map(|q| Xsk::open(&xsk_cfg("tw1", q)).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            for (q, s) in socks.iter().enumerate() {
                steer.register(q as u32, s.fd()).unwrap();
            }
            ready.wait();
            let mut seen = vec![false; N as usize];
            let (mut dup, mut bad, mut per_q) = (0u32, 0u32, [0u32; 2]);
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut last_rx = None;
            while received.load(Ordering::Relaxed) < N as u64 && Instant::now() < deadline {
                let mut got = 0;
                for (q, s) in socks.iter_mut().enumerate() {
                    let n = s.rx_burst(256, |f, _, _tx| match parse_syn(f) {
                        Some((port, seq)) if (PORT_LO..=PORT_HI).contains(&port) && seq < N => {
                            if std::mem::replace(&mut seen[seq as usize], true) {
                                dup += 1;
                            }
                        }
                        _ => bad += 1,
                    });
                    per_q[q] += n as u32;
                    got += n;
                    s.flush().unwrap();
                }
                if got > 0 {
                    received.fetch_add(got as u64, Ordering::Release);
                    last_rx = Some(Instant::now());
                } else {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::yield_now();
                }
            }
            let stats: Vec<_> = socks.iter().map(|s| s.statistics().unwrap()).collect();
            let modes: Vec<BindMode> = socks.iter().map(|s| s.mode()).collect();
            (
                per_q,
                dup,
                bad,
                stats,
                modes,
                steer.counters().unwrap(),
                last_rx,
            )
        })
    };

    let tx_thread = {
        let (received, ready) = (received.clone(), ready.clone());
        let pair_a = pair.a.netns.clone();
        in_ns(&pair_a, move || {
            let dst_mac = mac_rx.recv().unwrap();
            let src_mac = iface::mac("tw0").unwrap();
            let _steer = Steer::attach("tw0", XdpAttachMode::Native, &steer_cfg(IP_A))
                .unwrap_or_else(|e| panic!("{e}"));
            let mut xsk = Xsk::open(&xsk_cfg("tw0", 0)).unwrap_or_else(|e| panic!("{e}"));
            ready.wait();
            let start = Instant::now();
            let deadline = start + Duration::from_secs(20);
            let mut sent = 0u32;
            while sent < N && Instant::now() < deadline {
                let room = (received.load(Ordering::Acquire) + window).saturating_sub(sent as u64);
                let batch = room.min(64).min((N - sent) as u64) as u32;
                let mut tx = xsk.tx();
                for _ in 0..batch {
                    let Some(buf) = tx.buffer() else { break };
                    let sport = 1024 + (sent % 50000) as u16;
                    let dport = PORT_LO + (sent % 1000) as u16;
                    let len = write_syn(buf, src_mac, dst_mac, IP_A, IP_B, sport, dport, sent);
                    tx.commit(len);
                    sent += 1;
                }
                drop(tx);
                xsk.flush().unwrap();
                if batch == 0 {
                    std::thread::yield_now();
                }
            }
            while xsk.tx_outstanding() > 0 && Instant::now() < deadline {
                xsk.flush().unwrap();
                std::thread::yield_now();
            }
            (
                sent,
                start,
                xsk.counters(),
                xsk.statistics().unwrap(),
                xsk.mode(),
                xsk.tx_budget(),
            )
        })
    };

    let (sent, start, txc, txs, tx_mode, budget) = tx_thread.join().unwrap();
    // Give the receiver a moment for the tail, then stop it.
    let wait_until = Instant::now() + Duration::from_secs(2);
    while received.load(Ordering::Relaxed) < sent as u64 && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let (per_q, dup, bad, rxs, modes, sc, last_rx) = rx_thread.join().unwrap();
    let got = per_q[0] + per_q[1];
    let secs = last_rx.map_or(f64::NAN, |t| t.duration_since(start).as_secs_f64());
    println!(
        "xsk_veth: {got} of {sent} frames A(q0) -> B in {:.1} ms = {:.0} pps \
         (window {window}, {tx_mode} mode, tx budget {budget}, {} kicks, per queue {per_q:?})",
        secs * 1e3,
        got as f64 / secs,
        txc.tx_kicks
    );
    let lost = sent as i64 - got as i64;
    assert_eq!(
        (sent, got, dup, bad),
        (N, N, 0, 0),
        "lost {lost}; B statistics {rxs:?}; A statistics {txs:?}; A counters {txc:?}; steer {sc:?}"
    );
    assert_eq!(per_q[1], 0, "copy TX on A queue 0 lands on B queue 0");
    assert_eq!(sc.redirected, N as u64, "steer {sc:?}");
    assert_eq!(sc.dropped_no_socket, 0);
    assert!(
        modes.iter().all(|m| *m == BindMode::Copy),
        "veth has no zero-copy: {modes:?}"
    );
    assert_eq!(txc.frame_errors, 0);
    assert_eq!(txc.tx, N as u64);
}

// ---- (b) the kernel keeps its own traffic ----

#[test]
fn xsk_veth_containment_kernel_traffic_passes() {
    let pair = common::pair("twx", 2);
    let ready = Arc::new(Barrier::new(2));
    let done = Arc::new(AtomicBool::new(false));
    let b = {
        let (ready, done) = (ready.clone(), done.clone());
        in_ns(&pair.b.netns, move || {
            let mut steer = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B))
                .unwrap_or_else(|e| panic!("{e}"));
            let mut socks: Vec<Xsk> = (0..2)
                .map(|q| Xsk::open(&xsk_cfg("tw1", q)).unwrap())
                .collect();
            for (q, s) in socks.iter().enumerate() {
                steer.register(q as u32, s.fd()).unwrap();
            }
            // A kernel listener on a port outside our range.
            let listener = TcpListener::bind((IP_B, 8080)).unwrap();
            listener.set_nonblocking(true).unwrap();
            ready.wait();
            let (mut accepted, mut xsk_rx) = (0, 0);
            let deadline = Instant::now() + Duration::from_secs(15);
            while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok((mut conn, _)) = listener.accept() {
                    conn.set_nonblocking(false).unwrap();
                    let mut b = [0u8; 5];
                    conn.read_exact(&mut b).unwrap();
                    conn.write_all(&b).unwrap();
                    accepted += 1;
                }
                for s in socks.iter_mut() {
                    xsk_rx += s.rx_burst(64, |_, _, _| {});
                    s.flush().unwrap();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (accepted, xsk_rx, steer.counters().unwrap())
        })
    };
    ready.wait();
    // ping (ARP and ICMP pass through the program to B's kernel).
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.a.netns,
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            "198.18.0.2",
        ])
        .output()
        .expect("ping");
    let a = in_ns(&pair.a.netns, || {
        // Kernel TCP to a port outside the range: answered by B's kernel.
        let mut c =
            TcpStream::connect_timeout(&SocketAddr::from((IP_B, 8080)), Duration::from_secs(3))
                .expect("kernel TCP connect to 198.18.0.2:8080 through the XDP program");
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(b"hello").unwrap();
        let mut b = [0u8; 5];
        c.read_exact(&mut b).unwrap();
        // Kernel TCP to a port inside the range: the SYN goes to the XSK; B's kernel never
        // sees it, so no RST: the connect times out instead of being refused.
        let inside = TcpStream::connect_timeout(
            &SocketAddr::from((IP_B, PORT_LO + 1)),
            Duration::from_millis(700),
        );
        (b, inside.map(|_| ()).map_err(|e| e.kind()))
    })
    .join()
    .unwrap();
    done.store(true, Ordering::Relaxed);
    let (accepted, xsk_rx, sc) = b.join().unwrap();
    assert!(
        ping.status.success(),
        "ping through the XDP program failed: {}{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr)
    );
    assert_eq!(&a.0, b"hello");
    assert_eq!(accepted, 1);
    assert_eq!(
        a.1,
        Err(std::io::ErrorKind::TimedOut),
        "a SYN inside our range must not reach B's kernel"
    );
    assert!(
        xsk_rx >= 1 && sc.redirected >= 1,
        "the in-range SYN reached the XSK: {sc:?}"
    );
    assert!(
        sc.passed >= 6,
        "ARP, ICMP and the kernel TCP flow were passed: {sc:?}"
    );
}

// ---- (c) nothing stays attached ----

#[test]
fn xsk_veth_detached_after_drop_and_sigkill() {
    let pair = common::pair("twx", 2);
    assert!(!pair.link_show(&pair.b).contains("xdp"));

    // Drop detaches.
    let b = pair.b.netns.clone();
    let shown = in_ns(&pair.b.netns, move || {
        let steer = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B)).unwrap();
        let with = run("ip", &["-n", &b, "link", "show", "dev", "tw1"]);
        drop(steer);
        let without = run("ip", &["-n", &b, "link", "show", "dev", "tw1"]);
        let steer = Steer::attach("tw1", XdpAttachMode::Generic, &steer_cfg(IP_B)).unwrap();
        let generic = run("ip", &["-n", &b, "link", "show", "dev", "tw1"]);
        drop(steer);
        (
            with,
            without,
            generic,
            run("ip", &["-n", &b, "link", "show", "dev", "tw1"]),
        )
    })
    .join()
    .unwrap();
    assert!(shown.0.contains("xdp"), "attached: {}", shown.0);
    assert!(
        shown.2.contains("xdpgeneric"),
        "generic attach: {}",
        shown.2
    );
    assert!(
        !shown.3.contains("xdp"),
        "still attached after drop (generic): {}",
        shown.3
    );
    assert!(
        !shown.1.contains("xdp"),
        "still attached after drop: {}",
        shown.1
    );

    // SIGKILL of the holder detaches (bpf_link released with its last fd). The holder is
    // the real binary: `threeway serve` attaches on tw1 and keeps it until killed.
    let listen = format!("{}:{}", pair.b.addr, common::PORT);
    let mut child = common::KillOnDrop::new(common::spawn_in(
        &pair,
        &pair.b,
        &["serve", &listen, "-i", "tw1", "--quiet"],
    ));
    common::wait_attached(&pair, &pair.b, child.child());
    let with = pair.link_show(&pair.b);
    let mut child = child.take();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut after = pair.link_show(&pair.b);
    while after.contains("xdp") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        after = pair.link_show(&pair.b);
    }
    assert!(with.contains("xdp"), "child attachment visible: {with}");
    assert!(
        !after.contains("xdp"),
        "still attached after SIGKILL: {after}"
    );
}

// ---- error messages, EBUSY rebind, dead device ----

#[test]
fn xsk_veth_errors_rebind_and_dead_device() {
    let pair = common::pair("twx", 2);
    let b = pair.b.netns.clone();
    let r = in_ns(&pair.b.netns, move || {
        let bad_queue = Xsk::open(&xsk_cfg("tw1", 3)).err().unwrap().to_string();
        let zc_cfg = XskConfig {
            zero_copy: ZeroCopy::On,
            ..xsk_cfg("tw1", 0)
        };
        let zc = Xsk::open(&zc_cfg).err().unwrap().to_string();
        let steer = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B)).unwrap();
        let busy = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B))
            .err()
            .unwrap()
            .to_string();
        // Rebind right after close: the kernel releases the queue asynchronously (EBUSY).
        drop(Xsk::open(&xsk_cfg("tw1", 0)).unwrap());
        let t = Instant::now();
        let mut x = Xsk::open(&xsk_cfg("tw1", 0)).unwrap();
        let rebind = (x.bind_retries(), t.elapsed());
        // Dead device: delete the link under the socket, then try to send.
        run("ip", &["-n", &b, "link", "del", "tw1"]);
        let deadline = Instant::now() + Duration::from_secs(3);
        let dead = loop {
            let mut tx = x.tx();
            if let Some(buf) = tx.buffer() {
                let len = write_syn(buf, [2; 6], [4; 6], IP_B, IP_A, PORT_LO, 80, 1);
                tx.commit(len);
            }
            drop(tx);
            match x.flush() {
                Err(e) => break Some((e.is_dead_device(), e.to_string())),
                Ok(()) if Instant::now() > deadline => break None,
                Ok(()) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        drop(steer);
        (bad_queue, zc, busy, rebind, dead)
    })
    .join()
    .unwrap();
    let (bad_queue, zc, busy, rebind, dead) = r;
    println!("xsk_veth errors:\n  {bad_queue}\n  {zc}\n  {busy}");
    println!(
        "xsk_veth rebind after close: {} EBUSY retries, {:?}",
        rebind.0, rebind.1
    );
    println!("xsk_veth dead device: {dead:?}");
    assert!(
        bad_queue.contains("EINVAL") && bad_queue.contains("use --queues 2"),
        "{bad_queue}"
    );
    assert!(
        zc.contains("EOPNOTSUPP") && zc.contains("zero-copy"),
        "{zc}"
    );
    assert!(busy.contains("xdp off"), "{busy}");
    let (is_dead, msg) = dead.expect("flush reported the deleted device");
    assert!(is_dead, "{msg}");
}

// ---- (e) the program's rules, frame by frame ----

const V6_B: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2); // RFC 5180 benchmarking
const V6_A: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const ARP_EMU: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);

fn syn_v4(dst: Ipv4Addr, dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; FRAME_LEN];
    write_syn(
        &mut f,
        [2, 0, 0, 0, 0, 1],
        [2, 0, 0, 0, 0, 2],
        IP_A,
        dst,
        1234,
        dport,
        7,
    );
    f
}

fn fragment_v4(dport: u16) -> Vec<u8> {
    let mut f = syn_v4(IP_B, dport);
    f[20] = 0x20; // MF, offset 0
    f[21] = 0;
    f[24..26].fill(0);
    let c = csum_fold(csum_add(0, &f[14..34]));
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

fn vlan_v4(dport: u16) -> Vec<u8> {
    let f = syn_v4(IP_B, dport);
    let mut v = f[..12].to_vec();
    v.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
    v.extend_from_slice(&f[12..]);
    v
}

fn syn_v6(dst: Ipv6Addr, dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 40 + 20];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f[14] = 0x60;
    f[18..20].copy_from_slice(&20u16.to_be_bytes());
    f[20] = 6;
    f[21] = 64;
    f[22..38].copy_from_slice(&V6_A.octets());
    f[38..54].copy_from_slice(&dst.octets());
    let t = 54;
    f[t..t + 2].copy_from_slice(&1234u16.to_be_bytes());
    f[t + 2..t + 4].copy_from_slice(&dport.to_be_bytes());
    f[t + 12] = 5 << 4;
    f[t + 13] = 0x02;
    let mut acc = csum_add(0, &V6_A.octets());
    acc = csum_add(acc, &dst.octets());
    acc += 20 + 6;
    let c = csum_fold(csum_add(acc, &f[t..t + 20]));
    f[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
    f
}

fn arp_request(target: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0xffu8; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&IP_A.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

fn send_all(xsk: &mut Xsk, frames: &[Vec<u8>]) {
    for f in frames {
        let mut tx = xsk.tx();
        let buf = tx.buffer().expect("free frame");
        buf[..f.len()].copy_from_slice(f);
        tx.commit(f.len());
        drop(tx);
        xsk.flush().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while xsk.tx_outstanding() > 0 && Instant::now() < deadline {
        xsk.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn xsk_veth_steering_rules() {
    let pair = common::pair("twx", 2);
    let (to_b, from_a) = mpsc::channel::<Vec<Vec<u8>>>();
    let (to_a, from_b) = mpsc::channel::<()>();
    let b = in_ns(&pair.b.netns, move || {
        let mut steer = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B)).unwrap();
        // Rewrite the maps without reloading: add IPv6, an extra port, an ARP address.
        let cfg = SteerConfig {
            addrs_v6: vec![V6_B],
            listen_ports: vec![8443],
            arp_v4: vec![ARP_EMU],
            ..steer_cfg(IP_B)
        };
        steer.configure(&cfg).unwrap();
        let mut socks: Vec<Xsk> = (0..2)
            .map(|q| Xsk::open(&xsk_cfg("tw1", q)).unwrap())
            .collect();
        for (q, s) in socks.iter().enumerate() {
            steer.register(q as u32, s.fd()).unwrap();
        }
        let before = steer.counters().unwrap();
        to_a.send(()).unwrap();
        let mut kinds = std::collections::BTreeMap::<String, u32>::new();
        let mut drain = |socks: &mut Vec<Xsk>, ms: u64| {
            let until = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < until {
                for s in socks.iter_mut() {
                    s.rx_burst(64, |f, _, _| {
                        let k = match (f[12], f[13]) {
                            (0x08, 0x00) => "v4",
                            (0x86, 0xdd) => "v6",
                            (0x81, 0x00) => "vlan",
                            (0x08, 0x06) => "arp",
                            _ => "other",
                        };
                        *kinds.entry(k.to_string()).or_default() += 1;
                    });
                    s.flush().unwrap();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        from_a.recv().unwrap(); // phase 1 sent
        drain(&mut socks, 300);
        let mid = steer.counters().unwrap();
        // No socket on either queue: in-range frames are dropped, not passed.
        steer.unregister(0).unwrap();
        steer.unregister(1).unwrap();
        to_a.send(()).unwrap();
        from_a.recv().unwrap(); // phase 2 sent
        drain(&mut socks, 200);
        (before, mid, steer.counters().unwrap(), kinds)
    });
    let a = in_ns(&pair.a.netns, move || {
        let mut xsk = Xsk::open(&xsk_cfg("tw0", 0)).unwrap();
        from_b.recv().unwrap();
        let mut frames = Vec::new();
        let mut add = |n: usize, f: Vec<u8>| frames.extend(std::iter::repeat_n(f, n));
        add(100, syn_v4(IP_B, PORT_LO + 5)); // redirected
        add(10, syn_v4(IP_B, 8443)); // redirected (listen port)
        add(100, syn_v4(IP_B, 22)); // passed: port not ours
        add(100, syn_v4(Ipv4Addr::new(198, 18, 0, 77), PORT_LO)); // passed: address not ours
        add(100, fragment_v4(PORT_LO)); // passed: fragment
        add(100, syn_v6(V6_B, PORT_HI)); // redirected
        add(100, syn_v6(V6_A, PORT_HI)); // passed
        add(100, vlan_v4(PORT_LO)); // redirected (802.1Q parsed)
        add(10, arp_request(ARP_EMU)); // redirected (emulated address)
        add(10, arp_request(IP_B)); // passed: the kernel's own address
        let mut trunc = syn_v4(IP_B, PORT_LO);
        trunc.truncate(14 + 16);
        add(10, trunc); // passed: truncated IPv4 header
        send_all(&mut xsk, &frames);
        to_b.send(Vec::new()).unwrap();
        from_b.recv().unwrap();
        send_all(&mut xsk, &vec![syn_v4(IP_B, PORT_LO); 10]);
        to_b.send(Vec::new()).unwrap();
    });
    a.join().unwrap();
    let (before, mid, after, kinds) = b.join().unwrap();
    println!("xsk_veth steering: {kinds:?}; after phase 1 {mid:?}");
    let d =
        |f: fn(&threeway::xsk::SteerCounters) -> u64| (f(&mid) - f(&before), f(&after) - f(&mid));
    assert_eq!(d(|c| c.redirected), (310, 0), "{mid:?}");
    assert_eq!(d(|c| c.arp_redirected), (10, 0));
    assert_eq!(d(|c| c.passed_fragments), (100, 0));
    assert_eq!(d(|c| c.parse_errors), (10, 0));
    assert_eq!(d(|c| c.dropped_no_socket), (0, 10));
    assert!(d(|c| c.passed).0 >= 310, "{mid:?}"); // + IPv6 ND/MLD noise
    let want: std::collections::BTreeMap<String, u32> =
        [("arp", 10), ("v4", 110), ("v6", 100), ("vlan", 100)]
            .map(|(k, v)| (k.to_string(), v))
            .into();
    assert_eq!(kinds, want);
}

// ---- (f) replies emitted from the RX callback (the worker's path) ----

#[test]
fn xsk_veth_echo_from_rx_callback() {
    let pair = common::pair("twx", 2);
    const N: u32 = 20_000;
    let stop = Arc::new(AtomicBool::new(false));
    let (mac_b_tx, mac_b_rx) = mpsc::channel();
    let b = {
        let stop = stop.clone();
        in_ns(&pair.b.netns, move || {
            let mac_b = iface::mac("tw1").unwrap();
            let mut steer = Steer::attach("tw1", XdpAttachMode::Native, &steer_cfg(IP_B)).unwrap();
            let mut socks: Vec<Xsk> = (0..2)
                .map(|q| Xsk::open(&xsk_cfg("tw1", q)).unwrap())
                .collect();
            for (q, s) in socks.iter().enumerate() {
                steer.register(q as u32, s.fd()).unwrap();
            }
            mac_b_tx.send(mac_b).unwrap();
            let mut echoed = 0u32;
            while !stop.load(Ordering::Relaxed) {
                for s in socks.iter_mut() {
                    s.rx_burst(128, |f, _, tx| {
                        let Some((dport, seq)) = parse_syn(f) else {
                            return;
                        };
                        let sport = u16::from_be_bytes([f[34], f[35]]);
                        let mut mac_a = [0u8; 6];
                        mac_a.copy_from_slice(&f[6..12]);
                        if let Some(buf) = tx.buffer() {
                            let len = write_syn(buf, mac_b, mac_a, IP_B, IP_A, dport, sport, seq);
                            tx.commit(len);
                            echoed += 1;
                        }
                    });
                    s.flush().unwrap();
                }
            }
            let c: Vec<_> = socks.iter().map(|s| s.counters()).collect();
            (echoed, c)
        })
    };
    let a = in_ns(&pair.a.netns, move || {
        let mac_a = iface::mac("tw0").unwrap();
        let mut steer = Steer::attach("tw0", XdpAttachMode::Native, &steer_cfg(IP_A)).unwrap();
        let mut socks: Vec<Xsk> = (0..2)
            .map(|q| Xsk::open(&xsk_cfg("tw0", q)).unwrap())
            .collect();
        for (q, s) in socks.iter().enumerate() {
            steer.register(q as u32, s.fd()).unwrap();
        }
        let mac_b = mac_b_rx.recv().unwrap();
        let mut seen = vec![false; N as usize];
        let (mut sent, mut got, mut per_q) = (0u32, 0u32, [0u32; 2]);
        let deadline = Instant::now() + Duration::from_secs(15);
        while got < N && Instant::now() < deadline {
            let batch = (got + 512).saturating_sub(sent).min(N - sent).min(64);
            let mut tx = socks[0].tx();
            for _ in 0..batch {
                let Some(buf) = tx.buffer() else { break };
                let sport = PORT_LO + (sent % 1000) as u16;
                let len = write_syn(buf, mac_a, mac_b, IP_A, IP_B, sport, PORT_LO + 500, sent);
                tx.commit(len);
                sent += 1;
            }
            drop(tx);
            for (q, s) in socks.iter_mut().enumerate() {
                let n = s.rx_burst(128, |f, _, _| {
                    if let Some((dport, seq)) = parse_syn(f)
                        && (PORT_LO..=PORT_HI).contains(&dport)
                        && seq < N
                        && !std::mem::replace(&mut seen[seq as usize], true)
                    {
                        got += 1;
                    }
                });
                per_q[q] += n as u32;
                s.flush().unwrap();
            }
        }
        (sent, got, per_q)
    });
    let (sent, got, per_q) = a.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    let (echoed, bc) = b.join().unwrap();
    println!("xsk_veth echo: sent {sent}, echoed {echoed}, replies {got} (A per queue {per_q:?})");
    assert_eq!((sent, echoed, got), (N, N, N), "B counters {bc:?}");
    assert_eq!(
        per_q[1], 0,
        "B replied on its queue 0, which lands on A's queue 0"
    );
}
