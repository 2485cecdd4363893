//! A value that remembers its own hash until it is changed.
//!
//! Fingerprinting a checker state hashes every party's state, but a
//! transition changes one party at most: the others are shared (`Arc`) with
//! the state they came from. The checker therefore holds each party's state
//! as a `Hashed<NodeState>`: hashing it the first time remembers a 64-bit
//! digest of the whole value, and every later hash writes that digest alone.
//! Any mutable access (`DerefMut`) forgets the digest, so a changed value is
//! never hashed with a stale one; a clone keeps it, being equal.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

pub struct Hashed<T> {
    value: T,
    digest: OnceLock<u64>,
}

impl<T> Hashed<T> {
    pub fn new(value: T) -> Self {
        Hashed {
            value,
            digest: OnceLock::new(),
        }
    }
}

impl<T: Hash> Hashed<T> {
    /// The remembered digest (computed on first use).
    pub fn digest(&self) -> u64 {
        *self
            .digest
            .get_or_init(|| crate::explore::fingerprint(&self.value))
    }
}

impl<T> Deref for Hashed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Hashed<T> {
    /// Whoever may change the value makes the digest stale: forget it.
    fn deref_mut(&mut self) -> &mut T {
        self.digest = OnceLock::new();
        &mut self.value
    }
}

impl<T: Clone> Clone for Hashed<T> {
    fn clone(&self) -> Self {
        Hashed {
            value: self.value.clone(),
            digest: self.digest.clone(),
        }
    }
}

/// Equal values have equal digests, so this agrees with `Hash`.
impl<T: PartialEq + Hash> PartialEq for Hashed<T> {
    fn eq(&self, other: &Self) -> bool {
        let known = (self.digest.get(), other.digest.get());
        if let (Some(a), Some(b)) = known
            && a != b
        {
            return false;
        }
        self.value == other.value
    }
}

impl<T: Eq + Hash> Eq for Hashed<T> {}

impl<T: Hash> Hash for Hashed<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest());
    }
}

impl<T: fmt::Debug> fmt::Debug for Hashed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Default> Default for Hashed<T> {
    fn default() -> Self {
        Hashed::new(T::default())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Hashed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Hashed::new)
    }
}

impl<T: Serialize> Serialize for Hashed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp<T: Hash>(t: &T) -> u64 {
        crate::explore::fingerprint(t)
    }

    #[test]
    fn a_change_through_deref_mut_forgets_the_digest() {
        let mut h = Hashed::new(vec![1, 2, 3]);
        let before = fp(&h);
        let kept = h.clone();
        h.push(4);
        assert_ne!(fp(&h), before);
        assert_eq!(fp(&h), fp(&Hashed::new(vec![1, 2, 3, 4])));
        assert_eq!(fp(&kept), before);
        assert_ne!(h, kept);
    }

    #[test]
    fn equal_values_hash_alike_whatever_their_history() {
        let mut a = Hashed::new(String::from("x"));
        let _ = fp(&a);
        a.push('y');
        let b = Hashed::new(String::from("xy"));
        assert_eq!(a, b);
        assert_eq!(fp(&a), fp(&b));
    }
}
