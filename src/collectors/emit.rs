//! Turns a collector's values into protocol lines, the way a plugin prints them.
//!
//! Owns: [`Emitter`], which remembers which charts it has defined. Invariants: a chart's
//! definition block ([`ChartSpec::encode`]) is written before its first `BEGIN`, and
//! again only after [`Emitter::redefine_all`]; every `BEGIN` is closed by an `END` in the
//! same call, so the output is always a sequence of whole blocks; a value for a
//! dimension the chart does not declare is never written (it would be FATAL at the
//! parser); `BEGIN` carries 0 µs on a chart's first collection after its definition and
//! the wall-clock time since its previous collection afterwards; a chart variable is
//! sent (`VARIABLE CHART`, inside the block) with the chart's first collection after a
//! definition and whenever its value changes.

use std::collections::HashMap;

use crate::stream::command::VariableScope;
use crate::stream::encode;

use super::spec::ChartSpec;

#[derive(Debug)]
struct Known {
    spec: ChartSpec,
    defined: bool,
    /// µs of the previous collection since the definition was written (0: none).
    last_ut: i64,
    /// Chart variables as last sent.
    vars: Vec<(String, f64)>,
}

/// Protocol-line writer of one collector.
#[derive(Debug, Default)]
pub struct Emitter {
    out: Vec<u8>,
    charts: HashMap<String, Known>,
    now_ut: i64,
}

impl Emitter {
    pub fn new() -> Emitter {
        Emitter::default()
    }

    /// Starts a collection round at wall clock `now_ut` (µs).
    pub fn begin_tick(&mut self, now_ut: i64) {
        self.now_ut = now_ut;
    }

    /// One collection of chart `id`: defines it first if needed (`make` builds the
    /// definition only then), then `BEGIN`, a `SET` per value, `END`.
    pub fn collect(&mut self, id: &str, make: impl FnOnce() -> ChartSpec, values: &[(&str, i64)]) {
        self.collect_with_vars(id, make, values, &[]);
    }

    /// [`Emitter::collect`] plus chart variables (name, value).
    pub fn collect_with_vars(
        &mut self,
        id: &str,
        make: impl FnOnce() -> ChartSpec,
        values: &[(&str, i64)],
        vars: &[(&str, f64)],
    ) {
        let known = match self.charts.get_mut(id) {
            Some(k) => k,
            None => self.charts.entry(id.to_string()).or_insert(Known {
                spec: make(),
                defined: false,
                last_ut: 0,
                vars: Vec::new(),
            }),
        };
        if !known.defined {
            known.spec.encode(&mut self.out, false);
            known.defined = true;
            known.last_ut = 0;
            known.vars.clear();
        }
        let since = if known.last_ut == 0 { 0 } else { self.now_ut.saturating_sub(known.last_ut).max(0) };
        known.last_ut = self.now_ut;
        encode::begin(&mut self.out, id.as_bytes(), u64::try_from(since).unwrap_or(0));
        for (dim, value) in values {
            let declared = known.spec.dims.iter().any(|d| d.id == *dim);
            debug_assert!(declared, "chart {id} has no dimension {dim}");
            if declared {
                encode::set(&mut self.out, dim.as_bytes(), *value);
            }
        }
        for (name, value) in vars {
            let sent = known.vars.iter_mut().find(|(n, _)| n == name);
            let changed = match sent {
                Some((_, v)) if v.to_bits() == value.to_bits() => false,
                Some((_, v)) => {
                    *v = *value;
                    true
                }
                None => {
                    known.vars.push((name.to_string(), *value));
                    true
                }
            };
            if changed {
                encode::variable(&mut self.out, VariableScope::Chart, name.as_bytes(), *value);
            }
        }
        encode::end(&mut self.out);
    }

    /// Is chart `id` known (defined at least once and not made obsolete)?
    pub fn knows(&self, id: &str) -> bool {
        self.charts.contains_key(id)
    }

    /// Sends chart `id`'s definition once more, marked obsolete, and forgets it (its
    /// device went away). Nothing happens for an unknown chart.
    pub fn obsolete(&mut self, id: &str) {
        if let Some(k) = self.charts.remove(id) {
            k.spec.encode(&mut self.out, true);
        }
    }

    /// Every chart is defined again before its next collection.
    pub fn redefine_all(&mut self) {
        for k in self.charts.values_mut() {
            k.defined = false;
        }
    }

    /// The lines written since the previous call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::spec::{ChartFacts, DimSpec, Origin};
    use crate::hosts::{Algorithm, ChartType};

    fn spec() -> ChartSpec {
        let o = Origin { plugin: "p", module: "m", update_every: 1 };
        let f = ChartFacts {
            type_id: "a.b",
            name: "",
            title: "t",
            units: "u",
            family: "f",
            context: "a.b",
            chart_type: ChartType::Line,
            priority: 1,
        };
        ChartSpec::new(o, f).dims(vec![DimSpec::new("x", Algorithm::Absolute, 1, 1)])
    }

    fn text(e: &mut Emitter) -> String {
        String::from_utf8(e.take()).unwrap()
    }

    #[test]
    fn defines_once_then_collects_with_elapsed_time() {
        let mut e = Emitter::new();
        e.begin_tick(10_000_000);
        e.collect("a.b", spec, &[("x", 5)]);
        let first = text(&mut e);
        assert!(first.starts_with("CHART \"a.b\""), "{first}");
        assert!(first.ends_with("BEGIN \"a.b\" 0\nSET \"x\" = 5\nEND\n"), "{first}");
        e.begin_tick(11_000_250);
        e.collect("a.b", || unreachable!("already defined"), &[("x", 6)]);
        assert_eq!(text(&mut e), "BEGIN \"a.b\" 1000250\nSET \"x\" = 6\nEND\n");
        e.redefine_all();
        e.begin_tick(12_000_000);
        e.collect("a.b", spec, &[("x", 7)]);
        let again = text(&mut e);
        assert!(again.starts_with("CHART") && again.contains("BEGIN \"a.b\" 0\n"), "{again}");
    }

    #[test]
    fn chart_variables_are_sent_when_new_or_changed() {
        let mut e = Emitter::new();
        e.collect_with_vars("a.b", spec, &[("x", 1)], &[("pidmax", 32768.0)]);
        assert!(text(&mut e).ends_with("SET \"x\" = 1\nVARIABLE CHART pidmax = 32768.0000000\nEND\n"));
        e.collect_with_vars("a.b", spec, &[("x", 1)], &[("pidmax", 32768.0)]);
        assert!(!text(&mut e).contains("VARIABLE"));
        e.collect_with_vars("a.b", spec, &[("x", 1)], &[("pidmax", 4.0)]);
        assert!(text(&mut e).contains("VARIABLE CHART pidmax = 4.0000000\n"));
        e.redefine_all();
        e.collect_with_vars("a.b", spec, &[("x", 1)], &[("pidmax", 4.0)]);
        assert!(text(&mut e).contains("VARIABLE CHART pidmax = 4.0000000\n"), "sent again after a definition");
    }

    #[test]
    fn obsolete_charts_are_announced_and_forgotten() {
        let mut e = Emitter::new();
        e.collect("a.b", spec, &[("x", 1)]);
        e.take();
        assert!(e.knows("a.b"));
        e.obsolete("a.b");
        assert!(text(&mut e).contains("\"obsolete   \""));
        assert!(!e.knows("a.b"));
        e.obsolete("a.b");
        assert_eq!(text(&mut e), "");
    }
}
