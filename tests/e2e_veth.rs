//! The datapath against real peers over veth (root; own namespaces; 198.18.0.0/15 only):
//! threeway client -> kernel listener, kernel clients -> threeway server, threeway <-> threeway
//! with 1 and 2 queues, and containment (ping + a kernel service keep working; no XDP left).

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn client_to_kernel_listener_10k() {
    let p = pair("twt-ck", 1);
    let target = format!("{}:{PORT}", p.b.addr);
    connect_to_kernel_listener_10k(&p, &target, &tmp("ck.json"));
}

#[test]
fn kernel_clients_to_threeway_server_10k() {
    let p = pair("twt-ks", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    kernel_clients_serve_10k(&p, &listen, &[], &[], &tmp("ks.json"));
}

#[test]
fn threeway_to_threeway_one_queue() {
    let (c, s) = threeway_pair(1, &[]);
    assert_eq!(c["attempted"], 20000);
    assert_eq!(c["established"], 20000, "{c}");
    assert_eq!(
        s["accepted"], c["established"],
        "server accepts = client established"
    );
}

#[test]
fn threeway_to_threeway_two_queues() {
    let (c, s) = threeway_pair(2, &[]);
    assert_eq!(c["established"], 20000, "{c}");
    assert_eq!(s["accepted"], c["established"]);
    // Client worker w uses ports with port % 2 == w and sends on queue w; the server's owner is
    // the client's port % 2, which is the queue the frame arrived on: nothing is handed off.
    assert_eq!(c["counters"]["worker"]["handoff_out"], 0, "{c}");
    assert_eq!(s["counters"]["worker"]["handoff_out"], 0, "{s}");
}

#[test]
fn two_queues_hand_off_frames_from_kernel_peers() {
    // A kernel peer picks its TX queue per socket (XPS), not by our port rule: frames land on
    // the wrong worker's queue about half the time and take the hand-off path, with no loss.
    let p = pair("twt-ho", 2);
    let listen = format!("{}:{PORT}", p.b.addr);
    let _kernel = kernel_listener(&p, &p.b, PORT, 2);
    let c = connect_json(
        &p,
        &[&listen, "-q", "2", "-n", "4000", "-r", "4k"],
        &tmp("ho-c.json"),
    );
    assert_eq!(c["established"], 4000, "{c}");
    assert!(
        c["counters"]["worker"]["handoff_out"].as_u64().unwrap() > 0,
        "{c}"
    );
    assert_eq!(c["counters"]["worker"]["handoff_dropped"], 0);

    let sj = tmp("ho-s.json");
    let target = format!("{}:{}", p.b.addr, PORT + 1);
    let server = serve_in(&p, &target, &["-q", "2"], &sj);
    kernel_connect(&p, &target, 4000, 2, &[]);
    stop_server(server);
    let s = read_json(&sj);
    assert_eq!(s["accepted"], 4000, "{s}");
    assert!(
        s["counters"]["worker"]["handoff_out"].as_u64().unwrap() > 0,
        "{s}"
    );
    assert_eq!(s["counters"]["worker"]["handoff_dropped"], 0);
}

#[test]
fn containment_and_no_xdp_left_behind() {
    let p = pair("twt-cn", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    // A kernel TCP service on another port of the same interface.
    let _other = kernel_listener(&p, &p.b, 9000, 1);
    let mut server = spawn_in(&p, &p.b, &["serve", &listen, "-i", "tw1", "--quiet"]);
    wait_attached(&p, &p.b, &mut server);
    p.exec(
        &p.a,
        &[
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            &p.b.addr.to_string(),
        ],
    )
    .expect("ping through XDP");
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
    let k: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        k["established"], 50,
        "kernel service on another port must keep working"
    );
    signal(&server, "-INT");
    let sout = wait_output(server, LIMIT);
    assert!(sout.status.success(), "{}", text(&sout));
    assert!(
        !p.link_show(&p.b).contains("xdp"),
        "XDP left after a normal exit: {}",
        p.link_show(&p.b)
    );
    // SIGKILL: the bpf_link dies with the process.
    let mut server = spawn_in(&p, &p.b, &["serve", &listen, "-i", "tw1", "--quiet"]);
    wait_attached(&p, &p.b, &mut server);
    server.kill().unwrap();
    server.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !p.link_show(&p.b).contains("xdp"),
        "XDP left after SIGKILL: {}",
        p.link_show(&p.b)
    );
}

