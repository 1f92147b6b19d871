//! `threeway report`: one self-contained HTML page (inline CSS and SVG, no scripts, nothing
//! fetched) from a run's NDJSON intervals, hlog histograms and `--json` summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use hdrhistogram::Histogram;
use serde_json::Value;

use super::Pcts;
use super::svg::{Axis, Chart, Series, esc, render};
use crate::units::{fmt_ns, fmt_si};

/// What a report is drawn from (several instances' files already added together).
#[derive(Default)]
pub struct ReportInput {
    /// NDJSON interval records, in time order.
    pub records: Vec<Value>,
    /// Per hlog tag: (interval end in seconds, histogram), in time order.
    pub hlog: BTreeMap<String, Vec<(f64, Histogram<u64>)>>,
    /// The `--json` summary (or `threeway merge --json` output).
    pub summary: Option<Value>,
    /// The files it came from, for the page header.
    pub sources: Vec<String>,
}

/// Quantiles of the percentile spectrum: 1 - 10^(-i/10), i.e. ten points per "nine".
pub fn spectrum_quantiles(count: u64) -> Vec<f64> {
    (0..=60)
        .map(|i| 1.0 - 10f64.powf(-(i as f64) / 10.0))
        .take_while(|q| 1.0 / (1.0 - q) <= count.max(1) as f64 * 1.0001)
        .collect()
}

/// The per-interval latency percentiles plotted: (series name, quantile).
pub const INTERVAL_QUANTILES: [(&str, f64); 4] =
    [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)];

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}\
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\
svg.chart{display:block;margin:10px 0;font-size:11px}.tick{fill:#555}.label{fill:#333}.legend{fill:#222}\
.src{color:#666;font-size:12px}";

/// The whole page.
pub fn render_page(inp: &ReportInput) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>threeway report</title><style>{STYLE}</style></head><body>\n<h1>threeway report</h1>\n<p class=\"src\">from {}</p>\n",
        esc(&inp.sources.join(", "))
    );
    o.push_str("<h2>Outcome</h2>\n");
    o.push_str(&outcome_table(inp));
    o.push_str("<h2>Latency percentiles (whole run)</h2>\n");
    o.push_str(&latency_table(inp));
    o.push_str("<h2>Over time</h2>\n");
    for c in charts(inp) {
        o.push_str(&render(&c));
        o.push('\n');
    }
    o.push_str("<h2>Percentile spectrum</h2>\n");
    for c in spectra(inp) {
        o.push_str(&render(&c));
        o.push('\n');
    }
    o.push_str("<h2>Configuration</h2>\n");
    o.push_str(&config_table(inp));
    o.push_str("</body></html>\n");
    o
}

