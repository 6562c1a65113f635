//! Codec tests: scheme choice, round trips (examples and properties), untrusted input.

use proptest::prelude::*;

use super::*;

fn v(value: f64) -> Sample {
    Sample::Value { value, reset: false }
}

fn r(value: f64) -> Sample {
    Sample::Value { value, reset: true }
}

/// Bitwise comparison of two columns (-0.0 must stay -0.0).
fn same(a: &[Sample], b: &[Sample]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_bits(y))
}

/// Encodes `cols` row by row, checks the open block, the snapshot and the sealed payload
/// all decode to the stored form of the input; returns the payload.
fn round_trip(cols: &[Vec<Sample>]) -> Vec<u8> {
    let slots = cols.first().map_or(0, Vec::len);
    let mut e = BlockEncoder::new(cols.len());
    for i in 0..slots {
        let row: Vec<Sample> = cols.iter().map(|c| c[i]).collect();
        e.push(&row);
    }
    assert_eq!(e.slots() as usize, slots);
    let snap = e.snapshot();
    let mut all = vec![vec![v(1.0)]; cols.len() + 3];
    e.decode_columns(&mut all).unwrap();
    assert_eq!(all.len(), cols.len());
    let mut out = Vec::new();
    for (c, col) in cols.iter().enumerate() {
        let want: Vec<Sample> = col.iter().copied().map(Sample::as_stored).collect();
        e.decode_column(c, &mut out).unwrap();
        assert!(same(&out, &want), "open column {c}: {out:?} != {want:?}");
        assert!(same(&all[c], &want), "open columns, column {c}");
        decode_column(&snap, cols.len(), slots as u32, c, &mut out).unwrap();
        assert!(same(&out, &want), "sealed column {c}: {out:?} != {want:?}");
    }
    let payload = e.finish();
    assert_eq!(payload, snap);
    payload
}

/// The kind byte of column `col`.
fn kind_of(payload: &[u8], col: usize) -> u8 {
    let mut pos = 1;
    let columns = get_u(payload, &mut pos).unwrap() as usize;
    get_u(payload, &mut pos).unwrap();
    let lens: Vec<usize> = (0..columns).map(|_| get_u(payload, &mut pos).unwrap() as usize).collect();
    payload[pos + lens[..col].iter().sum::<usize>()]
}

#[test]
fn round_trip_with_gaps_and_resets() {
    let mut e = BlockEncoder::new(2);
    e.push(&[v(1.5), Sample::Gap]);
    e.push(&[r(-3.0), v(7.0)]);
    e.push(&[Sample::Gap, v(8.25)]);
    let mut open = Vec::new();
    e.decode_column(1, &mut open).unwrap();
    let p = e.finish();
    assert_eq!(p[0], FORMAT_VERSION);
    let mut out = Vec::new();
    decode_column(&p, 2, 3, 0, &mut out).unwrap();
    assert_eq!(out, vec![v(1.5), Sample::Value { value: -3.0, reset: true }, Sample::Gap]);
    decode_column(&p, 2, 3, 1, &mut out).unwrap();
    assert_eq!(out, vec![Sample::Gap, v(7.0), v(8.25)]);
    assert_eq!(open, out);
}

#[test]
fn values_keep_f32_precision() {
    let cols = vec![vec![v(0.1), v(1.0 / 3.0), v(123_456_789.123), v(-1e-30), v(1e300), v(-0.0)]];
    round_trip(&cols);
    let mut out = Vec::new();
    let p = round_trip(&cols);
    decode_column(&p, 1, 6, 0, &mut out).unwrap();
    assert_eq!(out[0], v(f64::from(0.1f32)));
    assert_eq!(out[4], v(f64::INFINITY), "beyond f32 range saturates as an f32 cast does");
}

