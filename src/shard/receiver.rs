//! The receiving side of one streaming connection, on the shard that owns its host:
//! S12 (already connected, the 30-second rule), S13 (our own GUID), host find-or-create,
//! the prompt (in the shard's handshake task queue), then the ingest loop (moved to the
//! ingest queue, see `queues`) — read into the connection's line buffer and apply the
//! complete lines through the shard's one ingest path (`ingest`) — until the child goes
//! away, the idle sweep (`idle`) ends it, or a FATAL protocol error ends the session
//! (logged with the offending line).
//! Before each socket read the receiver waits while the shard's dbengine is over its
//! dirty limit. Each read batch is one sample of the shard's ingest latency histogram:
//! from the read completing to `ingest` returning (one `Instant` pair per batch).

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::config::HealthSetting;
use crate::hosts::apply::ReceiverSession;
use crate::hosts::{HostId, HostInfo, MemoryMode};
use crate::latency::Kind;
use crate::stream::lines::LineBuffer;
use crate::stream::request::StreamRequest;
use crate::stream::version;

use super::admission::{Admitted, Rejection};
use super::conn::reject;
use super::forward;
use super::ingest::{ingest, LineSource, TapId};
use super::state::{ReceiverHandle, Shard};
use super::transport::Conn;
use super::{client_ip, summary_of, unix_now, unix_now_us};

/// A receiver that got no bytes for longer than this is dead and may be replaced.
const STALE_RECEIVER_SECS: i64 = 30;
/// Idle stream timeout (REC-5), enforced by the shard's idle sweep (`idle`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Builds the host identity from the handshake.
fn host_info(req: &StreamRequest, adm: &Admitted, default_update_every: u32) -> HostInfo {
    let s = |o: &Option<String>, d: &str| o.clone().unwrap_or_else(|| d.to_string());
    HostInfo {
        machine_guid: adm.machine_guid.clone(),
        hostname: adm.hostname.clone(),
        registry_hostname: req.registry_hostname.clone().unwrap_or_else(|| adm.hostname.clone()),
        os: s(&req.os, "unknown"),
        timezone: s(&req.timezone, "unknown"),
        abbrev_timezone: s(&req.abbrev_timezone, "UTC"),
        utc_offset: req.utc_offset.unwrap_or(0),
        tags: req.tags.clone(),
        program_name: s(&req.program_name, "unknown"),
        program_version: s(&req.program_version, "unknown"),
        hops: req.hops.unwrap_or(1),
        update_every: req
            .update_every
            .and_then(|u| u32::try_from(u).ok())
            .filter(|u| (1..=600).contains(u))
            .unwrap_or(default_update_every),
        system_info: req.system_info.clone(),
    }
}

