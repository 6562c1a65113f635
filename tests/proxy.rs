//! strata as a proxy and as a child: hosts received by one strata are forwarded upstream
//! to another strata under their own identity — through chains, across fail-over, a
//! restarting parent and a stalled one — and orphan hosts are removed on a timer.
//!
//! Every process is a real `strata` on 127.0.0.1; children are a replayed capture of a
//! real Netdata 1.37.1 child (`shared/fixtures`) or a small live generator.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::relay::*;
use common::*;

/// The machine GUID of the `n`th fake child.
fn guid(n: u32) -> String {
    format!("bbbbbbbb-0000-0000-0000-{n:012}")
}

/// A capture streamed into proxy A (with a database) goes A → B (a proxy keeping no
/// database for it) → C: C serves every chart A has, with the values of the capture,
/// the child's labels, and hops = 3; no link in the chain was dropped.
#[test]
fn a_capture_flows_through_a_chain_of_proxies() {
    let c = Parent::start(config_dir("", &default_stream_conf()), 1);
    let b = start_proxy(&c.addr.to_string(), "none", "", 1);
    let a = start_proxy(&b.addr.to_string(), "ram", "", 2);

    let dir = shared_dir().join("fixtures");
    let request = std::fs::read(dir.join(format!("{FIXTURE}.request"))).expect("request");
    let stream = std::fs::read(dir.join(format!("{FIXTURE}.stream"))).expect("stream");
    let capture = read_capture(&stream);
    let req = String::from_utf8_lossy(&request).to_string();
    let guid = req.split("machine_guid=").nth(1).and_then(|s| s.split('&').next()).expect("guid").to_string();
    let _sock = replay(a.addr, &request, &stream);

    let at_c = wait_for("capture-child at C", Duration::from_secs(20), || mirrored(&c, "capture-child"));
    assert_eq!(at_c["guid"], guid.as_str(), "the child's own identity");
    assert_eq!(at_c["hops"], 3);
    assert_eq!(mirrored(&a, "capture-child").expect("at A")["hops"], 1);

    let want = wait_for("A's charts", Duration::from_secs(20), || chart_ids(&a, &guid).filter(|v| v.len() > 150));
    let got = wait_for("the same charts at C", Duration::from_secs(20), || {
        chart_ids(&c, &guid).filter(|v| v.len() == want.len())
    });
    assert_eq!(got, want);
    assert_eq!(b.get(&format!("/host/{guid}/api/v1/charts")).0, 404, "B keeps no database for the host");

    let labels = |p: &Parent| p.get_json(&format!("/host/{guid}/api/v1/info"))["host_labels"].clone();
    assert!(labels(&a).as_object().is_some_and(|l| l.contains_key("_os_name")), "{}", labels(&a));
    assert_eq!(labels(&c), labels(&a));

    // Every value C stores for an absolute 1-s chart is a value the child collected.
    std::thread::sleep(Duration::from_secs(2));
    let (mut checked, mut exact) = (0, 0);
    for (id, (ue, dims)) in &capture.charts {
        if *ue != 1 || dims.is_empty() || !dims.values().all(|d| d.2) || !capture.sets.contains_key(id) {
            continue;
        }
        for (dim, (m, d, _)) in dims {
            let Some(sent) = capture.sets[id].get(dim) else { continue };
            let scaled: Vec<f64> = sent.iter().map(|v| *v as f64 * *m as f64 / *d as f64).collect();
            let (lo, hi) = scaled.iter().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
            for v in values(&c, &guid, id, dim, 600) {
                let tol = 1e-6 * v.abs().max(1.0);
                assert!(v >= lo - tol && v <= hi + tol, "{id}.{dim} = {v} outside {lo}..{hi}");
                exact += usize::from(scaled.iter().any(|x| (x - v).abs() <= tol));
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} values compared");
    assert!(exact * 10 >= checked * 8, "only {exact} of {checked} values equal a collected value");

    for (p, to) in [(&a, b.addr), (&b, c.addr)] {
        p.wait_log(
            &[
                "STREAM capture-child [send to ",
                &to.to_string(),
                "established link with negotiated capabilities: VN HLABELS CLAIM CLABELS",
            ],
            Duration::from_secs(5),
        );
        assert!(!p.has_log(&["capture-child", "connection closed by far end"]), "a parent closed the link");
    }
    for p in [&b, &c] {
        assert!(!p.has_log(&["capture-child", "disconnected (completed"]), "a receiver ended the session");
    }
}

/// Destinations are tried in order: one that refuses connections and one that denies the
/// API key are skipped (the second is postponed), a `:SSL` one where nothing listens is
/// skipped too, and the host lands on the next working parent (given by name).
#[test]
fn fails_over_to_the_next_destination() {
    let b = Parent::start(config_dir("", &default_stream_conf()), 1);
    let dead = free_port();
    let denier = FakeParent::start(b"You are not permitted to access this. Check the logs for more info.", false);
    // The working parent is named (resolved off the shard; `localhost` may give ::1 first,
    // where nothing listens, and then 127.0.0.1).
    let destination = format!("127.0.0.1:{dead} 127.0.0.1:1:SSL, tcp:{} localhost:{}", denier.addr, b.addr.port());
    let a = start_proxy(&destination, "ram", "", 1);
    let _child = FakeChild::start(a.addr, "fake-failover", &guid(1), 3, Duration::from_millis(300), u64::MAX);

    wait_for("the host at B", Duration::from_secs(20), || mirrored(&b, "fake-failover"));
    wait_for("its values at B", Duration::from_secs(20), || {
        values(&b, "fake-failover", "fake.load", "d0", 10).first().copied().filter(|v| *v > 0.0)
    });
    a.wait_log(&["STREAM fake-failover: failed to connect to '127.0.0.1:", &dead.to_string()], Duration::from_secs(5));
    a.wait_log(&["STREAM fake-failover: failed to connect to '127.0.0.1:1:SSL'"], Duration::from_secs(5));
    a.wait_log(
        &[&format!(
            "[send to tcp:{}]: remote server denied access, probably we don't have the right API key?",
            denier.addr
        )],
        Duration::from_secs(5),
    );
    a.wait_log(&[&format!("[send to localhost:{}]: established link", b.addr.port())], Duration::from_secs(5));
    // The proxy's own host streams too (`[stream] enabled = yes`); each host asked once.
    let asked = denier.hostnames.lock().unwrap().iter().filter(|h| *h == "fake-failover").count();
    assert_eq!(asked, 1, "a denied destination is postponed, not retried at once");
}

/// The parent goes away and comes back on the same port: the sender keeps the newest
/// data while it is down (and says so), reconnects, sends the definitions again (the new
/// parent knows nothing) and the data continues.
#[test]
fn reconnects_and_redefines_after_the_parent_restarts() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let start_b =
        || Parent::start_with(config_dir("", &default_stream_conf()), 1, &["-W", "set", "web", "bind to", &bind]);
    let b = start_b();
    let a = start_proxy(&bind, "ram", "", 1);
    let child = FakeChild::start(a.addr, "fake-restart", &guid(2), 2, Duration::from_millis(250), u64::MAX);
    wait_for("data at B", Duration::from_secs(20), || {
        values(&b, "fake-restart", "fake.load", "d0", 10).first().copied().filter(|v| *v > 0.0)
    });
    drop(b);
    a.wait_log(&["STREAM fake-restart [send to ", "connection closed by far end"], Duration::from_secs(10));
    a.wait_log(
        &["STREAM fake-restart [send]: not ready - collected metrics are kept in the buffer"],
        Duration::from_secs(10),
    );
    let before = child.collected.load(Ordering::Relaxed) as f64;

    let b2 = start_b();
    wait_for("the host back at the new parent", Duration::from_secs(20), || mirrored(&b2, "fake-restart"));
    let newest = wait_for("fresh values after the restart", Duration::from_secs(20), || {
        values(&b2, "fake-restart", "fake.load", "d0", 5).first().copied().filter(|v| *v > before)
    });
    assert!(newest > before);
    let established = a
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("fake-restart [send to") && l.contains("established link"))
        .count();
    assert!(established >= 2, "{established} links established");
    a.wait_log(&["STREAM fake-restart [send]: sending metrics to parent..."], Duration::from_secs(5));
    assert!(!b2.has_log(&["fake-restart", "which does not exist"]), "data before its definition");
}

