//! Startup: reading the journals back, cutting torn tails, setting damaged files aside,
//! and handing every stored block to the engine.
//!
//! Owns: [`ScanSink`] (how blocks reach the caller), [`RecoveryReport`] and the per-pair
//! recovery steps. Invariants: journals are read in full, datafiles only in their header
//! block and (for a file that was not sealed) their last few extents, never in full; in a
//! managed directory a torn journal tail is truncated at the last good record and datafile
//! bytes past the last journaled extent are truncated, a file that fails its header is
//! renamed with `.bad` (never deleted); in a foreign directory nothing is modified (the
//! same damage is reported and ignored). Nothing here panics or refuses to start over a
//! damaged file: every problem becomes a [`RecoveryEvent`].

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::extent::{decode_extent, EXTENT_HEADER_LEN};
use super::format::journal::{scan_journal, JournalEnd, JournalScan};
use super::format::{align_up, FileHeader, FileKind, BLOCK};
use super::io::Io;
use super::layout::{file_name, list_files, parse_file_name, shard_dir, SET_ASIDE_SUFFIX};
use super::location::{BlockLocation, FileId};
use crate::dbengine::block::{BlockMeta, SeriesKey};

/// Receives the blocks found at startup.
///
/// Filtering is the caller's, through [`ScanSink::wants`]: it is asked once per series per
/// journal file (not per block), and only blocks of wanted series reach
/// [`ScanSink::block`]. A shard passes a sink that wants the hosts it owns, since after a
/// change of the shard count any directory may hold them.
pub trait ScanSink {
    /// Whether blocks of `series` should be delivered.
    fn wants(&mut self, series: &SeriesKey) -> bool;
    /// One stored block of a wanted series. Within a directory, files come oldest first and
    /// blocks in the order they were written; managed directories come before foreign ones.
    fn block(&mut self, meta: &BlockMeta, loc: BlockLocation);
}

/// A [`ScanSink`] that collects the blocks of the series `keep` accepts.
pub struct CollectBlocks<F> {
    keep: F,
    pub blocks: Vec<(BlockMeta, BlockLocation)>,
}

impl<F: FnMut(&SeriesKey) -> bool> CollectBlocks<F> {
    pub fn new(keep: F) -> Self {
        CollectBlocks { keep, blocks: Vec::new() }
    }
}

impl<F: FnMut(&SeriesKey) -> bool> ScanSink for CollectBlocks<F> {
    fn wants(&mut self, series: &SeriesKey) -> bool {
        (self.keep)(series)
    }

    fn block(&mut self, meta: &BlockMeta, loc: BlockLocation) {
        self.blocks.push((meta.clone(), loc));
    }
}

/// Something recovery found and what it did about it. `applied` is false in foreign
/// directories (reported, not modified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryEvent {
    /// The journal's tail was damaged (torn write, or its last extents are missing or bad
    /// in the datafile): cut at `at` (it was `was` bytes).
    JournalCut { file: FileId, at: u64, was: u64, reason: String, applied: bool },
    /// Datafile bytes past the last journaled extent were cut.
    DatafileCut { file: FileId, at: u64, was: u64, applied: bool },
    /// A damaged record in the middle of a journal was skipped (its blocks are lost).
    RecordSkipped { file: FileId, offset: u64, reason: String },
    /// A file failed its header (or lost its partner) and was renamed.
    SetAside { path: PathBuf, to: PathBuf, reason: String },
    /// A file holding no data (a header only, or left over from an interrupted deletion)
    /// was removed.
    Removed { path: PathBuf, reason: String },
    /// The oldest data was deleted to bring the managed directories under the quota.
    DeletedForQuota { file: FileId, bytes: u64 },
    /// A foreign file could not be used (bad header, unreadable); left as it is.
    ForeignSkipped { path: PathBuf, reason: String },
    /// An operation failed; the file was left as it was.
    Failed { path: PathBuf, op: &'static str, error: String },
}

