//! Applies parsed stream commands to a host (streaming-protocol.md §4.2, §4.3).
//!
//! Owns: [`ReceiverSession`], the per-connection parser state (negotiated version, client
//! address, current chart, pending host and chart labels, SET hint, counters), and the
//! stateful FATAL / WARN outcomes ([`SessionError`], [`SessionWarning`]). Syntax errors
//! belong to the parser; everything that needs the host or the session is decided here.
//!
//! Invariants: `current` is an index into `Host::charts` (charts are not removed while a
//! session is attached; an index that no longer exists reads as "no current chart");
//! no command sequence panics; `SET` does not allocate (hint index, then the chart's `IdIndex`).
//!
//! Choices where the spec is silent: duplicate `CLABEL` names in one batch keep the last
//! value (as LABEL); empty LABEL / CLABEL names are WARN-ignored; at most
//! [`MAX_PENDING_LABELS`] labels are kept pending (more are WARN-ignored); `CHART`
//! `update_every` is capped at [`collect::MAX_UPDATE_EVERY`] and a change of it resets
//! the chart clock (the ram ring drops its data anyway); a new chart whose display name
//! is taken falls back to its sanitised id (v1.29.3), and keeps that name even when it
//! is taken too (the name index then keeps pointing at the older chart).

use std::mem;

use compact_str::CompactString;
use strata_storage::prefetch::prefetch;
use thiserror::Error;

use super::names::{chart_display_name, contains, lossy, sanitize_name, split_type_id, truncate_id};
use super::{collect, store};
use super::{Algorithm, Chart, ChartType, Host, Label, Variable};
use crate::stream::command::{ChartLine, Command, DimensionLine, LabelValue, VariableScope};

/// At most this many host (or chart) labels wait for OVERWRITE (CLABEL_COMMIT).
pub const MAX_PENDING_LABELS: usize = 4096;

/// A stateful FATAL: the receiver must log it and close the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    #[error("CHART without a valid type.id ('{0}')")]
    InvalidChartId(String),
    #[error("DIMENSION without a CHART")]
    DimensionWithoutChart,
    #[error("DIMENSION with an empty id on chart '{chart}'")]
    EmptyDimensionId { chart: String },
    #[error("BEGIN on chart '{0}' which does not exist")]
    UnknownChart(String),
    #[error("SET without a dimension id")]
    SetWithoutId,
    #[error("SET without a BEGIN")]
    SetWithoutBegin,
    #[error("SET to dimension '{dimension}' which does not exist on chart '{chart}'")]
    UnknownDimension { dimension: String, chart: String },
    #[error("END without a BEGIN")]
    EndWithoutBegin,
    #[error("VARIABLE without a name")]
    VariableWithoutName,
    #[error("{keyword} is not supported at stream version {version}")]
    NotAtThisVersion { keyword: &'static str, version: u32 },
    #[error("CLABEL without a chart")]
    ChartLabelWithoutChart,
    #[error("CLABEL_COMMIT without a chart")]
    ChartLabelCommitWithoutChart,
    #[error("CLABEL_COMMIT with nothing pending")]
    ChartLabelCommitNothingPending,
}

/// A WARN: log it and continue.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionWarning {
    #[error("VARIABLE CHART '{0}' without an open chart, ignored")]
    ChartVariableWithoutChart(String),
    #[error("claim id is for host '{claimed}' but came over the connection for '{host}', ignored")]
    ClaimedIdForOtherHost { claimed: String, host: String },
    #[error("ignoring malformed or empty LABEL command")]
    MalformedLabel,
    #[error("ignoring CLABEL with an empty name")]
    MalformedChartLabel,
    #[error("too many pending labels (more than {MAX_PENDING_LABELS}), label '{0}' ignored")]
    TooManyPendingLabels(String),
    #[error("chart '{chart}': {count} slot(s) not stored (not after the last stored slot)")]
    SlotsRejected { chart: String, count: u64 },
    /// A `save` / `map` file note (not used, set aside, or the chart kept in memory).
    #[error("{0}")]
    Storage(String),
}

/// Parser state of one receiving connection.
#[derive(Debug, Clone)]
pub struct ReceiverSession {
    /// Negotiated legacy stream version.
    pub version: u32,
    /// Client address `ip:port` (default plugin name of its charts); `plugin` when unknown.
    pub client: String,
    /// The connection's default `update_every` (seconds, ≥ 1).
    pub update_every: u32,
    /// `END`s processed.
    pub completed_updates: u64,
    /// Values (not gaps) produced by this session's `END`s (kept by the store unless the
    /// host's memory mode is `none`).
    pub points: u64,
    current: Option<usize>,
    hint: usize,
    pending_host_labels: Vec<Label>,
    pending_chart_labels: Vec<Label>,
}

impl Default for ReceiverSession {
    fn default() -> Self {
        ReceiverSession::new(0, "plugin", 1)
    }
}

/// Bytes as a chart string (invalid UTF-8 replaced).
fn compact(b: &[u8]) -> CompactString {
    CompactString::from_utf8_lossy(b)
}

fn nonempty(o: Option<&[u8]>) -> Option<&[u8]> {
    o.filter(|b| !b.is_empty())
}

fn upsert_variable(vars: &mut Vec<Variable>, name: String, value: f64) -> bool {
    match vars.iter_mut().find(|v| v.name == name) {
        Some(v) => {
            let changed = v.value.to_bits() != value.to_bits();
            v.value = value;
            changed
        }
        None => {
            vars.push(Variable { name, value });
            true
        }
    }
}

/// Appends a pending label; a repeated name replaces the earlier value (last wins).
fn push_label(pending: &mut Vec<Label>, label: Label) -> Option<SessionWarning> {
    if let Some(l) = pending.iter_mut().find(|l| l.name == label.name) {
        *l = label;
        return None;
    }
    if pending.len() >= MAX_PENDING_LABELS {
        return Some(SessionWarning::TooManyPendingLabels(label.name));
    }
    pending.push(label);
    None
}

fn parse_algorithm(a: Option<&[u8]>) -> Algorithm {
    match a {
        Some(b"incremental") => Algorithm::Incremental,
        Some(b"percentage-of-absolute-row") => Algorithm::PercentageOfAbsoluteRow,
        Some(b"percentage-of-incremental-row") => Algorithm::PercentageOfIncrementalRow,
        _ => Algorithm::Absolute,
    }
}

impl ReceiverSession {
    /// A session at negotiated `version`, for a client `ip:port`, with the connection's
    /// default `update_every` (0 is taken as 1).
    pub fn new(version: u32, client: impl Into<String>, update_every: u32) -> Self {
        ReceiverSession {
            version,
            client: client.into(),
            update_every: update_every.clamp(1, collect::MAX_UPDATE_EVERY),
            completed_updates: 0,
            points: 0,
            current: None,
            hint: 0,
            pending_host_labels: Vec::new(),
            pending_chart_labels: Vec::new(),
        }
    }

