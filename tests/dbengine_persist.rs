//! `memory mode = dbengine` with its datafiles, across restarts of a real parent.
//!
//! A captured Netdata 1.37.1 child stream is replayed into the parent with short blocks
//! (`[db] dbengine block slots = 4`, so a few seconds of data make sealed blocks). Then:
//! a `SIGTERM` restart serves every value it served before; a `SIGKILL` during writes
//! (three kill points on the same files) keeps everything older than the crash window and
//! the files open cleanly; a restart with another shard count (the host moves to another
//! shard) finds all data; one flipped byte in a datafile becomes a logged crc failure and
//! a gap, while every other value stays readable. Rotation under a small quota is tested
//! at the engine level (`storage/tests/dbengine_files.rs`): the configured minimum quota
//! is 64 MiB, far more than a test can write.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use common::*;

const FIXTURE: &str = "netdata-1.37.1-child-v4";
const REPLY: &[u8] = b"Hit me baby, push them over with the version=4";
const NETDATA_CONF: &str = "[db]\n    dbengine block slots = 4\n";
/// The crash-loss window of a chart: its open block (4 slots of `update every`) plus the
/// flush delay (2 s), plus a second of margin for the replay's pacing.
fn crash_window(update_every: i64) -> i64 {
    4 * update_every + 2 + 1
}

/// Chart id → (slot time → the row's values), only rows holding a value.
type Rows = BTreeMap<String, BTreeMap<i64, Vec<Value>>>;

