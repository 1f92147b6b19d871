//! Inline SVG line charts for `threeway report`: no scripts, no external resources.
//!
//! Each `<svg>` carries its axis ranges and plot-area corners as `data-*` attributes and each
//! `<polyline>` its exact values (`data-values`), so a test can check that the drawn points
//! are the data, and the data are the run's.

use std::fmt::Write;

/// Colours of series 0, 1, 2, ... (colour-blind safe, Okabe-Ito).
const COLOURS: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000",
];
const W: f64 = 900.0;
const H: f64 = 280.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Copy)]
pub enum Axis {
    Linear,
    /// log10; points at or below 0 are left out.
    Log,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: Axis,
    pub y_axis: Axis,
    pub x_fmt: fn(f64) -> String,
    pub y_fmt: fn(f64) -> String,
    pub series: Vec<Series>,
}

/// Escapes text for HTML/SVG content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn f(axis: Axis, v: f64) -> f64 {
    match axis {
        Axis::Linear => v,
        Axis::Log => v.log10(),
    }
}

fn usable(axis: Axis, v: f64) -> bool {
    v.is_finite() && (matches!(axis, Axis::Linear) || v > 0.0)
}

/// Axis range and ticks (in data units) covering `lo..=hi`.
fn range(axis: Axis, lo: f64, hi: f64, from_zero: bool) -> (f64, f64, Vec<f64>) {
    match axis {
        Axis::Log => {
            let a = lo.log10().floor() as i32;
            let b = (hi.log10().ceil() as i32).max(a + 1);
            let ticks = (a..=b).map(|e| 10f64.powi(e)).collect();
            (10f64.powi(a), 10f64.powi(b), ticks)
        }
        Axis::Linear => {
            let lo = if from_zero { lo.min(0.0) } else { lo };
            let hi = if hi > lo { hi } else { lo + 1.0 };
            let raw = (hi - lo) / 5.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let a = (lo / step).floor() * step;
            let b = (hi / step).ceil() * step;
            let n = ((b - a) / step).round() as usize;
            (a, b, (0..=n).map(|i| a + i as f64 * step).collect())
        }
    }
}

