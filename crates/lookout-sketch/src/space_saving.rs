//! Space-Saving heavy hitters: see the crate documentation.

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// A held key's estimated count and the most that estimate can exceed the true count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter<K> {
    pub key: K,
    /// Estimated count (weight) since the last clear: never below the true count.
    pub count: u64,
    /// Upper bound on the overestimate: the true count is in `count - error ..= count`.
    pub error: u64,
}

/// The `capacity` heaviest keys of a stream, in fixed memory.
///
/// Counters live in fixed slots; a min-heap of slot numbers orders them by
/// `(count, key)`, so moving a counter in the heap touches two small integers and never
/// the key map. The key map (Fx hash: fast and unseeded, which is safe here because it
/// never holds more than `capacity` keys, so colliding keys cost at most a scan of
/// `capacity` entries) is used once per update, and three times when a key is evicted.
#[derive(Debug, Clone)]
pub struct SpaceSaving<K> {
    capacity: usize,
    /// The held counters, each in the slot it was given when it entered.
    slots: Vec<Counter<K>>,
    /// Min-heap on `(count, key)` of (count, slot number): the count is copied here so
    /// that ordering reads a key only when counts tie.
    heap: Vec<(u64, u32)>,
    /// Slot number to its position in `heap`.
    heap_positions: Vec<u32>,
    /// Key to its slot number.
    positions: FxHashMap<K, u32>,
    total: u64,
}

impl<K: Hash + Eq + Clone + Ord> SpaceSaving<K> {
    /// A summary holding at most `capacity` keys (at least one, at most `u32::MAX`).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, u32::MAX as usize);
        SpaceSaving {
            capacity,
            slots: Vec::with_capacity(capacity),
            heap: Vec::with_capacity(capacity),
            heap_positions: Vec::with_capacity(capacity),
            positions: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
            total: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of keys held now (at most the capacity).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Total weight offered since the last clear, held or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts one occurrence of `key`.
    pub fn insert(&mut self, key: &K) {
        self.insert_weighted(key, 1);
    }

    /// Counts `weight` occurrences of `key` (bytes of a request, packets of a flow).
    pub fn insert_weighted(&mut self, key: &K, weight: u64) {
        if weight == 0 {
            return;
        }
        self.total = self.total.saturating_add(weight);
        if let Some(&slot) = self.positions.get(key) {
            let counter = &mut self.slots[slot as usize];
            counter.count = counter.count.saturating_add(weight);
            let position = self.heap_positions[slot as usize] as usize;
            self.heap[position].0 = counter.count;
            self.sift_down(position);
            return;
        }
        if self.slots.len() < self.capacity {
            let slot = self.slots.len() as u32;
            self.slots.push(Counter {
                key: key.clone(),
                count: weight,
                error: 0,
            });
            self.positions.insert(key.clone(), slot);
            self.heap.push((weight, slot));
            self.heap_positions.push(self.heap.len() as u32 - 1);
            self.sift_up(self.heap.len() - 1);
            return;
        }
        // Replace the minimum: the newcomer inherits its count as the error bound.
        let (minimum, slot) = self.heap[0];
        let counter = &mut self.slots[slot as usize];
        let evicted = std::mem::replace(&mut counter.key, key.clone());
        counter.count = minimum.saturating_add(weight);
        counter.error = minimum;
        self.heap[0].0 = counter.count;
        self.positions.remove(&evicted);
        self.positions.insert(key.clone(), slot);
        self.sink_root();
    }

    /// The held counter of `key`, if it is held.
    pub fn get(&self, key: &K) -> Option<&Counter<K>> {
        self.positions
            .get(key)
            .map(|&slot| &self.slots[slot as usize])
    }

    /// The `n` heaviest held keys, heaviest first (ties by key, so the order is stable).
    pub fn top(&self, n: usize) -> Vec<Counter<K>> {
        let mut counters: Vec<Counter<K>> = self.slots.clone();
        counters.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        counters.truncate(n);
        counters
    }

    /// Forgets everything (the next interval starts empty); keeps the allocation.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.heap.clear();
        self.heap_positions.clear();
        self.positions.clear();
        self.total = 0;
    }

    /// Whether the counter at heap position `a` orders before the one at `b`.
    fn less(&self, a: usize, b: usize) -> bool {
        let (x, y) = (self.heap[a], self.heap[b]);
        x.0 < y.0 || (x.0 == y.0 && self.slots[x.1 as usize].key < self.slots[y.1 as usize].key)
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.heap_positions[self.heap[a].1 as usize] = a as u32;
        self.heap_positions[self.heap[b].1 as usize] = b as u32;
    }

