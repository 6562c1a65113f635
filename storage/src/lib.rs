//! strata-storage: where stored slot values live.
//!
//! Owns: the per-chart stores of one shard. This modes are `none` (nothing kept)
//! and `ram` (a ring of `history` slots per dimension); the dbengine comes later behind the
//! same `ChartStore` surface. Invariants: all columns of a chart advance in lock-step
//! (slot `t` exists for every dimension or for none); slot times are multiples of the
//! chart's `update_every`; a gap is stored as a gap, never as a zero.

pub mod ram;
mod sample;

pub use ram::RamChart;
pub use sample::Sample;

/// The store behind one chart.
#[derive(Debug)]
pub enum ChartStore {
    /// `memory mode = none`: values are computed but not kept.
    None,
    /// `memory mode = ram`.
    Ram(RamChart),
}
