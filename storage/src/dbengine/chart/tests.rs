//! DbChart and its engine together: sealing, range reads across sealed and open blocks,
//! gaps, dimensions added midway, eviction, flushing, back-pressure, loading from the
//! files seam, and a property test against the ram store.

use std::rc::Rc;

use futures_lite::future::{block_on, poll_once};
use proptest::prelude::*;

use super::*;
use crate::dbengine::engine::EngineConfig;
use crate::dbengine::testfiles::MemFiles;
use crate::dbengine::BlockFiles;
use crate::RamChart;

const G: &str = "6b1f3c2e-6a1d-11eb-9f0e-0242ac110002";

fn v(x: f64) -> Sample {
    Sample::Value { value: x, reset: false }
}

fn engine(cache: usize, slots: u32) -> Engine {
    Engine::new(EngineConfig { block_slots: slots, ..EngineConfig::new(cache) }, None)
}

fn with_files(cache: usize, slots: u32) -> (Engine, Rc<MemFiles>) {
    let files = Rc::new(MemFiles::default());
    let dynf: Rc<dyn BlockFiles> = files.clone();
    (Engine::new(EngineConfig { block_slots: slots, ..EngineConfig::new(cache) }, Some(dynf)), files)
}

fn col(c: &DbChart, col: usize, from: i64, to: i64) -> Vec<Sample> {
    let mut out = Vec::new();
    c.read(col, from, to, &mut out);
    out
}

#[test]
fn seals_at_block_length_and_reads_across_blocks() {
    let e = engine(1 << 20, 4);
    let mut c = DbChart::new(&e, G, "system.cpu", 1);
    c.add_column("user");
    for k in 0..10 {
        c.append(1000 + k, &[v(k as f64)]).unwrap();
    }
    let s = e.stats();
    assert_eq!((s.blocks_sealed, s.values_sealed, c.open_slots()), (2, 8, 2));
    assert_eq!((c.first_time(), c.last_time()), (Some(1000), Some(1009)));
    let got = col(&c, 0, 998, 1011);
    let want: Vec<Sample> =
        (998..=1011).map(|t| if (1000..1010).contains(&t) { v((t - 1000) as f64) } else { Sample::Gap }).collect();
    assert_eq!(got, want, "two sealed blocks, the open one, gaps outside");
    assert_eq!(c.get(0, 1005), v(5.0));
    assert_eq!(c.get(0, 1009), v(9.0));
    assert_eq!(c.last_value(0), Some((1009, 9.0)));
    assert!(s.encoded_bytes_per_sample > 0.0);
}

#[test]
fn gaps_stay_gaps_inside_a_block_and_long_gaps_start_a_new_one() {
    let e = engine(1 << 20, 1024);
    let mut c = DbChart::new(&e, G, "c", 2);
    c.add_column("a");
    c.add_column("b");
    c.append(100, &[v(1.0), Sample::Gap]).unwrap();
    c.append(106, &[v(2.0), v(f64::NAN)]).unwrap();
    assert_eq!(c.open_slots(), 4, "two missing slots stored as gap rows");
    assert_eq!(col(&c, 0, 100, 106), vec![v(1.0), Sample::Gap, Sample::Gap, v(2.0)]);
    assert_eq!(col(&c, 1, 100, 106), vec![Sample::Gap; 4], "NaN is a gap");
    let far = 106 + 2 * (MAX_INLINE_GAP + 2);
    c.append(far, &[v(3.0), v(4.0)]).unwrap();
    assert_eq!((e.stats().blocks_sealed, c.open_slots()), (1, 1), "a long gap seals");
    let all = col(&c, 0, 100, far);
    assert_eq!(all.iter().filter(|s| !matches!(s, Sample::Gap)).count(), 3);
    assert_eq!(all.last(), Some(&v(3.0)));
    assert_eq!(c.append(far, &[v(1.0)]), Err(AppendError::NotAfterLast { t: far, last: far }));
    assert_eq!(c.append(far + 1, &[v(1.0)]), Err(AppendError::NotAfterLast { t: far, last: far }), "aligned down");
}

#[test]
fn a_dimension_added_midway_reads_gaps_before_it_existed() {
    let e = engine(1 << 20, 100);
    let mut c = DbChart::new(&e, G, "c", 1);
    c.add_column("a");
    c.append(10, &[v(1.0)]).unwrap();
    c.append(11, &[v(2.0)]).unwrap();
    let b = c.add_column("b");
    assert_eq!(e.stats().blocks_sealed, 1, "a new column seals the open block");
    c.append(12, &[v(3.0), Sample::Value { value: 30.0, reset: true }]).unwrap();
    assert_eq!(col(&c, 0, 10, 12), vec![v(1.0), v(2.0), v(3.0)]);
    assert_eq!(col(&c, b, 10, 12), vec![Sample::Gap, Sample::Gap, Sample::Value { value: 30.0, reset: true }]);
    // Re-created with the columns in another order: matched by dimension id.
    drop(c);
    let mut c2 = DbChart::new(&e, G, "c", 1);
    assert_eq!(c2.last_time(), Some(12), "sealed on drop, still indexed");
    c2.add_column("b");
    c2.add_column("a");
    c2.append(13, &[v(40.0), v(4.0)]).unwrap();
    assert_eq!(col(&c2, 1, 10, 13), vec![v(1.0), v(2.0), v(3.0), v(4.0)]);
    assert_eq!(col(&c2, 0, 10, 13)[2..], [Sample::Value { value: 30.0, reset: true }, v(40.0)]);
    assert_eq!(c2.first_time(), Some(10));
}

