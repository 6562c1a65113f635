//! A short loadgen swarm against a real strata parent: 200 children × 50 metrics for
//! about 10 s. Every child must connect, the parent must have collected exactly the
//! samples the loadgen sent (per-host `values_collected` from `/api/v1/ingest`), and the
//! JSON report must parse.

mod common;

use std::time::Duration;

use clap::Parser;
use common::{config_dir, wait_for, Parent, KEY};
use strata_loadgen::ident::Identity;
use strata_loadgen::Options;

const CHILDREN: usize = 200;

#[test]
fn swarm_of_200_children_loses_no_sample() {
    let stream_conf = format!("[{KEY}]\n    enabled = yes\n    allow from = *\n    default memory mode = ram\n");
    let parent = Parent::start(config_dir("", &stream_conf), 2);
    let target = parent.addr.to_string();
    let opts = Options::parse_from([
        "strata-loadgen",
        "--target",
        &target,
        "--api-key",
        KEY,
        "--children",
        &CHILDREN.to_string(),
        "--charts",
        "10",
        "--dims",
        "5",
        "--duration",
        "10",
        "--ramp",
        "400",
        "--seed",
        "4",
        "--threads",
        "2",
        "--progress",
        "0",
        "--probe-children",
        "2",
        "--probe-charts",
        "2",
    ]);
    let report = strata_loadgen::run(&opts).expect("loadgen run");

    let c = &report.connections;
    assert_eq!(c.connected, CHILDREN as u64, "{c:?}");
    assert_eq!(c.never_connected, 0);
    assert_eq!(c.sessions, CHILDREN as u64, "one session each: {c:?}");
    assert!(c.failed.is_empty() && c.rejected.is_empty() && c.disconnects.is_empty(), "{c:?}");
    let t = &report.traffic;
    // At least 8 ticks per child (10 s, ramp 0.5 s, each child's first tick within 1 s).
    assert!(t.samples_sent >= (CHILDREN * 50 * 8) as u64, "{t:?}");
    assert_eq!(t.ticks_cut_at_end, 0);

    // The parent's count, host by host: equal once it has read everything we sent.
    let collected = |guid: &str| -> Option<u64> {
        let (status, body) = parent.try_get(&format!("/host/{guid}/api/v1/ingest")).ok()?;
        if status != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["values_collected"].as_u64()
    };
    let guids: Vec<String> = (0..CHILDREN).map(|i| Identity::new(4, i, "loadgen").machine_guid).collect();
    let total = wait_for("the parent to collect every sample", Duration::from_secs(30), || {
        let sum: u64 = guids.iter().map(|g| collected(g).unwrap_or(0)).sum();
        (sum >= t.samples_sent).then_some(sum)
    });
    assert_eq!(total, t.samples_sent, "no sample lost, none invented");
    let first: serde_json::Value = parent.get_json(&format!("/host/{}/api/v1/ingest", guids[0]));
    assert_eq!((first["charts"].as_u64(), first["dimensions"].as_u64()), (Some(10), Some(50)));

    // Latencies were measured, the probe saw the parent's API, and the JSON parses.
    let l = &report.latency_ms;
    assert_eq!(l.handshake.count, CHILDREN as u64);
    assert!(l.tick_send_lag.count >= t.ticks_sent);
    assert!(l.freshness.count > 0, "freshness measured through /api/v1/data: {:?}", report.probing);
    assert_eq!(report.probing.errors, 0);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the JSON report parses");
    assert_eq!(json["connections"]["connected"], CHILDREN as u64);
    assert_eq!(json["traffic"]["samples_sent"], t.samples_sent);
    for key in ["handshake", "tick_send_lag", "freshness"] {
        for p in ["p50", "p90", "p99", "p999", "max"] {
            assert!(json["latency_ms"][key][p].is_number(), "{key}.{p}");
        }
    }
    assert!(report.cost.cpu_secs > 0.0);
    eprintln!("{}", report.text());
}
