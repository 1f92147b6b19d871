//! Open-loop pacing: connection k of a worker is due at `start + k * interval` (its intended
//! start). Latency is measured from that instant, so a stalled generator shows up as latency and
//! as late starts instead of silently lowering the offered load (coordinated omission).

use crate::tcp::Nanos;

/// A start is "late" when it leaves more than this after its intended time.
pub const LATE_NS: Nanos = 1_000_000;

#[derive(Clone, Debug)]
pub struct Pace {
    /// Connections per second for this worker; 0 = as fast as `max_active` allows.
    pub rate: f64,
    /// First intended start (ns on the run clock).
    pub start: Nanos,
    /// No intended start at or after this instant.
    pub until: Nanos,
    /// At most this many attempts (None = unlimited).
    pub count: Option<u64>,
    /// Do not open while this many connections are active (closed-loop cap).
    pub max_active: usize,
    /// `--ramp`/`--steps`: intended starts follow this profile (`rate` is then its peak).
    pub profile: Option<std::sync::Arc<super::profile::Profile>>,
}

impl Pace {
    /// Nanoseconds between intended starts (0 when unpaced).
    pub fn interval(&self) -> f64 {
        if self.rate > 0.0 {
            1e9 / self.rate
        } else {
            0.0
        }
    }
}

/// Schedule state kept by the worker.
#[derive(Debug)]
pub struct Schedule {
    pace: Pace,
    issued: u64,
    pub late: u64,
}

impl Schedule {
    pub fn new(pace: Pace) -> Schedule {
        Schedule {
            pace,
            issued: 0,
            late: 0,
        }
    }

    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// The intended start of the next connection, if one is due at `now` and allowed by the
    /// count, the end of the schedule and the active cap.
    pub fn due(&self, now: Nanos, active: usize) -> Option<Nanos> {
        if self.pace.count.is_some_and(|c| self.issued >= c) || active >= self.pace.max_active {
            return None;
        }
        if self.pace.rate <= 0.0 {
            // Unpaced (closed loop under `max_active`): a connection is intended when it can start.
            return (now >= self.pace.start && now < self.pace.until).then_some(now);
        }
        let intended = self.intended(self.issued);
        (intended <= now && intended < self.pace.until).then_some(intended)
    }

    /// Marks the connection due at `intended` as issued at `now`.
    pub fn issue(&mut self, now: Nanos, intended: Nanos) {
        self.issued += 1;
        if now.saturating_sub(intended) > LATE_NS && self.pace.rate > 0.0 {
            self.late += 1;
        }
    }

    /// When the next connection is due (for sleeping), None when the schedule is over.
    /// (None also while `active` is at the cap: a completion, not a time, frees the next.)
    pub fn next_due(&self, active: usize) -> Option<Nanos> {
        if self.pace.count.is_some_and(|c| self.issued >= c) || active >= self.pace.max_active {
            return None;
        }
        let t = self.intended(self.issued);
        (t < self.pace.until).then_some(t)
    }

    fn intended(&self, k: u64) -> Nanos {
        match &self.pace.profile {
            // A profile that ends at rate 0 never reaches k: past `until`, so never due.
            Some(p) => p
                .intended(k)
                .map_or(Nanos::MAX, |t| self.pace.start.saturating_add(t)),
            None => self.pace.start + (k as f64 * self.pace.interval()) as Nanos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(rate: f64) -> Pace {
        Pace {
            rate,
            start: 1_000,
            until: 1_000 + 1_000_000_000,
            count: None,
            max_active: 10,
            profile: None,
        }
    }

    #[test]
    fn paced_starts_follow_the_intended_schedule() {
        let mut s = Schedule::new(pace(1000.0)); // 1 ms apart
        assert_eq!(s.due(999, 0), None);
        assert_eq!(s.due(1_000, 0), Some(1_000));
        s.issue(1_000, 1_000);
        assert_eq!(s.due(1_000, 0), None);
        assert_eq!(s.due(1_001_000, 0), Some(1_001_000));
        // a stalled generator: intended starts stay in the past and are counted late
        s.issue(5_000_000, 1_001_000);
        assert_eq!(s.late, 1);
        assert_eq!(s.due(5_000_000, 0), Some(2_001_000));
    }

    #[test]
    fn unpaced_starts_are_intended_now() {
        let s = Schedule::new(pace(0.0));
        assert_eq!(s.due(5_000, 0), Some(5_000));
        assert_eq!(s.due(5_000, 10), None, "active cap");
        assert_eq!(s.due(2_000_000_000, 0), None, "past the end");
    }

    #[test]
    fn cap_count_and_end() {
        let mut s = Schedule::new(Pace {
            count: Some(2),
            ..pace(1000.0)
        });
        assert_eq!(s.due(1_000, 10), None, "active cap");
        s.issue(1_000, 1_000);
        s.issue(1_001_000, 1_001_000);
        assert_eq!(s.due(9_000_000, 0), None, "count reached");
        assert_eq!(s.next_due(0), None);
        let s = Schedule::new(pace(1.0));
        assert_eq!(
            s.due(2_000_000_000, 0),
            Some(1_000),
            "a late start is still due"
        );
        assert_eq!(
            Schedule::new(pace(1.0)).due(1_000 + 1_000_000_000, 0),
            Some(1_000)
        );
    }

    #[test]
    fn a_profile_sets_the_intended_starts() {
        let p = super::super::profile::Profile::parse_steps("1k,0/1s").unwrap();
        let mut s = Schedule::new(Pace {
            profile: Some(std::sync::Arc::new(p)),
            until: u64::MAX,
            ..pace(1000.0)
        });
        assert_eq!(s.due(1_000, 0), Some(1_000));
        s.issue(1_000, 1_000);
        assert_eq!(s.next_due(0), Some(1_001_000));
        for k in 1..1000 {
            let t = 1_000 + k * 1_000_000;
            s.issue(t, t);
        }
        assert_eq!(s.next_due(0), None, "the profile ends at rate 0");
        assert_eq!(s.due(u64::MAX - 1, 0), None);
    }
}
