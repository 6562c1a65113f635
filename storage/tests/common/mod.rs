//! Helpers for the dbengine files tests: scratch directories, synthetic blocks, opening.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use strata_storage::dbengine::files::{
    BlockLocation, CollectBlocks, DirPlan, FilesOptions, Io, RecoveryReport, ShardFiles,
};
use strata_storage::dbengine::{BlockMeta, SeriesKey};

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let p = std::env::temp_dir().join(format!("strata-files-{tag}-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn host(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-000000000000")
}

pub fn meta(host_i: usize, chart: &str, ndims: usize, start: i64, slots: u32) -> BlockMeta {
    BlockMeta {
        series: SeriesKey { host_guid: host(host_i), chart_id: chart.to_string() },
        dims: (0..ndims).map(|d| format!("dim{d}")).collect(),
        start,
        update_every: 1,
        slots,
    }
}

/// Deterministic bytes; `compressible` repeats a short pattern.
pub fn payload(seed: u64, len: usize, compressible: bool) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            if compressible {
                (seed as usize + i % 7) as u8
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect()
}

/// `n` blocks of distinct charts, payloads of about `len` bytes.
pub fn extent(seed: u64, n: usize, len: usize, compressible: bool) -> Vec<(BlockMeta, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let s = seed * 1000 + i as u64;
            (
                meta(i % 3, &format!("chart.c{i}"), 1 + i % 4, 1000 + seed as i64 * 60, 60),
                payload(s, len + i, compressible),
            )
        })
        .collect()
}

pub type Opened<I> = (ShardFiles<I>, Vec<(BlockMeta, BlockLocation)>, RecoveryReport);

/// Opens shard `shard` of `shards` collecting every block (or those `keep` wants).
pub async fn open_with<I: Io>(
    io: I,
    root: &Path,
    shard: u32,
    shards: u32,
    quota: u64,
    options: FilesOptions,
    keep: impl FnMut(&SeriesKey) -> bool,
) -> Opened<I> {
    let plan = DirPlan::discover(root, shard, shards).unwrap();
    let mut sink = CollectBlocks::new(keep);
    let (files, report) = ShardFiles::open(io, root, &plan, quota, options, &mut sink).await.unwrap();
    (files, sink.blocks, report)
}

pub async fn open_all<I: Io>(io: I, root: &Path, quota: u64, options: FilesOptions) -> Opened<I> {
    open_with(io, root, 0, 1, quota, options, |_| true).await
}

pub fn run<F: std::future::Future>(f: F) -> F::Output {
    futures_lite::future::block_on(f)
}

/// Copies every file of `from` (recursively) into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Names of the files in a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}
