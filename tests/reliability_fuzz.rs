//! A CI-budgeted fuzz run of the engine's input on stable Rust (the cargo-fuzz target
//! `fuzz/fuzz_targets/engine_frame.rs` does the same with coverage guidance on nightly).
//!
//! A client and a server `Engine` talk through a simulated wire that drops, duplicates,
//! delays, reflects and *mutates* their frames (bit flips, byte overwrites, truncation,
//! extension, rewritten TCP flags / sequence / acknowledgment / window / data offset /
//! options, most of the time with checksums fixed up so the mutation reaches the state
//! machine), mixed with purely random frames, while both engines run `handle_frame`,
//! `handle_timeout` and (client) `open` with a random clock. A fixed budget of 200k received
//! frames over eight configurations (RST/FIN/hold close, request/response, cookies never /
//! always / auto, server FIN, TIME-WAIT, checksum verify / trust, a full TX path now and
//! then): no panic, and `check_invariants()` holds after every step and after `abort_all`.
//! The same again dual-stack (IPv4 and IPv6 destinations, sources and listeners), with IPv6
//! mutations: payload length, next header, extension headers inserted (hop-by-hop,
//! destination options, routing with and without segments left, fragment).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use threeway::rng::SplitMix64 as Rng;
use threeway::tcp::{
    ClientConfig, CloseMode, Common, CookieMode, Engine, EngineConfig, MAX_FRAME, Nanos,
    ResponseEnd, Role, RoleConfig, ServerConfig, Transmit,
};
use threeway::wire::{ChecksumMode, MacAddr, checksum};

const US: Nanos = 1_000;
const MS: Nanos = 1_000_000;
/// Frames received by the two engines together, over all configurations.
const BUDGET: u64 = 200_000;

/// Collects frames; refuses a buffer now and then when `flaky` (a full TX ring).
struct Out {
    frames: Vec<Vec<u8>>,
    buf: Vec<u8>,
    flaky: bool,
    rng: Rng,
}

impl Transmit for Out {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        if self.flaky && self.rng.one_in(16) {
            return None;
        }
        Some(&mut self.buf[..])
    }
    fn commit(&mut self, len: usize) {
        assert!(len <= MAX_FRAME, "engine wrote {len} bytes");
        self.frames.push(self.buf[..len].to_vec());
    }
}

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

struct Scenario {
    name: &'static str,
    close: CloseMode,
    hold: Nanos,
    data: bool,
    cookies: CookieMode,
    server_fin: bool,
    time_wait: Nanos,
    checksum: ChecksumMode,
    flaky_tx: bool,
}

const SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "rst close, cookies never",
        close: CloseMode::Rst,
        hold: 0,
        data: false,
        cookies: CookieMode::Never,
        server_fin: false,
        time_wait: 0,
        checksum: ChecksumMode::Verify,
        flaky_tx: false,
    },
    Scenario {
        name: "rst close, trust checksums",
        close: CloseMode::Rst,
        hold: 0,
        data: false,
        cookies: CookieMode::Auto,
        server_fin: false,
        time_wait: 0,
        checksum: ChecksumMode::Trust,
        flaky_tx: false,
    },
    Scenario {
        name: "fin close, request/response, server fin",
        close: CloseMode::Fin,
        hold: 0,
        data: true,
        cookies: CookieMode::Never,
        server_fin: true,
        time_wait: 3 * MS,
        checksum: ChecksumMode::Verify,
        flaky_tx: false,
    },
    Scenario {
        name: "fin close, request/response, trust",
        close: CloseMode::Fin,
        hold: 0,
        data: true,
        cookies: CookieMode::Auto,
        server_fin: false,
        time_wait: 3 * MS,
        checksum: ChecksumMode::Trust,
        flaky_tx: true,
    },
    Scenario {
        name: "cookies always, fin close",
        close: CloseMode::Fin,
        hold: 0,
        data: false,
        cookies: CookieMode::Always,
        server_fin: false,
        time_wait: 2 * MS,
        checksum: ChecksumMode::Trust,
        flaky_tx: false,
    },
    Scenario {
        name: "hold then rst, cookies always, data",
        close: CloseMode::Rst,
        hold: 4 * MS,
        data: true,
        cookies: CookieMode::Always,
        server_fin: false,
        time_wait: 0,
        checksum: ChecksumMode::Verify,
        flaky_tx: true,
    },
    Scenario {
        name: "close none (held until abort)",
        close: CloseMode::None,
        hold: 0,
        data: false,
        cookies: CookieMode::Auto,
        server_fin: false,
        time_wait: 0,
        checksum: ChecksumMode::Trust,
        flaky_tx: false,
    },
    Scenario {
        name: "hold then fin, server fin, flaky tx",
        close: CloseMode::Fin,
        hold: 2 * MS,
        data: true,
        cookies: CookieMode::Never,
        server_fin: true,
        time_wait: MS,
        checksum: ChecksumMode::Trust,
        flaky_tx: true,
    },
];

