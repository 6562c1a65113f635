//! `memory mode = ram`: a ring of `entries` slots per dimension, in memory.
//!
//! Owns: the values of one chart. Invariants: every column has exactly `entries` slots;
//! `head` is the index of the newest slot, whose time is `last_time`; slot `head - k`
//! (mod `entries`) holds time `last_time - k * update_every` for `k < filled`; values are
//! `f32` (about 7 significant digits, like Netdata's storage number) with NaN meaning a
//! gap; reset/overflow flags live in a bitset beside each column.

use thiserror::Error;

use crate::Sample;

/// Why a slot could not be appended.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AppendError {
    #[error("slot time {t} is not after the last stored slot {last}")]
    NotAfterLast { t: i64, last: i64 },
}

#[derive(Debug)]
struct Column {
    values: Box<[f32]>,
    resets: Box<[u64]>,
}

impl Column {
    fn new(entries: usize) -> Self {
        Column {
            values: vec![f32::NAN; entries].into_boxed_slice(),
            resets: vec![0u64; entries.div_ceil(64)].into_boxed_slice(),
        }
    }

    fn set(&mut self, idx: usize, s: Sample) {
        let (v, reset) = match s {
            Sample::Gap => (f32::NAN, false),
            Sample::Value { value, reset } => (value as f32, reset),
        };
        self.values[idx] = v;
        let (w, b) = (idx / 64, idx % 64);
        if reset {
            self.resets[w] |= 1 << b;
        } else {
            self.resets[w] &= !(1 << b);
        }
    }

    fn get(&self, idx: usize) -> Sample {
        let v = self.values[idx];
        if v.is_nan() {
            Sample::Gap
        } else {
            Sample::Value { value: f64::from(v), reset: self.resets[idx / 64] & (1 << (idx % 64)) != 0 }
        }
    }
}

/// A ring of slots for every dimension of one chart.
#[derive(Debug)]
pub struct RamChart {
    entries: usize,
    update_every: u32,
    columns: Vec<Column>,
    head: usize,
    filled: usize,
    last_time: i64,
    points: u64,
}

impl RamChart {
    /// `entries` is clamped to at least 5 (Netdata's minimum); `update_every` to ≥ 1.
    pub fn new(entries: u32, update_every: u32) -> Self {
        RamChart {
            entries: (entries as usize).max(5),
            update_every: update_every.max(1),
            columns: Vec::new(),
            head: 0,
            filled: 0,
            last_time: 0,
            points: 0,
        }
    }

