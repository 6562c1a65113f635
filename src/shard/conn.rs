//! One accepted connection, until it is known what it is: on a TLS-enabled server the
//! first byte tells a TLS ClientHello from plain text (both may share a port); then the
//! first bytes decide between a STREAM handshake (parsed, admitted, then handed to the
//! shard that owns the host) and HTTP (served here, keep-alive, API requests routed to the
//! owning shard). The port's `^SSL=` policy is applied to plain requests
//! (`tls::policy::decide`): plain HTTP redirected to HTTPS, plain streams refused on a
//! forced port. Every HTTP request is one sample of the shard's API latency histogram,
//! from the request parsed to its response written.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use strata_storage::dbengine::EngineStats;

use crate::config::SslMode;
use crate::pattern::SimplePattern;
use crate::stream::request::{self, Sniff};
use crate::stream::version;
use crate::tls::{self, Decision, RequestKind};
use crate::web::{self, ApiContext, ApiRequest, Response, Target};

use super::admission::{self, Rejection};
use super::messages::{Msg, Transport};
use super::state::{Reply, Shard};
use super::transport::Conn;
use super::{client_ip, receiver, tls_relay, unix_now};

/// Largest HTTP request head we buffer.
const MAX_HTTP_HEAD: usize = 16384;

/// Reads more bytes into `buf`; `Ok(false)` when the peer closed.
async fn read_more(stream: &mut Conn, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut tmp = [0u8; 8192];
    let n = stream.read(&mut tmp).await?;
    buf.extend_from_slice(&tmp[..n]);
    Ok(n > 0)
}

fn connection_allowed(shard: &Shard, ip: &str, peer: &SocketAddr) -> bool {
    match SimplePattern::new(&shard.config.web.allow_connections_from) {
        None => true,
        Some(p) => p.matches(ip.as_bytes()) || (peer.ip().is_loopback() && p.matches(b"localhost")),
    }
}

/// Serves one accepted connection on a port with TLS policy `ssl`.
pub async fn serve(shard: Rc<Shard>, stream: TcpStream, ssl: SslMode) {
    let Ok(peer) = stream.peer_addr() else { return };
    let ip = client_ip(&peer);
    if !connection_allowed(&shard, &ip, &peer) {
        crate::error!("connection from '[{ip}]:{}' is not allowed by [web] allow connections from", peer.port());
        return;
    }
    let _ = stream.set_nodelay(true);
    let first = Duration::from_secs(shard.config.web.timeout_for_first_request_secs.max(1));
    let _ = stream.set_read_timeout(Some(first));
    let Some(mut conn) = open(&shard, stream, &peer, &ip, first).await else { return };
    let mut buf = Vec::with_capacity(4096);
    loop {
        match request::sniff(&buf) {
            Sniff::Stream => return serve_stream(shard, conn, peer, ip, buf, ssl).await,
            Sniff::Other => return serve_http(shard, conn, peer, ip, buf, ssl).await,
            Sniff::NeedMore => match read_more(&mut conn, &mut buf).await {
                Ok(true) => {}
                _ => return,
            },
        }
    }
}

/// Plain, or — when TLS is configured and the first byte starts a TLS handshake — the
/// TLS session after its handshake. `None`: the peer left or the handshake failed.
async fn open(shard: &Shard, stream: TcpStream, peer: &SocketAddr, ip: &str, first: Duration) -> Option<Conn> {
    let Some(config) = &shard.tls else { return Some(Conn::Plain(stream)) };
    let mut byte = [0u8; 1];
    // `peek` does not honour the socket's read timeout.
    match glommio::timer::timeout(first, stream.peek(&mut byte)).await {
        Ok(1) => {}
        _ => return None,
    }
    if !tls::looks_like_tls(byte[0]) {
        return Some(Conn::Plain(stream));
    }
    match futures_rustls::TlsAcceptor::from(config.clone()).accept(stream).await {
        Ok(session) => Some(Conn::Tls(Box::new(session))),
        Err(e) => {
            crate::error!("TLS handshake with '[{ip}]:{}' failed: {e}", peer.port());
            None
        }
    }
}

fn bad_request(text: &str) -> Response {
    Response {
        status: 400,
        content_type: "text/plain; charset=utf-8",
        body: text.as_bytes().to_vec(),
        cacheable: false,
        headers: Vec::new(),
    }
}

