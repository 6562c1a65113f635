//! The cell code shared by every column scheme, and the encode/decode drivers.
//!
//! Owns: the prefix code of one cell (one slot of one column) and run-length handling.
//! A scheme ([`Mode`]) predicts the next cell from its state; the prefix says how the cell
//! relates to that prediction:
//!
//! | prefix | meaning |
//! |---|---|
//! | `0` | same as predicted: a gap after a gap, else the predicted value without reset (with run lengths on: followed by the Elias gamma run length) |
//! | `10` | a value, short form (scheme-specific payload) |
//! | `110` | a value, long form |
//! | `1110` | a gap after a value |
//! | `1111` | escape: a reset bit, then the value in the scheme's raw form |
//!
//! Invariants: encoder and decoder update a [`Mode`]'s state identically for every cell;
//! decoding never reads past its input and never yields more than the cells asked for.

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
pub const PREFIX_GAP: (u64, u32) = (0b1110, 4);
pub const PREFIX_ESCAPE: (u64, u32) = (0b1111, 4);

/// A column scheme: its prediction state and the payloads of its codes.
pub trait Mode {
    /// Whether `cell` is exactly what the `0` prefix would decode to now.
    fn is_same(&self, cell: &Cell) -> bool;
    /// What the `0` prefix decodes to now.
    fn same_cell(&self) -> Cell;
    /// State update after a `0` cell.
    fn advance_same(&mut self);
    /// Writes a cell that is not [`Mode::is_same`] (prefix included) and updates the state.
    fn put_other<S: Sink>(&mut self, cell: &Cell, sink: &mut S);
    /// Reads the payload after prefix `ones` (1 = short, 2 = long, 3 = gap, 4 = escape)
    /// and updates the state; `None` on truncated or impossible input.
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
    match r.ones(4)? {
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
    match r.ones(4)? {
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