    /// Index (in `Host::charts`) of the current chart.
    pub fn current_chart(&self) -> Option<usize> {
        self.current
    }

    /// Host labels waiting for `OVERWRITE`.
    pub fn pending_host_labels(&self) -> &[Label] {
        &self.pending_host_labels
    }

    /// Chart labels waiting for `CLABEL_COMMIT`.
    pub fn pending_chart_labels(&self) -> &[Label] {
        &self.pending_chart_labels
    }

    fn current_idx(&self, host: &Host) -> Option<usize> {
        self.current.filter(|&i| i < host.charts.len())
    }

    /// Applies one command to the connection's host. `now_us` is the parent's wall clock
    /// (µs since the epoch). `Err` is FATAL (close the connection), `Ok(Some(_))` a WARN.
    pub fn apply(
        &mut self,
        host: &mut Host,
        cmd: Command<'_>,
        now_us: i64,
    ) -> Result<Option<SessionWarning>, SessionError> {
        match cmd {
            Command::Chart(line) => self.chart(host, &line, now_us.div_euclid(1_000_000)),
            Command::Dimension(line) => self.dimension(host, &line),
            Command::Begin { chart, microseconds } => {
                let id = truncate_id(chart);
                let idx = host.chart_idx(id).ok_or_else(|| SessionError::UnknownChart(lossy(id)))?;
                // Children send their charts in the same order every time: the next
                // BEGIN most likely names the next chart.
                prefetch(host.charts.as_ptr().wrapping_add(idx + 1));
                if let Some(c) = host.charts.get_mut(idx) {
                    if c.dims.capacity() > c.dims.len() {
                        // The definition is complete: a parent keeps one dimension per
                        // collected metric, so no spare capacity is kept (checked per
                        // BEGIN, done once per definition).
                        c.dims.shrink_to_fit();
                        c.store.shrink_to_fit();
                    }
                    // The SETs that follow start with the first dimensions.
                    prefetch(c.dims.as_ptr());
                    prefetch(c.dims.as_ptr().wrapping_add(1));
                    c.store.prefetch();
                    collect::begin(c, microseconds, now_us);
                }
                self.current = Some(idx);
                self.hint = 0;
                Ok(None)
            }
            Command::Set { dimension, value } => self.set(host, dimension, value).map(|()| None),
            Command::End => {
                let idx = self.current_idx(host).ok_or(SessionError::EndWithoutBegin)?;
                self.current = None;
                let Some(chart) = host.charts.get_mut(idx) else {
                    return Err(SessionError::EndWithoutBegin);
                };
                let out = collect::end(chart, now_us);
                self.completed_updates += 1;
                self.points += out.values;
                Ok((out.rejected > 0)
                    .then(|| SessionWarning::SlotsRejected { chart: chart.id.to_string(), count: out.rejected }))
            }
            Command::Flush => {
                if let Some(c) = self.current.take().and_then(|i| host.charts.get_mut(i)) {
                    collect::flush(c);
                }
                Ok(None)
            }
            Command::Variable { scope, name, value } => self.variable(host, scope, name, value),
            Command::Label { name, source, value } => Ok(self.label(name, source, value)),
            Command::Overwrite => {
                host.labels = mem::take(&mut self.pending_host_labels);
                Ok(None)
            }
            Command::ClaimedId { machine_guid, claim_id } => {
                if !machine_guid.eq_ignore_ascii_case(host.info.machine_guid.as_bytes()) {
                    return Ok(Some(SessionWarning::ClaimedIdForOtherHost {
                        claimed: lossy(machine_guid),
                        host: host.info.machine_guid.clone(),
                    }));
                }
                host.claim_id = claim_id.map(lossy);
                Ok(None)
            }
            Command::ChartLabel { name, value, source } => {
                self.require_version("CLABEL")?;
                if self.current_idx(host).is_none() {
                    return Err(SessionError::ChartLabelWithoutChart);
                }
                if name.is_empty() {
                    return Ok(Some(SessionWarning::MalformedChartLabel));
                }
                Ok(push_label(&mut self.pending_chart_labels, Label { name: lossy(name), value: lossy(value), source }))
            }
            Command::ChartLabelCommit => {
                self.require_version("CLABEL_COMMIT")?;
                let idx = self.current_idx(host).ok_or(SessionError::ChartLabelCommitWithoutChart)?;
                if self.pending_chart_labels.is_empty() {
                    return Err(SessionError::ChartLabelCommitNothingPending);
                }
                if let Some(c) = host.charts.get_mut(idx) {
                    c.labels = mem::take(&mut self.pending_chart_labels);
                    c.clock.definition_dirty = true;
                }
                Ok(None)
            }
        }
    }

    fn require_version(&self, keyword: &'static str) -> Result<(), SessionError> {
        if self.version < 4 {
            return Err(SessionError::NotAtThisVersion { keyword, version: self.version });
        }
        Ok(())
    }

    fn chart(
        &mut self,
        host: &mut Host,
        line: &ChartLine<'_>,
        now_s: i64,
    ) -> Result<Option<SessionWarning>, SessionError> {
        let type_id = truncate_id(line.type_id);
        let (ty, id) = split_type_id(type_id).ok_or_else(|| SessionError::InvalidChartId(lossy(line.type_id)))?;
        let update_every = match line.update_every {
            Some(v) if v > 0 => u32::try_from(v).unwrap_or(u32::MAX).min(collect::MAX_UPDATE_EVERY),
            _ => self.update_every,
        };
        let mut note = None;
        let (idx, is_new) = match host.chart_idx(type_id) {
            Some(i) if i < host.charts.len() => (i, false),
            _ => {
                let (store, n) = store::for_new_chart(host, type_id, update_every, now_s);
                note = n.map(|e| SessionWarning::Storage(e.to_string()));
                host.charts.push(Chart::new(&lossy(type_id), update_every, store));
                let i = host.charts.len() - 1;
                host.index_last_chart();
                (i, true)
            }
        };

        let desired = chart_display_name(ty, id, type_id, line.name);
        Self::assign_chart_name(host, idx, desired, sanitize_name(type_id), is_new);

        let Some(chart) = host.charts.get_mut(idx) else {
            return Err(SessionError::InvalidChartId(lossy(line.type_id)));
        };
        chart.title = line.title.map(compact).unwrap_or_default();
        chart.units = line.units.map_or_else(|| "unknown".into(), compact);
        chart.family = nonempty(line.family).map_or_else(|| compact(ty), compact);
        chart.context = nonempty(line.context).map_or_else(|| compact(type_id), compact);
        chart.chart_type = match line.chart_type {
            Some(b"area") => ChartType::Area,
            Some(b"stacked") => ChartType::Stacked,
            _ => ChartType::Line,
        };
        chart.priority = line.priority.unwrap_or(1000);
        if chart.update_every != update_every {
            chart.update_every = update_every;
            chart.store.set_update_every(update_every);
            collect::reset(chart);
        }
        match nonempty(line.options) {
            Some(o) => {
                chart.obsolete = contains(o, b"obsolete");
                chart.detail = contains(o, b"detail");
                chart.store_first = contains(o, b"store_first");
                chart.hidden = contains(o, b"hidden");
            }
            None => {
                chart.obsolete = false;
                chart.detail = false;
                chart.store_first = false;
            }
        }
        chart.plugin = nonempty(line.plugin).map_or_else(|| self.client.as_str().into(), compact);
        chart.module = line.module.map(compact);
        chart.clock.resync = true;
        chart.clock.definition_dirty = true;
        self.current = Some(idx);
        self.hint = 0;
        Ok(note)
    }

