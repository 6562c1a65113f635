//! A real Netdata 1.37.1 (Debian `netdata-core`) run with private directories by the
//! `shared/tools/netdata-peer/` scripts, for interop tests. In CI (`CI=true`) a missing
//! Netdata is a failure; elsewhere the tests say they skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

pub const NETDATA: &str = "/usr/sbin/netdata";

/// True when Netdata is installed; panics in CI when it is not, else says it skipped.
pub fn netdata_available() -> bool {
    if Path::new(NETDATA).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {NETDATA} is missing: .ci/run must install netdata-core");
    }
    eprintln!("SKIPPED: real Netdata interop test — {NETDATA} is not installed (apt-get install netdata-core)");
    false
}

/// A real Netdata started by a netdata-peer script; stopped (by pid file) on drop.
pub struct RealNetdata {
    pub dir: TempDir,
    tools: PathBuf,
}

impl RealNetdata {
    pub fn start(script: &str, args: &[&str], tag: &str) -> RealNetdata {
        Self::start_env(script, args, &[], tag)
    }

    /// [`RealNetdata::start`] with environment variables for the script (`STREAM_EXTRA`,
    /// `WEB_EXTRA`, `BIND_SUFFIX`).
    pub fn start_env(script: &str, args: &[&str], env: &[(&str, &str)], tag: &str) -> RealNetdata {
        let tools = shared_dir().join("tools/netdata-peer");
        let dir = TempDir::new(tag);
        let out = Command::new("bash")
            .arg(tools.join(script))
            .arg(&dir.0)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("run {script}: {e}"));
        assert!(
            out.status.success(),
            "{script} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        RealNetdata { dir, tools }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("log/error.log")).unwrap_or_default()
    }

    /// The last `n` lines of its error log.
    pub fn error_log_tail(&self, n: usize) -> String {
        let text = self.error_log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for RealNetdata {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(self.tools.join("stop.sh")).arg(&self.dir.0).output();
    }
}
