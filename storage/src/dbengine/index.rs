//! The block index of one shard: series key → time-ordered sealed blocks.
//!
//! Owns: every [`Series`] (one chart of one host, named by [`SeriesKey`]) and, per series,
//! the list of its sealed blocks with where each one lives (the page cache by [`BlockId`],
//! and the disk location once written). Invariants: a series' blocks are sorted by start
//! time and do not overlap when they were sealed by this engine (blocks recovered from disk
//! are inserted in order too; an overlap can then exist and a read takes the later block);
//! column sets are interned per series (`dims` is an index into `dim_sets`), so a block
//! entry is a few dozen bytes whatever the number of dimensions.

use std::collections::HashMap;
use std::rc::Rc;

use compact_str::CompactString;

use super::block::{BlockMeta, SeriesKey};
use super::cache::BlockId;
use super::files::{BlockLocation, FileId};

/// Compact handle of a series within one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesId(pub u32);

/// One sealed block in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedBlock {
    pub id: BlockId,
    pub start: i64,
    pub update_every: u32,
    pub slots: u32,
    /// Index into the series' `dim_sets`.
    pub dims: u32,
    /// Set once the files layer wrote it.
    pub disk: Option<BlockLocation>,
}

impl IndexedBlock {
    /// Time of the last slot.
    pub fn end(&self) -> i64 {
        self.start + i64::from(self.slots.saturating_sub(1)) * i64::from(self.update_every.max(1))
    }
}

/// The blocks of one chart of one host.
#[derive(Debug)]
pub struct Series {
    pub key: SeriesKey,
    pub dim_sets: Vec<Rc<[CompactString]>>,
    pub blocks: Vec<IndexedBlock>,
}

impl Series {
    /// Blocks whose time span meets `from..=to`, oldest first.
    pub fn overlapping(&self, from: i64, to: i64) -> &[IndexedBlock] {
        let lo = self.blocks.partition_point(|b| b.end() < from);
        let hi = self.blocks.partition_point(|b| b.start <= to);
        self.blocks.get(lo..hi.max(lo)).unwrap_or(&[])
    }

    /// Columns (dimension ids) of a block.
    pub fn dims_of(&self, b: &IndexedBlock) -> &[CompactString] {
        self.dim_sets.get(b.dims as usize).map_or(&[], |d| d)
    }

    fn position(&self, start: i64, id: BlockId) -> Option<usize> {
        let lo = self.blocks.partition_point(|b| b.start < start);
        (lo..self.blocks.len()).take_while(|&i| self.blocks[i].start == start).find(|&i| self.blocks[i].id == id)
    }
}

/// Whether an interned column set holds exactly the ids `dims`, in order.
fn same_ids<S: AsRef<str>>(set: &[CompactString], dims: &[S]) -> bool {
    set.len() == dims.len() && set.iter().zip(dims).all(|(a, b)| a == b.as_ref())
}

/// Every series of one shard.
#[derive(Debug, Default)]
pub struct Index {
    series: Vec<Series>,
    by_key: HashMap<SeriesKey, SeriesId>,
    blocks: usize,
    on_disk: usize,
}

impl Index {
    /// The id of a series, created empty if new.
    pub fn series_id(&mut self, key: SeriesKey) -> SeriesId {
        if let Some(id) = self.by_key.get(&key) {
            return *id;
        }
        let id = SeriesId(self.series.len() as u32);
        self.by_key.insert(key.clone(), id);
        self.series.push(Series { key, dim_sets: Vec::new(), blocks: Vec::new() });
        id
    }

