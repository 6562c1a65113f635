//! The hosts of one shard (streaming-protocol.md §5.2, §5.5).
//!
//! Owns: every [`Host`] of the shard, in a slab. A [`HostId`] is the host's slot index;
//! slots are never reused, so an id stays valid (and never names another host) until
//! the host is removed, after which it reads as absent. Iteration is in creation order
//! (slot order). Hosts are found by lower-case machine GUID (one host per GUID) or by
//! hostname (exact, case-sensitive; the oldest host wins when several share a name).
//! Nothing here does I/O or reads a clock: times are parameters (unix seconds).

use std::collections::HashMap;

use strata_storage::Engine;

use super::{Host, HostInfo, MemoryMode};

/// Stable handle of a host within its shard's registry (its slab slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// Result of [`HostRegistry::get_or_create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    pub id: HostId,
    /// The host did not exist and was created.
    pub created: bool,
    /// The host existed under another hostname (log "host 'A' renamed to 'B'").
    pub renamed_from: Option<String>,
}

/// Totals over a registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryStats {
    pub hosts: usize,
    pub connected: usize,
    pub charts: usize,
    pub dimensions: usize,
    pub points_stored: u64,
}

/// The hosts of one shard.
#[derive(Debug, Default)]
pub struct HostRegistry {
    slots: Vec<Option<Box<Host>>>,
    by_guid: HashMap<String, HostId, ahash::RandomState>,
    next_seq: u64,
    engine: Option<Engine>,
}

