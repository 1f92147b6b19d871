//! The benchmark suite (run through `bench/run`): raw AF_XDP ceiling, kernel <-> kernel,
//! threeway -> kernel, kernel -> threeway, threeway <-> threeway, with RST close and as
//! request/response (100 B each way, FIN close); 16 KiB HTTP responses from nginx, threeway
//! `--http` beside wrk; the in-memory engine figure; RSS with a 1M table. Interleaved rounds, median and min-max, tables and a JSON file. Prints figures;
//! asserts nothing. Root; each row builds its own namespaces (198.18.0.0/15).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use threeway::topo::{Side, VethPair};

mod lab;
mod raw;

use lab::{read, stop};

const RSTS: [&str; 10] = [
    "raw",
    "kernel_kernel",
    "threeway_kernel",
    "kernel_threeway",
    "threeway_threeway",
    // The same with `--rx-timestamp loop` on both sides: what the XDP RX stamps cost.
    "threeway_threeway_loop_clock",
    // The same over IPv6 (2001:2::1 -> [2001:2::2]:8080), beside the IPv4 row.
    "threeway_threeway_ipv6",
    // `serve --offload xdp`: the server's handshake and close answered in XDP (the client is
    // the engine over AF_XDP).
    "threeway_threeway_offload",
    "kernel_threeway_offload",
    // Both sides offloaded (`connect --offload xdp --close fin`): the client's SYN-ACK and
    // close answered in XDP too; user space only paces SYNs.
    "threeway_threeway_offload_both",
];
const CRRS: [&str; 4] = [
    "kernel_kernel_crr",
    "threeway_kernel_crr",
    "kernel_threeway_crr",
    "threeway_threeway_crr",
];
const BYTES: usize = 100;
/// HTTP against one nginx (one worker) in the peer namespace, one 16 KiB response per
/// connection: threeway `--http` beside `wrk -H 'Connection: close'`, in the same rounds.
const HTTPS: [&str; 2] = ["wrk_nginx_16k", "threeway_nginx_16k"];
const HTTP_BODY: usize = 16384;

struct Opts {
    json: Option<String>,
    rounds: usize,
    secs: u64,
    engine: Value,
    /// Rows to run (`--only a,b`); empty: all.
    only: Vec<String>,
}

fn opts() -> Opts {
    let mut o = Opts {
        json: None,
        rounds: 3,
        secs: 2,
        engine: json!({}),
        only: Vec::new(),
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--json" => o.json = Some(v),
            "--rounds" => o.rounds = v.parse().expect("--rounds N"),
            "--seconds" => o.secs = v.parse().expect("--seconds N"),
            "--engine-json" => o.engine = serde_json::from_str(&v).unwrap_or(json!({})),
            "--only" => o.only = v.split(',').map(str::to_string).collect(),
            other => panic!(
                "unknown argument {other}; use --json PATH --rounds N --seconds N --only ROW,ROW"
            ),
        }
    }
    o
}

fn bin() -> String {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    format!("{dir}/release/threeway")
}

/// One measurement of one row.
#[derive(Clone, Debug, Default)]
struct Sample {
    cps: f64,
    p50_ns: f64,
    p99_ns: f64,
    cpu_us: f64,
    rss_bytes: f64,
    frames_per_conn: f64,
    /// Frames through AF_XDP rings (both sides, RX + TX) per connection; 0: not measured.
    afxdp_frames_per_conn: f64,
    /// Worker time doing work (both sides) per connection, ns.
    user_ns_per_conn: f64,
}

fn tmp(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("threeway-bench-{}-{name}", std::process::id()))
        .to_string_lossy()
        .into()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Runs threeway in `side`; kernel subcommands print JSON on stdout, others write `--json`.
fn run_json(p: &VethPair, side: &Side, args: &[String]) -> Value {
    let out = p
        .command(side, &bin())
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("run threeway");
    if args[0] == "kernel" {
        return serde_json::from_slice(&out.stdout).unwrap_or(json!({}));
    }
    let i = args.iter().position(|a| a == "--json").expect("--json");
    read(&args[i + 1])
}