#[test]
fn emulated_sources_answer_arp_for_the_kernel_peer() {
    // Source addresses the kernel in ns a does not own: the peer kernel ARPs for them and
    // threeway answers (the XDP program steers those ARP requests to our sockets).
    let p = pair("twt-em", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listener(&p, &p.b, PORT, 2);
    let j = connect_json(
        &p,
        &[
            &listen,
            "-n",
            "2000",
            "-r",
            "2k",
            "-s",
            "198.18.0.10-198.18.0.13",
        ],
        &tmp("em.json"),
    );
    assert_eq!(j["established"], 2000, "{j}");
    assert!(
        j["counters"]["worker"]["arp_replies"].as_u64().unwrap() >= 4,
        "{j}"
    );
    let neigh = p
        .exec(&p.b, &["ip", "neigh", "show", "dev", "tw1"])
        .unwrap();
    for host in 10..=13 {
        assert!(
            neigh.contains(&format!("198.18.0.{host} ")),
            "peer learned 198.18.0.{host}: {neigh}"
        );
    }
}

#[test]
fn partial_checksums_from_a_kernel_peer_are_counted() {
    // A kernel peer with TX checksum offload on hands veth frames whose TCP checksum covers only
    // the pseudo-header (CHECKSUM_PARTIAL). threeway verifies checksums, so those SYN-ACKs are
    // dropped under `bad_checksum` (and the handshakes time out) instead of being trusted.
    let p = pair("twt-pc", 1);
    p.exec(&p.b, &["ethtool", "-K", "tw1", "tx", "on"]).unwrap();
    let listen = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listener(&p, &p.b, PORT, 1);
    let json = tmp("pc.json");
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            "20",
            "-r",
            "100",
            "--rto",
            "50ms",
            "--syn-retries",
            "1",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
        LIMIT,
    );
    let j = read_json(&json);
    assert!(
        j["drops"]["bad_checksum"].as_u64().unwrap_or(0) >= 20,
        "{}\n{j}",
        text(&out)
    );
    assert_eq!(j["established"], 0, "{j}");
}

#[test]
fn server_idle_timeout_frees_held_connections() {
    // Clients hold connections open (`--close none --hold 3s`); the server resets them after
    // `--idle-timeout 500ms`, so a lost client RST cannot hold a table slot forever.
    let p = pair("twt-it", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let sj = tmp("it-s.json");
    let mut server = serve_in(&p, &listen, &["--idle-timeout", "500ms"], &sj);
    let cj = tmp("it-c.json");
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            "50",
            "-r",
            "500",
            "--close",
            "none",
            "--hold",
            "3s",
            "--quiet",
            "--json",
            cj.to_str().unwrap(),
        ],
        LIMIT,
    );
    signal(server.child(), "-INT");
    let sout = wait_output(server.take(), LIMIT);
    assert!(out.status.success(), "{}", text(&out));
    let (c, s) = (read_json(&cj), read_json(&sj));
    assert_eq!(c["established"], 50, "{c}");
    assert_eq!(
        c["counters"]["engine"]["outcome_reset"], 50,
        "the server reset every idle connection: {c}"
    );
    assert_eq!(s["counters"]["engine"]["active"], 0, "{}", text(&sout));
}

#[test]
fn many_sources_are_steered_as_a_prefix() {
    // 40 sources (more than the program's 16-entry list), the kernel's own 198.18.0.1 among
    // them: steered as 198.18.0.0/26; ARP for .10-.48 is answered by threeway, ARP for .1
    // stays with the kernel. (.2 is the peer: never a source.)
    let p = pair("twt-px", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listener(&p, &p.b, PORT, 2);
    let j = connect_json(
        &p,
        &[
            &listen,
            "-n",
            "4000",
            "-r",
            "4k",
            "-s",
            "198.18.0.1",
            "-s",
            "198.18.0.10-198.18.0.48",
        ],
        &tmp("px.json"),
    );
    assert_eq!(j["established"], 4000, "{j}");
    assert!(
        j["counters"]["worker"]["arp_replies"].as_u64().unwrap() >= 39,
        "{j}"
    );
    let neigh = p
        .exec(&p.b, &["ip", "neigh", "show", "dev", "tw1"])
        .unwrap();
    assert!(
        neigh.contains("198.18.0.48 "),
        "peer learned .48 from threeway: {neigh}"
    );
    // The kernel still answers for its own address inside the prefix.
    p.exec(&p.b, &["ip", "neigh", "flush", "dev", "tw1"])
        .unwrap();
    p.exec(&p.b, &["ping", "-c", "1", "-W", "2", "198.18.0.1"])
        .expect("kernel ARP for .1 untouched");
}
