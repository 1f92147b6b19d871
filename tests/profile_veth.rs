//! `connect --steps` / `--ramp` against a kernel listener over veth: every NDJSON interval's
//! target follows the profile, and the achieved rate follows the target (open loop).

mod common;

use std::time::Duration;

use common::*;

/// Runs `connect` with `profile` (e.g. ["--steps", "2k,6k,3k/1s"]) and returns the full
/// (non-partial) NDJSON intervals as (t_end, dt, target_cps, cps).
fn run_profile(p: &VethPair, name: &str, profile: &[&str]) -> Vec<(f64, f64, f64, f64)> {
    let listen = format!("{}:{PORT}", p.b.addr);
    let nd = tmp(&format!("{name}.ndjson"));
    let mut args = vec!["connect", &listen, "-i", "tw0", "--interval", "500ms"];
    args.extend_from_slice(profile);
    args.extend_from_slice(&["--drain", "500ms", "--quiet", "--ndjson"]);
    args.push(nd.to_str().unwrap());
    let out = run_in(p, &p.a, &args, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out));
    let body = std::fs::read_to_string(&nd).unwrap();
    let recs: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Full intervals before the stop: the one that closes as opening stops (at 3 s) still
    // lacks completions that workers report up to 100 ms later.
    recs.iter()
        .filter(|r| r["dt"].as_f64().unwrap() > 0.45 && r["t"].as_f64().unwrap() < 2.95)
        .map(|r| {
            let f = |k: &str| r[k].as_f64().unwrap();
            (f("t"), f("dt"), f("target_cps"), f("cps"))
        })
        .collect()
}

fn check(name: &str, recs: &[(f64, f64, f64, f64)], expect: impl Fn(f64, f64) -> f64) {
    assert!(recs.len() >= 4, "{name}: too few full intervals: {recs:?}");
    for &(t, dt, target, cps) in recs {
        let want = expect(t - dt, t);
        assert!(
            (target - want).abs() <= 0.05 * want,
            "{name}: interval ending {t:.2}s: target {target:.0}, the profile says {want:.0}"
        );
        assert!(
            (cps - target).abs() <= 0.15 * target,
            "{name}: interval ending {t:.2}s: achieved {cps:.0} vs target {target:.0}: {recs:?}"
        );
    }
}

#[test]
fn steps_and_ramp_shape_the_ndjson_rates() {
    let p = pair("twt-pf", 1);
    let _server = kernel_listener(&p, &p.b, PORT, 2);

    let steps = run_profile(&p, "steps", &["--steps", "2k,6k,3k/1s"]);
    let step_rate = |t: f64| [2000.0, 6000.0, 3000.0][(t.max(0.0) as usize).min(2)];
    // Intervals are 500 ms and steps 1 s, but interval ends drift by a few ms under load:
    // the target is the step function's mean over the interval.
    let mean = |a: f64, b: f64| {
        let n = 1000;
        (0..n)
            .map(|i| step_rate(a + (b - a) * (i as f64 + 0.5) / n as f64))
            .sum::<f64>()
            / n as f64
    };
    check("steps", &steps, mean);
    let seen: Vec<f64> = steps.iter().map(|r| r.2.round()).collect();
    for want in [2000.0, 6000.0, 3000.0] {
        assert!(
            seen.iter().any(|s| (s - want).abs() < 0.05 * want),
            "steps: no interval at {want}: {seen:?}"
        );
    }

    let ramp = run_profile(&p, "ramp", &["--ramp", "1k..7k/3s"]);
    // The mean of a linear ramp over an interval is its value at the midpoint.
    check("ramp", &ramp, |a, b| 1000.0 + 2000.0 * (a + b) / 2.0);
    let first = ramp.first().unwrap().2;
    let last = ramp.last().unwrap().2;
    assert!(last > 2.5 * first, "ramp: target {first:.0} -> {last:.0}");
}
