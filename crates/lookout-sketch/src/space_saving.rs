//! Space-Saving heavy hitters: see the crate documentation.

use std::collections::HashMap;
use std::hash::Hash;

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
#[derive(Debug, Clone)]
pub struct SpaceSaving<K> {
    capacity: usize,
    /// Min-heap on `count` of the held counters.
    heap: Vec<Counter<K>>,
    /// Key to its position in `heap`.
    positions: HashMap<K, usize>,
    total: u64,
}

impl<K: Hash + Eq + Clone + Ord> SpaceSaving<K> {
    /// A summary holding at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        SpaceSaving {
            capacity,
            heap: Vec::with_capacity(capacity),
            positions: HashMap::with_capacity(capacity),
            total: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of keys held now (at most the capacity).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
        if let Some(&position) = self.positions.get(key) {
            let counter = &mut self.heap[position];
            counter.count = counter.count.saturating_add(weight);
            self.sift_down(position);
            return;
        }
        if self.heap.len() < self.capacity {
            self.heap.push(Counter {
                key: key.clone(),
                count: weight,
                error: 0,
            });
            let position = self.heap.len() - 1;
            self.positions.insert(key.clone(), position);
            self.sift_up(position);
            return;
        }
        // Replace the minimum: the newcomer inherits its count as the error bound.
        let minimum = self.heap[0].count;
        let evicted = std::mem::replace(
            &mut self.heap[0],
            Counter {
                key: key.clone(),
                count: minimum.saturating_add(weight),
                error: minimum,
            },
        );
        self.positions.remove(&evicted.key);
        self.positions.insert(key.clone(), 0);
        self.sift_down(0);
    }

    /// The held counter of `key`, if it is held.
    pub fn get(&self, key: &K) -> Option<&Counter<K>> {
        self.positions
            .get(key)
            .map(|&position| &self.heap[position])
    }

    /// The `n` heaviest held keys, heaviest first (ties by key, so the order is stable).
    pub fn top(&self, n: usize) -> Vec<Counter<K>> {
        let mut counters: Vec<Counter<K>> = self.heap.clone();
        counters.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        counters.truncate(n);
        counters
    }

    /// Forgets everything (the next interval starts empty); keeps the allocation.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.positions.clear();
        self.total = 0;
    }

    fn less(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.heap[a], &self.heap[b]);
        (x.count, &x.key) < (y.count, &y.key)
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        *self.positions.get_mut(&self.heap[a].key).expect("held key") = a;
        *self.positions.get_mut(&self.heap[b].key).expect("held key") = b;
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

    fn sift_down(&mut self, mut position: usize) {
        loop {
            let left = 2 * position + 1;
            let right = left + 1;
            let mut smallest = position;
            if left < self.heap.len() && self.less(left, smallest) {
                smallest = left;
            }
            if right < self.heap.len() && self.less(right, smallest) {
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
