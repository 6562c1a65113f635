//! A parent that only answers the STREAM handshake and throws the stream away, to measure
//! the loadgen's own ceiling without a real parent's cost on the same cores:
//!
//! ```sh
//! cargo run --release -p strata-loadgen --example null_parent -- 127.0.0.1:19998 1
//! strata-loadgen --target 127.0.0.1:19998 --children 10000 --charts 50 --dims 10 --probe-children 0
//! ```
//!
//! Arguments: listen address (default 127.0.0.1:19998) and executor threads (default 1).
//! It answers every request with `…version=3` (or less when less was offered), never
//! rejects, and reads until the child closes. Not a parent: nothing is parsed or kept.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};
use strata::stream::request::parse_stream_request;
use strata::stream::version;

async fn serve(mut s: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16384 {
            return;
        }
    }
    let offer = parse_stream_request(&head).map(|r| r.offer).unwrap_or(0);
    if s.write_all(&version::prompt(version::negotiate_with_ceiling(offer, 3))).await.is_err() {
        return;
    }
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:19998").parse()?;
    let threads: usize = args.next().as_deref().unwrap_or("1").parse()?;
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    eprintln!("null parent listening on {}", listener.local_addr()?);
    let mut handles = Vec::new();
    for t in 0..threads.max(1) {
        // SAFETY: dup of a listening socket we own; each executor owns its copy.
        let fd = unsafe { libc::dup(listener.as_raw_fd()) };
        anyhow::ensure!(fd >= 0, "dup: {}", std::io::Error::last_os_error());
        let h = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("null-{t}"))
            .spawn(move || async move {
                // SAFETY: `fd` is a dup of a bound, listening, non-blocking socket we own.
                let l = unsafe { TcpListener::from_raw_fd(fd) };
                while let Ok(s) = l.accept().await {
                    glommio::spawn_local(serve(s)).detach();
                }
            })
            .map_err(|e| anyhow::anyhow!("executor: {e}"))?;
        handles.push(h);
    }
    for h in handles {
        h.join().map_err(|e| anyhow::anyhow!("executor: {e}"))?;
    }
    Ok(())
}