    pub fn update_every(&self) -> u32 {
        self.update_every
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// Adds a column whose existing slots are gaps; returns its index.
    pub fn add_column(&mut self) -> usize {
        self.columns.push(Column::new(self.entries));
        self.columns.len() - 1
    }

    /// Drops all slots and switches to a new interval.
    pub fn set_update_every(&mut self, update_every: u32) {
        let ue = update_every.max(1);
        if ue != self.update_every {
            self.update_every = ue;
            self.filled = 0;
            self.last_time = 0;
        }
    }

    /// Appends slot `t` for every column (`values[i]` for column `i`; missing → gap).
    /// Skipped slots between the last one and `t` become gaps; a jump longer than the
    /// ring restarts it. `t` must be after the last slot.
    pub fn append(&mut self, t: i64, values: &[Sample]) -> Result<(), AppendError> {
        let ue = i64::from(self.update_every);
        if self.filled > 0 {
            if t <= self.last_time {
                return Err(AppendError::NotAfterLast { t, last: self.last_time });
            }
            let steps = (t - self.last_time) / ue;
            if steps >= self.entries as i64 {
                self.filled = 0;
            } else {
                for _ in 1..steps {
                    self.advance();
                    let h = self.head;
                    for c in &mut self.columns {
                        c.set(h, Sample::Gap);
                    }
                }
            }
        }
        self.advance();
        let h = self.head;
        for (i, c) in self.columns.iter_mut().enumerate() {
            let s = values.get(i).copied().unwrap_or(Sample::Gap);
            if matches!(s, Sample::Value { value, .. } if value.is_finite()) {
                self.points += 1;
                c.set(h, s);
            } else {
                c.set(h, Sample::Gap);
            }
        }
        self.last_time = t - t.rem_euclid(ue);
        Ok(())
    }

    fn advance(&mut self) {
        if self.filled == 0 {
            self.head = 0;
            self.filled = 1;
        } else {
            self.head = (self.head + 1) % self.entries;
            self.filled = (self.filled + 1).min(self.entries);
        }
    }

    pub fn first_time(&self) -> Option<i64> {
        (self.filled > 0).then(|| self.last_time - (self.filled as i64 - 1) * i64::from(self.update_every))
    }

    pub fn last_time(&self) -> Option<i64> {
        (self.filled > 0).then_some(self.last_time)
    }

    fn index_of(&self, t: i64) -> Option<usize> {
        let first = self.first_time()?;
        let ue = i64::from(self.update_every);
        if t < first || t > self.last_time || (t - first) % ue != 0 {
            return None;
        }
        let back = ((self.last_time - t) / ue) as usize;
        Some((self.head + self.entries - back) % self.entries)
    }

    /// Value of column `col` at slot `t`; a gap outside the stored range or off-grid.
    pub fn get(&self, col: usize, t: i64) -> Sample {
        match (self.columns.get(col), self.index_of(t)) {
            (Some(c), Some(i)) => c.get(i),
            _ => Sample::Gap,
        }
    }

    /// Newest non-gap value of a column and its slot time.
    pub fn last_value(&self, col: usize) -> Option<(i64, f64)> {
        let c = self.columns.get(col)?;
        let ue = i64::from(self.update_every);
        (0..self.filled).find_map(|k| {
            let i = (self.head + self.entries - k) % self.entries;
            match c.get(i) {
                Sample::Value { value, .. } => Some((self.last_time - k as i64 * ue, value)),
                Sample::Gap => None,
            }
        })
    }

    pub fn points_stored(&self) -> u64 {
        self.points
    }

    pub fn memory_bytes(&self) -> usize {
        self.columns.len() * (self.entries * 4 + self.entries.div_ceil(64) * 8)
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
        let a = r.add_column();
        let b = r.add_column();
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
        r.add_column();
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
        r.add_column();
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
        r.add_column();
        r.append(10, &[v(1.0)]).unwrap();
        r.append(100, &[v(2.0)]).unwrap();
        assert_eq!(r.first_time(), Some(100));
        assert_eq!(r.get(0, 10), Sample::Gap);
    }

    #[test]
    fn time_must_move_forward() {
        let mut r = RamChart::new(5, 1);
        r.add_column();
        r.append(10, &[v(1.0)]).unwrap();
        assert_eq!(r.append(10, &[v(1.0)]), Err(AppendError::NotAfterLast { t: 10, last: 10 }));
        assert_eq!(r.append(9, &[v(1.0)]), Err(AppendError::NotAfterLast { t: 9, last: 10 }));
    }

    #[test]
    fn late_column_reads_gaps_for_old_slots_and_keeps_reset_flag() {
        let mut r = RamChart::new(8, 1);
        r.add_column();
        r.append(1, &[v(1.0)]).unwrap();
        let c = r.add_column();
        r.append(2, &[v(2.0), Sample::Value { value: 9.5, reset: true }]).unwrap();
        assert_eq!(r.get(c, 1), Sample::Gap);
        assert_eq!(r.get(c, 2), Sample::Value { value: 9.5, reset: true });
        assert_eq!(r.get(0, 2), v(2.0));
    }

    #[test]
    fn changing_update_every_drops_data() {
        let mut r = RamChart::new(8, 1);
        r.add_column();
        r.append(1, &[v(1.0)]).unwrap();
        r.set_update_every(2);
        assert_eq!(r.last_time(), None);
        r.append(4, &[v(1.0)]).unwrap();
        assert_eq!(r.first_time(), Some(4));
    }
}
