//! Per-shard host registry: hosts → charts → dimensions, with labels, variables and
//! claim id, as received from children (spec streaming-protocol.md §4, §5.2).
//!
//! Owns: every `Host` of one shard. Invariants: a host is keyed by its lower-case
//! machine GUID and lives on exactly one shard (hash(guid) mod N); chart and dimension
//! ids are unique within their parent and at most `MAX_ID_LEN` bytes; `Chart::dims` and
//! the chart's storage keep the same index order (dimension `i` is column `i`).
//! Nothing here does I/O itself (the `save` and `map` stores read and write their files
//! inside strata-storage when a chart is created) or knows about sockets.

pub mod apply;
pub mod collect;
pub mod files;
mod id_index;
mod model;
pub mod names;
pub mod registry;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;

use compact_str::CompactString;
use strata_storage::{ChartStore, Engine};

use crate::config::HealthSetting;

pub use apply::{ReceiverSession, SessionError, SessionWarning};
pub use id_index::{IdIndex, Keyed};
pub use registry::{Acquired, HostId, HostRegistry, RegistryStats};

/// Storage memory mode of a host (`[global] memory mode`, stream.conf overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryMode {
    /// Nothing stored; the host is not served by the API.
    None,
    /// A ring of `history` slots per dimension, in memory.
    Ram,
    /// The `ram` ring, written to files on a clean exit and loaded again on start.
    Save,
    /// The `ram` ring inside shared memory maps of its files (survives a crash).
    Map,
    /// Blocks of slots in the shard's dbengine (page cache, then datafiles).
    DbEngine,
}

impl MemoryMode {
    pub fn name(self) -> &'static str {
        match self {
            MemoryMode::None => "none",
            MemoryMode::Ram => "ram",
            MemoryMode::Save => "save",
            MemoryMode::Map => "map",
            MemoryMode::DbEngine => "dbengine",
        }
    }

    /// Whether the host's charts keep files (`<cache directory>/<machine guid>/`).
    pub fn has_files(self) -> bool {
        matches!(self, MemoryMode::Save | MemoryMode::Map)
    }
}

/// One label (host label or chart label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    pub value: String,
    /// Opaque source integer as sent by the child (v1.37 bit flags or v1.29 enum).
    pub source: i64,
}

/// A custom host or chart variable (`VARIABLE` lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub value: f64,
}

/// Netdata chart types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartType {
    Line,
    Area,
    Stacked,
}

impl ChartType {
    pub fn name(self) -> &'static str {
        match self {
            ChartType::Line => "line",
            ChartType::Area => "area",
            ChartType::Stacked => "stacked",
        }
    }
}

/// Netdata dimension algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Absolute,
    Incremental,
    PercentageOfAbsoluteRow,
    PercentageOfIncrementalRow,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Absolute => "absolute",
            Algorithm::Incremental => "incremental",
            Algorithm::PercentageOfAbsoluteRow => "percentage-of-absolute-row",
            Algorithm::PercentageOfIncrementalRow => "percentage-of-incremental-row",
        }
    }
}

/// Identity and system facts of a host, from the STREAM handshake (or, for localhost,
/// from the daemon itself). Applied again on every reconnect (REC-11).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostInfo {
    /// Lower-case 8-4-4-4-12 GUID.
    pub machine_guid: String,
    pub hostname: String,
    pub registry_hostname: String,
    pub os: String,
    pub timezone: String,
    pub abbrev_timezone: String,
    pub utc_offset: i64,
    pub tags: Option<String>,
    pub program_name: String,
    pub program_version: String,
    pub hops: i64,
    /// `update_every` the child announced (or the parent default).
    pub update_every: u32,
    /// `NETDATA_*` system info as stored (`NETDATA_SYSTEM_OS_*` renamed to
    /// `NETDATA_HOST_OS_*`), in arrival order, empty values skipped.
    pub system_info: Vec<(String, String)>,
}

