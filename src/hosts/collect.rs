//! Collected integers → stored slot values: the chart collection clock (`BEGIN` timing,
//! streaming-protocol.md §4.6) and Netdata's `rrdset_done` (dbengine-facts.md §2,
//! steps A–E), per chart.
//!
//! Owns: [`ChartClock`] (per chart) and [`DimState`] (per dimension). Invariants: times
//! are µs; `last_updated_ut` is always a multiple of the chart's `update_every` in µs;
//! every `END` appends slots in increasing time order through `ChartStore::append`, one
//! sample per dimension in `Chart::dims` order; a gap is appended as a gap, never a zero.
//! Wall-clock time is always a parameter; nothing here reads a clock or allocates in
//! steady state (the sample row is a scratch vector of the thread, [`ROW`]).
//!
//! Choices where Netdata differs between versions or the facts are silent:
//! * percentage-of-incremental-row divides by Σ(value − prev) of the updated dimensions
//!   after the decrease check (v1.37.1), not by the difference of the row totals
//!   (v1.29.3); everything else is v1.29.3.
//! * a `BEGIN` value above 5 × `update_every` is treated as 0 (parent clock, REC-9).
//! * a long pause (ram ring) resets the chart clock and the collection that arrives after
//!   it becomes the new baseline, exactly like a chart's first collection.
//! * runs of slots that are gaps anyway (more than `gap_limit` lost iterations) are
//!   skipped in O(1) instead of slot by slot; the result is the same up to rounding.

use std::cell::RefCell;

use strata_storage::{ChartStore, Sample};

use super::{Algorithm, Chart, Dimension};

/// µs per second.
pub const USEC_PER_SEC: i64 = 1_000_000;

/// `gap when lost iterations above` (1) + 2: only the last `GAP_LIMIT - 1` slots of one
/// `END` are stored.
pub const GAP_LIMIT: i64 = 3;

/// Largest `update_every` accepted for a chart (seconds); keeps clock arithmetic sane.
pub const MAX_UPDATE_EVERY: u32 = 86_400;

/// Collection clock and per-chart algorithm state (dbengine-facts.md §2 "Per-chart state").
#[derive(Debug, Default, Clone)]
pub struct ChartClock {
    /// `LC`: time of the latest collection (µs, not aligned); 0 = never.
    pub last_collected_ut: i64,
    /// `LU`: time of the newest slot written (µs, multiple of `update_every`); 0 = never.
    pub last_updated_ut: i64,
    /// `D`: the interval the next `END` adds to `LC` (µs).
    pub interval_ut: i64,
    /// Number of `END`s processed since creation (or the last reset).
    pub done_count: u64,
    /// Row total of the previous collection (kept for reference; the v1.37.1 denominator
    /// is used for percentage-of-incremental-row).
    pub prev_total: i64,
    /// "Sync clock": the next `BEGIN` (not the first collection) ignores its value. Set on
    /// creation and by every `CHART` and `DIMENSION` line.
    pub resync: bool,
    /// The definition changed and must be forwarded again by a proxy.
    pub definition_dirty: bool,
    /// Slots the store refused (time not after its last slot, after a re-anchor).
    pub slots_rejected: u64,
    /// Collected values (dimensions `SET` in a block that `END` closed) over the chart's
    /// life; never reset, so it counts every sample a child delivered, stored or not.
    pub values_collected: u64,
}

impl ChartClock {
    /// The clock of a chart just created: never collected, resync pending, definition
    /// to be forwarded.
    pub fn new_chart() -> Self {
        ChartClock { resync: true, definition_dirty: true, ..Default::default() }
    }
}

/// Per-dimension algorithm state (dbengine-facts.md §2 "Per-dimension state").
#[derive(Debug, Default, Clone)]
pub struct DimState {
    /// Value collected in this collection.
    pub value: i64,
    /// A `SET` with a value arrived since the previous `END`.
    pub updated: bool,
    /// `SET`s ever received (reset only by a chart reset; saturates, only `≤ 1` matters).
    pub count: u32,
    /// Value at its previous collection.
    pub prev: i64,
    /// Some |value| ever `SET` exceeded `u32::MAX` (decides the wrap-around of a
    /// decreasing incremental counter: 64-bit or 32-bit).
    pub wide: bool,
    /// This collection's calculated amount.
    pub calc: f64,
    /// Incremental: the not-yet-stored part of earlier deltas; other algorithms: the
    /// previous collection's `calc`.
    pub carry: f64,
    /// `SET`s since the previous `END` (undone by `FLUSH`).
    block_sets: u32,
    /// `wide` before the first `SET` of the open block (restored by `FLUSH`).
    block_wide: bool,
}

