//! SYN cookies: stateless SYN-ACK, validation of the final ACK, auto mode.

use super::syn_received::{CSYN, IRS};
use super::*;
use crate::tcp::DropReason;
use crate::tcp::cookie::PERIOD_SHIFT;

fn cookie_server(mode: CookieMode) -> H {
    H::new(tweak(base_cfg(Role::Server), |c| {
        c.server_mut().cookies = mode;
        c.server_mut().cookie_threshold = 1;
    }))
}

fn full_opts() -> CookieOpts {
    CookieOpts {
        mss: 1460,
        wscale: Some(7),
        sack_permitted: true,
        timestamps: true,
    }
}

/// SYN -> exact cookie SYN-ACK; returns the cookie.
fn cookie_synack(h: &mut H) -> SeqNum {
    send!(h, CSYN);
    let c = h.cookie(IRS, &full_opts());
    recv!(
        h,
        TcpRepr {
            seq: c,
            ack: IRS.add(1),
            flags: TcpFlags(SYN | ACK),
            options: TcpOptions {
                timestamps: Some((h.ts(), 777)),
                ..CSYN.options
            },
            ..SEG
        }
    );
    assert_eq!(h.state(), None);
    c
}

#[test]
fn cookie_roundtrip_establishes() {
    let mut h = cookie_server(CookieMode::Always);
    let c = cookie_synack(&mut h);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: c.add(1),
            flags: TcpFlags(ACK),
            options: ts_opts(778, h.ts()),
            ..SEG
        }
    );
    recv!(h);
    assert_eq!(h.state(), Some("ESTABLISHED"));
    let s = *h.e.stats();
    assert_eq!(
        (
            s.syn_received,
            s.cookies_sent,
            s.cookies_accepted,
            s.accepted
        ),
        (1, 1, 1, 1)
    );
    // The TCB remembers the negotiated options: a challenge ACK carries TS.
    send!(
        h,
        TcpRepr {
            seq: SeqNum(5),
            ..CSYN
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: c.add(1),
            ack: IRS.add(1),
            flags: TcpFlags(ACK),
            options: ts_opts(h.ts(), 778),
            ..SEG
        }
    );
}

#[test]
fn cookie_ack_with_request_gets_response() {
    let cfg = tweak(base_cfg(Role::Server), |c| {
        c.server_mut().cookies = CookieMode::Always;
        c.server_mut().response = b"pong".to_vec();
        c.common.syn_options = SynOptions {
            timestamps: false,
            ..SynOptions::default()
        };
    });
    let mut h = H::new(cfg);
    send!(
        h,
        TcpRepr {
            options: NO_OPTS,
            ..CSYN
        }
    );
    let c = h.cookie(
        IRS,
        &CookieOpts {
            mss: 536,
            ..CookieOpts::default()
        },
    );
    recv!(
        h,
        TcpRepr {
            seq: c,
            ack: IRS.add(1),
            flags: TcpFlags(SYN | ACK),
            options: TcpOptions {
                mss: Some(1460),
                ..NO_OPTS
            },
            ..SEG
        }
    );
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: c.add(1),
            flags: TcpFlags(ACK | PSH),
            payload: b"ping",
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: c.add(1),
            ack: IRS.add(5),
            flags: TcpFlags(ACK | PSH),
            payload: b"pong",
            ..SEG
        }
    );
}

#[test]
fn invalid_or_expired_cookie_is_rejected_with_rst() {
    let mut h = cookie_server(CookieMode::Always);
    let c = cookie_synack(&mut h);
    let ack = TcpRepr {
        seq: IRS.add(1),
        ack: c.add(2),
        flags: TcpFlags(ACK),
        ..SEG
    };
    send!(h, ack);
    recv!(
        h,
        TcpRepr {
            seq: c.add(2),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    // Valid during its counter period and the next one, not after.
    h.now += 2 << PERIOD_SHIFT;
    send!(
        h,
        TcpRepr {
            ack: c.add(1),
            ..ack
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: c.add(1),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    let s = *h.e.stats();
    assert_eq!((s.cookies_rejected, s.accepted), (2, 0));
    assert_eq!(h.drops(DropReason::CookieInvalid), 2);
}

#[test]
fn auto_mode_switches_above_threshold() {
    let mut h = cookie_server(CookieMode::Auto);
    for i in 0..3u16 {
        send!(
            h,
            TcpRepr {
                src_port: C_PORT + i,
                ..CSYN
            }
        );
    }
    h.tx.frames.clear();
    let s = *h.e.stats();
    // threshold 1: the first two SYNs get TCBs (half_open 0, then 1), the third a cookie.
    assert_eq!((s.syn_received, s.half_open, s.cookies_sent), (3, 2, 1));
}

#[test]
fn never_mode_answers_ack_with_rst() {
    let mut h = cookie_server(CookieMode::Never);
    let c = h.cookie(IRS, &full_opts());
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: c.add(1),
            flags: TcpFlags(ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: c.add(1),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    assert_eq!(h.drops(DropReason::NoConnection), 1);
}

/// A FIN to no connection (a peer's FIN retransmitted after our TIME-WAIT ended) is answered
/// with an RST and counted as `no_connection`, not as a rejected cookie.
#[test]
fn fin_to_nothing_is_no_connection_not_a_bad_cookie() {
    let mut h = cookie_server(CookieMode::Always);
    let c = cookie_synack(&mut h);
    send!(
        h,
        TcpRepr {
            seq: IRS.add(2),
            ack: c.add(3),
            flags: TcpFlags(FIN | ACK),
            ..SEG
        }
    );
    recv!(
        h,
        TcpRepr {
            seq: c.add(3),
            flags: TcpFlags(RST),
            ..SEG
        }
    );
    assert_eq!(h.drops(DropReason::NoConnection), 1);
    assert_eq!(h.drops(DropReason::CookieInvalid), 0);
    assert_eq!(h.e.stats().cookies_rejected, 0);
    h.check();
}
