//! strata between real Netdata 1.37.1 peers (Debian `netdata-core`, run with private
//! directories by `shared/tools/netdata-peer/`):
//! * a real Netdata child → a headless strata proxy (`memory mode = none`) → a strata
//!   parent: the parent serves the child's charts and fresh values;
//! * a capture of a real child → a strata proxy with a database → a real Netdata parent:
//!   the Netdata parent lists the forwarded host in `mirrored_hosts` and serves its charts.
//!
//! In CI (`CI=true`) a missing Netdata is a failure; elsewhere the tests say they skipped.

mod common;

use std::time::{Duration, Instant};

use common::netdata::*;
use common::relay::*;
use common::*;

#[test]
fn real_netdata_child_through_a_headless_strata_proxy() {
    if !netdata_available() {
        return;
    }
    let parent = Parent::start(config_dir("", &default_stream_conf()), 1);
    let proxy = Parent::start_headless(
        config_dir("[global]\n    memory mode = none\n", &proxy_stream_conf(&parent.addr.to_string(), "none", "")),
        1,
        &[],
    );
    let hostname = format!("nd-proxied-{}", std::process::id());
    let _child = RealNetdata::start("child.sh", &[&proxy.addr.to_string(), KEY, &hostname], "nd-child");

    let status = wait_for("the child at the parent", Duration::from_secs(30), || mirrored(&parent, &hostname));
    assert_eq!(status["hops"], 2);
    proxy.wait_log(
        &[&hostname, "[receive from", "negotiated capabilities: VN HLABELS CLAIM CLABELS"],
        Duration::from_secs(5),
    );
    proxy.wait_log(
        &[&format!(
            "STREAM {hostname} [send to {}]: established link with negotiated capabilities: VN HLABELS CLAIM CLABELS",
            parent.addr
        )],
        Duration::from_secs(5),
    );
    let charts = wait_for("system.cpu and system.ram at the parent", Duration::from_secs(30), || {
        chart_ids(&parent, &hostname)
            .filter(|c| c.iter().any(|x| x == "system.cpu") && c.iter().any(|x| x == "system.ram"))
    });
    assert!(charts.len() > 50, "only {} charts", charts.len());
    let started = Instant::now();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    wait_for("fresh system.cpu values at the parent", Duration::from_secs(20), || {
        let data = parent.get_json(&format!("/host/{hostname}/api/v1/data?chart=system.cpu&after=-10&format=json"));
        let rows = data["data"].as_array()?.clone();
        let newest = rows.first()?[0].as_i64()?;
        let values =
            rows.iter().flat_map(|r| r.as_array().into_iter().flatten().skip(1)).filter(|v| v.is_number()).count();
        (now() - newest <= 5 && values > 10).then_some(())
    });
    let used = wait_for("system.ram used", Duration::from_secs(10), || {
        values(&parent, &hostname, "system.ram", "used", 10).first().copied()
    });
    assert!(used > 0.0);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!proxy.has_log(&[&hostname, "connection closed by far end"]), "the parent closed the link");
    assert!(!parent.has_log(&[&hostname, "disconnected (completed"]), "the parent's receiver ended the session");
    assert!(!proxy.has_log(&[&hostname, "disconnected (completed"]), "the proxy's receiver ended the session");
}

#[test]
fn strata_proxy_with_a_database_into_a_real_netdata_parent() {
    if !netdata_available() {
        return;
    }
    let port = free_port();
    let netdata = RealNetdata::start("parent.sh", &[&port.to_string(), KEY], "nd-parent");
    let nd: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let proxy = Parent::start(config_dir("", &proxy_stream_conf(&nd.to_string(), "ram", "")), 2);

    let dir = shared_dir().join("fixtures");
    let request = std::fs::read(dir.join(format!("{FIXTURE}.request"))).expect("request");
    let stream = std::fs::read(dir.join(format!("{FIXTURE}.stream"))).expect("stream");
    let _sock = replay(proxy.addr, &request, &stream);

    let local = wait_for("the charts at the proxy", Duration::from_secs(20), || {
        chart_ids(&proxy, "capture-child").filter(|c| c.len() > 150)
    });
    proxy.wait_log(
        &[&format!("STREAM capture-child [send to {nd}]: established link with negotiated capabilities: VN HLABELS CLAIM CLABELS")],
        Duration::from_secs(10),
    );
    let hosts = wait_for("capture-child in the Netdata parent's mirrored_hosts", Duration::from_secs(20), || {
        let (status, body) = http_get(nd, "/api/v1/info").ok()?;
        let info: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
        let hosts: Vec<String> =
            info["mirrored_hosts"].as_array()?.iter().filter_map(|h| h.as_str().map(str::to_string)).collect();
        hosts.iter().any(|h| h == "capture-child").then_some(hosts)
    });
    assert!(hosts.len() >= 2, "{hosts:?}");
    let remote = wait_for("the forwarded charts at the Netdata parent", Duration::from_secs(20), || {
        let (status, body) = http_get(nd, "/host/capture-child/api/v1/charts").ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
        let mut ids: Vec<String> = v["charts"].as_object()?.keys().cloned().collect();
        ids.sort();
        (ids.len() >= local.len()).then_some(ids)
    });
    let missing: Vec<&String> = local.iter().filter(|c| !remote.contains(c)).collect();
    assert!(missing.is_empty(), "charts the Netdata parent lacks: {missing:?}");
    let (status, body) =
        http_get(nd, "/host/capture-child/api/v1/data?chart=system.cpu&after=-60&format=json").expect("data");
    assert_eq!(status, 200, "{body}");
    let data: serde_json::Value = serde_json::from_str(&body).expect("json");
    let numbers = data["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().into_iter().flatten().skip(1))
        .filter(|v| v.is_number())
        .count();
    assert!(numbers > 0, "no system.cpu values at the Netdata parent: {body}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!proxy.has_log(&["capture-child", "connection closed by far end"]), "Netdata closed the link");
    let log = netdata.error_log();
    let ours: Vec<&str> = log.lines().filter(|l| l.contains("capture-child") && l.contains("disconnected")).collect();
    assert!(ours.is_empty(), "the Netdata parent dropped the host: {ours:?}");
}
