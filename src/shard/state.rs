//! The state one shard owns, shared by its tasks through `Rc` (single-threaded, so
//! `RefCell`s are only ever borrowed between awaits, never across one).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;

use glommio::channels::channel_mesh::Senders;
use glommio::channels::local_channel::{self, LocalSender};
use strata_storage::dbengine::{Engine, EngineStats};

use crate::config::Config;
use crate::hosts::HostRegistry;
use crate::latency::Histograms;
use crate::sender::Upstream;
use crate::web::{HostSummary, Response};

use super::ingest::LineTaps;
use super::latency::ShardLatency;
use super::messages::Msg;
use super::owner::owner_of;
use super::queues::Queues;
use super::shutdown::Hook;

/// A reply that a task of this shard is waiting for.
#[derive(Debug)]
pub enum Reply {
    Api(Box<Response>),
    Rate(Option<u64>),
    Parts(Vec<(String, String)>),
    EngineStats(Box<EngineStats>),
    Latency { since: i64, histograms: Box<Histograms> },
}

/// A receiver attached to a host of this shard.
#[derive(Debug, Clone)]
pub struct ReceiverHandle {
    /// Unix seconds of the last bytes received.
    pub last_rx: Rc<Cell<i64>>,
    /// The connection's fd, to shut down a dead connection that a new one replaces.
    pub fd: RawFd,
    /// Distinguishes this receiver from a later one of the same host.
    pub generation: u64,
    /// Set by the idle sweep (`idle`) just before it shuts the socket down.
    pub timed_out: Rc<Cell<bool>>,
}

/// Replica of every host of the agent (all shards), kept by directory messages.
#[derive(Debug, Default)]
pub struct Directory {
    hosts: HashMap<String, HostSummary>,
}

impl Directory {
    pub fn upsert(&mut self, guid: String, summary: Option<HostSummary>) {
        match summary {
            Some(s) => {
                self.hosts.insert(guid, s);
            }
            None => {
                self.hosts.remove(&guid);
            }
        }
    }

    /// Localhost first, then children newest-first (v1.29.3 order).
    pub fn list(&self) -> Vec<HostSummary> {
        let mut v: Vec<HostSummary> = self.hosts.values().cloned().collect();
        v.sort_by(|a, b| b.is_localhost.cmp(&a.is_localhost).then(b.created_seq.cmp(&a.created_seq)));
        v
    }
}

/// Everything one shard owns.
pub struct Shard {
    pub id: usize,
    pub shards: usize,
    pub config: Arc<Config>,
    /// The parent's own machine GUID (lower-case).
    pub local_guid: String,
    pub registry: RefCell<HostRegistry>,
    /// This shard's dbengine (its hosts in `dbengine` mode store into it).
    pub engine: Engine,
    pub directory: RefCell<Directory>,
    pub receivers: RefCell<HashMap<String, ReceiverHandle>>,
    pub senders: Option<Senders<Msg>>,
    pub pending: RefCell<HashMap<u64, LocalSender<Reply>>>,
    pub next_id: Cell<u64>,
    /// Shard 0 only: unix seconds of the last accepted stream (S11).
    pub rate_last_accepted: Cell<i64>,
    /// The shard is stopping (`shutdown`): no new receivers, no cross-shard error noise.
    pub stopping: Cell<bool>,
    /// Run in order when the shard stops (`shutdown::stop_shard`).
    pub shutdown_hooks: RefCell<Vec<Hook>>,
    /// The TLS server configuration (`None` = TLS off); this shard's own copy, with its
    /// own session cache.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Senders of this shard's hosts, by machine GUID (see `forward`).
    pub upstreams: RefCell<HashMap<String, Rc<Upstream>>>,
    /// Line taps of this shard's hosts (see `ingest`).
    pub taps: RefCell<LineTaps>,
    /// This shard's latency histograms (see `latency`).
    pub latency: Rc<ShardLatency>,
    /// Handshake and ingest task queues (`queues`); set once the executor runs.
    pub queues: Cell<Queues>,
}

