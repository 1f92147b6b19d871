//! The end-of-run summary: one value that the text report, the JSON file and `--assert` read.

use crate::tcp::{Outcome, Role};

use super::{Collector, Pcts, Totals};

/// `Summary::failed` of a counter set (whole run or one interval): every outcome but `closed`
/// (a server's `reset` is a client's RST close) plus a server's `accept_failed`.
pub fn failed_count(role: Role, st: &crate::tcp::Stats) -> u64 {
    failed_reasons(role, st).iter().map(|(_, n)| n).sum()
}

/// The parts of `failed_count` by reason (see `Summary::failed_by_reason`).
pub fn failed_reasons(role: Role, st: &crate::tcp::Stats) -> Vec<(&'static str, u64)> {
    let mut v: Vec<(&'static str, u64)> = Outcome::ALL
        .iter()
        .filter(|o| **o != Outcome::Closed)
        .filter(|o| role == Role::Client || **o != Outcome::Reset)
        .map(|o| (o.as_str(), st.outcomes[*o as usize]))
        .collect();
    if role == Role::Server {
        v.push(("accept_failed", st.accept_failed));
    }
    v
}

pub struct Summary {
    pub role: Role,
    /// Length of the measured (post-warmup) part, and of the whole run, in seconds.
    pub duration_s: f64,
    pub wall_s: f64,
    /// Client: the target rate (0 = unpaced).
    pub target_cps: f64,
    /// Whole-run counters.
    pub totals: Totals,
    /// Client: established per second; server: accepted per second (measured part).
    pub cps: f64,
    pub connect: Pcts,
    /// Client offload: `connect` by where it was measured (XDP, engine).
    pub connect_split: Option<(Pcts, Pcts)>,
    /// `--offload check`: the engine's half as XDP timed it (the same SYN-ACKs as `.1`).
    pub connect_witness: Option<Pcts>,
    pub rtt: Pcts,
    pub accept: Pcts,
    /// Server: SYN-ACK departure -> final ACK (network figure).
    pub accept_rtt: Pcts,
    /// Handshake frame built -> its TX batch submitted (the generator's own TX delay).
    pub tx_delay: Pcts,
    /// Client: the transaction series (`super::TRANSACTION`), in that order.
    pub transaction: Vec<Pcts>,
    pub workers: usize,
    pub cpu_s: f64,
    /// Effective configuration and pre-flight results, `key=value`.
    pub config: Vec<(String, String)>,
    pub errors: Vec<String>,
    /// The XDP program's counters (frames redirected, passed to the kernel, dropped).
    pub steer: crate::xsk::SteerCounters,
}

impl Summary {
    pub fn build(
        role: Role,
        c: &Collector,
        target_cps: f64,
        cpu_s: f64,
        config: Vec<(String, String)>,
    ) -> Summary {
        let (mut dur, measured) = c.measured();
        if role == Role::Server {
            dur = c.active_seconds().unwrap_or(dur);
        }
        let done = match role {
            Role::Client => measured.stats.established,
            Role::Server => measured.stats.accepted,
        };
        Summary {
            role,
            duration_s: dur,
            wall_s: c.started.elapsed().as_secs_f64(),
            target_cps,
            totals: c.totals(),
            cps: done as f64 / dur.max(1e-9),
            connect: Pcts::of(&c.total.connect),
            connect_split: c.connect_split().map(|(x, e)| (Pcts::of(&x), Pcts::of(&e))),
            connect_witness: c.connect_witness().map(Pcts::of),
            rtt: Pcts::of(&c.total.rtt),
            accept: Pcts::of(&c.total.accept),
            accept_rtt: Pcts::of(&c.total.accept_rtt),
            tx_delay: Pcts::of(&c.total.tx_delay),
            transaction: super::TRANSACTION
                .iter()
                .map(|(_, _, h)| Pcts::of(h(&c.total)))
                .collect(),
            workers: c.finished.len(),
            cpu_s,
            config,
            errors: c.errors.clone(),
            steer: c.steer,
        }
    }

    pub fn attempted(&self) -> u64 {
        self.totals.stats.attempted
    }

    pub fn established(&self) -> u64 {
        match self.role {
            Role::Client => self.totals.stats.established,
            Role::Server => self.totals.stats.accepted,
        }
    }

    /// Every connection that ended in something other than `closed`, by outcome: refused and
    /// timed-out handshakes, and resets, timeouts and protocol errors (wrong responses) after
    /// the handshake. A server adds `accept_failed` (SYN-RECEIVED ended without the final ACK)
    /// and leaves out `reset`: an RST is how clients close with `--close rst` (see
    /// `closed_by_rst`).
    pub fn failed_by_reason(&self) -> Vec<(&'static str, u64)> {
        failed_reasons(self.role, &self.totals.stats)
    }

    /// The non-zero entries of `failed_by_reason` as "reason count", joined by ", " (empty
    /// when nothing failed).
    pub fn failures_text(&self, count: impl Fn(u64) -> String) -> String {
        let v: Vec<String> = self
            .failed_by_reason()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {}", count(*n)))
            .collect();
        v.join(", ")
    }

    /// Server: accepted connections the client ended with an RST.
    pub fn closed_by_rst(&self) -> u64 {
        match self.role {
            Role::Client => 0,
            Role::Server => self.totals.stats.outcome(Outcome::Reset),
        }
    }

    pub fn failed(&self) -> u64 {
        self.failed_by_reason().iter().map(|(_, n)| n).sum()
    }

    /// Of `failed`: connections that failed after the handshake completed.
    pub fn failed_after_handshake(&self) -> u64 {
        let st = &self.totals.stats;
        let handshake: u64 = st.handshake_failed.iter().sum();
        let ended_badly = st.total_outcomes() - st.outcome(Outcome::Closed) - self.closed_by_rst();
        ended_badly.saturating_sub(handshake)
    }

    /// Attempts still in the handshake (attempted = established + handshake failures + active).
    pub fn active(&self) -> u64 {
        let handshake_failed: u64 = self.totals.stats.handshake_failed.iter().sum();
        self.attempted()
            .saturating_sub(self.established() + handshake_failed)
    }

    /// What limited the run, the binding resource first (see `diagnosis`).
    pub fn limits(&self) -> Vec<super::diagnosis::Limit> {
        super::diagnosis::diagnose(self)
    }

    /// Requests that did not get a complete, right response, by reason (client).
    pub fn request_failures(&self) -> Vec<(&'static str, u64)> {
        let st = &self.totals.stats;
        vec![
            ("bad_response", st.outcome(Outcome::BadResponse)),
            ("response_timeout", st.outcome(Outcome::ResponseTimeout)),
            ("closed_early", st.outcome(Outcome::ClosedEarly)),
            ("reset", st.request_resets),
        ]
    }

    /// HTTP responses by status class (client, `--http`).
    pub fn http_classes(&self) -> Vec<(&'static str, u64)> {
        let st = &self.totals.stats;
        vec![
            ("2xx", st.http_2xx),
            ("3xx", st.http_3xx),
            ("4xx", st.http_4xx),
            ("5xx", st.http_5xx),
            ("other", st.http_other),
        ]
    }

    /// Failure ratio of attempts.
    pub fn fail_ratio(&self) -> f64 {
        self.failed() as f64 / (self.attempted().max(1)) as f64
    }

    /// CPU microseconds per established connection.
    pub fn cpu_us_per_conn(&self) -> f64 {
        self.cpu_s * 1e6 / self.established().max(1) as f64
    }

    /// Worker time spent doing work (not polling idle rings) per established connection, us.
    pub fn busy_us_per_conn(&self) -> f64 {
        self.totals.lp.busy_ns as f64 / 1e3 / self.established().max(1) as f64
    }

    pub fn busy(&self) -> f64 {
        self.totals.lp.busy_ns as f64 / self.totals.lp.loop_ns.max(1) as f64
    }
}
