//! Block encodings compared by the `encoding` benchmark.
//!
//! Owns: the [`Candidate`] interface (encode one block of rows, report the heap an open
//! block of those rows would hold, decode one column) and the candidates themselves:
//! [`raw::Raw32`] (4-byte values, Netdata 1.29's page layout), [`gorilla::Gorilla`]
//! (classic XOR coding of the `f32` bits with gap and reset lists) and [`Strata`] (the
//! dbengine codec as shipped). Extent-level LZ4 is applied by the benchmark driver over
//! any candidate's payloads. Invariant: every candidate decodes to the exact `f32` bits,
//! gaps and reset flags of its input (the driver checks it).

pub mod bitio;
pub mod gorilla;
pub mod raw;

use strata_storage::dbengine::codec::{decode_column, BlockEncoder};
use strata_storage::Sample;

/// One block encoding.
pub trait Candidate {
    fn name(&self) -> &'static str;
    /// The payload of a block (`rows[slot][column]`) and the heap bytes an open block
    /// holding these rows keeps while it is being filled.
    fn encode(&self, rows: &[Vec<Sample>]) -> (Vec<u8>, usize);
    /// Decodes column `col` into `out` (cleared first).
    fn decode(
        &self,
        payload: &[u8],
        columns: usize,
        slots: u32,
        col: usize,
        out: &mut Vec<Sample>,
    ) -> anyhow::Result<()>;
}

/// The shipped dbengine codec (`strata_storage::dbengine::codec`).
pub struct Strata;

impl Candidate for Strata {
    fn name(&self) -> &'static str {
        "strata v1"
    }

    fn encode(&self, rows: &[Vec<Sample>]) -> (Vec<u8>, usize) {
        let mut e = BlockEncoder::new(rows.first().map_or(0, Vec::len));
        for row in rows {
            e.push(row);
        }
        let heap = e.heap_bytes();
        (e.finish(), heap)
    }

    fn decode(
        &self,
        payload: &[u8],
        columns: usize,
        slots: u32,
        col: usize,
        out: &mut Vec<Sample>,
    ) -> anyhow::Result<()> {
        Ok(decode_column(payload, columns, slots, col, out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series;

    #[test]
    fn every_candidate_round_trips_a_synthetic_block() {
        let set = series::synthetic("mixed", 300, 7);
        let rows = &set[0].rows;
        let mut with_reset = rows.clone();
        with_reset[5][0] = Sample::Value { value: 12.5, reset: true };
        with_reset[6][1] = Sample::Gap;
        let cands: [&dyn Candidate; 3] = [&raw::Raw32, &gorilla::Gorilla, &Strata];
        for cand in cands {
            for rows in [rows, &with_reset] {
                let (payload, heap) = cand.encode(rows);
                assert!(heap > 0);
                let mut out = Vec::new();
                for col in 0..rows[0].len() {
                    cand.decode(&payload, rows[0].len(), rows.len() as u32, col, &mut out).unwrap();
                    let want: Vec<Sample> = rows.iter().map(|r| r[col].as_stored()).collect();
                    assert_eq!(out, want, "{} column {col}", cand.name());
                }
            }
        }
    }
}
