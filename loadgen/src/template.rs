//! Pre-encoded protocol text shared by every child of the swarm: the chart and dimension
//! definitions, and per-tick line templates (`BEGIN "id" `, `SET "dim" = `, `END`) into
//! which a tick only writes numbers.
//!
//! Owns: the chart layout of a simulated child (`loadgen.chart_N` × `dim_M`), the value
//! kind of every chart, and the per-(chart, dimension) constants the value patterns use.
//! Invariants: the bytes are exactly what `strata::stream::encode` produces for the same
//! lines (checked by tests), so every tick parses with the parent's own parser; encoding
//! a tick appends to a caller's buffer and allocates nothing once that buffer has grown;
//! probe dimensions (dimension 0 of the first `probe_charts` charts, on probe children)
//! are `absolute` and carry the tick number, so a reader of the parent's API can tell
//! which tick it sees.

use strata::stream::encode::{self, ChartDef, DimensionDef};

use crate::ident::Rng;
use crate::values::{Kind, ValuePattern, SINE_PERIOD, SINE_PERMILLE};

/// Chart type (the part before the dot) of every simulated chart.
pub const CHART_TYPE: &str = "loadgen";

/// Full id of chart `c`.
pub fn chart_id(c: usize) -> String {
    format!("{CHART_TYPE}.chart_{c}")
}

/// Id of dimension `d` (the same in every chart).
pub fn dim_id(d: usize) -> String {
    format!("dim_{d}")
}

#[derive(Debug)]
struct ChartTpl {
    kind: Kind,
    /// `BEGIN "loadgen.chart_N" ` (the microseconds follow).
    begin_prefix: Box<[u8]>,
}

/// The encoded layout of one simulated child.
#[derive(Debug)]
pub struct Template {
    charts: Vec<ChartTpl>,
    dims: usize,
    /// `SET "dim_M" = ` per dimension.
    set_prefix: Vec<Box<[u8]>>,
    /// Per (chart, dimension): a constant in 100..1100 the patterns start from.
    base: Vec<i64>,
    /// Definitions for an ordinary child and for a probe child.
    defs: Vec<u8>,
    defs_probe: Vec<u8>,
    probe_charts: usize,
    /// Upper bound of one tick's bytes (buffer reservation).
    tick_bytes: usize,
}

/// Per-child mutable value state (random-walk positions and the child's generator).
#[derive(Debug, Clone)]
pub struct ChildValues {
    walk: Vec<i64>,
    rng: Rng,
}

impl Template {
    /// The layout for `charts` × `dims` at `update_every` seconds with `pattern`; on probe
    /// children the first `probe_charts` charts carry a tick-number dimension.
    pub fn new(charts: usize, dims: usize, update_every: u32, pattern: ValuePattern, probe_charts: usize) -> Template {
        let mut tpl = Template {
            charts: Vec::with_capacity(charts),
            dims,
            set_prefix: Vec::with_capacity(dims),
            base: Vec::with_capacity(charts * dims),
            defs: Vec::new(),
            defs_probe: Vec::new(),
            probe_charts: probe_charts.min(charts),
            tick_bytes: 0,
        };
        let mut scratch = Vec::new();
        for d in 0..dims {
            scratch.clear();
            encode::set(&mut scratch, dim_id(d).as_bytes(), 0);
            tpl.set_prefix.push(strip_number(&scratch));
        }
        let mut rng = Rng::new(0x5EED);
        for c in 0..charts {
            let kind = pattern.kind_of_chart(c);
            let id = chart_id(c);
            scratch.clear();
            encode::begin(&mut scratch, id.as_bytes(), 0);
            tpl.charts.push(ChartTpl { kind, begin_prefix: strip_number(&scratch) });
            for _ in 0..dims {
                tpl.base.push(100 + rng.below(1000) as i64);
            }
            for probe in [false, true] {
                let out = if probe { &mut tpl.defs_probe } else { &mut tpl.defs };
                define_chart(out, c, &id, kind, dims, update_every, probe && c < tpl.probe_charts);
            }
        }
        let set_bytes: usize = tpl.set_prefix.iter().map(|p| p.len() + 21).sum();
        tpl.tick_bytes = tpl.charts.iter().map(|c| c.begin_prefix.len() + 21 + 4 + set_bytes).sum();
        tpl
    }

