//! TLS on the parent, over real sockets: the web API over HTTPS and STREAM handshakes over
//! TLS on `^SSL=force`, `^SSL=optional` and default ports (with the decrypted stream
//! relayed to the owning shard when another shard accepted it); plain clients on each
//! kind of port (redirected, refused, or served); a TLS client facing a plain server;
//! `tls version` / `tls ciphers`; and the start-up errors for unusable key and
//! certificate files. Certificates are made at test time (rcgen).

#[path = "common/certs.rs"]
mod certs;
mod common;
#[path = "common/tls_parent.rs"]
mod tls_parent;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use strata::tls::{ClientTls, ClientTlsOptions};

use common::*;
use tls_parent::TlsParent;

type Tls = StreamOwned<ClientConnection, TcpStream>;

const PROMPT_V4: &[u8] = b"Hit me baby, push them over with the version=4";

/// A client that trusts exactly `trust` (strata's own client builder, no system store).
fn client_trusting(trust: &Path) -> Arc<ClientConfig> {
    let opts = ClientTlsOptions { ca_file: Some(trust.to_path_buf()), system_store: false, ..Default::default() };
    ClientTls::build(&opts).expect("client config").config
}

/// A [`TlsParent`] (CA-signed certificate) and a client that trusts its CA.
struct Trusted {
    t: TlsParent,
    client: Arc<ClientConfig>,
}

impl std::ops::Deref for Trusted {
    type Target = TlsParent;
    fn deref(&self) -> &TlsParent {
        &self.t
    }
}

fn tls_parent(cores: usize, extra_web: &str) -> Trusted {
    let t = TlsParent::start(true, cores, extra_web);
    t.p.wait_log(&["TLS on: certificate", "cert.pem"], Duration::from_secs(5));
    t.p.wait_log(&["TLS policy of", &t.force.to_string(), "force"], Duration::from_secs(5));
    let client = client_trusting(&t.certs.trust);
    Trusted { t, client }
}

fn tls_connect(addr: SocketAddr, cfg: &Arc<ClientConfig>) -> std::io::Result<Tls> {
    tls_connect_as(addr, cfg, "localhost")
}

fn tls_connect_as(addr: SocketAddr, cfg: &Arc<ClientConfig>, name: &str) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let name = ServerName::try_from(name.to_string()).map_err(std::io::Error::other)?;
    let conn = ClientConnection::new(cfg.clone(), name).map_err(std::io::Error::other)?;
    let mut s = StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// Reads until the peer closes (a missing close_notify after some bytes is tolerated).
fn read_all(s: &mut impl Read) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if !raw.is_empty() => {
                eprintln!("read ended with {e}");
                break;
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    raw
}

fn status_of(raw: &[u8]) -> u16 {
    String::from_utf8_lossy(raw).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// GET over TLS; the whole response (head and body).
fn https_get(addr: SocketAddr, cfg: &Arc<ClientConfig>, path: &str) -> String {
    let mut s = tls_connect(addr, cfg).unwrap_or_else(|e| panic!("TLS to {addr}: {e}"));
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n", addr.port()).expect("send");
    String::from_utf8_lossy(&read_all(&mut s)).to_string()
}

/// GET in plain text; the whole response.
fn plain_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: parent.example:{}\r\nConnection: close\r\n\r\n", addr.port())
        .expect("send");
    String::from_utf8_lossy(&read_all(&mut s)).to_string()
}

/// Sends a STREAM request over TLS and reads the reply (until a pause or close).
fn tls_handshake(addr: SocketAddr, cfg: &Arc<ClientConfig>, request: &[u8]) -> (Tls, Vec<u8>) {
    let mut s = tls_connect(addr, cfg).unwrap_or_else(|e| panic!("TLS to {addr}: {e}"));
    s.write_all(request).expect("send request");
    s.flush().expect("flush");
    s.sock.set_read_timeout(Some(Duration::from_millis(700))).expect("timeout");
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(_) if !reply.is_empty() => break,
            Err(_) if Instant::now() > deadline => break,
            Err(_) => {}
        }
    }
    s.sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    (s, reply)
}

fn guid(n: u32) -> String {
    format!("cccccccc-0000-0000-0000-{n:012}")
}

fn chart_lines(chart: &str, value: i64) -> Vec<u8> {
    format!(
        "CHART \"{chart}\" \"\" \"TLS test\" \"units\" \"tls\" \"{chart}\" \"line\" 1000 1 \"\" \"\" \"\"\n\
         DIMENSION \"d1\" \"d1\" \"absolute\" 1 1 \"\"\nBEGIN \"{chart}\"\nSET \"d1\" = {value}\nEND\n"
    )
    .into_bytes()
}

