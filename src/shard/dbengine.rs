//! The dbengine of one shard, as the runtime drives it: creation from the configuration
//! (this shard's share of `page cache size` and `dbengine multihost disk space`, its
//! directory `<cache>/dbengine/shard-<K>/`), the flusher and drop-report tasks, the
//! back-pressure wait of the ingest path, and the cross-shard stats gathering.
//!
//! Invariants: one engine per shard, created before any host; a receiver waits for room
//! before reading more from its socket, at most [`MAX_STALL`] at a time, after which the
//! oldest dirty blocks are dropped (counted, and logged once per [`REPORT_EVERY`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use strata_storage::dbengine::{Engine, EngineConfig, EngineStats};

use crate::config::Config;

use super::messages::Msg;
use super::state::{Reply, Shard};

const MIB: u64 = 1024 * 1024;
/// Longest single wait of a receiver for the flusher before data is dropped.
pub const MAX_STALL: Duration = Duration::from_secs(30);
/// How often dropped data is logged (when there is any).
pub const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Pause after a failed flush before the next try.
const FLUSH_RETRY: Duration = Duration::from_secs(1);

/// What this shard's engine was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// `<cache>/dbengine/shard-<K>/`: where the shard's datafiles and journals live.
    pub dir: PathBuf,
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
        dir: shard_dir(&config.directories.cache, shard),
        cache_bytes: config.global.page_cache_mib * MIB / n,
        disk_quota_bytes: config.global.dbengine_disk_mib * MIB / n,
        block_slots: config.global.dbengine_block_slots,
    }
}

/// Creates the engine of a shard. No files layer is attached yet: sealed blocks stay in
/// the page cache, and the oldest are dropped (counted) when it is full.
pub fn create(settings: &EngineSettings) -> Engine {
    let cfg = EngineConfig { block_slots: settings.block_slots, ..EngineConfig::new(settings.cache_bytes as usize) };
    Engine::new(cfg, None)
}

/// Starts the shard's background engine tasks: the flusher (when a files layer is
/// attached) and the periodic report of dropped data.
pub fn spawn_tasks(engine: &Engine, shard: usize) {
    if engine.has_files() {
        let e = engine.clone();
        glommio::spawn_local(async move {
            loop {
                e.wait_for_work().await;
                if let Err(err) = e.flush_step().await {
                    crate::error!("DBENGINE shard {shard}: flush failed, will retry: {err}");
                    glommio::timer::sleep(FLUSH_RETRY).await;
                }
            }
        })
        .detach();
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
        let e = create(&s);
        assert_eq!(e.stats().cache_limit_bytes, 16 * MIB);
        assert!(!e.has_files());
    }
}
