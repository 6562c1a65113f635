//! The sending task of one host: connect to the first destination that works, hand-shake,
//! send the host's metadata, then its queued collections (each chart's definition first),
//! and start over when the link breaks (streaming-protocol.md §5.1, §5.3, §5.4).
//!
//! Owns: the link (one connection at a time) and the per-destination back-off.
//! Invariants: the task never holds a borrow of the host model or of the queue across an
//! await; every network wait is bounded by `timeout seconds`; after a failed attempt it
//! sleeps `reconnect delay seconds` (woken early only to notice that it must stop); an
//! established link that breaks is retried at once unless it lasted less than the
//! reconnect delay; the task stops when no data source is attached and nothing is left to
//! send (a proxied child went away), or when the host no longer exists.
//!
//! Transport: a session runs over a [`Link`], plain TCP or TLS for a `:SSL` destination.
//! The TLS client configuration is built once per sender, only when a destination asks
//! for TLS; when it cannot be built (verification on and no trust anchor anywhere) the
//! TLS destinations are refused, logged once. A failed TLS handshake postpones the
//! destination for 300 s, as Netdata 1.37.1 does.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use glommio::channels::local_channel::{self, LocalReceiver};
use glommio::net::TcpStream;

use crate::hosts::Host;
use crate::shard::unix_now;
use crate::stream::version::capabilities;
use crate::tls::{ClientTls, ClientTlsOptions};

use super::backoff::{Candidate, Destinations};
use super::batch::{self, ChartFilter};
use super::definitions::host_metadata;
use super::destination::{parse_list, Destination};
use super::handshake::{handshake, request_for, within};
use super::transport::{start_tls, Link};
use super::upstream::{HostTap, LinkState, Upstream};

/// Bytes gathered for one write.
const BATCH_BYTES: usize = 64 * 1024;
/// Lines from the parent that are logged per connection (the rest are counted).
const MAX_LOGGED_COMMANDS: u32 = 10;

/// Access to the host model the sender reads definitions and metadata from.
pub trait HostModel {
    /// Runs `f` on the host with this machine GUID; `None` when it does not exist.
    fn with_host<R>(&self, guid: &str, f: impl FnOnce(&mut Host) -> R) -> Option<R>;
}

/// The settings of one sender (`[stream]` plus the per-host proxy values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderSettings {
    pub destination: String,
    pub api_key: String,
    pub send_charts_matching: String,
    pub timeout_secs: u64,
    pub default_port: u16,
    pub buffer_size_bytes: u64,
    pub reconnect_delay_secs: u64,
    pub initial_clock_resync_iterations: u64,
    /// This node's `[global] update every`, announced in the request.
    pub update_every: u32,
    /// For `:SSL` destinations.
    pub tls: ClientTlsOptions,
}

/// Starts the sender of host `guid` on this shard, with its first data source attached
/// (the returned tap; more attach through [`Upstream::attach`]). The source is attached
/// before the task starts: glommio may run a spawned task at once, and a sender without
/// a source stops.
pub fn spawn<M: HostModel + 'static>(
    model: M,
    guid: &str,
    hostname: &str,
    settings: SenderSettings,
) -> (Rc<Upstream>, HostTap) {
    let (tx, rx) = local_channel::new_bounded(1);
    let buffer = usize::try_from(settings.buffer_size_bytes).unwrap_or(usize::MAX);
    let up = Rc::new(Upstream::new(guid.to_string(), hostname.to_string(), buffer, tx));
    let tap = up.attach();
    crate::info!("STREAM {hostname} [send]: sender created (destination '{}').", settings.destination);
    glommio::spawn_local(run(model, up.clone(), rx, settings)).detach();
    (up, tap)
}

/// The usable destinations, and the TLS connector when one of them asks for TLS;
/// refused entries are logged once.
fn destinations(up: &Upstream, s: &SenderSettings) -> (Destinations, Option<futures_rustls::TlsConnector>) {
    let host = up.hostname();
    let mut usable = Vec::new();
    for d in parse_list(&s.destination, s.default_port) {
        match d {
            Ok(d) => usable.push(d),
            Err(e) => crate::error!("STREAM {host}: {e}; skipping it."),
        }
    }
    let mut connector = None;
    if usable.iter().any(|d| d.tls) {
        match ClientTls::build(&s.tls) {
            Ok(t) => {
                for w in &t.warnings {
                    crate::info!("STREAM {host}: TLS: {w}; using the other trusted certificates.");
                }
                connector = Some(t.connector());
            }
            Err(e) => {
                for d in usable.iter().filter(|d| d.tls) {
                    crate::error!("STREAM {host}: destination '{}' asks for TLS (:SSL), but {e}; skipping it.", d.text);
                }
                usable.retain(|d| !d.tls);
            }
        }
    }
    (Destinations::new(usable), connector)
}

