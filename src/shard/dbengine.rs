//! The dbengine of one shard, as the runtime drives it: creation from the configuration
//! (this shard's share of `page cache size` and `dbengine multihost disk space`, its
//! directory `<cache>/dbengine/shard-<K>/`), opening the files (recovery, then indexing
//! the blocks of the hosts this shard owns, wherever they were written), the flusher and
//! drop-report tasks, the back-pressure wait of the ingest path, the flush on clean exit,
//! and the cross-shard stats gathering.
//!
//! Invariants: one engine per shard, created before any host; a receiver waits for room
//! before reading more from its socket, at most [`MAX_STALL`] at a time, after which the
//! oldest dirty blocks are dropped (counted, and logged once per [`REPORT_EVERY`]); the
//! flusher writes an extent as soon as [`EXTENT_BYTES`] wait, or whatever waits once the
//! oldest of it has waited [`FLUSH_DELAY`]; written data is synced at most every
//! [`SYNC_EVERY`]; on a clean exit every open block is sealed, flushed and synced.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use strata_storage::dbengine::files::{
    CollectBlocks, DirPlan, DmaIo, FilesOptions, Io, RecoveryReport, ShardFiles, StdIo,
};
use strata_storage::dbengine::{AttachedFiles, BlockFiles, Engine, EngineConfig, EngineStats};

use crate::config::Config;

use super::messages::Msg;
use super::owner::owner_of;
use super::shutdown::Hook;
use super::state::{Reply, Shard};

const MIB: u64 = 1024 * 1024;
/// Longest single wait of a receiver for the flusher before data is dropped.
pub const MAX_STALL: Duration = Duration::from_secs(30);
/// How often dropped data is logged (when there is any).
pub const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Pause after a failed flush before the next try.
const FLUSH_RETRY: Duration = Duration::from_secs(1);
/// Block payload bytes per extent. Bigger extents compress better (LZ4 sees more
/// repetition across charts) and waste less of their 4 KiB alignment padding (at most
/// 1.6 % of a full extent); 256 KiB is also a read of reasonable cost when a query needs
/// one block of it.
pub const EXTENT_BYTES: usize = 256 * 1024;
/// Longest time a sealed block waits for an extent to fill. Charts of a host seal their
/// blocks in bursts (they start together), so a few seconds gather a burst into one
/// extent; it adds only this much to the crash-loss window, which is dominated by the
/// open block's span (`block slots` × `update every`, 17 min by default).
pub const FLUSH_DELAY: Duration = Duration::from_secs(2);
/// Written data is made durable (fdatasync) at most this often. O_DIRECT writes are on
/// the device when they complete, so a crash of the process loses nothing written; the
/// sync bounds what a power loss can take from the device's volatile cache.
pub const SYNC_EVERY: Duration = Duration::from_secs(10);

/// What this shard's engine was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// `<cache>/dbengine`: the root of every shard's directory.
    pub root: PathBuf,
    /// `<cache>/dbengine/shard-<K>/`: where the shard's datafiles and journals live.
    pub dir: PathBuf,
    pub shard: usize,
    pub shards: usize,
    pub cache_bytes: u64,
    pub disk_quota_bytes: u64,
    pub block_slots: u32,
}

/// The directory of shard `shard`'s files under the cache directory.
pub fn shard_dir(cache: &Path, shard: usize) -> PathBuf {
    cache.join("dbengine").join(format!("shard-{shard}"))
}

/// This shard's share of the configured page cache and disk space.
pub fn settings(config: &Config, shard: usize, shards: usize) -> EngineSettings {
    let n = shards.max(1) as u64;
    EngineSettings {
        root: config.directories.cache.join("dbengine"),
        dir: shard_dir(&config.directories.cache, shard),
        shard,
        shards: shards.max(1),
        cache_bytes: config.global.page_cache_mib * MIB / n,
        disk_quota_bytes: config.global.dbengine_disk_mib * MIB / n,
        block_slots: config.global.dbengine_block_slots,
    }
}

/// The engine configuration of these settings.
fn engine_config(settings: &EngineSettings) -> EngineConfig {
    EngineConfig {
        block_slots: settings.block_slots,
        extent_bytes: EXTENT_BYTES,
        ..EngineConfig::new(settings.cache_bytes as usize)
    }
}

/// Creates the engine of a shard without files: sealed blocks stay in the page cache, and
/// the oldest are dropped (counted) when it is full.
pub fn create_in_memory(settings: &EngineSettings) -> Engine {
    Engine::new(engine_config(settings), None)
}

