//! netdata.conf `[plugins]`, `[plugin:NAME]` and `[directories] plugins`: which data
//! collectors run, how often, and where external plugins are found.
//!
//! Owns: [`PluginsConf`] and its defaults, which are Netdata 1.37's: `enable running new
//! plugins = yes`, `check for new plugins every = 60` (at least 1), per-plugin
//! `[plugins] NAME = yes|no` (default: `enable running new plugins`; `slabinfo` defaults
//! to `no`), the internal `proc` plugin on unless `[plugins] proc = no`, its modules on
//! unless `[plugin:proc] MODULE = no` (`/proc/pagetypeinfo` defaults to `no`), and per
//! external plugin `[plugin:NAME] update every` (default `[global] update every`) and
//! `command options` (default empty). Invariants: every key of `[plugins]` and
//! `[plugin:proc]` is taken as a plugin (module) switch, so neither section produces
//! "not used" warnings; `[plugin:NAME]` reports keys other than the two it reads.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::file::{Document, Section};
use super::reader::{self, OutOfRange, Warnings};

/// Section of the on/off switches.
pub const PLUGINS_SECTION: &str = "plugins";
/// Prefix of the per-plugin sections (`[plugin:NAME]`).
pub const PLUGIN_SECTION_PREFIX: &str = "plugin:";
/// The internal proc plugin's section (module switches).
pub const PROC_SECTION: &str = "plugin:proc";
/// Keys read in an external plugin's section.
pub const PLUGIN_SECTION_KEYS: &[&str] = &["update every", "command options"];

/// Netdata's stock plugins directory (upstream install layout).
pub const DEFAULT_PLUGINS_DIR: &str = "/usr/libexec/netdata/plugins.d";

/// `[plugin:NAME]` of an external plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSection {
    pub name: String,
    pub update_every: Option<u32>,
    pub command_options: Option<String>,
}

/// Collector settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginsConf {
    /// `[plugins] enable running new plugins`.
    pub enable_running_new_plugins: bool,
    /// `[plugins] check for new plugins every` (seconds, ≥ 1).
    pub check_for_new_plugins_every: u64,
    /// Every other `[plugins]` key: plugin name → enabled.
    pub switches: Vec<(String, bool)>,
    /// `[plugin:proc]` module switches (module name → enabled).
    pub proc_modules: Vec<(String, bool)>,
    /// `[plugin:NAME]` sections of external plugins.
    pub sections: Vec<PluginSection>,
}

impl Default for PluginsConf {
    fn default() -> Self {
        PluginsConf {
            enable_running_new_plugins: true,
            check_for_new_plugins_every: 60,
            switches: Vec::new(),
            proc_modules: Vec::new(),
            sections: Vec::new(),
        }
    }
}

