//! files: how sealed blocks reach disk and are found again after a restart.
//!
//! Owns: the on-disk layer of one shard's dbengine — datafiles of extents, journals that
//! index them, recovery at start, retention by quota, and the I/O seam. Payload bytes come
//! from the codec and are opaque here.
//!
//! Layout and rules (details in the submodules):
//! - [`layout`]: `<cache dir>/dbengine/shard-<K>/{datafile-<seq>.sdf, journal-<seq>.sjf}`;
//!   a shard writes only its own directory, adopts `shard-<J>` for `J >= N`, `J mod N == K`,
//!   and reads every other one.
//! - [`format`]: pure, fuzzable encoders/decoders; a crc32 over every extent and every
//!   journal record; optional LZ4 per extent; names stored once per journal.
//! - [`ShardFiles`]: the writer and the API the engine calls; [`FilesReader`]: the read
//!   path, clonable into query tasks.
//! - [`io`]: the [`Io`] trait with [`StdIo`] (std files) and [`DmaIo`] (glommio O_DIRECT).
//!
//! Invariants: one [`ShardFiles`] per shard, used from that shard's thread only (no locks);
//! nothing on disk is trusted: damage becomes a typed error or a [`RecoveryEvent`], never a
//! panic.

mod dma;
mod error;
pub mod format;
pub mod io;
pub mod layout;
mod location;
mod reader;
mod recover;
mod shard;
mod stats;

pub use dma::DmaIo;
pub use error::FilesError;
pub use format::extent::Extent;
pub use io::{Io, StdIo};
pub use layout::{shard_dir, DirPlan};
pub use location::{BlockLocation, FileId};
pub use reader::FilesReader;
pub use recover::{CollectBlocks, RecoveryEvent, RecoveryReport, ScanSink};
pub use shard::{datafile_target, ExtentWritten, FilesOptions, ShardFiles, SyncPolicy};
pub use stats::FilesStats;
