//! Startup scan time over about 1 GiB of synthetic data (a measurement, not a check).
//!
//! Run: `cargo test -p strata-storage --release --test files_startup -- --ignored --nocapture`
//! (`STRATA_SCAN_MIB` changes the size). Writes with the glommio backend and prints the
//! rate, then the time to open the shard (journals read and parsed, every block handed to a sink) with the std backend
//! (journals in the page cache) and with the glommio backend (O_DIRECT: from the device).

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::*;
use glommio::{LocalExecutorBuilder, Placement};
use strata_storage::dbengine::files::{
    BlockLocation, DirPlan, DmaIo, FilesOptions, Io, ScanSink, ShardFiles, StdIo, SyncPolicy,
};
use strata_storage::dbengine::{BlockMeta, SeriesKey};

const HOSTS: usize = 50;
const CHARTS: usize = 40;
const PAYLOAD: usize = 1024;
const BLOCKS_PER_EXTENT: usize = 256;

/// Keeps what an index would keep: the location and the block's time range.
#[derive(Default)]
struct IndexSink {
    locs: Vec<(BlockLocation, i64, u32)>,
}

impl ScanSink for IndexSink {
    fn wants(&mut self, _: &SeriesKey) -> bool {
        true
    }
    fn block(&mut self, meta: &BlockMeta, loc: BlockLocation) {
        self.locs.push((loc, meta.start, meta.slots));
    }
}

fn fill(buf: &mut [u8], mut x: u64) {
    for c in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        c.copy_from_slice(&b[..c.len()]);
    }
}

fn options() -> FilesOptions {
    FilesOptions { compress: false, sync: SyncPolicy::Never, ..FilesOptions::default() }
}

async fn timed_open<I: Io>(io: I, root: &std::path::Path, quota: u64, label: &str) -> usize {
    let plan = DirPlan::discover(root, 0, 1).unwrap();
    let mut sink = IndexSink::default();
    let t = Instant::now();
    let (f, report) = ShardFiles::open(io, root, &plan, quota, options(), &mut sink).await.unwrap();
    let el = t.elapsed();
    assert!(report.is_clean(), "{:?}", report.events);
    println!(
        "open [{label}]: {:.3} s for {} blocks in {} extents ({} journals, {:.1} MiB of journal) -> {:.1} M blocks/s",
        el.as_secs_f64(),
        report.blocks,
        report.extents,
        report.journals_read,
        report.journal_bytes_read as f64 / (1 << 20) as f64,
        report.blocks as f64 / el.as_secs_f64() / 1e6
    );
    let n = sink.locs.len();
    f.close().await.unwrap();
    n
}

async fn write<I: Io>(io: I, root: &std::path::Path, total: u64, quota: u64, label: &str) -> usize {
    let plan = DirPlan::discover(root, 0, 1).unwrap();
    let mut sink = IndexSink::default();
    let (mut f, _) = ShardFiles::open(io, root, &plan, quota, options(), &mut sink).await.unwrap();
    let t = Instant::now();
    let (mut blocks, mut round) = (0u64, 0i64);
    let mut in_write = std::time::Duration::ZERO;
    while blocks * (PAYLOAD as u64) < total {
        let mut ext = Vec::with_capacity(BLOCKS_PER_EXTENT);
        for i in 0..BLOCKS_PER_EXTENT {
            let s = (blocks as usize + i) % (HOSTS * CHARTS);
            let m = meta(s / CHARTS, &format!("chart{}.metric{}", s % CHARTS, s % 7), 8, 128 * round, 128);
            let mut p = vec![0u8; PAYLOAD];
            fill(&mut p, blocks + i as u64 + 1);
            ext.push((m, p));
        }
        blocks += BLOCKS_PER_EXTENT as u64;
        if blocks % (HOSTS * CHARTS) as u64 == 0 {
            round += 1;
        }
        let tw = Instant::now();
        f.write_extent(&ext).await.unwrap();
        in_write += tw.elapsed();
    }
    let el = t.elapsed();
    let s = f.stats();
    println!(
        "write [{label}]: {} blocks, {:.0} MiB of datafiles in {} files, {:.2} MiB of journals ({:.1} B/block), {:.2} s ({:.2} s in write_extent, {:.0} MiB/s)",
        s.blocks_written,
        s.datafile_bytes as f64 / (1 << 20) as f64,
        s.datafiles,
        s.journal_bytes as f64 / (1 << 20) as f64,
        s.journal_bytes as f64 / s.blocks_written as f64,
        el.as_secs_f64(),
        in_write.as_secs_f64(),
        s.bytes_written as f64 / (1 << 20) as f64 / in_write.as_secs_f64()
    );
    f.close().await.unwrap();
    blocks as usize
}

fn in_glommio<T: Send + 'static, F, Fut>(f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    LocalExecutorBuilder::new(Placement::Unbound).io_memory(2 << 20).spawn(f).unwrap().join().unwrap()
}

#[test]
#[ignore]
fn startup_scan_of_one_gib() {
    let mib: u64 = std::env::var("STRATA_SCAN_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let total = mib << 20;
    let quota = 2 * total + (64 << 20);
    let dir = Scratch::new("startup");
    let root: PathBuf = dir.path().join("dbengine");

    let r = root.clone();
    let written = in_glommio(move || async move { write(DmaIo, &r, total, quota, "glommio O_DIRECT").await });
    let n = run(timed_open(StdIo, &root, quota, "std, page cache"));
    assert_eq!(n, written);
    let r = root.clone();
    let n = in_glommio(move || async move { timed_open(DmaIo, &r, quota, "glommio O_DIRECT").await });
    assert_eq!(n, written);
}
