//! Turns a parsed command line into a running session: XDP attach, one AF_XDP socket and one
//! pinned worker per queue, the collection loop (live line, NDJSON, hlog, metrics), the drain,
//! and the final summary with `--assert` checks. `connect`, `serve` and `demo` build on it.

mod collect;
pub mod connect;
pub mod demo;
pub mod facts;
pub mod host;
pub mod merge;
pub mod net;
pub mod offload;
#[cfg(test)]
mod plan_tests;
pub mod ports;
pub mod profile;
pub mod report;
pub mod search;
pub mod serve;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use crate::cli::{CommonArgs, XdpModeArg, ZeroCopyArg};
use crate::report::assert::Assertion;
use crate::report::hlog::HlogBuffer;
use crate::report::summary::Summary;
use crate::report::{Collector, XdpLatency, json, text};
use crate::tcp::{Engine, EngineConfig, Role};
use crate::worker::arp::ArpResponder;
use crate::worker::pace::Pace;
use crate::worker::{Control, WorkerPlan, handoff};
use crate::xsk::{Steer, SteerConfig, XdpAttachMode, Xsk, XskConfig, ZeroCopy};

/// Exit codes: 0 ok, 2 usage/config, 3 environment, 99 an `--assert` failed.
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_ENV: i32 = 3;
pub const EXIT_ASSERT: i32 = 99;

/// A failure that ends the program with `code`; `msg` says what failed and what to do.
#[derive(Debug)]
pub struct RunError {
    pub code: i32,
    pub msg: String,
}

