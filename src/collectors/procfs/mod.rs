//! The internal `proc.plugin`: Linux system metrics from /proc and /sys, with Netdata
//! 1.37's charts (ids, names, titles, units, families, contexts, types, priorities,
//! dimensions, algorithms, multipliers, divisors, labels).
//!
//! Owns: [`ProcPlugin`], which reads the files of every enabled module once per round
//! and writes the round's protocol lines through its [`Emitter`]. Each module is a pure
//! parser plus a chart writer (`stat`, `uptime`, `loadavg`, `meminfo`, `net_dev`,
//! `diskstats`, with `mountinfo` and `text` as helpers). Invariants: files are read
//! under `root` (Netdata's host prefix, `/` normally), so tests can run the plugin on
//! captured files; a module whose file cannot be read or makes no sense is switched off
//! with one error line (Netdata does the same); nothing here panics on file contents.

pub mod diskstats;
pub mod loadavg;
pub mod meminfo;
pub mod mountinfo;
pub mod net_dev;
pub mod stat;
pub mod text;
pub mod uptime;

use std::path::{Path, PathBuf};

use super::emit::Emitter;

/// Netdata's on-demand switch for optional charts (`yes`, `no`, `auto`): `auto` turns
/// `yes` once there is something to show, and stays so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDemand {
    No,
    Auto,
    Yes,
}

impl OnDemand {
    /// Is the chart on, given whether its counters are non-zero now?
    pub(crate) fn check(&mut self, nonzero: bool) -> bool {
        if *self == OnDemand::Auto && nonzero {
            *self = OnDemand::Yes;
        }
        *self == OnDemand::Yes
    }
}

/// The plugin name on every chart.
pub const PLUGIN: &str = "proc.plugin";

/// The modules, in the order they run (and their `[plugin:proc]` switch names).
pub const MODULES: [&str; 6] =
    [stat::MODULE, uptime::MODULE, loadavg::MODULE, meminfo::MODULE, net_dev::MODULE, diskstats::MODULE];

/// Default `pid_max` when `/proc/sys/kernel/pid_max` cannot be read (Netdata's).
const DEFAULT_PID_MAX: u64 = 32768;

/// The proc plugin's state.
#[derive(Debug)]
pub struct ProcPlugin {
    root: PathBuf,
    /// Module switches, in [`MODULES`] order.
    enabled: [bool; 6],
    loadavg: loadavg::Loadavg,
    meminfo: meminfo::Meminfo,
    net_dev: net_dev::NetDev,
    diskstats: diskstats::Diskstats,
    pid_max: Option<u64>,
    em: Emitter,
}

