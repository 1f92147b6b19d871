//! `report::merge` end to end: three instances' `--json` summaries and `--hlog` files (written
//! by the real `HlogBuffer`) in a temp dir, merged, checked against one histogram of all
//! samples. Test names start with `merge_` so `cargo test merge` selects them.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use threeway::report::Pcts;
use threeway::report::assert::Assertion;
use threeway::report::hlog::HlogBuffer;
use threeway::report::merge::{apply_histograms, merge_hlogs, merge_json};

/// A metric of a merged summary as `--assert` reads it (no histograms: the stored
/// percentiles), or None when it has nothing to read.
fn metric(m: &Value, name: &str) -> Option<f64> {
    let a = Assertion::parse(&format!("{name}>=0")).expect("a valid metric");
    let (_, v) = a.check_json(m, &std::collections::BTreeMap::new());
    (!v.is_nan()).then_some(v)
}

/// A temp dir removed on drop (also when a test panics).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("threeway-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use threeway::rng::SplitMix64 as Rng;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap()
}

/// One instance: its connect and rtt samples (two intervals each) and its hlog file.
struct Instance {
    connect: Vec<Histogram<u64>>,
    rtt: Vec<Histogram<u64>>,
}

/// Instance i's latencies are centred on `base_ns` (very different instances, so averaged
/// percentiles would be visibly wrong).
fn instance(rng: &mut Rng, base_ns: u64, n: usize) -> Instance {
    let mut inst = Instance {
        connect: vec![histogram(), histogram()],
        rtt: vec![histogram(), histogram()],
    };
    for k in 0..n {
        let iv = k % 2;
        let v = base_ns + rng.next_u64() % base_ns + if k % 97 == 0 { 50 * base_ns } else { 0 };
        inst.connect[iv].record(v).unwrap();
        inst.rtt[iv].record(v / 2 + 1).unwrap();
    }
    inst
}

fn write_hlog(dir: &TempDir, name: &str, inst: &Instance) -> PathBuf {
    let mut buf = HlogBuffer::default();
    for iv in 0..2 {
        let start = Duration::from_secs(iv as u64);
        buf.push(start, Duration::from_secs(1), "connect", &inst.connect[iv]);
        buf.push(start, Duration::from_secs(1), "rtt", &inst.rtt[iv]);
    }
    let path = dir.0.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    buf.write(&mut f, SystemTime::now()).unwrap();
    path
}

fn summary(i: u64, inst: &Instance, cps: f64, duration_s: f64) -> Value {
    let count: u64 = inst.connect.iter().map(Histogram::len).sum();
    let p = {
        let mut all = histogram();
        inst.connect.iter().for_each(|h| all.add(h).unwrap());
        Pcts::of(&all)
    };
    json!({
        "role": "client", "version": "0.1.0", "duration_s": duration_s, "wall_s": duration_s + 2.0,
        "target_cps": 1000.0, "cps": cps, "attempted": count + 10 + i, "established": count,
        "failed": {"timeout": 7 + i, "rst": 3}, "failed_total": 10 + i, "active": 0, "closed": count,
        "syn_retransmits": 5 * i,
        "handshake_latency_ns": {"count": count, "p50": p.p50, "p75": p.p75, "p90": p.p90,
            "p99": p.p99, "p99_9": p.p99_9, "p99_99": p.p99_99, "max": p.max},
        "rtt_ns": {"count": count, "p50": 1, "p75": 1, "p90": 1, "p99": 1, "p99_9": 1, "p99_99": 1, "max": 9},
        "drops": {"bad_checksum": i},
        "workers": 2, "cpu_s": 1.5, "cpu_busy": 0.25 * (i + 1) as f64, "cpu_us_per_conn": 99.0,
        "peak_rss_bytes": 1000 * (i + 1),
        "counters": {"engine": {"rx_frames": 100 * (i + 1), "tx_frames": 7},
                     "xsk": {"tx_kicks": i}, "xdp": {"rx_dropped": 0}},
        "errors": if i == 1 { json!(["worker 0: ring full"]) } else { json!([]) },
        "config": {"target": "198.19.0.2:80", "rate": "3000", "segment": format!("{i}/3")},
    })
}

struct Fixture {
    _dir: TempDir,
    instances: Vec<Instance>,
    jsons: Vec<Value>,
    hlogs: Vec<PathBuf>,
}