    /// Sets chart `idx`'s display name, keeping `Host::chart_names` consistent. A name
    /// used by another chart is refused: a new chart then takes `fallback`, an existing
    /// one keeps its old name.
    fn assign_chart_name(host: &mut Host, idx: usize, desired: String, fallback: String, is_new: bool) {
        let name = match host.chart_names.get(&desired) {
            Some(&owner) if owner != idx => {
                if !is_new {
                    return;
                }
                fallback
            }
            _ => desired,
        };
        let Some(chart) = host.charts.get_mut(idx) else {
            return;
        };
        if !is_new && chart.name == name {
            host.chart_names.entry(name).or_insert(idx);
            return;
        }
        let old = mem::replace(&mut chart.name, name.as_str().into());
        if host.chart_names.get(old.as_str()) == Some(&idx) {
            host.chart_names.remove(old.as_str());
        }
        host.chart_names.entry(name).or_insert(idx);
    }

    fn dimension(&mut self, host: &mut Host, line: &DimensionLine<'_>) -> Result<Option<SessionWarning>, SessionError> {
        let idx = self.current_idx(host).ok_or(SessionError::DimensionWithoutChart)?;
        let Some(chart) = host.charts.get_mut(idx) else {
            return Err(SessionError::DimensionWithoutChart);
        };
        let id = truncate_id(line.id);
        if id.is_empty() {
            return Err(SessionError::EmptyDimensionId { chart: chart.id.to_string() });
        }
        let algorithm = parse_algorithm(line.algorithm);
        let one_if_zero = |v: Option<i64>| match v {
            None | Some(0) => 1,
            Some(v) => v,
        };
        let multiplier = one_if_zero(line.multiplier);
        let divisor = one_if_zero(line.divisor);
        let (di, note) = chart.add_dimension(id, algorithm, multiplier, divisor);
        if let Some(d) = chart.dims.get_mut(di) {
            d.set_name(&String::from_utf8_lossy(nonempty(line.name).unwrap_or(id)));
            d.algorithm = algorithm;
            d.multiplier = multiplier;
            d.divisor = divisor;
            let opts = line.options.unwrap_or(b"");
            d.obsolete = contains(opts, b"obsolete");
            d.hidden = contains(opts, b"hidden");
            d.noreset = contains(opts, b"noreset") || contains(opts, b"nooverflow");
        }
        chart.clock.resync = true;
        chart.clock.definition_dirty = true;
        Ok(note.map(|e| SessionWarning::Storage(e.to_string())))
    }

    fn set(&mut self, host: &mut Host, dimension: &[u8], value: Option<i64>) -> Result<(), SessionError> {
        if dimension.is_empty() {
            return Err(SessionError::SetWithoutId);
        }
        let idx = self.current_idx(host).ok_or(SessionError::SetWithoutBegin)?;
        let Some(v) = value else {
            return Ok(()); // empty value: no-op, the dimension is not even looked up
        };
        let Some(chart) = host.charts.get_mut(idx) else {
            return Err(SessionError::SetWithoutBegin);
        };
        let id = truncate_id(dimension);
        let di = match chart.dims.get(self.hint) {
            Some(d) if d.id().as_bytes() == id => self.hint,
            _ => chart
                .dim_idx(id)
                .ok_or_else(|| SessionError::UnknownDimension { dimension: lossy(id), chart: chart.id.to_string() })?,
        };
        self.hint = di + 1;
        // The next SET is most likely the next dimension, one further ahead is fetched
        // while this line and the next are parsed.
        prefetch(chart.dims.as_ptr().wrapping_add(di + 2));
        if let Some(d) = chart.dims.get_mut(di) {
            collect::set(d, v);
        }
        Ok(())
    }

    fn variable(
        &mut self,
        host: &mut Host,
        scope: VariableScope,
        name: &[u8],
        value: f64,
    ) -> Result<Option<SessionWarning>, SessionError> {
        if name.is_empty() {
            return Err(SessionError::VariableWithoutName);
        }
        let name = lossy(name);
        let target = match scope {
            VariableScope::Host => None,
            VariableScope::Chart => match self.current_idx(host) {
                Some(i) => Some(i),
                None => return Ok(Some(SessionWarning::ChartVariableWithoutChart(name))),
            },
            VariableScope::Auto => self.current_idx(host),
        };
        match target.and_then(|i| host.charts.get_mut(i)) {
            Some(chart) => {
                if upsert_variable(&mut chart.variables, name, value) {
                    chart.clock.definition_dirty = true;
                }
            }
            None => {
                upsert_variable(&mut host.variables, name, value);
            }
        }
        Ok(None)
    }

