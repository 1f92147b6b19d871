//! Helpers the benchmark binaries share: stopping a background threeway, reading a JSON file.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// SIGINT (threeway writes its summary), then SIGKILL after 10 s.
pub fn stop(mut c: Child) {
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

/// A JSON file, or `{}` when it is missing or unreadable.
pub fn read(path: &str) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(json!({}))
}
