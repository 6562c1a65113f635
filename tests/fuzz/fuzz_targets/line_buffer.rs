//! Line buffer fed in random chunks: never panics, every line is shorter than the limit,
//! and the lines are the input's `\n`-separated lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::stream::lines::{LineBuffer, MAX_LINE};

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the chunk sizes, the rest is the stream.
    let (sizes, stream) = match data {
        [a, b, rest @ ..] => ((usize::from(*a) + 1, usize::from(*b) * 64 + 1), rest),
        _ => return,
    };
    let mut lb = LineBuffer::with_initial(&stream[..stream.len().min(sizes.0)]);
    let mut rest = &stream[stream.len().min(sizes.0)..];
    let mut got: Vec<u8> = Vec::new();
    let mut failed = false;
    let mut k = 0usize;
    loop {
        loop {
            match lb.next_line() {
                Ok(Some(line)) => {
                    assert!(line.len() < MAX_LINE);
                    got.extend_from_slice(line);
                    got.push(b'\n');
                }
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed || rest.is_empty() {
            break;
        }
        let want = if k % 2 == 0 { sizes.0 } else { sizes.1 };
        k += 1;
        let spare = lb.spare_mut();
        assert!(!spare.is_empty());
        let n = want.min(spare.len()).min(rest.len());
        spare[..n].copy_from_slice(&rest[..n]);
        lb.advance(n);
        rest = &rest[n..];
    }
    if !failed {
        // Everything up to the last newline came out as lines, unchanged.
        let complete = stream
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        assert_eq!(&got[..], &stream[..complete]);
        assert_eq!(lb.buffered(), &stream[complete..]);
    }
});
