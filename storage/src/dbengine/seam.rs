//! The seam between the engine and the files layer: where sealed blocks go and where they
//! come back from.
//!
//! Owns: the [`BlockFiles`] trait, and [`AttachedFiles`], its implementation over the
//! files layer ([`ShardFiles`], any [`Io`] backend). The engine never touches a file: it
//! hands batches of sealed blocks to [`BlockFiles::write_extent`], records the returned
//! [`BlockLocation`]s in its index, and asks [`BlockFiles::read_block`] for a block that is
//! no longer cached.
//!
//! Invariants the engine relies on: `write_extent` returns exactly one location per block,
//! in the order given, and only after the bytes are written (a block is "clean" from then
//! on and may be evicted from the page cache); a location stays readable until its datafile
//! is reported by [`BlockFiles::take_deleted_datafiles`]; methods take `&self` because a
//! read may run while a write is in flight. [`AttachedFiles`] keeps the writer in a
//! `RefCell<Option<_>>` and *takes it out* for the duration of a write, sync or close, so
//! no borrow is ever held across an await: one write is in flight at a time (a second one
//! fails with [`FilesError::Invalid`] instead of waiting), reads go through a clonable
//! [`FilesReader`] and run concurrently with it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;

use super::block::BlockMeta;
use super::cache::Payload;
use super::files::format::FormatError;
use super::files::{BlockLocation, FileId, FilesError, FilesReader, FilesStats, Io, ShardFiles};

/// A boxed future that stays on its shard (not `Send`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The files layer of one shard, as the engine uses it.
pub trait BlockFiles {
    /// Writes `blocks` (metadata and the cached payload, shared, not copied) as one
    /// extent; one location per block, in order.
    fn write_extent<'a>(
        &'a self,
        blocks: &'a [(BlockMeta, Payload)],
    ) -> LocalFuture<'a, Result<Vec<BlockLocation>, FilesError>>;

    /// Reads back the payload of one block.
    fn read_block<'a>(&'a self, location: &'a BlockLocation) -> LocalFuture<'a, Result<Vec<u8>, FilesError>>;

    /// Makes everything written so far durable.
    fn sync(&self) -> LocalFuture<'_, Result<(), FilesError>>;

    /// Seals the open files; later writes fail.
    fn close(&self) -> LocalFuture<'_, Result<(), FilesError>>;

    /// Datafiles deleted (quota rotation) since the last call: every block located in them
    /// is gone.
    fn take_deleted_datafiles(&self) -> Vec<FileId>;

    /// Current counters.
    fn stats(&self) -> FilesStats;
}

/// [`BlockFiles`] over one shard's [`ShardFiles`].
pub struct AttachedFiles<I: Io> {
    /// The writer; `None` while a write, sync or close has it (or after close).
    writer: RefCell<Option<ShardFiles<I>>>,
    reader: FilesReader<I>,
    deleted: RefCell<Vec<FileId>>,
    /// The writer's stats as of its last return (served while it is out).
    last_stats: Cell<FilesStats>,
    closed: Cell<bool>,
}

fn busy(what: &str) -> FilesError {
    FilesError::Invalid(FormatError::invalid("shard files", format!("{what} while another operation is in flight")))
}

impl<I: Io> AttachedFiles<I> {
    pub fn new(files: ShardFiles<I>) -> Self {
        AttachedFiles {
            reader: files.reader(),
            last_stats: Cell::new(files.stats()),
            writer: RefCell::new(Some(files)),
            deleted: RefCell::new(Vec::new()),
            closed: Cell::new(false),
        }
    }

    fn take(&self, what: &str) -> Result<ShardFiles<I>, FilesError> {
        if self.closed.get() {
            return Err(FilesError::Invalid(FormatError::invalid("shard files", format!("{what} after close"))));
        }
        self.writer.borrow_mut().take().ok_or_else(|| busy(what))
    }

    fn put_back(&self, files: ShardFiles<I>) {
        self.last_stats.set(files.stats());
        *self.writer.borrow_mut() = Some(files);
    }
}

impl<I: Io> BlockFiles for AttachedFiles<I> {
    fn write_extent<'a>(
        &'a self,
        blocks: &'a [(BlockMeta, Payload)],
    ) -> LocalFuture<'a, Result<Vec<BlockLocation>, FilesError>> {
        Box::pin(async move {
            let mut files = self.take("write")?;
            let r = files.write_extent(blocks).await;
            self.put_back(files);
            let w = r?;
            self.deleted.borrow_mut().extend(w.deleted);
            Ok(w.locations)
        })
    }

    fn read_block<'a>(&'a self, location: &'a BlockLocation) -> LocalFuture<'a, Result<Vec<u8>, FilesError>> {
        let reader = self.reader.clone();
        Box::pin(async move { reader.read_block(location).await })
    }

    fn sync(&self) -> LocalFuture<'_, Result<(), FilesError>> {
        Box::pin(async move {
            let mut files = self.take("sync")?;
            let r = files.sync().await;
            self.put_back(files);
            r
        })
    }

    fn close(&self) -> LocalFuture<'_, Result<(), FilesError>> {
        Box::pin(async move {
            let files = self.take("close")?;
            self.closed.set(true);
            self.last_stats.set(files.stats());
            files.close().await
        })
    }

    fn take_deleted_datafiles(&self) -> Vec<FileId> {
        std::mem::take(&mut *self.deleted.borrow_mut())
    }

    fn stats(&self) -> FilesStats {
        let live = self.writer.borrow().as_ref().map(ShardFiles::stats);
        match live {
            Some(s) => {
                self.last_stats.set(s);
                s
            }
            // While the writer is out, sizes are as of its last return; counters are live.
            None => self.reader.stats_into(self.last_stats.get()),
        }
    }
}
