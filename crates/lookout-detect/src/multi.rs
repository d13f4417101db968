//! The multivariate pipeline: one row vector per timestamp (e.g. CPU, memory and
//! network of one machine) through a multivariate detector, the same likelihood
//! calibration and hysteresis as univariate series, and per-feature contributions.
//!
//! `pca` (streaming PCA reconstruction error, [`crate::detectors::pca`]) is the default
//! of `lookout detect --multivariate`: on the 14 development machines of the Server
//! Machine Dataset its mean best-F1 (no point adjustment) is about twice the Isolation
//! Forest's, and averaging it with the forest's calibrated score lowers it
//! (`bench/smd.sh`). Its calibration averages the last [`PCA_SHORT_WINDOW`] raw scores
//! (incidents last several rows; a single noisy row is less news), remembers
//! [`PCA_MEMORY`] rows, and keeps no record damping: the calibrated score stays a
//! monotone function of the recent raw scores, so thresholds on it rank rows as the
//! detector does. The reported score is the highest calibrated score of the last
//! [`PCA_HOLD`] rows: an incident whose metrics spike on and off stays one incident
//! between its spikes (and ends `PCA_HOLD` rows late).

use crate::combiner::{Hysteresis, HysteresisConfig, Likelihood, LikelihoodConfig};
use crate::detector::MultiDetector;
use crate::detectors::hst::{HalfSpaceTrees, HstConfig};
use crate::detectors::iforest::{StreamingIsolationForest, StreamingIsolationForestConfig};
use crate::detectors::pca::{PcaConfig, StreamingPca};
use crate::pipeline::PipelineError;
use serde::{Deserialize, Serialize};

/// Detectors that accept a row vector (the first is the default).
pub const MULTIVARIATE_DETECTORS: [&str; 3] = ["pca", "iforest", "hst"];

/// Raw scores averaged by the calibration of `pca`.
pub const PCA_SHORT_WINDOW: u32 = 4;
/// Memory, in rows, of the calibration of `pca`.
pub const PCA_MEMORY: u32 = 20_000;
/// Rows over which `pca`'s reported score holds its highest calibrated score.
pub const PCA_HOLD: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AnyMultiDetector {
    Pca(Box<StreamingPca>),
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
    /// The last calibrated scores (at most the hold length; empty: no hold).
    #[serde(default)]
    held: Vec<f64>,
    #[serde(default)]
    held_next: usize,
    #[serde(default = "one")]
    hold: usize,
}

fn one() -> usize {
    1
}

impl MultiPipeline {
    pub fn named(name: &str, features: usize, seed: u64) -> Result<MultiPipeline, PipelineError> {
        let mut likelihood = LikelihoodConfig::default();
        let mut hold = 1;
        let detector = match name {
            "pca" => {
                hold = PCA_HOLD;
                likelihood = LikelihoodConfig {
                    short_window: PCA_SHORT_WINDOW,
                    memory: PCA_MEMORY,
                    record_memory: 0,
                    ..likelihood
                };
                AnyMultiDetector::Pca(Box::new(
                    StreamingPca::new(PcaConfig::default(), features).map_err(|e| {
                        PipelineError::Detector {
                            detector: "pca",
                            reason: e.to_string(),
                        }
                    })?,
                ))
            }
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
            likelihood: Likelihood::new(likelihood),
            hysteresis: Hysteresis::new(HysteresisConfig::default()),
            held: Vec::with_capacity(hold),
            held_next: 0,
            hold,
        })
    }

    /// The highest of `score` and the last `hold − 1` calibrated scores.
    fn held_max(&mut self, score: f64) -> f64 {
        if self.hold <= 1 {
            return score;
        }
        if self.held.len() < self.hold {
            self.held.push(score);
        } else {
            self.held[self.held_next] = score;
            self.held_next = (self.held_next + 1) % self.hold;
        }
        self.held.iter().copied().fold(0.0, f64::max)
    }

    /// Scores one row of finite values (`values.len()` must equal the feature count).
    pub fn update(&mut self, timestamp_ms: i64, values: &[f64]) -> MultiOutcome {
        debug_assert_eq!(values.len(), self.features);
        let score = match &mut self.detector {
            AnyMultiDetector::Pca(d) => d.update(timestamp_ms, values),
            AnyMultiDetector::Iforest(d) => d.update(timestamp_ms, values),
            AnyMultiDetector::Hst(d) => d.update(timestamp_ms, values),
        };
        let raw = crate::sanitize_raw(score.raw);
        let calibrated = self.likelihood.update(raw);
        let calibrated = self.held_max(calibrated);
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
