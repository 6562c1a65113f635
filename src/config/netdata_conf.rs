//! netdata.conf: `[global]`, `[db]`, `[directories]`, `[web]` and `[health]`
//! (health-api-export.md §D.1–D.4, streaming-protocol.md §5.5, §6.2).
//!
//! Owns: the typed settings strata takes from netdata.conf, their defaults, the
//! backwards-compatibility key moves, and the "not used by strata" warnings.
//! Invariants: a compatibility move happens only when the new key is absent (otherwise
//! the old key is ignored with a warning); values keep naming the place the user wrote
//! them; every key strata does not read produces a warning — one per key in `[global]`,
//! `[directories]` and `[web]`, one per section for `[db]`, `[health]` and every other
//! section that has at least one (uncommented) key.

use std::path::{Path, PathBuf};

use crate::hosts::MemoryMode;

use super::bind::{parse_bind_to, BindSpec};
use super::error::ConfigError;
use super::file::{Document, Entry};
use super::plugins_conf::{self, PluginsConf};
use super::reader::{self, OutOfRange, Warnings};

/// `[global]` (and the v1.36+ `[db]` keys that replaced some of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// `[global] hostname`; default: the system host name.
    pub hostname: String,
    /// `[global] history` / `[db] retention`: entries per dimension, 5..=31536000.
    pub history: u32,
    /// `[global] update every` / `[db] update every`: seconds, 1..=600.
    pub update_every: u32,
    /// `[global] memory mode` / `[db] mode`.
    pub memory_mode: MemoryMode,
    /// `[global] cleanup orphan hosts after seconds` / `[db] cleanup orphan hosts after secs`.
    pub cleanup_orphan_hosts_after_secs: u64,
    /// `[global] delete orphan hosts files` / `[db] delete orphan hosts files`.
    pub delete_orphan_hosts_files: bool,
    /// `[global] cleanup obsolete charts after seconds` / `[db] cleanup obsolete charts after secs`.
    pub cleanup_obsolete_charts_after_secs: u64,
    /// `[global] gap when lost iterations above` / `[db] …`, at least 1.
    pub gap_when_lost_iterations_above: u32,
    /// `[global] page cache size` / `[db] dbengine page cache size MB`: MiB for all
    /// shards together, at least 8.
    pub page_cache_mib: u64,
    /// `[global] dbengine multihost disk space` / `[db] dbengine multihost disk space MB`:
    /// MiB for all shards together, at least 64.
    pub dbengine_disk_mib: u64,
    /// `[db] dbengine block slots` (strata only): slots per dbengine block, 4..=65536.
    pub dbengine_block_slots: u32,
}

pub const DEFAULT_HISTORY: u32 = 3996;
pub const MIN_HISTORY: u32 = 5;
pub const MAX_HISTORY: u32 = 31_536_000;
pub const DEFAULT_PAGE_CACHE_MIB: u64 = 32;
pub const MIN_PAGE_CACHE_MIB: u64 = 8;
pub const DEFAULT_DBENGINE_DISK_MIB: u64 = 256;
pub const MIN_DBENGINE_DISK_MIB: u64 = 64;

impl Default for Global {
    fn default() -> Global {
        Global {
            hostname: system_hostname(),
            history: DEFAULT_HISTORY,
            update_every: 1,
            memory_mode: MemoryMode::DbEngine,
            cleanup_orphan_hosts_after_secs: 3600,
            delete_orphan_hosts_files: true,
            cleanup_obsolete_charts_after_secs: 3600,
            gap_when_lost_iterations_above: 1,
            page_cache_mib: DEFAULT_PAGE_CACHE_MIB,
            dbengine_disk_mib: DEFAULT_DBENGINE_DISK_MIB,
            dbengine_block_slots: strata_storage::dbengine::engine::DEFAULT_BLOCK_SLOTS,
        }
    }
}

/// The kernel's host name (what `gethostname` returns), or `localhost`.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `[directories]` (v1.37 names) and the legacy `[global] … directory` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directories {
    pub cache: PathBuf,
    pub lib: PathBuf,
    /// `None`: log to stderr (Netdata defaults to /var/log/netdata; strata logs to
    /// stderr unless a log directory is configured).
    pub log: Option<PathBuf>,
    /// Where netdata.conf was read from (`--config-dir`; Netdata's default
    /// /etc/netdata). Not a key: told to external plugins.
    pub config: PathBuf,
    /// `[directories] plugins`: where external plugins (`*.plugin`) are looked for.
    pub plugins: Vec<PathBuf>,
}

