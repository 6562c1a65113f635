//! Netdata simple patterns (spec §8), with Netdata's exact semantics and quirks.
//!
//! Owns: [`SimplePattern`], used for `allow from`, `[web] allow streaming from`,
//! `send charts matching` and `proxy send charts matching`. A list is split on
//! whitespace (space, TAB, CR, LF, FF, VT); `!` negates the pattern glued to it; a
//! backslash escapes the next byte and is removed; empty patterns are skipped. Matching
//! is byte-exact and case-sensitive, `*` is the only wildcard, the first pattern that
//! matches decides, and the empty subject never matches. Quirks kept: two consecutive
//! `*` are not collapsed (`**x` needs a literal `*` in the subject), a trailing `**`
//! behaves like `*`, and `! x` loses its negation. Invariants: never panics; an empty
//! list yields no matcher (`None`).

/// How one piece of a pattern is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    Prefix,
    Suffix,
    Substring,
}

/// One piece of a pattern; the pieces of a pattern form a chain, each later piece being
/// matched against what the earlier one left over.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    mode: Mode,
    text: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    negative: bool,
    chain: Vec<Piece>,
}

/// A compiled list of simple patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimplePattern {
    patterns: Vec<Pattern>,
}

/// The separators of a pattern list in streaming settings and `allow from` lists.
pub const WHITESPACE: &[u8] = b" \t\r\n\x0b\x0c";

impl SimplePattern {
    /// Compiles a pattern list. `None` when the list holds no pattern (empty or only
    /// separators): "no matcher", whose meaning depends on the setting.
    pub fn new(list: &str) -> Option<SimplePattern> {
        Self::with_separators(list, WHITESPACE)
    }

    /// Compiles a pattern list split on `separators` instead of whitespace (Netdata's
    /// API lists, e.g. `dimensions=`, separate with `,` and `|` so that spaces belong to
    /// names). Everything else is as in [`SimplePattern::new`].
    pub fn with_separators(list: &str, separators: &[u8]) -> Option<SimplePattern> {
        let is_list_separator = |b: u8| separators.contains(&b);
        let s = list.as_bytes();
        let mut patterns = Vec::new();
        let mut i = 0;
        while i < s.len() {
            while i < s.len() && is_list_separator(s[i]) {
                i += 1;
            }
            let mut negative = false;
            if i < s.len() && s[i] == b'!' {
                negative = true;
                i += 1;
            }
            if i >= s.len() {
                break;
            }
            let mut word = Vec::new();
            let mut escape = false;
            while i < s.len() && (escape || !is_list_separator(s[i])) {
                if s[i] == b'\\' && !escape {
                    escape = true;
                } else {
                    escape = false;
                    word.push(s[i]);
                }
                i += 1;
            }
            if !word.is_empty() {
                let mut chain = Vec::new();
                compile(&word, &mut chain);
                patterns.push(Pattern { negative, chain });
            }
        }
        if patterns.is_empty() {
            None
        } else {
            Some(SimplePattern { patterns })
        }
    }

    /// Does `subject` match? The first pattern that matches decides (a negative one
    /// means no); none matching, or an empty subject, means no. A NUL byte ends the
    /// subject (Netdata compares C strings).
    pub fn matches(&self, subject: &[u8]) -> bool {
        let subject = match subject.iter().position(|&b| b == 0) {
            Some(p) => &subject[..p],
            None => subject,
        };
        if subject.is_empty() {
            return false;
        }
        for p in &self.patterns {
            if match_chain(&p.chain, subject) {
                return !p.negative;
            }
        }
        false
    }
}

/// Compiles one pattern into its chain of pieces: the text up to and including the first
/// `*` that is followed by more text (after skipping leading `*`s) becomes one piece, the
/// remainder (starting at that `*`) is compiled the same way.
fn compile(p: &[u8], out: &mut Vec<Piece>) {
    let mut rest = p;
    loop {
        let lead = rest.iter().take_while(|&&b| b == b'*').count();
        let star = rest[lead..].iter().position(|&b| b == b'*').map(|k| k + lead);
        let (this, next) = match star {
            Some(k) if k + 1 < rest.len() => (&rest[..=k], Some(&rest[k..])),
            _ => (rest, None),
        };
        out.push(piece(this));
        match next {
            Some(n) => rest = n,
            None => return,
        }
    }
}

