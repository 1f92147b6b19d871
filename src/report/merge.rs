//! `threeway merge`: one summary from the `--json` summaries and `--hlog` files of instances
//! that ran one test together (`--segment i/N --start-at T`).
//!
//! Counters add (recursively inside `counters`, `failed` and `drops`), rates add, the duration
//! is the longest. Latency percentiles are never averaged: without histograms the merged
//! `handshake_latency_ns` keeps only `count` (sum) and `max` (max) and its percentiles are
//! null; [`apply_histograms`] fills them from histograms added exactly from the hlog files
//! ([`merge_hlogs`]). Keys that differ between instances and cannot be added (a config value
//! such as the segment) are kept per instance under `instances`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hdrhistogram::Histogram;
use serde_json::{Map, Number, Value, json};

use super::Pcts;

/// Top-level numbers that add up across instances.
const SUMMED: &[&str] = &[
    "attempted",
    "established",
    "failed_total",
    "failed_after_handshake",
    "ring_full",
    "open_no_tuple",
    "late_starts",
    "active",
    "closed",
    "syn_retransmits",
    "accepted",
    "syn_received",
    "cookies_sent",
    "cookies_accepted",
    "synack_retransmits",
    "workers",
    "cpu_s",
    "cps",
    "target_cps",
];

/// Top-level numbers whose merged value is the largest.
const MAXED: &[&str] = &["duration_s", "wall_s", "peak_rss_bytes"];

/// Objects of counters that add up key by key, at any depth.
const SUMMED_TREES: &[&str] = &[
    "failed",
    "counters",
    "drops",
    "ring_full_parts",
    "requests",
    "families",
];

/// Latency objects: count adds, max is the largest, percentiles come from histograms only.
const LATENCIES: &[&str] = &[
    "handshake_latency_ns",
    "rtt_ns",
    "ttfb_ns",
    "ttfb_sent_ns",
    "response_ns",
    "response_sent_ns",
];

/// Recomputed from the merged values.
const DERIVED: &[&str] = &["cpu_busy", "cpu_us_per_conn"];

/// Kept per instance in `instances` (besides anything that differs).
const PER_INSTANCE: &[&str] = &["cps", "established", "duration_s", "config"];

