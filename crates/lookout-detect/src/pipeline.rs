//! The pipeline of one series: its detectors plus the combiner, built from a profile.
//!
//! Profiles (choose with `[detection] profile` or `--detector`):
//! - `default`: the cheap streaming set, fast enough for a million points a second:
//!   seasonal baseline (its band is the one charts show), robust rolling z-score,
//!   level-shift detector, k-NN shingle shape detector;
//! - `thorough`: `default` plus Random Cut Forest (shape anomalies on shingles),
//!   ~20–50× the cost per point;
//! - any single detector name (`robust_z`, `ewma`, `seasonal`, `changepoint`, `rcf`,
//!   `hst`, `iforest`, `usage`): that detector alone through the combiner.
//!
//! A pipeline owns all of its series' state, is `serde`-serializable (snapshots) and
//! deterministic for a given seed.

use crate::combiner::{Combined, Combiner, CombinerConfig, LikelihoodConfig, MAX_DETECTORS};
use crate::detector::{Detector, Score};
use crate::detectors::{
    changepoint::{PageHinkley, PageHinkleyConfig},
    ewma::{EwmaZ, EwmaZConfig},
    hst::{HalfSpaceTrees, HstConfig},
    iforest::{StreamingIsolationForest, StreamingIsolationForestConfig},
    knn::{KnnShingle, KnnShingleConfig},
    rcf::{RandomCutForest, RandomCutForestConfig as RcfConfig},
    robust_z::{RobustZ, RobustZConfig},
    seasonal::{SeasonalBaseline, SeasonalConfig},
    usage::{UsageConfig, UsageRules},
};
use lookout_model::{Explanation, Verdict};
use serde::{Deserialize, Serialize};

/// Names accepted by [`PipelineConfig::named`].
pub const PROFILE_NAMES: [&str; 2] = ["default", "thorough"];
pub const DETECTOR_NAMES: [&str; 8] = [
    "robust_z",
    "ewma",
    "seasonal",
    "changepoint",
    "rcf",
    "hst",
    "iforest",
    "usage",
];

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("unknown detector or profile {name:?}; known: {known}")]
    UnknownName { name: String, known: String },
    #[error("a pipeline needs 1 to {max} detectors, got {got}")]
    DetectorCount { got: usize, max: usize },
    #[error("detector {detector}: {reason}")]
    Detector {
        detector: &'static str,
        reason: String,
    },
}

/// One detector's configuration, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DetectorConfig {
    RobustZ(RobustZConfig),
    Ewma(EwmaZConfig),
    Seasonal(SeasonalConfig),
    Changepoint(PageHinkleyConfig),
    Rcf(RcfConfig),
    Hst(HstConfig),
    Iforest(StreamingIsolationForestConfig),
    Knn(KnnShingleConfig),
    Usage(UsageConfig),
}

