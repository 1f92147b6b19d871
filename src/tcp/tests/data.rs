//! Data of any size (`data.rs`): segmenting within the peer's window and MSS, cumulative
//! ACKs, out-of-order drops, retransmission, response framing, keep-alive, and bad peers
//! (more than the window, data after FIN, a zero window forever, a response that never
//! ends), each ending in a named outcome or a counted drop.

use super::*;
use crate::tcp::{DropReason, Outcome, ResponseEnd};

const IRS: SeqNum = SeqNum(0x7fff_fff0);
const MSS: u16 = 1000;
/// The peer's SYN, announcing MSS.
const SYN_MSS: TcpRepr<'static> = TcpRepr {
    seq: IRS,
    flags: TcpFlags(SYN),
    options: TcpOptions {
        mss: Some(MSS),
        ..NO_OPTS
    },
    ..SEG
};

/// What we sent, parsed: (seq, ack, flags, payload length, window).
fn sent(h: &mut H) -> Vec<(SeqNum, SeqNum, u8, usize, u16)> {
    h.tx.frames
        .drain(..)
        .map(|f| {
            let t = TcpFrame::parse(&f, ChecksumMode::Verify)
                .expect("our frame parses")
                .tcp;
            (t.seq, t.ack, t.flags.0, t.payload.len(), t.window)
        })
        .collect()
}

/// A client with `request`, `end`, `requests`: opened and established by a SYN-ACK without
/// options but MSS (no timestamps, no scaling) and `window`. Returns our ISS.
fn client(request: &[u8], end: ResponseEnd, requests: u32, window: u16) -> (H, SeqNum) {
    let cfg = tweak(base_cfg(Role::Client), |c| {
        let cl = c.client_mut();
        cl.request = request.to_vec();
        cl.response_end = end;
        cl.requests = requests;
        cl.think = 50 * MS;
    });
    let mut h = H::new(cfg);
    h.open();
    let iss = h.iss(h.now);
    h.tx.frames.clear();
    send!(
        h,
        TcpRepr {
            seq: IRS,
            ack: iss.add(1),
            flags: TcpFlags(SYN | ACK),
            window,
            options: TcpOptions {
                mss: Some(MSS),
                ..NO_OPTS
            },
            ..SEG
        }
    );
    (h, iss)
}

/// The peer's data segment at response offset `off` (bytes after its SYN).
fn data<'a>(iss: SeqNum, off: u32, payload: &'a [u8], flags: u8) -> TcpRepr<'a> {
    TcpRepr {
        seq: IRS.add(1 + off),
        ack: iss.add(1 + 5),
        flags: TcpFlags(ACK | flags),
        payload,
        ..SEG
    }
}

#[test]
fn request_larger_than_a_segment_goes_in_mss_pieces_within_the_window() {
    let req = vec![b'q'; 2500];
    let (mut h, iss) = client(&req, ResponseEnd::Size(5), 1, 1800);
    // The window (1800) lets one full segment and 800 bytes out; the rest waits.
    let s = sent(&mut h);
    assert_eq!(
        s.iter().map(|x| (x.0, x.3)).collect::<Vec<_>>(),
        vec![(iss.add(1), 1000), (iss.add(1001), 800)]
    );
    // An ACK of the first segment opens room for the remaining 700.
    send!(
        h,
        TcpRepr {
            seq: IRS.add(1),
            ack: iss.add(1001),
            flags: TcpFlags(ACK),
            window: 1800,
            ..SEG
        }
    );
    let s = sent(&mut h);
    assert_eq!(
        s.iter().map(|x| (x.0, x.3)).collect::<Vec<_>>(),
        vec![(iss.add(1801), 700)]
    );
    assert_ne!(s[0].2 & PSH, 0, "the request's last segment is pushed");
    assert_eq!(h.e.stats().bytes_out, 2500);
}

