//! What `save` and `map` share about files: where a chart's ring file lives, what the
//! chart being created expects of it, how a file is judged on load, and the errors (and
//! load notes) both modes report.
//!
//! Policy on load: no file → a fresh ring; a valid file that does not fit the chart
//! ([`Mismatch`]) → not used (a fresh ring replaces it); bytes that are not a valid ring
//! file ([`Corrupt`]) → renamed aside to `<file>.corrupt-<unix time>` and a fresh ring is
//! started; a file that can be neither read nor set aside is never overwritten: the
//! chart is then kept in memory only. Nothing here panics on any file content.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::ringfile::{self, Corrupt, Expected, FormatError, Header, Mismatch, MAX_ENTRIES};

/// Where and what a chart's ring file must be.
#[derive(Debug, Clone, Copy)]
pub struct OpenSpec<'a> {
    /// The host's directory (`<cache directory>/<machine guid>`); created when missing.
    pub dir: &'a Path,
    /// The chart's full id, as received.
    pub chart_id: &'a [u8],
    /// Slots per dimension (`history`), clamped to 5..=31536000.
    pub entries: u32,
    /// Seconds between slots, at least 1.
    pub update_every: u32,
    /// Unix seconds now (a file older than its ring is not used).
    pub now: i64,
}

impl OpenSpec<'_> {
    pub fn path(&self) -> PathBuf {
        self.dir.join(ringfile::file_name(self.chart_id))
    }

    pub fn entries(&self) -> usize {
        (self.entries as usize).clamp(5, MAX_ENTRIES)
    }

    pub fn update_every(&self) -> u32 {
        self.update_every.max(1)
    }

    pub(crate) fn expected(&self) -> Expected<'_> {
        Expected { chart_id: self.chart_id, entries: self.entries(), update_every: self.update_every(), now: self.now }
    }
}

/// Errors and load notes of the file-backed stores. Every message names the file.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("File '{}' does not have the expected {what}, ignoring it", path.display())]
    Ignored { path: PathBuf, what: Mismatch },
    #[error("File '{}' is not a usable ring file: {reason}; renamed it to '{}'", path.display(), aside.display())]
    SetAside { path: PathBuf, reason: Corrupt, aside: PathBuf },
    #[error("File '{}' is not a usable ring file: {reason}, and cannot be renamed aside: {source}", path.display())]
    SetAsideFailed { path: PathBuf, reason: Corrupt, source: io::Error },
    #[error("cannot {op} '{}': {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("cannot encode the ring of '{}': {source}", path.display())]
    Format { path: PathBuf, source: FormatError },
    #[error("{source}; the chart is kept in memory only")]
    InMemory { source: Box<StoreError> },
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        StoreError::Io { op, path: path.to_path_buf(), source }
    }
}

/// The verdict on a file's bytes for the chart being created.
#[derive(Debug)]
pub(crate) enum Verdict {
    Use(Header),
    Ignore(Mismatch),
    Corrupt(Corrupt),
}

/// Judges the bytes of an existing file.
pub(crate) fn judge(bytes: &[u8], spec: &OpenSpec<'_>) -> Verdict {
    let h = match ringfile::decode_header(bytes) {
        Ok(h) => h,
        Err(c) => return Verdict::Corrupt(c),
    };
    if let Err(c) = ringfile::column_ids(bytes, &h) {
        return Verdict::Corrupt(c);
    }
    match ringfile::check(&h, &spec.expected()) {
        Ok(()) => Verdict::Use(h),
        Err(m) => Verdict::Ignore(m),
    }
}

/// Creates the host directory.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))
}

/// Renames a corrupt file aside; the note to log, or why it could not be done.
pub(crate) fn set_aside(path: &Path, reason: Corrupt, now: i64) -> Result<StoreError, StoreError> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{now}"));
    let aside = PathBuf::from(aside);
    match std::fs::rename(path, &aside) {
        Ok(()) => Ok(StoreError::SetAside { path: path.to_path_buf(), reason, aside }),
        Err(source) => Err(StoreError::SetAsideFailed { path: path.to_path_buf(), reason, source }),
    }
}
