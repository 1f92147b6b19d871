//! threeway shares its host: the kernel's own TCP connections and listeners keep working
//! while `connect` or `serve` runs on the same addresses, server frames reach the host of
//! their connection, and a count run gives every attempt an outcome without `--drain`.

mod common;

use std::time::Duration;

use common::*;
use threeway::topo::{Routed, Star};

fn tcpprobe() -> String {
    format!("{}/tests/tools/tcpprobe.py", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tcpprobe.py args` in namespace `netns` and returns its JSON line.
fn probe(netns: &str, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", netns, "python3", &tcpprobe()])
        .args(args)
        .output()
        .expect("run tcpprobe.py");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "tcpprobe {args:?}: {e}\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn connect_leaves_the_kernels_connections_alone() {
    let p = pair("twt-share", 1);
    let _peer = kernel_listener(&p, &p.b, PORT, 2);
    // A service on the generator's own address, on a port inside the source-port range.
    let _own = kernel_listener(&p, &p.a, 2222, 1);
    let j = tmp("share-connect.json");
    let mut c = KillOnDrop::new(spawn_in(
        &p,
        &p.a,
        &[
            "connect",
            "198.18.0.2:8080",
            "-i",
            "tw0",
            "-r",
            "20k",
            "-d",
            "8s",
            "--quiet",
            "--metrics",
            "198.18.0.1:9464",
            "--json",
            j.to_str().unwrap(),
        ],
    ));
    wait_attached(&p, &p.a, c.child());
    let to_own = probe(
        &p.b.netns,
        &[
            "connect",
            "198.18.0.1",
            "2222",
            "--count",
            "50",
            "--gap-ms",
            "5",
        ],
    );
    let from_own = probe(
        &p.a.netns,
        &[
            "connect",
            "198.18.0.2",
            "8080",
            "--count",
            "50",
            "--gap-ms",
            "5",
        ],
    );
    let scrape = probe(&p.b.netns, &["http", "http://198.18.0.1:9464/metrics"]);
    // A service started after threeway, on one of threeway's own source ports: within a
    // second (the kernel ports are re-read) its connections stay with the kernel too.
    let _late = kernel_listener(&p, &p.a, 3001, 1);
    std::thread::sleep(Duration::from_millis(1500));
    let to_late = probe(
        &p.b.netns,
        &[
            "connect",
            "198.18.0.1",
            "3001",
            "--count",
            "50",
            "--gap-ms",
            "5",
        ],
    );
    let out = wait_output(c.take(), Duration::from_secs(30));
    assert!(out.status.success(), "{}", text(&out));
    let v = read_json(&j);
    eprintln!(
        "connect: {} cps, established {}; probes: to own {to_own}, from own {from_own}, metrics {scrape}, to late {to_late}",
        v["cps"], v["established"]
    );
    assert_eq!(
        to_own["ok"], 50,
        "peer -> kernel listener on our address: {to_own}"
    );
    assert_eq!(
        from_own["ok"], 50,
        "kernel connections from our address: {from_own}"
    );
    assert_eq!(
        scrape["status"], 200,
        "--metrics scraped from the peer: {scrape}"
    );
    assert!(v["established"].as_u64().unwrap() > 0);
    assert_eq!(v["failed_total"], 0, "{v}");
    let passed = v["counters"]["steer"]["passed_kernel_socket"]
        .as_u64()
        .unwrap();
    assert!(
        passed >= 100,
        "kernel sockets' frames were passed by XDP: {passed}"
    );
    let cfg = v["config"].to_string();
    assert!(cfg.contains("kernel ephemeral"), "{cfg}");
    assert!(cfg.contains("held by kernel sockets: 2222"), "{cfg}");
}

#[test]
fn serve_leaves_the_kernels_connections_alone() {
    let p = pair("twt-share", 1);
    let _peer = kernel_listener(&p, &p.a, 9000, 1);
    let _own = kernel_listener(&p, &p.b, 9001, 1);
    // A port a kernel listener holds is refused up front, with what to do.
    for listen in ["198.18.0.2:9001", "9001"] {
        let out = run_in(
            &p,
            &p.b,
            &["serve", listen, "-i", "tw1"],
            Duration::from_secs(20),
        );
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(
            text(&out).contains("held by a kernel listener"),
            "{}",
            text(&out)
        );
    }
    let sj = tmp("share-serve.json");
    let cj = tmp("share-serve-client.json");
    let mut s = KillOnDrop::new(spawn_in(
        &p,
        &p.b,
        &[
            "serve",
            "198.18.0.2:8080",
            "-i",
            "tw1",
            "-d",
            "8s",
            "--quiet",
            "--json",
            sj.to_str().unwrap(),
        ],
    ));
    wait_attached(&p, &p.b, s.child());
    let mut c = KillOnDrop::new(spawn_in(
        &p,
        &p.a,
        &[
            "connect",
            "198.18.0.2:8080",
            "-i",
            "tw0",
            "-r",
            "5k",
            "-d",
            "4s",
            "--quiet",
            "--json",
            cj.to_str().unwrap(),
        ],
    ));
    wait_attached(&p, &p.a, c.child());
    let from_own = probe(
        &p.b.netns,
        &[
            "connect",
            "198.18.0.1",
            "9000",
            "--count",
            "50",
            "--gap-ms",
            "5",
        ],
    );
    let to_own = probe(
        &p.a.netns,
        &[
            "connect",
            "198.18.0.2",
            "9001",
            "--count",
            "50",
            "--gap-ms",
            "5",
        ],
    );
    let cout = wait_output(c.take(), Duration::from_secs(30));
    let sout = wait_output(s.take(), Duration::from_secs(30));
    assert!(cout.status.success(), "{}", text(&cout));
    assert!(sout.status.success(), "{}", text(&sout));
    assert_eq!(
        from_own["ok"], 50,
        "kernel connections from the server's address: {from_own}"
    );
    assert_eq!(
        to_own["ok"], 50,
        "kernel listener on the server's address: {to_own}"
    );
    let (cv, sv) = (read_json(&cj), read_json(&sj));
    assert!(cv["established"].as_u64().unwrap() > 0);
    assert_eq!(
        cv["established"], sv["accepted"],
        "client {cv}\nserver {sv}"
    );
}

/// Loads `rules` into `side`'s nftables, failing the test with nft's message.
fn nft(side: &Side, rules: &str) {
    threeway::topo::nft_in(&side.netns, rules).unwrap_or_else(|e| panic!("{e}"));
}

/// Per-client counters at the interface (netdev ingress, before anything else): TCP frames
/// from the server to this host, SYN-ACKs and RSTs among them, and frames for another host.
fn count_server_frames(side: &Side, server_mac: &str) {
    let me = side.addr.to_string();
    nft(
        side,
        &format!(
            "table netdev twc {{
               counter seen {{}}
               counter synacks {{}}
               counter rsts {{}}
               counter stray {{}}
               chain in {{
                 type filter hook ingress device tw0 priority 0;
                 ether saddr {server_mac} ip daddr != {me} counter name stray
                 ether saddr {server_mac} ip daddr {me} ip protocol tcp counter name seen
                 ether saddr {server_mac} ip daddr {me} tcp flags & (syn|ack) == syn|ack counter name synacks
                 ether saddr {server_mac} ip daddr {me} tcp flags & rst == rst counter name rsts
               }}
             }}"
        ),
    );
}

fn counter(star: &Star, side: &Side, name: &str) -> u64 {
    let out = star
        .exec(
            side,
            &["nft", "-j", "list", "counter", "netdev", "twc", name],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|o| o["counter"]["packets"].as_u64())
        .unwrap_or_else(|| panic!("counter {name}: {out}"))
}

#[test]
fn server_frames_reach_the_host_they_belong_to() {
    require_root();
    let _serial = serial();
    let star = Star::create("twt-share", 2).expect("star topology");
    let (c0, c1) = (star.clients[0].clone(), star.clients[1].clone());
    let server_mac = star
        .exec(&star.server, &["cat", "/sys/class/net/tw1/address"])
        .unwrap()
        .trim()
        .to_string();
    for c in [&c0, &c1] {
        count_server_frames(c, &server_mac);
    }
    // c0's kernel never sees the SYN-ACKs of ports 20000-20099: those connections stay in
    // the server's SYN-RECEIVED and every SYN-ACK retransmission is for c0.
    nft(
        &c0,
        "table inet twdrop {
           chain twin {
             type filter hook input priority 0;
             tcp dport 20000-20099 tcp flags & (syn|ack) == syn|ack drop
           }
         }",
    );
    let sj = tmp("share-star-server.json");
    let s = KillOnDrop::new(
        star.command(&star.server, bin())
            .args([
                "serve",
                "198.18.0.2:8080",
                "-i",
                "tw1",
                "-d",
                "7s",
                "--rto",
                "100ms",
                "--synack-retries",
                "2",
                "--idle-timeout",
                "1s",
                "--cookies",
                "never",
                "--quiet",
                "--json",
                sj.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    assert!(
        wait_for(Duration::from_secs(20), || star
            .link_show(&star.server)
            .contains("xdp")),
        "serve did not attach"
    );
    std::thread::sleep(Duration::from_millis(300));
    // c1 keeps sending, so that "the host that sent last" is almost always c1.
    let mut busy = KillOnDrop::new(
        star.command(&c1, bin())
            .args([
                "kernel",
                "connect",
                "198.18.0.2:8080",
                "--threads",
                "1",
                "-d",
                "4s",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    // 20 handshakes whose SYN-ACKs c0 drops; 20 that complete and then idle until the
    // server's idle timeout resets them (RSTs that answer no frame).
    let (lost, held) = std::thread::scope(|sc| {
        let lost = sc.spawn(|| {
            probe(
                &c0.netns,
                &[
                    "connect",
                    "198.18.0.2",
                    "8080",
                    "--count",
                    "20",
                    "--sport",
                    "20000",
                    "--timeout",
                    "2",
                    "--parallel",
                ],
            )
        });
        let held = sc.spawn(|| {
            probe(
                &c0.netns,
                &[
                    "connect",
                    "198.18.0.2",
                    "8080",
                    "--count",
                    "20",
                    "--sport",
                    "21000",
                    "--hold",
                    "2.5",
                    "--parallel",
                ],
            )
        });
        (lost.join().unwrap(), held.join().unwrap())
    });
    let _ = busy.child().wait();
    let out = wait_output(s.take(), Duration::from_secs(30));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        (lost["ok"].as_u64(), held["ok"].as_u64()),
        (Some(0), Some(20)),
        "{lost} {held}"
    );
    let sv = read_json(&sj);
    let e = &sv["counters"]["engine"];
    let got = |c: &Side, n: &str| counter(&star, c, n);
    let (c0_all, c1_all) = (got(&c0, "seen"), got(&c1, "seen"));
    eprintln!(
        "server tx {} synack_rtx {} rst {}; c0: all {c0_all} synack {} rst {}; c1: all {c1_all}",
        e["tx_frames"],
        e["synack_retransmits"],
        e["rsts_sent"],
        got(&c0, "synacks"),
        got(&c0, "rsts")
    );
    assert_eq!(
        (got(&c0, "stray"), got(&c1, "stray")),
        (0, 0),
        "frames for another host"
    );
    assert_eq!(
        c0_all + c1_all,
        e["tx_frames"].as_u64().unwrap(),
        "every server frame reached exactly one client"
    );
    assert!(e["synack_retransmits"].as_u64().unwrap() >= 40, "{e}");
    assert!(
        got(&c0, "synacks") >= 20 * 3 + 20,
        "c0 got its retransmissions"
    );
    assert_eq!(got(&c0, "rsts"), 20, "the idle-timeout RSTs reached c0");
    assert_eq!(e["tx_no_neighbour"], 0);
}

#[test]
fn count_mode_gives_every_attempt_an_outcome_under_loss() {
    require_root();
    let _serial = serial();
    let r = Routed::create("twt-share").expect("routed topology");
    r.random_loss(20).unwrap();
    let _peer = kernel_listener(&r.pair, &r.pair.b, PORT, 2);
    let j = tmp("share-loss.json");
    let out = run_in(
        &r.pair,
        &r.pair.a,
        &[
            "connect",
            "198.18.1.2:8080",
            "-i",
            "tw0",
            "-n",
            "3000",
            "-r",
            "1k",
            "--rto",
            "50ms",
            "--syn-retries",
            "6",
            "--quiet",
            "--json",
            j.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out));
    let v = read_json(&j);
    let n = |k: &str| v[k].as_u64().unwrap();
    let dropped = r
        .in_router(&["nft", "list", "table", "inet", "twloss"])
        .unwrap();
    eprintln!(
        "attempted {} established {} failed {} active {}; syn retransmits {}; router: {dropped}",
        n("attempted"),
        n("established"),
        n("failed_total"),
        n("active"),
        v["counters"]["engine"]["syn_retransmits"]
    );
    assert_eq!(n("attempted"), 3000);
    // attempted = established + failed in the handshake (+ active, 0 here).
    assert_eq!(
        n("established") + n("failed_total") - n("failed_after_handshake"),
        3000,
        "{v}"
    );
    assert_eq!(n("active"), 0);
    assert!(v["counters"]["engine"]["syn_retransmits"].as_u64().unwrap() > 300);
    assert!(
        !dropped.contains("packets 0 "),
        "the router dropped frames: {dropped}"
    );
}
