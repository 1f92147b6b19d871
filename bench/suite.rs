//! The benchmark suite (run through `bench/run`): raw AF_XDP ceiling, kernel <-> kernel,
//! threeway -> kernel, kernel -> threeway, threeway <-> threeway, the in-memory engine figure;
//! interleaved rounds, median and min-max, a table and a JSON file. Prints figures; asserts
//! nothing. Root; each row builds its own namespaces (198.18.0.0/15).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use threeway::topo::VethPair;

mod raw;

struct Opts {
    json: Option<String>,
    rounds: usize,
    secs: u64,
    engine: Value,
}

fn opts() -> Opts {
    let mut o = Opts {
        json: None,
        rounds: 3,
        secs: 3,
        engine: json!({}),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--json" => o.json = Some(v),
            "--rounds" => o.rounds = v.parse().expect("--rounds N"),
            "--seconds" => o.secs = v.parse().expect("--seconds N"),
            "--engine-json" => o.engine = serde_json::from_str(&v).unwrap_or(json!({})),
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}; use --json PATH --rounds N --seconds N"),
        }
        i += 2;
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
}

fn run_json(p: &VethPair, side: &threeway::topo::Side, args: &[&str]) -> Value {
    let out = p
        .command(side, &bin())
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("run threeway");
    if args[0] == "kernel" {
        return serde_json::from_slice(&out.stdout).unwrap_or(json!({}));
    }
    let path = args
        .iter()
        .position(|a| *a == "--json")
        .map(|i| args[i + 1])
        .unwrap_or_default();
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(json!({}))
}

fn sample_of(v: &Value, server: Option<&Value>) -> Sample {
    let f = |x: &Value| x.as_f64().unwrap_or(0.0);
    let est = f(&v["established"]).max(1.0);
    let mut frames = f(&v["counters"]["engine"]["tx_frames"]);
    if let Some(s) = server {
        frames += f(&s["counters"]["engine"]["tx_frames"]);
    }
    Sample {
        cps: f(&v["cps"]),
        p50_ns: f(&v["handshake_latency_ns"]["p50"]),
        p99_ns: f(&v["handshake_latency_ns"]["p99"]),
        cpu_us: f(&v["cpu_us_per_conn"]),
        rss_bytes: f(&v["peak_rss_bytes"]),
        frames_per_conn: frames / est,
    }
}

fn tmp(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("threeway-bench-{}-{name}", std::process::id()))
        .to_string_lossy()
        .into()
}

