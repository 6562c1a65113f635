//! What happens to a host's files on disk when the host is removed (orphan cleanup,
//! streaming-protocol.md §5.5: `delete orphan hosts files`).
//!
//! Owns: [`on_host_removed`], the single place where a memory mode's files are deleted
//! (`delete orphan hosts files = yes`) or kept for a later run (`no`). Invariants: the
//! match on the memory mode is exhaustive, so a memory mode with files cannot be added
//! without deciding here what removal does to them; nothing is deleted outside the
//! host's own files.

use std::path::Path;

use super::{Host, MemoryMode};

/// What removal did to the host's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesOutcome {
    /// The memory mode keeps nothing on disk.
    NoFiles,
    /// `save` / `map`: the host's files were written out (save) or flushed (map) and kept.
    Kept,
    /// `save` / `map`: the host's directory was deleted.
    Deleted,
    /// `dbengine`: the host's blocks share datafiles with other hosts; they stay until the
    /// disk quota rotates their datafiles out (as Netdata's multihost dbengine).
    Shared,
}

/// Deletes (`delete`) or keeps the files of a host that is being removed; `cache_dir`
/// is `[directories] cache`, where per-host files live.
pub fn on_host_removed(host: &Host, cache_dir: &Path, delete: bool) -> std::io::Result<FilesOutcome> {
    match host.memory_mode {
        MemoryMode::None | MemoryMode::Ram => Ok(FilesOutcome::NoFiles),
        MemoryMode::DbEngine => Ok(FilesOutcome::Shared),
        MemoryMode::Save | MemoryMode::Map => {
            let dir = host.files_dir.clone().unwrap_or_else(|| cache_dir.join(&host.info.machine_guid));
            if !dir.starts_with(cache_dir) || host.info.machine_guid.is_empty() {
                return Err(std::io::Error::other(format!("{} is not a host directory of the cache", dir.display())));
            }
            if delete {
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => Ok(FilesOutcome::Deleted),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FilesOutcome::Deleted),
                    Err(e) => Err(e),
                }
            } else {
                for c in &host.charts {
                    c.store.persist().map_err(|e| std::io::Error::other(e.to_string()))?;
                }
                Ok(FilesOutcome::Kept)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::HostInfo;

    #[test]
    fn memory_only_modes_have_nothing_on_disk() {
        let dir = std::env::temp_dir().join(format!("strata-files-{}", std::process::id()));
        for mode in [MemoryMode::None, MemoryMode::Ram] {
            let h = Host::new(HostInfo::default(), mode, 5);
            for delete in [true, false] {
                assert_eq!(on_host_removed(&h, &dir, delete).unwrap(), FilesOutcome::NoFiles);
            }
        }
        assert!(!dir.exists(), "nothing was created");
    }

    #[test]
    fn save_files_are_kept_or_deleted() {
        let cache = tempfile::tempdir().unwrap();
        let guid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
        let mut h = Host::new(HostInfo { machine_guid: guid.into(), ..HostInfo::default() }, MemoryMode::Save, 5);
        let dir = cache.path().join(guid);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x.ring"), b"ring").unwrap();
        h.files_dir = Some(dir.clone());
        assert_eq!(on_host_removed(&h, cache.path(), false).unwrap(), FilesOutcome::Kept);
        assert!(dir.join("x.ring").exists());
        assert_eq!(on_host_removed(&h, cache.path(), true).unwrap(), FilesOutcome::Deleted);
        assert!(!dir.exists());
        h.files_dir = Some(std::path::PathBuf::from("/etc"));
        assert!(on_host_removed(&h, cache.path(), true).is_err(), "never outside the cache");
        let db = Host::new(HostInfo::default(), MemoryMode::DbEngine, 5);
        assert_eq!(on_host_removed(&db, cache.path(), true).unwrap(), FilesOutcome::Shared);
    }
}
