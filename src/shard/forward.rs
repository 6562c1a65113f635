//! Upstream forwarding on a shard: the senders of the hosts this shard owns.
//!
//! Owns: `Shard::upstreams` (machine GUID → the host's [`Upstream`]) and the entry points
//! data sources use to feed them: [`proxy_tap`] for a receiver (a host received from a
//! child, `proxy enabled` in stream.conf) and [`localhost_tap`] for this node's own host
//! (`[stream] enabled = yes`; the collectors feed it). Invariants: at most one live
//! sender per host; a stopped sender is replaced on the next attach; a sender is started
//! lazily, when its first data source attaches (Netdata starts it on the first
//! collection).

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::ProxySettings;
use crate::hosts::Host;
use crate::sender::{self, HostModel, HostTap, SenderSettings};

use super::ingest::{TapBatch, TapId};
use super::state::Shard;

/// The hosts of a shard, as the senders read them.
#[derive(Clone)]
pub struct ShardHosts(pub Rc<Shard>);

impl HostModel for ShardHosts {
    fn with_host<R>(&self, guid: &str, f: impl FnOnce(&mut Host) -> R) -> Option<R> {
        let mut reg = self.0.registry.borrow_mut();
        let id = reg.find_guid(guid)?;
        reg.get_mut(id).map(f)
    }
}

/// A tap on the live sender of `guid`, or on a new one with `settings`.
fn attach(shard: &Rc<Shard>, guid: &str, hostname: &str, settings: impl FnOnce() -> SenderSettings) -> HostTap {
    if let Some(up) = shard.upstreams.borrow().get(guid).filter(|u| !u.is_stopped()) {
        return up.attach();
    }
    let (up, tap) = sender::spawn(ShardHosts(shard.clone()), guid, hostname, settings());
    shard.upstreams.borrow_mut().insert(guid.to_string(), up);
    tap
}

/// A receiver's tap for a host received from a child, when its proxy settings forward
/// it (`None` otherwise). The tap detaches when dropped.
pub fn proxy_tap(shard: &Rc<Shard>, guid: &str, hostname: &str, proxy: &ProxySettings) -> Option<HostTap> {
    if !proxy.active() {
        return None;
    }
    Some(attach(shard, guid, hostname, || SenderSettings::for_proxy(&shard.config, proxy)))
}

/// The tap for this node's own host, on the shard that owns it, when `[stream] enabled =
/// yes` (`None` otherwise). Collectors call [`crate::sender::tap::LineTap::forward`] with
/// the protocol lines they applied to the localhost model.
pub fn localhost_tap(shard: &Rc<Shard>) -> Option<HostTap> {
    let cfg = &shard.config;
    if !cfg.stream.sender.enabled || shard.owner(&shard.local_guid) != shard.id {
        return None;
    }
    let hostname = cfg.global.hostname.clone();
    Some(attach(shard, &shard.local_guid.clone(), &hostname, || SenderSettings::for_localhost(cfg)))
}

