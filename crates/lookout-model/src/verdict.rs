//! The engine's answer to one sample.

use serde::{Deserialize, Serialize};

/// The verdict on one sample of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub timestamp_ms: i64,
    pub value: f64,
    /// Calibrated anomaly score in `[0, 1]`.
    pub score: f64,
    /// Whether this sample belongs to an anomaly (after hysteresis).
    pub is_anomaly: bool,
    /// Whether this sample opened a new anomaly (first sample of an incident).
    pub anomaly_started: bool,
    /// Expected band for charts; equal to the value while the pipeline warms up.
    pub expected_lower: f64,
    pub expected_upper: f64,
    pub explanation: Explanation,
}

/// Why a verdict came out the way it did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Explanation {
    /// Each detector's calibrated score, highest first.
    pub detectors: Vec<DetectorContribution>,
    /// For multivariate input: each feature's share of the anomaly, highest first.
    pub features: Vec<FeatureContribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorContribution {
    pub detector: String,
    /// The detector's raw score (detector-specific scale).
    pub raw: f64,
    /// Tail probability of the raw score under the detector's own history, in `[0, 1]`.
    pub likelihood: f64,
    /// Whether this detector alone crossed the anomaly threshold.
    pub fired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    pub feature: String,
    /// Share in `[0, 1]`; the shares of one verdict sum to 1.
    pub share: f64,
}
