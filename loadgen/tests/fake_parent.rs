//! The swarm against small parents written here (plain threads, one per connection):
//! the exact protocol a child sends, the destination list, rejections, and TLS (the
//! daemon has no TLS listener yet, so a rustls server stands in for it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use strata::stream::command::{parse_line, Command};
use strata::stream::request::parse_stream_request;
use strata::stream::version;
use strata_loadgen::ident::Identity;
use strata_loadgen::{Options, Report};

/// What one connection carried.
#[derive(Debug, Default, Clone)]
struct Conn {
    hostname: String,
    guid: String,
    offer: u64,
    /// Keyword of every line, in order.
    keywords: Vec<String>,
    sets: u64,
    /// The value of `dim_0` of `loadgen.chart_0` per tick, in order.
    probe_values: Vec<i64>,
}

#[derive(Clone)]
struct Parent {
    addr: SocketAddr,
    conns: Arc<Mutex<Vec<Conn>>>,
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn server_tls() -> Arc<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(data("server.pem")).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(data("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

/// Reads the request, answers `reply(offer)`, and — when that is a prompt — records the
/// whole stream until the child closes.
fn serve_one(mut s: impl Read + Write, reply: fn(u64) -> Vec<u8>, conns: &Mutex<Vec<Conn>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let req = parse_stream_request(&buf).expect("a valid STREAM request");
    let answer = reply(req.offer);
    s.write_all(&answer).unwrap();
    s.flush().unwrap();
    let mut conn = Conn {
        hostname: req.hostname.clone().unwrap_or_default(),
        guid: req.machine_guid.clone().unwrap_or_default(),
        offer: req.offer,
        ..Conn::default()
    };
    if !answer.starts_with(b"Hit me baby") {
        conns.lock().unwrap().push(conn);
        return;
    }
    let mut stream = Vec::new();
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => stream.extend_from_slice(&chunk[..n]),
        }
    }
    assert!(stream.is_empty() || stream.ends_with(b"\n"), "the stream ends with a whole line");
    let mut chart = Vec::new();
    for line in stream.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let parsed = parse_line(line, 3).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
        let cmd = parsed.command.expect("a command");
        let kw = String::from_utf8_lossy(line.split(|&b| b == b' ').next().unwrap_or_default()).to_string();
        if conn.keywords.last() != Some(&kw) {
            conn.keywords.push(kw);
        }
        match cmd {
            Command::Begin { chart: c, .. } => chart = c.to_vec(),
            Command::Set { dimension, value } => {
                conn.sets += 1;
                if chart == b"loadgen.chart_0" && dimension == b"dim_0" {
                    conn.probe_values.push(value.unwrap());
                }
            }
            _ => {}
        }
    }
    conns.lock().unwrap().push(conn);
}

fn start(reply: fn(u64) -> Vec<u8>, tls: Option<Arc<rustls::ServerConfig>>) -> Parent {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = Parent { addr: l.local_addr().unwrap(), conns: Arc::new(Mutex::new(Vec::new())) };
    let conns = p.conns.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let (conns, tls) = (conns.clone(), tls.clone());
            std::thread::spawn(move || match tls {
                None => serve_one(s, reply, &conns),
                Some(cfg) => {
                    let Ok(c) = rustls::ServerConnection::new(cfg) else { return };
                    serve_one(rustls::StreamOwned::new(c, s), reply, &conns)
                }
            });
        }
    });
    p
}

fn prompt3(offer: u64) -> Vec<u8> {
    version::prompt(version::negotiate_with_ceiling(offer, 3))
}

fn denied(_: u64) -> Vec<u8> {
    version::NOT_PERMITTED.to_vec()
}

fn run(args: &[&str]) -> Report {
    let mut all = vec!["strata-loadgen", "--progress", "0", "--probe-children", "0", "--threads", "2"];
    all.extend_from_slice(args);
    strata_loadgen::run(&Options::parse_from(all)).expect("run")
}

/// Waits until the parent has recorded `n` connections.
fn conns(p: &Parent, n: usize) -> Vec<Conn> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = p.conns.lock().unwrap().clone();
        if c.len() >= n || Instant::now() > deadline {
            return c;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nobody listens on.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a.to_string()
}

