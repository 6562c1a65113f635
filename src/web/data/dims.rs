//! Dimension selection for `dimensions=` (B.3): a list of simple-pattern words separated
//! by `,` `|` (and tab/CR/LF; spaces belong to names), `*` wildcards, `!` negation, the
//! first matching word decides. A stand-in until `crate::pattern` is available: swap
//! [`DimensionFilter::matches`] for the shared simple-pattern matcher.

/// A parsed dimension list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionFilter {
    words: Vec<(bool, String)>,
}

impl DimensionFilter {
    pub fn parse(list: &str) -> Self {
        let words = list
            .split([',', '|', '\t', '\r', '\n', '\x0b', '\x0c'])
            .filter(|w| !w.is_empty())
            .map(|w| match w.strip_prefix('!') {
                Some(rest) => (false, rest.to_string()),
                None => (true, w.to_string()),
            })
            .filter(|(_, w)| !w.is_empty())
            .collect();
        DimensionFilter { words }
    }

    /// Whether `text` is selected: the first word matching it decides (`!` ⇒ not).
    pub fn matches(&self, text: &str) -> bool {
        self.words.iter().find(|(_, w)| glob(w, text)).is_some_and(|(pos, _)| *pos)
    }
}

/// `*` matches any run of characters (including none); everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("a*", "abcd"));
        assert!(glob("*d", "abcd"));
        assert!(glob("*b*", "abcd"));
        assert!(glob("a*c*e", "abXcYe"));
        assert!(!glob("a*c*e", "abXcY"));
        assert!(glob("*", ""));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn lists_and_negation() {
        let f = DimensionFilter::parse("user,sys*|!idle");
        assert!(f.matches("user"));
        assert!(f.matches("system"));
        assert!(!f.matches("idle"));
        assert!(!f.matches("nice"));
        let f = DimensionFilter::parse("!guest*|*");
        assert!(!f.matches("guest_nice"));
        assert!(f.matches("user"));
        let f = DimensionFilter::parse("some name");
        assert!(f.matches("some name"), "spaces belong to names");
        assert!(!DimensionFilter::parse("|,").matches("x"));
    }
}
