//! Persistent ordered maps and sets that stay small while they are small.
//!
//! The CA's records and tables and a service's serial index are cloned
//! with the party's state: by the checker on every transition that changes
//! them, and by the simulator at every persist (a crash keeps exactly what
//! was persisted). At a workload's scale (a million rows) only a persistent
//! map makes that clone cheap, so those maps were `imbl`'s. But an `imbl`
//! map allocates whole 64-entry nodes: each version of a table with three
//! rows, and the checker keeps one per state that changed it, cost a node
//! of several kilobytes, and the checker's memory per state grew by 60%.
//!
//! [`PMap`] and [`PSet`] are a sorted vector up to [`SPILL`] entries (a
//! clone copies a few entries, as the checker's tables have) and an `imbl`
//! map beyond (a clone is O(1), a change O(log n), as a workload's tables
//! need). Equality, hashing, iteration order and serialisation are those
//! of the entries, whichever form holds them, so the two forms of the same
//! entries are the same value.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Entries above which a map leaves its vector for a persistent map.
pub const SPILL: usize = 32;

/// Where `key` is (`Ok`) or would go (`Err`) among a small map's sorted
/// entries.
fn search<K: Borrow<Q>, V, Q: Ord + ?Sized>(v: &[(K, V)], key: &Q) -> Result<usize, usize> {
    v.binary_search_by(|(k, _)| k.borrow().cmp(key))
}

/// An ordered map: see the module documentation.
#[derive(Clone)]
pub struct PMap<K: Ord + Clone, V: Clone>(Repr<K, V>);

#[derive(Clone)]
enum Repr<K: Ord + Clone, V: Clone> {
    /// Sorted by key, at most `SPILL` entries.
    Small(Vec<(K, V)>),
    Large(imbl::OrdMap<K, V>),
}

impl<K: Ord + Clone, V: Clone> Default for PMap<K, V> {
    fn default() -> Self {
        PMap(Repr::Small(Vec::new()))
    }
}

impl<K: Ord + Clone, V: Clone> PMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
            Repr::Large(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match &self.0 {
            Repr::Small(v) => search(v, key).ok().map(|i| &v[i].1),
            Repr::Large(m) => m.get(key),
        }
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match &mut self.0 {
            Repr::Small(v) => match search(v, key) {
                Ok(i) => Some(&mut v[i].1),
                Err(_) => None,
            },
            Repr::Large(m) => m.get_mut(key),
        }
    }

    /// Make room for `key`: a full small map that lacks it becomes large.
    fn room_for(&mut self, key: &K) {
        if let Repr::Small(v) = &mut self.0
            && v.len() >= SPILL
            && search(v, key).is_err()
        {
            self.0 = Repr::Large(std::mem::take(v).into_iter().collect());
        }
    }

    /// Insert `value` under `key`; the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.room_for(&key);
        match &mut self.0 {
            Repr::Small(v) => match search(v, &key) {
                Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
                Err(i) => {
                    v.insert(i, (key, value));
                    None
                }
            },
            Repr::Large(m) => m.insert(key, value),
        }
    }

    /// Remove `key`; its value. A large map stays large (its form never
    /// shows: equality and hashing are the entries').
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match &mut self.0 {
            Repr::Small(v) => match search(v, key) {
                Ok(i) => Some(v.remove(i).1),
                Err(_) => None,
            },
            Repr::Large(m) => m.remove(key),
        }
    }

    /// The value under `key`, inserted as `V::default()` if absent.
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        self.room_for(&key);
        match &mut self.0 {
            Repr::Small(v) => {
                let i = match search(v, &key) {
                    Ok(i) => i,
                    Err(i) => {
                        v.insert(i, (key, V::default()));
                        i
                    }
                };
                &mut v[i].1
            }
            Repr::Large(m) => m.entry(key).or_default(),
        }
    }

    /// Every entry in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        match &self.0 {
            Repr::Small(v) => Iter::Small(v.iter()),
            Repr::Large(m) => Iter::Large(m.iter()),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

/// The entries of a [`PMap`], in key order.
pub enum Iter<'a, K: Ord + Clone, V: Clone> {
    Small(std::slice::Iter<'a, (K, V)>),
    Large(imbl::ordmap::Iter<'a, K, V, imbl::shared_ptr::DefaultSharedPtr>),
}

impl<'a, K: Ord + Clone, V: Clone> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next().map(|(k, v)| (k, v)),
            Iter::Large(it) => it.next(),
        }
    }
}

impl<'a, K: Ord + Clone, V: Clone> IntoIterator for &'a PMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for PMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = PMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> PartialEq for PMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Small(a), Repr::Small(b)) => a == b,
            (Repr::Large(a), Repr::Large(b)) => a == b,
            _ => self.len() == other.len() && self.iter().eq(other.iter()),
        }
    }
}

impl<K: Ord + Clone, V: Clone + Eq> Eq for PMap<K, V> {}

impl<K: Ord + Clone + Hash, V: Clone + Hash> Hash for PMap<K, V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The length, then the entries in order, whatever the form: with
        // the length first, two maps side by side in a state cannot trade
        // entries and hash alike (`BTreeMap` does the same).
        state.write_usize(self.len());
        for entry in self.iter() {
            entry.hash(state);
        }
    }
}

