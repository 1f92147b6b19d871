//! Faults (root; own namespaces; 198.18.0.0/15): SIGINT / SIGTERM mid-run, the interface
//! deleted mid-run, a full connection table, an exhausted UMEM. (SIGKILL leaving no XDP
//! program behind is in e2e_veth.rs.)

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A run stopped by `sig`: exit 0, the summary on stdout, the JSON written, XDP detached.
fn stopped_cleanly(p: &VethPair, side: &Side, out: &Output, json: &Path, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        text(out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Rate:") && stdout.contains("Packets:"),
        "{what}: no summary\n{}",
        text(out)
    );
    let j = read_json(json);
    assert!(
        !p.link_show(side).contains("xdp"),
        "{what}: XDP left attached: {}",
        p.link_show(side)
    );
    j
}

#[test]
fn sigint_and_sigterm_mid_run() {
    let p = pair("twr-sg", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let sjson = tmp("sg-server.json");
    let mut server = serve_in(&p, &listen, &[], &sjson);
    let mut established = 0;
    for sig in ["-INT", "-TERM"] {
        let cjson = tmp(&format!("sg-client{sig}.json"));
        let mut client = KillOnDrop::new(spawn_in(
            &p,
            &p.a,
            &[
                "connect",
                &listen,
                "-i",
                "tw0",
                "-r",
                "1k",
                "-d",
                "60s",
                "--quiet",
                "--json",
                cjson.to_str().unwrap(),
            ],
        ));
        wait_attached(&p, &p.a, client.child());
        std::thread::sleep(Duration::from_millis(1500));
        let t0 = Instant::now();
        signal(client.child(), sig);
        let out = wait_output(client.take(), LIMIT);
        let stop = t0.elapsed();
        let c = stopped_cleanly(&p, &p.a, &out, &cjson, &format!("client {sig}"));
        eprintln!(
            "client {sig}: stopped in {stop:?}, attempted {} established {} aborted {}",
            c["attempted"], c["established"], c["counters"]["engine"]["aborted"]
        );
        assert!(stop < Duration::from_secs(3), "client {sig}: slow to stop");
        assert!(n(&c["established"]) >= 500, "client {sig}: {c}");
        assert!(c["duration_s"].as_f64().unwrap() < 10.0, "{c}");
        let e = &c["counters"]["engine"];
        assert_eq!(
            n(&c["attempted"]),
            n(&e["outcome_closed"]) + n(&c["failed_total"]) + n(&e["aborted"]),
            "client {sig}: every attempt accounted for: {c}"
        );
        established += n(&c["established"]);
    }
    // The server kept serving through both clients; SIGTERM ends it the same way.
    std::thread::sleep(Duration::from_millis(200));
    signal(server.child(), "-TERM");
    let out = wait_output(server.take(), Duration::from_secs(10));
    let s = stopped_cleanly(&p, &p.b, &out, &sjson, "server -TERM");
    assert!(
        n(&s["accepted"]) <= established && n(&s["accepted"]) > 0,
        "{s}"
    );
}

#[test]
fn interface_deleted_mid_run() {
    let p = pair("twr-dl", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let (cjson, sjson) = (tmp("dl-client.json"), tmp("dl-server.json"));
    let server = serve_in(&p, &listen, &[], &sjson);
    let mut client = KillOnDrop::new(spawn_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-r",
            "1k",
            "-d",
            "60s",
            "--quiet",
            "--json",
            cjson.to_str().unwrap(),
        ],
    ));
    wait_attached(&p, &p.a, client.child());
    std::thread::sleep(Duration::from_millis(1500));
    // Deleting one end of a veth deletes both: client and server lose their device.
    p.exec(&p.a, &["ip", "link", "del", "tw0"]).unwrap();
    for (name, child, json) in [("client", client, &cjson), ("server", server, &sjson)] {
        let out = wait_output(child.take(), Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "{name} after link del: exit {:?}: {}",
            out.status.code(),
            stderr
                .lines()
                .filter(|l| l.contains("rror"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        assert_eq!(
            out.status.code(),
            Some(3),
            "{name}: exit code\n{}",
            text(&out)
        );
        assert!(
            stderr.contains("tw")
                && (stderr.contains("gone")
                    || stderr.contains("no such device")
                    || stderr.contains("ENXIO")
                    || stderr.contains("ENETDOWN")),
            "{name}: the error must say the device went away\n{}",
            text(&out)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Rate:"),
            "{name}: partial summary\n{}",
            text(&out)
        );
        let j = read_json(json);
        assert!(
            !j["errors"].as_array().unwrap().is_empty(),
            "{name}: JSON names the error: {j}"
        );
        let done = if name == "client" {
            &j["established"]
        } else {
            &j["accepted"]
        };
        assert!(n(done) > 0, "{name}: partial counts kept: {j}");
    }
}

#[test]
fn table_full_refuses_new_syns_and_recovers() {
    let p = pair("twr-tf", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let (sjson, sndjson) = (tmp("tf-server.json"), tmp("tf-server.ndjson"));
    let ndjson = sndjson.to_str().unwrap();
    let server = serve_in(
        &p,
        &listen,
        &[
            "--capacity",
            "64",
            "--cookies",
            "never",
            "--interval",
            "100ms",
            "--ndjson",
            ndjson,
        ],
        &sjson,
    );
    // The server's live connections, from its latest NDJSON record.
    let server_active = || {
        std::fs::read_to_string(&sndjson)
            .ok()
            .and_then(|t| {
                let last = t.lines().last()?.to_string();
                serde_json::from_str::<Value>(&last).ok()
            })
            .and_then(|j| j["active"].as_u64())
    };
    // 100 holders: `--close none` keeps the 64 that fit until the run ends (after the 4 s
    // drain), then aborts them with RSTs; the other 36 SYNs find the table full, are
    // retransmitted twice and time out.
    let hjson = tmp("tf-holders.json");
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            "100",
            "-r",
            "500",
            "--close",
            "none",
            "--sport",
            "20000-20999",
            "--rto",
            "200ms",
            "--syn-retries",
            "2",
            "--drain",
            "4s",
            "--quiet",
            "--json",
            hjson.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out));
    let h = read_json(&hjson);
    assert_eq!(n(&h["established"]), 64, "the table holds 64: {h}");
    assert_eq!(n(&h["failed"]["timeout"]), 36, "{h}");
    assert_eq!(
        n(&h["counters"]["engine"]["aborted"]),
        64,
        "held until the end: {h}"
    );
    // Their RSTs free the server's table (the server keeps running throughout); then new
    // connections succeed.
    assert!(
        wait_for(Duration::from_secs(10), || server_active() == Some(0)),
        "server still holds {:?} connections after the holders left",
        server_active()
    );
    let cjson = tmp("tf-client.json");
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "-n",
            "500",
            "-r",
            "1k",
            "--quiet",
            "--json",
            cjson.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out));
    stop_server(server);
    let (c, s) = (read_json(&cjson), read_json(&sjson));
    let brief = |j: &Value| {
        format!(
            "established {} active {} failed {} syn_rtx {} engine rx {} xsk {} xdp {} steer {} \
             worker {} drops {}",
            j["established"],
            j["active"],
            j["failed"],
            j["syn_retransmits"],
            j["counters"]["engine"]["rx_frames"],
            j["counters"]["xsk"],
            j["counters"]["xdp"],
            j["counters"]["steer"],
            j["counters"]["worker"],
            j["drops"]
        )
    };
    assert_eq!(
        n(&c["established"]),
        500,
        "after the holders:\nholders {}\nclient {}\nserver {}",
        brief(&h),
        brief(&c),
        brief(&s)
    );
    eprintln!(
        "table full: holders {}/100 established, {} timed out; server accepted {}, drops {}, \
         peak_rss {} MiB",
        h["established"],
        h["failed"]["timeout"],
        s["accepted"],
        s["drops"],
        n(&s["peak_rss_bytes"]) >> 20
    );
    // Each of the 36 refused attempts sent 3 SYNs, each refused and counted.
    assert_eq!(n(&s["drops"]["table_full"]), 36 * 3, "{s}");
    assert_eq!(n(&s["accepted"]), 64 + 500, "{s}");
    assert_eq!(
        n(&s["counters"]["engine"]["outcome_reset"]),
        64 + 500,
        "{s}"
    );
}

