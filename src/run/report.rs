//! `threeway report` and `--report FILE`: read a run's NDJSON, hlog and JSON files (several
//! instances' are added interval by interval) and write the HTML page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde_json::{Map, Value};

use crate::cli::{CommonArgs, ReportArgs};
use crate::report::html::{ReportInput, render_page};

use super::RunError;

pub fn run(a: &ReportArgs) -> Result<i32, RunError> {
    if a.ndjson.is_empty() && a.hlog.is_empty() && a.json.is_none() {
        return Err(RunError::usage(
            "report: give at least one NDJSON file (and --hlog/--json files of the same run)",
        ));
    }
    let inp = load(&a.ndjson, &a.hlog, a.json.as_deref()).map_err(RunError::usage)?;
    write(&inp, &a.output)?;
    eprintln!(
        "report: {} intervals, {} hlog series -> {}",
        inp.records.len(),
        inp.hlog.len(),
        a.output.display()
    );
    Ok(0)
}

fn write(inp: &ReportInput, out: &Path) -> Result<(), RunError> {
    std::fs::write(out, render_page(inp))
        .map_err(|e| RunError::env(format!("report: cannot write {}: {e}", out.display())))
}

/// Reads and adds up the files of one run.
pub fn load(
    ndjson: &[PathBuf],
    hlog: &[PathBuf],
    json: Option<&Path>,
) -> Result<ReportInput, String> {
    let mut runs = Vec::new();
    for p in ndjson {
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("report: cannot read {}: {e}", p.display()))?;
        let recs = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str::<Value>(l).map_err(|e| {
                    format!(
                        "report: {} line {}: not an NDJSON record: {e}",
                        p.display(),
                        i + 1
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        runs.push(recs);
    }
    let mut hists: BTreeMap<String, Vec<(f64, Histogram<u64>)>> = BTreeMap::new();
    for p in hlog {
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for iv in crate::report::hlog::read(p).map_err(|e| format!("report: {e}"))? {
            let i = index.entry(iv.tag.clone()).or_default();
            let series = hists.entry(iv.tag.clone()).or_default();
            let end = iv.start_s + iv.len_s;
            match series.get_mut(*i) {
                // The same interval of another instance: add (exact, never averaged).
                Some((t, acc)) => {
                    *t = t.max(end);
                    acc.add(&iv.hist)
                        .map_err(|e| format!("report: {}: cannot add ({e:?})", p.display()))?;
                }
                None => {
                    let mut h = iv.hist;
                    h.auto(true);
                    series.push((end, h));
                }
            }
            *i += 1;
        }
    }
    let summary = match json {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("report: cannot read {}: {e}", p.display()))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                format!(
                    "report: {} is not a threeway --json summary: {e}",
                    p.display()
                )
            })?)
        }
        None => None,
    };
    let sources = ndjson
        .iter()
        .chain(hlog)
        .map(|p| p.as_path())
        .chain(json)
        .map(|p| p.display().to_string())
        .collect();
    Ok(ReportInput {
        records: merge_records(runs),
        hlog: hists,
        summary,
        sources,
    })
}

/// Adds instances' records interval by interval (same `--interval`, same `--start-at`):
/// numbers and objects of numbers add; `t`/`dt`/`ts` come from the first; per-interval
/// percentiles cannot be added and are dropped when there is more than one instance.
pub fn merge_records(mut runs: Vec<Vec<Value>>) -> Vec<Value> {
    if runs.len() <= 1 {
        return runs.pop().unwrap_or_default();
    }
    let n = runs.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let mut acc = Map::new();
            for r in runs.iter().filter_map(|r| r.get(i)) {
                if let Some(m) = r.as_object() {
                    add_into(&mut acc, m);
                }
            }
            acc.remove("handshake_latency_ns");
            acc.remove("cpu_busy");
            Value::Object(acc)
        })
        .collect()
}

fn add_into(acc: &mut Map<String, Value>, m: &Map<String, Value>) {
    for (k, v) in m {
        let keep_first = matches!(k.as_str(), "t" | "dt" | "ts");
        match (acc.get_mut(k), v) {
            (None, _) => {
                acc.insert(k.clone(), v.clone());
            }
            (Some(Value::Object(a)), Value::Object(b)) => add_into(a, b),
            (Some(a @ Value::Number(_)), Value::Number(b)) if !keep_first => {
                let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
                *a = serde_json::json!(sum);
            }
            _ => {}
        }
    }
}

/// `--report FILE` on a session: the NDJSON, hlog and JSON it needs are written to
/// temporary files unless the run writes them anyway, then read back at the end.
pub struct Pending {
    out: PathBuf,
    ndjson: PathBuf,
    hlog: PathBuf,
    json: PathBuf,
    temp: Vec<PathBuf>,
}

impl Pending {
    /// Points `c`'s NDJSON/hlog/JSON outputs at files (temporary ones where not asked for).
    pub fn prepare(c: &mut CommonArgs) -> Result<Option<Pending>, RunError> {
        let Some(out) = c.report.clone() else {
            return Ok(None);
        };
        if c.ndjson.as_deref().is_some_and(|p| p.as_os_str() == "-") {
            return Err(RunError::usage(
                "--report reads the intervals back from the NDJSON: give --ndjson a file, not -",
            ));
        }
        let mut temp = Vec::new();
        let stem = format!("threeway-report-{}", std::process::id());
        let mut pick = |slot: &mut Option<PathBuf>, ext: &str| -> PathBuf {
            slot.get_or_insert_with(|| {
                let p = std::env::temp_dir().join(format!("{stem}.{ext}"));
                temp.push(p.clone());
                p
            })
            .clone()
        };
        let ndjson = pick(&mut c.ndjson, "ndjson");
        let hlog = pick(&mut c.hlog, "hlog");
        let json = pick(&mut c.json, "json");
        Ok(Some(Pending {
            out,
            ndjson,
            hlog,
            json,
            temp,
        }))
    }

    /// Renders the report of the finished run.
    pub fn write(self) -> Result<(), RunError> {
        let inp = load(
            std::slice::from_ref(&self.ndjson),
            std::slice::from_ref(&self.hlog),
            Some(&self.json),
        )
        .map_err(RunError::env)?;
        write(&inp, &self.out)?;
        eprintln!("report: {}", self.out.display());
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        for p in &self.temp {
            let _ = std::fs::remove_file(p);
        }
    }
}
