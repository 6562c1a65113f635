//! Where a ring's slots live: the [`Columns`] backend trait, the ring [`Cursor`] and the
//! in-memory backend [`Heap`] (used by `ram` and `save`).
//!
//! Owns: nothing but the definitions shared by every backend. Invariants of any backend:
//! every column has exactly `entries()` slots; a new column reads as gaps everywhere;
//! `set` followed by `get` on the same slot returns the value stored as `f32` (NaN is a
//! gap) with its reset flag; column ids are kept as given.

use std::convert::Infallible;

use crate::Sample;

/// The position of a ring: shared by every column of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// Seconds between slots (≥ 1).
    pub update_every: u32,
    /// Index of the newest slot (meaningful when `filled > 0`).
    pub head: usize,
    /// Slots holding data, at most `entries`.
    pub filled: usize,
    /// Time of the newest slot (unix seconds, a multiple of `update_every`).
    pub last_time: i64,
    /// Values (not gaps) ever appended.
    pub points: u64,
}

/// Storage for the columns of one ring.
pub trait Columns {
    /// Why a column could not be added.
    type Error;

    /// Slots per column.
    fn entries(&self) -> usize;
    /// Number of columns held.
    fn count(&self) -> usize;
    /// The dimension id of column `col` (empty when out of range).
    fn id(&self, col: usize) -> &[u8];
    /// Adds a column of gaps with this dimension id; returns its index.
    fn push(&mut self, id: &[u8]) -> Result<usize, Self::Error>;
    /// Slot `idx` of column `col` (a gap when out of range).
    fn get(&self, col: usize, idx: usize) -> Sample;
    /// Stores slot `idx` of column `col` (ignored when out of range).
    fn set(&mut self, col: usize, idx: usize, s: Sample);
    /// Records the ring position after it changed (a file-backed ring writes its header).
    fn sync(&mut self, _cursor: &Cursor) {}
    /// Bytes held for values and flags.
    fn memory_bytes(&self) -> usize;
}

/// The `f32` stored for a sample and its reset flag.
pub(crate) fn encode_sample(s: Sample) -> (f32, bool) {
    match s {
        Sample::Gap => (f32::NAN, false),
        Sample::Value { value, reset } => (value as f32, reset),
    }
}

/// The sample of a stored `f32` and reset flag.
pub(crate) fn decode_sample(v: f32, reset: bool) -> Sample {
    if v.is_nan() {
        Sample::Gap
    } else {
        Sample::Value { value: f64::from(v), reset }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) id: Box<[u8]>,
    pub(crate) values: Box<[f32]>,
    pub(crate) resets: Box<[u64]>,
}

impl Column {
    pub(crate) fn new(id: &[u8], entries: usize) -> Self {
        Column {
            id: id.into(),
            values: vec![f32::NAN; entries].into_boxed_slice(),
            resets: vec![0u64; entries.div_ceil(64)].into_boxed_slice(),
        }
    }
}

/// Columns in memory.
#[derive(Debug, Clone)]
pub struct Heap {
    entries: usize,
    columns: Vec<Column>,
}

impl Heap {
    pub fn new(entries: usize) -> Self {
        Heap { entries, columns: Vec::new() }
    }

    /// Builds a heap from columns read from a file (each of `entries` slots).
    pub(crate) fn from_columns(entries: usize, columns: Vec<Column>) -> Self {
        Heap { entries, columns }
    }
}

impl Columns for Heap {
    type Error = Infallible;

    fn entries(&self) -> usize {
        self.entries
    }

    fn count(&self) -> usize {
        self.columns.len()
    }

    fn id(&self, col: usize) -> &[u8] {
        self.columns.get(col).map_or(&[][..], |c| &c.id)
    }

    fn push(&mut self, id: &[u8]) -> Result<usize, Infallible> {
        self.columns.push(Column::new(id, self.entries));
        Ok(self.columns.len() - 1)
    }

    fn get(&self, col: usize, idx: usize) -> Sample {
        let Some(c) = self.columns.get(col) else { return Sample::Gap };
        match (c.values.get(idx), c.resets.get(idx / 64)) {
            (Some(&v), Some(&w)) => decode_sample(v, w & (1 << (idx % 64)) != 0),
            _ => Sample::Gap,
        }
    }

    fn set(&mut self, col: usize, idx: usize, s: Sample) {
        let Some(c) = self.columns.get_mut(col) else { return };
        let (v, reset) = encode_sample(s);
        if let (Some(slot), Some(w)) = (c.values.get_mut(idx), c.resets.get_mut(idx / 64)) {
            *slot = v;
            if reset {
                *w |= 1 << (idx % 64);
            } else {
                *w &= !(1 << (idx % 64));
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        self.columns.len() * (self.entries * 4 + self.entries.div_ceil(64) * 8)
    }
}
