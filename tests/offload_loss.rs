//! Must-show 4 of the handshake offload: threeway <-> threeway with the handshake answered in
//! XDP on both sides, through 20% random loss both ways (a router namespace, nftables
//! `numgen random`): every attempt ends exactly once, lost SYNs and SYN-ACKs are retransmitted
//! and counted (root, own namespaces, 198.18.0.0/15).

mod common;

use common::*;
use threeway::topo::{Routed, Side};

#[test]
fn offload_both_sides_through_20pct_loss() {
    require_root();
    let _serial = serial();
    let r = Routed::create("twt-ol").expect("routed topology");
    // The router's veth ends receive our XDP_TX frames only with an XDP program of their own.
    for (iface, last) in [("r0", 0), ("r1", 1)] {
        let side = Side {
            netns: r.router.clone(),
            iface: iface.into(),
            addr: std::net::Ipv4Addr::new(198, 18, last, 254),
        };
        r.pair
            .attach_xdp_pass(&side)
            .expect("XDP pass program on the router's end");
    }
    r.random_loss(20).expect("nft loss");
    let p = &r.pair;
    let listen = format!("{}:{PORT}", p.b.addr);
    let sj = tmp("ol-s.json");
    let server = serve_in(p, &listen, &["--offload", "xdp"], &sj);
    let cj = tmp("ol-c.json");
    // 3 retries (RTO 200 ms): a handshake fails only when 4 tries all lose the SYN or the
    // SYN-ACK (0.36^4: ~1.7%), so both outcomes show up.
    let c = connect_json(
        p,
        &[
            &listen,
            "-n",
            "3000",
            "-r",
            "1k",
            "--offload",
            "xdp",
            "--close",
            "fin",
            "--syn-retries",
            "3",
        ],
        &cj,
    );
    stop_server(server);
    let s = read_json(&sj);
    let cc = &c["counters"]["steer"];
    eprintln!(
        "client: {c}\nclient XDP: {cc}\nserver XDP: {}",
        s["counters"]["steer"]
    );
    assert_eq!(c["config"]["handshake"], "xdp");
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    let (attempted, est, failed) = (
        n(&c["attempted"]),
        n(&c["established"]),
        n(&c["failed_total"]),
    );
    assert_eq!(attempted, 3000);
    assert_eq!(est + failed, attempted, "one outcome each: {c}");
    assert_eq!(n(&c["active"]), 0, "none left open");
    assert_eq!(
        n(&c["closed"]),
        est,
        "every established one closed (XDP's ACK|PSH|FIN)"
    );
    assert_eq!(
        failed,
        n(&c["failed"]["timeout"]),
        "the failures are SYN-SENT timeouts: {c}"
    );
    assert!(failed > 5 && failed < 150, "~1.7% fail: {c}");
    // ~36% of tries lose the SYN or the SYN-ACK: ~0.56 retransmissions per attempt.
    let retx = n(&c["syn_retransmits"]);
    assert!(
        (900..=2400).contains(&retx),
        "SYN retransmissions counted: {retx}"
    );
    // XDP answered each established attempt's SYN-ACK at least once (a retransmitted SYN's
    // SYN-ACK again), and the latency was recorded once per attempt.
    assert!(n(&cc["xdp_client_established"]) >= est, "{cc}");
    assert_eq!(n(&c["handshake_latency_ns"]["count"]), est, "{c}");
    // The server: no frame to a worker; it accepted the ACK|PSH|FINs that got through (80%).
    let ss = &s["counters"]["steer"];
    assert_eq!(n(&ss["redirected"]), 0, "{ss}");
    let acc = n(&s["accepted"]) as f64 / est as f64;
    assert!(
        (0.7..=0.9).contains(&acc),
        "accepted/established {acc:.3}: {s}"
    );
    assert_eq!(
        n(&ss["xdp_closed"]),
        n(&s["accepted"]),
        "closed with each accept: {ss}"
    );
}
