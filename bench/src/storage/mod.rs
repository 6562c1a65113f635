//! The storage benchmark: strata's dbengine driven through the daemon's own code path
//! (open the shard's files, append rows to charts, the flusher writing extents and
//! journals, clean close, restart, queries), measured per files backend.
//!
//! Layers: [`workload`] (hosts × charts × seconds and the row of every slot), [`shard`]
//! (backend, settings, executor, file sizes, page-cache eviction), [`phases`] (write,
//! verify, query: the engine calls and their timers), [`report`] (records and markdown).
//! [`run`] puts them together: the large workload (synthetic `mixed` charts, about
//! `size_mib` on disk) is written, reopened cold and warm, queried cold and warm and read
//! back (every host when few, else the first, middle and last) per backend; then every data
//! pattern is written with the first backend for its bytes on disk.
//! Invariants: every figure comes from a measurement of this run; a read-back that differs
//! from what was written fails the run.

pub mod phases;
pub mod report;
pub mod shard;
pub mod workload;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use strata_storage::dbengine::EngineConfig;
use strata_storage::Engine;

use crate::series::{self, ChartSeries, Pacing};
use phases::{QueryPass, Timer};
use report::{PatternRow, QueryRow, Report, RestartRow, WriteRow};
use shard::Backend;
use workload::Workload;

/// Query range lengths (seconds): 10 minutes, 1 hour, 1 day (capped to what was written).
pub const RANGES: [i64; 3] = [600, 3600, 86400];
/// Up to this many hosts the read-back after the restart covers every chart; beyond, the
/// first, middle and last host.
const VERIFY_ALL_HOSTS: usize = 4;
/// Longest span the large workload covers; more data means more hosts.
const MAX_SECONDS: i64 = 86400;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Target size on disk of the large workload.
    pub size_mib: u64,
    /// Values per data pattern in section 3.
    pub pattern_samples: u64,
    /// Seconds per chart in section 3.
    pub pattern_seconds: i64,
    /// Queries per range and state, at most.
    pub queries: usize,
    /// Wall-time budget of one query pass.
    pub query_budget_s: f64,
    pub backends: Vec<Backend>,
    /// Where the shard directories are made (a fresh subdirectory, removed after).
    pub scratch: PathBuf,
    /// Directory of real child captures.
    pub fixtures: PathBuf,
    /// Keep the shard directories.
    pub keep: bool,
}

/// The real child captures, one template (chart set) per capture with samples.
pub fn real_children(fixtures: &std::path::Path) -> anyhow::Result<Vec<Vec<ChartSeries>>> {
    let pacing = Pacing { jitter_us: 1000, seed: 1 };
    let mut out = Vec::new();
    for prefix in series::capture_prefixes(fixtures)? {
        let set = series::capture(&prefix, pacing)?;
        if !set.is_empty() {
            out.push(set);
        }
    }
    if out.is_empty() {
        bail!("no capture with samples in {}", fixtures.display());
    }
    Ok(out)
}

/// Synthetic sets of the large workload: hosts beyond this many reuse one (from their own
/// offset into its rows).
const LARGE_TEMPLATES: usize = 64;
/// Rows per synthetic template (longer than a block many times over, so no block of a
/// chart repeats itself).
const TEMPLATE_SECONDS: usize = 4100;
/// The data set of the large workload.
pub const LARGE_KIND: &str = "mixed";

/// `n` synthetic sets of `kind`, one seed each.
fn synthetic_templates(kind: &str, n: usize, seconds: usize) -> Vec<Vec<ChartSeries>> {
    (0..n).map(|i| series::synthetic(kind, seconds, 1000 + i as u64)).collect()
}

/// Encoded bytes per value of the large workload's data (an in-memory engine, 1024 s of
/// a few of its sets): sizes it.
fn estimate_bytes_per_sample(templates: &Arc<Vec<Vec<ChartSeries>>>) -> anyhow::Result<f64> {
    let t = templates.clone();
    let w = shard::in_executor(move || async move {
        let engine = Engine::new(EngineConfig::new(1 << 30), None);
        let w = Workload::new("estimate", (*t).clone(), t.len().min(8), 1024, true);
        phases::write(&engine, &w).await
    })??;
    if w.samples == 0 {
        bail!("the large workload's data stores no values");
    }
    Ok(w.payload_bytes as f64 / w.samples as f64)
}

/// The large workload: about `size_mib` on disk of synthetic `mixed` charts, a day each
/// (fewer seconds when one chart is enough).
fn large_workload(templates: Vec<Vec<ChartSeries>>, size_mib: u64, bps: f64) -> Workload {
    let dims = Workload::new("probe", templates.clone(), 1, 1, true).dims_per_host().max(1.0);
    let samples = (size_mib as f64 * (1u64 << 20) as f64 / bps.max(0.01)).max(1.0);
    let (hosts, seconds) = if samples <= dims * MAX_SECONDS as f64 {
        (1, ((samples / dims) as i64).max(1))
    } else {
        ((samples / (dims * MAX_SECONDS as f64)).ceil() as usize, MAX_SECONDS)
    };
    let n = templates.len();
    Workload::new(
        &format!(
            "synthetic `{LARGE_KIND}` charts (8 dimensions: two each of constant, counter, random walk and \
             sine, one missing 3 % of its collections; through strata's receiver), one chart per host, \
             {n} seeds of {TEMPLATE_SECONDS} s each repeated from a different offset per host; {hosts} hosts \
             × {seconds} s at 1 s"
        ),
        templates,
        hosts,
        seconds,
        true,
    )
}

