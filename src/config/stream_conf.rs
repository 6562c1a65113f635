//! stream.conf (streaming-protocol.md §5.6, §6): the `[stream]` sender section and the
//! parent-side `[<API_KEY>]` / `[<MACHINE_GUID>]` sections.
//!
//! Owns: the typed stream.conf settings and the precedence rules
//! `[<machine_guid>]` > `[<api key>]` > netdata.conf / `[stream]` defaults.
//! Invariants: only sections whose names are GUIDs (36-character form) are kept, and
//! they are looked up byte-exactly (case-sensitive), as Netdata does; a non-GUID section
//! other than `[stream]` is an error when it is enabled and a warning otherwise (the stock
//! `[API_KEY]` / `[MACHINE_GUID]` templates); invalid health values keep the previous
//! default with a warning; histories resolved by [`StreamConf::host_settings`] are at
//! least 5.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::hosts::MemoryMode;

use super::error::ConfigError;
use super::file::{Document, Entry, Section};
use super::netdata_conf::{Global, Health, MAX_HISTORY, MIN_HISTORY};
use super::reader::{self, OutOfRange, Warnings};
use super::values::is_guid;

/// `health enabled by default` / `health enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthSetting {
    Yes,
    No,
    /// `auto` or `on demand`: enabled while the child is connected.
    Auto,
}

impl HealthSetting {
    /// Exactly `yes`, `no`, `auto` or `on demand`.
    pub fn parse(value: &str) -> Option<HealthSetting> {
        match value {
            "yes" => Some(HealthSetting::Yes),
            "no" => Some(HealthSetting::No),
            "auto" | "on demand" => Some(HealthSetting::Auto),
            _ => None,
        }
    }
}

impl From<bool> for HealthSetting {
    fn from(b: bool) -> HealthSetting {
        if b {
            HealthSetting::Yes
        } else {
            HealthSetting::No
        }
    }
}

/// `[stream]`: this node as a sender (child), and the defaults for proxying.
/// Defaults are Netdata v1.37.1's stock file values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSender {
    /// Effective: forced to false (with a warning) when `destination` or `api key` is empty.
    pub enabled: bool,
    pub destination: String,
    pub api_key: String,
    pub timeout_secs: u64,
    pub default_port: u16,
    pub send_charts_matching: String,
    pub buffer_size_bytes: u64,
    pub reconnect_delay_secs: u64,
    pub initial_clock_resync_iterations: u64,
    pub ssl_skip_certificate_verification: bool,
    /// `CApath`; `None` = the system default.
    pub ca_path: Option<PathBuf>,
    /// `CAfile`; `None` = the system default.
    pub ca_file: Option<PathBuf>,
    pub enable_compression: bool,
}

impl Default for StreamSender {
    fn default() -> StreamSender {
        StreamSender {
            enabled: false,
            destination: String::new(),
            api_key: String::new(),
            timeout_secs: 60,
            default_port: 19999,
            send_charts_matching: "*".into(),
            buffer_size_bytes: 10_485_760,
            reconnect_delay_secs: 5,
            initial_clock_resync_iterations: 60,
            ssl_skip_certificate_verification: false,
            ca_path: None,
            ca_file: None,
            enable_compression: true,
        }
    }
}

