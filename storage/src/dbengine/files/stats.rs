//! Counters of the files layer, and the snapshot the engine publishes.
//!
//! Invariants: counters only grow; they live in the shard's shared state (`Cell`s, one
//! thread), so readers and the writer count into the same place without locks.

use std::cell::Cell;

/// A snapshot of one shard's files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilesStats {
    /// Datafiles managed by this shard (own and adopted directories, the open one included).
    pub datafiles: u64,
    /// Bytes of those datafiles.
    pub datafile_bytes: u64,
    /// Bytes of their journals.
    pub journal_bytes: u64,
    pub quota_bytes: u64,
    /// Size at which the open datafile is rotated.
    pub datafile_target_bytes: u64,
    /// Bytes written to datafiles and journals (padding and journal tail rewrites included).
    pub bytes_written: u64,
    pub extents_written: u64,
    pub blocks_written: u64,
    /// Block payload bytes handed in (before compression).
    pub payload_bytes_written: u64,
    /// Extent bytes after compression, before padding.
    pub extent_bytes_written: u64,
    pub extents_read: u64,
    pub bytes_read: u64,
    /// Extents whose crc did not match when read.
    pub crc_failures: u64,
    /// Reads that failed for any reason (crc included, gone files included).
    pub read_errors: u64,
    pub datafiles_created: u64,
    pub datafiles_deleted: u64,
    /// Write-side I/O failures (writes, syncs, creations, deletions).
    pub write_errors: u64,
}

impl FilesStats {
    /// Adds `o` field by field (several shards' totals).
    pub fn add(&mut self, o: &FilesStats) {
        macro_rules! add {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        add!(
            datafiles,
            datafile_bytes,
            journal_bytes,
            quota_bytes,
            datafile_target_bytes,
            bytes_written,
            extents_written,
            blocks_written,
            payload_bytes_written,
            extent_bytes_written,
            extents_read,
            bytes_read,
            crc_failures,
            read_errors,
            datafiles_created,
            datafiles_deleted,
            write_errors
        );
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub bytes_written: Cell<u64>,
    pub extents_written: Cell<u64>,
    pub blocks_written: Cell<u64>,
    pub payload_bytes_written: Cell<u64>,
    pub extent_bytes_written: Cell<u64>,
    pub extents_read: Cell<u64>,
    pub bytes_read: Cell<u64>,
    pub crc_failures: Cell<u64>,
    pub read_errors: Cell<u64>,
    pub datafiles_created: Cell<u64>,
    pub datafiles_deleted: Cell<u64>,
    pub write_errors: Cell<u64>,
}

pub(crate) fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get().wrapping_add(n));
}

impl Counters {
    pub(crate) fn fill(&self, s: &mut FilesStats) {
        s.bytes_written = self.bytes_written.get();
        s.extents_written = self.extents_written.get();
        s.blocks_written = self.blocks_written.get();
        s.payload_bytes_written = self.payload_bytes_written.get();
        s.extent_bytes_written = self.extent_bytes_written.get();
        s.extents_read = self.extents_read.get();
        s.bytes_read = self.bytes_read.get();
        s.crc_failures = self.crc_failures.get();
        s.read_errors = self.read_errors.get();
        s.datafiles_created = self.datafiles_created.get();
        s.datafiles_deleted = self.datafiles_deleted.get();
        s.write_errors = self.write_errors.get();
    }
}