impl fmt::Display for RecoveryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = |applied: &bool| if *applied { "cut" } else { "ignored (foreign, not modified)" };
        match self {
            RecoveryEvent::JournalCut { file, at, was, reason, applied } => {
                write!(
                    f,
                    "DBENGINE: journal {file}: damaged tail {}: {at} of {was} bytes kept ({reason})",
                    verb(applied)
                )
            }
            RecoveryEvent::DatafileCut { file, at, was, applied } => {
                write!(
                    f,
                    "DBENGINE: datafile {file}: {} unjournaled bytes after offset {at} {}",
                    was - at,
                    verb(applied)
                )
            }
            RecoveryEvent::RecordSkipped { file, offset, reason } => {
                write!(f, "DBENGINE: journal {file}: damaged record at offset {offset} skipped ({reason})")
            }
            RecoveryEvent::SetAside { path, to, reason } => {
                write!(f, "DBENGINE: {} set aside as {} ({reason})", path.display(), to.display())
            }
            RecoveryEvent::Removed { path, reason } => write!(f, "DBENGINE: {} removed ({reason})", path.display()),
            RecoveryEvent::DeletedForQuota { file, bytes } => {
                write!(f, "DBENGINE: datafile {file} deleted to stay within the disk quota ({bytes} bytes)")
            }
            RecoveryEvent::ForeignSkipped { path, reason } => {
                write!(f, "DBENGINE: {} not readable, skipped ({reason})", path.display())
            }
            RecoveryEvent::Failed { path, op, error } => write!(f, "DBENGINE: {op} {}: {error}", path.display()),
        }
    }
}

/// What startup found, for the engine to log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Wall time of the whole open (listing, journals, recovery, delivery).
    pub elapsed: Duration,
    pub journals_read: u64,
    pub journal_bytes_read: u64,
    /// Extent records delivered (from files that survived).
    pub extents: u64,
    /// Blocks delivered to [`ScanSink::block`].
    pub blocks: u64,
    /// Blocks of series the sink did not want.
    pub blocks_not_wanted: u64,
    /// Blocks whose names were in a skipped journal record.
    pub blocks_unresolved: u64,
    pub events: Vec<RecoveryEvent>,
}

impl RecoveryReport {
    /// True when nothing needed repair (quota deletions do not count).
    pub fn is_clean(&self) -> bool {
        self.events.iter().all(|e| matches!(e, RecoveryEvent::DeletedForQuota { .. }))
    }

    /// One summary line.
    pub fn summary(&self) -> String {
        format!(
            "DBENGINE: {} journals ({} bytes) read in {:.3} s: {} extents, {} blocks loaded, {} of other shards, {} unresolved, {} repairs",
            self.journals_read,
            self.journal_bytes_read,
            self.elapsed.as_secs_f64(),
            self.extents,
            self.blocks,
            self.blocks_not_wanted,
            self.blocks_unresolved,
            self.events.iter().filter(|e| !matches!(e, RecoveryEvent::DeletedForQuota { .. })).count()
        )
    }
}

/// How recovery treats a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// This shard manages it: repair.
    Managed,
    /// Another shard manages it: read only.
    Foreign,
}

/// A file pair that survived recovery, with what its journal says.
pub(crate) struct RecoveredPair {
    pub id: FileId,
    pub created_us: i64,
    pub data_len: u64,
    pub journal_len: u64,
    pub scan: JournalScan,
}

/// The pairs of one directory, oldest first, and the highest sequence number seen in it
/// (set-aside files included, so new names never collide with old ones).
pub(crate) struct DirFiles {
    pub pairs: Vec<RecoveredPair>,
    pub max_seq: Option<u32>,
}

fn path_of(root: &Path, id: FileId, kind: FileKind) -> PathBuf {
    shard_dir(root, id.dir).join(file_name(kind, id.seq))
}