/// What one `END` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndOutcome {
    /// Slots appended (gap slots included).
    pub slots: u64,
    /// Values (not gaps) appended, over all dimensions (a `none` store discards them).
    pub values: u64,
    /// Slots the store refused.
    pub rejected: u64,
    /// Collected values this `END` closed (dimensions `SET` since the previous `END`).
    pub collected: u64,
    /// The chart clock was reset by a long pause before this collection.
    pub reset: bool,
}

fn ue_secs(chart_ue: u32) -> i64 {
    i64::from(chart_ue.clamp(1, MAX_UPDATE_EVERY))
}

/// Seconds of `t_us` rounded down to a multiple of `ue` seconds, in µs.
fn floor_to_ue(t_us: i64, ue: i64) -> i64 {
    let s = t_us.div_euclid(USEC_PER_SEC);
    (s - s.rem_euclid(ue)) * USEC_PER_SEC
}

/// `BEGIN` for a chart: computes `D` from the child's microseconds and the wall clock
/// `now_us` (streaming-protocol.md §4.6, v1.29.3 "filtered" rules plus REC-9).
pub fn begin(chart: &mut Chart, microseconds: u64, now_us: i64) {
    let ue = ue_secs(chart.update_every);
    let ue_ut = ue * USEC_PER_SEC;
    let c = &mut chart.clock;
    if c.done_count == 0 || c.last_collected_ut == 0 {
        // First collection: the field is ignored, END anchors the clock.
        return;
    }
    let mut us = i64::try_from(microseconds).unwrap_or(i64::MAX);
    if c.resync {
        c.resync = false;
        us = 0;
    }
    if us > 5 * ue_ut {
        us = 0; // REC-9: an implausible child interval falls back to the parent clock
    }
    let since = now_us.saturating_sub(c.last_collected_ut);
    if since < 0 {
        // The chart clock is in the future: re-anchor one update_every before now. Also for
        // field 0, where Netdata (rule 3) moves the clock further ahead by the difference:
        // a child alternating large and zero fields would double it at every collection
        // until it overflows (REC-9: timestamps are the parent's responsibility).
        let base = now_us.saturating_sub(ue_ut);
        let aligned = floor_to_ue(base, ue);
        c.last_collected_ut = aligned + if chart.store_first { 0 } else { USEC_PER_SEC / 2 };
        c.last_updated_ut = aligned;
        c.interval_ut = ue_ut;
    } else if us == 0 || since > 5 * ue_ut {
        c.interval_ut = since;
    } else {
        c.interval_ut = us;
    }
}

thread_local! {
    /// The row of samples `end` appends, reused by every chart of the thread's shard.
    static ROW: RefCell<Vec<Sample>> = const { RefCell::new(Vec::new()) };
}

/// `SET`: `value := v; updated := true; count += 1; wide |= |v| > u32::MAX`.
pub fn set(dim: &mut Dimension, v: i64) {
    let s = &mut dim.state;
    if s.block_sets == 0 {
        s.block_wide = s.wide;
    }
    s.value = v;
    s.updated = true;
    s.count = s.count.saturating_add(1);
    s.block_sets = s.block_sets.saturating_add(1);
    s.wide |= v.unsigned_abs() > u64::from(u32::MAX);
}

/// `FLUSH`: discards the values `SET` since the previous `END` of this chart (REC), as if
/// those `SET`s had never arrived.
pub fn flush(chart: &mut Chart) {
    for d in &mut chart.dims {
        let s = &mut d.state;
        if s.block_sets > 0 {
            s.count = s.count.saturating_sub(s.block_sets);
            s.wide = s.block_wide;
        }
        s.block_sets = 0;
        s.value = 0;
        s.updated = false;
    }
}

/// Resets the chart clock and every dimension's algorithm state, so that the next
/// collection is a new baseline (values already `SET` in the open block count as that
/// baseline's collection). Used after a long pause and when `update_every` changes.
pub fn reset(chart: &mut Chart) {
    reset_parts(&mut chart.clock, &mut chart.dims);
}