/// One `[<GUID>]` section, used as an API key section, a machine GUID section, or both.
/// `None` = the key is absent (the caller's default applies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamSection {
    pub name: String,
    pub enabled: Option<bool>,
    /// v1.37 `type`: `api` or `machine`.
    pub type_: Option<String>,
    pub allow_from: Option<String>,
    pub default_history: Option<u32>,
    pub history: Option<u32>,
    pub default_memory_mode: Option<MemoryMode>,
    pub memory_mode: Option<MemoryMode>,
    pub update_every: Option<u32>,
    pub health_enabled_by_default: Option<HealthSetting>,
    pub health_enabled: Option<HealthSetting>,
    pub default_postpone_alarms_on_connect_secs: Option<u64>,
    pub postpone_alarms_on_connect_secs: Option<u64>,
    pub default_proxy_enabled: Option<bool>,
    pub default_proxy_destination: Option<String>,
    pub default_proxy_api_key: Option<String>,
    pub default_proxy_send_charts_matching: Option<String>,
    pub proxy_enabled: Option<bool>,
    pub proxy_destination: Option<String>,
    pub proxy_api_key: Option<String>,
    pub proxy_send_charts_matching: Option<String>,
    /// Informational (written by Netdata parents).
    pub host_tags: Option<String>,
    /// v1.37 keys, accepted (strata neither compresses nor replicates yet).
    pub enable_compression: Option<bool>,
    pub enable_replication: Option<bool>,
    pub seconds_to_replicate: Option<u64>,
    pub seconds_per_replication_step: Option<u64>,
}

impl StreamSection {
    /// Usable as an API key: `enabled` is yes (default no) and `type` is `api` (default).
    pub fn api_key_enabled(&self) -> bool {
        self.enabled == Some(true) && self.type_.as_deref().unwrap_or("api") == "api"
    }

    /// `type` allows use as a machine GUID section (default `machine`).
    pub fn is_machine(&self) -> bool {
        self.type_.as_deref().unwrap_or("machine") == "machine"
    }

    /// `type` allows use as an API key section (default `api`).
    pub fn is_api_key(&self) -> bool {
        self.type_.as_deref().unwrap_or("api") == "api"
    }
}

/// Settings of one received host after precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSettings {
    pub memory_mode: MemoryMode,
    /// At least 5.
    pub history: u32,
    /// `None`: use the `update_every` of the child's request.
    pub update_every: Option<u32>,
    /// Already `No` when the memory mode is `none`.
    pub health: HealthSetting,
    pub postpone_alarms_secs: u64,
}

/// Upstream forwarding of one received host after precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    pub enabled: bool,
    pub destination: String,
    pub api_key: String,
    pub send_charts_matching: String,
}

impl ProxySettings {
    /// Forwarded iff enabled and both destination and api key are non-empty.
    pub fn active(&self) -> bool {
        self.enabled && !self.destination.trim().is_empty() && !self.api_key.trim().is_empty()
    }
}

/// The whole stream.conf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamConf {
    pub sender: StreamSender,
    sections: HashMap<String, StreamSection>,
}

pub const DEFAULT_POSTPONE_ALARMS_SECS: u64 = 60;

impl StreamConf {
    /// The `[name]` section, byte-exact; only GUID-named sections exist.
    pub fn section(&self, name: &str) -> Option<&StreamSection> {
        self.sections.get(name)
    }

    /// All GUID sections (unordered).
    pub fn sections(&self) -> impl Iterator<Item = &StreamSection> {
        self.sections.values()
    }

    /// This node accepts streams: some GUID section has `enabled = yes`.
    pub fn is_parent(&self) -> bool {
        self.sections.values().any(|s| s.enabled == Some(true))
    }

    /// `[<api_key>]` exists, is enabled and has type `api`.
    pub fn api_key_enabled(&self, api_key: &str) -> bool {
        self.section(api_key).is_some_and(StreamSection::api_key_enabled)
    }

    /// `[<machine_guid>] enabled`, default yes.
    pub fn machine_enabled(&self, machine_guid: &str) -> bool {
        self.section(machine_guid).and_then(|s| s.enabled).unwrap_or(true)
    }

