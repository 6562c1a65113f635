//! Integer scheme: columns whose values are all exact multiples of a power of two or of a
//! power of ten, coded as residuals of integer predictions.
//!
//! Owns: finding a column's [`Scale`] (the value is `k × 2^-s` or `k ÷ 10^d` for an integer
//! `k`, checked bit for bit against the stored `f32`), the prediction (order 1: the previous
//! `k`; order 2: linear extrapolation of the last two), and the payloads of the cell
//! prefixes (see `cells`): short = `z - 1` in `width` bits, long = 6-bit bit length minus
//! one then `z`, escape = a reset bit, a 7-bit bit length then `z`, where `z` is the
//! zig-zag residual. Invariants: a column is only given a scale under which every one of
//! its values decodes to its exact `f32` bits; integer arithmetic wraps (never panics) so
//! untrusted residuals decode to some value, never to a crash.

use super::bits::gamma_bits;
use super::bits::BitReader;
use super::cells::{BitCount, Cell, Column, Mode, Sink, Values, PREFIX_ESCAPE, PREFIX_LONG, PREFIX_SHORT};
use crate::Sample;

/// Largest power-of-two scale tried.
const MAX_BINARY: u8 = 32;
/// Largest power-of-ten scale tried.
const MAX_DECIMAL: u8 = 6;
/// Integers are kept below this magnitude (exact in `f64`, far from `i64` overflow).
const MAX_INT: f64 = 9.007_199_254_740_992e15; // 2^53

/// How a column's integers map to values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// value = k × 2^-s
    Binary(u8),
    /// value = k ÷ 10^d
    Decimal(u8),
}

impl Scale {
    /// One byte: bit 7 = decimal, low bits = the exponent.
    pub fn to_byte(self) -> u8 {
        match self {
            Scale::Binary(s) => s,
            Scale::Decimal(d) => 0x80 | d,
        }
    }

    pub fn from_byte(b: u8) -> Option<Scale> {
        let e = b & 0x7F;
        if b & 0x80 == 0 {
            (e <= MAX_BINARY).then_some(Scale::Binary(e))
        } else {
            (e <= MAX_DECIMAL).then_some(Scale::Decimal(e))
        }
    }

    /// The stored `f32` bits of integer `k`.
    pub fn bits(self, k: i64) -> u32 {
        let v = match self {
            Scale::Binary(s) => k as f64 / (1u64 << s) as f64,
            Scale::Decimal(d) => k as f64 / 10f64.powi(i32::from(d)),
        };
        (v as f32).to_bits()
    }

    /// The integer of the `f32` with these bits under this scale, if it decodes back to
    /// the same bits.
    pub fn int_of(self, bits: u32) -> Option<i64> {
        let v = f64::from(f32::from_bits(bits));
        let scaled = match self {
            Scale::Binary(s) => v * (1u64 << s) as f64,
            Scale::Decimal(d) => (v * 10f64.powi(i32::from(d))).round(),
        };
        if !scaled.is_finite() || scaled.abs() >= MAX_INT {
            return None;
        }
        let k = scaled as i64;
        (self.bits(k) == bits).then_some(k)
    }

    /// XOR cells (`x` = `f32` bits) as integer cells, if every value has an integer.
    pub fn ints(self, cells: &[Cell], out: &mut Vec<Cell>) -> bool {
        out.clear();
        for c in cells {
            out.push(match *c {
                Cell::Gap => Cell::Gap,
                Cell::Val { x, reset } => match self.int_of(x as u32) {
                    Some(k) => Cell::Val { x: k, reset },
                    None => return false,
                },
            });
        }
        true
    }
}

/// Fraction bits a finite `f32` value needs to be an integer multiple of `2^-s`.
fn binary_fraction_bits(bits: u32) -> Option<u8> {
    let v = f32::from_bits(bits);
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(0);
    }
    let exp = ((bits >> 23) & 0xFF) as i32;
    let mant = if exp == 0 { bits & 0x7F_FFFF } else { (bits & 0x7F_FFFF) | 0x80_0000 };
    let e = if exp == 0 { -126 } else { exp - 127 };
    let frac = 23 - e - mant.trailing_zeros() as i32;
    u8::try_from(frac.max(0)).ok()
}

/// Candidate scales for XOR cells: the smallest binary scale that makes every value an
/// integer (if within the limits) and, unless that scale is 0, the decimal scales up to
/// [`MAX_DECIMAL`] in increasing order (the caller checks them with [`Scale::ints`]).
pub fn scales(cells: &[Cell]) -> Vec<Scale> {
    let mut s: u8 = 0;
    let mut any = false;
    for c in cells {
        if let Cell::Val { x, .. } = *c {
            any = true;
            match binary_fraction_bits(x as u32) {
                Some(f) if f <= MAX_BINARY => s = s.max(f),
                _ => return Vec::new(),
            }
        }
    }
    if !any {
        return Vec::new();
    }
    let mut out = vec![Scale::Binary(s)];
    if s > 0 {
        out.extend((1..=MAX_DECIMAL).map(Scale::Decimal));
    }
    out
}

