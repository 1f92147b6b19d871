//! Graceful overload (issue 18): on one profile, find the highest clean rate (SYN + data
//! retransmissions < 0.1% of attempts, no failure, >= 97% of the target achieved), then ask
//! for 1.5x, 2x and 3x of it, three trials each, and print achieved cps against the clean
//! maximum with what the diagnosis named. Prints figures; asserts nothing. Root; one veth pair
//! per profile (198.18.0.0/15).
//!
//!   cargo bench --bench overload -- [--profile fin|rst|both] [--trials 3] [--seconds 3]
//!                                   [--steps 1.5,2,3]
//!
//! Profiles: `fin`: 1 worker per side (client core 0, server core 1), 1-byte request and
//! response, FIN close. `rst`: 2 workers per side (cores 0,1), no data, RST close.

mod lab;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use threeway::topo::VethPair;

struct Profile {
    name: &'static str,
    queues: u32,
    client_cores: &'static str,
    server_cores: &'static str,
    client: &'static [&'static str],
    server: &'static [&'static str],
    /// First rate probed by the search.
    start: f64,
}

const FIN: Profile = Profile {
    name: "fin: 1+1 cores, 1-byte request/response, FIN close",
    queues: 1,
    client_cores: "0",
    server_cores: "1",
    client: &["--request", "x", "--expect", "y", "--close", "fin"],
    server: &["--response", "y", "--close", "fin"],
    start: 20_000.0,
};

const RST: Profile = Profile {
    name: "rst: 2+2 workers, no data, RST close",
    queues: 2,
    client_cores: "0,1",
    server_cores: "0,1",
    client: &["--close", "rst"],
    server: &[],
    start: 40_000.0,
};

fn threeway() -> String {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    format!("{dir}/release/threeway")
}

fn out_path(name: &str) -> String {
    format!("/tmp/threeway-overload-{}-{name}.json", std::process::id())
}

fn num(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}

/// One trial's figures.
#[derive(Clone, Debug)]
struct Trial {
    target: f64,
    cps: f64,
    retx_pct: f64,
    failed: u64,
    binding: String,
    server_binding: String,
}

impl Trial {
    fn clean(&self) -> bool {
        self.retx_pct < 0.1 && self.failed == 0 && self.cps >= 0.97 * self.target
    }
}

fn start_server(p: &VethPair, pr: &Profile, json: &str) -> Child {
    let listen = format!("{}:8080", p.b.addr);
    let q = pr.queues.to_string();
    let mut args = vec![
        "serve",
        &listen,
        "-i",
        "tw1",
        "-q",
        &q,
        "--cores",
        pr.server_cores,
        "--quiet",
        "--json",
        json,
    ];
    args.extend_from_slice(pr.server);
    let c = p
        .command(&p.b, &threeway())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let t = Instant::now();
    while !p.link_show(&p.b).contains("xdp") && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    c
}

