//! An in-memory [`BlockFiles`] for the engine's unit tests: extents are kept in a vector
//! (extent `n` is "datafile" `n` of directory 0), writes can be made to fail, and
//! deletions are reported like a quota rotation would.

use std::cell::{Cell, RefCell};

use super::block::BlockMeta;
use super::cache::Payload;
use super::files::{BlockLocation, FileId, FilesError, FilesStats};
use super::seam::{BlockFiles, LocalFuture};

#[derive(Default)]
pub struct MemFiles {
    pub extents: RefCell<Vec<Option<Vec<Vec<u8>>>>>,
    pub metas: RefCell<Vec<BlockMeta>>,
    pub fail_writes: Cell<bool>,
    pub deleted: RefCell<Vec<FileId>>,
    pub bytes_written: Cell<u64>,
    pub reads: Cell<u64>,
    pub syncs: Cell<u64>,
}

/// The id of in-memory datafile `n`.
pub fn file(n: u32) -> FileId {
    FileId { dir: 0, seq: n }
}

impl MemFiles {
    /// Drops extent `n` (its "datafile" is `n`) and reports it deleted.
    pub fn delete(&self, n: u32) {
        if let Some(e) = self.extents.borrow_mut().get_mut(n as usize) {
            *e = None;
        }
        self.deleted.borrow_mut().push(file(n));
    }
}

impl BlockFiles for MemFiles {
    fn write_extent<'a>(
        &'a self,
        blocks: &'a [(BlockMeta, Payload)],
    ) -> LocalFuture<'a, Result<Vec<BlockLocation>, FilesError>> {
        Box::pin(async move {
            if self.fail_writes.get() {
                return Err(FilesError::Io {
                    op: "write extent",
                    path: "mem".into(),
                    source: std::io::Error::other("disk full"),
                });
            }
            let mut ex = self.extents.borrow_mut();
            let n = ex.len() as u32;
            let len: usize = blocks.iter().map(|(_, p)| p.len()).sum();
            self.bytes_written.set(self.bytes_written.get() + len as u64);
            ex.push(Some(blocks.iter().map(|(_, p)| p.to_vec()).collect()));
            self.metas.borrow_mut().extend(blocks.iter().map(|(m, _)| m.clone()));
            Ok((0..blocks.len())
                .map(|i| BlockLocation { file: file(n), offset: 4096, len: len as u32, index: i as u16 })
                .collect())
        })
    }

    fn read_block<'a>(&'a self, loc: &'a BlockLocation) -> LocalFuture<'a, Result<Vec<u8>, FilesError>> {
        Box::pin(async move {
            self.reads.set(self.reads.get() + 1);
            let ex = self.extents.borrow();
            ex.get(loc.file.seq as usize)
                .and_then(|e| e.as_ref())
                .and_then(|e| e.get(usize::from(loc.index)))
                .cloned()
                .ok_or(FilesError::Gone { file: loc.file })
        })
    }

    fn sync(&self) -> LocalFuture<'_, Result<(), FilesError>> {
        self.syncs.set(self.syncs.get() + 1);
        Box::pin(async { Ok(()) })
    }

    fn close(&self) -> LocalFuture<'_, Result<(), FilesError>> {
        Box::pin(async { Ok(()) })
    }

    fn take_deleted_datafiles(&self) -> Vec<FileId> {
        std::mem::take(&mut *self.deleted.borrow_mut())
    }

    fn stats(&self) -> FilesStats {
        FilesStats {
            bytes_written: self.bytes_written.get(),
            datafiles: self.extents.borrow().iter().filter(|e| e.is_some()).count() as u64,
            ..FilesStats::default()
        }
    }
}
