//! Rate profiles for `connect --ramp 10k..1M/30s` and `--steps 100k,200k,400k/10s`: the offered
//! rate as a function of time, still open loop. The pacer needs the inverse of the cumulative
//! count: connection k is intended at the instant t where the integral of the rate reaches k
//! (plus the worker's phase, so the workers' starts interleave as with a constant rate).

use crate::tcp::Nanos;

/// A piece of the profile: the rate goes linearly from `r0` to `r1` (connections/s) over
/// `len` seconds. Steps are pieces with `r0 == r1`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    len: f64,
    r0: f64,
    r1: f64,
}

impl Piece {
    /// Connections intended in the first `t` seconds of this piece.
    fn count(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, self.len);
        self.r0 * t + (self.r1 - self.r0) * t * t / (2.0 * self.len)
    }

    /// The instant (seconds into the piece) at which `count` reaches `n` (0 <= n <= count(len)).
    fn time_of(&self, n: f64) -> f64 {
        let a = (self.r1 - self.r0) / (2.0 * self.len);
        if a.abs() < 1e-12 {
            return if self.r0 > 0.0 { n / self.r0 } else { 0.0 };
        }
        // a t^2 + r0 t - n = 0; the root in [0, len], written to avoid cancellation.
        let disc = (self.r0 * self.r0 + 4.0 * a * n).max(0.0).sqrt();
        (2.0 * n / (self.r0 + disc)).clamp(0.0, self.len)
    }
}

/// The offered rate over time. After the last piece the last rate holds (until `--duration`).
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pieces: Vec<Piece>,
    /// Added to k before inverting: worker w of q starts at phase w/q.
    phase: f64,
    /// How it was written, for the configuration echo.
    pub text: String,
}

impl Profile {
    /// `--ramp FROM..TO/LEN`, e.g. `10k..1M/30s`.
    pub fn parse_ramp(s: &str) -> Result<Profile, String> {
        let bad = || format!("--ramp '{s}': use FROM..TO/DURATION, e.g. 10k..1M/30s");
        let (rates, len) = s.split_once('/').ok_or_else(bad)?;
        let (from, to) = rates.split_once("..").ok_or_else(bad)?;
        let r0 = crate::units::parse_rate(from).map_err(|e| format!("--ramp: {e}"))?;
        let r1 = crate::units::parse_rate(to).map_err(|e| format!("--ramp: {e}"))?;
        let len = positive(len, "--ramp")?;
        if r0 == 0.0 && r1 == 0.0 {
            return Err(format!("--ramp '{s}': both rates are 0"));
        }
        Ok(Profile {
            pieces: vec![Piece { len, r0, r1 }],
            phase: 0.0,
            text: format!("ramp {s}"),
        })
    }