impl DetectorConfig {
    /// The detector's name: its `type` tag, as [`DetectorConfig::named`] takes it.
    pub fn name(&self) -> &'static str {
        match self {
            DetectorConfig::RobustZ(_) => "robust_z",
            DetectorConfig::Ewma(_) => "ewma",
            DetectorConfig::Seasonal(_) => "seasonal",
            DetectorConfig::Changepoint(_) => "changepoint",
            DetectorConfig::Rcf(_) => "rcf",
            DetectorConfig::Hst(_) => "hst",
            DetectorConfig::Iforest(_) => "iforest",
            DetectorConfig::Knn(_) => "knn",
            DetectorConfig::Usage(_) => "usage",
        }
    }

    /// The default configuration of a detector by its name.
    pub fn named(name: &str) -> Option<DetectorConfig> {
        Some(match name {
            "robust_z" => DetectorConfig::RobustZ(RobustZConfig::default()),
            "ewma" => DetectorConfig::Ewma(EwmaZConfig::default()),
            "seasonal" => DetectorConfig::Seasonal(SeasonalConfig::default()),
            "changepoint" => DetectorConfig::Changepoint(PageHinkleyConfig::default()),
            "rcf" => DetectorConfig::Rcf(RcfConfig::default()),
            "hst" => DetectorConfig::Hst(HstConfig::default()),
            "iforest" => DetectorConfig::Iforest(StreamingIsolationForestConfig::default()),
            "knn" => DetectorConfig::Knn(KnnShingleConfig::default()),
            "usage" => DetectorConfig::Usage(UsageConfig::default()),
            _ => return None,
        })
    }

    fn build(&self, seed: u64) -> Result<AnyDetector, PipelineError> {
        fn wrap<T, E: std::fmt::Display>(
            detector: &'static str,
            built: Result<T, E>,
        ) -> Result<T, PipelineError> {
            built.map_err(|error| PipelineError::Detector {
                detector,
                reason: error.to_string(),
            })
        }
        let name = self.name();
        Ok(match self {
            DetectorConfig::RobustZ(c) => {
                AnyDetector::RobustZ(wrap(name, RobustZ::new(c.clone()))?)
            }
            DetectorConfig::Ewma(c) => AnyDetector::Ewma(wrap(name, EwmaZ::new(c.clone()))?),
            DetectorConfig::Seasonal(c) => {
                AnyDetector::Seasonal(wrap(name, SeasonalBaseline::new(c.clone()))?)
            }
            DetectorConfig::Changepoint(c) => {
                AnyDetector::Changepoint(wrap(name, PageHinkley::new(c.clone()))?)
            }
            DetectorConfig::Rcf(c) => {
                AnyDetector::Rcf(Box::new(wrap(name, RandomCutForest::new(c.clone(), seed))?))
            }
            DetectorConfig::Hst(c) => {
                AnyDetector::Hst(Box::new(wrap(name, HalfSpaceTrees::new(c.clone(), seed))?))
            }
            DetectorConfig::Iforest(c) => AnyDetector::Iforest(Box::new(wrap(
                name,
                StreamingIsolationForest::new(c.clone(), seed),
            )?)),
            DetectorConfig::Knn(c) => AnyDetector::Knn(wrap(name, KnnShingle::new(c.clone()))?),
            DetectorConfig::Usage(c) => AnyDetector::Usage(wrap(name, UsageRules::new(c.clone()))?),
        })
    }
}

/// Every detector behind one enum, so a pipeline's state serializes as plain data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnyDetector {
    RobustZ(RobustZ),
    Ewma(EwmaZ),
    Seasonal(SeasonalBaseline),
    Changepoint(PageHinkley),
    Rcf(Box<RandomCutForest>),
    Hst(Box<HalfSpaceTrees>),
    Iforest(Box<StreamingIsolationForest>),
    Knn(KnnShingle),
    Usage(UsageRules),
}

macro_rules! each_detector {
    ($value:expr, $detector:ident => $body:expr) => {
        match $value {
            AnyDetector::RobustZ($detector) => $body,
            AnyDetector::Ewma($detector) => $body,
            AnyDetector::Seasonal($detector) => $body,
            AnyDetector::Changepoint($detector) => $body,
            AnyDetector::Rcf($detector) => $body,
            AnyDetector::Hst($detector) => $body,
            AnyDetector::Iforest($detector) => $body,
            AnyDetector::Knn($detector) => $body,
            AnyDetector::Usage($detector) => $body,
        }
    };
}

impl AnyDetector {
    pub fn state_bytes(&self) -> usize {
        each_detector!(self, d => d.state_bytes())
    }

    /// Hints that this detector's windows are about to be read (see `crate::prefetch`).
    fn prefetch_windows(&self) {
        match self {
            AnyDetector::RobustZ(d) => d.prefetch(),
            AnyDetector::Seasonal(d) => d.prefetch(),
            AnyDetector::Knn(d) => d.prefetch(),
            _ => {}
        }
    }
}