fn piece(s: &[u8]) -> Piece {
    let len = s.len();
    let starts = len >= 1 && s[0] == b'*';
    let ends = len >= 1 && s[len - 1] == b'*';
    let (mode, text) = if len >= 2 && starts && ends {
        (Mode::Substring, &s[1..len - 1])
    } else if starts {
        (Mode::Suffix, &s[1..])
    } else if ends {
        (Mode::Prefix, &s[..len - 1])
    } else {
        (Mode::Exact, s)
    };
    Piece { mode, text: text.to_vec() }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn match_chain(chain: &[Piece], subject: &[u8]) -> bool {
    let mut s = subject;
    for (i, piece) in chain.iter().enumerate() {
        let last = i + 1 == chain.len();
        let m = &piece.text[..];
        if m.len() > s.len() {
            return false;
        }
        match piece.mode {
            Mode::Substring => {
                if m.is_empty() {
                    return true;
                }
                match find(s, m) {
                    Some(_) if last => return true,
                    Some(at) => s = &s[at + m.len()..],
                    None => return false,
                }
            }
            Mode::Prefix => {
                if !s.starts_with(m) {
                    return false;
                }
                if last {
                    return true;
                }
                s = &s[m.len()..];
            }
            // A suffix or exact piece never has a successor.
            Mode::Suffix => return last && s.ends_with(m),
            Mode::Exact => return last && s == m,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(list: &str, subject: &str) -> bool {
        SimplePattern::new(list).expect("a non-empty list").matches(subject.as_bytes())
    }

    #[test]
    fn spec_table_8() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "a", true),
            ("*", "", false),
            ("*", "x y", true),
            ("*", "*", true),
            ("apps.*", "apps.cpu", true),
            ("apps.*", "apps.", true),
            ("apps.*", "apps", false),
            ("apps.*", "xapps.cpu", false),
            ("*.cpu", "system.cpu", true),
            ("*.cpu", ".cpu", true),
            ("*.cpu", "cpu", false),
            ("*.cpu", "system.cpu0", false),
            ("*cpu*", "system.cpu0", true),
            ("*cpu*", "cpu", true),
            ("*cpu*", "CPU", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "axbyc", true),
            ("a*b*c", "acb", false),
            ("a*b*c", "abcx", false),
            ("x*y", "xay", true),
            ("x*y", "xya", false),
            ("*a*a", "a", false),
            ("*a*a", "aba", true),
            ("system.cpu", "system.cpu0", false),
            ("system.cpu", "System.cpu", false),
            ("!*.cpu *", "system.cpu", false),
            ("!*.cpu *", "system.load", true),
            ("* !*.cpu", "system.cpu", true),
            ("!apps.* !users.* *", "apps.cpu", false),
            ("!apps.* !users.* *", "users.mem", false),
            ("!apps.* !users.* *", "system.io", true),
            ("!a* a*", "ab", false),
            ("10.* 192.168.*", "10.1.2.3", true),
            ("10.* 192.168.*", "172.16.0.1", false),
            ("192.168.1.*", "192.168.10.1", false),
            ("!10.0.0.1 10.*", "10.0.0.1", false),
            ("!10.0.0.1 10.*", "10.0.0.2", true),
            ("localhost *", "127.0.0.1", true),
            ("a\\ b", "a b", true),
            ("a\\ b", "a", false),
            ("\\!x", "!x", true),
            ("\\!x", "x", false),
            ("! x", "x", true),
            ("x**", "xa", true),
            ("**x", "x", false),
            ("**x", "*x", true),
            ("a**b", "axb", false),
            ("a**b", "a*b", true),
        ];
        for &(list, subject, expected) in table {
            assert_eq!(m(list, subject), expected, "{list:?} vs {subject:?}");
        }
    }

    #[test]
    fn empty_list_is_no_matcher() {
        assert!(SimplePattern::new("").is_none());
        assert!(SimplePattern::new("  \t\n").is_none());
        assert!(SimplePattern::new("!").is_none());
        assert!(SimplePattern::new("\\").is_none());
    }

    #[test]
    fn more_quirks() {
        // A trailing `**` behaves like `*`.
        assert!(m("x**", "x"));
        // Escaped backslash is a literal backslash.
        assert!(m("a\\\\b", "a\\b"));
        // Separators of every kind split the list.
        assert!(m("a\x0bb\x0cc", "c"));
        // A NUL ends the subject.
        assert!(m("ab", "ab\0cd"));
        assert!(!m("*", "\0x"));
        // Exact match when there is no star.
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
    }

    #[test]
    fn no_panic_on_odd_input() {
        for list in ["*", "**", "***", "*a**", "!*", "a*", "\\*", "*\\", "é*ü"] {
            let p = SimplePattern::new(list).unwrap();
            for subject in ["", "*", "**", "a", "é", "aaaa", "ü"] {
                let _ = p.matches(subject.as_bytes());
            }
        }
        assert!(m("***", "a*"));
    }
}
