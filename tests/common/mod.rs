//! Test harness: runs the real `strata` binary on 127.0.0.1 port 0 with a private
//! config directory, captures its log lines, and speaks HTTP and the stream protocol to it
//! over real sockets.
#![allow(dead_code)]

pub mod netdata;
pub mod relay;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const KEY: &str = "11111111-2222-3333-4444-555555555555";

/// A private directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("strata-test-{tag}-{}-{seq}-{:x}", std::process::id(), rand_u64()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

/// A running strata parent.
pub struct Parent {
    child: Child,
    pub addr: SocketAddr,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub dir: TempDir,
}

/// Writes `netdata.conf` and `stream.conf` into a fresh directory. External plugins are
/// looked for only in its `plugins.d` (which does not exist unless a test creates it),
/// never in the machine's plugin directories.
pub fn config_dir(netdata_conf: &str, stream_conf: &str) -> TempDir {
    let d = TempDir::new("conf");
    let lib = d.0.join("lib");
    let cache = d.0.join("cache");
    let conf = format!(
        "[global]\n    hostname = strata-test-parent\n[directories]\n    lib = {}\n    cache = {}\n    plugins = \"{}\"\n{netdata_conf}",
        lib.display(),
        cache.display(),
        plugins_dir(&d).display()
    );
    std::fs::write(d.0.join("netdata.conf"), conf).expect("write netdata.conf");
    std::fs::write(d.0.join("stream.conf"), stream_conf).expect("write stream.conf");
    d
}

/// The external plugins directory of a [`config_dir`].
pub fn plugins_dir(dir: &TempDir) -> PathBuf {
    dir.0.join("plugins.d")
}

/// An API key that admits every child; children get the parent's default memory mode
/// (`dbengine` unless the netdata.conf says otherwise).
pub fn default_stream_conf() -> String {
    format!("[{KEY}]\n    enabled = yes\n    allow from = *\n")
}

/// [`default_stream_conf`] with the children's memory mode set.
pub fn stream_conf_with_mode(mode: &str) -> String {
    format!("{}    default memory mode = {mode}\n", default_stream_conf())
}

impl Parent {
    /// Starts strata with this config dir, `--cores cores`, bound to 127.0.0.1:0.
    pub fn start(dir: TempDir, cores: usize) -> Parent {
        Self::start_with(dir, cores, &[])
    }

    pub fn start_with(dir: TempDir, cores: usize, extra: &[&str]) -> Parent {
        Self::start_with_env(dir, cores, extra, &[])
    }

    /// [`Parent::start_with`] with extra environment variables for the process.
    pub fn start_with_env(dir: TempDir, cores: usize, extra: &[&str], env: &[(&str, &str)]) -> Parent {
        let p = Self::spawn(dir, cores, extra, env);
        p.wait_http_ready();
        p
    }

    /// Starts strata and returns once it listens, without waiting for its API (a node
    /// with `memory mode = none` serves no API for its own host).
    pub fn start_headless(dir: TempDir, cores: usize, extra: &[&str]) -> Parent {
        Self::spawn(dir, cores, extra, &[])
    }

    fn spawn(dir: TempDir, cores: usize, extra: &[&str], env: &[(&str, &str)]) -> Parent {
        let mut args = vec!["-W", "set", "web", "bind to", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let (mut child, logs, rx) = spawn_strata(&dir, Some(cores), &args, env);
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("strata did not start; logs: {:#?}", logs.lock().unwrap());
            }
        };
        Parent { child, addr, logs, dir }
    }

    fn wait_http_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok((200, _)) = self.try_get("/api/v1/info") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("strata API did not answer; logs: {:#?}", self.logs.lock().unwrap());
    }

    /// GET a path; returns (status, body).
    pub fn try_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http_get(self.addr, path)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path} -> {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: bad JSON ({e}): {body}"))
    }

    /// Waits until a log line contains every needle; returns it.
    pub fn wait_log(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.logs.lock().unwrap().iter().find(|l| needles.iter().all(|n| l.contains(n))) {
                return l.clone();
            }
            if Instant::now() > deadline {
                panic!("no log line with {needles:?}; logs: {:#?}", self.logs.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn has_log(&self, needles: &[&str]) -> bool {
        self.logs.lock().unwrap().iter().any(|l| needles.iter().all(|n| l.contains(n)))
    }

    /// The addresses it logged as listening on, in `bind to` order.
    pub fn listening(&self) -> Vec<SocketAddr> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.split("web server listening on ").nth(1).and_then(|a| a.trim().parse().ok()))
            .collect()
    }
}

/// A parent that has exited: how, what it logged, and its config directory (kept).
pub struct Stopped {
    pub status: ExitStatus,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub dir: TempDir,
}

