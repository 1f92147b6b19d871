//! ESTABLISHED -> FIN-WAIT-1/2 -> TIME-WAIT, CLOSING, CLOSE-WAIT -> LAST-ACK, holds.

use super::*;
use crate::tcp::{DropReason, Outcome};

const IRS: SeqNum = SeqNum(0x7fff_fff0);

fn fin_cfg() -> EngineConfig {
    tweak(base_cfg(Role::Client), |c| {
        c.common.close = CloseMode::Fin;
        c.common.syn_options = SynOptions {
            timestamps: false,
            ..SynOptions::default()
        };
    })
}

fn fin_client() -> H {
    H::new(fin_cfg())
}

/// Opens and establishes a client connection without timestamps; returns ISS.
fn established(h: &mut H) -> SeqNum {
    h.open();
    h.tx.frames.clear();
    let iss = h.iss(h.now);
    send!(
        h,
        TcpRepr {
            seq: IRS,
            ack: iss.add(1),
            flags: TcpFlags(SYN | ACK),
            ..SEG
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
    iss
}

#[test]
fn fin_wait_1_2_time_wait() {
    let mut h = fin_client();
    let iss = established(&mut h);
    let fin = TcpRepr {
        seq: iss.add(1),
        ack: IRS.add(1),
        flags: TcpFlags(FIN | ACK),
        ..SEG
    };
    recv!(h, fin);
    assert_eq!(h.state(), Some("FIN-WAIT-1"));
    h.advance(12 * MS); // FIN retransmitted
    recv!(h, fin);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(2),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.state(), Some("FIN-WAIT-2"));
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(2),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    let ack = TcpRepr {
        seq: iss.add(2),
        ack: IRS.add(2),
        flags: TcpFlags(ACK),
        ..SEG
    };
    recv!(h, ack);
    assert_eq!(h.state(), Some("TIME-WAIT"));
    let s = *h.e.stats();
    assert_eq!(
        (
            s.outcome(Outcome::Closed),
            s.active,
            s.time_wait,
            s.data_retransmits
        ),
        (1, 0, 1, 1)
    );
    // A retransmitted FIN is acked again and restarts TIME-WAIT.
    h.advance(60 * MS);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(2),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    recv!(h, ack);
    // RST in TIME-WAIT is ignored (RFC 1337).
    send!(
        h,
        TcpRepr {
            seq: IRS.add(2),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::UnexpectedState), 1);
    h.advance(60 * MS);
    assert_eq!(h.state(), Some("TIME-WAIT"));
    h.advance(50 * MS);
    assert_eq!(h.state(), None);
    assert_eq!((h.e.stats().time_wait, h.e.tcbs()), (0, 0));
}

#[test]
fn time_wait_tuple_is_not_reused() {
    let mut h = H::new(tweak(fin_cfg(), |c| {
        c.client_mut().ports = (C_PORT..=C_PORT).collect();
    }));
    let iss = established(&mut h);
    h.tx.frames.clear();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(2),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("TIME-WAIT"));
    assert_eq!(
        h.e.open(h.now, h.now, &mut h.tx),
        Err(crate::tcp::OpenError::NoTuple)
    );
    h.advance(120 * MS);
    assert!(h.e.open(h.now, h.now, &mut h.tx).is_ok());
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut h = fin_client();
    let iss = established(&mut h);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    // Peer's FIN crosses ours (it does not ack our FIN).
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(2),
            ack: IRS.add(2),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("CLOSING"));
    send!(
        h,
        TcpRepr {
            seq: IRS.add(2),
            ack: iss.add(2),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.state(), Some("TIME-WAIT"));
}

#[test]
fn fin_wait_2_times_out_with_rst() {
    let mut h = fin_client();
    let iss = established(&mut h);
    h.tx.frames.clear();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(2),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("FIN-WAIT-2"));
    h.advance(499 * MS);
    recv!(h);
    h.advance(3 * MS);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(2),
            ack: IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    assert_eq!(h.e.stats().outcome(Outcome::Timeout), 1);
}

