//! Which shard owns a host: `hash(machine_guid) mod N`.
//!
//! The hash is FNV-1a over the lower-cased GUID bytes: stable across runs, builds and
//! machines, so a host that reconnects (or a restarted parent) lands on the same shard.

/// The shard (0..`shards`) that owns the host with this machine GUID.
pub fn owner_of(machine_guid: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in machine_guid.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % shards as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::owner_of;

    #[test]
    fn stable_and_case_insensitive() {
        let g = "aaaaaaaa-0000-0000-0000-000000000001";
        assert_eq!(owner_of(g, 1), 0);
        assert_eq!(owner_of(g, 4), owner_of(&g.to_uppercase(), 4));
        // FNV-1a is fixed: these values must never change between releases, or hosts
        // would move to another shard after an upgrade (computed independently).
        assert_eq!(owner_of(g, 4), 2);
        assert_eq!(owner_of(g, 7), 0);
        assert_eq!(owner_of("3c0a832a-c7ff-44bb-9e51-1064803470d5", 7), 3);
    }

    #[test]
    fn spreads_hosts_over_shards() {
        let mut counts = [0usize; 4];
        for i in 0..4000u32 {
            let g = format!("{i:08x}-0000-4000-8000-{:012x}", i * 7919);
            counts[owner_of(&g, 4)] += 1;
        }
        for c in counts {
            assert!(c > 800, "uneven spread: {counts:?}");
        }
    }
}
