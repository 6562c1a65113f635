//! The cell code shared by every column scheme, and the encode/decode drivers.
//!
//! Owns: the prefix code of one cell (one slot of one column) and run-length handling.
//! A [`Column`] remembers what the last cell was (gap, zero, value) and a value scheme
//! ([`Values`]) predicts the next value; the prefix says how the cell relates to that:
//!
//! | prefix | meaning |
//! |---|---|
//! | `0` | as the last cell: a gap after a gap, `+0.0` after a zero, else the predicted value without reset (with run lengths on: followed by the Elias gamma run length) |
//! | `10` | a value, short form (scheme-specific payload) |
//! | `110` | a value, long form |
//! | `1110` | the value `+0.0` without reset |
//! | `11110` | a gap |
//! | `11111` | escape: a reset bit, then the value in the scheme's raw form |
//!
//! Zeros and gaps do not move the value prediction, so a sparse column (mostly zeros with
//! an event now and then, typical of interpolated rates) pays for each event against the
//! previous event, not against zero. Invariants: encoder and decoder update a column's
//! state identically for every cell; decoding never reads past its input and never yields
//! more cells than asked for.

use super::bits::{gamma_bits, BitReader, BitWriter};

/// One cell as a scheme sees it: a gap, or a value as an integer (the `f32` bits for the
/// XOR scheme, the scaled integer for the integer scheme) with its reset flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Gap,
    Val { x: i64, reset: bool },
}

/// Where encoded bits go: a real writer, or a counter used to price a scheme.
pub trait Sink {
    fn put(&mut self, value: u64, n: u32);
    fn gamma(&mut self, n: u64);
}

impl Sink for BitWriter {
    fn put(&mut self, value: u64, n: u32) {
        self.write(value, n);
    }
    fn gamma(&mut self, n: u64) {
        BitWriter::gamma(self, n);
    }
}

/// Counts bits instead of writing them.
#[derive(Debug, Default, Clone, Copy)]
pub struct BitCount(pub u64);

impl Sink for BitCount {
    fn put(&mut self, _value: u64, n: u32) {
        self.0 += u64::from(n);
    }
    fn gamma(&mut self, n: u64) {
        self.0 += gamma_bits(n);
    }
}

pub const PREFIX_SHORT: (u64, u32) = (0b10, 2);
pub const PREFIX_LONG: (u64, u32) = (0b110, 3);
pub const PREFIX_ZERO: (u64, u32) = (0b1110, 4);
pub const PREFIX_GAP: (u64, u32) = (0b11110, 5);
pub const PREFIX_ESCAPE: (u64, u32) = (0b11111, 5);
/// Longest run of one bits in a prefix.
const MAX_ONES: u32 = 5;

/// A value scheme: the prediction of the next value and the payloads of the value codes.
pub trait Values {
    /// The `x` of the value `+0.0`.
    const ZERO: i64;
    /// The value the `0` prefix stands for after a value.
    fn predicted(&self) -> i64;
    /// Takes `x` as the latest value (after any value cell).
    fn accept(&mut self, x: i64);
    /// Writes value `x` (prefix included: short, long or escape) and accepts it. `x` may
    /// equal the prediction (after a gap or a zero, or with a reset).
    fn put_value<S: Sink>(&mut self, x: i64, reset: bool, sink: &mut S);
    /// Reads the payload of prefix `ones` (1 short, 2 long, 5 escape) and accepts the value.
    fn read_value(&mut self, ones: u32, r: &mut BitReader<'_>) -> Option<(i64, bool)>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Last {
    /// A value (the start state: the prediction is the scheme's initial value).
    #[default]
    Value,
    Zero,
    Gap,
}

/// A value scheme plus the kind of the last cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Column<V> {
    pub values: V,
    last: Last,
}

impl<V: Values> Column<V> {
    pub fn new(values: V) -> Self {
        Column { values, last: Last::Value }
    }
}

impl<V: Values> Mode for Column<V> {
    fn is_same(&self, cell: &Cell) -> bool {
        match (*cell, self.last) {
            (Cell::Gap, Last::Gap) => true,
            (Cell::Val { x, reset: false }, Last::Zero) => x == V::ZERO,
            (Cell::Val { x, reset: false }, Last::Value) => x == self.values.predicted(),
            _ => false,
        }
    }

    fn same_cell(&self) -> Cell {
        match self.last {
            Last::Gap => Cell::Gap,
            Last::Zero => Cell::Val { x: V::ZERO, reset: false },
            Last::Value => Cell::Val { x: self.values.predicted(), reset: false },
        }
    }

    fn advance_same(&mut self) {
        if self.last == Last::Value {
            let x = self.values.predicted();
            self.values.accept(x);
        }
    }