/// Recovers every pair of directory `dir`.
pub(crate) async fn recover_dir<I: Io>(
    io: &I,
    root: &Path,
    dir: u32,
    mode: Mode,
    verify_tail: usize,
    report: &mut RecoveryReport,
) -> io::Result<DirFiles> {
    let path = shard_dir(root, dir);
    let mut seqs: HashMap<u32, (Option<u64>, Option<u64>)> = HashMap::new();
    let mut max_seq = None;
    for (name, size) in list_files(&path)? {
        let Some((kind, seq, aside)) = parse_file_name(&name) else { continue };
        max_seq = max_seq.max(Some(seq));
        if aside {
            continue;
        }
        let e = seqs.entry(seq).or_default();
        match kind {
            FileKind::Datafile => e.0 = Some(size),
            FileKind::Journal => e.1 = Some(size),
        }
    }
    let mut order: Vec<u32> = seqs.keys().copied().collect();
    order.sort_unstable();
    let first_journal = order.iter().copied().find(|s| seqs.get(s).is_some_and(|e| e.1.is_some()));
    let mut pairs = Vec::new();
    for seq in order {
        let id = FileId { dir, seq };
        let (data, journal) = seqs.get(&seq).copied().unwrap_or_default();
        match (data, journal) {
            (Some(_), Some(_)) => {
                if let Some(p) = recover_pair(io, root, id, mode, verify_tail, report).await {
                    pairs.push(p);
                }
            }
            (Some(size), None) => {
                let leftover = first_journal.is_some_and(|j| seq < j);
                let why = if size <= BLOCK as u64 {
                    Some("datafile without a journal and without data")
                } else if leftover {
                    Some("datafile left over from an interrupted deletion")
                } else {
                    None
                };
                orphan(io, path_of(root, id, FileKind::Datafile), mode, why, "datafile without its journal", report)
                    .await;
            }
            (None, Some(size)) => {
                let why = (size <= BLOCK as u64).then_some("journal without a datafile and without records");
                orphan(io, path_of(root, id, FileKind::Journal), mode, why, "journal without its datafile", report)
                    .await;
            }
            (None, None) => {}
        }
    }
    Ok(DirFiles { pairs, max_seq })
}

/// Removes a file that holds nothing (`remove_why`), else sets it aside.
async fn orphan<I: Io>(
    io: &I,
    path: PathBuf,
    mode: Mode,
    remove_why: Option<&str>,
    aside_why: &str,
    report: &mut RecoveryReport,
) {
    if mode == Mode::Foreign {
        return;
    }
    match remove_why {
        Some(why) => match io.remove(&path).await {
            Ok(()) => report.events.push(RecoveryEvent::Removed { path, reason: why.to_owned() }),
            Err(e) => report.events.push(RecoveryEvent::Failed { path, op: "remove", error: e.to_string() }),
        },
        None => set_aside(io, &path, aside_why, report).await,
    }
}

async fn set_aside<I: Io>(io: &I, path: &Path, reason: &str, report: &mut RecoveryReport) {
    let mut to = path.as_os_str().to_owned();
    to.push(SET_ASIDE_SUFFIX);
    let to = PathBuf::from(to);
    match io.rename(path, &to).await {
        Ok(()) => report.events.push(RecoveryEvent::SetAside { path: path.to_owned(), to, reason: reason.to_owned() }),
        Err(e) => {
            report.events.push(RecoveryEvent::Failed { path: path.to_owned(), op: "rename", error: e.to_string() })
        }
    }
}

/// Reads `len` bytes from offset 0 in aligned chunks (the last one may come back short).
async fn read_all<I: Io>(io: &I, file: &I::File, len: u64) -> io::Result<Vec<u8>> {
    const CHUNK: u64 = 1 << 20;
    let mut out = Vec::with_capacity(len as usize);
    let mut at = 0u64;
    while at < len {
        let n = CHUNK.min(align_up(len - at));
        let b = io.read_at(file, at, n as usize).await?;
        out.extend_from_slice(&b);
        if (b.len() as u64) < n {
            break;
        }
        at += n;
    }
    out.truncate(len as usize);
    Ok(out)
}

struct Opened<F> {
    journal: F,
    data: F,
}

async fn close_pair<I: Io>(io: &I, o: Opened<I::File>) {
    let _ = io.close(o.journal).await;
    let _ = io.close(o.data).await;
}

