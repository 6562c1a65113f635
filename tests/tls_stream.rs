//! Streaming over TLS with strata on both ends: the seed's "Expected behaviors" table
//! (Netdata v1.37.1, "Securing streaming communications"), every row, plus a TLS child
//! facing a plain parent and a refused certificate being postponed.
//!
//! The parent is a strata with a certificate made at test time (rcgen) and three ports:
//! `^SSL=optional` (first, so the harness can read its API in plain HTTP), `^SSL=force`
//! and one without a suffix. The child is a strata proxy: its own host streams to
//! `[stream] destination`, and a live generator's host it receives is forwarded to a
//! per-GUID `proxy destination` — so both kinds of destination are exercised.
//!
//! | row | parent TLS | port | child `:SSL` | skip verification | expected |
//! |---|---|---|---|---|---|
//! | 1 | no | - | no | no | plain stream |
//! | 2 | yes | force | no | no | refused by the parent |
//! | 3 | yes | -/optional | no | no | plain stream |
//! | 4 | yes | -/force/optional | yes | no | TLS if the certificate is trusted (CAfile, CApath), else the child refuses |
//! | 5 | yes | -/force/optional | yes | yes | TLS |
//!
//! And a strata child streaming over TLS into a real Netdata 1.37.1 parent (Debian
//! `netdata-core`, started by `shared/tools/netdata-peer/parent.sh`) with a self-signed
//! certificate on a `^SSL=force` port, once skipping verification and once trusting the
//! certificate through `CAfile`. In CI (`CI=true`) a missing Netdata is a failure;
//! elsewhere that test says it skipped.

#[path = "common/certs.rs"]
mod certs;
mod common;
#[path = "common/tls_parent.rs"]
mod tls_parent;

use std::net::SocketAddr;
use std::time::Duration;

use common::netdata::*;
use common::relay::*;
use common::*;
use tls_parent::TlsParent;

/// A parent with a certificate on three ports: signed by a test CA or self-signed.
fn tls_parent(ca_signed: bool) -> TlsParent {
    TlsParent::start(ca_signed, 1, "")
}

fn guid(n: u32) -> String {
    format!("cccccccc-0000-0000-0000-{n:012}")
}

/// A strata child named `name`: its own host streams to `destination`; the hosts it
/// receives with these GUIDs go to their own `proxy destination`; `extra` goes into
/// `[stream]` (TLS settings).
fn strata_child(name: &str, destination: &str, per_guid: &[(u32, String)], extra: &str) -> Parent {
    strata_child_env(name, destination, per_guid, extra, &[])
}

/// [`strata_child`] with extra environment variables.
fn strata_child_env(
    name: &str,
    destination: &str,
    per_guid: &[(u32, String)],
    extra: &str,
    env: &[(&str, &str)],
) -> Parent {
    let mut conf = proxy_stream_conf(destination, "none", extra);
    for (n, dest) in per_guid {
        conf.push_str(&format!("[{}]\n    proxy destination = {dest}\n", guid(*n)));
    }
    Parent::start_with_env(config_dir("", &conf), 1, &["-W", "set", "global", "hostname", name], env)
}

/// A live generator's host `name` (GUID `n`) streamed into `child`.
fn generator(child: &Parent, name: &str, n: u32) -> FakeChild {
    FakeChild::start(child.addr, name, &guid(n), 2, Duration::from_millis(250), u64::MAX)
}

/// Waits until `host` is connected at `p`; `true` when its stream came over TLS.
fn arrived(p: &Parent, host: &str) -> bool {
    p.wait_log(&["'CONNECTED'", &format!("host '{host}'")], Duration::from_secs(20));
    let line =
        p.wait_log(&[&format!("STREAM {host} [receive from"), "new client wants to stream"], Duration::from_secs(5));
    line.trim_end().ends_with("(TLS)")
}

/// Waits for fresh values of the generator's chart at `p`.
fn has_values(p: &Parent, host: &str) {
    wait_for(&format!("values of {host}"), Duration::from_secs(15), || {
        values(p, host, "fake.load", "d0", 10).first().copied().filter(|v| *v > 0.0)
    });
}

fn count(p: &Parent, needles: &[&str]) -> usize {
    p.logs.lock().unwrap().iter().filter(|l| needles.iter().all(|n| l.contains(n))).count()
}

/// After a failed attempt on its only destination, the sender of `host` does not try
/// again for a while (the destination is postponed, not retried every reconnect delay).
fn not_retried(child: &Parent, host: &str) {
    std::thread::sleep(Duration::from_secs(3));
    let attempts = count(child, &[&format!("STREAM {host}: attempting to connect to")]);
    assert_eq!(attempts, 1, "{host} retried a postponed destination within 3 s (reconnect delay 1 s)");
}

