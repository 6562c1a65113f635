//! The measured phases of the storage benchmark, each on a real engine: write a workload,
//! reopen it, read it back (verify), and query it.
//!
//! Owns: driving the engine the way a shard does. Writing: one [`DbChart`] per chart of
//! every host, rows appended in time order (every host's charts for second `s`, then
//! `s + 1`), the daemon's own flusher task ([`spawn_tasks`]) writing full extents while
//! the writer runs, the daemon's back-pressure wait ([`wait_for_room`]) when dirty blocks
//! exceed the page cache; at the end every open block is sealed, flushed, synced and the
//! files closed (the daemon's clean exit). Reading: [`Engine::load`] of the span, then
//! [`DbChart::read`] of every column (the `/api/v1/data` path).
//! Invariants: timers cover exactly the work they name (wall and this thread's CPU time);
//! a verification compares every sample bit for bit and counts every difference.

use std::time::Instant;

use serde::Serialize;
use strata::shard::dbengine::{spawn_tasks, wait_for_room};
use strata_storage::{DbChart, Engine, Sample};

use super::workload::{host_guid, ChartRef, Workload};
use crate::thread_cpu_ns;

/// Wall and CPU seconds of one piece of work.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timing {
    pub wall_s: f64,
    pub cpu_s: f64,
}

/// Starts timing (wall, this thread's CPU).
pub struct Timer(Instant, u128);

impl Timer {
    pub fn start() -> Timer {
        Timer(Instant::now(), thread_cpu_ns())
    }

    pub fn stop(&self) -> Timing {
        Timing { wall_s: self.0.elapsed().as_secs_f64(), cpu_s: (thread_cpu_ns() - self.1) as f64 / 1e9 }
    }
}

/// What a write did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Written {
    pub charts: usize,
    pub dimensions: usize,
    /// Values stored (not gaps).
    pub samples: u64,
    /// Slots stored, gaps included.
    pub cells: u64,
    pub time: Timing,
    pub blocks: u64,
    pub extents: u64,
    /// Encoded block payload (before LZ4) and extents as stored (after LZ4, before padding).
    pub payload_bytes: u64,
    pub extent_bytes: u64,
    /// Bytes the files layer wrote (padding and journal tail rewrites included).
    pub bytes_written: u64,
    pub backpressure_waits: u64,
    pub backpressure_wait_ms: u64,
    pub dropped_blocks: u64,
}

fn new_chart(engine: &Engine, c: &ChartRef<'_>) -> DbChart {
    let mut ch = DbChart::new(engine, &host_guid(c.guid_index), &c.series.chart, c.series.update_every);
    for d in 0..c.series.columns() {
        ch.add_column(&format!("d{d}"));
    }
    ch
}

/// Writes the workload into `engine` (a fresh one with files attached) and closes its
/// files; timed from the first append to the end of the close.
pub async fn write(engine: &Engine, w: &Workload) -> anyhow::Result<Written> {
    let refs = w.charts();
    let mut charts: Vec<(DbChart, &ChartRef<'_>)> = refs.iter().map(|c| (new_chart(engine, c), c)).collect();
    let span = w.span_seconds();
    spawn_tasks(engine, 0);
    let timer = Timer::start();
    let mut cells = 0u64;
    for s in 0..span {
        for (ch, c) in charts.iter_mut() {
            let ue = c.update_every();
            if s % ue != 0 {
                continue;
            }
            let k = (s / ue) as usize;
            if k >= c.rows() {
                continue;
            }
            let row = c.row(k);
            ch.append(c.time(k), row)?;
            cells += row.len() as u64;
        }
        // A receiver waits for the flusher when dirty blocks exceed the page cache, and
        // gives the flusher its turn between reads from its socket.
        wait_for_room(engine).await;
        futures_lite::future::yield_now().await;
    }
    for (ch, _) in charts.iter_mut() {
        ch.seal();
    }
    engine.flush_all().await?;
    engine.sync().await?;
    engine.close_files().await?;
    let time = timer.stop();
    let st = engine.stats();
    if engine.has_files() && (st.values_flushed != st.values_sealed || st.dropped_blocks > 0) {
        anyhow::bail!(
            "{} values sealed, {} written, {} blocks dropped: the write lost data",
            st.values_sealed,
            st.values_flushed,
            st.dropped_blocks
        );
    }
    Ok(Written {
        charts: charts.len(),
        dimensions: refs.iter().map(|c| c.series.columns()).sum(),
        samples: st.values_sealed,
        cells,
        time,
        blocks: st.blocks_sealed,
        extents: st.files.extents_written,
        payload_bytes: st.bytes_sealed,
        extent_bytes: st.files.extent_bytes_written,
        bytes_written: st.files.bytes_written,
        backpressure_waits: st.backpressure_waits,
        backpressure_wait_ms: st.backpressure_wait_ms,
        dropped_blocks: st.dropped_blocks,
    })
}

/// What a read-back found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verified {
    pub charts: usize,
    /// Samples compared (gaps included) and values among them.
    pub cells: u64,
    pub values: u64,
    pub mismatches: u64,
    /// The first difference, for the log.
    pub first_mismatch: Option<String>,
}

