//! Thread-per-core runtime: one glommio executor pinned per core ("shard").
//!
//! Owns: the listeners and the executors. Invariants: every shard accepts from the same
//! listening sockets (each holds a `dup` of them); a STREAM connection is served by the
//! shard that owns its host (`owner::owner_of`), and any other shard hands it over with
//! the bytes already read (a TLS stream: its decrypted bytes, see `tls_relay`);
//! cross-shard traffic is messages only (`messages::Msg`) — no lock is taken on the
//! ingest path. Each listener carries its `bind to` TLS policy (`^SSL=…`). With
//! `[web] mode = none` there are no listeners at all: the shards run only the
//! collectors, the senders and their timers.

pub mod admission;
pub mod conn;
pub mod dbengine;
pub mod forward;
pub mod idle;
pub mod ingest;
pub mod latency;
pub mod messages;
pub mod orphans;
pub mod owner;
pub mod queues;
pub mod receiver;
pub mod shutdown;
pub mod state;
pub mod tls_relay;
pub mod transport;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use glommio::channels::channel_mesh::{Full, MeshBuilder};
use glommio::net::{TcpListener, TcpStream, UnixStream};
use glommio::{LocalExecutorBuilder, Placement};
use thiserror::Error;

use crate::config::{Config, SslMode, WebMode};
use crate::web::HostSummary;

use messages::{Msg, Transport};
use state::{Reply, Shard};
use transport::Conn;

/// strata's version string, as shown by `/api/v1/info`.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// Errors that stop the runtime from starting.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("[web] bind to gives no address to listen on")]
    NoListener,
    #[error("cannot start shard {shard}: {reason}")]
    Executor { shard: usize, reason: String },
    #[error("cannot set up the clean exit (signals, control sockets): {0}")]
    Shutdown(std::io::Error),
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub fn unix_now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// The client IP as Netdata prints it (IPv4-mapped IPv6 shown as IPv4).
pub fn client_ip(peer: &SocketAddr) -> String {
    match peer {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => a.ip().to_string(),
        },
    }
}

/// The directory entry of a host of this shard (`None` when it no longer exists).
pub fn summary_of(shard: &Shard, guid: &str) -> Option<HostSummary> {
    let reg = shard.registry.borrow();
    let h = reg.by_guid(guid)?;
    Some(HostSummary {
        hostname: h.info.hostname.clone(),
        guid: h.info.machine_guid.clone(),
        reachable: h.is_localhost || h.connected,
        claim_id: h.claim_id.clone(),
        hops: if h.is_localhost { 0 } else { h.info.hops },
        is_localhost: h.is_localhost,
        created_seq: h.created_seq,
    })
}

/// One bound listening socket and the TLS policy of its `bind to` entry.
#[derive(Debug)]
pub struct Listener {
    pub socket: StdListener,
    /// The bound address (the real port when the entry asked for port 0).
    pub addr: SocketAddr,
    pub ssl: SslMode,
}

/// Binds every `[web] bind to` address. Port 0 picks a free port (tests); every port-0
/// entry gets its own socket, other duplicates are bound once (the first entry's policy
/// wins). `[web] mode = none` binds nothing: the node serves no API and accepts no
/// stream (a headless collector: only its collectors and its sender run).
pub fn bind_listeners(config: &Config) -> Result<Vec<Listener>, RuntimeError> {
    let mut out = Vec::new();
    if config.web.mode == WebMode::None {
        return Ok(out);
    }
    let mut addrs: Vec<(SocketAddr, SslMode)> = Vec::new();
    for b in &config.web.bind_to {
        for a in &b.addrs {
            if a.port() == 0 || !addrs.iter().any(|(x, _)| x == a) {
                addrs.push((*a, b.ssl));
            }
        }
    }
    for (addr, ssl) in addrs {
        let err = |source| RuntimeError::Bind { addr: addr.to_string(), source };
        let domain = if addr.is_ipv6() { socket2::Domain::IPV6 } else { socket2::Domain::IPV4 };
        let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP)).map_err(err)?;
        sock.set_reuse_address(true).map_err(err)?;
        if addr.is_ipv6() {
            sock.set_only_v6(true).map_err(err)?;
        }
        sock.bind(&addr.into()).map_err(err)?;
        sock.listen(4096).map_err(err)?;
        sock.set_nonblocking(true).map_err(err)?;
        let socket: StdListener = sock.into();
        let local = socket.local_addr().map_err(err)?;
        out.push(Listener { socket, addr: local, ssl });
    }
    if out.is_empty() {
        return Err(RuntimeError::NoListener);
    }
    Ok(out)
}

