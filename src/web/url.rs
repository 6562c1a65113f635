//! URL decoding and query-string parsing (B.0): split at `&`, each part at the first `=`,
//! parts with an empty name or value ignored, names and values percent-decoded.

/// Percent-decodes `s` (`+` is a space in queries only, see [`decode_query_part`]).
/// A `%` not followed by two hex digits is kept literally. `None` when the result is
/// not UTF-8 or contains a NUL byte.
pub fn decode(s: &str) -> Option<String> {
    decode_bytes(s, false)
}

/// Decodes a query name or value (`+` means space).
pub fn decode_query_part(s: &str) -> Option<String> {
    decode_bytes(s, true)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_bytes(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => match (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if out.contains(&0) {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Parsed query parameters, in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub params: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (without the `?`). Parts that fail to decode are skipped.
    pub fn parse(raw: &str) -> Self {
        let params = raw
            .split('&')
            .filter_map(|part| {
                let (n, v) = part.split_once('=')?;
                if n.is_empty() || v.is_empty() {
                    return None;
                }
                Some((decode_query_part(n)?, decode_query_part(v)?))
            })
            .collect();
        Query { params }
    }

    /// The last value of `name` (repeated parameters: the last wins).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The last value among several aliases (the last occurrence of any of them wins).
    pub fn get_any(&self, names: &[&str]) -> Option<&str> {
        self.params.iter().rev().find(|(n, _)| names.contains(&n.as_str())).map(|(_, v)| v.as_str())
    }

    /// Every value of any of `names`, in order.
    pub fn all<'a>(&'a self, names: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
        self.params.iter().filter(move |(n, _)| names.contains(&n.as_str())).map(|(_, v)| v.as_str())
    }
}

/// Splits a raw URL into its path and query (without `?`).
pub fn split_path_query(url: &str) -> (&str, &str) {
    match url.split_once('?') {
        Some((p, q)) => (p, q),
        None => (url, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(decode("/a%20b").as_deref(), Some("/a b"));
        assert_eq!(decode("a+b").as_deref(), Some("a+b"));
        assert_eq!(decode_query_part("a+b%2Cc").as_deref(), Some("a b,c"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode("%FF"), None);
        assert_eq!(decode("a%00b"), None);
    }

    #[test]
    fn query_rules() {
        let q = Query::parse("chart=system.cpu&after=-60&after=-120&empty=&=x&flag&dims=a%7Cb&dim=c");
        assert_eq!(q.get("chart"), Some("system.cpu"));
        assert_eq!(q.get("after"), Some("-120"));
        assert_eq!(q.get("empty"), None);
        assert_eq!(q.get("flag"), None);
        assert_eq!(q.all(&["dims", "dim"]).collect::<Vec<_>>(), vec!["a|b", "c"]);
        assert_eq!(q.get_any(&["dim", "dims"]), Some("c"));
    }

    #[test]
    fn splits_path_and_query() {
        assert_eq!(split_path_query("/api/v1/data?chart=a?b"), ("/api/v1/data", "chart=a?b"));
        assert_eq!(split_path_query("/x"), ("/x", ""));
    }
}
