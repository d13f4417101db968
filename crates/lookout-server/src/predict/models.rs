//! Where trained traffic models live: the object `models/traffic/<NAME>` of the object
//! store (`[object_store]`: `<data dir>/objects` by default, or an S3 bucket), each save a
//! new version; and the server's cache of the ones it has loaded.
//!
//! The store's writes are atomic, so a reader sees the old model or the new one, never
//! half of one, and its envelope's checksum and format version refuse a damaged model or
//! one of another format with the model's name and version. Names are 1-64 characters of
//! `A-Z a-z 0-9 _ - .`, not starting with a dot.
//!
//! Cost of [`TrafficModels::get`]: a cached model while its current version is unchanged;
//! the current version is looked up at most once per [`RECHECK`] per model (a directory
//! listing, or one S3 request).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lookout_objstore::ObjectStore;
pub use lookout_traffic_model::store::{
    check_name, load, object_name, save, store_error, ModelStoreError, TRAFFIC_FORMAT,
};
use lookout_traffic_model::TrafficModel;

/// Models the server keeps loaded at once; beyond it, one is dropped to make room.
const CACHE_MODELS: usize = 16;
/// How long a loaded model is served before its current version is looked up again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// A loaded model: the version it is, when that was last checked.
struct Loaded {
    version: String,
    checked: Instant,
    model: Arc<TrafficModel>,
}

/// The server's loaded models, reloaded when their current version changes. Blocking:
/// call it on the blocking pool.
pub struct TrafficModels {
    store: Arc<dyn ObjectStore>,
    loaded: Mutex<HashMap<String, Loaded>>,
}

impl TrafficModels {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        TrafficModels {
            store,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Model `name`, from the cache while its current version is unchanged.
    pub fn get(&self, name: &str) -> Result<Arc<TrafficModel>, ModelStoreError> {
        let object = object_name(name)?;
        if let Some(loaded) = self.lock().get(name) {
            if loaded.checked.elapsed() < RECHECK {
                return Ok(Arc::clone(&loaded.model));
            }
        }
        let current = self
            .store
            .resolve(&object, None)
            .map_err(store_error(name, &*self.store))?;
        if let Some(loaded) = self.lock().get_mut(name) {
            if loaded.version == current.id {
                loaded.checked = Instant::now();
                return Ok(Arc::clone(&loaded.model));
            }
        }
        let (version, model) = load(&*self.store, name, Some(&current.id))?;
        let model = Arc::new(model);
        let mut loaded = self.lock();
        if loaded.len() >= CACHE_MODELS && !loaded.contains_key(name) {
            if let Some(evict) = loaded.keys().next().cloned() {
                loaded.remove(&evict);
            }
        }
        loaded.insert(
            name.to_string(),
            Loaded {
                version: version.id,
                checked: Instant::now(),
                model: Arc::clone(&model),
            },
        );
        Ok(model)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Loaded>> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["default", "kdd-2026.v1", "A_b"] {
            check_name(good).unwrap();
        }
        for bad in ["", ".hidden", "../etc", "a/b", "x y", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    fn model(kind: lookout_traffic_model::ModelKind) -> TrafficModel {
        let mut records = Vec::new();
        for i in 0..40 {
            let (service, count, label) = if i % 2 == 0 {
                ("http", 1, "normal")
            } else {
                ("private", 200, "neptune")
            };
            let line = format!("0,tcp,{service},SF,{i},0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,{count},1,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,0,0,{label},20");
            records.push(
                lookout_traffic_model::record::parse_line(&line, i + 1)
                    .unwrap()
                    .unwrap(),
            );
        }
        let params = lookout_traffic_model::TrainParams {
            novelty: None,
            ..Default::default()
        };
        TrafficModel::train(kind, &params, &records).unwrap()
    }

    #[test]
    fn each_save_is_a_version_and_the_server_reloads_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(lookout_objstore::DirStore::new(dir.path()));
        let first = model(lookout_traffic_model::ModelKind::Svm);
        let version = save(&*store, "default", &first).unwrap();
        assert_eq!(version.number, 1);
        assert_eq!(store.list("models/").unwrap(), ["models/traffic/default"]);
        let models = TrafficModels::new(Arc::clone(&store));
        let loaded = models.get("default").unwrap();
        assert_eq!(*loaded, first);
        assert!(
            Arc::ptr_eq(&loaded, &models.get("default").unwrap()),
            "cached"
        );
        let second = model(lookout_traffic_model::ModelKind::Forest);
        assert_eq!(save(&*store, "default", &second).unwrap().number, 2);
        std::thread::sleep(RECHECK + Duration::from_millis(50));
        assert_eq!(
            *models.get("default").unwrap(),
            second,
            "reloaded after a new version"
        );
        assert_eq!(load(&*store, "default", Some("1")).unwrap().1, first);
        assert!(matches!(
            models.get("other"),
            Err(ModelStoreError::NotFound { .. })
        ));
        assert!(matches!(
            models.get("../x"),
            Err(ModelStoreError::BadName(_))
        ));
        store
            .put("models/traffic/broken", TRAFFIC_FORMAT, b"junk")
            .unwrap();
        let error = models.get("broken").unwrap_err();
        assert!(
            error.to_string().contains("not a lookout traffic model"),
            "{error}"
        );
        store
            .put(
                "models/traffic/other-format",
                lookout_objstore::Format {
                    name: "traffic-model",
                    version: 99,
                },
                &first.to_bytes(),
            )
            .unwrap();
        let error = models.get("other-format").unwrap_err();
        assert!(
            error.to_string().contains("holds traffic-model format 99"),
            "{error}"
        );
    }
}