#[test]
fn https_api_on_every_port_and_plain_http_redirected_where_netdata_redirects() {
    let t = tls_parent(2, "");
    for addr in [t.optional, t.force, t.default] {
        let r = https_get(addr, &t.client, "/api/v1/info");
        assert_eq!(status_of(r.as_bytes()), 200, "{addr}: {r}");
        let body = r.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        let info: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(info["mirrored_hosts"][0], "strata-test-parent", "{info}");
    }
    // Plain HTTP: served on optional, 301 to https:// (same host and URL) elsewhere.
    let r = plain_get(t.optional, "/api/v1/info");
    assert_eq!(status_of(r.as_bytes()), 200, "{r}");
    for addr in [t.force, t.default] {
        let r = plain_get(addr, "/api/v1/info?x=1");
        assert_eq!(status_of(r.as_bytes()), 301, "{addr}: {r}");
        let want = format!("\r\nLocation: https://parent.example:{}/api/v1/info?x=1\r\n", addr.port());
        assert!(r.contains(&want), "{addr}: {r}");
    }
}

#[test]
fn tls_streams_on_force_optional_and_default_ports_reach_their_owner() {
    let t = tls_parent(2, "");
    let mut open = Vec::new();
    let mut relayed = None;
    let mut direct = None;
    // The accepting shard is the kernel's choice: keep connecting new hosts until one
    // was relayed to its owner and one ran on the shard that accepted it (bounded).
    for n in 0..24u32 {
        let addr = [t.force, t.optional, t.default][n as usize % 3];
        let host = format!("tls-child-{n}");
        let (mut s, reply) = tls_handshake(addr, &t.client, &stream_request(KEY, &host, &guid(n), "16376"));
        assert_eq!(reply, PROMPT_V4, "{host} on {addr}: {}", String::from_utf8_lossy(&reply));
        s.write_all(&chart_lines("tls.test", 40 + n as i64)).expect("send lines");
        s.flush().expect("flush");
        wait_for(&format!("chart of {host}"), Duration::from_secs(10), || {
            let r = https_get(t.optional, &t.client, &format!("/host/{host}/api/v1/charts"));
            r.contains("\"tls.test\"").then_some(())
        });
        t.p.wait_log(&["'CONNECTED'", &format!("host '{host}'")], Duration::from_secs(5));
        let line_of = |h: &str| format!("STREAM {h} [receive from");
        if t.p.has_log(&[&line_of(&host), "relayed to shard"]) {
            relayed.get_or_insert((host.clone(), n, open.len()));
        } else {
            direct.get_or_insert(host.clone());
        }
        open.push(s);
        if relayed.is_some() && direct.is_some() && n >= 2 {
            break;
        }
    }
    let (relayed_host, relayed_n, relayed_i) = relayed.expect("no TLS stream was relayed between shards in 24 tries");
    assert!(direct.is_some(), "every TLS stream was relayed in 24 tries");
    // A rejection travels back through a relay: the same GUID again while it is live,
    // until one of these attempts was itself relayed (bounded).
    let relays = |h: &str| {
        let needle = format!("STREAM {h} [receive from");
        t.p.logs.lock().unwrap().iter().filter(|l| l.contains(&needle) && l.contains("relayed to shard")).count()
    };
    let mut rejected_through_relay = false;
    for _ in 0..16 {
        let before = relays(&relayed_host);
        let (mut s, reply) =
            tls_handshake(t.force, &t.client, &stream_request(KEY, &relayed_host, &guid(relayed_n), "3"));
        assert_eq!(reply, b"This GUID is already streaming to this server", "{}", String::from_utf8_lossy(&reply));
        assert!(read_all(&mut s).is_empty(), "the rejected session must close");
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline && relays(&relayed_host) == before {
            std::thread::sleep(Duration::from_millis(20));
        }
        if relays(&relayed_host) > before {
            rejected_through_relay = true;
            break;
        }
    }
    assert!(rejected_through_relay, "no rejection went through a relay in 16 tries");
    // The relayed stream is still alive: a new chart on it reaches its owner.
    open[relayed_i].write_all(&chart_lines("tls.more", 7)).expect("more data");
    open[relayed_i].flush().expect("flush");
    wait_for("the second chart", Duration::from_secs(10), || {
        let r = https_get(t.optional, &t.client, &format!("/host/{relayed_host}/api/v1/charts"));
        r.contains("\"tls.more\"").then_some(())
    });
    assert!(!t.p.has_log(&[&relayed_host, "disconnected"]), "{relayed_host} was disconnected");
    // Closing the client ends the receiver on the owner.
    drop(open);
    t.p.wait_log(&[&format!("STREAM {relayed_host} ["), "disconnected"], Duration::from_secs(10));
}

#[test]
fn plain_streams_refused_on_force_ports_and_accepted_elsewhere() {
    let t = tls_parent(1, "");
    let (mut s, reply) = handshake(t.force, &stream_request(KEY, "plain-child", &guid(100), "16376"));
    let text = String::from_utf8_lossy(&reply).to_string();
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.ends_with("\r\n\r\nI don't understand you..."), "{text}");
    assert!(is_closed(&mut s));
    t.p.wait_log(&["server requires encrypted connections; enable SSL on child 'plain-child'"], Duration::from_secs(5));
    assert!(!t.p.has_log(&["'CONNECTED'", "host 'plain-child'"]));
    for (n, addr) in [(101, t.optional), (102, t.default)] {
        let (_s, reply) = handshake(addr, &stream_request(KEY, &format!("plain-{n}"), &guid(n), "16376"));
        assert_eq!(reply, PROMPT_V4, "{addr}");
    }
}