    fn put_other<S: Sink>(&mut self, cell: &Cell, sink: &mut S) {
        match *cell {
            Cell::Gap => {
                sink.put(PREFIX_GAP.0, PREFIX_GAP.1);
                self.last = Last::Gap;
            }
            Cell::Val { x, reset: false } if x == V::ZERO => {
                sink.put(PREFIX_ZERO.0, PREFIX_ZERO.1);
                self.last = Last::Zero;
            }
            Cell::Val { x, reset } => {
                self.values.put_value(x, reset, sink);
                self.last = Last::Value;
            }
        }
    }

    fn read_other(&mut self, ones: u32, r: &mut BitReader<'_>) -> Option<Cell> {
        match ones {
            3 => {
                self.last = Last::Zero;
                Some(Cell::Val { x: V::ZERO, reset: false })
            }
            4 => {
                self.last = Last::Gap;
                Some(Cell::Gap)
            }
            _ => {
                let (x, reset) = self.values.read_value(ones, r)?;
                self.last = Last::Value;
                Some(Cell::Val { x, reset })
            }
        }
    }
}

/// A column scheme at the level of cells (see [`Column`]).
pub trait Mode {
    /// Whether `cell` is exactly what the `0` prefix would decode to now.
    fn is_same(&self, cell: &Cell) -> bool;
    /// What the `0` prefix decodes to now.
    fn same_cell(&self) -> Cell;
    /// State update after a `0` cell.
    fn advance_same(&mut self);
    /// Writes a cell that is not [`Mode::is_same`] (prefix included) and updates the state.
    fn put_other<S: Sink>(&mut self, cell: &Cell, sink: &mut S);
    /// Reads the cell after prefix `ones` (1 short, 2 long, 3 zero, 4 gap, 5 escape) and
    /// updates the state; `None` on truncated or impossible input.
    fn read_other(&mut self, ones: u32, r: &mut BitReader<'_>) -> Option<Cell>;
}

/// Encodes `cells` with `mode`, with or without run lengths after `0` prefixes.
pub fn encode<M: Mode, S: Sink>(mode: &mut M, cells: &[Cell], runs: bool, sink: &mut S) {
    let mut i = 0;
    while let Some(cell) = cells.get(i) {
        if mode.is_same(cell) {
            mode.advance_same();
            let mut run = 1;
            if runs {
                while cells.get(i + run).is_some_and(|c| mode.is_same(c)) {
                    mode.advance_same();
                    run += 1;
                }
                sink.put(0, 1);
                sink.gamma(run as u64);
            } else {
                sink.put(0, 1);
            }
            i += run;
        } else {
            mode.put_other(cell, sink);
            i += 1;
        }
    }
}

/// Decodes exactly `count` cells appended to `out`; `None` on bad input.
pub fn decode<M: Mode>(
    mode: &mut M,
    r: &mut BitReader<'_>,
    count: usize,
    runs: bool,
    out: &mut Vec<Cell>,
) -> Option<()> {
    let mut left = count;
    while left > 0 {
        let n = decode_one(mode, r, runs, left, out)?;
        left -= n;
    }
    Some(())
}

/// Decodes one code (one cell, or one run of at most `max` cells) appended to `out`;
/// returns the number of cells produced.
pub fn decode_one<M: Mode>(
    mode: &mut M,
    r: &mut BitReader<'_>,
    runs: bool,
    max: usize,
    out: &mut Vec<Cell>,
) -> Option<usize> {
    match r.ones(MAX_ONES)? {
        0 => {
            let run = if runs { usize::try_from(r.gamma()?).ok()? } else { 1 };
            if run == 0 || run > max {
                return None;
            }
            for _ in 0..run {
                out.push(mode.same_cell());
                mode.advance_same();
            }
            Some(run)
        }
        ones => {
            out.push(mode.read_other(ones, r)?);
            Some(1)
        }
    }
}

/// Decodes one cell of a stream written without run lengths.
pub fn decode_cell<M: Mode>(mode: &mut M, r: &mut BitReader<'_>) -> Option<Cell> {
    match r.ones(MAX_ONES)? {
        0 => {
            let cell = mode.same_cell();
            mode.advance_same();
            Some(cell)
        }
        ones => mode.read_other(ones, r),
    }
}

/// Bits of `cells` under `mode` without and with run lengths, in one pass.
pub fn price<M: Mode>(mut mode: M, cells: &[Cell]) -> (u64, u64) {
    let mut other = BitCount::default();
    let (mut plain, mut runs) = (0u64, 0u64);
    let mut run = 0u64;
    for cell in cells {
        if mode.is_same(cell) {
            mode.advance_same();
            run += 1;
            continue;
        }
        if run > 0 {
            plain += run;
            runs += 1 + gamma_bits(run);
            run = 0;
        }
        mode.put_other(cell, &mut other);
    }
    if run > 0 {
        plain += run;
        runs += 1 + gamma_bits(run);
    }
    (plain + other.0, runs + other.0)
}
