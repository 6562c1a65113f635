//! `memory mode = save` and `map` across a restart of a real 2-shard parent.
//!
//! A captured Netdata 1.37.1 child stream is replayed into the parent; the parent is then
//! stopped — cleanly with `SIGTERM` for `save` (the files are written on exit), with
//! `SIGKILL` for `map` (nothing is written on exit: the mapped files hold the data) — and
//! started again on the same directories. When the child reconnects and sends its chart
//! definitions (no values), `/api/v1/data` answers exactly what it answered before.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;

const FIXTURE: &str = "netdata-1.37.1-child-v4";
const REPLY: &[u8] = b"Hit me baby, push them over with the version=4";

/// Chart id → (first_entry, last_entry, /api/v1/data JSON over exactly that window).
type Snapshot = BTreeMap<String, (i64, i64, serde_json::Value)>;

fn fixture() -> (Vec<u8>, Vec<u8>, String) {
    let dir = shared_dir().join("fixtures");
    let request = std::fs::read(dir.join(format!("{FIXTURE}.request"))).expect("request");
    let stream = std::fs::read(dir.join(format!("{FIXTURE}.stream"))).expect("stream");
    let text = String::from_utf8_lossy(&request).to_string();
    let guid = text.split("machine_guid=").nth(1).and_then(|s| s.split('&').next()).expect("guid").to_string();
    (request, stream, guid)
}

/// The stream without its values: chart and dimension definitions (and labels) only.
fn definitions(stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in stream.split_inclusive(|b| *b == b'\n') {
        if !(line.starts_with(b"BEGIN ") || line.starts_with(b"SET ") || line.starts_with(b"END")) {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Every chart of the host that holds at least one value, with its data.
fn snapshot(p: &Parent, guid: &str) -> Snapshot {
    let charts = p.get_json(&format!("/host/{guid}/api/v1/charts"));
    let mut out = Snapshot::new();
    for (id, c) in charts["charts"].as_object().expect("charts") {
        let (first, last) = (c["first_entry"].as_i64().unwrap_or(0), c["last_entry"].as_i64().unwrap_or(0));
        if first == 0 || last == 0 {
            continue;
        }
        let data = p.get_json(&format!("/host/{guid}/api/v1/data?chart={id}&after={first}&before={last}&format=json"));
        let values =
            data["data"].as_array().expect("data").iter().flat_map(|r| r.as_array().into_iter().flatten().skip(1));
        if values.filter(|v| !v.is_null()).count() > 0 {
            out.insert(id.clone(), (first, last, data));
        }
    }
    out
}

/// Starts a parent, streams the fixture into it, waits for stored values; returns the
/// parent, the child's socket and what the API serves.
fn fill(dir: TempDir) -> (Parent, TcpStream, Snapshot, String) {
    let (request, stream, guid) = fixture();
    let p = Parent::start(dir, 2);
    let (sock, reply) = handshake(p.addr, &request);
    assert_eq!(reply, REPLY);
    let sock = replay_paced(sock, &stream, 4);
    let snap = wait_for("stored values of system.cpu", Duration::from_secs(15), || {
        let s = snapshot(&p, &guid);
        s.contains_key("system.cpu").then_some(s)
    });
    assert!(snap.len() > 50, "only {} charts hold values", snap.len());
    (p, sock, snap, guid)
}

/// Starts a parent on the same directories, reconnects the child with its definitions
/// only, and checks that every chart serves exactly the values it served before.
fn restart_and_compare(dir: TempDir, before: &Snapshot, guid: &str) -> Parent {
    let (request, stream, _) = fixture();
    let p = Parent::start(dir, 2);
    let (mut sock, reply) = handshake(p.addr, &request);
    assert_eq!(reply, REPLY);
    sock.write_all(&definitions(&stream)).expect("send definitions");
    let last = before.keys().last().expect("a chart").clone();
    let after = wait_for("the charts to be defined again", Duration::from_secs(15), || {
        let s = snapshot(&p, guid);
        s.contains_key(&last).then_some(s)
    });
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "charts holding values");
    for (id, (first, last, data)) in before {
        let (f2, l2, d2) = &after[id];
        assert_eq!((first, last), (f2, l2), "{id}: first/last entry");
        assert_eq!(data, d2, "{id}: data");
    }
    drop(sock);
    p
}

fn ring_files(dir: &TempDir, guid: &str) -> usize {
    std::fs::read_dir(dir.0.join("cache").join(guid))
        .map(|d| d.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().ends_with(".ring")).count())
        .unwrap_or(0)
}

#[test]
fn save_mode_writes_on_sigterm_and_loads_on_restart() {
    let stream_conf = format!("[{KEY}]\n    enabled = yes\n    allow from = *\n    default memory mode = save\n");
    let dir = config_dir("[global]\n    history = 300\n", &stream_conf);
    let (p, sock, before, guid) = fill(dir);
    assert_eq!(ring_files(&p.dir, &guid), 0, "save writes nothing before the exit");
    let stopped = p.stop_with(libc::SIGTERM);
    assert!(stopped.status.success(), "exit status {:?}", stopped.status);
    stopped.wait_log(&["capture-child", "disconnected", "strata is shutting down"]);
    let saved = stopped.wait_log(&["saved", "chart file(s) (memory mode save)"]);
    assert!(!saved.contains("saved 0 "), "{saved}");
    stopped.wait_log(&["EXIT: every shard stopped"]);
    drop(sock);
    assert!(ring_files(&stopped.dir, &guid) > 150, "one file per chart");

    let p = restart_and_compare(stopped.dir, &before, &guid);
    assert!(!p.has_log(&["ignoring it"]) && !p.has_log(&["renamed it"]), "every file was used");
}

#[test]
fn map_mode_keeps_the_data_through_sigkill() {
    let dir =
        config_dir("[global]\n    history = 300\n    memory mode = map\n", &format!("[{KEY}]\n    enabled = yes\n"));
    let (p, sock, before, guid) = fill(dir);
    assert!(ring_files(&p.dir, &guid) > 150, "map files exist while running");
    let killed = p.stop_with(libc::SIGKILL);
    assert!(!killed.status.success());
    drop(sock);
    assert!(!killed.logs.lock().unwrap().iter().any(|l| l.contains("chart file(s)")), "nothing saved on exit");

    let p = restart_and_compare(killed.dir, &before, &guid);
    assert!(!p.has_log(&["ignoring it"]) && !p.has_log(&["renamed it"]), "every file was used");
}
