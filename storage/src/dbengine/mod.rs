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
//! - [`files`] (datafiles, journals, extents, crc, the I/O trait): how sealed blocks reach
//!   disk and are found again after a restart.
//! - the engine (page cache, index, flushing, queries): one instance per shard.

pub mod block;
pub mod codec;
pub mod files;

pub use block::{BlockMeta, SeriesKey};
pub use codec::{BlockEncoder, CodecError};
