//! The dbengine of one shard: page cache + block index + flushing + query loading.
//!
//! Owns: the shard's [`Index`] and [`PageCache`], the optional files layer behind the
//! [`BlockFiles`] seam, and the counters `/api/v1/dbengine` shows. One engine per shard,
//! single-threaded: charts hold cheap clones of the [`Engine`] handle (`Rc`), and the inner
//! state is a `RefCell` that is never borrowed across an await.
//!
//! Invariants: every sealed block is indexed before it is cached, and leaves the cache only
//! by eviction (clean), by being dropped under pressure (dirty; counted in `dropped_*`), or
//! when its datafile is deleted; a block is clean only after `write_extent` returned its
//! location. Without a files layer the engine keeps sealed blocks in memory only: dirty
//! bytes are then capped at the page cache size by dropping the oldest blocks (counted),
//! so retention is what the page cache holds. With a files layer, dirty bytes above the
//! limit make [`Engine::wait_for_room`] block the ingest path until the flusher catches up.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use compact_str::CompactString;

use event_listener::Event;

use super::block::{BlockMeta, SeriesKey};
use super::cache::{BlockId, DirtyBlock, PageCache};
use super::codec::decode_column;
use super::files::{BlockLocation, FileId, FilesError, FilesStats};
use super::index::{Index, IndexedBlock, SeriesId};
use super::seam::BlockFiles;
use crate::Sample;

/// Slots per block unless configured otherwise (128 slots: about 2.1 minutes at 1 s). Chosen
/// by measurement (bench/results/encoding.md): on a real child 0.97 bytes per sample against
/// 0.92 at 256 and 0.89 at 1024, for half the crash window and half the open block's memory
/// of 256 slots (~167 B per column instead of ~324), which is what keeps a parent within
/// half a KiB of RAM per collected metric.
pub const DEFAULT_BLOCK_SLOTS: u32 = 128;
/// Most payload bytes handed to the files layer in one extent.
pub const DEFAULT_EXTENT_BYTES: usize = 256 * 1024;
/// A gap of at most this many slots inside an open block is stored as gap rows; a longer
/// one seals the block and the next value starts a new one.
pub const MAX_INLINE_GAP: i64 = 64;

/// Settings of one shard's engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// This shard's share of `page cache size`, in bytes.
    pub cache_bytes: usize,
    /// Slots per block (at least 1).
    pub block_slots: u32,
    /// Payload bytes per flushed extent.
    pub extent_bytes: usize,
}

impl EngineConfig {
    pub fn new(cache_bytes: usize) -> Self {
        EngineConfig { cache_bytes, block_slots: DEFAULT_BLOCK_SLOTS, extent_bytes: DEFAULT_EXTENT_BYTES }
    }
}

/// A block just sealed by a chart.
#[derive(Debug)]
pub(crate) struct SealedBlock {
    pub start: i64,
    pub update_every: u32,
    pub slots: u32,
    /// Values (not gaps) in it.
    pub values: u64,
    pub payload: Vec<u8>,
}

/// A range of one series a query is about to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSpan {
    pub series: SeriesId,
    pub from: i64,
    pub to: i64,
}

/// Data dropped since the last report (dirty blocks removed under pressure).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropReport {
    pub blocks: u64,
    pub values: u64,
    pub bytes: u64,
}

