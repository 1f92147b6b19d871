//! Loss and disorder: 20% loss, 5 ms +- 2 ms delay, 10% reordering and 5% duplication on
//! every TCP frame, both directions, with the client at `--rto 50ms --syn-retries 6`, against
//! (a) the kernel's listener and (b) `threeway serve` (root; own namespaces; 198.18.0.0/15).
//!
//! The impairment is `twnet.py relay` in a middle namespace (see `ImpairedPair`): this kernel
//! has no sch_netem, and a netem qdisc on tw0/tw1 would not touch AF_XDP traffic anyway
//! (AF_XDP TX bypasses the qdisc layer, XDP RX runs before tc ingress).
//!
//! # What the listener counts, and the identity we assert
//!
//! With `--close rst` the client answers the SYN-ACK with the final ACK and an RST back to
//! back. Our `established` counts SYN-ACKs taken; the listener counts a passive open only
//! when the final ACK reaches a request socket. Each request socket ends in one way:
//! - the ACK arrives first: a child socket, `Tcp:PassiveOpens` (server: `accepted`);
//! - the RST arrives first (the ACK was lost, or jitter let the RST overtake it - about half
//!   of the cases here): the request is dropped, `TcpExt:EmbryonicRsts` (server:
//!   `accept_failed`), and *no* passive open although we counted `established`;
//! - both lost: it stays SYN-RECV until a SYN-ACK retransmission reaches the client, which
//!   has no TCB any more and answers RST: an embryonic reset again.
//!
//! So `PassiveOpens == established` does NOT hold under loss (only `<=`). What holds exactly is
//! request-socket bookkeeping: every request socket the listener opened is a passive open,
//! an embryonic reset or still SYN-RECV, and the listener opened one per established attempt,
//! plus one per SYN copy that arrived after its connection had already ended (a duplicate or
//! a retransmission overtaken by the RST: `late`, counted by the relay's per-tuple model),
//! plus at most one per attempt that timed out:
//!
//! `established + late + timeouts_seen == PassiveOpens + EmbryonicRsts + syn_recv_now`,
//! with `0 <= timeouts_seen <= failed.timeout`.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const NETEM: Impairment = Impairment {
    loss: 0.20,
    delay_ms: 5.0,
    jitter_ms: 2.0,
    reorder: 0.10,
    duplicate: 0.05,
};
const COUNT: u64 = 3000;
const LIMIT: Duration = Duration::from_secs(60);

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Runs the impaired client against `listen` and checks the client-side identities.
fn client(ip: &ImpairedPair, listen: &str, json: &std::path::Path) -> Value {
    let p = &ip.p;
    let out = run_in(
        p,
        &p.a,
        &[
            "connect",
            listen,
            "-i",
            "tw0",
            "-n",
            &COUNT.to_string(),
            "-r",
            "1k",
            "--rto",
            "50ms",
            "--syn-retries",
            "6",
            // The last SYN retransmission can be 3.2 s after the first: wait for every attempt.
            "--drain",
            "10s",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out));
    let j = read_json(json);
    let e = &j["counters"]["engine"];
    let (att, est, failed, active) = (
        n(&j["attempted"]),
        n(&j["established"]),
        n(&j["failed_total"]),
        n(&j["active"]),
    );
    assert_eq!(att, COUNT, "{j}");
    assert_eq!(
        active, 0,
        "drained: nothing may be left in the handshake\n{j}"
    );
    assert_eq!(
        att,
        est + failed + active,
        "attempted = established + failed + active\n{j}"
    );
    // Exactly one outcome per attempt: with RST close an established attempt ends `closed`,
    // every other outcome is a handshake failure, and nothing was aborted by the end of run.
    assert_eq!(n(&e["aborted"]), 0, "{j}");
    assert_eq!(n(&j["closed"]), est, "{j}");
    assert_eq!(n(&e["outcome_closed"]) + failed, att, "{j}");
    assert!(
        n(&j["syn_retransmits"]) > 0,
        "20% loss must cost SYN retransmissions\n{j}"
    );
    // 7 SYNs, each answered with 64% probability: a timeout is a ~1e-3 event per attempt.
    assert!(est * 1000 >= att * 995, "too many failures under loss: {j}");
    j
}

fn check_relay(r: &Value) {
    for d in ["ab", "ba"] {
        let s = &r[d];
        for k in ["lost", "duplicated", "reordered", "delayed"] {
            assert!(n(&s[k]) > 0, "relay {d}: no {k} frames: {r}");
        }
        let lost = n(&s["lost"]) as f64 / n(&s["tcp"]) as f64;
        assert!(
            (0.15..0.25).contains(&lost),
            "relay {d}: loss {lost:.3}: {r}"
        );
    }
}

