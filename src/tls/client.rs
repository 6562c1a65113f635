//! The sender side: a rustls client configuration from stream.conf's `[stream]` (or a
//! proxy's) TLS settings, for a connection to a `destination` entry ending in `:SSL`.
//!
//! Owns: the trust anchors and the certificate check. Trust anchors, as Netdata 1.37.1
//! assembles them with OpenSSL: the system store (read with `rustls-native-certs`, which
//! honours `SSL_CERT_FILE` / `SSL_CERT_DIR` and the distribution's bundle, i.e. the same
//! place OpenSSL's default verify paths point to) plus `CAfile` (a PEM bundle) plus every
//! PEM certificate in `CApath`. A CAfile or CApath that cannot be read is a warning and
//! the rest is used (Netdata does the same); no anchor at all while verification is on is
//! an error. `ssl skip certificate verification = yes` accepts any certificate, but the
//! handshake signatures are still checked (the session is still encrypted to whoever
//! holds the key). The certificate's name is checked against the destination host by
//! default; Netdata 1.37.1 checks only the chain, which
//! [`ClientTlsOptions::check_server_name`] `= false` reproduces.
//!
//! Choice of crate for the system store: `rustls-native-certs` (rustls project), because
//! Netdata uses the operating system's store, not a bundled Mozilla list (`webpki-roots`),
//! so a parent certificate installed with `update-ca-certificates` is trusted by both.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use crate::config::StreamSender;

use super::server::load_certificates;
use super::TlsError;

/// The TLS settings of one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTlsOptions {
    /// `ssl skip certificate verification` (default no).
    pub skip_certificate_verification: bool,
    /// `CAfile`: a PEM bundle of extra trusted certificates.
    pub ca_file: Option<PathBuf>,
    /// `CApath`: a directory of PEM certificates.
    pub ca_path: Option<PathBuf>,
    /// Load the system trust store (default yes; tests turn it off).
    pub system_store: bool,
    /// Check the certificate's name against the destination host (default yes).
    pub check_server_name: bool,
}

impl Default for ClientTlsOptions {
    fn default() -> ClientTlsOptions {
        ClientTlsOptions {
            skip_certificate_verification: false,
            ca_file: None,
            ca_path: None,
            system_store: true,
            check_server_name: true,
        }
    }
}

impl ClientTlsOptions {
    /// The options stream.conf's `[stream]` section gives.
    pub fn from_stream_conf(s: &StreamSender) -> ClientTlsOptions {
        ClientTlsOptions {
            skip_certificate_verification: s.ssl_skip_certificate_verification,
            ca_file: s.ca_file.clone(),
            ca_path: s.ca_path.clone(),
            ..ClientTlsOptions::default()
        }
    }
}

/// A built client configuration, shareable by every connection of a sender.
#[derive(Debug, Clone)]
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    /// Problems that did not stop the build (unreadable CAfile, …), to be logged once.
    pub warnings: Vec<String>,
    /// How many trust anchors were loaded (0 when verification is skipped).
    pub trust_anchors: usize,
}

impl ClientTls {
    /// Builds the configuration for `opts`.
    pub fn build(opts: &ClientTlsOptions) -> Result<ClientTls, TlsError> {
        let provider = Arc::new(super::provider());
        let builder = ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
        let algorithms = provider.signature_verification_algorithms;
        if opts.skip_certificate_verification {
            let config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(RelaxedVerifier { chain: None, algorithms }))
                .with_no_client_auth();
            return Ok(ClientTls { config: Arc::new(config), warnings: Vec::new(), trust_anchors: 0 });
        }
        let (roots, warnings) = trust_anchors(opts);
        if roots.is_empty() {
            return Err(TlsError::NoTrustAnchors(warnings.join("; ")));
        }
        let trust_anchors = roots.len();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| TlsError::Rustls(Error::General(e.to_string())))?;
        let config = if opts.check_server_name {
            builder.with_webpki_verifier(webpki).with_no_client_auth()
        } else {
            let verifier = RelaxedVerifier { chain: Some(webpki), algorithms };
            builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
        };
        Ok(ClientTls { config: Arc::new(config), warnings, trust_anchors })
    }

    /// A connector for `futures-rustls` (works over any futures `AsyncRead + AsyncWrite`,
    /// e.g. a glommio `TcpStream`).
    pub fn connector(&self) -> futures_rustls::TlsConnector {
        futures_rustls::TlsConnector::from(self.config.clone())
    }
}

/// Splits a `:SSL` suffix off one destination entry: `("host:port", true)` for
/// `host:port:SSL`. Case-sensitive, as Netdata matches it.
pub fn split_ssl_suffix(entry: &str) -> (&str, bool) {
    match entry.strip_suffix(":SSL") {
        Some(rest) => (rest, true),
        None => (entry, false),
    }
}

