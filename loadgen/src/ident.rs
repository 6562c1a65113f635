//! Deterministic identities of the simulated children: machine GUID, hostname and the
//! per-child random seed, all derived from `--seed` and the child's index.
//!
//! Invariants: the same (seed, index) always gives the same identity; different indexes
//! under one seed give different GUIDs (a splitmix64 sequence feeds a v4-shaped UUID, so
//! collisions need 128-bit luck); nothing here reads a clock or the OS random source.

/// One step of splitmix64: a fast, well-distributed 64-bit mixer.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small xorshift generator for values that need randomness on the hot path.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut s = seed;
        // Never zero: xorshift would stay at zero.
        Rng(splitmix64(&mut s) | 1)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The identity of child `index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub index: usize,
    /// Lower-case 8-4-4-4-12.
    pub machine_guid: String,
    pub hostname: String,
    /// Seed of this child's own random generator.
    pub seed: u64,
}

impl Identity {
    /// Child `index` of a swarm seeded with `seed`; hostnames are `prefix-seed-index`.
    pub fn new(seed: u64, index: usize, prefix: &str) -> Identity {
        let mut s = seed ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let hi = splitmix64(&mut s);
        let lo = splitmix64(&mut s);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        let guid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        Identity {
            index,
            machine_guid: guid.hyphenated().to_string(),
            hostname: format!("{prefix}-{seed}-{index:05}"),
            seed: splitmix64(&mut s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn identities_are_deterministic_and_distinct() {
        let a = Identity::new(7, 3, "lg");
        assert_eq!(a, Identity::new(7, 3, "lg"));
        assert_ne!(a.machine_guid, Identity::new(8, 3, "lg").machine_guid);
        assert_eq!(a.hostname, "lg-7-00003");
        let g = &a.machine_guid;
        assert_eq!(g.len(), 36);
        assert_eq!(g, &g.to_ascii_lowercase());
        assert_eq!(&g[14..15], "4", "v4-shaped: {g}");
        let all: HashSet<String> = (0..20_000).map(|i| Identity::new(1, i, "x").machine_guid).collect();
        assert_eq!(all.len(), 20_000);
    }

    #[test]
    fn rng_is_deterministic_and_never_stuck() {
        let mut a = Rng::new(0);
        let mut b = Rng::new(0);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|&x| x != 0));
        assert!((0..1000).all(|_| a.below(7) < 7));
    }
}
