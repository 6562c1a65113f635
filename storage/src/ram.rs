//! The ring of slots behind `ram`, `save` and `map`: `entries` slots per dimension.
//!
//! Owns: the ring logic of one chart, over a [`Columns`] backend (memory for `ram` and
//! `save`, a mapped file for `map`). Invariants: every column has exactly `entries`
//! slots; `head` is the index of the newest slot, whose time is `last_time`; slot
//! `head - k` (mod `entries`) holds time `last_time - k * update_every` for `k < filled`;
//! values are `f32` (about 7 significant digits, like Netdata's storage number) with NaN
//! meaning a gap; reset/overflow flags live in a bitset beside each column.
//!
//! Chart column `i` (the chart's dimension `i`) is backend column `logical[i]`. A ring
//! read from a file starts with every backend column *parked*: a dimension defined later
//! with the same id takes its column (and its history) back; parked columns keep
//! advancing with gaps so that what they hold stays on the time grid.

use thiserror::Error;

use crate::columns::{Columns, Cursor, Heap};
use crate::Sample;

/// Why a slot could not be appended.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AppendError {
    #[error("slot time {t} is not after the last stored slot {last}")]
    NotAfterLast { t: i64, last: i64 },
}

/// A ring of slots for every dimension of one chart.
#[derive(Debug)]
pub struct RamChart<B: Columns = Heap> {
    cols: B,
    cur: Cursor,
    logical: Vec<usize>,
    parked: Vec<usize>,
}

impl RamChart<Heap> {
    /// `entries` is clamped to at least 5 (Netdata's minimum); `update_every` to ≥ 1.
    pub fn new(entries: u32, update_every: u32) -> Self {
        let cur = Cursor { update_every: update_every.max(1), ..Cursor::default() };
        RamChart { cols: Heap::new((entries as usize).max(5)), cur, logical: Vec::new(), parked: Vec::new() }
    }
}

impl<B: Columns> RamChart<B> {
    /// A ring over existing backend columns (read from a file), all of them parked until
    /// [`RamChart::add_column`] claims them by id. `cur` must fit `cols.entries()`.
    pub(crate) fn from_parts(cols: B, mut cur: Cursor) -> Self {
        cur.update_every = cur.update_every.max(1);
        if cur.filled > cols.entries() || cur.head >= cols.entries() {
            cur.filled = 0;
            cur.head = 0;
        }
        let parked = (0..cols.count()).collect();
        RamChart { cols, cur, logical: Vec::new(), parked }
    }

    pub fn update_every(&self) -> u32 {
        self.cur.update_every
    }

    pub fn entries(&self) -> usize {
        self.cols.entries()
    }

    /// Columns of the chart (parked backend columns not counted).
    pub fn columns(&self) -> usize {
        self.logical.len()
    }

    pub(crate) fn cursor(&self) -> &Cursor {
        &self.cur
    }

    pub(crate) fn backend(&self) -> &B {
        &self.cols
    }

    /// Adds the column of dimension `id`; returns its index. A parked column with this id
    /// is taken back with its slots; otherwise a new column reads as gaps everywhere.
    pub fn add_column(&mut self, id: &[u8]) -> Result<usize, B::Error> {
        let parked = self.parked.iter().position(|&p| self.cols.id(p) == id);
        let p = match parked {
            Some(i) => self.parked.swap_remove(i),
            None => self.cols.push(id)?,
        };
        self.logical.push(p);
        Ok(self.logical.len() - 1)
    }

    /// Drops all slots and switches to a new interval.
    pub fn set_update_every(&mut self, update_every: u32) {
        let ue = update_every.max(1);
        if ue != self.cur.update_every {
            self.cur.update_every = ue;
            self.cur.filled = 0;
            self.cur.last_time = 0;
            self.cols.sync(&self.cur);
        }
    }

