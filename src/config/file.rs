//! Reading Netdata-style ini files (netdata.conf, stream.conf) into a [`Document`].
//!
//! Owns: the file syntax. Netdata's rules: `[section]` lines; `name = value` lines split
//! at the FIRST `=`, both sides trimmed; lines whose first non-blank character is `#` are
//! comments (also when indented, as in Netdata's own generated files); lines outside any
//! section, and lines without `=`, are ignored; a later duplicate key wins; sections with
//! the same name merge; names are case-sensitive and may contain spaces; values are
//! verbatim (no quote or backslash processing, no inline comments).
//!
//! The `ini` crate (rust-ini) does the parsing, with quote and escape processing off.
//! Left alone, it differs from Netdata in ways that matter for real files (see the
//! tests): an indented `# comment` becomes a key, `:` also separates key and value, a
//! trailing `\` joins the next line, `;` starts a comment, and `]` ends a section name.
//! So each line is first cut up by Netdata's rules and re-emitted in a canonical form
//! in which the characters rust-ini treats specially are replaced by private-use code
//! points (U+E000 + ASCII code), which are mapped back after parsing. Invariant: the
//! `Document` holds exactly what Netdata would have read. (Input that itself contains
//! those private-use code points, U+E000..=U+E07F, is not supported.)

use std::path::Path;

use ini::{Ini, ParseOption};

use super::error::ConfigError;

/// The origin label used for command-line overrides.
pub const COMMAND_LINE: &str = "-W set";

/// One value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    /// The file path, or [`COMMAND_LINE`].
    pub origin: String,
    /// Section as written by the user (differs from the lookup section after a
    /// backwards-compatibility move).
    pub section: String,
    /// Key as written by the user.
    pub key: String,
}

impl Entry {
    /// `FILE: [section] key` — for warnings.
    pub fn location(&self) -> String {
        format!("{}: [{}] {}", self.origin, self.section, self.key)
    }

    /// A [`ConfigError::Value`] about this entry.
    pub fn error(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            origin: self.origin.clone(),
            section: self.section.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
            reason: reason.into(),
        }
    }
}

/// One section: keys in order of first appearance, each with its last value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub entries: Vec<(String, Entry)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    fn set(&mut self, key: &str, entry: Entry) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, e)) => *e = entry,
            None => self.entries.push((key.to_string(), entry)),
        }
    }
}

/// A parsed file (plus any command-line overrides), sections in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    sections: Vec<Section>,
}

const SPECIAL: &[char] = &['\\', '\r', '[', ']', ':', ';', '#', '=', '"', '\'', '\n'];
const PRIVATE_BASE: u32 = 0xE000;

fn encode(s: &str, out: &mut String) {
    for c in s.chars() {
        if SPECIAL.contains(&c) {
            // All SPECIAL chars are ASCII, so the result is a valid private-use scalar.
            out.push(char::from_u32(PRIVATE_BASE + c as u32).unwrap_or(c));
        } else {
            out.push(c);
        }
    }
}

fn decode(s: &str) -> String {
    s.chars()
        .map(|c| {
            let code = c as u32;
            if (PRIVATE_BASE..PRIVATE_BASE + 0x80).contains(&code) {
                let ascii = char::from_u32(code - PRIVATE_BASE).unwrap_or(c);
                if SPECIAL.contains(&ascii) {
                    return ascii;
                }
            }
            c
        })
        .collect()
}

/// Cut `text` into lines by Netdata's rules and re-emit them so that rust-ini reads
/// them unchanged.
fn canonicalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_section = false;
    for raw in text.split('\n') {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.strip_suffix(']').unwrap_or(rest).trim();
            out.push('[');
            encode(name, &mut out);
            out.push_str("]\n");
            in_section = true;
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            continue;
        }
        encode(key, &mut out);
        out.push_str(" = ");
        encode(value, &mut out);
        out.push('\n');
    }
    out
}

