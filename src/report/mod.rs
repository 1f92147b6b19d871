//! Counters and histograms from the workers, merged by the main thread, and everything
//! printed or written from them: the live line, the final summary, JSON, NDJSON, hlog,
//! Prometheus, and `--assert` checks. Reads counters only, never engine internals.

pub mod assert;
pub mod diagnosis;
pub mod hlog;
pub mod html;
pub mod json;
pub mod merge;
pub mod prom;
pub mod stats_view;
pub mod summary;
pub mod svg;
pub mod text;

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::tcp::{Latency, Stats};
use crate::worker::{LoopCounters, Report};
use crate::xsk::{XdpStatistics, XskCounters};

/// Cumulative counters of all workers together.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub stats: Stats,
    pub lp: LoopCounters,
    pub xsk: XskCounters,
    pub xdp: XdpStatistics,
}

impl Totals {
    /// "ring-full", the one meaning used by the live line, the summary and JSON: frames lost
    /// because a ring or the frame pool was full: the kernel's XDP RX-ring overflow
    /// (`XDP_STATISTICS.rx_ring_full`), no free UMEM frame for TX, the TX ring full.
    pub fn ring_full(&self) -> u64 {
        self.xdp.rx_ring_full + self.xsk.no_free_frame + self.xsk.tx_ring_full
    }

    fn merge(&mut self, o: &Totals) {
        self.stats.merge(&o.stats);
        self.lp.merge(&o.lp);
        self.xsk.merge(&o.xsk);
        self.xdp.merge(&o.xdp);
    }
}

/// A latency series' histogram in `Latency`.
pub type Series = fn(&Latency) -> &Histogram<u64>;

/// The transaction latency series (client, per request), one table for the summary, JSON,
/// NDJSON, hlog tags and Prometheus: (name, what it measures, the histogram).
pub const TRANSACTION: [(&str, &str, Series); 4] = [
    (
        "ttfb",
        "Time to first response byte (the request's intended start -> first byte at the wire)",
        |l| &l.ttfb,
    ),
    (
        "ttfb_sent",
        "Time to first response byte (the request sent -> first byte at the wire)",
        |l| &l.ttfb_sent,
    ),
    (
        "response",
        "Response time (the request's intended start -> the response complete)",
        |l| &l.response,
    ),
    (
        "response_sent",
        "Response time (the request sent -> the response complete)",
        |l| &l.response_sent,
    ),
];

/// Percentiles of one histogram, in ns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pcts {
    pub count: u64,
    pub p50: u64,
    pub p75: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub p99_99: u64,
    pub max: u64,
}

impl Pcts {
    pub fn of(h: &Histogram<u64>) -> Pcts {
        if h.is_empty() {
            return Pcts::default();
        }
        Pcts {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p75: h.value_at_quantile(0.75),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            p99_99: h.value_at_quantile(0.9999),
            max: h.max(),
        }
    }
}

/// One interval's view, produced by `Collector::tick`.
pub struct Interval {
    /// Seconds since the start, and the interval's length.
    pub t: f64,
    pub dt: f64,
    pub totals: Totals,
    /// `totals` minus the previous interval's totals.
    pub delta: Totals,
    /// Latency recorded during this interval.
    pub latency: Latency,
}

/// Merges worker reports; keeps interval and whole-run (post-warmup) histograms.
pub struct Collector {
    per_worker: Vec<Totals>,
    interval: Latency,
    /// Since the end of the warm-up.
    pub total: Latency,
    prev: Totals,
    prev_t: f64,
    pub started: Instant,
    warmup: Duration,
    /// Totals and time when the warm-up ended (rate is measured from there).
    pub measured_from: Option<(f64, Totals)>,
    pub errors: Vec<String>,
    pub finished: Vec<bool>,
    /// When handshakes were first and last seen completing (a server's busy window), seconds.
    active_window: Option<(f64, f64)>,
    /// The XDP program's counters (read once, at the end).
    pub steer: crate::xsk::SteerCounters,
    /// Seconds from the start to the moment opening stopped (rates are measured up to here).
    stopped_at: Option<f64>,
    /// What the XDP program's handshake offload did, in engine counters (added to totals).
    offload: crate::tcp::Stats,
    /// The part of `total.connect` XDP recorded (client offload), since the warm-up.
    pub xdp_connect: Option<Histogram<u64>>,
    /// `--offload check`: the engine's half timed in XDP too (not in `total.connect`).
    xdp_witness: Option<Histogram<u64>>,
}

/// The (value, count) of each non-empty XDP latency bucket (`tcp::offload::lat_value`).
fn xdp_counts(buckets: &[u64]) -> impl Iterator<Item = (u64, u64)> + '_ {
    let v = buckets.iter().enumerate().filter(|(_, n)| **n > 0);
    v.map(|(i, &n)| (crate::tcp::offload::lat_value(i), n))
}

/// The client offload's latency buckets since the last read (`tcp::offload::LatSeries`),
/// empty when not read.
#[derive(Default)]
pub struct XdpLatency {
    pub answered: Vec<u64>,
    pub witness: Vec<u64>,
}

impl Collector {
    pub fn new(workers: usize, warmup: Duration) -> Collector {
        Collector {
            per_worker: vec![Totals::default(); workers],
            interval: Latency::new(),
            total: Latency::new(),
            prev: Totals::default(),
            prev_t: 0.0,
            started: Instant::now(),
            warmup,
            measured_from: if warmup.is_zero() {
                Some((0.0, Totals::default()))
            } else {
                None
            },
            errors: Vec::new(),
            finished: vec![false; workers],
            stopped_at: None,
            active_window: None,
            steer: Default::default(),
            offload: Default::default(),
            xdp_connect: None,
            xdp_witness: None,
        }
    }

