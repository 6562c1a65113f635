//! Block codec: pure bytes in, values out.
//!
//! Owns: the byte layout of a block payload. A [`BlockEncoder`] takes one row (one slot of
//! every column) at a time, so an open block costs its encoded size in memory, not a raw
//! buffer; [`BlockEncoder::finish`] yields the payload that the files layer stores, and
//! [`decode_column`] reads one column back. Invariants: decoding never panics on any input
//! (disk bytes are untrusted); a payload decodes to exactly `slots` samples per column;
//! values keep `f32` precision (about 7 significant digits, as Netdata's storage number);
//! gaps decode as gaps and reset flags survive.
//!
//! Layout (version 0, the baseline): `u32` LE byte length of every column stream, then the
//! column streams; each sample is one tag byte (0 gap, 1 value, 2 value with reset) followed,
//! for values, by the `f32` LE bits.

use thiserror::Error;

use crate::Sample;

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
}

/// Streaming encoder of one block.
#[derive(Debug, Clone)]
pub struct BlockEncoder {
    cols: Vec<Vec<u8>>,
    slots: u32,
}

impl BlockEncoder {
    /// An empty block of `columns` columns.
    pub fn new(columns: usize) -> Self {
        BlockEncoder { cols: vec![Vec::new(); columns], slots: 0 }
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
    /// extra cells are ignored).
    pub fn push(&mut self, row: &[Sample]) {
        for (i, col) in self.cols.iter_mut().enumerate() {
            match row.get(i).copied().unwrap_or(Sample::Gap) {
                Sample::Gap => col.push(0),
                Sample::Value { value, reset } => {
                    col.push(if reset { 2 } else { 1 });
                    col.extend_from_slice(&(value as f32).to_le_bytes());
                }
            }
        }
        self.slots += 1;
    }

    /// Heap bytes held by the open block.
    pub fn heap_bytes(&self) -> usize {
        self.cols.iter().map(Vec::capacity).sum::<usize>() + self.cols.capacity() * std::mem::size_of::<Vec<u8>>()
    }

    /// Decodes column `col` of the rows pushed so far into `out` (cleared first).
    pub fn decode_column(&self, col: usize, out: &mut Vec<Sample>) -> Result<(), CodecError> {
        let stream = self.cols.get(col).ok_or(CodecError::NoSuchColumn { col, columns: self.cols.len() })?;
        decode_stream(stream, 0, col, self.slots, out)
    }

    /// The payload of the rows pushed so far (the encoder stays usable).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * self.cols.len() + self.cols.iter().map(Vec::len).sum::<usize>());
        for c in &self.cols {
            out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        }
        for c in &self.cols {
            out.extend_from_slice(c);
        }
        out
    }

    /// The payload of the block.
    pub fn finish(self) -> Vec<u8> {
        self.snapshot()
    }
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
    if col >= columns {
        return Err(CodecError::NoSuchColumn { col, columns });
    }
    let table = columns.saturating_mul(4);
    let head = payload.get(..table).ok_or(CodecError::Truncated { offset: 0, needed: table, len: payload.len() })?;
    let len_of = |i: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&head[i * 4..i * 4 + 4]);
        u32::from_le_bytes(b) as usize
    };
    let mut start = table;
    for i in 0..col {
        start = start.saturating_add(len_of(i));
    }
    let len = len_of(col);
    let end = start.saturating_add(len);
    let stream =
        payload.get(start..end).ok_or(CodecError::Truncated { offset: start, needed: len, len: payload.len() })?;
    decode_stream(stream, start, col, slots, out)
}

fn decode_stream(stream: &[u8], base: usize, col: usize, slots: u32, out: &mut Vec<Sample>) -> Result<(), CodecError> {
    out.clear();
    let mut i = 0;
    while i < stream.len() {
        let tag = stream[i];
        i += 1;
        match tag {
            0 => out.push(Sample::Gap),
            1 | 2 => {
                let b = stream.get(i..i + 4).ok_or(CodecError::Truncated {
                    offset: base + i,
                    needed: 4,
                    len: base + stream.len(),
                })?;
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                out.push(Sample::Value { value: f64::from(v), reset: tag == 2 });
                i += 4;
            }
            tag => return Err(CodecError::BadTag { tag, offset: base + i - 1 }),
        }
    }
    if out.len() != slots as usize {
        return Err(CodecError::SlotCount { col, found: out.len() as u32, slots });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(value: f64) -> Sample {
        Sample::Value { value, reset: false }
    }

    #[test]
    fn round_trip_with_gaps_and_resets() {
        let mut e = BlockEncoder::new(2);
        e.push(&[v(1.5), Sample::Gap]);
        e.push(&[Sample::Value { value: -3.0, reset: true }, v(7.0)]);
        e.push(&[Sample::Gap, v(8.25)]);
        let mut open = Vec::new();
        e.decode_column(1, &mut open).unwrap();
        let p = e.finish();
        let mut out = Vec::new();
        decode_column(&p, 2, 3, 0, &mut out).unwrap();
        assert_eq!(out, vec![v(1.5), Sample::Value { value: -3.0, reset: true }, Sample::Gap]);
        decode_column(&p, 2, 3, 1, &mut out).unwrap();
        assert_eq!(out, vec![Sample::Gap, v(7.0), v(8.25)]);
        assert_eq!(open, out);
    }

    #[test]
    fn bad_payloads_are_errors() {
        let mut e = BlockEncoder::new(1);
        e.push(&[v(1.0)]);
        let p = e.finish();
        let mut out = Vec::new();
        assert!(decode_column(&p, 1, 2, 0, &mut out).is_err());
        assert!(decode_column(&p[..p.len() - 1], 1, 1, 0, &mut out).is_err());
        assert!(decode_column(&p, 1, 1, 1, &mut out).is_err());
        assert!(decode_column(&[], 1, 1, 0, &mut out).is_err());
    }
}
