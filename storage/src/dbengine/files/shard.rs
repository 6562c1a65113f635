//! [`ShardFiles`]: one shard's datafiles and journals — the API the engine calls.
//!
//! Owns: the open file pair of this run, rotation, the disk quota over the managed
//! directories (own and adopted), and the stats. Invariants:
//! - every run writes new files (sealed files are never written again, except that
//!   recovery may cut a damaged tail once);
//! - an extent reaches its datafile before its journal record is written, so a journal
//!   never names an extent that was not written first;
//! - after [`ShardFiles::write_extent`] returns, the managed directories use at most
//!   `max(quota, size of the open pair)` bytes: the oldest pairs (by creation time across
//!   directories, by sequence within one) are deleted, journal first, and their ids are
//!   returned so the index can drop them;
//! - after a failed write the open pair is abandoned (left unsealed for the next start to
//!   repair) and the next write starts a new pair;
//! - the journal's last, partial block is rewritten whole with each record (O_DIRECT
//!   writes whole blocks); the bytes of earlier records in it are rewritten unchanged, so a
//!   write torn at sector granularity leaves them intact and can only tear the new record,
//!   which the next start cuts as a torn tail;
//! - single-threaded: the writer is `&mut self`; readers share state through `Rc`.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::error::FilesError;
use super::format::extent::{Extent, ExtentEncoder};
use super::format::journal::{seal_record, validate_block, JournalEncoder};
use super::format::{align_up, FileHeader, FileKind, BLOCK};
use super::io::{Io, WriteBuf};
use super::layout::{file_name, shard_dir, DirPlan};
use super::location::{BlockLocation, FileId};
use super::reader::{FilesReader, LiveFile, Shared};
use super::recover::{deliver, recover_dir, Mode, RecoveredPair, RecoveryEvent, RecoveryReport, ScanSink};
use super::stats::{add, Counters, FilesStats};
use crate::dbengine::block::BlockMeta;

/// Number of datafiles the quota is split into by default (retention moves in steps of
/// about 1/16 of the quota).
pub const TARGET_DATAFILES: u64 = 16;
/// Smallest and largest default datafile size.
pub const MIN_DATAFILE: u64 = 64 << 10;
pub const MAX_DATAFILE: u64 = 1 << 30;

/// The default datafile size for a quota: `quota / 16`, within 64 KiB..1 GiB, a multiple
/// of 4096.
pub fn datafile_target(quota_bytes: u64) -> u64 {
    (quota_bytes / TARGET_DATAFILES).clamp(MIN_DATAFILE, MAX_DATAFILE) / BLOCK as u64 * BLOCK as u64
}

/// When written data is made durable (fdatasync). Without a sync, O_DIRECT writes have
/// left the page cache but may sit in the device's volatile cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Never, not even the directory after a new pair (the caller may still call
    /// [`ShardFiles::sync`] on its own cadence).
    Never,
    /// When a pair is created (its directory entry) and sealed (rotation, close).
    Rotation,
    /// After every extent (datafile before the journal record, then the journal).
    EveryExtent,
}

/// Knobs of [`ShardFiles::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesOptions {
    /// LZ4 over each extent (stored raw when that does not make it smaller).
    pub compress: bool,
    /// Datafile size at which to rotate; `None` = [`datafile_target`] of the quota.
    pub datafile_target: Option<u64>,
    pub sync: SyncPolicy,
    /// How many of the last extents of a file that was not sealed are crc-checked at start.
    pub verify_tail_extents: usize,
}

impl Default for FilesOptions {
    fn default() -> Self {
        FilesOptions { compress: true, datafile_target: None, sync: SyncPolicy::Rotation, verify_tail_extents: 4 }
    }
}

/// What [`ShardFiles::write_extent`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtentWritten {
    /// One location per block, in the order given.
    pub locations: Vec<BlockLocation>,
    /// Datafiles deleted to honour the quota: every block in them is gone.
    pub deleted: Vec<FileId>,
}

#[derive(Debug, Clone, Copy)]
struct PairInfo {
    id: FileId,
    created_us: i64,
    data_len: u64,
    journal_len: u64,
}

struct Current<I: Io> {
    id: FileId,
    data: I::File,
    journal: I::File,
    data_pos: u64,
    /// The journal's last, partial block (rewritten with each record) and its offset.
    tail: Vec<u8>,
    tail_off: u64,
    enc: JournalEncoder,
    extents: u64,
    broken: bool,
}