    /// Resolve memory mode, history, update every, health and postpone seconds for a host
    /// pushed with `api_key` and `machine_guid`.
    pub fn host_settings(&self, api_key: &str, machine_guid: &str, global: &Global, health: &Health) -> HostSettings {
        let k = self.section(api_key);
        let h = self.section(machine_guid);

        let memory_mode =
            h.and_then(|s| s.memory_mode).or(k.and_then(|s| s.default_memory_mode)).unwrap_or(global.memory_mode);
        let history =
            h.and_then(|s| s.history).or(k.and_then(|s| s.default_history)).unwrap_or(global.history).max(MIN_HISTORY);
        let update_every = h.and_then(|s| s.update_every);
        let mut health_setting = h
            .and_then(|s| s.health_enabled)
            .or(k.and_then(|s| s.health_enabled_by_default))
            .unwrap_or(HealthSetting::from(health.enabled));
        if memory_mode == MemoryMode::None {
            health_setting = HealthSetting::No;
        }
        let postpone_alarms_secs = h
            .and_then(|s| s.postpone_alarms_on_connect_secs)
            .or(k.and_then(|s| s.default_postpone_alarms_on_connect_secs))
            .unwrap_or(DEFAULT_POSTPONE_ALARMS_SECS);
        HostSettings { memory_mode, history, update_every, health: health_setting, postpone_alarms_secs }
    }

    /// Resolve upstream forwarding for a host pushed with `api_key` and `machine_guid`:
    /// `[<guid>] proxy …` > `[<key>] default proxy …` > `[stream] …`.
    pub fn proxy_settings(&self, api_key: &str, machine_guid: &str) -> ProxySettings {
        let k = self.section(api_key);
        let h = self.section(machine_guid);
        let s = &self.sender;
        let text =
            |hv: Option<&String>, kv: Option<&String>, d: &str| hv.or(kv).cloned().unwrap_or_else(|| d.to_string());
        ProxySettings {
            enabled: h.and_then(|h| h.proxy_enabled).or(k.and_then(|k| k.default_proxy_enabled)).unwrap_or(s.enabled),
            destination: text(
                h.and_then(|h| h.proxy_destination.as_ref()),
                k.and_then(|k| k.default_proxy_destination.as_ref()),
                &s.destination,
            ),
            api_key: text(
                h.and_then(|h| h.proxy_api_key.as_ref()),
                k.and_then(|k| k.default_proxy_api_key.as_ref()),
                &s.api_key,
            ),
            send_charts_matching: text(
                h.and_then(|h| h.proxy_send_charts_matching.as_ref()),
                k.and_then(|k| k.default_proxy_send_charts_matching.as_ref()),
                &s.send_charts_matching,
            ),
        }
    }
}

/// Read stream.conf settings from `doc`.
pub fn read(doc: &Document, w: &mut Warnings) -> Result<StreamConf, ConfigError> {
    let mut conf = StreamConf::default();
    for section in doc.sections() {
        if section.name == "stream" {
            conf.sender = read_sender(section, w)?;
        } else if is_guid(&section.name) {
            let s = read_section(section, w)?;
            conf.sections.insert(section.name.clone(), s);
        } else {
            reject_non_guid(section, w)?;
        }
    }
    Ok(conf)
}

fn reject_non_guid(section: &Section, w: &mut Warnings) -> Result<(), ConfigError> {
    if let Some(e) = section.get("enabled").filter(|e| reader::boolean(e)) {
        return Err(e.error(
            "this section is enabled but its name is not a GUID; API keys and machine GUIDs \
             must be GUIDs (generate one with uuidgen)",
        ));
    }
    if let Some((_, first)) = section.entries.first() {
        w.push(format!(
            "{}: section [{}] ignored: its name is not a GUID (API keys and machine GUIDs must be \
             GUIDs; generate one with uuidgen)",
            first.origin, section.name
        ));
    }
    Ok(())
}