/// Everything `/api/v1/dbengine` shows for one shard. Plain data (crosses shards).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EngineStats {
    /// A files layer is attached (otherwise sealed blocks live in memory only).
    pub files_attached: bool,
    pub cache_limit_bytes: u64,
    /// Dirty + clean payload bytes in the page cache.
    pub cache_used_bytes: u64,
    pub cache_dirty_bytes: u64,
    pub cache_clean_bytes: u64,
    pub cache_dirty_blocks: u64,
    pub cache_clean_blocks: u64,
    /// Encoded bytes of the blocks still open (being collected), outside the page cache.
    pub open_bytes: u64,
    /// Dirty bytes and blocks not yet written (including the extent in flight).
    pub flush_backlog_bytes: u64,
    pub flush_backlog_blocks: u64,
    pub flush_in_flight_bytes: u64,
    pub series: u64,
    pub blocks_indexed: u64,
    pub blocks_on_disk: u64,
    pub blocks_sealed: u64,
    pub values_sealed: u64,
    pub bytes_sealed: u64,
    pub blocks_flushed: u64,
    pub values_flushed: u64,
    pub bytes_flushed: u64,
    /// Encoded payload bytes per stored value.
    pub encoded_bytes_per_sample: f64,
    /// Bytes written by the files layer this run (extents with their alignment padding,
    /// journals, headers) per value flushed this run (0 until something is written).
    pub disk_bytes_per_sample: f64,
    /// Stored extent bytes (compressed, without padding) per value flushed this run.
    pub extent_bytes_per_sample: f64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_evictions: u64,
    pub disk_loads: u64,
    pub load_errors: u64,
    pub flush_errors: u64,
    pub decode_errors: u64,
    pub dropped_blocks: u64,
    pub dropped_values: u64,
    pub dropped_bytes: u64,
    /// Blocks lost because their extent was damaged on disk (found when read).
    pub corrupt_blocks: u64,
    /// Times the ingest path waited for the flusher, and for how long in total.
    pub backpressure_waits: u64,
    pub backpressure_wait_ms: u64,
    pub files: FilesStats,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    blocks_sealed: u64,
    values_sealed: u64,
    bytes_sealed: u64,
    blocks_flushed: u64,
    values_flushed: u64,
    bytes_flushed: u64,
    cache_hits: u64,
    cache_misses: u64,
    disk_loads: u64,
    load_errors: u64,
    flush_errors: u64,
    decode_errors: u64,
    dropped: DropReport,
    reported: DropReport,
    corrupt_blocks: u64,
    waits: u64,
    wait_ms: u64,
}

struct Core {
    cfg: EngineConfig,
    index: Index,
    cache: PageCache,
    next_block: u64,
    open_bytes: usize,
    c: Counters,
}

impl Core {
    fn new_id(&mut self) -> BlockId {
        let id = BlockId(self.next_block);
        self.next_block += 1;
        id
    }

    /// Drops the oldest waiting dirty blocks until dirty bytes fit the limit.
    fn drop_over_limit(&mut self) -> usize {
        let mut n = 0;
        while self.cache.dirty_bytes() > self.cache.limit() {
            let Some((id, d)) = self.cache.pop_oldest_dirty() else { break };
            self.index.remove(d.series, d.start, id);
            self.c.dropped.blocks += 1;
            self.c.dropped.values += d.values;
            self.c.dropped.bytes += d.payload.len() as u64;
            n += 1;
        }
        n
    }
}

struct Inner {
    core: RefCell<Core>,
    files: Option<Rc<dyn BlockFiles>>,
    /// Dirty bytes went down (flush completed, blocks dropped).
    room: Event,
    /// Blocks are waiting to be flushed.
    work: Event,
    /// A write, sync or close of the files layer is under way (one at a time).
    io_busy: Cell<bool>,
    io_done: Event,
    /// The files layer was closed (clean shutdown): nothing more is written.
    closed: Cell<bool>,
    /// Told the duration of every successful extent write (see [`Engine::on_extent_written`]).
    extent_observer: RefCell<Option<ExtentObserver>>,
}

/// Called with the duration of one extent write, from its start to its completion.
pub type ExtentObserver = Box<dyn Fn(Duration)>;

/// Holds the engine's files I/O turn; releases it on drop.
struct IoTurn<'a>(&'a Inner);

impl Drop for IoTurn<'_> {
    fn drop(&mut self) {
        self.0.io_busy.set(false);
        self.0.io_done.notify(1);
    }
}

impl Inner {
    /// Waits for the files I/O turn (writes, syncs and close never overlap).
    async fn io_turn(&self) -> IoTurn<'_> {
        loop {
            if !self.io_busy.get() {
                self.io_busy.set(true);
                return IoTurn(self);
            }
            let l = self.io_done.listen();
            if !self.io_busy.get() {
                continue;
            }
            l.await;
        }
    }
}