#[test]
fn row1_plain_parent_and_plain_child_stream_in_plain_text() {
    let p = Parent::start(config_dir("", &default_stream_conf()), 1);
    let c = strata_child("row1-child", &p.addr.to_string(), &[(1, p.addr.to_string())], "");
    let _g = generator(&c, "row1-gen", 1);
    assert!(!arrived(&p, "row1-child"), "plain expected");
    assert!(!arrived(&p, "row1-gen"), "plain expected");
    has_values(&p, "row1-gen");
    assert!(!c.has_log(&["the link is encrypted"]));
}

#[test]
fn row2_force_port_refuses_a_plain_child() {
    let t = tls_parent(false);
    let c = strata_child("row2-child", &t.force.to_string(), &[], "");
    c.wait_log(
        &[&format!("STREAM row2-child [send to {}]: remote node response is not understood, is it Netdata?", t.force)],
        Duration::from_secs(15),
    );
    t.p.wait_log(&["server requires encrypted connections; enable SSL on child 'row2-child'"], Duration::from_secs(5));
    assert!(!t.p.has_log(&["'CONNECTED'", "host 'row2-child'"]));
}

#[test]
fn row3_plain_child_on_optional_and_default_ports_streams_in_plain_text() {
    let t = tls_parent(false);
    let c = strata_child("row3-child", &t.optional.to_string(), &[(3, t.default.to_string())], "");
    let _g = generator(&c, "row3-gen", 3);
    assert!(!arrived(&t.p, "row3-child"), "plain expected on the optional port");
    assert!(!arrived(&t.p, "row3-gen"), "plain expected on the default port");
    has_values(&t.p, "row3-gen");
}

#[test]
fn row4_verifying_child_streams_over_tls_to_a_trusted_certificate() {
    let t = tls_parent(true);
    // CAfile: own host to the force port, a proxied host to the default port.
    let cafile = format!("    CAfile = {}\n", t.certs.trust.display());
    let a = strata_child("row4-cafile", &format!("{}:SSL", t.force), &[(41, format!("{}:SSL", t.default))], &cafile);
    // CApath: a directory holding the CA (and a file that is not a certificate).
    let ca_dir = TempDir::new("capath");
    std::fs::copy(&t.certs.trust, ca_dir.0.join("parent-ca.pem")).unwrap();
    std::fs::write(ca_dir.0.join("README"), "not a certificate").unwrap();
    let capath = format!("    CApath = {}\n", ca_dir.0.display());
    let b = strata_child("row4-capath", &format!("{}:SSL", t.optional), &[], &capath);
    let _g = generator(&a, "row4-gen", 41);
    assert!(arrived(&t.p, "row4-cafile"), "TLS expected on the force port");
    assert!(arrived(&t.p, "row4-gen"), "TLS expected on the default port");
    assert!(arrived(&t.p, "row4-capath"), "TLS expected on the optional port");
    has_values(&t.p, "row4-gen");
    a.wait_log(
        &[&format!("STREAM row4-cafile [send to {}:SSL]: the link is encrypted (TLS)", t.force)],
        Duration::from_secs(5),
    );
    b.wait_log(&["STREAM row4-capath [send to ", "established link"], Duration::from_secs(5));
}

/// Without CAfile or CApath the system trust store decides: here the store is the
/// parent's CA, through `SSL_CERT_FILE` (which OpenSSL and strata's store reader honour).
#[test]
fn row4_verifying_child_trusts_the_system_store_by_default() {
    let t = tls_parent(true);
    let ca = t.certs.trust.display().to_string();
    let c = strata_child_env("row4-system", &format!("{}:SSL", t.force), &[], "", &[("SSL_CERT_FILE", &ca)]);
    assert!(arrived(&t.p, "row4-system"), "TLS expected");
    c.wait_log(&["STREAM row4-system [send to ", "established link"], Duration::from_secs(5));
}

#[test]
fn row4_verifying_child_refuses_an_untrusted_certificate_and_backs_off() {
    let t = tls_parent(true);
    // Trusts another certificate (and the system store), not the parent's CA.
    let other = TempDir::new("other-ca");
    let o = certs::self_signed(&other.0);
    let c = strata_child(
        "row4-refuses",
        &format!("{}:SSL", t.force),
        &[],
        &format!("    CAfile = {}\n", o.trust.display()),
    );
    let line = c.wait_log(
        &[&format!(
            "STREAM row4-refuses [send to {}:SSL]: Closing the stream connection, because the server SSL certificate is not valid",
            t.force
        )],
        Duration::from_secs(15),
    );
    assert!(line.contains("UnknownIssuer"), "{line}");
    not_retried(&c, "row4-refuses");
    assert!(!t.p.has_log(&["'CONNECTED'", "host 'row4-refuses'"]));
    assert!(!t.p.has_log(&["STREAM row4-refuses [receive from"]), "no STREAM request may be sent");
}

