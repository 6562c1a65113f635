//! `/proc/stat` → system.cpu, cpu.cpuN, system.intr, system.ctxt, system.forks and
//! system.processes (Netdata 1.37 `proc_stat.c` facts).
//!
//! Owns: [`parse`] (pure, never panics) and [`collect`] (the charts). Netdata's rules
//! kept: a `cpu…` line needs at least 8 values; guest time is taken out of user and
//! guest_nice out of nice; the first `processes`, `procs_running`, `procs_blocked`
//! values win; the forks and processes charts are collected even when their lines are
//! missing (as 0).

use crate::hosts::{Algorithm, ChartType};

use super::super::emit::Emitter;
use super::super::spec::{ChartFacts, ChartSpec, DimSpec, Origin};
use super::text::{lines, u64_at, word_vec};

pub const MODULE: &str = "/proc/stat";

/// One `cpu` line: jiffies per state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuLine {
    /// `cpu` (all CPUs) or `cpuN`.
    pub id: String,
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

/// What the charts need from `/proc/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    /// The `cpu` lines in file order (the total first on Linux).
    pub cpus: Vec<CpuLine>,
    pub intr: Option<u64>,
    pub ctxt: Option<u64>,
    pub processes: Option<u64>,
    pub procs_running: Option<u64>,
    pub procs_blocked: Option<u64>,
}

const SEPS: &[u8] = b" \t:";

/// Parses the file's contents.
pub fn parse(bytes: &[u8]) -> Stat {
    let mut s = Stat::default();
    for line in lines(bytes) {
        let w = word_vec(line, SEPS);
        let Some(key) = w.first() else { continue };
        if key.starts_with(b"cpu") {
            if w.len() < 9 {
                continue;
            }
            s.cpus.push(CpuLine {
                id: String::from_utf8_lossy(key).into_owned(),
                user: u64_at(&w, 1),
                nice: u64_at(&w, 2),
                system: u64_at(&w, 3),
                idle: u64_at(&w, 4),
                iowait: u64_at(&w, 5),
                irq: u64_at(&w, 6),
                softirq: u64_at(&w, 7),
                steal: u64_at(&w, 8),
                guest: u64_at(&w, 9),
                guest_nice: u64_at(&w, 10),
            });
            continue;
        }
        let slot = match *key {
            b"intr" => &mut s.intr,
            b"ctxt" => &mut s.ctxt,
            b"processes" => &mut s.processes,
            b"procs_running" => &mut s.procs_running,
            b"procs_blocked" => &mut s.procs_blocked,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(u64_at(&w, 1));
        }
    }
    s
}

/// Netdata's core number of a `cpu…` id: 0 for the total, N + 1 for `cpuN` (`None`
/// when what follows `cpu` is not a number).
pub fn core_of(id: &str) -> Option<u64> {
    let rest = id.strip_prefix("cpu")?;
    if rest.is_empty() {
        return Some(0);
    }
    rest.parse::<u64>().ok().map(|n| n + 1)
}

const CPU_DIMS: [&str; 10] =
    ["guest_nice", "guest", "steal", "softirq", "irq", "user", "system", "nice", "iowait", "idle"];

fn cpu_spec(origin: Origin<'_>, id: &str, core: u64) -> ChartSpec {
    let (ty, family, context, title, priority) = if core == 0 {
        ("system", id, "system.cpu", "Total CPU utilization", 100)
    } else {
        ("cpu", "utilization", "cpu.cpu", "Core utilization", 1000)
    };
    let type_id = format!("{ty}.{id}");
    let facts = ChartFacts {
        type_id: &type_id,
        name: "",
        title,
        units: "percentage",
        family,
        context,
        chart_type: ChartType::Stacked,
        priority: priority + i64::try_from(core).unwrap_or(0),
    };
    let dims = CPU_DIMS
        .iter()
        .map(|d| {
            let dim = DimSpec::new(d, Algorithm::PercentageOfIncrementalRow, 1, 1);
            if *d == "idle" {
                dim.hidden()
            } else {
                dim
            }
        })
        .collect();
    ChartSpec::new(origin, facts).dims(dims)
}

fn simple(origin: Origin<'_>, facts: ChartFacts<'_>, dims: Vec<DimSpec>) -> ChartSpec {
    ChartSpec::new(origin, facts).dims(dims)
}

