//! The handle of one host's sender, shared (on its shard) between the data sources that
//! feed it and the task that sends.
//!
//! Owns: the host's [`SendQueue`], the doorbell that wakes the task, the count of
//! attached sources, the link state and the drop accounting/logging. Invariants:
//! feeding never blocks and never awaits (a stalled parent costs the feeder one queue
//! push); the queue never exceeds its bound; every drop is counted, and logged at most
//! once per [`DROP_LOG_EVERY_SECS`] with the totals; once stopped, an upstream accepts
//! nothing and is replaced by a new one on the next attach.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use glommio::channels::local_channel::LocalSender;

use super::queue::{Block, Count, SendQueue};
use super::tap::{LineTap, Sink};

/// Drops are logged at most this often (the counters are exact regardless).
pub const DROP_LOG_EVERY_SECS: i64 = 10;

/// Where the link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected (connecting, waiting to reconnect).
    Down,
    /// Handshake done; data flows.
    Up,
    /// The sender ended; nothing more is accepted.
    Stopped,
}

/// Counters of one sender, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Successful handshakes.
    pub connects: u64,
    /// Bytes written to parents.
    pub bytes_sent: u64,
    /// Collections written to parents.
    pub blocks_sent: u64,
    /// Chart definitions written to parents.
    pub definitions_sent: u64,
}

/// The shared state of one host's sender.
pub struct Upstream {
    guid: String,
    hostname: RefCell<String>,
    queue: RefCell<SendQueue>,
    meta_dirty: Cell<bool>,
    bell: LocalSender<()>,
    sources: Cell<u32>,
    state: Cell<LinkState>,
    /// The destination text of the current link (for log lines).
    connected_to: RefCell<String>,
    not_ready_logged: Cell<bool>,
    last_drop_log: Cell<i64>,
    stats: Cell<Stats>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("guid", &self.guid)
            .field("state", &self.state.get())
            .field("sources", &self.sources.get())
            .field("queued", &self.queue.borrow().bytes())
            .finish()
    }
}

impl Upstream {
    pub fn new(guid: String, hostname: String, buffer_bytes: usize, bell: LocalSender<()>) -> Upstream {
        Upstream {
            guid,
            hostname: RefCell::new(hostname),
            queue: RefCell::new(SendQueue::new(buffer_bytes)),
            meta_dirty: Cell::new(false),
            bell,
            sources: Cell::new(0),
            state: Cell::new(LinkState::Down),
            connected_to: RefCell::new(String::new()),
            not_ready_logged: Cell::new(false),
            last_drop_log: Cell::new(0),
            stats: Cell::new(Stats::default()),
        }
    }

    pub fn guid(&self) -> &str {
        &self.guid
    }

    pub fn hostname(&self) -> String {
        self.hostname.borrow().clone()
    }

    pub fn set_hostname(&self, name: &str) {
        if *self.hostname.borrow() != name {
            *self.hostname.borrow_mut() = name.to_string();
        }
    }

    pub fn state(&self) -> LinkState {
        self.state.get()
    }

