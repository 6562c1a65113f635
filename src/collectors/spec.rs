//! Chart definitions of the internal collectors, and their encoding as protocol lines.
//!
//! Owns: [`ChartSpec`] / [`DimSpec`] (what a collector declares: Netdata's chart id,
//! name, title, units, family, context, type, priority, update every, flags, plugin,
//! module, chart labels and dimensions) and [`ChartSpec::encode`], which writes the
//! definition block exactly as a Netdata 1.37 child does at stream version ≥ 4:
//! `CHART`, then `CLABEL`s (the permanent `_collect_plugin` / `_collect_module` first)
//! and `CLABEL_COMMIT`, then one `DIMENSION` per dimension.

use crate::hosts::{Algorithm, ChartType};
use crate::stream::encode::{self, chart_options, dimension_options, ChartDef, DimensionDef};

/// Label source "automatic" (Netdata `RRDLABEL_SRC_AUTO`).
pub const LABEL_AUTO: i64 = 1;
/// Automatic and permanent (`RRDLABEL_SRC_AUTO | RRDLABEL_FLAG_PERMANENT`).
pub const LABEL_AUTO_PERMANENT: i64 = 1 | (1 << 29);

/// One dimension of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimSpec {
    pub id: String,
    /// The display name (equal to `id` unless Netdata names it otherwise).
    pub name: String,
    pub algorithm: Algorithm,
    pub multiplier: i64,
    pub divisor: i64,
    pub hidden: bool,
}

impl DimSpec {
    /// A visible dimension whose name is its id.
    pub fn new(id: &str, algorithm: Algorithm, multiplier: i64, divisor: i64) -> DimSpec {
        DimSpec::named(id, id, algorithm, multiplier, divisor)
    }

    /// A visible dimension with its own display name.
    pub fn named(id: &str, name: &str, algorithm: Algorithm, multiplier: i64, divisor: i64) -> DimSpec {
        DimSpec { id: id.into(), name: name.into(), algorithm, multiplier, divisor, hidden: false }
    }

    /// Two incremental dimensions drawn on either side of zero (reads/writes,
    /// received/sent): `up` with `multiplier`, `down` with its negation.
    pub fn incremental_pair(up: &str, down: &str, multiplier: i64, divisor: i64) -> Vec<DimSpec> {
        vec![
            DimSpec::new(up, Algorithm::Incremental, multiplier, divisor),
            DimSpec::new(down, Algorithm::Incremental, -multiplier, divisor),
        ]
    }

    /// The same dimension, hidden.
    pub fn hidden(mut self) -> DimSpec {
        self.hidden = true;
        self
    }
}

/// One chart of an internal collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSpec {
    /// Full `type.id`.
    pub type_id: String,
    /// The name without its type, or empty when it equals the id.
    pub name: String,
    pub title: String,
    pub units: String,
    pub family: String,
    pub context: String,
    pub chart_type: ChartType,
    pub priority: i64,
    pub update_every: u32,
    /// Netdata's "detail" flag (low-importance chart).
    pub detail: bool,
    pub plugin: String,
    pub module: String,
    /// Labels after the two permanent ones: (name, value, source).
    pub labels: Vec<(String, String, i64)>,
    pub dims: Vec<DimSpec>,
}

/// The fields every chart of a collector shares.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub plugin: &'a str,
    pub module: &'a str,
    pub update_every: u32,
}

/// The facts that distinguish a chart (see [`ChartSpec`]); `name` empty = the id.
#[derive(Debug, Clone, Copy)]
pub struct ChartFacts<'a> {
    pub type_id: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub units: &'a str,
    pub family: &'a str,
    pub context: &'a str,
    pub chart_type: ChartType,
    pub priority: i64,
}