/// The TLS server name for a destination host: a DNS name, an IPv4 address, or an
/// IPv6 address with or without brackets.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    ServerName::try_from(bare.to_string()).map_err(|_| TlsError::ServerName(host.to_string()))
}

/// The system store, CAfile and CApath, with warnings for what could not be read.
fn trust_anchors(opts: &ClientTlsOptions) -> (RootCertStore, Vec<String>) {
    let mut roots = RootCertStore::empty();
    let mut warnings = Vec::new();
    if opts.system_store {
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            let errors: Vec<String> = native.errors.iter().map(|e| e.to_string()).collect();
            warnings.push(format!("the system trust store gave no certificate ({})", errors.join("; ")));
        }
    }
    if let Some(file) = &opts.ca_file {
        match load_certificates("CAfile", file) {
            Ok(certs) => {
                let (added, ignored) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    warnings.push(format!("CAfile '{}': none of its {ignored} certificates is usable", file.display()));
                }
            }
            Err(e) => warnings.push(e.to_string()),
        }
    }
    if let Some(dir) = &opts.ca_path {
        match certificates_in(dir) {
            Ok(certs) if certs.is_empty() => {
                warnings.push(format!("CApath '{}' holds no PEM certificate", dir.display()))
            }
            Ok(certs) => {
                roots.add_parsable_certificates(certs);
            }
            Err(e) => warnings.push(format!("cannot read CApath '{}': {e}", dir.display())),
        }
    }
    (roots, warnings)
}

/// Every PEM certificate of every readable file in `dir` (not recursive; unreadable or
/// non-PEM files are skipped, as OpenSSL skips them in a CApath).
fn certificates_in(dir: &Path) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(bytes) = std::fs::read(entry.path()) else { continue };
        out.extend(CertificateDer::pem_slice_iter(&bytes).map_while(Result::ok));
    }
    Ok(out)
}

/// The two relaxed checks, sharing the handshake-signature checks (always made with the
/// provider's algorithms). `chain: None` is `ssl skip certificate verification = yes`:
/// any certificate. `chain: Some` is Netdata 1.37.1's check: the chain must lead to a
/// trusted anchor, the name is not compared (the webpki verifier checks the chain first,
/// so a name error means the chain was good).
#[derive(Debug)]
struct RelaxedVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for RelaxedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_suffix() {
        assert_eq!(split_ssl_suffix("10.0.0.1:19999:SSL"), ("10.0.0.1:19999", true));
        assert_eq!(split_ssl_suffix("tcp:parent:SSL"), ("tcp:parent", true));
        assert_eq!(split_ssl_suffix("[::1]:19999"), ("[::1]:19999", false));
        assert_eq!(split_ssl_suffix("parent:19999:ssl"), ("parent:19999:ssl", false));
    }

    #[test]
    fn server_names() {
        assert!(matches!(server_name("parent.example"), Ok(ServerName::DnsName(_))));
        assert!(matches!(server_name("127.0.0.1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("bad name!").is_err());
    }

    #[test]
    fn from_stream_conf() {
        let s = StreamSender {
            ssl_skip_certificate_verification: true,
            ca_file: Some("/f.pem".into()),
            ca_path: Some("/d".into()),
            ..StreamSender::default()
        };
        let o = ClientTlsOptions::from_stream_conf(&s);
        assert!(o.skip_certificate_verification && o.system_store && o.check_server_name);
        assert_eq!((o.ca_file.as_deref(), o.ca_path.as_deref()), (Some(Path::new("/f.pem")), Some(Path::new("/d"))));
    }

    #[test]
    fn no_anchor_is_an_error_unless_verification_is_skipped() {
        let opts = ClientTlsOptions {
            system_store: false,
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..ClientTlsOptions::default()
        };
        let e = ClientTls::build(&opts).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("no trusted certificate authority") && e.contains("/nonexistent/ca.pem"), "{e}");
        let skip = ClientTlsOptions { skip_certificate_verification: true, ..opts };
        let t = ClientTls::build(&skip).unwrap();
        assert_eq!(t.trust_anchors, 0);
    }

    #[test]
    fn ca_file_and_ca_path_are_loaded() {
        let dir = std::env::temp_dir().join(format!("strata-ca-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = rcgen::generate_simple_self_signed(vec!["a.example".to_string()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example".to_string()]).unwrap();
        std::fs::write(dir.join("a.pem"), a.cert.pem()).unwrap();
        std::fs::write(dir.join("b.pem"), b.cert.pem()).unwrap();
        std::fs::write(dir.join("README"), "not a certificate").unwrap();
        let file =
            ClientTlsOptions { system_store: false, ca_file: Some(dir.join("a.pem")), ..ClientTlsOptions::default() };
        assert_eq!(ClientTls::build(&file).unwrap().trust_anchors, 1);
        let path = ClientTlsOptions { system_store: false, ca_path: Some(dir.clone()), ..ClientTlsOptions::default() };
        let t = ClientTls::build(&path).unwrap();
        assert_eq!(t.trust_anchors, 2);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
