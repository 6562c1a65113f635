//! strata-storage: where stored slot values live.
//!
//! Owns: the per-chart stores of one shard. This crate's modes are `none` (nothing kept),
//! `ram` (a ring of `history` slots per dimension) and `dbengine` (blocks of slots in the
//! shard's engine), all behind the same `ChartStore` surface. Invariants: all columns of a chart advance in lock-step
//! (slot `t` exists for every dimension or for none); slot times are multiples of the
//! chart's `update_every`; a gap is stored as a gap, never as a zero.

pub mod dbengine;
pub mod ram;
mod sample;

pub use dbengine::{DbChart, Engine, LoadSpan};
pub use ram::{AppendError, RamChart};
pub use sample::Sample;

/// The store behind one chart.
#[derive(Debug)]
pub enum ChartStore {
    /// `memory mode = none`: values are computed but not kept.
    None,
    /// `memory mode = ram`.
    Ram(RamChart),
    /// `memory mode = dbengine`.
    DbEngine(DbChart),
}

impl ChartStore {
    /// A ram ring of `entries` slots per dimension, one slot every `update_every` seconds.
    pub fn ram(entries: u32, update_every: u32) -> Self {
        ChartStore::Ram(RamChart::new(entries, update_every))
    }

    /// The dbengine store of chart `chart_id` of host `host_guid` in `engine`.
    pub fn dbengine(engine: &Engine, host_guid: &str, chart_id: &str, update_every: u32) -> Self {
        ChartStore::DbEngine(DbChart::new(engine, host_guid, chart_id, update_every))
    }

    /// Adds a column for dimension `id`; returns its index. Existing slots read as gaps.
    pub fn add_column(&mut self, id: &str) -> usize {
        match self {
            ChartStore::None => 0,
            ChartStore::Ram(r) => r.add_column(),
            ChartStore::DbEngine(d) => d.add_column(id),
        }
    }

    /// Appends slot `t` (unix seconds) for every column; see [`RamChart::append`].
    pub fn append(&mut self, t: i64, values: &[Sample]) -> Result<(), AppendError> {
        match self {
            ChartStore::None => Ok(()),
            ChartStore::Ram(r) => r.append(t, values),
            ChartStore::DbEngine(d) => d.append(t, values),
        }
    }

    /// Changes the slot interval. A ring cannot mix intervals, so its data is dropped; the
    /// dbengine seals its open block and keeps everything.
    pub fn set_update_every(&mut self, update_every: u32) {
        match self {
            ChartStore::None => {}
            ChartStore::Ram(r) => r.set_update_every(update_every),
            ChartStore::DbEngine(d) => d.set_update_every(update_every),
        }
    }

    /// Time of the oldest slot held, if any.
    pub fn first_time(&self) -> Option<i64> {
        match self {
            ChartStore::None => None,
            ChartStore::Ram(r) => r.first_time(),
            ChartStore::DbEngine(d) => d.first_time(),
        }
    }

    /// Time of the newest slot held, if any.
    pub fn last_time(&self) -> Option<i64> {
        match self {
            ChartStore::None => None,
            ChartStore::Ram(r) => r.last_time(),
            ChartStore::DbEngine(d) => d.last_time(),
        }
    }

    /// The stored value of column `col` at slot time `t` (a gap outside the range).
    pub fn get(&self, col: usize, t: i64) -> Sample {
        match self {
            ChartStore::None => Sample::Gap,
            ChartStore::Ram(r) => r.get(col, t),
            ChartStore::DbEngine(d) => d.get(col, t),
        }
    }

    /// Fills `out` with the stored values of column `col` at the slot times `from`,
    /// `from + ue`, …, `to` (`ue` = the store's `update_every`, `from` on its grid; `out`
    /// is cleared and gets `(to - from) / ue + 1` samples, none when `to < from`). Slots
    /// outside the stored range are gaps. For the dbengine, only blocks in memory are read:
    /// load the span first (see [`ChartStore::load_span`]).
    pub fn read(&self, col: usize, from: i64, to: i64, out: &mut Vec<Sample>) {
        match self {
            ChartStore::DbEngine(d) => d.read(col, from, to, out),
            ChartStore::None | ChartStore::Ram(_) => {
                out.clear();
                let ue = i64::from(self.update_every());
                let mut t = from;
                while t <= to {
                    out.push(self.get(col, t));
                    t += ue;
                }
            }
        }
    }

    /// The slot interval of the store (1 for `none`).
    pub fn update_every(&self) -> u32 {
        match self {
            ChartStore::None => 1,
            ChartStore::Ram(r) => r.update_every(),
            ChartStore::DbEngine(d) => d.update_every(),
        }
    }

    /// What a read of `from..=to` needs loaded from disk first (dbengine only).
    pub fn load_span(&self, from: i64, to: i64) -> Option<LoadSpan> {
        match self {
            ChartStore::DbEngine(d) => Some(d.load_span(from, to)),
            _ => None,
        }
    }

    /// Newest non-gap value of a column, with its time.
    pub fn last_value(&self, col: usize) -> Option<(i64, f64)> {
        match self {
            ChartStore::None => None,
            ChartStore::Ram(r) => r.last_value(col),
            ChartStore::DbEngine(d) => d.last_value(col),
        }
    }

    /// Number of values (not gaps) ever appended.
    pub fn points_stored(&self) -> u64 {
        match self {
            ChartStore::None => 0,
            ChartStore::Ram(r) => r.points_stored(),
            ChartStore::DbEngine(d) => d.points_stored(),
        }
    }

    /// Bytes of memory held for values.
    pub fn memory_bytes(&self) -> usize {
        match self {
            ChartStore::None => 0,
            ChartStore::Ram(r) => r.memory_bytes(),
            ChartStore::DbEngine(d) => d.memory_bytes(),
        }
    }
}
