//! `threeway report` / `--report` from a real run (threeway -> kernel listener over veth): the
//! page's SVGs parse, the plotted points are the NDJSON values and the hlog's percentiles, and
//! headless Chromium renders it to a non-blank screenshot of the asked size.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Every `<svg>...</svg>` of the page, parsed as XML; keyed by `data-title`.
fn svgs(page: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = page;
    while let Some(a) = rest.find("<svg") {
        let b = rest[a..].find("</svg>").expect("unclosed <svg>") + a + 6;
        let svg = &rest[a..b];
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("SVG parse: {e}"));
        let title = doc.root_element().attribute("data-title").unwrap();
        out.insert(title.to_string(), svg.to_string());
        rest = &rest[b..];
    }
    out
}

/// (data values, pixel points) of series `name` in `svg`, after checking that each pixel is
/// the chart's transform of its value.
fn series(svg: &str, name: &str) -> Vec<(f64, f64)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    let a = |k: &str| root.attribute(k).unwrap().parse::<f64>().unwrap();
    let (x0, x1, y0, y1) = (a("data-x0"), a("data-x1"), a("data-y0"), a("data-y1"));
    let (px0, px1, py0, py1) = (a("data-px0"), a("data-px1"), a("data-py0"), a("data-py1"));
    let (xlog, ylog) = (a("data-xlog") == 1.0, a("data-ylog") == 1.0);
    let f = |log: bool, v: f64| if log { v.log10() } else { v };
    let line = doc
        .descendants()
        .find(|n| n.has_tag_name("polyline") && n.attribute("data-series") == Some(name))
        .unwrap_or_else(|| panic!("no series {name} in {svg}"));
    let pairs = |attr: &str| -> Vec<(f64, f64)> {
        line.attribute(attr)
            .unwrap()
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    };
    let values = pairs("data-values");
    let pixels = pairs("points");
    assert_eq!(values.len(), pixels.len());
    for ((x, y), (px, py)) in values.iter().zip(&pixels) {
        let want_x = px0 + (f(xlog, *x) - f(xlog, x0)) / (f(xlog, x1) - f(xlog, x0)) * (px1 - px0);
        let want_y = py0 - (f(ylog, *y) - f(ylog, y0)) / (f(ylog, y1) - f(ylog, y0)) * (py0 - py1);
        assert!(
            (want_x - px).abs() < 0.01 && (want_y - py).abs() < 0.01,
            "{name}: ({x},{y}) drawn at ({px},{py}), should be ({want_x},{want_y})"
        );
    }
    values
}

fn records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn chart<'a>(svgs: &'a BTreeMap<String, String>, starts: &str) -> &'a str {
    svgs.iter()
        .find(|(t, _)| t.starts_with(starts))
        .unwrap_or_else(|| panic!("no chart '{starts}*' in {:?}", svgs.keys()))
        .1
}

