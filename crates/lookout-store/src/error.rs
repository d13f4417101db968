//! Typed errors of the store; each names what failed.

use std::path::PathBuf;

use lookout_model::{AnomalyId, EventId, SeriesId};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "data directory {dir} is in use by {holder}: stop it, or give this one another data directory"
    )]
    InUse { dir: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("SQLite failed while {context}: {source}")]
    Sqlite {
        context: &'static str,
        source: rusqlite::Error,
    },
    #[error("write queue is full ({capacity} batches waiting); retry later")]
    Full { capacity: usize },
    #[error("store is closed: its writer thread has stopped")]
    Closed,
    #[error("commit of {batches} batches ({samples} samples) failed: {reason}")]
    CommitFailed {
        batches: usize,
        samples: usize,
        reason: String,
    },
    #[error("compaction at {now_ms} failed: {reason}")]
    CompactionFailed { now_ms: i64, reason: String },
    #[error("anomaly {0} not found")]
    AnomalyNotFound(AnomalyId),
    #[error("event {0} not found")]
    EventNotFound(EventId),
    #[error("series {0} not found")]
    SeriesNotFound(SeriesId),
    #[error("stored {what} is unreadable: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("invalid store configuration: {0}")]
    Config(String),
    #[error("cannot start the store writer thread: {0}")]
    Spawn(std::io::Error),
    #[error("the store writer thread panicked")]
    WriterPanicked,
}

/// Attaches what the store was doing to a SQLite error.
pub(crate) trait SqlContext<T> {
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { context, source })
    }
}