impl<K: Ord + Clone + fmt::Debug, V: Clone + fmt::Debug> fmt::Debug for PMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Clone + Serialize, V: Clone + Serialize> Serialize for PMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K, V> Deserialize<'de> for PMap<K, V>
where
    K: Ord + Clone + Deserialize<'de>,
    V: Clone + Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<K, V>::deserialize(d)?;
        Ok(map.into_iter().collect())
    }
}

/// An ordered set: a [`PMap`] to `()` (hashed as that map is: its length,
/// then its members, since `()` hashes as nothing).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct PSet<K: Ord + Clone>(PMap<K, ()>);

impl<K: Ord + Clone> PSet<K> {
    pub fn new() -> Self {
        PSet(PMap::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.contains_key(key)
    }

    /// Insert `key`; whether it was new.
    pub fn insert(&mut self, key: K) -> bool {
        self.0.insert(key, ()).is_none()
    }

    /// Remove `key`; whether it was there.
    pub fn remove<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.remove(key).is_some()
    }

    /// Every member in order.
    pub fn iter(&self) -> impl Iterator<Item = &K> {
        self.0.keys()
    }
}

impl<K: Ord + Clone> FromIterator<K> for PSet<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        PSet(iter.into_iter().map(|k| (k, ())).collect())
    }
}

impl<K: Ord + Clone + fmt::Debug> fmt::Debug for PSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<K: Ord + Clone + Serialize> Serialize for PSet<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, K: Ord + Clone + Deserialize<'de>> Deserialize<'de> for PSet<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let set = std::collections::BTreeSet::<K>::deserialize(d)?;
        Ok(set.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn hash_of<T: Hash>(t: &T) -> u64 {
        ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(t)
    }

    /// The same operations on a `PMap` and a `BTreeMap`, up to the spill,
    /// across it and on below it again (a spilled map stays in its large
    /// form): the same entries in the same order, always, and equal to and
    /// hashed as the same entries collected afresh in the small form.
    #[test]
    fn behaves_as_an_ordered_map_across_the_spill() {
        let mut ours: PMap<u64, u64> = PMap::new();
        let mut reference = BTreeMap::new();
        let mut x: u64 = 11;
        for round in 0..4_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Keys from a range twice the spill, so the map spills and then
            // holds fewer entries than the spill in its large form too.
            let key = (x >> 33) % (2 * SPILL as u64);
            match (x >> 20) % 4 {
                0 | 1 => assert_eq!(ours.insert(key, round), reference.insert(key, round)),
                2 => assert_eq!(ours.remove(&key), reference.remove(&key)),
                _ => {
                    *ours.get_or_default(key) += 1;
                    *reference.entry(key).or_default() += 1;
                }
            }
            assert_eq!(ours.len(), reference.len());
            assert_eq!(ours.get(&key), reference.get(&key));
            assert!(ours.iter().eq(reference.iter()));
            if reference.len() <= SPILL {
                let fresh: PMap<u64, u64> = reference.iter().map(|(k, v)| (*k, *v)).collect();
                assert!(matches!(fresh.0, Repr::Small(_)));
                assert_eq!(ours, fresh);
                assert_eq!(hash_of(&ours), hash_of(&fresh));
            }
        }
    }

    #[test]
    fn both_forms_of_the_same_entries_are_one_value() {
        let small: PMap<u32, u32> = (0..4).map(|i| (i, i * 10)).collect();
        // Grown past the spill and shrunk back to the same entries: large.
        let mut large: PMap<u32, u32> = (0..(SPILL as u32 + 5)).map(|i| (i, i * 10)).collect();
        for i in 4..(SPILL as u32 + 5) {
            large.remove(&i);
        }
        assert!(matches!(large.0, Repr::Large(_)));
        assert!(matches!(small.0, Repr::Small(_)));
        assert_eq!(small, large);
        assert_eq!(hash_of(&small), hash_of(&large));
        assert_eq!(
            serde_json::to_string(&small).ok(),
            serde_json::to_string(&large).ok()
        );
        let mut other = large.clone();
        other.insert(2, 0);
        assert_ne!(small, other);
        assert_ne!(hash_of(&small), hash_of(&other));
    }

    #[test]
    fn a_set_is_its_members() {
        let a: PSet<u8> = [3, 1, 2].into_iter().collect();
        let mut b = PSet::new();
        for k in [2, 3, 1, 1] {
            b.insert(k);
        }
        assert_eq!(a, b);
        assert_eq!(hash_of(&a), hash_of(&b));
        // Hashed as its length and then its members, as before it was
        // hashed through its map.
        let mut members =
            std::hash::BuildHasher::build_hasher(&ahash::RandomState::with_seeds(1, 2, 3, 4));
        members.write_usize(3);
        [1u8, 2, 3].iter().for_each(|k| k.hash(&mut members));
        assert_eq!(hash_of(&a), members.finish());
        assert!(a.iter().copied().eq([1, 2, 3]));
        assert!(b.remove(&2) && !b.remove(&2) && !b.contains(&2));
        assert_eq!(serde_json::to_string(&a).ok().as_deref(), Some("[1,2,3]"));
    }
}