/// Handle of one shard's engine (cheap to clone; all clones are the same engine).
#[derive(Clone)]
pub struct Engine(Rc<Inner>);

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.0.core.borrow();
        f.debug_struct("Engine")
            .field("cfg", &core.cfg)
            .field("series", &core.index.series_count())
            .field("files", &self.0.files.is_some())
            .finish()
    }
}

/// Pins on the blocks a query loaded; they stay cached until this is dropped.
#[derive(Debug)]
pub struct Pinned {
    engine: Engine,
    ids: Vec<BlockId>,
    failures: Vec<String>,
}

impl Pinned {
    /// What went wrong reading from disk (one line each, for the log). A damaged extent is
    /// reported once: its blocks leave the index, so later queries see a gap at once.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Blocks pinned.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Ok(mut core) = self.engine.0.core.try_borrow_mut() {
            for id in &self.ids {
                core.cache.unpin(*id);
            }
        }
    }
}

/// Writes the non-gap samples of one decoded block column into `out`, where `out[k]` is
/// slot `from + k * ue`. A block slot off the query grid (another `update_every`) fills
/// the grid slot before it only if nothing on the grid did.
fn place(samples: &[Sample], start: i64, block_ue: u32, from: i64, ue: u32, out: &mut [Sample]) {
    let (bue, ue) = (i64::from(block_ue.max(1)), i64::from(ue.max(1)));
    let first = if start >= from { 0 } else { ((from - start) + bue - 1) / bue };
    for (i, s) in samples.iter().enumerate().skip(first as usize) {
        if matches!(s, Sample::Gap) {
            continue;
        }
        let t = start + i as i64 * bue;
        let k = (t - from) / ue;
        match out.get_mut(k as usize) {
            Some(o) if (t - from) % ue == 0 || matches!(o, Sample::Gap) => *o = *s,
            Some(_) => {}
            None => break,
        }
    }
}

impl Engine {
    /// A new, empty engine; `files` is where sealed blocks go (none: memory only).
    pub fn new(cfg: EngineConfig, files: Option<Rc<dyn BlockFiles>>) -> Engine {
        let cfg = EngineConfig { block_slots: cfg.block_slots.max(1), extent_bytes: cfg.extent_bytes.max(1), ..cfg };
        let cache = PageCache::new(cfg.cache_bytes);
        Engine(Rc::new(Inner {
            core: RefCell::new(Core {
                cfg,
                index: Index::default(),
                cache,
                next_block: 0,
                open_bytes: 0,
                c: Counters::default(),
            }),
            files,
            room: Event::new(),
            work: Event::new(),
            io_busy: Cell::new(false),
            io_done: Event::new(),
            closed: Cell::new(false),
            extent_observer: RefCell::new(None),
        }))
    }

    /// Sets the function told how long each successful extent write took (from the call
    /// into the files layer to its completion); replaces any earlier one. The runtime uses
    /// it to keep its flush latency histogram; the engine itself keeps no latencies.
    pub fn on_extent_written(&self, observer: impl Fn(Duration) + 'static) {
        *self.0.extent_observer.borrow_mut() = Some(Box::new(observer));
    }

    pub fn config(&self) -> EngineConfig {
        self.0.core.borrow().cfg.clone()
    }

    /// A files layer is attached.
    pub fn has_files(&self) -> bool {
        self.0.files.is_some()
    }

    /// The id of a series (created empty if new).
    pub fn series(&self, key: SeriesKey) -> SeriesId {
        self.0.core.borrow_mut().index.series_id(key)
    }

    /// Indexes blocks found on disk at start-up (they are clean and not cached).
    pub fn index_recovered(&self, blocks: impl IntoIterator<Item = (BlockMeta, BlockLocation)>) {
        let mut core = self.0.core.borrow_mut();
        for (meta, loc) in blocks {
            let sid = core.index.series_id(meta.series.clone());
            let dims = core.index.intern_dims(sid, &meta.dims);
            let id = core.new_id();
            let b = IndexedBlock {
                id,
                start: meta.start,
                update_every: meta.update_every,
                slots: meta.slots,
                dims,
                disk: Some(loc),
            };
            core.index.insert(sid, b);
        }
    }