/// Whether no host of this node can ever store in the dbengine: nothing is received
/// (`[web] mode = none`) and localhost does not use it. Such a node (a headless
/// collector, or a child with a `ram` database and no web server) opens no datafiles.
pub fn dbengine_unused(config: &Config) -> bool {
    config.web.mode == WebMode::None && config.global.memory_mode != crate::hosts::MemoryMode::DbEngine
}

/// glommio's smallest io_uring buffer area (it rounds anything smaller up to this).
const MIN_IO_MEMORY: usize = 64 << 10;

/// io_uring depth of a shard that receives streams (glommio's default, 128, elsewhere).
/// Every connection keeps a poll request pending, and the kernel finds a request to
/// cancel (glommio cancels one whenever its reactor wakes from a timed sleep) by walking
/// one bucket of a table sized from the ring: at 128 entries 8 buckets, i.e. about 60
/// polls walked per cancel with 500 children on a shard (4 % of a parent's CPU in
/// profiles); at 2048 entries, 128 buckets. Costs about 0.2 MiB of ring memory per ring.
const RECEIVER_RING_DEPTH: usize = 2048;
/// glommio's own default ring depth.
const DEFAULT_RING_DEPTH: usize = 128;

/// Raises the locked-memory limit when allowed (io_uring registers buffers) and returns
/// the io memory each executor may use.
fn io_memory_per_shard(shards: usize) -> usize {
    // SAFETY: plain libc rlimit calls on a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        let want = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
        if libc::setrlimit(libc::RLIMIT_MEMLOCK, &want) != 0 && libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim);
        }
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
            return 10 << 20;
        }
        let per = (lim.rlim_cur as usize) / (2 * shards.max(1));
        per.clamp(256 << 10, 10 << 20)
    }
}

