//! Interval deltas and name/value export of the engine's `Stats` (read-only view: the
//! engine defines the counters, the report layer only subtracts and names them).

use crate::tcp::{DropReason, Latency, Outcome, Stats};

macro_rules! scalar_fields {
    ($m:ident) => {
        $m!(
            attempted,
            established,
            accepted,
            syn_received,
            syn_retransmits,
            synack_retransmits,
            data_retransmits,
            cookies_sent,
            cookies_accepted,
            cookies_rejected,
            challenge_acks,
            rsts_sent,
            rx_frames,
            rx_processed,
            tx_frames,
            tx_full,
            active,
            half_open,
            time_wait,
            aborted,
            accept_failed,
            open_no_tuple,
            open_table_full,
            bytes_in,
            bytes_out,
            responses_ok
        )
    };
}

/// `a - b` counter by counter (gauges become differences too; read gauges from totals).
pub fn minus(a: &Stats, b: &Stats) -> Stats {
    let mut d = *a;
    macro_rules! sub {
        ($($f:ident),*) => { $( d.$f = a.$f.wrapping_sub(b.$f); )* };
    }
    scalar_fields!(sub);
    for (i, x) in d.outcomes.iter_mut().enumerate() {
        *x = a.outcomes[i].wrapping_sub(b.outcomes[i]);
    }
    for (i, x) in d.handshake_failed.iter_mut().enumerate() {
        *x = a.handshake_failed[i].wrapping_sub(b.handshake_failed[i]);
    }
    for (i, x) in d.drops.iter_mut().enumerate() {
        *x = a.drops[i].wrapping_sub(b.drops[i]);
    }
    d
}

/// Every counter by name: scalars, then `outcome_<name>`, then `drop_<reason>`.
pub fn fields(s: &Stats) -> Vec<(String, u64)> {
    let mut v = Vec::new();
    macro_rules! push {
        ($($f:ident),*) => { $( v.push((stringify!($f).to_string(), s.$f)); )* };
    }
    scalar_fields!(push);
    v.extend(
        Outcome::ALL
            .iter()
            .map(|o| (format!("outcome_{}", o.as_str()), s.outcomes[*o as usize])),
    );
    v.extend(Outcome::ALL.iter().map(|o| {
        (
            format!("handshake_failed_{}", o.as_str()),
            s.handshake_failed[*o as usize],
        )
    }));
    v.extend(
        DropReason::ALL
            .iter()
            .map(|r| (format!("drop_{}", r.as_str()), s.drops[*r as usize])),
    );
    v
}

/// Attempts that ended before ESTABLISHED, by outcome (index `Outcome as usize`).
pub fn handshake_failed(s: &Stats) -> [u64; 5] {
    s.handshake_failed
}

/// Adds `b`'s histograms into `a` (same ranges: never fails; a sample out of range is clamped).
pub fn merge_latency(a: &mut Latency, b: &Latency) {
    for (x, y) in [
        (&mut a.connect, &b.connect),
        (&mut a.rtt, &b.rtt),
        (&mut a.accept, &b.accept),
    ] {
        let _ = x.add(y);
    }
}
