//! Typed reads of [`Document`] entries with strata's validation policy.
//!
//! Owns: the mapping from a raw entry to a typed value plus the warning or error it
//! deserves. Policy: booleans never fail (Netdata rules); a number that does not start
//! with a digit (after an optional sign, C `strtoll` base 0) is an error; trailing text
//! after a number is ignored with a warning; out-of-range numbers are clamped (or
//! replaced, as the caller says) with a warning; an unknown memory mode is an error.
//! Every warning and error names the entry's origin, section and key.

use std::path::PathBuf;

use crate::hosts::MemoryMode;

use super::error::ConfigError;
use super::file::Entry;
use super::values::{parse_bool, parse_strtoll};

/// What to do with a number outside its valid range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfRange {
    /// Use the nearest bound.
    Clamp,
    /// Use this value instead.
    Replace(i64),
}

/// Collects warnings while typed values are read.
#[derive(Debug, Default)]
pub struct Warnings(pub Vec<String>);

impl Warnings {
    pub fn at(&mut self, entry: &Entry, what: impl AsRef<str>) {
        self.0.push(format!("{}: {}", entry.location(), what.as_ref()));
    }

    /// `FILE: [section] key is not used by strata`.
    pub fn unused(&mut self, entry: &Entry) {
        self.0.push(format!("{} is not used by strata", entry.location()));
    }

    pub fn push(&mut self, text: String) {
        self.0.push(text);
    }
}

/// The integer value of `entry`, checked against `min..=max`.
pub fn number(
    entry: &Entry,
    min: i64,
    max: i64,
    out_of_range: OutOfRange,
    w: &mut Warnings,
) -> Result<i64, ConfigError> {
    let Some(parsed) = parse_strtoll(&entry.value) else {
        return Err(entry.error("not a number"));
    };
    if !parsed.rest.trim().is_empty() {
        w.at(entry, format!("text \"{}\" after the number {} is ignored", parsed.rest.trim(), parsed.value));
    }
    let v = parsed.value;
    if (min..=max).contains(&v) {
        return Ok(v);
    }
    let used = match out_of_range {
        OutOfRange::Clamp => v.clamp(min, max),
        OutOfRange::Replace(r) => r,
    };
    w.at(entry, format!("{v} is outside {min}..={max}; using {used}"));
    Ok(used)
}

/// A `u32` read with [`number`]; the bounds must fit in `u32`.
pub fn number_u32(entry: &Entry, min: u32, max: u32, oor: OutOfRange, w: &mut Warnings) -> Result<u32, ConfigError> {
    let v = number(entry, i64::from(min), i64::from(max), oor, w)?;
    Ok(u32::try_from(v).unwrap_or(min))
}

/// A non-negative count of seconds (or bytes); negative values are clamped to 0.
pub fn number_u64(entry: &Entry, w: &mut Warnings) -> Result<u64, ConfigError> {
    let v = number(entry, 0, i64::MAX, OutOfRange::Clamp, w)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// A TCP port, 1..=65535; anything else is an error.
pub fn port(entry: &Entry) -> Result<u16, ConfigError> {
    let parsed = parse_strtoll(&entry.value).filter(|p| p.rest.trim().is_empty());
    match parsed.map(|p| u16::try_from(p.value)) {
        Some(Ok(p)) if p > 0 => Ok(p),
        Some(_) => Err(entry.error("not a valid port (1-65535)")),
        None => Err(entry.error("not a port number")),
    }
}

/// A Netdata boolean (never fails).
pub fn boolean(entry: &Entry) -> bool {
    parse_bool(&entry.value)
}

/// A memory mode name: none, ram (alloc), save, map or dbengine. Unknown names are an
/// error (Netdata silently uses `save`).
pub fn memory_mode(entry: &Entry, _w: &mut Warnings) -> Result<MemoryMode, ConfigError> {
    match entry.value.as_str() {
        "none" => Ok(MemoryMode::None),
        "ram" | "alloc" => Ok(MemoryMode::Ram),
        "save" => Ok(MemoryMode::Save),
        "map" => Ok(MemoryMode::Map),
        "dbengine" => Ok(MemoryMode::DbEngine),
        _ => Err(entry.error("unknown memory mode (expected none, ram, alloc, save, map or dbengine)")),
    }
}

/// A path; relative paths are resolved against the current working directory. An empty
/// value is `None`.
pub fn path(entry: &Entry) -> Option<PathBuf> {
    let v = entry.value.trim();
    if v.is_empty() {
        return None;
    }
    Some(absolute(v))
}

/// `p` made absolute against the current working directory (unchanged if that is
/// unknown).
pub fn absolute(p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        return p;
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(p),
        Err(_) => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(v: &str) -> Entry {
        Entry { value: v.into(), origin: "/x/netdata.conf".into(), section: "global".into(), key: "history".into() }
    }

    #[test]
    fn numbers() {
        let mut w = Warnings::default();
        assert_eq!(number(&e("100"), 5, 200, OutOfRange::Clamp, &mut w).ok(), Some(100));
        assert_eq!(number(&e("0x10"), 5, 200, OutOfRange::Clamp, &mut w).ok(), Some(16));
        assert!(w.0.is_empty());
        assert_eq!(number(&e("1"), 5, 200, OutOfRange::Clamp, &mut w).ok(), Some(5));
        assert_eq!(number(&e("900"), 5, 200, OutOfRange::Replace(7), &mut w).ok(), Some(7));
        assert_eq!(w.0.len(), 2);
        assert!(w.0[0].starts_with("/x/netdata.conf: [global] history: 1 is outside 5..=200"));
        assert_eq!(number(&e("60 secs"), 5, 200, OutOfRange::Clamp, &mut w).ok(), Some(60));
        assert!(w.0[2].contains("\"secs\""));
        let err = number(&e("abc"), 5, 200, OutOfRange::Clamp, &mut w).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("/x/netdata.conf: [global] history = \"abc\": not a number")
        );
        assert_eq!(number_u64(&e("-5"), &mut w).ok(), Some(0));
    }

    #[test]
    fn ports() {
        assert_eq!(port(&e("19999")).ok(), Some(19999));
        assert_eq!(port(&e("0x50")).ok(), Some(80));
        for bad in ["0", "65536", "-1", "http", "80x", ""] {
            assert!(port(&e(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_modes() {
        let mut w = Warnings::default();
        let m = |v: &str, w: &mut Warnings| memory_mode(&e(v), w).ok();
        assert_eq!(m("none", &mut w), Some(MemoryMode::None));
        assert_eq!(m("ram", &mut w), Some(MemoryMode::Ram));
        assert_eq!(m("alloc", &mut w), Some(MemoryMode::Ram));
        assert_eq!(m("save", &mut w), Some(MemoryMode::Save));
        assert_eq!(m("map", &mut w), Some(MemoryMode::Map));
        assert_eq!(m("dbengine", &mut w), Some(MemoryMode::DbEngine));
        assert!(w.0.is_empty());
        let err = memory_mode(&e("RAM"), &mut w).err().map(|e| e.to_string());
        assert!(err.is_some_and(|s| s.contains("[global] history = \"RAM\": unknown memory mode")));
    }

    #[test]
    fn paths() {
        assert_eq!(path(&e("")), None);
        assert_eq!(path(&e("/var/lib")), Some(PathBuf::from("/var/lib")));
        let rel = path(&e("target/strata/lib"));
        let cwd = std::env::current_dir().ok();
        if let Some(cwd) = cwd {
            assert_eq!(rel, Some(cwd.join("target/strata/lib")));
        }
    }
}
