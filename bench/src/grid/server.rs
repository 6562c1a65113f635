//! The parents the grid measures: strata (`target/release/strata`) and, when installed, a
//! real Netdata. Each runs with a private directory (config, cache, lib, log) under a
//! fresh temporary directory, binds 127.0.0.1 on a free port, accepts one API key, keeps
//! the children's data in its dbengine, and runs no local collectors or health.
//!
//! Invariants: a started parent is always stopped (SIGTERM, then SIGKILL after the
//! timeout) by [`Parent::stop`] or on drop; nothing is written outside its directory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::tls::CertFiles;

/// The API key the parents accept and the loadgen sends.
pub const API_KEY: &str = "7d3f1c52-9a0b-4e61-8c2d-5b4a3e2f1a09";

/// Which parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Strata,
    Netdata,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Strata => "strata",
            Kind::Netdata => "netdata",
        }
    }
}

/// How to start a parent.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    pub binary: PathBuf,
    /// strata only: `--cores` (None = all cores).
    pub cores: Option<usize>,
    /// dbengine page cache, MiB (both parents).
    pub page_cache_mib: u32,
    /// dbengine disk space, MiB (both parents).
    pub disk_mib: u32,
    /// strata only: stream over TLS. The parent then serves its API in plain HTTP on
    /// [`Parent::port`] (dashboard only, `^SSL=optional`) and accepts streams only over TLS on
    /// [`Parent::stream_port`] (`^SSL=force`), with this certificate.
    pub tls: Option<CertFiles>,
}

/// A port nobody listens on right now (the OS picks it; it is released before use).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn strata_conf(dir: &Path, port: u16, stream_port: u16, spec: &Spec) -> (String, String) {
    let web = match &spec.tls {
        None => format!("    bind to = 127.0.0.1:{port}\n"),
        Some(c) => format!(
            "    bind to = 127.0.0.1:{port}=dashboard^SSL=optional 127.0.0.1:{stream_port}=streaming^SSL=force\n    \
             ssl key = {}\n    ssl certificate = {}\n",
            c.key.display(),
            c.cert.display()
        ),
    };
    let netdata_conf = format!(
        "[global]\n    hostname = bench-parent-{port}\n    memory mode = dbengine\n    page cache size = {cache}\n    \
         dbengine multihost disk space = {disk}\n    update every = 1\n\
         [directories]\n    cache = {d}/cache\n    lib = {d}/lib\n    log = {d}/log\n    plugins = \"{d}/plugins.d\"\n\
         [web]\n{web}    accept a streaming request every seconds = 0\n\
         [plugins]\n    proc = no\n    enable running new plugins = no\n\
         [health]\n    enabled = no\n",
        cache = spec.page_cache_mib,
        disk = spec.disk_mib,
        d = dir.display(),
    );
    let stream_conf = format!(
        "[stream]\n    enabled = no\n[{API_KEY}]\n    enabled = yes\n    allow from = *\n    default memory mode = dbengine\n    \
         health enabled by default = no\n"
    );
    (netdata_conf, stream_conf)
}

/// Netdata 1.37 as a parent: the same keys as its stock files, local collection, health,
/// ML, registry and cloud off, and the scheduling policy of a normal process (its default,
/// batch + nice 19, would make it yield to the load generator).
fn netdata_conf(dir: &Path, port: u16, spec: &Spec) -> (String, String) {
    let d = dir.display();
    let mut plugins = String::new();
    for p in [
        "proc",
        "diskspace",
        "cgroups",
        "tc",
        "idlejitter",
        "timex",
        "checks",
        "statsd",
        "apps",
        "charts.d",
        "python.d",
        "go.d",
        "node.d",
        "ebpf",
        "perf",
        "slabinfo",
        "nfacct",
        "fping",
        "ioping",
        "freeipmi",
        "cups",
        "xenstat",
    ] {
        plugins.push_str(&format!("    {p} = no\n"));
    }
    let netdata_conf = format!(
        "[global]\n    run as user = root\n    hostname = bench-netdata-{port}\n    process scheduling policy = other\n    \
         process nice level = 0\n    OOM score = keep\n\
         [directories]\n    config = {d}/etc\n    stock config = /usr/lib/netdata/conf.d\n    log = {d}/log\n    \
         web = /usr/share/netdata/web\n    cache = {d}/cache\n    lib = {d}/lib\n    home = {d}/lib\n    lock = {d}/lock\n    \
         plugins = \"{d}/plugins.d\" \"/usr/lib/netdata/plugins.d\"\n    health config = {d}/etc/health.d\n    \
         stock health config = /usr/lib/netdata/conf.d/health.d\n    registry = {d}/lib/registry\n\
         [logs]\n    debug = {d}/log/debug.log\n    error = {d}/log/error.log\n    access = none\n    \
         health = {d}/log/health.log\n    errors flood protection period = 0\n\
         [registry]\n    enabled = no\n[cloud]\n    proxy = none\n[ml]\n    enabled = no\n\
         [global statistics]\n    update every = 10\n\
         [db]\n    mode = dbengine\n    update every = 1\n    storage tiers = 1\n    \
         dbengine multihost disk space MB = {disk}\n    dbengine page cache size MB = {cache}\n    \
         cleanup orphan hosts after secs = 3600\n\
         [web]\n    mode = static-threaded\n    bind to = 127.0.0.1:{port}\n    \
         accept a streaming request every seconds = 0\n    enable gzip compression = no\n\
         [health]\n    enabled = no\n[statsd]\n    enabled = no\n\
         [plugins]\n    enable running new plugins = no\n    check for new plugins every = 3600\n{plugins}",
        cache = spec.page_cache_mib,
        disk = spec.disk_mib,
    );
    let stream_conf = format!(
        "[stream]\n    enabled = no\n[{API_KEY}]\n    type = api\n    enabled = yes\n    allow from = *\n    \
         default memory mode = dbengine\n    health enabled by default = no\n    \
         default postpone alarms on connect seconds = 60\n    enable compression = yes\n    enable replication = yes\n    \
         seconds to replicate = 3600\n"
    );
    (netdata_conf, stream_conf)
}

