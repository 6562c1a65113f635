//! An in-memory [`BlockFiles`] for the engine's unit tests: extents are kept in a vector
//! (the datafile number is the extent's position / `per_file`), writes can be made to
//! fail, and deletions are reported like a quota rotation would.

use std::cell::{Cell, RefCell};

use super::block::BlockMeta;
use super::seam::{BlockFiles, DiskLocation, FilesError, FilesStats, LocalFuture};

#[derive(Default)]
pub struct MemFiles {
    pub extents: RefCell<Vec<Option<Vec<Vec<u8>>>>>,
    pub metas: RefCell<Vec<BlockMeta>>,
    pub fail_writes: Cell<bool>,
    pub deleted: RefCell<Vec<u32>>,
    pub bytes_written: Cell<u64>,
    pub reads: Cell<u64>,
}

impl MemFiles {
    /// Drops extent `n` (its "datafile" is `n`) and reports it deleted.
    pub fn delete(&self, n: u32) {
        if let Some(e) = self.extents.borrow_mut().get_mut(n as usize) {
            *e = None;
        }
        self.deleted.borrow_mut().push(n);
    }
}

impl BlockFiles for MemFiles {
    fn write_extent<'a>(
        &'a self,
        blocks: &'a [(BlockMeta, Vec<u8>)],
    ) -> LocalFuture<'a, Result<Vec<DiskLocation>, FilesError>> {
        Box::pin(async move {
            if self.fail_writes.get() {
                return Err(FilesError::Write { blocks: blocks.len(), reason: "disk full".into() });
            }
            let mut ex = self.extents.borrow_mut();
            let n = ex.len() as u32;
            let len: usize = blocks.iter().map(|(_, p)| p.len()).sum();
            self.bytes_written.set(self.bytes_written.get() + len as u64);
            ex.push(Some(blocks.iter().map(|(_, p)| p.clone()).collect()));
            self.metas.borrow_mut().extend(blocks.iter().map(|(m, _)| m.clone()));
            Ok((0..blocks.len())
                .map(|i| DiskLocation { datafile: n, extent_offset: 0, extent_len: len as u32, index: i as u32 })
                .collect())
        })
    }

    fn read_block<'a>(&'a self, loc: &'a DiskLocation) -> LocalFuture<'a, Result<Vec<u8>, FilesError>> {
        Box::pin(async move {
            self.reads.set(self.reads.get() + 1);
            let ex = self.extents.borrow();
            ex.get(loc.datafile as usize)
                .and_then(|e| e.as_ref())
                .and_then(|e| e.get(loc.index as usize))
                .cloned()
                .ok_or(FilesError::Read {
                    datafile: loc.datafile,
                    offset: loc.extent_offset,
                    index: loc.index,
                    reason: "gone".into(),
                })
        })
    }

    fn take_deleted_datafiles(&self) -> Vec<u32> {
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
