//! What limited a run: every resource that ran out, with the counter that says so, the
//! binding one first. The text summary, the JSON summary and `--assert` read this one list.
//!
//! Order (the first hit binds): frames lost in rings come first because each one costs a
//! retransmission and so feeds the overload (XDP RX-ring overflow, TX ring, UMEM); then the
//! hard limits that refuse opens (tuples, table); then the worker CPU (late starts with a busy
//! loop, or opens held back behind an RX backlog); then opens held for TX room; then the
//! target (SYN retransmissions and failures with the generator fine).

use crate::tcp::{DropReason, Role};

use super::summary::Summary;

#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// Stable name: xdp_rx_ring, tx_ring, umem, tuple_space, connection_table, cpu, tx_room,
    /// target.
    pub resource: &'static str,
    /// Where the evidence is, as `counters.<group>.<name>` in the JSON (or a top-level key).
    pub counter: &'static str,
    pub value: u64,
    /// One sentence for people.
    pub detail: String,
}

/// Late starts above this fraction of attempts are a generator limit, below it scheduler noise.
const LATE_FRACTION: f64 = 0.01;
/// Worker busy above this fraction of its loop time is CPU-bound.
const BUSY: f64 = 0.9;
/// SYN retransmissions above this fraction of attempts make the target the limit.
const RETX_FRACTION: f64 = 0.001;