impl Detector for AnyDetector {
    fn name(&self) -> &'static str {
        each_detector!(self, d => d.name())
    }

    fn update(&mut self, timestamp_ms: i64, value: f64) -> Score {
        each_detector!(self, d => d.update(timestamp_ms, value))
    }
}

/// Which detectors a series gets, and how their scores are combined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    pub detectors: Vec<DetectorConfig>,
    pub combiner: CombinerConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig::named("default").expect("the default profile exists")
    }
}

impl PipelineConfig {
    /// A profile (`default`, `thorough`) or a single detector by name.
    pub fn named(name: &str) -> Result<PipelineConfig, PipelineError> {
        let detectors = match name {
            "default" => default_profile(),
            "thorough" => {
                let mut detectors = default_profile();
                detectors.push(DetectorConfig::Rcf(RcfConfig::default()));
                detectors
            }
            other => match DetectorConfig::named(other) {
                Some(detector) => vec![detector],
                None => {
                    let known = PROFILE_NAMES
                        .iter()
                        .chain(DETECTOR_NAMES.iter())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(PipelineError::UnknownName {
                        name: other.to_string(),
                        known,
                    });
                }
            },
        };
        let combiner = match name {
            "default" | "thorough" => default_combiner(),
            _ => CombinerConfig::default(),
        };
        Ok(PipelineConfig {
            detectors,
            combiner,
        })
    }

    pub fn validate(&self) -> Result<(), PipelineError> {
        SeriesPipeline::new(self, 0).map(|_| ())
    }
}

/// The combiner of the `default` profile (and of `thorough`, which extends it): the
/// shared likelihood, except a longer memory for the change-point sums (they rise over
/// many points, so their history needs more points to learn a stable spread) and a
/// stronger, longer record for the k-NN distances (a shape seen in the last few days
/// is less news). Chosen like the profile's parameters, for every series alike.
fn default_combiner() -> CombinerConfig {
    let shared = LikelihoodConfig::default();
    let mut combiner = CombinerConfig::default();
    combiner.likelihood_per_detector[DEFAULT_CHANGEPOINT] = Some(LikelihoodConfig {
        memory: 4000,
        ..shared
    });
    combiner.likelihood_per_detector[DEFAULT_KNN] = Some(LikelihoodConfig {
        record_memory: 5000,
        record_damping: 0.6,
        ..shared
    });
    combiner
}

/// Positions of detectors in [`default_profile`].
const DEFAULT_CHANGEPOINT: usize = 2;
const DEFAULT_KNN: usize = 3;

/// The `default` profile. Its parameters were chosen once for every series alike
/// (on NAB, through parameters that apply to every file the same way; no label or
/// future point is seen by any detector): a faster-adapting seasonal level with a
/// slower, outlier-clipped spread, and a 120-point robust window.
fn default_profile() -> Vec<DetectorConfig> {
    vec![
        DetectorConfig::Seasonal(SeasonalConfig {
            level_alpha: 0.15,
            scale_alpha: 0.01,
            update_clip_sigmas: 3.5,
            ..SeasonalConfig::default()
        }),
        DetectorConfig::RobustZ(RobustZConfig {
            window: 120,
            ..RobustZConfig::default()
        }),
        DetectorConfig::Changepoint(PageHinkleyConfig::default()),
        DetectorConfig::Knn(KnnShingleConfig::default()),
    ]
}

/// The detectors and combiner of one series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesPipeline {
    detectors: Vec<AnyDetector>,
    combiner: Combiner,
}

