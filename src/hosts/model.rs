//! Constructors and lookups on the shared host model (`Host`, `Chart`, `Dimension`).
//!
//! Invariants kept by these helpers: `Host::chart_index` maps a chart's full id bytes to
//! its index in `Host::charts`; `Chart::dim_index` maps a dimension id to its index in
//! `Chart::dims`, which is also its storage column.

use std::collections::HashMap;

use compact_str::CompactString;

use strata_storage::{ChartStore, StoreError};

use crate::config::HealthSetting;

use super::names::{sanitize_name, split_type_id};
use super::{collect, Algorithm, Chart, ChartType, Dimension, Host, HostInfo, IdIndex, Keyed, MemoryMode};

impl Host {
    /// An empty host (no charts, labels, variables or claim id), not connected.
    pub fn new(info: HostInfo, memory_mode: MemoryMode, history: u32) -> Host {
        Host {
            info,
            memory_mode,
            history,
            files_dir: None,
            engine: None,
            labels: Vec::new(),
            claim_id: None,
            variables: Vec::new(),
            charts: Vec::new(),
            chart_index: IdIndex::default(),
            chart_names: HashMap::default(),
            connected: false,
            connected_at: 0,
            disconnected_at: 0,
            created_seq: 0,
            is_localhost: false,
            health: HealthSetting::Auto,
            health_enabled: false,
        }
    }

    /// Re-evaluates [`Host::health_enabled`] from the setting and the connection state.
    pub fn update_health(&mut self) {
        self.health_enabled = match self.health {
            HealthSetting::Yes => true,
            HealthSetting::No => false,
            HealthSetting::Auto => self.connected,
        };
    }

    /// Index of a chart by its full `type.id` (see [`IdIndex`] for ids that are not UTF-8).
    pub fn chart_idx(&self, id: &[u8]) -> Option<usize> {
        self.chart_index.get(&self.charts, id)
    }

    /// Indexes the newest chart (`charts.last()`) by its id.
    pub fn index_last_chart(&mut self) {
        self.chart_index.insert(&self.charts, self.charts.len().wrapping_sub(1));
    }

    /// A chart by its full `type.id`.
    pub fn chart(&self, id: &str) -> Option<&Chart> {
        self.chart_idx(id.as_bytes()).and_then(|i| self.charts.get(i))
    }

    /// A chart by its full `type.id`, mutable.
    pub fn chart_mut(&mut self, id: &str) -> Option<&mut Chart> {
        self.chart_idx(id.as_bytes()).and_then(|i| self.charts.get_mut(i))
    }

    /// A chart by its display name (`type.name`).
    pub fn chart_by_name(&self, name: &str) -> Option<&Chart> {
        self.chart_names.get(name).and_then(|&i| self.charts.get(i))
    }

    /// Total dimensions over all charts.
    pub fn dimension_count(&self) -> usize {
        self.charts.iter().map(|c| c.dims.len()).sum()
    }

    /// Values (not gaps) stored over all charts.
    pub fn points_stored(&self) -> u64 {
        self.charts.iter().map(|c| c.store.points_stored()).sum()
    }

    /// Collected values (samples a child delivered in completed `BEGIN`…`END` blocks)
    /// over all charts, whatever the memory mode keeps of them.
    pub fn values_collected(&self) -> u64 {
        self.charts.iter().map(|c| c.clock.values_collected).sum()
    }

    /// Value of a host variable.
    pub fn variable(&self, name: &str) -> Option<f64> {
        self.variables.iter().find(|v| v.name == name).map(|v| v.value)
    }
}

impl Chart {
    /// A chart with `CHART` defaults for everything but its id: display name `type.id`
    /// sanitised, empty title, units `unknown`, family = type, context = id, `line`,
    /// priority 1000, plugin empty, no dimensions, clock marked for resync.
    pub fn new(id: &str, update_every: u32, store: ChartStore) -> Chart {
        let type_ = split_type_id(id.as_bytes()).map_or(id, |(t, _)| &id[..t.len()]);
        Chart {
            id: id.into(),
            type_: type_.into(),
            name: sanitize_name(id.as_bytes()).into(),
            title: CompactString::default(),
            units: "unknown".into(),
            family: type_.into(),
            context: id.into(),
            chart_type: ChartType::Line,
            priority: 1000,
            update_every: update_every.clamp(1, collect::MAX_UPDATE_EVERY),
            obsolete: false,
            detail: false,
            store_first: false,
            hidden: false,
            plugin: CompactString::default(),
            module: None,
            labels: Vec::new(),
            variables: Vec::new(),
            dims: Vec::new(),
            dim_index: IdIndex::default(),
            clock: collect::ChartClock::new_chart(),
            store,
        }
    }

