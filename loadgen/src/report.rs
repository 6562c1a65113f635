//! The run's report: every figure the swarm measured, as a text table (for people) and
//! JSON (for the benchmark and tests), plus the percentile curves the SVG plot draws.
//!
//! Invariants: latencies are in milliseconds in the report (the histograms hold µs);
//! a histogram with no values reports `count: 0` and zeros, never a made-up figure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::LoadgenError;

/// Percentiles of one latency histogram, in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles { count: 0, mean: 0.0, p50: 0.0, p90: 0.0, p99: 0.0, p999: 0.0, max: 0.0 };
        }
        Percentiles {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// (percentile in %, latency in ms) points of a histogram, for plotting: the
/// HdrHistogram percentile iteration (5 ticks per half distance to 100 %).
pub fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<(f64, f64)> =
        h.iter_quantiles(5).map(|v| (v.quantile_iterated_to() * 100.0, ms(v.value_iterated_to()))).collect();
    points.dedup_by(|a, b| a.0 == b.0);
    points
}

/// The run's settings, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct RunSettings {
    pub targets: Vec<String>,
    pub children: usize,
    pub charts: usize,
    pub dims: usize,
    pub update_every: u32,
    pub duration_secs: f64,
    pub ramp_per_sec: f64,
    pub churn_per_sec: f64,
    pub tls: bool,
    pub ver: u64,
    pub value_pattern: crate::values::ValuePattern,
    pub seed: u64,
    pub threads: usize,
}

/// Children and connections.
#[derive(Debug, Clone, Serialize)]
pub struct Connections {
    /// Children with a live session at the end of the run.
    pub connected: u64,
    /// Children that never got a session.
    pub never_connected: u64,
    /// Handshakes that were accepted (first connections and reconnections).
    pub sessions: u64,
    /// Connection attempts (one per target tried).
    pub attempts: u64,
    /// Failed attempts by reason.
    pub failed: BTreeMap<String, u64>,
    /// Refusals by the parent's reply text.
    pub rejected: BTreeMap<String, u64>,
    /// Sessions that broke before the end, by reason.
    pub disconnects: BTreeMap<String, u64>,
    /// Disconnect/reconnect cycles done by `--churn`.
    pub churned: u64,
}

/// What was sent.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    pub samples_sent: u64,
    pub bytes_sent: u64,
    pub ticks_sent: u64,
    pub ticks_skipped: u64,
    pub ticks_cut_at_end: u64,
    /// children × charts × dims / update_every.
    pub target_samples_per_sec: f64,
    /// Samples sent over the whole run (ramp included).
    pub achieved_samples_per_sec: f64,
    /// Samples per second from the moment every child was connected to the end (when
    /// that happened at least a second before the end).
    pub steady_samples_per_sec: Option<f64>,
}

/// Latency percentiles, in ms.
#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    /// From a connection's due time to the parent's reply (TLS included).
    pub handshake: Percentiles,
    /// The TLS handshake alone (`count: 0` without `--tls`).
    pub tls_handshake: Percentiles,
    /// Completed write of a tick minus its due time, corrected for coordinated omission.
    pub tick_send_lag: Percentiles,
    /// From a sample's completed write to its first sight in `/api/v1/data`.
    pub freshness: Percentiles,
}

/// The freshness probe's bookkeeping.
#[derive(Debug, Clone, Serialize)]
pub struct Probing {
    pub probe_children: usize,
    pub probe_charts: usize,
    pub poll_interval_ms: u64,
    pub requests: u64,
    pub errors: u64,
    pub timeouts: u64,
}

/// The loadgen's own cost.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub cpu_user_secs: f64,
    pub cpu_system_secs: f64,
    pub cpu_secs: f64,
    /// CPU-seconds per wall-second (1.0 = one core busy).
    pub cores_used: f64,
    pub cpu_secs_per_million_samples: f64,
    /// Peak resident memory of the loadgen process.
    pub max_rss_mib: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub settings: RunSettings,
    pub elapsed_secs: f64,
    pub connections: Connections,
    pub traffic: Traffic,
    pub latency_ms: Latencies,
    pub probing: Probing,
    pub cost: Cost,
    /// Percentile curves: name → [(percentile %, ms)].
    pub curves: BTreeMap<String, Vec<(f64, f64)>>,
}

/// A rate or count in SI shorthand: `1.23M`, `45.6k`, `789`.
pub fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

