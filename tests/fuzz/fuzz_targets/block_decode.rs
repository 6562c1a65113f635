//! dbengine block payloads from untrusted bytes: decoding never panics, a decoded column
//! has exactly `slots` samples, and what decodes re-encodes to a payload that decodes to
//! the same bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_storage::dbengine::codec::{decode_column, encode_columns};
use strata_storage::Sample;

fn same(a: &[Sample], b: &[Sample]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Sample::Gap, Sample::Gap) => true,
            (Sample::Value { value: p, reset: q }, Sample::Value { value: s, reset: t }) => {
                p.to_bits() == s.to_bits() && q == t
            }
            _ => false,
        })
}

fuzz_target!(|data: &[u8]| {
    // Shape from the first three bytes, payload from the rest.
    let Some((&[c, s0, s1], payload)) = data.split_first_chunk::<3>() else { return };
    let columns = usize::from(c % 16);
    let slots = u32::from(u16::from_le_bytes([s0, s1]) % 2048);
    let mut decoded = Vec::new();
    let mut all_ok = true;
    for col in 0..=columns {
        let mut out = Vec::new();
        match decode_column(payload, columns, slots, col, &mut out) {
            Ok(()) => {
                assert!(col < columns);
                assert_eq!(out.len(), slots as usize);
                decoded.push(out);
            }
            Err(_) => all_ok &= col == columns,
        }
    }
    if all_ok && decoded.len() == columns {
        let again = encode_columns(&decoded, slots);
        let mut out = Vec::new();
        for (col, want) in decoded.iter().enumerate() {
            decode_column(&again, columns, slots, col, &mut out).expect("re-encoded payload decodes");
            assert!(same(&out, want), "column {col} changed on re-encoding");
        }
    }
});
