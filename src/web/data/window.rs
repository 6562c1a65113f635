//! Time window and grouping of a fixed-step query (B.3 rules 1–5): relative → absolute
//! times, clamping to the database, points → group size, `gtime` resampling, alignment,
//! and the resulting row grid. Pure arithmetic, no storage access.

/// Times at or below this magnitude (3 years, in seconds) are relative.
pub const RELATIVE_TIME_MAX: i64 = 3 * 365 * 86400;

/// Rounds a relative time away from zero to a multiple of `ue`.
fn round_away(v: i64, ue: i64) -> i64 {
    if v % ue == 0 {
        v
    } else if v < 0 {
        v - ue - v % ue
    } else {
        v + ue - v % ue
    }
}

/// Rules 1–2: converts the requested `after`/`before` to absolute unix seconds, clamped
/// to `[first, last]` (the lower clamp skipped with `allow_past`), in order.
/// Returns `(after, before, relative)`; `relative` tells whether any end was relative.
pub fn absolute(after: i64, before: i64, ue: i64, first: i64, last: i64, allow_past: bool) -> (i64, i64, bool) {
    let ue = ue.max(1);
    let (mut after, mut before) = (after, before);
    let mut relative = false;
    if after == 0 && before == 0 {
        before = last;
        after = first;
        relative = true;
    }
    if before.abs() <= RELATIVE_TIME_MAX {
        let b = round_away(before, ue);
        before = if b > 0 { first + b } else { last + b };
        relative = true;
    }
    if after.abs() <= RELATIVE_TIME_MAX {
        let a = if after == 0 { -ue } else { after };
        after = before + round_away(a, ue);
        relative = true;
    }
    // `allow_past` may reach before the database, but not unboundedly (overflow guard).
    let floor = if allow_past { first.saturating_sub(RELATIVE_TIME_MAX) } else { first };
    let clamp = |v: i64| v.min(last).max(floor);
    before = clamp(before);
    after = clamp(after);
    if after > before {
        std::mem::swap(&mut after, &mut before);
    }
    (after, before, relative)
}

/// The row grid of a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Time of the first slot of the oldest row.
    pub after: i64,
    /// Time of the newest row (the last slot it covers).
    pub before: i64,
    /// Database points per row.
    pub group: i64,
    /// Number of rows.
    pub points: usize,
    /// The chart's update_every.
    pub update_every: i64,
    /// `gtime` grouping multiple (1 = none).
    pub resampling_group: i64,
    /// Average divisor with `gtime` (values become "per gtime").
    pub resampling_divisor: f64,
}

impl Plan {
    /// Seconds per returned row.
    pub fn view_update_every(&self) -> i64 {
        self.group * self.update_every
    }

    /// Time of row `k` (0 = oldest): the last slot the row covers.
    pub fn row_time(&self, k: usize) -> i64 {
        self.after + (k as i64 + 1) * self.group * self.update_every - self.update_every
    }
}

