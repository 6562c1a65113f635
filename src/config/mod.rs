//! Configuration: netdata.conf and stream.conf, read the way Netdata reads them.
//!
//! Owns: [`load`], the [`Config`] it returns and the command-line [`Override`]s.
//! Invariants: a missing file means built-in defaults; `-W set` overrides apply to
//! netdata.conf and win over the file (before the backwards-compatibility moves, as in
//! Netdata without `-c`); every value error names the file (or `-W set`), the section,
//! the key and the value; things strata ignores are reported in `Config::warnings`, one
//! per key for the sections strata reads and at most one per section otherwise.
//!
//! Modules: `file` (ini syntax), `values` (booleans, numbers, durations, GUIDs),
//! `reader` (typed reads + policy), `bind` (`bind to`), `netdata_conf`, `stream_conf`,
//! `machine_guid`, `error`.

pub mod bind;
pub mod error;
pub mod file;
pub mod machine_guid;
pub mod netdata_conf;
pub mod plugins_conf;
mod reader;
pub mod stream_conf;
pub mod values;

use std::path::Path;

pub use bind::{Acl, BindSpec, SslMode};
pub use error::ConfigError;
pub use machine_guid::load_or_create_machine_guid;
pub use netdata_conf::{Directories, Global, Health, Web, WebMode};
pub use plugins_conf::PluginsConf;
pub use stream_conf::{HealthSetting, HostSettings, ProxySettings, StreamConf, StreamSection, StreamSender};

use file::{Document, Entry, COMMAND_LINE};
use reader::Warnings;

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub global: Global,
    pub directories: Directories,
    pub web: Web,
    pub health: Health,
    /// `[plugins]`, `[plugin:NAME]`: the data collectors.
    pub plugins: PluginsConf,
    pub stream: StreamConf,
    /// One per unknown key / ignored section; to be logged once at start-up.
    pub warnings: Vec<String>,
}

/// `-W set SECTION KEY VALUE`: a netdata.conf value that wins over the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub section: String,
    pub key: String,
    pub value: String,
}

/// Read `DIR/netdata.conf` and `DIR/stream.conf` (a missing file = defaults; `None` =
/// no files at all) and apply `overrides` to netdata.conf.
pub fn load(config_dir: Option<&Path>, overrides: &[Override]) -> Result<Config, ConfigError> {
    let (netdata, stream) = match config_dir {
        Some(dir) => (Document::load(&dir.join("netdata.conf"))?, Document::load(&dir.join("stream.conf"))?),
        None => (None, None),
    };
    let dir = config_dir.unwrap_or(Path::new(netdata_conf::DEFAULT_CONFIG_DIR));
    from_documents(netdata.unwrap_or_default(), stream.unwrap_or_default(), overrides, dir)
}

/// [`load`] from text (`origin` names used in messages), for tests and tools.
pub fn load_from_str(
    netdata_conf: (&str, &str),
    stream_conf: (&str, &str),
    overrides: &[Override],
) -> Result<Config, ConfigError> {
    from_documents(
        Document::parse(netdata_conf.1, netdata_conf.0),
        Document::parse(stream_conf.1, stream_conf.0),
        overrides,
        Path::new(netdata_conf::DEFAULT_CONFIG_DIR),
    )
}

