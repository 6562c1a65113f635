//! Block identity and metadata, shared by the codec, the files and the engine.
//!
//! Invariants: `start` is a multiple of `update_every`; slot `i` of the block is at time
//! `start + i * update_every`; `dims` names the block's columns in order (a block never
//! changes its column set: adding a dimension seals the open block first).

/// The series a block belongs to: one chart of one host. Stable across restarts and shard
/// counts (the host is named by its machine GUID, not by a shard-local id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The host's machine GUID (lower-case, 36 characters).
    pub host_guid: String,
    /// The chart id (`type.id`).
    pub chart_id: String,
}

/// What an index needs to know about a sealed block without decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMeta {
    pub series: SeriesKey,
    /// Dimension ids, one per column, in column order.
    pub dims: Vec<String>,
    /// Time (unix seconds) of slot 0.
    pub start: i64,
    /// Seconds between slots.
    pub update_every: u32,
    /// Number of slots (rows) in the block; at least 1.
    pub slots: u32,
}

impl BlockMeta {
    /// Time of the last slot.
    pub fn end(&self) -> i64 {
        self.start + i64::from(self.slots.saturating_sub(1)) * i64::from(self.update_every)
    }

    /// Column index of dimension `dim`, if the block has it.
    pub fn column_of(&self, dim: &str) -> Option<usize> {
        self.dims.iter().position(|d| d == dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_and_columns() {
        let m = BlockMeta {
            series: SeriesKey { host_guid: "g".into(), chart_id: "system.cpu".into() },
            dims: vec!["user".into(), "system".into()],
            start: 1000,
            update_every: 2,
            slots: 5,
        };
        assert_eq!(m.end(), 1008);
        assert_eq!(m.column_of("system"), Some(1));
        assert_eq!(m.column_of("nice"), None);
    }
}
