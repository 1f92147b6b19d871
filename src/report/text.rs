//! Human output: the effective configuration, the live line, the final summary.

use std::fmt::Write;

use crate::tcp::{Outcome, Role};
use crate::units::{fmt_ns, fmt_si};

use super::summary::Summary;
use super::{Interval, Pcts};

/// `key=value` lines (neper style), so a run can be reproduced from its output.
pub fn config_block(config: &[(String, String)]) -> String {
    let mut s = String::new();
    for (k, v) in config {
        let _ = writeln!(s, "{k}={v}");
    }
    s
}

/// One line per interval.
pub fn live_line(role: Role, iv: &Interval, target_cps: f64) -> String {
    let d = &iv.delta;
    let t = &iv.totals;
    let dt = iv.dt.max(1e-9);
    let lat = match role {
        Role::Client => Pcts::of(&iv.latency.connect),
        Role::Server => Pcts::of(&iv.latency.accept),
    };
    let cpu = d.lp.busy_ns as f64 / d.lp.loop_ns.max(1) as f64 * 100.0;
    let pps = format!(
        "pps tx {} rx {}",
        fmt_si(d.stats.tx_frames as f64 / dt),
        fmt_si(d.stats.rx_frames as f64 / dt)
    );
    let common = format!(
        "{pps}  ring-full {}  handoff {}  drops {}  cpu {cpu:.0}%",
        d.ring_full(),
        d.lp.handoff_out,
        d.stats.drops.iter().sum::<u64>(),
    );
    match role {
        Role::Client => {
            // Every outcome but `closed` is a failure, during the handshake or after it.
            let failed: Vec<String> = Outcome::ALL
                .iter()
                .filter(|o| **o != Outcome::Closed && d.stats.outcomes[**o as usize] > 0)
                .map(|o| format!("{} {}", short(*o), d.stats.outcomes[*o as usize]))
                .collect();
            let nfail = super::summary::failed_count(role, &d.stats);
            let target = if target_cps > 0.0 {
                format!("/{}", fmt_si(target_cps))
            } else {
                String::new()
            };
            format!(
                "[{:>5.1}s] cps {}{target}  est {}  fail {nfail}{}  active {}  synrtx {}  conn p50 {} p99 {}  {common}  late {}{}",
                iv.t,
                fmt_si(d.stats.established as f64 / dt),
                fmt_si(t.stats.established as f64),
                if failed.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", failed.join(" "))
                },
                fmt_si(t.stats.active as f64),
                d.stats.syn_retransmits,
                fmt_ns(lat.p50),
                fmt_ns(lat.p99),
                d.lp.late_starts,
                match d.stats.open_no_tuple {
                    0 => String::new(),
                    n => format!("  no-tuple {n}"),
                },
            ) + &match d.stats.requests_sent {
                0 => String::new(),
                n => format!(
                    "  req {n} ok {} resp p99 {}",
                    d.stats.responses_ok,
                    fmt_ns(Pcts::of(&iv.latency.response_sent).p99)
                ),
            }
        }
        Role::Server => format!(
            "[{:>5.1}s] accept/s {}  accepted {}  syn-recv {}  cookies {}  active {}  synack-rtx {}  acc p50 {} p99 {}  {common}",
            iv.t,
            fmt_si(d.stats.accepted as f64 / dt),
            fmt_si(t.stats.accepted as f64),
            fmt_si(d.stats.syn_received as f64),
            d.stats.cookies_sent,
            fmt_si(t.stats.active as f64),
            d.stats.synack_retransmits,
            fmt_ns(lat.p50),
            fmt_ns(lat.p99),
        ),
    }
}

fn short(o: Outcome) -> &'static str {
    match o {
        Outcome::Closed => "closed",
        Outcome::Refused => "refused",
        Outcome::Timeout => "tmo",
        Outcome::Reset => "rst",
        Outcome::BadResponse => "bad-resp",
        Outcome::ResponseTimeout => "resp-tmo",
        Outcome::ClosedEarly => "closed-early",
    }
}

/// wrk2-style percentile block.
pub fn percentile_block(title: &str, p: &Pcts) -> String {
    if p.count == 0 {
        return format!("{title}: no samples\n");
    }
    format!(
        "{title} ({} samples):\n  50.000% {:>9}  75.000% {:>9}  90.000% {:>9}  99.000% {:>9}\n  99.900% {:>9}  99.990% {:>9} 100.000% {:>9}\n",
        p.count,
        fmt_ns(p.p50),
        fmt_ns(p.p75),
        fmt_ns(p.p90),
        fmt_ns(p.p99),
        fmt_ns(p.p99_9),
        fmt_ns(p.p99_99),
        fmt_ns(p.max)
    )
}

