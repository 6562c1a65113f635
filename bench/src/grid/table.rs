//! The grid's results as markdown: one row per (grid point, parent, plain or TLS), then
//! one row of strata/Netdata ratios per grid point where both were measured, and one row
//! of TLS/plain ratios per grid point and parent measured both ways. Pure rendering.

use std::fmt::Write as _;

use strata_loadgen::report::si;

use super::point::Figures;
use super::tls;

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.prec$}"))
}

fn disk(f: &Figures) -> String {
    match (f.api_disk_bytes_per_sample, f.du_bytes_per_sample) {
        (Some(a), Some(d)) => format!("{a:.2} (du {d:.2})"),
        (None, Some(d)) => format!("du {d:.2}"),
        (Some(a), None) => format!("{a:.2}"),
        (None, None) => "–".into(),
    }
}

/// Figures of every run, one row each.
pub fn figures(rows: &[Figures]) -> String {
    let mut o = String::new();
    o.push_str(
        "| children × metrics | parent | samples/s (target) | connected | parent CPU-s / M samples | parent cores | RSS MiB | RSS / child KiB | RSS / metric B | tick lag p99 ms | handshake p99 ms | TLS handshake p99 ms | disk B / sample | loadgen cores | notes |\n",
    );
    o.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for f in rows {
        let _ = writeln!(
            o,
            "| {}×{} | {}{} | {} ({}) | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f.children,
            f.metrics_per_child,
            f.parent,
            if f.tls { " TLS" } else { "" },
            f.samples_per_sec.map_or("–".into(), si),
            si(f.target_samples_per_sec),
            f.connected_at_end.map_or("–".into(), |c| c.to_string()),
            f.children,
            opt(f.cpu_secs_per_million_samples, 3),
            opt(f.parent_cores_used, 2),
            opt(f.rss_mib, 1),
            opt(f.rss_per_child_kib, 1),
            opt(f.rss_per_metric_bytes, 1),
            opt(f.tick_lag_p99_ms, 1),
            opt(f.handshake_p99_ms, 1),
            opt(f.tls_handshake_p99_ms, 1),
            disk(f),
            opt(f.loadgen_cores_used, 2),
            notes(f),
        );
    }
    o
}

fn notes(f: &Figures) -> String {
    let mut n: Vec<String> = f.notes.clone();
    for (what, v) in [("rejected", &f.rejected), ("failed", &f.failed), ("disconnected", &f.disconnects)] {
        if let Some(m) = v.as_object() {
            for (reason, count) in m {
                n.push(format!("{what} {count}: {reason}"));
            }
        }
    }
    n.join("; ").replace('|', "/")
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.3}", a / b),
        _ => "–".into(),
    }
}

/// strata/Netdata per figure, for the grid points measured on both.
pub fn ratios(rows: &[Figures]) -> String {
    let mut o = String::new();
    o.push_str("| children × metrics | samples/s | CPU-s / M samples | samples per CPU-s: strata is N× Netdata | RSS / child | tick lag p99 | handshake p99 | disk B / sample (du) |\n");
    o.push_str("|---|---|---|---|---|---|---|---|\n");
    let mut any = false;
    for s in rows.iter().filter(|f| f.parent == "strata") {
        let Some(n) = rows.iter().find(|f| {
            f.parent == "netdata"
                && f.tls == s.tls
                && f.children == s.children
                && f.metrics_per_child == s.metrics_per_child
        }) else {
            continue;
        };
        any = true;
        let _ = writeln!(
            o,
            "| {}×{}{} | {} | {} | {} | {} | {} | {} | {} |",
            s.children,
            s.metrics_per_child,
            if s.tls { " TLS" } else { "" },
            ratio(s.samples_per_sec, n.samples_per_sec),
            ratio(s.cpu_secs_per_million_samples, n.cpu_secs_per_million_samples),
            ratio(n.cpu_secs_per_million_samples, s.cpu_secs_per_million_samples),
            ratio(s.rss_per_child_kib, n.rss_per_child_kib),
            ratio(s.tick_lag_p99_ms, n.tick_lag_p99_ms),
            ratio(s.handshake_p99_ms, n.handshake_p99_ms),
            ratio(s.du_bytes_per_sample, n.du_bytes_per_sample),
        );
    }
    if any {
        o
    } else {
        String::new()
    }
}

fn r(v: Option<f64>) -> String {
    opt(v, 3)
}