/// Netdata's user configuration directory.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/netdata";

impl Default for Directories {
    fn default() -> Directories {
        let config = PathBuf::from(DEFAULT_CONFIG_DIR);
        Directories {
            cache: PathBuf::from("/var/cache/netdata"),
            lib: PathBuf::from("/var/lib/netdata"),
            log: None,
            plugins: plugins_conf::plugin_dirs(&Document::default(), &config),
            config,
        }
    }
}

/// `[web] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebMode {
    #[default]
    StaticThreaded,
    /// Static-threaded with one thread.
    SingleThreaded,
    /// No web server at all.
    None,
}

/// `[web]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Web {
    pub mode: WebMode,
    pub default_port: u16,
    pub bind_to: Vec<BindSpec>,
    /// Simple patterns, uncompiled.
    pub allow_connections_from: String,
    pub allow_dashboard_from: String,
    pub allow_streaming_from: String,
    /// `accept a streaming request every seconds`; 0 = no limit.
    pub accept_streaming_every_secs: u64,
    /// `timeout for first request`.
    pub timeout_for_first_request_secs: u64,
    pub disconnect_idle_clients_after_secs: u64,
    pub ssl_key: Option<PathBuf>,
    pub ssl_certificate: Option<PathBuf>,
    /// `tls version`, as written (`None` = the default, 1.3); mapped by `crate::tls`.
    pub tls_version: Option<String>,
    /// `tls ciphers`, as written (`None` or `none` = the library default).
    pub tls_ciphers: Option<String>,
}

pub const DEFAULT_PORT: u16 = 19999;

impl Default for Web {
    fn default() -> Web {
        Web {
            mode: WebMode::StaticThreaded,
            default_port: DEFAULT_PORT,
            bind_to: parse_bind_to("*", DEFAULT_PORT).map(|b| b.specs).unwrap_or_default(),
            allow_connections_from: "localhost *".into(),
            allow_dashboard_from: "localhost *".into(),
            allow_streaming_from: "*".into(),
            accept_streaming_every_secs: 0,
            timeout_for_first_request_secs: 60,
            disconnect_idle_clients_after_secs: 60,
            ssl_key: None,
            ssl_certificate: None,
            tls_version: None,
            tls_ciphers: None,
        }
    }
}

/// `[health]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub enabled: bool,
}

impl Default for Health {
    fn default() -> Health {
        Health { enabled: true }
    }
}

/// Backwards-compatibility moves `(old section, old key, new section, new key)`, applied
/// in this order. The first group is Netdata's own (§D.1); the second maps the pre-1.36
/// `[global]` names onto the v1.36+ `[db]` / `[directories]` names, so that a newer key
/// wins over an older one as in Netdata v1.37.
const MOVES: &[(&str, &str, &str, &str)] = &[
    ("global", "http port listen backlog", "web", "listen backlog"),
    ("global", "bind socket to IP", "web", "bind to"),
    ("global", "bind to", "web", "bind to"),
    ("global", "port", "web", "default port"),
    ("global", "default port", "web", "default port"),
    ("global", "disconnect idle web clients after seconds", "web", "disconnect idle clients after seconds"),
    ("global", "respect web browser do not track policy", "web", "respect do not track policy"),
    ("global", "web x-frame-options header", "web", "x-frame-options response header"),
    ("global", "enable web responses gzip compression", "web", "enable gzip compression"),
    ("global", "web compression strategy", "web", "gzip compression strategy"),
    ("global", "web compression level", "web", "gzip compression level"),
    ("global", "web files owner", "web", "web files owner"),
    ("global", "web files group", "web", "web files group"),
    ("backend", "opentsdb host tags", "backend", "host tags"),
    ("global", "cache directory", "directories", "cache"),
    ("global", "lib directory", "directories", "lib"),
    ("global", "log directory", "directories", "log"),
    ("global", "history", "db", "retention"),
    ("global", "update every", "db", "update every"),
    ("global", "memory mode", "db", "mode"),
    ("global", "cleanup orphan hosts after seconds", "db", "cleanup orphan hosts after secs"),
    ("global", "delete orphan hosts files", "db", "delete orphan hosts files"),
    ("global", "cleanup obsolete charts after seconds", "db", "cleanup obsolete charts after secs"),
    ("global", "gap when lost iterations above", "db", "gap when lost iterations above"),
    ("global", "page cache size", "db", "dbengine page cache size MB"),
    ("global", "dbengine multihost disk space", "db", "dbengine multihost disk space MB"),
];

