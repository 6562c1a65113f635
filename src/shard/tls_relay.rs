//! Hand-off of a TLS streaming connection to the shard that owns its host.
//!
//! A plain STREAM socket moves to its owner as a `dup`'ed fd plus the bytes already read
//! (`conn`). A TLS session cannot move that way: its state (keys, sequence numbers,
//! buffered records) lives in the rustls connection on the accepting shard, and the
//! executors share nothing. Two ways were possible: (a) keep the connection on the
//! accepting shard and send every parsed line to the owner as a message, or (b) terminate
//! TLS on the accepting shard and relay the decrypted bytes to the owner. strata does
//! (b), through a `socketpair(2)`: the accepting shard keeps the TLS session and one end
//! of the pair; the other end travels to the owner in the usual `Msg::Stream` and the
//! owner runs the unchanged receiver on it (`Conn::Relay`). Why not (a): it would split
//! the receiver across two shards, put a message per line on the ingest path and
//! serialise host state changes through the mesh; the relay keeps every host operation
//! on the owner and the protocol code unaware of TLS.
//!
//! Cost, only for TLS streams that land on a shard that does not own their host
//! (`1 - 1/N` of them with N shards; a TLS stream accepted by its owner runs directly on
//! the session, with no relay): the decryption runs on the accepting shard, not the
//! owner, so TLS CPU is spread by accept order rather than by host; each chunk of
//! plaintext costs one extra kernel copy and two extra syscalls (write into the pair,
//! read on the owner); the relay holds one 16 KiB buffer per direction. Back-pressure is
//! preserved: when the owner stops reading, the pair's socket buffer fills, the relay
//! stops reading TLS, and the child's TCP window closes. The idle timeout is applied by
//! the relay to the TCP socket (the owner's end has none); either side closing ends both
//! (the child closing gives the owner an end of file; the owner closing — a rejection,
//! a protocol error, a stale connection being replaced — sends the child a TLS
//! close_notify and closes the TCP connection).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures_rustls::server::TlsStream;
use glommio::net::{TcpStream, UnixStream};

use crate::stream::request::StreamRequest;

use super::admission::Admitted;
use super::messages::{Msg, Transport};
use super::state::Shard;

/// Plaintext bytes moved per read (the largest TLS record payload).
const RELAY_CHUNK: usize = 16 * 1024;

/// Sends the stream to `owner` over a socket pair and relays until either side ends.
#[allow(clippy::too_many_arguments)]
pub async fn hand_off(
    shard: &Shard,
    tls: Box<TlsStream<TcpStream>>,
    owner: usize,
    peer: SocketAddr,
    ip: &str,
    request: StreamRequest,
    admitted: Admitted,
    early: Vec<u8>,
    idle: Duration,
) {
    let host = admitted.hostname.clone();
    let pair = std::os::unix::net::UnixStream::pair()
        .and_then(|(a, b)| a.set_nonblocking(true).and_then(|_| b.set_nonblocking(true)).map(|_| (a, b)));
    let (ours, theirs) = match pair {
        Ok(p) => p,
        Err(e) => {
            crate::error!(
                "STREAM {host} [receive from [{ip}]:{}]: FAILED - SOCKET ERROR (socketpair: {e})",
                peer.port()
            );
            return;
        }
    };
    let fd = theirs.into_raw_fd();
    shard
        .send(
            owner,
            Msg::Stream { fd, peer, request: Box::new(request), admitted, early, transport: Transport::TlsRelay },
        )
        .await;
    crate::info!(
        "STREAM {host} [receive from [{ip}]:{}]: TLS terminated on shard {}, decrypted stream relayed to shard {owner}",
        peer.port(),
        shard.id
    );
    // SAFETY: a connected, non-blocking socket we own; glommio takes ownership of it.
    let local = unsafe { UnixStream::from_raw_fd(ours.into_raw_fd()) };
    let _ = tls.get_ref().0.set_read_timeout(Some(idle));
    let (tls_rx, tls_tx) = futures_lite::io::split(*tls);
    let (local_rx, local_tx) = futures_lite::io::split(local);
    let ended = futures_lite::future::or(pump(tls_rx, local_tx), pump(local_rx, tls_tx)).await;
    if let Err(e) = ended {
        crate::info!("STREAM {host} [receive from [{ip}]:{}]: TLS relay ended: {e}", peer.port());
    }
}

/// Copies `from` into `to` until end of file, flushing after every chunk (so a TLS
/// record goes out as soon as its bytes arrive), then closes `to`'s write side.
async fn pump<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(mut from: R, mut to: W) -> io::Result<()> {
    let mut buf = vec![0u8; RELAY_CHUNK];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        to.write_all(&buf[..n]).await?;
        to.flush().await?;
    }
    to.close().await
}