fn zigzag(r: i64) -> u64 {
    ((r << 1) ^ (r >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

fn bit_len(z: u64) -> u32 {
    64 - z.leading_zeros()
}

/// Prediction state and parameters of one integer column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int {
    scale: Scale,
    /// 1 or 2.
    order: u8,
    /// Bits of the short form (`z - 1 < 2^width`), 0..=63.
    width: u8,
    prev: i64,
    prev2: i64,
    /// Values seen, saturating at 2.
    seen: u8,
}

impl Int {
    pub fn new(scale: Scale, order: u8, width: u8) -> Self {
        Int { scale, order: order.clamp(1, 2), width: width.min(63), prev: 0, prev2: 0, seen: 0 }
    }

    pub fn scale_byte(&self) -> u8 {
        self.scale.to_byte()
    }

    /// One byte: bit 7 = order 2, low 6 bits = the short-form width.
    pub fn params_byte(&self) -> u8 {
        (if self.order == 2 { 0x80 } else { 0 }) | self.width
    }

    pub fn from_bytes(scale: u8, params: u8) -> Option<Int> {
        Some(Int::new(Scale::from_byte(scale)?, if params & 0x80 != 0 { 2 } else { 1 }, params & 0x3F))
    }

    /// An integer cell of this column as a sample.
    pub fn sample_of(&self, c: Cell) -> Sample {
        match c {
            Cell::Gap => Sample::Gap,
            Cell::Val { x, reset } => Sample::Value { value: f64::from(f32::from_bits(self.scale.bits(x))), reset },
        }
    }

    /// Plans an integer column in one pass: the short-form width that minimises its bits,
    /// and the bits of the cells (without, with run lengths) at that width.
    pub fn plan(self, cells: &[Cell]) -> (u8, u64, u64) {
        // Everything but the short and long value codes costs the same at any width; for
        // those, hist[b] counts the residuals z >= 1 with bit_len(z - 1) == b and long[b]
        // sums their long-form bits.
        let mut hist = [0u64; 65];
        let mut long_bits = [0u64; 65];
        let (mut fixed, mut plain, mut runs, mut run) = (0u64, 0u64, 0u64, 0u64);
        let mut col = Column::new(self);
        for c in cells {
            if col.is_same(c) {
                col.advance_same();
                run += 1;
                continue;
            }
            if run > 0 {
                plain += run;
                runs += 1 + gamma_bits(run);
                run = 0;
            }
            match *c {
                Cell::Val { x, reset } if reset || x != 0 => {
                    let z = zigzag(x.wrapping_sub(col.values.predicted()));
                    if reset || z == 0 {
                        fixed += 5 + 1 + 7 + u64::from(bit_len(z));
                    } else {
                        let b = bit_len(z - 1) as usize;
                        hist[b] += 1;
                        long_bits[b] += 3 + 6 + u64::from(bit_len(z));
                    }
                }
                Cell::Val { .. } => fixed += 4,
                Cell::Gap => fixed += 5,
            }
            col.put_other(c, &mut BitCount::default());
        }
        if run > 0 {
            plain += run;
            runs += 1 + gamma_bits(run);
        }
        // cost(w) = (2 + w) × #{b <= w} + Σ_{b > w} long[b], with running sums.
        let top = hist.iter().rposition(|n| *n > 0).unwrap_or(0);
        let mut long: u64 = long_bits.iter().sum();
        let mut short_count = 0u64;
        let mut best = (u64::MAX, 0u8);
        for (w, n) in hist.iter().enumerate().take(top.min(63) + 1) {
            short_count += n;
            long -= long_bits[w];
            let cost = short_count * (2 + w as u64) + long;
            if cost < best.0 {
                best = (cost, w as u8);
            }
        }
        (best.1, plain + fixed + best.0, runs + fixed + best.0)
    }
}

impl Values for Int {
    const ZERO: i64 = 0;

    fn predicted(&self) -> i64 {
        if self.order == 2 && self.seen >= 2 {
            self.prev.wrapping_add(self.prev.wrapping_sub(self.prev2))
        } else {
            self.prev
        }
    }

    fn accept(&mut self, k: i64) {
        self.prev2 = self.prev;
        self.prev = k;
        self.seen = self.seen.saturating_add(1).min(2);
    }

    fn put_value<S: Sink>(&mut self, k: i64, reset: bool, sink: &mut S) {
        let z = zigzag(k.wrapping_sub(self.predicted()));
        if reset || z == 0 {
            sink.put(PREFIX_ESCAPE.0, PREFIX_ESCAPE.1);
            sink.put(u64::from(reset), 1);
            sink.put(u64::from(bit_len(z)), 7);
            sink.put(z, bit_len(z));
        } else if z - 1 < (1u64 << self.width) {
            sink.put(PREFIX_SHORT.0, PREFIX_SHORT.1);
            sink.put(z - 1, u32::from(self.width));
        } else {
            sink.put(PREFIX_LONG.0, PREFIX_LONG.1);
            sink.put(u64::from(bit_len(z) - 1), 6);
            sink.put(z, bit_len(z));
        }
        self.accept(k);
    }

    fn read_value(&mut self, ones: u32, r: &mut BitReader<'_>) -> Option<(i64, bool)> {
        let (z, reset) = match ones {
            1 => (r.read(u32::from(self.width))?.wrapping_add(1), false),
            2 => {
                let len = r.read(6)? as u32 + 1;
                (r.read(len)?, false)
            }
            _ => {
                let reset = r.bit()?;
                let len = r.read(7)? as u32;
                if len > 64 {
                    return None;
                }
                (r.read(len)?, reset)
            }
        };
        let k = self.predicted().wrapping_add(unzigzag(z));
        self.accept(k);
        Some((k, reset))
    }
}
