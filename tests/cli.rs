//! The binary as a user runs it: exit codes (0, 2, 3, 99), and the JSON, NDJSON and hlog files
//! (the hlog read back with the hdrhistogram crate). Root tests build their own namespaces.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

fn threeway(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).output().unwrap()
}

#[test]
fn usage_errors_exit_2() {
    // `connect 198.18.0.2:80 -i lo` and ARGS.
    let lo = |args: &[&'static str]| [&["connect", "198.18.0.2:80", "-i", "lo"], args].concat();
    for args in [
        lo(&["-r", "fast"]),
        vec!["connect", "-i", "lo"],
        vec!["connect", "nohost", "-i", "lo", "--dry-run"],
        vec!["serve", "80", "-i", "lo", "--cookies", "sometimes"],
        lo(&["--assert", "speed>1", "--dry-run"]),
        lo(&["-s", "198.18.0.0/24", "-n", "1"]),
        lo(&["--assert", "p42x<1"]),
        vec!["merge", "none.json", "--assert", "p42x<1"],
        vec!["frobnicate"],
        vec!["search", "198.18.0.2:80", "-i", "lo"],
        vec!["report", "-o", "x.html"],
        lo(&["-r", "1k", "--ramp", "1k..2k/1s"]),
        lo(&["--steps", "1k,2k"]),
        // Requests: a path must be one, headers need --http, sizes need a request.
        lo(&["--http", "x y", "--dry-run"]),
        lo(&["--header", "A: b", "--dry-run"]),
        lo(&["--requests", "3", "--dry-run"]),
        lo(&["--http", "--response-size", "5"]),
        lo(&["--request", "x", "--response-size", "0"]),
        lo(&["--http", "--request", "x"]),
    ] {
        let o = threeway(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            !o.stderr.is_empty(),
            "{args:?}: a usage error says what is wrong"
        );
    }
}

/// An unknown metric is refused while parsing the command line, with the valid names; a
/// valid one (any percentile, a `µs` duration) passes parsing.
#[test]
fn assert_metrics_checked_at_parse_time() {
    let o = threeway(&["connect", "198.18.0.2:80", "-i", "lo", "--assert", "p42x<1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("unknown metric 'p42x'") && e.contains("pNN") && e.contains("fail.timeout"),
        "{e}"
    );
    assert!(
        !e.contains("attach"),
        "refused before anything attaches: {e}"
    );
    let o = threeway(&[
        "connect",
        "198.18.0.2:80",
        "-i",
        "lo",
        "--assert",
        "p95<1ms",
        "--rto",
        "250µs",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn help_has_examples() {
    for sub in ["connect", "serve", "demo", "report", "search"] {
        let o = threeway(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Examples:"),
            "{sub} --help"
        );
    }
}

#[test]
fn environment_errors_exit_3() {
    require_root();
    let o = threeway(&["connect", "198.18.0.2:80", "-i", "tw-no-such-if", "-n", "1"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no such interface"),
        "{}",
        text(&o)
    );
    // Next hop that never answers ARP.
    let p = pair("twt-e3", 1);
    let o = run_in(
        &p,
        &p.a,
        &["connect", "198.18.0.99:80", "-i", "tw0", "-n", "1"],
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("did not answer ARP"),
        "{}",
        text(&o)
    );
}

/// `threeway ARGS... --dry-run` exits 0 and its plan states each of `keys`.
fn dry_run_states(args: &[&str], keys: &[&str]) {
    let o = threeway(&[args, &["--dry-run"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    for key in keys {
        assert!(s.contains(key), "missing {key} in:\n{s}");
    }
}

#[test]
fn dry_run_prints_the_plan() {
    dry_run_states(
        &[
            "connect",
            "198.18.0.2:80",
            "-i",
            "tw-dry",
            "-q",
            "2",
            "-r",
            "100k",
            "-s",
            "198.18.1.0/24",
        ],
        &[
            "rate_per_worker=50000.0",
            "tuple_space=",
            "tuple_headroom=",
            "memory_estimate_bytes=",
            "memory_per_connection_bytes=76 (TCB 64",
            "sources=254",
        ],
    );
    // With a request, the data state is stated too (and no buffers).
    dry_run_states(
        &[
            "connect",
            "198.18.0.2:80",
            "-i",
            "tw-dry",
            "-s",
            "198.18.1.1",
            "--http",
            "/16k",
            "--requests",
            "10",
        ],
        &[
            "memory_per_connection_bytes=140 (TCB 64, index and stamps 12, data state 64; no per-connection buffers)",
            "request_bytes=39",
            "response_end=http",
            "requests_per_connection=10",
        ],
    );
}

#[test]
fn files_and_assertions() {
    let p = pair("twt-cli", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let mut server = spawn_in(&p, &p.b, &["serve", &listen, "-i", "tw1", "--quiet"]);
    wait_attached(&p, &p.b, &mut server);
    let (j, nd, hl) = (tmp("f.json"), tmp("f.ndjson"), tmp("f.hlog"));
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-r",
            "2k",
            "-d",
            "2s",
            "--interval",
            "500ms",
            "--rto",
            "200000µs",
            "--json",
            j.to_str().unwrap(),
            "--ndjson",
            nd.to_str().unwrap(),
            "--hlog",
            hl.to_str().unwrap(),
            "--assert",
            "cps>=100",
            "--assert",
            "fail<5%",
            "--assert",
            "p95<1s",
            "--assert",
            "rtt.p99.5<=500ms",
            "--assert",
            "failed.timeout<=100",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("50.000%") && s.contains("Assertions:"),
        "summary:\n{s}"
    );
    assert!(
        s.contains("p95<1s ok") && s.contains("rtt.p99.5<=500ms ok"),
        "any percentile is measured:\n{s}"
    );
    let v = read_json(&j);
    for key in [
        "role",
        "duration_s",
        "attempted",
        "established",
        "failed",
        "cps",
        "handshake_latency_ns",
        "config",
    ] {
        assert!(!v[key].is_null(), "json lacks {key}: {v}");
    }
    for key in ["p50", "p90", "p99", "p99_9", "max"] {
        assert!(
            v["handshake_latency_ns"][key].as_u64().unwrap() > 0,
            "latency {key}"
        );
    }
    let est = v["established"].as_u64().unwrap();
    assert!(est > 1000, "{v}");
    // Failures after the handshake are in `established` too.
    let failed =
        v["failed_total"].as_u64().unwrap() - v["failed_after_handshake"].as_u64().unwrap();
    assert_eq!(
        v["attempted"].as_u64().unwrap(),
        est + failed + v["active"].as_u64().unwrap()
    );
    // NDJSON: one record per interval, deltas sum to the total.
    let nd_text = std::fs::read_to_string(&nd).unwrap();
    let recs: Vec<serde_json::Value> = nd_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(recs.len() >= 3, "{nd_text}");
    let last = recs.last().unwrap();
    assert!(last["totals"]["established"].as_u64().unwrap() <= est);
    let sum: u64 = recs
        .iter()
        .map(|r| r["established"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, last["totals"]["established"].as_u64().unwrap());
    // hlog: read back; the connect histograms add up to the established count.
    let log = std::fs::read(&hl).unwrap();
    let mut de = Deserializer::new();
    let mut count = 0;
    for entry in IntervalLogIterator::new(&log) {
        if let Ok(LogEntry::Interval(h)) = entry
            && h.tag().map(|t| t.as_str()) == Some("connect")
        {
            let b = base64_decode(h.encoded_histogram());
            let hist: hdrhistogram::Histogram<u64> = de.deserialize(&mut &b[..]).unwrap();
            count += hist.len();
        }
    }
    assert_eq!(count, est, "hlog connect samples = established");

    // A failing assertion exits 99.
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect", &listen, "-i", "tw0", "-n", "200", "-r", "1k", "--rto", "200ms", "--quiet",
            "--assert", "cps>=10G",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
    signal(&server, "-INT");
    let _ = wait_output(server, Duration::from_secs(30));
}

#[test]
fn demo_writes_reconciling_json() {
    require_root();
    let _serial = serial();
    let j = tmp("demo.json");
    let o = Command::new(bin())
        .args([
            "demo",
            "-d",
            "2s",
            "-r",
            "5k",
            "--quiet",
            "--json",
            j.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = read_json(&j);
    let est = v["established"].as_u64().unwrap();
    assert!(est > 0, "{v}");
    assert_eq!(
        v["attempted"].as_u64().unwrap(),
        est + v["failed_total"].as_u64().unwrap() - v["failed_after_handshake"].as_u64().unwrap()
            + v["active"].as_u64().unwrap()
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("topology removed"));
}

fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|x| *x == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn prometheus_metrics_are_served() {
    let p = pair("twt-prom", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let mut server = spawn_in(
        &p,
        &p.b,
        &[
            "serve",
            &listen,
            "-i",
            "tw1",
            "--quiet",
            "--interval",
            "200ms",
            "--metrics",
            "127.0.0.1:9464",
        ],
    );
    wait_attached(&p, &p.b, &mut server);
    let out = run_in(
        &p,
        &p.a,
        &["kernel", "connect", &listen, "-n", "100", "--threads", "1"],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out));
    std::thread::sleep(Duration::from_millis(500));
    let page = p.exec(&p.b, &["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"]);
    signal(&server, "-INT");
    let _ = wait_output(server, Duration::from_secs(30));
    let page = page.expect("GET /metrics");
    assert!(
        page.contains("threeway_connections_accepted_total 100"),
        "{page}"
    );
    assert!(
        page.contains("# TYPE threeway_packets_total counter"),
        "{page}"
    );
    assert!(
        page.contains("threeway_dropped_packets_total{reason=\"bad_checksum\"} 0"),
        "{page}"
    );
}