pub fn summary(s: &Summary) -> String {
    let mut o = String::new();
    let st = &s.totals.stats;
    let lp = &s.totals.lp;
    // Late starts under 1% are scheduler noise; any ring-full is a generator limit.
    let ring_full = s.totals.ring_full();
    let gen_issues = u64::from(lp.late_starts * 100 > st.attempted.max(1)) + ring_full;
    let generator = format!(
        "[generator {}: late {}, ring-full {} (xdp rx {}, umem {}, tx ring {}), cpu {:.0}%]",
        if gen_issues == 0 { "OK" } else { "LIMITED" },
        lp.late_starts,
        ring_full,
        s.totals.xdp.rx_ring_full,
        s.totals.xsk.no_free_frame,
        s.totals.xsk.tx_ring_full,
        s.busy() * 100.0
    );
    let limits = s.limits();
    match s.role {
        Role::Client => {
            let rate = if s.target_cps > 0.0 {
                let pct = s.cps / s.target_cps * 100.0;
                let why = match limits.first() {
                    _ if pct >= 99.0 => String::new(),
                    Some(l) => format!("  (missed: {}, see Limits)", l.resource),
                    None => "  (missed)".into(),
                };
                format!(
                    "target {} cps  achieved {} ({pct:.1}%){why}",
                    fmt_si(s.target_cps),
                    fmt_si(s.cps)
                )
            } else {
                format!("achieved {} cps (unpaced)", fmt_si(s.cps))
            };
            let _ = writeln!(o, "Rate:        {rate}  {generator}");
            let reasons = s.failures_text(|n| fmt_si(n as f64));
            let _ = writeln!(
                o,
                "Connections: attempted {}  established {}  failed {} ({:.2}%){}{}  active {}  closed {}",
                fmt_si(s.attempted() as f64),
                fmt_si(s.established() as f64),
                fmt_si(s.failed() as f64),
                s.fail_ratio() * 100.0,
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(": {reasons}")
                },
                match s.failed_after_handshake() {
                    0 => String::new(),
                    n => format!(" ({n} after the handshake)"),
                },
                s.active(),
                fmt_si(st.outcomes[Outcome::Closed as usize] as f64),
            );
            if st.aborted > 0 {
                let _ = writeln!(o, "{}", open_at_end(st));
            }
            if st.v6_attempted > 0 {
                let _ = writeln!(o, "{}", by_family(st));
            }
            if st.requests_sent > 0 {
                let _ = writeln!(o, "{}", requests_line(s));
            }
            let _ = writeln!(
                o,
                "Retransmits: SYN {}  data {} (fast {})  duplicate ACKs received {}",
                st.syn_retransmits, st.data_retransmits, st.fast_retransmits, st.dup_acks
            );
            o.push_str(&percentile_block(
                "Handshake latency (intended start -> SYN-ACK; includes generator lateness)",
                &s.connect,
            ));
            if let Some((x, e)) = &s.connect_split {
                o.push_str(&percentile_block(
                    "  of which measured in XDP (SYN's TSval = intended start, echoed in TSecr)",
                    x,
                ));
                o.push_str(&percentile_block(
                    "  of which measured by the engine (SYN-ACKs XDP left to it)",
                    e,
                ));
            }
            if let Some(w) = &s.connect_witness {
                o.push_str(&percentile_block(
                    "  the engine's, timed in XDP as well (check: same SYN-ACKs, same clock read)",
                    w,
                ));
            }
            o.push_str(&percentile_block(
                "SYN->SYN-ACK RTT (network: first SYN's departure -> SYN-ACK at the wire)",
                &s.rtt,
            ));
            o.push_str(&percentile_block(
                "Generator TX delay (SYN built -> its TX batch submitted)",
                &s.tx_delay,
            ));
            if st.requests_sent > 0 {
                for ((_, title, _), p) in super::TRANSACTION.iter().zip(&s.transaction) {
                    o.push_str(&percentile_block(title, p));
                }
            }
        }
        Role::Server => {
            let _ = writeln!(
                o,
                "Rate:        accepted {} per second  {generator}",
                fmt_si(s.cps)
            );
            let reasons = s.failures_text(|n| n.to_string());
            let _ = writeln!(
                o,
                "Connections: SYN received {}  accepted {}  failed {}{}  closed by RST {}  cookies sent {} accepted {}  SYN-ACK retransmits {}  active {}",
                fmt_si(st.syn_received as f64),
                fmt_si(st.accepted as f64),
                s.failed(),
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({reasons})")
                },
                s.closed_by_rst(),
                st.cookies_sent,
                st.cookies_accepted,
                st.synack_retransmits,
                st.active,
            );
            if st.refused_table_full > 0 {
                let _ = writeln!(
                    o,
                    "Refused:     {} SYNs answered with RST, the connection table was full (--abort-on-overflow; raise --capacity)",
                    st.refused_table_full
                );
            }
            if st.aborted > 0 {
                let _ = writeln!(o, "{}", open_at_end(st));
            }
            if st.requests_sent > 0 {
                let _ = writeln!(
                    o,
                    "Responses:   sent {}  bytes in {} out {}  data retransmits {} (fast {})  duplicate ACKs received {}",
                    st.requests_sent,
                    st.bytes_in,
                    st.bytes_out,
                    st.data_retransmits,
                    st.fast_retransmits,
                    st.dup_acks
                );
            }
            o.push_str(&percentile_block(
                "Accept latency (SYN -> final ACK, at the wire)",
                &s.accept,
            ));
            o.push_str(&percentile_block(
                "Accept RTT (network: SYN-ACK's departure -> final ACK at the wire)",
                &s.accept_rtt,
            ));
            o.push_str(&percentile_block(
                "Generator TX delay (SYN-ACK built -> its TX batch submitted)",
                &s.tx_delay,
            ));
        }
    }
    let drops: Vec<String> = crate::tcp::DropReason::ALL
        .iter()
        .filter(|r| st.drops[**r as usize] > 0)
        .map(|r| format!("{} {}", r.as_str(), st.drops[*r as usize]))
        .collect();
    let _ = writeln!(
        o,
        "Packets:     tx {}  rx {}  hand-off {} (dropped {})  drops: {}",
        fmt_si(st.tx_frames as f64),
        fmt_si(st.rx_frames as f64),
        fmt_si(lp.handoff_out as f64),
        lp.handoff_dropped,
        if drops.is_empty() {
            "none".to_string()
        } else {
            drops.join(", ")
        }
    );
    let sc = &s.steer;
    let _ = writeln!(
        o,
        "XDP program: redirected {} (ARP {})  passed to the kernel {} (kernel sockets {}, fragments {}, unparsed {})  dropped, no socket {}  RX time: {}",
        fmt_si(sc.redirected as f64),
        sc.arp_redirected,
        fmt_si(
            (sc.passed + sc.passed_kernel_socket + sc.passed_fragments + sc.parse_errors) as f64
        ),
        sc.passed_kernel_socket,
        sc.passed_fragments,
        sc.parse_errors,
        sc.dropped_no_socket,
        rx_time_source(s),
    );
    if let Some(line) = xdp_handshake_line(sc) {
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(
        o,
        "CPU:         {} workers, {:.0}% busy; {:.2} us of work per connection; process CPU {:.2}s = {:.2} us per connection (idle busy-polling included)",
        s.workers,
        s.busy() * 100.0,
        s.busy_us_per_conn(),
        s.cpu_s,
        s.cpu_us_per_conn()
    );
    match limits.split_first() {
        None => {
            let _ = writeln!(
                o,
                "Limits:      none hit (rings, UMEM, tuples, table, CPU, target)"
            );
        }
        Some((first, rest)) => {
            let _ = writeln!(
                o,
                "Limits:      binding: {} ({} {}): {}",
                first.resource, first.counter, first.value, first.detail
            );
            for l in rest {
                let _ = writeln!(
                    o,
                    "             also: {} ({} {}): {}",
                    l.resource, l.counter, l.value, l.detail
                );
            }
        }
    }
    for e in &s.errors {
        let _ = writeln!(o, "Error:       {e}");
    }
    o
}