#[test]
fn response_is_acked_every_second_segment_and_out_of_order_at_once() {
    let (mut h, iss) = client(b"GET /", ResponseEnd::Size(4000), 1, 0xffff);
    h.tx.frames.clear();
    let seg = vec![b'r'; MSS as usize];
    let mk = |off: u32| TcpRepr {
        ack: iss.add(6),
        ..data(iss, off, &seg, 0)
    };
    send!(h, mk(0));
    assert!(sent(&mut h).is_empty(), "one full segment: no ACK yet");
    send!(h, mk(1000));
    let s = sent(&mut h);
    assert_eq!(
        (s.len(), s[0].1),
        (1, IRS.add(2001)),
        "second full segment: ACK"
    );
    // A gap: the segment after it is dropped and answered at once by a duplicate ACK.
    send!(h, mk(3000));
    assert_eq!(h.drops(DropReason::OutOfOrder), 1);
    let s = sent(&mut h);
    assert_eq!((s.len(), s[0].1), (1, IRS.add(2001)));
    send!(h, mk(2000));
    send!(h, mk(3000));
    let st = h.e.stats();
    assert_eq!(
        (st.responses_ok, st.bytes_in, st.body_bytes),
        (1, 4000, 4000)
    );
    assert_eq!(st.outcome(Outcome::Closed), 1);
}

#[test]
fn more_than_the_window_is_trimmed_to_it() {
    let cfg = tweak(base_cfg(Role::Client), |c| {
        c.client_mut().request = b"GET /".to_vec();
        c.client_mut().response_end = ResponseEnd::Size(3000);
        c.common.rcv_window = 600;
        c.common.syn_options.wscale = None;
    });
    let mut h = H::new(cfg);
    h.open();
    let iss = h.iss(h.now);
    let synack = TcpRepr {
        seq: IRS,
        ack: iss.add(1),
        flags: TcpFlags(SYN | ACK),
        ..SEG
    };
    send!(h, synack);
    h.tx.frames.clear();
    let big = vec![b'x'; 1400];
    send!(
        h,
        TcpRepr {
            ack: iss.add(6),
            ..data(iss, 0, &big, PSH)
        }
    );
    let s = sent(&mut h);
    assert_eq!(
        h.e.stats().bytes_in,
        600,
        "only the window's worth is taken"
    );
    assert_eq!(
        (s[0].1, s[0].4),
        (IRS.add(601), 600),
        "ACK and window say so"
    );
}

#[test]
fn fin_before_the_response_is_closed_early_and_data_after_fin_is_dropped() {
    let (mut h, iss) = client(b"GET /", ResponseEnd::Size(10), 1, 0xffff);
    send!(
        h,
        TcpRepr {
            ack: iss.add(6),
            ..data(iss, 0, b"hello", PSH | FIN)
        }
    );
    assert_eq!(h.e.stats().outcome(Outcome::ClosedEarly), 1);

    // A server: request and FIN, then bytes beyond the FIN.
    let cfg = tweak(base_cfg(Role::Server), |c| {
        c.server_mut().response = vec![b'r'; 3000];
        c.common.close = CloseMode::None;
    });
    let mut s = H::new(cfg);
    send!(s, SYN_MSS);
    let siss = s.iss(s.now);
    let to_server = |off: u32, p: &'static [u8], fl: u8| TcpRepr {
        seq: IRS.add(1 + off),
        ack: siss.add(1),
        flags: TcpFlags(ACK | fl),
        payload: p,
        ..SEG
    };
    send!(s, to_server(0, b"ping", PSH | FIN));
    let out = sent(&mut s);
    // SYN-ACK, then the 3000-byte response in MSS pieces, then our FIN (with its ACK).
    assert_eq!(
        out.iter().skip(1).map(|x| x.3).collect::<Vec<_>>(),
        vec![1000, 1000, 1000, 0]
    );
    assert_eq!((out[4].2 & FIN, out[4].1), (FIN, IRS.add(6)));
    send!(s, to_server(5, b"more", PSH));
    assert_eq!(s.drops(DropReason::DataAfterFin), 1);
}

