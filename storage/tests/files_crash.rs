//! Crash and damage: torn journal and datafile tails at many offsets, flipped bytes in
//! extents, files that fail their header, orphans. Uses the std backend.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use strata_storage::dbengine::files::format::journal::scan_journal;
use strata_storage::dbengine::files::{BlockLocation, FilesError, FilesOptions, RecoveryEvent, StdIo, SyncPolicy};
use strata_storage::dbengine::BlockMeta;

type Written = Vec<(Vec<(BlockMeta, Vec<u8>)>, Vec<BlockLocation>)>;

const J0: &str = "shard-0/journal-0000000000.sjf";
const D0: &str = "shard-0/datafile-0000000000.sdf";

fn opts() -> FilesOptions {
    // No fsync: a thousand reopens would spend their time in fdatasync; durability is
    // not what these tests check (the damage is made by hand).
    FilesOptions { compress: true, sync: SyncPolicy::Never, ..FilesOptions::default() }
}

/// Writes extents `make(0)..make(n - 1)` under `o`, then closes the files (`seal`) or
/// "crashes" (drops them without sealing).
fn write_extents(
    root: &Path,
    o: &FilesOptions,
    n: u64,
    make: impl Fn(u64) -> Vec<(BlockMeta, Vec<u8>)>,
    seal: bool,
) -> Written {
    run(async {
        let (mut f, ..) = open_all(StdIo, root, 1 << 30, o.clone()).await;
        let mut w = Vec::new();
        for e in 0..n {
            let ext = make(e);
            let r = f.write_extent(&ext).await.unwrap();
            w.push((ext, r.locations));
        }
        if seal {
            f.close().await.unwrap();
        }
        w
    })
}

/// Writes `n` extents into one file pair and "crashes" (drops without sealing).
fn write_and_crash(root: &Path, n: u64) -> Written {
    write_extents(root, &opts(), n, |e| extent(e, 3, 300, e % 2 == 0), false)
}

fn expected(written: &Written, extents: usize) -> Vec<(BlockMeta, BlockLocation)> {
    written[..extents]
        .iter()
        .flat_map(|(ext, locs)| ext.iter().map(|(m, _)| m.clone()).zip(locs.iter().copied()))
        .collect()
}

/// Reopens `root`, checks the blocks of the first `extents` extents are exactly what is
/// found and readable, then checks the store keeps working (write, close, reopen).
fn check_reopen(root: &Path, written: &Written, extents: usize, what: &str) -> Vec<RecoveryEvent> {
    run(async {
        let (mut f, blocks, report) = open_all(StdIo, root, 1 << 30, opts()).await;
        assert_eq!(blocks, expected(written, extents), "{what}: {:?}", report.events);
        for (ext, locs) in &written[..extents] {
            for ((_, p), loc) in ext.iter().zip(locs) {
                assert_eq!(&f.read_block(loc).await.unwrap(), p, "{what}");
            }
        }
        let more = extent(500, 2, 50, false);
        f.write_extent(&more).await.unwrap();
        f.close().await.unwrap();
        let (f, blocks, again) = open_all(StdIo, root, 1 << 30, opts()).await;
        assert!(again.is_clean(), "{what}: second reopen not clean: {:?}", again.events);
        assert_eq!(blocks.len(), expected(written, extents).len() + 2, "{what}");
        f.close().await.unwrap();
        report.events
    })
}