/// Opens a TCP connection to the first address of `dest` that accepts.
async fn connect_tcp(dest: &Destination, timeout: Duration) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = match dest.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, dest.port)],
        Err(_) => {
            let target = dest.host_port();
            glommio::executor()
                .spawn_blocking(move || target.to_socket_addrs().map(Iterator::collect::<Vec<_>>))
                .await?
        }
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
    for a in addrs {
        match TcpStream::connect_timeout(a, timeout).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e.into(),
        }
    }
    Err(last)
}

fn should_stop(up: &Upstream) -> bool {
    up.sources() == 0 && (up.state() != LinkState::Up || up.with_queue(|q| q.is_empty()))
}

/// Sleeps `d`, waking on the doorbell only to report drops and notice a stop. `true`
/// when the sender must stop.
async fn pause(up: &Upstream, bell: &LocalReceiver<()>, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    loop {
        if should_stop(up) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = within(left, bell.recv()).await;
        up.report_drops(unix_now(), false);
    }
}

/// How a session ended.
enum End {
    /// The link broke; connect again.
    Reconnect(String),
    /// Nothing more to do for this host.
    Stop(String),
}

async fn run<M: HostModel>(model: M, up: Rc<Upstream>, bell: LocalReceiver<()>, s: SenderSettings) {
    let guid = up.guid().to_string();
    let (mut dests, connector) = destinations(&up, &s);
    if dests.is_empty() {
        crate::error!(
            "STREAM {} [send]: no usable destination in '{}'; this host is not streamed.",
            up.hostname(),
            s.destination
        );
    }
    let timeout = Duration::from_secs(s.timeout_secs.max(1));
    let delay = Duration::from_secs(s.reconnect_delay_secs);
    let mut filter = ChartFilter::new(&s.send_charts_matching);
    while !dests.is_empty() && !should_stop(&up) {
        let request = model.with_host(&guid, |h| {
            up.set_hostname(&h.info.hostname);
            request_for(h, &s.api_key, s.update_every)
        });
        let Some(request) = request else { break };
        let host = up.hostname();
        let mut link = None;
        for c in dests.plan(unix_now()) {
            let i = match c {
                Candidate::Skip(i, left) => {
                    if let Some(e) = dests.get(i) {
                        let f = e.last_failure;
                        crate::info!(
                            "STREAM {host}: skipping destination '{}' (default port: {}) due to last error (code: {}, {}), will retry it in {left} seconds",
                            e.dest.text,
                            s.default_port,
                            f.map_or(0, |f| f.code()),
                            f.map_or("unset reason description", |f| f.reason())
                        );
                    }
                    continue;
                }
                Candidate::Try(i) => i,
            };
            let Some(dest) = dests.get(i).map(|e| e.dest.clone()) else { continue };
            crate::info!(
                "STREAM {host}: attempting to connect to '{}' (default port: {})...",
                dest.text,
                s.default_port
            );
            let tcp = match connect_tcp(&dest, timeout).await {
                Ok(t) => t,
                Err(e) => {
                    crate::error!("STREAM {host}: failed to connect to '{}': {e}", dest.text);
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            crate::info!("STREAM {host} [send to {}]: initializing communication...", dest.text);
            let mut stream = match (&connector, dest.tls) {
                (Some(c), true) => match start_tls(c, &dest, tcp, timeout).await {
                    Ok(link) => link,
                    Err(f) => {
                        crate::error!("STREAM {host} [send to {}]: {}", dest.text, f.message);
                        dests.failed(i, f.failure, unix_now());
                        continue;
                    }
                },
                (_, false) => Link::Plain(tcp),
                // `destinations` keeps no TLS destination without a connector.
                (None, true) => continue,
            };
            crate::info!("STREAM {host} [send to {}]: waiting response from remote netdata...", dest.text);
            match handshake(&mut stream, &request, timeout).await {
                Ok(version) => {
                    dests.succeeded(i);
                    link = Some((stream, dest, version));
                    break;
                }
                Err(f) => {
                    crate::error!("STREAM {host} [send to {}]: {}.", dest.text, f.reason());
                    dests.failed(i, f, unix_now());
                }
            }
        }
        let Some((stream, dest, version)) = link else {
            crate::error!("STREAM {host} [send to {}]: could not connect to parent node at this time.", s.destination);
            // Sleep the reconnect delay, or until the first postponed destination is due.
            let due = Duration::from_secs(u64::try_from(dests.wait_secs(unix_now())).unwrap_or(0));
            if pause(&up, &bell, delay.max(due).max(Duration::from_secs(1))).await {
                break;
            }
            continue;
        };
        if stream.is_tls() {
            crate::info!("STREAM {host} [send to {}]: the link is encrypted (TLS).", dest.text);
        }
        let started = Instant::now();
        let end = session(stream, &model, &up, &bell, &dest.text, version, &s, &mut filter, timeout).await;
        let prefix = up.log_prefix();
        up.set_down();
        up.report_drops(unix_now(), true);
        match end {
            End::Stop(reason) => {
                crate::info!("{prefix}: {reason}; closing the connection.");
                break;
            }
            End::Reconnect(reason) => crate::error!("{prefix}: {reason}."),
        }
        if started.elapsed() < delay && pause(&up, &bell, delay).await {
            break;
        }
    }
    up.stop();
    crate::info!("STREAM {} [send]: sending thread now exits.", up.hostname());
}

/// Reads whatever the parent sends (nothing is expected at the versions we speak): logs
/// it, and reports the end of the connection through `closed` and the doorbell.
async fn read_parent<R: AsyncRead + Unpin>(mut rd: R, up: Rc<Upstream>, closed: Rc<RefCell<Option<String>>>) {
    let mut buf = vec![0u8; 16384];
    let mut logged = 0u32;
    let reason = loop {
        match rd.read(&mut buf).await {
            Ok(0) => break "connection closed by far end".to_string(),
            Ok(n) => {
                for line in buf[..n].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    if logged < MAX_LOGGED_COMMANDS {
                        logged += 1;
                        crate::error!(
                            "{}: received unknown command over connection: {}",
                            up.log_prefix(),
                            String::from_utf8_lossy(line)
                        );
                    }
                }
            }
            Err(e) => break format!("error during receive ({e}) - closing connection"),
        }
    };
    *closed.borrow_mut() = Some(reason);
    up.ring();
}

/// One established link, until it breaks or the sender has nothing left to do.
#[allow(clippy::too_many_arguments)]
async fn session<S, M>(
    stream: S,
    model: &M,
    up: &Rc<Upstream>,
    bell: &LocalReceiver<()>,
    dest: &str,
    version: u32,
    s: &SenderSettings,
    filter: &mut ChartFilter,
    timeout: Duration,
) -> End
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    M: HostModel,
{
    let (rd, mut wr) = futures_lite::io::split(stream);
    let closed = Rc::new(RefCell::new(None));
    let _reader = glommio::spawn_local(read_parent(rd, up.clone(), closed.clone()));
    up.set_up(dest);
    let prefix = up.log_prefix();
    crate::info!("{prefix}: established link with negotiated capabilities: {}", capabilities(version));
    crate::info!("{prefix}: enabling metrics streaming...");
    let mut session = batch::Session::new(version, s.initial_clock_resync_iterations);
    let mut out = Vec::with_capacity(BATCH_BYTES + 4096);
    let mut meta = true;
    let (mut sent, mut attempts) = (0u64, 0u64);
    up.take_meta();
    loop {
        if let Some(reason) = closed.borrow_mut().take() {
            return End::Reconnect(reason);
        }
        out.clear();
        let filled = model.with_host(up.guid(), |h| {
            if meta {
                host_metadata(&mut out, h, version);
            }
            up.with_queue(|q| batch::fill(&mut out, h, q, &mut session, filter, BATCH_BYTES))
        });
        let Some(filled) = filled else { return End::Stop("the host no longer exists".into()) };
        meta = false;
        if out.is_empty() {
            if up.sources() == 0 {
                return End::Stop("the host's data source is gone and everything was sent".into());
            }
            let _ = bell.recv().await;
            up.report_drops(unix_now(), false);
            meta = up.take_meta();
            continue;
        }
        attempts += 1;
        let wrote = within(timeout, async {
            wr.write_all(&out).await?;
            wr.flush().await
        })
        .await;
        match wrote {
            Some(Ok(())) => {
                sent += out.len() as u64;
                up.update_stats(|st| {
                    st.bytes_sent += out.len() as u64;
                    st.blocks_sent += filled.blocks;
                    st.definitions_sent += filled.definitions;
                });
                if filled.blocks > 0 {
                    up.resumed();
                }
            }
            failed => {
                up.with_queue(|q| q.count_lost(filled.blocks, out.len()));
                return End::Reconnect(match failed {
                    Some(Err(e)) => format!(
                        "failed to send metrics - closing connection - we have sent {sent} bytes on this connection ({e})"
                    ),
                    _ => format!(
                        "could not send metrics for {} seconds - closing connection - we have sent {sent} bytes on this connection via {attempts} send attempts",
                        timeout.as_secs()
                    ),
                });
            }
        }
        // Let the receivers and other senders of this shard run between batches.
        glommio::yield_if_needed().await;
    }
}
