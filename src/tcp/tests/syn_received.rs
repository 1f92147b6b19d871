//! Server: LISTEN -> SYN-RECEIVED -> ESTABLISHED, SYN-ACK options, retransmission, limits.

use super::*;
use crate::tcp::DropReason;

pub const IRS: SeqNum = SeqNum(1000);

/// The client's SYN with full options and TSval 777.
pub const CSYN: TcpRepr<'static> = TcpRepr {
    seq: IRS,
    flags: TcpFlags(SYN),
    options: TcpOptions {
        mss: Some(1460),
        wscale: Some(7),
        sack_permitted: true,
        timestamps: Some((777, 0)),
    },
    ..SEG
};

/// SYN -> exact SYN-ACK; returns our ISS.
pub fn syn_received(h: &mut H) -> SeqNum {
    send!(h, CSYN);
    let iss = h.iss(h.now);
    recv!(
        h,
        TcpRepr {
            seq: iss,
            ack: IRS.add(1),
            flags: TcpFlags(SYN | ACK),
            options: TcpOptions {
                timestamps: Some((h.ts(), 777)),
                ..CSYN.options
            },
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("SYN-RECEIVED"));
    iss
}

/// ... then the final ACK; returns our ISS.
pub fn accepted(h: &mut H) -> SeqNum {
    let iss = syn_received(h);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1),
            flags: TcpFlags(ACK),
            options: ts_opts(778, h.ts()),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.state(), Some("ESTABLISHED"));
    iss
}

#[test]
fn syn_then_final_ack_accepts() {
    let mut h = H::server();
    h.now += 0;
    let _ = syn_received(&mut h);
    h.now += 2 * MS;
    let iss = h.iss(T0);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1),
            flags: TcpFlags(ACK),
            options: ts_opts(778, 0),
            ..SEG
        }
    );
    recv!(h);
    let s = *h.e.stats();
    assert_eq!(
        (s.syn_received, s.accepted, s.active, s.half_open),
        (1, 1, 1, 0)
    );
    let lat = h.latency();
    assert!(lat.accept.equivalent(lat.accept.max(), 2 * MS));
}

#[test]
fn synack_echoes_only_offered_options() {
    let mut h = H::server();
    send!(
        h,
        TcpRepr {
            options: TcpOptions {
                mss: Some(536),
                ..NO_OPTS
            },
            ..CSYN
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: h.iss(h.now),
            ack: IRS.add(1),
            flags: TcpFlags(SYN | ACK),
            options: TcpOptions {
                mss: Some(1460),
                ..NO_OPTS
            },
            ..SEG
        }
    );
    // Our options switched off: only MSS, even when offered everything.
    let cfg = tweak(base_cfg(Role::Server), |c| {
        c.common.syn_options = SynOptions {
            mss: Some(1400),
            wscale: None,
            sack_permitted: false,
            timestamps: false,
        };
    });
    let mut h = H::new(cfg);
    send!(h, CSYN);
    recv!(
        h,
        TcpRepr {
            seq: h.iss(h.now),
            ack: IRS.add(1),
            flags: TcpFlags(SYN | ACK),
            options: TcpOptions {
                mss: Some(1400),
                ..NO_OPTS
            },
            ..SEG
        }
    );
}

#[test]
fn duplicate_syn_retransmits_synack() {
    let mut h = H::server();
    let iss = syn_received(&mut h);
    h.now += MS;
    send!(h, CSYN);
    recv!(
        h,
        TcpRepr {
            seq: iss,
            ack: IRS.add(1),
            flags: TcpFlags(SYN | ACK),
            options: TcpOptions {
                timestamps: Some((h.ts() & !1, 777)), // even on a SYN-ACK
                ..CSYN.options
            },
            ..SEG
        }
    );
    assert_eq!(h.drops(DropReason::DuplicateSyn), 1);
    assert_eq!(h.e.stats().syn_received, 1);
}

#[test]
fn synack_retransmits_then_gives_up() {
    let mut h = H::server();
    let iss = syn_received(&mut h);
    let synack = |h: &H| TcpRepr {
        seq: iss,
        ack: IRS.add(1),
        flags: TcpFlags(SYN | ACK),
        options: TcpOptions {
            timestamps: Some((h.ts(), 777)),
            ..CSYN.options
        },
        ..SEG
    };
    h.advance(12 * MS);
    recv!(h, synack(&h));
    h.advance(22 * MS);
    recv!(h, synack(&h));
    h.advance(42 * MS);
    recv!(h);
    let s = *h.e.stats();
    assert_eq!(
        (s.synack_retransmits, s.accept_failed, s.active, s.half_open),
        (2, 1, 0, 0)
    );
    assert_eq!(h.e.tcbs(), 0);
}