    /// Appends slot `t` for every column (`values[i]` for column `i`; missing → gap).
    /// Skipped slots between the last one and `t` become gaps; a jump longer than the
    /// ring restarts it. `t` must be after the last slot.
    pub fn append(&mut self, t: i64, values: &[Sample]) -> Result<(), AppendError> {
        let ue = i64::from(self.cur.update_every);
        if self.cur.filled > 0 {
            if t <= self.cur.last_time {
                return Err(AppendError::NotAfterLast { t, last: self.cur.last_time });
            }
            let steps = (t - self.cur.last_time) / ue;
            if steps >= self.entries() as i64 {
                self.cur.filled = 0;
            } else {
                for _ in 1..steps {
                    self.advance();
                    let h = self.cur.head;
                    for p in 0..self.cols.count() {
                        self.cols.set(p, h, Sample::Gap);
                    }
                }
            }
        }
        self.advance();
        let h = self.cur.head;
        for (i, &p) in self.logical.iter().enumerate() {
            let s = values.get(i).copied().unwrap_or(Sample::Gap);
            if matches!(s, Sample::Value { value, .. } if value.is_finite()) {
                self.cur.points += 1;
                self.cols.set(p, h, s);
            } else {
                self.cols.set(p, h, Sample::Gap);
            }
        }
        for &p in &self.parked {
            self.cols.set(p, h, Sample::Gap);
        }
        self.cur.last_time = t - t.rem_euclid(ue);
        self.cols.sync(&self.cur);
        Ok(())
    }

    fn advance(&mut self) {
        if self.cur.filled == 0 {
            self.cur.head = 0;
            self.cur.filled = 1;
        } else {
            self.cur.head = (self.cur.head + 1) % self.entries();
            self.cur.filled = (self.cur.filled + 1).min(self.entries());
        }
    }

    pub fn first_time(&self) -> Option<i64> {
        (self.cur.filled > 0)
            .then(|| self.cur.last_time - (self.cur.filled as i64 - 1) * i64::from(self.cur.update_every))
    }

    pub fn last_time(&self) -> Option<i64> {
        (self.cur.filled > 0).then_some(self.cur.last_time)
    }

    fn index_of(&self, t: i64) -> Option<usize> {
        let first = self.first_time()?;
        let ue = i64::from(self.cur.update_every);
        if t < first || t > self.cur.last_time || (t - first) % ue != 0 {
            return None;
        }
        let back = ((self.cur.last_time - t) / ue) as usize;
        Some((self.cur.head + self.entries() - back) % self.entries())
    }

    /// Value of column `col` at slot `t`; a gap outside the stored range or off-grid.
    pub fn get(&self, col: usize, t: i64) -> Sample {
        match (self.logical.get(col), self.index_of(t)) {
            (Some(&p), Some(i)) => self.cols.get(p, i),
            _ => Sample::Gap,
        }
    }

    /// Newest non-gap value of a column and its slot time.
    pub fn last_value(&self, col: usize) -> Option<(i64, f64)> {
        let p = *self.logical.get(col)?;
        let ue = i64::from(self.cur.update_every);
        let n = self.entries();
        (0..self.cur.filled).find_map(|k| {
            let i = (self.cur.head + n - k) % n;
            match self.cols.get(p, i) {
                Sample::Value { value, .. } => Some((self.cur.last_time - k as i64 * ue, value)),
                Sample::Gap => None,
            }
        })
    }

    pub fn points_stored(&self) -> u64 {
        self.cur.points
    }

    pub fn memory_bytes(&self) -> usize {
        self.cols.memory_bytes()
    }