/// The quota: room for everything, so retention never deletes a file.
fn quota_for(size_mib: u64) -> u64 {
    (2 * size_mib + 256) << 20
}

fn remove(dir: &std::path::Path, keep: bool) {
    if !keep {
        let _ = std::fs::remove_dir_all(dir);
    }
}

struct BackendFigures {
    write: WriteRow,
    queries: Vec<QueryPass>,
    restart: Vec<RestartRow>,
    verified: phases::Verified,
}

/// Section 1, 2 and 4 for one backend.
fn large_on(
    backend: Backend,
    w: &Arc<Workload>,
    opts: &Options,
    root: &std::path::Path,
) -> anyhow::Result<BackendFigures> {
    let cache = root.join(format!("large-{}", backend.label()));
    let s = shard::settings(&cache, quota_for(opts.size_mib));
    let (s1, w1) = (s.clone(), w.clone());
    let written = shard::in_executor(move || async move {
        let (engine, _) = shard::open(backend, &s1).await?;
        phases::write(&engine, &w1).await
    })??;
    let (data, journal, other) = shard::sizes(&s.dir);
    let write = WriteRow { backend, written: written.clone(), datafile_bytes: data, journal_bytes: journal };
    let files_bytes = data + journal + other;

    let restart_row = |state: &str,
                       time: phases::Timing,
                       rep: &strata_storage::dbengine::files::RecoveryReport,
                       indexed: u64| RestartRow {
        backend,
        state: state.to_string(),
        files_bytes,
        time,
        seconds_per_gib: time.wall_s / (files_bytes as f64 / (1u64 << 30) as f64).max(1e-12),
        journals_read: rep.journals_read,
        journal_bytes_read: rep.journal_bytes_read,
        blocks_indexed: indexed,
        blocks_written: written.blocks,
        clean: rep.is_clean(),
    };

    shard::evict(&s.dir)?;
    let (s2, w2) = (s.clone(), w.clone());
    let (queries_max, budget) = (opts.queries.max(1), opts.query_budget_s);
    let (cold_time, cold_rep, cold_indexed, queries, verified) = shard::in_executor(move || async move {
        let t = Timer::start();
        let (engine, rep) = shard::open(backend, &s2).await?;
        let time = t.stop();
        let indexed = engine.stats().blocks_indexed;
        let refs = w2.charts();
        let picks = phases::query_charts(&w2, &refs);
        let span = w2.span_seconds();
        let mut ranges: Vec<i64> = RANGES.iter().map(|r| (*r).min(span)).collect();
        ranges.dedup();
        let mut passes = Vec::new();
        for (i, range) in ranges.iter().enumerate() {
            // A fresh set of charts per range, so no block of it is in the engine's cache.
            let n = picks.len();
            let start = (i * queries_max) % n.max(1);
            let mine: Vec<_> = picks.iter().cycle().skip(start).take(queries_max.min(n)).copied().collect();
            shard::evict(&s2.dir)?;
            let cold = phases::query(&engine, &mine, *range, "cold", queries_max, budget).await;
            let done = cold.queries;
            passes.push(cold);
            passes.push(phases::query(&engine, &mine[..done], *range, "warm", done, f64::INFINITY).await);
        }
        // Every host when few (a chart read alone costs an extent per block, so reading
        // back a large workload in full would read it many times over).
        let hosts: Vec<usize> =
            if w2.hosts <= VERIFY_ALL_HOSTS { (0..w2.hosts).collect() } else { vec![0, w2.hosts / 2, w2.hosts - 1] };
        let verified = phases::verify(&engine, &w2, &hosts).await;
        anyhow::Ok((time, rep, indexed, passes, verified))
    })??;
    let mut restart = vec![restart_row("cold", cold_time, &cold_rep, cold_indexed)];

    let s3 = s.clone();
    let (warm_time, warm_rep, warm_indexed) = shard::in_executor(move || async move {
        let t = Timer::start();
        let (engine, rep) = shard::open(backend, &s3).await?;
        let time = t.stop();
        anyhow::Ok((time, rep, engine.stats().blocks_indexed))
    })??;
    restart.push(restart_row("warm", warm_time, &warm_rep, warm_indexed));
    remove(&cache, opts.keep);
    Ok(BackendFigures { write, queries, restart, verified })
}

