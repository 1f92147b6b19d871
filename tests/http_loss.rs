//! Data of many segments through 5% random loss both ways (a router namespace with an
//! nftables `numgen random` drop): threeway connect -> threeway serve with a 64 KiB
//! response, every attempt with an outcome, the right byte counts, and the recovery counted
//! (root, own namespaces).

mod common;

use std::time::Duration;

use common::*;
use threeway::topo::Routed;
use threeway::topo::body_bytes;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn http_loss_5pct_both_ways_64k_responses() {
    require_root();
    let _serial = serial();
    let r = Routed::create("twt-hl").expect("routed topology");
    r.random_loss(5).expect("nft loss");
    let p = &r.pair;
    let body = body_bytes(65536);
    let resp = response_file("loss64k.http", &body);
    let listen = format!("{}:{PORT}", p.b.addr);
    let sj = tmp("hl-s.json");
    let server = serve_in(
        p,
        &listen,
        &[
            "--rto",
            "100ms",
            "--response",
            &format!("@{}", resp.display()),
        ],
        &sj,
    );
    let cj = tmp("hl-c.json");
    let out = run_in(
        p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "--http",
            "/",
            "-n",
            "2000",
            "-r",
            "400",
            "--rto",
            "100ms",
            "--syn-retries",
            "8",
            "--response-timeout",
            "20s",
            "--close",
            "fin",
            "--time-wait",
            "100ms",
            "--quiet",
            "--json",
            cj.to_str().unwrap(),
        ],
        LIMIT,
    );
    stop_server(server);
    let c = read_json(&cj);
    let s = read_json(&sj);
    let req = &c["requests"];
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{}", text(&out));
    let (attempted, ok, failed) = (
        c["attempted"].as_u64().unwrap(),
        req["ok"].as_u64().unwrap(),
        c["failed_total"].as_u64().unwrap(),
    );
    assert_eq!(attempted, 2000);
    assert_eq!(
        attempted,
        ok + failed,
        "every attempt: ok or a named failure {}",
        c["failed"]
    );
    assert!(
        ok >= 1990,
        "through 5% loss nearly all complete: ok {ok}, failed {}",
        c["failed"]
    );
    assert_eq!(
        req["body_bytes"].as_u64().unwrap(),
        ok * 65536,
        "body lengths"
    );
    let se = &s["counters"]["engine"];
    let ce = &c["counters"]["engine"];
    assert!(
        se["data_retransmits"].as_u64().unwrap() > 0,
        "server retransmitted: {se}"
    );
    assert!(
        se["dup_acks"].as_u64().unwrap() > 0,
        "server saw duplicate ACKs: {se}"
    );
    assert!(
        ce["drop_out_of_order"].as_u64().unwrap() > 0,
        "client dropped out-of-order: {ce}"
    );
    println!(
        "server: data_retransmits {} fast {} dup_acks {}; client: out_of_order {} acks_sent {}",
        se["data_retransmits"],
        se["fast_retransmits"],
        se["dup_acks"],
        ce["drop_out_of_order"],
        ce["acks_sent"]
    );
}
