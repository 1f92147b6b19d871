//! Helpers over the engine's latency histograms for the report layer.

use crate::tcp::Latency;

/// Adds `b`'s histograms into `a` (same ranges: never fails; a sample out of range is clamped).
pub fn merge_latency(a: &mut Latency, b: &Latency) {
    for (x, y) in [
        (&mut a.connect, &b.connect),
        (&mut a.rtt, &b.rtt),
        (&mut a.accept, &b.accept),
        (&mut a.accept_rtt, &b.accept_rtt),
        (&mut a.tx_delay, &b.tx_delay),
        (&mut a.ttfb, &b.ttfb),
        (&mut a.ttfb_sent, &b.ttfb_sent),
        (&mut a.response, &b.response),
        (&mut a.response_sent, &b.response_sent),
    ] {
        let _ = x.add(y);
    }
}
