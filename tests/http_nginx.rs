//! Request/response against a real nginx in the peer namespace (root, own namespaces; nginx
//! from deploy/install-deps.sh with its own config under a temp directory): bodies of many
//! segments, keep-alive, and wrong answers that must show as failures.

mod common;

use std::time::Duration;

use common::*;
use threeway::topo::Nginx;

const LIMIT: Duration = Duration::from_secs(120);

/// `threeway connect` to nginx on `p.b` with `extra` arguments; returns (exit code, JSON).
fn connect(p: &VethPair, name: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let target = format!("{}:{PORT}", p.b.addr);
    let json = tmp(name);
    let mut args = vec![
        "connect",
        &target,
        "-i",
        "tw0",
        "--rto",
        "200ms",
        "--close",
        "fin",
        "--time-wait",
        "100ms",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run_in(p, &p.a, &args, LIMIT);
    let code = out.status.code().unwrap_or(-1);
    (code, read_json(&json), text(&out))
}

#[test]
fn http_nginx_bodies_of_16k_and_256k_and_keepalive() {
    // Two queues: a kernel peer spreads its data segments over both, so full-sized frames
    // are handed off between the workers.
    let p = pair("twt-hn", 2);
    let nginx = Nginx::start(&p, &p.b, PORT, &[("16k", 16384), ("256k", 262144)]);

    // 5,000 connections x one 16 KiB body.
    let (code, j, out) = connect(
        &p,
        "hn16.json",
        &["--http", "/16k", "-n", "5000", "-r", "1k"],
    );
    assert_eq!(code, 0, "{out}");
    let r = &j["requests"];
    assert_eq!(j["failed_total"], 0, "{out}");
    assert_eq!(
        (r["sent"].as_u64(), r["ok"].as_u64()),
        (Some(5000), Some(5000)),
        "{out}"
    );
    assert_eq!(r["body_bytes"], 5000 * 16384, "every body's length: {out}");
    assert_eq!(
        nginx.count(200),
        5000,
        "nginx logged as many 200s as our ok"
    );
    assert!(nginx.log().iter().all(|(_, b)| *b == 16384));
    let w = &j["counters"]["worker"];
    assert!(
        w["handoff_out"].as_u64() > Some(0),
        "data segments handed off: {w}"
    );
    assert_eq!(w["handoff_dropped"], 0, "{w}");
    println!(
        "16k: {}",
        out.lines()
            .find(|l| l.starts_with("Requests:"))
            .unwrap_or("")
    );

    // 500 connections x one 256 KiB body (many windows' worth).
    let (code, j, out) = connect(
        &p,
        "hn256.json",
        &["--http", "/256k", "-n", "500", "-r", "200"],
    );
    assert_eq!(code, 0, "{out}");
    let r = &j["requests"];
    assert_eq!(r["ok"], 500, "{out}");
    assert_eq!(r["body_bytes"], 500 * 262144, "{out}");
    assert_eq!(nginx.count(200), 5500);

    // Keep-alive: 1,000 connections x 10 requests.
    let hlog = tmp("hnka.hlog");
    let (code, j, out) = connect(
        &p,
        "hnka.json",
        &[
            "--http",
            "/16k",
            "-n",
            "1000",
            "-r",
            "500",
            "--requests",
            "10",
            "--hlog",
            hlog.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(
        log.contains("Tag=ttfb,") && log.contains("Tag=response_sent,"),
        "hlog tags"
    );
    let r = &j["requests"];
    assert_eq!(
        (r["sent"].as_u64(), r["ok"].as_u64()),
        (Some(10000), Some(10000)),
        "{out}"
    );
    assert_eq!(
        (j["established"].as_u64(), j["closed"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(nginx.count(200), 15500, "nginx logged 10,000 more");

    // `merge` of two instances (here the same run twice): requests and failures add, and the
    // transaction percentiles come from the hlog histograms added exactly.
    let (json, merged) = (tmp("hnka.json"), tmp("hnka-merged.json"));
    let (js, hl, mj) = (
        json.to_str().unwrap(),
        hlog.to_str().unwrap(),
        merged.to_str().unwrap(),
    );
    let o = std::process::Command::new(bin())
        .args(["merge", js, js, "--hlog", hl, "--hlog", hl, "--json", mj])
        .args(["--assert", "failed.bad_response==0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let m = read_json(&merged);
    assert_eq!(m["requests"]["ok"], 20000, "{m}");
    assert_eq!(m["ttfb_sent_ns"]["count"], 20000, "{}", m["ttfb_sent_ns"]);
    assert!(
        m["response_ns"]["p99"].as_u64() > Some(0),
        "{}",
        m["response_ns"]
    );
}

#[test]
fn http_nginx_403_and_404_are_bad_responses() {
    let p = pair("twt-hb", 1);
    let nginx = Nginx::start(&p, &p.b, PORT, &[]);
    for (path, status) in [("/forbidden", 403u16), ("/missing", 404)] {
        let (code, j, out) = connect(
            &p,
            "hb.json",
            &[
                "--http", path, "-n", "500", "-r", "1k", "--assert", "fail<1%",
            ],
        );
        assert_eq!(code, 99, "fail<1% must not hold: {out}");
        assert_eq!(j["failed_total"], 500, "{out}");
        assert_eq!(j["failed"]["bad_response"], 500, "{out}");
        assert_eq!(j["requests"]["ok"], 0);
        assert_eq!(j["requests"]["http_status"]["4xx"], 500);
        assert!(
            out.contains("failed 500 (100.00%): bad_response 500"),
            "summary says it: {out}"
        );
        assert_eq!(nginx.count(status), 500);
    }
    // --expect on the status line is checked the same way.
    let (code, j, out) = connect(
        &p,
        "hbe.json",
        &[
            "--request",
            "GET /forbidden HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n",
            "--expect",
            "HTTP/1.1 200",
            "-n",
            "200",
            "--assert",
            "fail<1%",
        ],
    );
    assert_eq!(code, 99, "{out}");
    assert_eq!(j["failed"]["bad_response"], 200, "{out}");
}
