//! The in-memory series registry: key → id, assigned on first sight.
//!
//! Ids are assigned in memory (no round trip to the writer) and the new `series` rows are
//! handed to the writer, which inserts them at the start of its next transaction. A batch
//! can only name a series id after [`SeriesRegistry::id_for`] returned it, so the series
//! row always commits in the same transaction as, or before, the first sample that uses
//! it. An id that was handed out but never committed (crash before any write) is reused
//! after restart, which is harmless because nothing durable refers to it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use lookout_model::{Domain, SeriesId, SeriesKey};
use rusqlite::Connection;

use crate::error::SqlContext;
use crate::StoreError;

/// What the store knows about one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    pub id: SeriesId,
    /// Shared with the server's series index: one copy of each key in memory.
    pub key: Arc<SeriesKey>,
    pub domain: Domain,
    pub created_ms: i64,
}

/// A series row waiting for the writer's next transaction.
#[derive(Debug, Clone)]
pub(crate) struct NewSeries(pub Arc<SeriesInfo>);

/// The key is kept once, in [`SeriesInfo`]; lookups by key go through its stable hash
/// (ids of every series with that hash, almost always one) and compare the stored key.
#[derive(Default)]
struct Inner {
    by_hash: HashMap<u64, Vec<SeriesId>>,
    by_id: HashMap<SeriesId, Arc<SeriesInfo>>,
    next_id: i64,
    pending: Vec<NewSeries>,
}

impl Inner {
    fn find(&self, key: &SeriesKey, hash: u64) -> Option<SeriesId> {
        self.by_hash
            .get(&hash)?
            .iter()
            .copied()
            .find(|id| self.by_id.get(id).is_some_and(|info| *info.key == *key))
    }

    fn find_entry(&self, key: &SeriesKey, hash: u64) -> Option<(SeriesId, Arc<SeriesKey>)> {
        let id = self.find(key, hash)?;
        let info = self.by_id.get(&id)?;
        Some((id, Arc::clone(&info.key)))
    }

    fn insert(&mut self, info: Arc<SeriesInfo>) {
        self.by_hash
            .entry(info.key.stable_hash())
            .or_default()
            .push(info.id);
        self.by_id.insert(info.id, info);
    }
}

/// Thread-safe registry; lookups take a read lock, first sightings a write lock.
#[derive(Default)]
pub(crate) struct SeriesRegistry {
    inner: RwLock<Inner>,
}

/// The domain of a series: its `domain` label when that names a domain, else inferred from the name.
pub fn domain_of(key: &SeriesKey) -> Domain {
    key.labels
        .get("domain")
        .and_then(|label| parse_domain(label).ok())
        .unwrap_or_else(|| Domain::infer(&key.name))
}

pub(crate) fn parse_domain(text: &str) -> Result<Domain, String> {
    let domain = match text {
        "cpu" => Domain::Cpu,
        "memory" => Domain::Memory,
        "network" => Domain::Network,
        "storage" => Domain::Storage,
        "login" => Domain::Login,
        "content" => Domain::Content,
        "traffic" => Domain::Traffic,
        "log" => Domain::Log,
        "other" => Domain::Other,
        _ => {
            return Err(format!(
            "domain {text:?} is not one of cpu memory network storage login content traffic log other"
        ))
        }
    };
    Ok(domain)
}

impl SeriesRegistry {
    /// Loads every stored series.
    pub fn load(conn: &Connection) -> Result<SeriesRegistry, StoreError> {
        let mut inner = Inner {
            next_id: 1,
            ..Inner::default()
        };
        let mut stmt = conn
            .prepare("SELECT id, name, labels, domain, created_ms FROM series")
            .context("loading series")?;
        let mut rows = stmt.query([]).context("loading series")?;
        while let Some(row) = rows.next().context("loading series")? {
            let id: i64 = row.get(0).context("loading series")?;
            let name: String = row.get(1).context("loading series")?;
            let labels_json: String = row.get(2).context("loading series")?;
            let domain_text: String = row.get(3).context("loading series")?;
            let created_ms: i64 = row.get(4).context("loading series")?;
            let corrupt = |reason: String| StoreError::Corrupt {
                what: format!("series {id} ({name})"),
                reason,
            };
            let labels = serde_json::from_str(&labels_json)
                .map_err(|error| corrupt(format!("labels JSON: {error}")))?;
            let domain = parse_domain(&domain_text).map_err(corrupt)?;
            let info = SeriesInfo {
                id: SeriesId(id),
                key: Arc::new(SeriesKey { name, labels }),
                domain,
                created_ms,
            };
            inner.next_id = inner.next_id.max(id + 1);
            inner.insert(Arc::new(info));
        }
        Ok(SeriesRegistry {
            inner: RwLock::new(inner),
        })
    }