#[test]
fn each_column_gets_the_cheapest_scheme() {
    let n = 256;
    let gaps = vec![Sample::Gap; n];
    let zeros = vec![v(0.0); n];
    let mut late = vec![Sample::Gap];
    late.extend(std::iter::repeat_n(v(42.0), n - 1));
    let ints: Vec<Sample> = (0..n).map(|i| v(1000.0 + ((i * 7) % 13) as f64)).collect();
    let ramp: Vec<Sample> = (0..n).map(|i| v(5000.0 + 3.0 * i as f64)).collect();
    let decimal: Vec<Sample> = (0..n).map(|i| v(((i * 37) % 101) as f64 / 100.0)).collect();
    let noisy: Vec<Sample> = (0..n).map(|i| v((i as f64 * 0.7).sin() * 1234.567)).collect();
    let cols = vec![gaps, zeros, late, ints, ramp, decimal, noisy];
    let p = round_trip(&cols);
    assert_eq!(kind_of(&p, 0), KIND_GAPS);
    assert_eq!(kind_of(&p, 1) & KIND_RUNS, KIND_RUNS, "constant: one run");
    assert_eq!(kind_of(&p, 2) & KIND_RUNS, KIND_RUNS, "gap then constant: a few codes and a run");
    assert_eq!(kind_of(&p, 3) & !KIND_RUNS, KIND_INT);
    assert_eq!(kind_of(&p, 4) & !KIND_RUNS, KIND_INT);
    assert_eq!(kind_of(&p, 5) & !KIND_RUNS, KIND_INT);
    // Column sizes: constant columns are a few bytes whatever the length; the ramp is a
    // run under order 2; small integers cost about their residual width.
    let mut pos = 1;
    get_u(&p, &mut pos).unwrap();
    get_u(&p, &mut pos).unwrap();
    let lens: Vec<u64> = (0..cols.len()).map(|_| get_u(&p, &mut pos).unwrap()).collect();
    assert_eq!(lens[0], 1);
    assert!(lens[1] <= 4 && lens[2] <= 9 && lens[4] <= 12, "{lens:?}");
    assert!(lens[3] <= (n as u64 * 7) / 8, "{lens:?}");
    let layouts = column_layouts(&p, cols.len()).unwrap();
    assert_eq!(layouts.iter().map(|l| l.bytes as u64).collect::<Vec<_>>(), lens);
    assert_eq!((layouts[0].scheme, layouts[3].scheme, layouts[5].scheme), ("gaps", "int", "int"));
    assert!(layouts[1].runs);
    assert!(column_layouts(&p, cols.len() + 1).is_err());
    assert!(lens[6] > lens[5], "{lens:?}");
}

#[test]
fn repeated_and_negated_columns_are_copies() {
    let n = 128;
    let base: Vec<Sample> = (0..n)
        .map(|i| if i % 17 == 3 { Sample::Gap } else { v(((i * 7919) % 1000) as f64 * 0.37 + 1.0 + (i % 3) as f64) })
        .collect();
    let neg: Vec<Sample> = base
        .iter()
        .map(|s| match *s {
            Sample::Value { value, reset } => Sample::Value { value: -value, reset },
            Sample::Gap => Sample::Gap,
        })
        .collect();
    // Zeros keep their sign while the rest flips (what `0 × -1` and interpolation give).
    let mut neg_nonzero = neg.clone();
    neg_nonzero[0] = v(0.0);
    let mut with_zero = base.clone();
    with_zero[0] = v(0.0);
    let mut almost = base.clone();
    almost[100] = v(1.0);
    let cols = vec![with_zero, base.clone(), neg, neg_nonzero, almost];
    let p = round_trip(&cols);
    assert_ne!(kind_of(&p, 0), KIND_COPY);
    assert_ne!(kind_of(&p, 1), KIND_COPY, "differs from column 0 in one cell");
    assert_eq!(kind_of(&p, 2), KIND_COPY);
    assert_eq!(kind_of(&p, 3), KIND_COPY);
    assert_ne!(kind_of(&p, 4), KIND_COPY);
    // A copy pointing at itself, forward, or at another copy is refused.
    let mut out = Vec::new();
    let e = encode_columns(&[base.clone(), base.clone(), base.clone()], n as u32);
    assert_eq!(kind_of(&e, 2), KIND_COPY);
    let copy_at = e.len() - 3;
    for bad_src in [1u8, 2, 3] {
        let mut b = e.clone();
        b[copy_at + 1] = bad_src;
        assert!(decode_column(&b, 3, n as u32, 2, &mut out).is_err(), "source {bad_src}");
    }
    let mut b = e.clone();
    b[copy_at + 2] = 3;
    assert!(matches!(decode_column(&b, 3, n as u32, 2, &mut out), Err(CodecError::BadTag { tag: 3, .. })));
}

