//! Block codec: pure bytes in, values out.
//!
//! Owns: the byte layout of a block payload. A [`BlockEncoder`] takes one row (one slot of
//! every column) at a time and keeps only a compact bit stream, so an open block costs
//! about its encoded size in memory, not a raw buffer; [`BlockEncoder::finish`] re-encodes
//! every column with the cheapest scheme for its values and yields the payload that the
//! files layer stores; [`decode_column`] reads one column back without touching the others.
//! Invariants: decoding never panics and never allocates more than `slots` samples on any
//! input (disk bytes are untrusted); a payload decodes to exactly `slots` samples per
//! column; values keep their exact `f32` bits (about 7 significant digits, as Netdata's
//! storage number); gaps decode as gaps and reset flags survive.
//!
//! Payload layout, version 1 (chosen by measurement, see `bench/results/encoding.md`):
//!
//! ```text
//! u8 version (= 1) | varint columns | varint slots | varint byte length of each column
//! | the column streams, in column order
//! column stream: u8 kind (low nibble: 0 all gaps, 1 XOR, 2 integer, 3 copy; bit 4: run
//!   lengths)
//!   | integer only: u8 scale (see int::Scale), u8 params (bit 7 order 2, low 6 bits width)
//!   | XOR and integer: the cells (see `cells`), padded with zero bits to a byte
//!   | copy only: varint source column (an earlier column that is not a copy), u8 transform
//!     (0 same values, 1 every sign flipped, 2 the sign of every non-zero value flipped);
//!     gaps and reset flags are the source's
//! ```
//!
//! Copies exist because a Netdata child sends the same counter in several dimensions of a
//! chart, often negated for "out" directions (received/delivered packets, in/out bytes).
//!
//! The open block holds one bit stream for all columns, row after row, in the XOR scheme
//! without run lengths (12 bytes of state per column, no per-column buffer).

mod bits;
mod cells;
mod int;
mod xor;

use thiserror::Error;

use self::bits::{BitReader, BitWriter};
use self::cells::{Cell, Column, Mode};
use self::int::Int;
use self::xor::{cell_of, sample_of, Xor};
use super::varint::{get_u, put_u};
use crate::Sample;

/// The payload format written by this build.
pub const FORMAT_VERSION: u8 = 1;

/// Most rows a block may hold (a sanity bound for untrusted payloads: decoding allocates
/// at most this many samples). Rows pushed beyond it are not kept.
pub const MAX_SLOTS: u32 = 1 << 20;

const KIND_GAPS: u8 = 0;
const KIND_XOR: u8 = 1;
const KIND_INT: u8 = 2;
const KIND_COPY: u8 = 3;
const KIND_RUNS: u8 = 0x10;

const SIGN: i64 = 0x8000_0000;

/// Why a payload could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("block payload truncated: needed {needed} bytes at offset {offset}, have {len}")]
    Truncated { offset: usize, needed: usize, len: usize },
    #[error("column {col} out of range: block has {columns} columns")]
    NoSuchColumn { col: usize, columns: usize },
    #[error("bad sample tag {tag} at offset {offset}")]
    BadTag { tag: u8, offset: usize },
    #[error("column {col} holds {found} samples, block says {slots}")]
    SlotCount { col: usize, found: u32, slots: u32 },
    #[error("unknown block payload version {version}")]
    UnknownVersion { version: u8 },
    #[error("block payload holds {found} columns, block says {columns}")]
    ColumnCount { found: u64, columns: usize },
    #[error("block of {slots} slots exceeds the limit of {MAX_SLOTS}")]
    TooManySlots { slots: u32 },
    #[error("column {col}: corrupt cell stream at offset {offset}")]
    BadCells { col: usize, offset: usize },
}

/// Streaming encoder of one block.
#[derive(Debug, Clone)]
pub struct BlockEncoder {
    /// Every cell so far, row-major, XOR scheme without run lengths.
    stream: BitWriter,
    cols: Vec<Column<Xor>>,
    slots: u32,
}

