//! Small writers for hand-built JSON and HTML text: string escaping, key/value helpers.
//! JSON is written by hand so that key order follows Netdata's exactly.

use std::fmt::Write;

/// Appends `s` as a JSON string literal (quotes included).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Appends `s` JSON-escaped, without quotes.
pub fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `s` as a JSON string literal.
#[cfg(test)]
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_str(&mut out, s);
    out
}

/// Appends `[ "a", "b" ]`-style array of strings: `["a", "b"]`.
pub fn push_str_array<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_str(out, s);
    }
    out.push(']');
}

/// HTML-escapes `s` the way Netdata does (`& < > " / '`).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '/' => out.push_str("&#x2F;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_json_specials_and_controls() {
        assert_eq!(quoted("a\"b\\c\nd\te\u{1}"), r#""a\"b\\c\nd\te\u0001""#);
        let v: serde_json::Value = serde_json::from_str(&quoted("x\r\n\"y\"")).unwrap();
        assert_eq!(v, "x\r\n\"y\"");
    }

    #[test]
    fn html_escape_covers_netdata_set() {
        assert_eq!(
            html_escape(r#"<a href="/x">'&'</a>"#),
            "&lt;a href=&quot;&#x2F;x&quot;&gt;&#x27;&amp;&#x27;&lt;&#x2F;a&gt;"
        );
    }

    #[test]
    fn string_arrays() {
        let mut s = String::new();
        push_str_array(&mut s, ["time", "a\"b"]);
        assert_eq!(s, r#"["time", "a\"b"]"#);
    }
}
