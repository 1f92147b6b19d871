//! `threeway search` against a kernel listener whose SYN rate nftables caps at 20000/s in the
//! peer namespace (the rest dropped): the rate found is within 10% of 20k, and a plain
//! `connect` at that rate meets the same assertions; a `--from` above the cap exits 99.

mod common;

use std::time::Duration;

use common::*;

const ASSERTS: [&str; 4] = ["--assert", "fail<0.1%", "--assert", "p99<500ms"];

#[test]
fn search_finds_an_nftables_syn_cap_of_20k() {
    let p = pair("twt-sr", 1);
    let _server = kernel_listener(&p, &p.b, PORT, 2);
    // Dropped SYNs are resent after the 1 s RTO: more than 1% of them over the cap puts p99
    // above 500 ms. A burst of 100 absorbs the pacer's jitter on a busy machine.
    let port = PORT.to_string();
    let syn = "tcp flags & (syn | ack) == syn";
    for rule in [
        "add table inet twcap".to_string(),
        "add chain inet twcap in { type filter hook input priority 0; policy accept; }".into(),
        format!(
            "add rule inet twcap in tcp dport {port} {syn} limit rate 20000/second burst 500 packets accept"
        ),
        format!("add rule inet twcap in tcp dport {port} {syn} counter drop"),
    ] {
        p.exec(&p.b, &["nft", &rule]).unwrap_or_else(|e| {
            panic!("nft {rule}: {e} (deploy/install-deps.sh installs nftables)")
        });
    }
    let listen = format!("{}:{PORT}", p.b.addr);
    let found = tmp("search.json");
    let mut args = vec!["search", &listen, "-i", "tw0"];
    args.extend(ASSERTS);
    let found_s = found.to_str().unwrap();
    args.extend([
        "--from",
        "10k",
        "--to",
        "40k",
        "--trial",
        "2s",
        "--precision",
        "3%",
        "--drain",
        "1500ms",
        "--gap",
        "500ms",
        "--json",
        found_s,
    ]);
    let out = run_in(&p, &p.a, &args, Duration::from_secs(150));
    assert!(out.status.success(), "{}", text(&out));
    println!("{}", String::from_utf8_lossy(&out.stdout));
    let j = read_json(&found);
    let rate = j["result_cps"].as_f64().unwrap();
    let trials = j["trials"].as_array().unwrap();
    assert!(trials.len() >= 4, "{j}");
    assert!(
        trials.iter().any(|t| t["pass"] == false),
        "some trial above the cap failed"
    );
    assert!(
        (18_000.0..=22_000.0).contains(&rate),
        "found {rate} cps, the cap is 20k\n{}",
        text(&out)
    );
    let dropped = p
        .exec(&p.b, &["nft", "list", "table", "inet", "twcap"])
        .unwrap();
    assert!(
        !dropped.contains("counter packets 0 "),
        "the cap dropped SYNs: {dropped}"
    );

    // A plain run at the rate found meets the same assertions.
    let r = format!("{rate:.0}");
    let mut args = vec!["connect", &listen, "-i", "tw0", "-r", &r, "-d", "2s"];
    args.extend(ASSERTS);
    args.extend(["--drain", "1500ms", "--quiet"]);
    let out = run_in(&p, &p.a, &args, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "connect at the found {r} cps: {}",
        text(&out)
    );

    // Even --from over the cap: exit 99, no result.
    let mut args = vec!["search", &listen, "-i", "tw0"];
    args.extend(ASSERTS);
    args.extend([
        "--from", "30k", "--to", "40k", "--trial", "1s", "--drain", "1500ms",
    ]);
    let out = run_in(&p, &p.a, &args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("even --from"));
}