/// Whether the directory takes O_DIRECT files (tmpfs, for one, does not).
pub fn direct_io_works(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = dir.join(format!(".strata-odirect-probe-{}", std::process::id()));
    let ok = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe)
        .is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// Opens this shard's files with backend `io`: recovery, then the blocks of the hosts
/// this shard owns (in any directory) are collected.
async fn open_files<I: Io>(
    io: I,
    settings: &EngineSettings,
) -> Result<
    (
        Rc<dyn BlockFiles>,
        RecoveryReport,
        Vec<(strata_storage::dbengine::BlockMeta, strata_storage::dbengine::files::BlockLocation)>,
    ),
    String,
> {
    let (shard, shards) = (settings.shard, settings.shards);
    let plan = DirPlan::discover(&settings.root, shard as u32, shards as u32)
        .map_err(|e| format!("cannot list {}: {e}", settings.root.display()))?;
    let mut sink =
        CollectBlocks::new(|k: &strata_storage::dbengine::SeriesKey| owner_of(&k.host_guid, shards) == shard);
    let (files, report) =
        ShardFiles::open(io, &settings.root, &plan, settings.disk_quota_bytes, FilesOptions::default(), &mut sink)
            .await
            .map_err(|e| e.to_string())?;
    let files: Rc<dyn BlockFiles> = Rc::new(AttachedFiles::new(files));
    Ok((files, report, sink.blocks))
}

/// Creates the engine of a shard with its files attached: discovers the directories under
/// `<cache>/dbengine`, recovers them, and indexes every stored block of the hosts this
/// shard owns now (so a change of the shard count loses nothing). Logs what recovery did.
/// When the files cannot be opened at all, the engine runs in memory only (logged).
pub async fn create(settings: &EngineSettings) -> Engine {
    let shard = settings.shard;
    if let Err(e) = std::fs::create_dir_all(&settings.dir) {
        crate::error!(
            "DBENGINE shard {shard}: cannot create {}: {e}; sealed blocks stay in memory only",
            settings.dir.display()
        );
        return create_in_memory(settings);
    }
    let dma = direct_io_works(&settings.dir);
    let opened = if dma { open_engine(DmaIo, settings).await } else { open_engine(StdIo, settings).await };
    let (engine, report) = match opened {
        Ok(o) => o,
        Err(e) => {
            crate::error!("DBENGINE shard {shard}: cannot open the datafiles: {e}; sealed blocks stay in memory only");
            return create_in_memory(settings);
        }
    };
    for ev in &report.events {
        crate::error!("{ev}");
    }
    crate::info!(
        "{} (shard {shard}, {} I/O)",
        report.summary(),
        if dma { "O_DIRECT io_uring" } else { "buffered std" }
    );
    engine
}

/// Opens this shard's files with backend `io` and creates its engine over them, every
/// stored block of the hosts this shard owns indexed: what [`create`] does once it has
/// chosen the backend, without the logging and the in-memory fallback (benchmarks and
/// tests drive a chosen backend through it).
pub async fn open_engine<I: Io>(io: I, settings: &EngineSettings) -> Result<(Engine, RecoveryReport), String> {
    let (files, report, blocks) = open_files(io, settings).await?;
    let engine = Engine::new(engine_config(settings), Some(files));
    engine.index_recovered(blocks);
    Ok((engine, report))
}

/// Starts the shard's background engine tasks: the flusher (when a files layer is
/// attached) and the periodic report of dropped data.
pub fn spawn_tasks(engine: &Engine, shard: usize) {
    if engine.has_files() {
        glommio::spawn_local(flusher(engine.clone(), shard)).detach();
    }
    let e = engine.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(REPORT_EVERY).await;
            if let Some(r) = e.take_drop_report() {
                let why = if e.has_files() {
                    "the flusher could not keep up"
                } else {
                    "no datafiles are attached, the page cache is full"
                };
                crate::error!(
                    "DBENGINE shard {shard}: dropped {} block(s), {} value(s), {} bytes of collected data in the last {} s: {why}",
                    r.blocks,
                    r.values,
                    r.bytes,
                    REPORT_EVERY.as_secs()
                );
            }
        }
    })
    .detach();
}

