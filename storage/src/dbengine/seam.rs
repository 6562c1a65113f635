//! The seam between the engine and the files layer: where sealed blocks go and where they
//! come back from.
//!
//! Owns: the [`BlockFiles`] trait and the plain data that crosses it ([`DiskLocation`],
//! [`FilesStats`], [`FilesError`]). The engine never touches a file: it hands batches of
//! sealed blocks to [`BlockFiles::write_extent`], records the returned locations in its
//! index, and asks [`BlockFiles::read_block`] for a block that is no longer cached.
//!
//! Invariants the engine relies on: `write_extent` returns exactly one location per block,
//! in the order given, and only after the bytes are written (a block is "clean" from then
//! on and may be evicted from the page cache); a location stays readable until its datafile
//! is reported by [`BlockFiles::take_deleted_datafiles`]; methods take `&self` because a
//! read may run while a write is in flight (an implementation keeps its own state behind
//! interior mutability, never borrowed across an await).

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

use super::block::BlockMeta;

/// A boxed future that stays on its shard (not `Send`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Where a flushed block lives on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiskLocation {
    /// The datafile's number (unique among the files of this shard's directories).
    pub datafile: u32,
    /// Byte offset of the block's extent in the datafile.
    pub extent_offset: u64,
    /// Byte length of the extent.
    pub extent_len: u32,
    /// Index of the block within its extent.
    pub index: u32,
}

/// An I/O failure of the files layer, as the engine sees it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FilesError {
    #[error("writing an extent of {blocks} block(s) failed: {reason}")]
    Write { blocks: usize, reason: String },
    #[error("reading block {index} of the extent at {offset} in datafile {datafile} failed: {reason}")]
    Read { datafile: u32, offset: u64, index: u32, reason: String },
}

/// Counters the files layer keeps (shown by `/api/v1/dbengine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilesStats {
    /// Bytes written to datafiles and journals since start.
    pub bytes_written: u64,
    /// Bytes read from datafiles since start.
    pub bytes_read: u64,
    /// Datafiles currently on disk and their total size.
    pub datafiles: u64,
    pub datafiles_bytes: u64,
    /// The disk quota of this shard.
    pub quota_bytes: u64,
}

/// The files layer of one shard, as the engine uses it.
pub trait BlockFiles {
    /// Writes `blocks` (metadata and payload) as one extent; one location per block, in
    /// order.
    fn write_extent<'a>(
        &'a self,
        blocks: &'a [(BlockMeta, Vec<u8>)],
    ) -> LocalFuture<'a, Result<Vec<DiskLocation>, FilesError>>;

    /// Reads back the payload of one block.
    fn read_block<'a>(&'a self, location: &'a DiskLocation) -> LocalFuture<'a, Result<Vec<u8>, FilesError>>;

    /// Datafiles deleted (quota rotation) since the last call: every block located in them
    /// is gone.
    fn take_deleted_datafiles(&self) -> Vec<u32>;

    /// Current counters.
    fn stats(&self) -> FilesStats;
}
