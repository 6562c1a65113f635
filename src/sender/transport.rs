//! The byte stream of one link to a parent: plain TCP, or TLS over TCP for a `:SSL`
//! destination (streaming-protocol.md §5.4, §9.2 "TLS"; the seed's "Securing streaming
//! communications").
//!
//! Owns: [`Link`] (the stream a session runs over), the TLS client handshake
//! ([`start_tls`]) and the classification of its failures as Netdata 1.37.1 reports them:
//! a certificate the verifier refuses is "invalid SSL certificate" (code -7), anything
//! else "SSL error" (code -8), both postponing the destination for 300 s; a peer that
//! answers the ClientHello with something that is not TLS (a plain parent) is reported
//! with Netdata's "is it Netdata?" wording. Invariants: the handshake is bounded by
//! `timeout seconds`; no byte of the STREAM request is sent before the TLS handshake
//! completed; the TLS server name is the destination host, or the connected address
//! when the host is not a valid name (Netdata 1.37.1 does not compare names, so it only
//! affects SNI).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use glommio::net::TcpStream;
use rustls::pki_types::ServerName;

use crate::tls::client::server_name;

use super::backoff::Failure;
use super::destination::Destination;
use super::handshake::within;

/// The stream of one link.
pub enum Link {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Link {
    pub fn is_tls(&self) -> bool {
        matches!(self, Link::Tls(_))
    }
}

/// A failed TLS handshake: what to record for the destination and what to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFailure {
    pub failure: Failure,
    /// The log line (without the `STREAM host [send to D]: ` prefix).
    pub message: String,
}

/// Runs the TLS client handshake over `tcp` for `dest`.
pub async fn start_tls(
    connector: &TlsConnector,
    dest: &Destination,
    tcp: TcpStream,
    timeout: Duration,
) -> Result<Link, TlsFailure> {
    let name = match server_name(&dest.host) {
        Ok(n) => n,
        Err(_) => match tcp.peer_addr() {
            Ok(a) => ServerName::IpAddress(a.ip().into()),
            Err(e) => return Err(ssl_error(&e.to_string())),
        },
    };
    match within(timeout, connector.connect(name, tcp)).await {
        Some(Ok(s)) => Ok(Link::Tls(Box::new(s))),
        Some(Err(e)) => Err(classify(&e)),
        None => Err(TlsFailure {
            failure: Failure::Tls,
            message: format!(
                "SSL cannot connect with the server: no TLS handshake within {} seconds",
                timeout.as_secs()
            ),
        }),
    }
}

/// What a handshake error means, in Netdata's words.
pub fn classify(e: &io::Error) -> TlsFailure {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => TlsFailure {
            failure: Failure::InvalidCertificate,
            message: format!("Closing the stream connection, because the server SSL certificate is not valid ({c:?})."),
        },
        Some(r @ (rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. })) => {
            not_tls(&r.to_string())
        }
        Some(r) => ssl_error(&r.to_string()),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            not_tls("the connection was closed during the TLS handshake")
        }
        None => ssl_error(&e.to_string()),
    }
}

fn ssl_error(detail: &str) -> TlsFailure {
    TlsFailure { failure: Failure::Tls, message: format!("SSL cannot connect with the server: {detail}") }
}

/// The peer does not speak TLS: most likely a parent without TLS on this port.
fn not_tls(detail: &str) -> TlsFailure {
    TlsFailure {
        failure: Failure::Tls,
        message: format!(
            "SSL cannot connect with the server: {detail} - {} (the parent does not speak TLS on this port)",
            NOT_NETDATA
        ),
    }
}

/// Netdata 1.37.1's reason for a reply it does not understand.
pub const NOT_NETDATA: &str = "remote node response is not understood, is it Netdata?";

impl AsyncRead for Link {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_flush(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_close(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn certificate_errors_are_invalid_certificates() {
        let f = classify(&wrapped(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)));
        assert_eq!(f.failure, Failure::InvalidCertificate);
        assert!(f
            .message
            .starts_with("Closing the stream connection, because the server SSL certificate is not valid"));
        assert!(f.message.contains("UnknownIssuer"), "{}", f.message);
    }

    #[test]
    fn a_peer_without_tls_is_asked_whether_it_is_netdata() {
        let corrupt = classify(&wrapped(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)));
        let closed = classify(&io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof"));
        for f in [corrupt, closed] {
            assert_eq!(f.failure, Failure::Tls);
            assert!(f.message.contains("is it Netdata?"), "{}", f.message);
            assert!(f.message.starts_with("SSL cannot connect with the server: "), "{}", f.message);
        }
    }

    #[test]
    fn other_tls_errors_are_ssl_errors() {
        let f = classify(&wrapped(rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)));
        assert_eq!(f.failure, Failure::Tls);
        assert!(!f.message.contains("Netdata?"), "{}", f.message);
        let reset = classify(&io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(reset.failure, Failure::Tls);
    }
}