fn num(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

fn secs(v: f64) -> String {
    format!("{v}s")
}

fn latency(v: f64) -> String {
    fmt_ns(v as u64)
}

fn percentile(x: f64) -> String {
    let q = 100.0 * (1.0 - 1.0 / x);
    format!("{}%", (q * 1000.0).round() / 1000.0)
}

fn over_time(title: &str, y_label: &str, y_axis: Axis, series: Vec<Series>) -> Chart {
    Chart {
        title: title.into(),
        x_label: "time (s)".into(),
        y_label: y_label.into(),
        x_axis: Axis::Linear,
        y_axis,
        x_fmt: secs,
        y_fmt: match y_axis {
            Axis::Log => latency,
            Axis::Linear => fmt_si,
        },
        series,
    }
}

/// A series of one NDJSON field over time (x = the interval's end).
fn field(inp: &ReportInput, name: &str, y: impl Fn(&Value) -> f64) -> Series {
    Series {
        name: name.into(),
        points: inp.records.iter().map(|r| (num(r, "t"), y(r))).collect(),
    }
}

/// Series per key of an object field (`failed_by_reason`, `drops`), zero where absent.
fn by_key(inp: &ReportInput, obj: &str) -> Vec<Series> {
    let keys: BTreeSet<String> = inp
        .records
        .iter()
        .filter_map(|r| r.get(obj)?.as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    keys.iter()
        .map(|k| field(inp, k, |r| r.get(obj).map_or(0.0, |m| num(m, k))))
        .collect()
}

/// The charts over time, in page order.
pub fn charts(inp: &ReportInput) -> Vec<Chart> {
    let mut out = vec![
        over_time(
            "Connection rate: target vs achieved",
            "connections/s",
            Axis::Linear,
            vec![
                field(inp, "target", |r| num(r, "target_cps")),
                field(inp, "achieved", |r| num(r, "cps")),
            ],
        ),
        over_time(
            "Failures by reason (per interval)",
            "failed attempts",
            Axis::Linear,
            std::iter::once(field(inp, "all reasons", |r| num(r, "failed")))
                .chain(by_key(inp, "failed_by_reason"))
                .collect(),
        ),
        over_time(
            "Active connections (in the handshake)",
            "connections",
            Axis::Linear,
            vec![field(inp, "active", |r| num(r, "active"))],
        ),
    ];
    for (tag, ivs) in &inp.hlog {
        let series = INTERVAL_QUANTILES
            .iter()
            .map(|(name, q)| Series {
                name: name.to_string(),
                points: ivs
                    .iter()
                    .filter(|(_, h)| !h.is_empty())
                    .map(|(t, h)| (*t, h.value_at_quantile(*q) as f64))
                    .collect(),
            })
            .collect();
        out.push(over_time(
            &format!("Latency '{tag}' per interval (hlog)"),
            "latency",
            Axis::Log,
            series,
        ));
    }
    if inp.hlog.is_empty() {
        let series = [
            ("p50", "p50"),
            ("p90", "p90"),
            ("p99", "p99"),
            ("p99.9", "p99_9"),
        ]
        .iter()
        .map(|(name, k)| field(inp, name, |r| num(&r["handshake_latency_ns"], k)))
        .collect();
        out.push(over_time(
            "Handshake latency per interval (NDJSON)",
            "latency",
            Axis::Log,
            series,
        ));
    }
    let per_s = |k: &'static str| move |r: &Value| num(r, k) / num(r, "dt").max(1e-9);
    out.push(over_time(
        "Packets per second",
        "frames/s",
        Axis::Linear,
        vec![
            field(inp, "tx", per_s("tx_frames")),
            field(inp, "rx", per_s("rx_frames")),
        ],
    ));
    let mut drops = by_key(inp, "drops");
    if drops.is_empty() {
        drops.push(field(inp, "none", |_| 0.0));
    }
    out.push(over_time(
        "Packets dropped by reason (per interval)",
        "frames",
        Axis::Linear,
        drops,
    ));
    out
}

/// Each tag's whole-run histogram: the hlog intervals added.
pub fn totals(inp: &ReportInput) -> BTreeMap<String, Histogram<u64>> {
    let mut out = BTreeMap::new();
    for (tag, ivs) in &inp.hlog {
        let mut acc: Option<Histogram<u64>> = None;
        for (_, h) in ivs {
            match acc.as_mut() {
                Some(a) => {
                    let _ = a.add(h);
                }
                None => {
                    let mut a = h.clone();
                    a.auto(true);
                    acc = Some(a);
                }
            }
        }
        if let Some(a) = acc {
            out.insert(tag.clone(), a);
        }
    }
    out
}

/// The HdrHistogram percentile spectrum of each tag, on the usual 1/(1-q) log axis.
pub fn spectra(inp: &ReportInput) -> Vec<Chart> {
    totals(inp)
        .iter()
        .map(|(tag, h)| Chart {
            title: format!("Latency '{tag}': percentile spectrum ({} samples)", h.len()),
            x_label: "percentile".into(),
            y_label: "latency".into(),
            x_axis: Axis::Log,
            y_axis: Axis::Log,
            x_fmt: percentile,
            y_fmt: latency,
            series: vec![Series {
                name: tag.clone(),
                points: spectrum_quantiles(h.len())
                    .iter()
                    .map(|q| (1.0 / (1.0 - q), h.value_at_quantile(*q) as f64))
                    .collect(),
            }],
        })
        .collect()
}

fn row(o: &mut String, k: &str, v: &str) {
    let _ = writeln!(
        o,
        "<tr><th>{}</th><td class=\"n\">{}</td></tr>",
        esc(k),
        esc(v)
    );
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{f:.3}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn outcome_table(inp: &ReportInput) -> String {
    let mut o = String::from("<table class=\"outcome\">\n");
    let Some(s) = inp.summary.as_ref().or(inp.records.last()) else {
        return "<p>no summary</p>\n".into();
    };
    let src = if inp.summary.is_some() {
        s
    } else {
        // Without a summary, the last interval's running totals.
        &s["totals"]
    };
    for k in [
        "role",
        "duration_s",
        "target_cps",
        "cps",
        "attempted",
        "established",
        "accepted",
        "syn_received",
        "failed_total",
        "failed",
        "active",
        "closed",
        "syn_retransmits",
        "cookies_sent",
        "drops",
        "workers",
        "cpu_busy",
        "cpu_us_per_conn",
    ] {
        match src.get(k) {
            Some(Value::Object(m)) => {
                let nonzero: Vec<(&String, &Value)> =
                    m.iter().filter(|(_, v)| v.as_f64() != Some(0.0)).collect();
                if nonzero.is_empty() {
                    row(&mut o, k, "none");
                }
                for (r, v) in nonzero {
                    row(&mut o, &format!("{k}: {r}"), &show(v));
                }
            }
            Some(Value::Null) | None => {}
            Some(v) => row(&mut o, k, &show(v)),
        }
    }
    o.push_str("</table>\n");
    o
}

fn latency_table(inp: &ReportInput) -> String {
    let mut o = String::from(
        "<table class=\"latency\">\n<tr><th>series</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th></tr>\n",
    );
    let mut rows: Vec<(String, Pcts)> = totals(inp)
        .iter()
        .map(|(t, h)| (format!("{t} (hlog)"), Pcts::of(h)))
        .collect();
    if rows.is_empty()
        && let Some(s) = &inp.summary
    {
        for k in ["handshake_latency_ns", "rtt_ns"] {
            let p = |f: &str| s[k][f].as_u64().unwrap_or(0);
            rows.push((
                format!("{k} (summary)"),
                Pcts {
                    count: p("count"),
                    p50: p("p50"),
                    p75: p("p75"),
                    p90: p("p90"),
                    p99: p("p99"),
                    p99_9: p("p99_9"),
                    p99_99: p("p99_99"),
                    max: p("max"),
                },
            ));
        }
    }
    for (name, p) in rows {
        let _ = write!(
            o,
            "<tr data-series=\"{}\"><th>{}</th><td class=\"n\">{}</td>",
            esc(&name),
            esc(&name),
            p.count
        );
        for (q, v) in [
            ("p50", p.p50),
            ("p90", p.p90),
            ("p99", p.p99),
            ("p99.9", p.p99_9),
            ("p99.99", p.p99_99),
            ("max", p.max),
        ] {
            let _ = write!(
                o,
                "<td class=\"n\" data-q=\"{q}\" data-ns=\"{v}\">{}</td>",
                fmt_ns(v)
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
    o
}

fn config_table(inp: &ReportInput) -> String {
    let Some(cfg) = inp
        .summary
        .as_ref()
        .and_then(|s| s.get("config"))
        .and_then(Value::as_object)
    else {
        return "<p>no --json summary given: configuration unknown</p>\n".into();
    };
    let mut o = String::from("<table class=\"config\">\n");
    for (k, v) in cfg {
        row(&mut o, k, &show(v));
    }
    o.push_str("</table>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_from_records_alone_is_complete() {
        let inp = ReportInput {
            records: vec![
                json!({"t": 1.0, "dt": 1.0, "target_cps": 100.0, "cps": 99.0, "failed": 1,
                       "failed_by_reason": {"refused": 1}, "active": 3, "tx_frames": 300,
                       "rx_frames": 100, "drops": {}, "handshake_latency_ns": {"p50": 5000},
                       "totals": {"attempted": 100, "established": 99}}),
                json!({"t": 2.0, "dt": 1.0, "target_cps": 100.0, "cps": 100.0, "failed": 0,
                       "failed_by_reason": {}, "active": 0, "tx_frames": 300, "rx_frames": 100,
                       "drops": {"bad_checksum": 2}, "handshake_latency_ns": {"p50": 6000},
                       "totals": {"attempted": 200, "established": 199}}),
            ],
            sources: vec!["a & b.ndjson".into()],
            ..ReportInput::default()
        };
        let page = render_page(&inp);
        assert!(page.contains("a &amp; b.ndjson"));
        assert!(page.contains(r#"data-series="refused" data-values="1,1 2,0""#));
        assert!(page.contains(r#"data-series="bad_checksum" data-values="1,0 2,2""#));
        assert!(page.contains(r#"data-series="p50" data-values="1,5000 2,6000""#));
        assert!(page.contains("<th>attempted</th><td class=\"n\">200</td>"));
        assert!(!page.contains("<script"), "no scripts");
        assert!(!page.contains("http://") || !page.contains("src=\"http"));
    }

    #[test]
    fn spectrum_stops_where_the_samples_do() {
        assert_eq!(spectrum_quantiles(1), vec![0.0]);
        let q = spectrum_quantiles(1000);
        assert_eq!(q.len(), 31); // up to 99.9%
        assert!((q[30] - 0.999).abs() < 1e-9);
    }
}
