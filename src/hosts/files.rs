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
}

/// Deletes (`delete`) or keeps the files of a host that is being removed; `cache_dir`
/// is `[directories] cache`, where per-host files live.
pub fn on_host_removed(host: &Host, cache_dir: &Path, delete: bool) -> std::io::Result<FilesOutcome> {
    let _ = (cache_dir, delete);
    match host.memory_mode {
        MemoryMode::None | MemoryMode::Ram => Ok(FilesOutcome::NoFiles),
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
}