/// `Requests:` sent, ok, failures by reason, HTTP status classes, bytes.
fn requests_line(s: &Summary) -> String {
    let st = &s.totals.stats;
    let nonzero = |v: Vec<(&'static str, u64)>| -> Vec<String> {
        v.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect()
    };
    let fails = s.request_failures();
    let nfail: u64 = fails.iter().map(|(_, n)| n).sum();
    let reasons = nonzero(fails);
    let http = nonzero(s.http_classes());
    format!(
        "Requests:    sent {}  ok {}  failed {nfail}{}{}  bytes in {} (body {}) out {}",
        st.requests_sent,
        st.responses_ok,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        },
        if http.is_empty() {
            String::new()
        } else {
            format!("  HTTP {}", http.join(" "))
        },
        st.bytes_in,
        st.body_bytes,
        st.bytes_out,
    )
}

/// Connections still open when the run ended (reset by threeway, no outcome), by state.
fn open_at_end(st: &crate::tcp::Stats) -> String {
    let by_state: Vec<String> = [
        ("SYN-SENT", st.aborted_syn_sent),
        ("SYN-RECEIVED", st.aborted_syn_received),
        ("ESTABLISHED", st.aborted_established),
        ("closing", st.aborted_closing),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(s, n)| format!("{s} {n}"))
    .collect();
    format!(
        "Still open at the end: {} ({}): no outcome; a longer --drain lets them finish",
        st.aborted,
        by_state.join(", ")
    )
}