    pub fn charts(&self) -> usize {
        self.charts.len()
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Samples in one tick.
    pub fn samples_per_tick(&self) -> u64 {
        (self.charts.len() * self.dims) as u64
    }

    /// Upper bound of the bytes of one tick.
    pub fn tick_bytes(&self) -> usize {
        self.tick_bytes
    }

    /// The `CHART`/`DIMENSION` lines of every chart.
    pub fn definitions(&self, probe: bool) -> &[u8] {
        if probe {
            &self.defs_probe
        } else {
            &self.defs
        }
    }

    /// Fresh value state for a child seeded with `seed`.
    pub fn child_values(&self, seed: u64) -> ChildValues {
        let walks = self.charts.iter().any(|c| c.kind == Kind::RandomWalk);
        ChildValues { walk: if walks { self.base.clone() } else { Vec::new() }, rng: Rng::new(seed) }
    }

    /// Appends one tick (every chart: `BEGIN`, one `SET` per dimension, `END`) for tick
    /// number `tick`, with `interval_us` in the `BEGIN` lines (0 = let the parent time it).
    /// Returns the number of samples written.
    pub fn encode_tick(
        &self,
        out: &mut Vec<u8>,
        vals: &mut ChildValues,
        tick: u64,
        interval_us: u64,
        probe: bool,
    ) -> u64 {
        out.reserve(self.tick_bytes);
        let mut num = itoa::Buffer::new();
        for (c, chart) in self.charts.iter().enumerate() {
            out.extend_from_slice(&chart.begin_prefix);
            out.extend_from_slice(num.format(interval_us).as_bytes());
            out.push(b'\n');
            let row = c * self.dims;
            let bases = &self.base[row..row + self.dims];
            let probe_dim = probe && c < self.probe_charts;
            for (d, (prefix, &base)) in self.set_prefix.iter().zip(bases).enumerate() {
                let v = if probe_dim && d == 0 {
                    tick as i64
                } else {
                    match chart.kind {
                        Kind::Constant => base,
                        Kind::Counter => counter(base, tick),
                        Kind::Sine => sine(base, tick),
                        Kind::RandomWalk => {
                            let step = vals.rng.below(21) as i64 - 10;
                            match vals.walk.get_mut(row + d) {
                                Some(w) => {
                                    *w = w.wrapping_add(step);
                                    *w
                                }
                                None => base,
                            }
                        }
                    }
                };
                out.extend_from_slice(prefix);
                out.extend_from_slice(num.format(v).as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(b"END\n");
        }
        self.samples_per_tick()
    }
}

/// `SET "x" = 0\n` → `SET "x" = ` (the encoder's output minus the placeholder number).
fn strip_number(line: &[u8]) -> Box<[u8]> {
    line[..line.len().saturating_sub(2)].into()
}

/// A counter growing by a per-dimension step every tick (`incremental`).
#[inline]
fn counter(base: i64, tick: u64) -> i64 {
    (base * 1000).wrapping_add((tick as i64).wrapping_mul(1 + base % 97))
}

/// A sine around `base` with amplitude `base`, one period per [`SINE_PERIOD`] ticks.
#[inline]
fn sine(base: i64, tick: u64) -> i64 {
    let phase = (tick.wrapping_add(base as u64) % SINE_PERIOD as u64) as usize;
    base + base * i64::from(SINE_PERMILLE[phase]) / 1000
}

fn define_chart(out: &mut Vec<u8>, c: usize, id: &str, kind: Kind, dims: usize, update_every: u32, probe: bool) {
    let title = format!("loadgen chart {c} ({})", kind.name());
    let context = format!("{CHART_TYPE}.{}", kind.name());
    encode::chart(
        out,
        &ChartDef {
            type_id: id,
            name: "",
            title: &title,
            units: "value",
            family: CHART_TYPE,
            context: &context,
            chart_type: "line",
            priority: 100_000 + c as i64,
            update_every: i64::from(update_every),
            options: &encode::chart_options(false, false, false, false),
            plugin: "loadgen",
            module: "swarm",
        },
    );
    let options = encode::dimension_options(false, false, false);
    for d in 0..dims {
        let id = dim_id(d);
        let algorithm = if probe && d == 0 { "absolute" } else { kind.algorithm() };
        encode::dimension(
            out,
            &DimensionDef {
                id: id.as_str(),
                name: id.as_str(),
                algorithm,
                multiplier: 1,
                divisor: 1,
                options: &options,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strata::stream::command::{parse_line, Command};

    fn lines(b: &[u8]) -> Vec<&[u8]> {
        b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect()
    }

    #[test]
    fn definitions_parse_with_the_parent_parser() {
        let t = Template::new(3, 4, 2, ValuePattern::Mixed, 1);
        for probe in [false, true] {
            let defs = t.definitions(probe);
            let ls = lines(defs);
            assert_eq!(ls.len(), 3 * 5);
            let mut algorithms = Vec::new();
            for l in ls {
                match parse_line(l, 3).unwrap().command {
                    Some(Command::Chart(c)) => assert_eq!(c.update_every, Some(2)),
                    Some(Command::Dimension(d)) => algorithms.push(d.algorithm.map(|a| a.to_vec())),
                    other => panic!("unexpected {other:?}"),
                }
            }
            let first = algorithms[0].clone().unwrap();
            assert_eq!(first, b"absolute", "chart 0 is constant (absolute) in mixed");
            assert_eq!(algorithms[4].clone().unwrap(), b"incremental", "chart 1 is a counter in mixed");
        }
        // The probe dimension of a counter chart is absolute.
        let t = Template::new(2, 2, 1, ValuePattern::Counter, 1);
        let d0 = lines(t.definitions(true))[1];
        assert!(std::str::from_utf8(d0).unwrap().contains("\"absolute\""), "{d0:?}");
        let d0 = lines(t.definitions(false))[1];
        assert!(std::str::from_utf8(d0).unwrap().contains("\"incremental\""));
    }

    #[test]
    fn a_tick_parses_and_counts_its_samples() {
        let t = Template::new(4, 3, 1, ValuePattern::Mixed, 2);
        let mut vals = t.child_values(9);
        let mut out = Vec::new();
        let n = t.encode_tick(&mut out, &mut vals, 41, 1_000_000, true);
        assert_eq!(n, 12);
        assert!(out.len() <= t.tick_bytes());
        let (mut begins, mut sets, mut ends) = (0, 0, 0);
        let mut probe_values = Vec::new();
        let mut chart = Vec::new();
        for l in lines(&out) {
            match parse_line(l, 3).unwrap().command {
                Some(Command::Begin { chart: c, microseconds }) => {
                    begins += 1;
                    chart = c.to_vec();
                    assert_eq!(microseconds, 1_000_000);
                }
                Some(Command::Set { dimension, value }) => {
                    sets += 1;
                    if dimension == b"dim_0" && (chart == b"loadgen.chart_0" || chart == b"loadgen.chart_1") {
                        probe_values.push(value);
                    }
                }
                Some(Command::End) => ends += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((begins, sets, ends), (4, 12, 4));
        assert_eq!(probe_values, vec![Some(41), Some(41)]);
    }

    #[test]
    fn encoding_a_tick_reuses_the_buffer() {
        let t = Template::new(10, 10, 1, ValuePattern::Mixed, 0);
        let mut vals = t.child_values(1);
        let mut out = Vec::new();
        t.encode_tick(&mut out, &mut vals, 0, 0, false);
        let (ptr, cap) = (out.as_ptr(), out.capacity());
        for k in 1..100 {
            out.clear();
            t.encode_tick(&mut out, &mut vals, k, 1_000_000, false);
        }
        assert_eq!((out.as_ptr(), out.capacity()), (ptr, cap));
    }

    #[test]
    fn patterns_behave() {
        let mut vals;
        let mut out = Vec::new();
        let value_of = |out: &[u8], k: usize| -> i64 {
            let l = lines(out)[k];
            match parse_line(l, 3).unwrap().command {
                Some(Command::Set { value: Some(v), .. }) => v,
                other => panic!("{other:?}"),
            }
        };
        for (pattern, check) in [
            (ValuePattern::Constant, (|a: i64, b: i64| a == b) as fn(i64, i64) -> bool),
            (ValuePattern::Counter, |a, b| b > a),
            (ValuePattern::RandomWalk, |a, b| (a - b).abs() <= 10),
            (ValuePattern::Sine, |a, b| a >= 0 && b >= 0),
        ] {
            let t = Template::new(1, 1, 1, pattern, 0);
            vals = t.child_values(3);
            out.clear();
            t.encode_tick(&mut out, &mut vals, 5, 0, false);
            let a = value_of(&out, 1);
            out.clear();
            t.encode_tick(&mut out, &mut vals, 6, 0, false);
            let b = value_of(&out, 1);
            assert!(check(a, b), "{pattern:?}: {a} then {b}");
        }
    }

    proptest! {
        /// The templates write exactly what strata's encoder writes for the same lines.
        #[test]
        fn templates_match_the_encoder(interval in any::<u64>(), tick in 0u64..1_000_000, charts in 1usize..4, dims in 1usize..4) {
            let t = Template::new(charts, dims, 1, ValuePattern::Mixed, 1);
            let mut vals = t.child_values(5);
            let mut out = Vec::new();
            t.encode_tick(&mut out, &mut vals, tick, interval, true);
            let mut expected = Vec::new();
            for (i, l) in lines(&out).iter().enumerate() {
                match parse_line(l, 3).unwrap().command {
                    Some(Command::Begin { chart, .. }) => encode::begin(&mut expected, chart, interval),
                    Some(Command::Set { dimension, value: Some(v) }) => encode::set(&mut expected, dimension, v),
                    Some(Command::End) => encode::end(&mut expected),
                    other => prop_assert!(false, "line {i}: {other:?}"),
                }
            }
            prop_assert_eq!(out, expected);
        }
    }
}
