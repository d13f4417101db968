//! The in-memory series index: every known series, its store id, its latest score.
//!
//! Loaded from the store at start and grown by ingestion, it answers "which series match
//! this selector" without touching SQLite, and it enforces the cardinality limit: a
//! request that would take the number of series past `max_series` is refused whole.
//!
//! Memory: one [`SeriesEntry`] per series, referenced from a hash table keyed by the
//! key's stable 64-bit hash and from a per-name list. The key itself is the store's copy
//! (an `Arc` shared with the store's series registry), so the index costs ~100 bytes
//! per series beyond it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use lookout_model::{SeriesId, SeriesKey};

/// One series as the server sees it.
#[derive(Debug)]
pub struct SeriesEntry {
    pub id: SeriesId,
    pub key: Arc<SeriesKey>,
    latest_score: AtomicU64,
    latest_ms: AtomicI64,
}

impl SeriesEntry {
    pub fn new(id: SeriesId, key: impl Into<Arc<SeriesKey>>) -> Self {
        SeriesEntry {
            id,
            key: key.into(),
            latest_score: AtomicU64::new(f64::NAN.to_bits()),
            latest_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Records a verdict's score if it is newer than the one held.
    pub fn record_score(&self, timestamp_ms: i64, score: f64) {
        let previous = self.latest_ms.fetch_max(timestamp_ms, Ordering::AcqRel);
        if timestamp_ms >= previous {
            self.latest_score.store(score.to_bits(), Ordering::Release);
        }
    }

    /// The latest score and its time, if any sample was scored since start.
    pub fn latest_score(&self) -> Option<(i64, f64)> {
        let timestamp = self.latest_ms.load(Ordering::Acquire);
        let score = f64::from_bits(self.latest_score.load(Ordering::Acquire));
        (timestamp != i64::MIN && score.is_finite()).then_some((timestamp, score))
    }
}

/// Refused: the request would create more series than allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "series limit reached: the request would add {new_series} new series to the {current} known, \
     over the limit of {limit} (first new series: {example})"
)]
pub struct SeriesLimitError {
    pub new_series: usize,
    pub current: usize,
    pub limit: usize,
    pub example: String,
}

#[derive(Default)]
struct Inner {
    by_hash: HashMap<u64, Vec<Arc<SeriesEntry>>>,
    by_name: HashMap<String, Vec<Arc<SeriesEntry>>>,
    by_id: HashMap<SeriesId, Arc<SeriesEntry>>,
}

impl Inner {
    fn find(&self, key: &SeriesKey, hash: u64) -> Option<&Arc<SeriesEntry>> {
        self.by_hash
            .get(&hash)?
            .iter()
            .find(|entry| *entry.key == *key)
    }

    fn insert(&mut self, entry: Arc<SeriesEntry>) {
        self.by_hash
            .entry(entry.key.stable_hash())
            .or_default()
            .push(Arc::clone(&entry));
        self.by_name
            .entry(entry.key.name.clone())
            .or_default()
            .push(Arc::clone(&entry));
        self.by_id.insert(entry.id, entry);
    }
}

/// Thread-safe index; lookups share a read lock, new series take the write lock briefly.
pub struct SeriesIndex {
    inner: RwLock<Inner>,
    max_series: usize,
}

impl SeriesIndex {
    pub fn new(max_series: usize) -> Self {
        SeriesIndex {
            inner: RwLock::new(Inner::default()),
            max_series,
        }
    }

