//! `--metrics ADDR:PORT`: Prometheus text exposition (prefix `threeway_`, base units, `_total`
//! counters, bounded labels: reason, direction). The page is rebuilt every interval and served
//! by a small thread; per-second truth lives in NDJSON/hlog.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::tcp::{DropReason, Outcome};

use super::{Pcts, Totals};

/// Shared page text.
pub type Page = Arc<Mutex<String>>;

/// Binds `addr` and serves the page from a background thread.
pub fn serve(addr: std::net::SocketAddr) -> Result<Page, String> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| format!("--metrics {addr}: cannot listen: {e}; pick a free ADDR:PORT"))?;
    let page: Page = Arc::new(Mutex::new(String::new()));
    let shared = page.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let body = shared.lock().map(|p| p.clone()).unwrap_or_default();
            let _ = answer(&mut conn, &body);
        }
    });
    Ok(page)
}

/// Reads the whole request head (so closing does not reset the connection), answers, and
/// half-closes.
fn answer(conn: &mut std::net::TcpStream, body: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match conn.read(&mut buf)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.shutdown(std::net::Shutdown::Write)
}

/// One latency summary, `threeway_<name>_duration_seconds`, quantiles since start.
fn quantiles(o: &mut String, name: &str, help: &str, p: &Pcts) {
    let _ = write!(
        o,
        "# HELP threeway_{name}_duration_seconds {help} quantiles since start.\n# TYPE threeway_{name}_duration_seconds summary\n"
    );
    for (q, v) in [
        ("0.5", p.p50),
        ("0.9", p.p90),
        ("0.99", p.p99),
        ("0.999", p.p99_9),
    ] {
        let _ = writeln!(
            o,
            "threeway_{name}_duration_seconds{{quantile=\"{q}\"}} {}",
            v as f64 / 1e9
        );
    }
    let _ = writeln!(o, "threeway_{name}_duration_seconds_count {}", p.count);
}

/// Renders the exposition text.
pub fn render(t: &Totals, handshake: &Pcts, transaction: &[(&str, Pcts)]) -> String {
    let st = &t.stats;
    let mut o = String::new();
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = write!(
            o,
            "# HELP threeway_{name} {help}\n# TYPE threeway_{name} counter\nthreeway_{name} {v}\n"
        );
    };
    counter(
        "connections_attempted_total",
        "Connection attempts (SYNs opened).",
        st.attempted,
    );
    counter(
        "connections_established_total",
        "Client handshakes completed.",
        st.established,
    );
    counter(
        "connections_accepted_total",
        "Server handshakes completed.",
        st.accepted,
    );
    counter(
        "syn_retransmits_total",
        "SYN retransmissions.",
        st.syn_retransmits,
    );
    counter(
        "requests_sent_total",
        "Requests sent (client) or responses queued (server).",
        st.requests_sent,
    );
    counter(
        "responses_ok_total",
        "Complete, right responses (client).",
        st.responses_ok,
    );
    counter(
        "bytes_received_total",
        "Payload bytes received in order.",
        st.bytes_in,
    );
    let _ = write!(
        o,
        "# HELP threeway_connect_failures_total Connections that ended other than closed (in the handshake or after it), by reason.\n# TYPE threeway_connect_failures_total counter\n"
    );
    for r in Outcome::ALL.iter().filter(|r| **r != Outcome::Closed) {
        let _ = writeln!(
            o,
            "threeway_connect_failures_total{{reason=\"{}\"}} {}",
            r.as_str(),
            st.outcomes[*r as usize]
        );
    }
    let _ = write!(
        o,
        "# HELP threeway_dropped_packets_total Inbound packets dropped, by reason.\n# TYPE threeway_dropped_packets_total counter\n"
    );
    for r in DropReason::ALL {
        let _ = writeln!(
            o,
            "threeway_dropped_packets_total{{reason=\"{}\"}} {}",
            r.as_str(),
            st.drops[r as usize]
        );
    }
    let _ = write!(
        o,
        "# HELP threeway_packets_total Frames by direction.\n# TYPE threeway_packets_total counter\nthreeway_packets_total{{direction=\"tx\"}} {}\nthreeway_packets_total{{direction=\"rx\"}} {}\n",
        st.tx_frames, st.rx_frames
    );
    let _ = write!(
        o,
        "# HELP threeway_active_connections Open connections.\n# TYPE threeway_active_connections gauge\nthreeway_active_connections {}\n",
        st.active
    );
    quantiles(&mut o, "handshake", "Handshake latency", handshake);
    for (name, p) in transaction.iter().filter(|(_, p)| p.count > 0) {
        quantiles(&mut o, name, "Transaction latency (see the summary)", p);
    }
    let _ = write!(
        o,
        "# HELP threeway_build_info Version.\n# TYPE threeway_build_info gauge\nthreeway_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    o
}
