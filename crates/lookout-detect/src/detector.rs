//! The detector seam.
//!
//! A streaming detector takes one observation at a time, in time order, and returns a
//! raw score; it never sees the future. Raw scores are on each detector's own scale
//! (a z-score, a forest depth ratio, a CUSUM statistic): the combiner turns them into
//! tail probabilities learned from that detector's own history, so detectors need not
//! agree on a scale. The only rules are: finite, non-negative, larger is more
//! anomalous, and `0.0` while warming up.
//!
//! Detectors only ever see finite values: the engine rejects NaN and infinities before
//! they reach a detector. Detectors must still not panic on huge finite values
//! (`f64::MAX`), and must keep their scores finite.

use serde::{Deserialize, Serialize};

/// An expected range for the value, for charts and for the minimum-deviation guard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub lower: f64,
    pub upper: f64,
}

impl Band {
    /// How far `value` lies outside the band (0 inside).
    pub fn distance(&self, value: f64) -> f64 {
        if value < self.lower {
            self.lower - value
        } else if value > self.upper {
            value - self.upper
        } else {
            0.0
        }
    }
}

/// What a univariate detector says about one observation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// Finite, `>= 0`, larger is more anomalous, `0` while warming up.
    pub raw: f64,
    /// The range the detector expected the value in, when it has an opinion.
    pub expected: Option<Band>,
}

impl Score {
    pub const WARMING_UP: Score = Score {
        raw: 0.0,
        expected: None,
    };
}

/// A univariate streaming detector.
pub trait Detector {
    /// Short stable name used in explanations and on the command line.
    fn name(&self) -> &'static str;

    /// Observes one finite value. `timestamp_ms` is non-decreasing across calls.
    fn update(&mut self, timestamp_ms: i64, value: f64) -> Score;
}

/// What a multivariate detector says about one row vector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MultiScore {
    /// Finite, `>= 0`, larger is more anomalous, `0` while warming up.
    pub raw: f64,
    /// Each feature's share of the anomaly, non-negative, summing to 1 (or all 0).
    pub contributions: Vec<f64>,
}

/// A multivariate streaming detector: one vector of features per timestamp.
pub trait MultiDetector {
    fn name(&self) -> &'static str;

    /// Observes one row of finite values; the row length is fixed per detector.
    fn update(&mut self, timestamp_ms: i64, values: &[f64]) -> MultiScore;
}

/// Clamps a computed score into the detector contract (finite and `>= 0`).
pub fn sanitize_raw(raw: f64) -> f64 {
    if raw.is_nan() {
        0.0
    } else {
        raw.clamp(0.0, f64::MAX)
    }
}
