//! `threeway search`: the highest rate that meets every `--assert`, found by bisection over
//! short `connect` trials (the NDR search of RFC 2544 / TRex, with assertions as the criterion).
//!
//! Each trial is a fresh `threeway connect` process: its XDP program, sockets, connection table
//! and tuple state end with it, so one trial's leftovers (TIME-WAIT, half-open tuples) cannot
//! poison the next. A pause (`--gap`) lets the peer forget the previous trial too, and each
//! trial gets its own seed, so its source ports come in a different order.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::SearchArgs;
use crate::report::assert::Assertion;
use crate::units::{fmt_ns, fmt_si};

use super::{EXIT_ASSERT, RunError};

/// `connect` flags the search sets itself for every trial (or that make no sense in one),
/// with whether they take a value.
const OWN_FLAGS: &[(&str, bool)] = &[
    ("-r", true),
    ("--rate", true),
    ("-d", true),
    ("--duration", true),
    ("-n", true),
    ("--count", true),
    ("--json", true),
    ("--ndjson", true),
    ("--hlog", true),
    ("--report", true),
    ("--metrics", true),
    ("--assert", true),
    ("--seed", true),
    ("--from", true),
    ("--to", true),
    ("--trial", true),
    ("--precision", true),
    ("--gap", true),
    ("--quiet", false),
];

/// The command line after `threeway search` with the search's own flags taken out: what
/// every trial's `connect` gets.
pub fn forward_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let own = OWN_FLAGS.iter().find(|(f, _)| {
            a == f
                || a.starts_with(&format!("{f}="))
                // -r10k: a short flag with its value attached
                || (f.len() == 2 && a.starts_with(f) && !a.starts_with("--"))
        });
        match own {
            Some((f, true)) if a == f => {
                it.next();
            }
            Some(_) => {}
            None => out.push(a.clone()),
        }
    }
    out
}

/// One trial's figures.
pub struct Trial {
    pub rate: f64,
    pub pass: bool,
    pub summary: Value,
    /// (assertion, holds, measured) for each `--assert`.
    pub checks: Vec<(String, bool, f64)>,
}