#[test]
fn umem_exhausted_is_counted_and_recovers() {
    let p = pair("twr-um", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let (cjson, sjson) = (tmp("um-client.json"), tmp("um-server.json"));
    // 128 frames per socket: 64 on FILL/RX, 64 for TX (rings of 64).
    let server = serve_in(&p, &listen, &["--frames", "128", "--rto", "100ms"], &sjson);
    // Unpaced (-r 0) up to 256 open at a time: bursts of 64 SYNs plus the ACK + RST answers
    // need more TX frames than the client has.
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "--frames",
            "128",
            "-n",
            "5000",
            "-r",
            "0",
            "--max-active",
            "256",
            "--rto",
            "100ms",
            "--syn-retries",
            "6",
            "--drain",
            "8s",
            "--quiet",
            "--json",
            cjson.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out));
    std::thread::sleep(Duration::from_millis(300));
    stop_server(server);
    let (c, s) = (read_json(&cjson), read_json(&sjson));
    let (cx, sx) = (&c["counters"]["xsk"], &s["counters"]["xdp"]);
    eprintln!(
        "UMEM 128 frames: client {}/{} established at {:.0}/s, no_free_frame {}, tx_full {}, \
         syn_retransmits {}; server accepted {}, accept_failed {}, fill-ring-empty drops {}, \
         peak_rss client {} MiB server {} MiB",
        c["established"],
        c["attempted"],
        c["cps"].as_f64().unwrap(),
        cx["no_free_frame"],
        c["counters"]["engine"]["tx_full"],
        c["syn_retransmits"],
        s["accepted"],
        s["counters"]["engine"]["accept_failed"],
        sx["rx_fill_ring_empty_descs"],
        n(&c["peak_rss_bytes"]) >> 20,
        n(&s["peak_rss_bytes"]) >> 20,
    );
    assert!(
        n(&cx["no_free_frame"]) > 0,
        "the TX pool never ran dry: {c}"
    );
    assert!(n(&c["counters"]["engine"]["tx_full"]) > 0, "{c}");
    assert_eq!(n(&cx["frame_errors"]), 0, "{c}");
    // Every frame lost to exhaustion was recovered by retransmission.
    assert_eq!(n(&c["attempted"]), 5000, "{c}");
    assert_eq!(n(&c["established"]), 5000, "{c}");
    assert_eq!(n(&c["active"]), 0, "{c}");
    let se = &s["counters"]["engine"];
    assert_eq!(
        n(&s["accepted"]) + n(&se["accept_failed"]) + n(&se["aborted"]),
        n(&s["syn_received"]),
        "server: every passive open ended: {s}"
    );
    assert!(n(&s["accepted"]) <= 5000, "{s}");
}
