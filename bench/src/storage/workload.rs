//! What the storage benchmark writes: hosts of charts whose rows come from a data set.
//!
//! Owns: the shape of a write (hosts × charts × seconds) and the row a chart stores at a
//! slot, so the writer and the verifier agree on every value. A host replays one
//! *template* (the charts of one capture of a real child, or a synthetic chart set):
//! host `h` uses template `h mod n`, under its own machine GUID. When `tile` is set, a
//! chart's rows repeat cyclically for the whole span, each (host, chart) starting at its
//! own offset so that hosts do not store identical blocks; otherwise a chart stores its
//! rows once. Invariants: slot times are `T0 + k × update_every` with `T0` a multiple of
//! every `update_every` used; everything is deterministic.

use strata_storage::Sample;

use crate::series::ChartSeries;

/// Time of the first slot (a multiple of 3600, so of every usual `update_every`).
pub const T0: i64 = 1_699_999_200;

/// One data set written by many hosts.
#[derive(Debug, Clone)]
pub struct Workload {
    /// What the rows are (printed with the figures).
    pub name: String,
    /// One entry per kind of host: its charts (non-empty rows, at least one column).
    pub templates: Vec<Vec<ChartSeries>>,
    pub hosts: usize,
    /// Seconds covered when tiling (each chart stores `seconds / update_every` rows).
    pub seconds: i64,
    pub tile: bool,
}

/// One chart of one host, as the writer and the verifier see it.
#[derive(Debug, Clone, Copy)]
pub struct ChartRef<'a> {
    pub host: usize,
    pub guid_index: usize,
    pub series: &'a ChartSeries,
    offset: usize,
    rows: usize,
}

impl<'a> ChartRef<'a> {
    pub fn update_every(&self) -> i64 {
        i64::from(self.series.update_every.max(1))
    }

    /// Rows this chart stores.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The row stored at row index `k` (slot `T0 + k × update_every`).
    pub fn row(&self, k: usize) -> &'a [Sample] {
        let len = self.series.rows.len().max(1);
        &self.series.rows[(k + self.offset) % len]
    }

    pub fn time(&self, k: usize) -> i64 {
        T0 + k as i64 * self.update_every()
    }

    pub fn last_time(&self) -> i64 {
        self.time(self.rows.saturating_sub(1))
    }
}

/// The machine GUID of host `h`.
pub fn host_guid(h: usize) -> String {
    format!("{h:08x}-5354-4241-8000-00000000be9c")
}

impl Workload {
    /// Keeps only charts that store something (rows and columns).
    pub fn new(name: &str, templates: Vec<Vec<ChartSeries>>, hosts: usize, seconds: i64, tile: bool) -> Workload {
        let templates: Vec<Vec<ChartSeries>> = templates
            .into_iter()
            .map(|t| t.into_iter().filter(|c| !c.rows.is_empty() && c.columns() > 0).collect::<Vec<_>>())
            .filter(|t| !t.is_empty())
            .collect();
        Workload { name: name.to_string(), templates, hosts: hosts.max(1), seconds: seconds.max(1), tile }
    }

    /// Every chart of every host, hosts in order.
    pub fn charts(&self) -> Vec<ChartRef<'_>> {
        let mut out = Vec::new();
        if self.templates.is_empty() {
            return out;
        }
        for h in 0..self.hosts {
            let t = &self.templates[h % self.templates.len()];
            for (c, s) in t.iter().enumerate() {
                let len = s.rows.len();
                let ue = i64::from(s.update_every.max(1));
                let (offset, rows) = if self.tile {
                    ((h * 7919 + c * 131) % len, (self.seconds / ue).max(1) as usize)
                } else {
                    (0, len)
                };
                out.push(ChartRef { host: h, guid_index: h, series: s, offset, rows });
            }
        }
        out
    }

    /// Seconds from the first slot to after the last one of any chart.
    pub fn span_seconds(&self) -> i64 {
        self.charts().iter().map(|c| c.rows() as i64 * c.update_every()).max().unwrap_or(0)
    }

    /// Dimensions per host, averaged over the templates the hosts use.
    pub fn dims_per_host(&self) -> f64 {
        if self.templates.is_empty() {
            return 0.0;
        }
        let n = self.hosts.min(self.templates.len()).max(1);
        let dims: usize =
            self.templates.iter().take(n).map(|t| t.iter().map(ChartSeries::columns).sum::<usize>()).sum();
        dims as f64 / n as f64
    }

    /// Values (not gaps) the workload stores.
    pub fn values(&self) -> u64 {
        self.charts()
            .iter()
            .map(|c| {
                (0..c.rows())
                    .map(|k| c.row(k).iter().filter(|s| matches!(s, Sample::Value { .. })).count() as u64)
                    .sum::<u64>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: usize, ue: u32) -> ChartSeries {
        ChartSeries {
            source: "t".into(),
            chart: format!("c{ue}"),
            update_every: ue,
            rows: (0..rows).map(|i| vec![Sample::Value { value: i as f64, reset: false }, Sample::Gap]).collect(),
        }
    }

    #[test]
    fn tiled_charts_repeat_their_rows_from_their_own_offset() {
        let w = Workload::new("t", vec![vec![set(10, 1), set(4, 2)]], 3, 100, true);
        let charts = w.charts();
        assert_eq!(charts.len(), 6);
        assert_eq!(charts.iter().map(ChartRef::rows).collect::<Vec<_>>(), vec![100, 50, 100, 50, 100, 50]);
        let c = charts[2];
        assert_eq!(c.host, 1);
        assert_eq!(c.row(10), c.row(0), "period of 10 rows");
        assert_ne!(c.row(0), charts[0].row(0), "hosts start at different offsets");
        assert_eq!(charts[1].last_time(), T0 + 49 * 2);
        assert_eq!(w.span_seconds(), 100);
        assert_eq!(w.values(), 3 * (100 + 50));
    }

    #[test]
    fn untiled_charts_store_their_rows_once() {
        let w = Workload::new("t", vec![vec![set(10, 1)], vec![set(3, 1), set(0, 1)]], 2, 1000, false);
        let charts = w.charts();
        assert_eq!(charts.len(), 2, "the empty chart is left out");
        assert_eq!((charts[0].rows(), charts[1].rows()), (10, 3));
        assert_eq!(charts[1].row(2)[0], Sample::Value { value: 2.0, reset: false });
        assert_eq!(w.dims_per_host(), 2.0);
    }
}