#[test]
fn torn_journal_tail_at_every_offset() {
    let base = Scratch::new("torn-journal");
    let pristine = base.path().join("pristine");
    let written = write_and_crash(&pristine, 8);
    let jbytes = fs::read(pristine.join(J0)).unwrap();
    let scan = scan_journal(&jbytes[4096..], 4096);
    assert_eq!(scan.extents.len(), 8);
    assert!(!scan.sealed);
    let mut bounds: Vec<u64> = scan.extents.iter().map(|r| r.record_offset).collect();
    bounds.push(scan.valid_end);
    let file_len = jbytes.len() as u64;

    for cut in 4096..=scan.valid_end + 3 {
        for garble in [false, true] {
            let what = format!("journal cut at {cut}, garble {garble}");
            let dir = base.path().join(format!("j{cut}-{garble}"));
            copy_tree(&pristine, &dir);
            let j = fs::OpenOptions::new().write(true).open(dir.join(J0)).unwrap();
            if garble {
                j.write_all_at(&vec![0xa5; (file_len - cut) as usize], cut).unwrap();
            } else {
                j.set_len(cut).unwrap();
            }
            drop(j);
            let complete = bounds.iter().skip(1).filter(|e| **e <= cut).count();
            let good_end = bounds[complete];
            let events = check_reopen(&dir, &written, complete, &what);
            let torn = garble || (cut > good_end && cut < scan.valid_end);
            let cut_event = events.iter().find_map(|e| match e {
                RecoveryEvent::JournalCut { at, applied: true, .. } => Some(*at),
                _ => None,
            });
            assert_eq!(cut_event, torn.then_some(good_end), "{what}: {events:?}");
            if complete < 8 {
                assert!(
                    events.iter().any(|e| matches!(e, RecoveryEvent::DatafileCut { applied: true, .. })),
                    "{what}: unjournaled extents not cut from the datafile: {events:?}"
                );
            }
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn torn_datafile_tail_at_many_offsets() {
    let base = Scratch::new("torn-data");
    let pristine = base.path().join("pristine");
    let written = write_and_crash(&pristine, 6);
    let data_len = fs::metadata(pristine.join(D0)).unwrap().len();
    let ends: Vec<u64> = written.iter().map(|(_, l)| l[0].offset + u64::from(l[0].len)).collect();
    let mut cuts: Vec<u64> = (4096..=data_len).step_by(97).collect();
    cuts.extend(ends.iter().flat_map(|e| [e - 1, *e, e + 1]));
    for cut in cuts {
        let complete = ends.iter().filter(|e| **e <= cut).count();
        // Truncation anywhere; garbling only within the last three extents (the tail
        // verification window of a file that was not sealed is four extents).
        let garbles: &[bool] = if complete >= 3 { &[false, true] } else { &[false] };
        for &garble in garbles {
            let what = format!("datafile cut at {cut}, garble {garble}");
            let dir = base.path().join(format!("d{cut}-{garble}"));
            copy_tree(&pristine, &dir);
            let d = fs::OpenOptions::new().write(true).open(dir.join(D0)).unwrap();
            if garble {
                d.write_all_at(&vec![0x5a; (data_len - cut) as usize], cut).unwrap();
            } else {
                d.set_len(cut).unwrap();
            }
            drop(d);
            let events = check_reopen(&dir, &written, complete, &what);
            assert_eq!(
                events.iter().any(|e| matches!(e, RecoveryEvent::JournalCut { applied: true, .. })),
                complete < 6,
                "{what}: {events:?}"
            );
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn flipped_byte_in_an_extent_is_reported_and_the_others_stay_readable() {
    let base = Scratch::new("flip");
    let root = base.path().to_owned();
    let written = write_extents(&root, &opts(), 5, |e| extent(e, 4, 400, e % 2 == 1), true);
    let bad = written[2].1[0];
    let d = fs::OpenOptions::new().read(true).write(true).open(root.join(D0)).unwrap();
    let at = bad.offset + u64::from(bad.len) / 2;
    let mut b = [0u8; 1];
    d.read_at(&mut b, at).unwrap();
    d.write_all_at(&[b[0] ^ 0x01], at).unwrap();
    drop(d);

    run(async {
        let (f, blocks, report) = open_all(StdIo, &root, 1 << 30, opts()).await;
        // Sealed file: the journal is trusted, datafiles are not read in full at start.
        assert!(report.is_clean(), "{:?}", report.events);
        assert_eq!(blocks, expected(&written, 5));
        for (i, (ext, locs)) in written.iter().enumerate() {
            for ((_, p), loc) in ext.iter().zip(locs) {
                match f.read_block(loc).await {
                    Ok(got) => {
                        assert_ne!(i, 2);
                        assert_eq!(&got, p);
                    }
                    Err(FilesError::Corrupt { file, offset, .. }) => {
                        assert_eq!(i, 2);
                        assert_eq!((file, offset), (bad.file, bad.offset));
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
        let s = f.stats();
        assert_eq!(s.crc_failures, 4, "one per read of the damaged extent");
        assert_eq!(s.read_errors, 4);
        f.close().await.unwrap();
    });
}

#[test]
fn flipped_byte_in_the_last_extent_of_an_unsealed_file_is_cut_at_start() {
    let base = Scratch::new("flip-tail");
    let root = base.path().to_owned();
    let written = write_and_crash(&root, 5);
    let last = written[4].1[0];
    let d = fs::OpenOptions::new().write(true).open(root.join(D0)).unwrap();
    d.write_all_at(&[0xee], last.offset + 25).unwrap();
    drop(d);
    let events = check_reopen(&root, &written, 4, "flipped last extent");
    assert!(events.iter().any(|e| matches!(e, RecoveryEvent::JournalCut { .. })), "{events:?}");
}

#[test]
fn files_failing_their_header_are_set_aside_and_orphans_handled() {
    let base = Scratch::new("header");
    let root = base.path().to_owned();
    let o = FilesOptions { datafile_target: Some(8192), ..opts() };
    // Three pairs (every extent rotates under an 8 KiB target).
    let written = write_extents(&root, &o, 3, |e| extent(e, 2, 3000, false), true);
    for (e, (_, locs)) in written.iter().enumerate() {
        assert_eq!(locs[0].file.seq, e as u32);
    }
    let sd = root.join("shard-0");
    // Pair 0: journal header damaged. Pair 1: datafile header names another sequence.
    let j = fs::OpenOptions::new().write(true).open(sd.join("journal-0000000000.sjf")).unwrap();
    j.write_all_at(&[0xff], 3).unwrap();
    fs::copy(sd.join("datafile-0000000002.sdf"), sd.join("datafile-0000000001.sdf")).unwrap();
    // Orphans: junk datafile with data and no journal; a header-only journal; a stranger.
    fs::write(sd.join("datafile-0000000007.sdf"), vec![1u8; 10_000]).unwrap();
    fs::write(sd.join("journal-0000000008.sjf"), vec![0u8; 100]).unwrap();
    fs::write(sd.join("notes.txt"), b"not ours").unwrap();

    run(async {
        let (mut f, blocks, report) = open_all(StdIo, &root, 1 << 30, o.clone()).await;
        assert_eq!(blocks, expected(&written, 3)[4..].to_vec(), "only pair 2 survives: {:?}", report.events);
        let aside = report.events.iter().filter(|e| matches!(e, RecoveryEvent::SetAside { .. })).count();
        assert_eq!(aside, 5, "{:?}", report.events);
        let removed = report.events.iter().filter(|e| matches!(e, RecoveryEvent::Removed { .. })).count();
        assert_eq!(removed, 1, "{:?}", report.events);
        for e in &report.events {
            assert!(e.to_string().starts_with("DBENGINE: "), "{e}");
        }
        // Sequence numbers continue after every name seen, set-aside ones included.
        let w = f.write_extent(&extent(9, 1, 10, false)).await.unwrap();
        assert_eq!(w.locations[0].file.seq, 9);
        // A location in a set-aside pair is gone.
        assert!(matches!(f.read_block(&written[0].1[0]).await, Err(FilesError::Gone { .. })));
        f.close().await.unwrap();
    });
    assert_eq!(
        names(&sd),
        vec![
            "datafile-0000000000.sdf.bad",
            "datafile-0000000001.sdf.bad",
            "datafile-0000000002.sdf",
            "datafile-0000000007.sdf.bad",
            "datafile-0000000009.sdf",
            "journal-0000000000.sjf.bad",
            "journal-0000000001.sjf.bad",
            "journal-0000000002.sjf",
            "journal-0000000009.sjf",
            "notes.txt",
        ]
    );
}

#[test]
fn leftover_of_an_interrupted_deletion_is_removed() {
    let base = Scratch::new("leftover");
    let root = base.path().to_owned();
    let o = FilesOptions { datafile_target: Some(8192), ..opts() };
    let written = write_extents(&root, &o, 3, |e| extent(e, 2, 3000, false), true);
    // Deletion removes the journal first; a crash before the datafile goes leaves this.
    fs::remove_file(root.join("shard-0/journal-0000000000.sjf")).unwrap();
    run(async {
        let (f, blocks, report) = open_all(StdIo, &root, 1 << 30, o).await;
        assert_eq!(blocks, expected(&written, 3)[2..].to_vec());
        assert!(
            matches!(&report.events[..], [RecoveryEvent::Removed { path, .. }] if path.ends_with("datafile-0000000000.sdf")),
            "{:?}",
            report.events
        );
        f.close().await.unwrap();
    });
}
