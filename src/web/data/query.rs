//! Runs a fixed-step query over one chart's stored slots: dimension selection (hidden,
//! `dimensions=`, nonzero), grouping of `group` slots per row, reset flags. The result
//! is oldest-row-first with NaN for empty points; formatting happens elsewhere. Also
//! the machinery health lookups use (`points=1`).

use strata_storage::{ChartStore, Sample};

use super::dims::DimensionFilter;
use super::params::{Grouping, Options};
use super::window::{self, Plan};
use crate::hosts::Chart;

/// Most values (rows × dimensions) one query may produce; larger windows are grouped
/// into fewer rows.
pub const MAX_CELLS: usize = 2 * 1024 * 1024;

/// What to query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest<'a> {
    pub after: i64,
    pub before: i64,
    pub points: i64,
    pub group: Grouping,
    pub gtime: i64,
    pub options: Options,
    pub dimensions: Option<&'a str>,
}

/// One dimension of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDim {
    /// Column in the chart store (= index in `chart.dims`).
    pub column: usize,
    pub id: String,
    pub name: String,
    /// Not shown (chart-hidden/obsolete and not selected, or not selected by `dimensions=`).
    pub hidden: bool,
    /// Selected by `dimensions=`.
    pub selected: bool,
    /// At least one non-zero, non-empty value (or forced visible by the nonzero rules).
    pub nonzero: bool,
}

/// A query result: `rows × dims` values, oldest row first.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub dims: Vec<QueryDim>,
    /// Row times (the last slot of each row), oldest first.
    pub times: Vec<i64>,
    /// Row-major values; NaN = empty point.
    pub values: Vec<f64>,
    /// Per row: a counter reset/overflow happened in it.
    pub resets: Vec<bool>,
    pub update_every: i64,
    pub view_update_every: i64,
    /// Result time range: first slot of the oldest row .. newest row.
    pub after: i64,
    pub before: i64,
    /// Any end of the request was relative (the response is not cacheable).
    pub relative: bool,
    pub options: Options,
}

impl QueryResult {
    pub fn rows(&self) -> usize {
        self.times.len()
    }

    /// Value of dimension `d` in row `row` (NaN = empty).
    pub fn value(&self, row: usize, d: usize) -> f64 {
        self.values[row * self.dims.len() + d]
    }

    /// Indices of the dimensions shown with `options` (hidden and, with `nonzero`,
    /// all-zero dimensions are left out).
    pub fn visible(&self, options: Options) -> Vec<usize> {
        (0..self.dims.len())
            .filter(|&d| !self.dims[d].hidden && (!options.has(Options::NONZERO) || self.dims[d].nonzero))
            .collect()
    }
}

/// Slots read from the store at a time by [`Cursor`].
const READ_CHUNK: i64 = 4096;

/// Reads one column slot by slot in increasing time, [`READ_CHUNK`] slots per store read.
struct Cursor<'a> {
    store: &'a ChartStore,
    col: usize,
    ue: i64,
    /// Newest slot worth reading.
    last: i64,
    base: i64,
    buf: Vec<Sample>,
}

impl<'a> Cursor<'a> {
    fn new(store: &'a ChartStore, col: usize, ue: i64, last: i64) -> Self {
        Cursor { store, col, ue, last, base: 0, buf: Vec::new() }
    }

    /// The sample at slot `t` (a multiple of `ue`, not before the previous call's `t`).
    fn get(&mut self, t: i64) -> Sample {
        let mut k = (t - self.base) / self.ue;
        if t < self.base || k >= self.buf.len() as i64 {
            self.base = t;
            let to = (t + (READ_CHUNK - 1) * self.ue).min(self.last).max(t);
            self.store.read(self.col, t, to, &mut self.buf);
            k = 0;
        }
        self.buf.get(k as usize).copied().unwrap_or(Sample::Gap)
    }
}

/// The stored time range a query of `chart` reads (for loading it first), if any.
pub fn span(chart: &Chart, req: &QueryRequest) -> Option<(i64, i64)> {
    let ue = i64::from(chart.update_every.max(1));
    let opts = req.options;
    let (first, last) = (chart.store.first_time()?, chart.store.last_time()?);
    if last == 0 {
        return None;
    }
    let (after, before, _) = window::absolute(req.after, req.before, ue, first, last, opts.has(Options::ALLOW_PAST));
    let max_points = (MAX_CELLS / chart.dims.len().max(1)) as i64;
    let aligned = !opts.has(Options::NOT_ALIGNED);
    let plan = window::plan(after, before, req.points, req.gtime, ue, first, last, aligned, max_points)?;
    let (from, to) = (plan.after.max(first), plan.before.min(last));
    (from <= to).then_some((from, to))
}