    /// Adds series known from the store (no limit check: they exist already).
    pub fn load<K: Into<Arc<SeriesKey>>>(&self, series: impl IntoIterator<Item = (SeriesId, K)>) {
        let mut inner = self.write();
        for (id, key) in series {
            let key: Arc<SeriesKey> = key.into();
            if inner.find(&key, key.stable_hash()).is_none() {
                inner.insert(Arc::new(SeriesEntry::new(id, key)));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// The entries of `keys` (in order), creating the missing ones with the id and
    /// shared key from `register` (the store's), or an error and no change when they
    /// would exceed the limit.
    pub fn resolve(
        &self,
        keys: &[&SeriesKey],
        mut register: impl FnMut(&SeriesKey) -> (SeriesId, Arc<SeriesKey>),
    ) -> Result<Vec<Arc<SeriesEntry>>, SeriesLimitError> {
        let hashes: Vec<u64> = keys.iter().map(|key| key.stable_hash()).collect();
        {
            let inner = self.read();
            let found: Option<Vec<_>> = keys
                .iter()
                .zip(&hashes)
                .map(|(key, hash)| inner.find(key, *hash).cloned())
                .collect();
            if let Some(found) = found {
                return Ok(found);
            }
        }
        let mut inner = self.write();
        let mut new_keys: Vec<(&SeriesKey, u64)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (key, hash) in keys.iter().zip(&hashes) {
            if inner.find(key, *hash).is_none() && seen.insert(*key) {
                new_keys.push((key, *hash));
            }
        }
        let current = inner.by_id.len();
        if current + new_keys.len() > self.max_series {
            return Err(SeriesLimitError {
                new_series: new_keys.len(),
                current,
                limit: self.max_series,
                example: new_keys
                    .first()
                    .map(|(key, _)| key.to_string())
                    .unwrap_or_default(),
            });
        }
        for (key, _) in new_keys {
            let (id, shared) = register(key);
            inner.insert(Arc::new(SeriesEntry::new(id, shared)));
        }
        Ok(keys
            .iter()
            .zip(&hashes)
            .map(|(key, hash)| Arc::clone(inner.find(key, *hash).expect("inserted above")))
            .collect())
    }

    pub fn get(&self, key: &SeriesKey) -> Option<Arc<SeriesEntry>> {
        self.read().find(key, key.stable_hash()).cloned()
    }

    pub fn by_id(&self, id: SeriesId) -> Option<Arc<SeriesEntry>> {
        self.read().by_id.get(&id).cloned()
    }

    /// Series whose name is `name` (every series when `None`) and that `keep` accepts,
    /// ordered by key.
    pub fn select(
        &self,
        name: Option<&str>,
        keep: impl Fn(&SeriesKey) -> bool,
    ) -> Vec<Arc<SeriesEntry>> {
        let inner = self.read();
        let mut selected: Vec<Arc<SeriesEntry>> = match name {
            Some(name) => inner
                .by_name
                .get(name)
                .map(|list| list.iter().filter(|e| keep(&e.key)).cloned().collect()),
            None => Some(
                inner
                    .by_id
                    .values()
                    .filter(|e| keep(&e.key))
                    .cloned()
                    .collect(),
            ),
        }
        .unwrap_or_default();
        selected.sort_by(|a, b| a.key.cmp(&b.key));
        selected
    }

    /// Every series, ordered by key.
    pub fn all(&self) -> Vec<Arc<SeriesEntry>> {
        self.select(None, |_| true)
    }

    /// Distinct metric names, sorted.
    pub fn names(&self) -> BTreeSet<String> {
        self.read().by_name.keys().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, host: &str) -> SeriesKey {
        SeriesKey::new(name).with_label("host", host)
    }

    fn counter() -> impl FnMut(&SeriesKey) -> (SeriesId, Arc<SeriesKey>) {
        let mut next = 0;
        move |key| {
            next += 1;
            (SeriesId(next), Arc::new(key.clone()))
        }
    }

    #[test]
    fn resolve_assigns_once_and_keeps_order() {
        let index = SeriesIndex::new(10);
        let (a, b) = (key("cpu", "a"), key("cpu", "b"));
        let mut assign = counter();
        let first = index.resolve(&[&a, &b, &a], &mut assign).unwrap();
        assert_eq!(first.iter().map(|e| e.id.0).collect::<Vec<_>>(), [1, 2, 1]);
        let again = index.resolve(&[&b], &mut assign).unwrap();
        assert_eq!(again[0].id, SeriesId(2));
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn the_limit_refuses_the_whole_request() {
        let index = SeriesIndex::new(2);
        let mut assign = counter();
        index.resolve(&[&key("cpu", "a")], &mut assign).unwrap();
        let (b, c) = (key("cpu", "b"), key("cpu", "c"));
        let error = index.resolve(&[&b, &c], &mut assign).unwrap_err();
        assert_eq!((error.new_series, error.current, error.limit), (2, 1, 2));
        assert!(error.to_string().contains("cpu{host=\"b\"}"), "{error}");
        assert_eq!(index.len(), 1, "nothing of a refused request is added");
        assert!(index.resolve(&[&b], &mut assign).is_ok());
    }

    #[test]
    fn select_filters_by_name_and_predicate() {
        let index = SeriesIndex::new(10);
        index.load([
            (SeriesId(1), key("cpu", "b")),
            (SeriesId(2), key("cpu", "a")),
            (SeriesId(3), key("mem", "a")),
        ]);
        let cpu = index.select(Some("cpu"), |_| true);
        assert_eq!(cpu.iter().map(|e| e.id.0).collect::<Vec<_>>(), [2, 1]);
        let host_a = index.select(None, |k| {
            k.labels.get("host").map(String::as_str) == Some("a")
        });
        assert_eq!(host_a.len(), 2);
        assert!(index.select(Some("disk"), |_| true).is_empty());
        assert_eq!(
            index.names().into_iter().collect::<Vec<_>>(),
            ["cpu", "mem"]
        );
    }

    #[test]
    fn latest_score_only_moves_forward() {
        let entry = SeriesEntry::new(SeriesId(1), key("cpu", "a"));
        assert_eq!(entry.latest_score(), None);
        entry.record_score(2_000, 0.5);
        entry.record_score(1_000, 0.9);
        assert_eq!(entry.latest_score(), Some((2_000, 0.5)));
    }
}
