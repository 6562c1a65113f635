//! The web server's TLS configuration, from `[web] ssl key`, `ssl certificate`,
//! `tls version` and `tls ciphers`.
//!
//! Owns: reading the PEM files (a certificate chain, leaf first, and one private key in
//! PKCS#8, PKCS#1 or SEC1 form) and building the rustls `ServerConfig`. Invariants:
//! [`ServerTls::from_web`] returns `Ok(None)` only when neither file is configured; any
//! other problem is an error naming the file; the key is checked against the leaf
//! certificate (rustls compares their public keys), so a mismatched pair fails at start-up
//! instead of at the first handshake. The returned configuration advertises no ALPN and
//! asks for no client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::Web;

use super::policy::{cipher_suites, protocol_versions};
use super::TlsError;

/// A loaded server configuration and what it took to build it.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    /// Settings that could not be honoured as written (to be logged once).
    pub warnings: Vec<String>,
    /// One line for the start-up log: files, versions and suite count.
    pub summary: String,
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_path_buf(), source })
}

/// Every certificate in a PEM file, in file order.
pub fn load_certificates(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(what, path)?;
    let pem_err = |reason: String| TlsError::Pem { what, path: path.to_path_buf(), reason };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(pem_err("no PEM CERTIFICATE block in it".into()));
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn load_private_key(what: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(what, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        what,
        path: path.to_path_buf(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PEM PRIVATE KEY block in it (PKCS#8, RSA or EC expected)".into()
            }
            other => format!("bad PEM: {other}"),
        },
    })
}

impl ServerTls {
    /// The configuration for `[web]`, or `None` when TLS is not configured.
    pub fn from_web(web: &Web) -> Result<Option<ServerTls>, TlsError> {
        let (key, cert) = match (&web.ssl_key, &web.ssl_certificate) {
            (None, None) => return Ok(None),
            (Some(k), Some(c)) => (k, c),
            (Some(k), None) => {
                return Err(TlsError::Incomplete { set: "ssl key", missing: "ssl certificate", path: k.clone() })
            }
            (None, Some(c)) => {
                return Err(TlsError::Incomplete { set: "ssl certificate", missing: "ssl key", path: c.clone() })
            }
        };
        Self::build(key, cert, web.tls_version.as_deref(), web.tls_ciphers.as_deref()).map(Some)
    }

    /// Builds a configuration from explicit files and settings.
    pub fn build(
        key_path: &Path,
        cert_path: &Path,
        tls_version: Option<&str>,
        tls_ciphers: Option<&str>,
    ) -> Result<ServerTls, TlsError> {
        let chain = load_certificates("[web] ssl certificate", cert_path)?;
        let key = load_private_key("[web] ssl key", key_path)?;
        let mut warnings = Vec::new();
        let (versions, w) = protocol_versions(tls_version);
        warnings.extend(w);
        let mut provider = super::provider();
        let (suites, w) = cipher_suites(tls_ciphers, &provider.cipher_suites);
        warnings.extend(w);
        provider.cipher_suites = suites;
        let suite_count = provider.cipher_suites.len();
        let pair_err = |e: rustls::Error| TlsError::Pair {
            key: PathBuf::from(key_path),
            certificate: PathBuf::from(cert_path),
            reason: e.to_string(),
        };
        let config = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&versions)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(pair_err)?;
        let summary = format!(
            "TLS on: certificate '{}', key '{}', versions {}, {suite_count} cipher suites",
            cert_path.display(),
            key_path.display(),
            versions.iter().map(|v| format!("{:?}", v.version)).collect::<Vec<_>>().join("/"),
        );
        Ok(ServerTls { config: Arc::new(config), warnings, summary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throw-away directory.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            let p = std::env::temp_dir().join(format!("strata-tls-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn web(key: Option<PathBuf>, cert: Option<PathBuf>) -> Web {
        Web { ssl_key: key, ssl_certificate: cert, ..Web::default() }
    }

    fn err(w: &Web) -> String {
        match ServerTls::from_web(w) {
            Ok(t) => panic!("must fail, got {:?}", t.map(|t| t.summary)),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn not_configured_is_plain() {
        assert!(ServerTls::from_web(&Web::default()).unwrap().is_none());
    }

    #[test]
    fn half_configured_is_an_error() {
        let e = err(&web(Some("/k.pem".into()), None));
        assert!(e.contains("ssl key") && e.contains("/k.pem") && e.contains("ssl certificate"), "{e}");
        let e = err(&web(None, Some("/c.pem".into())));
        assert!(e.contains("ssl certificate") && e.contains("/c.pem"), "{e}");
    }

    #[test]
    fn unreadable_and_garbage_files_are_named() {
        let d = Dir::new();
        let missing = d.0.join("missing.pem");
        let garbage = d.write("garbage.pem", "this is not PEM\n");
        let e = err(&web(Some(garbage.clone()), Some(missing.clone())));
        assert!(e.contains("cannot read [web] ssl certificate") && e.contains("missing.pem"), "{e}");
        let e = err(&web(Some(garbage.clone()), Some(garbage.clone())));
        assert!(e.contains("[web] ssl certificate") && e.contains("garbage.pem") && e.contains("CERTIFICATE"), "{e}");
        let broken = d.write("broken.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        let e = err(&web(Some(garbage.clone()), Some(broken)));
        assert!(e.contains("broken.pem") && e.contains("bad PEM"), "{e}");
    }

    #[test]
    fn good_pair_loads_and_a_foreign_key_is_refused() {
        let d = Dir::new();
        let a = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = d.write("cert.pem", &a.cert.pem());
        let key = d.write("key.pem", &a.signing_key.serialize_pem());
        let other = d.write("other-key.pem", &b.signing_key.serialize_pem());
        let ok = ServerTls::from_web(&web(Some(key.clone()), Some(cert.clone()))).unwrap().unwrap();
        assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
        assert!(ok.summary.contains("cert.pem") && ok.summary.contains("TLSv1_3/TLSv1_2"), "{}", ok.summary);
        let e = err(&web(Some(other), Some(cert.clone())));
        assert!(e.contains("other-key.pem") && e.contains("cert.pem") && e.contains("cannot be used"), "{e}");
        // A certificate file given as the key.
        let e = err(&web(Some(cert.clone()), Some(cert)));
        assert!(e.contains("[web] ssl key") && e.contains("PRIVATE KEY"), "{e}");
    }

    #[test]
    fn version_and_cipher_settings_apply() {
        let d = Dir::new();
        let a = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = d.write("cert.pem", &a.cert.pem());
        let key = d.write("key.pem", &a.signing_key.serialize_pem());
        let t = ServerTls::build(&key, &cert, Some("1.1"), Some("ECDHE-ECDSA-AES128-GCM-SHA256:RC4-MD5")).unwrap();
        assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
        assert!(t.summary.contains("versions TLSv1_2,") || t.summary.contains("versions TLSv1_2 "), "{}", t.summary);
        assert!(t.summary.contains("4 cipher suites"), "{}", t.summary);
    }
}
