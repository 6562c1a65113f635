//! Certificates made at test time with `rcgen` (no external tool): a CA and a server
//! certificate it signed, or one self-signed certificate; written as PEM files into a
//! directory. Every certificate names `localhost` and `127.0.0.1`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};

pub const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// PEM files for one server identity.
pub struct Certs {
    /// The server certificate (chain: leaf only).
    pub cert: PathBuf,
    /// Its private key (PKCS#8).
    pub key: PathBuf,
    /// The certificate a client must trust: the CA, or the certificate itself when it is
    /// self-signed.
    pub trust: PathBuf,
}

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

/// A self-signed server certificate (`trust` = the certificate itself).
pub fn self_signed(dir: &Path) -> Certs {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(names()).expect("params");
    params.distinguished_name.push(DnType::CommonName, "strata test parent");
    let cert = params.self_signed(&key).expect("self-signed");
    let c = dir.join("cert.pem");
    let k = dir.join("key.pem");
    std::fs::write(&c, cert.pem()).expect("write cert");
    std::fs::write(&k, key.serialize_pem()).expect("write key");
    Certs { cert: c.clone(), key: k, trust: c }
}

/// A test CA and a server certificate signed by it (`trust` = the CA).
pub fn ca_signed(dir: &Path) -> Certs {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.distinguished_name.push(DnType::CommonName, "strata test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(names()).expect("params");
    params.distinguished_name.push(DnType::CommonName, "strata test parent");
    let cert = params.signed_by(&key, &ca).expect("signed");
    let c = dir.join("cert.pem");
    let k = dir.join("key.pem");
    let t = dir.join("ca.pem");
    std::fs::write(&c, cert.pem()).expect("write cert");
    std::fs::write(&k, key.serialize_pem()).expect("write key");
    std::fs::write(&t, ca.pem()).expect("write ca");
    Certs { cert: c, key: k, trust: t }
}

/// Another key pair, unrelated to any certificate (for mismatch tests).
pub fn foreign_key(dir: &Path) -> PathBuf {
    let key = KeyPair::generate().expect("key");
    let p = dir.join("foreign-key.pem");
    std::fs::write(&p, key.serialize_pem()).expect("write key");
    p
}
