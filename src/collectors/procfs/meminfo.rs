//! `/proc/meminfo` → system.ram, mem.available and system.swap (Netdata 1.37
//! `proc_meminfo.c` facts).
//!
//! Owns: [`parse`] (pure) and [`Meminfo`], the module's state. Netdata's rules kept:
//! values are KiB (dimension divisor 1024 → MiB); cached = Cached + SReclaimable −
//! Shmem; used = MemTotal − MemFree − cached − Buffers (both floored at 0 here, where C
//! would wrap); mem.available only when the kernel reports MemAvailable; system.swap
//! from the first round in which swap total, used or free is non-zero, and then always.

use crate::hosts::{Algorithm, ChartType};

use super::super::emit::Emitter;
use super::super::spec::{ChartFacts, ChartSpec, DimSpec, Origin};
use super::text::{lines, u64_at, word_vec};

pub const MODULE: &str = "/proc/meminfo";

/// The fields the charts use (KiB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub mem_total: u64,
    pub mem_free: u64,
    pub mem_available: Option<u64>,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    pub shmem: u64,
    pub sreclaimable: u64,
}

/// Parses the file's contents (unknown keys are ignored; missing ones are 0).
pub fn parse(bytes: &[u8]) -> MemInfo {
    let mut m = MemInfo::default();
    for line in lines(bytes) {
        let w = word_vec(line, b" \t:");
        if w.len() < 2 {
            continue;
        }
        let v = u64_at(&w, 1);
        match w[0] {
            b"MemTotal" => m.mem_total = v,
            b"MemFree" => m.mem_free = v,
            b"MemAvailable" => m.mem_available = Some(v),
            b"Buffers" => m.buffers = v,
            b"Cached" => m.cached = v,
            b"SwapTotal" => m.swap_total = v,
            b"SwapFree" => m.swap_free = v,
            b"Shmem" => m.shmem = v,
            b"SReclaimable" => m.sreclaimable = v,
            _ => {}
        }
    }
    m
}

impl MemInfo {
    /// Cache that can be given back (KiB).
    pub fn cached_reclaimable(&self) -> u64 {
        (self.cached + self.sreclaimable).saturating_sub(self.shmem)
    }

    /// Memory in use by applications and the kernel (KiB).
    pub fn used(&self) -> u64 {
        self.mem_total
            .saturating_sub(self.mem_free)
            .saturating_sub(self.cached_reclaimable())
            .saturating_sub(self.buffers)
    }
}

/// State of the module between rounds.
#[derive(Debug, Default)]
pub struct Meminfo {
    swap_on: bool,
}

fn kib(origin: Origin<'_>, facts: ChartFacts<'_>, dims: &[(&str, &str)]) -> ChartSpec {
    ChartSpec::new(origin, facts)
        .dims(dims.iter().map(|(id, name)| DimSpec::named(id, name, Algorithm::Absolute, 1, 1024)).collect())
}

impl Meminfo {
    /// Emits one collection.
    pub fn collect(&mut self, m: &MemInfo, ue: u32, em: &mut Emitter) {
        let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: ue };
        let c = super::text::collected;
        let facts = ChartFacts {
            type_id: "system.ram",
            name: "",
            title: "System RAM",
            units: "MiB",
            family: "ram",
            context: "system.ram",
            chart_type: ChartType::Stacked,
            priority: 200,
        };
        let dims = [("free", "free"), ("used", "used"), ("cached", "cached"), ("buffers", "buffers")];
        let values = [
            ("free", c(m.mem_free)),
            ("used", c(m.used())),
            ("cached", c(m.cached_reclaimable())),
            ("buffers", c(m.buffers)),
        ];
        em.collect("system.ram", || kib(origin, facts, &dims), &values);

        if let Some(avail) = m.mem_available {
            let facts = ChartFacts {
                type_id: "mem.available",
                name: "",
                title: "Available RAM for applications",
                units: "MiB",
                family: "system",
                context: "mem.available",
                chart_type: ChartType::Area,
                priority: 1010,
            };
            em.collect(
                "mem.available",
                || kib(origin, facts, &[("MemAvailable", "avail")]),
                &[("MemAvailable", c(avail))],
            );
        }

        let swap_used = m.swap_total.saturating_sub(m.swap_free);
        if self.swap_on || m.swap_total != 0 || swap_used != 0 || m.swap_free != 0 {
            self.swap_on = true;
            let facts = ChartFacts {
                type_id: "system.swap",
                name: "",
                title: "System Swap",
                units: "MiB",
                family: "swap",
                context: "system.swap",
                chart_type: ChartType::Stacked,
                priority: 201,
            };
            let make = || kib(origin, facts, &[("free", "free"), ("used", "used")]).detail();
            em.collect("system.swap", make, &[("used", c(swap_used)), ("free", c(m.swap_free))]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"MemTotal:       24684096 kB
MemFree:        19146832 kB
MemAvailable:   23322808 kB
Buffers:          152872 kB
Cached:          4077036 kB
SwapCached:            0 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Shmem:              1232 kB
KReclaimable:     145204 kB
Slab:             206048 kB
SReclaimable:     145204 kB
SUnreclaim:        60844 kB
HugePages_Total:       0
";

    #[test]
    fn parses_and_derives_like_netdata() {
        let m = parse(SAMPLE);
        assert_eq!((m.mem_total, m.mem_free, m.mem_available), (24684096, 19146832, Some(23322808)));
        assert_eq!(m.cached_reclaimable(), 4077036 + 145204 - 1232);
        assert_eq!(m.used(), 24684096 - 19146832 - (4077036 + 145204 - 1232) - 152872);
        let broken = parse(b"MemTotal: 1 kB\nCached: 5 kB\n");
        assert_eq!(broken.used(), 0, "floored, never wraps");
    }

    #[test]
    fn swap_chart_only_when_swap_exists() {
        let mut em = Emitter::new();
        let mut mi = Meminfo::default();
        mi.collect(&parse(SAMPLE), 1, &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        assert!(out.contains("CHART \"system.ram\"") && out.contains("CHART \"mem.available\""));
        assert!(!out.contains("system.swap"));
        mi.collect(&parse(b"SwapTotal: 100 kB\nSwapFree: 40 kB\n"), 1, &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        assert!(out.contains("SET \"used\" = 60\n") && !out.contains("mem.available"), "{out}");
        mi.collect(&parse(b""), 1, &mut em);
        assert!(String::from_utf8(em.take()).unwrap().contains("BEGIN \"system.swap\""), "stays on");
    }
}
