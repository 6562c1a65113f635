//! One grid point against one parent: start the parent, run the loadgen (a child process,
//! so its CPU is not the parent's), sample the parent's CPU and RSS at every progress line
//! of the loadgen, and turn the steady phase (every child connected, plus a settle time,
//! until the last line before the run's end) into the figures of [`Figures`].
//!
//! Invariants: the ramp-up is never inside the CPU window; a figure that could not be
//! measured is `None` and the reason is in `notes`, never a zero.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::procfs;
use super::progress::{self, Progress};
use super::server::{self, Kind, Parent, Spec};

/// The swarm of one grid point.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub children: usize,
    pub charts: usize,
    pub dims: usize,
    pub duration_secs: f64,
    pub ramp_per_sec: f64,
    pub settle_secs: f64,
    pub probe_children: usize,
    pub seed: u64,
}

impl Load {
    pub fn metrics_per_child(&self) -> usize {
        self.charts * self.dims
    }
}

/// How to start the loadgen: a program and the words before its options.
#[derive(Debug, Clone)]
pub struct LoadgenCmd {
    pub program: PathBuf,
    pub prefix: Vec<String>,
    pub extra: Vec<String>,
}

/// One sample of the parent taken at a loadgen progress line.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub elapsed: f64,
    pub connected: i64,
    pub samples: u64,
    pub parent_cpu_secs: Option<f64>,
    pub parent_rss_bytes: Option<u64>,
}

/// Everything measured at one grid point for one parent.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub parent: &'static str,
    /// The children streamed over TLS (to the parent's `^SSL=force` port).
    pub tls: bool,
    pub children: usize,
    pub metrics_per_child: usize,
    pub target_samples_per_sec: f64,
    /// From the loadgen report: steady-phase rate when every child got connected, else
    /// the whole run's rate.
    pub samples_per_sec: Option<f64>,
    pub connected_at_end: Option<u64>,
    pub never_connected: Option<u64>,
    pub rejected: Value,
    pub failed: Value,
    pub disconnects: Value,
    /// The CPU window: seconds since the swarm's start.
    pub window: Option<(f64, f64)>,
    pub window_samples: Option<u64>,
    pub parent_cpu_secs: Option<f64>,
    pub parent_cores_used: Option<f64>,
    pub cpu_secs_per_million_samples: Option<f64>,
    pub rss_idle_mib: Option<f64>,
    pub rss_mib: Option<f64>,
    /// (RSS at the end of the window − RSS before the swarm) / children.
    pub rss_per_child_kib: Option<f64>,
    pub rss_per_metric_bytes: Option<f64>,
    pub tick_lag_p99_ms: Option<f64>,
    pub tick_lag_max_ms: Option<f64>,
    pub handshake_p99_ms: Option<f64>,
    pub handshake_max_ms: Option<f64>,
    /// The TLS handshake alone (TLS runs only).
    pub tls_handshake_p99_ms: Option<f64>,
    pub tls_handshake_max_ms: Option<f64>,
    pub ticks_skipped: Option<u64>,
    pub samples_sent: Option<u64>,
    /// strata: `/api/v1/dbengine` `disk.bytes_per_sample` (flushed blocks only).
    pub api_disk_bytes_per_sample: Option<f64>,
    /// strata: the dbengine page cache in use after the window (sealed blocks kept for
    /// queries, bounded by `page cache size`), MiB.
    pub page_cache_used_mib: Option<f64>,
    /// strata: the RSS per metric without that page cache: what each collected metric
    /// costs beside the configured cache budget.
    pub rss_per_metric_without_cache_bytes: Option<f64>,
    /// dbengine directory size after a clean stop / samples sent.
    pub du_bytes_per_sample: Option<f64>,
    pub dbengine_du_bytes: Option<u64>,
    pub clean_stop: bool,
    pub loadgen_cores_used: Option<f64>,
    pub loadgen_cpu_secs_per_million_samples: Option<f64>,
    pub notes: Vec<String>,
    pub samples: Vec<Sample>,
    /// The loadgen's JSON report without its curves.
    pub loadgen_report: Value,
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