impl RunError {
    pub fn usage(msg: impl Into<String>) -> RunError {
        RunError {
            code: EXIT_USAGE,
            msg: msg.into(),
        }
    }
    pub fn env(msg: impl Into<String>) -> RunError {
        RunError {
            code: EXIT_ENV,
            msg: msg.into(),
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Everything a session needs, built by `connect` or `serve`.
pub struct Plan {
    pub role: Role,
    pub common: CommonArgs,
    pub queues: u32,
    pub cores: Vec<usize>,
    /// One per worker (queue).
    pub engines: Vec<EngineConfig>,
    /// Client: one per worker.
    pub paces: Option<Vec<Pace>>,
    pub steer: SteerConfig,
    /// Where `steer.kernel_ports` came from, re-read during the run.
    pub kernel_watch: host::KernelWatch,
    pub arp_addrs: Vec<std::net::Ipv4Addr>,
    /// Emulated IPv6 addresses whose Neighbor Solicitations the workers answer (ascending).
    pub nd_addrs: Vec<std::net::Ipv6Addr>,
    /// Client: owner worker of each source port (hand-off routing).
    pub port_owners: Option<Arc<crate::tcp::PortOwners>>,
    pub target_cps: f64,
    /// Unix time to start at (`--start-at`), for runs split over hosts.
    pub start_at: Option<f64>,
    /// None = until Ctrl-C (or `count`).
    pub duration: Option<Duration>,
    /// Client: stop opening after this many attempts in total.
    pub count: Option<u64>,
    pub drain: Duration,
    pub warmup: Duration,
    /// Client: most opens per worker loop iteration (`--burst`).
    pub burst: usize,
    pub config: Vec<(String, String)>,
    pub asserts: Vec<Assertion>,
    /// Client: `--ramp`/`--steps` (this instance's rates); the interval targets follow it.
    pub profile: Option<crate::worker::profile::Profile>,
    /// Who answers the handshake (`--offload`).
    pub handshake: offload::Handshake,
}

/// The interface, its queue count and the worker cores for `common`, from the host facts
/// (and the privilege a session needs, failing closed).
pub fn queues_and_cores<'f>(
    common: &CommonArgs,
    f: &'f facts::HostFacts,
) -> Result<(&'f facts::IfaceFacts, u32, Vec<usize>), RunError> {
    f.privileged.clone().map_err(RunError::env)?;
    let iface = f.iface.as_ref().map_err(|e| RunError::env(e.clone()))?;
    let (rxq, txq) = (iface.rx_queues, iface.tx_queues);
    let avail = rxq.min(txq).max(1);
    let queues = common.queues.unwrap_or(avail);
    if queues == 0 || queues > avail {
        return Err(RunError::usage(format!(
            "--queues {queues}: {} has {rxq} RX and {txq} TX queues; use 1..={avail} (or raise them: ethtool -L {} combined N)",
            common.iface, common.iface
        )));
    }
    let ncpu = f.cpus;
    let cores = match &common.cores {
        Some(list) => list.0.clone(),
        None => (0..queues as usize).map(|q| q % ncpu).collect(),
    };
    if cores.len() < queues as usize {
        return Err(RunError::usage(format!(
            "--cores lists {} cores for {queues} queues",
            cores.len()
        )));
    }
    if let Some(c) = cores.iter().find(|c| **c >= ncpu) {
        return Err(RunError::usage(format!(
            "--cores: core {c} does not exist (this machine has {ncpu})"
        )));
    }
    Ok((iface, queues, cores))
}

/// The first lines of the configuration echo, the same for both roles.
pub fn config_head(
    role: &str,
    c: &CommonArgs,
    queues: u32,
    cores: &[usize],
) -> Vec<(String, String)> {
    let cores: Vec<String> = cores.iter().map(|c| c.to_string()).collect();
    vec![
        ("version".into(), env!("CARGO_PKG_VERSION").into()),
        ("role".into(), role.into()),
        ("iface".into(), c.iface.clone()),
        ("queues".into(), queues.to_string()),
        ("cores".into(), cores.join(",")),
    ]
}

/// The RTO cap for an initial RTO: 64 doublings' worth, at least RFC 6298's 60 s.
pub fn rto_max_for(rto: u64) -> u64 {
    rto.saturating_mul(64).max(60_000_000_000)
}

/// The engine settings both roles share, from the command line; `connect` and `serve` fill
/// in the rest.
pub fn engine_common(
    c: &CommonArgs,
    local_mac: crate::wire::MacAddr,
    secret: [u8; 16],
) -> crate::tcp::Common {
    let rto = c.rto.as_nanos() as u64;
    crate::tcp::Common {
        local_mac,
        rto,
        rto_max: rto_max_for(rto),
        data_timeout: rto.saturating_mul(8),
        capacity: c.capacity as usize,
        rcv_window: c
            .rcv_window
            .map_or(crate::tcp::Common::default().rcv_window, |w| {
                w.clamp(1, 0xffff << 14) as u32
            }),
        secret,
        ..crate::tcp::Common::default()
    }
}

/// Bytes per connection of a worker's table: the TCB, its index entry (8) and departure lag
/// (4), and with a request or response the data state (no per-connection buffers).
pub fn per_connection_bytes(data: bool) -> u64 {
    (crate::tcp::TCB_BYTES + 12 + if data { crate::tcp::XFER_BYTES } else { 0 }) as u64
}

/// Runs the session and returns the exit code (0 or 99) after printing the summary.
pub fn execute(mut plan: Plan) -> Result<i32, RunError> {
    let report = report::Pending::prepare(&mut plan.common)?;
    let c = plan.common.clone();
    let mode = match c.xdp_mode {
        XdpModeArg::Native => XdpAttachMode::Native,
        XdpModeArg::Generic => {
            eprintln!("warning: generic (SKB) XDP mode is slow and for diagnosis only");
            XdpAttachMode::Generic
        }
    };
    let wire_rx = c.rx_timestamp == crate::cli::RxTimestampArg::Xdp;
    plan.steer.rx_stamps = wire_rx;
    let mut steer =
        Steer::attach(&c.iface, mode, &plan.steer).map_err(|e| RunError::env(e.to_string()))?;
    let mut xsks = Vec::new();
    for q in 0..plan.queues {
        let cfg = XskConfig {
            ifname: c.iface.clone(),
            queue_id: q,
            frame_count: c.frames,
            ring_size: ring_size_for(c.frames),
            frame_size: c.frame_size,
            zero_copy: match c.zero_copy {
                ZeroCopyArg::Auto => ZeroCopy::Auto,
                ZeroCopyArg::On => ZeroCopy::On,
                ZeroCopyArg::Off => ZeroCopy::Off,
            },
            ..XskConfig::default()
        };
        let xsk = Xsk::open(&cfg).map_err(|e| RunError::env(e.to_string()))?;
        steer
            .register(q, xsk.fd())
            .map_err(|e| RunError::env(e.to_string()))?;
        xsks.push(xsk);
    }
    plan.config.push((
        "xdp_mode".into(),
        format!("{:?}", c.xdp_mode).to_lowercase(),
    ));
    plan.config
        .push(("xsk_mode".into(), xsks[0].mode().to_string()));
    plan.config
        .push(("xsk_tx_budget".into(), xsks[0].tx_budget().to_string()));
    plan.config.push((
        "rx_timestamp".into(),
        if wire_rx { "xdp" } else { "loop" }.into(),
    ));
    let queue_map: Vec<String> = (0..plan.queues as usize)
        .map(|q| format!("q{q}->cpu{}", plan.cores[q]))
        .collect();
    plan.config
        .push(("queue_core_map".into(), queue_map.join(",")));
    eprint!("{}", text::config_block(&plan.config));

    if let Some(t) = plan.start_at {
        wait_until(t)?;
    }
    let control = Arc::new(Control::default());
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, interrupted.clone())
            .map_err(|e| RunError::env(format!("cannot install signal handler: {e}")))?;
    }
    let (tx, rx) = crate::worker::exchange::report_channel(xsks.len());
    let mut returns = Vec::new();
    let inboxes = handoff::inboxes(plan.queues as usize, 4096)
        .map_err(|e| RunError::env(format!("cannot create the hand-off eventfds: {e}")))?;
    // The engines first (their tables take milliseconds to set up): the epoch is the
    // schedule's zero, so anything done after it makes the first intended starts late.
    let mut engines = Vec::with_capacity(xsks.len());
    for e in &plan.engines[..xsks.len()] {
        engines.push(Engine::new(e.clone()).map_err(RunError::usage)?);
    }
    let epoch = Instant::now();
    let mono_epoch = crate::xsk::monotonic_epoch(epoch);
    if let Some(h) = plan.handshake.xdp() {
        // XDP's clock is the workers': CLOCK_MONOTONIC minus the epoch's (cookie periods and
        // TSvals must agree with the engine's; the RX stamps use the same offset).
        let h = crate::xsk::HsConfig {
            epoch_ns: mono_epoch,
            ..h.clone()
        };
        steer
            .set_handshake(Some(&h))
            .map_err(|e| RunError::env(e.to_string()))?;
    }
    // The client offload: each engine reads XDP's established marks (mapped, no syscall).
    let marks = match plan.handshake.xdp() {
        Some(h) if h.client.is_some() => Some(
            steer
                .client_marks()
                .map_err(|e| RunError::env(e.to_string()))?,
        ),
        _ => None,
    };
    let split = plan
        .handshake
        .xdp()
        .and_then(|h| h.client)
        .map_or(0, |c| c.split);
    let core_ids = core_affinity::get_core_ids().unwrap_or_default();
    let mut handles = Vec::new();
    let local_mac = crate::wire::MacAddr(
        crate::xsk::iface::mac(&c.iface).map_err(|e| RunError::env(e.to_string()))?,
    );
    for (w, (xsk, mut engine)) in xsks.into_iter().zip(engines).enumerate() {
        if let Some(m) = marks.clone() {
            engine.set_xdp_marks(Box::new(move |p| m.get(p)), split);
        }
        let (back, spares) = crate::worker::exchange::exchange();
        returns.push(back);
        let worker = WorkerPlan {
            id: w,
            role: plan.role,
            core: core_ids.iter().find(|id| id.id == plan.cores[w]).copied(),
            engine,
            xsk,
            pace: plan.paces.as_ref().map(|p| p[w].clone()),
            burst: plan.burst,
            arp: ArpResponder {
                mac: local_mac,
                addrs: plan.arp_addrs.clone(),
                addrs6: plan.nd_addrs.clone(),
            },
            port_owners: plan.port_owners.clone(),
            inboxes: inboxes.clone(),
            reports: tx.clone(),
            spares,
            report_every: Duration::from_millis(100).min(c.interval),
            spin: c.spin,
            wire_rx,
            mono_epoch,
            epoch,
            control: control.clone(),
        };
        handles.push(
            std::thread::Builder::new()
                .name(format!("tw-worker-{w}"))
                .spawn(move || crate::worker::run(worker))
                .map_err(|e| RunError::env(format!("cannot start worker thread: {e}")))?,
        );
    }
    drop(tx);
    let cpu0 = crate::report::process_cpu();
    let watch = plan.kernel_watch.clone();
    let mut kernel_ports = plan.steer.kernel_ports.clone();
    // Both hooks below use the program: one borrow at a time, on this thread.
    let steer = std::cell::RefCell::new(steer);
    let mut refresh = || {
        let now = watch.ports(&host::KernelPorts::read());
        if now != kernel_ports && steer.borrow_mut().set_kernel_ports(&now).is_ok() {
            kernel_ports = now;
        }
    };
    let offloaded = plan.handshake.xdp().is_some();
    let mut xdp_stats = || {
        offloaded
            .then(|| steer.borrow().counters().ok())
            .flatten()
            .map(|x| offload::server_stats(&x))
    };
    // The client offload's latency buckets: running totals in XDP, handed on as deltas; the
    // witness series (the engine's half timed in XDP) only under --offload check.
    use crate::tcp::offload::LatSeries;
    let client_offload = offloaded && plan.role == crate::tcp::Role::Client;
    let mut seen = [Vec::new(), Vec::new()];
    let mut xdp_latency = || -> XdpLatency {
        let mut delta = |series: LatSeries| -> Vec<u64> {
            let wanted = client_offload && (series == LatSeries::Answered || split > 0);
            let Some(now) = wanted
                .then(|| steer.borrow().client_latency(series).ok())
                .flatten()
            else {
                return Vec::new();
            };
            let prev = &mut seen[series as usize];
            prev.resize(now.len(), 0);
            let d = now.iter().zip(&*prev).map(|(a, b)| a.saturating_sub(*b));
            let d = d.collect();
            *prev = now;
            d
        };
        XdpLatency {
            answered: delta(LatSeries::Answered),
            witness: delta(LatSeries::Witness),
        }
    };
    let outcome = collect::collect(
        &plan,
        &c,
        &control,
        &interrupted,
        &rx,
        &returns,
        collect::Hooks {
            every_second: &mut refresh,
            offload_stats: &mut xdp_stats,
            offload_latency: &mut xdp_latency,
        },
    );
    for h in handles {
        let _ = h.join();
    }
    let steer = steer.into_inner();
    let steer_counters = steer.counters().unwrap_or_default();
    drop(steer);
    let (mut collector, hlog) = outcome?;
    collector.steer = steer_counters;
    if let Some(w) = offload::unanswered_warning(&steer_counters, &c.iface) {
        eprintln!("warning: {w}");
    }
    let cpu = (crate::report::process_cpu() - cpu0).as_secs_f64();
    let code = finish(&plan, &c, &collector, &hlog, cpu)?;
    if let Some(r) = report {
        r.write()?;
    }
    Ok(code)
}

