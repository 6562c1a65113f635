//! Pure TLS policy: what a port does with a plain or an encrypted client, how a
//! connection is recognised as TLS, and how `tls version` / `tls ciphers` map onto what
//! rustls offers.
//!
//! Port behaviour once a certificate is configured (Netdata's "TLS/SSL enforcement"
//! table): no suffix — plain HTTP is redirected (301) to HTTPS, plain and TLS streams are
//! accepted; `^SSL=force` — plain HTTP redirected, plain streams refused with HTTP 400
//! "I don't understand you..." (W2); `^SSL=optional` — everything accepted. Without a
//! certificate every port is plain and the suffix means nothing.
//!
//! `tls version` is the highest version offered, as in Netdata (which lets OpenSSL go
//! down to 1.0): `1.3` (default) offers 1.3 and 1.2, `1.2` offers 1.2 only; `1`, `1.0`
//! and `1.1` cannot be honoured (rustls has no TLS < 1.2) and give 1.2 with a warning.
//! `tls ciphers` is an OpenSSL-style list (`:`, `,`, `;` or space separated) of suite
//! names, in OpenSSL or IANA spelling; names rustls does not implement, and OpenSSL
//! rule syntax (`HIGH`, `!aNULL`, …), are warned about and skipped. Each protocol
//! version keeps its default suites unless the list names at least one of its suites
//! (OpenSSL's cipher list likewise leaves TLS 1.3 alone).

use rustls::{CipherSuite, SupportedCipherSuite, SupportedProtocolVersion};

use crate::config::SslMode;

/// The record type byte that starts every TLS handshake (a ClientHello).
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Whether a connection whose first byte is `first` speaks TLS. A plain request starts
/// with a method letter (`G`, `O`, `S`, …), never with a control byte.
pub fn looks_like_tls(first: u8) -> bool {
    first == TLS_HANDSHAKE_RECORD
}

/// What the first request on a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A `STREAM` handshake.
    Stream,
    /// Anything else: the web API.
    Http,
}

/// What to do with a request, given the port's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Serve it as usual.
    Serve,
    /// Answer `301 Moved Permanently` to the same URL over `https://`.
    RedirectToHttps,
    /// A plain stream on a `^SSL=force` port: HTTP 400 "I don't understand you..." and an
    /// error-log line asking for SSL on the child.
    RefusePlainStream,
}

/// The port's decision for one request. `tls_configured` = a certificate is loaded;
/// `encrypted` = this connection completed a TLS handshake.
pub fn decide(mode: SslMode, tls_configured: bool, encrypted: bool, kind: RequestKind) -> Decision {
    if !tls_configured || encrypted {
        return Decision::Serve;
    }
    match (kind, mode) {
        (_, SslMode::Optional) => Decision::Serve,
        (RequestKind::Http, SslMode::Default | SslMode::Force) => Decision::RedirectToHttps,
        (RequestKind::Stream, SslMode::Default) => Decision::Serve,
        (RequestKind::Stream, SslMode::Force) => Decision::RefusePlainStream,
    }
}

/// Protocol versions for a `tls version` value, highest first, and a warning when the
/// value cannot be honoured as written.
pub fn protocol_versions(value: Option<&str>) -> (Vec<&'static SupportedProtocolVersion>, Option<String>) {
    let both = vec![&rustls::version::TLS13, &rustls::version::TLS12];
    match value.map(str::trim) {
        None | Some("1.3") => (both, None),
        Some("1.2") => (vec![&rustls::version::TLS12], None),
        Some(v @ ("1" | "1.0" | "1.1")) => (
            vec![&rustls::version::TLS12],
            Some(format!("[web] tls version = {v}: TLS 1.0 and 1.1 are not supported (rustls); offering TLS 1.2 only")),
        ),
        Some(v) => {
            (both, Some(format!("[web] tls version = {v} is not one of 1, 1.0, 1.1, 1.2, 1.3; using 1.3 (with 1.2)")))
        }
    }
}