    pub fn series(&self, id: SeriesId) -> Option<&Series> {
        self.series.get(id.0 as usize)
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Blocks indexed, and how many of them are on disk.
    pub fn block_counts(&self) -> (usize, usize) {
        (self.blocks, self.on_disk)
    }

    /// The interned index of a column set of `series`.
    pub fn intern_dims<S: AsRef<str>>(&mut self, series: SeriesId, dims: &[S]) -> u32 {
        match self.series.get(series.0 as usize).and_then(|s| s.dim_sets.iter().rposition(|d| same_ids(d, dims))) {
            Some(i) => i as u32,
            None => self.intern_dim_set(series, &dims.iter().map(|d| CompactString::from(d.as_ref())).collect()).0,
        }
    }

    /// The interned index of the column set `dims` of `series`, and the interned set itself:
    /// `dims` (kept, not copied) when the series has no equal set yet.
    pub fn intern_dim_set(&mut self, series: SeriesId, dims: &Rc<[CompactString]>) -> (u32, Rc<[CompactString]>) {
        let Some(s) = self.series.get_mut(series.0 as usize) else { return (0, dims.clone()) };
        let found = s.dim_sets.iter().rposition(|d| Rc::ptr_eq(d, dims) || same_ids(d, dims));
        let i = found.unwrap_or_else(|| {
            s.dim_sets.push(dims.clone());
            s.dim_sets.len() - 1
        });
        (i as u32, s.dim_sets[i].clone())
    }

    /// Adds a block, keeping the series sorted by start.
    pub fn insert(&mut self, series: SeriesId, block: IndexedBlock) {
        let Some(s) = self.series.get_mut(series.0 as usize) else { return };
        if block.disk.is_some() {
            self.on_disk += 1;
        }
        self.blocks += 1;
        if s.blocks.last().is_none_or(|l| l.start <= block.start) {
            s.blocks.push(block);
        } else {
            let at = s.blocks.partition_point(|b| b.start <= block.start);
            s.blocks.insert(at, block);
        }
    }

    /// Records where a block was written; `false` if it is no longer indexed.
    pub fn set_location(&mut self, series: SeriesId, start: i64, id: BlockId, loc: BlockLocation) -> bool {
        let Some(s) = self.series.get_mut(series.0 as usize) else { return false };
        let Some(i) = s.position(start, id) else { return false };
        if s.blocks[i].disk.is_none() {
            self.on_disk += 1;
        }
        s.blocks[i].disk = Some(loc);
        true
    }

    /// Removes a block.
    pub fn remove(&mut self, series: SeriesId, start: i64, id: BlockId) -> Option<IndexedBlock> {
        let s = self.series.get_mut(series.0 as usize)?;
        let i = s.position(start, id)?;
        let b = s.blocks.remove(i);
        self.blocks -= 1;
        if b.disk.is_some() {
            self.on_disk -= 1;
        }
        Some(b)
    }

    /// Removes every block stored in `datafile`; returns their ids.
    pub fn forget_datafile(&mut self, datafile: FileId) -> Vec<BlockId> {
        self.forget_where(|l| l.file == datafile)
    }

    /// Removes every block stored in the extent `loc` points into; returns their ids.
    pub fn forget_extent(&mut self, loc: &BlockLocation) -> Vec<BlockId> {
        self.forget_where(|l| l.same_extent(loc))
    }

    fn forget_where(&mut self, gone_if: impl Fn(&BlockLocation) -> bool) -> Vec<BlockId> {
        let mut gone = Vec::new();
        for s in &mut self.series {
            s.blocks.retain(|b| {
                let keep = b.disk.as_ref().is_none_or(|l| !gone_if(l));
                if !keep {
                    gone.push(b.id);
                }
                keep
            });
        }
        self.blocks -= gone.len();
        self.on_disk -= gone.len();
        gone
    }

    /// The metadata of a block, as the files layer stores it.
    pub fn meta(&self, series: SeriesId, b: &IndexedBlock) -> Option<BlockMeta> {
        let s = self.series(series)?;
        Some(BlockMeta {
            series: s.key.clone(),
            dims: s.dims_of(b).iter().map(|d| d.to_string()).collect(),
            start: b.start,
            update_every: b.update_every,
            slots: b.slots,
        })
    }

    /// The indexed block with this start and id.
    pub fn block(&self, series: SeriesId, start: i64, id: BlockId) -> Option<&IndexedBlock> {
        let s = self.series(series)?;
        s.position(start, id).map(|i| &s.blocks[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: &str) -> SeriesKey {
        SeriesKey { host_guid: "g".into(), chart_id: c.into() }
    }

    fn blk(id: u64, start: i64, slots: u32) -> IndexedBlock {
        IndexedBlock { id: BlockId(id), start, update_every: 1, slots, dims: 0, disk: None }
    }

    #[test]
    fn series_are_found_by_key_and_blocks_stay_sorted() {
        let mut ix = Index::default();
        let a = ix.series_id(key("a"));
        let b = ix.series_id(key("b"));
        assert_ne!(a, b);
        assert_eq!(ix.series_id(key("a")), a);
        ix.insert(a, blk(1, 100, 10));
        ix.insert(a, blk(2, 120, 10));
        ix.insert(a, blk(3, 110, 5));
        let s = ix.series(a).unwrap();
        assert_eq!(s.blocks.iter().map(|b| b.start).collect::<Vec<_>>(), vec![100, 110, 120]);
        assert_eq!(s.overlapping(109, 111).iter().map(|b| b.id.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(s.overlapping(115, 119).len(), 0, "between blocks");
        assert_eq!(s.overlapping(0, 1000).len(), 3);
        assert_eq!(s.overlapping(130, 200).len(), 0, "after the last");
        assert_eq!(ix.block_counts(), (3, 0));
    }

    #[test]
    fn dims_are_interned_and_meta_rebuilt() {
        let mut ix = Index::default();
        let a = ix.series_id(key("a"));
        let d1 = ix.intern_dims(a, &["x"]);
        let d2 = ix.intern_dims(a, &["x", "y"]);
        assert_eq!(ix.intern_dims(a, &["x"]), d1);
        let mut b = blk(1, 10, 3);
        b.dims = d2;
        ix.insert(a, b.clone());
        let m = ix.meta(a, &b).unwrap();
        assert_eq!(m.dims, vec!["x".to_string(), "y".to_string()]);
        assert_eq!((m.start, m.slots, m.end()), (10, 3, 12));
        assert_eq!(m.series, key("a"));
    }

    #[test]
    fn a_chart_s_column_set_is_shared_with_the_index() {
        let mut ix = Index::default();
        let a = ix.series_id(key("a"));
        let cols: Rc<[CompactString]> = Rc::from(vec![CompactString::from("x"), CompactString::from("y")]);
        let (d, shared) = ix.intern_dim_set(a, &cols);
        assert!(Rc::ptr_eq(&shared, &cols), "a new set is kept, not copied");
        let copy: Rc<[CompactString]> = Rc::from(cols.to_vec());
        let (d2, shared2) = ix.intern_dim_set(a, &copy);
        assert_eq!(d2, d);
        assert!(Rc::ptr_eq(&shared2, &cols), "an equal set resolves to the interned one");
        assert_eq!(ix.intern_dims(a, &["x", "y"]), d);
        let (d3, _) = ix.intern_dim_set(a, &Rc::from(vec![CompactString::from("x")]));
        assert_ne!(d3, d);
    }

    #[test]
    fn locations_and_datafile_deletion() {
        let mut ix = Index::default();
        let a = ix.series_id(key("a"));
        ix.insert(a, blk(1, 0, 10));
        ix.insert(a, blk(2, 10, 10));
        let loc = |seq| BlockLocation { file: FileId { dir: 0, seq }, offset: 4096, len: 100, index: 0 };
        assert!(ix.set_location(a, 0, BlockId(1), loc(7)));
        assert!(ix.set_location(a, 10, BlockId(2), loc(8)));
        assert!(!ix.set_location(a, 10, BlockId(9), loc(8)), "unknown block");
        assert_eq!(ix.block_counts(), (2, 2));
        assert_eq!(ix.forget_datafile(FileId { dir: 0, seq: 7 }), vec![BlockId(1)]);
        assert_eq!(ix.forget_extent(&loc(9)), vec![], "no block in that extent");
        assert_eq!(ix.block_counts(), (1, 1));
        assert_eq!(ix.forget_extent(&BlockLocation { index: 3, ..loc(8) }), vec![BlockId(2)], "same extent");
        assert_eq!(ix.block_counts(), (0, 0));
        ix.insert(a, blk(2, 10, 10));
        assert!(ix.remove(a, 10, BlockId(2)).is_some());
        assert_eq!(ix.block_counts(), (0, 0));
    }
}