    /// The XDP offload's running totals (`run::offload::server_stats`).
    pub fn set_offload(&mut self, s: crate::tcp::Stats) {
        let done = |s: &crate::tcp::Stats| s.accepted + s.established;
        if done(&s) > done(&self.offload) {
            let t = self.started.elapsed().as_secs_f64();
            let win = self.active_window.get_or_insert(((t - 0.1).max(0.0), t));
            win.1 = t;
        }
        self.offload = s;
    }

    /// The client offload's handshake latencies recorded in XDP since the last call: the
    /// answered series into the connect latency (from the intended start), as the engine
    /// records it; the witness series (`--offload check`) only beside it, for the check.
    pub fn add_xdp_latency(&mut self, l: &XdpLatency) {
        for (v, n) in xdp_counts(&l.answered) {
            crate::tcp::record_n(&mut self.interval.connect, v, n);
            if self.measured_from.is_some() {
                crate::tcp::record_n(&mut self.total.connect, v, n);
                let x = self.xdp_connect.get_or_insert_with(crate::tcp::histogram);
                crate::tcp::record_n(x, v, n);
            }
        }
        for (v, n) in xdp_counts(&l.witness) {
            if self.measured_from.is_some() {
                let w = self.xdp_witness.get_or_insert_with(crate::tcp::histogram);
                crate::tcp::record_n(w, v, n);
            }
        }
    }

    /// `--offload check`: the engine's half as XDP timed it (`LatSeries::Witness`).
    pub fn connect_witness(&self) -> Option<&Histogram<u64>> {
        self.xdp_witness.as_ref()
    }

    /// The connect latency by where it was measured, when XDP measured any: (XDP, engine).
    pub fn connect_split(&self) -> Option<(Histogram<u64>, Histogram<u64>)> {
        let x = self.xdp_connect.as_ref()?;
        let mut engine = self.total.connect.clone();
        // `x` was recorded into `total.connect` value for value: never more than it holds.
        engine.subtract(x).ok()?;
        Some((x.clone(), engine))
    }

    /// Merges `r`; gives back its latency buffers (to be returned to the worker).
    pub fn add(&mut self, r: Report) -> Latency {
        let w = r.worker;
        let done = |s: &crate::tcp::Stats| s.accepted + s.established;
        if done(&r.stats) > done(&self.per_worker[w].stats) {
            // Reports come every 100 ms: the handshakes completed within the last one.
            let t = self.started.elapsed().as_secs_f64();
            let win = self.active_window.get_or_insert(((t - 0.1).max(0.0), t));
            win.1 = t;
        }
        self.per_worker[w] = Totals {
            stats: r.stats,
            lp: r.lp,
            xsk: r.xsk,
            xdp: r.xdp.unwrap_or(self.per_worker[w].xdp),
        };
        stats_view::merge_latency(&mut self.interval, &r.latency);
        if self.measured_from.is_some() {
            stats_view::merge_latency(&mut self.total, &r.latency);
        }
        if let Some(e) = r.error {
            self.errors.push(format!("worker {w}: {e}"));
        }
        self.finished[w] |= r.last;
        r.latency
    }

    pub fn all_finished(&self) -> bool {
        self.finished.iter().all(|f| *f)
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for w in &self.per_worker {
            t.merge(w);
        }
        t.stats.merge(&self.offload);
        t
    }

    /// Closes the current interval.
    pub fn tick(&mut self) -> Interval {
        let t = self.started.elapsed().as_secs_f64();
        let totals = self.totals();
        let delta = totals.minus(&self.prev);
        let latency = std::mem::take(&mut self.interval);
        let iv = Interval {
            t,
            dt: t - self.prev_t,
            totals,
            delta,
            latency,
        };
        if self.measured_from.is_none() && self.started.elapsed() >= self.warmup {
            self.measured_from = Some((t, totals));
        }
        self.prev = totals;
        self.prev_t = t;
        iv
    }

    /// Opening stopped now (duration over, count reached, Ctrl-C).
    pub fn mark_stop(&mut self) {
        self.stopped_at
            .get_or_insert(self.started.elapsed().as_secs_f64());
    }

    /// Seconds during which handshakes completed (100 ms resolution): a server's rate is
    /// measured over this, not over the time it waited for clients.
    pub fn active_seconds(&self) -> Option<f64> {
        self.active_window.map(|(a, b)| b - a)
    }

    /// Seconds and totals of the measured part of the run: from the end of the warm-up to the
    /// moment opening stopped (the drain adds completions, not time).
    pub fn measured(&self) -> (f64, Totals) {
        let t = self
            .stopped_at
            .unwrap_or_else(|| self.started.elapsed().as_secs_f64());
        let now = self.totals();
        match self.measured_from {
            Some((t0, base)) => (t - t0, now.minus(&base)),
            None => (t, now),
        }
    }
}

impl Totals {
    /// Counter-wise difference (gauges keep `self`'s value).
    pub fn minus(&self, o: &Totals) -> Totals {
        Totals {
            stats: self.stats.minus(&o.stats),
            lp: self.lp.minus(&o.lp),
            xsk: self.xsk.minus(&o.xsk),
            xdp: self.xdp.minus(&o.xdp),
        }
    }
}

/// Process CPU time (user + system) from /proc/self/stat, for CPU per connection.
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let total = ticks(11) + ticks(12); // utime, stime (fields 14, 15 counted from 1)
    Duration::from_millis(total * 10) // USER_HZ is 100 on Linux
}

/// Peak resident set size (VmHWM) of this process, in bytes.
pub fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
