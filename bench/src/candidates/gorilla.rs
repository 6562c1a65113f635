//! Candidate B: Gorilla (Pelkonen et al., VLDB 2015) XOR coding of the `f32` bits of the
//! present values of each column, with gaps and resets kept out of the value stream:
//! a column starts with varint run lengths of alternating present/gap slots and a varint
//! list of reset slots, then the XOR stream (first value raw; `0` same value; `10` the
//! meaningful bits inside the previous window; `11` + 5-bit leading zeros + 5-bit length
//! minus one + the bits). Columns are prefixed by their varint byte length.

use anyhow::{bail, Context};
use strata_storage::Sample;

use super::bitio::{get_varint, put_varint, BitR, BitW};
use super::Candidate;

pub struct Gorilla;

fn encode_column(rows: &[Vec<Sample>], c: usize) -> Vec<u8> {
    let mut out = Vec::new();
    // Runs of present / gap slots, starting with present.
    let mut runs = Vec::new();
    let mut present = true;
    let mut run = 0u64;
    for row in rows {
        let is_present = matches!(row[c], Sample::Value { .. });
        if is_present != present {
            runs.push(run);
            run = 0;
            present = is_present;
        }
        run += 1;
    }
    runs.push(run);
    put_varint(&mut out, runs.len() as u64);
    for r in runs {
        put_varint(&mut out, r);
    }
    let resets: Vec<usize> =
        (0..rows.len()).filter(|&i| matches!(rows[i][c], Sample::Value { reset: true, .. })).collect();
    put_varint(&mut out, resets.len() as u64);
    for i in resets {
        put_varint(&mut out, i as u64);
    }
    let mut w = BitW::default();
    let mut prev: Option<u32> = None;
    let (mut lead, mut len) = (0u32, 0u32);
    for row in rows {
        let Sample::Value { value, .. } = row[c] else { continue };
        let bits = (value as f32).to_bits();
        let Some(p) = prev else {
            w.write(u64::from(bits), 32);
            prev = Some(bits);
            continue;
        };
        let x = bits ^ p;
        if x == 0 {
            w.write(0, 1);
        } else if len > 0 && x.leading_zeros() >= lead && x.trailing_zeros() >= 32 - lead - len {
            w.write(0b10, 2);
            w.write(u64::from(x >> (32 - lead - len)), len);
        } else {
            lead = x.leading_zeros().min(31);
            len = 32 - lead - x.trailing_zeros();
            w.write(0b11, 2);
            w.write(u64::from(lead), 5);
            w.write(u64::from(len - 1), 5);
            w.write(u64::from(x >> (32 - lead - len)), len);
        }
        prev = Some(bits);
    }
    out.extend_from_slice(&w.buf);
    out
}

fn decode_col(data: &[u8], slots: u32, out: &mut Vec<Sample>) -> Option<()> {
    let mut pos = 0;
    let nruns = get_varint(data, &mut pos)?;
    let mut runs = Vec::new();
    for _ in 0..nruns {
        runs.push(get_varint(data, &mut pos)?);
    }
    let nres = get_varint(data, &mut pos)?;
    let mut resets = Vec::new();
    for _ in 0..nres {
        resets.push(get_varint(data, &mut pos)? as usize);
    }
    let mut r = BitR::new(data.get(pos..)?);
    let mut prev: Option<u32> = None;
    let (mut lead, mut len) = (0u32, 0u32);
    let mut present = true;
    for run in runs {
        for _ in 0..run {
            if !present {
                out.push(Sample::Gap);
                continue;
            }
            let bits = match prev {
                None => r.read(32)? as u32,
                Some(p) => {
                    if r.read(1)? == 0 {
                        p
                    } else {
                        if r.read(1)? == 1 {
                            lead = r.read(5)? as u32;
                            len = r.read(5)? as u32 + 1;
                        }
                        p ^ ((r.read(len)? as u32) << (32 - lead - len))
                    }
                }
            };
            prev = Some(bits);
            let reset = resets.contains(&out.len());
            out.push(Sample::Value { value: f64::from(f32::from_bits(bits)), reset });
        }
        present = !present;
    }
    (out.len() == slots as usize).then_some(())
}

impl Candidate for Gorilla {
    fn name(&self) -> &'static str {
        "gorilla"
    }

    fn encode(&self, rows: &[Vec<Sample>]) -> (Vec<u8>, usize) {
        let cols = rows.first().map_or(0, Vec::len);
        let streams: Vec<Vec<u8>> = (0..cols).map(|c| encode_column(rows, c)).collect();
        let mut out = Vec::new();
        for s in &streams {
            put_varint(&mut out, s.len() as u64);
        }
        // Open block: one growable buffer per column (its bytes plus a Vec header).
        let heap = streams.iter().map(|s| s.len() + 24).sum();
        for s in streams {
            out.extend_from_slice(&s);
        }
        (out, heap)
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
        let mut start = 0;
        let mut len = 0;
        for c in 0..columns {
            let l = get_varint(payload, &mut pos).context("column length")? as usize;
            if c < col {
                start += l;
            } else if c == col {
                len = l;
            }
        }
        let data = payload.get(pos + start..pos + start + len).context("column bytes")?;
        if decode_col(data, slots, out).is_none() {
            bail!("bad gorilla column");
        }
        Ok(())
    }
}