impl BlockEncoder {
    /// An empty block of `columns` columns.
    pub fn new(columns: usize) -> Self {
        BlockEncoder { stream: BitWriter::new(), cols: vec![Column::default(); columns], slots: 0 }
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.cols.len()
    }

    /// Number of rows pushed.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// Appends one row; `row.len()` must equal [`Self::columns`] (missing cells are gaps,
    /// extra cells are ignored). A block holds at most [`MAX_SLOTS`] rows.
    pub fn push(&mut self, row: &[Sample]) {
        if self.slots >= MAX_SLOTS {
            debug_assert!(false, "block over {MAX_SLOTS} rows");
            return;
        }
        for (i, st) in self.cols.iter_mut().enumerate() {
            let cell = row.get(i).map_or(Cell::Gap, cell_of);
            if st.is_same(&cell) {
                st.advance_same();
                self.stream.write(0, 1);
            } else {
                st.put_other(&cell, &mut self.stream);
            }
        }
        self.slots += 1;
    }

    /// Asks the CPU for the column states and the stream's tail (the next push).
    pub fn prefetch(&self) {
        crate::prefetch::prefetch_slice(&self.cols);
        self.stream.prefetch_tail();
    }

    /// Heap bytes held by the open block.
    pub fn heap_bytes(&self) -> usize {
        self.stream.heap_bytes() + self.cols.capacity() * std::mem::size_of::<Column<Xor>>()
    }

    /// Decodes column `col` of the rows pushed so far into `out` (cleared first). The open
    /// stream interleaves the columns, so this walks every cell of the block; to read many
    /// columns use [`Self::decode_columns`].
    pub fn decode_column(&self, col: usize, out: &mut Vec<Sample>) -> Result<(), CodecError> {
        if col >= self.cols.len() {
            return Err(CodecError::NoSuchColumn { col, columns: self.cols.len() });
        }
        out.clear();
        out.reserve(self.slots as usize);
        let mut states = vec![Column::<Xor>::default(); self.cols.len()];
        let mut r = BitReader::new(self.stream.bytes());
        for _ in 0..self.slots {
            for (c, st) in states.iter_mut().enumerate() {
                let cell =
                    cells::decode_cell(st, &mut r).ok_or(CodecError::BadCells { col: c, offset: r.position() / 8 })?;
                if c == col {
                    out.push(sample_of(cell));
                }
            }
        }
        Ok(())
    }

    /// Decodes every column of the rows pushed so far in one pass: `out[c]` is column `c`
    /// (`out` is resized to the column count).
    pub fn decode_columns(&self, out: &mut Vec<Vec<Sample>>) -> Result<(), CodecError> {
        let cols = self.decode_all()?;
        out.resize_with(cols.len(), Vec::new);
        for (dst, src) in out.iter_mut().zip(cols) {
            dst.clear();
            dst.extend(src.into_iter().map(sample_of));
        }
        Ok(())
    }

    /// Every column of the rows pushed so far, as XOR cells.
    fn decode_all(&self) -> Result<Vec<Vec<Cell>>, CodecError> {
        let mut cols: Vec<Vec<Cell>> = vec![Vec::with_capacity(self.slots as usize); self.cols.len()];
        let mut states = vec![Column::<Xor>::default(); self.cols.len()];
        let mut r = BitReader::new(self.stream.bytes());
        for _ in 0..self.slots {
            for (c, (st, out)) in states.iter_mut().zip(cols.iter_mut()).enumerate() {
                out.push(
                    cells::decode_cell(st, &mut r).ok_or(CodecError::BadCells { col: c, offset: r.position() / 8 })?,
                );
            }
        }
        Ok(cols)
    }

    /// The payload of the rows pushed so far (the encoder stays usable).
    pub fn snapshot(&self) -> Vec<u8> {
        // The open stream was written by this encoder, so it always decodes; an error
        // here would be a bug, and the empty columns keep the payload well-formed.
        let cols = self.decode_all().unwrap_or_else(|_| vec![vec![Cell::Gap; self.slots as usize]; self.cols.len()]);
        encode_cells(&cols, self.slots)
    }