impl HostRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry whose `dbengine` hosts store into `engine` (the shard's).
    pub fn with_engine(engine: Engine) -> Self {
        HostRegistry { engine: Some(engine), ..Self::default() }
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.by_guid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_guid.is_empty()
    }

    pub fn get(&self, id: HostId) -> Option<&Host> {
        self.slots.get(id.0).and_then(|s| s.as_deref())
    }

    pub fn get_mut(&mut self, id: HostId) -> Option<&mut Host> {
        self.slots.get_mut(id.0).and_then(|s| s.as_deref_mut())
    }

    /// The host with this machine GUID (any case).
    pub fn find_guid(&self, guid: &str) -> Option<HostId> {
        if guid.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_guid.get(&guid.to_ascii_lowercase()).copied()
        } else {
            self.by_guid.get(guid).copied()
        }
    }

    /// The oldest host with exactly this hostname.
    pub fn by_guid(&self, guid: &str) -> Option<&Host> {
        self.find_guid(guid).and_then(|id| self.get(id))
    }

    pub fn find_hostname(&self, hostname: &str) -> Option<HostId> {
        self.iter().find(|(_, h)| h.info.hostname == hostname).map(|(id, _)| id)
    }

    /// Finds the host by `info.machine_guid` or creates it. A new host gets
    /// `memory_mode` and `history`, is not connected and counts as disconnected since
    /// `now_s`; a `dbengine` host gets the registry's engine (without one it is kept in
    /// `ram`). An existing host takes the new identity (`info`, REC-11) but keeps its
    /// memory mode, history, charts, labels and variables; `renamed_from` is set when
    /// its hostname changed.
    pub fn get_or_create(&mut self, mut info: HostInfo, memory_mode: MemoryMode, history: u32, now_s: i64) -> Acquired {
        info.machine_guid.make_ascii_lowercase();
        if let Some(id) = self.by_guid.get(&info.machine_guid).copied() {
            if let Some(h) = self.get_mut(id) {
                let renamed_from = (h.info.hostname != info.hostname).then(|| std::mem::take(&mut h.info.hostname));
                h.info = info;
                return Acquired { id, created: false, renamed_from };
            }
        }
        let mut host = Host::new(info, memory_mode, history);
        if memory_mode == MemoryMode::DbEngine {
            host.engine = self.engine.clone();
            if host.engine.is_none() {
                host.memory_mode = MemoryMode::Ram;
            }
        }
        host.created_seq = self.next_seq;
        host.disconnected_at = now_s;
        self.next_seq += 1;
        let id = HostId(self.slots.len());
        self.by_guid.insert(host.info.machine_guid.clone(), id);
        self.slots.push(Some(Box::new(host)));
        Acquired { id, created: true, renamed_from: None }
    }

    /// Marks a host connected at `now_s` (health `auto` turns on); `false` if it does
    /// not exist.
    pub fn mark_connected(&mut self, id: HostId, now_s: i64) -> bool {
        self.get_mut(id)
            .map(|h| {
                h.connected = true;
                h.connected_at = now_s;
                h.update_health();
            })
            .is_some()
    }

    /// Marks a host disconnected (orphan) at `now_s` (health `auto` turns off); `false`
    /// if it does not exist.
    pub fn mark_disconnected(&mut self, id: HostId, now_s: i64) -> bool {
        self.get_mut(id)
            .map(|h| {
                h.connected = false;
                h.disconnected_at = now_s;
                h.update_health();
            })
            .is_some()
    }

    /// Orphans to remove at `now_s`: hosts other than localhost whose child has been
    /// gone for more than `after_s` seconds (Netdata 1.37.1's condition: no receiver,
    /// disconnected, disconnect time set and older than the limit).
    pub fn orphans(&self, now_s: i64, after_s: i64) -> Vec<HostId> {
        self.iter()
            .filter(|(_, h)| {
                !h.is_localhost
                    && !h.connected
                    && h.disconnected_at > 0
                    && h.disconnected_at.saturating_add(after_s) < now_s
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// Removes a host (orphan cleanup); its id then reads as absent forever.
    pub fn remove(&mut self, id: HostId) -> Option<Host> {
        let host = self.slots.get_mut(id.0)?.take()?;
        if self.by_guid.get(&host.info.machine_guid) == Some(&id) {
            self.by_guid.remove(&host.info.machine_guid);
        }
        Some(*host)
    }

    /// Hosts in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (HostId, &Host)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_deref().map(|h| (HostId(i), h)))
    }

    /// Hosts in creation order, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (HostId, &mut Host)> + '_ {
        self.slots.iter_mut().enumerate().filter_map(|(i, s)| s.as_deref_mut().map(|h| (HostId(i), h)))
    }

    /// Totals: hosts, connected hosts, charts, dimensions, values stored.
    pub fn stats(&self) -> RegistryStats {
        let mut s = RegistryStats::default();
        for (_, h) in self.iter() {
            s.hosts += 1;
            s.connected += usize::from(h.connected);
            s.charts += h.charts.len();
            s.dimensions += h.dimension_count();
            s.points_stored += h.points_stored();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::ReceiverSession;
    use crate::stream::command::{ChartLine, Command, DimensionLine};

    fn info(guid: &str, hostname: &str) -> HostInfo {
        HostInfo { machine_guid: guid.into(), hostname: hostname.into(), os: "linux".into(), ..Default::default() }
    }

    const G1: &str = "aaaaaaaa-0000-0000-0000-000000000001";
    const G2: &str = "aaaaaaaa-0000-0000-0000-000000000002";

    #[test]
    fn create_find_and_reconnect_with_new_identity() {
        let mut r = HostRegistry::new();
        let a = r.get_or_create(info(&G1.to_uppercase(), "child1"), MemoryMode::Ram, 100, 50);
        assert!(a.created && a.renamed_from.is_none());
        let b = r.get_or_create(info(G2, "child2"), MemoryMode::None, 10, 51);
        assert_ne!(a.id, b.id);
        let h = r.get(a.id).unwrap();
        assert_eq!(h.info.machine_guid, G1, "GUID stored lower-case");
        assert_eq!((h.connected, h.disconnected_at, h.created_seq), (false, 50, 0));
        assert_eq!(r.get(b.id).unwrap().created_seq, 1);
        assert_eq!(r.find_guid(G1), Some(a.id));
        assert_eq!(r.find_guid(&G1.to_uppercase()), Some(a.id));
        assert_eq!(r.find_hostname("child2"), Some(b.id));
        assert_eq!(r.find_hostname("CHILD2"), None);

        let mut newer = info(G1, "renamed");
        newer.os = "freebsd".into();
        let again = r.get_or_create(newer, MemoryMode::None, 5, 60);
        assert_eq!(again, Acquired { id: a.id, created: false, renamed_from: Some("child1".into()) });
        let h = r.get(a.id).unwrap();
        assert_eq!((h.info.hostname.as_str(), h.info.os.as_str()), ("renamed", "freebsd"));
        assert_eq!((h.memory_mode, h.history), (MemoryMode::Ram, 100), "storage settings kept");
        let same = r.get_or_create(info(G1, "renamed"), MemoryMode::Ram, 100, 61);
        assert_eq!(same.renamed_from, None);
        let order: Vec<HostId> = r.iter().map(|(id, _)| id).collect();
        assert_eq!(order, [a.id, b.id]);
    }

    #[test]
    fn dbengine_hosts_get_the_shard_engine() {
        use strata_storage::dbengine::EngineConfig;
        let mut plain = HostRegistry::new();
        let a = plain.get_or_create(info(G1, "child1"), MemoryMode::DbEngine, 100, 1).id;
        let h = plain.get(a).unwrap();
        assert_eq!((h.memory_mode, h.engine.is_some()), (MemoryMode::Ram, false), "no engine: ram");
        let mut r = HostRegistry::with_engine(Engine::new(EngineConfig::new(1 << 20), None));
        let a = r.get_or_create(info(G1, "child1"), MemoryMode::DbEngine, 100, 1).id;
        let b = r.get_or_create(info(G2, "child2"), MemoryMode::Ram, 100, 1).id;
        assert_eq!((r.get(a).unwrap().memory_mode, r.get(a).unwrap().engine.is_some()), (MemoryMode::DbEngine, true));
        assert!(r.get(b).unwrap().engine.is_none());
    }

    #[test]
    fn orphans_and_health_follow_the_connection() {
        use crate::config::HealthSetting;
        let mut r = HostRegistry::new();
        let a = r.get_or_create(info(G1, "child1"), MemoryMode::Ram, 100, 10).id;
        let b = r.get_or_create(info(G2, "child2"), MemoryMode::Ram, 100, 10).id;
        let l = r.get_or_create(info("aaaaaaaa-0000-0000-0000-00000000000f", "me"), MemoryMode::Ram, 100, 10).id;
        r.get_mut(l).unwrap().is_localhost = true;
        r.get_mut(a).unwrap().health = HealthSetting::Auto;
        r.get_mut(b).unwrap().health = HealthSetting::Yes;
        r.mark_connected(a, 11);
        r.mark_connected(b, 11);
        assert!(r.get(a).unwrap().health_enabled && r.get(b).unwrap().health_enabled);
        assert_eq!(r.orphans(10_000, 5), Vec::<HostId>::new(), "connected hosts and localhost stay");
        r.mark_disconnected(a, 20);
        r.mark_disconnected(b, 22);
        assert!(!r.get(a).unwrap().health_enabled, "auto: off while the child is away");
        assert!(r.get(b).unwrap().health_enabled, "yes: always on");
        assert_eq!(r.orphans(25, 5), Vec::<HostId>::new(), "not yet more than 5 s");
        assert_eq!(r.orphans(26, 5), vec![a]);
        assert_eq!(r.orphans(28, 5), vec![a, b]);
        r.mark_connected(a, 27);
        assert!(r.get(a).unwrap().health_enabled, "auto: on again at every connect");
        assert_eq!(r.orphans(28, 5), vec![b]);
        r.get_mut(b).unwrap().health = HealthSetting::No;
        r.mark_connected(b, 29);
        assert!(!r.get(b).unwrap().health_enabled);
    }

    #[test]
    fn connect_disconnect_remove_and_stats() {
        let mut r = HostRegistry::new();
        let a = r.get_or_create(info(G1, "child1"), MemoryMode::Ram, 100, 1).id;
        let b = r.get_or_create(info(G2, "child2"), MemoryMode::Ram, 100, 1).id;
        assert!(r.mark_connected(a, 10));
        assert_eq!(r.get(a).map(|h| (h.connected, h.connected_at)), Some((true, 10)));

        // Two collections on one chart of `a` store one value per dimension.
        let mut s = ReceiverSession::new(3, "127.0.0.1:1", 1);
        let h = r.get_mut(a).unwrap();
        let chart = ChartLine {
            type_id: b"a.b",
            name: None,
            title: None,
            units: None,
            family: None,
            context: None,
            chart_type: None,
            priority: None,
            update_every: None,
            options: None,
            plugin: None,
            module: None,
        };
        s.apply(h, Command::Chart(Box::new(chart)), 0).unwrap();
        for id in [&b"x"[..], b"y"] {
            let d = DimensionLine { id, name: None, algorithm: None, multiplier: None, divisor: None, options: None };
            s.apply(h, Command::Dimension(Box::new(d)), 0).unwrap();
        }
        for now in [1_000_300_000, 1_001_300_000] {
            s.apply(h, Command::Begin { chart: b"a.b", microseconds: 0 }, now).unwrap();
            s.apply(h, Command::Set { dimension: b"x", value: Some(1) }, now).unwrap();
            s.apply(h, Command::Set { dimension: b"y", value: Some(2) }, now).unwrap();
            s.apply(h, Command::End, now).unwrap();
        }
        assert_eq!(s.points, 2);
        assert_eq!(r.stats(), RegistryStats { hosts: 2, connected: 1, charts: 1, dimensions: 2, points_stored: 2 });

        assert!(r.mark_disconnected(a, 20));
        assert_eq!(r.get(a).map(|h| (h.connected, h.disconnected_at)), Some((false, 20)));
        let removed = r.remove(a).unwrap();
        assert_eq!(removed.info.hostname, "child1");
        assert!(r.get(a).is_none() && r.find_guid(G1).is_none());
        assert!(r.remove(a).is_none());
        assert!(!r.mark_connected(a, 30));
        let again = r.get_or_create(info(G1, "child1"), MemoryMode::Ram, 100, 40);
        assert!(again.created);
        assert_ne!(again.id, a, "ids are never reused");
        assert_eq!(r.len(), 2);
        let order: Vec<HostId> = r.iter().map(|(id, _)| id).collect();
        assert_eq!(order, [b, again.id]);
        assert_eq!(r.get(again.id).unwrap().created_seq, 2);
    }
}
