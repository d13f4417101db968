//! The one list of detectors and profiles: names, purposes, parameters with their
//! documentation, and constructors.
//!
//! Everything that names a detector reads it from here: [`DetectorConfig`] and
//! [`AnyDetector`] (the serde-tagged enums a pipeline's configuration and state are made
//! of) are generated from the [`detectors!`] list below, and so are
//! [`DETECTOR_NAMES`], [`DETECTORS`] (what each one is
//! for and its parameters, for `check-config`, `[detection] params` and `lookout bench
//! throughput`) and [`profile_names`] (what `[detection] profile` accepts). Adding a
//! detector is one module under `detectors/` plus one entry in that list.
//!
//! Cost: static tables; looking a name up is a linear scan of about ten entries.

use serde::{Deserialize, Serialize};

use crate::detector::{Detector, Score};
use crate::detectors::{
    changepoint::{PageHinkley, PageHinkleyConfig},
    discord::{Discord, DiscordConfig},
    ewma::{EwmaZ, EwmaZConfig},
    hst::{HalfSpaceTrees, HstConfig},
    iforest::{StreamingIsolationForest, StreamingIsolationForestConfig},
    knn::{KnnShingle, KnnShingleConfig},
    rcf::{RandomCutForest, RandomCutForestConfig as RcfConfig},
    robust_z::{RobustZ, RobustZConfig},
    seasonal::{SeasonalBaseline, SeasonalConfig},
    usage::{UsageConfig, UsageRules},
};
use crate::pipeline::{PipelineConfig, PipelineError};

/// One parameter of a detector: its key under `[detection] params.<detector>` and what
/// it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDoc {
    pub name: &'static str,
    pub doc: &'static str,
}

/// A registered detector.
#[derive(Debug, Clone, Copy)]
pub struct DetectorInfo {
    /// Its name: the `type` tag of its configuration and state, a valid profile name.
    pub name: &'static str,
    /// What it catches, in one sentence.
    pub purpose: &'static str,
    /// Its parameters, in declaration order.
    pub params: &'static [ParamDoc],
    /// Its default configuration.
    pub default_config: fn() -> DetectorConfig,
}

impl DetectorInfo {
    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&'static ParamDoc> {
        self.params.iter().find(|param| param.name == name)
    }

    /// Every parameter name, comma-separated, for messages.
    pub fn param_names(&self) -> String {
        let names: Vec<&str> = self.params.iter().map(|param| param.name).collect();
        names.join(", ")
    }
}

/// A registered profile: a set of detectors and a combiner tuned for them.
#[derive(Debug, Clone, Copy)]
pub struct ProfileInfo {
    pub name: &'static str,
    pub purpose: &'static str,
    pub build: fn() -> PipelineConfig,
}

/// Generates the detector enums, their dispatch and [`DETECTORS`] from one list.
macro_rules! detectors {
    ($(
        $variant:ident {
            name: $name:literal,
            purpose: $purpose:literal,
            config: $config:ty,
            state: $state:ty,
            build: |$cfg:ident, $seed:ident| $build:expr,
            params: [$($param:literal => $doc:literal),* $(,)?] $(,)?
        }
    ),* $(,)?) => {
        /// One detector's configuration, tagged by `type` (its registered name).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum DetectorConfig {
            $($variant($config),)*
        }

        /// Every detector behind one enum, so a pipeline's state serializes as plain data.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum AnyDetector {
            $($variant($state),)*
        }

        /// Every registered detector, in registration order.
        pub const DETECTORS: &[DetectorInfo] = &[$(
            DetectorInfo {
                name: $name,
                purpose: $purpose,
                params: &[$(ParamDoc { name: $param, doc: $doc }),*],
                default_config: || DetectorConfig::$variant(<$config>::default()),
            },
        )*];

        impl DetectorConfig {
            /// The detector's name: its `type` tag, as [`DetectorConfig::named`] takes it.
            pub fn name(&self) -> &'static str {
                match self {
                    $(DetectorConfig::$variant(_) => $name,)*
                }
            }

            pub(crate) fn build(&self, seed: u64) -> Result<AnyDetector, PipelineError> {
                let _ = seed;
                match self {
                    $(DetectorConfig::$variant($cfg) => {
                        let $seed = seed;
                        let built: Result<$state, _> = $build;
                        built.map(AnyDetector::$variant).map_err(|error| PipelineError::Detector {
                            detector: $name,
                            reason: error.to_string(),
                        })
                    })*
                }
            }
        }

        macro_rules! each_detector {
            ($value:expr, $detector:ident => $body:expr) => {
                match $value {
                    $(AnyDetector::$variant($detector) => $body,)*
                }
            };
        }
    };
}