fn ini_options() -> ParseOption {
    ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: false,
    }
}

impl Document {
    /// Parse `text`; `origin` (normally the file path) is recorded in every entry.
    pub fn parse(text: &str, origin: &str) -> Document {
        let mut doc = Document::default();
        let canonical = canonicalize(text);
        match Ini::load_from_str_opt(&canonical, ini_options()) {
            Ok(ini) => {
                for (name, props) in ini.iter() {
                    let Some(name) = name else { continue };
                    let section = decode(name);
                    doc.ensure_section(&section);
                    for (key, value) in props.iter() {
                        let key = decode(key);
                        let entry = Entry {
                            value: decode(value),
                            origin: origin.to_string(),
                            section: section.clone(),
                            key: key.clone(),
                        };
                        doc.set(&section, &key, entry);
                    }
                }
            }
            // The canonical form never contains anything rust-ini rejects; should that
            // ever change, read the canonical lines directly rather than lose the file.
            Err(_) => doc.parse_canonical_directly(&canonical, origin),
        }
        doc
    }

    fn parse_canonical_directly(&mut self, canonical: &str, origin: &str) {
        let mut section: Option<String> = None;
        for line in canonical.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = decode(name);
                self.ensure_section(&name);
                section = Some(name);
            } else if let (Some(s), Some((k, v))) = (&section, line.split_once(" = ")) {
                let (key, value) = (decode(k), decode(v));
                let entry = Entry { value, origin: origin.to_string(), section: s.clone(), key: key.clone() };
                self.set(&s.clone(), &key, entry);
            }
        }
    }

    /// Read and parse `path`. A missing file is `Ok(None)`; any other I/O error (and a
    /// directory in its place) is an error naming the file. Invalid UTF-8 is replaced
    /// (only comments realistically contain it).
    pub fn load(path: &Path) -> Result<Option<Document>, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                Ok(Some(Document::parse(&text, &path.display().to_string())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
        }
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.section(section)?.get(key)
    }

    fn ensure_section(&mut self, name: &str) -> &mut Section {
        let idx = match self.sections.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sections.push(Section { name: name.to_string(), entries: Vec::new() });
                self.sections.len() - 1
            }
        };
        &mut self.sections[idx]
    }

    /// Set (or replace) `[section] key`.
    pub fn set(&mut self, section: &str, key: &str, entry: Entry) {
        self.ensure_section(section).set(key, entry);
    }

    /// Remove `[section] key` and return it.
    pub fn take(&mut self, section: &str, key: &str) -> Option<Entry> {
        let s = self.sections.iter_mut().find(|s| s.name == section)?;
        let idx = s.entries.iter().position(|(k, _)| k == key)?;
        Some(s.entries.remove(idx).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(d: &'a Document, s: &str, k: &str) -> Option<&'a str> {
        d.get(s, k).map(|e| e.value.as_str())
    }

    /// What rust-ini does by itself with quote/escape off: the reasons for
    /// `canonicalize`. If the crate changes behaviour these tests say so.
    #[test]
    fn raw_rust_ini_differs_from_netdata() {
        let get = |text: &str, s: &str, k: &str| {
            Ini::load_from_str_opt(text, ini_options()).ok().and_then(|i| i.get_from(Some(s), k).map(str::to_string))
        };
        // Quotes and backslashes stay verbatim with these options.
        assert_eq!(get("[a]\nk = \"x\" \"y\"\n", "a", "k").as_deref(), Some("\"x\" \"y\""));
        assert_eq!(get("[a]\nk = C:\\dir\\n\n", "a", "k").as_deref(), Some("C:\\dir\\n"));
        // ':' separates key and value.
        assert_eq!(get("[a]\nx:y = 1\n", "a", "x").as_deref(), Some("y = 1"));
        // An indented comment becomes a key.
        assert_eq!(get("[a]\n\t# history = 5\n", "a", "# history").as_deref(), Some("5"));
        // A trailing backslash joins the next line.
        assert_eq!(get("[a]\nk = x\\\nj = 2\n", "a", "j"), None);
    }

    #[test]
    fn netdata_line_rules() {
        let text = "\
top = ignored, outside any section
# comment
[global]
\t# history = 5
\t# a comment: with colon and no equals sign
    history = 3996
  update every=2  
no equals sign here
x:y = colon in key
;semi = colon
k = a = b
quoted = \"a\" \"b\"
back = C:\\dir\\
empty =
 = no key
history = 7
[web]
bind to = *:19999=dashboard|streaming^SSL=force
[global]
memory mode = ram
[plugin:proc:/proc/net/dev]
enabled = no
[a]b]
k = v
";
        let d = Document::parse(text, "f.conf");
        assert_eq!(value(&d, "global", "history"), Some("7"));
        assert_eq!(value(&d, "global", "update every"), Some("2"));
        assert_eq!(value(&d, "global", "x:y"), Some("colon in key"));
        assert_eq!(value(&d, "global", ";semi"), Some("colon"));
        assert_eq!(value(&d, "global", "k"), Some("a = b"));
        assert_eq!(value(&d, "global", "quoted"), Some("\"a\" \"b\""));
        assert_eq!(value(&d, "global", "back"), Some("C:\\dir\\"));
        assert_eq!(value(&d, "global", "empty"), Some(""));
        assert_eq!(value(&d, "global", "memory mode"), Some("ram"));
        assert_eq!(value(&d, "global", "# history"), None);
        assert_eq!(value(&d, "global", "top"), None);
        assert_eq!(value(&d, "web", "bind to"), Some("*:19999=dashboard|streaming^SSL=force"));
        assert_eq!(value(&d, "plugin:proc:/proc/net/dev", "enabled"), Some("no"));
        assert_eq!(value(&d, "a]b", "k"), Some("v"));
        let names: Vec<&str> = d.sections().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["global", "web", "plugin:proc:/proc/net/dev", "a]b"]);
        let global = d.section("global").map(|s| s.entries.len());
        assert_eq!(global, Some(9));
        let e = d.get("global", "history").cloned();
        assert_eq!(e.map(|e| e.location()).as_deref(), Some("f.conf: [global] history"));
    }

    #[test]
    fn names_are_case_sensitive_and_crlf_is_trimmed() {
        let d = Document::parse("[Global]\r\nHistory = 5\r\n[global]\r\nhistory = 6\r\n", "f");
        assert_eq!(value(&d, "Global", "History"), Some("5"));
        assert_eq!(value(&d, "global", "history"), Some("6"));
        assert_eq!(value(&d, "global", "History"), None);
    }

    #[test]
    fn set_and_take() {
        let mut d = Document::parse("[s]\na = 1\n", "f");
        let e = Entry { value: "2".into(), origin: COMMAND_LINE.into(), section: "s".into(), key: "a".into() };
        d.set("s", "a", e);
        assert_eq!(value(&d, "s", "a"), Some("2"));
        assert_eq!(d.take("s", "a").map(|e| e.origin), Some("-W set".to_string()));
        assert_eq!(d.get("s", "a"), None);
        assert_eq!(d.take("nope", "a"), None);
    }

    #[test]
    fn load_missing_and_unreadable() {
        let dir = std::env::temp_dir().join(format!("strata-file-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(Document::load(&dir.join("none.conf")), Ok(None)));
        std::fs::create_dir_all(dir.join("is-a-dir.conf")).ok();
        let err = Document::load(&dir.join("is-a-dir.conf"));
        let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("is-a-dir.conf"), "{msg}");
        std::fs::write(dir.join("ok.conf"), b"[s]\nk = v\xff\n").ok();
        let d = Document::load(&dir.join("ok.conf")).ok().flatten();
        assert_eq!(d.as_ref().and_then(|d| value(d, "s", "k")), Some("v\u{fffd}"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