impl ProcPlugin {
    /// A plugin reading under `root`; `enabled(module)` says which modules run.
    pub fn new(root: impl Into<PathBuf>, enabled: impl Fn(&str) -> bool) -> ProcPlugin {
        ProcPlugin {
            root: root.into(),
            enabled: MODULES.map(&enabled),
            loadavg: Default::default(),
            meminfo: Default::default(),
            net_dev: Default::default(),
            diskstats: Default::default(),
            pid_max: None,
            em: Emitter::new(),
        }
    }

    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.root.join(rel))
    }

    fn fail(&mut self, module: usize, why: String) {
        crate::error!("PROC: {why}; module {} disabled", MODULES[module]);
        self.enabled[module] = false;
    }

    fn pid_max(&mut self) -> u64 {
        if let Some(p) = self.pid_max {
            return p;
        }
        let read = self.read("proc/sys/kernel/pid_max").ok().map(|b| text::u64_of(b.trim_ascii()));
        let p = match read {
            Some(p) if p > 0 => p,
            _ => {
                crate::error!(
                    "Cannot read '/proc/sys/kernel/pid_max'. Assuming system supports {DEFAULT_PID_MAX} pids."
                );
                DEFAULT_PID_MAX
            }
        };
        self.pid_max = Some(p);
        p
    }

    /// One collection round at wall clock `now_us`, `dt_us` after the previous one (0
    /// the first time), every `ue` seconds. Returns the round's protocol lines.
    pub fn tick(&mut self, now_us: i64, dt_us: i64, ue: u32) -> Vec<u8> {
        self.em.begin_tick(now_us);
        for m in 0..MODULES.len() {
            if self.enabled[m] {
                self.run_module(m, dt_us, ue);
            }
        }
        self.em.take()
    }

    fn run_module(&mut self, m: usize, dt_us: i64, ue: u32) {
        let path = MODULES[m].trim_start_matches('/');
        let bytes = match self.read(path) {
            Ok(b) => b,
            Err(e) => return self.fail(m, format!("cannot read '{}': {e}", MODULES[m])),
        };
        match MODULES[m] {
            stat::MODULE => stat::collect(&stat::parse(&bytes), ue, &mut self.em),
            uptime::MODULE => match uptime::parse(&bytes) {
                Some(ms) => uptime::collect(ms, ue, &mut self.em),
                None => self.fail(m, "/proc/uptime has no lines".into()),
            },
            loadavg::MODULE => match loadavg::parse(&bytes) {
                Some(l) => {
                    let pid_max = self.pid_max();
                    self.loadavg.collect(&l, dt_us, ue, pid_max, &mut self.em);
                }
                None => self.fail(m, "/proc/loadavg has less than 6 words in it".into()),
            },
            meminfo::MODULE => self.meminfo.collect(&meminfo::parse(&bytes), ue, &mut self.em),
            net_dev::MODULE => self.net_dev.collect(&self.root, &net_dev::parse(&bytes), ue, &mut self.em),
            diskstats::MODULE => {
                let root: &Path = &self.root;
                let mut mounts = || {
                    std::fs::read(root.join("proc/self/mountinfo")).map(|b| mountinfo::parse(&b)).unwrap_or_default()
                };
                self.diskstats.collect(root, &diskstats::parse(&bytes), ue, &mut mounts, &mut self.em);
            }
            _ => {}
        }
    }

    /// Every chart is defined again before its next collection.
    pub fn redefine_all(&mut self) {
        self.em.redefine_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_switches_its_module_off() {
        let root = std::env::temp_dir().join(format!("strata-proc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join("proc")).unwrap();
        std::fs::write(root.join("proc/uptime"), "12.5 1.0\n").unwrap();
        std::fs::write(root.join("proc/loadavg"), "garbage\n").unwrap();
        let mut p = ProcPlugin::new(&root, |m| m != stat::MODULE);
        assert!(!p.enabled[0]);
        let out = String::from_utf8(p.tick(1_000_000, 0, 1)).unwrap();
        assert!(out.contains("SET \"uptime\" = 12500\n"), "{out}");
        assert_eq!(p.enabled, [false, true, false, false, false, false]);
        let out = String::from_utf8(p.tick(2_000_000, 1_000_000, 1)).unwrap();
        assert!(out.starts_with("BEGIN \"system.uptime\" 1000000\n"), "{out}");
        let _ = std::fs::remove_dir_all(&root);
    }

    mod no_panic {
        use super::super::*;
        use proptest::prelude::*;

        /// Bytes that look like /proc files: digits, separators, keywords, newlines.
        fn procish() -> impl Strategy<Value = Vec<u8>> {
            let atom = prop_oneof![
                Just(b"cpu".to_vec()),
                Just(b"cpu0".to_vec()),
                Just(b"intr".to_vec()),
                Just(b"MemTotal:".to_vec()),
                Just(b"eth0:".to_vec()),
                Just(b" ".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"/".to_vec()),
                Just(b"-".to_vec()),
                Just(b"99999999999999999999999".to_vec()),
                "[0-9]{1,6}".prop_map(|s| s.into_bytes()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ];
            proptest::collection::vec(atom, 0..80).prop_map(|v| v.concat())
        }

        fn all_parsers(b: &[u8]) {
            let _ = stat::parse(b);
            let _ = uptime::parse(b);
            let _ = loadavg::parse(b);
            let _ = meminfo::parse(b).used();
            let _ = net_dev::parse(b);
            let _ = diskstats::parse(b);
            let _ = mountinfo::parse(b);
            let _ = text::f64_of(b);
            let _ = diskstats::fix_chart_name(&String::from_utf8_lossy(b));
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
                all_parsers(&b);
            }

            #[test]
            fn procish_bytes_never_panic(b in procish()) {
                all_parsers(&b);
                // The charts of whatever parsed are written without panicking too.
                let mut em = Emitter::new();
                stat::collect(&stat::parse(&b), 1, &mut em);
                if let Some(l) = loadavg::parse(&b) {
                    loadavg::Loadavg::default().collect(&l, 0, 1, 1, &mut em);
                }
                meminfo::Meminfo::default().collect(&meminfo::parse(&b), 1, &mut em);
            }
        }
    }
}
