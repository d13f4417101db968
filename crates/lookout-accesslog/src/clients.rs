//! Top clients of an interval in fixed memory.
//!
//! Clients are counted by the 64-bit hash of their address in a
//! [`lookout_sketch::SpaceSaving`] summary; the addresses of held hashes are kept
//! beside it. In front of the summary a direct-mapped cache of [`CACHE_SLOTS`] counters
//! merges repeated requests of one client into one weighted update (a busy client's
//! requests cost one cache hit each, not a heap update); an evicted cache entry and
//! the whole cache at the end of the interval go into the summary as weighted
//! inserts, which keeps Space-Saving's guarantees (every client above `total /
//! capacity` held, counts overestimated by at most their recorded error).
//!
//! What it misses: two addresses with the same 64-bit hash are one client (odds about
//! n²/2⁶⁵). Cost per request: one hash, one cache probe, rarely a summary update;
//! memory: `capacity` counters, [`CACHE_SLOTS`] cache entries, at most `2 × (capacity +
//! CACHE_SLOTS)`
//! addresses.

use std::hash::BuildHasher;

use lookout_sketch::SpaceSaving;
use rustc_hash::{FxBuildHasher, FxHashMap};

/// Cache entries in front of the summary.
pub const CACHE_SLOTS: usize = 4096;

#[derive(Debug, Clone)]
pub struct TopClients {
    sketch: SpaceSaving<u64>,
    cache: Box<[(u64, u64)]>,
    names: FxHashMap<u64, Box<str>>,
    capacity: usize,
}

impl TopClients {
    pub fn new(capacity: usize) -> TopClients {
        TopClients {
            sketch: SpaceSaving::new(capacity),
            cache: vec![(0, 0); CACHE_SLOTS].into_boxed_slice(),
            names: FxHashMap::default(),
            capacity: capacity.max(1),
        }
    }

    /// Counts one request of `client`; returns the client's hash.
    pub fn insert(&mut self, client: &str) -> u64 {
        let hash = FxBuildHasher.hash_one(client);
        let slot = &mut self.cache[(hash >> 52) as usize % CACHE_SLOTS];
        if slot.0 == hash && slot.1 > 0 {
            slot.1 += 1;
            return hash;
        }
        let evicted = std::mem::replace(slot, (hash, 1));
        if evicted.1 > 0 {
            self.sketch.insert_weighted(&evicted.0, evicted.1);
        }
        if !self.names.contains_key(&hash) {
            if self.names.len() >= 2 * (self.capacity + CACHE_SLOTS) {
                let (sketch, cache) = (&self.sketch, &self.cache);
                self.names.retain(|held, _| {
                    let cached = cache[(*held >> 52) as usize % CACHE_SLOTS];
                    sketch.get(held).is_some() || (cached.0 == *held && cached.1 > 0)
                });
            }
            self.names.insert(hash, client.into());
        }
        hash
    }

    /// Addresses held now (bounded by `2 × (capacity + CACHE_SLOTS)`).
    pub fn held_names(&self) -> usize {
        self.names.len()
    }

    /// The `n` heaviest clients (address, estimated count, hash), heaviest first; then
    /// forgets the interval.
    pub fn take_top(&mut self, n: usize) -> Vec<(String, u64, u64)> {
        for slot in self.cache.iter_mut() {
            let (hash, count) = std::mem::take(slot);
            if count > 0 {
                self.sketch.insert_weighted(&hash, count);
            }
        }
        let top = self
            .sketch
            .top(n)
            .into_iter()
            .map(|counter| {
                let name = self.names.get(&counter.key).map_or("?", |name| name);
                (name.to_string(), counter.count, counter.key)
            })
            .collect();
        self.sketch.clear();
        self.names.clear();
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_clients_are_counted_exactly_when_few() {
        let mut clients = TopClients::new(16);
        for index in 0..1000 {
            clients.insert(if index % 3 == 0 { "a" } else { "b" });
            clients.insert(&format!("rare{}", index % 7));
        }
        let top = clients.take_top(2);
        assert_eq!(top[0].0, "b");
        assert_eq!(top[0].1, 666);
        assert_eq!(top[1].0, "a");
        assert_eq!(top[1].1, 334);
        assert!(clients.take_top(2).is_empty(), "the interval is forgotten");
    }

    #[test]
    fn a_flood_among_many_addresses_is_held_with_its_name() {
        let mut clients = TopClients::new(64);
        for index in 0..200_000u32 {
            if index % 4 == 0 {
                clients.insert("203.0.113.66");
            } else {
                clients.insert(&format!(
                    "10.{}.{}.{}",
                    index >> 16,
                    (index >> 8) & 255,
                    index & 255
                ));
            }
        }
        let top = clients.take_top(1);
        assert_eq!(top[0].0, "203.0.113.66");
        assert!(top[0].1 >= 50_000, "{top:?}");
        assert!(clients.names.is_empty());
    }
}