/// Runs `req` against `chart`.
pub fn query(chart: &Chart, req: &QueryRequest) -> QueryResult {
    let ue = i64::from(chart.update_every.max(1));
    let opts = req.options;
    let mut dims: Vec<QueryDim> = chart
        .dims
        .iter()
        .enumerate()
        .map(|(i, d)| QueryDim {
            column: i,
            id: d.id().to_string(),
            name: d.name().to_string(),
            hidden: d.hidden || d.obsolete,
            selected: false,
            nonzero: false,
        })
        .collect();
    if let Some(list) = req.dimensions {
        select(&mut dims, &DimensionFilter::parse(list), opts);
    }
    let (first, last) = match (chart.store.first_time(), chart.store.last_time()) {
        (Some(f), Some(l)) => (f, l),
        _ => (0, 0),
    };
    let (after, before, relative) =
        window::absolute(req.after, req.before, ue, first, last, opts.has(Options::ALLOW_PAST));
    let mut result = QueryResult {
        dims,
        times: Vec::new(),
        values: Vec::new(),
        resets: Vec::new(),
        update_every: ue,
        view_update_every: ue,
        after,
        before,
        relative,
        options: opts,
    };
    let plan = if last == 0 {
        None
    } else {
        let max_points = (MAX_CELLS / result.dims.len().max(1)) as i64;
        let aligned = !opts.has(Options::NOT_ALIGNED);
        window::plan(after, before, req.points, req.gtime, ue, first, last, aligned, max_points)
    };
    let Some(plan) = plan else { return result };
    fill(chart, &plan, req.group, &mut result);
    result
}

/// Applies a `dimensions=` list: matching dimensions are selected (and shown even when
/// hidden by the chart), the rest hidden.
fn select(dims: &mut [QueryDim], filter: &DimensionFilter, opts: Options) {
    let (mut ids, mut names) = (opts.has(Options::MATCH_IDS), opts.has(Options::MATCH_NAMES));
    if !ids && !names {
        (ids, names) = (true, true);
    }
    for d in dims.iter_mut() {
        if (ids && filter.matches(&d.id)) || (names && filter.matches(&d.name)) {
            d.selected = true;
            d.hidden = false;
        } else {
            d.hidden = true;
        }
    }
}

fn fill(chart: &Chart, plan: &Plan, group: Grouping, r: &mut QueryResult) {
    let rows = plan.points;
    let nd = r.dims.len();
    let opts = r.options;
    r.view_update_every = plan.view_update_every();
    r.after = plan.after;
    r.before = plan.before;
    r.times = (0..rows).map(|k| plan.row_time(k)).collect();
    r.values = vec![f64::NAN; rows * nd];
    r.resets = vec![false; rows];
    let ue = plan.update_every;
    let (first, last) = match (chart.store.first_time(), chart.store.last_time()) {
        (Some(f), Some(l)) => (f, l),
        _ => return,
    };
    let mut buf: Vec<f64> = Vec::new();
    for d in 0..nd {
        // Hidden dimensions are only needed for percentage totals.
        if r.dims[d].hidden && !opts.has(Options::PERCENTAGE) {
            continue;
        }
        let col = r.dims[d].column;
        let mut cursor = Cursor::new(&chart.store, col, ue, last);
        for k in 0..rows {
            buf.clear();
            // Only stored slots are visited (a group may reach far beyond the database).
            let end = r.times[k].min(last);
            let start = (r.times[k] - (plan.group - 1) * ue).max(first);
            let mut t = start + (ue - start.rem_euclid(ue)) % ue;
            while t <= end {
                if let Sample::Value { value, reset } = cursor.get(t) {
                    if value.is_finite() {
                        buf.push(if opts.has(Options::ABSOLUTE) { value.abs() } else { value });
                        r.resets[k] |= reset;
                    }
                }
                t += ue;
            }
            let v = reduce(group, &buf, plan);
            if !v.is_nan() && v != 0.0 {
                r.dims[d].nonzero = true;
            }
            r.values[k * nd + d] = v;
        }
    }
    if opts.has(Options::NONZERO) && !r.dims.iter().any(|d| !d.hidden && d.nonzero) {
        // All shown dimensions are zero: show them all rather than nothing.
        for d in r.dims.iter_mut().filter(|d| !d.hidden) {
            d.nonzero = true;
        }
    }
}