/// Merges per-instance `--json` summaries (all clients or all servers) into one.
pub fn merge_json(parts: &[Value]) -> Result<Value, String> {
    let objs = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.as_object()
                .ok_or_else(|| format!("merge: summary {i} is not a JSON object"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = *objs.first().ok_or("merge: no summaries given")?;
    let role = first.get("role").and_then(Value::as_str).unwrap_or("");
    for (i, o) in objs.iter().enumerate() {
        let r = o.get("role").and_then(Value::as_str).unwrap_or("");
        if r != role {
            return Err(format!(
                "merge: summary {i} has role '{r}', summary 0 '{role}': merge clients and \
                 servers separately"
            ));
        }
    }
    let mut out = Map::new();
    let mut instances: Vec<Map<String, Value>> = vec![Map::new(); objs.len()];
    let keys: std::collections::BTreeSet<&String> = objs.iter().flat_map(|o| o.keys()).collect();
    for key in keys {
        let k = key.as_str();
        let values: Vec<&Value> = objs.iter().filter_map(|o| o.get(k)).collect();
        let merged = if SUMMED.contains(&k) {
            Some(fold_numbers(k, &values, add)?)
        } else if MAXED.contains(&k) {
            Some(fold_numbers(k, &values, max)?)
        } else if SUMMED_TREES.contains(&k) {
            Some(sum_trees(k, &values)?)
        } else if LATENCIES.contains(&k) {
            Some(latency_without_percentiles(k, &values)?)
        } else if k == "errors" {
            Some(errors(&objs))
        } else if k == "config" {
            Some(common_config(&objs))
        } else if DERIVED.contains(&k) {
            None
        } else if values.len() == objs.len() && values.iter().all(|v| *v == values[0]) {
            Some(values[0].clone())
        } else {
            None
        };
        let keep_per_instance = merged.is_none() || PER_INSTANCE.contains(&k);
        if let Some(v) = merged {
            out.insert(k.to_string(), v);
        }
        if keep_per_instance {
            for (inst, o) in instances.iter_mut().zip(&objs) {
                if let Some(v) = o.get(k) {
                    inst.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    derive(&mut out, &objs);
    out.insert(
        "instances".into(),
        Value::Array(instances.into_iter().map(Value::Object).collect()),
    );
    out.insert(
        "latency_from".into(),
        json!("none: percentiles need the instances' --hlog files (never averaged)"),
    );
    Ok(Value::Object(out))
}

fn add(a: &Number, b: &Number) -> Option<Number> {
    match (a.as_u64(), b.as_u64()) {
        (Some(x), Some(y)) => x.checked_add(y).map(Number::from),
        _ => Number::from_f64(a.as_f64()? + b.as_f64()?),
    }
}

fn max(a: &Number, b: &Number) -> Option<Number> {
    match (a.as_u64(), b.as_u64()) {
        (Some(x), Some(y)) => Some(Number::from(x.max(y))),
        _ => Number::from_f64(a.as_f64()?.max(b.as_f64()?)),
    }
}

/// Folds numbers with `f`; nulls are skipped (an instance without the value).
fn fold_numbers(
    path: &str,
    values: &[&Value],
    f: fn(&Number, &Number) -> Option<Number>,
) -> Result<Value, String> {
    let mut acc: Option<Number> = None;
    for v in values.iter().filter(|v| !v.is_null()) {
        let n = v
            .as_number()
            .ok_or_else(|| format!("merge: '{path}' is {v}, not a number"))?;
        acc = Some(match acc {
            None => n.clone(),
            Some(a) => f(&a, n).ok_or_else(|| format!("merge: '{path}' overflows"))?,
        });
    }
    Ok(acc.map_or(Value::Null, Value::Number))
}

/// Adds objects of counters key by key (keys missing in some instances count as absent).
fn sum_trees(path: &str, values: &[&Value]) -> Result<Value, String> {
    if values.iter().all(|v| v.is_number() || v.is_null()) {
        return fold_numbers(path, values, add);
    }
    let mut keys = std::collections::BTreeSet::new();
    for v in values {
        let o = v.as_object().ok_or_else(|| {
            format!("merge: '{path}' is an object in one summary and {v} in another")
        })?;
        keys.extend(o.keys());
    }
    let mut out = Map::new();
    for k in keys {
        let children: Vec<&Value> = values.iter().filter_map(|v| v.get(k)).collect();
        out.insert(k.clone(), sum_trees(&format!("{path}.{k}"), &children)?);
    }
    Ok(Value::Object(out))
}

const PCT_KEYS: [&str; 6] = ["p50", "p75", "p90", "p99", "p99_9", "p99_99"];

fn latency_without_percentiles(path: &str, values: &[&Value]) -> Result<Value, String> {
    let field = |f: &str| values.iter().filter_map(|v| v.get(f)).collect::<Vec<_>>();
    let mut out = Map::new();
    out.insert(
        "count".into(),
        fold_numbers(&format!("{path}.count"), &field("count"), add)?,
    );
    for p in PCT_KEYS {
        out.insert(p.into(), Value::Null);
    }
    out.insert(
        "max".into(),
        fold_numbers(&format!("{path}.max"), &field("max"), max)?,
    );
    Ok(Value::Object(out))
}

fn errors(objs: &[&Map<String, Value>]) -> Value {
    let mut all = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        for e in o
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            all.push(json!(format!(
                "instance {i}: {}",
                e.as_str().unwrap_or(&e.to_string())
            )));
        }
    }
    Value::Array(all)
}

/// The config keys every instance has with the same value (the rest stays per instance).
fn common_config(objs: &[&Map<String, Value>]) -> Value {
    let configs: Vec<&Map<String, Value>> = objs
        .iter()
        .filter_map(|o| o.get("config").and_then(Value::as_object))
        .collect();
    let Some(first) = configs.first() else {
        return Value::Object(Map::new());
    };
    let common = first
        .iter()
        .filter(|(k, v)| {
            configs.len() == objs.len() && configs.iter().all(|c| c.get(*k) == Some(*v))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(common)
}

/// `cpu_busy` (weighted by workers) and `cpu_us_per_conn` from the merged values.
fn derive(out: &mut Map<String, Value>, objs: &[&Map<String, Value>]) {
    let num = |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_f64);
    let weighted: Option<(f64, f64)> = objs.iter().try_fold((0.0, 0.0), |(s, w), o| {
        let workers = num(o, "workers").unwrap_or(1.0);
        Some((s + num(o, "cpu_busy")? * workers, w + workers))
    });
    if let Some((s, w)) = weighted.filter(|(_, w)| *w > 0.0) {
        out.insert("cpu_busy".into(), json!(s / w));
    }
    if let (Some(cpu), Some(est)) = (num(out, "cpu_s"), num(out, "established")) {
        out.insert("cpu_us_per_conn".into(), json!(cpu * 1e6 / est.max(1.0)));
    }
}

/// Reads HdrHistogram interval logs (V2 compressed, base64; what `--hlog` writes) and adds
/// every interval's histogram into one histogram per tag (untagged intervals: tag "").
pub fn merge_hlogs(paths: &[PathBuf]) -> Result<BTreeMap<String, Histogram<u64>>, String> {
    let mut out: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for path in paths {
        for iv in super::hlog::read(path).map_err(|e| format!("merge: {e}"))? {
            match out.get_mut(&iv.tag) {
                Some(acc) => acc.add(&iv.hist).map_err(|e| {
                    format!("merge: {}: cannot add histograms ({e:?})", path.display())
                })?,
                None => {
                    let mut acc = iv.hist;
                    acc.auto(true);
                    out.insert(iv.tag, acc);
                }
            }
        }
    }
    Ok(out)
}

/// Replaces the latency objects of a merged summary with percentiles of the merged
/// histograms: `handshake_latency_ns` from tag `connect` (clients) or `accept` (servers),
/// `rtt_ns` from `rtt`. Adds a `merge_warnings` entry when the histograms hold a different
/// number of handshakes than the summaries (hlog intervals include the warm-up).
pub fn apply_histograms(
    merged: &mut Value,
    hists: &BTreeMap<String, Histogram<u64>>,
) -> Result<(), String> {
    let role = merged
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("client");
    let tag = if role == "server" {
        "accept"
    } else {
        "connect"
    };
    if !hists.contains_key(tag) {
        let have: Vec<&str> = hists.keys().map(String::as_str).collect();
        return Err(format!(
            "merge: no '{tag}' histogram in the hlog files (tags: {have:?}); pass the {role}s' \
             --hlog files"
        ));
    }
    let obj = merged
        .as_object_mut()
        .ok_or("merge: merged summary is not an object")?;
    let mut warnings = Vec::new();
    let transaction = super::TRANSACTION
        .iter()
        .map(|(name, _, _)| (format!("{name}_ns"), *name));
    let series: Vec<(String, &str)> = [
        ("handshake_latency_ns".to_string(), tag),
        ("rtt_ns".into(), "rtt"),
    ]
    .into_iter()
    .chain(transaction)
    .collect();
    for (key, tag) in &series {
        let (key, tag) = (key.as_str(), *tag);
        // Handshake-only runs log empty transaction histograms: leave those keys alone.
        let handshake = key == "handshake_latency_ns" || key == "rtt_ns";
        let Some(h) = hists.get(tag).filter(|h| handshake || !h.is_empty()) else {
            continue;
        };
        let before = obj
            .get(key)
            .and_then(|v| v.get("count"))
            .and_then(Value::as_u64);
        if let Some(n) = before.filter(|n| *n != h.len()) {
            warnings.push(json!(format!(
                "{key}: the '{tag}' histograms hold {} samples, the summaries {n} \
                 (hlog intervals include the warm-up and the drain)",
                h.len()
            )));
        }
        obj.insert(key.into(), pcts_json(&Pcts::of(h)));
    }
    obj.insert(
        "latency_from".into(),
        json!("hlog: histograms added exactly"),
    );
    if !warnings.is_empty() {
        obj.insert("merge_warnings".into(), Value::Array(warnings));
    }
    Ok(())
}

fn pcts_json(p: &Pcts) -> Value {
    json!({"count": p.count, "p50": p.p50, "p75": p.p75, "p90": p.p90, "p99": p.p99,
           "p99_9": p.p99_9, "p99_99": p.p99_99, "max": p.max})
}