impl Stopped {
    /// Waits until a log line contains every needle (the log reader may lag the exit).
    pub fn wait_log(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(l) = self.logs.lock().unwrap().iter().find(|l| needles.iter().all(|n| l.contains(n))) {
                return l.clone();
            }
            if Instant::now() > deadline {
                panic!("no log line with {needles:?}; logs: {:#?}", self.logs.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Parent {
    /// Sends `signal` and waits (at most 20 s) for the process to exit.
    pub fn stop_with(mut self, signal: i32) -> Stopped {
        // SAFETY: plain kill(2) on the pid of our own child process.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({signal})");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                panic!("strata did not exit after signal {signal}; logs: {:#?}", self.logs.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let dir = std::mem::replace(&mut self.dir, TempDir(PathBuf::new()));
        Stopped { status, logs: self.logs.clone(), dir }
    }
}

impl Drop for Parent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the strata binary with this config dir and `--cores cores` (its default when
/// `None`); its stderr lines are
/// collected in the returned log, and the address of its first "web server listening on"
/// line (if any) is sent on the returned channel.
fn spawn_strata(
    dir: &TempDir,
    cores: Option<usize>,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, Arc<Mutex<Vec<String>>>, std::sync::mpsc::Receiver<SocketAddr>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.envs(env.iter().copied());
    cmd.arg("--config-dir").arg(&dir.0);
    if let Some(n) = cores {
        cmd.arg("--cores").arg(n.to_string());
    }
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn strata");
    let stderr = child.stderr.take().expect("stderr");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let logs = logs.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("web server listening on ").nth(1) {
                    if let (Some(t), Ok(a)) = (tx.take(), addr.trim().parse::<SocketAddr>()) {
                        let _ = t.send(a);
                    }
                }
                if std::env::var_os("STRATA_TEST_ECHO").is_some() {
                    eprintln!("[strata] {line}");
                }
                logs.lock().unwrap().push(line);
            }
        });
    }
    (child, logs, rx)
}

fn wait_lines(logs: &Mutex<Vec<String>>, needles: &[&str], timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(l) = logs.lock().unwrap().iter().find(|l| needles.iter().all(|n| l.contains(n))) {
            return Some(l.clone());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running strata that is not a parent: it listens nowhere (`[web] mode = none`), so
/// it is known by its log lines only (a headless collector).
pub struct Node {
    child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub dir: TempDir,
}

impl Node {
    /// Starts strata with this config dir (no `bind to` is set; `cores`: `--cores`, or
    /// strata's default when `None`) and returns once a log line contains every needle
    /// of `ready`.
    pub fn start(dir: TempDir, cores: Option<usize>, extra: &[&str], ready: &[&str]) -> Node {
        let (child, logs, _) = spawn_strata(&dir, cores, extra, &[]);
        let node = Node { child, logs, dir };
        node.wait_log(ready, Duration::from_secs(30));
        node
    }

    /// The pid of the strata process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a log line contains every needle; returns it.
    pub fn wait_log(&self, needles: &[&str], timeout: Duration) -> String {
        wait_lines(&self.logs, needles, timeout)
            .unwrap_or_else(|| panic!("no log line with {needles:?}; logs: {:#?}", self.logs.lock().unwrap()))
    }

    pub fn has_log(&self, needles: &[&str]) -> bool {
        self.logs.lock().unwrap().iter().any(|l| needles.iter().all(|n| l.contains(n)))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET with `Connection: close`.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    // One write: Netdata 1.37's web server mishandles a request head split over segments.
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, body.to_string()))
}

/// A STREAM request like a real child's (§2.2), with the given offer.
pub fn stream_request(key: &str, hostname: &str, guid: &str, ver: &str) -> Vec<u8> {
    format!(
        "STREAM key={key}&hostname={hostname}&registry_hostname={hostname}&machine_guid={guid}&update_every=1&os=linux&timezone=Etc/UTC&tags=&ver={ver}&NETDATA_SYSTEM_OS_NAME=Debian+GNU%2FLinux&NETDATA_PROTOCOL_VERSION=1.1 HTTP/1.1\r\nUser-Agent: netdata/v1.37.1\r\nAccept: */*\r\n\r\n"
    )
    .into_bytes()
}

/// Connects, sends `request`, and reads the parent's whole reply (until it pauses or
/// closes). Returns the open stream and the reply bytes.
pub fn handshake(addr: SocketAddr, request: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.write_all(request).expect("send request");
    s.set_read_timeout(Some(Duration::from_millis(700))).expect("timeout");
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
    s.set_read_timeout(None).expect("timeout");
    (s, reply)
}

/// True when the peer has closed the connection (read returns 0 or an error).
pub fn is_closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut b = [0u8; 16];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

/// Sends a stream, pacing its first `cycles` collection cycles (delimited by
/// `BEGIN "system.cpu"`) at 1 s (the parent owns the clock, so an instant replay would
/// land in a single slot); the rest is sent at once.
pub fn replay_paced(mut sock: TcpStream, stream: &[u8], cycles: usize) -> TcpStream {
    let marker = b"BEGIN \"system.cpu\"";
    let mut seen = 0;
    let mut start = 0;
    let mut pos = 0;
    while pos < stream.len() && seen < cycles {
        let line_end = stream[pos..].iter().position(|b| *b == b'\n').map(|i| pos + i + 1).unwrap_or(stream.len());
        if stream[pos..line_end].starts_with(marker) {
            if seen > 0 {
                sock.write_all(&stream[start..pos]).expect("send");
                start = pos;
                std::thread::sleep(Duration::from_secs(1));
            }
            seen += 1;
        }
        pos = line_end;
    }
    sock.write_all(&stream[start..]).expect("send");
    sock
}

/// The project's `shared/` directory (a sibling of the project root).
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll_for(timeout, f).unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// Like [`wait_for`], but returns `None` on timeout so the caller can say more.
pub fn poll_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
