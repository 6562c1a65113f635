//! `memory mode = dbengine` for one chart: the open block being collected, and reads that
//! merge it with the chart's sealed blocks in the shard's engine.
//!
//! Owns: the chart's open block (a streaming [`BlockEncoder`], so it costs its encoded
//! size), its column ids (dimension ids, in column order) and the newest row. Invariants:
//! the open block's columns are exactly `dims` (adding a column, or changing
//! `update_every`, seals it first); an open block is sealed when it holds `block_slots`
//! rows, when a gap longer than [`MAX_INLINE_GAP`] slots arrives, or when the chart is
//! dropped; slot times only grow (`last_time` covers sealed blocks found on disk too);
//! reads match columns by dimension id, so blocks written before a dimension existed read
//! as gaps for it; gaps stay gaps.

use std::fmt;

use compact_str::CompactString;

use crate::prefetch::prefetch_slice;

use super::block::SeriesKey;
use super::codec::BlockEncoder;
use super::engine::{Engine, LoadSpan, SealedBlock, MAX_INLINE_GAP};
use super::index::SeriesId;
use crate::ram::AppendError;
use crate::Sample;

struct OpenBlock {
    enc: BlockEncoder,
    start: i64,
    values: u64,
}

/// The dbengine store of one chart.
pub struct DbChart {
    engine: Engine,
    series: SeriesId,
    block_slots: u32,
    /// Column ids, inline when short (no allocation per column).
    dims: Vec<CompactString>,
    update_every: u32,
    open: Option<OpenBlock>,
    /// Newest slot stored (open block or sealed, including blocks found on disk).
    last_time: Option<i64>,
    /// The newest appended row (gaps for non-finite values), one sample per column, and
    /// its time (`None` until the first append).
    last_row: Vec<Sample>,
    row_time: Option<i64>,
    /// Newest value of each column and its time.
    last_values: Vec<Option<(i64, f64)>>,
    points: u64,
    open_bytes: usize,
}

impl fmt::Debug for DbChart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbChart")
            .field("series", &self.series)
            .field("dims", &self.dims)
            .field("update_every", &self.update_every)
            .field("open_slots", &self.open.as_ref().map(|o| o.enc.slots()))
            .field("last_time", &self.last_time)
            .finish()
    }
}

impl DbChart {
    /// The store of chart `chart_id` of the host `host_guid` (lower-case machine GUID);
    /// blocks the engine already indexes for that series (from disk) are part of it.
    pub fn new(engine: &Engine, host_guid: &str, chart_id: &str, update_every: u32) -> Self {
        let series = engine.series(SeriesKey { host_guid: host_guid.to_string(), chart_id: chart_id.to_string() });
        DbChart {
            engine: engine.clone(),
            series,
            block_slots: engine.config().block_slots,
            dims: Vec::new(),
            update_every: update_every.max(1),
            open: None,
            last_time: engine.last_time(series),
            last_row: Vec::new(),
            row_time: None,
            last_values: Vec::new(),
            points: 0,
            open_bytes: 0,
        }
    }

    pub fn series(&self) -> SeriesId {
        self.series
    }

    pub fn update_every(&self) -> u32 {
        self.update_every
    }

    pub fn columns(&self) -> usize {
        self.dims.len()
    }

    /// Rows in the open block.
    pub fn open_slots(&self) -> u32 {
        self.open.as_ref().map_or(0, |o| o.enc.slots())
    }

    /// Adds a column for dimension `id` (sealing the open block); returns its index.
    pub fn add_column(&mut self, id: &str) -> usize {
        self.seal();
        self.dims.push(CompactString::from(id));
        self.last_row.push(Sample::Gap);
        self.last_values.push(None);
        self.dims.len() - 1
    }

    /// Asks the CPU for what the next append touches: the per-column state and the open
    /// block's column states and stream tail.
    pub fn prefetch(&self) {
        prefetch_slice(&self.last_row);
        prefetch_slice(&self.last_values);
        if let Some(o) = &self.open {
            o.enc.prefetch();
        }
    }

    /// Releases the spare capacity of the per-column vectors.
    pub fn shrink_to_fit(&mut self) {
        self.dims.shrink_to_fit();
        self.last_row.shrink_to_fit();
        self.last_values.shrink_to_fit();
    }

    /// Changes the slot interval; the open block is sealed, older data is kept.
    pub fn set_update_every(&mut self, update_every: u32) {
        let ue = update_every.max(1);
        if ue != self.update_every {
            self.seal();
            self.update_every = ue;
        }
    }

