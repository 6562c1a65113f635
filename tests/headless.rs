//! The headless collector role (`memory mode = none`, `[web] mode = none`, `[stream]
//! enabled = yes`): a strata process that listens on no port, stores nothing, and only
//! collects (internal collectors and external plugins) and sends upstream:
//! * to a strata parent: the parent mirrors the host, serves its system charts with fresh
//!   values, and gets every definition again after it restarts;
//! * to a real Netdata 1.37.1 parent: its charts and values are in Netdata's API;
//! * an external plugin's chart reaches the parent with the values it printed;
//! * it releases its start-up code pages (`src/resident.rs`) and keeps sending afterwards.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::netdata::*;
use common::relay::*;
use common::*;

const HEADLESS: &str = "[global]\n    memory mode = none\n[web]\n    mode = none\n";
const READY: &str = "established link with negotiated capabilities";

fn sender_conf(destination: &str) -> String {
    format!(
        "[stream]\n    enabled = yes\n    destination = {destination}\n    api key = {KEY}\n    reconnect delay seconds = 1\n"
    )
}

/// A headless collector named `hostname` streaming to `destination` (`plugins`: scripts to
/// put in its plugins directory first, as (file, text)).
/// Started without `--cores`: a node that receives nothing runs one shard.
fn headless(hostname: &str, destination: &str, plugins: &[(&str, &str)]) -> Node {
    let dir = config_dir(HEADLESS, &sender_conf(destination));
    for (file, script) in plugins {
        let d = plugins_dir(&dir);
        std::fs::create_dir_all(&d).expect("plugins dir");
        std::fs::write(d.join(file), script).expect("write plugin");
        std::fs::set_permissions(d.join(file), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let ready = format!("STREAM {hostname} [send to {destination}]: {READY}");
    let node = Node::start(dir, None, &["-W", "set", "global", "hostname", hostname], &[&ready]);
    node.wait_log(&["started: machine guid", "1 shard(s), memory mode none"], Duration::from_secs(1));
    node.wait_log(&["Not starting thread WEB_SERVER[static1]", "[web] mode = none"], Duration::from_secs(1));
    assert!(!node.has_log(&["web server listening on"]));
    node
}

/// Inodes of the TCP sockets in LISTEN state on this machine.
fn listening_inodes() -> Vec<String> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" {
                out.push(f[9].to_string());
            }
        }
    }
    out
}

/// Inodes of the sockets a process holds.
fn socket_inodes(pid: u32) -> Vec<String> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fd dir");
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_string))
        .collect()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// Fresh (≤ 5 s old) rows of system.cpu with numbers, from a parent's data API at `addr`.