/// Runs one receiver to its end.
pub async fn run(
    shard: Rc<Shard>,
    mut stream: Conn,
    peer: SocketAddr,
    req: StreamRequest,
    adm: Admitted,
    early: Vec<u8>,
) {
    let ip = client_ip(&peer);
    let port = peer.port();
    let guid = adm.machine_guid.clone();
    let hostname = adm.hostname.clone();
    let now = unix_now();
    if shard.stopping.get() {
        return; // the shard is stopping: dropping the stream closes it
    }

    // S12: one live receiver per host; a silent one (> 30 s) is replaced.
    let existing = shard.receivers.borrow().get(&guid).cloned();
    if let Some(old) = existing {
        let age = now - old.last_rx.get();
        if age > STALE_RECEIVER_SECS {
            crate::info!(
                "STREAM {hostname} [receive from [{ip}]:{port}]: multiple connections for same host detected - existing connection is dead ({age} sec), accepting new connection."
            );
            // SAFETY: shutting down a socket fd that the old receiver still owns; it
            // wakes that receiver with an error and it cleans up.
            unsafe {
                libc::shutdown(old.fd, libc::SHUT_RDWR);
            }
            shard.receivers.borrow_mut().remove(&guid);
        } else {
            let rej = Rejection {
                status: "REJECTED - ALREADY CONNECTED",
                message: format!(
                    "multiple connections for same host detected - existing connection is active (within last {age} sec), rejecting new connection."
                ),
                reply: version::ALREADY_STREAMING,
            };
            return reject(&mut stream, &peer, &ip, &req, &shard, &rej).await;
        }
    }
    // S13: never receive our own GUID.
    if guid == shard.local_guid {
        let rej = Rejection {
            status: "DENIED - ATTEMPT TO RECEIVE METRICS FROM MACHINE_GUID IDENTICAL TO PARENT",
            message: "denied - attempt to receive metrics from a machine GUID identical to this parent's (copied GUID, or a streaming loop)".into(),
            reply: version::SAME_LOCALHOST,
        };
        return reject(&mut stream, &peer, &ip, &req, &shard, &rej).await;
    }

    let cfg = &shard.config;
    let settings = cfg.stream.host_settings(
        &adm.api_key,
        req.machine_guid.as_deref().unwrap_or_default(),
        &cfg.global,
        &cfg.health,
    );
    let info = host_info(&req, &adm, settings.update_every.unwrap_or(cfg.global.update_every));
    let update_every = info.update_every;
    let (host_id, created, renamed_from, uses_engine) = {
        let mut reg = shard.registry.borrow_mut();
        let acq = reg.get_or_create(info, settings.memory_mode, settings.history, now);
        if let Some(h) = reg.get_mut(acq.id) {
            if acq.created {
                // Creation time orders hosts across shards (API host lists).
                h.created_seq = unix_now_us() as u64;
                if settings.memory_mode.has_files() {
                    h.files_dir = Some(cfg.directories.cache.join(&h.info.machine_guid));
                }
            }
            h.health = settings.health;
        }
        reg.mark_connected(acq.id, now);
        let uses_engine = reg.get(acq.id).is_some_and(|h| h.memory_mode == MemoryMode::DbEngine);
        (acq.id, acq.created, acq.renamed_from, uses_engine)
    };
    if let Some(old) = renamed_from {
        crate::info!("STREAM {hostname} [receive from [{ip}]:{port}]: host '{old}' renamed to '{hostname}' (possible duplicate machine GUIDs)");
    }

    // The prompt: exactly its bytes, one write, nothing after it (REC-3, REC-10).
    let version = version::negotiate(req.offer);
    let prompt = version::prompt(version);
    let wrote = glommio::timer::timeout(Duration::from_secs(60), async {
        stream.write_all(&prompt).await?;
        stream.flush().await?;
        Ok(())
    })
    .await;
    if wrote.is_err() {
        crate::access!(
            "STREAM: {} '[{ip}]:{port}' 'FAILED - CANNOT REPLY' host '{hostname}' api key '{}' machine guid '{guid}'",
            shard.id,
            adm.api_key
        );
        shard.registry.borrow_mut().mark_disconnected(host_id, now);
        return;
    }
    crate::access!(
        "STREAM: {} '[{ip}]:{port}' 'CONNECTED' host '{hostname}' api key '{}' machine guid '{guid}'",
        shard.id,
        adm.api_key
    );
    crate::info!(
        "STREAM {hostname} [receive from [{ip}]:{port}]: client '{}' {} (offered {}), negotiated capabilities: {}; {} host, receiving metrics...",
        req.program_version.as_deref().unwrap_or("unknown"),
        if version >= 2 { format!("uses stream version {version}") } else { "uses the first stream protocol".into() },
        req.offer,
        version::capabilities(version),
        if created { "new" } else { "existing" },
    );

    let generation = shard.new_id();
    let last_rx = Rc::new(Cell::new(now));
    let timed_out = Rc::new(Cell::new(false));
    shard.receivers.borrow_mut().insert(
        guid.clone(),
        ReceiverHandle { last_rx: last_rx.clone(), fd: stream.raw_fd(), generation, timed_out: timed_out.clone() },
    );
    let summary = summary_of(&shard, &guid);
    shard.publish(&guid, summary).await;
    if settings.health != HealthSetting::No && settings.postpone_alarms_secs > 0 {
        crate::info!(
            "[{hostname}]: Postponing health checks for {} seconds, because it was just connected.",
            settings.postpone_alarms_secs
        );
    }
    // A proxy forwards the host upstream under its own identity (spec §7).
    let proxy = cfg.stream.proxy_settings(&adm.api_key, req.machine_guid.as_deref().unwrap_or_default());
    let tap = forward::proxy_tap(&shard, &guid, &hostname, &proxy).map(|t| forward::register(&shard, &guid, t));

    // The prompt is out: the read-and-apply loop runs in the shard's ingest queue, so
    // that connections still in their handshake are served first (`queues`).
    let session = ReceiverSession::new(version, format!("{ip}:{port}"), update_every);
    let receiving = Receiving {
        source: LineSource::with_buffer("receiver", session, LineBuffer::with_initial(&early), true),
        log_prefix: format!("STREAM {hostname} [receive from [{ip}]:{port}]"),
        shard: shard.clone(),
        stream,
        host_id,
        guid,
        hostname,
        ip,
        port,
        api_key: adm.api_key,
        uses_engine,
        last_rx,
        timed_out,
        generation,
        tap,
    };
    let _ = shard.queues.get().run_as_ingest(receive(receiving)).await;
}