detectors! {
    RobustZ {
        name: "robust_z",
        purpose: "spikes and dips against a rolling median and MAD, robust to outliers in the window",
        config: RobustZConfig,
        state: RobustZ,
        build: |config, _seed| RobustZ::new(config.clone()),
        params: [
            "window" => "Points in the rolling window (3..=4096).",
            "min_points" => "Points seen before scoring starts (3..=window).",
            "band_k" => "Half-width of the expected band in robust σ.",
            "rel_scale_floor" => "Scale floor relative to |median|.",
            "abs_scale_floor" => "Absolute scale floor (> 0).",
        ],
    },
    Ewma {
        name: "ewma",
        purpose: "deviations from an exponentially weighted mean and variance; cheapest, follows drift",
        config: EwmaZConfig,
        state: EwmaZ,
        build: |config, _seed| EwmaZ::new(config.clone()),
        params: [
            "alpha" => "Smoothing factor of the mean and variance, in (0, 1].",
            "min_points" => "Points seen before scoring starts (>= 2).",
            "band_k" => "Half-width of the expected band in σ.",
            "update_clip_sigmas" => "Deviations are clipped to this many σ when updating the statistics; 0 disables.",
            "rel_scale_floor" => "Scale floor relative to |mean|.",
            "abs_scale_floor" => "Absolute scale floor (> 0).",
        ],
    },
    Seasonal {
        name: "seasonal",
        purpose: "values off the daily, weekly or hourly pattern (phase bins, period found automatically); its band is the one charts show",
        config: SeasonalConfig,
        state: SeasonalBaseline,
        build: |config, _seed| SeasonalBaseline::new(config.clone()),
        params: [
            "period_secs" => "The season in seconds (86400 = daily); absent: found from the data.",
            "bins" => "Phase bins per period (2..=1024); absent: period/300 s clamped to 12..=168. Only with period_secs.",
            "auto_hourly" => "In auto mode, also try a one-hour period (hourly cron jobs).",
            "auto_improvement" => "A candidate period is used only when its mean absolute residual is at most this fraction of the flat baseline's, in (0, 1].",
            "level_alpha" => "Smoothing factor of the flat level, in (0, 1].",
            "scale_alpha" => "Smoothing factor of the residual scales, in (0, 1].",
            "correction_alpha" => "Smoothing factor of the seasonal level correction, in (0, 1].",
            "memory_periods" => "Memory of the bin averages, in periods (0.5..=1000).",
            "min_points" => "Residuals seen before a model scores (>= 2).",
            "update_clip_sigmas" => "Residuals are clipped to this many σ when learning; 0 disables.",
            "band_k" => "Half-width of the expected band in σ.",
            "rel_scale_floor" => "Scale floor relative to |expected|.",
            "abs_scale_floor" => "Absolute scale floor (> 0).",
        ],
    },
    Changepoint {
        name: "changepoint",
        purpose: "level shifts that persist (two-sided Page–Hinkley sums against a slow baseline)",
        config: PageHinkleyConfig,
        state: PageHinkley,
        build: |config, _seed| PageHinkley::new(config.clone()),
        params: [
            "baseline_alpha" => "Smoothing factor of the slow baseline mean/variance, in (0, 1].",
            "min_points" => "Points seen before the sums start (>= 2).",
            "delta" => "Allowed drift per point, in σ: shifts smaller than this are ignored.",
            "lambda" => "Threshold of the cumulative sums, in σ.",
            "z_clip" => "Standardized values are clipped to ±z_clip (bounds a spike's influence).",
            "band_k" => "Half-width of the expected band in σ.",
            "rel_scale_floor" => "Scale floor relative to |mean|.",
            "abs_scale_floor" => "Absolute scale floor (> 0).",
        ],
    },
    Rcf {
        name: "rcf",
        purpose: "shape anomalies on shingles (Random Cut Forest); 20–50× the cost of the default profile per point",
        config: RcfConfig,
        state: Box<RandomCutForest>,
        build: |config, seed| RandomCutForest::new(config.clone(), seed).map(Box::new),
        params: [
            "num_trees" => "Number of trees (AWS default 50).",
            "sample_size" => "Points kept per tree (AWS default 256).",
            "shingle_size" => "Consecutive values per shingled point.",
            "time_decay" => "Per-point decay of the reservoir weights; absent: 1 / (10 × sample_size).",
            "output_after" => "Shingles inserted before scores are reported; absent: sample_size / 4.",
            "normalize" => "Standardise values online before shingling.",
            "normalize_horizon" => "Horizon, in points, of the online mean and deviation used to standardise.",
        ],
    },
    Hst {
        name: "hst",
        purpose: "rows in regions that were empty during the previous window (Half-Space Trees); adapts every window",
        config: HstConfig,
        state: Box<HalfSpaceTrees>,
        build: |config, seed| HalfSpaceTrees::new(config.clone(), seed).map(Box::new),
        params: [
            "n_trees" => "Number of trees.",
            "max_depth" => "Depth of every tree.",
            "window_size" => "Rows per window (the reference profile is the previous window).",
            "size_limit" => "Scoring stops at the first node whose reference mass is at most this share of the window.",
            "shingle_size" => "Values per row in univariate use.",
        ],
    },
    Iforest {
        name: "iforest",
        purpose: "isolated rows of a bounded recent window (Isolation Forest refitted on a schedule)",
        config: StreamingIsolationForestConfig,
        state: Box<StreamingIsolationForest>,
        build: |config, seed| StreamingIsolationForest::new(config.clone(), seed).map(Box::new),
        params: [
            "n_trees" => "Number of trees.",
            "sample_size" => "Rows per tree.",
            "contamination" => "Expected share of anomalies in the training window, in (0, 0.5].",
            "warmup" => "Rows before the first model is fitted.",
            "refit_every" => "Rows between two refits.",
            "window" => "Most recent rows a model is fitted on.",
            "shingle_size" => "Consecutive values per row in univariate use.",
        ],
    },
    Knn {
        name: "knn",
        purpose: "shape and rhythm changes: distance of the latest shingle to its k-th nearest earlier one",
        config: KnnShingleConfig,
        state: KnnShingle,
        build: |config, _seed| KnnShingle::new(config.clone()),
        params: [
            "shingle" => "Values per shingle.",
            "history" => "Values of history searched for neighbours.",
            "k" => "Which nearest neighbour's distance is the score (1 = the nearest).",
            "scale_alpha" => "Smoothing factor of the spread estimate.",
        ],
    },
    Discord {
        name: "discord",
        purpose: "one cycle unlike every recent cycle: z-normalised nearest-neighbour distance of the latest period-long window (online matrix profile, period by autocorrelation)",
        config: DiscordConfig,
        state: Box<Discord>,
        build: |config, _seed| Discord::new(config.clone()).map(Box::new),
        params: [
            "history" => "Values kept and searched for neighbours (64..=16384).",
            "estimate_after" => "Points seen before the first period estimate (and the first score).",
            "reestimate_every" => "Points between two period estimates once the history has filled; 0: never again.",
            "min_window" => "Shortest window (period) considered.",
            "max_window" => "Longest window (period) considered; at most history / 4.",
            "min_peak" => "Least autocorrelation at the period for a series to count as periodic (0.05..=0.99).",
            "probe" => "Probe for a period with 48 block means first and keep the history only once one is found (what `default` does); false: keep it from the first point.",
        ],
    },
    Usage {
        name: "usage",
        purpose: "CPU usage rules: surges and sharp drops (idle and underused are states, not anomalies)",
        config: UsageConfig,
        state: UsageRules,
        build: |config, _seed| UsageRules::new(config.clone()),
        params: [
            "idle_max_percent" => "CPU % at or below which a sample counts as idle.",
            "idle_samples" => "Consecutive idle samples before the state is idle (>= 1).",
            "underused_max_percent" => "CPU % at or below which a sample counts as underused.",
            "underused_samples" => "Consecutive underused samples before the state is underused (>= 1).",
            "jump_factor" => "Relative change between consecutive samples that makes a surge or sharp drop (1.0: doubled or halved).",
            "min_jump_points" => "Minimum absolute change, in percentage points, of a surge or sharp drop.",
        ],
    },
}