/// `dual`: IPv6 destinations, sources and listeners besides the IPv4 ones.
fn config(role: Role, s: &Scenario, dual: bool) -> EngineConfig {
    // Data of several segments each way (a 3 KB request, a 4 KB response), two requests
    // per connection: fuzzed frames reach data segments, ACK clocking and retransmission.
    let (request, response, expect) = if s.data {
        let pad = "p".repeat(3000);
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n".to_vec();
        response.extend((0..4000).map(|i| (i % 251) as u8));
        (
            format!("GET / HTTP/1.1\r\nX-Pad: {pad}\r\n\r\n").into_bytes(),
            response,
            b"HTTP/1.1 2".to_vec(),
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let common = Common {
        local_mac: MacAddr([2, 0, 0, 0, 0, 1 + role as u8]),
        peer_mac: if role == Role::Client {
            MacAddr([2, 0, 0, 0, 0, 2])
        } else {
            MacAddr::ZERO
        },
        rto: 200 * US,
        rto_max: 2 * MS,
        close: s.close,
        hold: s.hold,
        time_wait: s.time_wait,
        data_timeout: 3 * MS,
        capacity: 96,
        secret: *b"reliability-fuzz",
        checksum: s.checksum,
        ..Common::default()
    };
    let role = match role {
        Role::Client => RoleConfig::Client(ClientConfig {
            sources: vec![CLIENT_IP, Ipv4Addr::new(198, 18, 0, 11)],
            ports: (20000..=20063).collect(),
            destinations: vec![SocketAddrV4::new(SERVER_IP, 80)],
            sources6: if dual {
                vec![CLIENT6, Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 11)]
            } else {
                Vec::new()
            },
            destinations6: if dual {
                vec![SocketAddrV6::new(SERVER6, 80, 0, 0)]
            } else {
                Vec::new()
            },
            syn_retries: 3,
            response_end: if s.data {
                ResponseEnd::Http
            } else {
                ResponseEnd::FirstBytes
            },
            requests: if s.data { 2 } else { 1 },
            request,
            expect,
            ..ClientConfig::default()
        }),
        Role::Server => RoleConfig::Server(ServerConfig {
            listen: vec![
                SocketAddrV4::new(SERVER_IP, 80),
                SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 8080),
            ],
            listen6: if dual {
                vec![
                    SocketAddrV6::new(SERVER6, 80, 0, 0),
                    SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 8080, 0, 0),
                ]
            } else {
                Vec::new()
            },
            cookies: s.cookies,
            cookie_threshold: 4,
            synack_retries: 2,
            server_fin: s.server_fin,
            // A full table answers with RST in the fuzzed runs that close with FIN.
            abort_on_overflow: s.server_fin,
            response,
        }),
    };
    EngineConfig { common, role }
}