    fn sift_up(&mut self, mut position: usize) {
        while position > 0 {
            let parent = (position - 1) / 2;
            if !self.less(position, parent) {
                return;
            }
            self.swap(position, parent);
            position = parent;
        }
    }

    /// Whether heap entry `x` orders before `y`.
    fn ordered(&self, x: (u64, u32), y: (u64, u32)) -> bool {
        x.0 < y.0 || (x.0 == y.0 && self.slots[x.1 as usize].key < self.slots[y.1 as usize].key)
    }

    fn place(&mut self, position: usize, entry: (u64, u32)) {
        self.heap[position] = entry;
        self.heap_positions[entry.1 as usize] = position as u32;
    }

    /// Sifts the root down after an eviction. The newcomer's count is at least the old
    /// minimum, so it usually belongs near the leaves: the hole goes down the path of
    /// smaller children first (one comparison a level), and the newcomer climbs back
    /// from the leaf to its place (Floyd's order; the same heap as [`Self::sift_down`]).
    fn sink_root(&mut self) {
        let len = self.heap.len();
        let item = self.heap[0];
        let mut hole = 0;
        loop {
            let left = 2 * hole + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.ordered(self.heap[right], self.heap[left]) {
                right
            } else {
                left
            };
            self.place(hole, self.heap[child]);
            hole = child;
        }
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if !self.ordered(item, self.heap[parent]) {
                break;
            }
            self.place(hole, self.heap[parent]);
            hole = parent;
        }
        self.place(hole, item);
    }

    fn sift_down(&mut self, mut position: usize) {
        let len = self.heap.len();
        loop {
            let left = 2 * position + 1;
            let right = left + 1;
            let mut smallest = position;
            if left < len && self.less(left, smallest) {
                smallest = left;
            }
            if right < len && self.less(right, smallest) {
                smallest = right;
            }
            if smallest == position {
                return;
            }
            self.swap(position, smallest);
            position = smallest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    #[test]
    fn exact_while_under_capacity() {
        let mut summary = SpaceSaving::new(4);
        for key in ["a", "b", "a", "c", "a", "b"] {
            summary.insert(&key);
        }
        let top = summary.top(10);
        assert_eq!(
            top,
            vec![
                Counter {
                    key: "a",
                    count: 3,
                    error: 0
                },
                Counter {
                    key: "b",
                    count: 2,
                    error: 0
                },
                Counter {
                    key: "c",
                    count: 1,
                    error: 0
                },
            ]
        );
        assert_eq!(summary.total(), 6);
    }

    #[test]
    fn a_flooding_client_is_found_among_a_million_spoofed_ones() {
        let mut summary = SpaceSaving::new(64);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for i in 0..1_000_000u32 {
            if i % 10 == 0 {
                summary.insert(&u32::MAX);
            } else {
                summary.insert(&rng.gen::<u32>());
            }
        }
        let top = summary.top(1);
        assert_eq!(top[0].key, u32::MAX);
        assert!(top[0].count - top[0].error <= 100_000 && top[0].count >= 100_000);
        assert_eq!(summary.len(), 64, "memory stays at the capacity");
    }

    #[test]
    fn clear_starts_a_new_interval() {
        let mut summary = SpaceSaving::new(2);
        summary.insert_weighted(&1, 5);
        summary.clear();
        assert!(summary.is_empty());
        assert_eq!(summary.total(), 0);
        summary.insert(&2);
        assert_eq!(
            summary.top(5),
            vec![Counter {
                key: 2,
                count: 1,
                error: 0
            }]
        );
    }

    proptest! {
        /// The Space-Saving guarantees: every estimate bounds the true count from above
        /// within its error, and every key heavier than total/capacity is held.
        #[test]
        fn estimates_bound_true_counts(
            keys in proptest::collection::vec(0u8..40, 0..600),
            capacity in 1usize..16,
        ) {
            let mut summary = SpaceSaving::new(capacity);
            let mut truth = HashMap::new();
            for key in &keys {
                summary.insert(key);
                *truth.entry(*key).or_insert(0u64) += 1;
            }
            prop_assert!(summary.len() <= capacity);
            for counter in summary.top(capacity) {
                let true_count = truth[&counter.key];
                prop_assert!(counter.count >= true_count);
                prop_assert!(counter.count - counter.error <= true_count);
            }
            for (key, count) in &truth {
                if *count * capacity as u64 > keys.len() as u64 {
                    prop_assert!(summary.get(key).is_some(), "heavy key {key} held");
                }
            }
        }
    }
}