/// Reads back every chart of the chosen hosts over its whole span (load, then every
/// column) and compares each slot with what was written.
pub async fn verify(engine: &Engine, w: &Workload, hosts: &[usize]) -> Verified {
    let mut v = Verified::default();
    let mut out = Vec::new();
    for c in w.charts().iter().filter(|c| hosts.contains(&c.host)) {
        let ch = new_chart(engine, c);
        let (from, to) = (c.time(0), c.last_time());
        let pins = engine.load(&[ch.load_span(from, to)]).await;
        v.charts += 1;
        for col in 0..c.series.columns() {
            ch.read(col, from, to, &mut out);
            for k in 0..c.rows() {
                let want = c.row(k).get(col).copied().map_or(Sample::Gap, Sample::as_stored);
                let got = out.get(k).copied().unwrap_or(Sample::Gap);
                v.cells += 1;
                v.values += u64::from(matches!(got, Sample::Value { .. }));
                if !got.same_bits(&want) {
                    v.mismatches += 1;
                    v.first_mismatch.get_or_insert_with(|| {
                        format!(
                            "host {} chart {} column {col} slot {}: wrote {want:?}, read {got:?}{}",
                            c.host,
                            c.series.chart,
                            c.time(k),
                            pins.failures().first().map(|f| format!(" ({f})")).unwrap_or_default()
                        )
                    });
                }
            }
        }
    }
    v
}

/// One pass of queries over one range length.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueryPass {
    pub range_s: i64,
    /// `cold` (first read after a restart, files evicted from the OS page cache) or
    /// `warm` (the same queries again: the engine's page cache holds the blocks).
    pub state: String,
    pub queries: usize,
    pub time: Timing,
    /// Values returned (every column of the chart).
    pub samples: u64,
    pub blocks_loaded: u64,
    pub extents_read: u64,
    pub bytes_read: u64,
}

/// Charts eligible for range queries: `update_every` 1 and covering the whole span.
pub fn query_charts<'a>(w: &'a Workload, refs: &'a [ChartRef<'a>]) -> Vec<&'a ChartRef<'a>> {
    let span = w.span_seconds();
    let mut v: Vec<&ChartRef<'_>> =
        refs.iter().filter(|c| c.update_every() == 1 && c.rows() as i64 == span && c.series.columns() > 0).collect();
    // Spread the picks over hosts and charts: a fixed shuffle of the list.
    let n = v.len();
    if n > 1 {
        let step = (0..).map(|i| n / 2 + 1 + i).find(|s| gcd(*s, n) == 1).unwrap_or(1);
        v = (0..n).map(|i| v[(i * step) % n]).collect();
    }
    v
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Queries the newest `range_s` seconds of each chart (every column), as the dashboard
/// does: load the span, read each column. Stops after `max` queries or once `budget_s`
/// seconds of wall time are spent (at least one query).
pub async fn query(
    engine: &Engine,
    picks: &[&ChartRef<'_>],
    range_s: i64,
    state: &str,
    max: usize,
    budget_s: f64,
) -> QueryPass {
    let before = engine.stats();
    let mut out = Vec::new();
    let mut samples = 0u64;
    let mut n = 0;
    let timer = Timer::start();
    for c in picks.iter().take(max) {
        let ch = new_chart(engine, c);
        let to = c.last_time();
        let from = (to - range_s + 1).max(c.time(0));
        let pins = engine.load(&[ch.load_span(from, to)]).await;
        for col in 0..c.series.columns() {
            ch.read(col, from, to, &mut out);
            samples += out.iter().filter(|s| matches!(s, Sample::Value { .. })).count() as u64;
        }
        drop(pins);
        n += 1;
        if timer.0.elapsed().as_secs_f64() >= budget_s {
            break;
        }
    }
    let time = timer.stop();
    let after = engine.stats();
    QueryPass {
        range_s,
        state: state.to_string(),
        queries: n,
        time,
        samples,
        blocks_loaded: after.disk_loads - before.disk_loads,
        extents_read: after.files.extents_read - before.files.extents_read,
        bytes_read: after.files.bytes_read - before.files.bytes_read,
    }
}
