//! The same write / read / reopen round trip on both I/O backends: std files and glommio
//! DMA files (O_DIRECT through io_uring).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use glommio::{LocalExecutorBuilder, Placement};
use strata_storage::dbengine::files::{DmaIo, FilesOptions, Io, StdIo};

async fn round_trip<I: Io>(io: I, root: &Path) {
    let opts = FilesOptions { datafile_target: Some(64 << 10), ..FilesOptions::default() };
    let (mut f, blocks, report) = open_all(io.clone(), root, 1 << 30, opts.clone()).await;
    assert!(blocks.is_empty());
    assert!(report.is_clean(), "{:?}", report.events);
    assert_eq!(f.stats().datafiles, 0, "no file before the first write");

    let mut written = Vec::new();
    for e in 0..30u64 {
        let ext = extent(e, 1 + e as usize % 7, 700, e % 2 == 0);
        let w = f.write_extent(&ext).await.unwrap();
        assert!(w.deleted.is_empty());
        assert_eq!(w.locations.len(), ext.len());
        for ((m, p), loc) in ext.into_iter().zip(w.locations) {
            written.push((m, p, loc));
        }
    }
    for (_, p, loc) in &written {
        assert_eq!(&f.read_block(loc).await.unwrap(), p);
    }
    let (_, p0, l0) = &written[0];
    let whole = f.read_extent(l0).await.unwrap();
    assert_eq!(whole.block(0), Some(&p0[..]));
    assert!(whole.compressed(), "extent 0 holds compressible payloads");

    let s = f.stats();
    assert!(s.datafiles > 1, "the 64 KiB target forces rotations: {s:?}");
    assert_eq!(s.extents_written, 30);
    assert_eq!(s.blocks_written, written.len() as u64);
    assert_eq!(s.crc_failures, 0);
    assert!(s.extent_bytes_written < s.payload_bytes_written, "half the extents compress");
    assert_eq!(s.datafile_bytes + s.journal_bytes, f.usage_bytes());
    f.close().await.unwrap();

    let (mut f, blocks, report) = open_all(io.clone(), root, 1 << 30, opts.clone()).await;
    assert!(report.is_clean(), "{:?}", report.events);
    assert_eq!(report.blocks, written.len() as u64);
    let want: Vec<_> = written.iter().map(|(m, _, l)| (m.clone(), *l)).collect();
    assert_eq!(blocks, want);
    let reader = f.reader();
    for (_, p, loc) in &written {
        assert_eq!(&reader.read_block(loc).await.unwrap(), p);
    }
    // A new run writes a new file pair, after every old one.
    let w = f.write_extent(&extent(99, 2, 100, false)).await.unwrap();
    let last_old = written.last().unwrap().2.file;
    assert!(w.locations[0].file.seq > last_old.seq);
    assert_eq!(&f.read_block(&w.locations[1]).await.unwrap(), &extent(99, 2, 100, false)[1].1);
    f.close().await.unwrap();

    let (f, blocks, report) = open_all(io, root, 1 << 30, opts).await;
    assert!(report.is_clean(), "{:?}", report.events);
    assert_eq!(blocks.len(), written.len() + 2);
    f.close().await.unwrap();
}

#[test]
fn std_io_round_trip() {
    let dir = Scratch::new("rt-std");
    run(round_trip(StdIo, &dir.path().join("dbengine")));
}

#[test]
fn dma_io_round_trip() {
    let dir = Scratch::new("rt-dma");
    let root: PathBuf = dir.path().join("dbengine");
    // A small io memory: the locked-memory limit here is 8 MiB, below glommio's default.
    LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(512 << 10)
        .spawn(move || async move { round_trip(DmaIo, &root).await })
        .unwrap()
        .join()
        .unwrap();
}