/// One host's parent accepts the link and then never reads: that host's buffer fills and
/// drops its oldest collections (counted, logged), while another host of the same proxy
/// keeps streaming to its parent and the stalled host's own ingest goes on.
#[test]
fn a_stalled_parent_delays_no_other_host() {
    let b = Parent::start(config_dir("", &default_stream_conf()), 1);
    let staller = FakeParent::start(PROMPT_V4, true);
    let stalled_guid = &guid(3);
    // The stalled host has its own `proxy destination` (a per-GUID section).
    let conf = proxy_stream_conf(&b.addr.to_string(), "ram", "    buffer size bytes = 100000\n")
        + &format!("[{stalled_guid}]\n    proxy destination = {}\n", staller.addr);
    let a = Parent::start(config_dir("", &conf), 1);

    let flowing = FakeChild::start(a.addr, "fake-flowing", &guid(4), 2, Duration::from_millis(250), u64::MAX);
    // ~10 MB at once: more than the kernel buffers of the stalled link can take (Linux's
    // default tcp_wmem maximum is 4 MiB), so the sender's own 100 kB bound must drop.
    const BURST: u64 = 30_000;
    let stalled = FakeChild::start(a.addr, "fake-stalled", stalled_guid, 20, Duration::ZERO, BURST);
    let started = Instant::now();
    wait_for("the burst sent", Duration::from_secs(30), || {
        (stalled.collected.load(Ordering::Relaxed) == BURST).then_some(())
    });
    a.wait_log(
        &["STREAM fake-stalled [send to ", "buffer full (100000 bytes): dropped the oldest"],
        Duration::from_secs(20),
    );
    // The stalled host's receiver ingested everything: its last collected value is the
    // last one sent.
    wait_for("the stalled host's ingest", Duration::from_secs(10), || {
        as_collected(&a, "fake-stalled", "fake.load", "d0").filter(|v| *v == BURST as f64)
    });
    // The other host kept flowing to B the whole time.
    let sent = flowing.collected.load(Ordering::Relaxed) as f64;
    let at_b = wait_for("fresh values of the other host at B", Duration::from_secs(10), || {
        values(&b, "fake-flowing", "fake.load", "d0", 5).first().copied().filter(|v| *v >= sent - 8.0)
    });
    assert!(at_b > 0.0);
    assert!(started.elapsed() < Duration::from_secs(40));
    assert_eq!(staller.connections.load(Ordering::Relaxed), 1);
}

