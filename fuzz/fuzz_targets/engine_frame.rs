//! Arbitrary frames and events into a server and a client `Engine`.
//!
//! The input is a script. Byte 0 picks the configuration (close mode, cookies, request /
//! response, checksum verify or trust, TIME-WAIT). Then each op byte is one of:
//! - `0` client `open`;
//! - `1 t` advance the clock by `t * 37 us` and run both engines' timers;
//! - `2 len bytes..` a raw frame to the server, `3 len bytes..` to the client;
//! - `4` deliver every frame the engines emitted (client <-> server), as a clean link would;
//! - `5 i n (off val)*n dir` a frame the engines emitted earlier (index `i` in the history),
//!   patched at `n` offsets, with its checksums fixed up, to the server (`dir` even) or the
//!   client: reaches live connections with arbitrary flags, sequence numbers and options;
//! - `6` drop the frames in flight;
//! - `7` deliver the frames in flight in reverse order (reordered bursts of data segments).
//!
//! With data (config bit 2) the request (3 KB) and the response (5 KB, HTTP framed, two per
//! connection) span several segments, so ops 4, 5 and 7 reach data segments, cumulative
//! ACKs, duplicate ACKs and retransmission.
//!
//! Both engines are dual-stack (IPv4 and IPv6 destinations alternate), so the ops reach
//! IPv6 tuples too; raw frames may be IPv6 with any extension-header chain.
//!
//! After every op both engines' `check_invariants()` must hold; at the end `abort_all`
//! leaves both tables empty with every client attempt accounted for.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use libfuzzer_sys::fuzz_target;
use threeway::tcp::{
    ClientConfig, CloseMode, Common, CookieMode, Engine, EngineConfig, MAX_FRAME, Nanos,
    ResponseEnd, Role, RoleConfig, ServerConfig, Transmit,
};
use threeway::wire::{ChecksumMode, EtherType, MacAddr, checksum, headers};

const US: Nanos = 1_000;
const MS: Nanos = 1_000_000;
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

struct Out {
    frames: Vec<Vec<u8>>,
    buf: Vec<u8>,
}

impl Transmit for Out {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.buf[..])
    }
    fn commit(&mut self, len: usize) {
        assert!(len <= MAX_FRAME);
        self.frames.push(self.buf[..len].to_vec());
    }
}

fn config(role: Role, sel: u8) -> EngineConfig {
    let data = sel & 4 != 0;
    let common = Common {
        local_mac: MacAddr([2, 0, 0, 0, 0, 1 + role as u8]),
        peer_mac: if role == Role::Client {
            MacAddr([2, 0, 0, 0, 0, 2])
        } else {
            MacAddr::ZERO
        },
        rto: 200 * US,
        rto_max: 2 * MS,
        close: [
            CloseMode::Rst,
            CloseMode::Fin,
            CloseMode::None,
            CloseMode::Fin,
        ][sel as usize & 3],
        hold: if sel & 3 == 3 { MS } else { 0 },
        time_wait: if sel & 0x40 != 0 { 2 * MS } else { 0 },
        data_timeout: 3 * MS,
        capacity: 32,
        secret: *b"engine-frame-fuz",
        checksum: if sel & 0x80 != 0 {
            ChecksumMode::Verify
        } else {
            ChecksumMode::Trust
        },
        ..Common::default()
    };
    let role = match role {
        Role::Client => RoleConfig::Client(ClientConfig {
            sources: vec![CLIENT_IP],
            sources6: vec![CLIENT6],
            ports: (20000..=20015).collect(),
            destinations: vec![SocketAddrV4::new(SERVER_IP, 80)],
            destinations6: vec![SocketAddrV6::new(SERVER6, 80, 0, 0)],
            syn_retries: 3,
            request: if data { request() } else { Vec::new() },
            expect: if data { b"HTTP".to_vec() } else { Vec::new() },
            response_end: if data {
                ResponseEnd::Http
            } else {
                ResponseEnd::FirstBytes
            },
            requests: if data { 2 } else { 1 },
            ..ClientConfig::default()
        }),
        Role::Server => RoleConfig::Server(ServerConfig {
            listen: vec![SocketAddrV4::new(SERVER_IP, 80)],
            listen6: vec![SocketAddrV6::new(SERVER6, 80, 0, 0)],
            cookies: [CookieMode::Never, CookieMode::Always, CookieMode::Auto]
                [(sel >> 3) as usize % 3],
            cookie_threshold: 2,
            synack_retries: 2,
            server_fin: sel & 0x20 != 0,
            abort_on_overflow: sel & 0x10 != 0,
            response: if data { response() } else { Vec::new() },
            ..ServerConfig::default()
        }),
    };
    EngineConfig { common, role }
}

fn request() -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "p".repeat(3000)).into_bytes()
}

fn response() -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n".to_vec();
    r.extend((0..5000).map(|i| (i % 251) as u8));
    r
}

