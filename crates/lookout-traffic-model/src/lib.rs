//! Trained classifiers for connection records in the NSL-KDD format.
//!
//! The classic intrusion-detection approach: labelled connection records (41 features:
//! duration, protocol, service, flag, byte counts, content indicators and the 2-second and
//! 100-connection count windows) train a binary classifier, normal vs attack, that then
//! scores new records with an attack score in 0..1. Pure, synchronous and deterministic
//! (every random choice comes from an explicit seed).
//!
//! - [`record`]: parsing, with errors naming line and column;
//! - [`encode`]: one-hot categories with an unknown slot, log-scaled counts, standardisation;
//! - [`knn`], [`svm`], [`forest`]: the classifiers;
//! - [`model`]: the trained, versioned, serialisable model;
//! - [`store`]: where models are stored by name, atomically;
//! - [`eval`]: cross-validation and the leave-attack-families-out split.

pub mod encode;
pub mod eval;
pub mod forest;
pub mod knn;
pub mod model;
pub mod novelty;
pub mod record;
pub mod store;
pub mod svm;

pub use model::{Assessment, ModelError, ModelKind, Prediction, TrafficModel, TrainParams};
pub use record::{read_records, ConnectionRecord, LabeledRecord, RecordError, FEATURE_NAMES};