/// The flusher: full extents at once, partial ones after [`FLUSH_DELAY`], a sync at most
/// every [`SYNC_EVERY`] after writes.
async fn flusher(e: Engine, shard: usize) {
    let mut due: Option<Instant> = None;
    let mut last_sync = Instant::now();
    let mut unsynced = false;
    loop {
        if e.unflushed_bytes() == 0 {
            due = None;
            if unsynced {
                let left = SYNC_EVERY.saturating_sub(last_sync.elapsed());
                let _ = glommio::timer::timeout(left, async {
                    e.wait_for_work().await;
                    Ok(())
                })
                .await;
            } else {
                e.wait_for_work().await;
            }
        }
        if e.unflushed_bytes() > 0 {
            let d = *due.get_or_insert_with(|| Instant::now() + FLUSH_DELAY);
            let now = Instant::now();
            let full = e.unflushed_bytes() >= EXTENT_BYTES || e.over_dirty_limit();
            if !full && now < d {
                let _ = glommio::timer::timeout(d - now, async {
                    e.wait_for_unflushed(EXTENT_BYTES).await;
                    Ok(())
                })
                .await;
                continue;
            }
            match e.flush_step().await {
                // Nothing could be written although blocks wait (the files were closed by
                // the shutdown hook): wait instead of spinning, which would starve the
                // shard's other tasks and its I/O completions.
                Ok(0) => glommio::timer::sleep(FLUSH_RETRY).await,
                Ok(_) => unsynced = true,
                Err(err) => {
                    crate::error!("DBENGINE shard {shard}: flush failed, will retry: {err}");
                    glommio::timer::sleep(FLUSH_RETRY).await;
                }
            }
        }
        if unsynced && last_sync.elapsed() >= SYNC_EVERY {
            if let Err(err) = e.sync().await {
                crate::error!("DBENGINE shard {shard}: sync failed: {err}");
            }
            last_sync = Instant::now();
            unsynced = false;
        }
    }
}

/// The clean-exit hook: seals every open block of this shard's hosts, writes every dirty
/// block, syncs and closes the files, and logs what it did.
pub fn shutdown_hook() -> Hook {
    Box::new(|shard| {
        Box::pin(async move {
            if !shard.engine.has_files() {
                return;
            }
            let t0 = Instant::now();
            let mut sealed = 0usize;
            for (_, host) in shard.registry.borrow_mut().iter_mut() {
                for chart in &mut host.charts {
                    sealed += usize::from(chart.store.seal());
                }
            }
            let flushed = shard.engine.flush_all().await;
            let synced = shard.engine.sync().await;
            let closed = shard.engine.close_files().await;
            match (flushed, synced, closed) {
                (Ok(n), Ok(()), Ok(())) => crate::info!(
                    "DBENGINE shard {}: {sealed} open block(s) sealed, {n} block(s) written, files synced and closed in {} ms",
                    shard.id,
                    t0.elapsed().as_millis()
                ),
                (f, s, c) => {
                    let errs: Vec<String> =
                        [f.err(), s.err(), c.err()].into_iter().flatten().map(|e| e.to_string()).collect();
                    crate::error!(
                        "DBENGINE shard {}: flush on exit failed, unwritten blocks are lost: {}",
                        shard.id,
                        errs.join("; ")
                    );
                }
            }
        })
    })
}

/// The ingest path's back-pressure: waits while dirty bytes exceed the page cache, at
/// most [`MAX_STALL`]; then drops the oldest dirty blocks to make room.
pub async fn wait_for_room(engine: &Engine) {
    if !engine.over_dirty_limit() {
        return;
    }
    let started = Instant::now();
    let waited = glommio::timer::timeout(MAX_STALL, async {
        engine.wait_for_room().await;
        Ok(())
    })
    .await;
    if waited.is_err() {
        engine.drop_to_fit();
    }
    engine.note_wait(started.elapsed().as_millis() as u64);
}

/// Stats of every shard's engine, in shard order (this one's read directly, the others
/// by message).
pub async fn gather(shard: &Shard) -> Vec<(usize, EngineSettings, EngineStats)> {
    let mut out = Vec::with_capacity(shard.shards);
    for to in 0..shard.shards {
        let stats = if to == shard.id {
            Some(shard.engine.stats())
        } else {
            match shard.ask(to, |id| Msg::EngineStats { id, from: shard.id }).await {
                Some(Reply::EngineStats(s)) => Some(*s),
                _ => None,
            }
        };
        if let Some(s) = stats {
            out.push((to, settings(&shard.config, to, shard.shards), s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_directories() {
        let mut c = crate::config::load(None, &[]).unwrap();
        c.directories.cache = PathBuf::from("/c");
        let s = settings(&c, 1, 2);
        assert_eq!(s.dir, PathBuf::from("/c/dbengine/shard-1"));
        assert_eq!((s.cache_bytes, s.disk_quota_bytes), (16 * MIB, 128 * MIB));
        assert_eq!((s.root.clone(), s.shard, s.shards), (PathBuf::from("/c/dbengine"), 1, 2));
        let e = create_in_memory(&s);
        assert_eq!(e.stats().cache_limit_bytes, 16 * MIB);
        assert!(!e.has_files());
    }
}