#[test]
fn every_child_speaks_the_protocol_and_every_sample_arrives() {
    let p = start(prompt3, None);
    let target = p.addr.to_string();
    let r = run(&[
        "--target",
        &target,
        "--children",
        "6",
        "--charts",
        "3",
        "--dims",
        "4",
        "--duration",
        "3.5",
        "--seed",
        "9",
    ]);
    let got = conns(&p, 6);
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(r.connections.connected, 6);
    assert_eq!(r.connections.never_connected, 0);
    assert!(r.connections.failed.is_empty() && r.connections.rejected.is_empty(), "{:?}", r.connections);
    let sets: u64 = got.iter().map(|c| c.sets).sum();
    assert!(r.traffic.samples_sent >= 6 * 12 * 2, "{}", r.traffic.samples_sent);
    assert_eq!(sets, r.traffic.samples_sent, "every sample sent arrived, none more");
    assert_eq!(r.traffic.samples_sent % 12, 0, "whole ticks only");
    let mut hosts: Vec<(String, String)> = got.iter().map(|c| (c.hostname.clone(), c.guid.clone())).collect();
    hosts.sort();
    let mut expected: Vec<(String, String)> =
        (0..6).map(|i| Identity::new(9, i, "loadgen")).map(|id| (id.hostname, id.machine_guid)).collect();
    expected.sort();
    assert_eq!(hosts, expected, "deterministic identities from --seed");
    for c in &got {
        assert_eq!(c.offer, 3);
        let kw: Vec<&str> = c.keywords.iter().map(String::as_str).collect();
        // Labels, claim id, definitions, then data blocks.
        assert_eq!(&kw[..6], ["LABEL", "OVERWRITE", "CLAIMED_ID", "CHART", "DIMENSION", "CHART"], "{kw:?}");
        assert_eq!(&kw[kw.len() - 3..], ["BEGIN", "SET", "END"]);
        assert!(!kw[6..].contains(&"LABEL"));
    }
    assert!(r.latency_ms.handshake.count == 6 && r.latency_ms.tick_send_lag.count >= 12);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["traffic"]["samples_sent"], r.traffic.samples_sent);
}

#[test]
fn probe_children_send_the_tick_number() {
    let p = start(prompt3, None);
    let target = p.addr.to_string();
    let r = run(&[
        "--target",
        &target,
        "--children",
        "2",
        "--charts",
        "2",
        "--dims",
        "2",
        "--duration",
        "3.5",
        "--probe-children",
        "1",
        "--value-pattern",
        "counter",
    ]);
    let got = conns(&p, 2);
    assert_eq!(r.connections.connected, 2);
    let probe_guid = Identity::new(1, 0, "loadgen").machine_guid;
    for c in got {
        assert!(c.probe_values.len() >= 2);
        let steps: Vec<i64> = c.probe_values.windows(2).map(|w| w[1] - w[0]).collect();
        if c.guid == probe_guid {
            assert!(steps.iter().all(|&d| d == 1), "the probe dimension counts ticks: {:?}", c.probe_values);
        } else {
            assert!(steps.iter().all(|&d| d > 1), "an ordinary counter grows by its step: {:?}", c.probe_values);
        }
    }
}

#[test]
fn targets_are_tried_in_order_and_rejections_are_reported_by_text() {
    let dead = closed_port();
    let denying = start(denied, None);
    let target = denying.addr.to_string();
    let r = run(&[
        "--target",
        &dead,
        "--target",
        &target,
        "--children",
        "2",
        "--duration",
        "2",
        "--reconnect-delay",
        "0.5",
        "--charts",
        "1",
        "--dims",
        "1",
    ]);
    assert_eq!(r.connections.connected, 0);
    assert_eq!(r.connections.never_connected, 2);
    assert_eq!(r.traffic.samples_sent, 0);
    let text = String::from_utf8_lossy(version::NOT_PERMITTED).to_string();
    let rejected = r.connections.rejected.get(&text).copied().unwrap_or(0);
    assert!(rejected >= 4, "two children, several rounds: {:?}", r.connections.rejected);
    let refused: u64 =
        r.connections.failed.iter().filter(|(k, _)| k.starts_with(&format!("{dead}: connect"))).map(|(_, v)| v).sum();
    assert_eq!(refused, rejected, "the dead target is tried first, every round: {:?}", r.connections.failed);
    assert_eq!(r.connections.attempts, refused + rejected);
    // Then a working parent after the dead one.
    let p = start(prompt3, None);
    let target = p.addr.to_string();
    let r = run(&[
        "--target",
        &dead,
        "--target",
        &target,
        "--children",
        "2",
        "--duration",
        "2",
        "--charts",
        "1",
        "--dims",
        "1",
    ]);
    assert_eq!(r.connections.connected, 2);
    assert_eq!(r.connections.sessions, 2);
    assert_eq!(r.connections.attempts, 4);
}

