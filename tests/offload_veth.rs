//! `serve --offload xdp` against kernel clients over veth (root; own namespaces;
//! 198.18.0.0/15 only): the handshake and the close answered in XDP with XDP_TX, counted
//! exactly, and requests still served by the engine.

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(90);

fn serve(p: &VethPair, extra: &[&str], json: &std::path::Path) -> std::process::Child {
    let listen = format!("{}:{PORT}", p.b.addr);
    let mut args = vec![
        "serve",
        &listen,
        "-i",
        "tw1",
        "--offload",
        "xdp",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    // The kernel clients' end needs an XDP program to receive XDP_TX frames (veth).
    p.attach_xdp_pass(&p.a)
        .expect("XDP pass program on the kernel peer");
    let mut server = spawn_in(p, &p.b, &args);
    wait_attached(p, &p.b, &mut server);
    server
}

/// Stops the server; its stderr.
fn stop(server: std::process::Child) -> String {
    std::thread::sleep(Duration::from_millis(300));
    signal(&server, "-INT");
    let out = wait_output(server, LIMIT);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// Must-show 1: 10,000 kernel connections accepted in XDP = the kernel's ActiveOpens delta,
/// with the workers seeing (almost) none of their frames.
#[test]
fn offload_kernel_clients_10k_accepted_in_xdp() {
    let p = pair("twt-ox", 1);
    let json = tmp("ox.json");
    let server = serve(&p, &[], &json);
    let before = p.snmp(&p.a, "Tcp", "ActiveOpens").unwrap();
    let listen = format!("{}:{PORT}", p.b.addr);
    let out = run_in(
        &p,
        &p.a,
        &[
            "kernel",
            "connect",
            &listen,
            "-n",
            "10000",
            "--threads",
            "2",
            "-d",
            "60s",
            "--close",
            "fin",
            "--json",
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out));
    let k: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let opens = p.snmp(&p.a, "Tcp", "ActiveOpens").unwrap() - before;
    let stext = stop(server);
    let j = read_json(&json);
    let sc = &j["counters"]["steer"];
    eprintln!("kernel: {k}\nsteer: {sc}");
    assert_eq!(k["established"], 10000, "kernel client: {k}");
    assert_eq!(opens, 10000, "kernel ActiveOpens");
    assert_eq!(
        j["accepted"].as_u64().unwrap(),
        opens,
        "accepted vs ActiveOpens\n{stext}"
    );
    assert_eq!(
        sc["xdp_accepted"].as_u64().unwrap(),
        opens,
        "accepted in XDP"
    );
    assert!(sc["xdp_synacks"].as_u64().unwrap() >= 10000);
    // Each kernel close (FIN) answered in XDP and its last ACK seen there.
    assert!(sc["xdp_fins_answered"].as_u64().unwrap() >= 10000, "{sc}");
    assert!(sc["xdp_closed"].as_u64().unwrap() >= 9900, "{sc}");
    let to_workers = sc["redirected"].as_u64().unwrap();
    assert!(
        to_workers < 100,
        "{to_workers} frames reached the workers: {sc}"
    );
    assert_eq!(j["config"]["handshake"], "xdp", "the pre-flight echo");
}

/// Must-show 1, second half: with a response configured, curl's request reaches the engine
/// (which accepts XDP's cookie) and curl gets the response.
#[test]
fn offload_curl_gets_the_response() {
    let p = pair("twt-oc", 1);
    let json = tmp("oc.json");
    let body = "HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nthreeway\n";
    let server = serve(&p, &["--response", body, "--close", "fin"], &json);
    let url = format!("http://{}:{PORT}/", p.b.addr);
    for i in 0..5 {
        let out = p
            .command(&p.a, "curl")
            .args(["-sS", "--max-time", "5", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "curl {i}: {}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "threeway\n",
            "curl {i}"
        );
    }
    let stext = stop(server);
    let j = read_json(&json);
    let sc = &j["counters"]["steer"];
    assert!(sc["xdp_synacks"].as_u64().unwrap() >= 5, "{sc}");
    assert_eq!(j["accepted"].as_u64().unwrap(), 5, "{stext}\n{sc}");
}