    /// The payload of the block.
    pub fn finish(self) -> Vec<u8> {
        self.snapshot()
    }
}

/// Encodes whole columns (each exactly `slots` cells) into a payload.
pub fn encode_columns(cols: &[Vec<Sample>], slots: u32) -> Vec<u8> {
    let cells: Vec<Vec<Cell>> = cols.iter().map(|c| c.iter().map(cell_of).collect()).collect();
    encode_cells(&cells, slots)
}

/// A hash of what copies share: gap positions, reset flags and value magnitudes.
fn copy_key(cells: &[Cell]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in cells {
        let v = match *c {
            Cell::Gap => 1 << 40,
            Cell::Val { x, reset } => (x & !SIGN) | (i64::from(reset) << 41),
        };
        h = (h ^ v as u64).wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// The value bits of a copy of XOR cell `x` under `transform`.
fn transformed(x: i64, transform: u8) -> i64 {
    match transform {
        1 => x ^ SIGN,
        2 if x & !SIGN != 0 => x ^ SIGN,
        _ => x,
    }
}

/// The transform that turns `src` into `dst`, if any.
fn copy_transform(src: &[Cell], dst: &[Cell]) -> Option<u8> {
    (0..3u8).find(|&t| {
        src.len() == dst.len()
            && src.iter().zip(dst).all(|(s, d)| match (*s, *d) {
                (Cell::Gap, Cell::Gap) => true,
                (Cell::Val { x, reset }, Cell::Val { x: y, reset: r }) => reset == r && transformed(x, t) == y,
                _ => false,
            })
    })
}

fn encode_cells(cols: &[Vec<Cell>], slots: u32) -> Vec<u8> {
    let mut sources: Vec<(u64, usize)> = Vec::new();
    let streams: Vec<Vec<u8>> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let own = encode_column(c);
            if own.len() <= 4 {
                return own;
            }
            let key = copy_key(c);
            let copy = sources
                .iter()
                .filter(|(k, _)| *k == key)
                .find_map(|&(_, j)| copy_transform(&cols[j], c).map(|t| (j, t)));
            match copy {
                Some((j, t)) => {
                    let mut out = vec![KIND_COPY];
                    put_u(&mut out, j as u64);
                    out.push(t);
                    out
                }
                None => {
                    sources.push((key, i));
                    own
                }
            }
        })
        .collect();
    let mut out = Vec::with_capacity(12 + streams.iter().map(|s| s.len() + 2).sum::<usize>());
    out.push(FORMAT_VERSION);
    put_u(&mut out, cols.len() as u64);
    put_u(&mut out, u64::from(slots));
    for s in &streams {
        put_u(&mut out, s.len() as u64);
    }
    for s in &streams {
        out.extend_from_slice(s);
    }
    out
}

/// The cheapest XOR or integer encoding of one column (kind byte and parameters included).
fn encode_column(cells: &[Cell]) -> Vec<u8> {
    if cells.iter().all(|c| matches!(c, Cell::Gap)) {
        return vec![KIND_GAPS];
    }
    let mut best: (u64, Candidate, bool) = (u64::MAX, Candidate::Xor, false);
    let mut consider = |c: Candidate, header_bytes: u64, (plain, runs): (u64, u64)| {
        for (bits, r) in [(plain, false), (runs, true)] {
            let bits = bits + 8 * header_bytes;
            if bits < best.0 {
                best = (bits, c, r);
            }
        }
    };
    consider(Candidate::Xor, 1, cells::price(Column::<Xor>::default(), cells));
    let mut ints = Vec::with_capacity(cells.len());
    let mut found_decimal = false;
    for scale in int::scales(cells) {
        if found_decimal || !scale.ints(cells, &mut ints) {
            continue;
        }
        found_decimal = matches!(scale, int::Scale::Decimal(_));
        for order in [1, 2] {
            let (width, plain, runs) = Int::new(scale, order, 0).plan(&ints);
            debug_assert_eq!((plain, runs), cells::price(Column::new(Int::new(scale, order, width)), &ints));
            consider(Candidate::Int(Int::new(scale, order, width), scale), 3, (plain, runs));
        }
    }
    let (_, cand, runs) = best;
    let mut w = BitWriter::new();
    let runs_flag = if runs { KIND_RUNS } else { 0 };
    match cand {
        Candidate::Xor => {
            w.write(u64::from(KIND_XOR | runs_flag), 8);
            cells::encode(&mut Column::<Xor>::default(), cells, runs, &mut w);
        }
        Candidate::Int(m, scale) => {
            w.write(u64::from(KIND_INT | runs_flag), 8);
            w.write(u64::from(m.scale_byte()), 8);
            w.write(u64::from(m.params_byte()), 8);
            scale.ints(cells, &mut ints);
            cells::encode(&mut Column::new(m), &ints, runs, &mut w);
        }
    }
    w.into_bytes()
}