/// A parent with `cleanup orphan hosts after seconds = 2` removes a child's host about
/// two seconds after the child left — with no other connection arriving — while a
/// connected child and the parent itself stay.
#[test]
fn orphan_hosts_are_removed_on_a_timer() {
    let p =
        Parent::start(config_dir("[global]\n    cleanup orphan hosts after seconds = 2\n", &default_stream_conf()), 2);
    let orphan = guid(5);
    let staying = FakeChild::start(p.addr, "fake-staying", &guid(6), 1, Duration::from_millis(300), u64::MAX);
    let leaving = FakeChild::start(p.addr, "fake-leaving", &orphan, 1, Duration::from_millis(300), u64::MAX);
    wait_for("both children", Duration::from_secs(20), || {
        (mirrored(&p, "fake-leaving").is_some() && mirrored(&p, "fake-staying").is_some()).then_some(())
    });
    drop(leaving);
    let gone_at = Instant::now();
    p.wait_log(&["fake-leaving", "disconnected (completed"], Duration::from_secs(10));
    assert_eq!(mirrored(&p, "fake-leaving").expect("still listed while orphan")["reachable"], false);
    p.wait_log(
        &[&format!("Host 'fake-leaving' with machine guid '{orphan}' is obsolete - cleaning up.")],
        Duration::from_secs(15),
    );
    assert!(gone_at.elapsed() >= Duration::from_secs(2), "removed before its time");
    wait_for("the orphan gone from the host list", Duration::from_secs(5), || {
        mirrored(&p, "fake-leaving").is_none().then_some(())
    });
    assert_eq!(p.get(&format!("/host/{orphan}/api/v1/info")).0, 404);
    std::thread::sleep(Duration::from_secs(3));
    assert!(mirrored(&p, "fake-staying").is_some(), "a connected child is kept");
    assert!(mirrored(&p, "strata-test-parent").is_some(), "localhost is kept");
    drop(staying);
}

/// Forwarding follows the stream.conf sections (spec §6): the API key's `default proxy
/// …` values forward its hosts (here with `[stream]` itself disabled, to another API key),
/// and a machine GUID section's `proxy enabled = no` keeps one host local.
#[test]
fn forwarding_follows_the_api_key_and_machine_guid_sections() {
    const KEY2: &str = "22222222-2222-3333-4444-555555555555";
    let b = Parent::start(config_dir("", &format!("[{KEY2}]\n    enabled = yes\n")), 1);
    let local_guid = guid(8);
    let conf = format!(
        "[{KEY}]\n    enabled = yes\n    default proxy enabled = yes\n    default proxy destination = {}\n    default proxy api key = {KEY2}\n[{local_guid}]\n    proxy enabled = no\n",
        b.addr
    );
    let a = Parent::start(config_dir("", &conf), 2);
    let fwd = FakeChild::start(a.addr, "fake-forwarded", &guid(7), 1, Duration::from_millis(300), u64::MAX);
    let kept = FakeChild::start(a.addr, "fake-kept", &local_guid, 1, Duration::from_millis(300), u64::MAX);
    wait_for("the forwarded host's values at B", Duration::from_secs(20), || {
        values(&b, "fake-forwarded", "fake.load", "d0", 10).first().copied().filter(|v| *v > 0.0)
    });
    b.wait_log(&["'CONNECTED' host 'fake-forwarded'", &format!("api key '{KEY2}'")], Duration::from_secs(5));
    wait_for("the kept host's values at A", Duration::from_secs(10), || {
        values(&a, "fake-kept", "fake.load", "d0", 10).first().copied().filter(|v| *v > 0.0)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(mirrored(&b, "fake-kept").is_none(), "a host with proxy enabled = no was forwarded");
    assert!(!a.has_log(&["STREAM fake-kept [send]"]), "a sender was started for it");
    drop((fwd, kept));
}