fn fixture(name: &str) -> Fixture {
    let dir = TempDir::new(name);
    let mut rng = Rng(42);
    let instances: Vec<Instance> = [(20_000, 5_000), (40_000, 3_000), (400_000, 2_000)]
        .iter()
        .map(|&(b, n)| instance(&mut rng, b, n))
        .collect();
    let jsons = instances
        .iter()
        .enumerate()
        .map(|(i, inst)| summary(i as u64, inst, 1000.0 + i as f64, 10.0 + i as f64))
        .collect();
    let hlogs = instances
        .iter()
        .enumerate()
        .map(|(i, inst)| write_hlog(&dir, &format!("{i}.hlog"), inst))
        .collect();
    Fixture {
        _dir: dir,
        instances,
        jsons,
        hlogs,
    }
}

fn all_of(instances: &[Instance], pick: fn(&Instance) -> &Vec<Histogram<u64>>) -> Histogram<u64> {
    let mut all = histogram();
    for inst in instances {
        for h in pick(inst) {
            for v in h.iter_recorded() {
                all.record_n(v.value_iterated_to(), v.count_at_value())
                    .unwrap();
            }
        }
    }
    all
}

#[test]
fn merge_json_sums_counters_and_keeps_instances() {
    let f = fixture("merge-json");
    let m = merge_json(&f.jsons).unwrap();
    let sum = |k: &str| f.jsons.iter().map(|j| j[k].as_u64().unwrap()).sum::<u64>();
    for k in [
        "attempted",
        "established",
        "failed_total",
        "closed",
        "syn_retransmits",
        "workers",
    ] {
        assert_eq!(m[k].as_u64(), Some(sum(k)), "{k}");
    }
    assert_eq!(m["cps"].as_f64(), Some(1000.0 + 1001.0 + 1002.0));
    assert_eq!(m["cpu_s"].as_f64(), Some(4.5));
    assert_eq!(m["duration_s"].as_f64(), Some(12.0), "the longest instance");
    assert_eq!(m["peak_rss_bytes"].as_u64(), Some(3000));
    assert_eq!(m["failed"], json!({"timeout": 7 + 8 + 9, "rst": 9}));
    assert_eq!(
        m["counters"]["engine"],
        json!({"rx_frames": 600, "tx_frames": 21})
    );
    assert_eq!(m["counters"]["xsk"]["tx_kicks"], json!(3));
    assert_eq!(m["drops"]["bad_checksum"], json!(3));
    assert!(
        (m["cpu_busy"].as_f64().unwrap() - 0.5).abs() < 1e-12,
        "worker-weighted mean"
    );
    let est = sum("established") as f64;
    assert!((m["cpu_us_per_conn"].as_f64().unwrap() - 4.5e6 / est).abs() < 1e-9);
    assert_eq!(m["errors"], json!(["instance 1: worker 0: ring full"]));
    assert_eq!(m["role"], "client");
    assert_eq!(m["version"], "0.1.0");
    // Config: common keys stay, the segment is per instance.
    assert_eq!(
        m["config"],
        json!({"target": "198.19.0.2:80", "rate": "3000"})
    );
    let inst = m["instances"].as_array().unwrap();
    assert_eq!(inst.len(), 3);
    assert_eq!(inst[2]["config"]["segment"], "2/3");
    assert_eq!(inst[1]["cps"].as_f64(), Some(1001.0));
    // Latency: counts add, max is the largest, percentiles are never averaged.
    let lat = &m["handshake_latency_ns"];
    assert_eq!(lat["count"].as_u64(), Some(10_000));
    assert!(lat["p99"].is_null() && lat["p50"].is_null(), "{lat}");
    let maxes: Vec<u64> = f
        .jsons
        .iter()
        .map(|j| j["handshake_latency_ns"]["max"].as_u64().unwrap())
        .collect();
    assert_eq!(lat["max"].as_u64(), maxes.iter().max().copied());
    assert_eq!(
        metric(&m, "p99"),
        None,
        "no percentile to assert on without hlogs"
    );
    assert!(m["latency_from"].as_str().unwrap().starts_with("none"));
}

#[test]
fn merge_hlogs_adds_histograms_exactly() {
    let f = fixture("merge-hlog");
    let merged = merge_hlogs(&f.hlogs).unwrap();
    assert_eq!(merged.keys().collect::<Vec<_>>(), ["connect", "rtt"]);
    let connect = all_of(&f.instances, |i| &i.connect);
    let rtt = all_of(&f.instances, |i| &i.rtt);
    assert_eq!(merged["connect"].len(), 10_000, "count = sum of the parts");
    assert_eq!(merged["rtt"].len(), 10_000);
    assert!(
        connect == merged["connect"],
        "bucket counts equal those of one histogram of all samples"
    );
    assert!(rtt == merged["rtt"]);
    for q in [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0] {
        assert_eq!(
            merged["connect"].value_at_quantile(q),
            connect.value_at_quantile(q),
            "q {q}"
        );
    }
}

