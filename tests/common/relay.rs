//! Helpers for tests with more than one node: free ports, proxy configs, a live fake
//! child, a fake parent, capture replay, and reading a node's hosts, charts and values.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use strata::stream::command::parse_line;
use strata::stream::Command;

use super::*;

pub const FIXTURE: &str = "netdata-1.37.1-child-v3";
pub const PROMPT_V4: &[u8] = b"Hit me baby, push them over with the version=4";

/// A port nothing listens on (bound once, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// stream.conf of a node that receives with [`KEY`] and forwards every received host to
/// `destination` (`received_mode`: memory mode of received hosts).
pub fn proxy_stream_conf(destination: &str, received_mode: &str, extra: &str) -> String {
    format!(
        "[stream]\n    enabled = yes\n    destination = {destination}\n    api key = {KEY}\n    reconnect delay seconds = 1\n    timeout seconds = 10\n{extra}\n[{KEY}]\n    enabled = yes\n    allow from = *\n    default memory mode = {received_mode}\n"
    )
}

pub fn start_proxy(destination: &str, received_mode: &str, extra: &str, cores: usize) -> Parent {
    Parent::start(config_dir("", &proxy_stream_conf(destination, received_mode, extra)), cores)
}

/// The status entry of `hostname` in a node's `/api/v1/info`.
pub fn mirrored(p: &Parent, hostname: &str) -> Option<serde_json::Value> {
    let info = p.get_json("/api/v1/info");
    info["mirrored_hosts_status"].as_array()?.iter().find(|h| h["hostname"] == hostname).cloned()
}

/// Chart ids served for a host.
pub fn chart_ids(p: &Parent, host: &str) -> Option<Vec<String>> {
    let (status, body) = p.get(&format!("/host/{host}/api/v1/charts"));
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let mut ids: Vec<String> = v["charts"].as_object()?.keys().cloned().collect();
    ids.sort();
    Some(ids)
}

/// Non-null values of one dimension of a chart over the last `secs` seconds, newest first.
pub fn values(p: &Parent, host: &str, chart: &str, dim: &str, secs: u32) -> Vec<f64> {
    let (status, body) = p.get(&format!("/host/{host}/api/v1/data?chart={chart}&after=-{secs}&format=json"));
    if status != 200 {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else { return Vec::new() };
    let Some(col) = v["labels"].as_array().and_then(|l| l.iter().position(|x| x == dim)) else { return Vec::new() };
    v["data"].as_array().into_iter().flatten().filter_map(|r| r[col].as_f64()).collect()
}

/// The last collected value of a dimension (`allmetrics` as collected).
pub fn as_collected(p: &Parent, host: &str, chart: &str, dim: &str) -> Option<f64> {
    let (status, body) =
        p.get(&format!("/host/{host}/api/v1/allmetrics?format=prometheus&data=as-collected&timestamps=no"));
    if status != 200 {
        return None;
    }
    let (want_chart, want_dim) = (format!("chart=\"{chart}\""), format!("dimension=\"{dim}\""));
    let line = body.lines().find(|l| !l.starts_with('#') && l.contains(&want_chart) && l.contains(&want_dim))?;
    line.rsplit(' ').next()?.parse().ok()
}

/// A live child: `CHART fake.load` with `dims` absolute dimensions; collection `i` sets
/// `d0 = i` and `dK = i * 1000 + K`.
pub struct FakeChild {
    stop: Arc<AtomicBool>,
    pub collected: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl FakeChild {
    pub fn start(addr: SocketAddr, hostname: &str, guid: &str, dims: usize, every: Duration, max: u64) -> FakeChild {
        let stop = Arc::new(AtomicBool::new(false));
        let collected = Arc::new(AtomicU64::new(0));
        let (s, c) = (stop.clone(), collected.clone());
        let request = stream_request(KEY, hostname, guid, "3");
        let thread = std::thread::spawn(move || {
            let (mut sock, reply) = handshake(addr, &request);
            assert_eq!(reply, b"Hit me baby, push them over with the version=3");
            let mut def = String::from(
                "CHART \"fake.load\" \"\" \"Fake load\" \"things\" \"fake\" \"fake.load\" \"line\" 1000 1 \"\" \"test.plugin\" \"\"\n",
            );
            for k in 0..dims {
                def.push_str(&format!("DIMENSION \"d{k}\" \"\" \"absolute\" 1 1 \"\"\n"));
            }
            sock.write_all(def.as_bytes()).expect("definitions");
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) && i < max {
                i += 1;
                let mut b = String::from("BEGIN \"fake.load\" 0\nSET \"d0\" = ");
                b.push_str(&i.to_string());
                b.push('\n');
                for k in 1..dims {
                    b.push_str(&format!("SET \"d{k}\" = {}\n", i * 1000 + k as u64));
                }
                b.push_str("END\n");
                if sock.write_all(b.as_bytes()).is_err() {
                    break;
                }
                c.store(i, Ordering::Relaxed);
                if !every.is_zero() {
                    std::thread::sleep(every);
                }
            }
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        FakeChild { stop, collected, thread: Some(thread) }
    }
}

impl Drop for FakeChild {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A fake parent on 127.0.0.1: answers every STREAM request with `reply`; with `stall`,
/// it then keeps the connection open and never reads again (its receive buffer is tiny).
pub struct FakeParent {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicU64>,
    /// The `hostname=` of every STREAM request, in arrival order.
    pub hostnames: Arc<std::sync::Mutex<Vec<String>>>,
    _thread: JoinHandle<()>,
}

impl FakeParent {
    pub fn start(reply: &'static [u8], stall: bool) -> FakeParent {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
        sock.set_recv_buffer_size(4096).expect("rcvbuf");
        sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().expect("addr").into()).expect("bind");
        sock.listen(16).expect("listen");
        let listener: TcpListener = sock.into();
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicU64::new(0));
        let count = connections.clone();
        let hostnames = Arc::new(std::sync::Mutex::new(Vec::new()));
        let names = hostnames.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { continue };
                count.fetch_add(1, Ordering::Relaxed);
                let mut head = Vec::new();
                let mut b = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(n) if n > 0 => head.extend_from_slice(&b[..n]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                if let Some(name) = head.split("hostname=").nth(1).and_then(|r| r.split(['&', ' ']).next()) {
                    names.lock().expect("hostnames").push(name.to_string());
                }
                let _ = s.write_all(reply);
                if stall {
                    held.push(s);
                }
            }
        });
        FakeParent { addr, connections, hostnames, _thread: thread }
    }
}