/// Emits one collection of every chart of this module.
pub fn collect(s: &Stat, ue: u32, em: &mut Emitter) {
    let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: ue };
    for c in &s.cpus {
        let Some(core) = core_of(&c.id) else { continue };
        let ty = if core == 0 { "system" } else { "cpu" };
        let type_id = format!("{ty}.{}", c.id);
        let v = |x: u64| super::text::collected(x);
        let values = [
            ("guest_nice", v(c.guest_nice)),
            ("guest", v(c.guest)),
            ("steal", v(c.steal)),
            ("softirq", v(c.softirq)),
            ("irq", v(c.irq)),
            ("user", v(c.user.saturating_sub(c.guest))),
            ("system", v(c.system)),
            ("nice", v(c.nice.saturating_sub(c.guest_nice))),
            ("iowait", v(c.iowait)),
            ("idle", v(c.idle)),
        ];
        em.collect(&type_id, || cpu_spec(origin, &c.id, core), &values);
    }
    let line = |type_id, title, units, family, priority| ChartFacts {
        type_id,
        name: "",
        title,
        units,
        family,
        context: type_id,
        chart_type: ChartType::Line,
        priority,
    };
    if let Some(intr) = s.intr {
        let f = line("system.intr", "CPU Interrupts", "interrupts/s", "interrupts", 900);
        let make = || simple(origin, f, vec![DimSpec::new("interrupts", Algorithm::Incremental, 1, 1)]).detail();
        em.collect("system.intr", make, &[("interrupts", super::text::collected(intr))]);
    }
    if let Some(ctxt) = s.ctxt {
        let f = line("system.ctxt", "CPU Context Switches", "context switches/s", "processes", 800);
        let make = || simple(origin, f, vec![DimSpec::new("switches", Algorithm::Incremental, 1, 1)]);
        em.collect("system.ctxt", make, &[("switches", super::text::collected(ctxt))]);
    }
    let f = line("system.forks", "Started Processes", "processes/s", "processes", 700);
    let make = || simple(origin, f, vec![DimSpec::new("started", Algorithm::Incremental, 1, 1)]).detail();
    em.collect("system.forks", make, &[("started", super::text::collected(s.processes.unwrap_or(0)))]);
    let f = line("system.processes", "System Processes", "processes", "processes", 600);
    let make = || {
        simple(
            origin,
            f,
            vec![
                DimSpec::new("running", Algorithm::Absolute, 1, 1),
                DimSpec::new("blocked", Algorithm::Absolute, -1, 1),
            ],
        )
    };
    let values = [
        ("running", super::text::collected(s.procs_running.unwrap_or(0))),
        ("blocked", super::text::collected(s.procs_blocked.unwrap_or(0))),
    ];
    em.collect("system.processes", make, &values);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured on a 2-CPU Linux 6.x VM.
    const SAMPLE: &[u8] = b"cpu  294875 0 40650 297828 44426 0 399 153 0 0
cpu0 144373 0 19381 153618 21550 0 143 80 0 0
cpu1 150502 0 21269 144210 22876 0 255 73 0 0
intr 19849574 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 42350887
btime 1732441238
processes 171532
procs_running 3
procs_blocked 1
softirq 9158402 2 2178345 7 151316 353005 0 1082 3128330 0 3346315
";

    #[test]
    fn parses_a_real_file() {
        let s = parse(SAMPLE);
        assert_eq!(s.cpus.len(), 3);
        assert_eq!(s.cpus[0].id, "cpu");
        assert_eq!(
            (s.cpus[1].id.as_str(), s.cpus[1].user, s.cpus[1].idle, s.cpus[1].steal),
            ("cpu0", 144373, 153618, 80)
        );
        assert_eq!(
            (s.intr, s.ctxt, s.processes, s.procs_running, s.procs_blocked),
            (Some(19849574), Some(42350887), Some(171532), Some(3), Some(1))
        );
    }

    #[test]
    fn short_cpu_lines_and_missing_guest_fields() {
        let s = parse(b"cpu 1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7 8\nprocesses 5\nprocesses 9\n");
        assert_eq!(s.cpus.len(), 1, "a line with 7 values is skipped");
        assert_eq!((s.cpus[0].steal, s.cpus[0].guest, s.cpus[0].guest_nice), (8, 0, 0));
        assert_eq!(s.processes, Some(5), "the first value wins");
    }

    #[test]
    fn core_numbers() {
        assert_eq!(core_of("cpu"), Some(0));
        assert_eq!(core_of("cpu0"), Some(1));
        assert_eq!(core_of("cpu17"), Some(18));
        assert_eq!(core_of("cpux"), None);
    }

    #[test]
    fn guest_time_is_taken_out_of_user_and_nice() {
        let s = parse(b"cpu 100 50 1 1 1 1 1 1 30 20\n");
        let mut em = Emitter::new();
        collect(&s, 1, &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        assert!(out.contains("SET \"user\" = 70\n") && out.contains("SET \"nice\" = 30\n"), "{out}");
        assert!(out.contains("CHART \"system.forks\"") && out.contains("SET \"started\" = 0\n"));
        assert!(!out.contains("system.intr"), "no intr line, no chart");
    }
}