/// (OpenSSL name, IANA name, rustls suite) of every suite the ring provider implements.
const SUITE_NAMES: &[(&str, &str, CipherSuite)] = &[
    ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", CipherSuite::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", CipherSuite::TLS13_AES_128_GCM_SHA256),
    ("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// The rustls suite a name stands for: OpenSSL or IANA spelling, or rustls' own
/// (`TLS13_AES_128_GCM_SHA256`), case-insensitively.
pub fn suite_by_name(name: &str) -> Option<CipherSuite> {
    SUITE_NAMES
        .iter()
        .find(|(openssl, iana, suite)| {
            name.eq_ignore_ascii_case(openssl)
                || name.eq_ignore_ascii_case(iana)
                || suite.as_str().is_some_and(|s| name.eq_ignore_ascii_case(s))
        })
        .map(|(_, _, suite)| *suite)
}

/// The suites to offer for a `tls ciphers` value, chosen from `available` (the
/// provider's defaults, in its order of preference), and the warnings to log.
pub fn cipher_suites(
    value: Option<&str>,
    available: &[SupportedCipherSuite],
) -> (Vec<SupportedCipherSuite>, Vec<String>) {
    let mut warnings = Vec::new();
    let list = match value.map(str::trim) {
        None | Some("") | Some("none") => return (available.to_vec(), warnings),
        Some(v) => v,
    };
    let mut named: Vec<SupportedCipherSuite> = Vec::new();
    let mut ignored: Vec<&str> = Vec::new();
    for name in list.split([':', ',', ';', ' ', '\t']).filter(|n| !n.is_empty()) {
        let found = suite_by_name(name).and_then(|cs| available.iter().find(|s| s.suite() == cs));
        match found {
            Some(s) if !named.iter().any(|n| n.suite() == s.suite()) => named.push(*s),
            Some(_) => {}
            None => ignored.push(name),
        }
    }
    if !ignored.is_empty() {
        warnings.push(format!(
            "[web] tls ciphers: {} not supported (rustls offers {}); ignored",
            ignored.join(", "),
            SUITE_NAMES.iter().map(|(o, _, _)| *o).collect::<Vec<_>>().join(":")
        ));
    }
    let is13 = |s: &SupportedCipherSuite| matches!(s, SupportedCipherSuite::Tls13(_));
    let mut out = Vec::new();
    for want13 in [true, false] {
        let chosen: Vec<SupportedCipherSuite> = named.iter().filter(|s| is13(s) == want13).copied().collect();
        if chosen.is_empty() {
            out.extend(available.iter().filter(|s| is13(s) == want13).copied());
        } else {
            out.extend(chosen);
        }
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(suites: &[SupportedCipherSuite]) -> Vec<&'static str> {
        suites.iter().map(|s| s.suite().as_str().unwrap_or("?")).collect()
    }

    #[test]
    fn first_byte() {
        assert!(looks_like_tls(0x16));
        for b in [b'G', b'S', b'O', b'P', 0x15, 0x17, 0x80, 0] {
            assert!(!looks_like_tls(b), "{b:#x}");
        }
    }

    #[test]
    fn netdata_enforcement_table() {
        use Decision::*;
        use RequestKind::*;
        // No certificate: everything plain is served, whatever the suffix.
        for mode in [SslMode::Default, SslMode::Force, SslMode::Optional] {
            for kind in [Stream, Http] {
                assert_eq!(decide(mode, false, false, kind), Serve);
                assert_eq!(decide(mode, true, true, kind), Serve, "TLS is always served");
            }
        }
        assert_eq!(decide(SslMode::Default, true, false, Http), RedirectToHttps);
        assert_eq!(decide(SslMode::Default, true, false, Stream), Serve);
        assert_eq!(decide(SslMode::Force, true, false, Http), RedirectToHttps);
        assert_eq!(decide(SslMode::Force, true, false, Stream), RefusePlainStream);
        assert_eq!(decide(SslMode::Optional, true, false, Http), Serve);
        assert_eq!(decide(SslMode::Optional, true, false, Stream), Serve);
    }

    #[test]
    fn versions() {
        let v = |s: Option<&str>| {
            let (vs, w) = protocol_versions(s);
            (vs.iter().map(|v| v.version).collect::<Vec<_>>(), w.is_some())
        };
        use rustls::ProtocolVersion::{TLSv1_2, TLSv1_3};
        assert_eq!(v(None), (vec![TLSv1_3, TLSv1_2], false));
        assert_eq!(v(Some("1.3")), (vec![TLSv1_3, TLSv1_2], false));
        assert_eq!(v(Some("1.2")), (vec![TLSv1_2], false));
        for old in ["1", "1.0", "1.1"] {
            assert_eq!(v(Some(old)), (vec![TLSv1_2], true), "{old}");
        }
        assert_eq!(v(Some("2.0")), (vec![TLSv1_3, TLSv1_2], true));
    }

    #[test]
    fn names_in_every_spelling() {
        assert_eq!(
            suite_by_name("ECDHE-RSA-AES256-GCM-SHA384"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        );
        assert_eq!(
            suite_by_name("tls_ecdhe_rsa_with_aes_256_gcm_sha384"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        );
        assert_eq!(suite_by_name("TLS_AES_128_GCM_SHA256"), Some(CipherSuite::TLS13_AES_128_GCM_SHA256));
        assert_eq!(suite_by_name("TLS13_AES_128_GCM_SHA256"), Some(CipherSuite::TLS13_AES_128_GCM_SHA256));
        assert_eq!(suite_by_name("AES256-SHA"), None);
        // Every name in the table is one the provider implements.
        let all = crate::tls::provider().cipher_suites;
        for (_, _, cs) in SUITE_NAMES {
            assert!(all.iter().any(|s| s.suite() == *cs), "{cs:?}");
        }
    }

    #[test]
    fn cipher_lists() {
        let all = crate::tls::provider().cipher_suites;
        for v in [None, Some("none"), Some("")] {
            let (s, w) = cipher_suites(v, &all);
            assert_eq!(names(&s), names(&all));
            assert!(w.is_empty());
        }
        // The netdata documentation's example: three TLS 1.3 suites, in the given order;
        // TLS 1.2 keeps its defaults.
        let (s, w) =
            cipher_suites(Some("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"), &all);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            &names(&s)[..3],
            ["TLS13_AES_256_GCM_SHA384", "TLS13_CHACHA20_POLY1305_SHA256", "TLS13_AES_128_GCM_SHA256"]
        );
        assert_eq!(s.iter().filter(|x| matches!(x, SupportedCipherSuite::Tls12(_))).count(), 6);
        // One TLS 1.2 suite plus rules rustls cannot follow.
        let (s, w) = cipher_suites(Some("ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL AES256-SHA"), &all);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("HIGH") && w[0].contains("!aNULL") && w[0].contains("AES256-SHA"), "{w:?}");
        let tls12: Vec<_> = s.iter().filter(|x| matches!(x, SupportedCipherSuite::Tls12(_))).collect();
        assert_eq!(tls12.len(), 1);
        assert_eq!(tls12[0].suite(), CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
        assert_eq!(s.iter().filter(|x| matches!(x, SupportedCipherSuite::Tls13(_))).count(), 3);
        // Nothing usable: defaults, with a warning.
        let (s, w) = cipher_suites(Some("RC4-MD5"), &all);
        assert_eq!(names(&s), names(&all));
        assert_eq!(w.len(), 1);
    }
}
