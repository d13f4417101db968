//! The multivariate pipeline: one row vector per timestamp (e.g. CPU, memory and
//! network of one machine) through a multivariate detector, the same likelihood
//! calibration and hysteresis as univariate series, and per-feature contributions.

use crate::combiner::{Hysteresis, HysteresisConfig, Likelihood, LikelihoodConfig};
use crate::detector::MultiDetector;
use crate::detectors::hst::{HalfSpaceTrees, HstConfig};
use crate::detectors::iforest::{StreamingIsolationForest, StreamingIsolationForestConfig};
use crate::pipeline::PipelineError;
use serde::{Deserialize, Serialize};

/// Detectors that accept a row vector.
pub const MULTIVARIATE_DETECTORS: [&str; 2] = ["iforest", "hst"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AnyMultiDetector {
    Iforest(Box<StreamingIsolationForest>),
    Hst(Box<HalfSpaceTrees>),
}

/// The outcome for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiOutcome {
    pub score: f64,
    pub raw: f64,
    pub is_anomaly: bool,
    pub started: bool,
    /// Each feature's share of the anomaly, in column order.
    pub contributions: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiPipeline {
    features: usize,
    detector: AnyMultiDetector,
    likelihood: Likelihood,
    hysteresis: Hysteresis,
}

impl MultiPipeline {
    pub fn named(name: &str, features: usize, seed: u64) -> Result<MultiPipeline, PipelineError> {
        let detector = match name {
            "iforest" => AnyMultiDetector::Iforest(Box::new(
                StreamingIsolationForest::new_multivariate(
                    StreamingIsolationForestConfig::default(),
                    features,
                    seed,
                )
                .map_err(|e| PipelineError::Detector {
                    detector: "iforest",
                    reason: e.to_string(),
                })?,
            )),
            "hst" => AnyMultiDetector::Hst(Box::new(
                HalfSpaceTrees::new_multivariate(HstConfig::default(), features, seed).map_err(
                    |e| PipelineError::Detector {
                        detector: "hst",
                        reason: e.to_string(),
                    },
                )?,
            )),
            other => {
                return Err(PipelineError::UnknownName {
                    name: other.to_string(),
                    known: MULTIVARIATE_DETECTORS.join(", "),
                })
            }
        };
        Ok(MultiPipeline {
            features,
            detector,
            likelihood: Likelihood::new(LikelihoodConfig::default()),
            hysteresis: Hysteresis::new(HysteresisConfig::default()),
        })
    }

    /// Scores one row of finite values (`values.len()` must equal the feature count).
    pub fn update(&mut self, timestamp_ms: i64, values: &[f64]) -> MultiOutcome {
        debug_assert_eq!(values.len(), self.features);
        let score = match &mut self.detector {
            AnyMultiDetector::Iforest(d) => d.update(timestamp_ms, values),
            AnyMultiDetector::Hst(d) => d.update(timestamp_ms, values),
        };
        let raw = crate::sanitize_raw(score.raw);
        let calibrated = self.likelihood.update(raw);
        let decision = self.hysteresis.decide(calibrated, true);
        let mut contributions = score.contributions;
        contributions.resize(self.features, 0.0);
        MultiOutcome {
            score: calibrated,
            raw,
            is_anomaly: decision.is_anomaly,
            started: decision.started,
            contributions,
        }
    }
}