/// Recovers one datafile/journal pair; `None` when it cannot be used (reported).
async fn recover_pair<I: Io>(
    io: &I,
    root: &Path,
    id: FileId,
    mode: Mode,
    verify_tail: usize,
    report: &mut RecoveryReport,
) -> Option<RecoveredPair> {
    let managed = mode == Mode::Managed;
    let jpath = path_of(root, id, FileKind::Journal);
    let dpath = path_of(root, id, FileKind::Datafile);
    let open = |p: PathBuf| async move {
        let r = if managed { io.open_rw(&p).await } else { io.open_read(&p).await };
        r.map_err(|e| (p, e))
    };
    let (journal, data) = match (open(jpath.clone()).await, open(dpath.clone()).await) {
        (Ok(j), Ok(d)) => (j, d),
        (j, d) => {
            for r in [j.err(), d.err()].into_iter().flatten() {
                let (path, e) = r;
                if managed {
                    report.events.push(RecoveryEvent::Failed { path, op: "open", error: e.to_string() });
                } else {
                    report.events.push(RecoveryEvent::ForeignSkipped { path, reason: e.to_string() });
                }
            }
            return None;
        }
    };
    let files = Opened { journal, data };
    match check_pair(io, id, &files, (&jpath, &dpath), managed, verify_tail, report).await {
        Ok(p) => {
            close_pair(io, files).await;
            Some(p)
        }
        Err(Bad::Header(path, reason)) => {
            close_pair(io, files).await;
            if managed {
                // Either file failing its header makes the pair unusable: set both aside.
                let why = format!("{}: {reason}", path.file_name().and_then(|n| n.to_str()).unwrap_or("?"));
                set_aside(io, &jpath, &why, report).await;
                set_aside(io, &dpath, &why, report).await;
            } else {
                report.events.push(RecoveryEvent::ForeignSkipped { path, reason });
            }
            None
        }
        Err(Bad::Io(path, op, e)) => {
            close_pair(io, files).await;
            if managed {
                report.events.push(RecoveryEvent::Failed { path, op, error: e.to_string() });
            } else {
                report.events.push(RecoveryEvent::ForeignSkipped { path, reason: format!("{op}: {e}") });
            }
            None
        }
    }
}

