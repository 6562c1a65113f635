//! A real Netdata 1.37.1 child (Debian `netdata-core`, run by
//! `shared/tools/netdata-peer/child.sh`) streams over TLS (`destination = …:SSL`) into a
//! strata parent that has a self-signed certificate made at test time: once with
//! `ssl skip certificate verification = yes` into a `^SSL=force` port, once verifying the
//! certificate with `CAfile` into a `^SSL=optional` port. The parent must log the stream
//! as TLS, serve the child's charts, and have fresh values. Without `CAfile` and with
//! verification on, the child must refuse the certificate (the seed's "Expected
//! behaviors", row 4).
//!
//! In CI (`CI=true`) a missing Netdata is a failure; elsewhere the test says it skipped.

#[path = "common/certs.rs"]
mod certs;
mod common;

use std::time::Duration;

use common::netdata::*;
use common::*;

/// Starts the child streaming to `dest` (`host:port:SSL`) with extra `[stream]` lines.
fn start_child(dest: &str, hostname: &str, stream_extra: &str) -> RealNetdata {
    RealNetdata::start_env("child.sh", &[dest, KEY, hostname], &[("STREAM_EXTRA", stream_extra)], "nd-tls-child")
}

/// Parent with a self-signed certificate on an optional port (first, for the harness)
/// and a forced port; the child streams to `port_of(optional, forced)` with `extra`.
fn run(pick_forced: bool, stream_extra: impl Fn(&certs::Certs) -> String) {
    if !netdata_available() {
        return;
    }
    let cert_dir = TempDir::new("certs");
    let c = certs::self_signed(&cert_dir.0);
    let conf = format!("[web]\n    ssl key = {}\n    ssl certificate = {}\n", c.key.display(), c.cert.display());
    let bind = "127.0.0.1:0=streaming|dashboard^SSL=optional 127.0.0.1:0=streaming|dashboard^SSL=force";
    let p = Parent::start_with(config_dir(&conf, &default_stream_conf()), 2, &["-W", "set", "web", "bind to", bind]);
    let addrs = p.listening();
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    let target = if pick_forced { addrs[1] } else { addrs[0] };
    let hostname = format!("nd-tls-{}-{}", if pick_forced { "skip" } else { "cafile" }, std::process::id());
    let child = start_child(&format!("{target}:SSL"), &hostname, &stream_extra(&c));

    let connected =
        poll_for(Duration::from_secs(20), || p.has_log(&["'CONNECTED'", &format!("host '{hostname}'")]).then_some(()));
    assert!(connected.is_some(), "the child did not connect; child error.log:\n{}", child.error_log_tail(20));
    p.wait_log(
        &[&format!("STREAM {hostname} [receive from"), "new client wants to stream (TLS)"],
        Duration::from_secs(5),
    );
    wait_for("system.cpu with values from the last 10 s", Duration::from_secs(25), || {
        let (status, body) = p.get(&format!("/host/{hostname}/api/v1/data?chart=system.cpu&after=-10&format=json"));
        if status != 200 {
            return None; // the chart is not defined yet
        }
        let data: serde_json::Value = serde_json::from_str(&body).ok()?;
        let rows = data["data"].as_array()?.clone();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
        let newest = rows.first()?.get(0)?.as_i64()?;
        let values = rows.iter().flat_map(|r| r.as_array().into_iter().flatten().skip(1)).filter(|v| v.is_number());
        (now - newest <= 10 && values.count() > 0).then_some(())
    });
    let info = p.get_json("/api/v1/info");
    let mirrored: Vec<&str> =
        info["mirrored_hosts"].as_array().expect("hosts").iter().filter_map(|h| h.as_str()).collect();
    assert!(mirrored.contains(&hostname.as_str()), "{mirrored:?}");
    assert!(!p.has_log(&[&format!("STREAM {hostname} ["), "disconnected"]), "the child was disconnected");
}

#[test]
fn real_netdata_child_streams_over_tls_skipping_verification() {
    run(true, |_| "    ssl skip certificate verification = yes".to_string());
}

#[test]
fn real_netdata_child_streams_over_tls_verifying_with_cafile() {
    run(false, |c| format!("    ssl skip certificate verification = no\n    CAfile = {}", c.trust.display()));
}

#[test]
fn real_netdata_child_refuses_an_untrusted_certificate() {
    if !netdata_available() {
        return;
    }
    let cert_dir = TempDir::new("certs");
    let c = certs::self_signed(&cert_dir.0);
    let conf = format!("[web]\n    ssl key = {}\n    ssl certificate = {}\n", c.key.display(), c.cert.display());
    let bind = "127.0.0.1:0=streaming|dashboard^SSL=optional";
    let p = Parent::start_with(config_dir(&conf, &default_stream_conf()), 1, &["-W", "set", "web", "bind to", bind]);
    let hostname = format!("nd-tls-untrusted-{}", std::process::id());
    // Verification on, and nothing trusts the self-signed certificate.
    let child = start_child(&format!("{}:SSL", p.addr), &hostname, "    ssl skip certificate verification = no");
    let log = poll_for(Duration::from_secs(45), || {
        let log = child.error_log();
        // The refusal itself, or the back-off that names it: code -7, "invalid SSL certificate".
        let refused =
            log.contains("server SSL certificate is not valid") || log.contains("(code: -7, invalid SSL certificate)");
        refused.then_some(log)
    });
    assert!(log.is_some(), "the child logged no certificate error; error.log:\n{}", child.error_log_tail(20));
    assert!(!p.has_log(&["'CONNECTED'", &format!("host '{hostname}'")]), "the child connected anyway");
}