/// Section 3: one data set written by a fresh shard.
fn pattern_on(
    backend: Backend,
    name: &str,
    w: Workload,
    root: &std::path::Path,
    keep: bool,
) -> anyhow::Result<PatternRow> {
    let cache = root.join(format!("pattern-{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")));
    let s = shard::settings(&cache, quota_for(1024));
    let s1 = s.clone();
    let hosts = w.hosts;
    let written = shard::in_executor(move || async move {
        let (engine, _) = shard::open(backend, &s1).await?;
        phases::write(&engine, &w).await
    })??;
    let (data, journal, other) = shard::sizes(&s.dir);
    remove(&cache, keep);
    Ok(PatternRow {
        pattern: name.to_string(),
        backend,
        hosts,
        written,
        datafile_bytes: data,
        journal_bytes: journal,
        other_bytes: other,
    })
}

/// The data sets of section 3, each of about `opts.pattern_samples` values.
fn patterns(templates: &[Vec<ChartSeries>], opts: &Options) -> Vec<(String, Workload)> {
    let secs = opts.pattern_seconds.max(1);
    let mut out = Vec::new();
    for kind in series::SYNTHETIC {
        let dims = series::synthetic(kind, 8, 1).first().map_or(1, ChartSeries::columns).max(1);
        let hosts = (opts.pattern_samples as f64 / (dims as f64 * secs as f64)).ceil().max(1.0) as usize;
        // A different seed per host (up to LARGE_TEMPLATES; more hosts reuse a set from
        // another offset).
        let sets = synthetic_templates(kind, hosts.min(LARGE_TEMPLATES), secs as usize + 8);
        out.push((format!("synthetic {kind}"), Workload::new(kind, sets, hosts, secs, true)));
    }
    let all = Workload::new("probe", templates.to_vec(), templates.len(), 1, true);
    let hosts = (opts.pattern_samples as f64 / (all.dims_per_host().max(1.0) * secs as f64)).ceil().max(1.0) as usize;
    out.push((
        format!("real child, captures repeated to {secs} s"),
        Workload::new("real", templates.to_vec(), hosts, secs, true),
    ));
    out.push((
        "real child, captures as recorded (20–80 s: partial blocks)".to_string(),
        Workload::new("fixtures", templates.to_vec(), templates.len(), 1, false),
    ));
    out
}

/// Runs every section; `command` is recorded in the report.
pub fn run(opts: &Options, command: &str) -> anyhow::Result<Report> {
    if opts.backends.is_empty() {
        bail!("no backend to measure");
    }
    let load_start = crate::load_average();
    let machine = crate::machine();
    let date = chrono::Local::now().format("%Y-%m-%d %H:%M:%S %Z").to_string();
    let root = opts.scratch.join(format!("strata-storage-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let mut notes = Vec::new();
    for b in &opts.backends {
        if *b == Backend::Dma && !strata::shard::dbengine::direct_io_works(&root) {
            bail!("{} does not take O_DIRECT files (tmpfs?): use --backend std or another --dir", root.display());
        }
    }

    let templates = real_children(&opts.fixtures)?;
    let large = Arc::new(synthetic_templates(LARGE_KIND, LARGE_TEMPLATES, TEMPLATE_SECONDS));
    let bps = estimate_bytes_per_sample(&large)?;
    let w = Arc::new(large_workload((*large).clone(), opts.size_mib, bps));
    drop(large);
    notes.push(format!(
        "Engine: one shard, page cache {} MiB, {}-slot blocks, {} KiB extents, LZ4 on, disk quota {} MiB \
         (nothing rotates), glommio executor with {} KiB of io memory; target size {} MiB (sized from \
         {bps:.3} encoded B/sample measured first)",
        strata::config::netdata_conf::DEFAULT_PAGE_CACHE_MIB,
        strata_storage::dbengine::engine::DEFAULT_BLOCK_SLOTS,
        strata::shard::dbengine::EXTENT_BYTES >> 10,
        quota_for(opts.size_mib) >> 20,
        shard::IO_MEMORY >> 10,
        opts.size_mib
    ));

    let (mut write, mut query, mut restart, mut verify) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in &opts.backends {
        eprintln!("storage bench: {} backend, large workload", b.label());
        let f = large_on(*b, &w, opts, &root)?;
        if f.verified.mismatches > 0 || f.verified.cells == 0 {
            bail!(
                "{} backend: read back {} slots, {} differ from what was written: {}",
                b.label(),
                f.verified.cells,
                f.verified.mismatches,
                f.verified.first_mismatch.clone().unwrap_or_default()
            );
        }
        write.push(f.write);
        query.extend(f.queries.into_iter().map(|pass| QueryRow { backend: *b, pass }));
        restart.extend(f.restart);
        verify.push((*b, f.verified));
    }

    let pattern_backend = opts.backends[0];
    let mut rows = Vec::new();
    for (name, wl) in patterns(&templates, opts) {
        eprintln!("storage bench: data pattern {name}");
        rows.push(pattern_on(pattern_backend, &name, wl, &root, opts.keep)?);
    }
    remove(&root, opts.keep);

    Ok(Report {
        command: command.to_string(),
        machine,
        load_average_start: load_start,
        load_average_end: crate::load_average(),
        date,
        scratch: opts.scratch.display().to_string(),
        workload: w.name.clone(),
        pattern_backend,
        write,
        query,
        patterns: rows,
        restart,
        verify,
        notes,
    })
}
