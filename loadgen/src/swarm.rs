//! The swarm: a few glommio executor threads, each running many child tasks on
//! non-blocking sockets (never a thread per child), a churn task per thread, the
//! freshness probe thread, progress lines, and the merge of everything into a
//! [`Report`].
//!
//! Invariants: child `i` runs on thread `i mod threads`; every thread and task ends by
//! the run's end plus `child::GRACE` (plus the probe's last request); the CPU time
//! reported is the whole process's (all threads) over the run.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glommio::{LocalExecutorBuilder, Placement};

use crate::child::{self, ThreadCtx};
use crate::cpu::CpuTime;
use crate::freshness::{self, Board, ProbeSlot};
use crate::ident::{Identity, Rng};
use crate::options::Options;
use crate::report::{self, Connections, Cost, Latencies, Percentiles, Probing, Report, RunSettings, Traffic};
use crate::stats::{Live, ThreadStats};
use crate::template::Template;
use crate::transport::{Target, Tls};
use crate::LoadgenError;

/// Time between starting the threads and the first due connection.
const WARMUP: Duration = Duration::from_millis(200);
/// io_uring buffer memory per executor (the loadgen does no file I/O).
const IO_MEMORY: usize = 512 << 10;

/// Raises the open-files soft limit to the hard limit (one socket per child).
fn raise_nofile() {
    // SAFETY: plain rlimit calls on a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Runs the swarm described by `opts` to its end and reports.
pub fn run(opts: &Options) -> Result<Report, LoadgenError> {
    opts.validate()?;
    raise_nofile();
    let opts = Arc::new(opts.clone());
    let targets = Arc::new(opts.targets.iter().map(|t| Target::parse(t)).collect::<Result<Vec<_>, _>>()?);
    let tls =
        if opts.tls { Some(Tls::new(opts.insecure, opts.ca.as_deref(), opts.tls_server_name.clone())?) } else { None };
    let probe_children = opts.probe_children.min(opts.children);
    let probe_charts = opts.probe_charts.min(opts.charts);
    let tpl = Arc::new(Template::new(opts.charts, opts.dims, opts.update_every, opts.value_pattern, probe_charts));
    let board = Arc::new(Board::default());
    let probes: Vec<Arc<ProbeSlot>> = (0..probe_children)
        .map(|i| {
            Arc::new(ProbeSlot::new(Identity::new(opts.seed, i, &opts.hostname_prefix).machine_guid, board.clone()))
        })
        .collect();
    let live = Arc::new(Live::default());
    let threads = opts.threads.min(opts.children).max(1);

    let cpu_start = CpuTime::now();
    let start = Instant::now() + WARMUP;
    let end = start + Duration::from_secs_f64(opts.duration);
    let mut handles = Vec::new();
    let done = Arc::new(AtomicUsize::new(0));
    for t in 0..threads {
        let done = done.clone();
        let (opts, tpl, targets, tls, live) = (opts.clone(), tpl.clone(), targets.clone(), tls.clone(), live.clone());
        let probes = probes.clone();
        let h = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("loadgen-{t}"))
            .io_memory(IO_MEMORY)
            .spawn(move || async move {
                let indexes: Vec<usize> = (t..opts.children).step_by(threads).collect();
                let ctx = Rc::new(ThreadCtx::new(opts.clone(), tpl, targets, tls, live, start, end, indexes.len()));
                let mut tasks = Vec::with_capacity(indexes.len());
                for (slot, &i) in indexes.iter().enumerate() {
                    let ident = Identity::new(opts.seed, i, &opts.hostname_prefix);
                    let probe = probes.get(i).cloned();
                    tasks.push(glommio::spawn_local(child::run(ctx.clone(), slot, ident, probe)));
                }
                let churn = glommio::spawn_local(churn(ctx.clone(), indexes.len(), threads, t));
                for task in tasks {
                    task.await;
                }
                churn.await;
                done.fetch_add(1, Ordering::Relaxed);
                ctx.stats.take()
            })
            .map_err(|e| LoadgenError::Executor(e.to_string()))?;
        handles.push(h);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let prober = (!probes.is_empty()).then(|| {
        let (stop, probes) = (stop.clone(), probes.clone());
        let (interval, poll) = (opts.interval(), Duration::from_millis(opts.probe_interval_ms));
        std::thread::Builder::new()
            .name("loadgen-probe".into())
            .spawn(move || freshness::run(probes, board, probe_charts, interval, poll, stop))
    });

    let watch = watch(&opts, &live, start, || done.load(Ordering::Relaxed) >= threads);
    let mut total = ThreadStats::default();
    for h in handles {
        let stats = h.join().map_err(|e| LoadgenError::Executor(e.to_string()))?;
        total.merge(stats);
    }
    let finished = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let fresh = match prober {
        Some(Ok(h)) => h.join().ok(),
        Some(Err(e)) => return Err(LoadgenError::Executor(format!("probe thread: {e}"))),
        None => None,
    };
    let cpu = CpuTime::now().since(cpu_start);
    let elapsed = finished.saturating_duration_since(start).as_secs_f64();

    let fresh_hist = fresh.as_ref().map(|f| f.latency.clone()).unwrap_or_else(crate::stats::histogram);
    let mut curves = std::collections::BTreeMap::new();
    curves.insert("handshake".to_string(), report::curve(&total.handshake));
    if opts.tls {
        curves.insert("tls handshake".to_string(), report::curve(&total.tls_handshake));
    }
    curves.insert("tick send lag".to_string(), report::curve(&total.tick_lag));
    curves.insert("freshness".to_string(), report::curve(&fresh_hist));
    let cpu_secs = cpu.total().as_secs_f64();
    let steady = watch.full.and_then(|(t, samples)| {
        let secs = end.saturating_duration_since(t).as_secs_f64();
        (secs >= 1.0).then(|| total.samples.saturating_sub(samples) as f64 / secs)
    });
    Ok(Report {
        settings: RunSettings {
            targets: opts.targets.clone(),
            children: opts.children,
            charts: opts.charts,
            dims: opts.dims,
            update_every: opts.update_every,
            duration_secs: opts.duration,
            ramp_per_sec: opts.ramp,
            churn_per_sec: opts.churn,
            tls: opts.tls,
            ver: opts.ver,
            value_pattern: opts.value_pattern,
            seed: opts.seed,
            threads,
        },
        elapsed_secs: elapsed,
        connections: Connections {
            connected: total.connected_at_end,
            never_connected: (opts.children as u64).saturating_sub(total.ever_connected),
            sessions: total.sessions,
            attempts: total.attempts,
            failed: total.failed,
            rejected: total.rejected,
            disconnects: total.disconnects,
            churned: total.churned,
        },
        traffic: Traffic {
            samples_sent: total.samples,
            bytes_sent: total.bytes,
            ticks_sent: total.ticks,
            ticks_skipped: total.ticks_skipped,
            ticks_cut_at_end: total.ticks_cut,
            target_samples_per_sec: opts.target_rate(),
            achieved_samples_per_sec: total.samples as f64 / opts.duration,
            steady_samples_per_sec: steady,
        },
        latency_ms: Latencies {
            handshake: Percentiles::of(&total.handshake),
            tls_handshake: Percentiles::of(&total.tls_handshake),
            tick_send_lag: Percentiles::of(&total.tick_lag),
            freshness: Percentiles::of(&fresh_hist),
        },
        probing: Probing {
            probe_children,
            probe_charts,
            poll_interval_ms: opts.probe_interval_ms,
            requests: fresh.as_ref().map_or(0, |f| f.requests),
            errors: fresh.as_ref().map_or(0, |f| f.errors),
            timeouts: fresh.as_ref().map_or(0, |f| f.timeouts),
        },
        cost: Cost {
            cpu_user_secs: cpu.user.as_secs_f64(),
            cpu_system_secs: cpu.system.as_secs_f64(),
            cpu_secs,
            cores_used: cpu_secs / elapsed.max(f64::MIN_POSITIVE),
            cpu_secs_per_million_samples: if total.samples == 0 { 0.0 } else { cpu_secs * 1e6 / total.samples as f64 },
            max_rss_mib: cpu.max_rss as f64 / (1 << 20) as f64,
        },
        curves,
    })
}

/// What the main thread saw while waiting.
struct Watch {
    /// When every child was first connected at once, and the samples sent by then.
    full: Option<(Instant, u64)>,
}

/// Waits for the executor threads, printing a progress line every `--progress` seconds.
fn watch(opts: &Options, live: &Live, start: Instant, finished: impl Fn() -> bool) -> Watch {
    let mut w = Watch { full: None };
    let every = (opts.progress > 0.0).then(|| Duration::from_secs_f64(opts.progress));
    let mut next_line = start + every.unwrap_or(Duration::MAX / 4);
    let mut last = (start, 0u64);
    loop {
        let now = Instant::now();
        if finished() {
            return w;
        }
        let connected = live.connected.load(Ordering::Relaxed);
        if w.full.is_none() && connected >= opts.children as i64 {
            w.full = Some((now, Live::get(&live.samples)));
        }
        if now >= next_line {
            let samples = Live::get(&live.samples);
            let rate = (samples - last.1) as f64 / now.saturating_duration_since(last.0).as_secs_f64().max(1e-9);
            let cpu = CpuTime::now();
            eprintln!(
                "[{:7.1}s] connected {}/{} | sessions {} failed {} rejected {} | samples {} ({:.0}/s of {:.0}/s) | {:.1} MiB | lag max {:.1} ms | cpu {:.1}s",
                now.saturating_duration_since(start).as_secs_f64(),
                connected,
                opts.children,
                Live::get(&live.sessions),
                Live::get(&live.failed),
                Live::get(&live.rejected),
                samples,
                rate,
                opts.target_rate(),
                Live::get(&live.bytes) as f64 / (1 << 20) as f64,
                live.lag_max_us.swap(0, Ordering::Relaxed) as f64 / 1000.0,
                cpu.total().as_secs_f64(),
            );
            last = (now, samples);
            next_line += every.unwrap_or(Duration::MAX / 4);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Disconnects random connected children of this thread at its share of `--churn`.
async fn churn(ctx: Rc<ThreadCtx>, children: usize, threads: usize, t: usize) {
    let rate = ctx.opts.churn / threads as f64;
    if rate <= 0.0 || children == 0 {
        return;
    }
    let mut rng = Rng::new(ctx.opts.seed ^ (t as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut next = ctx.start + period;
    while next < ctx.end {
        let now = Instant::now();
        if next > now {
            glommio::timer::sleep(next - now).await;
        }
        // A few tries to find a connected child; none found means this event is lost.
        for _ in 0..8 {
            if ctx.churn(rng.below(children as u64) as usize) {
                break;
            }
        }
        next += period;
    }
}