pub fn run(a: &SearchArgs) -> Result<i32, RunError> {
    let c = &a.connect.common;
    if c.asserts.is_empty() {
        return Err(RunError::usage(
            "search: give at least one --assert (e.g. 'fail<0.1%', 'p99<1ms'): it decides which rates pass",
        ));
    }
    if a.connect.ramp.is_some() || a.connect.steps.is_some() {
        return Err(RunError::usage(
            "search: --ramp/--steps do not apply; each trial runs at one rate",
        ));
    }
    if !(a.from > 0.0 && a.to > a.from) {
        return Err(RunError::usage(format!(
            "search: need 0 < --from ({}) < --to ({})",
            a.from, a.to
        )));
    }
    let asserts = c.asserts.clone();
    let argv: Vec<String> = std::env::args().skip(2).collect();
    let base = forward_args(&argv);
    let exe = std::env::current_exe()
        .map_err(|e| RunError::env(format!("search: cannot find own binary: {e}")))?;
    let tmp = std::env::temp_dir().join(format!("threeway-search-{}.json", std::process::id()));
    let mut trials: Vec<Trial> = Vec::new();
    println!(
        "search: {} .. {} cps, trials of {:?}, precision {}%, assertions: {}",
        fmt_si(a.from),
        fmt_si(a.to),
        a.trial,
        a.precision * 100.0,
        c.asserts
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join("  ")
    );
    println!(
        "{:>5}  {:>10}  {:>10}  {:>8}  {:>9}  {:>9}  verdict  checks",
        "trial", "rate", "achieved", "failed", "p50", "p99"
    );
    let mut trial = |rate: f64| -> Result<bool, RunError> {
        if !trials.is_empty() {
            std::thread::sleep(a.gap);
        }
        let seed = c.seed.map(|s| s.wrapping_add(trials.len() as u64));
        let t = run_trial(&exe, &base, rate, a.trial, seed, &tmp, &asserts)?;
        print_row(trials.len() + 1, &t);
        let pass = t.pass;
        trials.push(t);
        Ok(pass)
    };
    let from = a.from.round();
    let to = a.to.round();
    let result = if !trial(from)? {
        None
    } else if trial(to)? {
        Some(to)
    } else {
        let (mut lo, mut hi) = (from, to);
        while hi - lo > a.precision * lo && hi - lo > 1.0 {
            let mid = ((lo + hi) / 2.0).round();
            if trial(mid)? {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    };
    let _ = std::fs::remove_file(&tmp);
    match result {
        Some(r) => println!(
            "Result:      {} cps is the highest rate tried that meets every assertion ({} trials)",
            fmt_si(r),
            trials.len()
        ),
        None => println!(
            "Result:      even --from {} cps fails an assertion: lower --from (exit {EXIT_ASSERT})",
            fmt_si(from)
        ),
    }
    if let Some(p) = &c.json {
        let v = result_json(result, a, &trials);
        std::fs::write(
            p,
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
        )
        .map_err(|e| RunError::env(format!("--json {}: {e}", p.display())))?;
    }
    Ok(if result.is_some() { 0 } else { EXIT_ASSERT })
}

fn run_trial(
    exe: &std::path::Path,
    base: &[String],
    rate: f64,
    len: Duration,
    seed: Option<u64>,
    json_path: &std::path::Path,
    asserts: &[Assertion],
) -> Result<Trial, RunError> {
    let _ = std::fs::remove_file(json_path);
    let mut cmd = Command::new(exe);
    cmd.arg("connect")
        .args(base)
        .args(["-r", &format!("{rate:.0}")])
        .args(["-d", &format!("{}ms", len.as_millis())])
        .arg("--json")
        .arg(json_path)
        .arg("--quiet");
    if let Some(s) = seed {
        cmd.args(["--seed", &s.to_string()]);
    }
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| RunError::env(format!("search: cannot start a trial: {e}")))?;
    let text = std::fs::read_to_string(json_path).ok();
    let Some(summary) = text.and_then(|t| serde_json::from_str::<Value>(&t).ok()) else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(RunError {
            code: out.status.code().unwrap_or(super::EXIT_ENV),
            msg: format!(
                "search: the trial at {rate:.0} cps failed to run ({}): {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    };
    let checks: Vec<(String, bool, f64)> = asserts
        .iter()
        .map(|a| {
            let (ok, v) = a.check_json(&summary, &Default::default());
            (a.text.clone(), ok, v)
        })
        .collect();
    Ok(Trial {
        rate,
        pass: checks.iter().all(|c| c.1),
        summary,
        checks,
    })
}

fn print_row(n: usize, t: &Trial) {
    let s = &t.summary;
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    let lat = |k: &str| {
        s["handshake_latency_ns"][k]
            .as_u64()
            .map_or("-".into(), fmt_ns)
    };
    let checks: Vec<String> = t
        .checks
        .iter()
        .map(|(a, ok, v)| format!("{a} {} ({v:.4})", if *ok { "ok" } else { "FAILED" }))
        .collect();
    println!(
        "{n:>5}  {:>10}  {:>10}  {:>7.3}%  {:>9}  {:>9}  {:<7}  {}",
        fmt_si(t.rate),
        fmt_si(f("cps")),
        100.0 * f("failed_total") / f("attempted").max(1.0),
        lat("p50"),
        lat("p99"),
        if t.pass { "pass" } else { "FAIL" },
        checks.join("  ")
    );
}

fn result_json(result: Option<f64>, a: &SearchArgs, trials: &[Trial]) -> Value {
    json!({
        "result_cps": result,
        "found": result.is_some(),
        "from": a.from,
        "to": a.to,
        "precision": a.precision,
        "trial_s": a.trial.as_secs_f64(),
        "assertions": a.connect.common.asserts.iter().map(|x| x.text.clone()).collect::<Vec<_>>(),
        "trials": trials.iter().map(|t| json!({
            "rate": t.rate,
            "pass": t.pass,
            "cps": t.summary["cps"],
            "attempted": t.summary["attempted"],
            "failed_total": t.summary["failed_total"],
            "syn_retransmits": t.summary["syn_retransmits"],
            "handshake_latency_ns": t.summary["handshake_latency_ns"],
            "checks": t.checks.iter().map(|(a, ok, v)| json!({"assert": a, "ok": ok, "measured": v})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::forward_args;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_search_flags_stay_with_the_search() {
        let got = forward_args(&v(
            "198.18.0.2:80 -i tw0 --assert fail<0.1% --from 10k --to=40k -r5k -d 3s --trial 2s \
             --precision 2% --json out.json --quiet -s 198.18.1.0/24 --close fin --drain 1s --seed 7",
        ));
        assert_eq!(
            got,
            v("198.18.0.2:80 -i tw0 -s 198.18.1.0/24 --close fin --drain 1s")
        );
        // --rto and -q are not -r/-d
        assert_eq!(forward_args(&v("-q 2 --rto 1s")), v("-q 2 --rto 1s"));
    }
}
