//! The idle-stream timeout (REC-5) as one sweep per shard instead of a timer per read.
//!
//! Owns: the sweep task that ends receivers which received nothing for
//! [`receiver::IDLE_TIMEOUT`]. Arming a timeout with every socket read costs an
//! io_uring timeout submission and its cancellation per read — several per child per
//! second on a busy parent — while a child that goes silent is rare. Invariants: a
//! receiver is ended at most [`SWEEP_EVERY`] after its limit passed; it is marked
//! (`ReceiverHandle::timed_out`) before its socket is shut down, so it logs why it
//! ended; a receiver that received bytes within the limit is never touched.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use super::receiver::IDLE_TIMEOUT;
use super::state::{ReceiverHandle, Shard};
use super::unix_now;

/// How often a shard looks for idle receivers.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Machine GUIDs of the receivers that received nothing for more than `limit_secs` at
/// unix second `now`.
pub fn idle_receivers(receivers: &HashMap<String, ReceiverHandle>, now: i64, limit_secs: i64) -> Vec<String> {
    receivers.iter().filter(|(_, h)| now - h.last_rx.get() > limit_secs).map(|(g, _)| g.clone()).collect()
}

/// Ends this shard's idle receivers at `now`; returns how many.
pub fn sweep(shard: &Shard, now: i64) -> usize {
    let limit = i64::try_from(IDLE_TIMEOUT.as_secs()).unwrap_or(i64::MAX);
    let receivers = shard.receivers.borrow();
    let idle = idle_receivers(&receivers, now, limit);
    for guid in &idle {
        if let Some(h) = receivers.get(guid) {
            h.timed_out.set(true);
            // SAFETY: the fd belongs to the receiver registered under this handle, which
            // is still running (it removes its handle before closing the socket);
            // shutdown(2) only wakes its pending read with end-of-stream.
            unsafe {
                libc::shutdown(h.fd, libc::SHUT_RDWR);
            }
        }
    }
    idle.len()
}

/// The sweep loop of one shard (runs until the process ends).
pub async fn run(shard: Rc<Shard>) {
    loop {
        glommio::timer::sleep(SWEEP_EVERY).await;
        sweep(&shard, unix_now());
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn handle(last_rx: i64) -> ReceiverHandle {
        ReceiverHandle {
            last_rx: Rc::new(Cell::new(last_rx)),
            fd: -1,
            generation: 1,
            timed_out: Rc::new(Cell::new(false)),
        }
    }

    #[test]
    fn only_receivers_silent_longer_than_the_limit_are_idle() {
        let mut r = HashMap::new();
        r.insert("fresh".to_string(), handle(1000));
        r.insert("at-limit".to_string(), handle(400));
        r.insert("silent".to_string(), handle(399));
        assert_eq!(idle_receivers(&r, 1000, 600), vec!["silent".to_string()]);
        assert!(idle_receivers(&r, 1000, 1000).is_empty());
    }
}
