//! `--assert 'cps>=900k' --assert 'p95<1ms' --assert 'fail<0.1%'`: checked on the final
//! summary; any failure makes the process exit 99 (k6 convention).
//!
//! Every name an assertion may use comes from one typed table ([`Metric`], [`names`]):
//! `Assertion::parse` is the clap value parser of `--assert`, so an unknown metric or a bad
//! value is a usage error (exit 2) naming the valid ones, before anything is attached.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde_json::Value;

use super::summary::Summary;
use crate::tcp::{DropReason, Latency, Outcome, Role, Stats};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
}

/// A latency histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hist {
    /// Client: connect latency (intended start -> SYN-ACK); server: accept latency.
    Handshake,
    /// Client: first SYN -> SYN-ACK.
    Rtt,
}

/// What is read from a histogram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    /// A quantile in (0, 1] (`p99.9` is 0.999).
    Quantile(f64),
    Max,
    Mean,
}

/// A counter of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Count {
    Attempted,
    /// Client: established; server: accepted.
    Established,
    Failed,
    Active,
    /// Attempts that failed with this outcome (in the handshake or after it).
    FailedBy(Outcome),
    /// "ring-full": XDP RX-ring overflow + no free UMEM frame + TX ring full.
    RingFull,
    /// Opens refused for lack of a free tuple.
    OpenNoTuple,
    /// Opens that started after their intended time.
    LateStarts,
    Drops(DropReason),
    /// Any engine counter by its `Stats::fields` name.
    Engine(String),
}

/// Everything `--assert` can measure.
#[derive(Clone, Debug, PartialEq)]
pub enum Metric {
    /// Nanoseconds; the value is a duration (`1ms`, `250µs`).
    Latency(Hist, Stat),
    /// Per second of the measured part; the value is a rate (`900k`).
    Cps,
    AttemptsPerSecond,
    /// The value is a count (`10k`).
    Count(Count),
    /// A share of attempts (0..1): all failures, or those with one outcome; the value is a
    /// ratio or a percentage (`0.001`, `0.1%`).
    FailShare(Option<Outcome>),
}

/// Failures with outcome `o`, as the summary counts them (`Summary::failed_by_reason`).
fn failed_by(s: &Summary, o: Outcome) -> u64 {
    s.failed_by_reason()
        .into_iter()
        .find(|(r, _)| *r == o.as_str())
        .map_or(0, |(_, n)| n)
}

fn failure_outcomes() -> impl Iterator<Item = Outcome> {
    Outcome::ALL.into_iter().filter(|o| *o != Outcome::Closed)
}

/// The fixed names of the table and what they measure (percentiles are a pattern: see
/// `Metric::from_name`).
fn fixed() -> Vec<(String, Metric)> {
    let mut t: Vec<(String, Metric)> = vec![
        ("cps".into(), Metric::Cps),
        ("attempts_per_s".into(), Metric::AttemptsPerSecond),
        ("attempted".into(), Metric::Count(Count::Attempted)),
        ("established".into(), Metric::Count(Count::Established)),
        ("failed".into(), Metric::Count(Count::Failed)),
        ("active".into(), Metric::Count(Count::Active)),
        ("ring_full".into(), Metric::Count(Count::RingFull)),
        ("open_no_tuple".into(), Metric::Count(Count::OpenNoTuple)),
        ("late_starts".into(), Metric::Count(Count::LateStarts)),
        ("fail".into(), Metric::FailShare(None)),
        ("errors".into(), Metric::FailShare(None)),
    ];
    for (prefix, h) in [("", Hist::Handshake), ("rtt.", Hist::Rtt)] {
        t.push((format!("{prefix}max"), Metric::Latency(h, Stat::Max)));
        t.push((format!("{prefix}mean"), Metric::Latency(h, Stat::Mean)));
    }
    for o in failure_outcomes() {
        let n = o.as_str();
        t.push((format!("failed.{n}"), Metric::Count(Count::FailedBy(o))));
        t.push((format!("fail.{n}"), Metric::FailShare(Some(o))));
    }
    for r in DropReason::ALL {
        t.push((
            format!("drop.{}", r.as_str()),
            Metric::Count(Count::Drops(r)),
        ));
    }
    for (f, _) in Stats::default().fields() {
        t.push((format!("engine.{f}"), Metric::Count(Count::Engine(f))));
    }
    t
}

