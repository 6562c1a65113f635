//! Orphan host cleanup on a timer (streaming-protocol.md §5.5, REC-12): every shard
//! sweeps its own hosts and removes those whose child has been gone longer than
//! `cleanup orphan hosts after seconds`, independently of new connections.
//!
//! Owns: the sweep task of a shard. Invariants: localhost and hosts with a receiver are
//! never removed; a removed host disappears from the registry, from every shard's
//! directory and from the shard's senders, and its files are handed to
//! `hosts::files::on_host_removed` (deleted when `delete orphan hosts files = yes`);
//! the sweep runs every [`sweep_interval`], so a host is removed at most that long after
//! its limit passed.

use std::rc::Rc;
use std::time::Duration;

use crate::hosts::files::on_host_removed;

use super::state::Shard;
use super::{forward, unix_now};

/// How often a shard sweeps: every 10 s (as Netdata 1.37's service thread), more often
/// when the limit is shorter (at least every second).
pub fn sweep_interval(after_secs: u64) -> Duration {
    Duration::from_secs(after_secs.clamp(1, 10))
}

/// Removes this shard's orphans at `now_s`; returns how many were removed.
pub async fn sweep(shard: &Rc<Shard>, now_s: i64) -> usize {
    let g = &shard.config.global;
    let after = i64::try_from(g.cleanup_orphan_hosts_after_secs).unwrap_or(i64::MAX);
    let removed: Vec<(String, String)> = {
        let mut reg = shard.registry.borrow_mut();
        let receivers = shard.receivers.borrow();
        let mut out = Vec::new();
        for id in reg.orphans(now_s, after) {
            let attached = reg.get(id).is_some_and(|h| receivers.contains_key(&h.info.machine_guid));
            if attached {
                continue;
            }
            let Some(host) = reg.remove(id) else { continue };
            crate::info!(
                "Host '{}' with machine guid '{}' is obsolete - cleaning up.",
                host.info.hostname,
                host.info.machine_guid
            );
            if let Err(e) = on_host_removed(&host, &shard.config.directories.cache, g.delete_orphan_hosts_files) {
                crate::error!("Host '{}': cannot clean up its files: {e}", host.info.hostname);
            }
            out.push((host.info.machine_guid, host.info.hostname));
        }
        out
    };
    for (guid, _) in &removed {
        forward::forget(shard, guid);
        shard.publish(guid, None).await;
    }
    forward::prune(shard);
    removed.len()
}

/// The sweep loop of one shard (runs forever).
pub async fn run(shard: Rc<Shard>) {
    let every = sweep_interval(shard.config.global.cleanup_orphan_hosts_after_secs);
    loop {
        glommio::timer::sleep(every).await;
        sweep(&shard, unix_now()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval() {
        assert_eq!(sweep_interval(3600), Duration::from_secs(10));
        assert_eq!(sweep_interval(3), Duration::from_secs(3));
        assert_eq!(sweep_interval(0), Duration::from_secs(1));
    }
}