/// The registered profiles.
pub const PROFILES: &[ProfileInfo] = &[
    ProfileInfo {
        name: "default",
        purpose: "the cheap streaming set (seasonal, robust_z, changepoint, knn, and discord on series found periodic), fast enough for a million points a second",
        build: crate::pipeline::default_pipeline,
    },
    ProfileInfo {
        name: "thorough",
        purpose: "default plus Random Cut Forest (shape anomalies on shingles) and discord (a cycle unlike every recent one), 20–50× the cost per point",
        build: crate::pipeline::thorough_pipeline,
    },
];

/// The registered detector names, in registration order.
pub const DETECTOR_NAMES: [&str; DETECTORS.len()] = {
    let mut names = [""; DETECTORS.len()];
    let mut index = 0;
    while index < DETECTORS.len() {
        names[index] = DETECTORS[index].name;
        index += 1;
    }
    names
};

/// The registered profile names, in registration order.
pub const PROFILE_NAMES: [&str; PROFILES.len()] = {
    let mut names = [""; PROFILES.len()];
    let mut index = 0;
    while index < PROFILES.len() {
        names[index] = PROFILES[index].name;
        index += 1;
    }
    names
};

/// The registered detector named `name`.
pub fn detector(name: &str) -> Option<&'static DetectorInfo> {
    DETECTORS.iter().find(|info| info.name == name)
}