#[test]
fn sparse_columns_pay_for_events_not_for_zeros() {
    // Interpolated rates of rare events: zeros, then a noisy value spread over two slots.
    let n = 256;
    let col: Vec<Sample> = (0..n)
        .map(|i| match i % 16 {
            5 => v(0.699_374_4 + i as f64 * 1e-3),
            6 => v(0.300_625_6 - i as f64 * 1e-3),
            _ => v(0.0),
        })
        .collect();
    let mut with_resets = col.clone();
    with_resets[6] = r(0.0);
    with_resets[7] = r(0.0);
    let p = round_trip(&[col.clone(), with_resets]);
    // 32 events of at most 38 bits, 16 zero codes and 16 runs: about 170 bytes. Coding the
    // zeros as XOR against the event before them would add ~37 bits per event.
    let one = encode_columns(&[col], n as u32);
    assert!(one.len() < 180, "{}", one.len());
    assert!(p.len() < 2 * 180, "{}", p.len());
}

#[test]
fn open_block_heap_is_about_its_encoded_size() {
    let mut e = BlockEncoder::new(100);
    let row = vec![v(0.0); 100];
    for _ in 0..1024 {
        e.push(&row);
    }
    // 100 columns x 1024 one-bit cells = 12.8 KB of stream, 1200 B of state, < 25 % slack.
    assert!(e.heap_bytes() <= 12_800 * 5 / 4 + 1200, "{}", e.heap_bytes());
    assert!(e.heap_bytes() >= 12_800, "{}", e.heap_bytes());
    assert_eq!(BlockEncoder::new(100).heap_bytes(), 1200);
}

#[test]
fn wide_blocks_round_trip() {
    let cols: Vec<Vec<Sample>> = (0..300)
        .map(|c| {
            (0..50)
                .map(|i| match (c + i) % 11 {
                    0 => Sample::Gap,
                    1 => r(c as f64),
                    _ => v(((c * 31 + i * 7) % 97) as f64 / if c % 2 == 0 { 1.0 } else { 8.0 }),
                })
                .collect()
        })
        .collect();
    round_trip(&cols);
}

#[test]
fn missing_and_extra_cells() {
    let mut e = BlockEncoder::new(3);
    e.push(&[v(1.0)]);
    e.push(&[v(2.0), v(3.0), v(4.0), v(5.0)]);
    let p = e.finish();
    let mut out = Vec::new();
    decode_column(&p, 3, 2, 1, &mut out).unwrap();
    assert_eq!(out, vec![Sample::Gap, v(3.0)]);
    decode_column(&p, 3, 2, 2, &mut out).unwrap();
    assert_eq!(out, vec![Sample::Gap, v(4.0)]);
}

