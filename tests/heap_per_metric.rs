//! Heap held per collected metric by a parent's hosts, measured exactly with a counting
//! allocator: hosts fed the loadgen's own protocol lines (50 charts × 10 dimensions per
//! child, mixed value patterns) through the receiver's ingest path, in `memory mode =
//! none` (the host model alone) and `dbengine` (plus the per-column store and the open
//! block, at its fullest just before it is sealed). The bounds sit a few percent above
//! the figures measured when they were set (233 B and 445 B); the whole process, with
//! its per-connection buffers and the allocator's overhead, is measured by the grid in
//! bench/. A change that grows a dimension's state shows up here as a failure, not as a
//! slow drift.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use strata::hosts::apply::ReceiverSession;
use strata::hosts::{Host, HostInfo, MemoryMode};
use strata::shard::ingest::{apply_buffered, LineSource};
use strata_loadgen::template::Template;
use strata_loadgen::values::ValuePattern;
use strata_storage::dbengine::engine::DEFAULT_BLOCK_SLOTS;
use strata_storage::dbengine::{Engine, EngineConfig};

/// Bytes requested from the allocator and not yet freed (the test runs alone in its
/// binary: one test function, so nothing else allocates meanwhile).
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const HOSTS: usize = 20;
const CHARTS: usize = 50;
const DIMS: usize = 10;
const T0_US: i64 = 1_700_000_000_000_000;

struct Child {
    host: Host,
    src: LineSource,
    values: strata_loadgen::template::ChildValues,
}

fn info(h: usize) -> HostInfo {
    HostInfo {
        machine_guid: format!("00000000-0000-0000-0000-{h:012}"),
        hostname: format!("child-{h}"),
        registry_hostname: format!("child-{h}"),
        os: "linux".into(),
        timezone: "UTC".into(),
        abbrev_timezone: "UTC".into(),
        utc_offset: 0,
        tags: None,
        program_name: "netdata".into(),
        program_version: "v1.37.1".into(),
        hops: 1,
        update_every: 1,
        system_info: Vec::new(),
    }
}

/// Feeds `bytes` the way a receiver reads them: 4 KiB at a time.
fn feed(c: &mut Child, bytes: &[u8], now_us: i64) {
    for chunk in bytes.chunks(4096) {
        c.src.push(chunk);
        apply_buffered(&mut c.src, &mut c.host, now_us, false, &mut |w| panic!("unexpected warning: {w}"))
            .expect("the loadgen's lines apply");
    }
}

/// Heap bytes per metric after the definitions and after `ticks` collections.
fn measure(mode: MemoryMode, ticks: u64) -> (f64, f64) {
    let tpl = Template::new(CHARTS, DIMS, 1, ValuePattern::Mixed, 0);
    let engine = Engine::new(EngineConfig::new(64 << 20), None);
    let metrics = (HOSTS * CHARTS * DIMS) as f64;
    let base = LIVE.load(Relaxed);
    let mut children: Vec<Child> = (0..HOSTS)
        .map(|h| {
            let mut host = Host::new(info(h), mode, 3600);
            host.engine = Some(engine.clone());
            let src = LineSource::new("receiver", ReceiverSession::new(5, "127.0.0.1:1", 1), true);
            Child { host, src, values: tpl.child_values(h as u64) }
        })
        .collect();
    for c in &mut children {
        feed(c, tpl.definitions(false), T0_US);
    }
    let defined = (LIVE.load(Relaxed) - base) as f64 / metrics;
    let mut buf = Vec::new();
    for tick in 1..=ticks {
        for c in &mut children {
            buf.clear();
            tpl.encode_tick(&mut buf, &mut c.values, tick, 0, false);
            feed(c, &buf, T0_US + tick as i64 * 1_000_000);
        }
    }
    let collected = (LIVE.load(Relaxed) - base) as f64 / metrics;
    let stored: u64 = children.iter().map(|c| c.host.values_collected()).sum();
    assert_eq!(stored, ticks * (HOSTS * CHARTS * DIMS) as u64, "every sample was collected");
    drop(children);
    (defined, collected)
}

#[test]
fn a_collected_metric_holds_little_heap() {
    // The first collection is the baseline; the open block fills from the second one and
    // is sealed when full, so this many ticks leave it at its fullest.
    let ticks = u64::from(DEFAULT_BLOCK_SLOTS);
    let (model_defined, model) = measure(MemoryMode::None, ticks);
    let (db_defined, db_full) = measure(MemoryMode::DbEngine, ticks);
    eprintln!(
        "heap per metric: host model {model_defined:.0} B defined, {model:.0} B collecting; \
         dbengine {db_defined:.0} B defined, {db_full:.0} B with a full open block"
    );
    assert!(model <= 245.0, "the host model holds {model:.0} B per metric (bound 245)");
    assert!(db_full <= 465.0, "a dbengine metric holds {db_full:.0} B with a full open block (bound 465)");
    assert!(db_full > model, "the store and the open block cost something");
}