impl<I: Io> Current<I> {
    fn journal_len(&self) -> u64 {
        self.tail_off + if self.tail.is_empty() { 0 } else { BLOCK as u64 }
    }
}

/// One shard's files. See the module documentation for the invariants.
pub struct ShardFiles<I: Io> {
    shared: Rc<Shared<I>>,
    own: u32,
    options: FilesOptions,
    quota: u64,
    target: u64,
    next_seq: u32,
    /// Per managed directory (own first), its pairs oldest first; the open pair is the
    /// last entry of the own directory.
    queues: Vec<(u32, VecDeque<PairInfo>)>,
    current: Option<Current<I>>,
    extent_enc: ExtentEncoder,
}

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// The queue whose oldest pair is the oldest of all, skipping `exclude` (the open pair).
fn oldest(queues: &[(u32, VecDeque<PairInfo>)], exclude: Option<FileId>) -> Option<usize> {
    queues
        .iter()
        .enumerate()
        .filter_map(|(i, (_, q))| q.front().filter(|p| Some(p.id) != exclude).map(|p| (p.created_us, i)))
        .min()
        .map(|(_, i)| i)
}

impl<I: Io> ShardFiles<I> {
    /// Opens shard `plan.own`'s files under `root` (`<cache dir>/dbengine`).
    ///
    /// Recovers the managed directories (own and adopted: torn tails cut, damaged files set
    /// aside, the quota enforced by deleting the oldest pairs), reads the journals of the
    /// foreign directories without touching them, and hands every block of a series the
    /// sink wants to `sink` (see [`ScanSink`]). No file is created until the first write.
    /// Fails only when the own directory cannot be created or listed; every problem with a
    /// file is in the report instead.
    pub async fn open<S: ScanSink>(
        io: I,
        root: &Path,
        plan: &DirPlan,
        quota_bytes: u64,
        options: FilesOptions,
        sink: &mut S,
    ) -> Result<(ShardFiles<I>, RecoveryReport), FilesError> {
        let t0 = Instant::now();
        let mut report = RecoveryReport::default();
        let own_path = shard_dir(root, plan.own);
        std::fs::create_dir_all(&own_path).map_err(FilesError::io("create directory", &own_path))?;
        let target =
            options.datafile_target.map(|t| align_up(t.max(2 * BLOCK as u64))).unwrap_or(datafile_target(quota_bytes));

        let mut next_seq = 0u32;
        let mut dirs: Vec<(u32, VecDeque<RecoveredPair>)> = Vec::new();
        for dir in plan.managed() {
            let verify = options.verify_tail_extents;
            match recover_dir(&io, root, dir, Mode::Managed, verify, &mut report).await {
                Ok(files) => {
                    if dir == plan.own {
                        next_seq = files.max_seq.map_or(0, |s| s.saturating_add(1));
                    }
                    dirs.push((dir, files.pairs.into()));
                }
                Err(e) if dir == plan.own => return Err(FilesError::io("list directory", &own_path)(e)),
                Err(e) => report.events.push(RecoveryEvent::Failed {
                    path: shard_dir(root, dir),
                    op: "list directory",
                    error: e.to_string(),
                }),
            }
        }

        let shared = Rc::new(Shared {
            io: io.clone(),
            root: root.to_owned(),
            managed: plan.managed().collect(),
            live: RefCell::new(HashMap::new()),
            counters: Counters::default(),
        });
        let mut files = ShardFiles {
            shared,
            own: plan.own,
            options,
            quota: quota_bytes,
            target,
            next_seq,
            queues: Vec::new(),
            current: None,
            extent_enc: ExtentEncoder::new(),
        };

        // The quota first (no point delivering blocks that are about to go), then delivery.
        let info = |p: &RecoveredPair| PairInfo {
            id: p.id,
            created_us: p.created_us,
            data_len: p.data_len,
            journal_len: p.journal_len,
        };
        files.queues = dirs.iter().map(|(d, q)| (*d, q.iter().map(info).collect())).collect();
        {
            let mut live = files.shared.live.borrow_mut();
            for (_, q) in &files.queues {
                for p in q {
                    live.insert(p.id, LiveFile { path: files.shared.datafile_path(p.id), handle: None });
                }
            }
        }
        let deleted = files.enforce_quota().await;
        for d in &deleted {
            report.events.push(RecoveryEvent::DeletedForQuota { file: d.0, bytes: d.1 });
        }
        for (_, q) in &dirs {
            for p in q {
                if !deleted.iter().any(|d| d.0 == p.id) {
                    deliver(p, sink, &mut report);
                }
            }
        }
        drop(dirs);

        for dir in &plan.foreign {
            match recover_dir(&io, root, *dir, Mode::Foreign, 0, &mut report).await {
                Ok(found) => {
                    for p in &found.pairs {
                        deliver(p, sink, &mut report);
                    }
                }
                Err(e) => report.events.push(RecoveryEvent::ForeignSkipped {
                    path: shard_dir(root, *dir),
                    reason: format!("list directory: {e}"),
                }),
            }
        }
        report.elapsed = t0.elapsed();
        Ok((files, report))
    }

