//! Splitting /proc text into lines and words, and reading numbers out of words, the way
//! Netdata's `procfile` and `str2ull` / `strtod` do. Pure; never panics.
//!
//! Written here rather than taken from a crate: the rules are Netdata's (a per-file set
//! of separator bytes, empty words skipped, numbers read up to the first invalid byte),
//! which general /proc parsing crates do not reproduce, and they fit in a few lines.

/// The lines of a file (without `\n`; a trailing empty line is not returned).
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// The words of a line: runs of bytes between any of the separator bytes `seps`
/// (empty words are skipped).
pub fn word_vec<'a>(line: &'a [u8], seps: &[u8]) -> Vec<&'a [u8]> {
    line.split(|b| seps.contains(b)).filter(|w| !w.is_empty()).collect()
}

/// `str2ull`: the leading decimal digits of `w` (saturating); 0 when there are none.
pub fn u64_of(w: &[u8]) -> u64 {
    let mut v: u64 = 0;
    for &b in w {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    v
}

/// `u64_of` of word `i`, 0 when the word is missing.
pub fn u64_at(words: &[&[u8]], i: usize) -> u64 {
    words.get(i).map_or(0, |w| u64_of(w))
}

/// `strtod`-like: the longest prefix of `w` that reads as a decimal number (sign,
/// digits, one `.`, digits); 0.0 when there is none.
pub fn f64_of(w: &[u8]) -> f64 {
    let mut end = 0;
    let mut seen_dot = false;
    let mut seen_digit = false;
    for (i, &b) in w.iter().enumerate() {
        match b {
            b'-' | b'+' if i == 0 => {}
            b'0'..=b'9' => seen_digit = true,
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        end = i + 1;
    }
    if !seen_digit {
        return 0.0;
    }
    std::str::from_utf8(&w[..end]).ok().and_then(|s| s.trim_end_matches('.').parse().ok()).unwrap_or(0.0)
}

/// A value as Netdata's `collected_number` (signed 64 bits; larger counters wrap the
/// way the C cast does).
pub fn collected(v: u64) -> i64 {
    v as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_skip_empty_runs() {
        let w = word_vec(b"  cpu0  1 2\t3:4", b" \t:");
        assert_eq!(w, [&b"cpu0"[..], b"1", b"2", b"3", b"4"]);
        assert!(word_vec(b"", b" ").is_empty());
        assert_eq!(lines(b"a\n\nb\n").collect::<Vec<_>>(), [&b"a"[..], b"b"]);
    }

    #[test]
    fn numbers_like_c() {
        assert_eq!(u64_of(b"12345"), 12345);
        assert_eq!(u64_of(b"12abc"), 12);
        assert_eq!(u64_of(b"x"), 0);
        assert_eq!(u64_of(b"99999999999999999999999"), u64::MAX);
        assert_eq!(u64_at(&[b"1"], 3), 0);
        assert_eq!(f64_of(b"0.93"), 0.93);
        assert_eq!(f64_of(b"3404.01 "), 3404.01);
        assert_eq!(f64_of(b"-1.5x"), -1.5);
        assert_eq!(f64_of(b"7."), 7.0);
        assert_eq!(f64_of(b"."), 0.0);
        assert_eq!(f64_of(b""), 0.0);
        assert_eq!(collected(u64::MAX), -1);
    }
}