impl HostInfo {
    /// Value of a stored system-info key (`NETDATA_HOST_OS_NAME`, …).
    pub fn system(&self, key: &str) -> Option<&str> {
        self.system_info.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A host: the parent's own (localhost) or one pushed by a child.
#[derive(Debug)]
pub struct Host {
    pub info: HostInfo,
    pub memory_mode: MemoryMode,
    /// Slots per dimension for `ram`, `save` and `map`.
    pub history: u32,
    /// Where the `save` / `map` files of this host's charts live
    /// (`<cache directory>/<machine guid>`); without it those modes keep charts in memory.
    pub files_dir: Option<PathBuf>,
    /// The shard's engine, for `dbengine` hosts.
    pub engine: Option<Engine>,
    pub labels: Vec<Label>,
    pub claim_id: Option<String>,
    pub variables: Vec<Variable>,
    pub charts: Vec<Chart>,
    pub chart_index: IdIndex,
    /// Display-name index (`type.name`), used by API lookups by name.
    pub chart_names: HashMap<String, usize, ahash::RandomState>,
    /// Receiver currently attached (a child is connected).
    pub connected: bool,
    /// Unix seconds of the last connect / disconnect (0 = never).
    pub connected_at: i64,
    pub disconnected_at: i64,
    /// Monotonic order of first creation on this shard (API host ordering).
    pub created_seq: u64,
    /// `true` for the parent's own host.
    pub is_localhost: bool,
    /// `health enabled by default` / `health enabled` as configured for this host.
    pub health: HealthSetting,
    /// Whether alarms are evaluated now: `yes` always, `no` never, `auto` while a child
    /// is connected (REC-13: on at every connect, off at every disconnect).
    pub health_enabled: bool,
}

/// One chart of a host.
#[derive(Debug)]
pub struct Chart {
    /// Full `type.id`. The chart's strings are inline up to 24 bytes (most of them):
    /// a parent holds one chart per few collected metrics.
    pub id: CompactString,
    /// The part before the first `.`.
    pub type_: CompactString,
    /// Display name `type.name`, sanitised (non-alphanumerics other than `.` → `_`).
    pub name: CompactString,
    pub title: CompactString,
    pub units: CompactString,
    pub family: CompactString,
    pub context: CompactString,
    pub chart_type: ChartType,
    pub priority: i64,
    pub update_every: u32,
    pub obsolete: bool,
    pub detail: bool,
    pub store_first: bool,
    pub hidden: bool,
    pub plugin: CompactString,
    pub module: Option<CompactString>,
    pub labels: Vec<Label>,
    pub variables: Vec<Variable>,
    pub dims: Vec<Dimension>,
    pub dim_index: IdIndex,
    /// Collection clock and per-chart algorithm state (dbengine-facts.md §2).
    pub clock: collect::ChartClock,
    /// Stored slots, one column per dimension, same order as `dims`.
    pub store: ChartStore,
}

/// One dimension of a chart.
#[derive(Debug)]
pub struct Dimension {
    /// The id, followed by the display name only when that differs from the id (nearly
    /// always they are equal): one string, inline when up to 24 bytes (nearly all), so no
    /// allocation, and `SET`'s id check reads the dimension's own cache line.
    names: CompactString,
    /// Bytes of `names` that are the id (a char boundary).
    id_len: u32,
    pub algorithm: Algorithm,
    pub multiplier: i64,
    pub divisor: i64,
    pub hidden: bool,
    pub obsolete: bool,
    /// `noreset` / `nooverflow`: decreases are not flagged as resets.
    pub noreset: bool,
    /// Per-dimension algorithm state (value, prev, count, carry, …).
    pub state: collect::DimState,
    /// Collection time (µs) of the last raw collected value ([`Dimension::last_collected`]),
    /// for allmetrics "as collected".
    pub last_collected_ut: i64,
}

impl Dimension {
    /// A dimension `id` (named `id`) with `DIMENSION`'s defaults: `absolute`, multiplier
    /// and divisor 1, no options, nothing collected.
    pub fn new(id: &str) -> Dimension {
        Dimension {
            names: CompactString::from(id),
            id_len: u32::try_from(id.len()).unwrap_or(u32::MAX),
            algorithm: Algorithm::Absolute,
            multiplier: 1,
            divisor: 1,
            hidden: false,
            obsolete: false,
            noreset: false,
            state: collect::DimState::default(),
            last_collected_ut: 0,
        }
    }

    /// The last raw value collected (`SET`) in a completed collection; 0 before the first.
    /// It is the algorithms' previous value, kept once rather than twice.
    pub fn last_collected(&self) -> i64 {
        self.state.prev
    }

    /// The dimension's id.
    pub fn id(&self) -> &str {
        self.names.get(..self.id_len as usize).unwrap_or(&self.names)
    }

    /// The display name (the id unless `DIMENSION` gave another one).
    pub fn name(&self) -> &str {
        match self.names.get(self.id_len as usize..) {
            Some(name) if !name.is_empty() => name,
            _ => self.id(),
        }
    }

    /// Sets the display name; an empty name means the id, as in Netdata.
    pub fn set_name(&mut self, name: &str) {
        if name.is_empty() || name == self.id() {
            self.names.truncate(self.id_len as usize);
        } else {
            let mut names = CompactString::with_capacity(self.id_len as usize + name.len());
            names.push_str(self.id());
            names.push_str(name);
            self.names = names;
        }
    }
}
