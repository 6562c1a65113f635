//! Retention and shard-count changes: rotation under a small quota (usage bound, oldest
//! first, deleted blocks read as gone) and directories adopted or read after the number
//! of shards changed.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use strata_storage::dbengine::files::{
    datafile_target, shard_dir, BlockLocation, DirPlan, FileId, FilesError, FilesOptions, RecoveryEvent, StdIo,
    SyncPolicy,
};
use strata_storage::dbengine::{BlockMeta, SeriesKey};

fn opts(target: Option<u64>) -> FilesOptions {
    FilesOptions { compress: false, datafile_target: target, sync: SyncPolicy::Never, ..FilesOptions::default() }
}

fn disk_usage(dir: &Path) -> u64 {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

#[test]
fn default_datafile_size_follows_the_quota() {
    assert_eq!(datafile_target(256 << 20), 16 << 20);
    assert_eq!(datafile_target(1 << 20), 64 << 10);
    assert_eq!(datafile_target(1 << 40), 1 << 30);
    assert_eq!(datafile_target(100_000_007 * 16) % 4096, 0);
}

#[test]
fn rotation_under_a_small_quota() {
    let base = Scratch::new("quota");
    let root = base.path().to_owned();
    let quota = 256 << 10;
    run(async {
        let (mut f, ..) = open_all(StdIo, &root, quota, opts(Some(32 << 10))).await;
        let mut written: Vec<(BlockLocation, Vec<u8>)> = Vec::new();
        let mut deleted: Vec<FileId> = Vec::new();
        for e in 0..150u64 {
            let ext = extent(e, 1, 6000, false);
            let w = f.write_extent(&ext).await.unwrap();
            for id in &w.deleted {
                // Oldest first: every deletion is older than every live file.
                assert!(deleted.last().is_none_or(|d| d.seq < id.seq));
                assert!(f.datafiles().iter().all(|l| l.seq > id.seq));
            }
            deleted.extend(&w.deleted);
            written.push((w.locations[0], ext[0].1.clone()));
            assert!(f.usage_bytes() <= quota, "usage {} over quota after extent {e}", f.usage_bytes());
            assert_eq!(f.usage_bytes(), disk_usage(&shard_dir(&root, 0)), "accounting matches the disk");
        }
        assert!(deleted.len() >= 20, "{} deletions", deleted.len());
        let s = f.stats();
        assert_eq!(s.datafiles_deleted, deleted.len() as u64);
        assert_eq!(s.datafiles as usize, f.datafiles().len());
        assert!(s.datafiles >= 6, "quota/target = 8 files, minus headroom: {s:?}");
        let mut live = Vec::new();
        for (loc, p) in &written {
            match f.read_block(loc).await {
                Ok(got) => {
                    assert!(!deleted.contains(&loc.file));
                    assert_eq!(&got, p);
                    live.push(*loc);
                }
                Err(FilesError::Gone { file }) => assert!(deleted.contains(&file)),
                Err(e) => panic!("{e}"),
            }
        }
        f.close().await.unwrap();

        let (f, blocks, report) = open_all(StdIo, &root, quota, opts(Some(32 << 10))).await;
        assert!(report.is_clean(), "{:?}", report.events);
        assert_eq!(blocks.iter().map(|b| b.1).collect::<Vec<_>>(), live);
        f.close().await.unwrap();

        // A smaller quota at start deletes the oldest files before anything is delivered.
        let (f, blocks, report) = open_all(StdIo, &root, 100 << 10, opts(Some(32 << 10))).await;
        let gone: Vec<FileId> = report
            .events
            .iter()
            .map(|e| match e {
                RecoveryEvent::DeletedForQuota { file, .. } => *file,
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert!(!gone.is_empty());
        assert!(f.usage_bytes() <= 100 << 10);
        assert!(blocks.iter().all(|(_, l)| !gone.contains(&l.file)));
        let survivors: Vec<BlockLocation> = live.iter().copied().filter(|l| !gone.contains(&l.file)).collect();
        assert_eq!(blocks.iter().map(|b| b.1).collect::<Vec<_>>(), survivors);
        assert!(survivors.len() < live.len());
        f.close().await.unwrap();
    });
}

fn host_index(s: &SeriesKey) -> u32 {
    u32::from_str_radix(&s.host_guid[..8], 16).unwrap()
}

type Stored = BTreeMap<(String, String, i64), (BlockMeta, Vec<u8>)>;

fn key(m: &BlockMeta) -> (String, String, i64) {
    (m.series.host_guid.clone(), m.series.chart_id.clone(), m.start)
}

#[test]
fn shard_count_changes_keep_every_block_readable() {
    let base = Scratch::new("shards");
    let root = base.path().to_owned();
    let big = 1 << 30;
    let mut stored: Stored = BTreeMap::new();
    run(async {
        // Four shards, each writing the hosts it owns (host i belongs to shard i mod 4).
        for s in 0..4u32 {
            let (mut f, blocks, _) =
                open_with(StdIo, &root, s, 4, big, opts(Some(16 << 10)), |k| host_index(k) % 4 == s).await;
            assert!(blocks.is_empty());
            for e in 0..6u64 {
                let ext: Vec<(BlockMeta, Vec<u8>)> = (0..3)
                    .map(|i| {
                        let h = s as usize + 4 * (i % 2);
                        let m = meta(h, &format!("c{i}"), 2, 60 * e as i64, 60);
                        (m, payload(u64::from(s) * 100 + e * 10 + i as u64, 2500, false))
                    })
                    .collect();
                f.write_extent(&ext).await.unwrap();
                for (m, p) in ext {
                    stored.insert(key(&m), (m, p));
                }
            }
            f.close().await.unwrap();
        }

        // Three shards now: host i belongs to shard i mod 3, so every directory holds hosts
        // of other shards. Shard 0 adopts shard-3; everything else is read, not managed.
        for s in 0..3u32 {
            let plan = DirPlan::discover(&root, s, 3).unwrap();
            let adopted = if s == 0 { vec![3] } else { vec![] };
            let foreign: Vec<u32> = (0..4).filter(|d| *d != s && !adopted.contains(d)).collect();
            assert_eq!(plan, DirPlan { own: s, adopted, foreign });
            let (f, blocks, report) =
                open_with(StdIo, &root, s, 3, big, opts(Some(16 << 10)), |k| host_index(k) % 3 == s).await;
            assert!(report.is_clean(), "{:?}", report.events);
            let mine = stored.values().filter(|(m, _)| host_index(&m.series) % 3 == s).count();
            assert_eq!(blocks.len(), mine);
            assert_eq!(report.blocks_not_wanted as usize, stored.len() - mine);
            for (m, loc) in &blocks {
                let (want_meta, want) = &stored[&key(m)];
                assert_eq!(m, want_meta);
                assert_eq!(&f.read_block(loc).await.unwrap(), want, "block in {}", loc.file);
            }
            assert!(
                blocks.iter().any(|(_, l)| plan.foreign.contains(&l.file.dir)),
                "shard {s}: blocks in foreign directories are found and read"
            );
            f.close().await.unwrap();
        }

        // Retention over the adopted directory: shard 0 manages shard-0 and shard-3 under
        // one quota, deletes the oldest of both, and never touches shard-1 or shard-2.
        let before1 = names(&shard_dir(&root, 1));
        let before2 = names(&shard_dir(&root, 2));
        let managed = disk_usage(&shard_dir(&root, 0)) + disk_usage(&shard_dir(&root, 3));
        let quota = managed / 3;
        let (f, blocks, report) =
            open_with(StdIo, &root, 0, 3, quota, opts(Some(16 << 10)), |k| host_index(k).is_multiple_of(3)).await;
        let gone: Vec<FileId> = report
            .events
            .iter()
            .filter_map(|e| match e {
                RecoveryEvent::DeletedForQuota { file, .. } => Some(*file),
                _ => None,
            })
            .collect();
        assert!(gone.iter().any(|g| g.dir == 0) && gone.iter().any(|g| g.dir == 3), "{gone:?}");
        assert!(f.usage_bytes() <= quota);
        assert_eq!(disk_usage(&shard_dir(&root, 0)) + disk_usage(&shard_dir(&root, 3)), f.usage_bytes());
        assert_eq!(names(&shard_dir(&root, 1)), before1);
        assert_eq!(names(&shard_dir(&root, 2)), before2);
        // Shard 0 was written before shard 3, so its files go first (creation time).
        let first3 = gone.iter().position(|g| g.dir == 3).unwrap();
        assert!(gone[..first3].iter().all(|g| g.dir == 0) && gone[0] == FileId { dir: 0, seq: 0 });
        for (_, loc) in &blocks {
            assert!(!gone.contains(&loc.file));
            assert!(f.read_block(loc).await.is_ok());
        }
        let dead = BlockLocation { file: gone[0], offset: 4096, len: 100, index: 0 };
        assert!(matches!(f.read_block(&dead).await, Err(FilesError::Gone { .. })));
        f.close().await.unwrap();

        // Damage in a foreign directory is reported, not repaired, by a reader; its
        // manager repairs it.
        let j = shard_dir(&root, 3).join("journal-0000000005.sjf");
        let len = fs::metadata(&j).unwrap().len();
        let file = fs::OpenOptions::new().write(true).open(&j).unwrap();
        file.write_all_at(&[0x77; 40], len - 40).unwrap();
        drop(file);
        let bytes = fs::read(&j).unwrap();
        let (f, _, report) = open_with(StdIo, &root, 1, 3, big, opts(None), |_| true).await;
        assert!(
            report
                .events
                .iter()
                .any(|e| matches!(e, RecoveryEvent::JournalCut { file, applied: false, .. } if file.dir == 3)),
            "{:?}",
            report.events
        );
        assert_eq!(fs::read(&j).unwrap(), bytes, "foreign file modified");
        f.close().await.unwrap();
        let (f, _, report) = open_with(StdIo, &root, 0, 3, big, opts(None), |_| true).await;
        assert!(
            report
                .events
                .iter()
                .any(|e| matches!(e, RecoveryEvent::JournalCut { file, applied: true, .. } if file.dir == 3)),
            "{:?}",
            report.events
        );
        assert!(fs::metadata(&j).unwrap().len() < len);
        f.close().await.unwrap();
    });
}
