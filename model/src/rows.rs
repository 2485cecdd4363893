//! The rows of a Fig. 7 table as a packed, shared base and a persistent
//! overlay of the rows changed since it was built.
//!
//! A service's table is enrolled once (every account it knows) and then
//! changes a row at a time (S8/S19 link, P15/S20-2/V1 unlink). A driver
//! that can crash a node keeps a snapshot of its durable state at every
//! persist; with a plain map, the first change after a snapshot copied the
//! whole table (1,000,000 rows at a workload's scale). Here a snapshot
//! shares the base (`Arc`) and the overlay (a `pmap::PMap`: a short vector
//! while few rows changed, then structurally shared), so it costs O(1) in
//! the table's size, and a change after it O(log n). The base stays a
//! `BTreeMap` built from a sorted list, with full nodes: a persistent map
//! holds its nodes about half full, which at 8,000,000 accounts costs more
//! memory than the whole rest of a row.
//!
//! Equality, ordering of iteration and hashing are those of the merged
//! rows, so two tables holding the same rows are the same table however
//! their rows are split between base and overlay.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A map from `K` to `V` for tables that are built once and then change a
/// little: see the module documentation.
#[derive(Clone, Debug)]
pub struct Rows<K: Ord + Clone, V: Clone> {
    base: Arc<BTreeMap<K, V>>,
    /// Rows changed since the base was built; `None`: removed.
    overlay: crate::pmap::PMap<K, Option<V>>,
    len: usize,
}

impl<K: Ord + Clone, V: Clone> Default for Rows<K, V> {
    fn default() -> Self {
        Rows {
            base: Arc::new(BTreeMap::new()),
            overlay: crate::pmap::PMap::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for Rows<K, V> {
    /// The base, built at once (a later entry replaces an earlier one with
    /// the same key, as for `BTreeMap`).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let base: BTreeMap<K, V> = iter.into_iter().collect();
        Rows {
            len: base.len(),
            base: Arc::new(base),
            overlay: crate::pmap::PMap::new(),
        }
    }
}

impl<K: Ord + Clone, V: Clone> Rows<K, V> {
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.overlay.get(key) {
            Some(changed) => changed.as_ref(),
            None => self.base.get(key),
        }
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// The row under `key`, to change: copied into the overlay first.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        if self.overlay.get(key).is_none() {
            let (k, v) = self.base.get_key_value(key)?;
            self.overlay.insert(k.clone(), Some(v.clone()));
        }
        self.overlay.get_mut(key).and_then(Option::as_mut)
    }

    /// Insert or replace; the row it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.get(&key).cloned();
        if old.is_none() {
            self.len += 1;
        }
        self.overlay.insert(key, Some(value));
        old
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every row in key order: the base merged with the overlay.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        let mut base = self.base.iter().peekable();
        let mut overlay = self.overlay.iter().peekable();
        std::iter::from_fn(move || {
            loop {
                let take_base = match (base.peek(), overlay.peek()) {
                    (None, None) => return None,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (Some((bk, _)), Some((ok, _))) => bk < ok,
                };
                if take_base {
                    return base.next();
                }
                let (k, v) = overlay.next()?;
                // The overlay shadows the base's row under the same key.
                if base.peek().is_some_and(|(bk, _)| *bk == k) {
                    base.next();
                }
                if let Some(v) = v {
                    return Some((k, v));
                }
            }
        })
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> PartialEq for Rows<K, V> {
    fn eq(&self, other: &Self) -> bool {
        if Arc::ptr_eq(&self.base, &other.base) && self.overlay == other.overlay {
            return true;
        }
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: Ord + Clone, V: Clone + Eq> Eq for Rows<K, V> {}

impl<K: Ord + Clone + Hash, V: Clone + Hash> Hash for Rows<K, V> {
    /// As a `BTreeMap` of the same rows hashes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len);
        for row in self.iter() {
            row.hash(state);
        }
    }
}

impl<K: Ord + Clone + Serialize, V: Clone + Serialize> Serialize for Rows<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K, V> serde::Deserialize<'de> for Rows<K, V>
where
    K: Ord + Clone + serde::Deserialize<'de>,
    V: Clone + serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<K, V>::deserialize(d).map(|m| m.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(u32, u32)]) -> Rows<u32, u32> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn the_overlay_shadows_the_base_and_iterates_in_order() {
        let mut r = rows(&[(1, 10), (3, 30), (5, 50)]);
        assert_eq!(r.insert(2, 20), None);
        assert_eq!(r.insert(3, 33), Some(30));
        if let Some(v) = r.get_mut(&5) {
            *v = 55;
        }
        assert_eq!(r.get_mut(&9), None);
        let all: Vec<(u32, u32)> = r.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(all, vec![(1, 10), (2, 20), (3, 33), (5, 55)]);
        assert_eq!(r.len(), 4);
        assert!(r.contains_key(&2) && !r.contains_key(&4));
    }

    #[test]
    fn equal_rows_are_equal_however_they_are_kept() {
        let mut a = rows(&[(1, 10), (2, 20)]);
        a.insert(2, 21);
        let b = rows(&[(1, 10), (2, 21)]);
        assert_eq!(a, b);
        let hash = |r: &Rows<u32, u32>| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            r.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        let plain: BTreeMap<u32, u32> = [(1, 10), (2, 21)].into_iter().collect();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        plain.hash(&mut h);
        assert_eq!(
            hash(&a),
            h.finish(),
            "hashes as a BTreeMap of the same rows"
        );
        a.insert(3, 30);
        assert_ne!(a, b);
    }

    #[test]
    fn a_snapshot_is_unchanged_by_later_changes() {
        let mut live = rows(&[(1, 10), (2, 20)]);
        let snapshot = live.clone();
        if let Some(v) = live.get_mut(&1) {
            *v = 11;
        }
        assert_eq!(snapshot.get(&1), Some(&10));
        assert_eq!(live.get(&1), Some(&11));
    }
}