#[test]
fn zero_window_forever_and_a_response_that_never_ends_time_out() {
    // The peer's window stays 0: the request never leaves; response_timeout at the deadline.
    let (mut h, _) = client(b"GET /", ResponseEnd::Size(10), 1, 0);
    assert!(
        sent(&mut h).iter().all(|x| x.3 == 0),
        "nothing sent into a zero window"
    );
    h.advance(600 * MS);
    assert_eq!(h.e.stats().outcome(Outcome::ResponseTimeout), 1);
    assert_eq!(h.e.tcbs(), 0);

    // A response framed by FIN that keeps coming without one.
    let (mut h, iss) = client(b"GET /", ResponseEnd::Fin, 1, 0xffff);
    let chunk = [b'z'; 100];
    for i in 0..20u32 {
        h.advance(30 * MS);
        if h.e.tcbs() == 0 {
            break;
        }
        send!(
            h,
            TcpRepr {
                ack: iss.add(6),
                ..data(iss, i * 100, &chunk, PSH)
            }
        );
    }
    assert_eq!(h.e.stats().outcome(Outcome::ResponseTimeout), 1);
}

#[test]
fn keep_alive_requests_follow_each_response_after_think() {
    let (mut h, iss) = client(b"GET /", ResponseEnd::Size(5), 3, 0xffff);
    for k in 0..3u32 {
        // Request k sits at stream offset 5k.
        let s = sent(&mut h);
        assert!(
            s.iter().any(|x| x.0 == iss.add(1 + 5 * k) && x.3 == 5),
            "request {k}: {s:?}"
        );
        send!(
            h,
            TcpRepr {
                ack: iss.add(1 + 5 * (k + 1)),
                ..data(iss, 5 * k, b"hello", PSH)
            }
        );
        assert_eq!(h.e.stats().responses_ok, k as u64 + 1);
        let acks = sent(&mut h);
        if k < 2 {
            assert_eq!(acks.len(), 1, "one ACK, then think: {acks:?}");
        }
        h.advance(60 * MS);
    }
    let st = h.e.stats();
    assert_eq!((st.requests_sent, st.outcome(Outcome::Closed)), (3, 1));
    assert_eq!(h.latency().response.len(), 3);
}

#[test]
fn three_duplicate_acks_retransmit_the_first_unacked_segment() {
    let cfg = tweak(base_cfg(Role::Server), |c| {
        c.server_mut().response = vec![b'r'; 6000];
    });
    let mut s = H::new(cfg);
    send!(s, SYN_MSS);
    let iss = s.iss(s.now);
    let ack = |a: u32, p: &'static [u8]| TcpRepr {
        seq: IRS.add(if p.is_empty() { 5 } else { 1 }),
        ack: iss.add(a),
        flags: TcpFlags(ACK | if p.is_empty() { 0 } else { PSH }),
        payload: p,
        ..SEG
    };
    send!(s, ack(1, b"ping"));
    let out = sent(&mut s);
    assert_eq!(
        out.iter().filter(|x| x.3 == 1000).count(),
        6,
        "IW10 covers 6 segments"
    );
    send!(s, ack(1001, b""));
    sent(&mut s);
    for _ in 0..3 {
        send!(s, ack(1001, b""));
    }
    let out = sent(&mut s);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        (out[0].0, out[0].3),
        (iss.add(1001), 1000),
        "fast retransmit of the hole"
    );
    let st = s.e.stats();
    assert_eq!(
        (st.dup_acks, st.fast_retransmits, st.data_retransmits),
        (3, 1, 1)
    );
    // The RTO resends from SND.UNA as well.
    s.advance(20 * MS);
    let out = sent(&mut s);
    assert_eq!(out.first().map(|x| x.0), Some(iss.add(1001)));
}