/// Recomputes the IPv4 header and TCP checksums of an untagged or single-tagged IPv4/TCP
/// frame whose lengths are consistent; leaves anything else alone.
fn fix_checksums(f: &mut [u8]) {
    let mut l3 = 14;
    if f.len() >= 18 && f[12..14] == [0x81, 0x00] {
        l3 = 18;
    }
    if f.len() >= l3 + 40 && f[l3 - 2..l3] == [0x86, 0xdd] {
        return fix_checksum6(&mut f[l3..]);
    }
    if f.len() < l3 + 20 || f[l3 - 2..l3] != [0x08, 0x00] || f[l3] >> 4 != 4 {
        return;
    }
    let hl = (f[l3] & 0x0f) as usize * 4;
    let tl = u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]) as usize;
    if hl < 20 || tl < hl || l3 + tl > f.len() {
        return;
    }
    f[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
    let c = checksum::ipv4_header(&f[l3..l3 + hl]);
    f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    if f[l3 + 9] != 6 || tl - hl < 20 {
        return;
    }
    let src = Ipv4Addr::new(f[l3 + 12], f[l3 + 13], f[l3 + 14], f[l3 + 15]);
    let dst = Ipv4Addr::new(f[l3 + 16], f[l3 + 17], f[l3 + 18], f[l3 + 19]);
    let seg = &mut f[l3 + hl..l3 + tl];
    seg[16..18].copy_from_slice(&[0, 0]);
    let c = checksum::transport(checksum::pseudo_ipv4(src, dst, 6, seg.len() as u32), seg);
    seg[16..18].copy_from_slice(&c.to_be_bytes());
}

/// The TCP checksum of an IPv6 packet whose headers the wire layer reads to TCP.
fn fix_checksum6(l3: &mut [u8]) {
    let Ok(b) = threeway::wire::headers::ipv6(l3) else {
        return;
    };
    if b.protocol != 6 || b.end - b.upper < 20 {
        return;
    }
    let a = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&l3[at..at + 16]).unwrap());
    let (src, dst) = (a(8), a(24));
    let seg = &mut l3[b.upper..b.end];
    seg[16..18].copy_from_slice(&[0, 0]);
    let c = checksum::transport(checksum::pseudo_ipv6(&src, &dst, 6, seg.len() as u32), seg);
    seg[16..18].copy_from_slice(&c.to_be_bytes());
}

/// One IPv6 mutation of an untagged IPv6 frame: payload length, next header, or an
/// extension header inserted in front of the upper layer.
fn mutate6(rng: &mut Rng, f: &mut Vec<u8>) {
    if f.len() < 54 {
        return;
    }
    match rng.below(3) {
        0 => {
            let v = rng.below(f.len() as u64) as u16;
            f[18..20].copy_from_slice(&v.to_be_bytes());
        }
        1 => f[20] = [0u8, 6, 17, 43, 44, 50, 51, 58, 59, 60][rng.below(10) as usize],
        _ => {
            // hop-by-hop, destination options, routing (segments left 0 or 1), fragment.
            let (nh, seg_left) =
                [(0u8, 0u8), (60, 0), (43, 0), (43, 1), (44, 0)][rng.below(5) as usize];
            let ext = [f[20], 0, 0, seg_left, 0, 0, 0, 0];
            f.splice(54..54, ext);
            f[20] = nh;
            let pl = u16::from_be_bytes([f[18], f[19]]).wrapping_add(8);
            f[18..20].copy_from_slice(&pl.to_be_bytes());
        }
    }
}

/// Offset of the TCP header in an untagged IPv4 (or IPv6, no extension headers) frame.
fn tcp_at(f: &[u8]) -> Option<usize> {
    if f.len() >= 74 && f[12..14] == [0x86, 0xdd] && f[20] == 6 {
        return Some(54);
    }
    if f.len() < 34 || f[12..14] != [0x08, 0x00] {
        return None;
    }
    let at = 14 + (f[14] & 0x0f) as usize * 4;
    (f.len() >= at + 20).then_some(at)
}

