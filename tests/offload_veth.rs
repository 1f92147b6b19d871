//! `serve --offload xdp` against kernel clients over veth (root; own namespaces;
//! 198.18.0.0/15 only): the handshake and the close answered in XDP with XDP_TX, counted
//! exactly, and requests still served by the engine.

mod common;

use std::time::Duration;

use common::*;

/// `serve --offload xdp EXTRA...` on `p.b`, with the XDP pass program on the kernel peer's end
/// (it needs one to receive XDP_TX frames over veth).
fn serve(p: &VethPair, extra: &[&str], json: &std::path::Path) -> KillOnDrop {
    p.attach_xdp_pass(&p.a)
        .expect("XDP pass program on the kernel peer");
    let listen = format!("{}:{PORT}", p.b.addr);
    serve_in(p, &listen, &[&["--offload", "xdp"], extra].concat(), json)
}

/// Stops the server; its stderr.
fn stop(server: KillOnDrop) -> String {
    std::thread::sleep(Duration::from_millis(300));
    text(&stop_server(server))
}

/// Must-show 1: 10,000 kernel connections accepted in XDP = the kernel's ActiveOpens delta,
/// with the workers seeing (almost) none of their frames.
#[test]
fn offload_kernel_clients_10k_accepted_in_xdp() {
    let p = pair("twt-ox", 1);
    p.attach_xdp_pass(&p.a)
        .expect("XDP pass program on the kernel peer");
    let listen = format!("{}:{PORT}", p.b.addr);
    let (j, _) = kernel_clients_serve_10k(
        &p,
        &listen,
        &["--offload", "xdp"],
        &["--close", "fin"],
        &tmp("ox.json"),
    );
    let sc = &j["counters"]["steer"];
    eprintln!("steer: {sc}");
    let opens = j["accepted"].as_u64().unwrap();
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

/// Must-show 3 (server half): a threeway client against `serve --offload xdp` (the client's
/// veth end carries threeway's own XDP program, so XDP_TX frames reach it): every attempt
/// established, and the server's accepted (counted in XDP) equals the client's established.
fn threeway_client(queues: u32) {
    let (c, s) = threeway_pair(queues, &["--offload", "xdp"]);
    let sc = &s["counters"]["steer"];
    eprintln!(
        "queues {queues}: client {} established, server {} accepted; steer {sc}",
        c["established"], s["accepted"]
    );
    assert_eq!(c["attempted"], 20000);
    assert_eq!(c["established"], 20000, "{c}");
    assert_eq!(
        s["accepted"], c["established"],
        "server accepted = client established"
    );
    assert_eq!(s["config"]["handshake"], "xdp");
    assert_eq!(
        sc["xdp_accepted"], c["established"],
        "all accepted in XDP: {sc}"
    );
    // The client closes with RST: dropped in XDP; the workers saw next to nothing.
    assert!(sc["xdp_rsts"].as_u64().unwrap() >= 20000, "{sc}");
    assert!(sc["redirected"].as_u64().unwrap() < 200, "{sc}");
}

#[test]
fn offload_threeway_client_one_queue() {
    threeway_client(1);
}

#[test]
fn offload_threeway_client_two_queues() {
    threeway_client(2);
}

/// Must-show 5: spoofed SYNs at ten times the legitimate rate or more against
/// `serve --offload xdp`: at least 99% of the legitimate connections succeed, every flood SYN
/// is answered in XDP, and the server's workers stay near idle (no flood frame reaches them).
#[test]
fn offload_syn_flood_keeps_legitimate_connections_with_idle_workers() {
    let p = pair("twt-of", 1);
    let (c, s, f) = legit_under_flood(&p, &["--offload", "xdp"], "of");
    let sc = &s["counters"]["steer"];
    let (att, est) = (
        c["attempted"].as_u64().unwrap(),
        c["established"].as_u64().unwrap(),
    );
    let legit_cps = c["cps"].as_f64().unwrap();
    let flood_pps = f["pps"].as_f64().unwrap();
    let busy = s["cpu_busy"].as_f64().unwrap();
    let report = format!(
        "legit {est}/{att} at {legit_cps:.0}/s; flood {} SYNs at {flood_pps:.0}/s; server \
         accepted {}, workers busy {:.2}%, redirected to workers {}, XDP SYN-ACKs {}",
        f["sent"],
        s["accepted"],
        busy * 100.0,
        sc["redirected"],
        sc["xdp_synacks"]
    );
    eprintln!("SYN flood, offload: {report}");
    assert_eq!(att, 2000, "{report}");
    assert!(
        flood_pps >= 10.0 * legit_cps,
        "flood >= 10x legit: {report}"
    );
    assert!(est * 100 >= att * 99, "legitimate success < 99%: {report}");
    assert!(s["accepted"].as_u64().unwrap() <= est, "{report}");
    assert!(
        sc["xdp_synacks"].as_u64().unwrap() >= f["sent"].as_u64().unwrap() * 9 / 10,
        "the flood answered in XDP: {report}"
    );
    assert!(
        sc["redirected"].as_u64().unwrap() < 100,
        "no flood frame reaches a worker: {report}"
    );
    assert!(busy < 0.05, "workers near idle: {report}");
}

/// Must-show 2: `connect --offload xdp` -> a kernel listener: 10,000 established, each
/// handshake completed by XDP's ACK|FIN (the listener's PassiveOpens grow by exactly our
/// established count), no failures, no SYN retransmitted for an attempt XDP established.
#[test]
fn offload_connect_to_kernel_listener_10k() {
    let p = pair("twt-oc2", 1);
    p.attach_xdp_pass(&p.b)
        .expect("XDP pass program on the kernel listener's end");
    let target = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listen_at(&p, &p.b, &target, 2);
    let before = p.snmp(&p.b, "Tcp", "PassiveOpens").unwrap();
    let json = tmp("oc2.json");
    let j = connect_json(
        &p,
        &[
            &target,
            "-n",
            "10000",
            "-r",
            "4k",
            "--offload",
            "xdp",
            "--close",
            "fin",
        ],
        &json,
    );
    let opens = p.snmp(&p.b, "Tcp", "PassiveOpens").unwrap() - before;
    let sc = &j["counters"]["steer"];
    eprintln!("steer: {sc}");
    assert_eq!(j["config"]["handshake"], "xdp", "the pre-flight echo");
    assert_eq!(
        (j["attempted"].as_u64(), j["established"].as_u64()),
        (Some(10000), Some(10000)),
        "{j}"
    );
    assert_eq!(
        opens, 10000,
        "the listener's PassiveOpens = our established"
    );
    assert_eq!(sc["xdp_client_established"].as_u64(), Some(10000), "{sc}");
    assert_eq!(sc["xdp_client_bad_synack"].as_u64(), Some(0), "{sc}");
    assert_eq!(
        (
            j["failed_total"].as_u64(),
            j["active"].as_u64(),
            j["closed"].as_u64(),
            j["syn_retransmits"].as_u64()
        ),
        (Some(0), Some(0), Some(10000), Some(0)),
        "one outcome each, none retransmitted: {j}"
    );
    // The kernel's FIN after its accept and close, answered with the last ACK in XDP.
    assert!(
        sc["xdp_client_fins_answered"].as_u64().unwrap() >= 9900,
        "{sc}"
    );
}

/// Must-show 3: threeway <-> threeway with the offload on both sides (`--close fin`): every
/// attempt established and closed in XDP on both ends, no frame reaching a worker on either
/// side; the server accepted and closed (at the client's ACK|PSH|FIN) exactly the client's
/// established, and the client consumed each of the server's FIN|PSH|ACKs.
fn both_sides(queues: u32) {
    let p = pair(&format!("twt-ob{queues}"), queues);
    let listen = format!("{}:{PORT}", p.b.addr);
    let x = ["--offload", "xdp", "--close", "fin"];
    let (c, s) = threeway_pair_on(&p, &listen, queues, &x, &x);
    let (sc, cc) = (&s["counters"]["steer"], &c["counters"]["steer"]);
    eprintln!("client: {cc}\nserver: {sc}");
    assert_eq!(
        (
            c["config"]["handshake"].as_str(),
            s["config"]["handshake"].as_str()
        ),
        (Some("xdp"), Some("xdp"))
    );
    let est = c["established"].as_u64().unwrap();
    assert_eq!((c["attempted"].as_u64(), est), (Some(20000), 20000), "{c}");
    assert_eq!(c["failed_total"].as_u64(), Some(0), "{c}");
    assert_eq!(cc["xdp_client_established"].as_u64(), Some(est), "{cc}");
    assert_eq!(sc["xdp_synacks"].as_u64(), Some(est), "{sc}");
    assert_eq!(sc["xdp_closed"].as_u64(), Some(est), "{sc}");
    assert_eq!(
        s["accepted"].as_u64(),
        Some(est),
        "the server's accepted: {s}"
    );
    // The stateless close: the server's FIN|PSH|ACK is consumed, with no last ACK for it.
    assert_eq!(
        (
            cc["xdp_client_fins_stateless"].as_u64(),
            cc["xdp_client_fins_answered"].as_u64()
        ),
        (Some(est), Some(0)),
        "{cc}"
    );
    assert_eq!(
        (cc["redirected"].as_u64(), sc["redirected"].as_u64()),
        (Some(0), Some(0)),
        "no frame reached a worker"
    );
}

#[test]
fn offload_both_sides_one_queue() {
    both_sides(1);
}

#[test]
fn offload_both_sides_two_queues() {
    both_sides(2);
}

/// Must-show 6: the handshake latency XDP records (intended start in the SYN's TSval ->
/// SYN-ACK in XDP, per-CPU log-linear buckets) agrees with the engine's (intended start ->
/// the SYN-ACK's XDP RX stamp, HdrHistogram) on the same run. `--offload check` answers half
/// the source ports in XDP and the others in the engine (`check_port_in_xdp`), so both
/// halves share the rate, the peer and the machine's load at every moment, and times the
/// engine's half in XDP as well. 100,000 at 25k/s: one pass over the source ports (a second
/// pass finds the engine's ports still in TIME-WAIT more often, and the halves drift apart).
/// - The same SYN-ACKs, timed by both (the engine's half): every quantile from p50 to p99.9
///   within 2% (seen: 0.4%; the buckets are 0.8% wide), the counts equal. The check of XDP's
///   figure with no sampling difference, only the two computations.
/// - The two halves (XDP's answered, the engine's): every attempt measured once, about half
///   each; p50 within 10% (seen: 1%); p99 within 25% (seen: within 10% in 17 of 18 runs,
///   worst 0.88). p99 lies in a sparse tail (here 0.1% of the samples spans ~20% of the
///   value: timer ticks and other periodic work delaying one attempt each), where the two
///   halves' p99 differ by sampling alone by ~5% (sd) at 50,000 samples each. The bound
///   catches a split that is not even: the fixed order XXEE put every tick-delayed attempt
///   in one half (the ticks, every 4 ms, are 100 attempts apart) and the p99s 0.3-3x apart.
#[test]
fn offload_latency_agrees_with_the_engine() {
    let p = pair("twt-olat", 1);
    p.attach_xdp_pass(&p.b)
        .expect("XDP pass program on the kernel listener's end");
    let target = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listen_at(&p, &p.b, &target, 2);
    let json = tmp("olat.json");
    let args = [
        &target[..],
        "-n",
        "100000",
        "-r",
        "25k",
        "--offload",
        "check",
        "--close",
        "fin",
    ];
    let j = connect_json(&p, &args, &json);
    assert!(
        j["config"]["handshake"]
            .as_str()
            .unwrap()
            .starts_with("xdp (half"),
        "{j}"
    );
    assert_eq!(j["established"].as_u64(), Some(100000), "{j}");
    let (x, e) = (
        &j["handshake_latency_xdp_ns"],
        &j["handshake_latency_engine_ns"],
    );
    let w = &j["handshake_latency_engine_in_xdp_ns"];
    eprintln!("XDP: {x}\nengine: {e}\nengine in XDP: {w}");
    // Each attempt measured once, by the side that answered its SYN-ACK; about half each.
    let (nx, ne) = (x["count"].as_u64().unwrap(), e["count"].as_u64().unwrap());
    let cc = &j["counters"]["steer"];
    assert_eq!(
        (nx + ne, Some(nx)),
        (100000, cc["xdp_client_established"].as_u64()),
        "{j}"
    );
    assert!((45000..=55000).contains(&nx), "{nx} of 100000 in XDP");
    let q = |h: &serde_json::Value, k: &str| h[k].as_f64().unwrap();
    let (p50, p99) = (q(x, "p50") / q(e, "p50"), q(x, "p99") / q(e, "p99"));
    eprintln!(
        "p50: XDP {:.0} ns, engine {:.0} ns ({p50:.3}); p99: XDP {:.0} ns, engine {:.0} ns ({p99:.3})",
        q(x, "p50"),
        q(e, "p50"),
        q(x, "p99"),
        q(e, "p99")
    );
    assert!((p50 - 1.0).abs() <= 0.10, "p50: {x} vs {e}");
    eprintln!(
        "p99 XDP half / engine half, both timed in XDP: {:.3}",
        q(x, "p99") / q(w, "p99")
    );
    assert!((p99 - 1.0).abs() <= 0.25, "p99: {x} vs {e}");
    // The same SYN-ACKs (no loss on the pair: none repeated, so one count each).
    assert_eq!(w["count"], e["count"], "{w} vs {e}");
    for k in ["p50", "p75", "p90", "p99", "p99_9"] {
        let r = q(w, k) / q(e, k);
        eprintln!("{k}: the engine's half, XDP / engine {r:.4}");
        assert!((r - 1.0).abs() <= 0.02, "{k}: {w} vs {e}");
    }
}