fn reset_parts(c: &mut ChartClock, dims: &mut [Dimension]) {
    c.last_collected_ut = 0;
    c.last_updated_ut = 0;
    c.interval_ut = 0;
    c.done_count = 0;
    c.prev_total = 0;
    for d in dims {
        let s = &mut d.state;
        s.count = u32::from(s.block_sets > 0);
        s.calc = 0.0;
        s.carry = 0.0;
    }
}

/// The ring length of a store in µs, when the store is a ring.
fn ring_span_ut(store: &ChartStore, ue_ut: i64) -> Option<i64> {
    store.ring_entries().map(|n| (n as i64).saturating_mul(ue_ut))
}

/// `END` (`rrdset_done`, steps A–E): turns this collection into stored slots, appended
/// to `chart.store`. `now_us` is the parent's wall clock, used only to anchor the first
/// collection.
pub fn end(chart: &mut Chart, now_us: i64) -> EndOutcome {
    let ue = ue_secs(chart.update_every);
    let ue_ut = ue * USEC_PER_SEC;
    let store_first = chart.store_first;
    let Chart { clock: c, dims, store, .. } = chart;
    let mut out = EndOutcome::default();

    // Long pause on a ring: start over with this collection as the baseline.
    if let Some(span) = ring_span_ut(store, ue_ut) {
        if c.last_collected_ut != 0
            && c.last_updated_ut != 0
            && c.last_collected_ut.saturating_add(c.interval_ut).saturating_sub(c.last_updated_ut) > span
        {
            reset_parts(c, dims);
            out.reset = true;
        }
    }

    // A. Advance the clock.
    let mut store_it = true;
    let mut first = false;
    let mut prev_lc;
    if c.last_collected_ut == 0 {
        let anchor = floor_to_ue(now_us, ue);
        c.last_collected_ut = anchor + if store_first { 0 } else { USEC_PER_SEC / 2 };
        prev_lc = c.last_collected_ut - ue_ut;
        store_it = false;
        first = true;
    } else {
        prev_lc = c.last_collected_ut;
        c.last_collected_ut = c.last_collected_ut.saturating_add(c.interval_ut);
    }
    if c.last_updated_ut == 0 {
        c.last_updated_ut = floor_to_ue(c.last_collected_ut, ue) - if store_first { ue_ut } else { 0 };
        store_it = false;
        first = true;
    }
    let now = c.last_collected_ut;
    let next = c.last_updated_ut.saturating_add(ue_ut);
    if c.done_count == 0 {
        if store_first {
            store_it = true;
            prev_lc = next - ue_ut;
        } else {
            store_it = false;
        }
    }
    c.done_count = c.done_count.saturating_add(1);

    // B. Row total over the updated dimensions, whatever their algorithm.
    let mut total: i64 = 0;
    for d in dims.iter().filter(|d| d.state.updated) {
        total = total.wrapping_add(d.state.value);
        out.collected += 1;
    }
    c.values_collected = c.values_collected.saturating_add(out.collected);
    let mut reset_seen = false;

    // C. Calculated amounts. The percentage-of-incremental-row decrease check runs first
    // so that the v1.37.1 denominator sees the reset `prev`.
    for d in dims.iter_mut() {
        let s = &mut d.state;
        if s.updated && d.algorithm == Algorithm::PercentageOfIncrementalRow && s.count > 1 && s.prev > s.value {
            if !d.noreset {
                reset_seen = true;
            }
            s.prev = s.value;
        }
    }
    let mut incr_total: i64 = 0;
    for d in dims.iter().filter(|d| d.state.updated) {
        incr_total = incr_total.wrapping_add(d.state.value.wrapping_sub(d.state.prev));
    }
    for d in dims.iter_mut() {
        let (mul, div) = (d.multiplier as f64, if d.divisor == 0 { 1.0 } else { d.divisor as f64 });
        let s = &mut d.state;
        if !s.updated {
            s.calc = 0.0;
            continue;
        }
        s.calc = match d.algorithm {
            Algorithm::Absolute => s.value as f64 * mul / div,
            Algorithm::PercentageOfAbsoluteRow => {
                if total == 0 {
                    0.0
                } else {
                    100.0 * s.value as f64 / total as f64
                }
            }
            Algorithm::Incremental => {
                if s.count <= 1 {
                    0.0
                } else if (s.prev as u64) > (s.value as u64) {
                    if !d.noreset {
                        reset_seen = true;
                    }
                    let cap: u64 = if s.wide { u64::MAX } else { u64::from(u32::MAX) };
                    let delta = cap.wrapping_sub(s.prev as u64).wrapping_add(s.value as u64);
                    if delta < (cap / 100) * 10 {
                        delta as f64 * mul / div
                    } else {
                        0.0
                    }
                } else {
                    s.value.wrapping_sub(s.prev) as f64 * mul / div
                }
            }
            Algorithm::PercentageOfIncrementalRow => {
                if s.count <= 1 || incr_total == 0 {
                    0.0
                } else {
                    100.0 * s.value.wrapping_sub(s.prev) as f64 / incr_total as f64
                }
            }
        };
    }

    // D. Fill the slots from `next` up to `now`.
    let mut left = (now - c.last_updated_ut).div_euclid(ue_ut);
    if now.rem_euclid(ue_ut) == 0 {
        left += 1;
    }
    let mut reset_flag = reset_seen;
    let mut t = next;
    let mut lc = prev_lc;
    let span = |a: i64, b: i64| (a - b) as f64;
    let ue_f = ue as f64;
    // The row buffer is the thread's (one per shard, not one per chart); taken out for
    // this call and put back at its end (an early exit only costs a new allocation).
    let mut row = ROW.with(|r| std::mem::take(&mut *r.borrow_mut()));
    row.clear();
    while t <= now {
        let remaining = (now - t) / ue_ut + 1;
        let gap_run = if !store_it {
            remaining
        } else if left >= GAP_LIMIT {
            (left - GAP_LIMIT + 1).min(remaining)
        } else {
            0
        };
        if gap_run > 1 {
            // Every slot of this run is a gap: jump to its last slot. Incremental amounts
            // falling on these slots are lost (telescoped share), carries are dropped.
            let t_last = t + (gap_run - 1) * ue_ut;
            let denom = span(now, lc);
            for d in dims.iter_mut() {
                if d.algorithm == Algorithm::Incremental {
                    let s = &mut d.state;
                    s.calc = if denom > 0.0 { s.calc * span(now, t_last) / denom } else { 0.0 };
                    s.carry = 0.0;
                }
            }
            row.clear();
            row.resize(dims.len(), Sample::Gap);
            out.slots += gap_run as u64;
            if store.append(t_last / USEC_PER_SEC, &row).is_err() {
                out.rejected += 1;
            }
            reset_flag = false;
            c.last_updated_ut = t_last;
            lc = t_last;
            t = t_last + ue_ut;
            left -= gap_run;
            continue;
        }
        let denom = span(now, lc);
        let frac = if denom > 0.0 { span(t, lc) / denom } else { 1.0 };
        row.clear();
        let mut values = 0u64;
        for d in dims.iter_mut() {
            let s = &mut d.state;
            let v = if d.algorithm == Algorithm::Incremental {
                let part = s.calc * frac;
                s.calc -= part;
                let v = (part + s.carry) / ue_f;
                s.carry = 0.0;
                v
            } else if left == 1 {
                s.calc
            } else {
                (s.calc - s.carry) * frac + s.carry
            };
            let sample = if store_it && s.updated && s.count > 1 && left < GAP_LIMIT {
                if v.is_finite() {
                    values += 1;
                }
                Sample::Value { value: v, reset: reset_flag }
            } else {
                Sample::Gap
            };
            row.push(sample);
        }
        out.slots += 1;
        match store.append(t / USEC_PER_SEC, &row) {
            Ok(()) => out.values += values,
            Err(_) => out.rejected += 1,
        }
        reset_flag = false;
        c.last_updated_ut = t;
        lc = t;
        t += ue_ut;
        left -= 1;
    }
    ROW.with(|r| *r.borrow_mut() = row);
    c.slots_rejected = c.slots_rejected.saturating_add(out.rejected);

    // E. Remember.
    c.prev_total = total;
    let lc_now = c.last_collected_ut;
    for d in dims.iter_mut() {
        let s = &mut d.state;
        if s.updated {
            s.prev = s.value;
            if d.algorithm == Algorithm::Incremental {
                if !first {
                    s.carry += s.calc;
                }
            } else {
                s.carry = s.calc;
            }
            d.last_collected_ut = lc_now;
        }
        s.calc = 0.0;
        s.value = 0;
        s.updated = false;
        s.block_sets = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::Algorithm::{Absolute, Incremental, PercentageOfAbsoluteRow, PercentageOfIncrementalRow};

    const S: i64 = USEC_PER_SEC;
    /// Wall clock of every test's first END: 1000.3 s, so `LC` = 1000.5 s.
    const T0: i64 = 1_000_300_000;

    fn chart(dims: &[(&str, Algorithm, i64, i64)]) -> Chart {
        let mut c = Chart::new("t.c", 1, ChartStore::ram(100, 1));
        for (id, a, m, d) in dims {
            c.add_dimension(id.as_bytes(), *a, *m, *d);
        }
        c
    }

    /// One collection with `BEGIN … 0` at wall clock `now_us` (so `D` = now − LC).
    fn collect(c: &mut Chart, now_us: i64, values: &[Option<i64>]) -> EndOutcome {
        begin(c, 0, now_us);
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                set(&mut c.dims[i], *v);
            }
        }
        end(c, now_us)
    }

    fn at(secs: f64) -> i64 {
        (secs * 1e6).round() as i64
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[track_caller]
    fn assert_slot(c: &Chart, col: usize, t: i64, expected: Option<(f64, bool)>) {
        match (c.store.get(col, t), expected) {
            (Sample::Gap, None) => {}
            (Sample::Value { value, reset }, Some((e, er))) => {
                assert!(close(value, e), "col {col} slot {t}: stored {value}, expected {e}");
                assert_eq!(reset, er, "col {col} slot {t}: reset flag");
            }
            (got, exp) => panic!("col {col} slot {t}: stored {got:?}, expected {exp:?}"),
        }
    }

    fn v(x: f64) -> Option<(f64, bool)> {
        Some((x, false))
    }

    fn r(x: f64) -> Option<(f64, bool)> {
        Some((x, true))
    }

    #[test]
    fn example_1_absolute_with_missed_slots() {
        let mut c = chart(&[("A", Absolute, 1, 1), ("B", Absolute, -1, 10)]);
        let o = collect(&mut c, T0, &[Some(10), Some(50)]);
        assert_eq!((o.slots, o.values), (0, 0), "first END stores nothing");
        assert_eq!(c.store.last_time(), None);
        assert_eq!(c.clock.last_collected_ut, at(1000.5));
        assert_eq!(c.clock.last_updated_ut, 1000 * S);
        collect(&mut c, at(1001.5), &[Some(20), Some(50)]);
        assert_slot(&c, 0, 1001, v(20.0));
        assert_slot(&c, 1, 1001, v(-5.0));
        collect(&mut c, at(1002.5), &[Some(30), Some(70)]);
        assert_slot(&c, 0, 1002, v(30.0));
        assert_slot(&c, 1, 1002, v(-7.0));
        let o = collect(&mut c, at(1005.5), &[Some(60), Some(100)]);
        assert_eq!((o.slots, o.values), (3, 4));
        assert_eq!(c.clock.last_collected_ut, at(1005.5));
        assert_slot(&c, 0, 1003, None);
        assert_slot(&c, 1, 1003, None);
        assert_slot(&c, 0, 1004, v(42.0));
        assert_slot(&c, 1, 1004, v(-8.2));
        assert_slot(&c, 0, 1005, v(60.0));
        assert_slot(&c, 1, 1005, v(-10.0));
        assert_eq!(c.store.last_time(), Some(1005));
    }

    #[test]
    fn example_2_incremental_wrap_and_reset() {
        let mut c = chart(&[("I", Incremental, 1, 1), ("J", Incremental, 8, 1024)]);
        let collected: [i64; 7] = [4294967000, 4294967100, 4294967200, 4, 1000, 10, 110];
        let expected = [(50.0, false), (100.0, false), (99.5, true), (547.5, false), (498.0, true), (50.0, false)];
        for (k, &x) in collected.iter().enumerate() {
            collect(&mut c, T0 + 200_000 + k as i64 * S, &[Some(x), Some(x)]);
        }
        for (k, &(e, reset)) in expected.iter().enumerate() {
            let t = 1001 + k as i64;
            assert_slot(&c, 0, t, Some((e, reset)));
            assert_slot(&c, 1, t, Some((e * 8.0 / 1024.0, reset)));
        }
        let scaled = [0.390625, 0.78125, 0.777344, 4.277344, 3.890625, 0.390625];
        for (k, &e) in scaled.iter().enumerate() {
            let Sample::Value { value, .. } = c.store.get(1, 1001 + k as i64) else { panic!("gap") };
            assert!((value - e).abs() < 1e-6, "slot {}: {value} vs {e}", 1001 + k);
        }
        assert!(close(c.dims[0].state.carry, 50.0));
    }

    #[test]
    fn example_3a_percentage_of_absolute_row() {
        let mut c = chart(&[
            ("P", PercentageOfAbsoluteRow, 1, 1),
            ("Q", PercentageOfAbsoluteRow, 1, 1),
            ("R", Absolute, 1, 1000),
        ]);
        collect(&mut c, T0, &[Some(1), Some(3), Some(4)]);
        collect(&mut c, at(1001.5), &[Some(1), Some(3), Some(4)]);
        assert_slot(&c, 0, 1001, v(12.5));
        assert_slot(&c, 1, 1001, v(37.5));
        assert_slot(&c, 2, 1001, v(0.004));
        collect(&mut c, at(1002.5), &[Some(1), Some(3), None]);
        assert_slot(&c, 0, 1002, v(25.0));
        assert_slot(&c, 1, 1002, v(75.0));
        assert_slot(&c, 2, 1002, None);
    }

    #[test]
    fn example_3b_percentage_of_incremental_row_v1_37_denominator() {
        let mut c = chart(&[
            ("U", PercentageOfIncrementalRow, 1, 1),
            ("S", PercentageOfIncrementalRow, 1, 1),
            ("I", PercentageOfIncrementalRow, 1, 1),
        ]);
        let rows = [[1000, 500, 8500], [1030, 520, 8550], [1060, 530, 8610], [0, 540, 8680], [40, 560, 8740]];
        for (k, row) in rows.iter().enumerate() {
            collect(&mut c, T0 + 200_000 + k as i64 * S, &[Some(row[0]), Some(row[1]), Some(row[2])]);
        }
        let expected = [
            [v(30.0), v(20.0), v(50.0)],
            [v(30.0), v(10.0), v(60.0)],
            [r(0.0), r(12.5), r(87.5)],
            [v(100.0 / 3.0), v(50.0 / 3.0), v(50.0)],
        ];
        for (k, row) in expected.iter().enumerate() {
            for (col, e) in row.iter().enumerate() {
                assert_slot(&c, col, 1001 + k as i64, *e);
            }
        }
    }

    #[test]
    fn dimension_added_later_is_a_gap_until_its_second_collection() {
        let mut c = chart(&[("A", Absolute, 1, 1)]);
        collect(&mut c, T0, &[Some(1)]);
        collect(&mut c, at(1001.5), &[Some(2)]);
        c.add_dimension(b"B", Absolute, 1, 1);
        c.add_dimension(b"C", Incremental, 1, 1);
        assert_slot(&c, 1, 1001, None);
        collect(&mut c, at(1002.5), &[Some(3), Some(7), Some(100)]);
        assert_slot(&c, 0, 1002, v(3.0));
        assert_slot(&c, 1, 1002, None);
        assert_slot(&c, 2, 1002, None);
        collect(&mut c, at(1003.5), &[Some(4), Some(8), Some(110)]);
        assert_slot(&c, 1, 1003, v(8.0));
        assert_slot(&c, 2, 1003, v(5.0));
    }

    #[test]
    fn dimension_not_set_is_a_gap_and_loses_its_incremental_carry() {
        let mut c = chart(&[("A", Absolute, 1, 1), ("I", Incremental, 1, 1)]);
        collect(&mut c, T0, &[Some(1), Some(0)]);
        collect(&mut c, at(1001.5), &[Some(2), Some(100)]);
        assert_slot(&c, 1, 1001, v(50.0));
        collect(&mut c, at(1002.5), &[Some(3), None]);
        assert_slot(&c, 0, 1002, v(3.0));
        assert_slot(&c, 1, 1002, None);
        assert_eq!(c.dims[1].state.carry, 0.0, "carry lost in the gap slot");
        collect(&mut c, at(1003.5), &[Some(4), Some(200)]);
        assert_slot(&c, 1, 1003, v(50.0));
    }

    #[test]
    fn begin_rules_resync_filtered_and_rec9() {
        let mut c = chart(&[("A", Absolute, 1, 1)]);
        begin(&mut c, 7_000_000, T0);
        assert_eq!(c.clock.interval_ut, 0, "first collection ignores the field");
        set(&mut c.dims[0], 1);
        end(&mut c, T0);
        assert!(c.clock.resync, "first collection keeps the resync flag");
        // Resync pending: field ignored, parent clock used.
        begin(&mut c, 1_000_000, at(1001.9));
        assert!(!c.clock.resync);
        assert_eq!(c.clock.interval_ut, at(1.4));
        end(&mut c, at(1001.9));
        // Plausible child value is used.
        begin(&mut c, 1_000_000, at(1003.2));
        assert_eq!(c.clock.interval_ut, S);
        end(&mut c, at(1003.2));
        assert_eq!(c.clock.last_collected_ut, at(1002.9));
        // Parent more than 5 × UE later: parent's elapsed time.
        begin(&mut c, 1_000_000, at(1010.0));
        assert_eq!(c.clock.interval_ut, at(7.1));
        end(&mut c, at(1010.0));
        // REC-9: a child value above 5 × UE is treated as 0.
        begin(&mut c, 60_000_000, at(1011.0));
        assert_eq!(c.clock.interval_ut, S);
        end(&mut c, at(1011.0));
        // Chart clock in the future: re-anchored one UE before now.
        c.clock.last_collected_ut = at(1020.5);
        begin(&mut c, 1_000_000, at(1012.3));
        assert_eq!(c.clock.last_collected_ut, at(1011.5));
        assert_eq!(c.clock.last_updated_ut, 1011 * S);
        assert_eq!(c.clock.interval_ut, S);
        // Field 0 with the clock ahead: re-anchored too (Netdata would add the difference).
        c.clock.last_collected_ut = at(1013.0);
        begin(&mut c, 0, at(1012.5));
        assert_eq!((c.clock.last_collected_ut, c.clock.interval_ut), (at(1011.5), S));
        // Field 0 otherwise: the parent's elapsed time.
        end(&mut c, at(1012.5));
        begin(&mut c, 0, at(1013.7));
        assert_eq!(c.clock.interval_ut, at(1.2));
    }

    /// A child sending bursts of BEGINs with just under 5 × UE µs, then 0, must not push
    /// the chart clock ahead without bound (it used to double until it overflowed).
    #[test]
    fn the_chart_clock_never_runs_away_from_the_wall_clock() {
        let mut c = chart(&[("a", Absolute, 1, 1)]);
        collect(&mut c, T0, &[Some(1)]);
        let mut now = T0;
        for round in 0..200 {
            for _ in 0..20 {
                now += 1_000;
                begin(&mut c, 4_999_999, now);
                set(&mut c.dims[0], round);
                end(&mut c, now);
            }
            now += 1_000;
            collect(&mut c, now, &[Some(round)]);
            assert!(
                c.clock.last_collected_ut <= now + 5 * S,
                "round {round}: clock {} at {now}",
                c.clock.last_collected_ut
            );
        }
    }

    #[test]
    fn missed_incremental_slots_lose_their_share_and_only_two_are_stored() {
        let mut c = chart(&[("I", Incremental, 1, 1)]);
        collect(&mut c, T0, &[Some(0)]);
        collect(&mut c, at(1001.5), &[Some(100)]);
        assert_slot(&c, 0, 1001, v(50.0));
        let o = collect(&mut c, at(1006.5), &[Some(600)]);
        assert_eq!(o.slots, 5);
        for t in 1002..=1004 {
            assert_slot(&c, 0, t, None);
        }
        assert_slot(&c, 0, 1005, v(100.0));
        assert_slot(&c, 0, 1006, v(100.0));
        assert!(close(c.dims[0].state.carry, 50.0));
        collect(&mut c, at(1007.5), &[Some(700)]);
        assert_slot(&c, 0, 1007, v(100.0));
    }

    #[test]
    fn collection_on_a_slot_boundary_stores_only_the_last_slot() {
        let mut c = chart(&[("A", Absolute, 1, 1)]);
        collect(&mut c, T0, &[Some(1)]);
        collect(&mut c, at(1001.5), &[Some(2)]);
        collect(&mut c, at(1004.0), &[Some(5)]);
        assert_slot(&c, 0, 1002, None);
        assert_slot(&c, 0, 1003, None);
        assert_slot(&c, 0, 1004, v(5.0));
    }

    #[test]
    fn long_pause_on_a_ring_starts_a_new_baseline() {
        let mut c = Chart::new("t.c", 1, ChartStore::ram(10, 1));
        c.add_dimension(b"A", Absolute, 1, 1);
        collect(&mut c, T0, &[Some(1)]);
        collect(&mut c, at(1001.5), &[Some(2)]);
        let o = collect(&mut c, at(1030.5), &[Some(3)]);
        assert!(o.reset);
        assert_eq!((o.slots, o.values), (0, 0));
        assert_eq!(c.clock.last_collected_ut, at(1030.5));
        assert_eq!(c.clock.last_updated_ut, 1030 * S);
        let o = collect(&mut c, at(1031.5), &[Some(4)]);
        assert_eq!(o.values, 1);
        assert_slot(&c, 0, 1031, v(4.0));
    }

    #[test]
    fn reset_flag_is_chart_wide_and_respects_noreset() {
        let mut c = chart(&[("A", Absolute, 1, 1), ("I", Incremental, 1, 1), ("N", Incremental, 1, 1)]);
        c.dims[2].noreset = true;
        collect(&mut c, T0, &[Some(1), Some(10), Some(10)]);
        collect(&mut c, at(1001.5), &[Some(1), Some(20), Some(20)]);
        collect(&mut c, at(1002.5), &[Some(1), Some(20), Some(5)]);
        assert_slot(&c, 0, 1002, v(1.0));
        collect(&mut c, at(1003.5), &[Some(1), Some(5), Some(6)]);
        assert_slot(&c, 0, 1003, r(1.0));
        assert_slot(&c, 1, 1003, r(0.0));
    }

    #[test]
    fn flush_discards_the_open_block() {
        let mut c = chart(&[("I", Incremental, 1, 1)]);
        set(&mut c.dims[0], 5);
        flush(&mut c);
        assert_eq!(c.dims[0].state.count, 0);
        assert!(!c.dims[0].state.updated);
        collect(&mut c, T0, &[Some(10)]);
        assert_eq!(c.dims[0].state.count, 1, "still the baseline");
        collect(&mut c, at(1001.5), &[Some(20)]);
        assert_slot(&c, 0, 1001, v(5.0));
    }

    #[test]
    fn memory_mode_none_computes_without_storing() {
        let mut c = Chart::new("t.c", 1, ChartStore::None);
        c.add_dimension(b"A", Absolute, 1, 1);
        collect(&mut c, T0, &[Some(1)]);
        let o = collect(&mut c, at(1001.5), &[Some(2)]);
        assert_eq!((o.slots, o.values), (1, 1));
        assert_eq!(c.store.points_stored(), 0);
        assert_eq!(c.dims[0].last_collected(), 2);
        assert_eq!(c.dims[0].last_collected_ut, at(1001.5));
    }

    #[test]
    fn values_collected_counts_every_delivered_sample_stored_or_not() {
        let mut c = chart(&[("A", Absolute, 1, 1), ("B", Incremental, 1, 1)]);
        let o = collect(&mut c, T0, &[Some(1), Some(1)]);
        assert_eq!((o.collected, o.values), (2, 0), "the first END stores nothing but collected two");
        let o = collect(&mut c, at(1001.5), &[Some(2), None]);
        assert_eq!(o.collected, 1, "only the dimension SET in this block");
        // Late by five seconds: gaps are stored, the two values are still counted once.
        let o = collect(&mut c, at(1006.5), &[Some(3), Some(9)]);
        assert_eq!(o.collected, 2);
        // A flushed block delivers nothing.
        begin(&mut c, 0, at(1007.5));
        set(&mut c.dims[0], 4);
        flush(&mut c);
        let o = end(&mut c, at(1007.5));
        assert_eq!(o.collected, 0);
        assert_eq!(c.clock.values_collected, 5);
        reset(&mut c);
        assert_eq!(c.clock.values_collected, 5, "a clock reset keeps the count");
    }

    #[test]
    fn steady_state_end_reuses_the_scratch_row() {
        let mut c = chart(&[("A", Absolute, 1, 1), ("B", Absolute, 1, 1)]);
        collect(&mut c, T0, &[Some(1), Some(1)]);
        collect(&mut c, at(1001.5), &[Some(1), Some(1)]);
        let row = || ROW.with(|r| (r.borrow().as_ptr(), r.borrow().capacity()));
        let (ptr, cap) = row();
        for k in 2..50 {
            collect(&mut c, T0 + 200_000 + k * S, &[Some(k), Some(k)]);
        }
        assert_eq!(row(), (ptr, cap));
        assert_slot(&c, 1, 1049, v(49.0));
    }
}