/// The registered profile named `name`.
pub fn profile(name: &str) -> Option<&'static ProfileInfo> {
    PROFILES.iter().find(|info| info.name == name)
}

/// Every name [`PipelineConfig::named`] and `[detection] profile` accept: the profiles,
/// then each detector alone.
pub const PIPELINE_NAMES: [&str; PROFILES.len() + DETECTORS.len()] = {
    let mut names = [""; PROFILES.len() + DETECTORS.len()];
    let mut index = 0;
    while index < PROFILES.len() {
        names[index] = PROFILES[index].name;
        index += 1;
    }
    while index < names.len() {
        names[index] = DETECTORS[index - PROFILES.len()].name;
        index += 1;
    }
    names
};

/// [`PIPELINE_NAMES`] as a vector.
pub fn profile_names() -> Vec<&'static str> {
    PIPELINE_NAMES.to_vec()
}

impl AnyDetector {
    pub fn state_bytes(&self) -> usize {
        each_detector!(self, d => d.state_bytes())
    }

    /// Whether this detector has nothing to say about the last point (not the same as a
    /// score of 0): its calibration then neither learns nor scores. Only the discord
    /// detector is ever silent (before it has a period and a neighbour).
    pub fn is_silent(&self) -> bool {
        match self {
            AnyDetector::Discord(d) => !d.is_scoring(),
            _ => false,
        }
    }

    /// Hints that this detector's windows are about to be read (see `crate::prefetch`).
    pub(crate) fn prefetch_windows(&self) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detector_documents_exactly_its_parameters() {
        for info in DETECTORS {
            let config = serde_json::to_value((info.default_config)()).unwrap();
            let mut fields: Vec<&str> = config
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|key| *key != "type")
                .collect();
            fields.sort_unstable();
            let mut documented: Vec<&str> = info.params.iter().map(|p| p.name).collect();
            documented.sort_unstable();
            assert_eq!(fields, documented, "parameters of {}", info.name);
            assert!(!info.purpose.is_empty());
            assert!(info.params.iter().all(|p| !p.doc.is_empty()));
        }
    }

    #[test]
    fn every_registered_name_builds_and_names_itself() {
        for info in DETECTORS {
            let config = (info.default_config)();
            assert_eq!(config.name(), info.name);
            let built = config.build(7).unwrap();
            assert_eq!(Detector::name(&built), info.name);
        }
        for name in profile_names() {
            PipelineConfig::named(name).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }

    #[test]
    fn knn_is_a_profile_name() {
        assert!(profile_names().contains(&"knn"));
        assert!(DETECTOR_NAMES.contains(&"knn"));
        assert_eq!(DETECTOR_NAMES.len(), DETECTORS.len());
    }

    #[test]
    fn lookups_find_registered_names_only() {
        assert_eq!(
            detector("ewma").unwrap().param("alpha").unwrap().name,
            "alpha"
        );
        assert!(detector("ewma").unwrap().param("beta").is_none());
        assert!(detector("default").is_none());
        assert_eq!(profile("thorough").unwrap().name, "thorough");
        assert!(profile("knn").is_none());
    }
}
