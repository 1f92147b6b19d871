//! Kernel HTTP clients (curl, wrk) against `threeway serve --response @file` with a 64 KiB
//! body: the response goes out in many segments within the client's window (root, own
//! namespaces).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use threeway::topo::body_bytes;

const LIMIT: Duration = Duration::from_secs(60);

fn sha256(bytes: &[u8]) -> String {
    let f = tmp("sha-input");
    std::fs::write(&f, bytes).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&f)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn http_serve_64k_to_curl_and_wrk() {
    let p = pair("twt-hs", 1);
    let body = body_bytes(65536);
    let resp = response_file("resp64k.http", &body);
    let listen = format!("{}:{PORT}", p.b.addr);
    let json = tmp("hs.json");
    let server = serve_in(
        &p,
        &listen,
        &[
            "--rto",
            "200ms",
            "--response",
            &format!("@{}", resp.display()),
        ],
        &json,
    );
    let url = format!("http://{listen}/");

    // curl: the body's checksum is the file body's.
    let got = tmp("curl.out");
    let out = p
        .command(&p.a, "curl")
        .args(["-sS", "--max-time", "10", "-o"])
        .arg(&got)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fetched = std::fs::read(&got).unwrap();
    assert_eq!(fetched.len(), body.len());
    assert_eq!(sha256(&fetched), sha256(&body), "curl's body checksum");

    // wrk: 10 s of keep-alive requests, no socket errors, every response 2xx.
    let child = p
        .command(&p.a, "wrk")
        .args(["-t", "1", "-c", "16", "-d", "10s", "--timeout", "5s", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, LIMIT);
    let w = String::from_utf8_lossy(&out.stdout).to_string();
    println!("{w}");
    assert!(out.status.success(), "{}", text(&out));
    assert!(!w.contains("Socket errors"), "wrk saw socket errors:\n{w}");
    assert!(!w.contains("Non-2xx"), "{w}");
    let requests: u64 = w
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    assert!(requests > 100, "wrk completed {requests} requests:\n{w}");

    stop_server(server);
    let j = read_json(&json);
    assert!(j["requests"]["sent"].as_u64().unwrap() > requests, "{j}");
}