/// Fixes the IPv4 header and TCP checksums of an IPv4/TCP frame, or the TCP checksum of an
/// IPv6 one (behind up to two VLAN tags), if its headers are consistent (as `wire::headers`
/// reads them).
fn fix_checksums(f: &mut [u8]) {
    let Ok(link) = headers::link(f) else { return };
    if link.ethertype == EtherType::IPV6 {
        let l3 = &mut f[link.l3..];
        let Ok(b) = headers::ipv6(l3) else { return };
        if b.protocol != 6 || b.end - b.upper < 20 {
            return;
        }
        let a = |l3: &[u8], at: usize| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&l3[at..at + 16]);
            Ipv6Addr::from(o)
        };
        let (src, dst) = (a(l3, 8), a(l3, 24));
        let seg = &mut l3[b.upper..b.end];
        seg[16..18].copy_from_slice(&[0, 0]);
        let c = checksum::transport(checksum::pseudo_ipv6(&src, &dst, 6, seg.len() as u32), seg);
        seg[16..18].copy_from_slice(&c.to_be_bytes());
        return;
    }
    if link.ethertype != EtherType::IPV4 {
        return;
    }
    let Ok(ip) = headers::ipv4(&f[link.l3..]) else {
        return;
    };
    let l3 = &mut f[link.l3..link.l3 + ip.total_len];
    l3[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::ipv4_header(&l3[..ip.header_len]);
    l3[10..12].copy_from_slice(&c.to_be_bytes());
    if ip.protocol != 6 || ip.total_len - ip.header_len < 20 {
        return;
    }
    let src = Ipv4Addr::new(l3[12], l3[13], l3[14], l3[15]);
    let dst = Ipv4Addr::new(l3[16], l3[17], l3[18], l3[19]);
    let seg = &mut l3[ip.header_len..];
    seg[16..18].copy_from_slice(&[0, 0]);
    let c = checksum::transport(checksum::pseudo_ipv4(src, dst, 6, seg.len() as u32), seg);
    seg[16..18].copy_from_slice(&c.to_be_bytes());
}

/// The next `n` input bytes.
fn take(n: usize, rest: &mut &[u8]) -> Option<Vec<u8>> {
    let (a, b) = rest.split_at_checked(n)?;
    *rest = b;
    Some(a.to_vec())
}

/// Moves what an engine just emitted onto the link (and into the history).
fn emitted(
    out: &mut Out,
    to_server: bool,
    flight: &mut Vec<(bool, Vec<u8>)>,
    history: &mut Vec<Vec<u8>>,
) {
    for f in out.frames.drain(..) {
        if history.len() < 64 {
            history.push(f.clone());
        }
        flight.push((to_server, f));
    }
}

fn check(c: &Engine, s: &Engine) {
    if let Err(e) = c.check_invariants() {
        panic!("client: {e}");
    }
    if let Err(e) = s.check_invariants() {
        panic!("server: {e}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let mut c = Engine::new(config(Role::Client, sel)).expect("client config");
    let mut s = Engine::new(config(Role::Server, sel)).expect("server config");
    let mut out = Out {
        frames: Vec::new(),
        buf: vec![0; MAX_FRAME],
    };
    let mut now: Nanos = 1_000 * MS;
    // Emitted frames waiting for op 4, (to server?, frame); and everything ever emitted.
    let mut flight: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut history: Vec<Vec<u8>> = Vec::new();
    while let Some((&op, r)) = rest.split_first() {
        rest = r;
        match op % 8 {
            0 => {
                let _ = c.open(now, now, &mut out);
                emitted(&mut out, true, &mut flight, &mut history);
            }
            1 => {
                let Some(t) = take(1, &mut rest) else { break };
                now += t[0] as Nanos * 37 * US;
                c.handle_timeout(now, &mut out);
                emitted(&mut out, true, &mut flight, &mut history);
                s.handle_timeout(now, &mut out);
                emitted(&mut out, false, &mut flight, &mut history);
            }
            2 | 3 => {
                let Some(len) = take(1, &mut rest) else { break };
                let Some(f) = take(len[0] as usize, &mut rest) else {
                    break;
                };
                if op % 8 == 2 {
                    s.handle_frame(now, &f, &mut out);
                    emitted(&mut out, false, &mut flight, &mut history);
                } else {
                    c.handle_frame(now, &f, &mut out);
                    emitted(&mut out, true, &mut flight, &mut history);
                }
            }
            4 => {
                for (to_server, f) in std::mem::take(&mut flight) {
                    if to_server {
                        s.handle_frame(now, &f, &mut out);
                        emitted(&mut out, false, &mut flight, &mut history);
                    } else {
                        c.handle_frame(now, &f, &mut out);
                        emitted(&mut out, true, &mut flight, &mut history);
                    }
                }
            }
            5 => {
                let Some(h) = take(2, &mut rest) else { break };
                if history.is_empty() {
                    continue;
                }
                let mut f = history[h[0] as usize % history.len()].clone();
                for _ in 0..h[1] % 8 {
                    let Some(p) = take(2, &mut rest) else { break };
                    if !f.is_empty() {
                        let i = p[0] as usize % f.len();
                        f[i] = p[1];
                    }
                }
                fix_checksums(&mut f);
                let Some(dir) = take(1, &mut rest) else { break };
                if dir[0] % 2 == 0 {
                    s.handle_frame(now, &f, &mut out);
                    emitted(&mut out, false, &mut flight, &mut history);
                } else {
                    c.handle_frame(now, &f, &mut out);
                    emitted(&mut out, true, &mut flight, &mut history);
                }
            }
            6 => flight.clear(),
            _ => {
                for (to_server, f) in std::mem::take(&mut flight).into_iter().rev() {
                    if to_server {
                        s.handle_frame(now, &f, &mut out);
                        emitted(&mut out, false, &mut flight, &mut history);
                    } else {
                        c.handle_frame(now, &f, &mut out);
                        emitted(&mut out, true, &mut flight, &mut history);
                    }
                }
            }
        }
        check(&c, &s);
    }
    c.abort_all(now, &mut out);
    s.abort_all(now, &mut out);
    check(&c, &s);
    assert_eq!((c.tcbs(), s.tcbs()), (0, 0));
    let st = c.stats();
    assert_eq!(st.attempted, st.total_outcomes() + st.aborted);
});