    /// Writes one extent holding `blocks` (metadata and codec payload, in order) and its
    /// journal record; rotates first when the open datafile would pass its target size;
    /// then enforces the quota. An empty slice writes nothing.
    pub async fn write_extent<P: AsRef<[u8]>>(
        &mut self,
        blocks: &[(BlockMeta, P)],
    ) -> Result<ExtentWritten, FilesError> {
        if blocks.is_empty() {
            return Ok(ExtentWritten::default());
        }
        for (m, _) in blocks {
            validate_block(m).map_err(FilesError::Invalid)?;
        }
        let io = self.shared.io.clone();
        let bytes = self
            .extent_enc
            .encode(blocks.iter().map(|(_, p)| p.as_ref()), self.options.compress)
            .map_err(FilesError::Invalid)?;
        let len = bytes.len();
        let padded = align_up(len as u64);
        let mut buf = io.alloc(padded as usize);
        let b = buf.bytes_mut();
        b[..len].copy_from_slice(bytes);
        b[len..].fill(0);

        let rotate = match &self.current {
            None => true,
            Some(c) => c.broken || (c.extents > 0 && c.data_pos + padded > self.target),
        };
        if rotate {
            self.rotate().await?;
        }
        let sync_each = self.options.sync == SyncPolicy::EveryExtent;
        let counters = &self.shared.counters;
        let Some(cur) = self.current.as_mut() else {
            return Err(FilesError::Invalid(super::format::FormatError::invalid("shard files", "no open datafile")));
        };
        let dpath = self.shared.datafile_path(cur.id);
        let offset = cur.data_pos;
        let r = io.write_at(&cur.data, buf, offset).await;
        let r = match r {
            Ok(()) if sync_each => io.sync(&cur.data).await,
            r => r,
        };
        if let Err(e) = r {
            cur.broken = true;
            add(&counters.write_errors, 1);
            return Err(FilesError::io("write extent", dpath)(e));
        }
        cur.data_pos += padded;
        add(&counters.bytes_written, padded);

        if let Err(e) = cur.enc.extent_record(offset, len as u32, blocks.iter().map(|(m, _)| m), &mut cur.tail) {
            cur.broken = true;
            return Err(FilesError::Invalid(e));
        }
        let jpath = shard_dir(&self.shared.root, cur.id.dir).join(file_name(FileKind::Journal, cur.id.seq));
        match write_tail(&io, cur, counters).await {
            Ok(()) if sync_each => {
                if let Err(e) = io.sync(&cur.journal).await {
                    cur.broken = true;
                    add(&counters.write_errors, 1);
                    return Err(FilesError::io("sync journal", jpath)(e));
                }
            }
            Ok(()) => {}
            Err(e) => {
                cur.broken = true;
                add(&counters.write_errors, 1);
                return Err(FilesError::io("write journal", jpath)(e));
            }
        }
        cur.extents += 1;
        add(&counters.extents_written, 1);
        add(&counters.blocks_written, blocks.len() as u64);
        add(&counters.payload_bytes_written, blocks.iter().map(|(_, p)| p.as_ref().len() as u64).sum());
        add(&counters.extent_bytes_written, len as u64);
        let (id, data_len, journal_len) = (cur.id, cur.data_pos, cur.journal_len());
        if let Some(p) = self.queues.first_mut().and_then(|(_, q)| q.back_mut()).filter(|p| p.id == id) {
            p.data_len = data_len;
            p.journal_len = journal_len;
        }
        let locations =
            (0..blocks.len()).map(|i| BlockLocation { file: id, offset, len: len as u32, index: i as u16 }).collect();
        let deleted = self.enforce_quota().await.into_iter().map(|(id, _)| id).collect();
        Ok(ExtentWritten { locations, deleted })
    }

