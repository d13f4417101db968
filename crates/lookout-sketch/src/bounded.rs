//! [`BoundedMap`]: a map with a size cap and an age limit, least recently touched out
//! first.
//!
//! Per-address and per-connection state must not grow with the number of addresses an
//! attacker can spoof. Every entry records when (log time) and in which order it was
//! last touched; an ordered index beside the hash map makes evicting the oldest entry
//! and expiring stale ones O(log n) each. Cost: one hash lookup and two ordered-index
//! updates per touch; memory: `capacity` entries.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

#[derive(Debug, Clone)]
struct Slot<V> {
    value: V,
    stamp: (i64, u64),
}

/// A map holding at most `capacity` entries, each dropped `ttl_ms` after its last touch.
#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    slots: HashMap<K, Slot<V>>,
    order: BTreeMap<(i64, u64), K>,
    capacity: usize,
    ttl_ms: i64,
    seq: u64,
    evicted: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    pub fn new(capacity: usize, ttl_ms: i64) -> Self {
        BoundedMap {
            slots: HashMap::new(),
            order: BTreeMap::new(),
            capacity: capacity.max(1),
            ttl_ms,
            seq: 0,
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Entries dropped for room (not by age) so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Drops every entry last touched more than the age limit before `now_ms`.
    pub fn expire(&mut self, now_ms: i64) {
        self.drain_expired(now_ms, |_, _| {});
    }

    /// Drops every entry last touched more than the age limit before `now_ms`, handing
    /// each to `dropped` (oldest first).
    pub fn drain_expired(&mut self, now_ms: i64, mut dropped: impl FnMut(K, V)) {
        let limit = now_ms.saturating_sub(self.ttl_ms);
        while let Some((&stamp, _)) = self.order.first_key_value() {
            if stamp.0 >= limit {
                break;
            }
            let key = self.order.remove(&stamp).expect("present");
            let slot = self.slots.remove(&key).expect("present");
            dropped(key, slot.value);
        }
    }

    /// Removes every entry, handing each to `dropped` (oldest first).
    pub fn drain(&mut self, mut dropped: impl FnMut(K, V)) {
        while let Some((_, key)) = self.order.pop_first() {
            let slot = self.slots.remove(&key).expect("present");
            dropped(key, slot.value);
        }
    }

    /// The entry of `key`, not touching it, mutably.
    pub fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        self.slots.get_mut(key).map(|s| &mut s.value)
    }

    /// The entry of `key`, not touching it.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.slots.get(key).map(|s| &s.value)
    }

    /// Whether `key` is held and was touched within the age limit of `now_ms` (a stale
    /// entry is dropped).
    pub fn contains_fresh(&mut self, key: &K, now_ms: i64) -> bool {
        match self.slots.get(key) {
            None => false,
            Some(s) if s.stamp.0 < now_ms.saturating_sub(self.ttl_ms) => {
                self.remove(key);
                false
            }
            Some(_) => true,
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.slots.remove(key)?;
        self.order.remove(&slot.stamp);
        Some(slot.value)
    }

    /// The entry of `key` touched at `now_ms` (a stale one dropped first), made with
    /// `make` when absent, evicting the least recently touched entry when full.
    pub fn touch(&mut self, key: &K, now_ms: i64, make: impl FnOnce() -> V) -> &mut V {
        self.touch_evicting(key, now_ms, make, |_, _| {})
    }

    /// [`BoundedMap::touch`], handing what it drops (the stale entry of `key`, the
    /// least recently touched entry evicted for room) to `dropped`.
    pub fn touch_evicting(
        &mut self,
        key: &K,
        now_ms: i64,
        make: impl FnOnce() -> V,
        mut dropped: impl FnMut(K, V),
    ) -> &mut V {
        self.seq += 1;
        let stamp = (now_ms, self.seq);
        let stale = self
            .slots
            .get(key)
            .is_some_and(|s| s.stamp.0 < now_ms.saturating_sub(self.ttl_ms));
        if stale {
            if let Some(value) = self.remove(key) {
                dropped(key.clone(), value);
            }
        }
        if let Some(slot) = self.slots.get_mut(key) {
            self.order.remove(&slot.stamp);
            // Times can go backwards in a log; the order index keeps the newest.
            slot.stamp = (slot.stamp.0.max(now_ms), self.seq);
            self.order.insert(slot.stamp, key.clone());
        } else {
            if self.slots.len() >= self.capacity {
                if let Some((_, oldest)) = self.order.pop_first() {
                    let slot = self.slots.remove(&oldest).expect("present");
                    self.evicted += 1;
                    dropped(oldest, slot.value);
                }
            }
            self.order.insert(stamp, key.clone());
            self.slots.insert(
                key.clone(),
                Slot {
                    value: make(),
                    stamp,
                },
            );
        }
        &mut self.slots.get_mut(key).expect("present").value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn evicts_the_least_recently_touched() {
        let mut m = BoundedMap::new(2, 1000);
        *m.touch(&"a", 0, || 0) += 1;
        *m.touch(&"b", 1, || 0) += 1;
        *m.touch(&"a", 2, || 0) += 1;
        *m.touch(&"c", 3, || 0) += 1;
        assert_eq!(m.peek(&"a"), Some(&2));
        assert_eq!(m.peek(&"b"), None);
        assert_eq!(m.evicted(), 1);
    }

    #[test]
    fn hands_back_what_it_drops() {
        let mut m = BoundedMap::new(2, 100);
        let mut gone = Vec::new();
        m.touch_evicting(&"a", 0, || 1, |k, v| gone.push((k, v)));
        m.touch_evicting(&"b", 10, || 2, |k, v| gone.push((k, v)));
        m.touch_evicting(&"c", 20, || 3, |k, v| gone.push((k, v)));
        assert_eq!(gone, [("a", 1)]);
        m.touch_evicting(&"b", 500, || 4, |k, v| gone.push((k, v)));
        assert_eq!(gone, [("a", 1), ("b", 2)]);
        m.drain_expired(150, |k, v| gone.push((k, v)));
        assert_eq!(gone.last(), Some(&("c", 3)));
        m.drain(|k, v| gone.push((k, v)));
        assert_eq!(gone.last(), Some(&("b", 4)));
        assert!(m.is_empty());
    }

    #[test]
    fn expires_by_age() {
        let mut m = BoundedMap::new(10, 100);
        m.touch(&1, 0, || ());
        m.touch(&2, 50, || ());
        m.expire(120);
        assert!(m.peek(&1).is_none() && m.peek(&2).is_some());
        // A stale entry is made anew on touch.
        let mut m = BoundedMap::new(10, 100);
        *m.touch(&1, 0, || 5) += 1;
        assert_eq!(*m.touch(&1, 500, || 0), 0);
    }

    proptest! {
        #[test]
        fn never_exceeds_its_capacity(keys in proptest::collection::vec((0u16..500, 0i64..10_000), 1..400), cap in 1usize..20) {
            let mut m = BoundedMap::new(cap, 1_000);
            for (k, t) in keys {
                m.touch(&k, t, || ());
                prop_assert!(m.len() <= cap);
                prop_assert_eq!(m.len(), m.order.len());
            }
        }
    }
}
