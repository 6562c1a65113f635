//! Upstream forwarding on a shard: the senders of the hosts this shard owns.
//!
//! Owns: `Shard::upstreams` (machine GUID → the host's [`Upstream`]) and the entry points
//! data sources use to feed them: [`proxy_tap`] for a receiver (a host received from a
//! child, `proxy enabled` in stream.conf) and [`localhost_tap`] for this node's own host
//! (`[stream] enabled = yes`; the collectors feed it). Invariants: at most one live
//! sender per host; a stopped sender is replaced on the next attach; a sender is started
//! lazily, when its first data source attaches (Netdata starts it on the first
//! collection).

use std::rc::Rc;

use crate::config::ProxySettings;
use crate::hosts::Host;
use crate::sender::{self, HostModel, HostTap, SenderSettings};

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
