//! The latency report as `/api/v1/latency` serves it (JSON, serde both ways so that
//! `strata report` reads what the server wrote) and as text: the table `strata report`
//! prints and the lines logged every minute.
//!
//! Invariants: every figure is in microseconds; `merged` is the sum of the histograms of
//! every shard listed (not an average of their percentiles); `since` is the earliest start
//! of a listed shard (histograms are never reset). Pure: the caller hands in the clock.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Histograms, Kind, Summary};

/// The reset policy, as the report states it.
pub const RESET_POLICY: &str = "never: cumulative since the shard started";

/// The three histograms' figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub ingest: Summary,
    pub flush: Summary,
    pub api: Summary,
}

impl Figures {
    pub fn of(h: &Histograms) -> Figures {
        Figures { ingest: h.summary(Kind::Ingest), flush: h.summary(Kind::Flush), api: h.summary(Kind::Api) }
    }

    pub fn get(&self, kind: Kind) -> &Summary {
        match kind {
            Kind::Ingest => &self.ingest,
            Kind::Flush => &self.flush,
            Kind::Api => &self.api,
        }
    }
}

/// One shard's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardFigures {
    pub shard: usize,
    /// Unix seconds when the shard started (its histograms count from then).
    pub since: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One shard's histograms, as the runtime gathered them.
#[derive(Debug, Clone)]
pub struct ShardHistograms {
    pub shard: usize,
    pub since: i64,
    pub histograms: Histograms,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Unit of every figure: `microseconds`.
    pub unit: String,
    /// When the histograms are reset ([`RESET_POLICY`]).
    pub reset: String,
    /// Unix seconds from which the merged histograms count (the earliest shard start).
    pub since: i64,
    /// Unix seconds when the report was made.
    pub now: i64,
    /// What one sample of each histogram measures.
    #[serde(default)]
    pub measures: BTreeMap<String, String>,
    /// Every shard's histograms added together.
    pub merged: Figures,
    pub shards: Vec<ShardFigures>,
}

impl Report {
    /// The report of these shards at unix time `now`. A histogram that cannot be merged
    /// (never: every one has the same bounds) is left out of `merged` and named in the
    /// error list returned beside the report.
    pub fn build(shards: &[ShardHistograms], now: i64) -> (Report, Vec<String>) {
        let mut merged = Histograms::default();
        let mut errors = Vec::new();
        for s in shards {
            if let Err(e) = merged.merge(&s.histograms) {
                errors.push(format!("the latency histograms of shard {} cannot be merged: {e}", s.shard));
            }
        }
        let report = Report {
            unit: "microseconds".into(),
            reset: RESET_POLICY.into(),
            since: shards.iter().map(|s| s.since).min().unwrap_or(now),
            now,
            measures: Kind::ALL.iter().map(|k| (k.name().to_string(), k.measures().to_string())).collect(),
            merged: Figures::of(&merged),
            shards: shards
                .iter()
                .map(|s| ShardFigures { shard: s.shard, since: s.since, figures: Figures::of(&s.histograms) })
                .collect(),
        };
        (report, errors)
    }

    /// The report as a text table: merged figures (`all`) then every shard's, per histogram.
    pub fn table(&self, source: &str) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "strata latency at {source}: microseconds, cumulative since {} ({} s), {} shard(s)",
            utc(self.since),
            (self.now - self.since).max(0),
            self.shards.len()
        );
        let _ = writeln!(
            o,
            "{:<9} {:>5} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
            "histogram", "shard", "count", "min", "p50", "p90", "p99", "p99.9", "max", "mean"
        );
        for k in Kind::ALL {
            row(&mut o, k.name(), "all", self.merged.get(k));
            for s in &self.shards {
                row(&mut o, k.name(), &s.shard.to_string(), s.figures.get(k));
            }
        }
        o
    }

    /// One log line per histogram of the merged figures.
    pub fn log_lines(&self) -> Vec<String> {
        Kind::ALL
            .iter()
            .map(|k| {
                let s = self.merged.get(*k);
                format!(
                    "LATENCY {} (all {} shard(s), us, since {}): count {}, min {}, p50 {}, p90 {}, p99 {}, p99.9 {}, max {}, mean {:.1}",
                    k.name(),
                    self.shards.len(),
                    utc(self.since),
                    s.count,
                    s.min,
                    s.p50,
                    s.p90,
                    s.p99,
                    s.p999,
                    s.max,
                    s.mean
                )
            })
            .collect()
    }
}

