//! Clean exit: `SIGTERM` or `SIGINT` stops every shard, then the process exits 0.
//!
//! Owns: the signal wait (main thread), one control socket per shard, and the order in
//! which a shard stops. The main thread blocks in [`wait_for_signal`]; on a signal it
//! sends [`Control::Stop`] to every shard over that shard's control socket (a
//! `socketpair`: the main thread writes one byte, a task of the shard is woken by it, no
//! polling). A shard then, in this order:
//!
//! 1. marks itself stopping and cancels its accept loops (no new connections);
//! 2. closes its receivers (their sockets are shut down; each one logs its
//!    disconnection and detaches its host) and waits for them, at most [`RECEIVER_GRACE`];
//! 3. runs its shutdown hooks in registration order, awaiting each one: the storage hook
//!    writes the `save` files and flushes the `map` files ([`persist_stores`]); any engine
//!    that must flush on exit registers its hook with [`Shard::on_shutdown`];
//! 4. returns from its main task, which ends its executor.
//!
//! Once every executor has ended, `shard::run` returns. A second signal during the stop
//! is ignored (the stop is already under way). A shard whose control socket closes
//! (the main thread is gone) stops the same way.

use std::future::Future;
use std::io::Write;
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::AsyncReadExt;
use glommio::net::UnixStream;
use glommio::task::JoinHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use strata_storage::Persisted;

use super::state::Shard;

/// How long a stopping shard waits for its receivers to detach.
pub const RECEIVER_GRACE: Duration = Duration::from_secs(5);

/// A shutdown hook: runs once, on the shard's own executor, while the shard stops.
pub type Hook = Box<dyn FnOnce(Rc<Shard>) -> Pin<Box<dyn Future<Output = ()>>>>;

/// A message from the main thread to a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Control {
    /// Stop cleanly (see the module documentation for the order).
    Stop = b'S',
}

/// The signals that stop strata, registered before the shards start so that none is
/// lost (their default action, ending the process at once, is replaced).
pub struct StopSignals(Signals);

impl StopSignals {
    pub fn register() -> std::io::Result<StopSignals> {
        Signals::new([SIGTERM, SIGINT]).map(StopSignals)
    }

    /// Blocks until `SIGTERM` or `SIGINT` arrives; returns its name.
    pub fn wait(&mut self) -> &'static str {
        match self.0.forever().next() {
            Some(SIGINT) => "SIGINT",
            _ => "SIGTERM",
        }
    }
}

/// The main thread's ends of the shards' control sockets.
pub struct Controls(Vec<StdUnixStream>);

/// One control socket pair per shard: the main thread's ends, and the raw fds (non
/// blocking, owned by the caller) that each shard turns into its [`wait_for_stop`].
pub fn control_sockets(shards: usize) -> std::io::Result<(Controls, Vec<RawFd>)> {
    let mut mains = Vec::with_capacity(shards);
    let mut fds = Vec::with_capacity(shards);
    for _ in 0..shards {
        let (main, shard) = StdUnixStream::pair()?;
        shard.set_nonblocking(true)?;
        mains.push(main);
        fds.push(shard.into_raw_fd());
    }
    Ok((Controls(mains), fds))
}

impl Controls {
    /// Sends `msg` to every shard.
    pub fn send_all(&mut self, msg: Control) {
        for (id, s) in self.0.iter_mut().enumerate() {
            if let Err(e) = s.write_all(&[msg as u8]) {
                crate::error!("cannot send {msg:?} to shard {id}: {e}");
            }
        }
    }
}

/// Waits on a shard's control socket until it says stop (or closes).
///
/// # Safety
/// `fd` must be a connected, non-blocking Unix stream socket owned by the caller, which
/// hands its ownership over.
pub async unsafe fn wait_for_stop(fd: RawFd) {
    // SAFETY: ownership of the connected socket is handed over by the caller.
    let mut s = unsafe { UnixStream::from_raw_fd(fd) };
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b).await {
            Ok(1) if b[0] == Control::Stop as u8 => return,
            Ok(1) => {}
            _ => return,
        }
    }
}

impl Shard {
    /// Registers a hook to run when this shard stops (after its receivers are closed).
    pub fn on_shutdown(&self, hook: Hook) {
        self.shutdown_hooks.borrow_mut().push(hook);
    }
}

/// Stops a shard: steps 1 to 3 of the module documentation.
pub async fn stop_shard(shard: &Rc<Shard>, accepts: Vec<JoinHandle<()>>) {
    shard.stopping.set(true);
    for a in &accepts {
        a.cancel();
    }
    let fds: Vec<RawFd> = shard.receivers.borrow().values().map(|h| h.fd).collect();
    for fd in &fds {
        // SAFETY: shutting down a socket that its receiver task still owns; the task
        // wakes with end-of-stream and cleans up.
        unsafe {
            libc::shutdown(*fd, libc::SHUT_RDWR);
        }
    }
    let deadline = Instant::now() + RECEIVER_GRACE;
    while !shard.receivers.borrow().is_empty() && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
    let hooks: Vec<Hook> = std::mem::take(&mut *shard.shutdown_hooks.borrow_mut());
    for hook in hooks {
        hook(shard.clone()).await;
    }
}

/// The storage hook: writes every `save` chart's file and flushes every `map` chart of
/// this shard's hosts, logging what was done and every failure.
pub fn persist_stores(shard: &Shard) {
    let (mut saved, mut flushed, mut failed) = (0usize, 0usize, 0usize);
    let reg = shard.registry.borrow();
    for (_, host) in reg.iter() {
        for chart in &host.charts {
            match chart.store.persist() {
                Ok(Persisted::Saved) => saved += 1,
                Ok(Persisted::Flushed) => flushed += 1,
                Ok(Persisted::Nothing) => {}
                Err(e) => {
                    failed += 1;
                    crate::error!("host '{}': chart '{}': {e}", host.info.hostname, chart.id);
                }
            }
        }
    }
    if saved + flushed + failed > 0 {
        crate::info!(
            "shard {}: saved {saved} chart file(s) (memory mode save), flushed {flushed} (memory mode map), {failed} failed",
            shard.id
        );
    }
}

/// The storage hook as a [`Hook`].
pub fn storage_hook() -> Hook {
    Box::new(|shard| Box::pin(async move { persist_stores(&shard) }))
}
