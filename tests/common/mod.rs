//! Shared helpers for the root + netns integration tests: run the real binary inside a
//! namespace of a `VethPair` (which removes itself on drop, also on panic).
#![allow(dead_code)]

use std::path::PathBuf;
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

pub fn pair(prefix: &str, queues: u32) -> VethPair {
    require_root();
    VethPair::create(prefix, queues).expect("create veth pair")
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
