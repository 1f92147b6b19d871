//! Malformed frames through the real path: `twnet.py malformed` (AF_PACKET in ns a, out of
//! tw0, to the server's MAC/IP/port) sends every kind of broken frame while a legitimate
//! client runs; the server's JSON `drops` must count each reason exactly, the legitimate
//! connections must all be established, and nothing may panic (root; own namespaces).
//!
//! What really happens to each kind (asserted below):
//! - the engine counts: `bad_checksum` (IP and TCP), `bad_option_len` (length 0, past the
//!   header, MSS with length 3), `bad_flags` (SYN+FIN, SYN+RST, no flags, FIN alone),
//!   `no_connection` (RST to nothing), `cookie_invalid` (ACK to nothing, `--cookies auto`);
//! - the XDP program reads headers as the engine does (`bpf/parsing.h` = `wire::headers`), so
//!   every frame whose headers are malformed is passed to the kernel as a parse error
//!   (`parse_errors`), never taken and then dropped: IP total length past the frame and a
//!   frame cut inside the TCP header (`IpExt:InTruncatedPkts`), an IHL below 5 or past the
//!   total length (`Ip:InHdrErrors`), a TCP data offset of 4 or past the segment; IPv4
//!   fragments (reassembly is the kernel's: `Ip:ReasmOKs`), unknown EtherTypes (the kernel
//!   has no handler: `rx_dropped`). So no header-bounds reason (`truncated`, `bad_length`,
//!   `bad_ihl`, `bad_data_offset`, `fragment`, `unknown_ethertype`) reaches the engine.
//! - oversized (2600 B, with the path's MTU raised to 3000): bigger than a 2 KiB UMEM frame,
//!   the kernel refuses it at the socket (`XDP_STATISTICS` `rx_dropped`).
//!
//! IPv6 (`twnet.py malformed` with IPv6 addresses; the same test body, other data):
//! - the engine counts `bad_checksum` (TCP), `bad_option_len`, `bad_flags`, `no_connection`,
//!   `cookie_invalid` as for IPv4;
//! - XDP passes as parse errors: payload length past the frame or short of the TCP header, a
//!   frame cut inside the TCP header, data offsets 4 and 15;
//! - extension headers walked to TCP (hop-by-hop, destination options, routing with no
//!   segments left, and a chain of all three) are redirected: SYNs the engine takes
//!   (`syn_received`), never a drop;
//! - not walked, passed to the kernel (`passed`): a routing header with segments left, five
//!   headers (over `MAX_IPV6_EXT`), an unknown next header (`Ip6InUnknownProtos`); a
//!   fragment pair (`passed_fragments`, `Ip6ReasmOKs`). So neither `ipv6_ext_header` nor
//!   `fragment` reaches the engine on the real path.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use threeway::topo::{IPV6_B, VethPair};

const LIMIT: Duration = Duration::from_secs(60);
const REPEAT: u64 = 40;
const LEGIT: u64 = 3000;

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A kernel counter of the server's namespace.
#[derive(Clone, Copy, Debug)]
enum Kernel {
    /// /proc/net/snmp or netstat: (group, name).
    Snmp(&'static str, &'static str),
    /// /proc/net/snmp6 (one `Name value` a line).
    Snmp6(&'static str),
    /// The server interface's link statistic.
    Link(&'static str),
}

fn kernel_count(p: &VethPair, k: Kernel) -> u64 {
    match k {
        Kernel::Snmp(group, name) => p.snmp(&p.b, group, name).unwrap(),
        Kernel::Snmp6(name) => {
            let text = p.exec(&p.b, &["cat", "/proc/net/snmp6"]).unwrap();
            text.lines()
                .find_map(|l| {
                    let mut w = l.split_whitespace();
                    (w.next() == Some(name)).then(|| w.next().unwrap().parse().unwrap())
                })
                .unwrap_or_else(|| panic!("{name} not in /proc/net/snmp6"))
        }
        Kernel::Link(name) => link_stat(p, &p.b, name),
    }
}

/// What one family's malformed kinds must come to; counts are in units of REPEAT rounds.
struct Expect {
    prefix: &'static str,
    ipv6: bool,
    /// Generator source: an address of ns a's subnet that nobody uses (the server's answers
    /// to it die in ns a's kernel).
    src: &'static str,
    /// Engine drop reasons only malformed frames can cause: exact.
    exact: &'static [(&'static str, u64)],
    /// The legitimate run can add to these when a stall on this shared machine outlasts the
    /// client's RTO (a retransmitted SYN, then an RST for the second SYN-ACK): at least.
    at_least: &'static [(&'static str, u64)],
    /// Steer counters: exact.
    steer: &'static [(&'static str, u64)],
    /// Steer `passed` (also ND, ARP and the like): at least.
    passed: u64,
    /// Kernel counters of ns b: (counter, rounds, exact or at least).
    kernel: &'static [(Kernel, u64, bool)],
    /// Refused by the socket (`XDP_STATISTICS` `rx_dropped`).
    socket_refused: u64,
    /// Malformed SYNs the engine takes (extension headers walked to TCP).
    syns_taken: u64,
}