fn from_documents(
    mut netdata: Document,
    stream: Document,
    overrides: &[Override],
    config_dir: &Path,
) -> Result<Config, ConfigError> {
    for o in overrides {
        let section = o.section.trim();
        let key = o.key.trim();
        let entry = Entry {
            value: o.value.trim().to_string(),
            origin: COMMAND_LINE.to_string(),
            section: section.to_string(),
            key: key.to_string(),
        };
        netdata.set(section, key, entry);
    }
    let mut w = Warnings::default();
    let n = netdata_conf::read(netdata, config_dir, &mut w)?;
    let stream = stream_conf::read(&stream, &mut w)?;
    Ok(Config {
        global: n.global,
        directories: n.directories,
        web: n.web,
        health: n.health,
        plugins: n.plugins,
        stream,
        warnings: w.0,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::hosts::MemoryMode;

    struct TempDir(PathBuf);

    impl TempDir {
        fn with(files: &[(&str, &str)]) -> TempDir {
            let unique = uuid::Uuid::new_v4().simple().to_string();
            let dir = std::env::temp_dir().join(format!("strata-config-{unique}"));
            std::fs::create_dir_all(&dir).ok();
            for (name, text) in files {
                std::fs::write(dir.join(name), text).ok();
            }
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ov(section: &str, key: &str, value: &str) -> Override {
        Override { section: section.into(), key: key.into(), value: value.into() }
    }

    fn ok(r: Result<Config, ConfigError>) -> Config {
        match r {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn no_dir_and_missing_files_are_defaults() {
        let c = ok(load(None, &[]));
        assert_eq!(c.global, Global::default());
        assert_eq!(c.directories, Directories::default());
        assert_eq!(c.web, Web::default());
        assert_eq!(c.health, Health::default());
        assert_eq!(c.stream, StreamConf::default());
        assert!(c.warnings.is_empty());
        let t = TempDir::with(&[]);
        let mut in_dir = ok(load(Some(&t.0), &[]));
        assert_eq!(in_dir.directories.config, t.0);
        assert_eq!(in_dir.directories.plugins[1], t.0.join("custom-plugins.d"), "custom plugins beside the config");
        in_dir.directories = c.directories.clone();
        assert_eq!(in_dir, c);
        let c = ok(load(None, &[ov("global", "history", "10")]));
        assert_eq!(c.global.history, 10);
    }

    #[test]
    fn reads_both_files() {
        let key = "3c0a832a-c7ff-44bb-9e51-1064803470d5";
        let t = TempDir::with(&[
            ("netdata.conf", "[global]\n\thistory = 600\n\tmemory mode = none\n[web]\n\tbind to = 127.0.0.1:0\n"),
            ("stream.conf", &format!("[{key}]\n\tenabled = yes\n\tdefault history = 50\n")),
        ]);
        let c = ok(load(Some(&t.0), &[]));
        assert_eq!(c.global.history, 600);
        assert_eq!(c.global.memory_mode, MemoryMode::None);
        assert_eq!(c.web.bind_to[0].addrs[0].to_string(), "127.0.0.1:0");
        assert!(c.stream.api_key_enabled(key));
        let s = c.stream.host_settings(key, key, &c.global, &c.health);
        assert_eq!((s.history, s.memory_mode, s.health), (50, MemoryMode::None, HealthSetting::No));
    }

    #[test]
    fn command_line_wins_over_the_file() {
        let t = TempDir::with(&[(
            "netdata.conf",
            "[global]\nhistory = 600\nupdate every = 2\n[db]\nretention = 700\n[web]\ndefault port = 1000\n",
        )]);
        let c = ok(load(
            Some(&t.0),
            &[
                ov("global", "update every", "5"),
                ov("web", "default port", "2000"),
                ov("db", "retention", "800"),
                ov("health", "enabled", "no"),
                ov("global", "update every", "6"),
            ],
        ));
        assert_eq!(c.global.update_every, 6);
        assert_eq!(c.web.default_port, 2000);
        assert_eq!(c.web.bind_to[0].addrs[0].port(), 2000);
        assert_eq!(c.global.history, 800);
        assert!(!c.health.enabled);
        // A legacy name set on the command line is still moved (only if the new key is
        // absent); here [db] retention is in the file, so the file wins.
        let c = ok(load(Some(&t.0), &[ov("global", "history", "900")]));
        assert_eq!(c.global.history, 700);
        assert!(c.warnings.iter().any(|w| w.starts_with("-W set: [global] history: ignored")));
        // Errors in overrides name -W set.
        let e = load(Some(&t.0), &[ov("web", "bind to", "*:x")]).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("-W set: [web] bind to = \"*:x\"")));
    }

    #[test]
    fn errors_name_the_file() {
        let t = TempDir::with(&[("netdata.conf", "[global]\nhistory = abc\n")]);
        let e = load(Some(&t.0), &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, format!("{}: [global] history = \"abc\": not a number", t.0.join("netdata.conf").display()));
        let t = TempDir::with(&[("stream.conf", "[my-key]\nenabled = yes\n")]);
        let e = load(Some(&t.0), &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with(&format!("{}: [my-key] enabled = \"yes\"", t.0.join("stream.conf").display())));
        assert!(e.contains("uuidgen"));
        let t = TempDir::with(&[]);
        std::fs::create_dir_all(t.0.join("stream.conf")).ok();
        let e = load(Some(&t.0), &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with(&t.0.join("stream.conf").display().to_string()), "{e}");
    }

    /// A realistic netdata.conf as written by a Netdata 1.29 user who edited the file
    /// served at /netdata.conf: tab-indented, mostly commented, a few active keys.
    const REALISTIC_NETDATA_CONF: &str = "\
# netdata configuration
#
# You can download the latest version of this file, using:
#
#  wget -O /etc/netdata/netdata.conf http://localhost:19999/netdata.conf
#

[global]
\t# glibc malloc arena max for plugins = 1
\trun as user = netdata
\thostname = parent-eu-1
\thistory = 7200
\tmemory mode = save
\tupdate every = 1
\t# config directory = /etc/netdata
\tcache directory = /var/cache/netdata
\tlib directory = /var/lib/netdata
\tlog directory = /var/log/netdata
\terror log = syslog
\tdebug flags = 0x0000000000000000
\tcleanup orphan hosts after seconds = 7200

[web]
\t# ssl key = /etc/netdata/ssl/key.pem
\tbind to = 10.1.2.3:19999=streaming|netdata.conf 127.0.0.1=dashboard|registry|badges|management|netdata.conf
\tallow streaming from = 10.*
\tallow connections from = localhost 10.*
\tenable gzip compression = yes

[plugins]
\tapps = no
\t# go.d = yes

[plugin:proc:/proc/net/dev]
\tenable new interfaces detected at runtime = no

[system.cpu]
\t# history = 7200
\t# enabled = yes

[health]
\tenabled = yes
\tin memory max health log entries = 1000

[registry]
\t# enabled = no
";

    /// Netdata 1.37.1's stock stream.conf shape, with a parent's key and one child.
    const REALISTIC_STREAM_CONF: &str = "\
[stream]
    enabled = no
    destination =
    api key =
    timeout seconds = 60
    default port = 19999
    send charts matching = *
    buffer size bytes = 10485760
    reconnect delay seconds = 5
    initial clock resync iterations = 60

[API_KEY]
    type = api
    enabled = no
    allow from = *
    default postpone alarms on connect seconds = 60

[11111111-2222-3333-4444-555555555555]
    type = api
    enabled = yes
    allow from = 10.*
    default memory mode = dbengine
    health enabled by default = auto
    default postpone alarms on connect seconds = 60
    multiple connections = allow

[MACHINE_GUID]
    type = machine
    enabled = no
    allow from = *
    postpone alarms on connect seconds = 60

[aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee]
    history = 300
    health enabled = no
";

    #[test]
    fn realistic_files() {
        let c = ok(load_from_str(
            ("/etc/netdata/netdata.conf", REALISTIC_NETDATA_CONF),
            ("/etc/netdata/stream.conf", REALISTIC_STREAM_CONF),
            &[],
        ));
        assert_eq!(c.global.hostname, "parent-eu-1");
        assert_eq!((c.global.history, c.global.memory_mode), (7200, MemoryMode::Save));
        assert_eq!(c.global.cleanup_orphan_hosts_after_secs, 7200);
        assert_eq!(c.directories.log, Some(PathBuf::from("/var/log/netdata")));
        assert_eq!(c.web.bind_to.len(), 2);
        assert_eq!(c.web.bind_to[0].acl, Acl::STREAMING.union(Acl::NETDATA_CONF));
        assert!(!c.web.bind_to[1].acl.contains(Acl::STREAMING));
        assert_eq!(c.web.allow_streaming_from, "10.*");
        let key = "11111111-2222-3333-4444-555555555555";
        let child = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
        assert!(c.stream.is_parent() && c.stream.api_key_enabled(key));
        let s = c.stream.host_settings(key, child, &c.global, &c.health);
        assert_eq!((s.history, s.memory_mode, s.health), (300, MemoryMode::DbEngine, HealthSetting::No));
        let s = c.stream.host_settings(key, key, &c.global, &c.health);
        assert_eq!((s.history, s.health, s.postpone_alarms_secs), (7200, HealthSetting::Auto, 60));
        assert_eq!(s.memory_mode, MemoryMode::DbEngine, "the key's default memory mode");
        let n = "/etc/netdata/netdata.conf";
        let st = "/etc/netdata/stream.conf";
        assert_eq!(
            c.warnings,
            [
                format!("{n}: [global] run as user is not used by strata"),
                format!("{n}: [global] error log is not used by strata"),
                format!("{n}: [global] debug flags is not used by strata"),
                format!("{n}: [web] enable gzip compression is not used by strata"),
                format!("{n}: section [plugin:proc:/proc/net/dev] is not used by strata (1 key ignored)"),
                format!("{n}: [health] in memory max health log entries is not used by strata"),
                format!("{st}: section [API_KEY] ignored: its name is not a GUID (API keys and machine GUIDs must be GUIDs; generate one with uuidgen)"),
                format!("{st}: [{key}] multiple connections is ignored (as by Netdata since v1.21)"),
                format!("{st}: section [MACHINE_GUID] ignored: its name is not a GUID (API keys and machine GUIDs must be GUIDs; generate one with uuidgen)"),
            ]
        );
    }

    #[test]
    fn shipped_config_files_load_cleanly() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conf");
        let c = ok(load(Some(&dir), &[]));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let cwd = std::env::current_dir().unwrap_or_default();
        assert_eq!(c.directories.cache, cwd.join("target/strata/cache"));
        assert_eq!(c.directories.lib, cwd.join("target/strata/lib"));
        assert_eq!(c.directories.log, None);
        assert_eq!(c.web, Web::default());
        assert_eq!(c.stream.sender, StreamSender::default());
        assert!(c.stream.is_parent());
        let keys: Vec<&StreamSection> = c.stream.sections().collect();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].api_key_enabled());
        assert_eq!(keys[0].health_enabled_by_default, Some(HealthSetting::Auto));
    }
}