#[test]
fn report_plots_the_runs_own_figures_and_renders_in_chromium() {
    let p = pair("twt-rp", 1);
    let listen = format!("{}:{PORT}", p.b.addr);
    let _server = kernel_listener(&p, &p.b, PORT, 2);
    let (nd, hl, js, html) = (
        tmp("rp.ndjson"),
        tmp("rp.hlog"),
        tmp("rp.json"),
        tmp("rp.html"),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = run_in(
        &p,
        &p.a,
        &[
            "connect",
            &listen,
            "-i",
            "tw0",
            "--steps",
            "2k,4k/1s",
            "-d",
            "3s",
            "--interval",
            "500ms",
            "--drain",
            "500ms",
            "--quiet",
            "--ndjson",
            &s(&nd),
            "--hlog",
            &s(&hl),
            "--json",
            &s(&js),
            "--report",
            &s(&html),
        ],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<script"), "the page runs no scripts");
    // Nothing fetched: no src/href, no CSS imports or url(); only the SVG namespace name.
    for bad in [" src=", "href=", "@import", "url(", "https://"] {
        assert!(!page.contains(bad), "the page fetches nothing: found {bad}");
    }
    let svgs = svgs(&page);

    // Rates and active connections: exactly the NDJSON's.
    let recs = records(&nd);
    assert!(recs.len() >= 6, "{} records", recs.len());
    let rate = chart(&svgs, "Connection rate");
    let ndj = |k: &str| -> Vec<(f64, f64)> {
        recs.iter()
            .map(|r| (r["t"].as_f64().unwrap(), r[k].as_f64().unwrap()))
            .collect()
    };
    assert_eq!(series(rate, "achieved"), ndj("cps"));
    assert_eq!(series(rate, "target"), ndj("target_cps"));
    assert!(ndj("cps").iter().any(|(_, v)| *v > 3000.0), "4k step seen");
    assert_eq!(
        series(chart(&svgs, "Active connections"), "active"),
        ndj("active")
    );

    // Per-interval and whole-run percentiles: exactly the hlog's.
    let logged = threeway::report::hlog::read(&hl).unwrap();
    let connect: Vec<_> = logged.iter().filter(|i| i.tag == "connect").collect();
    assert!(connect.len() >= 5);
    let per_iv = chart(&svgs, "Latency 'connect' per interval");
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        let want: Vec<(f64, f64)> = connect
            .iter()
            .map(|i| (i.start_s + i.len_s, i.hist.value_at_quantile(q) as f64))
            .collect();
        assert_eq!(series(per_iv, name), want, "{name} per interval");
    }
    let mut total = connect[0].hist.clone();
    for i in &connect[1..] {
        total.add(&i.hist).unwrap();
    }
    let j = read_json(&js);
    assert_eq!(total.len(), j["established"].as_u64().unwrap());
    let spectrum = series(
        chart(&svgs, "Latency 'connect': percentile spectrum"),
        "connect",
    );
    assert!(spectrum.len() > 30, "up to 99.9% and beyond");
    for (x, y) in &spectrum {
        assert_eq!(
            *y,
            total.value_at_quantile(1.0 - 1.0 / x) as f64,
            "at 1/(1-q) = {x}"
        );
    }
    let p99 = total.value_at_quantile(0.99);
    assert!(
        page.contains(&format!("data-q=\"p99\" data-ns=\"{p99}\"")),
        "latency table p99 {p99}"
    );
    assert!(page.contains(&format!(
        "<th>established</th><td class=\"n\">{}</td>",
        j["established"]
    )));
    assert!(
        page.contains("<th>rate_profile</th>"),
        "configuration table"
    );

    // `threeway report` on the same files writes the same page.
    let again = tmp("rp-again.html");
    let o = Command::new(bin())
        .args(["report", &s(&nd), "--hlog", &s(&hl), "--json", &s(&js)])
        .args(["-o", &s(&again)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&again).unwrap(), page);

    // Two instances (here: the same files twice) add up interval by interval, exactly.
    let merged = tmp("rp-merged.html");
    let o = Command::new(bin())
        .args([
            "report",
            &s(&nd),
            &s(&nd),
            "--hlog",
            &s(&hl),
            "--hlog",
            &s(&hl),
        ])
        .args(["-o", &s(&merged)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let msvgs = self::svgs(&std::fs::read_to_string(&merged).unwrap());
    let doubled: Vec<(f64, f64)> = ndj("cps").iter().map(|(t, v)| (*t, 2.0 * v)).collect();
    assert_eq!(
        series(chart(&msvgs, "Connection rate"), "achieved"),
        doubled
    );
    assert!(
        chart(&msvgs, "Latency 'connect': percentile spectrum")
            .contains(&format!("({} samples)", 2 * total.len()))
    );

    screenshot(&html);
}

/// Headless Chromium (installed by deploy/install-deps.sh) renders the page: the PNG has the
/// window's size and is far from blank (plot colours present).
fn screenshot(html: &Path) {
    let png = html.with_extension("png");
    let profile = tmp("chromium-profile");
    let (w, h) = (1000u32, 2600u32);
    let o = Command::new("timeout")
        .args([
            "90",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .args([
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={w},{h}"))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium (deploy/install-deps.sh installs it)");
    assert!(o.status.success(), "chromium failed: {}", text(&o));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (w, h), "screenshot size");
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let non_white = pixels.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    let blue = pixels
        .iter()
        .filter(|p| p[0] < 40 && (90..140).contains(&p[1]) && p[2] > 150)
        .count();
    assert!(
        non_white * 50 > pixels.len(),
        "screenshot nearly blank: {non_white} of {} pixels",
        pixels.len()
    );
    assert!(
        blue > 500,
        "the first series' colour (#0072b2) drawn: {blue} pixels"
    );
}