/// A receiver past its prompt: what its read-and-apply loop and its end need.
struct Receiving {
    shard: Rc<Shard>,
    stream: Conn,
    source: LineSource,
    log_prefix: String,
    host_id: HostId,
    guid: String,
    hostname: String,
    ip: String,
    port: u16,
    api_key: String,
    uses_engine: bool,
    /// Shared with the receiver's handle: the last bytes' time, and the idle sweep's mark.
    last_rx: Rc<Cell<i64>>,
    timed_out: Rc<Cell<bool>>,
    generation: u64,
    tap: Option<TapId>,
}

/// Reads and applies until the child goes away, the idle sweep ends the stream, or a
/// FATAL line; then closes the stream, logs and detaches the host.
async fn receive(r: Receiving) {
    let Receiving {
        shard,
        mut stream,
        mut source,
        log_prefix,
        host_id,
        guid,
        hostname,
        ip,
        port,
        api_key,
        uses_engine,
        last_rx,
        timed_out,
        generation,
        tap,
    } = r;
    let mut claim = None;
    // When the last socket read completed: its batch's ingest latency ends when `ingest`
    // returns (the bytes that came with the handshake were not read here: not measured).
    let mut read_done: Option<Instant> = None;
    let reason: String = loop {
        // Apply every complete line in the buffer (no await while the host is borrowed).
        let applied = ingest(&shard, host_id, &guid, &mut source, &log_prefix);
        if let Some(t) = read_done.take() {
            shard.latency.record(Kind::Ingest, t.elapsed());
        }
        if let Err(e) = applied {
            break e.to_string();
        }
        // Compared in place: the claim id is copied only when it changed.
        let changed = {
            let reg = shard.registry.borrow();
            let current = reg.get(host_id).and_then(|h| h.claim_id.as_deref());
            (current != claim.as_deref()).then(|| current.map(str::to_owned))
        };
        if let Some(claim_now) = changed {
            claim = claim_now;
            let summary = summary_of(&shard, &guid);
            shard.publish(&guid, summary).await;
        }
        // Back-pressure: while the engine's dirty blocks exceed the page cache, stop
        // reading (TCP flow control slows the child down) instead of dropping data.
        if uses_engine {
            super::dbengine::wait_for_room(&shard.engine).await;
        }
        match stream.read(source.lines.spare_mut()).await {
            Ok(0) if shard.stopping.get() => break "strata is shutting down".into(),
            _ if timed_out.get() => {
                break format!("socket timeout: nothing received for {} seconds", IDLE_TIMEOUT.as_secs())
            }
            Ok(0) => break "connection closed by the child".into(),
            Ok(n) => {
                read_done = Some(Instant::now());
                source.lines.advance(n);
                last_rx.set(unix_now());
            }
            Err(_) if shard.stopping.get() => break "strata is shutting down".into(),
            Err(e) => break format!("socket error: {e}"),
        }
    };

    if let Some(t) = tap {
        // Dropping the tap: an unfinished collection is not forwarded; the sender drains.
        shard.taps.borrow_mut().remove(t);
    }
    // A TLS child gets a close_notify; a plain one a FIN.
    let _ = glommio::timer::timeout(Duration::from_secs(5), async { stream.close().await.map_err(Into::into) }).await;
    let now = unix_now();
    crate::error!(
        "STREAM {hostname} [receive from [{ip}]:{port}]: disconnected (completed {} updates): {reason}",
        source.session.completed_updates
    );
    crate::access!(
        "STREAM: {} '[{ip}]:{port}' 'DISCONNECTED' host '{hostname}' api key '{api_key}' machine guid '{guid}'",
        shard.id
    );
    // Only the host's current receiver detaches it (a newer one may have replaced us).
    let current = shard.receivers.borrow().get(&guid).map(|h| h.generation) == Some(generation);
    if current {
        shard.receivers.borrow_mut().remove(&guid);
        shard.registry.borrow_mut().mark_disconnected(host_id, now);
        let summary = summary_of(&shard, &guid);
        shard.publish(&guid, summary).await;
    }
}