    /// Appends slot `t` (aligned down to the grid) for every column (`values[i]` for
    /// column `i`; missing or non-finite → gap). `t` must be after the newest slot.
    pub fn append(&mut self, t: i64, values: &[Sample]) -> Result<(), AppendError> {
        let ue = i64::from(self.update_every);
        let t = t - t.rem_euclid(ue);
        if let Some(last) = self.last_time {
            if t <= last {
                return Err(AppendError::NotAfterLast { t, last });
            }
        }
        if let Some(o) = &mut self.open {
            let next = o.start + i64::from(o.enc.slots()) * ue;
            if t > next {
                let missing = (t - next) / ue;
                if missing <= MAX_INLINE_GAP && i64::from(o.enc.slots()) + missing < i64::from(self.block_slots) {
                    for _ in 0..missing {
                        o.enc.push(&[]);
                    }
                } else {
                    self.seal();
                }
            }
        }
        self.last_row.clear();
        let mut n = 0u64;
        for i in 0..self.dims.len() {
            let s = match values.get(i).copied() {
                Some(Sample::Value { value, reset }) if value.is_finite() => {
                    n += 1;
                    self.last_values[i] = Some((t, value));
                    Sample::Value { value, reset }
                }
                _ => Sample::Gap,
            };
            self.last_row.push(s);
        }
        let o =
            self.open.get_or_insert_with(|| OpenBlock { enc: BlockEncoder::new(self.dims.len()), start: t, values: 0 });
        o.enc.push(&self.last_row);
        o.values += n;
        self.points += n;
        self.last_time = Some(t);
        self.row_time = Some(t);
        if o.enc.slots() >= self.block_slots {
            self.seal();
        } else {
            // The stream grows in steps (a quarter at a time): most rows leave its size (and
            // the engine's total) unchanged, so the engine is only told when it moves.
            let bytes = o.enc.heap_bytes();
            if bytes != self.open_bytes {
                self.engine.open_bytes_changed(self.open_bytes, bytes);
                self.open_bytes = bytes;
            }
        }
        Ok(())
    }

    /// Hands the open block (if it has rows) to the engine.
    pub fn seal(&mut self) {
        let Some(o) = self.open.take() else { return };
        self.engine.open_bytes_changed(self.open_bytes, 0);
        self.open_bytes = 0;
        let slots = o.enc.slots();
        if slots == 0 {
            return;
        }
        let payload = o.enc.finish();
        let b = SealedBlock { start: o.start, update_every: self.update_every, slots, values: o.values, payload };
        self.engine.seal(self.series, &self.dims, b);
    }

    /// Oldest slot: of the oldest sealed block, else of the open block.
    pub fn first_time(&self) -> Option<i64> {
        self.engine.first_time(self.series).or(self.open.as_ref().map(|o| o.start))
    }

    pub fn last_time(&self) -> Option<i64> {
        self.last_time
    }

    /// Fills `out` with column `col` at `from, from + ue, …, to` (`ue` = the chart's
    /// `update_every`; `from` on its grid): sealed blocks (those cached), then the open
    /// block. Slots nothing covers are gaps.
    pub fn read(&self, col: usize, from: i64, to: i64, out: &mut Vec<Sample>) {
        out.clear();
        let ue = i64::from(self.update_every);
        if to < from {
            return;
        }
        out.resize(((to - from) / ue + 1) as usize, Sample::Gap);
        let Some(dim) = self.dims.get(col) else { return };
        let open_start = self.open.as_ref().map(|o| o.start);
        if open_start.is_none_or(|s| from < s) {
            self.engine.read_into(self.series, dim, from, self.update_every, out);
        }
        if let Some(o) = &self.open {
            let end = o.start + (i64::from(o.enc.slots()) - 1) * ue;
            if to < o.start || from > end {
                return;
            }
            let mut colv = Vec::new();
            if o.enc.decode_column(col, &mut colv).is_ok() {
                let first = ((from - o.start).max(0) / ue) as usize;
                for (i, s) in colv.iter().enumerate().skip(first) {
                    let k = ((o.start + i as i64 * ue - from) / ue) as usize;
                    match out.get_mut(k) {
                        Some(slot) => *slot = *s,
                        None => break,
                    }
                }
            }
        }
    }

    /// The value of column `col` at slot `t`.
    pub fn get(&self, col: usize, t: i64) -> Sample {
        if Some(t) == self.row_time {
            return self.last_row.get(col).copied().unwrap_or(Sample::Gap);
        }
        let mut out = Vec::with_capacity(1);
        self.read(col, t, t, &mut out);
        out.first().copied().unwrap_or(Sample::Gap)
    }

    /// Newest value of a column appended since start, with its time.
    pub fn last_value(&self, col: usize) -> Option<(i64, f64)> {
        self.last_values.get(col).copied().flatten()
    }

    /// Values (not gaps) appended since start.
    pub fn points_stored(&self) -> u64 {
        self.points
    }

    /// Bytes held by the open block.
    pub fn memory_bytes(&self) -> usize {
        self.open_bytes
    }

    /// The span a query of `from..=to` must have loaded.
    pub fn load_span(&self, from: i64, to: i64) -> LoadSpan {
        LoadSpan { series: self.series, from, to }
    }
}

impl Drop for DbChart {
    fn drop(&mut self) {
        self.seal();
    }
}

#[cfg(test)]
mod tests;