/// `301 Moved Permanently` to the same URL over HTTPS, on the host the client asked for.
fn redirect_to_https(req: &ApiRequest, local: Option<SocketAddr>) -> Response {
    let host = req.host_header.clone().filter(|h| !h.is_empty()).or_else(|| local.map(|a| a.to_string()));
    let location = format!("https://{}{}", host.unwrap_or_default(), req.url);
    let body = format!(
        "<!DOCTYPE html><html><body>This server requires an encrypted connection: \
         <a href=\"{0}\">{0}</a></body></html>",
        location.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;")
    );
    Response {
        status: 301,
        content_type: web::content_type::HTML,
        body: body.into_bytes(),
        cacheable: false,
        headers: vec![("Location".into(), location)],
    }
}

/// Writes a rejection (raw reason text, REC-4), logs it, and closes.
pub async fn reject(
    stream: &mut Conn,
    peer: &SocketAddr,
    ip: &str,
    req: &request::StreamRequest,
    shard: &Shard,
    rej: &Rejection,
) {
    let dash = |o: &Option<String>| o.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into());
    let host = dash(&req.hostname);
    crate::access!(
        "STREAM: {} '[{ip}]:{}' '{}' host '{host}' api key '{}' machine guid '{}'",
        shard.id,
        peer.port(),
        rej.status,
        dash(&req.key),
        dash(&req.machine_guid)
    );
    crate::error!("STREAM {host} [receive from [{ip}]:{}]: {}", peer.port(), rej.message);
    let _ = stream.write_all(rej.reply).await;
    let _ = stream.flush().await;
    let _ = stream.close().await;
}

