//! `--assert 'cps>=900k' --assert 'p99<1ms' --assert 'fail<0.1%'`: checked on the final
//! summary; any failure makes the process exit 99 (k6 convention).

use super::summary::Summary;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub text: String,
    metric: String,
    op: Op,
    value: f64,
}

/// Metrics an assertion may name.
pub const METRICS: &str = "cps, established, attempted, failed, fail (ratio, e.g. 0.1%), ring_full, open_no_tuple, late_starts, p50, p75, p90, p99, p99.9, p99.99, max (latency)";

impl Assertion {
    pub fn parse(text: &str) -> Result<Assertion, String> {
        let t = text.replace(' ', "");
        let (pos, op, oplen) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
        ]
        .iter()
        .find_map(|(s, op)| t.find(s).map(|p| (p, *op, s.len())))
        .ok_or_else(|| format!("--assert '{text}': no comparison (use >=, <=, >, <, ==)"))?;
        let metric = t[..pos].to_ascii_lowercase().replace("errors", "fail");
        let raw = &t[pos + oplen..];
        let value = match metric.as_str() {
            "fail" => match raw.strip_suffix('%') {
                Some(p) => p
                    .parse::<f64>()
                    .map(|v| v / 100.0)
                    .map_err(|e| e.to_string()),
                None => raw.parse::<f64>().map_err(|e| e.to_string()),
            },
            m if m.starts_with('p') || m == "max" => {
                crate::units::parse_duration(raw).map(|d| d.as_nanos() as f64)
            }
            "cps" | "established" | "attempted" | "failed" | "ring_full" | "open_no_tuple"
            | "late_starts" => crate::units::parse_rate(raw),
            _ => {
                return Err(format!(
                    "--assert '{text}': unknown metric '{metric}' (one of: {METRICS})"
                ));
            }
        }
        .map_err(|e| format!("--assert '{text}': bad value '{raw}': {e}"))?;
        Ok(Assertion {
            text: text.to_string(),
            metric,
            op,
            value,
        })
    }

    /// The measured value, or None when the metric is unknown.
    fn measure(&self, s: &Summary) -> Option<f64> {
        let lat = match s.role {
            crate::tcp::Role::Client => &s.connect,
            crate::tcp::Role::Server => &s.accept,
        };
        Some(match self.metric.as_str() {
            "cps" => s.cps,
            "established" => s.established() as f64,
            "attempted" => s.attempted() as f64,
            "failed" => s.failed() as f64,
            "fail" => s.fail_ratio(),
            "ring_full" => s.totals.ring_full() as f64,
            "open_no_tuple" => s.totals.stats.open_no_tuple as f64,
            "late_starts" => s.totals.lp.late_starts as f64,
            "p50" => lat.p50 as f64,
            "p75" => lat.p75 as f64,
            "p90" => lat.p90 as f64,
            "p99" => lat.p99 as f64,
            "p99.9" => lat.p99_9 as f64,
            "p99.99" => lat.p99_99 as f64,
            "max" => lat.max as f64,
            _ => return None,
        })
    }

    /// (holds, measured value).
    pub fn check(&self, s: &Summary) -> (bool, f64) {
        self.holds(self.measure(s))
    }

    /// The same check on a JSON summary (e.g. one merged by `threeway merge`).
    pub fn check_json(&self, summary: &serde_json::Value) -> (bool, f64) {
        self.holds(super::merge::metric(summary, &self.metric))
    }

    fn holds(&self, v: Option<f64>) -> (bool, f64) {
        let Some(v) = v else {
            return (false, f64::NAN);
        };
        let ok = match self.op {
            Op::Ge => v >= self.value,
            Op::Le => v <= self.value,
            Op::Gt => v > self.value,
            Op::Lt => v < self.value,
            Op::Eq => v == self.value,
        };
        (ok, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let a = Assertion::parse("cps>=900k").unwrap();
        assert_eq!(
            (a.metric.as_str(), a.op, a.value),
            ("cps", Op::Ge, 900_000.0)
        );
        let a = Assertion::parse("p99 < 1ms").unwrap();
        assert_eq!(
            (a.metric.as_str(), a.op, a.value),
            ("p99", Op::Lt, 1_000_000.0)
        );
        let a = Assertion::parse("errors<0.1%").unwrap();
        assert_eq!((a.metric.as_str(), a.op), ("fail", Op::Lt));
        assert!((a.value - 0.001).abs() < 1e-12);
        let a = Assertion::parse("ring_full==0").unwrap();
        assert_eq!(
            (a.metric.as_str(), a.op, a.value),
            ("ring_full", Op::Eq, 0.0)
        );
        assert!(Assertion::parse("speed>3").is_err());
        assert!(Assertion::parse("cps").is_err());
        assert!(Assertion::parse("p99<fast").is_err());
    }
}
