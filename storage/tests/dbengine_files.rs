//! The engine with real files attached ([`AttachedFiles`] over [`ShardFiles`]), with both
//! I/O backends: blocks flushed, closed, recovered by a new engine and read back the same;
//! rotation under a tiny quota drops the oldest data from queries and keeps usage bounded.
//! Throughput and restart time are measured by the storage benchmark
//! (`cargo run --release -p strata-bench --bin storage`, bench/README.md).

mod common;

use std::path::Path;
use std::rc::Rc;

use common::*;
use glommio::{LocalExecutorBuilder, Placement};
use strata_storage::dbengine::files::{DmaIo, FilesOptions, Io, StdIo, SyncPolicy};
use strata_storage::dbengine::{AttachedFiles, BlockFiles, DbChart, Engine, EngineConfig};
use strata_storage::Sample;

const G: &str = "6b1f3c2e-6a1d-11eb-9f0e-0242ac110002";

fn v(x: f64) -> Sample {
    Sample::Value { value: x, reset: false }
}

/// A value that does not compress to nothing (a noisy walk).
fn value(i: i64, col: usize) -> f64 {
    let x = (i as u64).wrapping_mul(6364136223846793005).wrapping_add(col as u64 * 1442695040888963407);
    (i as f64) * 0.5 + (x >> 40) as f64 / 1e4
}

async fn attach<I: Io>(
    io: I,
    root: &Path,
    quota: u64,
    options: FilesOptions,
    slots: u32,
) -> (Engine, Rc<dyn BlockFiles>) {
    let (files, blocks, report) = open_all(io, root, quota, options).await;
    assert!(report.is_clean(), "{:?}", report.events);
    let files: Rc<dyn BlockFiles> = Rc::new(AttachedFiles::new(files));
    let cfg = EngineConfig { block_slots: slots, extent_bytes: 16 << 10, ..EngineConfig::new(1 << 20) };
    let e = Engine::new(cfg, Some(files.clone()));
    e.index_recovered(blocks);
    (e, files)
}

fn chart(e: &Engine, id: &str, dims: usize) -> DbChart {
    let mut c = DbChart::new(e, G, id, 1);
    for d in 0..dims {
        c.add_column(&format!("d{d}"));
    }
    c
}

fn append(c: &mut DbChart, from: i64, to: i64, dims: usize) {
    for t in from..to {
        let row: Vec<Sample> = (0..dims).map(|d| v(value(t, d))).collect();
        c.append(t, &row).unwrap();
    }
}

async fn read(e: &Engine, c: &DbChart, col: usize, from: i64, to: i64) -> Vec<Sample> {
    let _pins = e.load(&[c.load_span(from, to)]).await;
    let mut out = Vec::new();
    c.read(col, from, to, &mut out);
    out
}

async fn restart_round_trip<I: Io>(io: I, root: &Path) {
    let (t0, n, dims) = (1_000_000i64, 700i64, 3usize);
    {
        let (e, _) = attach(io.clone(), root, 64 << 20, FilesOptions::default(), 64).await;
        let mut c = chart(&e, "system.cpu", dims);
        append(&mut c, t0, t0 + n, dims);
        c.seal();
        let written = e.flush_all().await.unwrap();
        assert_eq!(written, 11, "700 rows in blocks of 64");
        e.sync().await.unwrap();
        e.close_files().await.unwrap();
        assert_eq!(e.flush_step().await.unwrap(), 0, "closed: nothing more is written");
        let s = e.stats();
        assert_eq!((s.values_flushed, s.cache_dirty_blocks), (n as u64 * dims as u64, 0));
        assert!(s.disk_bytes_per_sample > 0.0 && s.files.datafiles == 1, "{s:?}");
    }
    let (e, _) = attach(io, root, 64 << 20, FilesOptions::default(), 64).await;
    let c = chart(&e, "system.cpu", dims);
    assert_eq!((c.first_time(), c.last_time()), (Some(t0), Some(t0 + n - 1)));
    for col in 0..dims {
        let got = read(&e, &c, col, t0 - 5, t0 + n + 5).await;
        let want: Vec<Sample> = (t0 - 5..=t0 + n + 5)
            .map(|t| if (t0..t0 + n).contains(&t) { v(value(t, col) as f32 as f64) } else { Sample::Gap })
            .collect();
        assert_eq!(got, want, "column {col}");
    }
    assert!(e.stats().disk_loads >= 11);
}

#[test]
fn restart_round_trip_std() {
    let dir = Scratch::new("engine-std");
    run(restart_round_trip(StdIo, dir.path()));
}

#[test]
fn restart_round_trip_dma() {
    let dir = Scratch::new("engine-dma");
    let root = dir.path().to_owned();
    LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(2 << 20)
        .spawn(move || async move { restart_round_trip(DmaIo, &root).await })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn rotation_under_a_tiny_quota_drops_the_oldest_data_from_queries() {
    let dir = Scratch::new("engine-quota");
    let root = dir.path().to_owned();
    let quota = 96 << 10;
    let target = 16 << 10;
    let options = FilesOptions {
        compress: false,
        datafile_target: Some(target),
        sync: SyncPolicy::Never,
        ..FilesOptions::default()
    };
    run(async {
        let (e, files) = attach(StdIo, &root, quota, options.clone(), 32).await;
        let dims = 8;
        let mut c = chart(&e, "disk.io", dims);
        let t0 = 5_000_000i64;
        let mut t = t0;
        let mut max_usage = 0;
        for _ in 0..200 {
            append(&mut c, t, t + 32, dims);
            t += 32;
            e.flush_all().await.unwrap();
            let s = files.stats();
            max_usage = max_usage.max(s.datafile_bytes + s.journal_bytes);
        }
        let s = e.stats();
        assert!(s.files.datafiles_deleted >= 5, "rotation happened: {:?}", s.files);
        assert!(max_usage <= quota + target + 4096, "usage {max_usage} over quota {quota} + one datafile");
        let first = c.first_time().unwrap();
        assert!(first > t0, "the oldest blocks left the index ({first})");
        assert!(s.blocks_indexed < 200, "{} blocks still indexed", s.blocks_indexed);
        // The deleted range reads as a gap, the retained one as written.
        let old = read(&e, &c, 0, t0, first - 1).await;
        assert!(old.iter().all(|s| *s == Sample::Gap), "deleted data must be gone");
        let kept = read(&e, &c, 0, first, t - 1).await;
        assert!(kept.iter().all(|s| *s != Sample::Gap), "retained data must be readable");
        assert_eq!(e.stats().load_errors, 0, "deleted blocks are never read");

        // After a restart the same retention holds.
        e.close_files().await.unwrap();
        drop(c);
        let (e2, _) = attach(StdIo, &root, quota, options, 32).await;
        let c2 = chart(&e2, "disk.io", dims);
        assert!(c2.first_time().unwrap() >= first);
        let kept2 = read(&e2, &c2, 0, c2.first_time().unwrap(), t - 1).await;
        assert!(kept2.iter().all(|s| *s != Sample::Gap));
    });
}