/// One mutation of a frame seen on the wire.
fn mutate(rng: &mut Rng, f: &mut Vec<u8>) {
    let special = [0u8, 1, 2, 4, 5, 0x0f, 0x10, 0x12, 0x7f, 0x80, 0xf0, 0xff];
    match rng.below(12) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                if !f.is_empty() {
                    let i = rng.below(f.len() as u64) as usize;
                    f[i] ^= 1 << rng.below(8);
                }
            }
        }
        1 => {
            if !f.is_empty() {
                let i = rng.below(f.len() as u64) as usize;
                f[i] = special[rng.below(special.len() as u64) as usize];
            }
        }
        2 => {
            let n = rng.below(f.len() as u64 + 1) as usize;
            f.truncate(n);
        }
        3 => {
            for _ in 0..1 + rng.below(64) {
                f.push(rng.u8());
            }
        }
        4 if f.len() >= 14 && f[12..14] == [0x86, 0xdd] => mutate6(rng, f),
        4 => {
            // IP header fields: IHL, total length, flags/fragment, protocol.
            if f.len() >= 34 {
                match rng.below(4) {
                    0 => f[14] = 0x40 | rng.below(16) as u8,
                    1 => {
                        let v = rng.below(f.len() as u64 + 8) as u16;
                        f[16..18].copy_from_slice(&v.to_be_bytes());
                    }
                    2 => f[20] = special[rng.below(special.len() as u64) as usize],
                    _ => f[23] = special[rng.below(special.len() as u64) as usize],
                }
            }
        }
        _ => {
            let Some(t) = tcp_at(f) else { return };
            match rng.below(7) {
                0 => f[t + 13] = rng.u8(),
                1 => {
                    f[t + 13] = [0x02, 0x12, 0x10, 0x04, 0x14, 0x11, 0x01, 0x03, 0x06, 0x18]
                        [rng.below(10) as usize]
                }
                2 => {
                    // Sequence number: nearby (in or just outside the window) or anywhere.
                    let s = u32::from_be_bytes([f[t + 4], f[t + 5], f[t + 6], f[t + 7]]);
                    let d = match rng.below(3) {
                        0 => rng.below(8) as u32,
                        1 => (rng.below(0x20000) as u32).wrapping_sub(0x10000),
                        _ => rng.next_u64() as u32,
                    };
                    f[t + 4..t + 8].copy_from_slice(&s.wrapping_add(d).to_be_bytes());
                }
                3 => {
                    let a = u32::from_be_bytes([f[t + 8], f[t + 9], f[t + 10], f[t + 11]]);
                    let d = match rng.below(3) {
                        0 => (rng.below(5) as u32).wrapping_sub(2),
                        1 => (rng.below(0x20000) as u32).wrapping_sub(0x10000),
                        _ => rng.next_u64() as u32,
                    };
                    f[t + 8..t + 12].copy_from_slice(&a.wrapping_add(d).to_be_bytes());
                }
                4 => f[t + 12] = (rng.below(16) as u8) << 4,
                5 => {
                    f[t + 14] = rng.u8();
                    f[t + 15] = rng.u8();
                }
                _ => {
                    // An option byte (kind or length) in the options area, if any.
                    let hl = (f[t + 12] >> 4) as usize * 4;
                    if hl > 20 && f.len() >= t + hl {
                        let i = t + 20 + rng.below((hl - 20) as u64) as usize;
                        f[i] = special[rng.below(special.len() as u64) as usize];
                    }
                }
            }
        }
    }
}