#[test]
fn update_every_change_seals_and_keeps_old_data() {
    let e = engine(1 << 20, 100);
    let mut c = DbChart::new(&e, G, "c", 1);
    c.add_column("a");
    c.append(10, &[v(1.0)]).unwrap();
    c.append(11, &[v(2.0)]).unwrap();
    c.set_update_every(2);
    assert_eq!(e.stats().blocks_sealed, 1);
    c.append(14, &[v(3.0)]).unwrap();
    assert_eq!(col(&c, 0, 10, 14), vec![v(1.0), Sample::Gap, v(3.0)], "1-s slot 10 is on the 2-s grid, 11 is not");
    assert_eq!(c.first_time(), Some(10));
}

#[test]
fn memory_only_keeps_what_the_cache_holds_and_counts_drops() {
    let e = engine(64, 4);
    let mut c = DbChart::new(&e, G, "c", 1);
    c.add_column("a");
    for k in 0..40 {
        c.append(k, &[v(k as f64)]).unwrap();
    }
    let s = e.stats();
    assert_eq!(s.blocks_sealed, 10);
    assert!(s.dropped_blocks > 0 && s.cache_dirty_bytes <= 64, "{s:?}");
    assert_eq!(s.dropped_values, s.dropped_blocks * 4);
    assert_eq!(s.blocks_indexed, 10 - s.dropped_blocks);
    let first = c.first_time().unwrap();
    assert_eq!(first, 4 * s.dropped_blocks as i64, "retention starts after the dropped blocks");
    assert_eq!(c.get(0, first), v(first as f64));
    assert_eq!(c.get(0, first - 1), Sample::Gap);
    let r = e.take_drop_report().unwrap();
    assert_eq!(r.blocks, s.dropped_blocks);
    assert_eq!(e.take_drop_report(), None, "reported once");
}

#[test]
fn dirty_blocks_wait_for_the_flusher_then_clean_ones_are_evicted_and_loaded_back() {
    let (e, files) = with_files(30, 4);
    let mut c = DbChart::new(&e, G, "c", 1);
    c.add_column("a");
    for k in 0..20 {
        c.append(k, &[v(k as f64)]).unwrap();
    }
    let s = e.stats();
    assert_eq!((s.blocks_sealed, s.dropped_blocks, s.cache_dirty_blocks), (5, 0, 5), "never dropped with files");
    assert!(s.cache_dirty_bytes > 30, "over the limit: {s:?}");
    assert!(e.over_dirty_limit());
    let mut wait = Box::pin(e.wait_for_room());
    assert!(block_on(poll_once(&mut wait)).is_none(), "the ingest path must wait");
    assert_eq!(block_on(e.flush_step()).ok(), Some(5));
    assert!(block_on(poll_once(&mut wait)).is_some(), "room after the flush");
    let s = e.stats();
    assert_eq!((s.cache_dirty_bytes, s.blocks_on_disk, s.blocks_flushed), (0, 5, 5));
    assert!(s.cache_used_bytes <= 30 && s.cache_evictions > 0, "clean blocks evicted to fit: {s:?}");
    assert_eq!(files.metas.borrow()[0].dims, vec!["a".to_string()]);
    assert_eq!(files.metas.borrow()[0].series.chart_id, "c");
    assert!(s.disk_bytes_per_sample > 0.0);

    // The oldest block was evicted: unreadable until loaded.
    assert_eq!(c.get(0, 0), Sample::Gap);
    assert!(e.stats().cache_misses > 0);
    let pins = block_on(e.load(&[c.load_span(0, 19)]));
    assert_eq!(pins.len(), 5);
    assert!(files.reads.get() > 0);
    let want: Vec<Sample> = (0..=19).map(|k| v(k as f64)).collect();
    assert_eq!(col(&c, 0, 0, 19), want, "disk blocks + open block, all back");
    assert!(e.stats().cache_used_bytes > 30, "pinned blocks may exceed the limit while a query runs");
    drop(pins);
    assert!(e.stats().cache_used_bytes <= 30, "released pins make them evictable again");
}

