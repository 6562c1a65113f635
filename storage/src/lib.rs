//! strata-storage: where stored slot values live.
//!
//! Owns: the per-chart stores of one shard. Memory modes: `none` (nothing kept), `ram` (a
//! ring of `history` slots per dimension), `save` (the same ring, written to a file on a
//! clean exit and loaded on start), `map` (the same ring inside a shared memory map of its
//! file) and `dbengine` (blocks of slots in the shard's engine), all behind the same
//! `ChartStore` surface. Invariants: all columns of a chart advance in lock-step (slot `t`
//! exists for every dimension or for none); slot times are multiples of the chart's
//! `update_every`; a gap is stored as a gap, never as a zero; `ram`, `save` and `map`
//! answer every call identically (one ring logic, [`RamChart`], over different
//! [`Columns`] backends).

mod columns;
pub mod dbengine;
mod files;
pub mod map;
pub mod prefetch;
pub mod ram;
pub mod ringfile;
mod sample;
pub mod save;

pub use columns::{Columns, Cursor, Heap};
pub use dbengine::{DbChart, Engine, LoadSpan};
pub use files::{OpenSpec, StoreError};
pub use map::{Mapped, MappedChart};
pub use ram::{AppendError, RamChart};
pub use sample::Sample;
pub use save::SavedChart;

/// The store behind one chart.
#[derive(Debug)]
pub enum ChartStore {
    /// `memory mode = none`: values are computed but not kept.
    None,
    /// `memory mode = ram`.
    Ram(RamChart),
    /// `memory mode = save`.
    Save(SavedChart),
    /// `memory mode = map`.
    Map(MappedChart),
    /// `memory mode = dbengine`.
    DbEngine(DbChart),
}

/// What [`ChartStore::persist`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persisted {
    /// Nothing to do (`none`, `ram`).
    Nothing,
    /// The ring was written to its file (`save`).
    Saved,
    /// The map was flushed to disk (`map`).
    Flushed,
}

