//! A short loadgen swarm against a real strata parent: 200 children × 50 metrics for
//! about 10 s. Every child must connect, the parent must have collected exactly the
//! samples the loadgen sent (per-host `values_collected` from `/api/v1/ingest`), and the
//! JSON report must parse. And the same over TLS (`--tls` with `--ca`) into a strata
//! parent's `^SSL=force` port: every child connects through a TLS handshake, the parent
//! sees the streams as TLS, and the handshake cost is reported.

#[path = "common/certs.rs"]
mod certs;
mod common;

use std::time::Duration;

use clap::Parser;
use common::{config_dir, wait_for, Parent, TempDir, KEY};
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

#[test]
fn tls_swarm_connects_through_the_handshake_and_loses_no_sample() {
    const N: usize = 40;
    let dir = TempDir::new("certs");
    let c = certs::ca_signed(&dir.0);
    let netdata_conf =
        format!("[web]\n    ssl key = {}\n    ssl certificate = {}\n", c.key.display(), c.cert.display());
    let stream_conf = format!("[{KEY}]\n    enabled = yes\n    allow from = *\n    default memory mode = ram\n");
    let bind = "127.0.0.1:0=streaming|dashboard^SSL=optional 127.0.0.1:0=streaming|dashboard^SSL=force";
    let parent = Parent::start_with(config_dir(&netdata_conf, &stream_conf), 2, &["-W", "set", "web", "bind to", bind]);
    let force = wait_for("the force port", Duration::from_secs(5), || {
        let logs = parent.logs.lock().unwrap();
        let addrs: Vec<String> = logs
            .iter()
            .filter_map(|l| l.split("web server listening on ").nth(1).map(|a| a.trim().to_string()))
            .collect();
        addrs.get(1).cloned()
    });
    let ca = c.trust.display().to_string();
    let opts = Options::parse_from([
        "strata-loadgen",
        "--target",
        &force,
        "--api-key",
        KEY,
        "--tls",
        "--ca",
        &ca,
        "--tls-server-name",
        "localhost",
        "--children",
        &N.to_string(),
        "--charts",
        "4",
        "--dims",
        "5",
        "--duration",
        "5",
        "--ramp",
        "200",
        "--seed",
        "5",
        "--threads",
        "1",
        "--progress",
        "0",
        // The freshness probe reads the API in plain HTTP only (a force port redirects).
        "--probe-children",
        "0",
    ]);
    let report = strata_loadgen::run(&opts).expect("loadgen run");
    assert_eq!(report.probing.errors, 0);
    let conn = &report.connections;
    assert_eq!(conn.connected, N as u64, "{conn:?}");
    assert!(conn.failed.is_empty() && conn.rejected.is_empty() && conn.disconnects.is_empty(), "{conn:?}");
    let l = &report.latency_ms;
    assert_eq!(l.tls_handshake.count, N as u64, "one TLS handshake per child");
    assert!(l.tls_handshake.max > 0.0);
    let tls_streams =
        parent.logs.lock().unwrap().iter().filter(|l| l.contains("new client wants to stream (TLS)")).count();
    assert_eq!(tls_streams, N, "every stream arrived over TLS");

    let t = &report.traffic;
    let guids: Vec<String> = (0..N).map(|i| Identity::new(5, i, "loadgen").machine_guid).collect();
    let total = wait_for("the parent to collect every sample", Duration::from_secs(20), || {
        let sum: u64 = guids
            .iter()
            .filter_map(|g| {
                let (status, body) = parent.try_get(&format!("/host/{g}/api/v1/ingest")).ok()?;
                let v: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
                v["values_collected"].as_u64()
            })
            .sum();
        (sum >= t.samples_sent).then_some(sum)
    });
    assert_eq!(total, t.samples_sent, "no sample lost, none invented");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the JSON report parses");
    assert_eq!(json["settings"]["tls"], true, "{}", json["settings"]);
    assert!(json["latency_ms"]["tls_handshake"]["p50"].is_number());
    eprintln!("{}", report.text());
}