    /// The payload of the block at `loc` (any directory). See [`FilesReader::read_block`].
    pub async fn read_block(&self, loc: &BlockLocation) -> Result<Vec<u8>, FilesError> {
        self.reader().read_block(loc).await
    }

    /// The whole extent `loc` points into. See [`FilesReader::read_extent`].
    pub async fn read_extent(&self, loc: &BlockLocation) -> Result<Extent<'static>, FilesError> {
        self.reader().read_extent(loc).await
    }

    /// A read handle sharing this shard's state, for query tasks.
    pub fn reader(&self) -> FilesReader<I> {
        FilesReader { shared: self.shared.clone() }
    }

    /// Makes everything written so far durable: the datafile, then the journal.
    pub async fn sync(&mut self) -> Result<(), FilesError> {
        let Some(cur) = &self.current else { return Ok(()) };
        let io = &self.shared.io;
        let r = async {
            io.sync(&cur.data).await.map_err(FilesError::io("sync datafile", self.shared.datafile_path(cur.id)))?;
            let jpath = shard_dir(&self.shared.root, cur.id.dir).join(file_name(FileKind::Journal, cur.id.seq));
            io.sync(&cur.journal).await.map_err(FilesError::io("sync journal", jpath))
        }
        .await;
        if r.is_err() {
            add(&self.shared.counters.write_errors, 1);
        }
        r
    }

    /// Seals the open pair and closes every file.
    pub async fn close(mut self) -> Result<(), FilesError> {
        let r = match self.current.take() {
            Some(cur) => self.seal(cur).await,
            None => Ok(()),
        };
        let handles: Vec<_> = self.shared.live.borrow_mut().values_mut().filter_map(|l| l.handle.take()).collect();
        for h in handles {
            if let Ok(f) = Rc::try_unwrap(h) {
                let _ = self.shared.io.close(f).await;
            }
        }
        r
    }

    /// A snapshot of the counters and sizes.
    pub fn stats(&self) -> FilesStats {
        let mut s = FilesStats { quota_bytes: self.quota, datafile_target_bytes: self.target, ..FilesStats::default() };
        for (_, q) in &self.queues {
            for p in q {
                s.datafiles += 1;
                s.datafile_bytes += p.data_len;
                s.journal_bytes += p.journal_len;
            }
        }
        self.shared.counters.fill(&mut s);
        s
    }

    /// Bytes used by the managed directories (datafiles and journals).
    pub fn usage_bytes(&self) -> u64 {
        self.queues.iter().flat_map(|(_, q)| q.iter()).map(|p| p.data_len + p.journal_len).sum()
    }

    /// The live datafiles this shard manages, oldest first per directory.
    pub fn datafiles(&self) -> Vec<FileId> {
        self.queues.iter().flat_map(|(_, q)| q.iter().map(|p| p.id)).collect()
    }

    /// This shard's directory number.
    pub fn own_dir(&self) -> u32 {
        self.own
    }

    async fn rotate(&mut self) -> Result<(), FilesError> {
        if let Some(cur) = self.current.take() {
            // A seal that fails leaves the pair unsealed: the next start checks its tail.
            let _ = self.seal(cur).await;
        }
        let io = self.shared.io.clone();
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let id = FileId { dir: self.own, seq };
        let dir = shard_dir(&self.shared.root, self.own);
        let created_us = now_us();
        let dpath = dir.join(file_name(FileKind::Datafile, seq));
        let jpath = dir.join(file_name(FileKind::Journal, seq));
        let counters = &self.shared.counters;
        let data = match create_with_header(&io, &dpath, FileKind::Datafile, id, created_us).await {
            Ok(f) => f,
            Err(e) => {
                add(&counters.write_errors, 1);
                return Err(e);
            }
        };
        let journal = match create_with_header(&io, &jpath, FileKind::Journal, id, created_us).await {
            Ok(f) => f,
            Err(e) => {
                add(&counters.write_errors, 1);
                let _ = io.close(data).await;
                let _ = io.remove(&dpath).await;
                return Err(e);
            }
        };
        if self.options.sync != SyncPolicy::Never && io.sync_dir(&dir).await.is_err() {
            add(&counters.write_errors, 1);
        }
        add(&counters.datafiles_created, 1);
        add(&counters.bytes_written, 2 * BLOCK as u64);
        self.shared.live.borrow_mut().insert(id, LiveFile { path: dpath, handle: None });
        let info = PairInfo { id, created_us, data_len: BLOCK as u64, journal_len: BLOCK as u64 };
        match self.queues.iter_mut().find(|(d, _)| *d == self.own) {
            Some((_, q)) => q.push_back(info),
            None => self.queues.insert(0, (self.own, VecDeque::from([info]))),
        }
        self.current = Some(Current {
            id,
            data,
            journal,
            data_pos: BLOCK as u64,
            tail: Vec::new(),
            tail_off: BLOCK as u64,
            enc: JournalEncoder::new(),
            extents: 0,
            broken: false,
        });
        Ok(())
    }

    async fn seal(&self, mut cur: Current<I>) -> Result<(), FilesError> {
        let io = &self.shared.io;
        let counters = &self.shared.counters;
        let jpath = shard_dir(&self.shared.root, cur.id.dir).join(file_name(FileKind::Journal, cur.id.seq));
        let mut r = Ok(());
        if !cur.broken {
            seal_record(cur.extents, &mut cur.tail);
            r = write_tail(io, &mut cur, counters).await.map_err(FilesError::io("seal journal", jpath.clone()));
            if r.is_ok() && self.options.sync != SyncPolicy::Never {
                r = match io.sync(&cur.data).await {
                    Ok(()) => io.sync(&cur.journal).await,
                    Err(e) => Err(e),
                }
                .map_err(FilesError::io("sync", jpath));
            }
            if r.is_err() {
                add(&counters.write_errors, 1);
            }
        }
        let _ = io.close(cur.data).await;
        let _ = io.close(cur.journal).await;
        r
    }

    /// Deletes the oldest pairs (never the open one) while usage exceeds the quota;
    /// returns their ids and sizes.
    async fn enforce_quota(&mut self) -> Vec<(FileId, u64)> {
        let mut deleted = Vec::new();
        let exclude = self.current.as_ref().map(|c| c.id);
        let mut usage = self.usage_bytes();
        while usage > self.quota {
            let Some(qi) = oldest(&self.queues, exclude) else { break };
            let Some(p) = self.queues[qi].1.pop_front() else { break };
            usage -= p.data_len + p.journal_len;
            self.delete_pair(p.id).await;
            deleted.push((p.id, p.data_len + p.journal_len));
        }
        deleted
    }

    /// Drops a pair from the index of live files, then deletes the journal and the
    /// datafile (in that order: a crash in between leaves a datafile no journal names,
    /// which the next start recognises as a leftover and removes).
    async fn delete_pair(&mut self, id: FileId) {
        let io = self.shared.io.clone();
        let entry = self.shared.live.borrow_mut().remove(&id);
        if let Some(h) = entry.and_then(|l| l.handle) {
            if let Ok(f) = Rc::try_unwrap(h) {
                let _ = io.close(f).await;
            }
        }
        let dir = shard_dir(&self.shared.root, id.dir);
        for kind in [FileKind::Journal, FileKind::Datafile] {
            match io.remove(&dir.join(file_name(kind, id.seq))).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => add(&self.shared.counters.write_errors, 1),
            }
        }
        add(&self.shared.counters.datafiles_deleted, 1);
    }
}