impl ChartSpec {
    /// A chart of `origin` with no labels, no dimensions, no detail flag.
    pub fn new(origin: Origin<'_>, f: ChartFacts<'_>) -> ChartSpec {
        ChartSpec {
            type_id: f.type_id.into(),
            name: f.name.into(),
            title: f.title.into(),
            units: f.units.into(),
            family: f.family.into(),
            context: f.context.into(),
            chart_type: f.chart_type,
            priority: f.priority,
            update_every: origin.update_every,
            detail: false,
            plugin: origin.plugin.into(),
            module: origin.module.into(),
            labels: Vec::new(),
            dims: Vec::new(),
        }
    }

    pub fn detail(mut self) -> ChartSpec {
        self.detail = true;
        self
    }

    pub fn dims(mut self, dims: Vec<DimSpec>) -> ChartSpec {
        self.dims = dims;
        self
    }

    pub fn label(mut self, name: &str, value: &str, source: i64) -> ChartSpec {
        self.labels.push((name.into(), value.into(), source));
        self
    }

    /// Appends the definition block (see the module documentation). `obsolete` marks
    /// the chart obsolete (sent once when the collector stops collecting it).
    pub fn encode(&self, out: &mut Vec<u8>, obsolete: bool) {
        encode::chart(
            out,
            &ChartDef {
                type_id: self.type_id.as_str(),
                name: self.name.as_str(),
                title: self.title.as_str(),
                units: self.units.as_str(),
                family: self.family.as_str(),
                context: self.context.as_str(),
                chart_type: self.chart_type.name(),
                priority: self.priority,
                update_every: i64::from(self.update_every),
                options: &chart_options(obsolete, self.detail, false, false),
                plugin: self.plugin.as_str(),
                module: self.module.as_str(),
            },
        );
        encode::clabel(out, b"_collect_plugin", self.plugin.as_bytes(), LABEL_AUTO_PERMANENT);
        encode::clabel(out, b"_collect_module", self.module.as_bytes(), LABEL_AUTO_PERMANENT);
        for (name, value, source) in &self.labels {
            encode::clabel(out, name.as_bytes(), value.as_bytes(), *source);
        }
        encode::clabel_commit(out);
        for d in &self.dims {
            encode::dimension(
                out,
                &DimensionDef {
                    id: d.id.as_str(),
                    name: d.name.as_str(),
                    algorithm: d.algorithm.name(),
                    multiplier: d.multiplier,
                    divisor: d.divisor,
                    options: &dimension_options(false, d.hidden, false),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_a_netdata_child() {
        let origin = Origin { plugin: "proc.plugin", module: "/proc/stat", update_every: 1 };
        let facts = ChartFacts {
            type_id: "system.intr",
            name: "",
            title: "CPU Interrupts",
            units: "interrupts/s",
            family: "interrupts",
            context: "system.intr",
            chart_type: ChartType::Line,
            priority: 900,
        };
        let spec = ChartSpec::new(origin, facts).detail().label("device", "vda", LABEL_AUTO).dims(vec![DimSpec::new(
            "interrupts",
            Algorithm::Incremental,
            1,
            1,
        )
        .hidden()]);
        let mut out = Vec::new();
        spec.encode(&mut out, false);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "CHART \"system.intr\" \"\" \"CPU Interrupts\" \"interrupts/s\" \"interrupts\" \"system.intr\" \"line\" 900 1 \" detail  \" \"proc.plugin\" \"/proc/stat\"\n\
             CLABEL \"_collect_plugin\" \"proc.plugin\" 536870913\n\
             CLABEL \"_collect_module\" \"/proc/stat\" 536870913\n\
             CLABEL \"device\" \"vda\" 1\n\
             CLABEL_COMMIT\n\
             DIMENSION \"interrupts\" \"interrupts\" \"incremental\" 1 1 \" hidden \"\n"
        );
        let mut out = Vec::new();
        spec.encode(&mut out, true);
        assert!(String::from_utf8(out).unwrap().contains("\"obsolete detail  \""));
    }
}