/// A frame of random bytes, sometimes behind a plausible Ethernet/IPv4/TCP header towards
/// one of the engines.
fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(120) as usize;
    let mut f: Vec<u8> = (0..len).map(|_| rng.u8()).collect();
    if rng.one_in(3) && f.len() >= 74 {
        // IPv6 (the payload length the frame's, or not), a random upper layer or TCP.
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        if rng.one_in(2) {
            let pl = (f.len() - 54) as u16;
            f[18..20].copy_from_slice(&pl.to_be_bytes());
            f[20] = 6;
        }
        let (src, dst) = if rng.one_in(2) {
            (CLIENT6, SERVER6)
        } else {
            (SERVER6, CLIENT6)
        };
        f[22..38].copy_from_slice(&src.octets());
        f[38..54].copy_from_slice(&dst.octets());
        f[66] = 0x50 | (f[66] & 0x0f);
        fix_checksums(&mut f);
    } else if rng.one_in(2) && f.len() >= 54 {
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        let tl = (f.len() - 14) as u16;
        f[16..18].copy_from_slice(&tl.to_be_bytes());
        f[20..22].copy_from_slice(&[0x40, 0]);
        f[23] = 6;
        let (src, dst) = if rng.one_in(2) {
            (CLIENT_IP, SERVER_IP)
        } else {
            (SERVER_IP, CLIENT_IP)
        };
        f[26..30].copy_from_slice(&src.octets());
        f[30..34].copy_from_slice(&dst.octets());
        let port = if dst == SERVER_IP {
            [80u16, 8080][rng.below(2) as usize]
        } else {
            20000 + rng.below(64) as u16
        };
        f[36..38].copy_from_slice(&port.to_be_bytes());
        f[46] = 0x50 | (f[46] & 0x0f);
        fix_checksums(&mut f);
    }
    f
}

struct Counts {
    frames: u64,
    mutated: u64,
    random: u64,
}

fn check(e: &Engine, who: &str, scenario: &str, step: u64) {
    if let Err(err) = e.check_invariants() {
        panic!("{scenario}: {who} invariant broken at step {step}: {err}");
    }
}