    pub fn is_stopped(&self) -> bool {
        self.state.get() == LinkState::Stopped
    }

    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    pub fn update_stats(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Everything dropped so far (overflow, undeliverable, discarded).
    pub fn dropped(&self) -> Count {
        self.queue.borrow().dropped_total()
    }

    /// Data sources attached now.
    pub fn sources(&self) -> u32 {
        self.sources.get()
    }

    /// Wakes the sending task.
    pub fn ring(&self) {
        let _ = self.bell.try_send(());
    }

    /// The log prefix `STREAM <host> [send to <dest>]` (or `[send]` while down).
    pub fn log_prefix(&self) -> String {
        let host = self.hostname.borrow();
        match self.state.get() {
            LinkState::Up => format!("STREAM {host} [send to {}]", self.connected_to.borrow()),
            _ => format!("STREAM {host} [send]"),
        }
    }

    pub fn set_up(&self, destination: &str) {
        *self.connected_to.borrow_mut() = destination.to_string();
        self.state.set(LinkState::Up);
        self.update_stats(|s| s.connects += 1);
    }

    pub fn set_down(&self) {
        if self.state.get() == LinkState::Up {
            self.state.set(LinkState::Down);
        }
    }

    /// Ends the sender: nothing more is accepted; what is queued is discarded (counted
    /// and logged).
    pub fn stop(&self) {
        self.state.set(LinkState::Stopped);
        let c = self.queue.borrow_mut().clear();
        self.queue.borrow_mut().take_unreported();
        if c.blocks > 0 {
            crate::error!(
                "STREAM {} [send]: discarding {} bytes ({} collections) of metrics that were not sent to the parent",
                self.hostname.borrow(),
                c.bytes,
                c.blocks
            );
        }
    }

    /// Attaches a data source; it feeds the queue through the returned tap until
    /// dropped.
    pub fn attach(self: &Rc<Self>) -> LineTap<Feed> {
        self.sources.set(self.sources.get() + 1);
        LineTap::new(Feed(self.clone()))
    }

    /// Queues a collection (dropping the oldest ones if the buffer is full).
    pub fn push_block(&self, data: Vec<u8>, now_us: i64) {
        if self.is_stopped() {
            return;
        }
        if self.state.get() != LinkState::Up && !self.not_ready_logged.replace(true) {
            crate::error!(
                "STREAM {} [send]: not ready - collected metrics are kept in the buffer (the newest {} bytes) until the parent is connected.",
                self.hostname.borrow(),
                self.queue.borrow().limit()
            );
        }
        let pushed = self.queue.borrow_mut().push(Block { data, at_us: now_us });
        if let Some(limit) = pushed.raised_limit {
            crate::info!(
                "{}: max buffer size is too small for a data message; increasing the max buffer size to {limit} bytes (3 times the message size).",
                self.log_prefix()
            );
        }
        if pushed.dropped.blocks > 0 {
            self.report_drops(now_us / 1_000_000, false);
        }
        self.ring();
    }

    /// Logs the drops not reported yet, when `force` or when the last report is older
    /// than [`DROP_LOG_EVERY_SECS`].
    pub fn report_drops(&self, now_s: i64, force: bool) {
        if !force && now_s - self.last_drop_log.get() < DROP_LOG_EVERY_SECS {
            return;
        }
        let (new, total, limit) = {
            let mut q = self.queue.borrow_mut();
            (q.take_unreported(), q.dropped_total(), q.limit())
        };
        if new.blocks == 0 {
            return;
        }
        self.last_drop_log.set(now_s);
        crate::error!(
            "{}: buffer full ({limit} bytes): dropped the oldest {} collections ({} bytes) to keep the newest; {} collections ({} bytes) dropped so far.",
            self.log_prefix(),
            new.blocks,
            new.bytes,
            total.blocks,
            total.bytes
        );
    }

    /// Host metadata changed (labels, claim id, host variables).
    pub fn mark_meta(&self) {
        self.meta_dirty.set(true);
        self.ring();
    }

    /// Takes the "metadata changed" flag.
    pub fn take_meta(&self) -> bool {
        self.meta_dirty.replace(false)
    }

    /// Logs "sending metrics to parent..." once after a "not ready" report.
    pub fn resumed(&self) {
        if self.not_ready_logged.replace(false) {
            crate::info!("STREAM {} [send]: sending metrics to parent...", self.hostname.borrow());
        }
    }

    /// Runs `f` on the queue (the sending task's access).
    pub fn with_queue<R>(&self, f: impl FnOnce(&mut SendQueue) -> R) -> R {
        f(&mut self.queue.borrow_mut())
    }
}

/// A data source attached to an [`Upstream`]: the [`Sink`] of its [`LineTap`]. Dropping
/// it detaches the source.
#[derive(Debug)]
pub struct Feed(Rc<Upstream>);

impl Feed {
    pub fn upstream(&self) -> &Rc<Upstream> {
        &self.0
    }
}

impl Sink for Feed {
    fn push_block(&mut self, block: Vec<u8>) {
        self.0.push_block(block, crate::shard::unix_now_us());
    }

    fn meta_changed(&mut self) {
        self.0.mark_meta();
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.0.sources.set(self.0.sources.get().saturating_sub(1));
        self.0.ring();
    }
}

/// A host's line tap feeding its sender.
pub type HostTap = LineTap<Feed>;