#[test]
fn row5_child_skipping_verification_streams_over_tls_on_every_port() {
    let t = tls_parent(false);
    let skip = "    ssl skip certificate verification = yes\n";
    let per_guid = [(51, format!("{}:SSL", t.optional)), (52, format!("{}:SSL", t.default))];
    let c = strata_child("row5-child", &format!("{}:SSL", t.force), &per_guid, skip);
    let _g1 = generator(&c, "row5-gen-optional", 51);
    let _g2 = generator(&c, "row5-gen-default", 52);
    for host in ["row5-child", "row5-gen-optional", "row5-gen-default"] {
        assert!(arrived(&t.p, host), "TLS expected for {host}");
    }
    has_values(&t.p, "row5-gen-optional");
    has_values(&t.p, "row5-gen-default");
}

#[test]
fn tls_child_facing_a_plain_parent_asks_whether_it_is_netdata_and_backs_off() {
    let p = Parent::start(config_dir("", &default_stream_conf()), 1);
    let skip = "    ssl skip certificate verification = yes\n";
    let c = strata_child("tls-to-plain", &format!("{}:SSL", p.addr), &[], skip);
    let line = c.wait_log(
        &[&format!("STREAM tls-to-plain [send to {}:SSL]: SSL cannot connect with the server: ", p.addr)],
        Duration::from_secs(15),
    );
    assert!(line.contains("remote node response is not understood, is it Netdata?"), "{line}");
    not_retried(&c, "tls-to-plain");
    assert!(!p.has_log(&["'CONNECTED'", "host 'tls-to-plain'"]));
}

/// A real Netdata parent that streams only over TLS on `port` (`^SSL=force`) and serves
/// its API in plain HTTP on `api_port`.
fn real_tls_parent(port: u16, api_port: u16, c: &certs::Certs) -> RealNetdata {
    let web = format!("    ssl key = {}\n    ssl certificate = {}", c.key.display(), c.cert.display());
    let bind = format!("=streaming|dashboard^SSL=force 127.0.0.1:{api_port}=dashboard^SSL=optional");
    let env = [("WEB_EXTRA", web.as_str()), ("BIND_SUFFIX", bind.as_str())];
    RealNetdata::start_env("parent.sh", &[&port.to_string(), KEY], &env, "nd-tls-parent")
}

#[test]
fn strata_child_streams_over_tls_into_a_real_netdata_parent() {
    if !netdata_available() {
        return;
    }
    let cert_dir = TempDir::new("certs");
    let c = certs::self_signed(&cert_dir.0);
    let (port, api_port) = (free_port(), free_port());
    let nd = real_tls_parent(port, api_port, &c);
    let api: SocketAddr = format!("127.0.0.1:{api_port}").parse().unwrap();
    let dest = format!("127.0.0.1:{port}:SSL");
    let skip =
        strata_child("nd-tls-skip", &dest, &[(61, dest.clone())], "    ssl skip certificate verification = yes\n");
    let cafile = strata_child("nd-tls-cafile", &dest, &[], &format!("    CAfile = {}\n", c.trust.display()));
    let _g = generator(&skip, "nd-tls-gen", 61);

    let mirrored = || -> Option<Vec<String>> {
        let (status, body) = http_get(api, "/api/v1/info").ok()?;
        let info: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
        Some(info["mirrored_hosts"].as_array()?.iter().filter_map(|h| h.as_str().map(str::to_string)).collect())
    };
    let want = ["nd-tls-skip", "nd-tls-cafile", "nd-tls-gen"];
    let found =
        poll_for(Duration::from_secs(25), || mirrored().filter(|h| want.iter().all(|n| h.iter().any(|x| x == n))));
    assert!(found.is_some(), "hosts missing at the Netdata parent: {:?}\n{}", mirrored(), nd.error_log_tail(30));
    for (child, host) in [(&skip, "nd-tls-skip"), (&skip, "nd-tls-gen"), (&cafile, "nd-tls-cafile")] {
        child.wait_log(
            &[&format!("STREAM {host} [send to {dest}]: the link is encrypted (TLS)")],
            Duration::from_secs(5),
        );
        child.wait_log(&[&format!("STREAM {host} [send to {dest}]: established link")], Duration::from_secs(5));
    }
    // The generator's values arrived through the TLS link.
    wait_for("fake.load values at the Netdata parent", Duration::from_secs(15), || {
        let (status, body) =
            http_get(api, "/host/nd-tls-gen/api/v1/data?chart=fake.load&after=-10&format=json").ok()?;
        let data: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
        let n = data["data"].as_array()?.iter().filter(|r| r[1].as_f64().is_some_and(|v| v > 0.0)).count();
        (n > 0).then_some(())
    });
    assert!(!skip.has_log(&["nd-tls-gen", "connection closed by far end"]), "Netdata closed the link");
}