    /// A copy of this ring in memory (same columns, parked ones included, same slots).
    pub fn to_heap(&self) -> RamChart<Heap> {
        let n = self.entries();
        let mut heap = Heap::new(n);
        for p in 0..self.cols.count() {
            let Ok(q) = heap.push(self.cols.id(p));
            for i in 0..n {
                heap.set(q, i, self.cols.get(p, i));
            }
        }
        RamChart { cols: heap, cur: self.cur, logical: self.logical.clone(), parked: self.parked.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: f64) -> Sample {
        Sample::Value { value: x, reset: false }
    }

    #[test]
    fn append_and_read_back() {
        let mut r = RamChart::new(10, 1);
        let a = r.add_column(b"a").unwrap();
        let b = r.add_column(b"b").unwrap();
        r.append(100, &[v(1.0), v(2.0)]).unwrap();
        r.append(101, &[v(3.0), Sample::Gap]).unwrap();
        assert_eq!(r.first_time(), Some(100));
        assert_eq!(r.last_time(), Some(101));
        assert_eq!(r.get(a, 100), v(1.0));
        assert_eq!(r.get(b, 100), v(2.0));
        assert_eq!(r.get(a, 101), v(3.0));
        assert_eq!(r.get(b, 101), Sample::Gap);
        assert_eq!(r.get(a, 99), Sample::Gap);
        assert_eq!(r.get(a, 102), Sample::Gap);
        assert_eq!(r.points_stored(), 3);
    }

    #[test]
    fn skipped_slots_are_gaps_not_zeros() {
        let mut r = RamChart::new(10, 2);
        r.add_column(b"a").unwrap();
        r.append(100, &[v(5.0)]).unwrap();
        r.append(106, &[v(7.0)]).unwrap();
        assert_eq!(r.get(0, 102), Sample::Gap);
        assert_eq!(r.get(0, 104), Sample::Gap);
        assert_eq!(r.get(0, 106), v(7.0));
        assert_eq!(r.get(0, 103), Sample::Gap, "off-grid time");
        assert_eq!(r.first_time(), Some(100));
    }

    #[test]
    fn ring_wraps_and_forgets_oldest() {
        let mut r = RamChart::new(5, 1);
        r.add_column(b"a").unwrap();
        for t in 0..12 {
            r.append(1000 + t, &[v(t as f64)]).unwrap();
        }
        assert_eq!(r.first_time(), Some(1007));
        assert_eq!(r.last_time(), Some(1011));
        assert_eq!(r.get(0, 1006), Sample::Gap);
        assert_eq!(r.get(0, 1007), v(7.0));
        assert_eq!(r.get(0, 1011), v(11.0));
        assert_eq!(r.last_value(0), Some((1011, 11.0)));
    }

    #[test]
    fn long_jump_restarts_ring() {
        let mut r = RamChart::new(5, 1);
        r.add_column(b"a").unwrap();
        r.append(10, &[v(1.0)]).unwrap();
        r.append(100, &[v(2.0)]).unwrap();
        assert_eq!(r.first_time(), Some(100));
        assert_eq!(r.get(0, 10), Sample::Gap);
    }

    #[test]
    fn time_must_move_forward() {
        let mut r = RamChart::new(5, 1);
        r.add_column(b"a").unwrap();
        r.append(10, &[v(1.0)]).unwrap();
        assert_eq!(r.append(10, &[v(1.0)]), Err(AppendError::NotAfterLast { t: 10, last: 10 }));
        assert_eq!(r.append(9, &[v(1.0)]), Err(AppendError::NotAfterLast { t: 9, last: 10 }));
    }

    #[test]
    fn late_column_reads_gaps_for_old_slots_and_keeps_reset_flag() {
        let mut r = RamChart::new(8, 1);
        r.add_column(b"a").unwrap();
        r.append(1, &[v(1.0)]).unwrap();
        let c = r.add_column(b"c").unwrap();
        r.append(2, &[v(2.0), Sample::Value { value: 9.5, reset: true }]).unwrap();
        assert_eq!(r.get(c, 1), Sample::Gap);
        assert_eq!(r.get(c, 2), Sample::Value { value: 9.5, reset: true });
        assert_eq!(r.get(0, 2), v(2.0));
    }

    #[test]
    fn changing_update_every_drops_data() {
        let mut r = RamChart::new(8, 1);
        r.add_column(b"a").unwrap();
        r.append(1, &[v(1.0)]).unwrap();
        r.set_update_every(2);
        assert_eq!(r.last_time(), None);
        r.append(4, &[v(1.0)]).unwrap();
        assert_eq!(r.first_time(), Some(4));
    }
}
