//! A real Netdata 1.37.1 child (Debian `netdata-core`, run with private directories by
//! `shared/tools/netdata-peer/child.sh`) streams into a strata parent for at least 30 s:
//! its host is in `mirrored_hosts`, its charts include `system.cpu` and `system.ram`, and
//! `/api/v1/data` has recent values. The parent runs the default `dbengine` with 8-slot
//! blocks, so those values are read back across sealed blocks.
//!
//! In CI (`CI=true`) a missing Netdata is a failure; elsewhere the test says it skipped.

mod common;

use std::time::{Duration, Instant};

use common::netdata::*;
use common::*;

#[test]
fn real_netdata_child_streams_into_strata() {
    if !netdata_available() {
        return;
    }
    let p = Parent::start(config_dir("[db]\n    dbengine block slots = 8\n", &default_stream_conf()), 2);
    let hostname = format!("nd-child-{}", std::process::id());
    let _child = RealNetdata::start("child.sh", &[&p.addr.to_string(), KEY, &hostname], "nd-child");
    let started = Instant::now();

    let guid = wait_for("the child in mirrored_hosts", Duration::from_secs(60), || {
        let info = p.get_json("/api/v1/info");
        let hosts = info["mirrored_hosts"].as_array()?.clone();
        let i = hosts.iter().position(|h| h.as_str() == Some(hostname.as_str()))?;
        info["mirrored_hosts_status"][i]["guid"].as_str().map(str::to_string)
    });
    p.wait_log(&["'CONNECTED'", &format!("host '{hostname}'")], Duration::from_secs(5));
    p.wait_log(&[&hostname, "negotiated capabilities: VN HLABELS CLAIM CLABELS"], Duration::from_secs(5));

    wait_for("system.cpu and system.ram", Duration::from_secs(60), || {
        let charts = p.get_json(&format!("/host/{hostname}/api/v1/charts"));
        let c = charts["charts"].as_object()?;
        (c.contains_key("system.cpu") && c.contains_key("system.ram")).then_some(())
    });

    // Stream for at least 30 s, then look at the newest 10 s.
    let remaining = Duration::from_secs(32).saturating_sub(started.elapsed());
    std::thread::sleep(remaining);
    let info = p.get_json(&format!("/host/{guid}/api/v1/info"));
    assert_eq!(info["uid"], guid.as_str());
    assert_eq!(info["version"], "v1.37.1");
    let data = p.get_json(&format!("/host/{hostname}/api/v1/data?chart=system.cpu&after=-10&format=json"));
    let rows = data["data"].as_array().expect("rows");
    assert!(!rows.is_empty(), "no rows: {data}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let newest = rows[0][0].as_i64().expect("timestamp");
    assert!(now - newest <= 10, "newest row is {}s old", now - newest);
    let values = rows.iter().flat_map(|r| r.as_array().into_iter().flatten().skip(1)).filter(|v| v.is_number()).count();
    assert!(values > 0, "system.cpu has no values in the last 10 s: {data}");
    let ram = p.get_json(&format!("/host/{hostname}/api/v1/data?chart=system.ram&after=-10&format=json"));
    let used = ram["labels"].as_array().expect("labels").iter().position(|l| l == "used").expect("used dimension");
    assert!(ram["data"][0][used].as_f64().is_some_and(|v| v > 0.0), "system.ram used: {ram}");
    let cpu = p.get_json(&format!("/host/{hostname}/api/v1/data?chart=system.cpu&after=-24&points=24&format=json"));
    let filled = cpu["data"].as_array().expect("rows").iter().filter(|r| r[1].is_number()).count();
    assert!(filled >= 16, "only {filled} of 24 s of system.cpu stored: {cpu}");
    let st = p.get_json("/api/v1/dbengine");
    assert!(st["total"]["sealed"]["blocks"].as_u64().is_some_and(|n| n > 0), "no block sealed: {st}");
    assert!(st["total"]["page_cache"]["hits"].as_u64().is_some_and(|n| n > 0), "no sealed block read: {st}");
    assert!(!p.has_log(&[&hostname, "disconnected"]), "the child was disconnected");
}
