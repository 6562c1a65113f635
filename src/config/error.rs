//! The error type of the configuration layer.
//!
//! Owns: `ConfigError`. Invariant: every message names where the problem is — the file
//! (or `-W set` for command-line overrides), and for value errors the `[section]`, the
//! key and the offending value — so a user can fix it without reading code.

use std::path::PathBuf;

/// A configuration problem that stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An existing file could not be read (permissions, I/O error, a directory…).
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be created or written (machine GUID).
    #[error("{}: cannot write the file: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value that strata refuses (a number that does not parse, an unknown memory
    /// mode, an invalid `bind to` entry, an unparsable port, a non-GUID section that is
    /// enabled in stream.conf, …).
    #[error("{origin}: [{section}] {key} = \"{value}\": {reason}")]
    Value {
        /// The file path, or `-W set` for a command-line override.
        origin: String,
        section: String,
        key: String,
        value: String,
        reason: String,
    },
}