/// (PassiveOpens, EmbryonicRsts, SYN-RECV sockets) in one consistent snapshot: the counters
/// read the same before and after counting the SYN-RECV sockets.
fn listener_snapshot(p: &VethPair) -> (u64, u64, u64) {
    let counters = || {
        (
            p.snmp(&p.b, "Tcp", "PassiveOpens").unwrap(),
            p.snmp(&p.b, "TcpExt", "EmbryonicRsts").unwrap(),
        )
    };
    for _ in 0..50 {
        let c0 = counters();
        let q = p
            .exec(&p.b, &["ss", "-Htan", "state", "syn-recv"])
            .unwrap()
            .lines()
            .count() as u64;
        if counters() == c0 {
            return (c0.0, c0.1, q);
        }
    }
    panic!("listener counters never stable");
}

#[test]
fn loss_and_disorder_against_kernel_listener() {
    let mut ip = ImpairedPair::create("twr-lk", NETEM);
    let p = &ip.p;
    let listen = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listener(p, &p.b, PORT, 1);
    let (p0, r0, q0) = listener_snapshot(p);
    assert_eq!(q0, 0);
    let j = client(&ip, &listen, &tmp("lk.json"));
    let p = &ip.p;
    let (p1, r1, q) = listener_snapshot(p);
    let relay = ip.stop_relay();
    check_relay(&relay);
    let (passive, embryonic) = (p1 - p0, r1 - r0);
    let est = n(&j["established"]);
    let timeouts = n(&j["failed"]["timeout"]);
    let m = &relay["model"];
    let (requests, syn_tuples) = (n(&m["requests"]), n(&m["syn_tuples"]));
    let late = requests - syn_tuples;
    let report = format!(
        "established {est}, timeouts {timeouts}; kernel: PassiveOpens +{passive}, \
         EmbryonicRsts +{embryonic}, SYN-RECV {q}; relay model: {m}"
    );
    eprintln!("kernel listener under loss: {report}");
    assert!(passive > 0 && passive <= est, "{report}");
    assert!(
        embryonic > 0,
        "the RST overtakes the ACK about half of the time: {report}"
    );
    // The listener's bookkeeping matches the relay's model of what it delivered.
    assert_eq!(passive + embryonic + q, requests, "{report}");
    // And our established count, through that bookkeeping.
    let seen = (passive + embryonic + q)
        .checked_sub(est + late)
        .unwrap_or_else(|| panic!("listener saw fewer requests than we established: {report}"));
    assert!(seen <= timeouts, "{report}");
}

#[test]
fn loss_and_disorder_against_threeway_serve() {
    let mut ip = ImpairedPair::create("twr-ls", NETEM);
    let p = &ip.p;
    let listen = format!("{}:{PORT}", p.b.addr);
    let sjson = tmp("ls-server.json");
    let server = serve_in(
        p,
        &listen,
        &["--rto", "50ms", "--synack-retries", "6"],
        &sjson,
    );
    let j = client(&ip, &listen, &tmp("ls-client.json"));
    // Let SYN-ACK retransmissions for lost ACK+RST pairs reach the (gone) client's kernel,
    // whose RST ends them (50, 100, 200 ms ...).
    std::thread::sleep(Duration::from_millis(1500));
    stop_server(server);
    let relay = ip.stop_relay();
    check_relay(&relay);
    let s = read_json(&sjson);
    let se = &s["counters"]["engine"];
    let est = n(&j["established"]);
    let timeouts = n(&j["failed"]["timeout"]);
    let (syn_received, accepted, accept_failed) = (
        n(&s["syn_received"]),
        n(&s["accepted"]),
        n(&se["accept_failed"]),
    );
    let m = &relay["model"];
    let (requests, syn_tuples) = (n(&m["requests"]), n(&m["syn_tuples"]));
    let late = requests - syn_tuples;
    let report = format!(
        "established {est}, timeouts {timeouts}; server: syn_received {syn_received}, \
         accepted {accepted}, accept_failed {accept_failed}, synack_retransmits {}, aborted at \
         exit {} (established, their RST lost: `serve --close none` never times them out), \
         drops {}; relay model: {m}",
        s["synack_retransmits"], se["aborted"], s["drops"]
    );
    eprintln!("threeway serve under loss: {report}");
    assert_eq!(n(&s["cookies_sent"]), 0, "{report}");
    assert!(n(&s["synack_retransmits"]) > 0, "{report}");
    assert!(accepted > 0 && accepted <= est, "{report}");
    assert!(accept_failed > 0, "{report}");
    // Every SYN the server took as a new request is one the relay's model predicts.
    assert_eq!(syn_received, requests, "{report}");
    let seen = syn_received
        .checked_sub(est + late)
        .unwrap_or_else(|| panic!("server saw fewer requests than we established: {report}"));
    assert!(seen <= timeouts, "{report}");
    // Requests still half-open at the end were aborted (counted), none lost track of.
    assert!(accepted + accept_failed <= syn_received, "{report}");
}