#[test]
fn empty_blocks() {
    let p = BlockEncoder::new(0).finish();
    let mut out = vec![v(1.0)];
    assert_eq!(decode_column(&p, 0, 0, 0, &mut out), Err(CodecError::NoSuchColumn { col: 0, columns: 0 }));
    let p = BlockEncoder::new(2).finish();
    decode_column(&p, 2, 0, 1, &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn bad_payloads_are_errors() {
    let mut e = BlockEncoder::new(1);
    e.push(&[v(1.0)]);
    let p = e.finish();
    let mut out = Vec::new();
    assert!(matches!(decode_column(&p, 1, 2, 0, &mut out), Err(CodecError::SlotCount { .. })));
    assert!(matches!(decode_column(&p, 2, 1, 0, &mut out), Err(CodecError::ColumnCount { .. })));
    assert!(decode_column(&p[..p.len() - 1], 1, 1, 0, &mut out).is_err());
    assert!(matches!(decode_column(&p, 1, 1, 1, &mut out), Err(CodecError::NoSuchColumn { .. })));
    assert!(matches!(decode_column(&[], 1, 1, 0, &mut out), Err(CodecError::Truncated { .. })));
    assert!(matches!(
        decode_column(&[0, 1, 1, 1, 1], 1, 1, 0, &mut out),
        Err(CodecError::UnknownVersion { version: 0 })
    ));
    assert!(matches!(decode_column(&p, 1, MAX_SLOTS + 1, 0, &mut out), Err(CodecError::TooManySlots { .. })));
    let mut bad_kind = p.clone();
    let at = bad_kind.len() - 1 - (bad_kind.len() - 5); // first byte of the column stream
    bad_kind[at] = 9;
    assert!(matches!(decode_column(&bad_kind, 1, 1, 0, &mut out), Err(CodecError::BadTag { tag: 9, .. })));
}

/// One column of `slots` cells drawn from a shape: extremes, integers, decimals, runs.
fn column(slots: usize) -> impl Strategy<Value = Vec<Sample>> {
    let extreme = prop::sample::select(vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::from(f32::MAX),
        f64::from(f32::MIN),
        f64::from(f32::MIN_POSITIVE),
        1e-45,
        f64::MAX,
        f64::MIN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        4_294_967_295.0,
        -9.007_199_254_740_993e15,
    ]);
    let value = prop_oneof![
        3 => any::<f64>().prop_filter("NaN-free", |x| !x.is_nan()),
        2 => extreme,
        3 => (-1000i64..1000).prop_map(|i| i as f64),
        2 => (-100_000i64..100_000).prop_map(|i| i as f64 / 100.0),
        2 => (0i64..1 << 20).prop_map(|i| i as f64 / 1024.0),
        1 => (any::<i64>()).prop_map(|i| i as f64),
    ];
    let cell = prop_oneof![
        1 => Just(Sample::Gap),
        6 => (value, prop::bool::weighted(0.1)).prop_map(|(value, reset)| Sample::Value { value, reset }),
    ];
    // Repeat cells in runs so the run-length and same-value paths are exercised.
    prop::collection::vec((cell, 1usize..20), 0..=slots).prop_map(move |runs| {
        let mut out: Vec<Sample> = runs.into_iter().flat_map(|(c, n)| std::iter::repeat_n(c, n)).collect();
        out.resize(slots, Sample::Gap);
        out
    })
}

/// Columns, some of them repeated or negated copies of an earlier one.
fn block() -> impl Strategy<Value = Vec<Vec<Sample>>> {
    (0usize..6, 0usize..300)
        .prop_flat_map(|(cols, slots)| {
            (prop::collection::vec(column(slots), cols), prop::collection::vec((any::<usize>(), 0u8..4), cols))
        })
        .prop_map(|(mut cols, copies)| {
            for (i, (src, how)) in copies.into_iter().enumerate() {
                if i == 0 || how == 0 {
                    continue;
                }
                let src = cols[src % i].clone();
                cols[i] = src
                    .into_iter()
                    .map(|s| match (s, how) {
                        (Sample::Value { value, reset }, 2) => Sample::Value { value: -value, reset },
                        (Sample::Value { value, reset }, 3) if value != 0.0 => Sample::Value { value: -value, reset },
                        (s, _) => s,
                    })
                    .collect();
            }
            cols
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_block_round_trips(cols in block()) {
        round_trip(&cols);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), columns in 0usize..10,
                                slots in 0u32..2000, col in 0usize..10) {
        let mut out = Vec::new();
        let mut with_version = bytes.clone();
        with_version.insert(0, FORMAT_VERSION);
        for p in [&bytes, &with_version] {
            if decode_column(p, columns, slots, col, &mut out).is_ok() {
                prop_assert_eq!(out.len(), slots as usize);
            }
        }
    }

    #[test]
    fn mutated_payloads_never_panic(cols in block(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                    cut in any::<usize>()) {
        let slots = cols.first().map_or(0, Vec::len) as u32;
        let mut p = round_trip(&cols);
        if p.is_empty() { return Ok(()); }
        for (at, byte) in edits {
            let i = at % p.len();
            p[i] ^= byte;
        }
        let mut out = Vec::new();
        for len in [p.len(), cut % (p.len() + 1)] {
            for c in 0..cols.len() {
                if decode_column(&p[..len], cols.len(), slots, c, &mut out).is_ok() {
                    prop_assert_eq!(out.len(), slots as usize);
                }
            }
        }
    }
}
