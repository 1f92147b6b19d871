//! SYN flood: spoofed SYNs (sources in 198.19.0.0/16, inside 198.18.0.0/15) at more than ten
//! times the legitimate rate against `serve --cookies auto --cookie-threshold 16` while a
//! legitimate `connect` runs (root; own namespaces). The server answers each frame's source
//! MAC, so it needs no ARP for the spoofed sources; their SYN-ACKs reach ns a's kernel, which
//! drops them (not its addresses, no forwarding).

mod common;

use common::*;
use serde_json::Value;

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn syn_flood_with_cookies_keeps_legitimate_connections() {
    let p = pair("twr-fl", 1);
    let sndjson = tmp("fl-server.ndjson");
    let capacity = 4096.to_string();
    let (c, s, f) = legit_under_flood(
        &p,
        &[
            "--cookies",
            "auto",
            "--cookie-threshold",
            "16",
            "--capacity",
            &capacity,
            "--rto",
            "200ms",
            "--synack-retries",
            "2",
            "--interval",
            "200ms",
            "--ndjson",
            sndjson.to_str().unwrap(),
        ],
        "fl",
    );
    let (att, est) = (n(&c["attempted"]), n(&c["established"]));
    let legit_cps = c["cps"].as_f64().unwrap();
    let flood_pps = f["pps"].as_f64().unwrap();
    let se = &s["counters"]["engine"];
    // Live connections (SYN-RECEIVED included) sampled every 200 ms during the flood.
    let max_active = std::fs::read_to_string(&sndjson)
        .unwrap()
        .lines()
        .map(|l| n(&serde_json::from_str::<Value>(l).unwrap()["active"]))
        .max()
        .unwrap_or(0);
    let report = format!(
        "legit: {est}/{att} established at {legit_cps:.0}/s, failed {}; flood: {} SYNs at \
         {flood_pps:.0}/s; server: syn_received {}, cookies_sent {}, cookies_accepted {}, \
         accepted {}, accept_failed {}, synack_retransmits {}, peak_rss {} MiB, max active {max_active}, drops {}",
        c["failed"],
        f["sent"],
        s["syn_received"],
        s["cookies_sent"],
        s["cookies_accepted"],
        s["accepted"],
        se["accept_failed"],
        s["synack_retransmits"],
        n(&s["peak_rss_bytes"]) >> 20,
        s["drops"],
    );
    eprintln!("SYN flood: {report}");
    assert_eq!(att, 2000, "{report}");
    assert!(
        flood_pps >= 10.0 * legit_cps,
        "the flood must be >= 10x the legitimate rate: {report}"
    );
    assert!(est * 100 >= att * 99, "legitimate success < 99%: {report}");
    assert!(n(&s["cookies_sent"]) > 0, "{report}");
    assert!(
        n(&s["cookies_accepted"]) > 0,
        "legit clients got cookies: {report}"
    );
    // The flood never completes: everything accepted is a legitimate connection.
    assert!(n(&s["accepted"]) <= est, "{report}");
    assert!(n(&s["syn_received"]) >= n(&f["sent"]) * 9 / 10, "{report}");
    // Memory: the table stays under its capacity (cookies above 16 half-open), and RSS stays
    // at what the UMEM (8192 x 2 KiB), the table and the histograms cost.
    assert_eq!(se["drop_table_full"], 0, "{report}");
    assert!(
        max_active <= 16 + 48,
        "half-open state must stay near the cookie threshold: {report}"
    );
    assert!(
        n(&s["peak_rss_bytes"]) < 96 << 20,
        "server peak RSS unbounded: {report}"
    );
}
