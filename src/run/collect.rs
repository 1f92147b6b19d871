//! The main thread during a session: merge worker reports, close intervals (live line,
//! NDJSON, hlog, metrics), decide when to stop opening and when to finish.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cli::CommonArgs;
use crate::report::hlog::HlogBuffer;
use crate::report::{Collector, Pcts, json, prom, text};
use crate::tcp::Role;
use crate::worker::Control;

use super::{Plan, RunError};

/// What the main thread's loop calls besides merging reports.
pub(super) struct Hooks<'a> {
    /// Once a second (the kernel-port refresh).
    pub every_second: &'a mut dyn FnMut(),
    /// Every 100 ms and at the end: the XDP handshake offload's counters as engine stats.
    pub offload_stats: &'a mut dyn FnMut() -> Option<crate::tcp::Stats>,
    /// At the same times: the client offload's latency buckets recorded in XDP since the
    /// last call (`tcp::offload::lat_value`), empty when there are none.
    pub offload_latency: &'a mut dyn FnMut() -> crate::report::XdpLatency,
}

/// The main thread's loop: merge reports, print intervals, decide when to stop.
pub(super) fn collect(
    plan: &Plan,
    c: &CommonArgs,
    control: &Control,
    interrupted: &AtomicBool,
    rx: &crossbeam_channel::Receiver<crate::worker::Report>,
    returns: &[crate::worker::exchange::Returns],
    hooks: Hooks<'_>,
) -> Result<(Collector, HlogBuffer), RunError> {
    let Hooks {
        every_second,
        offload_stats,
        offload_latency,
    } = hooks;
    let mut col = Collector::new(returns.len(), plan.warmup);
    let mut next_second = col.started + Duration::from_secs(1);
    let mut out = Outputs::open(c)?;
    let mut next_tick = col.started + c.interval;
    let mut next_offload = col.started;
    let mut stop_at: Option<Instant> = None;
    let mut finish_sent = false;
    let mut warned_unstamped = c.rx_timestamp == crate::cli::RxTimestampArg::Loop;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(r) => {
                if !warned_unstamped && r.xsk.rx_unstamped > 0 {
                    warned_unstamped = true;
                    eprintln!(
                        "warning: rx_timestamp=loop for some frames: the driver of {} gave them \
                         no XDP metadata, so their latency includes the wait for a worker \
                         (see \"RX time\" in the summary)",
                        c.iface
                    );
                }
                let w = r.worker;
                let buf = col.add(r);
                returns[w].give(buf);
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            Err(_) => {}
        }
        let now = Instant::now();
        if now >= next_offload {
            // The XDP program's connections (--offload xdp), as often as workers report.
            if let Some(s) = offload_stats() {
                col.set_offload(s);
            }
            col.add_xdp_latency(&offload_latency());
            next_offload = now + Duration::from_millis(100);
        }
        if now >= next_second {
            every_second();
            next_second += Duration::from_secs(1);
        }
        if now >= next_tick {
            out.interval(plan, c, &mut col, false);
            next_tick += c.interval;
        }
        let elapsed = now - col.started;
        let st = col.totals().stats;
        let issued = st.attempted + st.open_no_tuple + st.open_table_full;
        let over = plan.duration.is_some_and(|d| !d.is_zero() && elapsed >= d)
            || plan.count.is_some_and(|n| issued >= n);
        let sig = interrupted.load(Ordering::Relaxed);
        if (over || sig || !col.errors.is_empty()) && stop_at.is_none() {
            control.stop_opening.store(true, Ordering::Relaxed);
            col.mark_stop();
            let drain = if sig || !col.errors.is_empty() {
                Duration::ZERO
            } else {
                plan.drain
            };
            stop_at = Some(now + drain);
        }
        if let Some(t) = stop_at
            && !finish_sent
        {
            // Reports lag by up to 100 ms: only trust "nothing active" a little after the stop.
            let settled = now + plan.drain >= t + Duration::from_millis(250);
            let drained = plan.role == Role::Client && settled && col.totals().stats.active == 0;
            if now >= t || drained {
                control.finish.store(true, Ordering::Relaxed);
                finish_sent = true;
            }
        }
        if col.all_finished() {
            break;
        }
    }
    if let Some(s) = offload_stats() {
        col.set_offload(s);
    }
    col.add_xdp_latency(&offload_latency());
    // The last, partial interval (drain included), so NDJSON and hlog add up to the totals.
    out.interval(plan, c, &mut col, true);
    if out.tty && !c.quiet {
        eprintln!();
    }
    if let Some(e) = col.errors.first() {
        eprintln!("error: {e}");
    }
    Ok((col, out.hlog))
}

fn open_ndjson(c: &CommonArgs) -> Result<Option<Box<dyn Write>>, RunError> {
    match c.ndjson.as_deref() {
        None => Ok(None),
        Some(p) if p.as_os_str() == "-" => Ok(Some(Box::new(std::io::stdout()))),
        Some(p) => std::fs::File::create(p)
            .map(|f| Some(Box::new(std::io::LineWriter::new(f)) as Box<dyn Write>))
            .map_err(|e| RunError::env(format!("--ndjson {}: {e}", p.display()))),
    }
}

/// Where interval output goes.
struct Outputs {
    hlog: HlogBuffer,
    ndjson: Option<Box<dyn Write>>,
    metrics: Option<prom::Page>,
    tty: bool,
}

impl Outputs {
    fn open(c: &CommonArgs) -> Result<Outputs, RunError> {
        Ok(Outputs {
            hlog: HlogBuffer::default(),
            ndjson: open_ndjson(c)?,
            metrics: c
                .metrics
                .map(prom::serve)
                .transpose()
                .map_err(RunError::env)?,
            tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        })
    }

    /// Closes an interval: live line, NDJSON record, hlog entries, metrics page.
    fn interval(&mut self, plan: &Plan, c: &CommonArgs, col: &mut Collector, last: bool) {
        let iv = col.tick();
        // A last interval that only drained (nothing opened, nothing completed) is not worth a line.
        let quiet_tail = last
            && iv.delta.stats.attempted == 0
            && iv.delta.stats.established == 0
            && iv.delta.stats.accepted == 0;
        let start = Duration::from_secs_f64((iv.t - iv.dt).max(0.0));
        let len = Duration::from_secs_f64(iv.dt);
        self.hlog.push(start, len, "connect", &iv.latency.connect);
        self.hlog.push(start, len, "rtt", &iv.latency.rtt);
        self.hlog.push(start, len, "accept", &iv.latency.accept);
        for (tag, _, h) in crate::report::TRANSACTION {
            self.hlog.push(start, len, tag, h(&iv.latency));
        }
        let target = plan.target_between(iv.t - iv.dt, iv.t);
        if !c.quiet && !quiet_tail {
            let line = text::live_line(plan.role, &iv, target);
            if self.tty {
                eprint!("\r\x1b[2K{line}")
            } else {
                eprintln!("{line}")
            }
        }
        if let Some(f) = self.ndjson.as_mut() {
            let _ = writeln!(f, "{}", json::interval(plan.role, &iv, target));
        }
        if let Some(page) = &self.metrics {
            let hist = match plan.role {
                Role::Client => &col.total.connect,
                Role::Server => &col.total.accept,
            };
            let transaction: Vec<(&str, Pcts)> = crate::report::TRANSACTION
                .iter()
                .map(|(name, _, h)| (*name, Pcts::of(h(&col.total))))
                .collect();
            let text = prom::render(&iv.totals, &Pcts::of(hist), &transaction);
            if let Ok(mut p) = page.lock() {
                *p = text;
            }
        }
    }
}
