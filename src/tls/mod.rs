//! TLS for the web server, streaming receivers and streaming senders, on rustls
//! with the `ring` provider; sessions run through `futures-rustls` over glommio streams.
//!
//! Owns: the server configuration built from `[web] ssl key`, `ssl certificate`,
//! `tls version` and `tls ciphers` ([`server`]); the per-port policy of `bind to`'s
//! `^SSL=force|optional` suffix and the first-byte test that tells a TLS client from a
//! plain one on the same port ([`policy`]); and the client configuration a sender builds
//! from stream.conf's `destination = host:port:SSL`, `ssl skip certificate verification`,
//! `CAfile` and `CApath` ([`client`]).
//!
//! Invariants: no TLS unless a certificate is configured (Netdata's default: plain only);
//! a configured certificate or key that cannot be read, parsed or paired is a start-up
//! error naming the file, never a silent fall-back to plain text (Netdata falls back; we
//! refuse, because a parent that was meant to encrypt should not quietly stop doing it);
//! settings rustls cannot honour (TLS 1.0/1.1, cipher suites it does not implement) are
//! warnings, and the nearest supported setting is used. Certificates and keys are read
//! with rustls' own PEM support (`rustls::pki_types::pem`); nothing is parsed by hand.

pub mod client;
pub mod policy;
pub mod server;

use std::path::PathBuf;

use thiserror::Error;

pub use client::{split_ssl_suffix, ClientTls, ClientTlsOptions};
pub use policy::{decide, looks_like_tls, Decision, RequestKind};
pub use server::ServerTls;

/// Why a TLS configuration cannot be built.
#[derive(Debug, Error)]
pub enum TlsError {
    /// `[web] ssl key` without `ssl certificate`, or the other way round.
    #[error("[web] {set} is set ('{path}') but [web] {missing} is not: TLS needs both")]
    Incomplete { set: &'static str, missing: &'static str, path: PathBuf },
    /// A file could not be read.
    #[error("cannot read {what} '{path}': {source}")]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    /// A file was read but holds no usable PEM item of the expected kind.
    #[error("{what} '{path}' is not usable: {reason}")]
    Pem { what: &'static str, path: PathBuf, reason: String },
    /// The private key does not belong to the certificate (or rustls refuses the pair).
    #[error("[web] ssl key '{key}' cannot be used with [web] ssl certificate '{certificate}': {reason}")]
    Pair { key: PathBuf, certificate: PathBuf, reason: String },
    /// Verification is on but no trust anchor could be loaded from anywhere.
    #[error("no trusted certificate authority: the system store, CAfile and CApath gave none ({0})")]
    NoTrustAnchors(String),
    /// A destination host that cannot be a TLS server name.
    #[error("'{0}' cannot be used as a TLS server name")]
    ServerName(String),
    /// Any other refusal by rustls while building a configuration.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The crypto provider strata uses everywhere (ring; the workspace enables no other).
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
