//! Containment (root; own namespaces): while a client holds 200 connections to `threeway
//! serve` (XDP on both ends of the veth), the kernel's own traffic is untouched - ICMP ping,
//! ARP for the kernel's addresses (both ways), a kernel TCP service on another port - and
//! RSTs injected with random sequence numbers into the 200 connections' tuples, from both
//! sides, tear nothing down: they are dropped as `rst_invalid` (out of window) or answered
//! by a challenge ACK (`challenged`, in window but not exact; RFC 5961).

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);
const HELD: u64 = 200;

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// `ip neigh` entry for `addr` on `side` after flushing the table and pinging `addr`.
fn resolve_fresh(p: &VethPair, side: &Side, addr: &str) -> String {
    p.exec(side, &["ip", "neigh", "flush", "dev", &side.iface])
        .unwrap();
    p.exec(side, &["ping", "-c", "2", "-i", "0.2", "-W", "2", addr])
        .unwrap_or_else(|e| panic!("ping {addr} from {}: {e}", side.netns));
    p.exec(side, &["ip", "neigh", "show", addr, "dev", &side.iface])
        .unwrap()
}

#[test]
fn kernel_traffic_untouched_and_injected_rsts_tear_nothing_down() {
    let p = pair("twr-ct", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let _kernel_service = KillOnDrop::new(
        p.command(&p.b, bin())
            .args([
                "kernel",
                "listen",
                &format!("{}:9000", p.b.addr),
                "--threads",
                "1",
            ])
            .spawn()
            .unwrap(),
    );
    wait_listening(&p, &p.b, 9000);
    let (cjson, sjson) = (tmp("ct-client.json"), tmp("ct-server.json"));
    let server = serve_in(&p, &listen, &[], &sjson);
    let sports = format!("20000-{}", 20000 + HELD - 1);
    let mut client = KillOnDrop::new(spawn_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            &HELD.to_string(),
            "-r",
            "1k",
            "--sport",
            &sports,
            "--close",
            "none",
            "--hold",
            "4s",
            "--quiet",
            "--json",
            cjson.to_str().unwrap(),
        ],
    ));
    wait_attached(&p, &p.a, client.child());
    std::thread::sleep(Duration::from_millis(500)); // all 200 established and held

    // ICMP and ARP for the kernels' own addresses, both ways.
    let (mac_a, mac_b) = (mac_of(&p, &p.a), mac_of(&p, &p.b));
    let neigh = resolve_fresh(&p, &p.a, &p.b.addr.to_string());
    assert!(
        neigh.contains(&mac_b),
        "ns a resolves {}: {neigh}",
        p.b.addr
    );
    let neigh = resolve_fresh(&p, &p.b, &p.a.addr.to_string());
    assert!(
        neigh.contains(&mac_a),
        "ns b resolves {}: {neigh}",
        p.a.addr
    );
    // A kernel TCP service on another port of the same address.
    let out = run_in(
        &p,
        &p.a,
        &[
            "kernel",
            "connect",
            &format!("{}:9000", p.b.addr),
            "-n",
            "50",
            "--threads",
            "1",
            "--json",
        ],
        LIMIT,
    );
    let k: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(k["established"], 50, "kernel service on :9000: {k}");

    // RST injection into the held tuples: towards the server (from ns a, as the client)...
    let to_server = twnet_in(
        &p.a.netns,
        &[
            "rst",
            "--iface",
            "tw0",
            "--dst-mac",
            &mac_b,
            "--src",
            &p.a.addr.to_string(),
            "--sports",
            &sports,
            "--dst",
            &p.b.addr.to_string(),
            "--dports",
            &PORT.to_string(),
            "--rounds",
            "3",
        ],
        LIMIT,
    );
    // ... and towards the client (from ns b, as the server).
    let to_client = twnet_in(
        &p.b.netns,
        &[
            "rst",
            "--iface",
            "tw1",
            "--dst-mac",
            &mac_a,
            "--src",
            &p.b.addr.to_string(),
            "--sports",
            &PORT.to_string(),
            "--dst",
            &p.a.addr.to_string(),
            "--dports",
            &sports,
            "--rounds",
            "3",
            "--seed",
            "2",
        ],
        LIMIT,
    );
    let (inj_s, inj_c) = (n(&to_server["sent"]), n(&to_client["sent"]));
    let cout = wait_output(client.take(), LIMIT);
    assert!(cout.status.success(), "{}", text(&cout));
    stop_server(server);
    let (c, s) = (read_json(&cjson), read_json(&sjson));
    let dropped = |j: &Value, r: &str| j["drops"][r].as_u64().unwrap_or(0);
    let report = format!(
        "injected {inj_s} -> server, {inj_c} -> client; client: established {}, outcomes \
         closed {} reset {}, drops {}, challenge_acks {}; server: accepted {}, drops {}, \
         challenge_acks {}",
        c["established"],
        c["closed"],
        c["failed"]["reset"],
        c["drops"],
        c["counters"]["engine"]["challenge_acks"],
        s["accepted"],
        s["drops"],
        s["counters"]["engine"]["challenge_acks"],
    );
    eprintln!("containment: {report}");
    assert_eq!(inj_s, HELD * 2 * 3);
    assert_eq!(n(&c["established"]), HELD, "{report}");
    assert_eq!(
        n(&c["failed"]["reset"]),
        0,
        "no injected RST may reset: {report}"
    );
    assert_eq!(
        n(&c["closed"]),
        HELD,
        "every connection closed as configured: {report}"
    );
    assert_eq!(n(&s["accepted"]), HELD, "{report}");
    // Every injected RST was dropped as out of window or challenged, on both sides.
    assert_eq!(
        dropped(&s, "rst_invalid") + dropped(&s, "challenged"),
        inj_s,
        "{report}"
    );
    assert_eq!(
        dropped(&c, "rst_invalid") + dropped(&c, "challenged"),
        inj_c,
        "{report}"
    );
    assert!(
        dropped(&s, "rst_invalid") > 0 && dropped(&c, "rst_invalid") > 0,
        "{report}"
    );
    // The server's connections ended by the client's own RST close only (outcome `reset`
    // on the server side), all 200 of them.
    assert_eq!(
        n(&s["counters"]["engine"]["outcome_reset"]),
        HELD,
        "{report}"
    );
    // And the kernel path still answers after all that.
    p.exec(&p.a, &["ping", "-c", "1", "-W", "2", &p.b.addr.to_string()])
        .expect("ping after the run");
}