    /// The id of `key`, assigning one (and queueing its row) on first sight.
    pub fn id_for(&self, key: &SeriesKey, now_ms: i64) -> SeriesId {
        self.entry_for(key, now_ms).0
    }

    /// The id of `key` and the registry's shared copy of it, registering it when new.
    pub fn entry_for(&self, key: &SeriesKey, now_ms: i64) -> (SeriesId, Arc<SeriesKey>) {
        let hash = key.stable_hash();
        if let Some(found) = self.read().find_entry(key, hash) {
            return found;
        }
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(found) = inner.find_entry(key, hash) {
            return found;
        }
        let id = SeriesId(inner.next_id);
        inner.next_id += 1;
        let shared = Arc::new(key.clone());
        let info = Arc::new(SeriesInfo {
            id,
            key: Arc::clone(&shared),
            domain: domain_of(key),
            created_ms: now_ms,
        });
        inner.insert(Arc::clone(&info));
        inner.pending.push(NewSeries(info));
        (id, shared)
    }

    /// The id of `key` if it was seen before.
    pub fn lookup(&self, key: &SeriesKey) -> Option<SeriesId> {
        self.read().find(key, key.stable_hash())
    }

    pub fn info(&self, id: SeriesId) -> Option<Arc<SeriesInfo>> {
        self.read().by_id.get(&id).cloned()
    }

    pub fn count(&self) -> usize {
        self.read().by_id.len()
    }

    /// Every series, ordered by id.
    pub fn all(&self) -> Vec<Arc<SeriesInfo>> {
        let mut all: Vec<_> = self.read().by_id.values().cloned().collect();
        all.sort_by_key(|info| info.id);
        all
    }

    /// Takes the rows the writer must insert; give them back with [`Self::restore_pending`] if the commit fails.
    pub fn take_pending(&self) -> Vec<NewSeries> {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        std::mem::take(&mut inner.pending)
    }

    pub fn has_pending(&self) -> bool {
        !self.read().pending.is_empty()
    }

    pub fn restore_pending(&self, mut rows: Vec<NewSeries>) {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        rows.append(&mut inner.pending);
        inner.pending = rows;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Inserts queued series rows inside the writer's transaction.
pub(crate) fn insert_series(conn: &Connection, rows: &[NewSeries]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO series (id, name, labels, key, domain, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .context("preparing series insert")?;
    for NewSeries(info) in rows {
        let labels = serde_json::to_string(&info.key.labels).unwrap_or_else(|_| "{}".into());
        stmt.execute(rusqlite::params![
            info.id.0,
            info.key.name,
            labels,
            info.key.to_string(),
            info.domain.as_str(),
            info.created_ms
        ])
        .context("inserting a new series")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_assigned_once_and_queued() {
        let registry = SeriesRegistry {
            inner: RwLock::new(Inner {
                next_id: 1,
                ..Inner::default()
            }),
        };
        let key = SeriesKey::new("cpu").with_label("host", "a");
        let first = registry.id_for(&key, 10);
        assert_eq!(registry.id_for(&key, 20), first);
        let other = registry.id_for(&SeriesKey::new("mem"), 30);
        assert_ne!(first, other);
        let pending = registry.take_pending();
        assert_eq!(pending.len(), 2);
        assert!(!registry.has_pending());
        registry.restore_pending(pending);
        assert!(registry.has_pending());
        assert_eq!(registry.info(first).unwrap().domain, Domain::Cpu);
    }

    #[test]
    fn domain_label_overrides_inference() {
        let key = SeriesKey::new("requests").with_label("domain", "login");
        assert_eq!(domain_of(&key), Domain::Login);
        let key = SeriesKey::new("requests").with_label("domain", "bogus");
        assert_eq!(domain_of(&key), Domain::Traffic);
    }
}