/// Runs `$e` with `$r` bound to the ring of any ring-backed store, `$db` with `$d` bound
/// to a dbengine store, `$none` otherwise.
macro_rules! ring {
    ($store:expr, $r:ident => $e:expr, $d:ident => $db:expr, none => $none:expr) => {
        match $store {
            ChartStore::None => $none,
            ChartStore::Ram($r) | ChartStore::Save(SavedChart { ring: $r, .. }) => $e,
            ChartStore::Map($r) => $e,
            ChartStore::DbEngine($d) => $db,
        }
    };
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

    /// A `save` store: its file is loaded when valid. Returns the notes to log; when the
    /// file cannot be used at all the chart gets a `ram` store (and a note says so).
    pub fn open_save(spec: &OpenSpec<'_>) -> (Self, Option<StoreError>) {
        match SavedChart::open(spec) {
            Ok((s, note)) => (ChartStore::Save(s), note),
            Err(e) => Self::in_memory(spec, e),
        }
    }

    /// A `map` store over its file (reused when valid); like [`ChartStore::open_save`].
    pub fn open_map(spec: &OpenSpec<'_>) -> (Self, Option<StoreError>) {
        match Mapped::open(spec) {
            Ok((m, note)) => (ChartStore::Map(m), note),
            Err(e) => Self::in_memory(spec, e),
        }
    }

    fn in_memory(spec: &OpenSpec<'_>, e: StoreError) -> (Self, Option<StoreError>) {
        let ring = RamChart::new(spec.entries() as u32, spec.update_every());
        (ChartStore::Ram(ring), Some(StoreError::InMemory { source: Box::new(e) }))
    }

    /// Adds the column of dimension `id` (a parked column of a loaded file with this id
    /// is taken back); returns its index. A `map` store that cannot grow its file moves
    /// to memory (the note says so) and the column is added there.
    pub fn add_column(&mut self, id: &[u8]) -> (usize, Option<StoreError>) {
        let failed = match self {
            ChartStore::None => return (0, None),
            ChartStore::DbEngine(d) => return (d.add_column(&String::from_utf8_lossy(id)), None),
            ChartStore::Ram(r) | ChartStore::Save(SavedChart { ring: r, .. }) => {
                return match r.add_column(id) {
                    Ok(i) => (i, None),
                    Err(never) => match never {},
                };
            }
            ChartStore::Map(r) => match r.add_column(id) {
                Ok(i) => return (i, None),
                Err(e) => (r.to_heap(), e),
            },
        };
        let (mut ring, e) = failed;
        let i = match ring.add_column(id) {
            Ok(i) => i,
            Err(never) => match never {},
        };
        *self = ChartStore::Ram(ring);
        (i, Some(StoreError::InMemory { source: Box::new(e) }))
    }

    /// Appends slot `t` (unix seconds) for every column; see [`RamChart::append`].
    pub fn append(&mut self, t: i64, values: &[Sample]) -> Result<(), AppendError> {
        ring!(self, r => r.append(t, values), d => d.append(t, values), none => Ok(()))
    }

    /// Asks the CPU for the state the next [`ChartStore::append`] writes (a hint: call it
    /// at the start of a collection, the append comes after the values are parsed).
    pub fn prefetch(&self) {
        if let ChartStore::DbEngine(d) = self {
            d.prefetch();
        }
    }

    /// Releases spare capacity of the per-column state (called once a chart's
    /// definition is complete: a parent holds one column per collected metric).
    pub fn shrink_to_fit(&mut self) {
        if let ChartStore::DbEngine(d) = self {
            d.shrink_to_fit();
        }
    }

    /// Changes the slot interval. A ring cannot mix intervals, so its data is dropped; the
    /// dbengine seals its open block and keeps everything.
    pub fn set_update_every(&mut self, update_every: u32) {
        ring!(self, r => r.set_update_every(update_every), d => d.set_update_every(update_every), none => ())
    }

    /// Slots per dimension, for ring-backed stores.
    pub fn ring_entries(&self) -> Option<usize> {
        ring!(self, r => Some(r.entries()), _d => None, none => None)
    }

    /// Time of the oldest slot held, if any.
    pub fn first_time(&self) -> Option<i64> {
        ring!(self, r => r.first_time(), d => d.first_time(), none => None)
    }

    /// Time of the newest slot held, if any.
    pub fn last_time(&self) -> Option<i64> {
        ring!(self, r => r.last_time(), d => d.last_time(), none => None)
    }

    /// The stored value of column `col` at slot time `t` (a gap outside the range).
    pub fn get(&self, col: usize, t: i64) -> Sample {
        ring!(self, r => r.get(col, t), d => d.get(col, t), none => Sample::Gap)
    }

    /// Fills `out` with the stored values of column `col` at the slot times `from`,
    /// `from + ue`, …, `to` (`ue` = the store's `update_every`, `from` on its grid; `out`
    /// is cleared and gets `(to - from) / ue + 1` samples, none when `to < from`). Slots
    /// outside the stored range are gaps. For the dbengine, only blocks in memory are read:
    /// load the span first (see [`ChartStore::load_span`]).
    pub fn read(&self, col: usize, from: i64, to: i64, out: &mut Vec<Sample>) {
        if let ChartStore::DbEngine(d) = self {
            return d.read(col, from, to, out);
        }
        out.clear();
        let ue = i64::from(self.update_every());
        let mut t = from;
        while t <= to {
            out.push(self.get(col, t));
            t += ue;
        }
    }

    /// The slot interval of the store (1 for `none`).
    pub fn update_every(&self) -> u32 {
        ring!(self, r => r.update_every(), d => d.update_every(), none => 1)
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
        ring!(self, r => r.last_value(col), d => d.last_value(col), none => None)
    }

    /// Number of values (not gaps) ever appended.
    pub fn points_stored(&self) -> u64 {
        ring!(self, r => r.points_stored(), d => d.points_stored(), none => 0)
    }

    /// Bytes of memory (or of the map) held for values.
    pub fn memory_bytes(&self) -> usize {
        ring!(self, r => r.memory_bytes(), d => d.memory_bytes(), none => 0)
    }

    /// Hands a dbengine chart's open block to its engine (clean exit: the engine then
    /// flushes it); returns whether there was one. Other stores have nothing to seal.
    pub fn seal(&mut self) -> bool {
        match self {
            ChartStore::DbEngine(d) => {
                let open = d.open_slots() > 0;
                d.seal();
                open
            }
            _ => false,
        }
    }

    /// Makes the store durable, on a clean exit: `save` writes its file, `map` flushes.
    pub fn persist(&self) -> Result<Persisted, StoreError> {
        match self {
            ChartStore::None | ChartStore::Ram(_) | ChartStore::DbEngine(_) => Ok(Persisted::Nothing),
            ChartStore::Save(s) => s.save().map(|()| Persisted::Saved),
            ChartStore::Map(m) => m.flush().map(|()| Persisted::Flushed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: f64) -> Sample {
        Sample::Value { value: x, reset: false }
    }

    /// The same calls give the same answers in every ring-backed mode.
    #[test]
    fn ram_save_and_map_behave_alike() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = OpenSpec { dir: tmp.path(), chart_id: b"a.b", entries: 8, update_every: 2, now: 0 };
        let (save, n1) = ChartStore::open_save(&spec);
        let (map, n2) = ChartStore::open_map(&OpenSpec { chart_id: b"a.c", ..spec });
        assert!(n1.is_none() && n2.is_none());
        let mut stores = [ChartStore::ram(8, 2), save, map];
        for s in &mut stores {
            assert_eq!(s.add_column(b"x").0, 0);
            s.append(100, &[v(1.0)]).unwrap();
            assert_eq!(s.add_column(b"y").0, 1);
            s.append(104, &[v(2.0), Sample::Value { value: 3.0, reset: true }]).unwrap();
            s.append(130, &[v(4.0), v(5.0)]).unwrap();
            s.append(132, &[Sample::Gap, v(f64::INFINITY)]).unwrap();
            assert_eq!(s.append(131, &[v(0.0)]), Err(AppendError::NotAfterLast { t: 131, last: 132 }));
        }
        let probe = |s: &ChartStore| {
            let slots: Vec<Sample> = (96..136).flat_map(|t| [s.get(0, t), s.get(1, t)]).collect();
            (slots, s.first_time(), s.last_time(), s.last_value(1), s.points_stored(), s.ring_entries())
        };
        assert_eq!(probe(&stores[0]), probe(&stores[1]));
        assert_eq!(probe(&stores[0]), probe(&stores[2]));
        assert_eq!(stores[0].persist().unwrap(), Persisted::Nothing);
        assert_eq!(stores[1].persist().unwrap(), Persisted::Saved);
        assert_eq!(stores[2].persist().unwrap(), Persisted::Flushed);
    }

    #[test]
    fn unusable_directory_falls_back_to_memory() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("f");
        std::fs::write(&plain, b"").unwrap();
        let spec = OpenSpec { dir: &plain, chart_id: b"a.b", entries: 8, update_every: 1, now: 0 };
        for (store, note) in [ChartStore::open_save(&spec), ChartStore::open_map(&spec)] {
            assert!(matches!(store, ChartStore::Ram(_)));
            let note = note.unwrap().to_string();
            assert!(note.ends_with("the chart is kept in memory only"), "{note}");
        }
    }
}