impl Shard {
    /// A shard with nothing connected yet: empty registry (storing into `engine`),
    /// directory, receivers, senders and taps.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: usize,
        shards: usize,
        config: Arc<Config>,
        local_guid: String,
        engine: Engine,
        senders: Option<Senders<Msg>>,
        tls: Option<Arc<rustls::ServerConfig>>,
        latency: Rc<ShardLatency>,
    ) -> Shard {
        Shard {
            id,
            shards,
            config,
            local_guid,
            registry: RefCell::new(HostRegistry::with_engine(engine.clone())),
            engine,
            directory: RefCell::new(Directory::default()),
            receivers: RefCell::new(HashMap::new()),
            senders,
            pending: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
            rate_last_accepted: Cell::new(0),
            stopping: Cell::new(false),
            shutdown_hooks: RefCell::new(Vec::new()),
            tls,
            upstreams: RefCell::new(HashMap::new()),
            taps: RefCell::new(LineTaps::default()),
            latency,
            queues: Cell::new(Queues::default()),
        }
    }

    /// A lone shard (id 0 of 1) with `config`, a memory-only engine and nothing connected: for
    /// unit tests of code that needs a `Shard`.
    #[cfg(test)]
    pub fn standalone(config: Config, local_guid: &str) -> Shard {
        // Memory only: no files are opened for a test shard.
        let engine = Engine::new(strata_storage::dbengine::EngineConfig::new(1 << 20), None);
        let latency = Rc::new(ShardLatency::new(0));
        Shard::new(0, 1, Arc::new(config), local_guid.into(), engine, None, None, latency)
    }

    pub fn owner(&self, guid: &str) -> usize {
        owner_of(guid, self.shards)
    }

    /// A fresh id of this shard (requests, receiver generations).
    pub fn new_id(&self) -> u64 {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        id
    }

    /// Sends `msg` to shard `to` (never to itself).
    pub async fn send(&self, to: usize, msg: Msg) {
        if let Some(s) = &self.senders {
            if s.send_to(to, msg).await.is_err() && !self.stopping.get() {
                crate::error!("cannot send a message to shard {to}");
            }
        }
    }

    /// Sends a request built with a fresh id and waits for its reply.
    pub async fn ask(&self, to: usize, make: impl FnOnce(u64) -> Msg) -> Option<Reply> {
        let id = self.new_id();
        let (tx, rx) = local_channel::new_bounded(1);
        self.pending.borrow_mut().insert(id, tx);
        self.send(to, make(id)).await;
        let r = rx.recv().await;
        self.pending.borrow_mut().remove(&id);
        r
    }

    /// Delivers a reply to the task waiting for `id`.
    pub fn deliver(&self, id: u64, reply: Reply) {
        if let Some(tx) = self.pending.borrow_mut().remove(&id) {
            let _ = tx.try_send(reply);
        }
    }

    /// Publishes a host's summary to every shard (this one included).
    pub async fn publish(&self, guid: &str, summary: Option<HostSummary>) {
        for to in 0..self.shards {
            if to != self.id {
                self.send(to, Msg::Directory { machine_guid: guid.to_string(), summary: summary.clone() }).await;
            }
        }
        self.directory.borrow_mut().upsert(guid.to_string(), summary);
    }

    /// S11 on shard 0: `None` = accepted now, `Some(n)` = allowed again in n seconds.
    /// Unlike Netdata, the very first request after start is accepted (REC-2).
    pub fn rate_check(&self, now: i64) -> Option<u64> {
        let every = self.config.web.accept_streaming_every_secs as i64;
        if every <= 0 {
            return None;
        }
        let last = self.rate_last_accepted.get();
        if last == 0 || now - last >= every {
            self.rate_last_accepted.set(now);
            None
        } else {
            Some((every - (now - last)) as u64)
        }
    }
}
