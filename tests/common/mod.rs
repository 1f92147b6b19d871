//! Shared helpers for the root + netns integration tests: run the real binary inside a
//! namespace of a `VethPair` (which removes itself on drop, also on panic).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use threeway::topo::{Side, VethPair};

pub const PORT: u16 = 8080;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_threeway")
}

/// These tests need root (netns, veth, XDP). Fail loudly rather than pass silently.
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap();
    assert_eq!(
        euid, "0",
        "this test needs root (netns + veth + XDP); run the suite as root"
    );
}

/// The root tests of one binary run one at a time: each builds busy-polling workers on both
/// ends, and several at once on a 2-core machine would measure the scheduler, not threeway.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the serial lock for as long as the test holds its topology.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A veth pair owned by one test, which runs alone (see `serial`) while it holds it.
pub struct Lab {
    pair: VethPair,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Lab {
    type Target = VethPair;
    fn deref(&self) -> &VethPair {
        &self.pair
    }
}

pub fn pair(prefix: &str, queues: u32) -> Lab {
    require_root();
    let guard = serial();
    let pair = VethPair::create(prefix, queues).expect("create veth pair");
    Lab {
        pair,
        _serial: guard,
    }
}

/// A temp file path unique to this process.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("threeway-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs threeway with `args` in `side`'s namespace to completion, with a time limit.
pub fn run_in(p: &VethPair, side: &Side, args: &[&str], limit: Duration) -> Output {
    let child = p
        .command(side, bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threeway");
    wait_output(child, limit)
}

/// Starts threeway in the background.
pub fn spawn_in(p: &VethPair, side: &Side, args: &[&str]) -> Child {
    p.command(side, bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threeway")
}

/// Waits for `child`, killing it past `limit`, and returns its output.
pub fn wait_output(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "threeway did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends SIGINT (or another signal) to a child.
pub fn signal(child: &Child, sig: &str) {
    Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

/// Waits until `side`'s interface has an XDP program (threeway attached) or fails.
pub fn wait_attached(p: &VethPair, side: &Side, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            let out = child.stderr.take().map(|mut e| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut e, &mut s).unwrap();
                s
            });
            panic!("threeway exited early ({st}): {}", out.unwrap_or_default());
        }
        if p.link_show(side).contains("xdp") {
            std::thread::sleep(Duration::from_millis(300));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("threeway did not attach XDP on {} within 20 s", side.iface);
}

/// `threeway kernel listen` on `side`'s address and `port`, up and listening; killed on drop.
pub fn kernel_listener(p: &VethPair, side: &Side, port: u16, threads: u32) -> KillOnDrop {
    kernel_listen_at(p, side, &format!("{}:{port}", side.addr), threads)
}

/// `threeway kernel listen ADDR` (`ip:port` or `[ipv6]:port`) in `side`, up and listening;
/// killed on drop.
pub fn kernel_listen_at(p: &VethPair, side: &Side, addr: &str, threads: u32) -> KillOnDrop {
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let child = p
        .command(side, bin())
        .args(["kernel", "listen", addr, "--threads", &threads.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn kernel listener");
    let guard = KillOnDrop::new(child);
    wait_listening(p, side, port);
    guard
}

/// Waits until a kernel listener on PORT is up in `side`.
pub fn wait_listening(p: &VethPair, side: &Side, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if p.exec(side, &["ss", "-Htln", &format!("sport = :{port}")])
            .is_ok_and(|s| !s.trim().is_empty())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("kernel listener on :{port} not up");
}

/// A `serve --response @FILE` file: `HTTP/1.1 200 OK` with `body`; its path.
pub fn response_file(name: &str, body: &[u8]) -> PathBuf {
    let mut file =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    file.extend_from_slice(body);
    let path = tmp(name);
    std::fs::write(&path, &file).unwrap();
    path
}

pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---- Reliability helpers (tests/reliability_*.rs) ----------------------------------------

/// A background child that is killed (SIGKILL) and reaped when dropped, so a failing test
/// leaves no threeway or generator running in a namespace that is being deleted.
pub struct KillOnDrop(pub Option<Child>);

impl KillOnDrop {
    pub fn new(c: Child) -> KillOnDrop {
        KillOnDrop(Some(c))
    }
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child already taken")
    }
    /// Hands the child back (no kill on drop any more).
    pub fn take(mut self) -> Child {
        self.0.take().expect("child already taken")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `tests/tools/twnet.py`, the raw-frame generator / impairment relay.
pub fn twnet() -> String {
    format!("{}/tests/tools/twnet.py", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `python3 twnet.py args...` in namespace `netns` to completion (bounded) and parses
/// the JSON object it prints last.
pub fn twnet_in(netns: &str, args: &[&str], limit: Duration) -> serde_json::Value {
    let child = Command::new("ip")
        .args(["netns", "exec", netns, "python3", &twnet()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3 twnet.py");
    let out = wait_output(child, limit);
    assert!(
        out.status.success(),
        "twnet {args:?} failed\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("twnet output {last:?}: {e}"))
}

/// Starts `python3 twnet.py args...` in `netns` in the background.
pub fn twnet_spawn(netns: &str, args: &[&str]) -> KillOnDrop {
    KillOnDrop::new(
        Command::new("ip")
            .args(["netns", "exec", netns, "python3", &twnet()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn python3 twnet.py"),
    )
}

/// MAC address of `side`'s interface.
pub fn mac_of(p: &VethPair, side: &Side) -> String {
    p.exec(
        side,
        &["cat", &format!("/sys/class/net/{}/address", side.iface)],
    )
    .expect("read MAC")
    .trim()
    .to_string()
}

/// A sysfs statistics counter of `side`'s interface (`rx_nohandler`, `tx_dropped`, ...).
pub fn link_stat(p: &VethPair, side: &Side, name: &str) -> u64 {
    p.exec(
        side,
        &[
            "cat",
            &format!("/sys/class/net/{}/statistics/{name}", side.iface),
        ],
    )
    .expect("read link statistics")
    .trim()
    .parse()
    .expect("numeric link statistic")
}

/// Waits until `cond` holds, polling every 50 ms, for at most `limit`; returns whether it did.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Impairment settings of the relay (netem's `loss`, `delay`, `reorder`, `duplicate`).
#[derive(Clone, Copy, Debug)]
pub struct Impairment {
    pub loss: f64,
    pub delay_ms: f64,
    pub jitter_ms: f64,
    pub reorder: f64,
    pub duplicate: f64,
}

/// `a` <-> `m` <-> `b`: the pair's namespaces joined through a middle namespace `m` in which
/// `twnet.py relay` forwards frames between `m0` (peer of `tw0`) and `m1` (peer of `tw1`),
/// impairing IPv4/TCP both ways. This replaces `tc qdisc ... netem`: this kernel has no
/// sch_netem, and netem on `tw0`/`tw1` would not see AF_XDP frames anyway (AF_XDP TX goes
/// straight to the driver, past the qdisc, and XDP RX runs before tc ingress).
/// Dropping it stops the relay and removes `m`; the pair removes `a` and `b`.
pub struct ImpairedPair {
    pub p: Lab,
    pub m: String,
    relay: Option<KillOnDrop>,
    stats: PathBuf,
}

impl ImpairedPair {
    pub fn create(prefix: &str, imp: Impairment) -> ImpairedPair {
        let p = pair(prefix, 1);
        let m = p.a.netns.trim_end_matches("-a").to_string() + "-m";
        let stats = tmp(&format!("{m}-relay.json"));
        let _ = std::fs::remove_file(&stats);
        let mut ip = ImpairedPair {
            p,
            m,
            relay: None,
            stats,
        };
        let sh = |cmd: &[&str]| threeway::topo::sh(cmd).unwrap_or_else(|e| panic!("{e}"));
        sh(&["ip", "netns", "add", &ip.m]);
        // Re-plumb: tw0 (a) <-> m0 (m), m1 (m) <-> tw1 (b).
        sh(&["ip", "-n", &ip.p.a.netns, "link", "del", "tw0"]);
        sh(&[
            "ip",
            "link",
            "add",
            "tw0",
            "netns",
            &ip.p.a.netns,
            "type",
            "veth",
            "peer",
            "name",
            "m0",
            "netns",
            &ip.m,
        ]);
        sh(&[
            "ip",
            "link",
            "add",
            "m1",
            "netns",
            &ip.m,
            "type",
            "veth",
            "peer",
            "name",
            "tw1",
            "netns",
            &ip.p.b.netns,
        ]);
        let off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off"];
        for side in [ip.p.a.clone(), ip.p.b.clone()] {
            let addr = format!("{}/24", side.addr);
            ip.p.exec(&side, &["ip", "addr", "add", &addr, "dev", &side.iface])
                .unwrap();
            ip.p.exec(&side, &["ip", "link", "set", &side.iface, "up"])
                .unwrap();
            let mut cmd = vec!["ethtool", "-K", side.iface.as_str()];
            cmd.extend(off);
            ip.p.exec(&side, &cmd).unwrap();
        }
        for dev in ["m0", "m1"] {
            sh(&["ip", "-n", &ip.m, "link", "set", dev, "up"]);
            let mut cmd = vec!["ip", "netns", "exec", &ip.m, "ethtool", "-K", dev];
            cmd.extend(off);
            sh(&cmd);
        }
        let _ = threeway::topo::sh(&[
            "ip",
            "netns",
            "exec",
            &ip.m,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
        ]);
        let ready = tmp(&format!("{}-relay.ready", ip.m));
        let _ = std::fs::remove_file(&ready);
        let (loss, delay, jitter, reorder, dup) = (
            imp.loss.to_string(),
            imp.delay_ms.to_string(),
            imp.jitter_ms.to_string(),
            imp.reorder.to_string(),
            imp.duplicate.to_string(),
        );
        ip.relay = Some(twnet_spawn(
            &ip.m.clone(),
            &[
                "relay",
                "--a",
                "m0",
                "--b",
                "m1",
                "--loss",
                &loss,
                "--delay-ms",
                &delay,
                "--jitter-ms",
                &jitter,
                "--reorder",
                &reorder,
                "--duplicate",
                &dup,
                "--stats",
                ip.stats.to_str().unwrap(),
                "--ready",
                ready.to_str().unwrap(),
            ],
        ));
        assert!(
            wait_for(Duration::from_secs(10), || ready.exists()),
            "impairment relay did not start"
        );
        ip
    }

    /// Stops the relay (SIGTERM) and returns its counters: per direction `ab` / `ba`
    /// (`in`, `tcp`, `lost`, `duplicated`, `reordered`, `delayed`, `out`) and `delivered`
    /// TCP frames by flags ("S", "SA", "A", "RA", ...).
    pub fn stop_relay(&mut self) -> serde_json::Value {
        let mut r = self.relay.take().expect("relay running");
        signal(r.child(), "-TERM");
        let out = wait_output(r.take(), Duration::from_secs(10));
        assert!(out.status.success(), "relay failed\n{}", text(&out));
        read_json(&self.stats)
    }
}

impl Drop for ImpairedPair {
    fn drop(&mut self) {
        self.relay.take();
        let _ = Command::new("ip").args(["netns", "del", &self.m]).output();
    }
}

/// `threeway serve LISTEN -i tw1 --quiet --json JSON EXTRA...` in `p.b`, attached to XDP;
/// killed on drop (a failing test leaves no server behind).
pub fn serve_in(p: &VethPair, listen: &str, extra: &[&str], json: &Path) -> KillOnDrop {
    let mut args = vec!["serve", listen, "-i", "tw1", "--quiet", "--json"];
    args.push(json.to_str().unwrap());
    args.extend_from_slice(extra);
    let mut server = KillOnDrop::new(spawn_in(p, &p.b, &args));
    wait_attached(p, &p.b, server.child());
    server
}

/// SIGINT to a server from `serve_in`, which must exit 0 within 90 s; its output.
pub fn stop_server(mut server: KillOnDrop) -> Output {
    signal(server.child(), "-INT");
    let out = wait_output(server.take(), Duration::from_secs(90));
    assert!(out.status.success(), "{}", text(&out));
    out
}

/// `threeway connect ARGS... -i tw0 --rto 200ms --quiet --json JSON` in `p.a`, which must
/// exit 0 within 90 s; its JSON.
pub fn connect_json(p: &VethPair, args: &[&str], json: &Path) -> serde_json::Value {
    let mut all = vec!["connect"];
    all.extend_from_slice(args);
    all.extend(["-i", "tw0", "--rto", "200ms", "--quiet", "--json"]);
    all.push(json.to_str().unwrap());
    let out = run_in(p, &p.a, &all, Duration::from_secs(90));
    assert!(out.status.success(), "{}", text(&out));
    read_json(json)
}

/// `threeway kernel connect TARGET -n N --threads T -d 60s EXTRA... --json` in `p.a`, which
/// must exit 0 within 90 s; its JSON and the growth of `p.a`'s kernel ActiveOpens meanwhile.
pub fn kernel_connect(
    p: &VethPair,
    target: &str,
    n: u32,
    threads: u32,
    extra: &[&str],
) -> (serde_json::Value, u64) {
    let (n, threads) = (n.to_string(), threads.to_string());
    let mut args = vec![
        "kernel",
        "connect",
        target,
        "-n",
        &n,
        "--threads",
        &threads,
        "-d",
        "60s",
    ];
    args.extend_from_slice(extra);
    args.push("--json");
    let before = p.snmp(&p.a, "Tcp", "ActiveOpens").unwrap();
    let out = run_in(p, &p.a, &args, Duration::from_secs(90));
    assert!(out.status.success(), "{}", text(&out));
    let opens = p.snmp(&p.a, "Tcp", "ActiveOpens").unwrap() - before;
    (serde_json::from_slice(&out.stdout).unwrap(), opens)
}

/// threeway connect -> a kernel listener (2 threads) on TARGET in `p.b`: 10,000 attempts at
/// 4k/s, all established, and the listener's PassiveOpens grow by exactly our established
/// count. The client's JSON.
pub fn connect_to_kernel_listener_10k(
    p: &VethPair,
    target: &str,
    json: &Path,
) -> serde_json::Value {
    let _server = kernel_listen_at(p, &p.b, target, 2);
    let before = p.snmp(&p.b, "Tcp", "PassiveOpens").unwrap();
    let j = connect_json(p, &[target, "-n", "10000", "-r", "4k"], json);
    let est = j["established"].as_u64().unwrap();
    assert_eq!(j["attempted"], 10000, "{j}");
    assert_eq!(est, 10000, "{j}");
    let after = p.snmp(&p.b, "Tcp", "PassiveOpens").unwrap();
    assert_eq!(
        after - before,
        est,
        "kernel PassiveOpens must grow by our established count"
    );
    j
}

/// 10,000 kernel clients (2 threads) -> `threeway serve LISTEN EXTRA...` in `p.b`: every one
/// established, the kernel's ActiveOpens grow by 10,000 and the server accepted exactly that
/// many. The server's JSON and its stderr/stdout.
pub fn kernel_clients_serve_10k(
    p: &VethPair,
    listen: &str,
    server_extra: &[&str],
    client_extra: &[&str],
    json: &Path,
) -> (serde_json::Value, String) {
    let server = serve_in(p, listen, server_extra, json);
    let (k, opens) = kernel_connect(p, listen, 10000, 2, client_extra);
    std::thread::sleep(Duration::from_millis(300));
    let sout = text(&stop_server(server));
    let j = read_json(json);
    assert_eq!(k["established"], 10000, "kernel client: {k}");
    assert_eq!(opens, 10000, "kernel ActiveOpens");
    assert_eq!(
        j["accepted"].as_u64().unwrap(),
        opens,
        "our accept count vs kernel ActiveOpens\n{sout}"
    );
    (j, sout)
}

/// threeway client -> threeway server (20,000 connections at 10k/s, RST close) over a pair
/// with `queues` queues, `server_extra` added to `serve`; the client's and server's JSON.
pub fn threeway_pair(queues: u32, server_extra: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let tag = if server_extra.is_empty() { "tt" } else { "tx" };
    let p = pair(&format!("twt-{tag}{queues}"), queues);
    let listen = format!("{}:{PORT}", p.b.addr);
    // 4096-byte UMEM frames on one side, 2048 on the other.
    let frame = if queues == 1 { "4096" } else { "2048" };
    threeway_pair_on(&p, &listen, queues, server_extra, &["--frame-size", frame])
}

/// `threeway_pair` on a given pair and LISTEN address, `client_extra` added to `connect`.
pub fn threeway_pair_on(
    p: &VethPair,
    listen: &str,
    queues: u32,
    server_extra: &[&str],
    client_extra: &[&str],
) -> (serde_json::Value, serde_json::Value) {
    let tag = &p.a.netns;
    let (cj, sj) = (tmp(&format!("{tag}-c.json")), tmp(&format!("{tag}-s.json")));
    let q = queues.to_string();
    let mut sargs = vec!["-q", &q, "--rto", "200ms"];
    sargs.extend_from_slice(server_extra);
    let server = serve_in(p, listen, &sargs, &sj);
    let mut cargs = vec![listen, "-q", &q, "-n", "20000", "-r", "10k"];
    cargs.extend_from_slice(client_extra);
    let c = connect_json(p, &cargs, &cj);
    stop_server(server);
    (c, read_json(&sj))
}

/// Spoofed SYNs (sources in 198.19.0.0/16) from `p.a` to `p.b`'s PORT at `rate` per second
/// for `secs` seconds (tests/tools/twnet.py flood), addressed to `p.b`'s MAC.
pub fn spoofed_syn_flood(p: &VethPair, rate: &str, secs: &str) -> KillOnDrop {
    let server_mac = mac_of(p, &p.b);
    twnet_spawn(
        &p.a.netns,
        &[
            "flood",
            "--iface",
            "tw0",
            "--dst-mac",
            &server_mac,
            "--dst",
            &p.b.addr.to_string(),
            "--dport",
            &PORT.to_string(),
            "--src-net",
            "198.19.0.0/16",
            "--rate",
            rate,
            "--duration",
            secs,
        ],
    )
}

/// `serve LISTEN EXTRA...` in `p.b` under an 8000/s spoofed SYN flood lasting 7 s, with a
/// legitimate `connect` of 2000 at 500/s (4 s) starting 1 s into it. The client's JSON, the
/// server's JSON and the flood's summary.
pub fn legit_under_flood(
    p: &VethPair,
    server_extra: &[&str],
    tag: &str,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let listen = format!("{}:{PORT}", p.b.addr);
    let (cj, sj) = (tmp(&format!("{tag}-c.json")), tmp(&format!("{tag}-s.json")));
    let server = serve_in(p, &listen, server_extra, &sj);
    // The flood starts first and outlasts the legitimate run.
    let flood = spoofed_syn_flood(p, "8000", "7");
    std::thread::sleep(Duration::from_millis(1000));
    let c = connect_json(p, &[&listen, "-n", "2000", "-r", "500"], &cj);
    let f = flood_summary(flood);
    stop_server(server);
    (c, read_json(&sj), f)
}

/// Waits for a flood to end; its summary (`sent`, `pps`).
pub fn flood_summary(flood: KillOnDrop) -> serde_json::Value {
    let out = wait_output(flood.take(), Duration::from_secs(60));
    assert!(out.status.success(), "flood: {}", text(&out));
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}