/// Writes the journal's partial tail block(s) and keeps only the last partial block.
async fn write_tail<I: Io>(io: &I, cur: &mut Current<I>, counters: &Counters) -> std::io::Result<()> {
    let len = align_up(cur.tail.len() as u64) as usize;
    let mut buf = io.alloc(len);
    let b = buf.bytes_mut();
    b[..cur.tail.len()].copy_from_slice(&cur.tail);
    b[cur.tail.len()..].fill(0);
    io.write_at(&cur.journal, buf, cur.tail_off).await?;
    add(&counters.bytes_written, len as u64);
    let full = cur.tail.len() / BLOCK * BLOCK;
    cur.tail.drain(..full);
    cur.tail_off += full as u64;
    Ok(())
}

async fn create_with_header<I: Io>(
    io: &I,
    path: &PathBuf,
    kind: FileKind,
    id: FileId,
    created_us: i64,
) -> Result<I::File, FilesError> {
    let f = io.create_new(path).await.map_err(FilesError::io("create", path))?;
    let mut buf = io.alloc(BLOCK);
    let b = buf.bytes_mut();
    b.fill(0);
    b[..super::format::HEADER_LEN].copy_from_slice(&FileHeader { kind, dir: id.dir, seq: id.seq, created_us }.encode());
    if let Err(e) = io.write_at(&f, buf, 0).await {
        let _ = io.close(f).await;
        let _ = io.remove(path).await;
        return Err(FilesError::io("write header", path)(e));
    }
    Ok(f)
}