/// Where the RX times came from: the XDP program's stamps, or (frames without metadata) the
/// worker's loop clock, which adds the time a frame waited for its worker.
fn rx_time_source(s: &Summary) -> String {
    let loop_asked = s
        .config
        .iter()
        .any(|(k, v)| k == "rx_timestamp" && v == "loop");
    if loop_asked {
        return "loop clock (--rx-timestamp loop)".into();
    }
    match (s.totals.xsk.rx, s.totals.xsk.rx_unstamped) {
        (0, _) => "no frames".into(),
        (_, 0) => "XDP stamps".into(),
        (r, u) if u >= r => "loop clock (the driver gave no XDP metadata)".into(),
        (r, u) => format!("XDP stamps, loop clock for {u} of {r} frames (no metadata)"),
    }
}

/// "By family: IPv4 attempted A established E closed C | IPv6 ..." (a dual-stack run).
fn by_family(st: &crate::tcp::Stats) -> String {
    let c = Outcome::Closed as usize;
    let closed6 = st.v6_outcomes[c];
    format!(
        "By family:   IPv4 attempted {} established {} closed {} | IPv6 attempted {} established {} closed {}",
        fmt_si(st.attempted.saturating_sub(st.v6_attempted) as f64),
        fmt_si(st.established.saturating_sub(st.v6_established) as f64),
        fmt_si(st.outcomes[c].saturating_sub(closed6) as f64),
        fmt_si(st.v6_attempted as f64),
        fmt_si(st.v6_established as f64),
        fmt_si(closed6 as f64),
    )
}

/// What the handshake offload did in XDP (frames that never reached a worker), when it did
/// anything: `Packets` counts the engine's frames.
fn xdp_handshake_line(sc: &crate::xsk::SteerCounters) -> Option<String> {
    let n = |v: u64| fmt_si(v as f64);
    let server = sc.xdp_synacks + sc.xdp_accepted + sc.xdp_rsts + sc.xdp_bad_cookie > 0;
    let client = sc.xdp_client_established + sc.xdp_client_bad_synack > 0;
    let common = format!(
        "bad checksum {}  to the engine {}  resize errors {}",
        n(sc.xdp_bad_checksum),
        n(sc.xdp_to_engine),
        n(sc.xdp_tx_errors)
    );
    if server {
        Some(format!(
            "XDP handshake (server): SYN-ACKs {}  accepted {}  FINs answered {}  closed {}  RSTs dropped {}  bad cookies {}  {common}",
            n(sc.xdp_synacks),
            n(sc.xdp_accepted),
            n(sc.xdp_fins_answered),
            n(sc.xdp_closed),
            n(sc.xdp_rsts),
            n(sc.xdp_bad_cookie),
        ))
    } else if client {
        Some(format!(
            "XDP handshake (client): SYN-ACKs answered {}  bad SYN-ACKs {}  FINs answered {}  FIN ACKs {}  stateless FINs {}  {common}",
            n(sc.xdp_client_established),
            n(sc.xdp_client_bad_synack),
            n(sc.xdp_client_fins_answered),
            n(sc.xdp_client_fins_acked),
            n(sc.xdp_client_fins_stateless),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::xdp_handshake_line;
    use crate::xsk::SteerCounters;

    #[test]
    fn xdp_handshake_line_says_what_xdp_did() {
        assert_eq!(xdp_handshake_line(&SteerCounters::default()), None);
        let c = SteerCounters {
            xdp_client_established: 1000,
            xdp_client_fins_stateless: 998,
            xdp_bad_checksum: 2,
            ..SteerCounters::default()
        };
        let l = xdp_handshake_line(&c).unwrap();
        assert!(
            l.starts_with("XDP handshake (client): SYN-ACKs answered 1.0k"),
            "{l}"
        );
        assert!(
            l.contains("stateless FINs 998") && l.contains("bad checksum 2"),
            "{l}"
        );
        let s = SteerCounters {
            xdp_synacks: 5,
            xdp_accepted: 4,
            xdp_bad_cookie: 1,
            ..SteerCounters::default()
        };
        let l = xdp_handshake_line(&s).unwrap();
        assert!(
            l.contains("(server): SYN-ACKs 5  accepted 4") && l.contains("bad cookies 1"),
            "{l}"
        );
    }
}