/// Runs one scenario until `budget` frames were received; returns what was fed.
fn run(s: &Scenario, seed: u64, budget: u64, dual: bool) -> Counts {
    let mut rng = Rng(seed);
    let mut c = Engine::new(config(Role::Client, s, dual)).expect("client config");
    let mut srv = Engine::new(config(Role::Server, s, dual)).expect("server config");
    let mut out = Out {
        frames: Vec::new(),
        buf: vec![0; MAX_FRAME],
        flaky: s.flaky_tx,
        rng: Rng(seed ^ 0x5555),
    };
    // In flight: (deliver at, to server?, frame).
    let mut wire: Vec<(Nanos, bool, Vec<u8>)> = Vec::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut now: Nanos = 1_000 * MS;
    let mut k = Counts {
        frames: 0,
        mutated: 0,
        random: 0,
    };
    let mut step = 0u64;
    // Frames the engines emitted go onto the wire: lost, duplicated, reflected or delayed.
    let send = |rng: &mut Rng,
                wire: &mut Vec<(Nanos, bool, Vec<u8>)>,
                seen: &mut Vec<Vec<u8>>,
                frames: &mut Vec<Vec<u8>>,
                now: Nanos,
                to_server: bool| {
        for f in frames.drain(..) {
            if seen.len() < 256 {
                seen.push(f.clone());
            } else {
                let i = rng.below(256) as usize;
                seen[i] = f.clone();
            }
            if rng.one_in(8) {
                continue;
            }
            let copies = if rng.one_in(16) { 2 } else { 1 };
            for _ in 0..copies {
                let dir = if rng.one_in(32) {
                    !to_server
                } else {
                    to_server
                };
                wire.push((now + rng.below(400 * US), dir, f.clone()));
            }
        }
    };
    while k.frames < budget {
        step += 1;
        now += rng.below(60 * US);
        match rng.below(20) {
            0..=2 => {
                let _ = c.open(now, now.saturating_sub(rng.below(50 * US)), &mut out);
                send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, true);
            }
            3..=8 => {
                // A mutated copy of something seen on the wire, to either engine.
                if seen.is_empty() {
                    continue;
                }
                let mut f = seen[rng.below(seen.len() as u64) as usize].clone();
                for _ in 0..1 + rng.below(3) {
                    mutate(&mut rng, &mut f);
                }
                if !rng.one_in(4) {
                    fix_checksums(&mut f);
                }
                let to_server = tcp_at(&f).is_some_and(|t| f[t + 2..t + 4] == [0, 80])
                    || f.len() > 33 && f[30..34] == SERVER_IP.octets()
                    || f.len() > 53 && f[38..54] == SERVER6.octets();
                k.mutated += 1;
                k.frames += 1;
                if to_server ^ rng.one_in(8) {
                    srv.handle_frame(now, &f, &mut out);
                    send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, false);
                } else {
                    c.handle_frame(now, &f, &mut out);
                    send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, true);
                }
            }
            9 => {
                let f = random_frame(&mut rng);
                k.random += 1;
                k.frames += 1;
                if rng.one_in(2) {
                    srv.handle_frame(now, &f, &mut out);
                    send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, false);
                } else {
                    c.handle_frame(now, &f, &mut out);
                    send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, true);
                }
            }
            10 => {
                // A long pause: retransmissions, give-ups, hold and TIME-WAIT expiries.
                now += rng.below(3 * MS);
            }
            _ => {
                // Deliver what is due (in a random order among the due ones).
                let mut due: Vec<usize> = (0..wire.len()).filter(|&i| wire[i].0 <= now).collect();
                while !due.is_empty() {
                    let j = rng.below(due.len() as u64) as usize;
                    let i = due.swap_remove(j);
                    let (_, to_server, mut f) = std::mem::take(&mut wire[i]);
                    // (Delivered entries are left as (0, false, []) and removed below.)
                    k.frames += 1;
                    if rng.one_in(5) {
                        // Corrupted in flight.
                        mutate(&mut rng, &mut f);
                        if !rng.one_in(4) {
                            fix_checksums(&mut f);
                        }
                        k.mutated += 1;
                    }
                    if to_server {
                        srv.handle_frame(now, &f, &mut out);
                        send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, false);
                    } else {
                        c.handle_frame(now, &f, &mut out);
                        send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, true);
                    }
                }
                wire.retain(|w| w.0 != 0);
            }
        }
        if c.poll_timeout().is_some_and(|t| t <= now) || rng.one_in(64) {
            c.handle_timeout(now, &mut out);
            send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, true);
        }
        if srv.poll_timeout().is_some_and(|t| t <= now) || rng.one_in(64) {
            srv.handle_timeout(now, &mut out);
            send(&mut rng, &mut wire, &mut seen, &mut out.frames, now, false);
        }
        check(&c, "client", s.name, step);
        check(&srv, "server", s.name, step);
        // Keep the wire bounded (a real link has a queue limit too).
        if wire.len() > 4096 {
            wire.drain(..2048);
        }
    }
    // Drain the timers with no more input, then end the run.
    for _ in 0..64 {
        now += MS;
        c.handle_timeout(now, &mut out);
        srv.handle_timeout(now, &mut out);
        out.frames.clear();
        check(&c, "client", s.name, step);
        check(&srv, "server", s.name, step);
    }
    c.abort_all(now, &mut out);
    srv.abort_all(now, &mut out);
    check(&c, "client", s.name, step);
    check(&srv, "server", s.name, step);
    assert_eq!(
        (c.tcbs(), srv.tcbs()),
        (0, 0),
        "{}: TCBs after abort_all",
        s.name
    );
    let cs = c.stats();
    assert_eq!(
        cs.attempted,
        cs.total_outcomes() + cs.aborted,
        "{}: one outcome (or abort) per attempt",
        s.name
    );
    assert!(cs.attempted > 0, "{}: the client opened nothing", s.name);
    if dual {
        assert!(
            cs.v6_established > 0 && cs.established > cs.v6_established,
            "{}: both families established (IPv6 {} of {})",
            s.name,
            cs.v6_established,
            cs.established
        );
    }
    if s.data {
        // The fuzzed frames really were data of several segments, answered in full.
        assert!(
            cs.responses_ok > 0 && cs.bytes_in > 8000 && srv.stats().bytes_in > 6000,
            "{}: no multi-segment exchange completed (ok {}, bytes in {})",
            s.name,
            cs.responses_ok,
            cs.bytes_in
        );
    }
    k
}

