//! Errors of the files layer.
//!
//! Invariants: every failure on disk input is one of these values, never a panic; `Gone`
//! and `Corrupt` are per-extent (the caller reports them and treats the blocks as a gap),
//! `Io` carries the operation and the path.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::format::FormatError;
use super::location::FileId;

#[derive(Debug, Error)]
pub enum FilesError {
    /// An operating-system error.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The datafile was deleted by retention or is missing: every block in it is gone.
    #[error("datafile {file} is gone (deleted by retention or missing)")]
    Gone { file: FileId },
    /// The extent failed its checks (crc, lengths, decompression) or the location does not
    /// fit it; the blocks of this extent are lost, the rest of the file is not.
    #[error("extent at offset {offset} of datafile {file} is damaged: {error}")]
    Corrupt {
        file: FileId,
        offset: u64,
        #[source]
        error: FormatError,
    },
    /// The blocks handed to `write_extent` cannot be stored as given.
    #[error("cannot store the extent: {0}")]
    Invalid(#[source] FormatError),
}

impl FilesError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> FilesError {
        let path = path.into();
        move |source| FilesError::Io { op, path, source }
    }
}