/// What a capture streams: chart → (update every, dimension → (multiplier, divisor,
/// absolute?)), and chart → dimension → collected values.
pub type Dims = BTreeMap<String, (i64, i64, bool)>;
pub struct Capture {
    pub charts: BTreeMap<String, (i64, Dims)>,
    pub sets: BTreeMap<String, BTreeMap<String, Vec<i64>>>,
}

pub fn read_capture(stream: &[u8]) -> Capture {
    let mut c = Capture { charts: BTreeMap::new(), sets: BTreeMap::new() };
    let mut current: Option<String> = None;
    for line in stream.split(|b| *b == b'\n') {
        let Ok(parsed) = parse_line(line, 4) else { continue };
        match parsed.command {
            Some(Command::Chart(ch)) => {
                let id = String::from_utf8_lossy(ch.type_id).to_string();
                c.charts.entry(id.clone()).or_default().0 = ch.update_every.unwrap_or(1);
                current = Some(id);
            }
            Some(Command::Dimension(d)) => {
                let Some(chart) = current.clone() else { continue };
                let absolute = matches!(d.algorithm, None | Some(b"absolute") | Some(b""));
                let m = d.multiplier.filter(|v| *v != 0).unwrap_or(1);
                let dv = d.divisor.filter(|v| *v != 0).unwrap_or(1);
                c.charts
                    .entry(chart)
                    .or_default()
                    .1
                    .insert(String::from_utf8_lossy(d.id).to_string(), (m, dv, absolute));
            }
            Some(Command::Begin { chart, .. }) => current = Some(String::from_utf8_lossy(chart).to_string()),
            Some(Command::Set { dimension, value: Some(v) }) => {
                if let Some(ch) = &current {
                    let dim = String::from_utf8_lossy(dimension).to_string();
                    c.sets.entry(ch.clone()).or_default().entry(dim).or_default().push(v);
                }
            }
            Some(Command::End) => current = None,
            _ => {}
        }
    }
    c
}

/// Replays a capture into `addr`: the first cycles one second apart (the parent owns the
/// clock), the rest at once. Returns the open socket.
pub fn replay(addr: SocketAddr, request: &[u8], stream: &[u8]) -> TcpStream {
    let (mut sock, reply) = handshake(addr, request);
    assert_eq!(reply, PROMPT_V4, "{}", String::from_utf8_lossy(&reply));
    let marker = b"BEGIN \"system.cpu\"";
    let (mut cycles, mut start, mut pos) = (0, 0, 0);
    while pos < stream.len() && cycles < 5 {
        let end = stream[pos..].iter().position(|b| *b == b'\n').map_or(stream.len(), |i| pos + i + 1);
        if stream[pos..end].starts_with(marker) {
            if cycles > 0 {
                sock.write_all(&stream[start..pos]).expect("send");
                start = pos;
                std::thread::sleep(Duration::from_secs(1));
            }
            cycles += 1;
        }
        pos = end;
    }
    sock.write_all(&stream[start..]).expect("send");
    sock
}