    /// Adds a dimension (and its storage column) keyed by the raw id bytes; returns its
    /// index, and a storage note to log (a file-backed store that had to move to memory).
    /// An existing id returns the existing index unchanged.
    pub fn add_dimension(
        &mut self,
        id: &[u8],
        algorithm: Algorithm,
        multiplier: i64,
        divisor: i64,
    ) -> (usize, Option<StoreError>) {
        if let Some(i) = self.dim_idx(id) {
            return (i, None);
        }
        let (_, note) = self.store.add_column(id);
        let mut d = Dimension::new(&String::from_utf8_lossy(id));
        d.algorithm = algorithm;
        d.multiplier = if multiplier == 0 { 1 } else { multiplier };
        d.divisor = if divisor == 0 { 1 } else { divisor };
        self.dims.push(d);
        let i = self.dims.len() - 1;
        self.dim_index.insert(&self.dims, i);
        (i, note)
    }

    /// Index (= storage column) of a dimension by id (see [`IdIndex`] for ids that are not
    /// UTF-8).
    pub fn dim_idx(&self, id: &[u8]) -> Option<usize> {
        self.dim_index.get(&self.dims, id)
    }

    /// A dimension by id.
    pub fn dim(&self, id: &str) -> Option<&Dimension> {
        self.dim_idx(id.as_bytes()).and_then(|i| self.dims.get(i))
    }

    /// Value of a chart variable.
    pub fn variable(&self, name: &str) -> Option<f64> {
        self.variables.iter().find(|v| v.name == name).map(|v| v.value)
    }
}

impl Keyed for Chart {
    fn key(&self) -> &[u8] {
        self.id.as_bytes()
    }
}

impl Keyed for Dimension {
    fn key(&self) -> &[u8] {
        self.id().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dimension_keeps_its_name_only_when_it_differs_from_its_id() {
        let mut d = Dimension::new("received");
        assert_eq!((d.id(), d.name()), ("received", "received"));
        d.set_name("in");
        assert_eq!((d.id(), d.name(), d.key()), ("received", "in", &b"received"[..]));
        d.set_name("a name longer than the twenty-four inline bytes");
        assert_eq!((d.id(), d.name()), ("received", "a name longer than the twenty-four inline bytes"));
        d.set_name("");
        assert_eq!((d.id(), d.name()), ("received", "received"), "an empty name is the id, as in Netdata");
        d.set_name("Ω");
        d.set_name("received");
        assert_eq!((d.id(), d.name()), ("received", "received"));
        let mut u = Dimension::new("ünï");
        u.set_name("ü");
        assert_eq!((u.id(), u.name()), ("ünï", "ü"));
    }

    /// (What a collection leaves in `last_collected()` is tested in `collect`.)
    #[test]
    fn a_new_dimension_takes_its_definition_and_has_collected_nothing() {
        let mut c = Chart::new("net.eth0", 1, ChartStore::None);
        let (i, _) = c.add_dimension(b"received", Algorithm::Incremental, 8, 1000);
        assert_eq!(c.dims[i].last_collected(), 0, "nothing collected yet");
        assert_eq!((c.dims[i].multiplier, c.dims[i].divisor, c.dims[i].algorithm), (8, 1000, Algorithm::Incremental));
        let (j, _) = c.add_dimension(b"sent", Algorithm::Incremental, 0, 0);
        assert_eq!((c.dims[j].multiplier, c.dims[j].divisor), (1, 1), "0 means 1, as in Netdata");
        assert_eq!(c.add_dimension(b"received", Algorithm::Absolute, 1, 1).0, i, "an existing id is not added again");
    }
}
