//! Dimension selection for `dimensions=` (B.3): a simple-pattern list whose words are
//! separated by `,` `|` (and tab/CR/LF/VT/FF; spaces belong to names), matched with the
//! shared [`SimplePattern`] (`*` wildcards, `!` negation, first match decides).

use crate::pattern::SimplePattern;

/// Separators of an API dimension list.
const SEPARATORS: &[u8] = b",|\t\r\n\x0b\x0c";

/// A parsed dimension list (an empty list selects nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionFilter {
    pattern: Option<SimplePattern>,
}

impl DimensionFilter {
    pub fn parse(list: &str) -> Self {
        DimensionFilter { pattern: SimplePattern::with_separators(list, SEPARATORS) }
    }

    /// Whether `text` is selected: the first word matching it decides (`!` ⇒ not).
    pub fn matches(&self, text: &str) -> bool {
        self.pattern.as_ref().is_some_and(|p| p.matches(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
