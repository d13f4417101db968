//! The pipeline of one series: its detectors plus the combiner, built from a profile.
//!
//! Profiles (choose with `[detection] profile` or `--detector`):
//! - `default`: the cheap streaming set, fast enough for a million points a second:
//!   seasonal baseline (its band is the one charts show), robust rolling z-score,
//!   level-shift detector, k-NN shingle shape detector, and the discord detector
//!   selected per series: it probes for a period with ~0.5 KB and one addition per
//!   point, and keeps its history (~66 KB, ~2 µs per point) only on series found
//!   periodic, where it scores one cycle unlike the recent ones;
//! - `thorough`: `default` plus Random Cut Forest (shape anomalies on shingles), ~20–50×
//!   the cost per point;
//! - any single registered detector name (`robust_z`, `ewma`, `seasonal`, `changepoint`,
//!   `rcf`, `hst`, `iforest`, `knn`, `discord`, `usage`; see [`crate::registry`]): that detector
//!   alone through the combiner.
//!
//! A pipeline owns all of its series' state, is `serde`-serializable (snapshots) and
//! deterministic for a given seed.

use crate::combiner::{Combined, Combiner, CombinerConfig, LikelihoodConfig, MAX_DETECTORS};
use crate::detector::{Detector, Score};
use crate::detectors::{
    changepoint::PageHinkleyConfig, discord::DiscordConfig, knn::KnnShingleConfig,
    rcf::RandomCutForestConfig as RcfConfig, robust_z::RobustZConfig, seasonal::SeasonalConfig,
};
use lookout_model::{Explanation, Verdict};
use serde::{Deserialize, Serialize};

pub use crate::registry::{AnyDetector, DetectorConfig, DETECTOR_NAMES, PROFILE_NAMES};

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

impl DetectorConfig {
    /// The default configuration of a registered detector by its name.
    pub fn named(name: &str) -> Option<DetectorConfig> {
        crate::registry::detector(name).map(|info| (info.default_config)())
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
    /// A registered profile (`default`, `thorough`) or a single registered detector by
    /// name (see [`crate::registry`]).
    pub fn named(name: &str) -> Result<PipelineConfig, PipelineError> {
        if let Some(profile) = crate::registry::profile(name) {
            return Ok((profile.build)());
        }
        match DetectorConfig::named(name) {
            Some(detector) => Ok(PipelineConfig {
                detectors: vec![detector],
                combiner: CombinerConfig::default(),
            }),
            None => Err(PipelineError::UnknownName {
                name: name.to_string(),
                known: crate::registry::profile_names().join(", "),
            }),
        }
    }

    pub fn validate(&self) -> Result<(), PipelineError> {
        SeriesPipeline::new(self, 0).map(|_| ())
    }
}

/// The `default` profile's pipeline.
pub(crate) fn default_pipeline() -> PipelineConfig {
    PipelineConfig {
        detectors: default_profile(),
        combiner: default_combiner(),
    }
}

/// The `thorough` profile's pipeline: `default` plus Random Cut Forest.
///
/// The discord detector is in `default` with its period probe (`probe`): kept from the
/// first point it would cost every series ~66 KB (the rest of `default` keeps ~7 KB, its
/// budget is 8 KB) and O(history) per point, and it lowered NAB (58.75); with the probe,
/// a series pays for it only once it is found periodic, its calibration learns only
/// from points it scores, and past the likelihood's saturation its scores keep the
/// order of its distances (`raw_ceiling`), so its evidence carries the top score of a
/// distorted cycle.
pub(crate) fn thorough_pipeline() -> PipelineConfig {
    let mut pipeline = default_pipeline();
    pipeline
        .detectors
        .push(DetectorConfig::Rcf(RcfConfig::default()));
    pipeline
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
    // The discord's distance is bounded by 2: past the likelihood's saturation its
    // points keep the order of their distances, so the top score of a series falls on
    // its most unlike cycle.
    // Like k-NN's, a cycle as unlike as one seen in the last few days is less news.
    combiner.likelihood_per_detector[DEFAULT_DISCORD] = Some(LikelihoodConfig {
        raw_ceiling: 2.0,
        record_memory: 5000,
        record_damping: 0.6,
        ..shared
    });
    combiner
}

/// Positions of detectors in [`default_profile`].
const DEFAULT_CHANGEPOINT: usize = 2;
const DEFAULT_KNN: usize = 3;
const DEFAULT_DISCORD: usize = 4;

/// Least autocorrelation at the period for `default` to turn the discord on.
const DEFAULT_MIN_PEAK: f64 = 0.9;

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
        // Only clearly periodic series (autocorrelation of the probe's block means ≥ 0.9
        // at the period; ECG, breathing, gait, machine cycles) turn the discord on: with
        // 0.3 (its stock setting) NAB's daily patterns did too, and lost NAB points.
        DetectorConfig::Discord(DiscordConfig {
            probe: true,
            min_peak: DEFAULT_MIN_PEAK,
            ..DiscordConfig::default()
        }),
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
                raw: if detector.is_silent() {
                    crate::combiner::SILENT
                } else {
                    crate::sanitize_raw(score.raw)
                },
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

    /// The discord is silent until it has a period and a neighbour, and its calibration
    /// does not learn from that silence: when it starts to speak on an ordinary periodic
    /// series, nothing stands out (a calibration fed zeros first would see every first
    /// distance as extreme).
    #[test]
    fn the_discord_turns_on_for_a_periodic_series_without_a_false_alarm() {
        let config = PipelineConfig::named("default").unwrap();
        assert!(matches!(
            config.detectors[DEFAULT_DISCORD],
            DetectorConfig::Discord(_)
        ));
        let mut pipeline = SeriesPipeline::new(&config, 3).unwrap();
        let mut loudest = 0.0f64;
        for i in 0..6000usize {
            let phase = (i % 90) as f64 / 90.0;
            let value = 10.0
                + (-0.5 * ((phase - 0.4) / 0.03f64).powi(2)).exp()
                + 0.01 * ((i * 7919 % 101) as f64 / 101.0);
            let combined = pipeline.update(i as i64 * 60_000, value);
            if i < 384 {
                assert_eq!(combined.likelihood(DEFAULT_DISCORD), 0.0, "silent at {i}");
            } else {
                loudest = loudest.max(combined.likelihood(DEFAULT_DISCORD));
            }
        }
        let AnyDetector::Discord(discord) = &pipeline.detectors[DEFAULT_DISCORD] else {
            panic!("the discord is at its position");
        };
        assert_eq!(discord.window(), 90);
        assert!(loudest < 0.5, "ordinary cycles scored up to {loudest}");
    }

    #[test]
    fn single_detectors_keep_the_shared_likelihood() {
        let config = PipelineConfig::named("knn").unwrap();
        assert_eq!(config.combiner, CombinerConfig::default());
    }
}