impl SeriesPipeline {
    pub fn new(config: &PipelineConfig, seed: u64) -> Result<SeriesPipeline, PipelineError> {
        let count = config.detectors.len();
        if count == 0 || count > MAX_DETECTORS {
            return Err(PipelineError::DetectorCount {
                got: count,
                max: MAX_DETECTORS,
            });
        }
        let detectors = config
            .detectors
            .iter()
            .enumerate()
            .map(|(index, detector)| {
                detector
                    .build(seed.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SeriesPipeline {
            combiner: Combiner::new(config.combiner, count),
            detectors,
        })
    }

    /// Scores one finite value; the caller guarantees time order.
    pub fn update(&mut self, timestamp_ms: i64, value: f64) -> Combined {
        let mut scores = [Score::WARMING_UP; MAX_DETECTORS];
        let count = self.detectors.len();
        for (slot, detector) in scores.iter_mut().zip(self.detectors.iter_mut()) {
            let score = detector.update(timestamp_ms, value);
            *slot = Score {
                raw: crate::sanitize_raw(score.raw),
                expected: score.expected,
            };
        }
        self.combiner.combine(value, &scores[..count])
    }

    /// Scores one finite value and builds the full verdict. The explanation is filled
    /// in when the point is anomalous or close to it, to keep quiet points cheap.
    pub fn verdict(&mut self, timestamp_ms: i64, value: f64) -> Verdict {
        let combined = self.update(timestamp_ms, value);
        let band = combined.band.unwrap_or(crate::Band {
            lower: value,
            upper: value,
        });
        let explain = combined.decision.is_anomaly || combined.score >= 0.3;
        let explanation = if explain {
            Explanation {
                detectors: combined.contributions(&self.names()),
                features: Vec::new(),
            }
        } else {
            Explanation::default()
        };
        Verdict {
            timestamp_ms,
            value,
            score: combined.score,
            is_anomaly: combined.decision.is_anomaly,
            anomaly_started: combined.decision.started,
            expected_lower: band.lower,
            expected_upper: band.upper,
            explanation,
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(Detector::name).collect()
    }

    /// First prefetch stage: the detector and calibration blocks this pipeline points to.
    pub(crate) fn prefetch_parts(&self) {
        crate::prefetch::slice(&self.detectors, 1024);
        self.combiner.prefetch();
    }

    /// Second prefetch stage (after [`SeriesPipeline::prefetch_parts`] had time to
    /// land): the windows inside the detectors.
    pub(crate) fn prefetch_windows(&self) {
        for detector in &self.detectors {
            detector.prefetch_windows();
        }
    }

    pub fn widen_tolerance(&mut self) {
        self.combiner.widen_tolerance();
    }

    pub fn open_at(&self) -> f64 {
        self.combiner.open_at()
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.combiner.state_bytes()
            + self
                .detectors
                .iter()
                .map(|d| d.state_bytes() + std::mem::size_of::<AnyDetector>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detectors_name_is_the_name_it_is_built_from_and_its_type_tag() {
        for name in DETECTOR_NAMES {
            let config = DetectorConfig::named(name).unwrap();
            assert_eq!(config.name(), name);
            assert_eq!(serde_json::to_value(&config).unwrap()["type"], name);
        }
    }

    #[test]
    fn default_combiner_overrides_point_at_the_intended_detectors() {
        let config = PipelineConfig::named("default").unwrap();
        assert!(matches!(
            config.detectors[DEFAULT_CHANGEPOINT],
            DetectorConfig::Changepoint(_)
        ));
        assert!(matches!(
            config.detectors[DEFAULT_KNN],
            DetectorConfig::Knn(_)
        ));
        let shared = config.combiner.likelihood;
        assert_eq!(config.combiner.likelihood_for(0), shared);
        assert_eq!(
            config.combiner.likelihood_for(DEFAULT_CHANGEPOINT).memory,
            4000
        );
        assert_eq!(
            config.combiner.likelihood_for(DEFAULT_KNN).record_damping,
            0.6
        );
        let thorough = PipelineConfig::named("thorough").unwrap();
        assert_eq!(thorough.combiner, config.combiner);
    }

    #[test]
    fn single_detectors_keep_the_shared_likelihood() {
        let config = PipelineConfig::named("knn").unwrap();
        assert_eq!(config.combiner, CombinerConfig::default());
    }
}