    /// Takes a sealed block of `series` with columns `dims`: indexed, cached dirty,
    /// queued for the flusher.
    /// Returns the index's column set equal to `dims` (the same allocation when `dims` is
    /// already interned), for the chart to keep instead of its own copy.
    pub(crate) fn seal(&self, series: SeriesId, dims: &Rc<[CompactString]>, b: SealedBlock) -> Rc<[CompactString]> {
        let SealedBlock { start, update_every: ue, slots, values, payload } = b;
        let mut core = self.0.core.borrow_mut();
        let (d, shared) = core.index.intern_dim_set(series, dims);
        let id = core.new_id();
        core.index.insert(series, IndexedBlock { id, start, update_every: ue, slots, dims: d, disk: None });
        core.c.blocks_sealed += 1;
        core.c.values_sealed += values;
        core.c.bytes_sealed += payload.len() as u64;
        core.cache.insert_dirty(id, DirtyBlock { payload: payload.into(), series, start, values, in_flight: false });
        if self.0.files.is_none() {
            core.drop_over_limit();
        }
        drop(core);
        self.0.work.notify(usize::MAX);
        shared
    }

    /// Adjusts the bytes held by open blocks.
    pub(crate) fn open_bytes_changed(&self, old: usize, new: usize) {
        let mut core = self.0.core.borrow_mut();
        core.open_bytes = core.open_bytes.saturating_sub(old).saturating_add(new);
    }

    /// Start of the oldest sealed block of a series.
    pub fn first_time(&self, series: SeriesId) -> Option<i64> {
        let core = self.0.core.borrow();
        core.index.series(series)?.blocks.first().map(|b| b.start)
    }

    /// Last slot of the newest sealed block of a series.
    pub fn last_time(&self, series: SeriesId) -> Option<i64> {
        let core = self.0.core.borrow();
        core.index.series(series)?.blocks.iter().rev().take(4).map(IndexedBlock::end).max()
    }

    /// Fills `out[k]` with the sealed value of dimension `dim` at `from + k * ue`, for the
    /// blocks of `series` that are cached; other slots are left as they are.
    pub(crate) fn read_into(&self, series: SeriesId, dim: &str, from: i64, ue: u32, out: &mut [Sample]) {
        if out.is_empty() {
            return;
        }
        let to = from + (out.len() as i64 - 1) * i64::from(ue.max(1));
        let mut core = self.0.core.borrow_mut();
        let Core { index, cache, c, .. } = &mut *core;
        let Some(s) = index.series(series) else { return };
        let mut col = Vec::new();
        for b in s.overlapping(from, to) {
            let dims = s.dims_of(b);
            let Some(ci) = dims.iter().position(|d| d == dim) else { continue };
            let Some(p) = cache.get(b.id) else {
                c.cache_misses += 1;
                continue;
            };
            c.cache_hits += 1;
            if decode_column(&p, dims.len(), b.slots, ci, &mut col).is_err() {
                c.decode_errors += 1;
                continue;
            }
            place(&col, b.start, b.update_every, from, ue, out);
        }
    }