#[test]
fn merge_applies_merged_percentiles_not_averages() {
    let f = fixture("merge-apply");
    let mut m = merge_json(&f.jsons).unwrap();
    let hists = merge_hlogs(&f.hlogs).unwrap();
    apply_histograms(&mut m, &hists).unwrap();
    let all = Pcts::of(&all_of(&f.instances, |i| &i.connect));
    let lat = &m["handshake_latency_ns"];
    assert_eq!(lat["count"].as_u64(), Some(all.count));
    assert_eq!(lat["p50"].as_u64(), Some(all.p50));
    assert_eq!(lat["p99"].as_u64(), Some(all.p99));
    assert_eq!(lat["p99_99"].as_u64(), Some(all.p99_99));
    assert_eq!(lat["max"].as_u64(), Some(all.max));
    assert_eq!(metric(&m, "p99"), Some(all.p99 as f64));
    assert_eq!(metric(&m, "p99.9"), Some(all.p99_9 as f64));
    let avg_p99 = f
        .jsons
        .iter()
        .map(|j| j["handshake_latency_ns"]["p99"].as_f64().unwrap())
        .sum::<f64>()
        / 3.0;
    assert!(
        (avg_p99 - all.p99 as f64).abs() > 0.1 * all.p99 as f64,
        "fixture must tell the two apart"
    );
    assert_eq!(m["rtt_ns"]["count"].as_u64(), Some(10_000));
    assert_eq!(m["latency_from"], "hlog: histograms added exactly");
    assert!(m.get("merge_warnings").is_none(), "{m}");
    let fail = metric(&m, "fail").unwrap();
    assert!((fail - 33.0 / 10_033.0).abs() < 1e-12, "{fail}");
}

#[test]
fn merge_warns_when_hlogs_and_summaries_disagree() {
    let f = fixture("merge-warn");
    let mut m = merge_json(&f.jsons[..2]).unwrap();
    apply_histograms(&mut m, &merge_hlogs(&f.hlogs).unwrap()).unwrap();
    let w = m["merge_warnings"].to_string();
    assert!(w.contains("hold 10000 samples, the summaries 8000"), "{w}");
}

#[test]
fn merge_errors_say_what_failed() {
    let f = fixture("merge-errors");
    assert!(merge_json(&[]).unwrap_err().contains("no summaries"));
    let mut server = f.jsons[1].clone();
    server["role"] = json!("server");
    let e = merge_json(&[f.jsons[0].clone(), server]).unwrap_err();
    assert!(
        e.contains("summary 1 has role 'server'") && e.contains("separately"),
        "{e}"
    );
    let mut bad = f.jsons[1].clone();
    bad["attempted"] = json!("many");
    assert!(
        merge_json(&[f.jsons[0].clone(), bad])
            .unwrap_err()
            .contains("'attempted' is \"many\"")
    );
    let missing = f.hlogs[0].with_file_name("nope.hlog");
    assert!(merge_hlogs(&[missing]).unwrap_err().contains("cannot read"));
    let garbage = f.hlogs[0].with_file_name("garbage.hlog");
    std::fs::write(&garbage, "Tag=connect,0.0,1.0,1.0,!!!notbase64\n").unwrap();
    assert!(
        merge_hlogs(&[garbage])
            .unwrap_err()
            .contains("garbage.hlog")
    );
    let mut m = merge_json(&f.jsons).unwrap();
    let rtt_only = merge_hlogs(&f.hlogs)
        .unwrap()
        .into_iter()
        .filter(|(t, _)| t == "rtt")
        .collect();
    let e = apply_histograms(&mut m, &rtt_only).unwrap_err();
    assert!(e.contains("no 'connect' histogram"), "{e}");
}

#[test]
fn merge_json_sums_the_per_family_figures() {
    let part = |v4: u64, v6: u64| {
        json!({"role": "client",
            "families": {"ipv4": {"attempted": v4, "outcomes": {"closed": v4}},
                         "ipv6": {"attempted": v6, "outcomes": {"closed": v6 - 1}}}})
    };
    let m = merge_json(&[part(3, 5), part(4, 6)]).unwrap();
    assert_eq!(m["families"]["ipv4"]["attempted"], 7);
    assert_eq!(m["families"]["ipv6"]["attempted"], 11);
    assert_eq!(m["families"]["ipv6"]["outcomes"]["closed"], 9);
}
