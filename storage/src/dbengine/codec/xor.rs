//! XOR scheme: Gorilla-style coding of the `f32` bits of each value against the previous
//! value, for any column (the open block uses it for every column, sealed blocks for the
//! columns no integer scheme beats).
//!
//! Owns: the payloads of the cell prefixes (see `cells`): short = the meaningful bits of
//! the XOR inside the current window; long = 5-bit count of leading zeros, 5-bit length
//! minus one, then the meaningful bits (this sets the window); escape = a reset bit then
//! the 32 raw bits. Invariants: values are stored as their exact `f32` bits (NaN, infinities
//! and `-0.0` included); the state starts at "previous value 0.0, no window".

use super::bits::BitReader;
use super::cells::{Cell, Sink, Values, PREFIX_ESCAPE, PREFIX_LONG, PREFIX_SHORT};
use crate::Sample;

/// Prediction state of one XOR column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Xor {
    /// Bits of the last value other than a `0`-prefix zero.
    prev: u32,
    /// Leading zeros of the window.
    lead: u8,
    /// Meaningful bits of the window; 0 = no window yet.
    len: u8,
}

/// The stored bits of a value (the `f32` rounding of the precision contract).
pub fn bits_of(value: f64) -> u32 {
    (value as f32).to_bits()
}

/// A sample as an XOR cell (`x` = the stored `f32` bits).
pub fn cell_of(s: &Sample) -> Cell {
    match *s {
        Sample::Gap => Cell::Gap,
        Sample::Value { value, reset } => Cell::Val { x: i64::from(bits_of(value)), reset },
    }
}

/// An XOR cell as a sample.
pub fn sample_of(c: Cell) -> Sample {
    match c {
        Cell::Gap => Sample::Gap,
        Cell::Val { x, reset } => Sample::Value { value: f64::from(f32::from_bits(x as u32)), reset },
    }
}

impl Xor {
    fn window_fits(&self, xor: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let trail = 32 - u32::from(self.lead) - u32::from(self.len);
        xor == 0 || (xor.leading_zeros() >= u32::from(self.lead) && xor.trailing_zeros() >= trail)
    }
}

impl Values for Xor {
    const ZERO: i64 = 0;

    fn predicted(&self) -> i64 {
        i64::from(self.prev)
    }

    fn accept(&mut self, x: i64) {
        self.prev = x as u32;
    }

    fn put_value<S: Sink>(&mut self, x: i64, reset: bool, sink: &mut S) {
        let bits = x as u32;
        let xor = bits ^ self.prev;
        if reset || (xor == 0 && self.len == 0) {
            sink.put(PREFIX_ESCAPE.0, PREFIX_ESCAPE.1);
            sink.put(u64::from(reset), 1);
            sink.put(u64::from(bits), 32);
        } else if self.window_fits(xor) {
            let trail = 32 - u32::from(self.lead) - u32::from(self.len);
            sink.put(PREFIX_SHORT.0, PREFIX_SHORT.1);
            sink.put(u64::from(xor >> trail), u32::from(self.len));
        } else {
            let lead = xor.leading_zeros().min(31);
            let trail = xor.trailing_zeros();
            let len = 32 - lead - trail;
            sink.put(PREFIX_LONG.0, PREFIX_LONG.1);
            sink.put(u64::from(lead), 5);
            sink.put(u64::from(len - 1), 5);
            sink.put(u64::from(xor >> trail), len);
            self.lead = lead as u8;
            self.len = len as u8;
        }
        self.prev = bits;
    }

    fn read_value(&mut self, ones: u32, r: &mut BitReader<'_>) -> Option<(i64, bool)> {
        let (bits, reset) = match ones {
            1 => {
                if self.len == 0 {
                    return None;
                }
                let trail = 32 - u32::from(self.lead) - u32::from(self.len);
                let m = r.read(u32::from(self.len))? as u32;
                (self.prev ^ (m << trail), false)
            }
            2 => {
                let lead = r.read(5)? as u32;
                let len = r.read(5)? as u32 + 1;
                if lead + len > 32 {
                    return None;
                }
                let trail = 32 - lead - len;
                let m = r.read(len)?;
                self.lead = lead as u8;
                self.len = len as u8;
                (self.prev ^ ((m << trail) as u32), false)
            }
            _ => {
                let reset = r.bit()?;
                (r.read(32)? as u32, reset)
            }
        };
        self.prev = bits;
        Some((i64::from(bits), reset))
    }
}
