//! The object store of a configuration (`[object_store]`): the directory (default
//! `<data dir>/objects`) or the S3 bucket, for `serve`, `train`, `score` and `model`.
//!
//! Traffic models trained before the object store (`<data dir>/models/traffic/NAME.model`)
//! are moved in when the store is opened: each becomes version 1 of
//! `models/traffic/NAME` unless that object exists, and its file is renamed
//! `NAME.model.migrated` (kept, never read again).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_config::{Config, ObjectStoreConfig};
use lookout_objstore::{DirStore, ObjectStore, S3Options, S3Store};

/// The configured store; the data directory is the one finally in `config` (flags
/// applied).
pub(crate) fn open_object_store(config: &Config) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let store: Arc<dyn ObjectStore> = match &config.object_store {
        ObjectStoreConfig::Directory(path) => Arc::new(DirStore::new(
            path.clone()
                .unwrap_or_else(|| default_dir(&config.server.data_dir)),
        )),
        ObjectStoreConfig::S3(s3) => Arc::new(S3Store::new(S3Options {
            bucket: s3.bucket.clone(),
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            prefix: s3.prefix.clone(),
        })?),
    };
    migrate_model_files(&*store, &config.server.data_dir)?;
    Ok(store)
}

/// Moves the model files of the directory layout before the object store in (see the
/// module doc).
fn migrate_model_files(store: &dyn ObjectStore, data_dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use lookout_server::predict::models;
    let legacy = data_dir.join("models").join("traffic");
    let Ok(entries) = std::fs::read_dir(&legacy) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".model"))
        else {
            continue;
        };
        let Ok(object) = models::object_name(name) else {
            continue;
        };
        if store.versions(&object)?.is_empty() {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let model = lookout_traffic_model::TrafficModel::from_bytes(&bytes)
                .with_context(|| format!("moving {} into the object store", path.display()))?;
            models::save(store, name, &model)?;
            eprintln!(
                "lookout: traffic model {} moved into the object store as {object} version 1",
                path.display()
            );
        }
        let migrated = path.with_extension("model.migrated");
        std::fs::rename(&path, &migrated)
            .with_context(|| format!("renaming {}", path.display()))?;
    }
    Ok(())
}

/// `<data dir>/objects`.
pub(crate) fn default_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("objects")
}

/// The store for a command with `--data-dir` and `--config` flags.
pub(crate) fn store_for(
    data_dir: Option<PathBuf>,
    config: Option<&Path>,
) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let mut config = super::assembly::load_config(config)?;
    if let Some(dir) = data_dir {
        config.server.data_dir = dir;
    }
    open_object_store(&config)
}
