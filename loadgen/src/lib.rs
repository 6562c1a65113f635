//! strata-loadgen: a swarm of simulated Netdata children speaking the real streaming
//! protocol, with HdrHistogram latency reports.
//!
//! Layers: `options` (the command line), `ident` (deterministic GUIDs and hostnames),
//! `values` and `template` (pre-encoded protocol text, value patterns), `handshake`
//! (request, reply classification, session preamble — strata's own encoder and
//! classifier underneath), `transport` (TCP/TLS on glommio), `child` (one simulated
//! child's open-loop life), `swarm` (threads, churn, progress, merge), `freshness` and
//! `http` (end-to-end visibility through the parent's API), `stats`, `report`, `svg`,
//! `cpu` (what is measured and how it is shown).
//!
//! Run it in-process with [`run`], or through the `strata-loadgen` binary.

pub mod child;
pub mod cpu;
pub mod freshness;
pub mod handshake;
pub mod http;
pub mod ident;
pub mod options;
pub mod report;
pub mod stats;
pub mod svg;
pub mod swarm;
pub mod template;
pub mod transport;
pub mod values;

use std::path::PathBuf;

use thiserror::Error;

pub use options::Options;
pub use report::Report;
pub use swarm::run;
pub use values::ValuePattern;

/// Errors that stop a run before or while it starts.
#[derive(Debug, Error)]
pub enum LoadgenError {
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("target '{target}': {why}")]
    Target { target: String, why: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot start an executor: {0}")]
    Executor(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}