fn apply_moves(doc: &mut Document, w: &mut Warnings) {
    for &(os, ok, ns, nk) in MOVES {
        let Some(old) = doc.take(os, ok) else {
            continue;
        };
        match doc.get(ns, nk) {
            Some(new) => {
                let new_location = new.location();
                w.at(&old, format!("ignored, {new_location} is set"));
            }
            None => doc.set(ns, nk, old),
        }
    }
}

/// Keys strata reads, after the moves. `PerKey` sections warn once per other key;
/// `PerSection` sections warn once for all other keys.
enum Unused {
    PerKey,
    PerSection,
}

const READ: &[(&str, &[&str], Unused)] = &[
    ("global", &["hostname"], Unused::PerKey),
    (
        "db",
        &[
            "retention",
            "update every",
            "mode",
            "cleanup orphan hosts after secs",
            "delete orphan hosts files",
            "cleanup obsolete charts after secs",
            "gap when lost iterations above",
            "dbengine page cache size MB",
            "dbengine multihost disk space MB",
            "dbengine block slots",
        ],
        Unused::PerSection,
    ),
    ("directories", &["cache", "lib", "log", "plugins"], Unused::PerKey),
    (
        "web",
        &[
            "mode",
            "default port",
            "bind to",
            "allow connections from",
            "allow dashboard from",
            "allow streaming from",
            "accept a streaming request every seconds",
            "timeout for first request",
            "disconnect idle clients after seconds",
            "ssl key",
            "ssl certificate",
            "tls version",
            "tls ciphers",
        ],
        Unused::PerKey,
    ),
    ("health", &["enabled"], Unused::PerSection),
];

fn warn_unused(doc: &Document, w: &mut Warnings) {
    for section in doc.sections() {
        // Every key of these two sections is a plugin (module) switch.
        if section.name == plugins_conf::PLUGINS_SECTION || section.name == plugins_conf::PROC_SECTION {
            continue;
        }
        let external = plugins_conf::external_section_name(&section.name)
            .map(|_| ("", plugins_conf::PLUGIN_SECTION_KEYS, Unused::PerKey));
        let known = READ.iter().find(|(name, _, _)| *name == section.name).or(external.as_ref());
        let unused: Vec<&Entry> = section
            .entries
            .iter()
            .filter(|(k, _)| !known.is_some_and(|(_, keys, _)| keys.contains(&k.as_str())))
            .map(|(_, e)| e)
            .collect();
        let Some(first) = unused.first() else {
            continue;
        };
        match known {
            Some((_, _, Unused::PerKey)) => {
                for e in &unused {
                    w.unused(e);
                }
            }
            Some((_, _, Unused::PerSection)) => {
                let keys: Vec<&str> = unused.iter().map(|e| e.key.as_str()).collect();
                w.push(format!(
                    "{}: [{}] {} {} not used by strata",
                    first.origin,
                    section.name,
                    keys.join(", "),
                    if keys.len() == 1 { "is" } else { "are" }
                ));
            }
            None => w.push(format!(
                "{}: section [{}] is not used by strata ({} key{} ignored)",
                first.origin,
                section.name,
                unused.len(),
                if unused.len() == 1 { "" } else { "s" }
            )),
        }
    }
}

/// Everything strata takes from netdata.conf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetdataConf {
    pub global: Global,
    pub directories: Directories,
    pub web: Web,
    pub health: Health,
    pub plugins: PluginsConf,
}