/// A fresh server and one client run at `rate` for `secs`.
fn trial(p: &VethPair, pr: &Profile, rate: f64, secs: u64) -> Trial {
    let (cj, sj) = (out_path("c"), out_path("s"));
    let srv = start_server(p, pr, &sj);
    let target = format!("{}:8080", p.b.addr);
    let (q, r, d) = (
        pr.queues.to_string(),
        format!("{rate:.0}"),
        format!("{secs}s"),
    );
    let mut args = vec![
        "connect",
        &target,
        "-i",
        "tw0",
        "-q",
        &q,
        "--cores",
        pr.client_cores,
        "-r",
        &r,
        "-d",
        &d,
        "--quiet",
        "--json",
        &cj,
    ];
    args.extend_from_slice(pr.client);
    let _ = p
        .command(&p.a, &threeway())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    lab::stop(srv);
    let (c, s) = (lab::read(&cj), lab::read(&sj));
    let e = &c["counters"]["engine"];
    let retx = num(e, "syn_retransmits") + num(e, "data_retransmits");
    let name = |v: &Value| {
        v["diagnosis"]["binding"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    };
    Trial {
        target: rate,
        cps: num(&c, "cps"),
        retx_pct: retx / num(&c, "attempted").max(1.0) * 100.0,
        failed: c["failed_total"].as_u64().unwrap_or(u64::MAX),
        binding: name(&c),
        server_binding: name(&s),
    }
}

fn probe(t: &Trial) {
    let verdict = if t.clean() { "clean" } else { "not clean" };
    println!(
        "  probe {:>9.0}: achieved {:>9.0} retx {:.3}% failed {} -> {verdict}",
        t.target, t.cps, t.retx_pct, t.failed
    );
}

/// Doubles from `start` until a rate is not clean, then bisects four times; returns the
/// highest clean trial.
fn clean_max(p: &VethPair, pr: &Profile, secs: u64) -> Option<Trial> {
    let mut best: Option<Trial> = None;
    let mut rate = pr.start;
    let mut bad = None;
    while bad.is_none() && rate <= 4e6 {
        let t = trial(p, pr, rate, secs);
        probe(&t);
        if t.clean() {
            best = Some(t);
            rate *= 2.0;
        } else {
            bad = Some(rate);
        }
    }
    let (mut lo, mut hi) = (best.as_ref().map_or(0.0, |t| t.target), bad?);
    for _ in 0..4 {
        let mid = (lo + hi) / 2.0;
        let t = trial(p, pr, mid, secs);
        probe(&t);
        if t.clean() {
            lo = mid;
            best = Some(t);
        } else {
            hi = mid;
        }
    }
    best
}

fn run(pr: &Profile, trials: usize, secs: u64, steps: &[f64]) {
    println!("\n== {} ==", pr.name);
    let p = VethPair::create("twov", pr.queues).expect("veth pair");
    let Some(max) = clean_max(&p, pr, secs) else {
        println!("no clean rate found from {}", pr.start);
        return;
    };
    println!(
        "clean maximum: target {:.0} achieved {:.0} cps (retx {:.3}%)",
        max.target, max.cps, max.retx_pct
    );
    println!(
        "| step | target cps | achieved cps (trials) | min % of clean max | client binding | server binding |"
    );
    println!("|---|---|---|---|---|---|");
    for &k in steps {
        let target = max.target * k;
        let ts: Vec<Trial> = (0..trials).map(|_| trial(&p, pr, target, secs)).collect();
        let cps: Vec<String> = ts.iter().map(|t| format!("{:.0}", t.cps)).collect();
        let min = ts.iter().map(|t| t.cps).fold(f64::MAX, f64::min);
        let names = |f: fn(&Trial) -> &str| ts.iter().map(f).collect::<Vec<_>>().join(",");
        println!(
            "| {k}x | {target:.0} | {} | {:.1}% | {} | {} |",
            cps.join(" / "),
            min / max.cps * 100.0,
            names(|t| &t.binding),
            names(|t| &t.server_binding),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (mut profile, mut trials, mut secs) = ("both".to_string(), 3usize, 3u64);
    let mut steps = vec![1.5, 2.0, 3.0];
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--profile" => profile = v,
            "--trials" => trials = v.parse().expect("--trials N"),
            "--seconds" => secs = v.parse().expect("--seconds N"),
            "--steps" => {
                steps = v
                    .split(',')
                    .map(|x| x.parse().expect("--steps 1.5,2,3"))
                    .collect()
            }
            other => panic!(
                "unknown argument {other}; use --profile fin|rst|both --trials N --seconds N --steps A,B"
            ),
        }
    }
    let machine = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "overload bench: {trials} trials of {secs}s per step; load average {}",
        machine.trim()
    );
    if profile != "rst" {
        run(&FIN, trials, secs, &steps);
    }
    if profile != "fin" {
        run(&RST, trials, secs, &steps);
    }
}