impl PluginsConf {
    fn switch(&self, name: &str) -> Option<bool> {
        self.switches.iter().rev().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Is the external plugin `NAME` (file `NAME.plugin`) to be run?
    pub fn external_enabled(&self, name: &str) -> bool {
        let default = match name {
            "slabinfo" => false,
            _ => self.enable_running_new_plugins,
        };
        self.switch(name).unwrap_or(default)
    }

    /// Is the internal plugin `name` (`proc`, …) on? Internal plugins default to on,
    /// whatever `enable running new plugins` says.
    pub fn internal_enabled(&self, name: &str) -> bool {
        self.switch(name).unwrap_or(true)
    }

    /// Is the proc plugin's module (`/proc/stat`, `/proc/net/dev`, …) on?
    pub fn proc_module_enabled(&self, module: &str) -> bool {
        let default = module != "/proc/pagetypeinfo";
        self.proc_modules.iter().rev().find(|(n, _)| n == module).map_or(default, |(_, v)| *v)
    }

    fn section(&self, name: &str) -> Option<&PluginSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// `[plugin:NAME] update every`, else `global`.
    pub fn update_every(&self, name: &str, global: u32) -> u32 {
        self.section(name).and_then(|s| s.update_every).unwrap_or(global)
    }

    /// `[plugin:NAME] command options` (words appended to the command line).
    pub fn command_options(&self, name: &str) -> &str {
        self.section(name).and_then(|s| s.command_options.as_deref()).unwrap_or("")
    }
}

/// Splits a list of paths the way Netdata splits `[directories] plugins`: words
/// separated by blanks, a word may be quoted with `"` or `'` (then it may hold blanks).
/// Written here because it is eight lines and no crate splits with exactly these rules
/// (shell-word crates also process backslashes).
pub fn split_quoted_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' || c == '\'' {
            chars.next();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                word.push(d);
            }
        } else {
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() {
                    break;
                }
                word.push(d);
                chars.next();
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// The plugin directories: `[directories] plugins` when set, else Netdata's default
/// (the stock directory, then `CONFIG_DIR/custom-plugins.d`).
pub fn plugin_dirs(doc: &Document, config_dir: &Path) -> Vec<PathBuf> {
    match doc.get("directories", "plugins") {
        Some(e) => split_quoted_list(&e.value).iter().map(|p| reader::absolute(p)).collect(),
        None => vec![PathBuf::from(DEFAULT_PLUGINS_DIR), config_dir.join("custom-plugins.d")],
    }
}

fn read_external_section(section: &Section, name: &str, w: &mut Warnings) -> Result<PluginSection, ConfigError> {
    let mut s = PluginSection { name: name.to_string(), update_every: None, command_options: None };
    if let Some(e) = section.get("update every") {
        s.update_every = Some(reader::number_u32(e, 1, 600, OutOfRange::Clamp, w)?);
    }
    if let Some(e) = section.get("command options") {
        s.command_options = Some(e.value.clone());
    }
    Ok(s)
}

/// Reads `[plugins]` and the `[plugin:NAME]` sections (`NAME` without further `:`).
pub fn read(doc: &Document, w: &mut Warnings) -> Result<PluginsConf, ConfigError> {
    let mut c = PluginsConf::default();
    for section in doc.sections() {
        if section.name == PLUGINS_SECTION {
            for (key, e) in &section.entries {
                match key.as_str() {
                    "enable running new plugins" => c.enable_running_new_plugins = reader::boolean(e),
                    "check for new plugins every" => {
                        c.check_for_new_plugins_every =
                            reader::number(e, 1, i64::MAX, OutOfRange::Clamp, w)?.try_into().unwrap_or(60);
                    }
                    name => c.switches.push((name.to_string(), reader::boolean(e))),
                }
            }
        } else if section.name == PROC_SECTION {
            c.proc_modules.extend(section.entries.iter().map(|(k, e)| (k.clone(), reader::boolean(e))));
        } else if let Some(name) = external_section_name(&section.name) {
            c.sections.push(read_external_section(section, name, w)?);
        }
    }
    Ok(c)
}

/// `NAME` of a `[plugin:NAME]` section of an external plugin (not `proc`, not a
/// `plugin:proc:/module` sub-section).
pub fn external_section_name(section: &str) -> Option<&str> {
    let name = section.strip_prefix(PLUGIN_SECTION_PREFIX)?;
    (!name.is_empty() && !name.contains(':') && name != "proc").then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> (PluginsConf, Vec<String>) {
        let mut w = Warnings::default();
        let c = read(&Document::parse(text, "/x/netdata.conf"), &mut w).expect("reads");
        (c, w.0)
    }

    #[test]
    fn defaults_are_netdatas() {
        let (c, w) = conf("");
        assert!(w.is_empty());
        assert!(c.enable_running_new_plugins);
        assert_eq!(c.check_for_new_plugins_every, 60);
        assert!(c.external_enabled("apps") && c.external_enabled("go.d"));
        assert!(!c.external_enabled("slabinfo"));
        assert!(c.internal_enabled("proc"));
        assert!(c.proc_module_enabled("/proc/stat") && c.proc_module_enabled("/proc/net/dev"));
        assert!(!c.proc_module_enabled("/proc/pagetypeinfo"));
        assert_eq!(c.update_every("apps", 3), 3);
        assert_eq!(c.command_options("apps"), "");
    }

    #[test]
    fn switches_sections_and_options() {
        let (c, w) = conf(
            "[plugins]\nenable running new plugins = no\ncheck for new plugins every = 0\n\
             apps = yes\nproc = no\nslabinfo = yes\n\
             [plugin:proc]\n/proc/diskstats = no\n/proc/pagetypeinfo = yes\n\
             [plugin:apps]\nupdate every = 5\ncommand options = --x 1\n\
             [plugin:proc:/proc/diskstats]\nexclude disks = sd*\n",
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("check for new plugins every: 0 is outside"));
        assert_eq!(c.check_for_new_plugins_every, 1);
        assert!(c.external_enabled("apps") && c.external_enabled("slabinfo"));
        assert!(!c.external_enabled("go.d"), "new plugins off");
        assert!(!c.internal_enabled("proc"));
        assert!(!c.proc_module_enabled("/proc/diskstats") && c.proc_module_enabled("/proc/pagetypeinfo"));
        assert_eq!((c.update_every("apps", 1), c.command_options("apps")), (5, "--x 1"));
        assert_eq!(c.sections.len(), 1, "plugin:proc:… is not an external plugin's section");
    }

    #[test]
    fn plugin_update_every_is_validated() {
        let mut w = Warnings::default();
        let e = read(&Document::parse("[plugin:x]\nupdate every = soon\n", "/x/netdata.conf"), &mut w);
        assert!(e.is_err());
        let (c, w) = conf("[plugin:x]\nupdate every = 9000\n");
        assert_eq!((c.update_every("x", 1), w.len()), (600, 1));
    }

    #[test]
    fn quoted_directory_lists() {
        assert_eq!(split_quoted_list(r#""/a b/c" /d   '/e f' "#), ["/a b/c", "/d", "/e f"]);
        assert_eq!(split_quoted_list(""), Vec::<String>::new());
        assert_eq!(split_quoted_list(r#""" x "unterminated"#), ["x", "unterminated"]);
        let doc = Document::parse("", "/x");
        assert_eq!(
            plugin_dirs(&doc, Path::new("/etc/netdata")),
            [PathBuf::from(DEFAULT_PLUGINS_DIR), PathBuf::from("/etc/netdata/custom-plugins.d")]
        );
        let doc = Document::parse("[directories]\nplugins = \"/p 1\" /q\n", "/x");
        assert_eq!(plugin_dirs(&doc, Path::new("/etc/netdata")), [PathBuf::from("/p 1"), PathBuf::from("/q")]);
    }
}