fn fixture() -> (Vec<u8>, Vec<u8>, String) {
    let dir = shared_dir().join("fixtures");
    let request = std::fs::read(dir.join(format!("{FIXTURE}.request"))).expect("request");
    let stream = std::fs::read(dir.join(format!("{FIXTURE}.stream"))).expect("stream");
    let text = String::from_utf8_lossy(&request).to_string();
    let guid = text.split("machine_guid=").nth(1).and_then(|s| s.split('&').next()).expect("guid").to_string();
    (request, stream, guid)
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Every stored row of every chart of the host (null-only rows left out).
fn rows(p: &Parent, guid: &str) -> Rows {
    let charts = p.get_json(&format!("/host/{guid}/api/v1/charts"));
    let mut out = Rows::new();
    for (id, c) in charts["charts"].as_object().expect("charts") {
        let (first, last) = (c["first_entry"].as_i64().unwrap_or(0), c["last_entry"].as_i64().unwrap_or(0));
        if first == 0 || last == 0 {
            continue;
        }
        let data = p.get_json(&format!("/host/{guid}/api/v1/data?chart={id}&after={first}&before={last}&format=json"));
        let mut m = BTreeMap::new();
        for r in data["data"].as_array().expect("data") {
            let r = r.as_array().expect("row");
            let vals: Vec<Value> = r[1..].to_vec();
            if vals.iter().any(|v| !v.is_null()) {
                m.insert(r[0].as_i64().expect("time"), vals);
            }
        }
        if !m.is_empty() {
            out.insert(id.clone(), m);
        }
    }
    out
}

/// Chart id → `update_every`.
fn update_every(p: &Parent, guid: &str) -> BTreeMap<String, i64> {
    let charts = p.get_json(&format!("/host/{guid}/api/v1/charts"));
    let c = charts["charts"].as_object().expect("charts");
    c.iter().map(|(id, c)| (id.clone(), c["update_every"].as_i64().unwrap_or(1))).collect()
}

fn count(r: &Rows) -> usize {
    r.values().map(BTreeMap::len).sum()
}

/// Streams the fixture, one collection cycle per second, until it ends or `stop` is set
/// (a write error, such as the parent being killed, ends it quietly).
fn stream_paced(mut sock: TcpStream, stream: Vec<u8>, stop: Arc<AtomicBool>) {
    let marker = b"BEGIN \"system.cpu\"";
    let (mut start, mut pos, mut seen) = (0, 0, 0);
    while pos < stream.len() {
        let end = stream[pos..].iter().position(|b| *b == b'\n').map_or(stream.len(), |i| pos + i + 1);
        if stream[pos..end].starts_with(marker) {
            if seen > 0 {
                if sock.write_all(&stream[start..pos]).is_err() {
                    return;
                }
                start = pos;
                let until = Instant::now() + Duration::from_secs(1);
                while Instant::now() < until {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            seen += 1;
        }
        pos = end;
    }
    let _ = sock.write_all(&stream[start..]);
}

/// A running child: its streaming thread and the flag that stops it.
struct Child {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Child {
    fn connect(p: &Parent) -> Child {
        let (request, stream, _) = fixture();
        let (sock, reply) = handshake(p.addr, &request);
        assert_eq!(reply, REPLY);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || stream_paced(sock, stream, s));
        Child { stop, thread: Some(thread) }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits until every chart of `before` is defined again and returns the rows.
fn wait_defined(p: &Parent, guid: &str, before: &Rows) -> Rows {
    let last = before.keys().last().expect("a chart").clone();
    wait_for("the charts to be defined again", Duration::from_secs(15), || {
        let r = rows(p, guid);
        r.contains_key(&last).then_some(r)
    })
}

/// Every row of `before` up to `until` is in `after`, identical.
fn assert_kept(before: &Rows, after: &Rows, until: i64, what: &str) -> usize {
    let mut n = 0;
    for (id, b) in before {
        for (t, vals) in b.range(..=until) {
            let got = after.get(id).and_then(|a| a.get(t));
            assert_eq!(got, Some(vals), "{what}: {id} at {t}");
            n += 1;
        }
    }
    n
}

fn start(dir: TempDir, cores: usize) -> Parent {
    Parent::start(dir, cores)
}

fn config() -> TempDir {
    config_dir(NETDATA_CONF, &default_stream_conf())
}

fn datafiles(dir: &TempDir) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(dir.0.join("cache/dbengine")).expect("dbengine dir").flatten() {
        for f in std::fs::read_dir(shard.path()).expect("shard dir").flatten() {
            if f.file_name().to_string_lossy().ends_with(".sdf") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// Streams for `secs` seconds, waits for a flush, returns the parent, child and rows.
fn fill(p: &Parent, guid: &str, secs: u64) -> (Child, Rows) {
    let child = Child::connect(p);
    std::thread::sleep(Duration::from_secs(secs));
    wait_for("blocks written to disk", Duration::from_secs(10), || {
        let s = p.get_json("/api/v1/dbengine");
        (s["total"]["flush"]["blocks_flushed"].as_u64().unwrap_or(0) > 0).then_some(())
    });
    let r = rows(p, guid);
    assert!(r.len() > 50, "only {} charts hold values", r.len());
    (child, r)
}

#[test]
fn sigterm_restart_serves_every_value_again() {
    let (_, _, guid) = fixture();
    let p = start(config(), 2);
    let (child, _) = fill(&p, &guid, 6);
    let stats = p.get_json("/api/v1/dbengine");
    let disk = &stats["total"]["disk"];
    assert!(disk["bytes_written"].as_u64().unwrap() > 0, "{stats}");
    assert!(disk["datafiles"].as_u64().unwrap() >= 1, "{stats}");
    assert!(disk["datafiles_bytes"].as_u64().unwrap() >= 4096, "{stats}");
    assert!(disk["bytes_per_sample"].as_f64().unwrap() > 0.0, "{stats}");
    assert_eq!(disk["crc_failures"], 0, "{stats}");
    assert!(stats["total"]["files_attached"].as_bool().unwrap());
    drop(child);
    let before = rows(&p, &guid);
    let stopped = p.stop_with(libc::SIGTERM);
    assert!(stopped.status.success(), "exit status {:?}", stopped.status);
    stopped.wait_log(&["DBENGINE shard 0:", "open block(s) sealed", "synced and closed"]);

    let p = start(stopped.dir, 2);
    let recovered = p.wait_log(&["DBENGINE:", "journals", "blocks loaded"], Duration::from_secs(5));
    assert!(recovered.contains(" 0 repairs"), "{recovered}");
    let _child = Child::connect(&p);
    let after = wait_defined(&p, &guid, &before);
    let n = assert_kept(&before, &after, i64::MAX, "after SIGTERM");
    assert!(n > 500, "only {n} rows compared");
}

#[test]
fn sigkill_during_writes_keeps_what_is_older_than_the_crash_window() {
    let (_, _, guid) = fixture();
    let mut dir = config();
    let mut kept: Rows = Rows::new();
    for (round, secs) in [10u64, 11, 12].into_iter().enumerate() {
        let p = start(dir, 2);
        assert!(!p.has_log(&["set aside"]), "round {round}: a file was set aside: {:#?}", p.logs.lock().unwrap());
        let child = Child::connect(&p);
        if !kept.is_empty() {
            let after = wait_defined(&p, &guid, &kept);
            let n = assert_kept(&kept, &after, i64::MAX, &format!("round {round}"));
            assert!(n > 50, "round {round}: only {n} rows survived");
        }
        std::thread::sleep(Duration::from_secs(secs));
        let before = rows(&p, &guid);
        let ue = update_every(&p, &guid);
        let killed_at = now();
        let stopped = p.stop_with(libc::SIGKILL);
        drop(child);
        assert!(!stopped.logs.lock().unwrap().iter().any(|l| l.contains("panicked")), "round {round}");
        // What must survive: every row older than the crash window.
        for (id, r) in before {
            let cutoff = killed_at - crash_window(ue.get(&id).copied().unwrap_or(1));
            let old: BTreeMap<i64, Vec<Value>> = r.range(..=cutoff).map(|(t, v)| (*t, v.clone())).collect();
            if !old.is_empty() {
                kept.entry(id).or_default().extend(old);
            }
        }
        dir = stopped.dir;
    }
    let p = start(dir, 2);
    assert!(!p.has_log(&["set aside"]), "a file was set aside: {:#?}", p.logs.lock().unwrap());
    let _child = Child::connect(&p);
    let after = wait_defined(&p, &guid, &kept);
    let n = assert_kept(&kept, &after, i64::MAX, "after three kills");
    assert!(n > 1000, "only {n} rows survived three kills");
}

#[test]
fn a_new_shard_count_finds_all_data() {
    // The fixture's host belongs to shard 1 of 3 and to shard 0 of 1.
    let (_, _, guid) = fixture();
    let p = start(config(), 3);
    let (child, _) = fill(&p, &guid, 5);
    drop(child);
    let first = rows(&p, &guid);
    let stopped = p.stop_with(libc::SIGTERM);
    assert!(stopped.dir.0.join("cache/dbengine/shard-1").is_dir());

    // 3 → 1: shard 0 adopts shard-1 and shard-2.
    let p = start(stopped.dir, 1);
    let (child, _) = fill(&p, &guid, 5);
    let second = rows(&p, &guid);
    assert_kept(&first, &second, i64::MAX, "3 shards → 1");
    drop(child);
    let second = rows(&p, &guid);
    let stopped = p.stop_with(libc::SIGTERM);

    // 1 → 3: shard 1 owns the host, shard-0 is foreign to it.
    let p = start(stopped.dir, 3);
    let _child = Child::connect(&p);
    let third = wait_defined(&p, &guid, &second);
    let n = assert_kept(&second, &third, i64::MAX, "1 shard → 3");
    assert!(n > count(&first), "data of both runs: {n} rows");
}

#[test]
fn a_flipped_byte_is_a_logged_gap_and_the_rest_stays_readable() {
    let (_, _, guid) = fixture();
    let p = start(config(), 1);
    let (child, _) = fill(&p, &guid, 6);
    drop(child);
    let before = rows(&p, &guid);
    let stopped = p.stop_with(libc::SIGTERM);
    let files = datafiles(&stopped.dir);
    assert!(!files.is_empty());
    // The first extent starts after the 4 KiB header block.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    assert!(bytes.len() > 4096 + 64, "{} bytes", bytes.len());
    bytes[4096 + 40] ^= 0x5a;
    std::fs::write(&files[0], &bytes).unwrap();

    let p = start(stopped.dir, 1);
    let _child = Child::connect(&p);
    let after = wait_defined(&p, &guid, &before);
    p.wait_log(&["DBENGINE:", "is damaged", "queries show a gap"], Duration::from_secs(5));
    let (mut same, mut lost) = (0usize, 0usize);
    for (id, b) in &before {
        for (t, vals) in b {
            match after.get(id).and_then(|a| a.get(t)) {
                Some(v) if v == vals => same += 1,
                None => lost += 1,
                Some(v) => panic!("{id} at {t}: {v:?}, was {vals:?}: damage must read as a gap"),
            }
        }
    }
    assert!(lost > 0, "the damaged extent must show as a gap");
    assert!(same > 0, "the other extents stay readable ({lost} rows lost)");
    let stats = p.get_json("/api/v1/dbengine");
    assert!(stats["total"]["disk"]["crc_failures"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["total"]["disk"]["corrupt_blocks"].as_u64().unwrap() >= 1, "{stats}");
}
