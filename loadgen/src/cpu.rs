//! The process's own CPU time (user and system) and peak RSS, from
//! `getrusage(RUSAGE_SELF)`.

use std::time::Duration;

/// CPU time used by the whole process so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub user: Duration,
    pub system: Duration,
    /// Peak resident set size of the process (bytes).
    pub max_rss: u64,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

impl CpuTime {
    pub fn now() -> CpuTime {
        // SAFETY: getrusage fills the struct we pass; a zeroed rusage is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
            return CpuTime::default();
        }
        // Linux reports ru_maxrss in KiB.
        CpuTime { user: tv(ru.ru_utime), system: tv(ru.ru_stime), max_rss: (ru.ru_maxrss.max(0) as u64) * 1024 }
    }

    /// The time used since `earlier`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
            max_rss: self.max_rss,
        }
    }

    pub fn total(self) -> Duration {
        self.user + self.system
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_work_shows_up() {
        let a = CpuTime::now();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        // Spin until getrusage reports the work (bounded: a broken reading fails the test).
        while CpuTime::now().since(a).total() < Duration::from_millis(30) {
            assert!(t.elapsed() < Duration::from_secs(20), "no CPU time reported");
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        assert!(CpuTime::now().since(a).user > Duration::ZERO);
        assert!(CpuTime::now().max_rss > 1 << 20, "a process holds more than 1 MiB");
    }
}
