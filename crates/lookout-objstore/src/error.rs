//! Why an object could not be stored or read. Messages name the object (and version)
//! and never carry a credential.

use std::path::PathBuf;

/// An object store failure.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("invalid object name {0:?}: use segments of A-Z a-z 0-9 _ - . separated by '/', none starting with a dot, at most 200 characters")]
    BadName(String),
    #[error("no object {name:?} in {store}")]
    NotFound { name: String, store: String },
    #[error(
        "object {name:?} has no version {version:?} in {store} (see `lookout model show {name}`)"
    )]
    NoVersion {
        name: String,
        version: String,
        store: String,
    },
    #[error("object {name:?} version {version} is corrupt ({reason}); refusing it")]
    Corrupt {
        name: String,
        version: String,
        reason: String,
    },
    #[error("object {name:?} version {version} holds {found}, expected {expected}; refusing it")]
    Incompatible {
        name: String,
        version: String,
        found: String,
        expected: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("S3 {operation} of {name:?} in bucket {bucket}: {reason}")]
    S3 {
        operation: &'static str,
        name: String,
        bucket: String,
        reason: String,
    },
    #[error(transparent)]
    Credentials(#[from] lookout_aws::NoCredentials),
}

impl ObjectError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ObjectError {
        let path = path.into();
        move |source| ObjectError::Io { path, source }
    }
}