/// The chart as one `<svg>` element.
pub fn render(c: &Chart) -> String {
    let pts = |s: &Series| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .copied()
            .filter(|(x, y)| usable(c.x_axis, *x) && usable(c.y_axis, *y))
            .collect()
    };
    let all: Vec<(f64, f64)> = c.series.iter().flat_map(pts).collect();
    let mut o = String::new();
    let title = esc(&c.title);
    if all.is_empty() {
        let _ = write!(
            o,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{W}" height="60" data-title="{title}"><text x="10" y="20" font-weight="bold">{title}</text><text x="10" y="45">no data in this run</text></svg>"#
        );
        return o;
    }
    let minmax = |v: &mut dyn Iterator<Item = f64>| {
        v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        })
    };
    let (xlo, xhi) = minmax(&mut all.iter().map(|p| p.0));
    let (ylo, yhi) = minmax(&mut all.iter().map(|p| p.1));
    let (x0, x1, xt) = range(c.x_axis, xlo, xhi, false);
    let (y0, y1, yt) = range(c.y_axis, ylo, yhi, true);
    let (px0, px1, py0, py1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let sx = |x: f64| {
        px0 + (f(c.x_axis, x) - f(c.x_axis, x0)) / (f(c.x_axis, x1) - f(c.x_axis, x0)) * (px1 - px0)
    };
    let sy = |y: f64| {
        py0 - (f(c.y_axis, y) - f(c.y_axis, y0)) / (f(c.y_axis, y1) - f(c.y_axis, y0)) * (py0 - py1)
    };
    let log = |a: Axis| u8::from(matches!(a, Axis::Log));
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" data-title="{title}" data-x0="{x0}" data-x1="{x1}" data-y0="{y0}" data-y1="{y1}" data-xlog="{}" data-ylog="{}" data-px0="{px0}" data-px1="{px1}" data-py0="{py0}" data-py1="{py1}">"#,
        log(c.x_axis),
        log(c.y_axis)
    );
    let _ = write!(
        o,
        r##"<text x="{LEFT}" y="18" font-weight="bold">{title}</text><rect x="{px0}" y="{py1}" width="{}" height="{}" fill="#fafafa" stroke="#999"/>"##,
        px1 - px0,
        py0 - py1
    );
    for t in &xt {
        let x = sx(*t);
        let _ = write!(
            o,
            r##"<line x1="{x:.2}" y1="{py1}" x2="{x:.2}" y2="{py0}" stroke="#e3e3e3"/><text x="{x:.2}" y="{}" text-anchor="middle" class="tick">{}</text>"##,
            py0 + 15.0,
            esc(&(c.x_fmt)(*t))
        );
    }
    for t in &yt {
        let y = sy(*t);
        let _ = write!(
            o,
            r##"<line x1="{px0}" y1="{y:.2}" x2="{px1}" y2="{y:.2}" stroke="#e3e3e3"/><text x="{}" y="{:.2}" text-anchor="end" class="tick">{}</text>"##,
            px0 - 5.0,
            y + 4.0,
            esc(&(c.y_fmt)(*t))
        );
    }
    let _ = write!(
        o,
        r#"<text x="{}" y="{}" text-anchor="middle" class="label">{}</text><text x="14" y="{}" text-anchor="middle" class="label" transform="rotate(-90 14 {})">{}</text>"#,
        (px0 + px1) / 2.0,
        H - 6.0,
        esc(&c.x_label),
        (py0 + py1) / 2.0,
        (py0 + py1) / 2.0,
        esc(&c.y_label)
    );
    for (i, s) in c.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let p = pts(s);
        let values: Vec<String> = p.iter().map(|(x, y)| format!("{x},{y}")).collect();
        let pixels: Vec<String> = p
            .iter()
            .map(|(x, y)| format!("{:.2},{:.2}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            o,
            r#"<polyline data-series="{}" data-values="{}" points="{}" fill="none" stroke="{colour}" stroke-width="1.8"/>"#,
            esc(&s.name),
            values.join(" "),
            pixels.join(" ")
        );
        if p.len() <= 40 {
            for (x, y) in &p {
                let _ = write!(
                    o,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="2.5" fill="{colour}"/>"#,
                    sx(*x),
                    sy(*y)
                );
            }
        }
        let ly = py1 + 14.0 + 18.0 * i as f64;
        let _ = write!(
            o,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}" class="legend">{}</text>"#,
            px1 + 10.0,
            px1 + 30.0,
            px1 + 36.0,
            ly + 4.0,
            esc(&s.name)
        );
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_data() {
        let (a, b, t) = range(Axis::Linear, 3.0, 97.0, true);
        assert_eq!((a, b), (0.0, 100.0));
        assert_eq!(t.len(), 6);
        let (a, b, t) = range(Axis::Log, 3_000.0, 2_000_000.0, true);
        assert_eq!((a, b), (1e3, 1e7));
        assert_eq!(t, vec![1e3, 1e4, 1e5, 1e6, 1e7]);
        let (a, b, _) = range(Axis::Linear, 5.0, 5.0, false);
        assert!(a <= 5.0 && b > 5.0);
    }

    #[test]
    fn renders_escaped_and_leaves_out_unplottable_points() {
        let c = Chart {
            title: "a <b> & c".into(),
            x_label: "t".into(),
            y_label: "v".into(),
            x_axis: Axis::Linear,
            y_axis: Axis::Log,
            x_fmt: |v| format!("{v}"),
            y_fmt: |v| format!("{v}"),
            series: vec![Series {
                name: "s".into(),
                points: vec![(0.0, 0.0), (1.0, 10.0), (2.0, 100.0)],
            }],
        };
        let svg = render(&c);
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(svg.contains(r#"data-values="1,10 2,100""#), "{svg}");
    }
}
