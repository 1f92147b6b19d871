//! Machine output: the `--json` summary and `--ndjson` interval records. Base units, the unit
//! in the key (`latency_ns`), monotonic totals plus interval deltas.

use serde_json::{Map, Value, json};

use crate::tcp::{DropReason, Role};

use super::summary::Summary;
use super::{Interval, Pcts, Totals};

fn pcts(p: &Pcts) -> Value {
    json!({"count": p.count, "p50": p.p50, "p75": p.p75, "p90": p.p90, "p99": p.p99,
           "p99_9": p.p99_9, "p99_99": p.p99_99, "max": p.max})
}

fn counters<K: Into<String>>(fields: Vec<(K, u64)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.into(), json!(v)))
            .collect(),
    )
}

fn drops(t: &Totals) -> Value {
    let m: Map<String, Value> = DropReason::ALL
        .iter()
        .filter(|r| t.stats.drops[**r as usize] > 0)
        .map(|r| (r.as_str().to_string(), json!(t.stats.drops[*r as usize])))
        .collect();
    Value::Object(m)
}

pub fn summary(s: &Summary) -> Value {
    let st = &s.totals.stats;
    let failed: Map<String, Value> = s
        .failed_by_reason()
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let config: Map<String, Value> = s
        .config
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let limits: Vec<Value> = s
        .limits()
        .iter()
        .map(|l| json!({"resource": l.resource, "counter": l.counter, "value": l.value, "detail": l.detail}))
        .collect();
    let t = &s.totals;
    let mut v = json!({
        "role": match s.role { Role::Client => "client", Role::Server => "server" },
        "version": env!("CARGO_PKG_VERSION"),
        "duration_s": s.duration_s,
        "wall_s": s.wall_s,
        "target_cps": s.target_cps,
        "cps": s.cps,
        "attempted": s.attempted(),
        "established": s.established(),
        "failed": failed,
        "failed_total": s.failed(),
        "failed_after_handshake": s.failed_after_handshake(),
        "ring_full": t.ring_full(),
        "ring_full_parts": {"xdp_rx_ring_full": t.xdp.rx_ring_full, "no_free_frame": t.xsk.no_free_frame, "tx_ring_full": t.xsk.tx_ring_full},
        "open_no_tuple": st.open_no_tuple,
        "late_starts": t.lp.late_starts,
        "diagnosis": {
            "binding": limits.first().map_or(json!("none"), |l| l["resource"].clone()),
            "limits": limits,
        },
        "active": s.active(),
        "closed": st.outcomes[crate::tcp::Outcome::Closed as usize],
        "syn_retransmits": st.syn_retransmits,
        "handshake_latency_ns": pcts(match s.role { Role::Client => &s.connect, Role::Server => &s.accept }),
        "rtt_ns": pcts(&s.rtt),
        "tx_delay_ns": pcts(&s.tx_delay),
        "drops": drops(&s.totals),
        "workers": s.workers,
        "cpu_s": s.cpu_s,
        "cpu_busy": s.busy(),
        "cpu_us_per_conn": s.cpu_us_per_conn(),
        "busy_us_per_conn": s.busy_us_per_conn(),
        "peak_rss_bytes": super::peak_rss_bytes(),
        "counters": {
            "engine": counters(st.fields()),
            "worker": counters(s.totals.lp.fields()),
            "xsk": counters(s.totals.xsk.fields()),
            "xdp": counters(s.totals.xdp.fields()),
            "steer": counters(s.steer.fields()),
        },
        "errors": s.errors,
        "config": config,
        "families": families(st),
    });
    for ((name, _, _), p) in super::TRANSACTION.iter().zip(&s.transaction) {
        v[format!("{name}_ns")] = pcts(p);
    }
    if let Some((x, e)) = &s.connect_split {
        // Client offload: which part XDP measured (TSecr) and which the engine.
        v["handshake_latency_xdp_ns"] = pcts(x);
        v["handshake_latency_engine_ns"] = pcts(e);
    }
    if let Some(w) = &s.connect_witness {
        // The same SYN-ACKs as the engine's figure, timed in XDP too.
        v["handshake_latency_engine_in_xdp_ns"] = pcts(w);
    }
    let pairs = |v: Vec<(&'static str, u64)>| -> Map<String, Value> {
        v.into_iter()
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect()
    };
    v["requests"] = json!({
        "sent": st.requests_sent,
        "ok": st.responses_ok,
        "failed": pairs(s.request_failures()),
        "http_status": pairs(s.http_classes()),
        "bytes_in": st.bytes_in,
        "bytes_out": st.bytes_out,
        "body_bytes": st.body_bytes,
    });
    if s.role == Role::Server {
        v["accepted"] = json!(st.accepted);
        v["closed_by_rst"] = json!(s.closed_by_rst());
        v["syn_received"] = json!(st.syn_received);
        v["refused_table_full"] = json!(st.refused_table_full);
        v["cookies_sent"] = json!(st.cookies_sent);
        v["cookies_accepted"] = json!(st.cookies_accepted);
        v["synack_retransmits"] = json!(st.synack_retransmits);
        v["accept_rtt_ns"] = json!(pcts(&s.accept_rtt));
    }
    v
}

