//! The TLS runs of the grid: the self-signed certificate the strata parent serves on its
//! `^SSL=force` streaming port and the loadgen trusts (`--ca`), and the TLS/plain
//! comparison of one grid point.
//!
//! Invariants: the certificate names both `localhost` and `127.0.0.1`, so the loadgen
//! verifies it against its target address without `--insecure`; a ratio exists only when
//! both runs measured the figure (never a zero standing in for a missing one).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::point::Figures;

/// The PEM files of the parent's certificate and key.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Generates a self-signed certificate for `localhost` and `127.0.0.1` into `dir`.
pub fn self_signed(dir: &Path) -> anyhow::Result<CertFiles> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .context("generate a self-signed certificate")?;
    let files = CertFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, ck.cert.pem()).with_context(|| format!("write {}", files.cert.display()))?;
    std::fs::write(&files.key, ck.signing_key.serialize_pem())
        .with_context(|| format!("write {}", files.key.display()))?;
    Ok(files)
}

/// TLS against plain for one parent at one grid point.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TlsRatio {
    pub parent: &'static str,
    pub children: usize,
    pub metrics_per_child: usize,
    pub cpu_secs_per_million_samples: Option<f64>,
    pub rss_mib: Option<f64>,
    pub rss_per_child_kib: Option<f64>,
    /// The whole connection handshake (TCP connect, TLS, STREAM request and reply).
    pub handshake_p99: Option<f64>,
    /// The TLS run's TLS handshake alone, ms.
    pub tls_handshake_p99_ms: Option<f64>,
    /// The TLS run's TLS handshake p99 over the plain run's whole handshake p99.
    pub tls_handshake_p99_over_plain_handshake_p99: Option<f64>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// One [`TlsRatio`] per TLS row that has a plain row of the same parent and grid point.
pub fn ratios(rows: &[Figures]) -> Vec<TlsRatio> {
    rows.iter()
        .filter(|t| t.tls)
        .filter_map(|t| {
            let p = rows.iter().find(|p| {
                !p.tls && p.parent == t.parent && p.children == t.children && p.metrics_per_child == t.metrics_per_child
            })?;
            Some(TlsRatio {
                parent: t.parent,
                children: t.children,
                metrics_per_child: t.metrics_per_child,
                cpu_secs_per_million_samples: ratio(t.cpu_secs_per_million_samples, p.cpu_secs_per_million_samples),
                rss_mib: ratio(t.rss_mib, p.rss_mib),
                rss_per_child_kib: ratio(t.rss_per_child_kib, p.rss_per_child_kib),
                handshake_p99: ratio(t.handshake_p99_ms, p.handshake_p99_ms),
                tls_handshake_p99_ms: t.tls_handshake_p99_ms,
                tls_handshake_p99_over_plain_handshake_p99: ratio(t.tls_handshake_p99_ms, p.handshake_p99_ms),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_files_are_pem_and_load() {
        let dir = std::env::temp_dir().join(format!("strata-grid-tls-{}", std::process::id()));
        let f = self_signed(&dir).unwrap();
        let cert = std::fs::read_to_string(&f.cert).unwrap();
        let key = std::fs::read_to_string(&f.key).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.contains("PRIVATE KEY-----"), "{key}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