    fn label(&mut self, name: &[u8], source: i64, value: LabelValue<'_>) -> Option<SessionWarning> {
        let words = value.words;
        if name.is_empty() || value.first >= words.len() {
            return Some(SessionWarning::MalformedLabel);
        }
        let mut joined = String::new();
        for w in (value.first..words.len()).filter_map(|i| words.get(i)).filter(|w| !w.is_empty()) {
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(&String::from_utf8_lossy(w));
        }
        push_label(&mut self.pending_host_labels, Label { name: lossy(name), value: joined, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::{HostInfo, MemoryMode};
    use crate::stream::tokenizer::Words;
    use strata_storage::{ChartStore, Sample};

    const GUID: &str = "aaaaaaaa-0000-0000-0000-000000000001";
    /// Wall clock of the first collections: 1000.3 s.
    const T0: i64 = 1_000_300_000;

    fn host_with(mode: MemoryMode) -> Host {
        let info = HostInfo { machine_guid: GUID.into(), hostname: "child1".into(), ..Default::default() };
        Host::new(info, mode, 100)
    }

    fn host() -> Host {
        host_with(MemoryMode::Ram)
    }

    fn sess() -> ReceiverSession {
        ReceiverSession::new(3, "127.0.0.1:40000", 1)
    }

    fn num(w: Option<&[u8]>) -> Option<i64> {
        w.filter(|w| !w.is_empty()).map(|w| std::str::from_utf8(w).ok().and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// `CHART` with positional fields (missing ones are `None`).
    fn chart<'a>(f: &[&'a [u8]]) -> Command<'a> {
        let g = |i: usize| f.get(i).copied();
        Command::Chart(Box::new(ChartLine {
            type_id: f[0],
            name: g(1),
            title: g(2),
            units: g(3),
            family: g(4),
            context: g(5),
            chart_type: g(6),
            priority: num(g(7)),
            update_every: num(g(8)),
            options: g(9),
            plugin: g(10),
            module: g(11),
        }))
    }

    fn dim<'a>(f: &[&'a [u8]]) -> Command<'a> {
        let g = |i: usize| f.get(i).copied();
        Command::Dimension(Box::new(DimensionLine {
            id: f[0],
            name: g(1),
            algorithm: g(2),
            multiplier: num(g(3)),
            divisor: num(g(4)),
            options: g(5),
        }))
    }

    fn begin(chart: &[u8], microseconds: u64) -> Command<'_> {
        Command::Begin { chart, microseconds }
    }

    fn set(dimension: &[u8], value: Option<i64>) -> Command<'_> {
        Command::Set { dimension, value }
    }

    fn label<'a>(words: &[&'a [u8]]) -> Command<'a> {
        Command::Label {
            name: words[1],
            source: num(words.get(2).copied()).unwrap_or(0),
            value: LabelValue { words: Box::new(Words::from_slice(words)), first: 3 },
        }
    }

    fn ok(s: &mut ReceiverSession, h: &mut Host, cmd: Command<'_>, now: i64) {
        assert_eq!(s.apply(h, cmd, now), Ok(None));
    }

    fn p1(s: &mut ReceiverSession, h: &mut Host) {
        ok(
            s,
            h,
            chart(&[
                b"system.cpu",
                b"",
                b"Total CPU utilization",
                b"percentage",
                b"cpu",
                b"system.cpu",
                b"stacked",
                b"100",
                b"1",
                b"   ",
                b"proc.plugin",
                b"/proc/stat",
            ]),
            T0,
        );
    }

    /// P1–P11 applied to a fresh host and session.
    fn p1_to_p11() -> (ReceiverSession, Host) {
        let (mut s, mut h) = (sess(), host());
        p1(&mut s, &mut h);
        ok(&mut s, &mut h, dim(&[b"user", b"user", b"percentage-of-incremental-row", b"1", b"1", b"  "]), T0);
        ok(&mut s, &mut h, dim(&[b"system"]), T0);
        ok(&mut s, &mut h, dim(&[b"nice", b"", b"bogus", b"0", b"0", b" hidden noreset"]), T0);
        ok(&mut s, &mut h, begin(b"system.cpu", 0), T0);
        ok(&mut s, &mut h, set(b"user", Some(12345)), T0);
        ok(&mut s, &mut h, set(b"system", Some(0x1F)), T0);
        ok(&mut s, &mut h, set(b"nice", Some(0o10)), T0);
        ok(&mut s, &mut h, set(b"nice", None), T0);
        ok(&mut s, &mut h, set(b"nosuchdim", None), T0);
        ok(&mut s, &mut h, Command::End, T0);
        (s, h)
    }

    #[test]
    fn p1_chart_fields() {
        let (mut s, mut h) = (sess(), host());
        p1(&mut s, &mut h);
        let c = h.chart("system.cpu").unwrap();
        assert_eq!((c.type_.as_str(), c.id.as_str(), c.name.as_str()), ("system", "system.cpu", "system.cpu"));
        assert_eq!(
            (c.title.as_str(), c.units.as_str(), c.family.as_str()),
            ("Total CPU utilization", "percentage", "cpu")
        );
        assert_eq!(
            (c.context.as_str(), c.chart_type, c.priority, c.update_every),
            ("system.cpu", ChartType::Stacked, 100, 1)
        );
        assert!(!c.obsolete && !c.detail && !c.store_first && !c.hidden);
        assert_eq!((c.plugin.as_str(), c.module.as_deref()), ("proc.plugin", Some("/proc/stat")));
        assert!(c.clock.resync);
        assert_eq!(s.current_chart(), Some(0));
        assert!(matches!(c.store, ChartStore::Ram(_)));
        assert_eq!(h.chart_by_name("system.cpu").map(|c| c.id.as_str()), Some("system.cpu"));
    }

    #[test]
    fn p2_to_p11_dimensions_and_first_collection() {
        let (s, h) = p1_to_p11();
        let c = h.chart("system.cpu").unwrap();
        let user = c.dim("user").unwrap();
        assert_eq!(
            (user.name(), user.algorithm, user.multiplier, user.divisor),
            ("user", Algorithm::PercentageOfIncrementalRow, 1, 1)
        );
        assert!(!user.hidden && !user.obsolete && !user.noreset);
        let system = c.dim("system").unwrap();
        assert_eq!(
            (system.name(), system.algorithm, system.multiplier, system.divisor),
            ("system", Algorithm::Absolute, 1, 1)
        );
        let nice = c.dim("nice").unwrap();
        assert_eq!((nice.name(), nice.algorithm, nice.multiplier, nice.divisor), ("nice", Algorithm::Absolute, 1, 1));
        assert!(nice.hidden && nice.noreset && !nice.obsolete);
        // P6–P11: baseline only.
        assert_eq!((user.last_collected(), system.last_collected(), nice.last_collected()), (12345, 31, 8));
        assert_eq!((user.state.count, system.state.count, nice.state.count), (1, 1, 1));
        assert_eq!(c.store.last_time(), None);
        assert_eq!(c.clock.last_collected_ut, 1_000_500_000);
        assert_eq!((s.completed_updates, s.current_chart()), (1, None));
    }

    #[test]
    fn p12_p13_p18_p19_stateful_fatals() {
        let (_, mut h) = p1_to_p11();
        assert_eq!(sess().apply(&mut h, set(b"user", Some(1)), T0), Err(SessionError::SetWithoutBegin));
        let e = sess().apply(&mut h, begin(b"system.nosuch", 1_000_000), T0).unwrap_err();
        assert_eq!(e, SessionError::UnknownChart("system.nosuch".into()));
        assert_eq!(e.to_string(), "BEGIN on chart 'system.nosuch' which does not exist");
        assert_eq!(sess().apply(&mut h, Command::End, T0), Err(SessionError::EndWithoutBegin));
        assert_eq!(sess().apply(&mut h, dim(&[b"x"]), T0), Err(SessionError::DimensionWithoutChart));
        assert_eq!(sess().apply(&mut h, set(b"", Some(1)), T0), Err(SessionError::SetWithoutId));
        // An empty value outside a block is still FATAL.
        assert_eq!(sess().apply(&mut h, set(b"x", None), T0), Err(SessionError::SetWithoutBegin));
    }

    #[test]
    fn p14_microseconds_ignored_while_resync_pending() {
        let (mut s, mut h) = p1_to_p11();
        let now = 1_001_900_000; // parent clock 1.4 s after LC; the child claims 1 s
        ok(&mut s, &mut h, begin(b"system.cpu", 1_000_000), now);
        assert_eq!(h.charts[0].clock.interval_ut, 1_400_000);
        ok(&mut s, &mut h, set(b"user", Some(-5)), now);
        ok(&mut s, &mut h, set(b"system", Some(1)), now);
        ok(&mut s, &mut h, set(b"nice", Some(0)), now);
        ok(&mut s, &mut h, Command::End, now);
        let c = &h.charts[0];
        assert_eq!(c.clock.last_collected_ut, 1_001_900_000);
        // user decreased: 0 % and the RESET flag on every dimension of the slot.
        let expect = [(0usize, 0.0), (1, 1.0), (2, 0.0)];
        for (col, e) in expect {
            match c.store.get(col, 1001) {
                Sample::Value { value, reset } => {
                    assert!((value - e).abs() < 1e-6 && reset, "col {col}: {value} {reset}")
                }
                Sample::Gap => panic!("col {col}: gap"),
            }
        }
        assert_eq!((s.completed_updates, s.points), (2, 3));
        // Resync is now clear: a plausible child value is used as is.
        ok(&mut s, &mut h, begin(b"system.cpu", 1_000_000), 1_002_950_000);
        assert_eq!(h.charts[0].clock.interval_ut, 1_000_000);
    }

    #[test]
    fn p15_to_p17_unknown_dimension_and_saturated_value() {
        let (mut s, mut h) = p1_to_p11();
        ok(&mut s, &mut h, begin(b"system.cpu", 1_000_000), T0 + 1_000_000);
        let e = s.apply(&mut h, set(b"nosuchdim", Some(7)), T0).unwrap_err();
        assert_eq!(e.to_string(), "SET to dimension 'nosuchdim' which does not exist on chart 'system.cpu'");
        let (mut s, mut h) = p1_to_p11();
        ok(&mut s, &mut h, begin(b"system.cpu", 0), T0 + 1_000_000);
        ok(&mut s, &mut h, set(b"user", Some(i64::MAX)), T0);
        assert_eq!(h.charts[0].dims[0].state.value, i64::MAX);
    }

    #[test]
    fn p20_p21_defaults() {
        let (mut s, mut h) = (sess(), host());
        ok(
            &mut s,
            &mut h,
            chart(&[b"apps.cpu", b"apps.cpu_total", b"Apps CPU", b"percent", b"", b"", b"", b"", b"", b"", b"", b""]),
            T0,
        );
        let c = h.chart("apps.cpu").unwrap();
        assert_eq!((c.name.as_str(), c.family.as_str(), c.context.as_str()), ("apps.cpu_total", "apps", "apps.cpu"));
        assert_eq!((c.chart_type, c.priority, c.update_every), (ChartType::Line, 1000, 1));
        assert!(!c.obsolete && !c.detail && !c.store_first);
        assert_eq!((c.plugin.as_str(), c.module.as_deref()), ("127.0.0.1:40000", Some("")));
        ok(&mut s, &mut h, chart(&[b"apps.mem"]), T0);
        let c = h.chart("apps.mem").unwrap();
        assert_eq!(
            (c.title.as_str(), c.units.as_str(), c.family.as_str(), c.context.as_str()),
            ("", "unknown", "apps", "apps.mem")
        );
        assert_eq!((c.chart_type, c.priority, c.update_every), (ChartType::Line, 1000, 1));
        assert_eq!((c.plugin.as_str(), c.module.as_deref()), ("127.0.0.1:40000", None));
        assert_eq!(s.current_chart(), Some(1));
        // Units sent empty stay empty.
        ok(&mut s, &mut h, chart(&[b"apps.x", b"", b"", b""]), T0);
        assert_eq!(h.chart("apps.x").unwrap().units, "");
    }

    #[test]
    fn p22_null_names() {
        let (mut s, mut h) = (sess(), host());
        for n in [&b"net.eth0"[..], b"eth0", b"NULL", b"(null)"] {
            ok(&mut s, &mut h, chart(&[b"net.eth0", n]), T0);
            assert_eq!(h.chart("net.eth0").unwrap().name, "net.eth0");
        }
        assert_eq!(h.charts.len(), 1);
    }

    #[test]
    fn p23_p25_options_and_dimension() {
        let (mut s, mut h) = (sess(), host());
        ok(
            &mut s,
            &mut h,
            chart(&[b"a.b", b"my name", b"t", b"u", b"", b"", b"area", b"-5", b"0", b"obsolete hidden"]),
            T0,
        );
        let c = h.chart("a.b").unwrap();
        assert_eq!((c.name.as_str(), c.chart_type, c.priority, c.update_every), ("a.my_name", ChartType::Area, -5, 1));
        assert!(c.obsolete && c.hidden && !c.detail && !c.store_first);
        assert!(h.chart_by_name("a.my_name").is_some());
        ok(
            &mut s,
            &mut h,
            Command::Dimension(Box::new(DimensionLine {
                id: b"d",
                name: Some(b"D"),
                algorithm: Some(b"incremental"),
                multiplier: Some(-8),
                divisor: Some(1024),
                options: Some(b"nooverflow"),
            })),
            T0,
        );
        let d = h.chart("a.b").unwrap().dim("d").unwrap();
        assert_eq!(
            (d.name(), d.algorithm, d.multiplier, d.divisor, d.noreset),
            ("D", Algorithm::Incremental, -8, 1024, true)
        );
        // Options missing: hidden unchanged, the others cleared.
        ok(&mut s, &mut h, chart(&[b"a.b", b"my name"]), T0);
        let c = h.chart("a.b").unwrap();
        assert!(c.hidden && !c.obsolete);
        // Options present without `hidden`: cleared.
        ok(&mut s, &mut h, chart(&[b"a.b", b"my name", b"", b"", b"", b"", b"", b"", b"", b"detail"]), T0);
        let c = h.chart("a.b").unwrap();
        assert!(!c.hidden && c.detail);
    }

    #[test]
    fn p24_invalid_chart_ids_are_fatal() {
        let (mut s, mut h) = (sess(), host());
        for id in [&b"nodot"[..], b".x", b"x."] {
            assert!(matches!(s.apply(&mut h, chart(&[id, b"x"]), T0), Err(SessionError::InvalidChartId(_))));
        }
        assert!(h.charts.is_empty());
        let e = s.apply(&mut h, dim(&[b""]), T0);
        assert_eq!(e, Err(SessionError::DimensionWithoutChart));
        ok(&mut s, &mut h, chart(&[b"a.b"]), T0);
        assert_eq!(s.apply(&mut h, dim(&[b""]), T0), Err(SessionError::EmptyDimensionId { chart: "a.b".into() }));
    }

    #[test]
    fn p26_to_p32_variables() {
        let (mut s, mut h) = (sess(), host());
        let var = |scope, name: &'static [u8], value| Command::Variable { scope, name, value };
        ok(&mut s, &mut h, var(VariableScope::Host, b"max_conn", 100.0), T0);
        assert_eq!(h.variable("max_conn"), Some(100.0));
        let w = s.apply(&mut h, var(VariableScope::Chart, b"x", 1.0), T0);
        assert_eq!(w, Ok(Some(SessionWarning::ChartVariableWithoutChart("x".into()))));
        ok(&mut s, &mut h, var(VariableScope::Auto, b"free", 3.0), T0);
        assert_eq!(h.variable("free"), Some(3.0));
        ok(&mut s, &mut h, chart(&[b"a.b"]), T0);
        h.charts[0].clock.definition_dirty = false;
        ok(&mut s, &mut h, var(VariableScope::Auto, b"limit", 5.0), T0);
        assert_eq!(h.charts[0].variable("limit"), Some(5.0));
        assert!(h.charts[0].clock.definition_dirty);
        ok(&mut s, &mut h, var(VariableScope::Host, b"e", 1500.0), T0);
        ok(&mut s, &mut h, var(VariableScope::Host, b"e", 12.0), T0);
        assert_eq!(h.variable("e"), Some(12.0));
        assert_eq!(h.variables.len(), 3);
        assert_eq!(s.apply(&mut h, var(VariableScope::Auto, b"", 1.0), T0), Err(SessionError::VariableWithoutName));
    }

    #[test]
    fn p33_to_p37_labels() {
        let (mut s, mut h) = (sess(), host());
        ok(&mut s, &mut h, label(&[b"LABEL", b"_os_name", b"1", b"Debian GNU/Linux"]), T0);
        ok(&mut s, &mut h, label(&[b"LABEL", b"_k", b"0", b"two", b"words"]), T0);
        assert_eq!(s.apply(&mut h, label(&[b"LABEL", b"k", b"1"]), T0), Ok(Some(SessionWarning::MalformedLabel)));
        ok(&mut s, &mut h, label(&[b"LABEL", b"_k", b"3", b"last", b"wins"]), T0);
        assert_eq!(s.pending_host_labels().len(), 2);
        assert!(h.labels.is_empty(), "nothing applied before OVERWRITE");
        ok(&mut s, &mut h, Command::Overwrite, T0);
        let expect = vec![
            Label { name: "_os_name".into(), value: "Debian GNU/Linux".into(), source: 1 },
            Label { name: "_k".into(), value: "last wins".into(), source: 3 },
        ];
        assert_eq!(h.labels, expect);
        assert!(s.pending_host_labels().is_empty());
        ok(&mut s, &mut h, Command::Overwrite, T0);
        assert!(h.labels.is_empty());
        // Words are joined with single spaces, no trailing space.
        ok(&mut s, &mut h, label(&[b"LABEL", b"_k", b"0", b"two", b"words"]), T0);
        assert_eq!(s.pending_host_labels()[0].value, "two words");
    }

    #[test]
    fn p38_to_p40_claimed_id() {
        let (mut s, mut h) = (sess(), host());
        let claim = b"bbbbbbbb-1111-2222-3333-444444444444";
        ok(&mut s, &mut h, Command::ClaimedId { machine_guid: GUID.as_bytes(), claim_id: Some(claim) }, T0);
        assert_eq!(h.claim_id.as_deref(), Some("bbbbbbbb-1111-2222-3333-444444444444"));
        ok(&mut s, &mut h, Command::ClaimedId { machine_guid: GUID.as_bytes(), claim_id: None }, T0);
        assert_eq!(h.claim_id, None);
        ok(
            &mut s,
            &mut h,
            Command::ClaimedId { machine_guid: b"AAAAAAAA-0000-0000-0000-000000000001", claim_id: Some(claim) },
            T0,
        );
        assert!(h.claim_id.is_some(), "GUID compared case-insensitively");
        let w = s.apply(
            &mut h,
            Command::ClaimedId { machine_guid: b"aaaaaaaa-0000-0000-0000-000000000009", claim_id: None },
            T0,
        );
        assert!(matches!(w, Ok(Some(SessionWarning::ClaimedIdForOtherHost { .. }))));
        assert!(h.claim_id.is_some(), "ignored");
    }

    #[test]
    fn p46_to_p48_chart_labels() {
        let (mut s, mut h) = (sess(), host());
        ok(&mut s, &mut h, chart(&[b"a.c"]), T0);
        let cl = |name: &'static [u8], value: &'static [u8], source| Command::ChartLabel { name, value, source };
        assert_eq!(
            s.apply(&mut h, cl(b"k", b"v", 1), T0),
            Err(SessionError::NotAtThisVersion { keyword: "CLABEL", version: 3 })
        );
        let mut s = ReceiverSession::new(4, "127.0.0.1:40000", 1);
        assert_eq!(s.apply(&mut h, cl(b"k", b"v", 2), T0), Err(SessionError::ChartLabelWithoutChart));
        assert_eq!(s.apply(&mut h, Command::ChartLabelCommit, T0), Err(SessionError::ChartLabelCommitWithoutChart));
        ok(&mut s, &mut h, chart(&[b"a.c"]), T0);
        assert_eq!(s.apply(&mut h, Command::ChartLabelCommit, T0), Err(SessionError::ChartLabelCommitNothingPending));
        ok(&mut s, &mut h, cl(b"k", b"v", 2), T0);
        ok(&mut s, &mut h, cl(b"k2", b"v2", 1), T0);
        ok(&mut s, &mut h, Command::ChartLabelCommit, T0);
        let labels = &h.chart("a.c").unwrap().labels;
        assert_eq!(
            labels,
            &vec![
                Label { name: "k".into(), value: "v".into(), source: 2 },
                Label { name: "k2".into(), value: "v2".into(), source: 1 },
            ]
        );
        assert!(s.pending_chart_labels().is_empty());
        // A new batch replaces the set.
        ok(&mut s, &mut h, cl(b"k3", b"v3", 1), T0);
        ok(&mut s, &mut h, Command::ChartLabelCommit, T0);
        assert_eq!(h.chart("a.c").unwrap().labels.len(), 1);
    }

    #[test]
    fn p50_flush_discards_pending_values() {
        let (mut s, mut h) = p1_to_p11();
        let t1 = T0 + 1_200_000;
        ok(&mut s, &mut h, begin(b"system.cpu", 0), t1);
        ok(&mut s, &mut h, set(b"user", Some(5)), t1);
        ok(&mut s, &mut h, Command::Flush, t1);
        assert_eq!(s.current_chart(), None);
        assert_eq!(s.apply(&mut h, set(b"user", Some(5)), t1), Err(SessionError::SetWithoutBegin));
        ok(&mut s, &mut h, begin(b"system.cpu", 0), t1);
        ok(&mut s, &mut h, set(b"system", Some(3)), t1);
        ok(&mut s, &mut h, Command::End, t1);
        let c = &h.charts[0];
        assert_eq!(c.store.get(0, 1001), Sample::Gap, "user was flushed: gap");
        assert_eq!(c.store.get(1, 1001), Sample::Value { value: 3.0, reset: false });
        assert_eq!(c.dims[0].state.count, 1);
    }

    #[test]
    fn p52_long_ids_truncated_consistently() {
        let (mut s, mut h) = (sess(), host());
        let mut long = b"t.".to_vec();
        long.extend(std::iter::repeat(b'x').take(248));
        ok(&mut s, &mut h, chart(&[&long]), T0);
        assert_eq!(h.charts[0].id.len(), 200);
        ok(&mut s, &mut h, dim(&[&long[2..]]), T0);
        assert_eq!(h.charts[0].dims[0].id().len(), 200);
        ok(&mut s, &mut h, begin(&long, 0), T0);
        ok(&mut s, &mut h, set(&long[2..], Some(1)), T0);
        ok(&mut s, &mut h, Command::End, T0);
        assert_eq!(h.charts.len(), 1);
    }

    #[test]
    fn p53_to_p56_raw_fields_and_quoted_ids() {
        let (mut s, mut h) = (sess(), host());
        ok(&mut s, &mut h, chart(&[b"a.b", b"x", br#"t \"q\""#]), T0);
        assert_eq!(h.charts[0].title, r#"t \"q\""#);
        ok(&mut s, &mut h, dim(&[b"a=b", b"", b"absolute"]), T0);
        assert_eq!(h.charts[0].dims[0].name(), "a=b");
        ok(&mut s, &mut h, begin(b"a.b", 0), T0);
        ok(&mut s, &mut h, set(b"a=b", Some(5)), T0);
        assert_eq!(h.charts[0].dims[0].state.value, 5);
        assert!(matches!(s.apply(&mut h, begin(b"system.cpu 100", 0), T0), Err(SessionError::UnknownChart(_))));
    }

    #[test]
    fn display_name_collisions_keep_the_old_name() {
        let (mut s, mut h) = (sess(), host());
        ok(&mut s, &mut h, chart(&[b"a.x", b"foo"]), T0);
        ok(&mut s, &mut h, chart(&[b"a.y", b"foo"]), T0);
        assert_eq!(h.chart("a.y").unwrap().name, "a.y", "new chart falls back to its id");
        ok(&mut s, &mut h, chart(&[b"a.x", b"y"]), T0);
        assert_eq!(h.chart("a.x").unwrap().name, "a.foo", "taken: old name kept");
        ok(&mut s, &mut h, chart(&[b"a.x", b"bar"]), T0);
        assert_eq!(h.chart("a.x").unwrap().name, "a.bar");
        assert!(h.chart_by_name("a.foo").is_none());
        assert_eq!(h.chart_by_name("a.bar").unwrap().id, "a.x");
        assert_eq!(h.chart_by_name("a.y").unwrap().id, "a.y");
    }

    #[test]
    fn redefinition_updates_every_field_and_update_every_resets_the_clock() {
        let (mut s, mut h) = (sess(), host());
        ok(&mut s, &mut h, chart(&[b"a.b", b"", b"t1", b"u1", b"f1", b"c1", b"line", b"1", b"1"]), T0);
        ok(&mut s, &mut h, dim(&[b"d"]), T0);
        ok(&mut s, &mut h, begin(b"a.b", 0), T0);
        ok(&mut s, &mut h, set(b"d", Some(1)), T0);
        ok(&mut s, &mut h, Command::End, T0);
        ok(&mut s, &mut h, chart(&[b"a.b", b"", b"t2", b"u2", b"f2", b"c2", b"area", b"2", b"5"]), T0);
        let c = h.chart("a.b").unwrap();
        assert_eq!(
            (c.title.as_str(), c.units.as_str(), c.family.as_str(), c.context.as_str()),
            ("t2", "u2", "f2", "c2")
        );
        assert_eq!((c.chart_type, c.priority, c.update_every), (ChartType::Area, 2, 5));
        assert_eq!(c.clock.done_count, 0, "clock reset");
        assert!(matches!(&c.store, ChartStore::Ram(r) if r.update_every() == 5));
        assert_eq!(c.dims.len(), 1, "dimensions survive a redefinition");
        ok(&mut s, &mut h, dim(&[b"d", b"D", b"incremental", b"2", b"3", b"hidden"]), T0);
        let d = h.chart("a.b").unwrap().dim("d").unwrap();
        assert_eq!(
            (d.name(), d.algorithm, d.multiplier, d.divisor, d.hidden),
            ("D", Algorithm::Incremental, 2, 3, true)
        );
    }

    #[test]
    fn memory_mode_dbengine_stores_blocks_keyed_by_guid_and_chart() {
        use strata_storage::dbengine::{EngineConfig, SeriesKey};
        let engine = strata_storage::Engine::new(EngineConfig::new(1 << 20), None);
        let mut h = host_with(MemoryMode::DbEngine);
        h.engine = Some(engine.clone());
        let mut s = sess();
        ok(&mut s, &mut h, chart(&[b"a.b", b"", b"t", b"u", b"f", b"c", b"line", b"1", b"1"]), T0);
        ok(&mut s, &mut h, dim(&[b"d"]), T0);
        for k in 0..4 {
            let now = T0 + k * 1_000_000;
            ok(&mut s, &mut h, begin(b"a.b", 1_000_000), now);
            ok(&mut s, &mut h, set(b"d", Some(10 * k)), now);
            ok(&mut s, &mut h, Command::End, now);
        }
        let c = &h.charts[0];
        assert!(matches!(c.store, ChartStore::DbEngine(_)));
        assert_eq!((c.store.first_time(), c.store.last_time()), (Some(1001), Some(1003)));
        let mut out = Vec::new();
        c.store.read(0, 1000, 1004, &mut out);
        let values: Vec<Option<f64>> =
            out.iter().map(|x| if let Sample::Value { value, .. } = x { Some(*value) } else { None }).collect();
        assert_eq!(values, vec![None, Some(10.0), Some(20.0), Some(30.0), None]);
        let key = SeriesKey { host_guid: GUID.into(), chart_id: "a.b".into() };
        assert_eq!(Some(engine.series(key)), c.store.load_span(0, 1).map(|l| l.series), "one series per chart");
    }

    #[test]
    fn memory_mode_none_gives_no_store() {
        let (mut s, mut h) = (sess(), host_with(MemoryMode::None));
        ok(&mut s, &mut h, chart(&[b"a.b"]), T0);
        assert!(matches!(h.charts[0].store, ChartStore::None));
    }

    #[test]
    fn save_mode_charts_find_their_file_again_by_dimension_id() {
        let tmp = tempfile::tempdir().unwrap();
        let mk = |history| {
            let mut h = host_with(MemoryMode::Save);
            h.history = history;
            h.files_dir = Some(tmp.path().join(GUID));
            h
        };
        let (mut s, mut h) = (sess(), mk(100));
        ok(&mut s, &mut h, chart(&[b"a.b"]), T0);
        ok(&mut s, &mut h, dim(&[b"x"]), T0);
        ok(&mut s, &mut h, dim(&[b"y"]), T0);
        for k in 0..4 {
            let now = T0 + k * 1_000_000;
            ok(&mut s, &mut h, begin(b"a.b", 0), now);
            ok(&mut s, &mut h, set(b"x", Some(10 + k)), now);
            ok(&mut s, &mut h, set(b"y", Some(20 + k)), now);
            ok(&mut s, &mut h, Command::End, now);
        }
        let store = &h.charts[0].store;
        let last = store.last_time().unwrap();
        let (x, y) = (store.get(0, last), store.get(1, last));
        assert_eq!(x, Sample::Value { value: 13.0, reset: false });
        assert_eq!(store.persist().unwrap(), strata_storage::Persisted::Saved);

        // Dimensions defined in another order find their own columns.
        let (mut s, mut h) = (sess(), mk(100));
        let later = T0 + 10_000_000;
        ok(&mut s, &mut h, chart(&[b"a.b"]), later);
        assert!(matches!(h.charts[0].store, ChartStore::Save(_)));
        ok(&mut s, &mut h, dim(&[b"y"]), later);
        ok(&mut s, &mut h, dim(&[b"x"]), later);
        assert_eq!((h.charts[0].store.get(0, last), h.charts[0].store.get(1, last)), (y, x));

        // Another history: the file does not fit, and the warning says why.
        let (mut s, mut h) = (sess(), mk(200));
        match s.apply(&mut h, chart(&[b"a.b"]), later) {
            Ok(Some(SessionWarning::Storage(m))) => {
                assert!(m.contains("does not have the expected entries (100 in the file, 200 expected)"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(h.charts[0].store.last_time(), None);
    }

    #[test]
    fn set_hint_handles_any_order() {
        let (mut s, mut h) = (sess(), host());
        ok(&mut s, &mut h, chart(&[b"a.b"]), T0);
        for d in [&b"x"[..], b"y", b"z"] {
            ok(&mut s, &mut h, dim(&[d]), T0);
        }
        ok(&mut s, &mut h, begin(b"a.b", 0), T0);
        for (d, v) in [(&b"z"[..], 3), (b"x", 1), (b"y", 2), (b"x", 4)] {
            ok(&mut s, &mut h, set(d, Some(v)), T0);
        }
        let vals: Vec<i64> = h.charts[0].dims.iter().map(|d| d.state.value).collect();
        assert_eq!(vals, [4, 2, 3]);
    }

    #[test]
    fn transcript_10_5() {
        let (mut s, mut h) = (sess(), host());
        let mut now = T0;
        let cmds = [
            Command::ClaimedId { machine_guid: GUID.as_bytes(), claim_id: None },
            label(&[b"LABEL", b"_os_name", b"1", b"Debian GNU/Linux"]),
            label(&[b"LABEL", b"_is_parent", b"1", b"false"]),
            Command::Overwrite,
        ];
        for c in cmds {
            ok(&mut s, &mut h, c, now);
        }
        p1(&mut s, &mut h);
        ok(
            &mut s,
            &mut h,
            dim(&[b"guest_nice", b"guest_nice", b"percentage-of-incremental-row", b"1", b"1", b"  "]),
            now,
        );
        ok(&mut s, &mut h, dim(&[b"user", b"user", b"percentage-of-incremental-row", b"1", b"1", b"  "]), now);
        for user in [1234567, 1234590] {
            ok(&mut s, &mut h, begin(b"system.cpu", 0), now);
            ok(&mut s, &mut h, set(b"guest_nice", Some(0)), now);
            ok(&mut s, &mut h, set(b"user", Some(user)), now);
            ok(&mut s, &mut h, Command::End, now);
            now += 1_000_000;
        }
        assert_eq!(h.claim_id, None);
        let names: Vec<&str> = h.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["_os_name", "_is_parent"]);
        assert_eq!((h.charts.len(), h.charts[0].dims.len(), s.completed_updates), (1, 2, 2));
        // Second collection: 23 of a 23 total → user 100 %, guest_nice 0 %.
        let c = &h.charts[0];
        assert_eq!(c.store.get(1, 1001), Sample::Value { value: 100.0, reset: false });
        assert_eq!(c.store.get(0, 1001), Sample::Value { value: 0.0, reset: false });
    }

    mod no_panic {
        use super::*;
        use proptest::prelude::*;

        fn command(k: u8, v: i64) -> Command<'static> {
            match k % 16 {
                0 => chart(&[b"a.b"]),
                1 => chart(&[b"a.c", b"", b"", b"", b"", b"", b"", b"", b"3"]),
                2 => dim(&[b"x", b"", b"incremental"]),
                3 => dim(&[b"y", b"", b"percentage-of-incremental-row"]),
                4 => dim(&[b"z", b"", b"percentage-of-absolute-row", b"-3", b"0"]),
                5 => begin(b"a.b", v.unsigned_abs()),
                6 => begin(b"a.c", 0),
                7 => set(b"x", Some(v)),
                8 => set(b"y", Some(v.wrapping_mul(7))),
                9 => set(b"z", Some(v)),
                10 => Command::End,
                11 => Command::Flush,
                12 => Command::Variable { scope: VariableScope::Chart, name: b"v", value: v as f64 },
                13 => Command::ChartLabel { name: b"k", value: b"v", source: 1 },
                14 => Command::ChartLabelCommit,
                _ => label(&[b"LABEL", b"k", b"1"]),
            }
        }

        proptest! {
            #[test]
            fn any_sequence_is_handled(steps in proptest::collection::vec((any::<u8>(), any::<i64>(), 0i64..40_000_000), 1..200)) {
                let mut h = host();
                let mut s = ReceiverSession::new(4, "127.0.0.1:1", 1);
                let mut now = T0;
                for (k, v, dt) in steps {
                    now += dt;
                    let _ = s.apply(&mut h, command(k, v), now);
                }
                for c in &h.charts {
                    prop_assert_eq!(c.dims.len(), c.dim_index.len());
                }
            }
        }
    }
}
