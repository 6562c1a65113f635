//! The startup scan over many datafiles: several MiB of extents written with the glommio
//! backend (rotating through small datafiles), then the shard opened with the std backend
//! and with the glommio backend: both hand every written block to the sink, once, with
//! its time range. Restart time per GiB is measured by the storage benchmark
//! (`cargo run --release -p strata-bench --bin storage`, bench/README.md).

mod common;

use std::path::PathBuf;

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

async fn open_and_scan<I: Io>(io: I, root: &std::path::Path, quota: u64) -> Vec<(BlockLocation, i64, u32)> {
    let plan = DirPlan::discover(root, 0, 1).unwrap();
    let mut sink = IndexSink::default();
    let (f, report) = ShardFiles::open(io, root, &plan, quota, options(), &mut sink).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.events);
    assert_eq!(report.blocks as usize, sink.locs.len());
    f.close().await.unwrap();
    sink.locs
}

/// Writes extents of [`BLOCKS_PER_EXTENT`] blocks until `total` payload bytes; returns
/// every block's (start, slots) in write order and the datafiles written.
async fn write<I: Io>(io: I, root: &std::path::Path, total: u64, quota: u64) -> (Vec<(i64, u32)>, u64) {
    let plan = DirPlan::discover(root, 0, 1).unwrap();
    let mut sink = IndexSink::default();
    let (mut f, _) = ShardFiles::open(io, root, &plan, quota, options(), &mut sink).await.unwrap();
    let (mut blocks, mut round) = (0u64, 0i64);
    let mut written = Vec::new();
    while blocks * (PAYLOAD as u64) < total {
        let mut ext = Vec::with_capacity(BLOCKS_PER_EXTENT);
        for i in 0..BLOCKS_PER_EXTENT {
            let s = (blocks as usize + i) % (HOSTS * CHARTS);
            let m = meta(s / CHARTS, &format!("chart{}.metric{}", s % CHARTS, s % 7), 8, 128 * round, 128);
            written.push((m.start, m.slots));
            let mut p = vec![0u8; PAYLOAD];
            fill(&mut p, blocks + i as u64 + 1);
            ext.push((m, p));
        }
        blocks += BLOCKS_PER_EXTENT as u64;
        if blocks % (HOSTS * CHARTS) as u64 == 0 {
            round += 1;
        }
        f.write_extent(&ext).await.unwrap();
    }
    let files = f.stats().datafiles;
    f.close().await.unwrap();
    (written, files)
}

fn in_glommio<T: Send + 'static, F, Fut>(f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    LocalExecutorBuilder::new(Placement::Unbound).io_memory(2 << 20).spawn(f).unwrap().join().unwrap()
}

#[test]
fn startup_scan_finds_every_block_with_both_backends() {
    let total = 8u64 << 20;
    let quota = 64 << 20;
    let dir = Scratch::new("startup");
    let root: PathBuf = dir.path().join("dbengine");

    let r = root.clone();
    let (written, datafiles) = in_glommio(move || async move { write(DmaIo, &r, total, quota).await });
    assert!(datafiles >= 2, "the scan crosses datafiles ({datafiles})");
    let check = |found: Vec<(BlockLocation, i64, u32)>| {
        assert_eq!(found.len(), written.len());
        let mut got: Vec<(i64, u32)> = found.iter().map(|(_, s, n)| (*s, *n)).collect();
        let mut want = written.clone();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
        let mut locs: Vec<_> = found.iter().map(|(l, _, _)| (l.file, l.offset, l.index)).collect();
        locs.sort_unstable();
        locs.dedup();
        assert_eq!(locs.len(), written.len(), "one location per block");
    };
    check(run(open_and_scan(StdIo, &root, quota)));
    let r = root.clone();
    check(in_glommio(move || async move { open_and_scan(DmaIo, &r, quota).await }));
}