/// RX/TX ring entries for a UMEM of `frames` frames: the default 2048 when there are at
/// least 4096 frames, else the largest power of two that leaves FILL/RX and TX half the
/// frames each (at least 64, so `--frames` below 128 is refused by `Xsk::open`).
fn ring_size_for(frames: u32) -> u32 {
    let half = (frames / 2).max(1);
    (1u32 << (31 - half.leading_zeros())).clamp(64, XskConfig::default().ring_size)
}

/// Sleeps until Unix time `t` (`--start-at`); refuses a time more than a day away.
fn wait_until(t: f64) -> Result<(), RunError> {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    if t - now > 86_400.0 {
        return Err(RunError::usage(format!(
            "--start-at {t} is more than a day away"
        )));
    }
    if t > now {
        eprintln!("waiting {:.3}s for --start-at {t:.3}", t - now);
        std::thread::sleep(Duration::from_secs_f64(t - now));
    } else {
        eprintln!(
            "warning: --start-at {t:.3} is {:.3}s in the past; starting now",
            now - t
        );
    }
    Ok(())
}

/// Prints the summary, writes JSON/hlog, checks assertions; returns the exit code.
fn finish(
    plan: &Plan,
    c: &CommonArgs,
    col: &Collector,
    hlog: &HlogBuffer,
    cpu: f64,
) -> Result<i32, RunError> {
    let s = Summary::build(plan.role, col, plan.target_cps, cpu, plan.config.clone());
    print!("{}", text::summary(&s));
    let mut failed = false;
    if !plan.asserts.is_empty() {
        let mut parts = Vec::new();
        for a in &plan.asserts {
            let (ok, v) = a.check(&s, &col.total);
            failed |= !ok;
            parts.push(format!(
                "{} {} (measured {v:.4})",
                a.text,
                if ok { "ok" } else { "FAILED" }
            ));
        }
        println!(
            "Assertions:  {}  -> exit {}",
            parts.join("  "),
            if failed { EXIT_ASSERT } else { 0 }
        );
    }
    if let Some(p) = &c.json {
        let text = serde_json::to_string_pretty(&json::summary(&s)).unwrap_or_default();
        std::fs::write(p, text + "\n")
            .map_err(|e| RunError::env(format!("--json {}: {e}", p.display())))?;
    }
    if let Some(p) = &c.hlog {
        let started = SystemTime::now() - col.started.elapsed();
        let mut f = std::fs::File::create(p)
            .map_err(|e| RunError::env(format!("--hlog {}: {e}", p.display())))?;
        hlog.write(&mut f, started).map_err(RunError::env)?;
    }
    if !col.errors.is_empty() {
        return Err(RunError::env(format!(
            "run ended early: {}",
            col.errors.join("; ")
        )));
    }
    Ok(if failed { EXIT_ASSERT } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::ring_size_for;

    #[test]
    fn ring_size_follows_small_umems() {
        assert_eq!(ring_size_for(8192), 2048);
        assert_eq!(ring_size_for(4096), 2048);
        assert_eq!(ring_size_for(4095), 1024);
        assert_eq!(ring_size_for(256), 128);
        assert_eq!(ring_size_for(128), 64);
        assert_eq!(ring_size_for(64), 64); // refused by Xsk::open: 64 frames < 2 x 64
        assert_eq!(ring_size_for(0), 64);
    }
}