pub fn diagnose(s: &Summary) -> Vec<Limit> {
    let t = &s.totals;
    let st = &t.stats;
    let lp = &t.lp;
    let attempts = st.attempted.max(1) as f64;
    let mut v = Vec::new();
    let mut hit = |resource, counter, value: u64, detail: String| {
        if value > 0 {
            v.push(Limit {
                resource,
                counter,
                value,
                detail,
            });
        }
    };
    hit(
        "xdp_rx_ring",
        "xdp.rx_ring_full",
        t.xdp.rx_ring_full,
        format!(
            "XDP RX-ring overflow: the kernel dropped {} frames before the socket \
             (XDP_STATISTICS rx_ring_full) because the worker did not drain RX in time",
            t.xdp.rx_ring_full
        ),
    );
    hit(
        "tx_ring",
        "xsk.tx_ring_full",
        t.xsk.tx_ring_full,
        format!(
            "TX ring full: {} frames dropped after a kick (the kernel/NIC sends slower than we queue)",
            t.xsk.tx_ring_full
        ),
    );
    hit(
        "umem",
        "xsk.no_free_frame",
        t.xsk.no_free_frame,
        format!(
            "UMEM exhausted: {} frames not sent for lack of a free frame (raise --frames)",
            t.xsk.no_free_frame
        ),
    );
    let tuples = s
        .config
        .iter()
        .find(|(k, _)| k == "tuple_space")
        .map_or("?".to_string(), |(_, v)| v.clone());
    hit(
        "tuple_space",
        "engine.open_no_tuple",
        st.open_no_tuple,
        format!(
            "tuple exhaustion: {} opens refused because all {tuples} tuples were in use or in \
             TIME-WAIT (add -s addresses, widen --sport, shorten --time-wait)",
            st.open_no_tuple
        ),
    );
    if st.open_no_tuple == 0 && lp.late_starts as f64 > attempts * LATE_FRACTION {
        hit(
            "tuple_space",
            "worker.open_held_tuples",
            lp.open_held_tuples,
            format!(
                "tuple pressure: opens held {} times because over half the {tuples} tuples \
                 were held (SYNs waiting for retransmission, TIME-WAIT) and opens outpaced completions",
                lp.open_held_tuples
            ),
        );
    }
    let (counter, table_full) = match s.role {
        Role::Client => ("engine.open_table_full", st.open_table_full),
        // --abort-on-overflow answers with RST what would otherwise be dropped.
        Role::Server if st.refused_table_full > 0 => {
            ("engine.refused_table_full", st.refused_table_full)
        }
        Role::Server => (
            "engine.drop_table_full",
            st.drops[DropReason::TableFull as usize],
        ),
    };
    hit(
        "connection_table",
        counter,
        table_full,
        format!("connection table full {table_full} times (raise --capacity)"),
    );
    let late = lp.late_starts as f64 > attempts * LATE_FRACTION;
    let busy = s.busy() >= BUSY;
    if busy && (late || lp.open_held_rx > 0) {
        let (counter, value) = if late {
            ("worker.late_starts", lp.late_starts)
        } else {
            ("worker.open_held_rx", lp.open_held_rx)
        };
        hit(
            "cpu",
            counter,
            value,
            format!(
                "worker CPU: {:.0}% busy, {} late starts, opens held {} times behind an RX \
                 backlog (add workers/cores, or lower the rate)",
                s.busy() * 100.0,
                lp.late_starts,
                lp.open_held_rx
            ),
        );
    }
    if late {
        hit(
            "tx_room",
            "worker.open_held_tx",
            lp.open_held_tx,
            format!(
                "opens held {} times for TX room (UMEM frames / TX ring slots; raise --frames)",
                lp.open_held_tx
            ),
        );
    }
    if s.role == Role::Client {
        let retx = st.syn_retransmits as f64 > attempts * RETX_FRACTION;
        let failed = s.failed();
        let (counter, value) = if retx {
            ("syn_retransmits", st.syn_retransmits)
        } else {
            ("failed_total", failed)
        };
        if retx || failed > 0 {
            let reasons = s.failures_text(|n| n.to_string());
            hit(
                "target",
                counter,
                value,
                format!(
                    "the target: {} SYN retransmissions ({:.2}% of attempts), failures: {}",
                    st.syn_retransmits,
                    st.syn_retransmits as f64 / attempts * 100.0,
                    if reasons.is_empty() {
                        "none".to_string()
                    } else {
                        reasons
                    }
                ),
            );
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Collector, Totals};

    fn summary(t: Totals, role: Role) -> Summary {
        let c = Collector::new(1, std::time::Duration::ZERO);
        let mut s = Summary::build(role, &c, 1000.0, 0.0, vec![]);
        s.totals = t;
        s
    }

    #[test]
    fn names_the_binding_resource_first() {
        let mut t = Totals::default();
        t.stats.attempted = 1000;
        assert!(diagnose(&summary(t, Role::Client)).is_empty());
        t.stats.open_no_tuple = 50;
        t.stats.syn_retransmits = 30;
        let d = diagnose(&summary(t, Role::Client));
        assert_eq!(d[0].resource, "tuple_space");
        assert_eq!(d[1].resource, "target");
        t.xdp.rx_ring_full = 7;
        let d = diagnose(&summary(t, Role::Client));
        assert_eq!((d[0].resource, d[0].value), ("xdp_rx_ring", 7));
        t.lp.late_starts = 500;
        t.lp.open_held_rx = 9;
        t.lp.busy_ns = 99;
        t.lp.loop_ns = 100;
        let names: Vec<_> = diagnose(&summary(t, Role::Client))
            .iter()
            .map(|l| l.resource)
            .collect();
        assert_eq!(names, ["xdp_rx_ring", "tuple_space", "cpu", "target"]);
    }

    #[test]
    fn failures_after_the_handshake_count() {
        let mut t = Totals::default();
        t.stats.attempted = 10;
        t.stats.established = 10;
        t.stats.outcomes[crate::tcp::Outcome::Reset as usize] = 2;
        let s = summary(t, Role::Client);
        assert_eq!(
            (s.failed(), s.failed_after_handshake(), s.active()),
            (2, 2, 0)
        );
        assert_eq!(diagnose(&s)[0].resource, "target");
        let mut t = Totals::default();
        t.stats.accept_failed = 3;
        t.stats.outcomes[crate::tcp::Outcome::Reset as usize] = 5; // clients closing with RST
        t.stats.drops[DropReason::TableFull as usize] = 4;
        let s = summary(t, Role::Server);
        assert_eq!(s.failed(), 3);
        assert_eq!(
            s.failed(),
            super::super::summary::failed_count(Role::Server, &t.stats)
        );
        assert_eq!(diagnose(&s)[0].resource, "connection_table");
    }
}