fn row(o: &mut String, name: &str, shard: &str, s: &Summary) {
    let _ = writeln!(
        o,
        "{name:<9} {shard:>5} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11.1}",
        s.count, s.min, s.p50, s.p90, s.p99, s.p999, s.max, s.mean
    );
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("unix {secs}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn shard(id: usize, since: i64, ingest: &[u64], api: &[u64]) -> ShardHistograms {
        let mut h = Histograms::default();
        for v in ingest {
            h.record(Kind::Ingest, Duration::from_micros(*v));
        }
        for v in api {
            h.record(Kind::Api, Duration::from_micros(*v));
        }
        ShardHistograms { shard: id, since, histograms: h }
    }

    fn two_shards() -> Report {
        let a = shard(0, 1_700_000_010, &[10, 20, 30], &[100]);
        let b = shard(1, 1_700_000_000, &[1000], &[]);
        let (r, errors) = Report::build(&[a, b], 1_700_000_100);
        assert!(errors.is_empty());
        r
    }

    #[test]
    fn merged_is_the_sum_of_the_shards_and_since_the_earliest_start() {
        let r = two_shards();
        assert_eq!(r.since, 1_700_000_000);
        assert_eq!(r.merged.ingest.count, 4);
        assert_eq!((r.merged.ingest.min, r.merged.ingest.max), (10, 1000));
        assert_eq!(r.merged.ingest.p50, 20, "a percentile of the merged samples, not of the shards' p50s");
        assert_eq!(r.merged.api.count, 1);
        assert_eq!(r.merged.flush, Summary::default());
        assert_eq!(r.shards[1].figures.ingest.count, 1);
        assert_eq!(r.shards[0].since, 1_700_000_010);
    }

    #[test]
    fn json_shape_and_round_trip() {
        let r = two_shards();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["unit"], "microseconds");
        assert_eq!(v["reset"], RESET_POLICY);
        assert_eq!(v["since"], 1_700_000_000);
        assert_eq!(v["now"], 1_700_000_100);
        for k in ["count", "min", "p50", "p90", "p99", "p999", "max", "mean"] {
            assert!(v["merged"]["ingest"].get(k).is_some(), "merged.ingest.{k}: {v}");
        }
        assert_eq!(v["merged"]["ingest"]["count"], 4);
        assert_eq!(v["merged"]["ingest"]["mean"], 265.0);
        assert_eq!(v["shards"][0]["shard"], 0);
        assert_eq!(v["shards"][0]["ingest"]["max"], 30, "a shard's figures sit beside its number");
        assert_eq!(v["shards"][1]["api"]["count"], 0);
        assert!(v["measures"]["flush"].as_str().unwrap().contains("extent"));
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn no_shard_means_empty_figures() {
        let (r, errors) = Report::build(&[], 42);
        assert!(errors.is_empty());
        assert_eq!((r.since, r.now), (42, 42));
        assert_eq!(r.merged, Figures::default());
        assert!(r.shards.is_empty());
    }

    #[test]
    fn table_and_log_lines() {
        let r = two_shards();
        let t = r.table("127.0.0.1:19999");
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2 + 3 * 3, "{t}");
        assert!(lines[0].contains("127.0.0.1:19999") && lines[0].contains("2023-11-14 22:13:20 UTC"), "{t}");
        assert!(lines[0].contains("(100 s)"), "{t}");
        assert!(lines[1].contains("p99.9"), "{t}");
        let ingest_all: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(ingest_all[..5], ["ingest", "all", "4", "10", "20"], "{t}");
        assert_eq!(lines[3].split_whitespace().take(3).collect::<Vec<_>>(), ["ingest", "0", "3"], "{t}");
        assert!(lines[5].starts_with("flush") && lines[8].starts_with("api"), "{t}");
        let log = r.log_lines();
        assert_eq!(log.len(), 3);
        assert!(log[0].starts_with("LATENCY ingest") && log[0].contains("count 4, min 10, p50 20"), "{log:?}");
        assert!(log[2].starts_with("LATENCY api") && log[2].contains("count 1"), "{log:?}");
    }
}
