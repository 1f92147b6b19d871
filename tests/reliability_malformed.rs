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

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);
const REPEAT: u64 = 40;

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn malformed_frames_are_counted_and_legitimate_connections_complete() {
    let p = pair("twr-mf", 1);
    for side in [&p.a, &p.b] {
        p.exec(side, &["ip", "link", "set", &side.iface, "mtu", "3000"])
            .unwrap();
    }
    let listen = format!("{}:{PORT}", p.b.addr);
    let (cjson, sjson) = (tmp("mf-client.json"), tmp("mf-server.json"));
    let server = serve_in(&p, &listen, &["--cookies", "auto"], &sjson);
    let kernel = |group: &str, name: &str| p.snmp(&p.b, group, name).unwrap();
    let k0 = (
        kernel("Ip", "InHdrErrors"),
        kernel("IpExt", "InTruncatedPkts"),
        kernel("Ip", "ReasmOKs"),
        link_stat(&p, &p.b, "rx_dropped"),
    );
    let mut client = KillOnDrop::new(spawn_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            "3000",
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
    // From an address of ns a's subnet that nobody uses (the server's answers to it die in
    // ns a's kernel), while the client runs: 40 rounds, 25 ms apart.
    let g = twnet_in(
        &p.a.netns,
        &[
            "malformed",
            "--iface",
            "tw0",
            "--dst-mac",
            &mac_of(&p, &p.b),
            "--src",
            "198.18.0.9",
            "--dst",
            &p.b.addr.to_string(),
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
    let k1 = (
        kernel("Ip", "InHdrErrors"),
        kernel("IpExt", "InTruncatedPkts"),
        kernel("Ip", "ReasmOKs"),
        link_stat(&p, &p.b, "rx_dropped"),
    );
    let report = format!(
        "sent {}; server drops {}; xdp {}; kernel InHdrErrors +{} InTruncatedPkts +{} \
         ReasmOKs +{} rx_dropped +{}; legit {}/{}",
        g["sent"],
        s["drops"],
        s["counters"]["xdp"],
        k1.0 - k0.0,
        k1.1 - k0.1,
        k1.2 - k0.2,
        k1.3 - k0.3,
        c["established"],
        c["attempted"]
    );
    eprintln!("malformed: {report}");
    for (kind, sent) in g["sent"].as_object().unwrap() {
        assert_eq!(n(sent), REPEAT, "{kind} not sent {REPEAT} times: {report}");
    }
    let r = REPEAT;
    // Only malformed frames can cause these: exact.
    let exact = [
        ("bad_checksum", 2 * r),
        ("bad_option_len", 3 * r),
        ("bad_flags", 4 * r),
    ];
    // The legitimate run can add to these when a stall on this shared machine outlasts the
    // client's RTO (a retransmitted SYN, then an RST for the second SYN-ACK): at least.
    let at_least = [("no_connection", r), ("cookie_invalid", r)];
    let benign = ["duplicate_syn", "challenged"];
    let drops = s["drops"].as_object().unwrap();
    for (reason, count) in exact {
        assert_eq!(
            drops.get(reason).map(n),
            Some(count),
            "drop reason {reason}: {report}"
        );
    }
    for (reason, count) in at_least {
        assert!(
            drops.get(reason).map(n).unwrap_or(0) >= count,
            "drop reason {reason}: {report}"
        );
    }
    for reason in drops.keys() {
        assert!(
            exact.iter().chain(&at_least).any(|(r, _)| r == reason)
                || benign.contains(&reason.as_str()),
            "unexpected drop reason {reason} (malformed headers, fragments and unknown \
             EtherTypes stay with the kernel): {report}"
        );
    }
    // Passed to the kernel as parse errors (the six malformed-header kinds), counted there.
    assert_eq!(
        n(&s["counters"]["steer"]["parse_errors"]),
        6 * r,
        "truncated, truncated_short, ihl_small, ihl_past_total, doff_small, doff_large: \
         {report}"
    );
    assert!(
        k1.0 - k0.0 >= 2 * r,
        "IHL 4 and IHL past total -> InHdrErrors: {report}"
    );
    assert!(
        k1.1 - k0.1 >= 2 * r,
        "total length past the frame, cut frames -> InTruncatedPkts: {report}"
    );
    assert_eq!(k1.2 - k0.2, r, "fragment pairs reassembled: {report}");
    // Unknown EtherTypes have no handler: the kernel drops them (rx_dropped; the oversized
    // frames that XDP could not redirect are counted there too).
    assert!(k1.3 - k0.3 >= 2 * r, "unknown EtherTypes: {report}");
    // Oversized: refused by the socket (frame > UMEM frame).
    assert_eq!(n(&s["counters"]["xdp"]["rx_dropped"]), r, "{report}");
    // The legitimate run is untouched.
    assert_eq!(c["attempted"], 3000, "{report}");
    assert_eq!(c["established"], 3000, "{report}");
    assert_eq!(s["accepted"], 3000, "{report}");
    assert_eq!(c["drops"], serde_json::json!({}), "{report}");
}
