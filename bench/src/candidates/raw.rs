//! Candidate A: 4 bytes per slot, as Netdata 1.29 stores a page (a `u32` storage number
//! per slot, compressed only by LZ4 over the extent). Here the 4 bytes are the `f32` bits,
//! a gap is one NaN pattern, and reset flags are a list of slot numbers per column (a
//! storage number spends a flag bit on each slot instead).
//!
//! Layout: per column, varint reset count and varint slot numbers, then all columns'
//! values, column after column, `f32` LE.

use anyhow::{bail, Context};
use strata_storage::Sample;

use super::bitio::{get_varint, put_varint};
use super::Candidate;

/// The NaN pattern that marks a gap (stored values are NaN-free).
const GAP: u32 = 0x7FC0_0001;

pub struct Raw32;

impl Candidate for Raw32 {
    fn name(&self) -> &'static str {
        "raw32"
    }

    fn encode(&self, rows: &[Vec<Sample>]) -> (Vec<u8>, usize) {
        let cols = rows.first().map_or(0, Vec::len);
        let mut out = Vec::new();
        for c in 0..cols {
            let resets: Vec<usize> =
                (0..rows.len()).filter(|&i| matches!(rows[i][c], Sample::Value { reset: true, .. })).collect();
            put_varint(&mut out, resets.len() as u64);
            for i in resets {
                put_varint(&mut out, i as u64);
            }
        }
        for c in 0..cols {
            for row in rows {
                let bits = match row[c] {
                    Sample::Gap => GAP,
                    Sample::Value { value, .. } => (value as f32).to_bits(),
                };
                out.extend_from_slice(&bits.to_le_bytes());
            }
        }
        // An open block is a 4-byte slot array per column (Netdata: a 4 KiB page per
        // dimension), allocated for the whole block.
        (out, cols * (4 * rows.len() + 24))
    }

    fn decode(
        &self,
        payload: &[u8],
        columns: usize,
        slots: u32,
        col: usize,
        out: &mut Vec<Sample>,
    ) -> anyhow::Result<()> {
        out.clear();
        let mut pos = 0;
        let mut resets = Vec::new();
        for c in 0..columns {
            let n = get_varint(payload, &mut pos).context("reset count")?;
            for _ in 0..n {
                let i = get_varint(payload, &mut pos).context("reset slot")?;
                if c == col {
                    resets.push(i as usize);
                }
            }
        }
        let start = pos + col * slots as usize * 4;
        let data = payload.get(start..start + slots as usize * 4).context("values")?;
        for (i, b) in data.chunks_exact(4).enumerate() {
            let bits = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            out.push(if bits == GAP {
                Sample::Gap
            } else {
                Sample::Value { value: f64::from(f32::from_bits(bits)), reset: resets.contains(&i) }
            });
        }
        if out.len() != slots as usize {
            bail!("short column");
        }
        Ok(())
    }
}