/// Netdata reads `KEY=VALUE` system facts from `<plugins>/system-info.sh` at start; the
/// Debian package lacks the script, so the run directory gets a small one.
const SYSTEM_INFO_SH: &str = r#"#!/bin/sh
. /etc/os-release 2>/dev/null
echo "NETDATA_HOST_OS_NAME=${NAME:-unknown}"
echo "NETDATA_HOST_OS_ID=${ID:-unknown}"
echo "NETDATA_HOST_OS_ID_LIKE=${ID_LIKE:-unknown}"
echo "NETDATA_HOST_OS_VERSION=${VERSION:-unknown}"
echo "NETDATA_HOST_OS_VERSION_ID=${VERSION_ID:-unknown}"
echo "NETDATA_HOST_OS_DETECTION=/etc/os-release"
echo "NETDATA_SYSTEM_KERNEL_NAME=$(uname -s)"
echo "NETDATA_SYSTEM_KERNEL_VERSION=$(uname -r)"
echo "NETDATA_SYSTEM_ARCHITECTURE=$(uname -m)"
echo "NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT=$(nproc)"
"#;

/// A running parent.
pub struct Parent {
    pub kind: Kind,
    /// The API (plain HTTP).
    pub port: u16,
    /// Where the children stream: `port` in plain, the `^SSL=force` port with TLS.
    pub stream_port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Parent {
    /// Writes the configuration into `dir` and starts the parent; returns once its
    /// `/api/v1/info` answers 200.
    pub fn start(spec: &Spec, dir: &Path) -> anyhow::Result<Parent> {
        let port = free_port()?;
        let stream_port = if spec.tls.is_some() { free_port()? } else { port };
        if spec.tls.is_some() && spec.kind != Kind::Strata {
            bail!("TLS runs are for strata only");
        }
        for sub in ["etc/health.d", "cache", "lib/cloud.d", "lib/registry", "log", "lock", "run", "plugins.d"] {
            std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("create {}", dir.join(sub).display()))?;
        }
        let mut cmd = Command::new(&spec.binary);
        let conf_dir = dir.join("etc");
        match spec.kind {
            Kind::Strata => {
                let (nd, st) = strata_conf(dir, port, stream_port, spec);
                std::fs::write(conf_dir.join("netdata.conf"), nd)?;
                std::fs::write(conf_dir.join("stream.conf"), st)?;
                cmd.arg("--config-dir").arg(&conf_dir);
                if let Some(n) = spec.cores {
                    cmd.arg("--cores").arg(n.to_string());
                }
            }
            Kind::Netdata => {
                let (nd, st) = netdata_conf(dir, port, spec);
                std::fs::write(conf_dir.join("netdata.conf"), nd)?;
                std::fs::write(conf_dir.join("stream.conf"), st)?;
                std::fs::write(conf_dir.join(".opt-out-from-anonymous-statistics"), "")?;
                std::fs::write(dir.join("lib/cloud.d/cloud.conf"), "[global]\n    enabled = no\n")?;
                let si = dir.join("plugins.d/system-info.sh");
                std::fs::write(&si, SYSTEM_INFO_SH)?;
                std::fs::set_permissions(&si, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
                cmd.arg("-c").arg(conf_dir.join("netdata.conf")).arg("-D").arg("-P").arg(dir.join("run/netdata.pid"));
                cmd.env("DO_NOT_TRACK", "1").env("NETDATA_DISABLE_TELEMETRY", "1");
            }
        }
        let stdout = std::fs::File::create(dir.join("log/stdout.log"))?;
        let stderr = std::fs::File::create(dir.join("log/stderr.log"))?;
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = cmd.spawn().with_context(|| format!("start {}", spec.binary.display()))?;
        let mut p = Parent { kind: spec.kind, port, stream_port, dir: dir.to_path_buf(), child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(c) = p.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    p.child = None;
                    bail!(
                        "{} exited during start-up ({status}); logs in {}",
                        spec.kind.name(),
                        dir.join("log").display()
                    );
                }
            }
            if matches!(http_get(port, "/api/v1/info"), Ok((200, _))) {
                return Ok(p);
            }
            if Instant::now() > deadline {
                bail!("{} did not answer /api/v1/info within 60 s", spec.kind.name());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// The dbengine directory (`<cache>/dbengine`, tier 0 for Netdata, every shard for strata).
    pub fn dbengine_dir(&self) -> PathBuf {
        self.dir.join("cache/dbengine")
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL. Returns how it ended: `Exited(status)`
    /// when it stopped on its own (a crash at shutdown shows in the status).
    pub fn stop(&mut self, timeout: Duration) -> Stop {
        let Some(mut c) = self.child.take() else { return Stop::NotRunning };
        if let Ok(Some(_)) = c.try_wait() {
            return Stop::NotRunning;
        }
        // SAFETY: kill(2) on the pid of a child we started and have not reaped.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return Stop::Exited(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        Stop::Killed
    }
}

/// How [`Parent::stop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It had already exited (or was never started).
    NotRunning,
    /// It exited after SIGTERM, with this status.
    Exited(std::process::ExitStatus),
    /// It did not exit in time and was killed.
    Killed,
}

impl Drop for Parent {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1:`port`: (status, body).
pub fn http_get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).context("no HTTP status")?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: Kind) -> Spec {
        Spec { kind, binary: "x".into(), cores: None, page_cache_mib: 64, disk_mib: 1024, tls: None }
    }

