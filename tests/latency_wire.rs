//! Latency at the wire, checked against an independent observer (root; own namespaces;
//! 198.18.0.0/15 only): threeway's RTT percentiles against a tcpdump capture of the same run
//! on the peer's veth.
//!
//! Client (threeway -> kernel listener), per connection in the peer's capture: SYN in (t1),
//! SYN-ACK out (t2), ACK in (t3). threeway's SYN -> SYN-ACK RTT contains the peer's
//! turnaround t2 - t1 and is contained in t3 - t1 (which adds threeway's own processing of
//! the SYN-ACK), so its p50 and p99 must lie in [p(t2 - t1), p(t3 - t1)] widened by 5 us, or
//! within 10% of p(t3 - t1).
//!
//! Server (kernel client -> threeway serve), in the client's capture: SYN out (t1), SYN-ACK
//! in (t2), ACK out (t3). The accept RTT (SYN-ACK out -> final ACK in) contains the client's
//! turnaround t3 - t2 and, but for the ACK's own trip, lies within t3 - t1: the same bounds.
//!
//! The machine has 2 shared cores: tails are noisy, so the bounds are on percentiles of the
//! whole run, and each figure is printed for the record.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(90);
const SLACK_NS: f64 = 5_000.0;

/// tcpdump on `side`'s interface into `file` (nanosecond stamps), ready when it returns.
fn capture(p: &VethPair, side: &Side, file: &Path) -> KillOnDrop {
    let mut child = p
        .command(side, "tcpdump")
        .args([
            "-i",
            &side.iface,
            "-n",
            "-s",
            "128",
            "-B",
            "16384",
            "--immediate-mode",
            "-U",
        ])
        .args(["--time-stamp-precision=nano", "-w", file.to_str().unwrap()])
        .args(["tcp", "port", &PORT.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpdump (deploy/install-deps.sh installs it)");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "tcpdump: {line}");
    // Keep draining stderr (its final statistics) so tcpdump never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        if !rest
            .lines()
            .any(|l| l.trim() == "0 packets dropped by kernel")
        {
            eprintln!("tcpdump: {rest}");
        }
    });
    KillOnDrop::new(child)
}

/// Stops a capture (SIGINT: tcpdump flushes its file) and waits for it.
fn stop(mut c: KillOnDrop) {
    std::thread::sleep(Duration::from_millis(500));
    signal(c.child(), "-INT");
    let _ = c.take().wait();
}

/// One TCP segment of a capture: time (ns), ports, flags, seq, ack.
struct Seg {
    t: u64,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
}

const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// The TCP/IPv4 segments of a nanosecond pcap file (Ethernet link type).
fn read_pcap(file: &Path) -> Vec<Seg> {
    let b = std::fs::read(file).unwrap();
    let u32le = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    assert_eq!(u32le(0), 0xa1b2_3c4d, "nanosecond pcap, little endian");
    assert_eq!(u32le(20), 1, "Ethernet link type");
    let mut segs = Vec::new();
    let mut o = 24;
    while o + 16 <= b.len() {
        let t = u32le(o) as u64 * 1_000_000_000 + u32le(o + 4) as u64;
        let caplen = u32le(o + 8) as usize;
        let f = &b[o + 16..(o + 16 + caplen).min(b.len())];
        o += 16 + caplen;
        if f.len() < 14 + 20 + 20 || f[12..14] != [0x08, 0x00] || f[23] != 6 {
            continue;
        }
        let ip = &f[14..];
        let tcp = &ip[((ip[0] & 0x0f) as usize) * 4..];
        let be16 = |x: &[u8]| u16::from_be_bytes([x[0], x[1]]);
        let be32 = |x: &[u8]| u32::from_be_bytes(x[..4].try_into().unwrap());
        segs.push(Seg {
            t,
            sport: be16(&tcp[0..]),
            dport: be16(&tcp[2..]),
            flags: tcp[13],
            seq: be32(&tcp[4..]),
            ack: be32(&tcp[8..]),
        });
    }
    segs
}

/// Per handshake (keyed by the client's port and ISN): the times of the client's first SYN,
/// the server's SYN-ACK and the client's first ACK, as seen by the capture.
fn handshakes(segs: &[Seg]) -> Vec<[u64; 3]> {
    let mut hs: HashMap<(u16, u32), [Option<u64>; 3]> = HashMap::new();
    for s in segs {
        let (i, key) = if s.flags & SYN != 0 && s.flags & ACK == 0 && s.dport == PORT {
            (0, (s.sport, s.seq))
        } else if s.flags & SYN != 0 && s.flags & ACK != 0 && s.sport == PORT {
            (1, (s.dport, s.ack.wrapping_sub(1)))
        } else if s.flags & (SYN | RST) == 0 && s.flags & ACK != 0 && s.dport == PORT {
            (2, (s.sport, s.seq.wrapping_sub(1)))
        } else {
            continue;
        };
        let e = hs.entry(key).or_default();
        // First of each, and only in order (an ACK needs its SYN-ACK before it).
        if e[i].is_none() && (i == 0 || e[i - 1].is_some()) {
            e[i] = Some(s.t);
        }
    }
    hs.values()
        .filter_map(|e| Some([e[0]?, e[1]?, e[2]?]))
        .collect()
}

fn pct(v: &mut [u64], q: f64) -> f64 {
    v.sort_unstable();
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1] as f64
}

/// `ours` (threeway's percentile) within [lo - 5 us, hi + 5 us], or within 10% of `hi`.
fn within(ours: f64, lo: f64, hi: f64) -> bool {
    (ours >= lo - SLACK_NS && ours <= hi + SLACK_NS) || (ours - hi).abs() <= 0.1 * hi
}

