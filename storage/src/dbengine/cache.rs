//! The page cache of one shard: payloads of sealed blocks, bounded in bytes.
//!
//! Owns: every cached payload, by [`BlockId`]. A block is *dirty* from sealing until the
//! files layer reports it written, then *clean*. Invariants: dirty blocks are never evicted
//! (they leave only when written, or when the engine drops them under pressure and counts
//! it); clean blocks are evicted least-recently-used first whenever dirty + clean bytes
//! exceed the limit; a pinned block (a query is loading or reading it) is not evicted until
//! its last pin is released; byte counters always equal the sum of the payload lengths
//! they count. Dirty blocks are kept in seal order, which is the order they are flushed.
//!
//! The LRU list is the `lru` crate's (an intrusive linked hash map), used unbounded: the
//! bound here is in bytes, not entries, so eviction is driven from [`PageCache::evict`].

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use lru::LruCache;

use super::index::SeriesId;

/// Identity of a sealed block within one engine (assigned at sealing or recovery, never
/// reused while the engine lives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u64);

/// A block payload, shared between the cache, readers and the flusher.
pub type Payload = Rc<[u8]>;

/// A sealed block not yet on disk.
#[derive(Debug, Clone)]
pub struct DirtyBlock {
    pub payload: Payload,
    pub series: SeriesId,
    /// Start time of the block (finds it in the series' index).
    pub start: i64,
    /// Values (not gaps) in the block.
    pub values: u64,
    /// Handed to the files layer, waiting for the write to complete.
    pub in_flight: bool,
}

/// Eviction and lookup counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounters {
    pub evictions: u64,
    pub evicted_bytes: u64,
}

/// Sealed payloads of one shard.
#[derive(Debug)]
pub struct PageCache {
    limit: usize,
    dirty: BTreeMap<BlockId, DirtyBlock>,
    dirty_bytes: usize,
    in_flight_bytes: usize,
    clean: LruCache<BlockId, Payload>,
    /// Clean blocks held out of the LRU list while pinned.
    clean_pinned: HashMap<BlockId, Payload>,
    /// Bytes of `clean` and `clean_pinned`.
    clean_bytes: usize,
    pins: HashMap<BlockId, u32>,
    counters: CacheCounters,
}