    /// Brings every on-disk block the spans touch into the cache and pins all their
    /// blocks until the returned guard is dropped. Without a files layer nothing is read.
    pub async fn load(&self, spans: &[LoadSpan]) -> Pinned {
        let mut ids = Vec::new();
        let mut fetch: Vec<(SeriesId, i64, BlockId, BlockLocation)> = Vec::new();
        {
            let mut core = self.0.core.borrow_mut();
            let Core { index, cache, .. } = &mut *core;
            for span in spans {
                let Some(s) = index.series(span.series) else { continue };
                for b in s.overlapping(span.from, span.to) {
                    cache.pin(b.id);
                    ids.push(b.id);
                    if let (false, Some(loc)) = (cache.contains(b.id), b.disk) {
                        fetch.push((span.series, b.start, b.id, loc));
                    }
                }
            }
        }
        let mut pinned = Pinned { engine: self.clone(), ids, failures: Vec::new() };
        let Some(files) = self.0.files.clone() else { return pinned };
        for (series, start, id, loc) in fetch {
            if self.0.core.borrow().index.block(series, start, id).is_none() {
                continue; // forgotten meanwhile (its extent failed earlier in this load)
            }
            let r = files.read_block(&loc).await;
            let mut core = self.0.core.borrow_mut();
            match r {
                Ok(p) => {
                    core.c.disk_loads += 1;
                    if core.index.block(series, start, id).is_some() {
                        core.cache.insert_clean(id, p.into());
                    }
                }
                Err(e) => {
                    core.c.load_errors += 1;
                    let gone = match &e {
                        FilesError::Corrupt { .. } => core.index.forget_extent(&loc),
                        FilesError::Gone { file } => core.index.forget_datafile(*file),
                        _ => Vec::new(),
                    };
                    for id in &gone {
                        core.cache.remove(*id);
                    }
                    let what = match &e {
                        FilesError::Corrupt { .. } => {
                            core.c.corrupt_blocks += gone.len() as u64;
                            format!("{} block(s) of that extent are lost, queries show a gap", gone.len())
                        }
                        FilesError::Gone { .. } => format!("{} block(s) forgotten", gone.len()),
                        _ => "will retry on the next query".to_string(),
                    };
                    let key = core.index.series(series).map(|s| s.key.clone());
                    let chart = key.map(|k| format!("host {} chart {}: ", k.host_guid, k.chart_id)).unwrap_or_default();
                    pinned.failures.push(format!("DBENGINE: {chart}{e}; {what}"));
                }
            }
        }
        pinned
    }