/// Checks threeway's p50/p99 (`ours`, from its JSON) against the capture's intervals
/// `inner` (contained in ours) and `outer` (containing ours); returns the report line.
fn compare(label: &str, ours: &serde_json::Value, inner: &mut [u64], outer: &mut [u64]) -> String {
    let mut line = format!("{label}:");
    let mut ok = true;
    for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
        let o = ours[name].as_f64().unwrap();
        let (lo, hi) = (pct(inner, q), pct(outer, q));
        ok &= within(o, lo, hi);
        line += &format!(
            "  {name} threeway {:.1} us, capture [{:.1}, {:.1}] us",
            o / 1e3,
            lo / 1e3,
            hi / 1e3
        );
    }
    eprintln!("{line}");
    assert!(ok, "threeway's latency disagrees with the capture: {line}");
    line
}

/// The capture's handshakes, after checking that threeway timed every frame by its XDP stamp
/// (veth gives XDP metadata) and that the capture holds (nearly) all 10,000 connections.
fn stamped_handshakes(j: &serde_json::Value, pcap: &Path) -> Vec<[u64; 3]> {
    assert_eq!(
        j["counters"]["xsk"]["rx_unstamped"], 0,
        "every frame carries its RX stamp: {}",
        j["counters"]["xsk"]
    );
    assert_eq!(j["config"]["rx_timestamp"], "xdp");
    let hs = handshakes(&read_pcap(pcap));
    assert!(hs.len() >= 9_900, "capture holds {} handshakes", hs.len());
    hs
}

/// threeway connect -> kernel listener at `rate`, captured on the listener's veth.
fn client_against_capture(prefix: &str, rate: &str, spin: &str) {
    let p = pair(prefix, 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listener(&p, &p.b, PORT, 2);
    let pcap = tmp(&format!("{prefix}.pcap"));
    let cap = capture(&p, &p.b, &pcap);
    let json = tmp(&format!("{prefix}.json"));
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            "10000",
            "-r",
            rate,
            "--spin",
            spin,
            "--rto",
            "1s",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
        LIMIT,
    );
    stop(cap);
    assert!(out.status.success(), "{}", text(&out));
    let j = read_json(&json);
    assert_eq!(j["established"], 10000, "{}", text(&out));
    let hs = stamped_handshakes(&j, &pcap);
    let mut turnaround: Vec<u64> = hs.iter().map(|h| h[1] - h[0]).collect();
    let mut cycle: Vec<u64> = hs.iter().map(|h| h[2] - h[0]).collect();
    compare(
        &format!("client at {rate}/s, spin {spin}: SYN->SYN-ACK RTT"),
        &j["rtt_ns"],
        &mut turnaround,
        &mut cycle,
    );
    eprintln!(
        "  handshake latency (from intended start) p50 {:.1} us p99 {:.1} us; generator TX delay p50 {:.1} us p99 {:.1} us",
        j["handshake_latency_ns"]["p50"].as_f64().unwrap() / 1e3,
        j["handshake_latency_ns"]["p99"].as_f64().unwrap() / 1e3,
        j["tx_delay_ns"]["p50"].as_f64().unwrap() / 1e3,
        j["tx_delay_ns"]["p99"].as_f64().unwrap() / 1e3,
    );
    assert_eq!(j["tx_delay_ns"]["count"], 10000, "one TX delay per SYN");
    // Each SYN left in a kick of its own, so its departure stamp is its own: in one shared
    // kick the peer's stack (run inside our sendto on veth) answers the SYNs ahead first.
    assert_eq!(
        j["counters"]["worker"]["syn_own_kicks"],
        10000,
        "{}",
        text(&out)
    );
}

#[test]
fn client_rtt_matches_the_peer_capture_at_a_low_rate_with_a_sleeping_worker() {
    // 1k/s with --spin 0: the worker sleeps in ppoll() between connections, so the SYN-ACK
    // waits for it to wake; the XDP stamp must not include that wait.
    client_against_capture("twl-lo", "1k", "0");
}

/// 10k/s, twice the issue's example rate: the worker has a SYN to send every 100 us, often
/// several at once after a stall of the loaded host, which is where one shared TX kick put
/// the p99 at 2-3x the capture's (see `OWN_KICK_RATE_MAX` in src/worker and bench/syn_path.sh).
#[test]
fn client_rtt_matches_the_peer_capture_at_a_higher_rate() {
    client_against_capture("twl-hi", "10k", "50us");
}

#[test]
fn server_accept_rtt_matches_the_client_capture() {
    let p = pair("twl-sv", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let json = tmp("twl-sv.json");
    let server = serve_in(&p, &listen, &["--spin", "0"], &json);
    let pcap = tmp("twl-sv.pcap");
    let cap = capture(&p, &p.a, &pcap);
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
            "1",
            "-d",
            "60s",
            "--json",
        ],
        LIMIT,
    );
    stop(cap);
    assert!(out.status.success(), "{}", text(&out));
    std::thread::sleep(Duration::from_millis(300));
    let sout = stop_server(server);
    let j = read_json(&json);
    assert_eq!(j["accepted"], 10000, "{}", text(&sout));
    let hs = stamped_handshakes(&j, &pcap);
    let mut turnaround: Vec<u64> = hs.iter().map(|h| h[2] - h[1]).collect();
    let mut cycle: Vec<u64> = hs.iter().map(|h| h[2] - h[0]).collect();
    compare(
        "server, kernel client: accept RTT",
        &j["accept_rtt_ns"],
        &mut turnaround,
        &mut cycle,
    );
    // The accept latency (SYN in -> final ACK in, at our wire) also contains the client's
    // turnaround and lies within its SYN out -> ACK out but for the two trips' difference.
    compare(
        "server, kernel client: accept latency",
        &j["handshake_latency_ns"],
        &mut turnaround,
        &mut cycle,
    );
}
