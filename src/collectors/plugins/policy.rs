//! What to do after an external plugin's process ended: restart it (after how long) or
//! give up, and the log line that says so (Netdata 1.37 `plugins_d.c` wording).
//!
//! Owns: [`Supervision`] (per plugin: data collections so far, failed runs in a row)
//! and [`Supervision::after_run`], a pure function of the run's outcome. Rules:
//! * the plugin sent `DISABLE`: never started again;
//! * it collected data (at least one `END`) and exited with 0: restarted after one
//!   `update every`, silently (plugins that exit on purpose, as Netdata allows);
//! * it collected data and then failed (error code, signal, or stopped by us after a
//!   protocol error): restarted after 10 × `update every` (Netdata's wait);
//! * it collected nothing: a failed run in a row; restarted with an exponential
//!   back-off (`update every` × 2^(n−1), at most [`MAX_BACKOFF`]); after more than
//!   [`SERIAL_FAILURES_THRESHOLD`] such runs it is disabled. Netdata disables at once a
//!   plugin that fails before its first collection; strata keeps retrying with
//!   back-off, so a plugin that needs a moment (a service not up yet) still starts.

use std::time::Duration;

use crate::log::Level;

/// Failed runs in a row after which a plugin is disabled (Netdata's threshold).
pub const SERIAL_FAILURES_THRESHOLD: u32 = 10;
/// Longest wait between two starts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The process exited with this code.
    Code(i32),
    /// The process was killed by this signal (not by us).
    Signal(i32),
    /// We stopped it: it wrote something that is not the protocol.
    ProtocolError,
    /// It asked to be disabled (`DISABLE`).
    Disable,
    /// The executable could not be started.
    SpawnFailed,
}

/// One run of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// `END`s processed in this run.
    pub ends: u64,
    pub exit: Exit,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Start it again after this long; log the line first, if any.
    Restart { after: Duration, log: Option<(Level, String)> },
    /// Never start it again; log the line.
    Disable { log: (Level, String) },
}

/// Per-plugin history.
#[derive(Debug, Clone, Default)]
pub struct Supervision {
    /// `END`s over all runs.
    pub successful_collections: u64,
    /// Runs in a row that collected nothing.
    pub serial_failures: u32,
}

fn describe(exit: Exit) -> String {
    match exit {
        Exit::Code(c) => format!("exited with error code {c}"),
        Exit::Signal(s) => format!("was killed by signal {s}"),
        Exit::ProtocolError => "was stopped after a protocol error".into(),
        Exit::Disable => "called DISABLE".into(),
        Exit::SpawnFailed => "could not be started".into(),
    }
}

impl Supervision {
    /// The wait before the n-th start after n failed runs in a row.
    pub fn backoff(update_every: u32, failures: u32) -> Duration {
        let base = Duration::from_secs(u64::from(update_every.max(1)));
        let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        base.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// Records a run of the plugin described by `what` (`'path' (pid N)`) and decides.
    pub fn after_run(&mut self, run: RunOutcome, what: &str, update_every: u32) -> Next {
        let ue = Duration::from_secs(u64::from(update_every.max(1)));
        if run.exit == Exit::Disable {
            return Next::Disable { log: (Level::Info, format!("{what} called DISABLE. Disabling it.")) };
        }
        if run.ends > 0 {
            self.successful_collections += run.ends;
            self.serial_failures = 0;
            if run.exit == Exit::Code(0) {
                return Next::Restart { after: ue, log: None };
            }
            let msg = format!(
                "{what} {}, but has given useful output in the past ({} times). Waiting a bit before starting it again.",
                describe(run.exit),
                self.successful_collections
            );
            return Next::Restart { after: ue.saturating_mul(10), log: Some((Level::Error, msg)) };
        }
        self.serial_failures += 1;
        let n = self.serial_failures;
        let give_up = n > SERIAL_FAILURES_THRESHOLD;
        if run.exit == Exit::Code(0) {
            if give_up {
                let msg = format!("{what} does not generate useful output, although it reports success (exits with 0). We have tried to collect something {n} times - unsuccessfully. Disabling it.");
                return Next::Disable { log: (Level::Error, msg) };
            }
            let msg = format!("{what} does not generate useful output but it reports success (exits with 0). Waiting a bit before starting it again.");
            return Next::Restart { after: Self::backoff(update_every, n), log: Some((Level::Info, msg)) };
        }
        let exit = describe(run.exit);
        if give_up {
            let msg = format!("{what} {exit} and haven't collected any data. We tried to restart it {n} times, but it failed to generate data. Disabling it.");
            return Next::Disable { log: (Level::Error, msg) };
        }
        let msg = format!("{what} {exit} and haven't collected any data. Waiting a bit before starting it again.");
        Next::Restart { after: Self::backoff(update_every, n), log: Some((Level::Error, msg)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str = "'/p/x.plugin' (pid 7)";

    fn run(ends: u64, exit: Exit) -> RunOutcome {
        RunOutcome { ends, exit }
    }

    #[test]
    fn a_working_plugin_that_exits_is_restarted_after_one_interval() {
        let mut s = Supervision::default();
        assert_eq!(
            s.after_run(run(5, Exit::Code(0)), W, 2),
            Next::Restart { after: Duration::from_secs(2), log: None }
        );
        assert_eq!(s.successful_collections, 5);
    }

    #[test]
    fn failures_back_off_then_disable() {
        let mut s = Supervision::default();
        let mut waits = Vec::new();
        for _ in 0..SERIAL_FAILURES_THRESHOLD {
            match s.after_run(run(0, Exit::ProtocolError), W, 1) {
                Next::Restart { after, log: Some((Level::Error, msg)) } => {
                    assert_eq!(msg, format!("{W} was stopped after a protocol error and haven't collected any data. Waiting a bit before starting it again."));
                    waits.push(after.as_secs());
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
        match s.after_run(run(0, Exit::Code(3)), W, 1) {
            Next::Disable { log: (Level::Error, msg) } => {
                assert!(msg.contains("exited with error code 3") && msg.ends_with("Disabling it."), "{msg}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn useful_output_resets_the_failure_count() {
        let mut s = Supervision::default();
        s.after_run(run(0, Exit::Code(0)), W, 1);
        s.after_run(run(0, Exit::Code(0)), W, 1);
        assert_eq!(s.serial_failures, 2);
        match s.after_run(run(3, Exit::Signal(9)), W, 1) {
            Next::Restart { after, log: Some((_, msg)) } => {
                assert_eq!(after, Duration::from_secs(10));
                assert!(msg.contains("was killed by signal 9, but has given useful output in the past (3 times)"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.serial_failures, 0);
        match s.after_run(run(0, Exit::Code(0)), W, 1) {
            Next::Restart { after, log: Some((Level::Info, msg)) } => {
                assert_eq!(after, Duration::from_secs(1));
                assert!(msg.contains("does not generate useful output but it reports success (exits with 0)"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn disable_is_final_and_backoff_is_bounded() {
        let mut s = Supervision::default();
        assert!(matches!(s.after_run(run(9, Exit::Disable), W, 1), Next::Disable { .. }));
        assert_eq!(Supervision::backoff(1, 100), MAX_BACKOFF);
        assert_eq!(Supervision::backoff(0, 1), Duration::from_secs(1));
        assert_eq!(Supervision::backoff(300, 2), MAX_BACKOFF);
    }
}
