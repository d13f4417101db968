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
//! detector does. For the same reason its tail level is not clamped at 1 (rows rarer
//! than one in 10^10 would all tie there): up to [`KNEE`] the score is the usual
//! log-likelihood, beyond it the level is squashed smoothly into `(KNEE, 1)`, so the
//! rarest rows still rank above the merely rare ones (to 6 decimals up to a tail of
//! about 10^-1000). The reported score is the highest calibrated score of the last
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
/// Calibrated level above which `pca`'s score is squashed into `(KNEE, 1)`.
pub const KNEE: f64 = 0.9;

/// The identity up to [`KNEE`], then a smooth (slope 1 at the knee), increasing map of
/// `[KNEE, ∞)` onto `[KNEE, 1)`.
fn squash(level: f64) -> f64 {
    if level <= KNEE {
        return level.max(0.0);
    }
    let room = 1.0 - KNEE;
    let excess = level - KNEE;
    KNEE + room * excess / (room + excess)
}

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
    /// Rank-keeping calibration ([`Likelihood::update_unbounded`] and [`squash`]).
    #[serde(default)]
    unbounded: bool,
}

fn one() -> usize {
    1
}

impl MultiPipeline {
    pub fn named(name: &str, features: usize, seed: u64) -> Result<MultiPipeline, PipelineError> {
        let mut likelihood = LikelihoodConfig::default();
        let mut hold = 1;
        let mut unbounded = false;
        let detector = match name {
            "pca" => {
                hold = PCA_HOLD;
                unbounded = true;
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
            unbounded,
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
        let calibrated = if self.unbounded {
            squash(self.likelihood.update_unbounded(raw))
        } else {
            self.likelihood.update(raw)
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squash_is_continuous_increasing_and_below_one() {
        assert_eq!(squash(0.5), 0.5);
        assert_eq!(squash(KNEE), KNEE);
        assert!((squash(KNEE + 1e-9) - KNEE - 1e-9).abs() < 1e-12);
        let mut previous = KNEE;
        for step in 1..=1000 {
            let value = squash(KNEE + f64::from(step) * 0.1);
            assert!(value > previous && value < 1.0);
            previous = value;
        }
        // Distinct to 6 decimals far into the tail.
        assert!(squash(50.0) + 1e-6 < squash(60.0));
    }

    #[test]
    fn pca_pipeline_scores_rank_and_round_trip() {
        let mut pipeline = MultiPipeline::named("pca", 3, 1).unwrap();
        let mut state = 11u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for t in 0..3000 {
            let a = next();
            pipeline.update(t, &[a, 2.0 * a + 0.01 * next(), 1.0 - a + 0.01 * next()]);
        }
        let json = serde_json::to_string(&pipeline).unwrap();
        let mut restored: MultiPipeline = serde_json::from_str(&json).unwrap();
        let big = pipeline.update(3000, &[0.5, 0.0, 0.5]);
        assert_eq!(restored.update(3000, &[0.5, 0.0, 0.5]), big);
        assert!(big.score > KNEE && big.score < 1.0, "{}", big.score);
        let mut other = restored.clone();
        let bigger = other.update(3001, &[0.5, -5.0, 0.5]);
        let next_big = restored.update(3001, &[0.5, 0.0, 0.5]);
        assert!(bigger.score > next_big.score);
        assert!((big.contributions.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
