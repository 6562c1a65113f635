//! Thread-per-core runtime: one glommio executor pinned per core ("shard").
//!
//! Owns: the listeners and the executors. Invariants: every shard accepts from the same
//! listening sockets (each holds a `dup` of them); a STREAM connection is served by the
//! shard that owns its host (`owner::owner_of`), and any other shard hands it over with
//! the bytes already read; cross-shard traffic is messages only (`messages::Msg`) — no
//! lock is taken on the ingest path.

pub mod admission;
pub mod conn;
pub mod ingest;
pub mod messages;
pub mod owner;
pub mod receiver;
pub mod state;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use glommio::channels::channel_mesh::{Full, MeshBuilder};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};
use thiserror::Error;

use crate::config::Config;
use crate::hosts::HostRegistry;
use crate::web::HostSummary;

use messages::Msg;
use state::{Directory, Reply, Shard};

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

/// Binds every `[web] bind to` address. Port 0 picks a free port (tests).
pub fn bind_listeners(config: &Config) -> Result<Vec<(StdListener, SocketAddr)>, RuntimeError> {
    let mut out = Vec::new();
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in config.web.bind_to.iter().flat_map(|b| b.addrs.iter()) {
        if !addrs.contains(a) {
            addrs.push(*a);
        }
    }
    for addr in addrs {
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
        let l: StdListener = sock.into();
        let local = l.local_addr().map_err(err)?;
        out.push((l, local));
    }
    if out.is_empty() {
        return Err(RuntimeError::NoListener);
    }
    Ok(out)
}

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

/// Starts `cores` shards on the given listeners and blocks until they end.
pub fn run(
    config: Config,
    local_guid: String,
    cores: usize,
    listeners: Vec<(StdListener, SocketAddr)>,
) -> Result<(), RuntimeError> {
    let cores = cores.max(1);
    let online = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let io_memory = io_memory_per_shard(cores);
    let config = Arc::new(config);
    let mesh: MeshBuilder<Msg, Full> = MeshBuilder::full(cores, 4096);
    let mut handles = Vec::new();
    for id in 0..cores {
        let fds: Vec<RawFd> = listeners
            .iter()
            // SAFETY: dup of a listening socket we own; each shard owns its copy. Close-on-
            // exec, so that plugin processes never inherit a listening socket.
            .map(|(l, _)| unsafe { libc::fcntl(l.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })
            .filter(|fd| *fd >= 0)
            .collect();
        let placement = if cores <= online { Placement::Fixed(id) } else { Placement::Unbound };
        let (config, guid, mesh) = (config.clone(), local_guid.clone(), mesh.clone());
        let h = LocalExecutorBuilder::new(placement)
            .name(&format!("SHARD[{id}]"))
            .io_memory(io_memory)
            .spawn(move || async move { shard_main(id, cores, config, guid, mesh, fds).await })
            .map_err(|e| RuntimeError::Executor { shard: id, reason: e.to_string() })?;
        handles.push(h);
    }
    drop(listeners);
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}

async fn shard_main(
    id: usize,
    shards: usize,
    config: Arc<Config>,
    local_guid: String,
    mesh: MeshBuilder<Msg, Full>,
    fds: Vec<RawFd>,
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
    let shard = Rc::new(Shard {
        id,
        shards,
        config: config.clone(),
        local_guid: local_guid.clone(),
        registry: RefCell::new(HostRegistry::default()),
        directory: RefCell::new(Directory::default()),
        receivers: RefCell::new(HashMap::new()),
        senders,
        pending: RefCell::new(HashMap::new()),
        next_id: Cell::new(0),
        rate_last_accepted: Cell::new(0),
        taps: RefCell::new(ingest::LineTaps::default()),
    });
    if let Some(mut r) = receivers {
        for (_, rx) in r.streams() {
            let shard = shard.clone();
            glommio::spawn_local(async move {
                while let Some(msg) = rx.recv().await {
                    handle_message(&shard, msg).await;
                }
            })
            .detach();
        }
    }
    if shard.owner(&local_guid) == id {
        let info = crate::localhost::host_info(&config, &local_guid);
        let mode = config.global.memory_mode;
        let history = config.global.history;
        {
            let mut reg = shard.registry.borrow_mut();
            let acq = reg.get_or_create(info, mode, history, unix_now());
            reg.mark_connected(acq.id, unix_now());
            if let Some(h) = reg.get_mut(acq.id) {
                h.is_localhost = true;
                h.created_seq = unix_now_us() as u64;
            }
        }
        let summary = summary_of(&shard, &local_guid);
        shard.publish(&local_guid, summary).await;
        crate::collectors::local::start(&shard);
    }
    for fd in fds {
        // SAFETY: `fd` is a dup of a bound, listening, non-blocking socket owned by us.
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        let shard = shard.clone();
        glommio::spawn_local(async move {
            loop {
                match listener.accept().await {
                    Ok(stream) => {
                        glommio::spawn_local(conn::serve(shard.clone(), stream)).detach();
                    }
                    Err(e) => {
                        crate::error!("accept() failed: {e}");
                        glommio::timer::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        })
        .detach();
    }
    futures_lite::future::pending::<()>().await;
}

async fn handle_message(shard: &Rc<Shard>, msg: Msg) {
    match msg {
        Msg::Stream { fd, peer, request, admitted, early } => {
            // SAFETY: the message owns this dup'ed, connected socket fd.
            let stream = unsafe { TcpStream::from_raw_fd(fd) };
            glommio::spawn_local(receiver::run(shard.clone(), stream, peer, *request, admitted, early)).detach();
        }
        Msg::Api { id, from, request, machine_guid } => {
            let response = conn::serve_local(shard, &request, &machine_guid);
            shard.send(from, Msg::ApiReply { id, response: Box::new(response) }).await;
        }
        Msg::ApiReply { id, response } => shard.deliver(id, Reply::Api(response)),
        Msg::PrometheusPart { id, from, request } => {
            let parts = conn::prometheus_part(shard, &request);
            shard.send(from, Msg::PartsReply { id, parts }).await;
        }
        Msg::PartsReply { id, parts } => shard.deliver(id, Reply::Parts(parts)),
        Msg::Directory { machine_guid, summary } => shard.directory.borrow_mut().upsert(machine_guid, summary),
        Msg::RateAsk { id, from } => {
            let wait = shard.rate_check(unix_now());
            shard.send(from, Msg::RateReply { id, wait_secs: wait }).await;
        }
        Msg::RateReply { id, wait_secs } => shard.deliver(id, Reply::Rate(wait_secs)),
    }
}