/// TLS/plain per figure, for the grid points and parents measured both ways.
pub fn tls_ratios(rows: &[Figures]) -> String {
    let all = tls::ratios(rows);
    if all.is_empty() {
        return String::new();
    }
    let mut o = String::new();
    o.push_str("| children × metrics | parent | CPU-s / M samples | RSS | RSS / child | handshake p99 | TLS handshake p99 ms | TLS handshake p99 / plain handshake p99 |\n");
    o.push_str("|---|---|---|---|---|---|---|---|\n");
    for t in &all {
        let _ = writeln!(
            o,
            "| {}×{} | {} | {} | {} | {} | {} | {} | {} |",
            t.children,
            t.metrics_per_child,
            t.parent,
            r(t.cpu_secs_per_million_samples),
            r(t.rss_mib),
            r(t.rss_per_child_kib),
            r(t.handshake_p99),
            opt(t.tls_handshake_p99_ms, 1),
            r(t.tls_handshake_p99_over_plain_handshake_p99),
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fig(parent: &'static str, cpu: f64) -> Figures {
        Figures {
            parent,
            tls: false,
            children: 10,
            metrics_per_child: 20,
            target_samples_per_sec: 200.0,
            samples_per_sec: Some(200.0),
            connected_at_end: Some(10),
            never_connected: Some(0),
            rejected: json!({"busy": 2}),
            failed: json!({}),
            disconnects: json!({}),
            window: Some((3.0, 9.0)),
            window_samples: Some(1200),
            parent_cpu_secs: Some(cpu),
            parent_cores_used: Some(0.1),
            cpu_secs_per_million_samples: Some(cpu),
            rss_idle_mib: Some(10.0),
            rss_mib: Some(12.0),
            rss_per_child_kib: Some(200.0),
            rss_per_metric_bytes: Some(10.0),
            tick_lag_p99_ms: Some(1.0),
            tick_lag_max_ms: Some(2.0),
            handshake_p99_ms: Some(4.0),
            handshake_max_ms: Some(5.0),
            tls_handshake_p99_ms: None,
            tls_handshake_max_ms: None,
            ticks_skipped: Some(0),
            samples_sent: Some(1000),
            api_disk_bytes_per_sample: None,
            page_cache_used_mib: None,
            rss_per_metric_without_cache_bytes: None,
            du_bytes_per_sample: Some(2.0),
            dbengine_du_bytes: Some(2000),
            clean_stop: true,
            loadgen_cores_used: Some(0.01),
            loadgen_cpu_secs_per_million_samples: Some(1.0),
            notes: vec!["a | b".into()],
            samples: vec![],
            loadgen_report: json!(null),
        }
    }

    #[test]
    fn rows_and_ratios() {
        let rows = [fig("strata", 0.5), fig("netdata", 2.0)];
        let t = figures(&rows);
        assert_eq!(t.lines().count(), 4, "{t}");
        assert!(t.contains("| 10×20 | strata | 200 (200) | 10/10 | 0.500 |"), "{t}");
        assert!(t.contains("rejected 2: busy") && t.contains("a / b"), "{t}");
        let r = ratios(&rows);
        assert!(r.contains("| 10×20 | 1.000 | 0.250 | 4.000 | 1.000 |"), "{r}");
        assert_eq!(ratios(&rows[..1]), "", "no Netdata, no ratio table");
        assert_eq!(tls_ratios(&rows), "", "no TLS run, no TLS table");
    }

    #[test]
    fn tls_rows_and_ratios() {
        let plain = fig("strata", 0.5);
        let tls = Figures {
            tls: true,
            cpu_secs_per_million_samples: Some(0.75),
            rss_mib: Some(18.0),
            handshake_p99_ms: Some(10.0),
            tls_handshake_p99_ms: Some(3.0),
            ..fig("strata", 0.5)
        };
        let rows = [plain, tls, fig("netdata", 2.0)];
        let t = figures(&rows);
        assert!(t.contains("| 10×20 | strata TLS | 200 (200) | 10/10 | 0.750 |"), "{t}");
        assert!(t.contains("| 4.0 | – | du 2.00 |"), "plain row has no TLS handshake: {t}");
        assert!(t.contains("| 10.0 | 3.0 | du 2.00 |"), "{t}");
        let r = tls_ratios(&rows);
        assert_eq!(r.lines().count(), 3, "one row: strata (Netdata ran plain only): {r}");
        assert!(r.contains("| 10×20 | strata | 1.500 | 1.500 | 1.000 | 2.500 | 3.0 | 0.750 |"), "{r}");
        // The strata/Netdata table compares plain with plain only.
        assert_eq!(ratios(&rows).lines().count(), 3, "{}", ratios(&rows));
    }
}