enum Bad {
    Header(PathBuf, String),
    Io(PathBuf, &'static str, io::Error),
}

async fn check_pair<I: Io>(
    io: &I,
    id: FileId,
    f: &Opened<I::File>,
    (jpath, dpath): (&Path, &Path),
    managed: bool,
    verify_tail: usize,
    report: &mut RecoveryReport,
) -> Result<RecoveredPair, Bad> {
    let (jpath, dpath) = (jpath.to_owned(), dpath.to_owned());
    let jsize = io.size(&f.journal).await.map_err(|e| Bad::Io(jpath.clone(), "stat", e))?;
    let jbytes = read_all(io, &f.journal, jsize).await.map_err(|e| Bad::Io(jpath.clone(), "read", e))?;
    report.journals_read += 1;
    report.journal_bytes_read += jbytes.len() as u64;
    let jh = FileHeader::decode(FileKind::Journal, &jbytes).map_err(|e| Bad::Header(jpath.clone(), e.to_string()))?;
    let dhead = io.read_at(&f.data, 0, BLOCK).await.map_err(|e| Bad::Io(dpath.clone(), "read", e))?;
    let dh = FileHeader::decode(FileKind::Datafile, &dhead).map_err(|e| Bad::Header(dpath.clone(), e.to_string()))?;
    for (h, p) in [(&jh, &jpath), (&dh, &dpath)] {
        if h.dir != id.dir || h.seq != id.seq {
            return Err(Bad::Header(p.clone(), format!("header names shard-{} sequence {}", h.dir, h.seq)));
        }
    }
    let dsize = io.size(&f.data).await.map_err(|e| Bad::Io(dpath.clone(), "stat", e))?;
    let mut scan = scan_journal(jbytes.get(BLOCK..).unwrap_or(&[]), BLOCK as u64);
    for (offset, e) in &scan.skipped {
        report.events.push(RecoveryEvent::RecordSkipped { file: id, offset: *offset, reason: e.to_string() });
    }

    // Records whose location cannot be an extent of this file are damaged, not torn.
    scan.extents.retain(|r| {
        let ok =
            r.offset.is_multiple_of(BLOCK as u64) && r.offset >= BLOCK as u64 && r.len as usize >= EXTENT_HEADER_LEN;
        if !ok {
            report.events.push(RecoveryEvent::RecordSkipped {
                file: id,
                offset: r.record_offset,
                reason: format!("bad extent location {}+{}", r.offset, r.len),
            });
        }
        ok
    });

    // The tail: extents the journal names but the datafile does not hold (or, in a file
    // that was not sealed, holds damaged) are cut with their records.
    let mut keep = scan.extents.len();
    let mut verified = 0;
    let mut tail_reason = String::new();
    while keep > 0 {
        let r = &scan.extents[keep - 1];
        let end = r.offset + u64::from(r.len);
        let bad = if end > dsize {
            Some(format!("extent at {} past the end of the datafile ({dsize} bytes)", r.offset))
        } else if managed && !scan.sealed && verified < verify_tail {
            verified += 1;
            match io.read_at(&f.data, r.offset, align_up(u64::from(r.len)) as usize).await {
                Ok(b) => match b.get(..r.len as usize).map(decode_extent) {
                    Some(Ok(_)) => None,
                    Some(Err(e)) => Some(format!("extent at {}: {e}", r.offset)),
                    None => Some(format!("extent at {} short", r.offset)),
                },
                Err(e) => return Err(Bad::Io(dpath.clone(), "read", e)),
            }
        } else {
            None
        };
        match bad {
            Some(reason) => {
                tail_reason = reason;
                keep -= 1;
            }
            None => break,
        }
    }
    let mut cut = match &scan.end {
        JournalEnd::Torn { offset, error } => Some((*offset, error.to_string())),
        JournalEnd::Clean => None,
    };
    if keep < scan.extents.len() {
        cut = Some((scan.extents[keep].record_offset, tail_reason));
        scan.extents.truncate(keep);
        scan.sealed = false;
    }
    // A damaged record in the middle whose extent lies past the end: drop it too.
    scan.extents.retain(|r| {
        let ok = r.offset + u64::from(r.len) <= dsize;
        if !ok {
            report.events.push(RecoveryEvent::RecordSkipped {
                file: id,
                offset: r.record_offset,
                reason: "extent past the end of the datafile".into(),
            });
        }
        ok
    });

    let mut journal_len = jsize;
    if let Some((at, reason)) = cut {
        if managed {
            io.truncate(&f.journal, at).await.map_err(|e| Bad::Io(jpath.clone(), "truncate", e))?;
            journal_len = at;
        }
        report.events.push(RecoveryEvent::JournalCut { file: id, at, was: jsize, reason, applied: managed });
    }
    let last_end =
        scan.extents.iter().map(|r| r.offset + align_up(u64::from(r.len))).max().unwrap_or(0).max(BLOCK as u64);
    let mut data_len = dsize;
    if dsize > last_end {
        if managed {
            io.truncate(&f.data, last_end).await.map_err(|e| Bad::Io(dpath.clone(), "truncate", e))?;
            data_len = last_end;
        }
        report.events.push(RecoveryEvent::DatafileCut { file: id, at: last_end, was: dsize, applied: managed });
    }
    Ok(RecoveredPair { id, created_us: jh.created_us, data_len, journal_len, scan })
}

/// Hands the blocks of one pair to the sink.
pub(crate) fn deliver<S: ScanSink>(pair: &RecoveredPair, sink: &mut S, report: &mut RecoveryReport) {
    let dict = &pair.scan.dict;
    let mut wanted: Vec<Option<bool>> = vec![None; dict.series.len()];
    let mut templates: HashMap<(u32, u32), BlockMeta> = HashMap::new();
    for rec in &pair.scan.extents {
        report.extents += 1;
        for (i, b) in rec.blocks.iter().enumerate() {
            let Some(Some(series)) = dict.series.get(b.series as usize) else {
                report.blocks_unresolved += 1;
                continue;
            };
            let want = match wanted.get(b.series as usize).copied().flatten() {
                Some(w) => w,
                None => {
                    let w = sink.wants(series);
                    if let Some(slot) = wanted.get_mut(b.series as usize) {
                        *slot = Some(w);
                    }
                    w
                }
            };
            if !want {
                report.blocks_not_wanted += 1;
                continue;
            }
            let Some(Some(dims)) = dict.dims.get(b.dims as usize) else {
                report.blocks_unresolved += 1;
                continue;
            };
            let meta = templates.entry((b.series, b.dims)).or_insert_with(|| BlockMeta {
                series: series.clone(),
                dims: dims.clone(),
                start: 0,
                update_every: 1,
                slots: 1,
            });
            meta.start = b.start;
            meta.update_every = b.update_every;
            meta.slots = b.slots;
            report.blocks += 1;
            let loc = BlockLocation { file: pair.id, offset: rec.offset, len: rec.len, index: i as u16 };
            sink.block(meta, loc);
        }
    }
}
