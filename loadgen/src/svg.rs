//! The latency percentile plot, written as plain SVG text: percentile on a log axis
//! (`1 / (1 − p)`, as HdrHistogram plots do: 0 %, 90 %, 99 %, 99.9 % …), latency in ms on
//! a log axis, one line per histogram.
//!
//! Written by hand because it is a few dozen lines of text; a plotting crate would pull
//! a font stack into a load generator. Invariants: the output is a complete SVG document
//! for any input (no series, empty series, zeros) and every coordinate is finite.

use std::collections::BTreeMap;
use std::fmt::Write as _;

const W: f64 = 900.0;
const H: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
/// Smallest latency drawn (ms); smaller values sit on the bottom axis.
const FLOOR_MS: f64 = 0.001;

/// x position (decades of `1/(1-p)`) of percentile `pct`, capped at 99.9999 %.
fn nines(pct: f64) -> f64 {
    let q = (pct / 100.0).clamp(0.0, 0.999_999);
    (1.0 / (1.0 - q)).log10()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The plot of `curves` (name → [(percentile %, ms)]).
pub fn percentile_plot(title: &str, curves: &BTreeMap<String, Vec<(f64, f64)>>) -> String {
    let points = curves.values().flatten();
    // The axis ends at the decade of the highest percentile below 100 %; the 100 % point
    // (the maximum) is drawn at the right edge.
    let max_x = points.clone().filter(|p| p.0 < 100.0).map(|p| nines(p.0)).fold(2.0_f64, f64::max).ceil().min(6.0);
    let max_ms = points.clone().map(|p| p.1).fold(FLOOR_MS, f64::max);
    let min_ms = points.map(|p| p.1).filter(|&v| v > 0.0).fold(max_ms, f64::min).max(FLOOR_MS);
    let lo = min_ms.log10().floor();
    let hi = (max_ms.log10().ceil()).max(lo + 1.0);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x_of = |pct: f64| LEFT + pw * nines(pct).min(max_x) / max_x;
    let y_of = |v: f64| TOP + ph * (1.0 - (v.max(FLOOR_MS).log10() - lo) / (hi - lo));

    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="28" font-size="15" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        escape(title)
    );
    // Grid and axes.
    for d in 0..=(max_x as i32) {
        let pct = 100.0 * (1.0 - 10f64.powi(-d));
        let x = x_of(pct);
        let label = match d {
            0 => "0%".to_string(),
            _ => format!("{}%", format!("{pct:.6}").trim_end_matches('0').trim_end_matches('.')),
        };
        let _ = writeln!(o, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##, TOP + ph);
        let _ = writeln!(o, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#, TOP + ph + 18.0);
    }
    for e in (lo as i32)..=(hi as i32) {
        let v = 10f64.powi(e);
        let y = y_of(v);
        let label = if e >= 0 { format!("{v:.0}") } else { format!("{v:.*}", (-e) as usize) };
        let _ = writeln!(o, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##, LEFT + pw);
        let _ = writeln!(o, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#, LEFT - 6.0, y + 4.0);
    }
    let _ = writeln!(o, r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##);
    let _ =
        writeln!(o, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#, LEFT + pw / 2.0, H - 15.0);
    let _ = writeln!(
        o,
        r#"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">latency (ms, log)</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );
    // Series and legend.
    for (i, (name, pts)) in curves.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if !pts.is_empty() {
            let path: Vec<String> = pts.iter().map(|&(p, v)| format!("{:.1},{:.1}", x_of(p), y_of(v))).collect();
            let _ =
                writeln!(o, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, path.join(" "));
        }
        let ly = TOP + 10.0 + 22.0 * i as f64;
        let lx = LEFT + pw + 15.0;
        let _ = writeln!(
            o,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/>"#,
            lx + 25.0
        );
        let note = if pts.is_empty() { " (no data)" } else { "" };
        let _ = writeln!(o, r#"<text x="{}" y="{}">{}{note}</text>"#, lx + 32.0, ly + 4.0, escape(name));
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_document_for_any_input() {
        let mut curves = BTreeMap::new();
        assert!(percentile_plot("t", &curves).ends_with("</svg>\n"));
        curves.insert("handshake".to_string(), vec![(0.0, 0.0), (50.0, 1.5), (99.0, 20.0), (100.0, 31.0)]);
        curves.insert("empty <x>".to_string(), vec![]);
        let svg = percentile_plot("a & b", &curves);
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains("a &amp; b"));
        assert!(svg.contains("empty &lt;x&gt; (no data)"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains(">99%<"));
        assert!(!svg.contains(">99.9%<"), "the axis stops at the data's last decade");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn percentile_axis_is_in_nines() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert!((nines(100.0) - 6.0).abs() < 1e-6);
    }
}