/// Read netdata.conf settings from `doc` (file plus overrides, overrides already set)
/// that was found in `config_dir`.
pub fn read(mut doc: Document, config_dir: &Path, w: &mut Warnings) -> Result<NetdataConf, ConfigError> {
    apply_moves(&mut doc, w);
    warn_unused(&doc, w);
    let mut c = NetdataConf::default();

    let g = &mut c.global;
    if let Some(e) = doc.get("global", "hostname").filter(|e| !e.value.is_empty()) {
        g.hostname = e.value.clone();
    }
    if let Some(e) = doc.get("db", "retention") {
        g.history = reader::number_u32(e, MIN_HISTORY, MAX_HISTORY, OutOfRange::Clamp, w)?;
    }
    if let Some(e) = doc.get("db", "update every") {
        g.update_every = reader::number_u32(e, 1, 600, OutOfRange::Replace(1), w)?;
    }
    if let Some(e) = doc.get("db", "mode") {
        g.memory_mode = reader::memory_mode(e, w)?;
    }
    if let Some(e) = doc.get("db", "cleanup orphan hosts after secs") {
        g.cleanup_orphan_hosts_after_secs = reader::number_u64(e, w)?;
    }
    if let Some(e) = doc.get("db", "delete orphan hosts files") {
        g.delete_orphan_hosts_files = reader::boolean(e);
    }
    if let Some(e) = doc.get("db", "cleanup obsolete charts after secs") {
        g.cleanup_obsolete_charts_after_secs = reader::number_u64(e, w)?;
    }
    if let Some(e) = doc.get("db", "gap when lost iterations above") {
        g.gap_when_lost_iterations_above = reader::number_u32(e, 1, u32::MAX, OutOfRange::Clamp, w)?;
    }
    const MIB_MAX: i64 = 1 << 30;
    if let Some(e) = doc.get("db", "dbengine page cache size MB") {
        g.page_cache_mib = reader::number(e, MIN_PAGE_CACHE_MIB as i64, MIB_MAX, OutOfRange::Clamp, w)? as u64;
    }
    if let Some(e) = doc.get("db", "dbengine multihost disk space MB") {
        g.dbengine_disk_mib = reader::number(e, MIN_DBENGINE_DISK_MIB as i64, MIB_MAX, OutOfRange::Clamp, w)? as u64;
    }
    if let Some(e) = doc.get("db", "dbengine block slots") {
        g.dbengine_block_slots = reader::number_u32(e, 4, 65_536, OutOfRange::Clamp, w)?;
    }

    let d = &mut c.directories;
    if let Some(p) = doc.get("directories", "cache").and_then(reader::path) {
        d.cache = p;
    }
    if let Some(p) = doc.get("directories", "lib").and_then(reader::path) {
        d.lib = p;
    }
    if let Some(e) = doc.get("directories", "log") {
        d.log = reader::path(e);
    }
    d.config = config_dir.to_path_buf();
    d.plugins = plugins_conf::plugin_dirs(&doc, config_dir);
    c.plugins = plugins_conf::read(&doc, w)?;

    read_web(&doc, &mut c.web, w)?;

    if let Some(e) = doc.get("health", "enabled") {
        c.health.enabled = reader::boolean(e);
    }
    Ok(c)
}