    #[test]
    fn configs_are_private_and_dbengine() {
        let dir = Path::new("/tmp/run-x");
        for (kind, mode) in [(Kind::Strata, "memory mode = dbengine"), (Kind::Netdata, "mode = dbengine")] {
            let (nd, st) = match kind {
                Kind::Strata => strata_conf(dir, 4242, 4242, &spec(kind)),
                Kind::Netdata => netdata_conf(dir, 4242, &spec(kind)),
            };
            assert!(nd.contains("bind to = 127.0.0.1:4242"), "{nd}");
            assert!(nd.contains(mode), "{nd}");
            assert!(nd.contains("cache = /tmp/run-x/cache") && nd.contains("lib = /tmp/run-x/lib"), "{nd}");
            assert!(st.contains(&format!("[{API_KEY}]")) && st.contains("default memory mode = dbengine"), "{st}");
            // Every line sits in a section.
            assert!(nd.starts_with("[global]"));
        }
    }

    #[test]
    fn strata_tls_streams_only_over_tls_and_keeps_a_plain_api() {
        let dir = Path::new("/tmp/run-x");
        let tls = Some(CertFiles { cert: "/c/cert.pem".into(), key: "/c/key.pem".into() });
        let (nd, _) = strata_conf(dir, 4242, 4343, &Spec { tls, ..spec(Kind::Strata) });
        assert!(
            nd.contains("bind to = 127.0.0.1:4242=dashboard^SSL=optional 127.0.0.1:4343=streaming^SSL=force\n"),
            "{nd}"
        );
        assert!(nd.contains("ssl key = /c/key.pem\n") && nd.contains("ssl certificate = /c/cert.pem\n"), "{nd}");
        // strata's own parser reads it as intended: a plain dashboard port, a TLS-only stream port.
        use strata::config::bind::{parse_bind_to, Acl, SslMode};
        let line = nd.lines().find_map(|l| l.trim().strip_prefix("bind to = ")).unwrap();
        let b = parse_bind_to(line, 19999).unwrap();
        assert!(b.warnings.is_empty(), "{:?}", b.warnings);
        let got: Vec<(u16, Acl, SslMode)> = b.specs.iter().map(|s| (s.addrs[0].port(), s.acl, s.ssl)).collect();
        assert_eq!(got, [(4242, Acl::DASHBOARD, SslMode::Optional), (4343, Acl::STREAMING, SslMode::Force)]);
    }

    #[test]
    fn free_ports_are_nonzero() {
        assert_ne!(free_port().unwrap(), 0);
    }
}
