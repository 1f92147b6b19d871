//! `connect --ramp` / `--steps`: the rate profile in the plan (per segment, per worker) and
//! the target an interval had, for the live line, NDJSON and the summary.

use std::time::Duration;

use crate::worker::profile::Profile;

use super::Plan;

/// The profile of this instance: `--segment i/N` gets an N-th of every rate.
pub fn of_args(ramp: &Option<Profile>, steps: &Option<Profile>, nseg: u16) -> Option<Profile> {
    ramp.as_ref()
        .or(steps.as_ref())
        .map(|p| p.scaled(1.0 / nseg as f64))
}

/// The run's mean target: the profile's count over the run over its length (the profile's
/// own length when the run is open-ended), or the constant rate.
pub fn mean_target(profile: &Option<Profile>, rate: f64, duration: Option<Duration>) -> f64 {
    match profile {
        Some(p) => {
            let len = duration.map_or(p.len_s(), |d| d.as_secs_f64());
            p.mean_rate(0.0, len)
        }
        None => rate,
    }
}

impl Plan {
    /// The target rate over [a, b] seconds of the run (a profile offers nothing after the
    /// run's duration: the drain's interval has a lower target).
    pub fn target_between(&self, a: f64, b: f64) -> f64 {
        match &self.profile {
            Some(p) if b > a => {
                let a = a.max(0.0);
                let end = self.duration.map_or(b, |d| b.min(d.as_secs_f64())).max(a);
                (p.count(end) - p.count(a)) / (b - a)
            }
            Some(_) => 0.0,
            None => self.target_cps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_mean_target() {
        let ramp = Profile::parse_ramp("10k..30k/2s").ok();
        let p = of_args(&ramp, &None, 2).unwrap();
        assert!((p.mean_rate(0.0, 2.0) - 10_000.0).abs() < 1e-6);
        assert!((mean_target(&Some(p.clone()), 0.0, None) - 10_000.0).abs() < 1e-6);
        // a run longer than the ramp holds its last rate (15k per segment)
        let m = mean_target(&Some(p), 0.0, Some(Duration::from_secs(4)));
        assert!((m - 12_500.0).abs() < 1e-6);
        assert_eq!(mean_target(&None, 5.0, None), 5.0);
    }
}
