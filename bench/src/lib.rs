//! strata-bench: data sets and candidate encoders for the benchmark binaries.
//!
//! Owns: the stored-value data sets ([`series`]: real Netdata child captures replayed
//! through strata's own ingest, and seeded synthetic streams) and the block encodings
//! compared against the dbengine codec ([`candidates`]), and the strata-vs-Netdata parent
//! benchmark over a grid of children × metrics ([`grid`]). Nothing here is used by the daemon;
//! figures are printed by the binaries, never asserted against a machine's speed.

pub mod candidates;
pub mod grid;
pub mod series;

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