impl PageCache {
    /// A cache that keeps at most `limit` bytes (dirty blocks may exceed it).
    pub fn new(limit: usize) -> Self {
        PageCache {
            limit,
            dirty: BTreeMap::new(),
            dirty_bytes: 0,
            in_flight_bytes: 0,
            clean: LruCache::unbounded(),
            clean_pinned: HashMap::new(),
            clean_bytes: 0,
            pins: HashMap::new(),
            counters: CacheCounters::default(),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn dirty_bytes(&self) -> usize {
        self.dirty_bytes
    }

    pub fn dirty_blocks(&self) -> usize {
        self.dirty.len()
    }

    pub fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes
    }

    pub fn clean_bytes(&self) -> usize {
        self.clean_bytes
    }

    pub fn clean_blocks(&self) -> usize {
        self.clean.len() + self.clean_pinned.len()
    }

    pub fn counters(&self) -> CacheCounters {
        self.counters
    }

    /// Dirty bytes not yet handed to the files layer.
    pub fn unflushed_bytes(&self) -> usize {
        self.dirty_bytes - self.in_flight_bytes
    }

    /// Adds a freshly sealed block (dirty), then evicts clean blocks to stay in bounds.
    pub fn insert_dirty(&mut self, id: BlockId, block: DirtyBlock) {
        self.dirty_bytes += block.payload.len();
        if let Some(old) = self.dirty.insert(id, block) {
            self.dirty_bytes -= old.payload.len();
        }
        self.evict();
    }

    /// Adds a clean block (read back from disk), then evicts to stay in bounds.
    pub fn insert_clean(&mut self, id: BlockId, payload: Payload) {
        if self.contains(id) {
            return;
        }
        self.clean_bytes += payload.len();
        if self.pins.contains_key(&id) {
            self.clean_pinned.insert(id, payload);
        } else {
            self.clean.put(id, payload);
        }
        self.evict();
    }

    pub fn contains(&self, id: BlockId) -> bool {
        self.dirty.contains_key(&id) || self.clean_pinned.contains_key(&id) || self.clean.contains(&id)
    }

    /// The payload of a block, marking it recently used.
    pub fn get(&mut self, id: BlockId) -> Option<Payload> {
        if let Some(d) = self.dirty.get(&id) {
            return Some(d.payload.clone());
        }
        if let Some(p) = self.clean_pinned.get(&id) {
            return Some(p.clone());
        }
        self.clean.get(&id).cloned()
    }

    /// Keeps a block from eviction until [`Self::unpin`] (pins count).
    pub fn pin(&mut self, id: BlockId) {
        let n = self.pins.entry(id).or_insert(0);
        *n += 1;
        if *n == 1 {
            if let Some(p) = self.clean.pop(&id) {
                self.clean_pinned.insert(id, p);
            }
        }
    }

    /// Releases one pin; the last one makes a clean block evictable again (most recent).
    pub fn unpin(&mut self, id: BlockId) {
        let Some(n) = self.pins.get_mut(&id) else { return };
        *n -= 1;
        if *n == 0 {
            self.pins.remove(&id);
            if let Some(p) = self.clean_pinned.remove(&id) {
                self.clean.put(id, p);
            }
            self.evict();
        }
    }

    /// Evicts clean, unpinned blocks, least recently used first, until dirty + clean bytes
    /// fit the limit (or nothing evictable is left).
    pub fn evict(&mut self) {
        while self.dirty_bytes + self.clean_bytes > self.limit {
            let Some((_, p)) = self.clean.pop_lru() else { break };
            self.clean_bytes -= p.len();
            self.counters.evictions += 1;
            self.counters.evicted_bytes += p.len() as u64;
        }
    }

    /// Marks up to `max_bytes` of the oldest dirty blocks (at least one) as in flight and
    /// returns them, oldest first.
    pub fn take_flush_batch(&mut self, max_bytes: usize) -> Vec<(BlockId, DirtyBlock)> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (id, d) in self.dirty.iter_mut().filter(|(_, d)| !d.in_flight) {
            if !out.is_empty() && bytes + d.payload.len() > max_bytes {
                break;
            }
            bytes += d.payload.len();
            d.in_flight = true;
            out.push((*id, d.clone()));
        }
        self.in_flight_bytes += bytes;
        out
    }

    /// A write completed: the block becomes clean (and evictable unless pinned).
    pub fn mark_written(&mut self, id: BlockId) {
        let Some(d) = self.dirty.remove(&id) else { return };
        self.dirty_bytes -= d.payload.len();
        if d.in_flight {
            self.in_flight_bytes -= d.payload.len();
        }
        self.insert_clean(id, d.payload);
    }

    /// A write failed: the block is dirty and waiting again.
    pub fn mark_unwritten(&mut self, id: BlockId) {
        if let Some(d) = self.dirty.get_mut(&id) {
            if d.in_flight {
                d.in_flight = false;
                self.in_flight_bytes -= d.payload.len();
            }
        }
    }

    /// Removes the oldest dirty block that is not in flight (data loss, the caller counts
    /// it).
    pub fn pop_oldest_dirty(&mut self) -> Option<(BlockId, DirtyBlock)> {
        let id = self.dirty.iter().find(|(_, d)| !d.in_flight).map(|(id, _)| *id)?;
        let d = self.dirty.remove(&id)?;
        self.dirty_bytes -= d.payload.len();
        Some((id, d))
    }

