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

/// The words of one line, borrowed from it. No allocation.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    words: [&'a [u8]; MAX_WORDS],
    len: usize,
}

impl<'a> Words<'a> {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Words from a slice (at most [`MAX_WORDS`] are kept); for building commands by hand.
    pub fn from_slice(words: &[&'a [u8]]) -> Words<'a> {
        let mut w = Words { words: [&[]; MAX_WORDS], len: 0 };
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
        self.words[..self.len.min(MAX_WORDS)].iter().copied()
    }
    /// The words from index `from` on (empty when `from >= len`).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + '_ {
        let end = self.len.min(MAX_WORDS);
        self.words[from.min(end)..end].iter().copied()
    }
    fn push(&mut self, w: &'a [u8]) -> bool {
        if self.len < MAX_WORDS {
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
fn is_quote(b: u8) -> bool {
    b == b'"' || b == b'\''
}

/// The line up to (not including) its first NUL byte.
#[inline]
fn until_nul(line: &[u8]) -> &[u8] {
    match line.iter().position(|&b| b == 0) {
        Some(p) => &line[..p],
        None => line,
    }
}

/// The keyword of a line: the first run of non-separator bytes, quotes not interpreted.
/// Empty for a blank line.
pub fn keyword(line: &[u8]) -> &[u8] {
    let line = until_nul(line);
    let start = line.iter().position(|&b| !is_separator(b)).unwrap_or(line.len());
    let rest = &line[start..];
    let len = rest.iter().position(|&b| is_separator(b)).unwrap_or(rest.len());
    &rest[..len]
}

/// Splits a line into words (spec §4.1). The first word is always present (empty for a
/// blank line), so `len() >= 1`.
pub fn tokenize(line: &[u8]) -> Words<'_> {
    let line = until_nul(line);
    let n = line.len();
    let mut out = Words { words: [&[]; MAX_WORDS], len: 0 };
    let mut i = 0;
    while i < n && is_separator(line[i]) {
        i += 1;
    }
    let mut quote: Option<u8> = None;
    if i < n && is_quote(line[i]) {
        quote = Some(line[i]);
        i += 1;
    }
    // The first word is stored even when the line is blank.
    let mut start = i;
    loop {
        if i >= n {
            // End of line: the current word runs to here.
            out.push(&line[start..n]);
            return out;
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
        // The word ends here (a closing quote acts as a separator).
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
        if i >= n || out.len >= MAX_WORDS {
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
}
