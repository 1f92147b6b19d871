//! Hostile input: random and mutated segments never panic and never break the accounting.

use super::*;

use crate::rng::SplitMix64 as Rng;

/// Two engines exchange frames; each delivery is mutated with some probability (fields of
/// the segment, not just bytes, so most mutants parse and reach the state machine).
fn run(client: EngineConfig, server: EngineConfig, seed: u64) {
    let mut c = H::new(client);
    let mut s = H::new(server);
    let mut r = Rng(seed);
    let payload = [b'x'; 64];
    for step in 0..60_000u64 {
        if step % 8 == 0 {
            let _ = c.e.open(c.now, c.now, &mut c.tx);
        }
        // Deliver one frame each way, maybe mutated.
        for to_server in [true, false] {
            let (from, to) = if to_server {
                (&mut c, &mut s)
            } else {
                (&mut s, &mut c)
            };
            let Some(f) = from.tx.frames.pop_front() else {
                continue;
            };
            let Ok(p) = TcpFrame::parse(&f, ChecksumMode::Verify) else {
                continue;
            };
            let mut seg = p.tcp;
            let x = r.next_u64();
            match x % 8 {
                0 => seg.flags = TcpFlags(r.next_u64() as u8),
                1 => {
                    seg.seq = seg
                        .seq
                        .add(((r.next_u64() % 200_000) as u32).wrapping_sub(100_000))
                }
                2 => seg.ack = seg.ack.add(((r.next_u64() % 200) as u32).wrapping_sub(100)),
                3 => seg.payload = &payload[..(r.next_u64() % 64) as usize],
                4 => seg.src_port = seg.src_port.wrapping_add((r.next_u64() % 3) as u16),
                _ => {}
            }
            let mut frame = to.frame_for(&seg);
            if x.is_multiple_of(97) {
                let at = (r.next_u64() as usize) % frame.len();
                frame[at] = r.next_u64() as u8;
            }
            let now = to.now;
            to.e.handle_frame(now, &frame, &mut to.tx);
            if x.is_multiple_of(5) {
                to.tx.frames.push_back(frame); // echo it back: reflected segments
            }
        }
        let dt = r.next_u64() % (3 * MS);
        c.advance(dt);
        s.advance(dt);
        c.check();
        s.check();
    }
    let (cn, sn) = (c.now, s.now);
    c.e.abort_all(cn, &mut c.tx);
    s.e.abort_all(sn, &mut s.tx);
    c.check();
    s.check();
    assert_eq!((c.e.tcbs(), s.e.tcbs()), (0, 0));
    assert!(c.e.stats().established > 0);
}

fn cfg(role: Role) -> EngineConfig {
    tweak(base_cfg(role), |c| {
        c.common.capacity = 256;
        if let RoleConfig::Client(cl) = &mut c.role {
            cl.ports = (C_PORT..=C_PORT + 3).collect();
        }
    })
}

#[test]
fn random_segments_rst_close() {
    run(cfg(Role::Client), cfg(Role::Server), 1);
}

#[test]
fn random_segments_http_fin_cookies() {
    let http = |role| {
        tweak(cfg(role), |c| {
            c.common.close = CloseMode::Fin;
            c.common.hold = 2 * MS;
            match &mut c.role {
                RoleConfig::Client(cl) => {
                    cl.request = b"GET".to_vec();
                    cl.expect = b"200".to_vec();
                }
                RoleConfig::Server(sv) => {
                    sv.response = b"200 OK".to_vec();
                    sv.server_fin = true;
                    sv.cookies = CookieMode::Auto;
                    sv.cookie_threshold = 1;
                }
            }
        })
    };
    run(http(Role::Client), http(Role::Server), 2);
}

#[test]
fn ipv6_and_owner_of() {
    use crate::tcp::owner_of;
    let mut h = H::server();
    let f = h.frame_for(&super::syn_received::CSYN);
    // The same segment over IPv6.
    let v6 = TcpFrame {
        eth: EthernetRepr {
            dst: S_MAC,
            src: C_MAC,
            vlan: None,
            ethertype: EtherType::IPV6,
        },
        ip: IpRepr::V6(crate::wire::Ipv6Repr {
            src: "fe80::1".parse().unwrap(),
            dst: "fe80::2".parse().unwrap(),
            next_header: PROTO_TCP,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }),
        tcp: TcpRepr {
            src_port: C_PORT,
            dst_port: S_PORT,
            ..super::syn_received::CSYN
        },
    };
    let mut b6 = vec![0u8; v6.buffer_len()];
    v6.emit(&mut b6).unwrap();
    let now = h.now;
    h.e.handle_frame(now, &b6, &mut h.tx);
    recv!(h);
    // An IPv4-only server: no IPv6 address is ours.
    assert_eq!(h.drops(crate::tcp::DropReason::NotOurs), 1);
    // Client: the destination (local) port picks the worker; server: the remote (source)
    // port, so a threeway client's worker w (ports % n == w, queue w) meets server worker w.
    assert_eq!(owner_of(Role::Client, &f, 4), Some(S_PORT as usize % 4));
    assert_eq!(owner_of(Role::Server, &f, 4), Some(C_PORT as usize % 4));
    assert_eq!(owner_of(Role::Server, &b6, 4), Some(C_PORT as usize % 4));
    assert_eq!(owner_of(Role::Server, &f[..30], 4), None);
    assert_eq!(owner_of(Role::Server, &f, 0), None);
}