#[derive(Debug, Clone, Copy)]
enum Candidate {
    Xor,
    Int(Int, int::Scale),
}

/// Decodes column `col` of a payload of `columns` columns and `slots` rows into `out`
/// (cleared first).
pub fn decode_column(
    payload: &[u8],
    columns: usize,
    slots: u32,
    col: usize,
    out: &mut Vec<Sample>,
) -> Result<(), CodecError> {
    out.clear();
    if col >= columns {
        return Err(CodecError::NoSuchColumn { col, columns });
    }
    if slots > MAX_SLOTS {
        return Err(CodecError::TooManySlots { slots });
    }
    let truncated = |offset: usize, needed: usize| CodecError::Truncated { offset, needed, len: payload.len() };
    let version = *payload.first().ok_or(truncated(0, 1))?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { version });
    }
    let mut pos = 1;
    let found_cols = get_u(payload, &mut pos).map_err(|_| truncated(pos, 1))?;
    if found_cols != columns as u64 {
        return Err(CodecError::ColumnCount { found: found_cols, columns });
    }
    let found_slots = get_u(payload, &mut pos).map_err(|_| truncated(pos, 1))?;
    if found_slots != u64::from(slots) {
        return Err(CodecError::SlotCount { col, found: u32::try_from(found_slots).unwrap_or(u32::MAX), slots });
    }
    let dir = pos;
    let (stream, base) = column_stream(payload, dir, columns, col)?;
    if stream.first().is_some_and(|k| k & !KIND_RUNS == KIND_COPY) {
        let mut p = 1;
        let src = get_u(stream, &mut p).map_err(|_| truncated(base + p, 1))?;
        let transform = *stream.get(p).ok_or(truncated(base + p, 1))?;
        let src = usize::try_from(src)
            .ok()
            .filter(|s| *s < col)
            .ok_or(CodecError::BadTag { tag: KIND_COPY, offset: base })?;
        if transform > 2 {
            return Err(CodecError::BadTag { tag: transform, offset: base + p });
        }
        let (src_stream, src_base) = column_stream(payload, dir, columns, src)?;
        if src_stream.first().is_some_and(|k| k & !KIND_RUNS == KIND_COPY) {
            return Err(CodecError::BadTag { tag: KIND_COPY, offset: src_base });
        }
        decode_stream(src_stream, src_base, src, slots, out)?;
        for s in out.iter_mut() {
            if let Sample::Value { value, .. } = s {
                let bits = i64::from((*value as f32).to_bits());
                *value = f64::from(f32::from_bits(transformed(bits, transform) as u32));
            }
        }
        return Ok(());
    }
    decode_stream(stream, base, col, slots, out)
}

/// How one column of a payload is stored (for statistics and diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnLayout {
    /// `"gaps"`, `"xor"`, `"int"` or `"copy"`.
    pub scheme: &'static str,
    /// Run lengths on.
    pub runs: bool,
    /// Bytes of the column stream (kind byte included, directory entry not).
    pub bytes: usize,
}

