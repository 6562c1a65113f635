//! One shard's engine as the storage benchmark opens it: the backend, the settings, the
//! executor it runs in, and what its directory holds.
//!
//! Owns: [`Backend`] (std buffered files or glommio O_DIRECT), the engine settings of a
//! one-shard daemon at its default page cache and block length (the disk quota is the
//! benchmark's, large enough that nothing rotates), opening through the daemon's own
//! [`open_engine`], a glommio executor per phase (both backends run in one, as in a
//! shard), the size of the files, and evicting them from the OS page cache.
//! Invariants: the engine is opened only through the daemon's code path; eviction only
//! touches files of the benchmark's scratch directory and only after they were synced.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use glommio::{LocalExecutorBuilder, Placement};
use strata::config::netdata_conf::DEFAULT_PAGE_CACHE_MIB;
use strata::shard::dbengine::{open_engine, shard_dir, EngineSettings};
use strata_storage::dbengine::engine::DEFAULT_BLOCK_SLOTS;
use strata_storage::dbengine::files::{DmaIo, RecoveryReport, StdIo};
use strata_storage::Engine;

/// io_uring buffer memory of the executor: what a shard of a 2-core daemon gets under an
/// 8 MiB locked-memory limit (`RLIMIT_MEMLOCK / (2 × shards)`).
pub const IO_MEMORY: usize = 2 << 20;

/// The files backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `StdIo`: std files through the OS page cache.
    Std,
    /// `DmaIo`: glommio `DmaFile`, O_DIRECT through io_uring (what the daemon picks when
    /// the directory allows it).
    Dma,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Std => "std",
            Backend::Dma => "dma",
        }
    }
}

/// Settings of shard 0 of 1 under `cache` (the daemon's `<cache dir>`).
pub fn settings(cache: &Path, quota_bytes: u64) -> EngineSettings {
    EngineSettings {
        root: cache.join("dbengine"),
        dir: shard_dir(cache, 0),
        shard: 0,
        shards: 1,
        cache_bytes: DEFAULT_PAGE_CACHE_MIB << 20,
        disk_quota_bytes: quota_bytes,
        block_slots: DEFAULT_BLOCK_SLOTS,
    }
}

/// Opens (recovers) the shard's files with `backend` and indexes every stored block.
pub async fn open(backend: Backend, s: &EngineSettings) -> anyhow::Result<(Engine, RecoveryReport)> {
    std::fs::create_dir_all(&s.dir).with_context(|| format!("creating {}", s.dir.display()))?;
    let r = match backend {
        Backend::Std => open_engine(StdIo, s).await,
        Backend::Dma => open_engine(DmaIo, s).await,
    };
    r.map_err(|e| anyhow!("opening the {} files in {}: {e}", backend.label(), s.dir.display()))
}

/// Runs `f` to completion in a fresh glommio executor (its tasks end with it).
pub fn in_executor<T, F, Fut>(f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    LocalExecutorBuilder::new(Placement::Unbound)
        .name("storage-bench")
        .io_memory(IO_MEMORY)
        .spawn(f)
        .map_err(|e| anyhow!("starting a glommio executor: {e}"))?
        .join()
        .map_err(|e| anyhow!("executor: {e:?}"))
}

/// Regular files under `dir` (recursively).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&p)),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
    out
}

/// Bytes of the shard's files by kind: (datafiles, journals, anything else).
pub fn sizes(dir: &Path) -> (u64, u64, u64) {
    let (mut data, mut journal, mut other) = (0, 0, 0);
    for p in files_under(dir) {
        let len = std::fs::metadata(&p).map_or(0, |m| m.len());
        match p.extension().and_then(|e| e.to_str()) {
            Some("sdf") => data += len,
            Some("sjf") => journal += len,
            _ => other += len,
        }
    }
    (data, journal, other)
}

/// Writes back and drops every file under `dir` from the OS page cache, so the next read
/// comes from the device (`fsync`, then `posix_fadvise(DONTNEED)`); returns how many files.
pub fn evict(dir: &Path) -> anyhow::Result<usize> {
    let files = files_under(dir);
    for p in &files {
        let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
        f.sync_all().with_context(|| format!("syncing {}", p.display()))?;
        // SAFETY: a valid open descriptor; offset 0 and length 0 mean the whole file.
        let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(anyhow!("posix_fadvise({}): error {rc}", p.display()));
        }
    }
    Ok(files.len())
}