const IPV4: Expect = Expect {
    prefix: "twr-mf",
    ipv6: false,
    src: "198.18.0.9",
    exact: &[("bad_checksum", 2), ("bad_option_len", 3), ("bad_flags", 4)],
    at_least: &[("no_connection", 1), ("cookie_invalid", 1)],
    // truncated, truncated_short, ihl_small, ihl_past_total, doff_small, doff_large.
    steer: &[("parse_errors", 6), ("passed_fragments", 2)],
    passed: 2, // unknown EtherTypes
    kernel: &[
        (Kernel::Snmp("Ip", "InHdrErrors"), 2, false), // IHL 4, IHL past total
        (Kernel::Snmp("IpExt", "InTruncatedPkts"), 2, false), // past the frame, cut
        (Kernel::Snmp("Ip", "ReasmOKs"), 1, true),
        // Unknown EtherTypes have no handler (the oversized frames XDP could not redirect
        // are counted there too).
        (Kernel::Link("rx_dropped"), 2, false),
    ],
    socket_refused: 1, // oversized
    syns_taken: 0,
};

const IPV6: Expect = Expect {
    prefix: "twr-mf6",
    ipv6: true,
    src: "2001:2::9",
    exact: &[("bad_checksum", 1), ("bad_option_len", 3), ("bad_flags", 4)],
    at_least: &[("no_connection", 1), ("cookie_invalid", 1)],
    // plen_past, plen_short, truncated_short, doff_small, doff_large.
    steer: &[("parse_errors", 5), ("passed_fragments", 2)],
    passed: 3, // ext_routing_left, ext_five, ext_unknown
    kernel: &[
        (Kernel::Snmp6("Ip6ReasmOKs"), 1, true),
        (Kernel::Snmp6("Ip6InUnknownProtos"), 1, true),
        (Kernel::Snmp6("Ip6InHdrErrors"), 1, false), // routing header with segments left
    ],
    socket_refused: 0,
    syns_taken: 4, // ext_hop_by_hop, ext_dest_opts, ext_routing_done, ext_chain
};

#[test]
fn malformed_frames_are_counted_and_legitimate_connections_complete() {
    malformed_run(&IPV4);
}

#[test]
fn malformed_ipv6_frames_are_counted_and_legitimate_connections_complete() {
    malformed_run(&IPV6);
}

