//! IPv6 end to end over veth (root; own namespaces; 2001:2::/48 and 198.18.0.0/15 only):
//! threeway -> kernel IPv6 listener, kernel IPv6 clients -> `threeway serve`, threeway <->
//! threeway over IPv6 (1 and 2 queues, SYN cookies), 64 emulated sources whose Neighbor
//! Solicitations threeway answers, and one run with an IPv4 and an IPv6 target.
//!
//! Addresses are added with `nodad` (and DAD is off on the interfaces): a tentative address
//! would neither send nor answer for the first second or so.

mod common;

use std::process::Stdio;

use common::*;

use threeway::topo::{IPV6_A as A6, IPV6_B as B6};

/// A veth pair with 2001:2::1/64 (a) and 2001:2::2/64 (b) besides the IPv4 addresses; b
/// reaches 2001:2:0:1::/64 (emulated sources of a) on-link.
fn pair6(prefix: &str, queues: u32) -> Lab {
    let p = pair(prefix, queues);
    p.add_ipv6().unwrap();
    p.exec(
        &p.b,
        &["ip", "-6", "route", "add", "2001:2:0:1::/64", "dev", "tw1"],
    )
    .unwrap();
    p
}

#[test]
fn ipv6_client_to_kernel_listener_10k() {
    let p = pair6("twt6-ck", 1);
    let target = format!("[{B6}]:{PORT}");
    let j = connect_to_kernel_listener_10k(&p, &target, &tmp("6ck.json"));
    assert_eq!(j["families"]["ipv6"]["established"], 10000, "{j}");
}

#[test]
fn ipv6_kernel_clients_to_threeway_server_10k() {
    let p = pair6("twt6-ks", 1);
    let listen = format!("[{B6}]:{PORT}");
    let (j, _) = kernel_clients_serve_10k(&p, &listen, &[], &[], &tmp("6ks.json"));
    assert_eq!(j["families"]["ipv6"]["accepted"], 10000, "{j}");
}

/// threeway serve [B6]:PORT <- threeway connect, `queues` queues, `extra` server flags.
fn threeway_pair6(queues: u32, extra: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let p = pair6(&format!("twt6-tt{queues}"), queues);
    threeway_pair_on(&p, &format!("[{B6}]:{PORT}"), queues, extra, &[])
}

#[test]
fn ipv6_threeway_to_threeway_one_queue() {
    let (c, s) = threeway_pair6(1, &[]);
    assert_eq!(c["established"], 20000, "{c}");
    assert_eq!(s["accepted"], c["established"]);
    assert_eq!(c["families"]["ipv6"]["established"], 20000);
}

#[test]
fn ipv6_threeway_to_threeway_two_queues() {
    let (c, s) = threeway_pair6(2, &[]);
    assert_eq!(c["established"], 20000, "{c}");
    assert_eq!(s["accepted"], c["established"]);
    assert_eq!(c["counters"]["worker"]["handoff_out"], 0, "{c}");
    assert_eq!(s["counters"]["worker"]["handoff_out"], 0, "{s}");
}

#[test]
fn ipv6_threeway_to_threeway_with_cookies() {
    let (c, s) = threeway_pair6(1, &["--cookies", "always"]);
    assert_eq!(c["established"], 20000, "{c}");
    assert_eq!(s["accepted"], c["established"]);
    assert_eq!(s["cookies_accepted"], 20000, "{s}");
}

#[test]
fn ipv6_emulated_sources_answer_neighbor_solicitations() {
    let p = pair6("twt6-em", 1);
    let target = format!("[{B6}]:{PORT}");
    let _server = kernel_listen_at(&p, &p.b, &target, 2);
    // The kernel's own addresses keep working while the run lasts (~3 s).
    let ping = p
        .command(&p.b, "ping")
        .args(["-6", "-c", "10", "-i", "0.2", "-W", "1", A6])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ping");
    let ping = KillOnDrop::new(ping);
    let j = connect_json(
        &p,
        &[
            &target,
            "-n",
            "6400",
            "-r",
            "2k",
            "-s",
            "2001:2:0:1::1-2001:2:0:1::40",
        ],
        &tmp("6em.json"),
    );
    let pout = ping.take().wait_with_output().unwrap();
    assert_eq!(j["established"], 6400, "{j}");
    assert!(
        j["counters"]["worker"]["nd_replies"].as_u64().unwrap() >= 64,
        "{j}"
    );
    let neigh = p
        .exec(&p.b, &["ip", "-6", "neigh", "show", "dev", "tw1"])
        .unwrap();
    for host in 1..=64 {
        let a = format!("2001:2:0:1::{host:x} ");
        assert!(neigh.contains(&a), "peer learned {a}: {neigh}");
    }
    let ptext = String::from_utf8_lossy(&pout.stdout);
    assert!(
        pout.status.success() && ptext.contains(" 0% packet loss"),
        "ping -6 during the run: {ptext}"
    );
}

#[test]
fn ipv4_and_ipv6_targets_in_one_run() {
    let p = pair6("twt6-ds", 1);
    // One dual-stack kernel listener takes both families.
    let _server = kernel_listen_at(&p, &p.b, &format!("[::]:{PORT}"), 2);
    let t4 = format!("{}:{PORT}", p.b.addr);
    let t6 = format!("[{B6}]:{PORT}");
    let j = connect_json(&p, &[&t4, &t6, "-n", "4000", "-r", "4k"], &tmp("6ds.json"));
    let f = &j["families"];
    let sum = |k: &str| f["ipv4"][k].as_u64().unwrap() + f["ipv6"][k].as_u64().unwrap();
    assert_eq!(j["attempted"], 4000, "{j}");
    assert_eq!(sum("attempted"), 4000, "{f}");
    assert_eq!(
        sum("established"),
        j["established"].as_u64().unwrap(),
        "{f}"
    );
    assert_eq!(j["established"], 4000, "{j}");
    let closed = f["ipv4"]["outcomes"]["closed"].as_u64().unwrap()
        + f["ipv6"]["outcomes"]["closed"].as_u64().unwrap();
    assert_eq!(closed, j["closed"].as_u64().unwrap(), "{f}");
    for fam in ["ipv4", "ipv6"] {
        assert!(
            f[fam]["established"].as_u64().unwrap() >= 1000,
            "{fam}: {f}"
        );
    }
}
