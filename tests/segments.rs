//! A run split over three generator "hosts" (`--segment i/3 --start-at T`, each in its own
//! namespace, all behind one bridge) against one `serve`, then `threeway merge`: the merged
//! counts are the sums and equal the server's accepts; merged histograms hold every sample.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use threeway::topo::Star;

#[test]
fn three_segments_merge_to_the_server_count() {
    require_root();
    let _serial = serial();
    let star = Star::create("twt-seg", 3).expect("star topology");
    let listen = format!("{}:{PORT}", star.server.addr);
    let sj = tmp("seg-server.json");
    let server = star
        .command(&star.server, bin())
        .args([
            "serve",
            &listen,
            "-i",
            "tw1",
            "--quiet",
            "--rto",
            "200ms",
            "--json",
            sj.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !star.link_show(&star.server).contains("xdp") {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "serve did not attach"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let start_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 2.0;
    let start = format!("{start_at:.3}");
    let files: Vec<_> = (0..3)
        .map(|i| (tmp(&format!("seg{i}.json")), tmp(&format!("seg{i}.hlog"))))
        .collect();
    let children: Vec<_> = star
        .clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            star.command(c, bin())
                .args([
                    "connect", &listen, "-i", "tw0", "-n", "6000", "-r", "3k", "--rto", "200ms",
                    "--quiet",
                ])
                .args(["--segment", &format!("{i}/3"), "--start-at", &start])
                .args([
                    "--json",
                    files[i].0.to_str().unwrap(),
                    "--hlog",
                    files[i].1.to_str().unwrap(),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = wait_output(c, Duration::from_secs(60));
        assert!(out.status.success(), "{}", text(&out));
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(&server, "-INT");
    let sout = wait_output(server, Duration::from_secs(30));
    assert!(sout.status.success(), "{}", text(&sout));

    let parts: Vec<serde_json::Value> = files.iter().map(|(j, _)| read_json(j)).collect();
    let sum = |k: &str| parts.iter().map(|p| p[k].as_u64().unwrap()).sum::<u64>();
    for p in &parts {
        assert_eq!(
            p["attempted"], 2000,
            "each segment takes a third of -n: {p}"
        );
    }
    let merged_path = tmp("seg-merged.json");
    let mut cmd = Command::new(bin());
    cmd.arg("merge")
        .args(files.iter().map(|(j, _)| j))
        .arg("--json")
        .arg(&merged_path);
    for (_, h) in &files {
        cmd.arg("--hlog").arg(h);
    }
    let out = cmd.args(["--assert", "fail<1%"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let m = read_json(&merged_path);
    assert_eq!(m["attempted"].as_u64().unwrap(), sum("attempted"));
    assert_eq!(m["established"].as_u64().unwrap(), sum("established"));
    let server = read_json(&sj);
    assert_eq!(
        m["established"], server["accepted"],
        "merged established = server accepts"
    );
    let hist_sum: u64 = parts
        .iter()
        .map(|p| p["handshake_latency_ns"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        m["handshake_latency_ns"]["count"].as_u64().unwrap(),
        hist_sum,
        "merged histogram count"
    );
    // Disjoint source ports: no tuple was shared, so nothing was refused or reset.
    assert_eq!(m["failed_total"], 0, "{m}");
}
