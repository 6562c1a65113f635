//! Names of stored things that outlive a run: datafiles and blocks.
//!
//! Invariants: a [`FileId`] names one datafile/journal pair for good (sequence numbers are
//! never reused within a directory), and it names the directory, so any shard can find
//! the file under the shared root whatever the shard count is now.

use std::fmt;

/// One datafile (and its journal): directory `shard-<dir>`, sequence `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dir: u32,
    pub seq: u32,
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard-{}/{:010}", self.dir, self.seq)
    }
}

/// Where a sealed block is: its extent (offset and stored length in the datafile) and its
/// position in the extent. 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockLocation {
    pub file: FileId,
    /// Offset of the extent in the datafile (a multiple of 4096).
    pub offset: u64,
    /// Stored length of the extent (header and body, without padding).
    pub len: u32,
    /// The block's position in the extent.
    pub index: u16,
}

impl BlockLocation {
    /// Whether two locations name the same extent (one read serves both).
    pub fn same_extent(&self, other: &BlockLocation) -> bool {
        self.file == other.file && self.offset == other.offset
    }
}
