//! lookout's detection engine.
//!
//! Pure and deterministic: no IO, no async, randomness only from explicit seeds, and
//! every piece of state `serde`-serializable so that a series' model can be
//! snapshotted and restored bit for bit.
//!
//! Layers, bottom up:
//! - [`detector`]: the `Detector` / `MultiDetector` seams;
//! - [`detectors`]: the algorithms, one module each;
//! - [`stats`]: small streaming statistics shared by detectors and the combiner;
//! - `combiner`: raw scores → per-detector anomaly likelihood → one score + hysteresis;
//! - [`registry`]: the one list of detectors and profiles (names, parameters, constructors);
//! - `pipeline`: the detectors and combiner of one series, built from a profile;
//! - `engine`: many series sharded over worker threads.

pub mod combiner;
pub mod detector;
pub mod detectors;
pub mod engine;
pub mod multi;
pub mod pipeline;
mod prefetch;
pub mod registry;
pub mod settings;
pub mod stats;

pub use detector::{sanitize_raw, Band, Detector, MultiDetector, MultiScore, Score};
