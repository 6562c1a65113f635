//! External plugins, as Netdata runs them: every executable `NAME.plugin` in the plugin
//! directories (`[directories] plugins`) that `[plugins]` enables, started with the
//! `update every` as its argument, its stdout parsed as protocol lines into localhost
//! through the shard's ingest path, its stderr logged, restarted when it ends
//! (`policy`).
//!
//! Owns: [`supervise`] (the directory scan, every `check for new plugins every`
//! seconds; a file name already running, from any directory, is not started twice) and
//! the life of one plugin ([`run_plugin`]), and [`shutdown_hook`]: when the shard stops,
//! every running plugin gets SIGTERM and is reaped (none is started again). Everything
//! runs as tasks of the shard that
//! owns localhost; a plugin never blocks it (its output is read from a socket through
//! the reactor) and nothing a plugin does can stop the daemon: bad output ends that
//! plugin's run only. Log lines are Netdata's (`connected to '…' running on pid N`,
//! `'…' (pid N) disconnected after N successful data collections (ENDs).`, the
//! restart decisions of `policy`), prefixed `PLUGINSD[NAME]`.

pub mod policy;
pub mod process;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::AsyncReadExt;

use crate::hosts::{HostId, ReceiverSession};
use crate::log::Level;
use crate::shard::ingest::{ingest, IngestError, LineSource};
use crate::shard::state::Shard;
use crate::stream::command::ProtocolError;

use policy::{Exit, Next, RunOutcome, Supervision};

/// File name suffix of a plugin.
pub const SUFFIX: &str = ".plugin";

/// Stream version the plugin lines are parsed at (every keyword a plugin may send).
const PLUGIN_PROTOCOL_VERSION: u32 = 4;

/// `NAME` of a plugin file `NAME.plugin` (`None` for other files).
pub fn plugin_name(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(SUFFIX).filter(|n| !n.is_empty())
}

/// Where localhost lives, for the plugins' lines, and which plugin processes run.
#[derive(Debug, Clone)]
pub struct Target {
    pub host_id: HostId,
    pub guid: String,
    /// Running plugins: file name → pid.
    pub running: Rc<RefCell<HashMap<String, u32>>>,
}

/// Stops every running plugin of this shard (SIGTERM, then waits up to 5 s for the
/// runners to reap them). Register with `Shard::on_shutdown`.
pub fn shutdown_hook(running: Rc<RefCell<HashMap<String, u32>>>) -> crate::shard::shutdown::Hook {
    Box::new(move |_shard| {
        Box::pin(async move {
            let pids: Vec<(String, u32)> = running.borrow().iter().map(|(f, p)| (f.clone(), *p)).collect();
            for (file, pid) in &pids {
                crate::info!("PLUGINSD: killing child process pid {pid} ({file})");
                // SAFETY: kill(2) of a child process of ours that its runner has not reaped.
                unsafe {
                    libc::kill(*pid as libc::pid_t, libc::SIGTERM);
                }
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !running.borrow().is_empty() && std::time::Instant::now() < deadline {
                glommio::timer::sleep(Duration::from_millis(20)).await;
            }
        })
    })
}

/// The environment Netdata gives its plugins.
fn environment(shard: &Shard, update_every: u32) -> Vec<(String, String)> {
    let c = &shard.config;
    let d = &c.directories;
    let dirs = &d.plugins;
    let path = |p: &Path| p.display().to_string();
    let mut env = vec![
        ("NETDATA_UPDATE_EVERY".to_string(), update_every.to_string()),
        ("NETDATA_VERSION".into(), crate::shard::VERSION.into()),
        ("NETDATA_HOSTNAME".into(), c.global.hostname.clone()),
        ("NETDATA_CONFIG_DIR".into(), path(&d.config)),
        ("NETDATA_USER_CONFIG_DIR".into(), path(&d.config)),
        ("NETDATA_STOCK_CONFIG_DIR".into(), "/usr/lib/netdata/conf.d".into()),
        ("NETDATA_PLUGINS_DIR".into(), dirs.first().map(|p| path(p)).unwrap_or_default()),
        ("NETDATA_USER_PLUGINS_DIRS".into(), dirs.iter().skip(1).map(|p| path(p)).collect::<Vec<_>>().join(" ")),
        ("NETDATA_CACHE_DIR".into(), path(&d.cache)),
        ("NETDATA_LIB_DIR".into(), path(&d.lib)),
        ("NETDATA_HOST_PREFIX".into(), String::new()),
        ("NETDATA_LISTEN_PORT".into(), c.web.default_port.to_string()),
    ];
    if let Some(log) = &d.log {
        env.push(("NETDATA_LOG_DIR".into(), path(log)));
    }
    env
}

/// Scans the plugin directories now and every `check for new plugins every` seconds,
/// starting each enabled plugin not seen before. Runs forever.
pub async fn supervise(shard: Rc<Shard>, target: Target) {
    let dirs = shard.config.directories.plugins.clone();
    let every = Duration::from_secs(shard.config.plugins.check_for_new_plugins_every.max(1));
    let mut known: HashSet<String> = HashSet::new();
    let mut dir_errors: Vec<Option<i32>> = vec![None; dirs.len()];
    while !shard.stopping.get() {
        for (i, dir) in dirs.iter().enumerate() {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) => {
                    if dir_errors[i] != e.raw_os_error() {
                        dir_errors[i] = e.raw_os_error();
                        crate::error!("PLUGINSD: cannot open plugins directory '{}': {e}", dir.display());
                    }
                    continue;
                }
            };
            dir_errors[i] = None;
            let mut names: Vec<String> = entries.flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
            names.sort();
            for file in names {
                let Some(name) = plugin_name(&file) else { continue };
                if known.contains(&file) || !shard.config.plugins.external_enabled(name) {
                    continue;
                }
                known.insert(file.clone());
                let ue = shard.config.plugins.update_every(name, shard.config.global.update_every);
                let options = shard.config.plugins.command_options(name).to_string();
                let plugin = Plugin { path: dir.join(&file), file: file.clone(), name: name.to_string(), ue, options };
                glommio::spawn_local(run_plugin(shard.clone(), target.clone(), plugin)).detach();
            }
        }
        glommio::timer::sleep(every).await;
    }
}