async fn serve_stream(
    shard: Rc<Shard>,
    mut stream: Conn,
    peer: SocketAddr,
    ip: String,
    mut buf: Vec<u8>,
    ssl: SslMode,
) {
    let end = loop {
        if let Some(end) = request::head_end(&buf) {
            break end;
        }
        if buf.len() >= request::MAX_REQUEST {
            crate::error!("STREAM [receive from [{ip}]:{}]: request is too big", peer.port());
            let _ =
                stream.write_all(&bad_request("Received request is too big.").to_http(false, None, unix_now())).await;
            return;
        }
        match read_more(&mut stream, &mut buf).await {
            Ok(true) => {}
            _ => return,
        }
    };
    let parsed = request::parse_stream_request(&buf[..end]);
    // W2: the port's TLS policy, before anything else looks at the request.
    let decision = tls::decide(ssl, shard.tls.is_some(), stream.is_encrypted(), RequestKind::Stream);
    if decision == Decision::RefusePlainStream {
        let host = parsed.as_ref().ok().and_then(|r| r.hostname.clone()).unwrap_or_else(|| "not available".into());
        crate::error!(
            "STREAM {host} [receive from [{ip}]:{}]: server requires encrypted connections; enable SSL on child '{host}'",
            peer.port()
        );
        let resp = bad_request(web::BAD_REQUEST);
        let _ = stream.write_all(&resp.to_http(false, None, unix_now())).await;
        let _ = stream.flush().await;
        return;
    }
    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            crate::error!("STREAM [receive from [{ip}]:{}]: {e}", peer.port());
            let resp = bad_request("URL not valid. I don't understand you...");
            let _ = stream.write_all(&resp.to_http(false, None, unix_now())).await;
            return;
        }
    };
    let host = req.hostname.clone().unwrap_or_else(|| "-".into());
    crate::info!(
        "STREAM {host} [receive from [{ip}]:{}]: new client wants to stream{}",
        peer.port(),
        if stream.is_encrypted() { " (TLS)" } else { "" }
    );
    for (k, v) in &req.unused {
        crate::info!(
            "STREAM {host} [receive from [{ip}]:{}]: request has parameter '{k}' = '{v}', which is not used.",
            peer.port()
        );
    }
    let admitted = match admission::admit(&shard.config, &req, &ip) {
        Ok(a) => a,
        Err(rej) => return reject(&mut stream, &peer, &ip, &req, &shard, &rej).await,
    };
    // S11: the rate limit is global state, owned by shard 0.
    if shard.config.web.accept_streaming_every_secs > 0 {
        let wait = if shard.id == 0 {
            shard.rate_check(unix_now())
        } else {
            match shard.ask(0, |id| Msg::RateAsk { id, from: shard.id }).await {
                Some(Reply::Rate(w)) => w,
                _ => None,
            }
        };
        if let Some(secs) = wait {
            let rej = Rejection {
                status: "RATE LIMIT TRY LATER",
                message: format!(
                    "too busy to accept a new streaming request; it will be allowed in {secs} secs (accept a streaming request every seconds = {})",
                    shard.config.web.accept_streaming_every_secs
                ),
                reply: version::TOO_BUSY,
            };
            return reject(&mut stream, &peer, &ip, &req, &shard, &rej).await;
        }
    }
    let early = buf[end..].to_vec();
    let owner = shard.owner(&admitted.machine_guid);
    if owner == shard.id {
        receiver::run(shard, stream, peer, req, admitted, early).await;
        return;
    }
    match stream {
        Conn::Plain(tcp) => {
            // Hand the socket to its owner: a dup of the fd travels in the message, the
            // original closes with `tcp`.
            // SAFETY: dup (close-on-exec) of a valid, open socket fd; the new fd is owned
            // by the message.
            let fd = unsafe { libc::fcntl(tcp.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
            drop(tcp);
            if fd < 0 {
                crate::error!("STREAM {host} [receive from [{ip}]:{}]: FAILED - SOCKET ERROR (dup)", peer.port());
                return;
            }
            let msg = Msg::Stream { fd, peer, request: Box::new(req), admitted, early, transport: Transport::Tcp };
            shard.send(owner, msg).await;
        }
        Conn::Tls(session) => {
            let idle = receiver::IDLE_TIMEOUT;
            tls_relay::hand_off(&shard, session, owner, peer, &ip, req, admitted, early, idle).await;
        }
        Conn::Relay { .. } => {
            crate::error!(
                "STREAM {host} [receive from [{ip}]:{}]: a relayed stream cannot be handed over",
                peer.port()
            );
        }
    }
}

async fn serve_http(shard: Rc<Shard>, mut stream: Conn, peer: SocketAddr, ip: String, mut buf: Vec<u8>, ssl: SslMode) {
    let idle = Duration::from_secs(shard.config.web.disconnect_idle_clients_after_secs.max(1));
    let redirect =
        tls::decide(ssl, shard.tls.is_some(), stream.is_encrypted(), RequestKind::Http) == Decision::RedirectToHttps;
    loop {
        match web::parse_request(&buf, &ip) {
            Ok(Some((req, len))) => {
                let started = Instant::now();
                let keep = req.keep_alive && !redirect;
                let resp = if redirect {
                    let local = match &stream {
                        Conn::Plain(s) => s.local_addr().ok(),
                        _ => None,
                    };
                    redirect_to_https(&req, local)
                } else {
                    route(&shard, &req).await
                };
                let prep = started.elapsed();
                let bytes = resp.to_http(keep, req.origin.as_deref(), unix_now());
                let ok = stream.write_all(&bytes).await.is_ok() && stream.flush().await.is_ok();
                let total = started.elapsed();
                shard.latency.record(crate::latency::Kind::Api, total);
                crate::access!(
                    "{}: {} '[{ip}]:{}' '{}' (sent/all = {}/{} bytes -0%, prep/sent/total = {:.2}/{:.2}/{:.2} ms) {} '{}'",
                    shard.id,
                    shard.id,
                    peer.port(),
                    if req.method == "OPTIONS" { "OPTIONS" } else { "DATA" },
                    resp.body.len(),
                    resp.body.len(),
                    prep.as_secs_f64() * 1000.0,
                    (total - prep).as_secs_f64() * 1000.0,
                    total.as_secs_f64() * 1000.0,
                    resp.status,
                    req.url.replace(|c: char| c.is_control(), " ")
                );
                buf.drain(..len);
                if !ok || !keep {
                    let _ = stream.close().await;
                    return;
                }
                let _ = stream.set_read_timeout(Some(idle));
            }
            Ok(None) => {
                if buf.len() > MAX_HTTP_HEAD {
                    let _ = stream
                        .write_all(&bad_request("Received request is too big.").to_http(false, None, unix_now()))
                        .await;
                    let _ = stream.close().await;
                    return;
                }
                match read_more(&mut stream, &mut buf).await {
                    Ok(true) => {}
                    _ => return,
                }
            }
            Err(resp) => {
                let _ = stream.write_all(&resp.to_http(false, None, unix_now())).await;
                let _ = stream.close().await;
                return;
            }
        }
    }
}

/// Routes an API request to the shard that owns its host and returns the answer.
pub async fn route(shard: &Rc<Shard>, req: &ApiRequest) -> Response {
    if web::is_latency_stats(req) {
        return web::latency::render(&super::latency::report(shard).await);
    }
    if web::is_dbengine_stats(req) {
        let shards: Vec<web::dbengine::ShardEngine> = super::dbengine::gather(shard)
            .await
            .into_iter()
            .map(|(id, settings, stats)| web::dbengine::ShardEngine {
                shard: id,
                dir: settings.dir.display().to_string(),
                disk_quota_bytes: settings.disk_quota_bytes,
                stats,
            })
            .collect();
        return web::dbengine::render(&shards);
    }
    let guid = match web::target_of(req) {
        Target::Done(resp) => return resp,
        Target::Local => shard.local_guid.clone(),
        Target::Host(name) => {
            let hosts = shard.directory.borrow().list();
            match web::find_host(&hosts, &name) {
                Some(h) => h.guid.clone(),
                None => return web::host_not_found(&name),
            }
        }
    };
    if web::is_prometheus_all_hosts(req) {
        return prometheus_all_hosts(shard, req).await;
    }
    let owner = shard.owner(&guid);
    if owner == shard.id {
        return serve_local(shard, req, &guid).await;
    }
    let from = shard.id;
    let request = Box::new(req.clone());
    match shard.ask(owner, |id| Msg::Api { id, from, request, machine_guid: guid.clone() }).await {
        Some(Reply::Api(resp)) => *resp,
        _ => web::host_not_found(&guid),
    }
}

/// `format=prometheus_all_hosts`: every shard renders its hosts, this one joins them.
async fn prometheus_all_hosts(shard: &Rc<Shard>, req: &ApiRequest) -> Response {
    let mut parts = Vec::new();
    for to in 0..shard.shards {
        if to == shard.id {
            parts.extend(prometheus_part(shard, req));
            continue;
        }
        let (from, request) = (shard.id, Box::new(req.clone()));
        match shard.ask(to, |id| Msg::PrometheusPart { id, from, request }).await {
            Some(Reply::Parts(p)) => parts.extend(p),
            _ => crate::error!("shard {to} did not answer a prometheus_all_hosts request"),
        }
    }
    let hosts = shard.directory.borrow().list();
    web::allmetrics::prometheus_all_hosts(&hosts, parts)
}

/// This shard's hosts (those with a database) for `prometheus_all_hosts`.
pub fn prometheus_part(shard: &Shard, req: &ApiRequest) -> Vec<(String, String)> {
    let hosts = shard.directory.borrow().list();
    let registry = shard.registry.borrow();
    let ctx = ApiContext { hosts: &hosts, now: unix_now(), version: super::VERSION, dbengine: None };
    let served = registry.iter().map(|(_, h)| h).filter(|h| h.memory_mode != crate::hosts::MemoryMode::None);
    web::allmetrics::prometheus_all_hosts_part(served, &ctx, req)
}

/// Serves an API request for a host of this shard: first brings the stored blocks the
/// request reads into the page cache (and pins them), then answers synchronously.
pub async fn serve_local(shard: &Shard, req: &ApiRequest, guid: &str) -> Response {
    let spans = {
        let registry = shard.registry.borrow();
        registry.by_guid(guid).map(|host| web::load_spans(req, host)).unwrap_or_default()
    };
    let _pinned = if spans.is_empty() { None } else { Some(shard.engine.load(&spans).await) };
    for failure in _pinned.iter().flat_map(|p| p.failures()) {
        crate::error!("{failure}");
    }
    let dbengine = if web::api_command(req).as_deref() == Some("info") {
        let all = super::dbengine::gather(shard).await;
        Some(EngineStats::sum(all.iter().map(|(_, _, s)| s)))
    } else {
        None
    };
    serve_now(shard, req, guid, dbengine)
}

fn serve_now(shard: &Shard, req: &ApiRequest, guid: &str, dbengine: Option<EngineStats>) -> Response {
    let hosts = shard.directory.borrow().list();
    let registry = shard.registry.borrow();
    match registry.by_guid(guid) {
        Some(host) if host.memory_mode != crate::hosts::MemoryMode::None => {
            let ctx = ApiContext { hosts: &hosts, now: unix_now(), version: super::VERSION, dbengine };
            web::handle(req, host, &ctx)
        }
        _ => web::host_not_found(guid),
    }
}