impl Report {
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as an aligned text table.
    pub fn text(&self) -> String {
        let s = &self.settings;
        let c = &self.connections;
        let t = &self.traffic;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "strata-loadgen: {} children × {} charts × {} dims every {} s, {:.1} s, {} thread(s){}",
            s.children,
            s.charts,
            s.dims,
            s.update_every,
            self.elapsed_secs,
            s.threads,
            if s.tls { ", TLS" } else { "" }
        );
        let _ = writeln!(o, "  targets                 {}", s.targets.join(", "));
        let _ = writeln!(
            o,
            "  children connected      {} / {} (never connected: {})",
            c.connected, s.children, c.never_connected
        );
        let _ = writeln!(o, "  sessions / attempts     {} / {} (churned {})", c.sessions, c.attempts, c.churned);
        for (title, map) in [("failed", &c.failed), ("rejected", &c.rejected), ("disconnected", &c.disconnects)] {
            let total: u64 = map.values().sum();
            let _ = writeln!(o, "  {title:<23} {total}");
            for (reason, n) in map {
                let _ = writeln!(o, "      {n:>8}  {reason}");
            }
        }
        let _ = writeln!(
            o,
            "  samples sent            {} ({} bytes, {} ticks)",
            t.samples_sent, t.bytes_sent, t.ticks_sent
        );
        let _ = writeln!(o, "  ticks skipped / cut     {} / {}", t.ticks_skipped, t.ticks_cut_at_end);
        let steady = t.steady_samples_per_sec.map_or("n/a".to_string(), si);
        let _ = writeln!(
            o,
            "  samples/s               {} achieved, {} steady, {} target ({:.1} % steady)",
            si(t.achieved_samples_per_sec),
            steady,
            si(t.target_samples_per_sec),
            t.steady_samples_per_sec.map_or(0.0, |x| 100.0 * x / t.target_samples_per_sec.max(f64::MIN_POSITIVE))
        );
        let _ = writeln!(
            o,
            "  loadgen CPU             {:.2} s ({:.2} user, {:.2} sys) = {:.2} cores, {:.3} s per million samples, {:.0} MiB peak RSS",
            self.cost.cpu_secs,
            self.cost.cpu_user_secs,
            self.cost.cpu_system_secs,
            self.cost.cores_used,
            self.cost.cpu_secs_per_million_samples,
            self.cost.max_rss_mib
        );
        let _ = writeln!(
            o,
            "  latency (ms)            {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "count", "p50", "p90", "p99", "p99.9", "max"
        );
        let l = &self.latency_ms;
        for (name, p) in [
            ("handshake", &l.handshake),
            ("tls handshake", &l.tls_handshake),
            ("tick send lag", &l.tick_send_lag),
            ("freshness", &l.freshness),
        ] {
            if name == "tls handshake" && !s.tls {
                continue;
            }
            let _ = writeln!(
                o,
                "    {name:<21} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                p.count, p.p50, p.p90, p.p99, p.p999, p.max
            );
        }
        let pr = &self.probing;
        let _ = writeln!(
            o,
            "  freshness probe         {} children × {} charts, poll {} ms: {} requests, {} errors, {} timeouts",
            pr.probe_children, pr.probe_charts, pr.poll_interval_ms, pr.requests, pr.errors, pr.timeouts
        );
        o
    }

    /// Writes the JSON to `path` and the plot to `path` with `.svg`; returns the SVG path.
    pub fn write_files(&self, path: &Path) -> Result<PathBuf, LoadgenError> {
        let io = |p: &Path, e: std::io::Error| LoadgenError::Write { path: p.to_path_buf(), source: e };
        std::fs::write(path, self.to_json()).map_err(|e| io(path, e))?;
        let svg_path = path.with_extension("svg");
        let title = format!(
            "strata-loadgen: {} children × {} metrics, {} s",
            self.settings.children,
            self.settings.charts * self.settings.dims,
            self.settings.update_every
        );
        std::fs::write(&svg_path, crate::svg::percentile_plot(&title, &self.curves)).map_err(|e| io(&svg_path, e))?;
        Ok(svg_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::histogram;

    #[test]
    fn percentiles_in_ms() {
        let mut h = histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 500.0).abs() < 1.0, "{p:?}");
        assert!((p.p99 - 990.0).abs() < 1.0);
        assert!((p.max - 1000.0).abs() < 1.0);
        assert_eq!(Percentiles::of(&histogram()).count, 0);
        let c = curve(&h);
        assert!(c.len() > 10);
        assert!(c.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "monotonic");
        assert!(curve(&histogram()).is_empty());
    }
}