/// One external plugin.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub path: PathBuf,
    /// File name (`NAME.plugin`): the default `plugin` of its charts.
    pub file: String,
    pub name: String,
    pub ue: u32,
    pub options: String,
}

fn log(level: Level, text: &str) {
    crate::log::write(level, format_args!("{text}"));
}

/// Runs a plugin until it is disabled: start, read, stop, decide, wait, again.
pub async fn run_plugin(shard: Rc<Shard>, target: Target, p: Plugin) {
    let mut sup = Supervision::default();
    let prefix = format!("PLUGINSD[{}]", p.name);
    let env = environment(&shard, p.ue);
    loop {
        let (outcome, what) = match process::spawn(&p.path, p.ue, &p.options, &env) {
            Err(e) => {
                crate::error!("{prefix}: cannot start '{}': {e}", p.path.display());
                (RunOutcome { ends: 0, exit: Exit::SpawnFailed }, format!("'{}'", p.path.display()))
            }
            Ok(child) => {
                let what = format!("'{}' (pid {})", p.path.display(), child.pid);
                (one_run(&shard, &target, &p, &prefix, child).await, what)
            }
        };
        if shard.stopping.get() {
            return;
        }
        match sup.after_run(outcome, &what, p.ue) {
            Next::Restart { after, log: line } => {
                if let Some((level, text)) = line {
                    log(level, &format!("{prefix}: {text}"));
                }
                glommio::timer::sleep(after).await;
            }
            Next::Disable { log: (level, text) } => {
                log(level, &format!("{prefix}: {text}"));
                return;
            }
        }
    }
}

/// Reads the plugin's stderr and logs each line.
async fn log_stderr(mut stderr: glommio::net::UnixStream, prefix: String) {
    let mut buf = vec![0u8; 4096];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            crate::error!("{prefix}: {}", String::from_utf8_lossy(&line[..line.len() - 1]));
        }
        if pending.len() > 4096 {
            crate::error!("{prefix}: {}", String::from_utf8_lossy(&pending));
            pending.clear();
        }
    }
    if !pending.is_empty() {
        crate::error!("{prefix}: {}", String::from_utf8_lossy(&pending));
    }
}

/// One run of a started plugin: its stdout into localhost until it closes or fails.
async fn one_run(
    shard: &Rc<Shard>,
    target: &Target,
    p: &Plugin,
    prefix: &str,
    mut child: process::Spawned,
) -> RunOutcome {
    let path = p.path.display();
    crate::info!("{prefix}: connected to '{path}' running on pid {}", child.pid);
    target.running.borrow_mut().insert(p.file.clone(), child.pid);
    // Detached: a process the plugin started may keep its stderr open after it exits.
    glommio::spawn_local(log_stderr(child.stderr, prefix.to_string())).detach();
    let session = ReceiverSession::new(PLUGIN_PROTOCOL_VERSION, p.file.clone(), p.ue);
    let mut src = LineSource::new(p.file.clone(), session, false);
    let mut failure: Option<IngestError> = None;
    loop {
        match child.stdout.read(src.lines.spare_mut()).await {
            Ok(0) => break,
            Ok(n) => src.lines.advance(n),
            Err(e) => {
                crate::error!("{prefix}: cannot read from '{path}': {e}");
                break;
            }
        }
        if let Err(e) = ingest(shard, target.host_id, &target.guid, &mut src, prefix) {
            failure = Some(e);
            break;
        }
    }
    let ends = src.session.completed_updates;
    let disabled = matches!(failure, Some(IngestError::Protocol(ProtocolError::Disable, _)));
    match &failure {
        Some(_) if disabled => crate::info!("{prefix}: plugin called DISABLE. Disabling it."),
        Some(e) => crate::error!("{prefix}: '{path}' (pid {}): {e}", child.pid),
        None => {}
    }
    crate::error!(
        "{prefix}: '{path}' (pid {}) disconnected after {ends} successful data collections (ENDs).",
        child.pid
    );
    drop(child.stdout);
    let status = process::stop(&mut child.child, failure.is_some()).await;
    target.running.borrow_mut().remove(&p.file);
    drop(child.stdin);
    let exit = if disabled {
        Exit::Disable
    } else if failure.is_some() {
        Exit::ProtocolError
    } else {
        match status {
            Some(s) => process::exit_of(s),
            None => Exit::Signal(libc::SIGKILL),
        }
    };
    RunOutcome { ends, exit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_file_names() {
        assert_eq!(plugin_name("apps.plugin"), Some("apps"));
        assert_eq!(plugin_name("go.d.plugin"), Some("go.d"));
        assert_eq!(plugin_name(".plugin"), None);
        assert_eq!(plugin_name("apps.plugin.bak"), None);
        assert_eq!(plugin_name("README"), None);
    }
}