fn malformed_run(e: &Expect) {
    let p = pair(e.prefix, 1);
    if e.ipv6 {
        p.add_ipv6().unwrap();
    }
    for side in [&p.a, &p.b] {
        p.exec(side, &["ip", "link", "set", &side.iface, "mtu", "3000"])
            .unwrap();
    }
    let (dst, listen) = if e.ipv6 {
        (IPV6_B.to_string(), format!("[{IPV6_B}]:{PORT}"))
    } else {
        (p.b.addr.to_string(), format!("{}:{PORT}", p.b.addr))
    };
    let (cjson, sjson) = (tmp("mf-client.json"), tmp("mf-server.json"));
    let server = serve_in(&p, &listen, &["--cookies", "auto"], &sjson);
    let k0: Vec<u64> = e.kernel.iter().map(|k| kernel_count(&p, k.0)).collect();
    let legit = LEGIT.to_string();
    let mut client = KillOnDrop::new(spawn_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            &legit,
            "-r",
            "1k",
            "--rto",
            "1s",
            "--quiet",
            "--json",
            cjson.to_str().unwrap(),
        ],
    ));
    wait_attached(&p, &p.a, client.child());
    // While the client runs: 40 rounds, 25 ms apart.
    let g = twnet_in(
        &p.a.netns,
        &[
            "malformed",
            "--iface",
            "tw0",
            "--dst-mac",
            &mac_of(&p, &p.b),
            "--src",
            e.src,
            "--dst",
            &dst,
            "--dport",
            &PORT.to_string(),
            "--repeat",
            &REPEAT.to_string(),
            "--gap-ms",
            "25",
        ],
        LIMIT,
    );
    assert_eq!(g["errors"], serde_json::json!({}), "generator: {g}");
    let cout = wait_output(client.take(), LIMIT);
    assert!(cout.status.success(), "{}", text(&cout));
    std::thread::sleep(Duration::from_millis(200));
    stop_server(server);
    let (c, s) = (read_json(&cjson), read_json(&sjson));
    let kd: Vec<u64> = e
        .kernel
        .iter()
        .zip(&k0)
        .map(|(k, k0)| kernel_count(&p, k.0) - k0)
        .collect();
    let kernel_report: Vec<String> = e
        .kernel
        .iter()
        .zip(&kd)
        .map(|(k, d)| format!("{:?} +{d}", k.0))
        .collect();
    let report = format!(
        "sent {}; server drops {}; xdp {}; steer {}; syn_received {}; kernel {}; legit {}/{}",
        g["sent"],
        s["drops"],
        s["counters"]["xdp"],
        s["counters"]["steer"],
        s["syn_received"],
        kernel_report.join(", "),
        c["established"],
        c["attempted"]
    );
    eprintln!("malformed (ipv6: {}): {report}", e.ipv6);
    for (kind, sent) in g["sent"].as_object().unwrap() {
        assert_eq!(n(sent), REPEAT, "{kind} not sent {REPEAT} times: {report}");
    }
    let r = REPEAT;
    let benign = ["duplicate_syn", "challenged"];
    let drops = s["drops"].as_object().unwrap();
    for (reason, count) in e.exact {
        assert_eq!(
            drops.get(*reason).map(n),
            Some(count * r),
            "drop reason {reason}: {report}"
        );
    }
    for (reason, count) in e.at_least {
        assert!(
            drops.get(*reason).map(n).unwrap_or(0) >= count * r,
            "drop reason {reason}: {report}"
        );
    }
    for reason in drops.keys() {
        assert!(
            e.exact.iter().chain(e.at_least).any(|(r, _)| r == reason)
                || benign.contains(&reason.as_str()),
            "unexpected drop reason {reason} (malformed headers, fragments, unwalked \
             extension headers and unknown EtherTypes stay with the kernel): {report}"
        );
    }
    let steer = &s["counters"]["steer"];
    for (name, count) in e.steer {
        assert_eq!(n(&steer[name]), count * r, "steer {name}: {report}");
    }
    assert!(
        n(&steer["passed"]) >= e.passed * r,
        "steer passed: {report}"
    );
    for ((k, count, exact), d) in e.kernel.iter().zip(&kd) {
        if *exact {
            assert_eq!(*d, count * r, "kernel {k:?}: {report}");
        } else {
            assert!(*d >= count * r, "kernel {k:?}: {report}");
        }
    }
    assert_eq!(
        n(&s["counters"]["xdp"]["rx_dropped"]),
        e.socket_refused * r,
        "oversized frames refused by the socket: {report}"
    );
    // Extension headers walked to TCP: SYNs the engine took (their SYN-ACKs die in ns a).
    assert_eq!(n(&s["syn_received"]), LEGIT + e.syns_taken * r, "{report}");
    // The legitimate run is untouched.
    assert_eq!(n(&c["attempted"]), LEGIT, "{report}");
    assert_eq!(n(&c["established"]), LEGIT, "{report}");
    assert_eq!(n(&s["accepted"]), LEGIT, "{report}");
    let fam = if e.ipv6 { "ipv6" } else { "ipv4" };
    assert_eq!(n(&c["families"][fam]["established"]), LEGIT, "{report}");
    assert_eq!(c["drops"], serde_json::json!({}), "{report}");
}