fn spawn(p: &VethPair, side: &Side, args: &[String]) -> Child {
    p.command(side, &bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn kernel_server(p: &VethPair, crr: bool) -> Child {
    let mut a = s(&[
        "kernel",
        "listen",
        &format!("{}:8080", p.b.addr),
        "--threads",
        "2",
    ]);
    if crr {
        a.extend(s(&["--response-bytes", &BYTES.to_string()]));
    }
    let c = spawn(p, &p.b, &a);
    std::thread::sleep(Duration::from_millis(300));
    c
}

fn threeway_server(
    p: &VethPair,
    json_path: &str,
    crr: bool,
    capacity: &str,
    extra: &[String],
) -> Child {
    threeway_server_on(
        p,
        &format!("{}:8080", p.b.addr),
        json_path,
        crr,
        capacity,
        extra,
    )
}

fn threeway_server_on(
    p: &VethPair,
    listen: &str,
    json_path: &str,
    crr: bool,
    capacity: &str,
    extra: &[String],
) -> Child {
    let mut a = s(&[
        "serve", listen, "-i", "tw1", "-q", "2", "--cores", "0,1", "--quiet",
    ]);
    a.extend(s(&["--capacity", capacity, "--json", json_path]));
    a.extend_from_slice(extra);
    if crr {
        a.extend(s(&["--response", &"r".repeat(BYTES), "--close", "fin"]));
    }
    let c = spawn(p, &p.b, &a);
    let t = Instant::now();
    while !p.link_show(&p.b).contains("xdp") && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    c
}

fn threeway_client(target: &str, secs: u64, json_path: &str, crr: bool) -> Vec<String> {
    let mut a = s(&[
        "connect",
        target,
        "-i",
        "tw0",
        "-q",
        "2",
        "--cores",
        "0,1",
        "-r",
        "0",
        "--max-active",
        "512",
    ]);
    a.extend(s(&[
        "-d",
        &format!("{secs}s"),
        "--rto",
        "200ms",
        "--drain",
        "500ms",
        "--quiet",
        "--json",
        json_path,
    ]));
    if crr {
        a.extend(s(&[
            "--request",
            &"q".repeat(BYTES),
            "--close",
            "fin",
            "--time-wait",
            "100ms",
        ]));
    }
    a
}

fn kernel_client(target: &str, secs: u64, crr: bool) -> Vec<String> {
    let mut a = s(&[
        "kernel",
        "connect",
        target,
        "--threads",
        "2",
        "-d",
        &format!("{secs}s"),
        "--json",
    ]);
    if crr {
        let n = BYTES.to_string();
        a.extend(s(&[
            "--request-bytes",
            &n,
            "--response-bytes",
            &n,
            "--close",
            "fin",
        ]));
    }
    a
}

/// AF_XDP frames and user-space work per connection of a threeway <-> threeway row: the
/// client's frames all cross AF_XDP; the server's are its redirected RX frames and the TX
/// frames its engine wrote (its XDP_TX answers are not AF_XDP frames).
fn afxdp_cost(c: &Value, srv: &Value) -> (f64, f64) {
    let est = f(&c["established"]).max(1.0);
    let (ce, se, st) = (
        &c["counters"]["engine"],
        &srv["counters"]["engine"],
        &srv["counters"]["steer"],
    );
    let xdp_tx = f(&st["xdp_synacks"]) + f(&st["xdp_fins_answered"]);
    let frames = f(&ce["rx_frames"])
        + f(&ce["tx_frames"])
        + f(&st["redirected"])
        + (f(&se["tx_frames"]) - xdp_tx).max(0.0);
    let busy_ns = (f(&c["busy_us_per_conn"]) * f(&c["established"])
        + f(&srv["busy_us_per_conn"]) * f(&srv["accepted"]))
        * 1000.0;
    (frames / est, busy_ns / est)
}

fn sample(v: &Value, server: Option<&Value>) -> Sample {
    let est = f(&v["established"]).max(1.0);
    let frames = f(&v["counters"]["engine"]["tx_frames"])
        + server.map_or(0.0, |s| f(&s["counters"]["engine"]["tx_frames"]));
    Sample {
        cps: f(&v["cps"]),
        p50_ns: f(&v["handshake_latency_ns"]["p50"]),
        p99_ns: f(&v["handshake_latency_ns"]["p99"]),
        cpu_us: f(&v["cpu_us_per_conn"]),
        rss_bytes: f(&v["peak_rss_bytes"]).max(server.map_or(0.0, |s| f(&s["peak_rss_bytes"]))),
        frames_per_conn: frames / est,
        ..Sample::default()
    }
}

fn row(name: &str, secs: u64) -> Sample {
    // Two queues per side: threeway runs one worker per core, like the kernel rows' 2 threads.
    // The nginx rows: one queue, nginx on core 1, the client (wrk or threeway) on core 0.
    let queues = if name.contains("nginx") { 1 } else { 2 };
    let p = VethPair::create("twb", queues).expect("veth pair");
    let target = format!("{}:8080", p.b.addr);
    let crr = name.ends_with("_crr");
    let (cj, sj) = (tmp("c.json"), tmp("s.json"));
    match name.trim_end_matches("_crr") {
        "raw" => Sample {
            cps: raw::pps(&p, Duration::from_secs(secs)),
            ..Sample::default()
        },
        "kernel_kernel" => {
            let l = kernel_server(&p, crr);
            let v = run_json(&p, &p.a, &kernel_client(&target, secs, crr));
            stop(l);
            Sample {
                cps: f(&v["cps"]),
                ..Sample::default()
            }
        }
        "threeway_kernel" => {
            let l = kernel_server(&p, crr);
            let v = run_json(&p, &p.a, &threeway_client(&target, secs, &cj, crr));
            stop(l);
            sample(&v, None)
        }
        "kernel_threeway" | "kernel_threeway_offload" => {
            let extra = if name.ends_with("_offload") {
                // The kernel clients' veth end needs an XDP program to receive XDP_TX frames.
                p.attach_xdp_pass(&p.a)
                    .expect("XDP pass program on the kernel side");
                s(&["--offload", "xdp"])
            } else {
                Vec::new()
            };
            let srv = threeway_server(&p, &sj, crr, "262144", &extra);
            let v = run_json(&p, &p.a, &kernel_client(&target, secs, crr));
            stop(srv);
            Sample {
                cps: f(&v["cps"]),
                rss_bytes: f(&read(&sj)["peak_rss_bytes"]),
                ..Sample::default()
            }
        }
        "threeway_threeway"
        | "threeway_threeway_loop_clock"
        | "threeway_threeway_offload"
        | "threeway_threeway_offload_both" => {
            let clock = s(&["--rx-timestamp", "loop"]);
            let extra = if name.ends_with("_loop_clock") {
                &clock[..]
            } else {
                &[]
            };
            let offload = s(&[
                "--offload",
                if name.contains("_offload") {
                    "xdp"
                } else {
                    "off"
                },
            ]);
            let srv = threeway_server(&p, &sj, crr, "262144", &[extra, &offload[..]].concat());
            let mut args = threeway_client(&target, secs, &cj, crr);
            args.extend_from_slice(extra);
            if name.ends_with("_both") {
                args.extend(s(&["--offload", "xdp", "--close", "fin"]));
            }
            let v = run_json(&p, &p.a, &args);
            stop(srv);
            let srv = read(&sj);
            let (afxdp, user_ns) = afxdp_cost(&v, &srv);
            Sample {
                afxdp_frames_per_conn: afxdp,
                user_ns_per_conn: user_ns,
                ..sample(&v, Some(&srv))
            }
        }
        "threeway_threeway_ipv6" => {
            p.add_ipv6().expect("IPv6 addresses");
            let t6 = format!("[{}]:8080", threeway::topo::IPV6_B);
            let srv = threeway_server_on(&p, &t6, &sj, crr, "262144", &[]);
            let v = run_json(&p, &p.a, &threeway_client(&t6, secs, &cj, crr));
            stop(srv);
            sample(&v, Some(&read(&sj)))
        }
        "wrk_nginx_16k" | "threeway_nginx_16k" => http_row(&p, name, secs),
        _ => unreachable!("{name}"),
    }
}

/// Requests per second of 16 KiB responses from nginx, one per connection, 64 at a time
/// (wrk -c 64, threeway --max-active 64). The wrk row's
/// latency is its mean (wrk prints no percentiles without --latency); the threeway row's is
/// the response time from the request sent.
fn http_row(p: &VethPair, name: &str, secs: u64) -> Sample {
    // nginx gets core 1 and each client core 0: the row compares the clients on equal CPU
    // (sharing both cores, threeway's busy-polling workers took nginx's CPU and the ratio
    // swung 0.56x-1.75x between runs).
    let nginx = threeway::topo::Nginx::start_on(p, &p.b, 8080, &[("16k", HTTP_BODY)], Some(1));
    let url = format!("http://{}:8080/16k", p.b.addr);
    let sample = if name.starts_with("wrk") {
        let out = p
            .command(&p.a, "taskset")
            .args([
                "-c",
                "0",
                "wrk",
                "-t",
                "1",
                "-c",
                "64",
                "-d",
                &format!("{secs}s"),
            ])
            .args(["-H", "Connection: close", &url])
            .stderr(Stdio::null())
            .output()
            .expect("run wrk (deploy/install-deps.sh installs it)");
        let text = String::from_utf8_lossy(&out.stdout);
        let rps = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        Sample {
            cps: rps,
            ..Sample::default()
        }
    } else {
        let cj = tmp("http.json");
        let target = format!("{}:8080", p.b.addr);
        let mut args = threeway_client(&target, secs, &cj, false);
        for (flag, v) in [("-q", "1"), ("--cores", "0"), ("--max-active", "64")] {
            let i = args.iter().position(|a| a == flag).expect(flag);
            args[i + 1] = v.into();
        }
        args.extend(s(&[
            "--http",
            "/16k",
            "--close",
            "fin",
            "--time-wait",
            "100ms",
        ]));
        let v = run_json(p, &p.a, &args);
        let ok = f(&v["requests"]["ok"]);
        Sample {
            cps: ok / f(&v["duration_s"]).max(1e-9),
            p50_ns: f(&v["response_sent_ns"]["p50"]),
            p99_ns: f(&v["response_sent_ns"]["p99"]),
            cpu_us: f(&v["cpu_us_per_conn"]),
            rss_bytes: f(&v["peak_rss_bytes"]),
            frames_per_conn: 0.0,
            ..Sample::default()
        }
    };
    drop(nginx);
    sample
}

/// Peak RSS of `serve --capacity 1M` (one worker), idle: the table and UMEM cost.
fn memory_1m() -> f64 {
    // Two queues per side: threeway runs one worker per core, like the kernel rows' 2 threads.
    let p = VethPair::create("twb", 2).expect("veth pair");
    let sj = tmp("mem.json");
    let srv = threeway_server(&p, &sj, false, "1000000", &[]);
    stop(srv);
    f(&read(&sj)["peak_rss_bytes"])
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn table(
    title: &str,
    rows: &[&str],
    samples: &[Vec<Sample>],
    base: f64,
    raw: f64,
    out: &mut serde_json::Map<String, Value>,
) {
    println!("\n{title}");
    println!(
        "{:<22} {:>10} {:>17} {:>8} {:>7} {:>9} {:>9} {:>8} {:>8}",
        "row", "median/s", "min-max", "x kernel", "% ceil", "p50", "p99", "us CPU/c", "RSS MiB"
    );
    for (i, r) in rows.iter().enumerate() {
        let col = |g: &dyn Fn(&Sample) -> f64| stats(&samples[i].iter().map(g).collect::<Vec<_>>());
        let (m, lo, hi) = col(&|s| s.cps);
        let fpc = col(&|s| s.frames_per_conn).0;
        let pct = if fpc > 0.0 && raw > 0.0 {
            m * fpc / raw * 100.0
        } else {
            f64::NAN
        };
        let (p50, p99) = (col(&|s| s.p50_ns).0, col(&|s| s.p99_ns).0);
        let (cpu, rss) = (col(&|s| s.cpu_us).0, col(&|s| s.rss_bytes).0);
        let ratio = if *r == "raw" {
            f64::NAN
        } else {
            m / base.max(1.0)
        };
        let fmt = |ns: f64| {
            if ns > 0.0 {
                threeway::units::fmt_ns(ns as u64)
            } else {
                "-".into()
            }
        };
        println!(
            "{r:<22} {m:>10.0} {:>17} {ratio:>8.2} {pct:>7.1} {:>9} {:>9} {cpu:>8.2} {:>8.1}",
            format!("{lo:.0}-{hi:.0}"),
            fmt(p50),
            fmt(p99),
            rss / 1048576.0
        );
        let key = if *r == "raw" {
            "raw_pps".to_string()
        } else {
            format!("{r}_cps")
        };
        out.insert(key, json!(m));
        out.insert(
            format!("{r}_detail"),
            json!({"median": m, "min": lo, "max": hi, "ratio_to_kernel": if ratio.is_nan() { Value::Null } else { json!(ratio) },
                "frames_per_conn": fpc, "pct_of_ceiling": if pct.is_nan() { Value::Null } else { json!(pct) },
                "p50_ns": p50, "p99_ns": p99, "cpu_us_per_conn": cpu, "peak_rss_bytes": rss}),
        );
    }
}

fn main() {
    let o = opts();
    let all: Vec<&str> = RSTS
        .iter()
        .chain(CRRS.iter())
        .chain(HTTPS.iter())
        .copied()
        .collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); all.len()];
    let started = Instant::now();
    for round in 0..o.rounds {
        for (i, r) in all.iter().enumerate() {
            if !o.only.is_empty() && !o.only.iter().any(|x| x == r) {
                continue;
            }
            let s = row(r, o.secs);
            eprintln!("round {} {r:>22}: {:.0}/s", round + 1, s.cps);
            samples[i].push(s);
        }
    }
    let mem = memory_1m();
    let med = |i: usize| stats(&samples[i].iter().map(|s| s.cps).collect::<Vec<_>>()).0;
    let raw = med(0);
    // A comparison with a row that did not run (`--only`) is NaN (JSON null), not a figure.
    let over = |a: f64, b: f64| if a > 0.0 && b > 0.0 { a / b } else { f64::NAN };
    let mut out = serde_json::Map::new();
    println!(
        "\nthreeway benchmark: {} rounds x {}s per row; veth with 2 queues, AF_XDP copy mode; threeway: 2 workers per side on cores 0,1 (512 in flight); kernel: 2 threads per side",
        o.rounds, o.secs
    );
    table(
        "Connect + RST close (CPS; % ceil = CPS x frames per connection / raw pps)",
        &RSTS,
        &samples[..RSTS.len()],
        med(1),
        raw,
        &mut out,
    );
    table(
        "Request/response: 100 B each way, FIN close",
        &CRRS,
        &samples[RSTS.len()..],
        med(RSTS.len()),
        raw,
        &mut out,
    );
    let http0 = RSTS.len() + CRRS.len();
    table(
        "HTTP: 16 KiB responses from nginx (1 worker), one request per connection (requests/s; x kernel = x wrk)",
        &HTTPS,
        &samples[http0..],
        med(http0),
        0.0,
        &mut out,
    );
    println!(
        "threeway --http -> nginx {:.0} requests/s vs wrk -H 'Connection: close' -> nginx {:.0}/s: {:.2}x",
        med(http0 + 1),
        med(http0),
        over(med(http0 + 1), med(http0))
    );
    // Side by side in the same rounds: the XDP RX stamps' cost (issue 19's < 3% budget).
    let row_of = |name: &str| RSTS.iter().position(|r| *r == name).unwrap();
    let (stamped, loop_clock) = (
        med(row_of("threeway_threeway")),
        med(row_of("threeway_threeway_loop_clock")),
    );
    let cost = 100.0 * (1.0 - over(stamped, loop_clock));
    println!(
        "
XDP RX stamps: threeway <-> threeway {stamped:.0}/s stamped vs {loop_clock:.0}/s with --rx-timestamp loop: {cost:.1}% cost"
    );
    out.insert("rx_stamp_cost_pct".into(), json!(cost));
    // Side by side in the same rounds: IPv6 against IPv4 (issue 13's target: within 10%).
    let v6 = med(row_of("threeway_threeway_ipv6"));
    let ratio = over(v6, stamped);
    println!(
        "IPv6: threeway <-> threeway {v6:.0}/s over IPv6 vs {stamped:.0}/s over IPv4: {ratio:.3} x"
    );
    out.insert("ipv6_over_ipv4".into(), json!(ratio));
    // Side by side in the same rounds: the server's handshake in XDP (issue 14).
    let cost_of = |name: &str| {
        let v = &samples[row_of(name)];
        let g = |h: &dyn Fn(&Sample) -> f64| stats(&v.iter().map(h).collect::<Vec<_>>()).0;
        (g(&|s| s.afxdp_frames_per_conn), g(&|s| s.user_ns_per_conn))
    };
    let (tt, tto) = (
        med(row_of("threeway_threeway")),
        med(row_of("threeway_threeway_offload")),
    );
    let (kt, kto) = (
        med(row_of("kernel_threeway")),
        med(row_of("kernel_threeway_offload")),
    );
    let ((fa, na), (fo, no)) = (
        cost_of("threeway_threeway"),
        cost_of("threeway_threeway_offload"),
    );
    println!(
        "
Handshake offload (serve --offload xdp; the client stays on AF_XDP): threeway <-> threeway \
{tto:.0}/s vs {tt:.0}/s AF_XDP-only ({:.2}x), vs kernel <-> kernel {:.2}x; kernel clients -> \
serve {kto:.0}/s vs {kt:.0}/s ({:.2}x); AF_XDP frames per connection {fo:.2} vs {fa:.2}, \
user-space (worker busy) ns per connection {no:.0} vs {na:.0}",
        over(tto, tt),
        over(tto, med(1)),
        over(kto, kt),
    );
    let both = med(row_of("threeway_threeway_offload_both"));
    let (fb, nb) = cost_of("threeway_threeway_offload_both");
    println!(
        "Both sides offloaded (connect --offload xdp --close fin, serve --offload xdp): {both:.0}/s \
vs {tt:.0}/s AF_XDP-only ({:.2}x, goal 2x), vs kernel <-> kernel {:.2}x (goal 10x); AF_XDP \
frames per connection {fb:.2} vs {fa:.2}, user-space ns per connection {nb:.0} vs {na:.0}",
        over(both, tt),
        over(both, med(1)),
    );
    out.insert(
        "offload_both".into(),
        json!({"cps": both, "ratio_to_afxdp": over(both, tt),
            "ratio_to_kernel_kernel": over(both, med(1)),
            "afxdp_frames_per_conn": fb, "user_ns_per_conn": nb}),
    );
    out.insert(
        "offload".into(),
        json!({"threeway_threeway_cps": tto, "afxdp_only_cps": tt, "ratio_to_afxdp": over(tto, tt),
            "ratio_to_kernel_kernel": over(tto, med(1)), "kernel_clients_cps": kto, "kernel_clients_afxdp_cps": kt,
            "afxdp_frames_per_conn": fo, "afxdp_frames_per_conn_afxdp_only": fa,
            "user_ns_per_conn": no, "user_ns_per_conn_afxdp_only": na}),
    );
    let e = &o.engine;
    println!(
        "\nengine (one core, in memory, client+server engines, RST close): {:.0} handshakes/s, {} ns/handshake, TCB {} B, {} B/conn in a 1M table",
        f(&e["engine_handshakes_per_s"]),
        e["ns_per_handshake"],
        e["tcb_bytes"],
        e["table_bytes_per_conn"]
    );
    println!(
        "memory: serve --capacity 1M peak RSS {:.1} MiB",
        mem / 1048576.0
    );
    out.insert(
        "engine_handshakes_per_s".into(),
        e["engine_handshakes_per_s"].clone(),
    );
    out.insert("tcb_bytes".into(), e["tcb_bytes"].clone());
    out.insert("engine".into(), e.clone());
    out.insert("serve_1m_capacity_peak_rss_bytes".into(), json!(mem));
    let sh = |c: &[&str]| {
        Command::new(c[0])
            .args(&c[1..])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    out.insert(
        "machine".into(),
        json!({"kernel": sh(&["uname", "-r"]), "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "cpu_model": sh(&["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])}),
    );
    out.insert(
        "commit".into(),
        json!(sh(&["git", "rev-parse", "--short", "HEAD"])),
    );
    out.insert(
        "date".into(),
        json!(sh(&["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"])),
    );
    out.insert("rounds".into(), json!(o.rounds));
    out.insert("seconds_per_row".into(), json!(o.secs));
    out.insert("elapsed_s".into(), json!(started.elapsed().as_secs_f64()));
    if let Some(path) = o.json {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&Value::Object(out)).unwrap() + "\n",
        )
        .expect("write json");
        println!("\nwrote {path}");
    }
}