/// Starts `cores` shards on the given listeners and blocks until `SIGTERM` or `SIGINT`
/// has stopped them all (see [`shutdown`]). `tls` is the server configuration when
/// `[web] ssl key` / `ssl certificate` are set.
pub fn run(
    config: Config,
    local_guid: String,
    cores: usize,
    listeners: Vec<Listener>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<(), RuntimeError> {
    let cores = cores.max(1);
    let online = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // The registered io_uring buffers are pinned, hence resident from the start; only the
    // dbengine's O_DIRECT files use them, so a node without datafiles takes the minimum
    // (glommio falls back to ordinary buffers if that is ever exhausted).
    let io_memory = if dbengine_unused(&config) { MIN_IO_MEMORY } else { io_memory_per_shard(cores) };
    let receives = !listeners.is_empty() && config.stream.is_parent();
    let ring_depth = if receives { RECEIVER_RING_DEPTH } else { DEFAULT_RING_DEPTH };
    let config = Arc::new(config);
    let mesh: MeshBuilder<Msg, Full> = MeshBuilder::full(cores, 4096);
    let mut signals = shutdown::StopSignals::register().map_err(RuntimeError::Shutdown)?;
    let (mut controls, control_fds) = shutdown::control_sockets(cores).map_err(RuntimeError::Shutdown)?;
    let mut handles = Vec::new();
    for (id, control) in control_fds.into_iter().enumerate() {
        let fds: Vec<(RawFd, SslMode)> = listeners
            .iter()
            // SAFETY: dup of a listening socket we own; each shard owns its copy. Close-on-
            // exec, so that plugin processes never inherit a listening socket.
            .map(|l| (unsafe { libc::fcntl(l.socket.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) }, l.ssl))
            .filter(|(fd, _)| *fd >= 0)
            .collect();
        let placement = if cores <= online { Placement::Fixed(id) } else { Placement::Unbound };
        let (config, guid, mesh) = (config.clone(), local_guid.clone(), mesh.clone());
        // Each shard gets its own session cache: no lock shared between executors.
        let tls = tls.as_ref().map(|t| {
            let mut own = (**t).clone();
            own.session_storage = rustls::server::ServerSessionMemoryCache::new(256);
            Arc::new(own)
        });
        let h = LocalExecutorBuilder::new(placement)
            .name(&format!("SHARD[{id}]"))
            .io_memory(io_memory)
            .ring_depth(ring_depth)
            .spawn(move || async move { shard_main(id, cores, config, guid, mesh, fds, control, tls).await })
            .map_err(|e| RuntimeError::Executor { shard: id, reason: e.to_string() })?;
        handles.push(h);
    }
    drop(listeners);
    let signal = signals.wait();
    crate::info!("SIGNAL: received {signal}, stopping every shard (receivers closed, files saved) before exiting");
    controls.send_all(shutdown::Control::Stop);
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn shard_main(
    id: usize,
    shards: usize,
    config: Arc<Config>,
    local_guid: String,
    mesh: MeshBuilder<Msg, Full>,
    fds: Vec<(RawFd, SslMode)>,
    control: RawFd,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let (senders, receivers) = if shards > 1 {
        match mesh.join().await {
            Ok((s, r)) => (Some(s), Some(r)),
            Err(_) => {
                crate::error!("shard {id}: cannot join the shard mesh");
                return;
            }
        }
    } else {
        (None, None)
    };
    let engine_settings = dbengine::settings(&config, id, shards);
    let engine = if dbengine_unused(&config) {
        crate::info!(
            "DBENGINE shard {id}: not used (memory mode {} and [web] mode = none: no host of this node stores in the dbengine)",
            config.global.memory_mode.name()
        );
        dbengine::create_in_memory(&engine_settings)
    } else {
        let engine = dbengine::create(&engine_settings).await;
        crate::info!(
            "DBENGINE shard {id}: page cache {} MiB, disk quota {} MiB, directory {}{}",
            engine_settings.cache_bytes / (1024 * 1024),
            engine_settings.disk_quota_bytes / (1024 * 1024),
            engine_settings.dir.display(),
            if engine.has_files() { "" } else { " (no datafiles attached: sealed blocks stay in the page cache)" }
        );
        engine
    };
    dbengine::spawn_tasks(&engine, id);
    let latency = Rc::new(latency::ShardLatency::new(unix_now()));
    latency::observe_flushes(&engine, &latency);
    let shard = Rc::new(Shard::new(id, shards, config.clone(), local_guid.clone(), engine, senders, tls, latency));
    shard.queues.set(queues::Queues::create());
    shard.on_shutdown(shutdown::storage_hook());
    shard.on_shutdown(dbengine::shutdown_hook());
    if let Some(mut r) = receivers {
        // The message loops run in the handshake queue: a stream handed over by another
        // shard is half of all handshakes with two shards, and must not wait behind this
        // shard's ingest (API work they receive is moved to the ingest queue).
        for (_, rx) in r.streams() {
            let s = shard.clone();
            let _ = shard.queues.get().spawn_handshake(async move {
                while let Some(msg) = rx.recv().await {
                    handle_message(&s, msg).await;
                }
            });
        }
    }
    if shard.owner(&local_guid) == id {
        let info = crate::localhost::host_info(&config, &local_guid);
        let mode = config.global.memory_mode;
        let history = config.global.history;
        {
            let mut reg = shard.registry.borrow_mut();
            let acq = reg.get_or_create(info, mode, history, unix_now());
            if let Some(h) = reg.get_mut(acq.id) {
                h.files_dir = mode.has_files().then(|| config.directories.cache.join(&h.info.machine_guid));
                h.is_localhost = true;
                h.created_seq = unix_now_us() as u64;
                h.health =
                    crate::config::HealthSetting::from(config.health.enabled && mode != crate::hosts::MemoryMode::None);
            }
            reg.mark_connected(acq.id, unix_now());
        }
        let summary = summary_of(&shard, &local_guid);
        shard.publish(&local_guid, summary).await;
        crate::collectors::local::start(&shard);
    }
    glommio::spawn_local(orphans::run(shard.clone())).detach();
    glommio::spawn_local(idle::run(shard.clone())).detach();
    latency::spawn_log(shard.clone());
    if id == 0 && config.web.mode == WebMode::None {
        // A node that only collects and sends: keep only its code in use resident.
        let s = shard.clone();
        glommio::spawn_local(crate::resident::keep_releasing(move || s.stopping.get())).detach();
    }
    let mut accepts = Vec::new();
    for (fd, ssl) in fds {
        // SAFETY: `fd` is a dup of a bound, listening, non-blocking socket owned by us.
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        let shard = shard.clone();
        let queues = shard.queues.get();
        let accept = queues.spawn_handshake(async move {
            loop {
                match listener.accept().await {
                    Ok(stream) => {
                        let _ = shard.queues.get().spawn_handshake(conn::serve(shard.clone(), stream, ssl));
                    }
                    Err(e) => {
                        crate::error!("accept() failed: {e}");
                        glommio::timer::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        accepts.extend(accept);
    }
    // SAFETY: `control` is this shard's end of its control socket pair, handed to it.
    unsafe { shutdown::wait_for_stop(control) }.await;
    shutdown::stop_shard(&shard, accepts).await;
    crate::info!("shard {id}: stopped");
}

async fn handle_message(shard: &Rc<Shard>, msg: Msg) {
    match msg {
        Msg::Stream { fd, peer, request, admitted, early, transport } => {
            let conn = match transport {
                // SAFETY: the message owns this dup'ed, connected TCP socket fd.
                Transport::Tcp => Conn::Plain(unsafe { TcpStream::from_raw_fd(fd) }),
                // SAFETY: the message owns this end of a connected socket pair.
                Transport::TlsRelay => Conn::Relay { stream: unsafe { UnixStream::from_raw_fd(fd) }, fd },
            };
            if shard.stopping.get() {
                return; // dropping the stream closes it
            }
            let _ =
                shard.queues.get().spawn_handshake(receiver::run(shard.clone(), conn, peer, *request, admitted, early));
        }
        Msg::Api { id, from, request, machine_guid } => {
            // Serving may wait for disk reads and is ingest-class work: never hold up the
            // message loop, nor run ahead of ingest.
            let shard = shard.clone();
            shard.queues.get().spawn_ingest(async move {
                let response = conn::serve_local(&shard, &request, &machine_guid).await;
                shard.send(from, Msg::ApiReply { id, response: Box::new(response) }).await;
            });
        }
        Msg::ApiReply { id, response } => shard.deliver(id, Reply::Api(response)),
        Msg::PrometheusPart { id, from, request } => {
            let shard = shard.clone();
            shard.queues.get().spawn_ingest(async move {
                let parts = conn::prometheus_part(&shard, &request);
                shard.send(from, Msg::PartsReply { id, parts }).await;
            });
        }
        Msg::PartsReply { id, parts } => shard.deliver(id, Reply::Parts(parts)),
        Msg::Directory { machine_guid, summary } => shard.directory.borrow_mut().upsert(machine_guid, summary),
        Msg::RateAsk { id, from } => {
            let wait = shard.rate_check(unix_now());
            shard.send(from, Msg::RateReply { id, wait_secs: wait }).await;
        }
        Msg::RateReply { id, wait_secs } => shard.deliver(id, Reply::Rate(wait_secs)),
        Msg::EngineStats { id, from } => {
            let stats = Box::new(shard.engine.stats());
            shard.send(from, Msg::EngineStatsReply { id, stats }).await;
        }
        Msg::EngineStatsReply { id, stats } => shard.deliver(id, Reply::EngineStats(stats)),
        Msg::Latency { id, from } => {
            let (since, histograms) = (shard.latency.since(), Box::new(shard.latency.snapshot()));
            shard.send(from, Msg::LatencyReply { id, since, histograms }).await;
        }
        Msg::LatencyReply { id, since, histograms } => shard.deliver(id, Reply::Latency { since, histograms }),
    }
}
