//! The byte stream under one web or streaming connection: a plain TCP socket, a TLS
//! session over one, or the shard-local end of a relay that carries a TLS session's
//! decrypted bytes from the shard that terminates it (see `tls_relay`).
//!
//! Owns: nothing but the dispatch. Invariants: reads and writes go straight to the inner
//! stream (no extra buffering); [`Conn::raw_fd`] is the fd whose `shutdown(2)` ends the
//! connection as seen by its reader (the TCP socket, or this shard's end of the relay).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite};
use futures_rustls::server::TlsStream;
use glommio::net::{TcpStream, UnixStream};

/// One connection's stream.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Decrypted bytes relayed from another shard; `fd` is this end's socket.
    Relay {
        stream: UnixStream,
        fd: RawFd,
    },
}

impl Conn {
    /// Sets the read timeout of the underlying TCP socket. A relay has none of its own:
    /// the shard holding the TLS session applies the timeout to the TCP socket and ends
    /// the relay when it fires.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.set_read_timeout(d).map_err(io::Error::from),
            Conn::Tls(s) => s.get_ref().0.set_read_timeout(d).map_err(io::Error::from),
            Conn::Relay { .. } => Ok(()),
        }
    }

    /// The fd to `shutdown(2)` to end this connection.
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Conn::Plain(s) => s.as_raw_fd(),
            Conn::Tls(s) => s.get_ref().0.as_raw_fd(),
            Conn::Relay { fd, .. } => *fd,
        }
    }

    /// Whether the peer reached us over TLS.
    pub fn is_encrypted(&self) -> bool {
        !matches!(self, Conn::Plain(_))
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Relay { stream, .. } => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Relay { stream, .. } => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Relay { stream, .. } => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_close(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
            Conn::Relay { stream, .. } => Pin::new(stream).poll_close(cx),
        }
    }
}