#[test]
fn failed_writes_keep_blocks_dirty_and_deleted_datafiles_leave_the_index() {
    let (e, files) = with_files(1 << 20, 2);
    let mut c = DbChart::new(&e, G, "c", 1);
    c.add_column("a");
    for k in 0..4 {
        c.append(k, &[v(k as f64)]).unwrap();
    }
    files.fail_writes.set(true);
    assert!(block_on(e.flush_step()).is_err());
    let s = e.stats();
    assert_eq!((s.flush_errors, s.cache_dirty_blocks, s.flush_in_flight_bytes), (1, 2, 0));
    files.fail_writes.set(false);
    assert_eq!(block_on(e.flush_step()).ok(), Some(2));
    assert_eq!(block_on(e.flush_step()).ok(), Some(0), "nothing left");
    files.delete(0);
    for k in 4..6 {
        c.append(k, &[v(k as f64)]).unwrap();
    }
    assert_eq!(block_on(e.flush_step()).ok(), Some(1), "the deletion is picked up after the write");
    assert_eq!(c.first_time(), Some(4));
    assert_eq!(c.get(0, 1), Sample::Gap);
    assert_eq!(e.forget_datafile(crate::dbengine::testfiles::file(1)), 1);
    assert_eq!(c.first_time(), None);
}

#[test]
fn blocks_found_on_disk_are_part_of_the_chart() {
    let (e, files) = with_files(1 << 20, 3);
    {
        let mut c = DbChart::new(&e, G, "c", 1);
        c.add_column("a");
        for k in 0..3 {
            c.append(100 + k, &[v(k as f64)]).unwrap();
        }
    }
    block_on(e.flush_step()).unwrap();
    // A new engine over the same files, as after a restart.
    let dynf: Rc<dyn BlockFiles> = files.clone();
    let e2 = Engine::new(EngineConfig { block_slots: 3, ..EngineConfig::new(1 << 20) }, Some(dynf));
    let metas = files.metas.borrow().clone();
    let locs = metas.iter().enumerate().map(|(i, m)| {
        let file = crate::dbengine::testfiles::file(0);
        (m.clone(), crate::dbengine::files::BlockLocation { file, offset: 4096, len: 0, index: i as u16 })
    });
    e2.index_recovered(locs);
    let mut c = DbChart::new(&e2, G, "c", 1);
    c.add_column("a");
    assert_eq!((c.first_time(), c.last_time()), (Some(100), Some(102)));
    assert_eq!(c.append(102, &[v(1.0)]), Err(AppendError::NotAfterLast { t: 102, last: 102 }));
    assert_eq!(c.get(0, 101), Sample::Gap, "not loaded yet");
    let _pins = block_on(e2.load(&[c.load_span(100, 102)]));
    assert_eq!(col(&c, 0, 100, 102), vec![v(0.0), v(1.0), v(2.0)]);
    assert_eq!(e2.stats().disk_loads, 1);
}

fn row_strategy() -> impl Strategy<Value = (i64, Vec<Option<f32>>)> {
    (
        prop_oneof![8 => Just(1i64), 1 => 2i64..5, 1 => 60i64..200],
        proptest::collection::vec(proptest::option::weighted(0.8, -1e6f32..1e6), 3),
    )
}

proptest! {
    /// Whatever is appended, the dbengine reads back exactly what a ram ring holding the
    /// same span reads (both keep f32 precision).
    #[test]
    fn reads_match_the_ram_store(rows in proptest::collection::vec(row_strategy(), 1..300), slots in 1u32..40) {
        let e = engine(1 << 24, slots);
        let mut d = DbChart::new(&e, G, "c", 1);
        let mut r = RamChart::new(100_000, 1);
        for id in ["a", "b", "c"] {
            d.add_column(id);
            r.add_column(id.as_bytes()).unwrap();
        }
        let mut t = 1_000;
        for (step, vals) in &rows {
            t += step;
            let row: Vec<Sample> = vals.iter().map(|x| x.map_or(Sample::Gap, |x| v(f64::from(x)))).collect();
            d.append(t, &row).unwrap();
            r.append(t, &row).unwrap();
        }
        prop_assert_eq!(d.first_time(), r.first_time());
        prop_assert_eq!(d.last_time(), r.last_time());
        for c in 0..3 {
            let got = col(&d, c, 990, t + 3);
            let want: Vec<Sample> = (990..=t + 3).map(|s| r.get(c, s)).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(d.last_value(c), r.last_value(c));
        }
        prop_assert_eq!(d.points_stored(), r.points_stored());
    }
}

#[test]
fn the_extent_observer_hears_of_every_successful_write_and_no_failed_one() {
    let (e, files) = with_files(1 << 20, 2);
    let heard = Rc::new(std::cell::RefCell::new(Vec::new()));
    let h = heard.clone();
    e.on_extent_written(move |d| h.borrow_mut().push(d));
    let mut c = DbChart::new(&e, G, "c", 1);
    c.add_column("a");
    for k in 0..4 {
        c.append(k, &[v(k as f64)]).unwrap();
    }
    files.fail_writes.set(true);
    assert!(block_on(e.flush_step()).is_err());
    assert!(heard.borrow().is_empty(), "a failed write is no flush latency");
    files.fail_writes.set(false);
    assert_eq!(block_on(e.flush_step()).ok(), Some(2));
    assert_eq!(block_on(e.flush_step()).ok(), Some(0), "nothing to write, nothing heard");
    assert_eq!(heard.borrow().len(), 1, "one extent, one sample");
    for k in 4..8 {
        c.append(k, &[v(k as f64)]).unwrap();
    }
    assert_eq!(block_on(e.flush_step()).ok(), Some(2));
    assert_eq!(heard.borrow().len(), 2);
}