/// Rules 3–5: given absolute `after`/`before` from [`absolute`], the requested points,
/// `gtime` and the database range, computes the row grid. `None` ⇒ empty result.
/// `max_points` bounds the rows (memory guard); larger requests get larger groups.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    after: i64,
    before: i64,
    points: i64,
    gtime: i64,
    ue: i64,
    first: i64,
    last: i64,
    aligned: bool,
    max_points: i64,
) -> Option<Plan> {
    let ue = ue.max(1);
    // Slots live on multiples of ue.
    let (mut after, mut before) = (after - after.rem_euclid(ue), before - before.rem_euclid(ue));
    let mut duration = before - after;
    let mut available = duration / ue;
    if duration <= 0 || available <= 0 {
        return None;
    }
    let mut points = points.checked_abs().unwrap_or(i64::MAX);
    if points > available || points == 0 {
        points = available;
    }
    points = points.min(max_points.max(1));
    let mut group = (available / points).max(1);
    if available % points > points / 2 {
        group += 1;
    }
    let mut resampling_group = 1;
    let mut resampling_divisor = 1.0;
    let gtime = gtime.min(RELATIVE_TIME_MAX);
    if gtime > ue {
        if gtime > duration {
            after = before - gtime;
            duration = before - after;
            available = duration / ue;
            group = available / points;
        }
        let delta = duration % gtime;
        if delta != 0 && delta > gtime / 10 {
            after -= gtime - delta;
            duration = before - after;
            available = duration / ue;
            group = available / points;
        }
        resampling_group = gtime / ue + i64::from(gtime % ue != 0);
        if group < resampling_group {
            group = resampling_group;
        }
        if group % resampling_group != 0 {
            group += resampling_group - group % resampling_group;
        }
        resampling_divisor = (group * ue) as f64 / gtime as f64;
    }
    let step = group * ue;
    if aligned {
        before -= before.rem_euclid(step);
        after -= after.rem_euclid(step);
    }
    let mut before_wanted = before;
    if before_wanted > last {
        let snap = if aligned { step } else { ue };
        before_wanted = last - last.rem_euclid(snap);
    }
    let mut points_wanted = (before_wanted - after) / step;
    let mut after_wanted = before_wanted - points_wanted * step + ue;
    if after_wanted < first {
        points_wanted = (before_wanted - first) / group;
        after_wanted = before_wanted - points_wanted * step + ue;
        if after_wanted < first {
            let snap = if aligned { step } else { ue };
            after_wanted = first - first.rem_euclid(snap) + snap;
        }
    }
    if after_wanted > before_wanted {
        std::mem::swap(&mut after_wanted, &mut before_wanted);
    }
    let points_wanted = ((before_wanted - after_wanted) / ue / group + 1).max(0);
    // Only complete groups become rows.
    let complete = ((before_wanted - after_wanted) / ue + 1) / group;
    let rows = points_wanted.min(complete).max(0) as usize;
    Some(Plan {
        after: after_wanted,
        before: if rows > 0 { after_wanted + rows as i64 * step - ue } else { before_wanted },
        group,
        points: rows,
        update_every: ue,
        resampling_group,
        resampling_divisor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: i64 = 1_612_343_999; // newest slot
    const F: i64 = L - 3999; // 4000 slots of 1 s

    #[allow(clippy::too_many_arguments)]
    fn run(after: i64, before: i64, points: i64, gtime: i64, ue: i64, first: i64, last: i64, aligned: bool) -> Plan {
        let (a, b, _) = absolute(after, before, ue, first, last, false);
        plan(a, b, points, gtime, ue, first, last, aligned, i64::MAX).expect("non-empty window")
    }

    #[test]
    fn relative_conversion_rounds_away_from_zero() {
        assert_eq!(absolute(-600, 0, 1, F, L, false), (L - 600, L, true));
        // -3 ⇒ -5 and -7 ⇒ -10
        assert_eq!(absolute(-7, -3, 5, 1_612_000_000, 1_612_343_995, false), (1_612_343_980, 1_612_343_990, true));
        // positive relative before counts from the first entry [quirk]
        assert_eq!(absolute(-10, 20, 1, F, L, false), (F + 10, F + 20, true));
        // after = 0 means one update_every before `before`
        assert_eq!(absolute(0, -10, 1, F, L, false), (L - 11, L - 10, true));
        // both 0: whole database
        assert_eq!(absolute(0, 0, 1, F, L, false), (F, L, true));
    }

    #[test]
    fn absolute_times_are_clamped_and_swapped() {
        assert_eq!(absolute(L + 100, F - 100, 1, F, L, false), (F, L, false));
        assert_eq!(absolute(F - 100, L - 10, 1, F, L, true), (F - 100, L - 10, false));
        assert_eq!(absolute(-10_000, 0, 1, F, L, false).0, F);
        assert_eq!(absolute(-10_000, 0, 1, F, L, true).0, L - 10_000);
        assert_eq!(absolute(-i64::MAX, 0, 1, F, L, true).0, F - RELATIVE_TIME_MAX);
    }

    #[test]
    fn default_window_one_row_per_point() {
        let p = run(-600, 0, 0, 0, 1, F, L, true);
        assert_eq!((p.points, p.group, p.view_update_every()), (600, 1, 1));
        assert_eq!((p.after, p.before), (L - 599, L));
    }

    #[test]
    fn five_points_over_twenty_seconds() {
        let p = run(-20, 0, 5, 0, 1, F, L, true);
        assert_eq!((p.points, p.group, p.view_update_every()), (5, 4, 4));
        let aligned_before = L - L % 4;
        assert_eq!(p.before, aligned_before);
        assert_eq!(p.after, aligned_before - 19);
        assert_eq!(p.row_time(0), aligned_before - 16);
        assert_eq!(p.row_time(4), aligned_before);
    }

    #[test]
    fn spec_jsonwrap_example_shape() {
        // 60 points over 600 s of a 1-s chart: view_update_every 10, before on a multiple
        // of 10, after = oldest row - 9.
        let p = run(-600, 0, 60, 0, 1, F, 1_612_343_996, true);
        assert_eq!((p.points, p.view_update_every()), (60, 10));
        assert_eq!((p.before, p.after), (1_612_343_990, 1_612_343_391));
    }

    #[test]
    fn group_rounds_to_closest() {
        // 600 available / 7 points = 85.7 ⇒ 86
        assert_eq!(run(-600, 0, 7, 0, 1, F, L, true).group, 86);
        // 600 / 9 = 66.67 ⇒ 67; 600 / 11 = 54.5 ⇒ 55; 600 / 13 = 46.15 ⇒ 46
        assert_eq!(run(-600, 0, 9, 0, 1, F, L, true).group, 67);
        assert_eq!(run(-600, 0, 11, 0, 1, F, L, true).group, 55);
        assert_eq!(run(-600, 0, 13, 0, 1, F, L, true).group, 46);
        // negative points count as positive; more points than available are capped
        assert_eq!(run(-600, 0, -60, 0, 1, F, L, true).group, 10);
        assert_eq!(run(-60, 0, 1000, 0, 1, F, L, true).points, 60);
    }

    #[test]
    fn short_database_is_clamped() {
        // 25 slots stored, default window: rows only where data exists
        let first = L - 24;
        let p = run(-600, 0, 0, 0, 1, first, L, true);
        assert_eq!((p.points, p.after, p.before), (24, first + 1, L));
    }

    #[test]
    fn unaligned_keeps_edges() {
        let last = 1_612_343_997;
        let p = run(-20, 0, 5, 0, 1, F, last, false);
        assert_eq!((p.points, p.before, p.after), (5, last, last - 19));
        let a = run(-20, 0, 5, 0, 1, F, last, true);
        assert_eq!(a.before, last - last % 4);
    }

    #[test]
    fn update_every_five() {
        let last = 1_612_344_000;
        let first = last - 5 * 999;
        let p = run(-60, 0, 0, 0, 5, first, last, true);
        assert_eq!((p.points, p.group, p.view_update_every(), p.before), (12, 1, 5, last));
        let p = run(-60, 0, 3, 0, 5, first, last, true);
        assert_eq!((p.points, p.group, p.view_update_every()), (3, 4, 20));
        assert_eq!(p.before % 20, 0);
    }

    #[test]
    fn gtime_forces_group_multiple() {
        let p = run(-600, 0, 0, 60, 1, F, L, true);
        assert_eq!(p.group % 60, 0);
        assert_eq!((p.group, p.resampling_group), (60, 60));
        assert!((p.resampling_divisor - 1.0).abs() < 1e-12);
        // group 120 for gtime 60 ⇒ values per 60 s: divisor 2
        let p = run(-600, 0, 5, 60, 1, F, L, true);
        assert_eq!(p.group, 120);
        assert!((p.resampling_divisor - 2.0).abs() < 1e-12);
    }

    #[test]
    fn empty_windows() {
        assert_eq!(plan(L, L, 0, 0, 1, L, L, true, i64::MAX), None);
        let (a, b, _) = absolute(-600, 0, 1, L, L, false);
        assert_eq!(plan(a, b, 0, 0, 1, L, L, true, i64::MAX), None);
    }

    #[test]
    fn max_points_bounds_rows() {
        let p = plan(F, L, 0, 0, 1, F, L, true, 100).unwrap();
        // 3999 available / 100 = 39.99 ⇒ group 40 ⇒ 99 complete rows
        assert_eq!((p.points, p.group), (99, 40));
    }

    #[test]
    fn off_grid_absolute_times_snap_to_slots() {
        let last = 1_612_344_000;
        let p = plan(last - 61, last - 3, 0, 0, 5, last - 5000, last, true, i64::MAX).unwrap();
        assert_eq!(p.before % 5, 0);
        assert_eq!(p.after % 5, 0);
        assert_eq!(p.before, last - 5);
    }
}
