//! What the swarm measures: per-thread histograms and counters (merged at the end) and a
//! few shared atomics for the progress line.
//!
//! Invariants: histograms hold microseconds between 1 µs and one hour (larger values are
//! clamped to the top, never dropped); the tick-lag histogram is corrected for
//! coordinated omission with the tick interval, so a stalled child contributes the ticks
//! it could not send; counters only ever grow, except the connected-children gauge.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest value a histogram holds (µs): one hour.
pub const MAX_US: u64 = 3_600_000_000;

/// An empty latency histogram (µs, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    // Valid constant bounds: this cannot fail.
    Histogram::new_with_bounds(1, MAX_US, 3).unwrap_or_else(|_| unreachable!("constant bounds are valid"))
}

/// A duration in µs, clamped to the histogram range.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(MAX_US).clamp(1, MAX_US)
}

/// Records `d` (plain).
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(micros(d));
}

/// Records `d` with coordinated-omission correction for events expected every `interval`.
pub fn record_correct(h: &mut Histogram<u64>, d: Duration, interval: Duration) {
    // In range by construction (`micros` clamps); an error would only mean a bad bound.
    let _ = h.record_correct(micros(d), micros(interval));
}

/// Counters and histograms of one executor thread.
#[derive(Debug, Clone)]
pub struct ThreadStats {
    pub handshake: Histogram<u64>,
    pub tls_handshake: Histogram<u64>,
    pub tick_lag: Histogram<u64>,
    /// Connection attempts (one per target tried).
    pub attempts: u64,
    /// Successful handshakes (first connections and reconnections).
    pub sessions: u64,
    /// Failed attempts by reason (connect, TLS, no reply, broken sessions).
    pub failed: BTreeMap<String, u64>,
    /// Replies that refused us, by the parent's text.
    pub rejected: BTreeMap<String, u64>,
    /// Sessions that ended before the run did, by reason.
    pub disconnects: BTreeMap<String, u64>,
    pub churned: u64,
    pub samples: u64,
    pub bytes: u64,
    pub ticks: u64,
    /// Ticks not sent because the child was more than one interval late (accounted in
    /// the lag histogram by the coordinated-omission correction).
    pub ticks_skipped: u64,
    /// Ticks abandoned half-written at the end-of-run deadline (their samples are not
    /// counted as sent).
    pub ticks_cut: u64,
    /// Children with a session when the run ended.
    pub connected_at_end: u64,
    /// Children that had at least one session.
    pub ever_connected: u64,
}

impl Default for ThreadStats {
    fn default() -> Self {
        ThreadStats {
            handshake: histogram(),
            tls_handshake: histogram(),
            tick_lag: histogram(),
            attempts: 0,
            sessions: 0,
            failed: BTreeMap::new(),
            rejected: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            churned: 0,
            samples: 0,
            bytes: 0,
            ticks: 0,
            ticks_skipped: 0,
            ticks_cut: 0,
            connected_at_end: 0,
            ever_connected: 0,
        }
    }
}

fn merge_map(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

impl ThreadStats {
    /// Adds another thread's figures.
    pub fn merge(&mut self, o: ThreadStats) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.handshake.add(&o.handshake);
        let _ = self.tls_handshake.add(&o.tls_handshake);
        let _ = self.tick_lag.add(&o.tick_lag);
        self.attempts += o.attempts;
        self.sessions += o.sessions;
        merge_map(&mut self.failed, o.failed);
        merge_map(&mut self.rejected, o.rejected);
        merge_map(&mut self.disconnects, o.disconnects);
        self.churned += o.churned;
        self.samples += o.samples;
        self.bytes += o.bytes;
        self.ticks += o.ticks;
        self.ticks_skipped += o.ticks_skipped;
        self.ticks_cut += o.ticks_cut;
        self.connected_at_end += o.connected_at_end;
        self.ever_connected += o.ever_connected;
    }

    pub fn count(map: &mut BTreeMap<String, u64>, reason: String) {
        *map.entry(reason).or_default() += 1;
    }
}

/// Live totals for the progress line (relaxed atomics: they are only displayed).
#[derive(Debug, Default)]
pub struct Live {
    pub connected: AtomicI64,
    pub sessions: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    pub samples: AtomicU64,
    pub bytes: AtomicU64,
    /// Largest tick lag (µs) since the last progress line.
    pub lag_max_us: AtomicU64,
}

impl Live {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinated_omission_fills_the_missed_ticks() {
        let mut h = histogram();
        record_correct(&mut h, Duration::from_millis(3500), Duration::from_secs(1));
        // 3.5 s late: the 2.5 s and 1.5 s ticks that could not be sent are added.
        assert_eq!(h.len(), 3);
        assert!(h.max() >= 3_490_000);
        let mut plain = histogram();
        record_correct(&mut plain, Duration::from_millis(2), Duration::from_secs(1));
        assert_eq!(plain.len(), 1);
    }

    #[test]
    fn values_are_clamped_not_dropped() {
        let mut h = histogram();
        record(&mut h, Duration::from_secs(10 * 3600));
        record(&mut h, Duration::ZERO);
        assert_eq!(h.len(), 2);
        assert!(h.max() >= MAX_US - MAX_US / 1000);
    }

    #[test]
    fn merging_adds_everything() {
        let mut a = ThreadStats::default();
        let mut b = ThreadStats::default();
        a.samples = 5;
        b.samples = 7;
        ThreadStats::count(&mut a.rejected, "x".into());
        ThreadStats::count(&mut b.rejected, "x".into());
        ThreadStats::count(&mut b.rejected, "y".into());
        record(&mut b.handshake, Duration::from_millis(1));
        a.merge(b);
        assert_eq!(a.samples, 12);
        assert_eq!(a.rejected.get("x"), Some(&2));
        assert_eq!(a.rejected.get("y"), Some(&1));
        assert_eq!(a.handshake.len(), 1);
    }
}