/// Two clients on one segment: each SYN-ACK retransmission goes to the MAC of the client it
/// belongs to, not to whichever client sent last.
#[test]
fn retransmissions_go_to_their_own_peer() {
    // As `serve` runs: no fixed peer MAC.
    let mut h = H::new(tweak(base_cfg(Role::Server), |c| {
        c.common.peer_mac = MacAddr::ZERO;
    }));
    let (a, b) = (h.remote, (Ipv4Addr::new(10, 0, 0, 3), C_PORT));
    let b_mac = MacAddr([2, 0, 0, 0, 0, 3]);
    let syn = TcpRepr {
        src_port: C_PORT,
        ..CSYN
    };
    let fa = h.frame_from(&syn, C_MAC);
    h.remote = b;
    let fb = h.frame_from(&syn, b_mac);
    let now = h.now;
    h.e.handle_frame(now, &fa, &mut h.tx);
    h.e.handle_frame(now, &fb, &mut h.tx);
    h.check();
    // The answers, then one retransmission round: every frame to its own client's MAC.
    h.advance(12 * MS);
    let sent: Vec<_> = h.tx.frames.drain(..).collect();
    assert_eq!(sent.len(), 4);
    for f in &sent {
        let g = TcpFrame::parse(f, ChecksumMode::Verify).unwrap();
        let IpRepr::V4(ip) = g.ip else { panic!("IPv6") };
        let want = if ip.dst == a.0 { C_MAC } else { b_mac };
        assert_eq!(g.eth.dst, want, "frame to {}", ip.dst);
    }
    assert_eq!(h.e.stats().synack_retransmits, 2);
    assert_eq!(h.e.stats().tx_no_neighbour, 0);
}

#[test]
fn bad_final_ack_gets_rst() {
    let mut h = H::server();
    let iss = syn_received(&mut h);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(7),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(7),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    assert_eq!(h.drops(DropReason::AckNotAcceptable), 1);
    assert_eq!(h.state(), Some("SYN-RECEIVED"));
}

#[test]
fn rst_in_syn_received_fails_the_accept() {
    let mut h = H::server();
    syn_received(&mut h);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    recv!(h);
    let s = *h.e.stats();
    assert_eq!((s.accept_failed, s.active, s.half_open), (1, 0, 0));
}

#[test]
fn final_ack_with_request_gets_response_and_fin() {
    let cfg = tweak(base_cfg(Role::Server), |c| {
        c.server_mut().response = b"HTTP/1.1 200 OK".to_vec();
        c.server_mut().server_fin = true;
    });
    let mut h = H::new(cfg);
    let iss = syn_received(&mut h);
    let ts = h.ts();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1),
            flags: TcpFlags(ACK | PSH),
            options: ts_opts(778, ts),
            payload: b"ping!",
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(6),
            flags: TcpFlags(ACK | PSH | FIN),
            options: ts_opts(ts, 778),
            payload: b"HTTP/1.1 200 OK",
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("FIN-WAIT-1"));
    // Client acks everything and closes too.
    send!(
        h,
        TcpRepr {
            seq: IRS.add(6),
            ack: iss.add(17),
            flags: TcpFlags(ACK | FIN),
            options: ts_opts(779, ts),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(17),
            ack: IRS.add(7),
            flags: TcpFlags(ACK),
            options: ts_opts(ts, 779),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("TIME-WAIT"));
    let s = *h.e.stats();
    assert_eq!(
        (
            s.accepted,
            s.outcome(crate::tcp::Outcome::Closed),
            s.time_wait
        ),
        (1, 1, 1)
    );
}

#[test]
fn table_full_drops_syn() {
    let mut h = H::new(tweak(base_cfg(Role::Server), |c| {
        c.common.capacity = 1;
    }));
    syn_received(&mut h);
    send!(
        h,
        TcpRepr {
            src_port: C_PORT + 1,
            ..CSYN
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::TableFull), 1);
}

