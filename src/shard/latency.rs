//! One shard's latency histograms as the runtime keeps them: recorded by the receivers
//! (ingest), the dbengine's extent observer (flush) and the HTTP loop (api); gathered
//! across shards by message for `/api/v1/latency`; and logged, merged, every
//! [`LOG_EVERY`] by shard 0.
//!
//! Invariants: a shard records only into its own histograms (no lock, no message on the
//! recording paths); the `RefCell` is borrowed only for one record or one copy, never
//! across an await; histograms are never reset.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::latency::report::{Report, ShardHistograms};
use crate::latency::{Histograms, Kind};

use super::messages::Msg;
use super::state::{Reply, Shard};
use super::unix_now;

/// How often shard 0 logs the merged figures.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// The histograms of one shard.
#[derive(Debug)]
pub struct ShardLatency {
    /// Unix seconds when the shard started.
    since: i64,
    histograms: RefCell<Histograms>,
}

impl ShardLatency {
    pub fn new(since: i64) -> ShardLatency {
        ShardLatency { since, histograms: RefCell::new(Histograms::default()) }
    }

    pub fn since(&self) -> i64 {
        self.since
    }

    /// Records one sample of `kind`.
    pub fn record(&self, kind: Kind, d: Duration) {
        self.histograms.borrow_mut().record(kind, d);
    }

    /// A copy of the histograms as they are now.
    pub fn snapshot(&self) -> Histograms {
        self.histograms.borrow().clone()
    }
}

/// Makes the engine's extent writes samples of this shard's flush histogram.
pub fn observe_flushes(engine: &strata_storage::dbengine::Engine, latency: &Rc<ShardLatency>) {
    let l = latency.clone();
    engine.on_extent_written(move |d| l.record(Kind::Flush, d));
}

/// Every shard's histograms, in shard order (this one's copied directly, the others by
/// message); a shard that does not answer is left out.
pub async fn gather(shard: &Shard) -> Vec<ShardHistograms> {
    let mut out = Vec::with_capacity(shard.shards);
    for to in 0..shard.shards {
        if to == shard.id {
            out.push(ShardHistograms { shard: to, since: shard.latency.since(), histograms: shard.latency.snapshot() });
            continue;
        }
        if let Some(Reply::Latency { since, histograms }) =
            shard.ask(to, |id| Msg::Latency { id, from: shard.id }).await
        {
            out.push(ShardHistograms { shard: to, since, histograms: *histograms });
        }
    }
    out
}

/// The report of every shard, now; merge failures are logged.
pub async fn report(shard: &Shard) -> Report {
    let all = gather(shard).await;
    let (report, errors) = Report::build(&all, unix_now());
    for e in errors {
        crate::error!("LATENCY: {e}");
    }
    report
}

/// Shard 0 only: logs the merged figures, one line per histogram, every [`LOG_EVERY`].
pub fn spawn_log(shard: Rc<Shard>) {
    if shard.id != 0 {
        return;
    }
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(LOG_EVERY).await;
            if shard.stopping.get() {
                return;
            }
            for line in report(&shard).await.log_lines() {
                crate::info!("{line}");
            }
        }
    })
    .detach();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_into_its_own_histograms_and_copies_them() {
        let l = ShardLatency::new(1_700_000_000);
        l.record(Kind::Ingest, Duration::from_micros(40));
        l.record(Kind::Api, Duration::from_micros(900));
        let s = l.snapshot();
        l.record(Kind::Ingest, Duration::from_micros(50));
        assert_eq!(s.summary(Kind::Ingest).count, 1, "a snapshot does not follow later samples");
        assert_eq!(l.snapshot().summary(Kind::Ingest).count, 2);
        assert_eq!(l.snapshot().summary(Kind::Api).max, 900);
        assert_eq!(l.since(), 1_700_000_000);
    }
}