fn uint(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_u64()
}

/// Picks the steady window from the samples: from the first line at least `settle` after
/// every child was connected, to the last line at least 0.5 s before the run's end.
/// Without a moment where all were connected, the second half of the run is used (the
/// caller notes it).
pub fn steady_window(samples: &[Sample], children: usize, duration: f64, settle: f64) -> Option<(usize, usize, bool)> {
    let full_at = samples.iter().find(|s| s.connected >= children as i64).map(|s| s.elapsed);
    let (from, all) = match full_at {
        Some(t) => (t + settle, true),
        None => (duration / 2.0, false),
    };
    let start = samples.iter().position(|s| s.elapsed >= from - 1e-6)?;
    let end = samples.iter().rposition(|s| s.elapsed <= duration - 0.5)?;
    (end > start && samples[end].elapsed - samples[start].elapsed >= 2.0 - 1e-6).then_some((start, end, all))
}

/// Runs one grid point against one parent.
pub fn run(spec: &Spec, load: &Load, loadgen: &LoadgenCmd, work: &Path, echo: bool) -> anyhow::Result<Figures> {
    let tag = format!(
        "{}{}-{}x{}",
        spec.kind.name(),
        if spec.tls.is_some() { "-tls" } else { "" },
        load.children,
        load.metrics_per_child()
    );
    let dir = work.join(&tag);
    let _ = std::fs::remove_dir_all(&dir);
    let mut parent = Parent::start(spec, &dir)?;
    let pid = parent.pid().context("parent has no pid")?;
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = procfs::rss_bytes(pid);
    let json = dir.join("loadgen.json");
    // The loadgen's freshness probe reads the API in plain HTTP at its target, which a
    // `^SSL=force` port answers with a redirect: TLS runs do not probe.
    let probe_children = if spec.tls.is_some() { 0 } else { load.probe_children };
    let mut cmd = Command::new(&loadgen.program);
    cmd.args(&loadgen.prefix)
        .arg("--target")
        .arg(format!("127.0.0.1:{}", parent.stream_port))
        .args(["--children", &load.children.to_string()])
        .args(["--charts", &load.charts.to_string()])
        .args(["--dims", &load.dims.to_string()])
        .args(["--duration", &load.duration_secs.to_string()])
        .args(["--ramp", &load.ramp_per_sec.to_string()])
        .args(["--probe-children", &probe_children.to_string()])
        .args(["--seed", &load.seed.to_string()])
        .args(["--api-key", server::API_KEY, "--progress", "1", "--hostname-prefix", "bench"])
        .arg("--json")
        .arg(&json)
        .args(&loadgen.extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(c) = &spec.tls {
        cmd.arg("--tls").arg("--ca").arg(&c.cert);
    }
    let mut lg = cmd.spawn().with_context(|| format!("start the loadgen {}", loadgen.program.display()))?;
    let stdout = lg.stdout.take().context("loadgen stdout")?;
    let text = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut s);
        s
    });
    let stderr = lg.stderr.take().context("loadgen stderr")?;
    let seen: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let mut other_lines = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if echo {
            eprintln!("  {tag} {line}");
        }
        match progress::parse(&line) {
            Some(Progress { elapsed, connected, samples, .. }) => {
                let s = Sample {
                    elapsed,
                    connected,
                    samples,
                    parent_cpu_secs: procfs::cpu_secs(pid),
                    parent_rss_bytes: procfs::rss_bytes(pid),
                };
                seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(s);
            }
            None => other_lines.push(line),
        }
    }
    let status = lg.wait()?;
    let report_text = text.join().unwrap_or_default();
    let samples = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let mut notes = Vec::new();
    if probe_children != load.probe_children {
        notes.push("no freshness probe over TLS".into());
    }
    if !status.success() {
        notes.push(format!("loadgen exited with {status}: {}", other_lines.join(" / ")));
    }
    let parent_alive = parent.alive();
    if !parent_alive {
        notes.push(format!("{} parent exited during the run (logs: {})", spec.kind.name(), dir.join("log").display()));
    }
    let mut report: Value =
        std::fs::read_to_string(&json).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    if report.is_null() {
        notes.push(format!("no loadgen report; its output: {}", report_text.trim()));
    }
    if let Some(o) = report.as_object_mut() {
        o.remove("curves");
    }

    // The loadgen reports an empty TLS histogram as zeros: no handshake, no figure.
    let tls_count = uint(&report, &["latency_ms", "tls_handshake", "count"]).filter(|&n| n > 0);
    if spec.tls.is_some() && tls_count.is_none() {
        notes.push("TLS run without a single completed TLS handshake".into());
    }
    let window = steady_window(&samples, load.children, load.duration_secs, load.settle_secs);
    let mut f = Figures {
        parent: spec.kind.name(),
        tls: spec.tls.is_some(),
        children: load.children,
        metrics_per_child: load.metrics_per_child(),
        target_samples_per_sec: (load.children * load.metrics_per_child()) as f64,
        samples_per_sec: num(&report, &["traffic", "steady_samples_per_sec"])
            .or_else(|| num(&report, &["traffic", "achieved_samples_per_sec"])),
        connected_at_end: uint(&report, &["connections", "connected"]),
        never_connected: uint(&report, &["connections", "never_connected"]),
        rejected: report.pointer("/connections/rejected").cloned().unwrap_or(Value::Null),
        failed: report.pointer("/connections/failed").cloned().unwrap_or(Value::Null),
        disconnects: report.pointer("/connections/disconnects").cloned().unwrap_or(Value::Null),
        window: None,
        window_samples: None,
        parent_cpu_secs: None,
        parent_cores_used: None,
        cpu_secs_per_million_samples: None,
        rss_idle_mib: rss_idle.map(|b| b as f64 / 1048576.0),
        rss_mib: None,
        rss_per_child_kib: None,
        rss_per_metric_bytes: None,
        tick_lag_p99_ms: num(&report, &["latency_ms", "tick_send_lag", "p99"]),
        tick_lag_max_ms: num(&report, &["latency_ms", "tick_send_lag", "max"]),
        handshake_p99_ms: num(&report, &["latency_ms", "handshake", "p99"]),
        handshake_max_ms: num(&report, &["latency_ms", "handshake", "max"]),
        tls_handshake_p99_ms: tls_count.and(num(&report, &["latency_ms", "tls_handshake", "p99"])),
        tls_handshake_max_ms: tls_count.and(num(&report, &["latency_ms", "tls_handshake", "max"])),
        ticks_skipped: uint(&report, &["traffic", "ticks_skipped"]),
        samples_sent: uint(&report, &["traffic", "samples_sent"]),
        api_disk_bytes_per_sample: None,
        page_cache_used_mib: None,
        rss_per_metric_without_cache_bytes: None,
        du_bytes_per_sample: None,
        dbengine_du_bytes: None,
        clean_stop: false,
        loadgen_cores_used: num(&report, &["cost", "cores_used"]),
        loadgen_cpu_secs_per_million_samples: num(&report, &["cost", "cpu_secs_per_million_samples"]),
        notes,
        samples: samples.clone(),
        loadgen_report: report,
    };
    match window {
        Some((a, b, all)) => {
            let (sa, sb) = (samples[a], samples[b]);
            f.window = Some((sa.elapsed, sb.elapsed));
            let n = sb.samples.saturating_sub(sa.samples);
            f.window_samples = Some(n);
            if !all {
                f.notes.push(format!(
                    "not every child was connected at once (at most {} of {}): CPU measured over the second half",
                    samples.iter().map(|s| s.connected).max().unwrap_or(0),
                    load.children
                ));
            }
            if let (Some(ca), Some(cb)) = (sa.parent_cpu_secs, sb.parent_cpu_secs) {
                let cpu = cb - ca;
                f.parent_cpu_secs = Some(cpu);
                f.parent_cores_used = Some(cpu / (sb.elapsed - sa.elapsed));
                if n > 0 {
                    f.cpu_secs_per_million_samples = Some(cpu * 1e6 / n as f64);
                }
            }
            if let Some(rss) = sb.parent_rss_bytes {
                f.rss_mib = Some(rss as f64 / 1048576.0);
                if let Some(idle) = rss_idle {
                    let grown = rss.saturating_sub(idle) as f64;
                    f.rss_per_child_kib = Some(grown / load.children as f64 / 1024.0);
                    f.rss_per_metric_bytes = Some(grown / (load.children * load.metrics_per_child()) as f64);
                }
            }
        }
        None => f.notes.push("no steady window of at least 2 s: CPU and RSS not measured".into()),
    }
    if f.ticks_skipped.unwrap_or(0) > 0 {
        f.notes.push(format!("{} ticks skipped (children more than one interval late)", f.ticks_skipped.unwrap_or(0)));
    }
    if spec.kind == Kind::Strata && parent_alive {
        if let Ok((200, body)) = server::http_get(parent.port, "/api/v1/dbengine") {
            if let Ok(v) = serde_json::from_str::<Value>(&body) {
                if uint(&v, &["total", "flush", "values_flushed"]).unwrap_or(0) > 0 {
                    f.api_disk_bytes_per_sample = num(&v, &["total", "disk", "bytes_per_sample"]);
                }
                if let Some(used) = num(&v, &["total", "page_cache", "used_bytes"]) {
                    f.page_cache_used_mib = Some(used / 1048576.0);
                    if let Some(per) = f.rss_per_metric_bytes.filter(|_| used > 0.0) {
                        let without = per - used / (load.children * load.metrics_per_child()) as f64;
                        f.rss_per_metric_without_cache_bytes = Some(without);
                        f.notes.push(format!(
                            "page cache {:.1} MiB in use; RSS / metric without it {without:.1} B",
                            used / 1048576.0
                        ));
                    }
                }
            }
        }
    }
    match parent.stop(Duration::from_secs(120)) {
        server::Stop::Exited(status) if status.success() => f.clean_stop = true,
        server::Stop::Exited(status) => {
            f.notes.push(format!("the parent's stop after SIGTERM was not clean: {status}"))
        }
        server::Stop::Killed => f.notes.push("the parent did not stop within 120 s of SIGTERM (killed)".into()),
        server::Stop::NotRunning => {}
    }
    let (bytes, _) = procfs::du(&dir.join("cache/dbengine"));
    f.dbengine_du_bytes = Some(bytes);
    if let Some(sent) = f.samples_sent.filter(|&s| s > 0) {
        if f.clean_stop {
            f.du_bytes_per_sample = Some(bytes as f64 / sent as f64);
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(elapsed: f64, connected: i64) -> Sample {
        Sample { elapsed, connected, samples: 0, parent_cpu_secs: None, parent_rss_bytes: None }
    }

    #[test]
    fn window_skips_ramp_and_settle_and_the_end() {
        let v: Vec<Sample> = (1..=10).map(|t| s(t as f64, if t < 3 { 50 } else { 100 })).collect();
        // All connected at 3 s, settle 2 s -> from 5 s; duration 10 -> last line ≤ 9.5 s.
        assert_eq!(steady_window(&v, 100, 10.0, 2.0), Some((4, 8, true)));
    }

    #[test]
    fn window_without_all_connected_is_the_second_half() {
        let v: Vec<Sample> = (1..=10).map(|t| s(t as f64, 60)).collect();
        assert_eq!(steady_window(&v, 100, 10.0, 2.0), Some((4, 8, false)));
        // Too short a run has no window.
        assert_eq!(steady_window(&v[..3], 100, 3.0, 2.0), None);
    }
}
