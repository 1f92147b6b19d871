//! `threeway merge`: one summary from several instances' `--json` files, with percentiles
//! from their `--hlog` histograms added exactly, and `--assert` re-checked on the result.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::cli::MergeArgs;
use crate::report::assert::Assertion;
use crate::report::merge;

use super::{EXIT_ASSERT, RunError};

pub fn run(a: &MergeArgs) -> Result<i32, RunError> {
    let mut parts = Vec::new();
    for p in &a.summaries {
        let text = std::fs::read_to_string(p)
            .map_err(|e| RunError::usage(format!("merge: {}: {e}", p.display())))?;
        let v = serde_json::from_str(&text).map_err(|e| {
            RunError::usage(format!(
                "merge: {} is not a threeway --json summary: {e}",
                p.display()
            ))
        })?;
        parts.push(v);
    }
    let mut merged = merge::merge_json(&parts).map_err(RunError::usage)?;
    let mut hists = BTreeMap::new();
    if !a.hlog.is_empty() {
        hists = merge::merge_hlogs(&a.hlog).map_err(RunError::usage)?;
        merge::apply_histograms(&mut merged, &hists).map_err(RunError::usage)?;
    }
    let text = serde_json::to_string_pretty(&merged).unwrap_or_default() + "\n";
    match &a.json {
        Some(p) => std::fs::write(p, &text)
            .map_err(|e| RunError::env(format!("--json {}: {e}", p.display())))?,
        None => print!("{text}"),
    }
    eprintln!(
        "merged {} summaries: attempted {} established {} cps {:.0}",
        parts.len(),
        merged["attempted"],
        merged["established"],
        merged["cps"].as_f64().unwrap_or(0.0)
    );
    Ok(check(&a.asserts, &merged, &hists))
}

fn check(
    asserts: &[Assertion],
    merged: &serde_json::Value,
    hists: &BTreeMap<String, Histogram<u64>>,
) -> i32 {
    let mut failed = false;
    for a in asserts {
        let (ok, v) = a.check_json(merged, hists);
        failed |= !ok;
        eprintln!(
            "assert {}: {} (measured {v:.4})",
            a.text,
            if ok { "ok" } else { "FAILED" }
        );
    }
    if failed { EXIT_ASSERT } else { 0 }
}