fn fresh_cpu(addr: std::net::SocketAddr, host: &str) -> Option<usize> {
    let (status, body) =
        http_get(addr, &format!("/host/{host}/api/v1/data?chart=system.cpu&after=-10&format=json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
    let rows = v["data"].as_array()?;
    let newest = rows.first()?[0].as_i64()?;
    let numbers =
        rows.iter().flat_map(|r| r.as_array().into_iter().flatten().skip(1)).filter(|x| x.is_number()).count();
    (now() - newest <= 5 && numbers >= 9).then_some(numbers)
}

fn charts_at(addr: std::net::SocketAddr, host: &str) -> Option<Vec<String>> {
    let (status, body) = http_get(addr, &format!("/host/{host}/api/v1/charts")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
    let ids: Vec<String> = v["charts"].as_object()?.keys().cloned().collect();
    ["system.cpu", "system.ram", "system.load"].iter().all(|c| ids.iter().any(|x| x == c)).then_some(ids)
}

fn mirrored_hosts(addr: std::net::SocketAddr) -> Vec<String> {
    let Ok((200, body)) = http_get(addr, "/api/v1/info") else { return Vec::new() };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else { return Vec::new() };
    v["mirrored_hosts"].as_array().into_iter().flatten().filter_map(|h| h.as_str().map(str::to_string)).collect()
}

#[test]
fn a_headless_collector_streams_into_a_strata_parent() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let parent = Parent::start_with(config_dir("", &default_stream_conf()), 1, &["-W", "set", "web", "bind to", &bind]);
    assert_eq!(parent.addr.port(), port);
    let host = "headless-to-strata";
    let child = headless(host, &bind, &[]);

    // No listening socket at all, and no files of a database.
    let listening = listening_inodes();
    let own = socket_inodes(child.pid());
    assert!(!own.is_empty(), "the sender's socket");
    assert!(own.iter().all(|i| !listening.contains(i)), "the headless collector listens: {own:?}");
    assert!(!child.dir.0.join("cache/dbengine").exists(), "memory mode none opened a dbengine");

    wait_for("the child in mirrored_hosts", Duration::from_secs(10), || {
        mirrored_hosts(parent.addr).iter().any(|h| h == host).then_some(())
    });
    let charts =
        wait_for("system.cpu, system.ram, system.load", Duration::from_secs(10), || charts_at(parent.addr, host));
    assert!(charts.len() >= 10, "{charts:?}");
    wait_for("fresh system.cpu values", Duration::from_secs(10), || fresh_cpu(parent.addr, host));
    let used = wait_for("system.ram used", Duration::from_secs(10), || {
        values(&parent, host, "system.ram", "used", 10).first().copied()
    });
    assert!(used > 0.0);

    // A new parent on the same port: the child, which stores nothing, still defines
    // every chart again and the values continue.
    drop(parent);
    // The killed parent's io_uring releases its pending accept (and so the listening
    // socket) asynchronously in the kernel: wait until the port can be bound again.
    wait_for("the old parent's port to be free", Duration::from_secs(20), || {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
        s.set_reuse_address(true).ok()?;
        s.bind(&bind.parse::<std::net::SocketAddr>().ok()?.into()).ok()?;
        s.listen(1).ok()
    });
    let parent = Parent::start_with(config_dir("", &default_stream_conf()), 1, &["-W", "set", "web", "bind to", &bind]);
    wait_for("the charts at the new parent", Duration::from_secs(15), || charts_at(parent.addr, host));
    wait_for("fresh system.cpu values at the new parent", Duration::from_secs(10), || fresh_cpu(parent.addr, host));
    let links = child.logs.lock().unwrap().iter().filter(|l| l.contains(READY)).count();
    assert!(links >= 2, "the child did not connect again");
}

#[test]
fn a_headless_collector_streams_into_a_real_netdata_parent() {
    if !netdata_available() {
        return;
    }
    let port = free_port();
    let nd: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let netdata = RealNetdata::start("parent.sh", &[&port.to_string(), KEY], "nd-parent");
    let host = format!("headless-to-netdata-{}", std::process::id());
    let child = headless(&host, &nd.to_string(), &[]);

    wait_for("the child in Netdata's mirrored_hosts", Duration::from_secs(15), || {
        mirrored_hosts(nd).contains(&host).then_some(())
    });
    let charts = wait_for("the system charts at Netdata", Duration::from_secs(15), || charts_at(nd, &host));
    assert!(charts.len() >= 10, "{charts:?}");
    wait_for("fresh system.cpu values at Netdata", Duration::from_secs(15), || fresh_cpu(nd, &host));
    assert!(!child.has_log(&["connection closed by far end"]), "Netdata closed the link");
    let log = netdata.error_log();
    let dropped: Vec<&str> = log.lines().filter(|l| l.contains(host.as_str()) && l.contains("disconnected")).collect();
    assert!(dropped.is_empty(), "the Netdata parent dropped the host: {dropped:?}");
}

#[test]
fn an_external_plugin_on_a_headless_collector_reaches_the_parent() {
    let parent = Parent::start(config_dir("", &default_stream_conf()), 1);
    let host = "headless-plugin";
    let script = r#"#!/bin/sh
echo 'CHART testplug.values "" "Test plugin values" "widgets" "testfamily" "testplug.values" line 90000 $1'
echo 'DIMENSION tenth "a tenth" absolute 1 10'
echo 'DIMENSION neg neg absolute -3 1'
while true; do
  echo 'BEGIN testplug.values'
  echo 'SET tenth = 1000'
  echo 'SET neg = 7'
  echo 'END'
  sleep 1
done
"#;
    let child = headless(host, &parent.addr.to_string(), &[("testplug.plugin", script)]);
    child.wait_log(&["PLUGINSD[testplug]: connected to '", "testplug.plugin' running on pid"], Duration::from_secs(10));
    let chart = wait_for("the plugin's chart at the parent", Duration::from_secs(15), || {
        let v = parent.get_json(&format!("/host/{host}/api/v1/charts"));
        v["charts"].get("testplug.values").cloned()
    });
    assert_eq!((chart["units"].as_str(), chart["family"].as_str()), (Some("widgets"), Some("testfamily")));
    assert_eq!(chart["priority"], 90000);
    let got = wait_for("the plugin's values at the parent", Duration::from_secs(15), || {
        let tenth = values(&parent, host, "testplug.values", "a tenth", 10);
        let neg = values(&parent, host, "testplug.values", "neg", 10);
        Some((*tenth.first()?, *neg.first()?))
    });
    assert_eq!(got, (100.0, -21.0), "1000 × 1 ÷ 10 and 7 × −3");
}

/// Resident KiB of the code (`r-xp`) of the strata executable in process `pid`.
fn executable_code_kib(pid: u32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    strata::resident::parse_smaps(&smaps)
        .iter()
        .filter(|m| m.perms == "r-xp" && m.path.trim_end_matches(" (deleted)").ends_with("/strata"))
        .map(|m| m.rss_kib)
        .sum()
}

#[test]
fn a_headless_collector_releases_its_start_up_code_and_keeps_sending() {
    let parent = Parent::start(config_dir("", &default_stream_conf()), 1);
    let host = "headless-resident";
    let child = headless(host, &parent.addr.to_string(), &[]);
    wait_for("fresh system.cpu values", Duration::from_secs(10), || fresh_cpu(parent.addr, host));
    let before = executable_code_kib(child.pid());
    assert!(before > 0, "no code of the strata executable in /proc/PID/smaps");
    let line = child.wait_log(&["MEMORY: released ", " KiB of resident code pages of "], Duration::from_secs(20));
    assert!(line.contains("(strata and its libraries)"), "{line}");
    let released: u64 = line
        .split("MEMORY: released ")
        .nth(1)
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no KiB figure in {line}"));
    // Everything resident then, the executable's code and its libraries', was dropped.
    assert!(released >= before, "released {released} KiB, but {before} KiB of code were resident before");
    // The collector keeps running: its loop maps its code again, but not the start-up code.
    wait_for("fresh system.cpu values after the release", Duration::from_secs(10), || {
        std::thread::sleep(Duration::from_secs(2));
        fresh_cpu(parent.addr, host)
    });
    let after = executable_code_kib(child.pid());
    // (A debug build has no hot-code grouping, so its loop maps most of its code again.)
    assert!(after < before, "resident code of the executable: {before} KiB before the release, {after} KiB after");
}
