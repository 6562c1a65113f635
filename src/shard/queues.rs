//! The task queues of a shard: connections are admitted ahead of ingest.
//!
//! Owns: [`Queues`], the two glommio task queues of a shard. Every accepted connection
//! (accepted by a loop that runs there too, and every stream handed over from another
//! shard, whose message loop runs there as well) starts in the `handshake` queue,
//! which glommio runs at least every [`HANDSHAKE_LATENCY`] and favours over ingest while
//! it has work; once a receiver has written its prompt, its read-and-apply loop moves to
//! the `ingest` queue (the executor's default one, with the API, flusher and timers).
//! While thousands of children ramp up, the shards are busy applying the definitions of
//! the children already connected; without this, a new child's handshake waits behind
//! all of them (seconds), with it the wait is bounded by the preemption interval.
//! Invariants: a future is spawned into a queue only on the shard that created it; when
//! the queues do not exist (a shard built outside an executor, in tests) everything runs
//! where it is.

use std::future::Future;
use std::time::Duration;

use glommio::task::JoinHandle;
use glommio::{Latency, Shares, TaskQueueHandle};

/// How long an admitted connection may wait for the executor at most (glommio preempts
/// the running queue at this interval while the handshake queue has work).
pub const HANDSHAKE_LATENCY: Duration = Duration::from_millis(5);

/// The shard's task queues (`None`: not created, run in place).
#[derive(Debug, Clone, Copy, Default)]
pub struct Queues {
    handshake: Option<TaskQueueHandle>,
    ingest: Option<TaskQueueHandle>,
}

impl Queues {
    /// Creates the handshake queue; the ingest queue is the executor's current (default)
    /// one. Must run inside the shard's executor.
    pub fn create() -> Queues {
        let ex = glommio::executor();
        let handshake = ex.create_task_queue(Shares::Static(1000), Latency::Matters(HANDSHAKE_LATENCY), "handshake");
        Queues { handshake: Some(handshake), ingest: Some(ex.current_task_queue()) }
    }

    /// Spawns (detached) an accept loop or the start of a connection (accept to
    /// prompt); its handle, or `None` if the task could not be started (logged).
    pub fn spawn_handshake(&self, fut: impl Future<Output = ()> + 'static) -> Option<JoinHandle<()>> {
        match self.handshake {
            Some(q) => match glommio::spawn_local_into(fut, q) {
                Ok(task) => Some(task.detach()),
                Err(e) => {
                    crate::error!("cannot start a connection task: {e}");
                    None
                }
            },
            None => Some(glommio::spawn_local(fut).detach()),
        }
    }

    /// Spawns (detached) ingest-class work (serving an API request another shard sent).
    pub fn spawn_ingest(&self, fut: impl Future<Output = ()> + 'static) {
        match self.ingest {
            Some(q) => {
                if let Err(e) = glommio::spawn_local_into(fut, q).map(|t| t.detach()) {
                    crate::error!("cannot start a task in the ingest queue: {e}");
                }
            }
            None => {
                glommio::spawn_local(fut).detach();
            }
        }
    }

    /// Runs `fut` (a receiver's ingest loop) in the ingest queue and waits for it.
    pub async fn run_as_ingest<T: 'static>(&self, fut: impl Future<Output = T> + 'static) -> Option<T> {
        match self.ingest {
            Some(q) => match glommio::spawn_local_into(fut, q) {
                Ok(task) => Some(task.await),
                Err(e) => {
                    crate::error!("cannot move a receiver to the ingest queue: {e}");
                    None
                }
            },
            None => Some(fut.await),
        }
    }
}
