//! Netdata's line tokenizer (spec §4.1), zero-copy.
//!
//! Owns: splitting one protocol line into at most [`MAX_WORDS`] words, and finding the
//! keyword of a line. Invariants: no allocation (words borrow from the line), never
//! panics, every word is a sub-slice of the input. Separators are space, TAB, CR, LF and
//! `=`; a word may be quoted with `"` or `'` (the quotes are not part of it); a
//! backslash keeps itself and the byte after it; `""` is an empty word (present, length
//! 0); an unterminated quote runs to the end of the line. A NUL byte ends the line, as it
//! does for the C string the reference implementation works on.

/// At most this many words per line (keyword + 19 parameters).
pub const MAX_WORDS: usize = 20;

/// The first (at most) `N` words of one line, borrowed from it. No allocation.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a, const N: usize = MAX_WORDS> {
    words: [&'a [u8]; N],
    len: usize,
}

impl<'a, const N: usize> Words<'a, N> {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Words from a slice (at most `N` are kept); for building commands by hand.
    pub fn from_slice(words: &[&'a [u8]]) -> Words<'a, N> {
        let mut w = Words { words: [&[]; N], len: 0 };
        for (slot, word) in w.words.iter_mut().zip(words) {
            *slot = word;
            w.len += 1;
        }
        w
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        if i < self.len {
            Some(self.words[i])
        } else {
            None
        }
    }
    /// The words in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.words[..self.len.min(N)].iter().copied()
    }
    /// The words from index `from` on (empty when `from >= len`).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + '_ {
        let end = self.len.min(N);
        self.words[from.min(end)..end].iter().copied()
    }
    fn push(&mut self, w: &'a [u8]) -> bool {
        if self.len < N {
            self.words[self.len] = w;
            self.len += 1;
            true
        } else {
            false
        }
    }
}

/// Is `b` a word separator of the line protocol?
#[inline]
pub fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'=')
}

#[inline]
pub fn is_quote(b: u8) -> bool {
    b == b'"' || b == b'\''
}

/// The keyword of a line: the first run of non-separator bytes, quotes not interpreted.
/// Empty for a blank line. Only the keyword's bytes are scanned (a NUL ends it too).
pub fn keyword(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|&b| b == 0 || !is_separator(b)).unwrap_or(line.len());
    let rest = &line[start..];
    let len = rest.iter().position(|&b| b == 0 || is_separator(b)).unwrap_or(rest.len());
    &rest[..len]
}

/// Splits a line into words (spec §4.1). The first word is always present (empty for a
/// blank line), so `len() >= 1`.
pub fn tokenize(line: &[u8]) -> Words<'_> {
    tokenize_first::<MAX_WORDS>(line)
}

