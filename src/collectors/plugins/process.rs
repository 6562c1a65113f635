//! Starting and stopping one external plugin process.
//!
//! Owns: [`spawn`] and [`stop`]. The plugin runs as `PATH UPDATE_EVERY [OPTIONS…]`
//! (Netdata runs `exec PATH UPDATE_EVERY OPTIONS` through the shell; here the options
//! are split on blanks and no shell is involved), with Netdata's `NETDATA_*`
//! environment. Its stdin, stdout and stderr are Unix stream sockets whose other ends
//! are read asynchronously by the shard (glommio has no child-process support, and a
//! socket — unlike a pipe — can be polled by its reactor), so no thread is needed.
//! stdin stays open and silent for the plugin's life (some plugins exit when it
//! closes). Invariants: the child holds no descriptor of ours beyond 0–2 (everything
//! from 3 up is closed before `exec`); it gets SIGTERM if the thread that started it
//! dies, so a killed daemon leaves no plugins behind; [`stop`] always reaps it.

use std::io;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use glommio::net::UnixStream;

use super::policy::Exit;

/// A running plugin.
#[derive(Debug)]
pub struct Spawned {
    pub child: Child,
    pub pid: u32,
    pub stdout: UnixStream,
    pub stderr: UnixStream,
    /// Our end of the plugin's stdin (kept open, never written).
    pub stdin: std::os::unix::net::UnixStream,
}

/// Our end as a glommio stream, the other end as a child's stdio.
fn socket_pair() -> io::Result<(UnixStream, Stdio)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let fd = ours.into_raw_fd();
    // SAFETY: `fd` was just released by `into_raw_fd`; the glommio stream owns it now.
    let ours = unsafe { <UnixStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    Ok((ours, Stdio::from(OwnedFd::from(theirs))))
}

/// Starts `path update_every options…` with environment `env`.
pub fn spawn(path: &Path, update_every: u32, options: &str, env: &[(String, String)]) -> io::Result<Spawned> {
    let (stdout, child_out) = socket_pair()?;
    let (stderr, child_err) = socket_pair()?;
    let (stdin, child_in) = std::os::unix::net::UnixStream::pair()?;
    let mut cmd = Command::new(path);
    cmd.arg(update_every.to_string())
        .args(options.split_whitespace())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::from(OwnedFd::from(child_in)))
        .stdout(child_out)
        .stderr(child_err);
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (prctl, close_range), touching no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0);
            // Best effort (Linux ≥ 5.9); our descriptors are close-on-exec anyway.
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = child.id();
    Ok(Spawned { child, pid, stdout, stderr, stdin })
}

/// How an exit status reads for the restart policy.
pub fn exit_of(status: std::process::ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        (None, None) => Exit::Code(-1),
    }
}

/// Waits (polling, without blocking the shard) up to `limit` for the child to exit.
async fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        if waited >= limit {
            return None;
        }
        glommio::timer::sleep(step).await;
        waited += step;
    }
}

/// Ends a plugin's run: a moment for it to exit on its own (its stdout is closed),
/// then SIGTERM, then SIGKILL; always reaped. `terminate` sends SIGTERM at once (we
/// are stopping it). Returns its exit status, `None` if it could not be reaped.
pub async fn stop(child: &mut Child, terminate: bool) -> Option<std::process::ExitStatus> {
    let pid = child.id() as libc::pid_t;
    if !terminate {
        if let Some(s) = wait_for(child, Duration::from_millis(500)).await {
            return Some(s);
        }
    }
    // SAFETY: plain kill(2) on our own, not yet reaped, child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    if let Some(s) = wait_for(child, Duration::from_secs(5)).await {
        return Some(s);
    }
    let _ = child.kill();
    wait_for(child, Duration::from_secs(5)).await
}