#[test]
fn churn_reconnects_children() {
    let p = start(prompt3, None);
    let target = p.addr.to_string();
    let r = run(&[
        "--target",
        &target,
        "--children",
        "4",
        "--charts",
        "1",
        "--dims",
        "2",
        "--duration",
        "4",
        "--churn",
        "2",
        "--churn-downtime",
        "0.2",
    ]);
    assert!(r.connections.churned >= 3, "{:?}", r.connections);
    // Every churned child came back, unless its downtime reached past the end.
    assert_eq!(r.connections.sessions - r.connections.churned, r.connections.connected, "{:?}", r.connections);
    assert!(r.connections.connected >= 2);
    let got = conns(&p, r.connections.sessions as usize);
    assert_eq!(got.len() as u64, r.connections.sessions);
    assert_eq!(got.iter().map(|c| c.sets).sum::<u64>(), r.traffic.samples_sent);
}

#[test]
fn tls_with_a_ca_file_and_insecure() {
    let p = start(prompt3, Some(server_tls()));
    let target = p.addr.to_string();
    let ca = data("ca.pem");
    let r = run(&[
        "--target",
        &target,
        "--children",
        "3",
        "--charts",
        "2",
        "--dims",
        "2",
        "--duration",
        "2.5",
        "--tls",
        "--ca",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(r.connections.connected, 3, "{:?}", r.connections);
    assert_eq!(r.latency_ms.tls_handshake.count, 3);
    assert!(r.latency_ms.tls_handshake.max <= r.latency_ms.handshake.max);
    let got = conns(&p, 3);
    assert_eq!(got.iter().map(|c| c.sets).sum::<u64>(), r.traffic.samples_sent);
    assert!(r.traffic.samples_sent > 0);

    let p = start(prompt3, Some(server_tls()));
    let target = p.addr.to_string();
    let r = run(&[
        "--target",
        &target,
        "--children",
        "2",
        "--duration",
        "1.5",
        "--tls",
        "--insecure",
        "--charts",
        "1",
        "--dims",
        "1",
    ]);
    assert_eq!(r.connections.connected, 2, "{:?}", r.connections);
    assert!(r.text().contains("tls handshake"));
}

#[test]
fn tls_refuses_an_untrusted_certificate_and_a_plain_parent() {
    let p = start(prompt3, Some(server_tls()));
    let target = p.addr.to_string();
    let other = data("other-ca.pem");
    let r = run(&[
        "--target",
        &target,
        "--children",
        "2",
        "--duration",
        "1.5",
        "--tls",
        "--ca",
        other.to_str().unwrap(),
        "--reconnect-delay",
        "10",
        "--charts",
        "1",
        "--dims",
        "1",
    ]);
    assert_eq!(r.connections.sessions, 0);
    let failed: Vec<&String> = r.connections.failed.keys().collect();
    assert!(failed.iter().all(|k| k.contains("tls handshake")), "{failed:?}");
    assert_eq!(r.connections.failed.values().sum::<u64>(), 2);

    let plain = start(prompt3, None);
    let target = plain.addr.to_string();
    let r = run(&[
        "--target",
        &target,
        "--children",
        "1",
        "--duration",
        "1.5",
        "--tls",
        "--insecure",
        "--timeout",
        "1",
        "--charts",
        "1",
        "--dims",
        "1",
    ]);
    assert_eq!(r.connections.sessions, 0);
    assert!(r.connections.failed.keys().all(|k| k.contains("tls handshake")), "{:?}", r.connections.failed);
}

#[test]
fn the_binary_writes_the_report_and_the_plot() {
    let p = start(prompt3, None);
    let dir = std::env::temp_dir().join(format!("loadgen-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata-loadgen"))
        .args(["--target", &p.addr.to_string(), "--children", "2", "--charts", "1", "--dims", "1", "--duration", "1.5"])
        .args(["--progress", "0.5", "--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("children connected      2 / 2"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connected 2/2"), "a progress line: {stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["connections"]["connected"], 2);
    let svg = std::fs::read_to_string(dir.join("report.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("tick send lag"));
    let bad =
        std::process::Command::new(env!("CARGO_BIN_EXE_strata-loadgen")).args(["--children", "0"]).output().unwrap();
    assert!(!bad.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