fn read_sender(section: &Section, w: &mut Warnings) -> Result<StreamSender, ConfigError> {
    let mut s = StreamSender::default();
    for (key, e) in &section.entries {
        match key.as_str() {
            "enabled" => s.enabled = reader::boolean(e),
            "destination" => s.destination = e.value.clone(),
            "api key" => s.api_key = e.value.clone(),
            "timeout seconds" => s.timeout_secs = reader::number_u64(e, w)?,
            "default port" => s.default_port = reader::port(e)?,
            "send charts matching" => s.send_charts_matching = e.value.clone(),
            "buffer size bytes" => s.buffer_size_bytes = reader::number_u64(e, w)?,
            "reconnect delay seconds" => s.reconnect_delay_secs = reader::number_u64(e, w)?,
            "initial clock resync iterations" => s.initial_clock_resync_iterations = reader::number_u64(e, w)?,
            "ssl skip certificate verification" => s.ssl_skip_certificate_verification = reader::boolean(e),
            "CApath" => s.ca_path = reader::path(e),
            "CAfile" => s.ca_file = reader::path(e),
            "enable compression" => s.enable_compression = reader::boolean(e),
            _ => w.unused(e),
        }
    }
    if s.enabled && (s.destination.trim().is_empty() || s.api_key.trim().is_empty()) {
        if let Some(e) = section.get("enabled") {
            w.at(e, "sending is disabled: [stream] destination and api key must both be set");
        }
        s.enabled = false;
    }
    Ok(s)
}

fn health(e: &Entry, w: &mut Warnings) -> Option<HealthSetting> {
    let h = HealthSetting::parse(&e.value);
    if h.is_none() {
        w.at(e, "expected yes, no, auto or on demand; the value is ignored");
    }
    h
}

fn history(e: &Entry, w: &mut Warnings) -> Result<u32, ConfigError> {
    reader::number_u32(e, MIN_HISTORY, MAX_HISTORY, OutOfRange::Clamp, w)
}

