//! Connections of the simulated children: TCP on glommio (non-blocking, io_uring), with
//! TLS through futures-rustls when `--tls` is given, and the deadlines around them.
//!
//! Owns: the choice of rustls client configuration (system trust store, `--ca FILE`, or
//! `--insecure`, which still checks the handshake signatures but trusts any certificate;
//! built by `strata::tls`, the same code a strata child uses), target
//! parsing, and [`Conn`], the one stream type the child code writes to. Invariants: every
//! network wait here is bounded by a deadline; a TLS write is flushed before it counts
//! as sent.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::TlsConnector;
use glommio::net::TcpStream;
use rustls::pki_types::ServerName;
use strata::tls::{ClientTls, ClientTlsOptions};

use crate::LoadgenError;

/// One destination: what the user wrote, its address, and the host part (the TLS name).
#[derive(Debug, Clone)]
pub struct Target {
    pub text: String,
    pub addr: SocketAddr,
    pub host: String,
}

impl Target {
    /// Resolves `HOST:PORT` (first address).
    pub fn parse(text: &str) -> Result<Target, LoadgenError> {
        let bad = |why: String| LoadgenError::Target { target: text.to_string(), why };
        let (host, _port) = text.rsplit_once(':').ok_or_else(|| bad("expected HOST:PORT".into()))?;
        let addr = text
            .to_socket_addrs()
            .map_err(|e| bad(e.to_string()))?
            .next()
            .ok_or_else(|| bad("resolves to no address".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Ok(Target { text: text.to_string(), addr, host })
    }
}

/// TLS settings shared by every child.
#[derive(Clone)]
pub struct Tls {
    connector: TlsConnector,
    server_name: Option<String>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("server_name", &self.server_name).finish_non_exhaustive()
    }
}

impl Tls {
    /// The client side, built by strata's own TLS client configuration: `insecure` trusts
    /// any certificate (the handshake signatures are still checked); otherwise only the
    /// certificates of `ca` (PEM), or the system trust store when `ca` is `None`.
    pub fn new(insecure: bool, ca: Option<&Path>, server_name: Option<String>) -> Result<Tls, LoadgenError> {
        let opts = ClientTlsOptions {
            skip_certificate_verification: insecure,
            ca_file: ca.map(Path::to_path_buf),
            ca_path: None,
            system_store: ca.is_none(),
            check_server_name: true,
        };
        let built = ClientTls::build(&opts).map_err(|e| LoadgenError::Tls(e.to_string()))?;
        if let (Some(ca), Some(w)) = (ca, built.warnings.first()) {
            return Err(LoadgenError::Tls(format!("{}: {w}", ca.display())));
        }
        Ok(Tls { connector: built.connector(), server_name })
    }
}

/// A child's connection.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

/// Runs `fut` until `deadline`; `Err(TimedOut)` after it. A future that is ready at its
/// first poll (a write the socket takes at once, the common case) arms no timer.
pub async fn until<T>(deadline: Instant, fut: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
    let mut fut = std::pin::pin!(fut);
    if let Some(r) = futures_lite::future::poll_once(fut.as_mut()).await {
        return r;
    }
    let timer = async {
        glommio::timer::sleep(deadline.saturating_duration_since(Instant::now())).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
    };
    futures_lite::future::or(fut, timer).await
}

/// A connection attempt that failed, and at which step.
#[derive(Debug)]
pub struct ConnectError {
    pub step: &'static str,
    pub error: io::Error,
}

impl Conn {
    /// Connects to `target` (and completes TLS when `tls` is set) before `deadline`.
    /// Returns the connection and, with TLS, how long the TLS handshake took.
    pub async fn open(
        target: &Target,
        tls: Option<&Tls>,
        deadline: Instant,
    ) -> Result<(Conn, Option<Duration>), ConnectError> {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let tcp =
            until(deadline, async { TcpStream::connect_timeout(target.addr, left).await.map_err(io::Error::from) })
                .await
                .map_err(|error| ConnectError { step: "connect", error })?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = tls else { return Ok((Conn::Plain(tcp), None)) };
        let name = tls.server_name.as_deref().unwrap_or(&target.host).to_string();
        let name = ServerName::try_from(name)
            .map_err(|e| ConnectError { step: "tls", error: io::Error::new(io::ErrorKind::InvalidInput, e) })?;
        let start = Instant::now();
        let stream = until(deadline, tls.connector.connect(name, tcp))
            .await
            .map_err(|error| ConnectError { step: "tls handshake", error })?;
        Ok((Conn::Tls(Box::new(stream)), Some(start.elapsed())))
    }

    /// Writes all of `buf` (and flushes TLS) before `deadline`.
    pub async fn send(&mut self, buf: &[u8], deadline: Instant) -> io::Result<()> {
        match self {
            Conn::Plain(s) => until(deadline, s.write_all(buf)).await,
            Conn::Tls(s) => {
                until(deadline, async {
                    s.write_all(buf).await?;
                    s.flush().await
                })
                .await
            }
        }
    }

    /// One read into `buf` before `deadline` (0 = closed).
    pub async fn recv(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => until(deadline, s.read(buf)).await,
            Conn::Tls(s) => until(deadline, s.read(buf)).await,
        }
    }

    /// Ends the connection politely (TLS close_notify, TCP FIN), bounded by `deadline`.
    pub async fn close(mut self, deadline: Instant) {
        let _ = match &mut self {
            Conn::Plain(s) => until(deadline, s.close()).await,
            Conn::Tls(s) => until(deadline, s.close()).await,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("127.0.0.1:19999").unwrap();
        assert_eq!((t.addr.port(), t.host.as_str()), (19999, "127.0.0.1"));
        let t = Target::parse("[::1]:80").unwrap();
        assert_eq!(t.host, "::1");
        let t = Target::parse("localhost:1").unwrap();
        assert_eq!(t.host, "localhost");
        assert!(Target::parse("nocolon").is_err());
        assert!(Target::parse("127.0.0.1:notaport").is_err());
    }

    #[test]
    fn tls_config_errors_are_clear() {
        let e = Tls::new(false, Some(Path::new("/nonexistent/ca.pem")), None).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        assert!(Tls::new(true, None, None).is_ok());
    }
}
