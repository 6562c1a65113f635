//! `/proc/loadavg` → system.load and system.active_processes (Netdata 1.37
//! `proc_loadavg.c` facts).
//!
//! Owns: [`parse`] (pure) and [`Loadavg`], the module's state. Netdata's rules kept: the
//! file needs 6 words (separators ` \t,:|/`); loads are sent ×1000, truncated; the load
//! chart's `update every` is at least 5 s (the kernel recomputes loads every 5 s) and it
//! is collected on the first round and then every time that much collection time has
//! passed; system.active_processes carries the `pidmax` chart variable.

use crate::hosts::{Algorithm, ChartType};

use super::super::emit::Emitter;
use super::super::spec::{ChartFacts, ChartSpec, DimSpec, Origin};
use super::text::{f64_of, u64_at, word_vec};

pub const MODULE: &str = "/proc/loadavg";

/// Linux recomputes the load averages every 5 seconds.
pub const MIN_LOADAVG_UPDATE_EVERY: u32 = 5;

/// The parsed file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadAvg {
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    /// Total number of processes and threads (the number after the `/`).
    pub active: u64,
}

/// Parses the file's contents; `None` when it has fewer than 6 words.
pub fn parse(bytes: &[u8]) -> Option<LoadAvg> {
    let first = bytes.split(|&b| b == b'\n').next()?;
    let w = word_vec(first, b" \t,:|/");
    if w.len() < 6 {
        return None;
    }
    Some(LoadAvg { load1: f64_of(w[0]), load5: f64_of(w[1]), load15: f64_of(w[2]), active: u64_at(&w, 4) })
}

/// `(x * 1000)` as Netdata's `collected_number` (truncated toward zero).
fn milli(x: f64) -> i64 {
    (x * 1000.0) as i64
}

/// State of the module between rounds.
#[derive(Debug, Default)]
pub struct Loadavg {
    /// µs of collection time left until the load chart is due.
    next_load_in_us: i64,
}

impl Loadavg {
    /// One round: `dt_us` is the time since the previous round (0 the first time),
    /// `pid_max` the system's maximum pid.
    pub fn collect(&mut self, l: &LoadAvg, dt_us: i64, ue: u32, pid_max: u64, em: &mut Emitter) {
        let load_ue = ue.max(MIN_LOADAVG_UPDATE_EVERY);
        if self.next_load_in_us <= dt_us {
            let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: load_ue };
            let facts = ChartFacts {
                type_id: "system.load",
                name: "",
                title: "System Load Average",
                units: "load",
                family: "load",
                context: "system.load",
                chart_type: ChartType::Line,
                priority: 100,
            };
            let make = || {
                ChartSpec::new(origin, facts).dims(
                    ["load1", "load5", "load15"]
                        .iter()
                        .map(|d| DimSpec::new(d, Algorithm::Absolute, 1, 1000))
                        .collect(),
                )
            };
            let values = [("load1", milli(l.load1)), ("load5", milli(l.load5)), ("load15", milli(l.load15))];
            em.collect("system.load", make, &values);
            self.next_load_in_us = i64::from(load_ue) * 1_000_000;
        } else {
            self.next_load_in_us -= dt_us;
        }

        let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: ue };
        let facts = ChartFacts {
            type_id: "system.active_processes",
            name: "",
            title: "System Active Processes",
            units: "processes",
            family: "processes",
            context: "system.active_processes",
            chart_type: ChartType::Line,
            priority: 750,
        };
        let make = || ChartSpec::new(origin, facts).dims(vec![DimSpec::new("active", Algorithm::Absolute, 1, 1)]);
        let values = [("active", super::text::collected(l.active))];
        em.collect_with_vars("system.active_processes", make, &values, &[("pidmax", pid_max as f64)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_truncates_like_netdata() {
        let l = parse(b"0.93 0.81 1.27 1/139 16649\n").expect("6 words");
        assert_eq!((l.load1, l.load5, l.load15, l.active), (0.93, 0.81, 1.27, 139));
        assert_eq!((milli(l.load1), milli(2.01)), (930, 2009), "2.01 * 1000 truncates to 2009, as in C");
        assert_eq!(parse(b"0.93 0.81 1.27 1/139\n"), None);
        assert_eq!(parse(b""), None);
    }

    #[test]
    fn load_chart_every_five_seconds() {
        let l = parse(b"1.00 2.00 3.00 2/100 5\n").unwrap();
        let mut m = Loadavg::default();
        let mut em = Emitter::new();
        let mut loads = 0;
        for round in 0..11 {
            let dt = if round == 0 { 0 } else { 1_000_000 };
            m.collect(&l, dt, 1, 4_194_304, &mut em);
            let out = String::from_utf8(em.take()).unwrap();
            if out.contains("BEGIN \"system.load\"") {
                loads += 1;
                assert!(round % 5 == 0, "round {round}");
            }
            assert!(out.contains("BEGIN \"system.active_processes\""));
            if round == 0 {
                assert!(out.contains("\"load\" \"system.load\" \"line\" 100 5 "), "{out}");
                assert!(out.contains("SET \"load15\" = 3000\n") && out.contains("pidmax = 4194304.0000000"));
            }
        }
        assert_eq!(loads, 3);
    }
}