    /// Forgets a block wherever it is (its data is gone from the index).
    pub fn remove(&mut self, id: BlockId) {
        if let Some(d) = self.dirty.remove(&id) {
            self.dirty_bytes -= d.payload.len();
            if d.in_flight {
                self.in_flight_bytes -= d.payload.len();
            }
        }
        if let Some(p) = self.clean_pinned.remove(&id).or_else(|| self.clean.pop(&id)) {
            self.clean_bytes -= p.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirty(n: usize) -> DirtyBlock {
        DirtyBlock { payload: vec![7u8; n].into(), series: SeriesId(0), start: 0, values: 1, in_flight: false }
    }

    fn clean(n: usize) -> Payload {
        vec![1u8; n].into()
    }

    #[test]
    fn dirty_blocks_are_never_evicted() {
        let mut c = PageCache::new(100);
        for i in 0..5 {
            c.insert_dirty(BlockId(i), dirty(60));
        }
        assert_eq!((c.dirty_blocks(), c.dirty_bytes()), (5, 300), "over the limit, all kept");
        c.insert_clean(BlockId(10), clean(10));
        assert!(!c.contains(BlockId(10)), "a clean block cannot stay while dirty bytes exceed the limit");
        for i in 0..5 {
            assert!(c.get(BlockId(i)).is_some());
        }
        assert_eq!(c.counters().evictions, 1);
    }

    #[test]
    fn clean_blocks_are_evicted_lru_first() {
        let mut c = PageCache::new(100);
        for i in 0..4 {
            c.insert_clean(BlockId(i), clean(25));
        }
        assert_eq!(c.clean_bytes(), 100);
        assert!(c.get(BlockId(0)).is_some(), "0 becomes most recent");
        c.insert_clean(BlockId(4), clean(25));
        assert!(!c.contains(BlockId(1)), "1 was least recently used");
        assert!(c.contains(BlockId(0)) && c.contains(BlockId(2)) && c.contains(BlockId(4)));
        c.insert_dirty(BlockId(5), dirty(50));
        assert!(!c.contains(BlockId(2)) && !c.contains(BlockId(3)), "dirty bytes push clean ones out");
        assert_eq!(c.dirty_bytes() + c.clean_bytes(), 100);
        assert_eq!(c.counters().evictions, 3);
    }

    #[test]
    fn pinned_blocks_stay_until_released() {
        let mut c = PageCache::new(50);
        c.insert_clean(BlockId(1), clean(40));
        c.pin(BlockId(1));
        c.pin(BlockId(1));
        c.insert_clean(BlockId(2), clean(40));
        assert!(c.contains(BlockId(1)), "pinned");
        assert!(!c.contains(BlockId(2)), "the unpinned newcomer goes");
        c.pin(BlockId(3));
        c.insert_clean(BlockId(3), clean(40));
        assert!(c.contains(BlockId(3)), "pinned before it arrived");
        c.unpin(BlockId(1));
        assert!(c.contains(BlockId(1)), "one pin left");
        c.unpin(BlockId(1));
        assert!(!c.contains(BlockId(1)), "released and over the limit");
        c.unpin(BlockId(3));
        assert_eq!(c.clean_bytes(), 40);
    }

    #[test]
    fn flush_batches_and_write_outcomes() {
        let mut c = PageCache::new(1000);
        for i in 0..4 {
            c.insert_dirty(BlockId(i), dirty(30));
        }
        let b = c.take_flush_batch(70);
        assert_eq!(b.iter().map(|(id, _)| id.0).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!((c.in_flight_bytes(), c.unflushed_bytes()), (60, 60));
        let b2 = c.take_flush_batch(10);
        assert_eq!(b2.len(), 1, "at least one block per batch");
        assert_eq!(b2[0].0, BlockId(2));
        c.mark_written(BlockId(0));
        c.mark_unwritten(BlockId(1));
        assert_eq!((c.dirty_bytes(), c.clean_bytes(), c.in_flight_bytes()), (90, 30, 30));
        assert_eq!(c.pop_oldest_dirty().map(|(id, _)| id), Some(BlockId(1)), "1 is the oldest waiting block");
        assert_eq!(c.pop_oldest_dirty().map(|(id, _)| id), Some(BlockId(3)), "2 is in flight");
        c.remove(BlockId(2));
        assert_eq!((c.dirty_bytes(), c.in_flight_bytes()), (0, 0));
        c.remove(BlockId(0));
        assert_eq!(c.clean_bytes(), 0);
    }
}
