//! dbengine: the per-shard storage engine (`memory mode = dbengine`).
//!
//! Unit of storage: a *block* holds every column (dimension) of one chart over a run of
//! consecutive slots on the chart's `update_every` grid. Columns of a chart advance in
//! lock-step (see the crate invariants), so one block, one index entry and one set of
//! timestamps serve all of a chart's dimensions.
//!
//! Layers, each owned by one module:
//! - [`block`]: the identity and metadata of a block (shared by every layer).
//! - [`codec`]: pure bytes in / values out: the streaming block encoder and the decoder.
//! - [`chart`]: one chart's open block and its reads ([`DbChart`]).
//! - [`engine`]: one shard's engine: [`cache`] (page cache), [`index`] (series → blocks),
//!   flushing, back-pressure, query loading and counters.
//! - [`files`]: datafiles, journals, extents with crc, the I/O trait (std and io_uring),
//!   recovery and quota: how sealed blocks reach disk and are found after a restart.
//! - [`varint`]: the LEB128 varints the codec and the files format share.
//! - [`seam`]: the [`BlockFiles`] trait through which sealed blocks reach the files layer
//!   and come back, and [`AttachedFiles`], its implementation over [`files::ShardFiles`].

pub mod block;
pub mod cache;
pub mod chart;
pub mod codec;
pub mod engine;
pub mod files;
pub mod index;
pub mod seam;
mod varint;

pub use block::{BlockMeta, SeriesKey};
pub use chart::DbChart;
pub use codec::{BlockEncoder, CodecError};
pub use engine::{DropReport, Engine, EngineConfig, EngineStats, ExtentObserver, LoadSpan, Pinned};
pub use index::SeriesId;
pub use seam::{AttachedFiles, BlockFiles, LocalFuture};

#[cfg(test)]
mod testfiles;
