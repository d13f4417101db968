//! Where trained traffic models live: `<data dir>/models/traffic/<NAME>.model`, and
//! the server's cache of the ones it has loaded.
//!
//! Writes are atomic (a temporary file in the same directory, synced, then renamed over
//! the old model), so a reader sees the old model or the new one, never half of one.
//! Names are 1-64 characters of `A-Z a-z 0-9 _ - .`, not starting with a dot.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use lookout_traffic_model::{ModelError, TrafficModel};

/// Models the server keeps loaded at once; beyond it, one is dropped to make room.
const CACHE_MODELS: usize = 16;

/// Why a model could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelStoreError {
    #[error("invalid model name {0:?}: use 1-64 characters of A-Z a-z 0-9 _ - . (not starting with a dot)")]
    BadName(String),
    #[error("no traffic model {name:?} in {} (train one with `lookout train traffic --data FILE --name {name}`)", dir.display())]
    NotFound { name: String, dir: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Model { path: PathBuf, source: ModelError },
}

/// The models directory of a data directory.
pub fn traffic_models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models").join("traffic")
}

pub fn check_name(name: &str) -> Result<(), ModelStoreError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(ModelStoreError::BadName(name.to_string()));
    }
    Ok(())
}

/// The file of model `name` in a models directory.
pub fn model_file(dir: &Path, name: &str) -> Result<PathBuf, ModelStoreError> {
    check_name(name)?;
    Ok(dir.join(format!("{name}.model")))
}

/// Writes `model` as `name`, atomically; returns its path.
pub fn save(dir: &Path, name: &str, model: &TrafficModel) -> Result<PathBuf, ModelStoreError> {
    let path = model_file(dir, name)?;
    std::fs::create_dir_all(dir).map_err(|source| ModelStoreError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let temporary = dir.join(format!(".{name}.model.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&model.to_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok::<_, std::io::Error>(())
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(ModelStoreError::Io { path, source });
    }
    Ok(path)
}

/// Reads the model `name` of a models directory.
pub fn load(dir: &Path, name: &str) -> Result<TrafficModel, ModelStoreError> {
    let path = model_file(dir, name)?;
    let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ModelStoreError::NotFound {
            name: name.to_string(),
            dir: dir.to_path_buf(),
        },
        _ => ModelStoreError::Io {
            path: path.clone(),
            source,
        },
    })?;
    TrafficModel::from_bytes(&bytes).map_err(|source| ModelStoreError::Model { path, source })
}

/// Loaded models by name, with their file's modification time when loaded.
type Loaded = HashMap<String, (Option<SystemTime>, Arc<TrafficModel>)>;

/// The server's loaded models, reloaded when their file changes. Blocking: call it on
/// the blocking pool.
pub struct TrafficModels {
    dir: PathBuf,
    loaded: Mutex<Loaded>,
}

impl TrafficModels {
    pub fn new(dir: PathBuf) -> Self {
        TrafficModels {
            dir,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Model `name`, from the cache while its file's modification time is unchanged.
    pub fn get(&self, name: &str) -> Result<Arc<TrafficModel>, ModelStoreError> {
        let path = model_file(&self.dir, name)?;
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if let Some((when, model)) = self.lock().get(name) {
            if modified.is_some() && *when == modified {
                return Ok(Arc::clone(model));
            }
        }
        let model = Arc::new(load(&self.dir, name)?);
        let mut loaded = self.lock();
        if loaded.len() >= CACHE_MODELS && !loaded.contains_key(name) {
            if let Some(evict) = loaded.keys().next().cloned() {
                loaded.remove(&evict);
            }
        }
        loaded.insert(name.to_string(), (modified, Arc::clone(&model)));
        Ok(model)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
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
    fn saves_atomically_loads_and_reloads_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let models_dir = traffic_models_dir(dir.path());
        let first = model(lookout_traffic_model::ModelKind::Svm);
        let path = save(&models_dir, "default", &first).unwrap();
        assert_eq!(path, models_dir.join("default.model"));
        let names: Vec<_> = std::fs::read_dir(&models_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("default.model")],
            "no temporary left"
        );
        let models = TrafficModels::new(models_dir.clone());
        let loaded = models.get("default").unwrap();
        assert_eq!(*loaded, first);
        assert!(
            Arc::ptr_eq(&loaded, &models.get("default").unwrap()),
            "cached"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = model(lookout_traffic_model::ModelKind::Forest);
        save(&models_dir, "default", &second).unwrap();
        assert_eq!(
            *models.get("default").unwrap(),
            second,
            "reloaded after the file changed"
        );
        assert!(matches!(
            models.get("other"),
            Err(ModelStoreError::NotFound { .. })
        ));
        assert!(matches!(
            models.get("../x"),
            Err(ModelStoreError::BadName(_))
        ));
        std::fs::write(models_dir.join("broken.model"), b"junk").unwrap();
        let error = models.get("broken").unwrap_err();
        assert!(
            error.to_string().contains("not a lookout traffic model"),
            "{error}"
        );
    }
}