    /// `--steps R1,R2,.../LEN`: each rate for LEN, e.g. `100k,200k,400k/10s`.
    pub fn parse_steps(s: &str) -> Result<Profile, String> {
        let bad = || format!("--steps '{s}': use RATE,RATE,.../DURATION, e.g. 100k,200k/10s");
        let (rates, len) = s.split_once('/').ok_or_else(bad)?;
        let len = positive(len, "--steps")?;
        let pieces = rates
            .split(',')
            .map(|r| {
                let r = crate::units::parse_rate(r).map_err(|e| format!("--steps: {e}"))?;
                Ok(Piece { len, r0: r, r1: r })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if pieces.iter().all(|p| p.r0 == 0.0) {
            return Err(format!("--steps '{s}': every rate is 0"));
        }
        Ok(Profile {
            pieces,
            phase: 0.0,
            text: format!("steps {s}"),
        })
    }

    /// Length of the written profile in seconds (the default run length).
    pub fn len_s(&self) -> f64 {
        self.pieces.iter().map(|p| p.len).sum()
    }

    /// Highest rate anywhere in the profile.
    pub fn peak(&self) -> f64 {
        self.pieces
            .iter()
            .map(|p| p.r0.max(p.r1))
            .fold(0.0, f64::max)
    }

    /// The same profile with every rate times `f` (segments, workers).
    pub fn scaled(&self, f: f64) -> Profile {
        let pieces = self
            .pieces
            .iter()
            .map(|p| Piece {
                r0: p.r0 * f,
                r1: p.r1 * f,
                ..*p
            })
            .collect();
        Profile {
            pieces,
            ..self.clone()
        }
    }

    /// Worker `w` of `q`: a q-th of the rate, phase w/q (the workers' starts interleave).
    pub fn per_worker(&self, w: usize, q: usize) -> Profile {
        Profile {
            phase: w as f64 / q as f64,
            ..self.scaled(1.0 / q as f64)
        }
    }

    /// Connections intended in the first `t` seconds.
    pub fn count(&self, t: f64) -> f64 {
        let mut acc = 0.0;
        let mut start = 0.0;
        for p in &self.pieces {
            if t <= start + p.len {
                return acc + p.count(t - start);
            }
            acc += p.count(p.len);
            start += p.len;
        }
        let last = self.pieces.last().map_or(0.0, |p| p.r1);
        acc + last * (t - start)
    }

    /// Mean offered rate over [a, b] seconds (an interval's target).
    pub fn mean_rate(&self, a: f64, b: f64) -> f64 {
        if b > a {
            (self.count(b) - self.count(a)) / (b - a)
        } else {
            0.0
        }
    }

    /// Intended start of connection `k` (ns from the schedule start), None if never (the
    /// profile ends at rate 0 before reaching it).
    pub fn intended(&self, k: u64) -> Option<Nanos> {
        let n = k as f64 + self.phase;
        let mut acc = 0.0;
        let mut start = 0.0;
        for p in &self.pieces {
            let c = p.count(p.len);
            // Strictly below the piece's end count: a rate-0 piece never owns a start.
            if n < acc + c {
                return Some(((start + p.time_of(n - acc)) * 1e9) as Nanos);
            }
            acc += c;
            start += p.len;
        }
        let last = self.pieces.last().map_or(0.0, |p| p.r1);
        (last > 0.0).then(|| ((start + (n - acc) / last) * 1e9) as Nanos)
    }
}

fn positive(s: &str, flag: &str) -> Result<f64, String> {
    let d = crate::units::parse_duration(s).map_err(|e| format!("{flag}: {e}"))?;
    if d.is_zero() {
        return Err(format!("{flag}: the duration must be above 0"));
    }
    Ok(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let r = Profile::parse_ramp("10k..1M/30s").unwrap();
        assert_eq!(r.len_s(), 30.0);
        assert_eq!(r.peak(), 1e6);
        let s = Profile::parse_steps("100k,200k,400k/10s").unwrap();
        assert_eq!(s.len_s(), 30.0);
        assert_eq!(s.peak(), 400e3);
        for bad in ["10k-1M/30s", "10k..1M", "0..0/1s", "1k..2k/0s", "x..1k/1s"] {
            assert!(Profile::parse_ramp(bad).is_err(), "{bad}");
        }
        for bad in ["100k,200k", "0,0/1s", "1k,fast/1s", "1k/0s"] {
            assert!(Profile::parse_steps(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ramp_counts_and_inverts() {
        let r = Profile::parse_ramp("1k..3k/2s").unwrap();
        // integral of 1k + 1k t over [0, 2] = 2k + 2k = 4k
        assert!((r.count(2.0) - 4000.0).abs() < 1e-9);
        assert!((r.mean_rate(0.0, 1.0) - 1500.0).abs() < 1e-9);
        assert!((r.mean_rate(1.0, 2.0) - 2500.0).abs() < 1e-9);
        // after the ramp, 3k holds
        assert!((r.mean_rate(3.0, 4.0) - 3000.0).abs() < 1e-9);
        for k in [0u64, 1, 1499, 1500, 3999, 4000, 7000] {
            let t = r.intended(k).unwrap() as f64 / 1e9;
            assert!((r.count(t) - k as f64).abs() < 1e-3, "k {k} t {t}");
        }
        // monotonic
        let ts: Vec<_> = (0..5000).map(|k| r.intended(k).unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn ramp_down_and_from_zero() {
        let r = Profile::parse_ramp("0..2k/1s").unwrap();
        assert_eq!(r.intended(0), Some(0));
        let t = r.intended(500).unwrap() as f64 / 1e9; // 1k t^2 = 500 -> t = sqrt(0.5)
        assert!((t - 0.5f64.sqrt()).abs() < 1e-6);
        let d = Profile::parse_ramp("2k..0/1s").unwrap();
        assert!((d.count(1.0) - 1000.0).abs() < 1e-9);
        assert!(d.intended(999).is_some());
        assert_eq!(d.intended(1000), None, "the rate ends at 0");
    }

    #[test]
    fn steps_hold_each_rate_and_workers_interleave() {
        let s = Profile::parse_steps("1k,0,2k/1s").unwrap();
        assert!((s.mean_rate(0.0, 1.0) - 1000.0).abs() < 1e-9);
        assert_eq!(s.mean_rate(1.0, 2.0), 0.0);
        assert!((s.mean_rate(2.0, 3.0) - 2000.0).abs() < 1e-9);
        // connection 1000 is the first of the 2k step (the 0 step owns none)
        assert_eq!(s.intended(1000), Some(2_000_000_000));
        assert_eq!(s.intended(999), Some(999_000_000));
        let (w0, w1) = (s.per_worker(0, 2), s.per_worker(1, 2));
        assert_eq!(w0.intended(0), Some(0));
        assert_eq!(w1.intended(0), Some(1_000_000)); // half of 1/1k s
        assert_eq!(w0.intended(1), Some(2_000_000));
        assert!((w0.count(3.0) + w1.count(3.0) - s.count(3.0)).abs() < 1e-9);
    }
}