/// The valid names, for error messages and `--help`.
pub fn names() -> String {
    let fixed: Vec<String> = fixed()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !n.starts_with("engine.") && !n.starts_with("drop."))
        .collect();
    format!(
        "pNN or pNN.N (handshake latency percentile, e.g. p95, p99.9), rtt.pNN, {}, \
         drop.<reason> (one of: {}), engine.<counter> (any engine counter of --json)",
        fixed.join(", "),
        DropReason::ALL.map(|r| r.as_str()).join(", ")
    )
}

/// `pNN`, `pNN.N...` with 0 < NN <= 100, as a quantile.
fn percentile(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('p')?;
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 3 || !ok(int) || !ok(frac) || digits.ends_with('.') {
        return None;
    }
    let v: f64 = digits.parse().ok()?;
    (v > 0.0 && v <= 100.0).then_some(v / 100.0)
}

impl Metric {
    /// The metric a name stands for, or `None` (see `names`).
    pub fn from_name(name: &str) -> Option<Metric> {
        let (hist, rest) = match name.strip_prefix("rtt.") {
            Some(r) => (Hist::Rtt, r),
            None => (Hist::Handshake, name),
        };
        if let Some(q) = percentile(rest) {
            return Some(Metric::Latency(hist, Stat::Quantile(q)));
        }
        fixed().into_iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// Parses an assertion's right-hand side in this metric's unit.
    fn value(&self, raw: &str) -> Result<f64, String> {
        match self {
            Metric::Latency(..) => crate::units::parse_duration(raw).map(|d| d.as_nanos() as f64),
            Metric::Cps | Metric::AttemptsPerSecond => crate::units::parse_rate(raw),
            Metric::Count(_) => crate::units::parse_count(raw).map(|n| n as f64),
            Metric::FailShare(_) => {
                let (num, scale) = match raw.strip_suffix('%') {
                    Some(p) => (p, 100.0),
                    None => (raw, 1.0),
                };
                match num.parse::<f64>() {
                    Ok(v) if v >= 0.0 && v.is_finite() => Ok(v / scale),
                    _ => Err(format!("'{raw}' is not a share: use e.g. 0.1% or 0.001")),
                }
            }
        }
    }

    fn measure(&self, s: &Summary, lat: &Latency) -> Option<f64> {
        let attempted = s.attempted() as f64;
        Some(match self {
            Metric::Latency(h, stat) => {
                let hist = match (h, s.role) {
                    (Hist::Handshake, Role::Client) => &lat.connect,
                    (Hist::Handshake, Role::Server) => &lat.accept,
                    (Hist::Rtt, _) => &lat.rtt,
                };
                of_histogram(hist, *stat)?
            }
            Metric::Cps => s.cps,
            Metric::AttemptsPerSecond => s.totals.stats.attempted as f64 / s.duration_s.max(1e-9),
            Metric::Count(c) => {
                let st = &s.totals.stats;
                (match c {
                    Count::Attempted => s.attempted(),
                    Count::Established => s.established(),
                    Count::Failed => s.failed(),
                    Count::Active => s.active(),
                    Count::FailedBy(o) => failed_by(s, *o),
                    Count::RingFull => s.totals.ring_full(),
                    Count::OpenNoTuple => st.open_no_tuple,
                    Count::LateStarts => s.totals.lp.late_starts,
                    Count::Drops(r) => st.drops[*r as usize],
                    Count::Engine(f) => st.fields().into_iter().find(|(n, _)| n == f)?.1,
                }) as f64
            }
            Metric::FailShare(None) => s.fail_ratio(),
            Metric::FailShare(Some(o)) => failed_by(s, *o) as f64 / attempted.max(1.0),
        })
    }

    /// The same metric in a `--json` summary (e.g. one `threeway merge` wrote), with the
    /// merged histograms when there are some (any percentile); without them only the
    /// percentiles the summary stores (p50 p75 p90 p99 p99.9 p99.99).
    fn measure_json(&self, v: &Value, hists: &BTreeMap<String, Histogram<u64>>) -> Option<f64> {
        let top = |k: &str| v.get(k).and_then(Value::as_f64);
        let attempted = || top("attempted").map(|a| a.max(1.0));
        match self {
            Metric::Latency(h, stat) => {
                let server = v.get("role").and_then(Value::as_str) == Some("server");
                let (key, tag) = match h {
                    Hist::Handshake if server => ("handshake_latency_ns", "accept"),
                    Hist::Handshake => ("handshake_latency_ns", "connect"),
                    Hist::Rtt => ("rtt_ns", "rtt"),
                };
                if let Some(hist) = hists.get(tag) {
                    return of_histogram(hist, *stat);
                }
                let stored = match stat {
                    Stat::Max => "max",
                    Stat::Mean => return None,
                    Stat::Quantile(q) => STORED.iter().find(|(sq, _)| (sq - q).abs() < 1e-9)?.1,
                };
                v.get(key)?.get(stored)?.as_f64()
            }
            Metric::Cps => top("cps"),
            Metric::AttemptsPerSecond => Some(top("attempted")? / top("duration_s")?.max(1e-9)),
            Metric::Count(c) => match c {
                Count::Attempted => top("attempted"),
                Count::Established => top("established"),
                Count::Failed => top("failed_total"),
                Count::Active => top("active"),
                Count::RingFull => top("ring_full"),
                Count::OpenNoTuple => top("open_no_tuple"),
                Count::LateStarts => top("late_starts"),
                Count::FailedBy(o) => v.get("failed")?.get(o.as_str())?.as_f64(),
                // Only non-zero drops are written.
                Count::Drops(r) => match v.get("drops")?.get(r.as_str()) {
                    Some(n) => n.as_f64(),
                    None => Some(0.0),
                },
                Count::Engine(f) => v.get("counters")?.get("engine")?.get(f)?.as_f64(),
            },
            Metric::FailShare(None) => Some(top("failed_total")? / attempted()?),
            Metric::FailShare(Some(o)) => {
                Some(v.get("failed")?.get(o.as_str())?.as_f64()? / attempted()?)
            }
        }
    }
}

/// The percentiles a `--json` summary stores (`report::Pcts`), by key.
const STORED: [(f64, &str); 6] = [
    (0.5, "p50"),
    (0.75, "p75"),
    (0.9, "p90"),
    (0.99, "p99"),
    (0.999, "p99_9"),
    (0.9999, "p99_99"),
];

/// None for an empty histogram: a percentile of no samples would hold vacuously.
fn of_histogram(h: &Histogram<u64>, stat: Stat) -> Option<f64> {
    if h.is_empty() {
        return None;
    }
    Some(match stat {
        Stat::Quantile(q) => h.value_at_quantile(q) as f64,
        Stat::Max => h.max() as f64,
        Stat::Mean => h.mean(),
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub text: String,
    metric: Metric,
    op: Op,
    value: f64,
}

impl Assertion {
    /// `METRIC OP VALUE`, e.g. `p99<1ms`; the clap value parser of `--assert`.
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
        .ok_or_else(|| format!("'{text}': no comparison (use >=, <=, >, <, ==)"))?;
        let name = t[..pos].to_ascii_lowercase();
        let metric = Metric::from_name(&name).ok_or_else(|| {
            format!(
                "'{text}': unknown metric '{name}'; valid metrics: {}",
                names()
            )
        })?;
        let raw = &t[pos + oplen..];
        let value = metric
            .value(raw)
            .map_err(|e| format!("'{text}': bad value '{raw}': {e}"))?;
        Ok(Assertion {
            text: text.to_string(),
            metric,
            op,
            value,
        })
    }

    /// (holds, measured value) on the run's summary and its whole-run histograms. A metric
    /// with nothing to measure (no samples) does not hold and reads NaN.
    pub fn check(&self, s: &Summary, lat: &Latency) -> (bool, f64) {
        self.holds(self.metric.measure(s, lat))
    }

    /// The same check on a JSON summary (e.g. one merged by `threeway merge`) and the
    /// histograms merged from `--hlog` files (empty when none were given).
    pub fn check_json(
        &self,
        summary: &Value,
        hists: &BTreeMap<String, Histogram<u64>>,
    ) -> (bool, f64) {
        self.holds(self.metric.measure_json(summary, hists))
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
            (&a.metric, a.op, a.value),
            (&Metric::Cps, Op::Ge, 900_000.0)
        );
        let a = Assertion::parse("p99 < 1ms").unwrap();
        let p99 = Metric::Latency(Hist::Handshake, Stat::Quantile(0.99));
        assert_eq!((&a.metric, a.op, a.value), (&p99, Op::Lt, 1_000_000.0));
        let a = Assertion::parse("errors<0.1%").unwrap();
        assert_eq!((&a.metric, a.op), (&Metric::FailShare(None), Op::Lt));
        assert!((a.value - 0.001).abs() < 1e-12);
        assert!(Assertion::parse("speed>3").is_err());
        assert!(Assertion::parse("cps").is_err());
        assert!(Assertion::parse("p99<fast").is_err());
    }

    #[test]
    fn any_percentile_and_the_table() {
        let q = |s: &str| match Assertion::parse(s).unwrap().metric {
            Metric::Latency(h, Stat::Quantile(q)) => (h, q),
            m => panic!("{s}: {m:?}"),
        };
        assert_eq!(q("p95<1ms"), (Hist::Handshake, 0.95));
        assert_eq!(q("p42<1ms"), (Hist::Handshake, 0.42));
        assert_eq!(q("p99.95<1ms"), (Hist::Handshake, 0.9995));
        assert_eq!(q("p100<1s"), (Hist::Handshake, 1.0));
        assert_eq!(q("rtt.p90<250µs"), (Hist::Rtt, 0.9));
        assert_eq!(Assertion::parse("p95<250µs").unwrap().value, 250_000.0);
        for bad in [
            "p42x<1",
            "p0<1ms",
            "p101<1ms",
            "p<1ms",
            "p9.<1ms",
            "p.5<1ms",
            "rtt.cps>1",
        ] {
            let e = Assertion::parse(bad).unwrap_err();
            assert!(
                e.contains("unknown metric") && e.contains("pNN"),
                "{bad}: {e}"
            );
        }
        let m = |s: &str| Assertion::parse(s).unwrap().metric;
        assert_eq!(
            m("failed.timeout<=3"),
            Metric::Count(Count::FailedBy(Outcome::Timeout))
        );
        assert_eq!(
            m("fail.refused<1%"),
            Metric::FailShare(Some(Outcome::Refused))
        );
        assert_eq!(
            m("drop.not_ours==0"),
            Metric::Count(Count::Drops(DropReason::NotOurs))
        );
        assert_eq!(
            m("engine.syn_retransmits<10"),
            Metric::Count(Count::Engine("syn_retransmits".into()))
        );
        assert_eq!(m("attempts_per_s>=1k"), Metric::AttemptsPerSecond);
        assert_eq!(m("ring_full==0"), Metric::Count(Count::RingFull));
        assert_eq!(m("open_no_tuple<1"), Metric::Count(Count::OpenNoTuple));
        assert_eq!(m("late_starts<100"), Metric::Count(Count::LateStarts));
        assert_eq!(m("rtt.max<1s"), Metric::Latency(Hist::Rtt, Stat::Max));
        assert!(Assertion::parse("failed<1.5").is_err(), "a count is whole");
        assert!(Assertion::parse("fail<-1%").is_err());
        // Every fixed name parses as itself.
        for (name, metric) in fixed() {
            assert_eq!(Metric::from_name(&name), Some(metric), "{name}");
        }
    }

    #[test]
    fn json_percentiles_stored_or_from_histograms() {
        let v = serde_json::json!({"role": "client", "attempted": 10, "failed_total": 1,
            "handshake_latency_ns": {"p99": 5000, "p99_9": 7000, "max": 9000},
            "failed": {"timeout": 1}, "drops": {}});
        let none = BTreeMap::new();
        let chk = |s: &str, h: &BTreeMap<String, Histogram<u64>>| {
            Assertion::parse(s).unwrap().check_json(&v, h)
        };
        assert_eq!(chk("p99<6us", &none), (true, 5000.0));
        assert_eq!(chk("p99.9<6us", &none), (false, 7000.0));
        assert!(chk("p95<1s", &none).1.is_nan(), "not stored, no histogram");
        assert_eq!(chk("fail.timeout<=10%", &none), (true, 0.1));
        assert_eq!(chk("drop.bad_checksum==0", &none), (true, 0.0));
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 1..=100 {
            h.record(i * 1000).unwrap();
        }
        let hists = BTreeMap::from([("connect".to_string(), h)]);
        let (ok, p95) = chk("p95<=96us", &hists);
        assert!(ok && (94_000.0..=96_000.0).contains(&p95), "{p95}");
    }
}