/// Nonzero failure counts by outcome name (an interval's, for the report's plot).
fn failed_by_reason(role: Role, st: &crate::tcp::Stats) -> Value {
    let m: Map<String, Value> = super::summary::failed_reasons(role, st)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| (r.to_string(), json!(n)))
        .collect();
    Value::Object(m)
}

/// One NDJSON record: wall-clock epoch, elapsed, totals and deltas.
pub fn interval(role: Role, iv: &Interval, target_cps: f64) -> Value {
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let (t, d) = (&iv.totals.stats, &iv.delta.stats);
    let lat = match role {
        Role::Client => Pcts::of(&iv.latency.connect),
        Role::Server => Pcts::of(&iv.latency.accept),
    };
    let mut v = json!({
        "ts": epoch,
        "t": iv.t,
        "dt": iv.dt,
        "target_cps": target_cps,
        "cps": match role { Role::Client => d.established, Role::Server => d.accepted } as f64 / iv.dt.max(1e-9),
        "attempted": d.attempted,
        "established": d.established,
        "accepted": d.accepted,
        "failed": super::summary::failed_count(role, d),
        "failed_by_reason": failed_by_reason(role, d),
        "drops": drops(&iv.delta),
        "ring_full": iv.delta.ring_full(),
        "syn_retransmits": d.syn_retransmits,
        "active": t.active,
        "late_starts": iv.delta.lp.late_starts,
        "handshake_latency_ns": pcts(&lat),
        "tx_frames": d.tx_frames,
        "rx_frames": d.rx_frames,
        "cpu_busy": iv.delta.lp.busy_ns as f64 / iv.delta.lp.loop_ns.max(1) as f64,
        "totals": {
            "attempted": t.attempted,
            "established": t.established,
            "accepted": t.accepted,
            "failed": super::summary::failed_count(role, t),
            "tx_frames": t.tx_frames,
            "rx_frames": t.rx_frames,
        },
    });
    if t.requests_sent > 0 {
        v["requests"] = json!({"sent": d.requests_sent, "ok": d.responses_ok,
                               "bytes_in": d.bytes_in, "body_bytes": d.body_bytes});
        for (name, _, h) in super::TRANSACTION {
            v[format!("{name}_ns")] = pcts(&Pcts::of(h(&iv.latency)));
        }
    }
    v
}

/// Per-family figures (IPv4 is the total minus IPv6): `attempted`, `established`,
/// `accepted` and each outcome add up to the totals.
pub fn families(st: &crate::tcp::Stats) -> Value {
    use crate::tcp::Outcome;
    let fam = |attempted: u64, established: u64, accepted: u64, outcomes: [u64; Outcome::COUNT]| {
        let o: Map<String, Value> = Outcome::ALL
            .iter()
            .map(|x| (x.as_str().to_string(), json!(outcomes[*x as usize])))
            .collect();
        json!({"attempted": attempted, "established": established, "accepted": accepted, "outcomes": o})
    };
    let mut v4 = st.outcomes;
    for (a, b) in v4.iter_mut().zip(st.v6_outcomes) {
        *a = a.saturating_sub(b);
    }
    json!({
        "ipv4": fam(
            st.attempted.saturating_sub(st.v6_attempted),
            st.established.saturating_sub(st.v6_established),
            st.accepted.saturating_sub(st.v6_accepted),
            v4,
        ),
        "ipv6": fam(st.v6_attempted, st.v6_established, st.v6_accepted, st.v6_outcomes),
    })
}
