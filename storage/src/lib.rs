//! strata-storage: where stored slot values live.
//!
//! Owns: the per-chart stores of one shard. This crate's modes are `none` (nothing kept)
//! and `ram` (a ring of `history` slots per dimension); the dbengine comes later behind the
//! same `ChartStore` surface. Invariants: all columns of a chart advance in lock-step
//! (slot `t` exists for every dimension or for none); slot times are multiples of the
//! chart's `update_every`; a gap is stored as a gap, never as a zero.

pub mod dbengine;
pub mod ram;
mod sample;

pub use ram::{AppendError, RamChart};
pub use sample::Sample;

/// The store behind one chart.
#[derive(Debug)]
pub enum ChartStore {
    /// `memory mode = none`: values are computed but not kept.
    None,
    /// `memory mode = ram`.
    Ram(RamChart),
}

impl ChartStore {
    /// A ram ring of `entries` slots per dimension, one slot every `update_every` seconds.
    pub fn ram(entries: u32, update_every: u32) -> Self {
        ChartStore::Ram(RamChart::new(entries, update_every))
    }

    /// Adds a column (a new dimension); returns its index. Existing slots read as gaps.
    pub fn add_column(&mut self) -> usize {
        match self {
            ChartStore::None => 0,
            ChartStore::Ram(r) => r.add_column(),
        }
    }

    /// Appends slot `t` (unix seconds) for every column; see [`RamChart::append`].
    pub fn append(&mut self, t: i64, values: &[Sample]) -> Result<(), AppendError> {
        match self {
            ChartStore::None => Ok(()),
            ChartStore::Ram(r) => r.append(t, values),
        }
    }

    /// Changes the slot interval. A ring cannot mix intervals, so its data is dropped.
    pub fn set_update_every(&mut self, update_every: u32) {
        if let ChartStore::Ram(r) = self {
            r.set_update_every(update_every);
        }
    }

    /// Time of the oldest slot held, if any.
    pub fn first_time(&self) -> Option<i64> {
        match self {
            ChartStore::None => None,
            ChartStore::Ram(r) => r.first_time(),
        }
    }

    /// Time of the newest slot held, if any.
    pub fn last_time(&self) -> Option<i64> {
        match self {
            ChartStore::None => None,
            ChartStore::Ram(r) => r.last_time(),
        }
    }

    /// The stored value of column `col` at slot time `t` (a gap outside the range).
    pub fn get(&self, col: usize, t: i64) -> Sample {
        match self {
            ChartStore::None => Sample::Gap,
            ChartStore::Ram(r) => r.get(col, t),
        }
    }

    /// Newest non-gap value of a column, with its time.
    pub fn last_value(&self, col: usize) -> Option<(i64, f64)> {
        match self {
            ChartStore::None => None,
            ChartStore::Ram(r) => r.last_value(col),
        }
    }

    /// Number of values (not gaps) ever appended.
    pub fn points_stored(&self) -> u64 {
        match self {
            ChartStore::None => 0,
            ChartStore::Ram(r) => r.points_stored(),
        }
    }

    /// Bytes of memory held for values.
    pub fn memory_bytes(&self) -> usize {
        match self {
            ChartStore::None => 0,
            ChartStore::Ram(r) => r.memory_bytes(),
        }
    }
}
