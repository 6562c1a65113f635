//! strata-bench: data sets and candidate encoders for the benchmark binaries.
//!
//! Owns: the stored-value data sets ([`series`]: real Netdata child captures replayed
//! through strata's own ingest, and seeded synthetic streams), the block encodings
//! compared against the dbengine codec ([`candidates`]), the strata-vs-Netdata parent
//! benchmark over a grid of children × metrics ([`grid`]), and the storage engine
//! benchmark ([`storage`]: write, query, bytes on disk, restart). Nothing here is used by the daemon;
//! figures are printed by the binaries, never asserted against a machine's speed.

pub mod candidates;
pub mod grid;
pub mod series;
pub mod storage;

/// CPU time consumed by the calling thread, in nanoseconds. Timings use it rather than
/// wall time so that other work on a shared machine does not inflate them.
pub fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// One line describing the machine: cores, CPU model, RAM, and the load average now.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string()))
        .and_then(|k| k.parse::<u64>().ok())
        .map_or(0.0, |k| k as f64 / 1048576.0);
    format!("{cores} cores ({cpu}), {mem:.1} GiB RAM, load average {}", load_average())
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), space separated.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