/// The first `N` words of a line, exactly as [`tokenize`] would return them (`N` ≥ 1);
/// the rest of the line is not scanned. The data lines (`SET`, `BEGIN`) use only their
/// first three words, and a small word array keeps their parse cheap. The line ends at
/// its end or at its first NUL byte, whichever comes first; it is scanned once.
pub fn tokenize_first<const N: usize>(line: &[u8]) -> Words<'_, N> {
    const { assert!(N >= 1, "a line has at least one word") };
    // The byte at `i`, or `None` at the end of the line (its end or a NUL).
    let byte = |i: usize| match line.get(i) {
        None | Some(0) => None,
        Some(&b) => Some(b),
    };
    let mut out = Words { words: [&[]; N], len: 0 };
    let mut i = 0;
    while byte(i).is_some_and(is_separator) {
        i += 1;
    }
    let mut quote: Option<u8> = None;
    if let Some(q) = byte(i).filter(|&b| is_quote(b)) {
        quote = Some(q);
        i += 1;
    }
    // The first word is stored even when the line is blank.
    let mut start = i;
    loop {
        let Some(b) = byte(i) else {
            // End of line: the current word runs to here.
            out.push(&line[start..i]);
            return out;
        };
        if b == b'\\' && byte(i + 1).is_some() {
            i += 2;
            continue;
        }
        let ends = match quote {
            Some(q) => b == q,
            None => is_separator(b),
        };
        if !ends {
            i += 1;
            continue;
        }
        // The word ends here (a closing quote acts as a separator).
        out.push(&line[start..i]);
        quote = None;
        i += 1;
        while byte(i).is_some_and(is_separator) {
            i += 1;
        }
        if let Some(q) = byte(i).filter(|&b| is_quote(b)) {
            quote = Some(q);
            i += 1;
        }
        if byte(i).is_none() || out.len >= N {
            return out;
        }
        start = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        tokenize(line.as_bytes()).iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect()
    }

    fn check(line: &str, expected: &[&str]) {
        assert_eq!(words(line), expected, "line {line:?}");
    }

    #[test]
    fn spec_table_4_1() {
        check(r#"SET "x" = 10"#, &["SET", "x", "10"]);
        check("SET x =", &["SET", "x"]);
        check(r#"SET "x" = """#, &["SET", "x", ""]);
        check(r#"SET "a=b" = 5"#, &["SET", "a=b", "5"]);
        check("VARIABLE HOST a=1", &["VARIABLE", "HOST", "a", "1"]);
        check("X a==b", &["X", "a", "b"]);
        check("CHART 'a.b' '' 'x'", &["CHART", "a.b", "", "x"]);
        check(r#""a""b""#, &["a", "b"]);
        check(r#"X "a b"c d"#, &["X", "a b", "c", "d"]);
        check(r#"abc"def ghi""#, &["abc\"def", "ghi\""]);
        check(r#"X "a\"b" c"#, &["X", r#"a\"b"#, "c"]);
        check(r"a\ b c", &[r"a\ b", "c"]);
        check(r#"X 'a"b' c"#, &["X", "a\"b", "c"]);
        check("X 'it''s'", &["X", "it", "s"]);
        check(r#"BEGIN "system.cpu 100"#, &["BEGIN", "system.cpu 100"]);
        check(r#"   BEGIN   "x.y"    1000   "#, &["BEGIN", "x.y", "1000"]);
        check(r#"X "" "" """#, &["X", "", "", ""]);
        check(r#"X """""#, &["X", "", ""]);
        check(r#"X ""#, &["X"]);
        check(r#"CHART "a.b" "" " detail  " "   ""#, &["CHART", "a.b", "", " detail  ", "   "]);
        check(
            r#"DIMENSION "some 10" "some 10" "absolute" 1 100 "  ""#,
            &["DIMENSION", "some 10", "some 10", "absolute", "1", "100", "  "],
        );
        let line: String =
            std::iter::once("X".to_string()).chain((1..=24).map(|i| i.to_string())).collect::<Vec<_>>().join(" ");
        let mut expected = vec!["X".to_string()];
        expected.extend((1..=19).map(|i| i.to_string()));
        assert_eq!(words(&line), expected);
        check("", &[""]);
        check("   ", &[""]);
    }

    #[test]
    fn blank_lines_have_an_empty_keyword() {
        assert_eq!(keyword(b""), b"");
        assert_eq!(keyword(b"   \t\r"), b"");
        assert_eq!(tokenize(b"\r").len(), 1);
        assert_eq!(tokenize(b"\r").get(0), Some(&b""[..]));
    }

    #[test]
    fn keyword_ignores_quotes() {
        assert_eq!(keyword(br#"  SET "x" = 1"#), b"SET");
        assert_eq!(keyword(br#""SET" x"#), br#""SET""#);
        assert_eq!(keyword(b"END\r"), b"END");
        assert_eq!(keyword(b"SET=x"), b"SET");
    }

    #[test]
    fn crlf_is_whitespace() {
        check("END\r", &["END"]);
        check("SET \"a\" = 1\r\n", &["SET", "a", "1"]);
    }

    #[test]
    fn trailing_backslash_is_kept() {
        check(r"X a\", &["X", r"a\"]);
        check(r#"X "a\"#, &["X", r"a\"]);
    }

    #[test]
    fn nul_ends_the_line() {
        let w = tokenize(b"SET x = 1\0 2 3");
        assert_eq!(w.len(), 3);
        assert_eq!(w.get(2), Some(&b"1"[..]));
        assert_eq!(keyword(b"\0END"), b"");
    }

    #[test]
    fn exactly_twenty_words_then_stop() {
        let line = (0..20).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
        let w = tokenize(line.as_bytes());
        assert_eq!(w.len(), 20);
        assert_eq!(w.get(19), Some(&b"19"[..]));
        assert_eq!(w.get(20), None);
        assert_eq!(w.iter_from(18).count(), 2);
        assert_eq!(w.iter_from(25).count(), 0);
    }

    proptest::proptest! {
        #[test]
        fn the_first_words_are_those_of_the_whole_line(line in proptest::collection::vec(
            proptest::sample::select(b"ab =\t\"'\\\r\n\0SET".to_vec()), 0..40)) {
            let all: Vec<&[u8]> = tokenize(&line).iter().collect();
            let first: Vec<&[u8]> = tokenize_first::<3>(&line).iter().collect();
            proptest::prop_assert_eq!(&first[..], &all[..all.len().min(3)]);
            let one: Vec<&[u8]> = tokenize_first::<1>(&line).iter().collect();
            proptest::prop_assert_eq!(&one[..], &all[..1]);
        }
    }

    /// The specification's reading, written plainly: cut the line at its first NUL, then
    /// split it (the tokenizer above does both in one pass).
    fn reference(line: &[u8]) -> (Vec<&[u8]>, &[u8]) {
        let line = match line.iter().position(|&b| b == 0) {
            Some(p) => &line[..p],
            None => line,
        };
        let start = line.iter().position(|&b| !is_separator(b)).unwrap_or(line.len());
        let kw_len = line[start..].iter().position(|&b| is_separator(b)).unwrap_or(line.len() - start);
        let keyword = &line[start..start + kw_len];
        let n = line.len();
        let mut out: Vec<&[u8]> = Vec::new();
        let mut i = 0;
        while i < n && is_separator(line[i]) {
            i += 1;
        }
        let mut quote = None;
        if i < n && is_quote(line[i]) {
            quote = Some(line[i]);
            i += 1;
        }
        let mut start = i;
        loop {
            if i >= n {
                out.push(&line[start..n]);
                return (out, keyword);
            }
            let b = line[i];
            if b == b'\\' && i + 1 < n {
                i += 2;
                continue;
            }
            let ends = match quote {
                Some(q) => b == q,
                None => is_separator(b),
            };
            if !ends {
                i += 1;
                continue;
            }
            out.push(&line[start..i]);
            quote = None;
            i += 1;
            while i < n && is_separator(line[i]) {
                i += 1;
            }
            if i < n && is_quote(line[i]) {
                quote = Some(line[i]);
                i += 1;
            }
            if i >= n || out.len() >= MAX_WORDS {
                return (out, keyword);
            }
            start = i;
        }
    }

    proptest::proptest! {
        #[test]
        fn one_pass_tokenizing_matches_the_reference(line in proptest::collection::vec(
            proptest::sample::select(b"ab =\t\"'\\\r\n\0S".to_vec()), 0..60)) {
            let (words, kw) = reference(&line);
            let got: Vec<&[u8]> = tokenize(&line).iter().collect();
            proptest::prop_assert_eq!(got, words);
            proptest::prop_assert_eq!(keyword(&line), kw);
        }
    }
}
