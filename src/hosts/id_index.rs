//! An index from id bytes to positions in a vector that already holds the ids.
//!
//! Owns: [`IdIndex`], a hash table of `u32` positions. The ids themselves stay in the
//! owner's vector (a chart's `dims`), so an entry costs 4 bytes plus one control byte
//! instead of a second, heap-allocated copy of the id as a map key — a parent holds one
//! entry per collected metric. Invariants: every position inserted is below the length
//! of the vector its `id_of` reads, and ids are unique; the caller passes the same
//! `id_of` (the same vector) to every call.

use hashbrown::HashTable;

/// Positions of ids, found by hashing the id bytes.
#[derive(Default, Clone)]
pub struct IdIndex {
    table: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdIndex").field("len", &self.table.len()).finish()
    }
}

impl IdIndex {
    fn hash(&self, id: &[u8]) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The position of `id`, where `id_of(p)` is the id at position `p`.
    pub fn get<'v>(&self, id: &[u8], id_of: impl Fn(usize) -> &'v [u8]) -> Option<usize> {
        self.table.find(self.hash(id), |&p| id_of(p as usize) == id).map(|&p| p as usize)
    }

    /// Records that `id` is at `position` (an id not yet in the index).
    pub fn insert<'v>(&mut self, id: &[u8], position: usize, id_of: impl Fn(usize) -> &'v [u8]) {
        let Ok(p) = u32::try_from(position) else {
            return; // more than 4 G entries cannot exist in one chart
        };
        let hash = self.hash(id);
        let hasher = &self.hasher;
        self.table.insert_unique(hash, p, |&q| hasher.hash_one(id_of(q as usize)));
    }

    /// Number of ids indexed.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Forgets every id.
    pub fn clear(&mut self) {
        self.table.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_inserted_id_through_growth_and_nothing_else() {
        let ids: Vec<String> = (0..1000).map(|i| format!("dim{i}")).collect();
        let mut idx = IdIndex::default();
        for (p, id) in ids.iter().enumerate() {
            idx.insert(id.as_bytes(), p, |q| ids[q].as_bytes());
        }
        assert_eq!(idx.len(), 1000);
        for (p, id) in ids.iter().enumerate() {
            assert_eq!(idx.get(id.as_bytes(), |q| ids[q].as_bytes()), Some(p));
        }
        assert_eq!(idx.get(b"dim1000", |q| ids[q].as_bytes()), None);
        assert_eq!(idx.get(b"", |q| ids[q].as_bytes()), None);
        idx.clear();
        assert!(idx.is_empty());
        assert_eq!(idx.get(b"dim1", |q| ids[q].as_bytes()), None);
    }
}
