//! `/api/v1/latency` and `strata report` against a running 2-shard parent: a captured
//! Netdata child is streamed in (the first cycles paced at one second), the API is
//! queried a few times, and then the ingest and API histograms hold samples, the flush
//! histogram too once the flusher has written an extent (it waits up to 2 s for one to
//! fill), the merged figures are the sum of the shards', and `strata report --target`
//! prints the same figures as a table.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const FIXTURE: &str = "netdata-1.37.1-child-v4";
const PACED_CYCLES: usize = 5;

fn count(v: &serde_json::Value, kind: &str) -> u64 {
    v[kind]["count"].as_u64().unwrap_or_else(|| panic!("no {kind}.count in {v}"))
}

#[test]
fn latency_histograms_are_served_and_reported() {
    // Small blocks: the paced cycles seal some, so the flusher has extents to write.
    let p = Parent::start(config_dir("[db]\n    dbengine block slots = 4\n", &default_stream_conf()), 2);
    let dir = shared_dir().join("fixtures");
    let request = std::fs::read(dir.join(format!("{FIXTURE}.request"))).expect("request");
    let stream = std::fs::read(dir.join(format!("{FIXTURE}.stream"))).expect("stream");
    let req_text = String::from_utf8_lossy(&request).to_string();
    let guid = req_text.split("machine_guid=").nth(1).and_then(|s| s.split('&').next()).expect("guid").to_string();

    let before = p.get_json("/api/v1/latency");
    assert_eq!(before["unit"], "microseconds");
    assert_eq!(count(&before["merged"], "ingest"), 0, "nothing streamed yet: {before}");

    let (sock, reply) = handshake(p.addr, &request);
    assert_eq!(reply, b"Hit me baby, push them over with the version=4");
    let _sock = replay_paced(sock, &stream, PACED_CYCLES);
    wait_for("the child's charts", Duration::from_secs(20), || {
        (p.get(&format!("/host/{guid}/api/v1/chart?chart=system.cpu")).0 == 200).then_some(())
    });
    for _ in 0..3 {
        p.get_json(&format!("/host/{guid}/api/v1/data?chart=system.cpu&after=-10&format=json"));
        p.get_json(&format!("/host/{guid}/api/v1/charts"));
        p.get_json("/api/v1/info");
    }

    // The flusher writes a partial extent 2 s after the first block sealed.
    let v = wait_for("a flush sample", Duration::from_secs(20), || {
        let v = p.get_json("/api/v1/latency");
        (count(&v["merged"], "flush") > 0).then_some(v)
    });
    let m = &v["merged"];
    assert!(count(m, "ingest") > 0, "{v}");
    assert!(count(m, "api") >= 9, "every query above is a sample: {v}");
    for kind in ["ingest", "flush", "api"] {
        let h = &m[kind];
        let fig = |k: &str| h[k].as_u64().unwrap_or_else(|| panic!("{kind}.{k} in {v}"));
        assert!(fig("min") >= 1 && fig("min") <= fig("p50"), "{kind}: {h}");
        assert!(fig("p50") <= fig("p90") && fig("p90") <= fig("p99"), "{kind}: {h}");
        assert!(fig("p99") <= fig("p999") && fig("p999") <= fig("max"), "{kind}: {h}");
        assert!(fig("max") <= 60_000_000 + 60_000, "within the 60 s bound: {h}");
        assert!(h["mean"].as_f64().unwrap_or(-1.0) > 0.0, "{kind}: {h}");
        let shards = v["shards"].as_array().expect("shards");
        assert_eq!(shards.len(), 2, "{v}");
        let per_shard: u64 = shards.iter().map(|s| count(s, kind)).sum();
        assert_eq!(per_shard, count(m, kind), "{kind}: merged = sum of the shards: {v}");
    }
    let (since, now) = (v["since"].as_i64().expect("since"), v["now"].as_i64().expect("now"));
    assert!(since > 1_600_000_000 && since <= now, "{v}");
    assert!(v["reset"].as_str().is_some_and(|r| r.contains("cumulative")), "{v}");
    // Only the host's shard received the stream.
    let ingesting = v["shards"].as_array().expect("shards").iter().filter(|s| count(s, "ingest") > 0).count();
    assert_eq!(ingesting, 1, "{v}");

    // `strata report` prints the same histograms as a table.
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["report", "--target", &p.addr.to_string()])
        .output()
        .expect("run strata report");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(&p.addr.to_string()) && lines[0].contains("microseconds"), "{text}");
    assert!(
        lines[1].split_whitespace().eq([
            "histogram",
            "shard",
            "count",
            "min",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "mean"
        ]),
        "{text}"
    );
    assert_eq!(lines.len(), 2 + 3 * 3, "three histograms × (all + 2 shards): {text}");
    for kind in ["ingest", "flush", "api"] {
        let row: Vec<&str> = lines.iter().find(|l| l.starts_with(kind)).expect("row").split_whitespace().collect();
        assert_eq!(row[1], "all", "{text}");
        let n: u64 = row[2].parse().expect("count");
        assert!(n >= count(m, kind), "{kind}: the table counts at least what the JSON did: {text}");
    }
}

#[test]
fn report_against_nothing_fails_with_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let target = format!("127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["report", "--target", &target, "--timeout", "2"])
        .output()
        .expect("run strata report");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&target), "{err}");
}