#[test]
fn engine_fuzz_fixed_budget() {
    // TW_FUZZ_ROUNDS=n runs n times the budget with other seeds (longer local runs).
    let rounds: u64 = std::env::var("TW_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for round in 1..rounds {
        for (i, s) in SCENARIOS.iter().enumerate() {
            run(
                s,
                round << 32 | i as u64,
                BUDGET / SCENARIOS.len() as u64,
                false,
            );
        }
    }
    let per = BUDGET / SCENARIOS.len() as u64;
    let mut total = Counts {
        frames: 0,
        mutated: 0,
        random: 0,
    };
    for (i, s) in SCENARIOS.iter().enumerate() {
        let k = run(s, 0x7477_0000 + i as u64, per, false);
        eprintln!(
            "{}: {} frames ({} mutated, {} random)",
            s.name, k.frames, k.mutated, k.random
        );
        total.frames += k.frames;
        total.mutated += k.mutated;
        total.random += k.random;
    }
    assert!(total.frames >= BUDGET - SCENARIOS.len() as u64);
    assert!(total.mutated > BUDGET / 4 && total.random > BUDGET / 40);
}

/// The same fuzzing dual-stack: IPv4 and IPv6 tuples in both engines, IPv6 mutations.
#[test]
fn engine_fuzz_fixed_budget_dual_stack() {
    let per = BUDGET / 2 / SCENARIOS.len() as u64;
    let mut v6_seen = 0;
    for (i, s) in SCENARIOS.iter().enumerate() {
        let k = run(s, 0x7436_0000 + i as u64, per, true);
        assert!(k.frames >= per && k.mutated > per / 4, "{}", s.name);
        v6_seen += k.frames;
    }
    assert!(v6_seen >= BUDGET / 2 - SCENARIOS.len() as u64);
}

/// Found by the run above: a SYN cookie is stateless, so a duplicated final ACK that arrives
/// after its connection has ended (here: ACK, RST, then the ACK's duplicate) validates again
/// and opens a second connection. The server's accounting must hold for that too (it used to
/// report "cookies_accepted 2 > cookies_sent 1").
#[test]
fn replayed_cookie_ack_keeps_server_accounting() {
    let s = Scenario {
        cookies: CookieMode::Always,
        ..SCENARIOS[0]
    };
    let mut c = Engine::new(config(Role::Client, &s, false)).unwrap();
    let mut srv = Engine::new(config(Role::Server, &s, false)).unwrap();
    let mut out = Out {
        frames: Vec::new(),
        buf: vec![0; MAX_FRAME],
        flaky: false,
        rng: Rng(1),
    };
    let now = 1_000 * MS;
    c.open(now, now, &mut out).unwrap();
    let syn = out.frames.pop().unwrap();
    srv.handle_frame(now, &syn, &mut out);
    let synack = out.frames.pop().unwrap();
    c.handle_frame(now, &synack, &mut out);
    // RST close: the final ACK, then the RST.
    let (ack, rst) = (out.frames[0].clone(), out.frames[1].clone());
    out.frames.clear();
    for f in [&ack, &rst, &ack] {
        srv.handle_frame(now + US, f, &mut out);
        srv.check_invariants().expect("server accounting");
    }
    let st = srv.stats();
    assert_eq!(
        (st.cookies_sent, st.cookies_accepted, st.accepted),
        (1, 2, 2)
    );
    assert_eq!(srv.active(), 1, "the replay opened a (ghost) connection");
    srv.abort_all(now + 2 * US, &mut out);
    srv.check_invariants()
        .expect("server accounting after abort");
}
