//! `/proc/uptime` → system.uptime (Netdata 1.37 `proc_uptime.c` facts: the uptime in
//! milliseconds, dimension divisor 1000).
//!
//! Owns: [`parse`] (pure) and [`collect`].

use crate::hosts::{Algorithm, ChartType};

use super::super::emit::Emitter;
use super::super::spec::{ChartFacts, ChartSpec, DimSpec, Origin};
use super::text::{f64_of, word_vec};

pub const MODULE: &str = "/proc/uptime";

/// Uptime in milliseconds; `None` when the file has no first word.
pub fn parse(bytes: &[u8]) -> Option<i64> {
    let first = bytes.split(|&b| b == b'\n').next()?;
    let w = word_vec(first, b" \t");
    w.first().map(|w| (f64_of(w) * 1000.0) as i64)
}

/// Emits one collection.
pub fn collect(uptime_ms: i64, ue: u32, em: &mut Emitter) {
    let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: ue };
    let facts = ChartFacts {
        type_id: "system.uptime",
        name: "",
        title: "System Uptime",
        units: "seconds",
        family: "uptime",
        context: "system.uptime",
        chart_type: ChartType::Line,
        priority: 1000,
    };
    let make = || ChartSpec::new(origin, facts).dims(vec![DimSpec::new("uptime", Algorithm::Absolute, 1, 1000)]);
    em.collect("system.uptime", make, &[("uptime", uptime_ms)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_milliseconds() {
        assert_eq!(parse(b"3404.01 2978.28\n"), Some(3_404_010));
        assert_eq!(parse(b"12\n"), Some(12_000));
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"   \n"), None);
    }
}
