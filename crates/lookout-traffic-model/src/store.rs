//! Where trained traffic models live: the object `models/traffic/<NAME>` of the object
//! store (`[object_store]`: `<data dir>/objects` by default, or an S3 bucket), each save a
//! new version. The server (its cache), the CLI and the `packet_capture` source all read
//! models through here.
//!
//! The store's writes are atomic, so a reader sees the old model or the new one, never
//! half of one, and its envelope's checksum and format version refuse a damaged model or
//! one of another format with the model's name and version. Names are 1-64 characters of
//! `A-Z a-z 0-9 _ - .`, not starting with a dot.

use lookout_objstore::{Format, ObjectError, ObjectStore, VersionInfo};

use crate::{ModelError, TrafficModel};

/// The envelope format of a traffic model.
pub const TRAFFIC_FORMAT: Format = Format {
    name: "traffic-model",
    version: crate::model::FORMAT_VERSION,
};

/// Why a model could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelStoreError {
    #[error("invalid model name {0:?}: use 1-64 characters of A-Z a-z 0-9 _ - . (not starting with a dot)")]
    BadName(String),
    #[error("no traffic model {name:?} in {store} (train one with `lookout train traffic --data FILE --name {name}`)")]
    NotFound { name: String, store: String },
    #[error(transparent)]
    Store(ObjectError),
    #[error("{object} version {version}: {source}")]
    Model {
        object: String,
        version: usize,
        source: ModelError,
    },
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

/// The object name of traffic model `name`.
pub fn object_name(name: &str) -> Result<String, ModelStoreError> {
    check_name(name)?;
    Ok(format!("models/traffic/{name}"))
}

/// The error of a store operation on model `name`: its absence named as a missing model.
pub fn store_error(
    name: &str,
    store: &dyn ObjectStore,
) -> impl FnOnce(ObjectError) -> ModelStoreError {
    let (name, store) = (name.to_string(), store.describe());
    move |error| match error {
        ObjectError::NotFound { .. } => ModelStoreError::NotFound { name, store },
        other => ModelStoreError::Store(other),
    }
}

/// Writes `model` as the newest version of `name`.
pub fn save(
    store: &dyn ObjectStore,
    name: &str,
    model: &TrafficModel,
) -> Result<VersionInfo, ModelStoreError> {
    let object = object_name(name)?;
    store
        .put(&object, TRAFFIC_FORMAT, &model.to_bytes())
        .map_err(ModelStoreError::Store)
}

/// Reads model `name`: the current version, or `version` (its id or number).
pub fn load(
    store: &dyn ObjectStore,
    name: &str,
    version: Option<&str>,
) -> Result<(VersionInfo, TrafficModel), ModelStoreError> {
    let object = object_name(name)?;
    let stored = store
        .get(&object, version, TRAFFIC_FORMAT)
        .map_err(store_error(name, store))?;
    let model =
        TrafficModel::from_bytes(&stored.payload).map_err(|source| ModelStoreError::Model {
            object,
            version: stored.version.number,
            source,
        })?;
    Ok((stored.version, model))
}
