//! The end-of-run summary: one value that the text report, the JSON file and `--assert` read.

use crate::tcp::{Outcome, Role};

use super::{Collector, Pcts, Totals};

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
    pub rtt: Pcts,
    pub accept: Pcts,
    /// Server: SYN-ACK departure -> final ACK (network figure).
    pub accept_rtt: Pcts,
    /// Handshake frame built -> its TX batch submitted (the generator's own TX delay).
    pub tx_delay: Pcts,
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
            rtt: Pcts::of(&c.total.rtt),
            accept: Pcts::of(&c.total.accept),
            accept_rtt: Pcts::of(&c.total.accept_rtt),
            tx_delay: Pcts::of(&c.total.tx_delay),
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

    /// Attempts that never reached ESTABLISHED, by outcome.
    pub fn failed_by_reason(&self) -> Vec<(&'static str, u64)> {
        Outcome::ALL
            .iter()
            .filter(|o| **o != Outcome::Closed)
            .map(|o| (o.as_str(), self.totals.stats.handshake_failed[*o as usize]))
            .collect()
    }

    pub fn failed(&self) -> u64 {
        self.failed_by_reason().iter().map(|(_, n)| n).sum()
    }

    /// Attempts still in the handshake (attempted = established + failed + active).
    pub fn active(&self) -> u64 {
        self.attempted()
            .saturating_sub(self.established() + self.failed())
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