fn read_web(doc: &Document, web: &mut Web, w: &mut Warnings) -> Result<(), ConfigError> {
    let get = |k: &str| doc.get("web", k);
    if let Some(e) = get("mode") {
        web.mode = match e.value.as_str() {
            "static-threaded" => WebMode::StaticThreaded,
            "single-threaded" => WebMode::SingleThreaded,
            "none" => WebMode::None,
            _ => {
                w.at(e, "unknown mode (expected static-threaded, single-threaded or none); using static-threaded");
                WebMode::StaticThreaded
            }
        };
    }
    if let Some(e) = get("default port") {
        web.default_port = reader::port(e)?;
    }
    match get("bind to") {
        Some(e) => {
            let parsed = parse_bind_to(&e.value, web.default_port).map_err(|b| e.error(b.to_string()))?;
            for warning in parsed.warnings {
                w.at(e, warning);
            }
            web.bind_to = parsed.specs;
        }
        None => {
            web.bind_to = parse_bind_to("*", web.default_port).map(|b| b.specs).unwrap_or_default();
        }
    }
    if let Some(e) = get("allow connections from") {
        web.allow_connections_from = e.value.clone();
    }
    if let Some(e) = get("allow dashboard from") {
        web.allow_dashboard_from = e.value.clone();
    }
    if let Some(e) = get("allow streaming from") {
        web.allow_streaming_from = e.value.clone();
    }
    if let Some(e) = get("accept a streaming request every seconds") {
        web.accept_streaming_every_secs = reader::number_u64(e, w)?;
    }
    if let Some(e) = get("timeout for first request") {
        web.timeout_for_first_request_secs = reader::number_u64(e, w)?;
    }
    if let Some(e) = get("disconnect idle clients after seconds") {
        web.disconnect_idle_clients_after_secs = reader::number_u64(e, w)?;
    }
    if let Some(e) = get("ssl key") {
        web.ssl_key = reader::path(e);
    }
    if let Some(e) = get("ssl certificate") {
        web.ssl_certificate = reader::path(e);
    }
    let text = |e: &Entry| Some(e.value.trim().to_string()).filter(|v| !v.is_empty());
    if let Some(e) = get("tls version") {
        web.tls_version = text(e);
    }
    if let Some(e) = get("tls ciphers") {
        web.tls_ciphers = text(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::config::bind::{Acl, SslMode};
    use crate::config::file::COMMAND_LINE;

    const FILE: &str = "/etc/x/netdata.conf";

    fn conf(text: &str) -> (NetdataConf, Vec<String>) {
        let mut w = Warnings::default();
        match read(Document::parse(text, FILE), Path::new(DEFAULT_CONFIG_DIR), &mut w) {
            Ok(c) => (c, w.0),
            Err(e) => panic!("{e}"),
        }
    }

    fn err(text: &str) -> String {
        let mut w = Warnings::default();
        match read(Document::parse(text, FILE), Path::new(DEFAULT_CONFIG_DIR), &mut w) {
            Ok(c) => panic!("must fail: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn addrs(web: &Web) -> Vec<SocketAddr> {
        web.bind_to.iter().flat_map(|b| b.addrs.clone()).collect()
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| SocketAddr::from(([255, 255, 255, 255], 1)))
    }

    #[test]
    fn defaults() {
        let (c, w) = conf("");
        assert!(w.is_empty(), "{w:?}");
        let g = &c.global;
        assert_eq!(g.hostname, system_hostname());
        assert!(!g.hostname.is_empty());
        assert_eq!(g.history, 3996);
        assert_eq!(g.update_every, 1);
        assert_eq!(g.memory_mode, MemoryMode::DbEngine);
        assert_eq!((g.page_cache_mib, g.dbengine_disk_mib, g.dbengine_block_slots), (32, 256, 128));
        assert_eq!(g.cleanup_orphan_hosts_after_secs, 3600);
        assert!(g.delete_orphan_hosts_files);
        assert_eq!(g.cleanup_obsolete_charts_after_secs, 3600);
        assert_eq!(g.gap_when_lost_iterations_above, 1);
        let d = &c.directories;
        assert_eq!(d.cache, PathBuf::from("/var/cache/netdata"));
        assert_eq!(d.lib, PathBuf::from("/var/lib/netdata"));
        assert_eq!(d.log, None);
        let web = &c.web;
        assert_eq!(web.mode, WebMode::StaticThreaded);
        assert_eq!(web.default_port, 19999);
        assert_eq!(addrs(web), [sa("0.0.0.0:19999")]);
        assert_eq!(web.bind_to[0].acl, Acl::ALL);
        assert_eq!(web.bind_to[0].ssl, SslMode::Default);
        assert_eq!(web.allow_connections_from, "localhost *");
        assert_eq!(web.allow_dashboard_from, "localhost *");
        assert_eq!(web.allow_streaming_from, "*");
        assert_eq!(web.accept_streaming_every_secs, 0);
        assert_eq!(web.timeout_for_first_request_secs, 60);
        assert_eq!(web.disconnect_idle_clients_after_secs, 60);
        assert_eq!(web.ssl_key, None);
        assert_eq!(web.ssl_certificate, None);
        assert_eq!((web.tls_version.as_deref(), web.tls_ciphers.as_deref()), (None, None));
        assert!(c.health.enabled);
        assert_eq!(c, NetdataConf::default());
    }

    #[test]
    fn every_key_is_read() {
        let (c, w) = conf(
            "[global]\nhostname = parent-1\n\
             [db]\nretention = 7200\nupdate every = 2\nmode = none\n\
             cleanup orphan hosts after secs = 60\ndelete orphan hosts files = no\n\
             cleanup obsolete charts after secs = 0x10\ngap when lost iterations above = 3\n\
             [directories]\ncache = /c\nlib = /l\nlog = /g\n\
             [web]\nmode = single-threaded\ndefault port = 8080\nbind to = 127.0.0.1 [::1]:9=streaming\n\
             allow connections from = 10.*\nallow dashboard from = !*\nallow streaming from = 192.168.*\n\
             accept a streaming request every seconds = 5\ntimeout for first request = 10\n\
             disconnect idle clients after seconds = 20\nssl key = /k.pem\nssl certificate = /c.pem\n\
             tls version = 1.2\ntls ciphers = ECDHE-RSA-AES256-GCM-SHA384\n\
             [health]\nenabled = no\n",
        );
        assert!(w.is_empty(), "{w:?}");
        let g = &c.global;
        assert_eq!(g.hostname, "parent-1");
        assert_eq!((g.history, g.update_every, g.memory_mode), (7200, 2, MemoryMode::None));
        assert_eq!(g.cleanup_orphan_hosts_after_secs, 60);
        assert!(!g.delete_orphan_hosts_files);
        assert_eq!(g.cleanup_obsolete_charts_after_secs, 16);
        assert_eq!(g.gap_when_lost_iterations_above, 3);
        assert_eq!(c.directories.cache, PathBuf::from("/c"));
        assert_eq!(c.directories.lib, PathBuf::from("/l"));
        assert_eq!(c.directories.log, Some(PathBuf::from("/g")));
        let web = &c.web;
        assert_eq!(web.mode, WebMode::SingleThreaded);
        assert_eq!(web.default_port, 8080);
        assert_eq!(addrs(web), [sa("127.0.0.1:8080"), sa("[::1]:9")]);
        assert_eq!(web.bind_to[1].acl, Acl::STREAMING);
        assert_eq!(web.allow_connections_from, "10.*");
        assert_eq!(web.allow_dashboard_from, "!*");
        assert_eq!(web.allow_streaming_from, "192.168.*");
        assert_eq!(web.accept_streaming_every_secs, 5);
        assert_eq!(web.timeout_for_first_request_secs, 10);
        assert_eq!(web.disconnect_idle_clients_after_secs, 20);
        assert_eq!(web.ssl_key, Some(PathBuf::from("/k.pem")));
        assert_eq!(web.ssl_certificate, Some(PathBuf::from("/c.pem")));
        assert_eq!(web.tls_version.as_deref(), Some("1.2"));
        assert_eq!(web.tls_ciphers.as_deref(), Some("ECDHE-RSA-AES256-GCM-SHA384"));
        assert!(!c.health.enabled);
    }

    #[test]
    fn legacy_global_keys_move() {
        let (c, w) = conf(
            "[global]\nhistory = 100\nupdate every = 5\nmemory mode = alloc\n\
             cleanup orphan hosts after seconds = 10\ndelete orphan hosts files = no\n\
             cleanup obsolete charts after seconds = 11\ngap when lost iterations above = 2\n\
             cache directory = /cc\nlib directory = /ll\nlog directory = /lg\n\
             bind socket to IP = 127.0.0.1\nport = 1234\n\
             disconnect idle web clients after seconds = 33\n",
        );
        assert!(w.is_empty(), "{w:?}");
        let g = &c.global;
        assert_eq!((g.history, g.update_every, g.memory_mode), (100, 5, MemoryMode::Ram));
        assert_eq!(g.cleanup_orphan_hosts_after_secs, 10);
        assert!(!g.delete_orphan_hosts_files);
        assert_eq!(g.cleanup_obsolete_charts_after_secs, 11);
        assert_eq!(g.gap_when_lost_iterations_above, 2);
        assert_eq!(c.directories.cache, PathBuf::from("/cc"));
        assert_eq!(c.directories.lib, PathBuf::from("/ll"));
        assert_eq!(c.directories.log, Some(PathBuf::from("/lg")));
        assert_eq!(c.web.default_port, 1234);
        assert_eq!(addrs(&c.web), [sa("127.0.0.1:1234")]);
        assert_eq!(c.web.disconnect_idle_clients_after_secs, 33);

        let (c, _) = conf("[global]\nbind to = 10.0.0.1\ndefault port = 99\n");
        assert_eq!(addrs(&c.web), [sa("10.0.0.1:99")]);
    }

    #[test]
    fn new_keys_win_over_legacy_ones() {
        let (c, w) = conf(
            "[global]\nbind socket to IP = 127.0.0.1\nport = 1\nhistory = 100\ncache directory = /old\n\
             cleanup orphan hosts after seconds = 5\n\
             [web]\nbind to = 10.0.0.2\ndefault port = 2\n\
             [db]\nretention = 200\ncleanup orphan hosts after secs = 7\n\
             [directories]\ncache = /new\n",
        );
        assert_eq!(addrs(&c.web), [sa("10.0.0.2:2")]);
        assert_eq!(c.global.history, 200);
        assert_eq!(c.global.cleanup_orphan_hosts_after_secs, 7);
        assert_eq!(c.directories.cache, PathBuf::from("/new"));
        assert_eq!(w.len(), 5, "{w:?}");
        assert!(w.contains(&format!("{FILE}: [global] bind socket to IP: ignored, {FILE}: [web] bind to is set")));
        assert!(w.contains(&format!("{FILE}: [global] history: ignored, {FILE}: [db] retention is set")));
    }

    #[test]
    fn moved_unused_web_keys_warn_under_their_old_name() {
        // Debian's stock /etc/netdata/netdata.conf (1.37.1).
        let (c, w) = conf(
            "# NetData Configuration\n\n[global]\n\trun as user = netdata\n\tweb files owner = root\n\
             \tweb files group = root\n\t# Netdata is not designed to be exposed to potentially hostile\n\
             \t# networks. See https://github.com/netdata/netdata/issues/164\n\tbind socket to IP = 127.0.0.1\n",
        );
        assert_eq!(addrs(&c.web), [sa("127.0.0.1:19999")]);
        assert_eq!(
            w,
            [
                format!("{FILE}: [global] run as user is not used by strata"),
                format!("{FILE}: [global] web files owner is not used by strata"),
                format!("{FILE}: [global] web files group is not used by strata"),
            ]
        );
    }

    #[test]
    fn unused_keys_and_sections() {
        let (_, w) = conf(
            "[global]\nhostname = h\nerrors flood protection period = 1200\n\
             [web]\nweb server threads = 4\nallow badges from = *\n\
             [directories]\nconfig = /etc/netdata\n\
             [db]\nmode = ram\ndbengine page cache size MB = 32\nstorage tiers = 3\ndbengine disk space MB = 9\n\
             [health]\nenabled = yes\nrun at least every seconds = 10\n\
             [plugins]\nproc = yes\napps = no\ngo.d = no\n\
             [plugin:proc]\n/proc/stat = yes\n\
             [ml]\n\t# enabled = yes\n\
             [registry]\nenabled = no\n",
        );
        assert_eq!(
            w,
            [
                format!("{FILE}: [global] errors flood protection period is not used by strata"),
                format!("{FILE}: [web] web server threads is not used by strata"),
                format!("{FILE}: [web] allow badges from is not used by strata"),
                format!("{FILE}: [directories] config is not used by strata"),
                format!("{FILE}: [db] storage tiers, dbengine disk space MB are not used by strata"),
                format!("{FILE}: [health] run at least every seconds is not used by strata"),
                format!("{FILE}: section [registry] is not used by strata (1 key ignored)"),
            ]
        );
    }

    #[test]
    fn ranges_warn_and_clamp() {
        let (c, w) = conf("[global]\nhistory = 1\nupdate every = 601\ngap when lost iterations above = 0\n");
        assert_eq!(c.global.history, 5);
        assert_eq!(c.global.update_every, 1);
        assert_eq!(c.global.gap_when_lost_iterations_above, 1);
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(w[0], format!("{FILE}: [global] history: 1 is outside 5..=31536000; using 5"));
        let (c, w) = conf("[db]\nretention = 99999999999\nupdate every = 0\n");
        assert_eq!(c.global.history, 31_536_000);
        assert_eq!(c.global.update_every, 1);
        assert_eq!(w.len(), 2);
        let (c, _) = conf("[global]\ncleanup orphan hosts after seconds = -1\n");
        assert_eq!(c.global.cleanup_orphan_hosts_after_secs, 0);
    }

    #[test]
    fn memory_modes_and_web_modes() {
        let (c, w) = conf("[global]\nmemory mode = ram\n");
        assert_eq!((c.global.memory_mode, w.len()), (MemoryMode::Ram, 0));
        let (c, w) =
            conf("[global]\nmemory mode = dbengine\npage cache size = 64\ndbengine multihost disk space = 1024\n");
        assert_eq!(
            (c.global.memory_mode, c.global.page_cache_mib, c.global.dbengine_disk_mib),
            (MemoryMode::DbEngine, 64, 1024)
        );
        assert!(w.is_empty(), "{w:?}");
        let (c, w) =
            conf("[db]\nmode = dbengine\ndbengine page cache size MB = 4\ndbengine multihost disk space MB = 10\n");
        assert_eq!((c.global.page_cache_mib, c.global.dbengine_disk_mib), (8, 64), "clamped to the minimums");
        assert_eq!(w.len(), 2, "{w:?}");
        let (c, w) = conf("[global]\npage cache size = 100\n[db]\ndbengine page cache size MB = 50\n");
        assert_eq!(c.global.page_cache_mib, 50, "the [db] name wins");
        let (c, _) = conf("[db]\ndbengine block slots = 16\n");
        assert_eq!(c.global.dbengine_block_slots, 16);
        assert_eq!(
            w,
            [format!("{FILE}: [global] page cache size: ignored, {FILE}: [db] dbengine page cache size MB is set")]
        );
        let (c, w) = conf("[web]\nmode = none\n");
        assert_eq!((c.web.mode, w.len()), (WebMode::None, 0));
        let (c, w) = conf("[web]\nmode = multi-threaded\n");
        assert_eq!((c.web.mode, w.len()), (WebMode::StaticThreaded, 1));
    }

    #[test]
    fn errors_name_file_section_key_and_value() {
        assert_eq!(err("[global]\nhistory = abc\n"), format!("{FILE}: [global] history = \"abc\": not a number"));
        assert_eq!(err("[db]\nupdate every = x1\n"), format!("{FILE}: [db] update every = \"x1\": not a number"));
        assert!(err("[global]\nmemory mode = fast\n")
            .starts_with(&format!("{FILE}: [global] memory mode = \"fast\": unknown memory mode")));
        assert!(err("[db]\nmode = Ram\n").starts_with(&format!("{FILE}: [db] mode = \"Ram\"")));
        assert_eq!(
            err("[web]\ndefault port = http\n"),
            format!("{FILE}: [web] default port = \"http\": not a port number")
        );
        assert_eq!(
            err("[global]\nport = 99999\n"),
            format!("{FILE}: [global] port = \"99999\": not a valid port (1-65535)")
        );
        let e = err("[web]\nbind to = *:19999^SSL=force\n");
        assert!(
            e.starts_with(&format!(
                "{FILE}: [web] bind to = \"*:19999^SSL=force\": invalid entry \"*:19999^SSL=force\""
            )),
            "{e}"
        );
        assert!(err("[global]\nbind socket to IP = 1.2.3.4:x\n")
            .starts_with(&format!("{FILE}: [global] bind socket to IP = \"1.2.3.4:x\"")));
        assert!(err("[web]\ntimeout for first request = soon\n").contains("[web] timeout for first request"));
    }

    #[test]
    fn overrides_keep_their_origin() {
        let mut doc = Document::parse("[global]\nhistory = 10\n", FILE);
        doc.set(
            "global",
            "history",
            Entry { value: "zz".into(), origin: COMMAND_LINE.into(), section: "global".into(), key: "history".into() },
        );
        let e = read(doc, Path::new(DEFAULT_CONFIG_DIR), &mut Warnings::default()).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("-W set: [global] history = \"zz\": not a number"));
    }

    #[test]
    fn relative_directories_resolve_against_cwd() {
        let (c, _) = conf("[directories]\ncache = target/strata/cache\nlib = target/strata/lib\nlog =\n");
        if let Ok(cwd) = std::env::current_dir() {
            assert_eq!(c.directories.cache, cwd.join("target/strata/cache"));
            assert_eq!(c.directories.lib, cwd.join("target/strata/lib"));
        }
        assert_eq!(c.directories.log, None);
    }
}
