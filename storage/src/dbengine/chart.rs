//! `memory mode = dbengine` for one chart: the open block being collected, and reads that
//! merge it with the chart's sealed blocks in the shard's engine.
//!
//! Owns: the chart's open block (a streaming [`BlockEncoder`], so it costs its encoded
//! size), its column ids (dimension ids, in column order) and each column's newest value
//! (8 bytes a column). Invariants:
//! the open block's columns are exactly `dims` (adding a column, or changing
//! `update_every`, seals it first); an open block is sealed when it holds `block_slots`
//! rows, when a gap longer than [`MAX_INLINE_GAP`] slots arrives, or when the chart is
//! dropped; slot times only grow (`last_time` covers sealed blocks found on disk too);
//! reads match columns by dimension id, so blocks written before a dimension existed read
//! as gaps for it; gaps stay gaps.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use compact_str::CompactString;

use crate::prefetch::prefetch_slice;

use super::block::SeriesKey;
use super::codec::BlockEncoder;
use super::engine::{Engine, LoadSpan, SealedBlock, MAX_INLINE_GAP};
use super::index::SeriesId;
use crate::ram::AppendError;
use crate::Sample;

/// The newest value of a column: its time as seconds after the chart's first appended
/// slot plus one (`0`: none yet), the reset flag in the top bit, and the value as stored
/// (`f32`, the precision of every block).
#[derive(Clone, Copy, Default)]
struct LastValue {
    at: u32,
    value: f32,
}

impl LastValue {
    const RESET: u32 = 1 << 31;

    /// The value at `secs` seconds after the epoch; none when that does not fit (a chart
    /// collected for more than 68 years).
    fn new(secs: i64, value: f64, reset: bool) -> LastValue {
        match u32::try_from(secs + 1) {
            Ok(at) if at < Self::RESET => {
                LastValue { at: at | if reset { Self::RESET } else { 0 }, value: value as f32 }
            }
            _ => LastValue::default(),
        }
    }

    /// Seconds after the epoch, if there is a value.
    fn secs(self) -> Option<i64> {
        let at = self.at & !Self::RESET;
        (at != 0).then(|| i64::from(at) - 1)
    }

    fn sample(self) -> Sample {
        Sample::Value { value: f64::from(self.value), reset: self.at & Self::RESET != 0 }
    }
}

thread_local! {
    /// The row being appended, gaps made explicit (reused: no allocation per append).
    static ROW: RefCell<Vec<Sample>> = const { RefCell::new(Vec::new()) };
}

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
    /// Column ids, inline when short (no allocation per column); once a block is sealed
    /// with them, the same allocation as the engine index's column set.
    dims: Rc<[CompactString]>,
    update_every: u32,
    open: Option<OpenBlock>,
    /// Newest slot stored (open block or sealed, including blocks found on disk).
    last_time: Option<i64>,
    /// Time of the newest appended row (`None` until the first append).
    row_time: Option<i64>,
    /// Time of the first appended row, the origin of [`LastValue`] times.
    epoch: i64,
    /// Newest value of each column.
    last: Vec<LastValue>,
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
            dims: Rc::from([]),
            update_every: update_every.max(1),
            open: None,
            last_time: engine.last_time(series),
            row_time: None,
            epoch: 0,
            last: Vec::new(),
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
        let mut dims = self.dims.to_vec();
        dims.push(CompactString::from(id));
        self.dims = dims.into();
        self.last.push(LastValue::default());
        self.dims.len() - 1
    }

    /// Asks the CPU for what the next append touches: the per-column state and the open
    /// block's column states and stream tail.
    pub fn prefetch(&self) {
        prefetch_slice(&self.last);
        if let Some(o) = &self.open {
            o.enc.prefetch();
        }
    }

    /// Releases the spare capacity of the per-column vectors.
    pub fn shrink_to_fit(&mut self) {
        self.last.shrink_to_fit();
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
        if self.row_time.is_none() {
            self.epoch = t;
        }
        let o =
            self.open.get_or_insert_with(|| OpenBlock { enc: BlockEncoder::new(self.dims.len()), start: t, values: 0 });
        let mut n = 0u64;
        ROW.with_borrow_mut(|row| {
            row.clear();
            for (i, last) in self.last.iter_mut().enumerate() {
                let s = match values.get(i).copied() {
                    Some(Sample::Value { value, reset }) if value.is_finite() => {
                        n += 1;
                        *last = LastValue::new(t - self.epoch, value, reset);
                        Sample::Value { value, reset }
                    }
                    _ => Sample::Gap,
                };
                row.push(s);
            }
            o.enc.push(row);
        });
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
        self.dims = self.engine.seal(self.series, &self.dims, b);
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
            return match self.last.get(col) {
                Some(&last) if last.secs() == Some(t - self.epoch) => last.sample(),
                _ => Sample::Gap,
            };
        }
        let mut out = Vec::with_capacity(1);
        self.read(col, t, t, &mut out);
        out.first().copied().unwrap_or(Sample::Gap)
    }

    /// Newest value of a column appended since start (as stored, like every read), with
    /// its time.
    pub fn last_value(&self, col: usize) -> Option<(i64, f64)> {
        let last = *self.last.get(col)?;
        Some((self.epoch + last.secs()?, f64::from(last.value)))
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
