//! Client: CLOSED -> SYN-SENT -> ESTABLISHED, and every SYN-SENT exit.

use super::*;
use crate::tcp::{DropReason, Outcome};

/// Opens one connection and checks the exact SYN; returns our ISS.
fn opened(h: &mut H) -> SeqNum {
    h.open();
    let iss = h.iss(h.now);
    recv!(
        h,
        TcpRepr {
            seq: iss,
            flags: TcpFlags(SYN),
            options: syn_opts(h.ts()),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("SYN-SENT"));
    iss
}

const IRS: SeqNum = SeqNum(0xffff_fff0); // wraps during the connection

fn synack(iss: SeqNum, tsecr: u32) -> TcpRepr<'static> {
    TcpRepr {
        seq: IRS,
        ack: iss.add(1),
        flags: TcpFlags(SYN | ACK),
        options: TcpOptions {
            mss: Some(1400),
            wscale: Some(9),
            sack_permitted: true,
            timestamps: Some((700, tsecr)),
        },
        ..SEG
    }
}

#[test]
fn synack_establishes_then_rst_close() {
    let mut h = H::client();
    let iss = opened(&mut h);
    h.now += 3 * MS;
    send!(h, synack(iss, ts_now(T0)));
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(ACK),
            options: ts_opts(h.ts(), 700),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    recv!(h);
    let s = *h.e.stats();
    assert_eq!(
        (
            s.attempted,
            s.established,
            s.outcome(Outcome::Closed),
            s.active
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(h.e.tcbs(), 0);
    let lat = h.latency();
    assert_eq!((lat.connect.len(), lat.rtt.len()), (1, 1));
    assert!(lat.rtt.equivalent(lat.rtt.max(), 3 * MS));
}

#[test]
fn synack_without_options_gives_plain_ack() {
    let mut h = H::new(tweak(base_cfg(Role::Client), |c| {
        c.common.close = CloseMode::None;
    }));
    let iss = opened(&mut h);
    send!(
        h,
        TcpRepr {
            options: NO_OPTS,
            ..synack(iss, 0)
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.state(), Some("ESTABLISHED"));
}

#[test]
fn unacceptable_ack_gets_rst_from_seg_ack() {
    let mut h = H::client();
    let iss = opened(&mut h);
    send!(
        h,
        TcpRepr {
            ack: iss.add(5),
            ..synack(iss, 0)
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(5),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    assert_eq!(h.drops(DropReason::AckNotAcceptable), 1);
    // Same with RST set: dropped silently.
    send!(
        h,
        TcpRepr {
            ack: iss,
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::AckNotAcceptable), 2);
    assert_eq!(h.state(), Some("SYN-SENT"));
}

#[test]
fn rst_with_acceptable_ack_is_refused() {
    let mut h = H::client();
    let iss = opened(&mut h);
    send!(
        h,
        TcpRepr {
            ack: iss.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.e.stats().outcome(Outcome::Refused), 1);
    assert_eq!(h.state(), None);
}

#[test]
fn rst_without_ack_is_ignored() {
    let mut h = H::client();
    opened(&mut h);
    send!(
        h,
        TcpRepr {
            seq: SeqNum(1),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::RstInvalid), 1);
    assert_eq!(h.state(), Some("SYN-SENT"));
}

#[test]
fn pure_ack_or_bare_syn_is_unexpected() {
    let mut h = H::client();
    let iss = opened(&mut h);
    send!(
        h,
        TcpRepr {
            ack: iss.add(1),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            seq: IRS,
            flags: TcpFlags(SYN),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::UnexpectedState), 2);
}

#[test]
fn syn_retransmits_with_backoff_then_times_out() {
    let mut h = H::client();
    let iss = opened(&mut h);
    let tick = 2 * MS; // timers fire at most one wheel tick (~1 ms) late
    h.advance_to(T0 + 10 * MS - 1);
    recv!(h);
    h.advance_to(T0 + 10 * MS + tick);
    recv!(
        h,
        TcpRepr {
            seq: iss,
            flags: TcpFlags(SYN),
            options: syn_opts(h.ts()),
            ..SEG
        }
    );
    h.advance_to(T0 + 30 * MS - tick);
    recv!(h);
    h.advance_to(T0 + 30 * MS + 2 * tick);
    recv!(
        h,
        TcpRepr {
            seq: iss,
            flags: TcpFlags(SYN),
            options: syn_opts(h.ts()),
            ..SEG
        }
    );
    h.advance_to(T0 + 70 * MS + 3 * tick);
    recv!(h);
    let s = h.e.stats();
    assert_eq!(
        (s.syn_retransmits, s.outcome(Outcome::Timeout), s.active),
        (2, 1, 0)
    );
}

#[test]
fn request_piggybacked_response_checked() {
    let cfg = tweak(base_cfg(Role::Client), |c| {
        c.client_mut().request = b"GET /".to_vec();
        c.client_mut().expect = b"HTTP/1.1 200".to_vec();
    });
    let mut h = H::new(cfg.clone());
    let iss = opened(&mut h);
    send!(h, synack(iss, h.ts()));
    let ts = h.ts();
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(ACK | PSH),
            options: ts_opts(ts, 700),
            payload: b"GET /",
            ..SEG
        }
    );
    // The response arrives in two pieces; the first only partly covers `expect`.
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(6),
            flags: TcpFlags(ACK | PSH),
            options: ts_opts(701, ts),
            payload: b"HTTP/1",
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(6),
            ack: IRS.add(7),
            flags: TcpFlags(ACK),
            options: ts_opts(ts, 701),
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            seq: IRS.add(7),
            ack: iss.add(6),
            flags: TcpFlags(ACK | PSH),
            options: ts_opts(702, ts),
            payload: b".1 200 OK",
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(6),
            ack: IRS.add(16),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    let s = *h.e.stats();
    assert_eq!(
        (
            s.responses_ok,
            s.outcome(Outcome::Closed),
            s.bytes_in,
            s.bytes_out
        ),
        (1, 1, 15, 5)
    );

    // A wrong response is a bad response.
    let mut h = H::new(cfg);
    let iss = opened(&mut h);
    send!(h, synack(iss, h.ts()));
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(ACK | PSH),
            options: ts_opts(h.ts(), 700),
            payload: b"GET /",
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(6),
            flags: TcpFlags(ACK),
            options: ts_opts(701, 0),
            payload: b"HTTP/1.0",
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(6),
            ack: IRS.add(9),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    assert_eq!(h.e.stats().outcome(Outcome::BadResponse), 1);
}

#[test]
fn request_retransmitted_then_data_timeout() {
    let cfg = tweak(base_cfg(Role::Client), |c| {
        c.client_mut().request = b"ping".to_vec();
        c.common.data_timeout = 35 * MS;
    });
    let mut h = H::new(cfg);
    let iss = opened(&mut h);
    send!(
        h,
        TcpRepr {
            options: NO_OPTS,
            ..synack(iss, 0)
        }
    );
    let req = TcpRepr {
        seq: iss.add(1),
        ack: IRS.add(1),
        flags: TcpFlags(ACK | PSH),
        payload: b"ping",
        ..SEG
    };
    recv!(h, req);
    h.advance(12 * MS);
    recv!(h, req);
    h.advance(22 * MS);
    recv!(h, req);
    h.advance(5 * MS);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(5),
            ack: IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    let s = h.e.stats();
    assert_eq!(
        (s.data_retransmits, s.outcome(Outcome::ResponseTimeout)),
        (2, 1)
    );
}

#[test]
fn open_errors_no_tuple_and_not_client() {
    let cfg = tweak(base_cfg(Role::Client), |c| {
        c.client_mut().ports = (C_PORT..=C_PORT + 1).collect();
        c.common.close = CloseMode::None;
    });
    let mut h = H::new(cfg);
    assert_eq!(h.e.tuple_space(), 2);
    h.open();
    h.open();
    assert_eq!(
        h.e.open(h.now, h.now, &mut h.tx),
        Err(crate::tcp::OpenError::NoTuple)
    );
    assert_eq!(h.e.stats().open_no_tuple, 1);
    let mut s = H::server();
    assert_eq!(
        s.e.open(s.now, s.now, &mut s.tx),
        Err(crate::tcp::OpenError::NotClient)
    );
    let cfg = tweak(base_cfg(Role::Client), |c| {
        c.common.capacity = 1;
    });
    let mut h = H::new(cfg);
    h.open();
    assert_eq!(
        h.e.open(h.now, h.now, &mut h.tx),
        Err(crate::tcp::OpenError::TableFull)
    );
}

#[test]
fn connect_latency_includes_send_lag() {
    let mut h = H::client();
    let intended = h.now - 7 * MS;
    h.e.open(h.now, intended, &mut h.tx).unwrap();
    let iss = h.iss(h.now);
    h.tx.frames.clear();
    h.now += MS;
    send!(h, synack(iss, 0));
    let lat = h.latency();
    assert!(lat.connect.equivalent(lat.connect.max(), 8 * MS));
    assert!(lat.rtt.equivalent(lat.rtt.max(), MS));
    assert_eq!(h.latency().connect.len(), 0);
}

#[test]
fn tx_full_is_counted_and_recovered_by_retransmission() {
    let mut h = H::client();
    h.tx.full = true;
    h.open();
    assert_eq!(h.e.stats().tx_full, 1);
    h.tx.full = false;
    h.advance(12 * MS);
    recv!(
        h,
        TcpRepr {
            seq: h.iss(T0),
            flags: TcpFlags(SYN),
            options: syn_opts(h.ts()),
            ..SEG
        }
    );
}

#[test]
fn rtt_runs_from_departure_to_the_wire_rx_time() {
    // SYN built at t, its batch submitted at t + 40 us; the SYN-ACK reached the wire at
    // t + 1 ms but the worker read it only at t + 3 ms.
    let mut h = H::client();
    let t = h.now;
    let intended = t - 7 * MS;
    h.e.open(t, intended, &mut h.tx).unwrap();
    let iss = h.iss(t);
    h.tx.frames.clear();
    assert!(h.e.departing());
    h.e.departed(t + 40_000);
    assert!(!h.e.departing());
    h.now = t + 3 * MS;
    let f = h.frame_for(&synack(iss, 0));
    h.e.handle_frame_at(h.now, t + MS, &f, &mut h.tx);
    h.check();
    let lat = h.latency();
    assert!(
        lat.rtt.equivalent(lat.rtt.max(), MS - 40_000),
        "{}",
        lat.rtt.max()
    );
    assert!(lat.connect.equivalent(lat.connect.max(), 8 * MS));
    assert_eq!(lat.tx_delay.len(), 1);
    assert!(lat.tx_delay.equivalent(lat.tx_delay.max(), 40_000));
}

/// `xdp_isn` (the client half of `--offload xdp`): the SYN's TSval is the intended start in
/// µs and its ISN the keyed hash XDP recomputes from the SYN-ACK; a retransmission repeats
/// both; later TSvals (µs of `now`) never go below the SYN's (the peer's PAWS).
#[test]
fn xdp_isn_binds_the_intended_start() {
    use crate::tcp::offload::{client_isn_of, client_tsval};
    let cfg = tweak(base_cfg(Role::Client), |c| {
        if let RoleConfig::Client(cl) = &mut c.role {
            cl.xdp_isn = true;
        }
    });
    let mut h = H::new(cfg);
    let intended = T0 - 3 * MS; // the pacer ran 3 ms late
    let now = h.now;
    h.e.open(now, intended, &mut h.tx).expect("open");
    let ts = client_tsval(intended);
    let k = h.e.isn_key;
    let iss = SeqNum(client_isn_of((k.0, k.1), &h.key(), ts));
    let syn = TcpRepr {
        seq: iss,
        flags: TcpFlags(SYN),
        options: syn_opts(ts),
        ..SEG
    };
    recv!(h, syn);
    h.advance_to(T0 + 10 * MS + 2 * MS);
    recv!(h, syn); // the retransmission: same ISN, same TSval
    h.now += MS;
    send!(h, synack(iss, ts));
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(ACK),
            options: ts_opts(client_tsval(h.now), 700),
            ..SEG
        }
    );
    assert!(client_tsval(h.now) > ts);
    assert_eq!(h.e.stats().established, 1);
}

/// A client engine with `xdp_isn` and the ISS its first attempt will have.
fn xdp_client() -> (H, u32) {
    use crate::tcp::offload::{client_isn_of, client_tsval};
    let cfg = tweak(base_cfg(Role::Client), |c| {
        if let RoleConfig::Client(cl) = &mut c.role {
            cl.xdp_isn = true;
        }
    });
    let h = H::new(cfg);
    let k = h.e.isn_key;
    let iss = client_isn_of((k.0, k.1), &h.key(), client_tsval(h.now));
    (h, iss)
}

/// XDP answered the SYN-ACK (its mark on our port is ISS + 1): the SYN-SENT timer ends the
/// attempt established and closed, with no retransmission; a mark of another attempt does
/// not.
#[test]
fn xdp_mark_ends_syn_sent_established() {
    for (mark_ok, want) in [(true, (1, 1, 0, 0)), (false, (0, 0, 1, 1))] {
        let (mut h, iss) = xdp_client();
        let mark = if mark_ok { iss.wrapping_add(1) } else { iss };
        h.e.set_xdp_marks(Box::new(move |p| if p == C_PORT { mark } else { 0 }), false);
        h.open();
        h.tx.frames.clear();
        h.advance_to(T0 + 12 * MS);
        let s = *h.e.stats();
        assert_eq!(
            (
                s.established,
                s.outcome(Outcome::Closed),
                s.syn_retransmits,
                s.active
            ),
            want,
            "mark ok: {mark_ok}"
        );
        if mark_ok {
            recv!(h);
            assert_eq!(s.attempted, s.established, "one outcome");
        }
    }
}

/// The marks are looked for every loop, not only at the RTO: an attempt whose mark appears
/// ends at the next `handle_timeout` (its slot free long before the RTO). Past `BUSY` since
/// the last open the engine looks every `IDLE_POLL` instead (the worker may sleep), and a
/// slow mark still ends the attempt before its RTO; either way once.
#[test]
fn xdp_mark_is_polled_before_the_rto() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

    use crate::tcp::marks::{BUSY, IDLE_POLL};
    for late in [false, true] {
        let (mut h, iss) = xdp_client();
        let mark = Arc::new(AtomicU32::new(0));
        let m = mark.clone();
        h.e.set_xdp_marks(
            Box::new(move |p| if p == C_PORT { m.load(Relaxed) } else { 0 }),
            false,
        );
        h.open();
        h.tx.frames.clear();
        assert!(
            h.e.poll_timeout().is_some_and(|t| t <= h.now),
            "due at once while a mark is awaited"
        );
        h.advance(50_000);
        assert_eq!(h.e.stats().active, 1, "no mark yet");
        if late {
            // A slow mark (the RTO is 10 ms here): looked for every IDLE_POLL.
            h.advance(BUSY + 1);
            assert_eq!(h.e.poll_timeout(), Some(h.now + IDLE_POLL), "idle polling");
            mark.store(iss.wrapping_add(1), Relaxed);
            h.advance(IDLE_POLL);
        } else {
            mark.store(iss.wrapping_add(1), Relaxed);
            h.advance(1_000);
        }
        assert!(h.now < T0 + 10 * MS, "before the RTO");
        let s = *h.e.stats();
        assert_eq!(
            (
                s.established,
                s.outcome(Outcome::Closed),
                s.syn_retransmits,
                s.active
            ),
            (1, 1, 0, 0),
            "late: {late}"
        );
        h.advance_to(T0 + 100 * MS);
        assert_eq!(h.e.stats().outcome(Outcome::Closed), 1, "ended once");
        recv!(h);
    }
}