    /// Writes one batch of the oldest dirty blocks through the files layer; returns how
    /// many blocks were written (0: nothing to do or no files layer).
    pub async fn flush_step(&self) -> Result<usize, FilesError> {
        let Some(files) = self.0.files.clone() else { return Ok(0) };
        let _turn = self.0.io_turn().await;
        if self.0.closed.get() {
            return Ok(0);
        }
        let mut taken = Vec::new();
        let mut batch = Vec::new();
        {
            let mut core = self.0.core.borrow_mut();
            let max = core.cfg.extent_bytes;
            for (id, d) in core.cache.take_flush_batch(max) {
                let meta = core.index.block(d.series, d.start, id).and_then(|b| core.index.meta(d.series, b));
                match meta {
                    Some(m) => {
                        batch.push((m, d.payload.clone()));
                        taken.push((id, d));
                    }
                    None => core.cache.remove(id),
                }
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let write_started = Instant::now();
        let result = files.write_extent(&batch).await;
        if result.is_ok() {
            if let Some(observe) = self.0.extent_observer.borrow().as_ref() {
                observe(write_started.elapsed());
            }
        }
        let deleted = files.take_deleted_datafiles();
        let outcome = {
            let mut core = self.0.core.borrow_mut();
            let outcome = match result {
                Ok(locs) if locs.len() == taken.len() => {
                    for ((id, d), loc) in taken.iter().zip(locs) {
                        if core.index.set_location(d.series, d.start, *id, loc) {
                            core.cache.mark_written(*id);
                        } else {
                            core.cache.remove(*id);
                        }
                        core.c.blocks_flushed += 1;
                        core.c.values_flushed += d.values;
                        core.c.bytes_flushed += d.payload.len() as u64;
                    }
                    Ok(taken.len())
                }
                other => {
                    for (id, _) in &taken {
                        core.cache.mark_unwritten(*id);
                    }
                    core.c.flush_errors += 1;
                    Err(match other {
                        Err(e) => e,
                        Ok(locs) => FilesError::Invalid(super::files::format::FormatError::invalid(
                            "extent write",
                            format!("{} location(s) returned for {} block(s)", locs.len(), taken.len()),
                        )),
                    })
                }
            };
            for f in deleted {
                for id in core.index.forget_datafile(f) {
                    core.cache.remove(id);
                }
            }
            outcome
        };
        self.0.room.notify(usize::MAX);
        outcome
    }

    /// Writes every dirty block (in extents of at most `extent_bytes`); stops at the first
    /// error. Returns the blocks written.
    pub async fn flush_all(&self) -> Result<usize, FilesError> {
        let mut n = 0;
        loop {
            match self.flush_step().await? {
                0 => return Ok(n),
                k => n += k,
            }
        }
    }

    /// Dirty bytes not yet handed to the files layer.
    pub fn unflushed_bytes(&self) -> usize {
        self.0.core.borrow().cache.unflushed_bytes()
    }

    /// Makes everything written durable (nothing to do without files).
    pub async fn sync(&self) -> Result<(), FilesError> {
        let Some(f) = self.0.files.clone() else { return Ok(()) };
        let _turn = self.0.io_turn().await;
        if self.0.closed.get() {
            return Ok(());
        }
        f.sync().await
    }

    /// Seals the files layer's open files (clean shutdown, after [`Engine::flush_all`]);
    /// later flushes fail.
    pub async fn close_files(&self) -> Result<(), FilesError> {
        let Some(f) = self.0.files.clone() else { return Ok(()) };
        let _turn = self.0.io_turn().await;
        if self.0.closed.replace(true) {
            return Ok(());
        }
        f.close().await
    }

    /// Forgets every block of a deleted datafile.
    pub fn forget_datafile(&self, datafile: FileId) -> usize {
        let mut core = self.0.core.borrow_mut();
        let ids = core.index.forget_datafile(datafile);
        for id in &ids {
            core.cache.remove(*id);
        }
        ids.len()
    }

    /// Dirty bytes exceed the page cache limit: the ingest path should wait.
    pub fn over_dirty_limit(&self) -> bool {
        let core = self.0.core.borrow();
        core.cache.dirty_bytes() > core.cache.limit()
    }

    /// Completes when dirty bytes are within the limit (at once if they are).
    pub async fn wait_for_room(&self) {
        loop {
            if !self.over_dirty_limit() {
                return;
            }
            let listener = self.0.room.listen();
            if !self.over_dirty_limit() {
                return;
            }
            listener.await;
        }
    }

    /// Completes when sealed blocks are waiting to be written.
    pub async fn wait_for_work(&self) {
        loop {
            if self.0.core.borrow().cache.unflushed_bytes() > 0 {
                return;
            }
            let listener = self.0.work.listen();
            if self.0.core.borrow().cache.unflushed_bytes() > 0 {
                return;
            }
            listener.await;
        }
    }

    /// Completes when at least `min_bytes` wait to be written, or dirty bytes exceed the
    /// limit (the flusher should not wait for its time threshold then).
    pub async fn wait_for_unflushed(&self, min_bytes: usize) {
        let ready = || self.unflushed_bytes() >= min_bytes.max(1) || self.over_dirty_limit();
        loop {
            if ready() {
                return;
            }
            let listener = self.0.work.listen();
            if ready() {
                return;
            }
            listener.await;
        }
    }

    /// Drops the oldest dirty blocks until dirty bytes fit (the last resort when the
    /// flusher cannot keep up); returns how many were dropped.
    pub fn drop_to_fit(&self) -> usize {
        let n = self.0.core.borrow_mut().drop_over_limit();
        if n > 0 {
            self.0.room.notify(usize::MAX);
        }
        n
    }

    /// Records one wait of the ingest path for the flusher.
    pub fn note_wait(&self, millis: u64) {
        let mut core = self.0.core.borrow_mut();
        core.c.waits += 1;
        core.c.wait_ms += millis;
    }

    /// What was dropped since the last call (`None`: nothing).
    pub fn take_drop_report(&self) -> Option<DropReport> {
        let mut core = self.0.core.borrow_mut();
        let (d, r) = (core.c.dropped, core.c.reported);
        core.c.reported = d;
        let delta = DropReport { blocks: d.blocks - r.blocks, values: d.values - r.values, bytes: d.bytes - r.bytes };
        (delta.blocks > 0).then_some(delta)
    }

    /// Current counters.
    pub fn stats(&self) -> EngineStats {
        let files = self.0.files.as_ref().map(|f| f.stats()).unwrap_or_default();
        let core = self.0.core.borrow();
        let (cache, c) = (&core.cache, &core.c);
        let (blocks, on_disk) = core.index.block_counts();
        let per = |bytes: u64, values: u64| if values == 0 { 0.0 } else { bytes as f64 / values as f64 };
        EngineStats {
            files_attached: self.0.files.is_some(),
            cache_limit_bytes: cache.limit() as u64,
            cache_used_bytes: (cache.dirty_bytes() + cache.clean_bytes()) as u64,
            cache_dirty_bytes: cache.dirty_bytes() as u64,
            cache_clean_bytes: cache.clean_bytes() as u64,
            cache_dirty_blocks: cache.dirty_blocks() as u64,
            cache_clean_blocks: cache.clean_blocks() as u64,
            open_bytes: core.open_bytes as u64,
            flush_backlog_bytes: cache.dirty_bytes() as u64,
            flush_backlog_blocks: cache.dirty_blocks() as u64,
            flush_in_flight_bytes: cache.in_flight_bytes() as u64,
            series: core.index.series_count() as u64,
            blocks_indexed: blocks as u64,
            blocks_on_disk: on_disk as u64,
            blocks_sealed: c.blocks_sealed,
            values_sealed: c.values_sealed,
            bytes_sealed: c.bytes_sealed,
            blocks_flushed: c.blocks_flushed,
            values_flushed: c.values_flushed,
            bytes_flushed: c.bytes_flushed,
            encoded_bytes_per_sample: per(c.bytes_sealed, c.values_sealed),
            disk_bytes_per_sample: per(files.bytes_written, c.values_flushed),
            extent_bytes_per_sample: per(files.extent_bytes_written, c.values_flushed),
            cache_hits: c.cache_hits,
            cache_misses: c.cache_misses,
            cache_evictions: cache.counters().evictions,
            disk_loads: c.disk_loads,
            load_errors: c.load_errors,
            flush_errors: c.flush_errors,
            decode_errors: c.decode_errors,
            dropped_blocks: c.dropped.blocks,
            dropped_values: c.dropped.values,
            dropped_bytes: c.dropped.bytes,
            corrupt_blocks: c.corrupt_blocks,
            backpressure_waits: c.waits,
            backpressure_wait_ms: c.wait_ms,
            files,
        }
    }
}

impl EngineStats {
    /// Field-wise sum (ratios recomputed from the sums).
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a EngineStats>) -> EngineStats {
        let mut t = EngineStats::default();
        for s in all {
            t.files_attached |= s.files_attached;
            macro_rules! add {
                ($($f:ident),*) => { $( t.$f += s.$f; )* };
            }
            add!(
                cache_limit_bytes,
                cache_used_bytes,
                cache_dirty_bytes,
                cache_clean_bytes,
                cache_dirty_blocks,
                cache_clean_blocks,
                open_bytes,
                flush_backlog_bytes,
                flush_backlog_blocks,
                flush_in_flight_bytes,
                series,
                blocks_indexed,
                blocks_on_disk,
                blocks_sealed,
                values_sealed,
                bytes_sealed,
                blocks_flushed,
                values_flushed,
                bytes_flushed,
                cache_hits,
                cache_misses,
                cache_evictions,
                disk_loads,
                load_errors,
                flush_errors,
                decode_errors,
                dropped_blocks,
                dropped_values,
                dropped_bytes,
                corrupt_blocks,
                backpressure_waits,
                backpressure_wait_ms
            );
            t.files.add(&s.files);
        }
        let per = |bytes: u64, values: u64| if values == 0 { 0.0 } else { bytes as f64 / values as f64 };
        t.encoded_bytes_per_sample = per(t.bytes_sealed, t.values_sealed);
        t.disk_bytes_per_sample = per(t.files.bytes_written, t.values_flushed);
        t.extent_bytes_per_sample = per(t.files.extent_bytes_written, t.values_flushed);
        t
    }
}