/// The layout of every column of a payload of `columns` columns (nothing is decoded).
pub fn column_layouts(payload: &[u8], columns: usize) -> Result<Vec<ColumnLayout>, CodecError> {
    let truncated = |offset: usize| CodecError::Truncated { offset, needed: 1, len: payload.len() };
    let version = *payload.first().ok_or(truncated(0))?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { version });
    }
    let mut pos = 1;
    let found = get_u(payload, &mut pos).map_err(|_| truncated(pos))?;
    if found != columns as u64 {
        return Err(CodecError::ColumnCount { found, columns });
    }
    get_u(payload, &mut pos).map_err(|_| truncated(pos))?;
    (0..columns)
        .map(|col| {
            let (stream, base) = column_stream(payload, pos, columns, col)?;
            let kind = *stream.first().ok_or(truncated(base))?;
            let scheme = match kind & !KIND_RUNS {
                KIND_GAPS => "gaps",
                KIND_XOR => "xor",
                KIND_INT => "int",
                KIND_COPY => "copy",
                _ => return Err(CodecError::BadTag { tag: kind, offset: base }),
            };
            Ok(ColumnLayout { scheme, runs: kind & KIND_RUNS != 0, bytes: stream.len() })
        })
        .collect()
}

/// The stream of column `col` and its offset in the payload; `dir` is where the directory
/// of column lengths starts. No allocation: `columns` comes from untrusted metadata too.
fn column_stream(payload: &[u8], dir: usize, columns: usize, col: usize) -> Result<(&[u8], usize), CodecError> {
    let truncated = |offset: usize, needed: usize| CodecError::Truncated { offset, needed, len: payload.len() };
    let mut pos = dir;
    let (mut before, mut len) = (0usize, 0usize);
    for i in 0..columns {
        let l = get_u(payload, &mut pos).map_err(|_| truncated(pos, 1))?;
        let l = usize::try_from(l).map_err(|_| truncated(pos, usize::MAX))?;
        if i < col {
            before = before.saturating_add(l);
        } else if i == col {
            len = l;
        }
    }
    let start = pos.saturating_add(before);
    let stream = payload.get(start..start.saturating_add(len)).ok_or(truncated(start, len))?;
    Ok((stream, start))
}

fn decode_stream(stream: &[u8], base: usize, col: usize, slots: u32, out: &mut Vec<Sample>) -> Result<(), CodecError> {
    let kind = *stream.first().ok_or(CodecError::Truncated { offset: base, needed: 1, len: base })?;
    let runs = kind & KIND_RUNS != 0;
    let count = slots as usize;
    let bad = |r: &BitReader<'_>| CodecError::BadCells { col, offset: base + r.position() / 8 };
    let mut cells = Vec::with_capacity(count.min(stream.len().saturating_mul(8)));
    match kind & !KIND_RUNS {
        KIND_GAPS if stream.len() == 1 => {
            out.resize(count, Sample::Gap);
            Ok(())
        }
        KIND_XOR => {
            let mut r = BitReader::new(&stream[1..]);
            cells::decode(&mut Column::<Xor>::default(), &mut r, count, runs, &mut cells).ok_or_else(|| bad(&r))?;
            out.extend(cells.into_iter().map(sample_of));
            Ok(())
        }
        KIND_INT => {
            let (scale, params) = match stream.get(1..3) {
                Some(&[s, p]) => (s, p),
                _ => return Err(CodecError::Truncated { offset: base + 1, needed: 2, len: base + stream.len() }),
            };
            let mode = Int::from_bytes(scale, params).ok_or(CodecError::BadTag { tag: scale, offset: base + 1 })?;
            let mut r = BitReader::new(&stream[3..]);
            cells::decode(&mut Column::new(mode), &mut r, count, runs, &mut cells).ok_or_else(|| bad(&r))?;
            out.extend(cells.into_iter().map(|c| mode.sample_of(c)));
            Ok(())
        }
        _ => Err(CodecError::BadTag { tag: kind, offset: base }),
    }
}

#[cfg(test)]
mod tests;