fn read_section(section: &Section, w: &mut Warnings) -> Result<StreamSection, ConfigError> {
    let mut s = StreamSection { name: section.name.clone(), ..StreamSection::default() };
    for (key, e) in &section.entries {
        let text = || Some(e.value.clone());
        match key.as_str() {
            "enabled" => s.enabled = Some(reader::boolean(e)),
            "type" => {
                if !matches!(e.value.as_str(), "api" | "machine") {
                    w.at(e, "expected api or machine");
                }
                s.type_ = text();
            }
            "allow from" => s.allow_from = text(),
            "default history" => s.default_history = Some(history(e, w)?),
            "history" => s.history = Some(history(e, w)?),
            "default memory mode" => s.default_memory_mode = Some(reader::memory_mode(e, w)?),
            "memory mode" => s.memory_mode = Some(reader::memory_mode(e, w)?),
            "update every" => s.update_every = Some(reader::number_u32(e, 1, 600, OutOfRange::Clamp, w)?),
            "health enabled by default" => s.health_enabled_by_default = health(e, w),
            "health enabled" => s.health_enabled = health(e, w),
            "default postpone alarms on connect seconds" => {
                s.default_postpone_alarms_on_connect_secs = Some(reader::number_u64(e, w)?)
            }
            "postpone alarms on connect seconds" => s.postpone_alarms_on_connect_secs = Some(reader::number_u64(e, w)?),
            "default proxy enabled" => s.default_proxy_enabled = Some(reader::boolean(e)),
            "default proxy destination" => s.default_proxy_destination = text(),
            "default proxy api key" => s.default_proxy_api_key = text(),
            "default proxy send charts matching" => s.default_proxy_send_charts_matching = text(),
            "proxy enabled" => s.proxy_enabled = Some(reader::boolean(e)),
            "proxy destination" => s.proxy_destination = text(),
            "proxy api key" => s.proxy_api_key = text(),
            "proxy send charts matching" => s.proxy_send_charts_matching = text(),
            "host tags" => s.host_tags = text(),
            "multiple connections" => w.push(format!("{} is ignored (as by Netdata since v1.21)", e.location())),
            "enable compression" => s.enable_compression = Some(reader::boolean(e)),
            "enable replication" => s.enable_replication = Some(reader::boolean(e)),
            "seconds to replicate" => s.seconds_to_replicate = Some(reader::number_u64(e, w)?),
            "seconds per replication step" => s.seconds_per_replication_step = Some(reader::number_u64(e, w)?),
            _ => w.unused(e),
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/etc/x/stream.conf";
    const KEY: &str = "11111111-2222-3333-4444-555555555555";
    const GUID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    /// The active lines of Netdata 1.37.1's stock stream.conf, with commented keys in the
    /// same indented shape (comments are not Netdata's text).
    const STOCK_1_37_1: &str = "\
# stock shape
[stream]
    # sender settings
    enabled = no
    destination =
    #ssl skip certificate verification = yes
    #CApath =
    #CAfile =
    api key =
    #enable compression = yes
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
    #default history = 3600
    #default memory mode = dbengine
    #health enabled by default = auto
    default postpone alarms on connect seconds = 60
    #default proxy enabled = yes | no
    #default proxy destination = IP:PORT IP:PORT ...
    #enable replication = yes
    #seconds to replicate = 86400

[MACHINE_GUID]
    type = machine
    enabled = no
    allow from = *
    #history = 3600
    #memory mode = dbengine
    #health enabled = auto
    postpone alarms on connect seconds = 60
    #proxy enabled = yes | no
";

    fn conf(text: &str) -> (StreamConf, Vec<String>) {
        let mut w = Warnings::default();
        match read(&Document::parse(text, FILE), &mut w) {
            Ok(c) => (c, w.0),
            Err(e) => panic!("{e}"),
        }
    }

    fn err(text: &str) -> String {
        match read(&Document::parse(text, FILE), &mut Warnings::default()) {
            Ok(c) => panic!("must fail: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn globals() -> (Global, Health) {
        (Global { hostname: "p".into(), ..Global::default() }, Health { enabled: true })
    }

    #[test]
    fn sender_defaults_match_stock_1_37_1() {
        let (c, w) = conf(STOCK_1_37_1);
        assert_eq!(c.sender, StreamSender::default());
        let s = &c.sender;
        assert!(!s.enabled);
        assert_eq!((s.destination.as_str(), s.api_key.as_str()), ("", ""));
        assert_eq!((s.timeout_secs, s.default_port), (60, 19999));
        assert_eq!(s.send_charts_matching, "*");
        assert_eq!(s.buffer_size_bytes, 10_485_760);
        assert_eq!((s.reconnect_delay_secs, s.initial_clock_resync_iterations), (5, 60));
        assert!(!s.ssl_skip_certificate_verification);
        assert_eq!((s.ca_path.clone(), s.ca_file.clone()), (None, None));
        assert!(s.enable_compression);
        // Templates never match and only warn.
        assert!(c.section("API_KEY").is_none() && c.section("MACHINE_GUID").is_none());
        assert_eq!(c.sections().count(), 0);
        assert!(!c.is_parent());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with(&format!("{FILE}: section [API_KEY] ignored")));
        assert!(w[0].contains("uuidgen"));
    }

    #[test]
    fn installed_stock_file_if_present() {
        let path = std::path::Path::new("/usr/lib/netdata/conf.d/stream.conf");
        let Ok(Some(doc)) = Document::load(path) else {
            return;
        };
        let mut w = Warnings::default();
        let c = read(&doc, &mut w);
        assert!(c.is_ok(), "{c:?}");
        assert!(c.is_ok_and(|c| !c.is_parent() && c.sections().count() == 0));
        assert!(w.0.iter().all(|w| w.contains("API_KEY") || w.contains("MACHINE_GUID")), "{:?}", w.0);
    }

    #[test]
    fn every_sender_key() {
        let (c, w) = conf(
            "[stream]\nenabled = yes\ndestination = tcp:parent:19999:SSL 10.0.0.1\napi key = k\n\
             timeout seconds = 600\ndefault port = 1\nsend charts matching = !apps.* *\n\
             buffer size bytes = 1048576\nreconnect delay seconds = 0x10\n\
             initial clock resync iterations = 0\nssl skip certificate verification = yes\n\
             CApath = /etc/ssl/certs/\nCAfile = /etc/ssl/certs/certs.pem\nenable compression = no\n",
        );
        assert!(w.is_empty(), "{w:?}");
        let s = &c.sender;
        assert!(s.enabled);
        assert_eq!(s.destination, "tcp:parent:19999:SSL 10.0.0.1");
        assert_eq!(s.api_key, "k");
        assert_eq!((s.timeout_secs, s.default_port, s.buffer_size_bytes), (600, 1, 1_048_576));
        assert_eq!(s.send_charts_matching, "!apps.* *");
        assert_eq!((s.reconnect_delay_secs, s.initial_clock_resync_iterations), (16, 0));
        assert!(s.ssl_skip_certificate_verification);
        assert_eq!(s.ca_path, Some(PathBuf::from("/etc/ssl/certs/")));
        assert_eq!(s.ca_file, Some(PathBuf::from("/etc/ssl/certs/certs.pem")));
        assert!(!s.enable_compression);
    }

    #[test]
    fn sender_without_destination_is_disabled() {
        let (c, w) = conf("[stream]\nenabled = yes\napi key = k\n");
        assert!(!c.sender.enabled);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with(&format!("{FILE}: [stream] enabled: sending is disabled")));
    }

    #[test]
    fn every_section_key() {
        let text = format!(
            "[{KEY}]\ntype = api\nenabled = yes\nallow from = 10.*\ndefault history = 100\n\
             default memory mode = none\nhealth enabled by default = on demand\n\
             default postpone alarms on connect seconds = 30\ndefault proxy enabled = yes\n\
             default proxy destination = up:19999\ndefault proxy api key = {GUID}\n\
             default proxy send charts matching = system.*\nenable compression = no\n\
             enable replication = no\nseconds to replicate = 86400\nseconds per replication step = 600\n\
             [{GUID}]\ntype = machine\nenabled = no\nallow from = *\nhistory = 200\nmemory mode = ram\n\
             update every = 2\nhealth enabled = no\npostpone alarms on connect seconds = 0\n\
             proxy enabled = no\nproxy destination = x\nproxy api key = y\nproxy send charts matching = z\n\
             host tags = a b\n"
        );
        let (c, w) = conf(&text);
        assert!(w.is_empty(), "{w:?}");
        let k = c.section(KEY).cloned().unwrap_or_default();
        assert_eq!(k.name, KEY);
        assert_eq!(k.type_.as_deref(), Some("api"));
        assert_eq!(k.enabled, Some(true));
        assert!(k.api_key_enabled() && k.is_api_key() && !k.is_machine());
        assert_eq!(k.allow_from.as_deref(), Some("10.*"));
        assert_eq!(k.default_history, Some(100));
        assert_eq!(k.default_memory_mode, Some(MemoryMode::None));
        assert_eq!(k.health_enabled_by_default, Some(HealthSetting::Auto));
        assert_eq!(k.default_postpone_alarms_on_connect_secs, Some(30));
        assert_eq!(k.default_proxy_enabled, Some(true));
        assert_eq!(k.default_proxy_destination.as_deref(), Some("up:19999"));
        assert_eq!(k.default_proxy_api_key.as_deref(), Some(GUID));
        assert_eq!(k.default_proxy_send_charts_matching.as_deref(), Some("system.*"));
        assert_eq!((k.enable_compression, k.enable_replication), (Some(false), Some(false)));
        assert_eq!((k.seconds_to_replicate, k.seconds_per_replication_step), (Some(86400), Some(600)));
        let g = c.section(GUID).cloned().unwrap_or_default();
        assert_eq!(g.type_.as_deref(), Some("machine"));
        assert!(g.is_machine() && !g.api_key_enabled());
        assert_eq!(g.enabled, Some(false));
        assert_eq!((g.history, g.memory_mode, g.update_every), (Some(200), Some(MemoryMode::Ram), Some(2)));
        assert_eq!(g.health_enabled, Some(HealthSetting::No));
        assert_eq!(g.postpone_alarms_on_connect_secs, Some(0));
        assert_eq!(g.proxy_enabled, Some(false));
        assert_eq!(g.proxy_destination.as_deref(), Some("x"));
        assert_eq!(g.proxy_api_key.as_deref(), Some("y"));
        assert_eq!(g.proxy_send_charts_matching.as_deref(), Some("z"));
        assert_eq!(g.host_tags.as_deref(), Some("a b"));
        assert!(c.is_parent());
        assert!(c.api_key_enabled(KEY) && !c.api_key_enabled(GUID));
        assert!(!c.machine_enabled(GUID) && c.machine_enabled(KEY));
        assert!(c.machine_enabled("99999999-2222-3333-4444-555555555555"));
    }

    #[test]
    fn section_names_are_byte_exact() {
        let lower_key = "abcdef01-2345-6789-abcd-ef0123456789";
        let text = format!("[{lower_key}]\nenabled = yes\n");
        let (c, _) = conf(&text);
        assert!(c.section(lower_key).is_some());
        assert!(c.section(&lower_key.to_ascii_uppercase()).is_none());
        assert!(c.section(&format!(" {lower_key}")).is_none());
    }

    #[test]
    fn host_settings_precedence() {
        let (global, health) = globals();
        let text = format!(
            "[{KEY}]\nenabled = yes\ndefault history = 100\ndefault memory mode = none\n\
             health enabled by default = auto\ndefault postpone alarms on connect seconds = 30\n\
             [{GUID}]\nhistory = 200\nmemory mode = ram\nupdate every = 3\nhealth enabled = no\n\
             postpone alarms on connect seconds = 7\n"
        );
        let (c, _) = conf(&text);
        let other_guid = "99999999-9999-9999-9999-999999999999";
        // The key's defaults (memory mode none forces health off).
        let s = c.host_settings(KEY, other_guid, &global, &health);
        assert_eq!(
            s,
            HostSettings {
                memory_mode: MemoryMode::None,
                history: 100,
                update_every: None,
                health: HealthSetting::No,
                postpone_alarms_secs: 30,
            }
        );
        // The machine section wins.
        let s = c.host_settings(KEY, GUID, &global, &health);
        assert_eq!(
            s,
            HostSettings {
                memory_mode: MemoryMode::Ram,
                history: 200,
                update_every: Some(3),
                health: HealthSetting::No,
                postpone_alarms_secs: 7,
            }
        );
        // Neither section: netdata.conf defaults.
        let s = c.host_settings(other_guid, other_guid, &global, &Health { enabled: false });
        assert_eq!(
            s,
            HostSettings {
                memory_mode: MemoryMode::DbEngine,
                history: 3996,
                update_every: None,
                health: HealthSetting::No,
                postpone_alarms_secs: 60,
            }
        );
        let s = c.host_settings(other_guid, other_guid, &global, &health);
        assert_eq!(s.health, HealthSetting::Yes);
        // Per key: a machine section with only some keys falls back key by key.
        let text =
            format!("[{KEY}]\ndefault history = 100\nhealth enabled by default = auto\n[{GUID}]\nmemory mode = none\n");
        let (c, _) = conf(&text);
        let s = c.host_settings(KEY, GUID, &global, &health);
        assert_eq!((s.history, s.memory_mode, s.health), (100, MemoryMode::None, HealthSetting::No));
        let text = format!("[{KEY}]\nhealth enabled by default = auto\n[{GUID}]\nhistory = 9\n");
        let (c, _) = conf(&text);
        let s = c.host_settings(KEY, GUID, &global, &health);
        assert_eq!((s.history, s.health), (9, HealthSetting::Auto));
    }

    #[test]
    fn history_is_at_least_five() {
        let (global, health) = globals();
        let text = format!("[{KEY}]\ndefault history = 1\n");
        let (c, w) = conf(&text);
        assert_eq!(c.host_settings(KEY, GUID, &global, &health).history, 5);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("[11111111-2222-3333-4444-555555555555] default history"));
    }

    #[test]
    fn proxy_precedence() {
        let text = format!(
            "[stream]\nenabled = yes\ndestination = s-dest\napi key = s-key\nsend charts matching = s-*\n\
             [{KEY}]\ndefault proxy destination = k-dest\n[{GUID}]\nproxy api key = g-key\n"
        );
        let (c, _) = conf(&text);
        let p = c.proxy_settings(KEY, GUID);
        assert_eq!(
            p,
            ProxySettings {
                enabled: true,
                destination: "k-dest".into(),
                api_key: "g-key".into(),
                send_charts_matching: "s-*".into(),
            }
        );
        assert!(p.active());
        let (c, _) = conf(&format!("[{GUID}]\nproxy enabled = yes\nproxy destination = d\n"));
        let p = c.proxy_settings(KEY, GUID);
        assert!(p.enabled && !p.active());
    }

    #[test]
    fn health_values() {
        assert_eq!(HealthSetting::parse("yes"), Some(HealthSetting::Yes));
        assert_eq!(HealthSetting::parse("no"), Some(HealthSetting::No));
        assert_eq!(HealthSetting::parse("auto"), Some(HealthSetting::Auto));
        assert_eq!(HealthSetting::parse("on demand"), Some(HealthSetting::Auto));
        assert_eq!(HealthSetting::parse("true"), None);
        let (global, health) = globals();
        let (c, w) = conf(&format!("[{KEY}]\nhealth enabled by default = maybe\n"));
        assert_eq!(c.host_settings(KEY, GUID, &global, &health).health, HealthSetting::Yes);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn booleans_in_sections() {
        let (c, _) = conf(&format!("[{KEY}]\nenabled = 1\n[{GUID}]\nenabled = On\n"));
        assert_eq!(c.section(KEY).and_then(|s| s.enabled), Some(false));
        assert_eq!(c.section(GUID).and_then(|s| s.enabled), Some(true));
    }

    #[test]
    fn warnings_for_unknown_and_ignored_keys() {
        let (_, w) = conf(&format!("[stream]\nhostname = x\n[{KEY}]\nmultiple connections = allow\nbogus = 1\n"));
        assert_eq!(
            w,
            [
                format!("{FILE}: [stream] hostname is not used by strata"),
                format!("{FILE}: [{KEY}] multiple connections is ignored (as by Netdata since v1.21)"),
                format!("{FILE}: [{KEY}] bogus is not used by strata"),
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("[my-api-key]\nenabled = yes\n"),
            format!(
                "{FILE}: [my-api-key] enabled = \"yes\": this section is enabled but its name is not a GUID; \
                 API keys and machine GUIDs must be GUIDs (generate one with uuidgen)"
            )
        );
        assert!(err(&format!("[{KEY}]\ndefault memory mode = fast\n"))
            .starts_with(&format!("{FILE}: [{KEY}] default memory mode = \"fast\": unknown memory mode")));
        assert!(err(&format!("[{GUID}]\nmemory mode = RAM\n"))
            .contains("[aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee] memory mode"));
        assert_eq!(
            err(&format!("[{GUID}]\nhistory = lots\n")),
            format!("{FILE}: [{GUID}] history = \"lots\": not a number")
        );
        assert_eq!(
            err("[stream]\ndefault port = x\n"),
            format!("{FILE}: [stream] default port = \"x\": not a port number")
        );
        assert!(err("[stream]\ntimeout seconds = -\n").contains("[stream] timeout seconds = \"-\": not a number"));
        // Not enabled: only a warning.
        let (_, w) = conf("[my-api-key]\nenabled = no\n");
        assert_eq!(w.len(), 1);
    }
}
