//! An index from id bytes to positions in a vector that already holds the ids.
//!
//! Owns: [`IdIndex`], a hash table of `u32` positions, and [`Keyed`], what an indexed item
//! gives as its id. The ids themselves stay in the owner's vector (a host's `charts`, a
//! chart's `dims`), so an entry costs 4 bytes plus one control byte instead of a second,
//! heap-allocated copy of the id as a map key — a parent holds one entry per collected
//! metric. Ids are kept as UTF-8 (invalid sequences replaced), and a lookup key that is
//! not UTF-8 is looked up in that form: two such keys that differ only in their invalid
//! bytes find one item. Invariants: every position inserted is below the length of the
//! slice, ids are unique, and the caller passes the same slice (the owner's vector) to
//! every call.

use hashbrown::HashTable;

/// An item of an indexed vector.
pub trait Keyed {
    /// The id the item is found by.
    fn key(&self) -> &[u8];
}

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

    /// The position in `items` of the item with id `id`.
    pub fn get<T: Keyed>(&self, items: &[T], id: &[u8]) -> Option<usize> {
        self.find(items, id).or_else(|| match std::str::from_utf8(id) {
            // Stored ids are UTF-8: only a key that is not can name one in its lossy form.
            Ok(_) => None,
            Err(_) => self.find(items, String::from_utf8_lossy(id).as_bytes()),
        })
    }

    fn find<T: Keyed>(&self, items: &[T], id: &[u8]) -> Option<usize> {
        let key_of = |p: u32| items.get(p as usize).map_or(&[][..], Keyed::key);
        self.table.find(self.hash(id), |&p| key_of(p) == id).map(|&p| p as usize)
    }

    /// Indexes `items[position]` by its id (one not yet in the index).
    pub fn insert<T: Keyed>(&mut self, items: &[T], position: usize) {
        let (Some(item), Ok(p)) = (items.get(position), u32::try_from(position)) else {
            return; // not in the slice, or more than 4 G entries (cannot exist in one chart)
        };
        let hash = self.hash(item.key());
        let hasher = &self.hasher;
        let key_of = |q: u32| items.get(q as usize).map_or(&[][..], Keyed::key);
        self.table.insert_unique(hash, p, |&q| hasher.hash_one(key_of(q)));
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

    impl Keyed for String {
        fn key(&self) -> &[u8] {
            self.as_bytes()
        }
    }

    #[test]
    fn finds_every_inserted_id_through_growth_and_nothing_else() {
        let ids: Vec<String> = (0..1000).map(|i| format!("dim{i}")).collect();
        let mut idx = IdIndex::default();
        for p in 0..ids.len() {
            idx.insert(&ids, p);
        }
        assert_eq!(idx.len(), 1000);
        for (p, id) in ids.iter().enumerate() {
            assert_eq!(idx.get(&ids, id.as_bytes()), Some(p));
        }
        assert_eq!(idx.get(&ids, b"dim1000"), None);
        assert_eq!(idx.get(&ids, b""), None);
        idx.clear();
        assert!(idx.is_empty());
        assert_eq!(idx.get(&ids, b"dim1"), None);
    }
}