/// Puts `tap` on the shard's line taps for `guid`: every batch of lines applied to that
/// host (by its receiver, the collectors or a plugin) reaches its sender. Removing the
/// returned id drops the tap, which discards an unfinished collection and detaches it.
pub fn register(shard: &Shard, guid: &str, tap: HostTap) -> TapId {
    let tap = RefCell::new(tap);
    shard.taps.borrow_mut().add(guid, Rc::new(move |b: &TapBatch<'_>| tap.borrow_mut().forward(b.bytes)))
}

/// Stops and forgets the sender of a removed host.
pub fn forget(shard: &Shard, guid: &str) {
    if let Some(up) = shard.upstreams.borrow_mut().remove(guid) {
        up.ring();
    }
}

/// Forgets senders that ended by themselves.
pub fn prune(shard: &Shard) {
    shard.upstreams.borrow_mut().retain(|_, up| !up.is_stopped());
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config;
    use crate::hosts::{MemoryMode, ReceiverSession};
    use crate::stream::command::parse_line;

    const KEY: &str = "11111111-2222-3333-4444-555555555555";
    const GUID: &str = "aaaaaaaa-0000-0000-0000-0000000000aa";

    fn shard(config: config::Config) -> Rc<Shard> {
        Rc::new(Shard::standalone(config, GUID))
    }

    /// Lines a collector applied to the localhost model and forwarded through the
    /// localhost tap reach a parent: handshake with this node's identity, metadata, the
    /// chart definition, then the collection.
    #[test]
    fn localhost_lines_reach_the_parent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        let parent = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "closed during the request");
                got.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&got).to_string();
            s.write_all(b"Hit me baby, push them over with the version=3").unwrap();
            let mut stream = Vec::new();
            while !stream.ends_with(b"END\n") {
                match s.read(&mut buf) {
                    Ok(n) if n > 0 => stream.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            finished.store(true, Ordering::Relaxed);
            (head, String::from_utf8_lossy(&stream).to_string())
        });
        let stream_conf =
            format!("[stream]\nenabled = yes\ndestination = {addr}\napi key = {KEY}\nreconnect delay seconds = 1\n");
        let cfg =
            config::load_from_str(("netdata.conf", "[global]\nhostname = me\n"), ("stream.conf", &stream_conf), &[])
                .unwrap();
        let disabled = config::load_from_str(("netdata.conf", ""), ("stream.conf", ""), &[]).unwrap();
        glommio::LocalExecutorBuilder::default()
            .spawn(move || async move {
                assert!(localhost_tap(&shard(disabled)).is_none(), "[stream] enabled = no");
                let shard = shard(cfg);
                {
                    let info = crate::localhost::host_info(&shard.config, GUID);
                    let mut reg = shard.registry.borrow_mut();
                    let id = reg.get_or_create(info, MemoryMode::Ram, 10, 1).id;
                    if let Some(h) = reg.get_mut(id) {
                        h.is_localhost = true;
                    }
                }
                let mut tap = localhost_tap(&shard).expect("[stream] enabled = yes");
                let text: &[u8] = b"CHART \"system.x\" \"\" \"X\" \"things\" \"x\" \"system.x\" \"line\" 1 1 \"\" \"proc.plugin\" \"/proc/x\"\n\
                    DIMENSION \"a\" \"\" \"absolute\" 1 1 \"\"\nBEGIN \"system.x\" 0\nSET \"a\" = 42\nEND\n";
                {
                    let mut reg = shard.registry.borrow_mut();
                    let id = reg.find_guid(GUID).unwrap();
                    let host = reg.get_mut(id).unwrap();
                    let mut s = ReceiverSession::new(4, "collector", 1);
                    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        let cmd = parse_line(line, 4).unwrap().command.unwrap();
                        s.apply(host, cmd, 1_000_000).unwrap();
                    }
                }
                tap.forward(text);
                for _ in 0..200 {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    glommio::timer::sleep(Duration::from_millis(50)).await;
                }
                let up = shard.upstreams.borrow().get(GUID).cloned().unwrap();
                assert_eq!(up.stats().connects, 1);
                assert_eq!(up.stats().blocks_sent, 1);
                drop(tap);
            })
            .unwrap()
            .join()
            .unwrap();
        let (head, stream) = parent.join().unwrap();
        assert!(head.starts_with(&format!("STREAM key={KEY}&hostname=me&registry_hostname=me&machine_guid={GUID}&")));
        assert!(head.contains("&hops=1&") && head.contains("&ver=4&"), "{head}");
        assert!(head.contains("User-Agent: strata/v"), "{head}");
        assert_eq!(
            stream,
            format!(
                "CLAIMED_ID {GUID} NULL\nOVERWRITE labels\n\
                 CHART \"system.x\" \"\" \"X\" \"things\" \"x\" \"system.x\" \"line\" 1 1 \"   \" \"proc.plugin\" \"/proc/x\"\n\
                 DIMENSION \"a\" \"a\" \"absolute\" 1 1 \"  \"\n\
                 BEGIN \"system.x\" 0\nSET \"a\" = 42\nEND\n"
            )
        );
    }
}