/// Reduces the values of one row (time order, gaps removed) to one number; NaN = empty.
pub fn reduce(group: Grouping, v: &[f64], plan: &Plan) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len() as f64;
    let sum: f64 = v.iter().sum();
    match group {
        Grouping::Average => {
            if plan.resampling_group != 1 {
                sum / plan.resampling_divisor
            } else {
                sum / n
            }
        }
        Grouping::Sum => sum,
        // Netdata compares magnitudes: min is the value closest to zero, max the farthest.
        Grouping::Min => v.iter().copied().fold(v[0], |m, x| if x.abs() < m.abs() { x } else { m }),
        Grouping::Max => v.iter().copied().fold(v[0], |m, x| if x.abs() > m.abs() { x } else { m }),
        Grouping::IncrementalSum => v[v.len() - 1] - v[0],
        Grouping::Median => {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            let m = s.len() / 2;
            if s.len() % 2 == 0 {
                (s[m - 1] + s[m]) / 2.0
            } else {
                s[m]
            }
        }
        Grouping::Stddev | Grouping::Cv => {
            if v.len() < 2 {
                return 0.0;
            }
            let mean = sum / n;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
            let sd = var.sqrt();
            match group {
                Grouping::Stddev => sd,
                _ if mean == 0.0 => f64::NAN,
                _ => 100.0 * sd / mean.abs(),
            }
        }
        Grouping::Ses => {
            let alpha = 2.0 / (n + 1.0);
            v[1..].iter().fold(v[0], |level, x| alpha * x + (1.0 - alpha) * level)
        }
        Grouping::Des => {
            let alpha = 2.0 / (n + 1.0);
            let beta = alpha;
            let (mut level, mut trend) = (v[0], if v.len() > 1 { v[1] - v[0] } else { 0.0 });
            for x in &v[1..] {
                let prev = level;
                level = alpha * x + (1.0 - alpha) * (level + trend);
                trend = beta * (level - prev) + (1.0 - beta) * trend;
            }
            level
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::testutil::{chart_rows, chart_rows_db, chart_with, T0};

    fn req(after: i64, points: i64, group: Grouping) -> QueryRequest<'static> {
        QueryRequest { after, before: 0, points, group, gtime: 0, options: Options::default(), dimensions: None }
    }

    fn plan1() -> Plan {
        Plan { after: 0, before: 0, group: 4, points: 1, update_every: 1, resampling_group: 1, resampling_divisor: 1.0 }
    }

    #[test]
    fn reducers() {
        let p = plan1();
        let v = [3.0, -5.0, 1.0, 4.0];
        assert_eq!(reduce(Grouping::Average, &v, &p), 0.75);
        assert_eq!(reduce(Grouping::Sum, &v, &p), 3.0);
        assert_eq!(reduce(Grouping::Min, &v, &p), 1.0);
        assert_eq!(reduce(Grouping::Max, &v, &p), -5.0);
        assert_eq!(reduce(Grouping::IncrementalSum, &v, &p), 1.0);
        assert_eq!(reduce(Grouping::IncrementalSum, &[7.0], &p), 0.0);
        assert_eq!(reduce(Grouping::Median, &v, &p), 2.0);
        assert_eq!(reduce(Grouping::Median, &[5.0, 1.0, 3.0], &p), 3.0);
        assert!((reduce(Grouping::Stddev, &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &p) - 2.13809).abs() < 1e-5);
        assert!(reduce(Grouping::Average, &[], &p).is_nan());
        let mut r = p;
        r.resampling_group = 2;
        r.resampling_divisor = 2.0;
        assert_eq!(reduce(Grouping::Average, &[4.0, 6.0], &r), 5.0);
    }

    #[test]
    fn groups_rows_with_gaps() {
        // 12 slots T0..T0+11, column 0 = k, column 1 = 10k, gap at k = 6 in both
        let c = chart_with(12, &[6]);
        let r = query(&c, &req(-8, 2, Grouping::Average));
        assert_eq!(r.view_update_every, 4);
        // aligned to multiples of 4: rows end at T0+4 and T0+8 (T0 is a multiple of 4)
        assert_eq!(r.times, vec![T0 + 4, T0 + 8]);
        assert_eq!((r.after, r.before), (T0 + 1, T0 + 8));
        // row 1: k = 1..4; row 2: k = 5, 7, 8 (6 is a gap)
        assert_eq!(r.value(0, 0), 2.5);
        assert_eq!(r.value(1, 0), 20.0 / 3.0);
        assert_eq!(r.value(1, 1), 200.0 / 3.0);
        let r = query(&c, &req(-8, 2, Grouping::Max));
        assert_eq!((r.value(0, 0), r.value(1, 0)), (4.0, 8.0));
        let r = query(&c, &req(-8, 2, Grouping::Sum));
        assert_eq!((r.value(0, 1), r.value(1, 1)), (100.0, 200.0));
        let r = query(&c, &req(-8, 2, Grouping::IncrementalSum));
        assert_eq!((r.value(0, 0), r.value(1, 0)), (3.0, 3.0));
        // a row made only of gaps is empty
        let c = chart_with(12, &[9, 10, 11]);
        let r = query(&c, &req(-2, 0, Grouping::Average));
        assert_eq!(r.times, vec![T0 + 10, T0 + 11]);
        assert!(r.value(0, 0).is_nan() && r.value(1, 1).is_nan());
    }

    #[test]
    fn hidden_and_selected_dimensions() {
        let mut c = chart_with(12, &[]);
        c.dims[1].hidden = true;
        let r = query(&c, &req(-4, 0, Grouping::Average));
        assert_eq!(r.visible(Options::default()), vec![0]);
        assert!(r.value(0, 1).is_nan(), "hidden dims are not queried");
        let mut q = req(-4, 0, Grouping::Average);
        q.dimensions = Some("|d1");
        let r = query(&c, &q);
        assert_eq!(r.visible(Options::default()), vec![1], "selecting a hidden dim shows it");
        q.dimensions = Some("nomatch");
        assert!(query(&c, &q).visible(Options::default()).is_empty());
        q.dimensions = Some("dim*");
        q.options = Options(Options::MATCH_IDS);
        assert!(query(&c, &q).visible(Options::default()).is_empty(), "names not matched with match_ids");
    }

    #[test]
    fn nonzero_marks() {
        let rows: Vec<Vec<Option<f64>>> = (0..8).map(|k| vec![Some(0.0), Some(k as f64), None]).collect();
        let c = chart_rows("t.z", &[("a", "a"), ("b", "b"), ("c", "c")], 1, &rows);
        let mut q = req(-4, 0, Grouping::Average);
        q.options = Options(Options::NONZERO);
        let r = query(&c, &q);
        assert_eq!(r.visible(q.options), vec![1]);
        assert_eq!(r.visible(Options::default()), vec![0, 1, 2]);
        // every shown dimension zero or empty: all of them are shown
        let rows: Vec<Vec<Option<f64>>> = (0..8).map(|_| vec![Some(0.0), None]).collect();
        let c = chart_rows("t.z", &[("a", "a"), ("b", "b")], 1, &rows);
        assert_eq!(query(&c, &q).visible(q.options), vec![0, 1]);
    }

    #[test]
    fn dbengine_answers_exactly_like_ram() {
        // 900 slots at 2 s (the ram ring holds 1000), gaps here and there, a dimension
        // that is empty for a while.
        let rows: Vec<Vec<Option<f64>>> = (0..900)
            .map(|k| {
                let a = (k % 17 != 3).then_some(k as f64 * 0.5);
                let b = (!(300..420).contains(&k)).then_some(-(k as f64));
                vec![a, b, Some(1.0)]
            })
            .collect();
        let dims = [("a", "a"), ("b", "b"), ("c", "c")];
        let ram = chart_rows("t.x", &dims, 2, &rows);
        let db = chart_rows_db("t.x", &dims, 2, &rows, 100);
        assert_eq!((ram.store.first_time(), ram.store.last_time()), (db.store.first_time(), db.store.last_time()));
        for (after, before, points, group) in [
            (-600, 0, 0, Grouping::Average),
            (-1800, 0, 50, Grouping::Max),
            (0, 0, 0, Grouping::Sum),
            (T0 + 100, T0 + 1500, 7, Grouping::Median),
            (-1200, -400, 0, Grouping::IncrementalSum),
        ] {
            let q =
                QueryRequest { after, before, points, group, gtime: 0, options: Options::default(), dimensions: None };
            let (r, d) = (query(&ram, &q), query(&db, &q));
            assert!(r.rows() > 0, "{q:?}");
            assert_eq!((r.times.clone(), r.after, r.before), (d.times.clone(), d.after, d.before), "{q:?}");
            let bits = |x: &QueryResult| x.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&r), bits(&d), "{q:?}");
            assert_eq!(span(&ram, &q), span(&db, &q));
        }
    }

    #[test]
    fn empty_chart_gives_no_rows() {
        let c = chart_with(0, &[]);
        let r = query(&c, &req(-600, 0, Grouping::Average));
        assert_eq!(r.rows(), 0);
        assert_eq!(r.view_update_every, 1);
    }
}
