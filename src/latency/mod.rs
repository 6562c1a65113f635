//! The server's latency histograms: what each one measures, their bounds, recording,
//! merging (across shards) and their summary figures.
//!
//! Invariants: every histogram is an HdrHistogram of microseconds from [`LOWEST_US`] to
//! [`HIGHEST_US`] with [`SIGNIFICANT_DIGITS`] significant digits; a duration below 1 µs is
//! recorded as 1 µs and one above 60 s as 60 s (never dropped); histograms are cumulative
//! since the shard started, never reset. Pure: no clock reads, no I/O.

pub mod report;

use std::time::Duration;

use hdrhistogram::errors::AdditionError;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Smallest value a histogram tells apart, in µs.
pub const LOWEST_US: u64 = 1;
/// Largest value a histogram holds, in µs (60 s); bigger ones are recorded as this.
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant decimal digits kept of every value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The measured paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A receiver's socket read completed → its lines applied to the page cache (one
    /// sample per read batch).
    Ingest,
    /// One dbengine extent write, from its start to its completion.
    Flush,
    /// An HTTP API request parsed → its response written.
    Api,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Ingest, Kind::Flush, Kind::Api];

    /// The histogram's name in the JSON, the table and the log.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ingest => "ingest",
            Kind::Flush => "flush",
            Kind::Api => "api",
        }
    }

    /// What one sample of the histogram measures.
    pub fn measures(self) -> &'static str {
        match self {
            Kind::Ingest => "socket read completed -> lines applied to the page cache, one sample per read batch",
            Kind::Flush => "dbengine extent write, from its start to its completion, one sample per extent",
            Kind::Api => "HTTP API request parsed -> response written, one sample per request",
        }
    }
}

/// A new, empty histogram with the bounds of this module.
fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts (1 ≤ low, high ≥ 2·low, 3 digits).
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS).expect("constant histogram bounds are valid")
}

/// A duration in whole µs, clamped to the histogram bounds.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).clamp(LOWEST_US, HIGHEST_US)
}

/// One histogram per [`Kind`]: one shard's, or several shards' merged. A histogram is
/// allocated at its first sample (or first non-empty merge): each one is a 136 KiB array
/// that hdrhistogram writes in full when it creates it, and a shard that never serves the
/// API or writes extents (a headless collector) would keep all three resident for nothing.
#[derive(Debug, Clone, Default)]
pub struct Histograms {
    ingest: Option<Histogram<u64>>,
    flush: Option<Histogram<u64>>,
    api: Option<Histogram<u64>>,
}

impl Histograms {
    /// The histogram of `kind`, `None` while it has no sample.
    pub fn get(&self, kind: Kind) -> Option<&Histogram<u64>> {
        match kind {
            Kind::Ingest => self.ingest.as_ref(),
            Kind::Flush => self.flush.as_ref(),
            Kind::Api => self.api.as_ref(),
        }
    }

    /// The histogram of `kind`, allocated if it was not yet.
    fn get_mut(&mut self, kind: Kind) -> &mut Histogram<u64> {
        let slot = match kind {
            Kind::Ingest => &mut self.ingest,
            Kind::Flush => &mut self.flush,
            Kind::Api => &mut self.api,
        };
        slot.get_or_insert_with(new_histogram)
    }

    /// Records one sample of `kind`.
    pub fn record(&mut self, kind: Kind, d: Duration) {
        self.get_mut(kind).saturating_record(micros(d));
    }

    /// Adds every sample of `other` to these.
    pub fn merge(&mut self, other: &Histograms) -> Result<(), AdditionError> {
        for k in Kind::ALL {
            if let Some(h) = other.get(k).filter(|h| !h.is_empty()) {
                self.get_mut(k).add(h)?;
            }
        }
        Ok(())
    }

    /// The summary figures of the histogram of `kind`.
    pub fn summary(&self, kind: Kind) -> Summary {
        self.get(kind).map(Summary::of).unwrap_or_default()
    }
}

/// The figures of one histogram, in µs (all zero when it holds no sample).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    /// The 99.9th percentile.
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Summary {
    pub fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        Summary {
            count: h.len(),
            min: h.min(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn values_are_clamped_to_the_bounds_never_dropped() {
        let mut h = Histograms::default();
        h.record(Kind::Ingest, Duration::from_nanos(300));
        h.record(Kind::Ingest, Duration::from_secs(3600));
        let s = h.summary(Kind::Ingest);
        assert_eq!(s.count, 2);
        assert_eq!(s.min, 1);
        assert!(s.max >= HIGHEST_US && s.max <= HIGHEST_US + HIGHEST_US / 1000, "{s:?}");
        assert_eq!(h.summary(Kind::Flush), Summary::default(), "other kinds untouched");
    }

    #[test]
    fn summary_of_a_known_distribution() {
        let mut h = Histograms::default();
        for v in 1..=1000 {
            h.record(Kind::Api, us(v));
        }
        let s = h.summary(Kind::Api);
        assert_eq!((s.count, s.min, s.max), (1000, 1, 1000));
        assert_eq!((s.p50, s.p90, s.p99, s.p999), (500, 900, 990, 999));
        assert!((s.mean - 500.5).abs() < 0.5, "{s:?}");
    }

    #[test]
    fn merge_adds_every_kind() {
        let mut a = Histograms::default();
        let mut b = Histograms::default();
        for v in 1..=100 {
            a.record(Kind::Ingest, us(v));
            b.record(Kind::Ingest, us(v + 100));
        }
        a.record(Kind::Flush, us(5_000));
        b.record(Kind::Api, us(7));
        let mut m = Histograms::default();
        m.merge(&a).unwrap();
        m.merge(&b).unwrap();
        let s = m.summary(Kind::Ingest);
        assert_eq!((s.count, s.min, s.max, s.p50), (200, 1, 200, 100));
        assert_eq!(m.summary(Kind::Flush).count, 1);
        assert!((5_000..=5_005).contains(&m.summary(Kind::Flush).max), "3 significant digits");
        assert_eq!(m.summary(Kind::Api).count, 1);
        assert_eq!(a.summary(Kind::Ingest).count, 100, "the parts are unchanged");
    }

    #[test]
    fn a_histogram_is_allocated_only_by_its_first_sample() {
        let mut h = Histograms::default();
        assert!(Kind::ALL.iter().all(|k| h.get(*k).is_none()));
        let mut m = Histograms::default();
        m.merge(&h).unwrap();
        assert!(Kind::ALL.iter().all(|k| m.get(*k).is_none()), "merging nothing allocates nothing");
        h.record(Kind::Api, us(3));
        m.merge(&h).unwrap();
        assert!(m.get(Kind::Api).is_some() && m.get(Kind::Ingest).is_none() && m.get(Kind::Flush).is_none());
        assert_eq!(m.summary(Kind::Ingest), Summary::default());
        assert_eq!(m.summary(Kind::Api).count, 1);
    }
}
