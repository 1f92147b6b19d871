//! RFC 5961 (RST and SYN on synchronized connections) and RFC 9293 segment acceptability.

use super::syn_received::{IRS, accepted};
use super::*;
use crate::tcp::{DropReason, Outcome};

/// A server connection in ESTABLISHED; returns (ISS, our TSval).
fn est() -> (H, SeqNum, u32) {
    let mut h = H::server();
    let iss = accepted(&mut h);
    let ts = h.ts();
    (h, iss, ts)
}

fn ack(iss: SeqNum, ts: u32) -> TcpRepr<'static> {
    TcpRepr {
        seq: iss.add(1),
        ack: IRS.add(1),
        flags: TcpFlags(ACK),
        options: ts_opts(ts, 778),
        ..SEG
    }
}

#[test]
fn syn_on_established_gets_challenge_ack() {
    let (mut h, iss, ts) = est();
    // New SYN on the same tuple, any sequence number.
    send!(
        h,
        TcpRepr {
            seq: SeqNum(123_456),
            ..super::syn_received::CSYN
        }
    );
    recv!(h, ack(iss, ts));
    assert_eq!(h.drops(DropReason::Challenged), 1);
    assert_eq!(h.e.stats().challenge_acks, 1);
    assert_eq!(h.state(), Some("ESTABLISHED"));
}

#[test]
fn rst_exact_resets() {
    let (mut h, _, _) = est();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.e.stats().outcome(Outcome::Reset), 1);
    assert_eq!(h.state(), None);
}

#[test]
fn rst_in_window_gets_challenge_ack() {
    let (mut h, iss, ts) = est();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(100),
            flags: TcpFlags(RST | ACK),
            ack: iss.add(1),
            ..SEG
        }
    );
    recv!(h, ack(iss, ts));
    assert_eq!(h.drops(DropReason::Challenged), 1);
    assert_eq!(h.state(), Some("ESTABLISHED"));
}

#[test]
fn rst_out_of_window_is_dropped() {
    let (mut h, _, _) = est();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(70_000),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            seq: IRS,
            flags: TcpFlags(RST),
            ..SEG
        }
    ); // one before RCV.NXT
    recv!(h);
    assert_eq!(h.drops(DropReason::RstInvalid), 2);
    assert_eq!(h.state(), Some("ESTABLISHED"));
}

#[test]
fn out_of_window_segment_gets_ack() {
    let (mut h, iss, ts) = est();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(100_000),
            ack: iss.add(1),
            flags: TcpFlags(ACK),
            payload: b"zz",
            ..SEG
        }
    );
    recv!(h, ack(iss, ts));
    assert_eq!(h.drops(DropReason::OutOfWindow), 1);
    // Out of order (in window, not at RCV.NXT): ACK, not reassembled.
    send!(
        h,
        TcpRepr {
            seq: IRS.add(10),
            ack: iss.add(1),
            flags: TcpFlags(ACK),
            payload: b"zz",
            ..SEG
        }
    );
    recv!(h, ack(iss, ts));
    assert_eq!(h.drops(DropReason::OutOfOrder), 1);
}

#[test]
fn ack_of_unsent_data_gets_ack() {
    let (mut h, iss, ts) = est();
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(50),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(h, ack(iss, ts));
    assert_eq!(h.drops(DropReason::AckNotAcceptable), 1);
}

#[test]
fn client_ack_to_nothing_gets_rst_and_foreign_ports_are_not_ours() {
    let mut h = H::client();
    // A late SYN-ACK for a tuple of ours without a connection.
    send!(
        h,
        TcpRepr {
            seq: IRS,
            ack: SeqNum(42),
            flags: TcpFlags(SYN | ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: SeqNum(42),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    assert_eq!(h.drops(DropReason::NoConnection), 1);
    // A bare SYN to nothing: RST+ACK acking it.
    send!(
        h,
        TcpRepr {
            seq: IRS,
            flags: TcpFlags(SYN),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            ack: IRS.add(1),
            flags: TcpFlags(RST | ACK),
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            dst_port: 1234,
            seq: IRS,
            ack: SeqNum(42),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.drops(DropReason::NotOurs), 1);
}

#[test]
fn client_retransmitted_synack_gets_dup_ack() {
    let mut h = H::new(tweak(base_cfg(Role::Client), |c| {
        c.common.close = CloseMode::None;
    }));
    h.open();
    let iss = h.iss(h.now);
    h.tx.frames.clear();
    let synack = TcpRepr {
        seq: IRS,
        ack: iss.add(1),
        flags: TcpFlags(SYN | ACK),
        ..SEG
    };
    send!(h, synack);
    let a = TcpRepr {
        seq: iss.add(1),
        ack: IRS.add(1),
        flags: TcpFlags(ACK),
        ..SEG
    };
    recv!(h, a);
    send!(h, synack);
    recv!(h, a);
    assert_eq!(h.drops(DropReason::Challenged), 1);
}