#[test]
fn tls_client_facing_a_plain_parent_gets_an_http_400() {
    let p = Parent::start(config_dir("", &default_stream_conf()), 1);
    // What Netdata does: the ClientHello is not a request it understands.
    let mut s = TcpStream::connect_timeout(&p.addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]).expect("send");
    let reply = String::from_utf8_lossy(&read_all(&mut s)).to_string();
    assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
    assert!(reply.ends_with("I don't understand you..."), "{reply}");
    // A real TLS client fails its handshake instead of hanging.
    let dir = TempDir::new("certs");
    let c = certs::self_signed(&dir.0);
    let started = Instant::now();
    let e = tls_connect(p.addr, &client_trusting(&c.trust)).expect_err("the handshake must fail");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}: {e}", started.elapsed());
}

#[test]
fn tls_version_and_ciphers_are_honoured() {
    let t = tls_parent(1, "    tls version = 1.2\n    tls ciphers = ECDHE-ECDSA-AES128-GCM-SHA256\n");
    let s = tls_connect(t.force, &t.client).expect("TLS 1.2 handshake");
    assert_eq!(s.conn.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    assert_eq!(
        s.conn.negotiated_cipher_suite().map(|c| c.suite()),
        Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    );
    // A client that only speaks TLS 1.3 is turned away.
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&t.certs.trust).expect("read CA") {
        roots.add(c.expect("CA")).expect("add CA");
    }
    let only13 = ClientConfig::builder_with_provider(Arc::new(strata::tls::provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    assert!(tls_connect(t.force, &Arc::new(only13)).is_err());
    // Default settings negotiate TLS 1.3.
    let d = tls_parent(1, "");
    let s = tls_connect(d.force, &d.client).expect("handshake");
    assert_eq!(s.conn.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
}

fn start_error(netdata_conf: &str) -> String {
    let d = config_dir(netdata_conf, "");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--config-dir")
        .arg(&d.0)
        .args(["-W", "set", "web", "bind to", "127.0.0.1:0"])
        .output()
        .expect("run strata");
    assert!(!out.status.success(), "strata must refuse to start with:\n{netdata_conf}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn unusable_key_or_certificate_stops_the_start() {
    let dir = TempDir::new("certs");
    let c = certs::self_signed(&dir.0);
    let web = |key: &Path, cert: &Path| {
        format!("[web]\n    ssl key = {}\n    ssl certificate = {}\n", key.display(), cert.display())
    };
    let missing = dir.0.join("missing-cert.pem");
    let e = start_error(&web(&c.key, &missing));
    assert!(e.contains("cannot read [web] ssl certificate") && e.contains("missing-cert.pem"), "{e}");
    let garbage = dir.0.join("garbage.pem");
    std::fs::write(&garbage, "not a key\n").expect("write");
    let e = start_error(&web(&garbage, &c.cert));
    assert!(e.contains("[web] ssl key") && e.contains("garbage.pem"), "{e}");
    let foreign = certs::foreign_key(&dir.0);
    let e = start_error(&web(&foreign, &c.cert));
    assert!(e.contains("foreign-key.pem") && e.contains("cert.pem") && e.contains("cannot be used"), "{e}");
    let e = start_error(&format!("[web]\n    ssl key = {}\n", c.key.display()));
    assert!(e.contains("ssl certificate") && e.contains("key.pem"), "{e}");
}

#[test]
fn client_builder_options_against_the_parent() {
    let t = tls_parent(1, "");
    let build = |o: ClientTlsOptions| ClientTls::build(&o).expect("client config").config;
    // CAfile: trusted, by name and by address.
    assert!(tls_connect_as(t.force, &t.client, "127.0.0.1").is_ok());
    // A name the certificate does not carry: refused, unless only the chain is checked
    // (Netdata 1.37.1's check).
    let e = tls_connect_as(t.force, &t.client, "other.example").expect_err("wrong name must fail");
    assert!(e.to_string().contains("not valid for name"), "{e}");
    let chain_only = build(ClientTlsOptions {
        ca_file: Some(t.certs.trust.clone()),
        system_store: false,
        check_server_name: false,
        ..Default::default()
    });
    assert!(tls_connect_as(t.force, &chain_only, "other.example").is_ok());
    // The system store alone does not trust a test CA.
    let system = build(ClientTlsOptions::default());
    let e = tls_connect(t.force, &system).expect_err("unknown issuer must fail");
    assert!(e.to_string().to_lowercase().contains("unknown"), "{e}");
    // Skipping verification accepts it, and the session works.
    let skip = build(ClientTlsOptions { skip_certificate_verification: true, ..Default::default() });
    let r = https_get(t.force, &skip, "/api/v1/info");
    assert_eq!(status_of(r.as_bytes()), 200, "{r}");
}