#[test]
fn table_full_with_abort_on_overflow_refuses_with_rst() {
    let mut h = H::new(tweak(base_cfg(Role::Server), |c| {
        c.common.capacity = 1;
        if let RoleConfig::Server(s) = &mut c.role {
            s.abort_on_overflow = true;
        }
    }));
    syn_received(&mut h);
    send!(
        h,
        TcpRepr {
            src_port: C_PORT + 1,
            ..CSYN
        }
    );
    // RFC 9293 3.10.7.1 for a SYN: <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>.
    recv!(
        h,
        TcpRepr {
            dst_port: C_PORT + 1,
            ack: IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    let s = *h.e.stats();
    assert_eq!(
        (h.drops(DropReason::TableFull), s.refused_table_full),
        (0, 1)
    );
    // Refused is no connection begun: the first one is still the only SYN received.
    assert_eq!(s.syn_received, 1);
}

#[test]
fn not_ours_and_no_connection() {
    let mut h = H::server();
    send!(
        h,
        TcpRepr {
            dst_port: 81,
            ..CSYN
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::NotOurs), 1);
    // ACK to nothing: RST <SEQ=SEG.ACK>.
    send!(
        h,
        TcpRepr {
            seq: IRS,
            ack: SeqNum(5555),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: SeqNum(5555),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    // FIN+ACK with data to nothing: the same.
    send!(
        h,
        TcpRepr {
            seq: IRS,
            ack: SeqNum(9),
            flags: TcpFlags(ACK | FIN),
            payload: b"x",
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: SeqNum(9),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    // RST to nothing: dropped silently.
    send!(
        h,
        TcpRepr {
            seq: IRS,
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::NoConnection), 3);
    // SYN-ACK to a server port: RST.
    send!(
        h,
        TcpRepr {
            seq: IRS,
            ack: SeqNum(77),
            flags: TcpFlags(SYN | ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: SeqNum(77),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
}

#[test]
fn bad_flags_and_bad_frames_are_counted() {
    let mut h = H::server();
    send!(
        h,
        TcpRepr {
            flags: TcpFlags(SYN | FIN),
            ..CSYN
        }
    );
    send!(
        h,
        TcpRepr {
            flags: TcpFlags(SYN | RST),
            ..CSYN
        }
    );
    send!(
        h,
        TcpRepr {
            flags: TcpFlags(PSH),
            ..CSYN
        }
    );
    send!(
        h,
        TcpRepr {
            flags: TcpFlags(FIN),
            ..CSYN
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::BadFlags), 4);
    let mut f = h.frame_for(&CSYN);
    let last = f.len() - 1;
    f[last] ^= 1; // corrupt the TCP options: checksum fails
    let now = h.now;
    h.e.handle_frame(now, &f, &mut h.tx);
    h.e.handle_frame(now, &f[..20], &mut h.tx);
    h.e.handle_frame(now, &[], &mut h.tx);
    recv!(h);
    assert_eq!(h.drops(DropReason::BadChecksum), 1);
    assert_eq!(h.drops(DropReason::Truncated), 2);
    h.check();
    assert_eq!(h.e.stats().rx_frames, 7);
}

#[test]
fn config_errors_are_clear() {
    let bad = |c: EngineConfig| Engine::new(c).err().unwrap_or_default();
    assert!(
        bad(tweak(base_cfg(Role::Server), |c| {
            c.server_mut().listen = vec![];
        }))
        .contains("listen")
    );
    assert!(
        bad(tweak(base_cfg(Role::Client), |c| {
            c.client_mut().sources = vec![];
        }))
        .contains("source")
    );
    assert!(
        bad(tweak(base_cfg(Role::Client), |c| {
            c.common.capacity = 0;
        }))
        .contains("capacity")
    );
    assert!(
        bad(tweak(base_cfg(Role::Client), |c| {
            c.common.rto_max = 1;
        }))
        .contains("rto_max")
    );
    assert!(
        bad(tweak(base_cfg(Role::Client), |c| c.client_mut().ports =
            Vec::new()))
        .contains("source ports")
    );
    assert!(
        bad(tweak(base_cfg(Role::Client), |c| {
            c.client_mut().request = vec![0; 5000];
            c.client_mut().requests = 0;
        }))
        .contains("requests")
    );
}

#[test]
fn accept_rtt_runs_from_the_synack_departure() {
    // SYN at the wire at T0, read then; SYN-ACK submitted 30 us later; the final ACK at the
    // wire 2 ms after T0, read by the worker at 5 ms.
    let mut h = H::server();
    let _ = syn_received(&mut h);
    h.e.departed(T0 + 30_000);
    let iss = h.iss(T0);
    h.now = T0 + 5 * MS;
    let ack = TcpRepr {
        seq: IRS.add(1),
        ack: iss.add(1),
        flags: TcpFlags(ACK),
        options: ts_opts(778, 0),
        ..SEG
    };
    let f = h.frame_for(&ack);
    h.e.handle_frame_at(h.now, T0 + 2 * MS, &f, &mut h.tx);
    h.check();
    let lat = h.latency();
    assert!(lat.accept.equivalent(lat.accept.max(), 2 * MS));
    let rtt = lat.accept_rtt.max();
    assert!(lat.accept_rtt.equivalent(rtt, 2 * MS - 30_000), "{rtt}");
    assert!(lat.tx_delay.equivalent(lat.tx_delay.max(), 30_000));
}