#[test]
fn hold_then_peer_fin_then_close_wait_last_ack() {
    let cfg = tweak(fin_cfg(), |c| {
        c.common.hold = 50 * MS;
    });
    let mut h = H::new(cfg);
    let iss = established(&mut h);
    recv!(h);
    // Server closes first: CLOSE-WAIT.
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(2),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("CLOSE-WAIT"));
    h.advance(52 * MS);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(2),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("LAST-ACK"));
    send!(
        h,
        TcpRepr {
            seq: IRS.add(2),
            ack: iss.add(2),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    assert_eq!(h.state(), None);
    let s = h.e.stats();
    assert_eq!((s.outcome(Outcome::Closed), s.time_wait), (1, 0));
}

#[test]
fn close_none_holds_until_abort() {
    let cfg = tweak(fin_cfg(), |c| {
        c.common.close = CloseMode::None;
    });
    let mut h = H::new(cfg);
    let iss = established(&mut h);
    h.advance(10_000 * MS);
    recv!(h);
    assert_eq!(h.e.active(), 1);
    assert_eq!(h.e.poll_timeout(), None);
    let now = h.now;
    h.e.abort_all(now, &mut h.tx);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    let s = *h.e.stats();
    assert_eq!((s.aborted, s.active, s.attempted), (1, 0, 1));
    h.check();
}

#[test]
fn server_close_wait_last_ack() {
    let mut h = H::server();
    let iss = super::syn_received::accepted(&mut h);
    let irs = super::syn_received::IRS;
    let ts = h.ts();
    send!(
        h,
        TcpRepr {
            seq: irs.add(1),
            ack: iss.add(1),
            flags: TcpFlags(FIN | ACK),
            options: ts_opts(779, ts),
            ..SEG
        }
    );
    // CLOSE-WAIT: nothing left to send, so our FIN goes at once with the ACK.
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: irs.add(2),
            flags: TcpFlags(FIN | ACK),
            // In LAST-ACK our TSval is odd (the XDP server's phase marker).
            options: ts_opts(ts | 1, 779),
            ..SEG
        }
    );
    assert_eq!(h.state(), Some("LAST-ACK"));
    h.advance(12 * MS);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: irs.add(2),
            flags: TcpFlags(FIN | ACK),
            options: ts_opts(h.ts() | 1, 779),
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            seq: irs.add(2),
            ack: iss.add(2),
            flags: TcpFlags(ACK),
            options: ts_opts(780, ts),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.state(), None);
    assert_eq!(h.e.stats().outcome(Outcome::Closed), 1);
}

#[test]
fn server_idle_timeout_resets() {
    let mut h = H::server();
    let iss = super::syn_received::accepted(&mut h);
    h.advance(502 * MS);
    recv!(
        h,
        TcpRepr {
            seq: iss.add(1),
            ack: super::syn_received::IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    assert_eq!(h.e.stats().outcome(Outcome::Timeout), 1);
}

/// Overload seen in a 150k cps run: the peer's ACK of our FIN (LAST-ACK) was lost, our FIN
/// was retransmitted after the peer's TIME-WAIT had ended, and the peer answered with an RST.
/// Everything had been exchanged: a clean close, not a reset.
#[test]
fn rst_answering_a_retransmitted_fin_in_last_ack_is_a_close() {
    let mut h = H::new(tweak(fin_cfg(), |c| {
        c.common.hold = 50 * MS;
    }));
    let iss = established(&mut h);
    recv!(h);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    h.advance(52 * MS);
    assert_eq!(h.state(), Some("LAST-ACK"));
    h.advance(12 * MS); // our FIN retransmitted, its ACK lost again
    h.tx.frames.clear();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(2),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    assert_eq!(h.state(), None);
    let s = h.e.stats();
    assert_eq!(
        (s.outcome(Outcome::Closed), s.outcome(Outcome::Reset)),
        (1, 0)
    );
    h.check();
}
