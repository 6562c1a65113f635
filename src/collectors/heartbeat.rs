//! The collection clock: ticks aligned to the `update every` boundary of the wall clock,
//! like Netdata's heartbeat.
//!
//! Owns: [`Heartbeat`] (pure: the caller reads the clock and sleeps). Invariants: the
//! next tick is the first multiple of the step after now, plus a fixed per-collector
//! offset in [250, 500) ms (Netdata's "heartbeat randomness", which spreads collectors
//! over the second and keeps a collection away from the boundary it is stored at),
//! capped at half a step; the returned interval is the wall-clock time since the
//! previous tick (0 for the first).

/// µs per second.
const USEC: i64 = 1_000_000;

/// Tick computation of one collector.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    step_us: i64,
    offset_us: i64,
    last_us: i64,
}

impl Heartbeat {
    /// A heartbeat every `update_every` seconds (at least 1); `seed_us` (any clock
    /// reading) picks the offset.
    pub fn new(update_every: u32, seed_us: i64) -> Heartbeat {
        let step_us = i64::from(update_every.max(1)) * USEC;
        let offset_us = (250_000 + seed_us.rem_euclid(250_000)).min(step_us / 2);
        Heartbeat { step_us, offset_us, last_us: 0 }
    }

    /// Wall-clock time (µs) of the next tick after `now_us`.
    pub fn next_at(&self, now_us: i64) -> i64 {
        now_us - now_us.rem_euclid(self.step_us) + self.step_us + self.offset_us
    }

    /// Records a tick that happened at `now_us`; returns µs since the previous one (0
    /// the first time).
    pub fn tick(&mut self, now_us: i64) -> i64 {
        let dt = if self.last_us == 0 { 0 } else { (now_us - self.last_us).max(0) };
        self.last_us = now_us;
        dt
    }

    pub fn step_us(&self) -> i64 {
        self.step_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_aligned_to_the_step_plus_an_offset() {
        let hb = Heartbeat::new(1, 1_234_567);
        let off = 250_000 + 1_234_567 % 250_000;
        assert_eq!(hb.next_at(10 * USEC), 11 * USEC + off);
        assert_eq!(hb.next_at(10 * USEC + 999_999), 11 * USEC + off);
        let hb = Heartbeat::new(5, 0);
        assert_eq!(hb.next_at(12 * USEC), 15 * USEC + 250_000);
        assert_eq!(Heartbeat::new(0, 0).step_us(), USEC, "update every 0 is 1 s");
    }

    #[test]
    fn offset_is_in_range() {
        for seed in [0, 1, 249_999, 250_000, 987_654_321, -5] {
            let hb = Heartbeat::new(1, seed);
            assert!((250_000..500_000).contains(&hb.offset_us), "{seed}");
        }
    }

    #[test]
    fn intervals_between_ticks() {
        let mut hb = Heartbeat::new(1, 0);
        assert_eq!(hb.tick(5 * USEC), 0);
        assert_eq!(hb.tick(6 * USEC + 3), USEC + 3);
        assert_eq!(hb.tick(6 * USEC), 0, "a clock step back gives 0, not a negative interval");
    }
}