fn kernel_listener(p: &VethPair) -> std::process::Child {
    let c = p
        .command(&p.b, &bin())
        .args([
            "kernel",
            "listen",
            &format!("{}:8080", p.b.addr),
            "--threads",
            "2",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    c
}

fn threeway_server(p: &VethPair, json_path: &str) -> std::process::Child {
    let c = p
        .command(&p.b, &bin())
        .args([
            "serve",
            &format!("{}:8080", p.b.addr),
            "-i",
            "tw1",
            "--cores",
            "1",
            "--quiet",
            "--json",
            json_path,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !p.link_show(&p.b).contains("xdp") && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    c
}

fn stop(mut c: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-INT", &c.id().to_string()])
        .status();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn connect_args<'a>(target: &'a str, secs: &'a str, json_path: &'a str) -> Vec<&'a str> {
    vec![
        "connect",
        target,
        "-i",
        "tw0",
        "--cores",
        "0",
        "-r",
        "0",
        "--max-active",
        "256",
        "-d",
        secs,
        "--rto",
        "200ms",
        "--drain",
        "500ms",
        "--quiet",
        "--json",
        json_path,
    ]
}

fn row(name: &str, secs: u64) -> Sample {
    let p = VethPair::create("twb", 1).expect("veth pair");
    let target = format!("{}:8080", p.b.addr);
    let s = format!("{secs}s");
    match name {
        "kernel_kernel" => {
            let l = kernel_listener(&p);
            let v = run_json(
                &p,
                &p.a,
                &[
                    "kernel",
                    "connect",
                    &target,
                    "--threads",
                    "2",
                    "-d",
                    &s,
                    "--json",
                ],
            );
            stop(l);
            Sample {
                cps: v["cps"].as_f64().unwrap_or(0.0),
                ..Sample::default()
            }
        }
        "threeway_kernel" => {
            let l = kernel_listener(&p);
            let j = tmp("tk.json");
            let v = run_json(&p, &p.a, &connect_args(&target, &s, &j));
            stop(l);
            sample_of(&v, None)
        }
        "kernel_threeway" => {
            let sj = tmp("kts.json");
            let srv = threeway_server(&p, &sj);
            let v = run_json(
                &p,
                &p.a,
                &[
                    "kernel",
                    "connect",
                    &target,
                    "--threads",
                    "2",
                    "-d",
                    &s,
                    "--json",
                ],
            );
            stop(srv);
            let sv: Value = std::fs::read_to_string(&sj)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(json!({}));
            Sample {
                cps: v["cps"].as_f64().unwrap_or(0.0),
                rss_bytes: sv["peak_rss_bytes"].as_f64().unwrap_or(0.0),
                ..Sample::default()
            }
        }
        "threeway_threeway" => {
            let sj = tmp("tts.json");
            let srv = threeway_server(&p, &sj);
            let j = tmp("ttc.json");
            let v = run_json(&p, &p.a, &connect_args(&target, &s, &j));
            stop(srv);
            let sv: Value = std::fs::read_to_string(&sj)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(json!({}));
            sample_of(&v, Some(&sv))
        }
        "raw" => Sample {
            cps: raw::pps(&p, Duration::from_secs(secs)),
            ..Sample::default()
        },
        _ => unreachable!(),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn main() {
    let o = opts();
    let rows = [
        "raw",
        "kernel_kernel",
        "threeway_kernel",
        "kernel_threeway",
        "threeway_threeway",
    ];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); rows.len()];
    let started = Instant::now();
    for round in 0..o.rounds {
        for (i, r) in rows.iter().enumerate() {
            let s = row(r, o.secs);
            eprintln!("round {} {r:>18}: {:.0}/s", round + 1, s.cps);
            samples[i].push(s);
        }
    }
    let stat = |i: usize, f: &dyn Fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples[i].iter().map(f).collect();
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), x| (l.min(*x), h.max(*x)));
        (median(&mut v), lo, hi)
    };
    let raw = stat(0, &|s| s.cps).0;
    let kk = stat(1, &|s| s.cps).0;
    println!(
        "\nthreeway benchmark: {} rounds x {}s per row, veth (copy mode), 1 queue per side",
        o.rounds, o.secs
    );
    println!(
        "{:<20} {:>12} {:>20} {:>9} {:>9} {:>10} {:>10} {:>9} {:>10}",
        "row", "median/s", "min-max", "x kernel", "% ceil", "p50", "p99", "us CPU/c", "RSS MiB"
    );
    let mut out = serde_json::Map::new();
    for (i, r) in rows.iter().enumerate() {
        let (m, lo, hi) = stat(i, &|s| s.cps);
        let fpc = stat(i, &|s| s.frames_per_conn).0;
        let pct = if i >= 2 && raw > 0.0 {
            m * fpc.max(3.0) / raw * 100.0
        } else {
            f64::NAN
        };
        println!(
            "{:<20} {:>12.0} {:>9.0}-{:<10.0} {:>9.2} {:>9.1} {:>10} {:>10} {:>9.2} {:>10.1}",
            r,
            m,
            lo,
            hi,
            if i == 0 { f64::NAN } else { m / kk.max(1.0) },
            pct,
            threeway::units::fmt_ns(stat(i, &|s| s.p50_ns).0 as u64),
            threeway::units::fmt_ns(stat(i, &|s| s.p99_ns).0 as u64),
            stat(i, &|s| s.cpu_us).0,
            stat(i, &|s| s.rss_bytes).0 / 1048576.0,
        );
        let key = if i == 0 {
            "raw_pps".to_string()
        } else {
            format!("{r}_cps")
        };
        out.insert(key, json!(m));
        out.insert(format!("{r}_detail"), json!({"median": m, "min": lo, "max": hi, "frames_per_conn": fpc,
            "pct_of_ceiling": if pct.is_nan() { Value::Null } else { json!(pct) },
            "p50_ns": stat(i, &|s| s.p50_ns).0, "p99_ns": stat(i, &|s| s.p99_ns).0,
            "cpu_us_per_conn": stat(i, &|s| s.cpu_us).0, "peak_rss_bytes": stat(i, &|s| s.rss_bytes).0}));
    }
    let e = &o.engine;
    println!(
        "{:<20} {:>12.0}  (one core, in memory, client+server engines, RST close; {} ns/handshake; TCB {} B; {} B/conn at 1M)",
        "engine",
        e["engine_handshakes_per_s"].as_f64().unwrap_or(0.0),
        e["ns_per_handshake"],
        e["tcb_bytes"],
        e["table_bytes_per_conn"]
    );
    out.insert(
        "engine_handshakes_per_s".into(),
        e["engine_handshakes_per_s"].clone(),
    );
    out.insert("tcb_bytes".into(), e["tcb_bytes"].clone());
    out.insert("engine".into(), e.clone());
    let sh = |c: &[&str]| {
        Command::new(c[0])
            .args(&c[1..])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    out.insert("machine".into(), json!({"kernel": sh(&["uname", "-r"]), "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": sh(&["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])}));
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
