//! Streaming Random Cut Forest (Guha, Mishra, Roy & Schrijvers, ICML 2016), scored the
//! way AWS's `randomcutforest` library does.
//!
//! The univariate detector turns the stream into *shingles* (the last `shingle_size`
//! values, default 4) and keeps, per tree, a time-decayed reservoir sample of them
//! (`sample_size` points, default 256; decay `1 / (10 * sample_size)` per point like
//! AWS, so recent behaviour dominates but the sample remembers a few thousand points).
//! Each shingle is scored *before* it is inserted. The per-tree score walks the point's
//! root-to-leaf path and mixes, bottom-up, the chance that a random cut of each node's
//! box would have separated the point early (`1 / (depth + 1)` weighted by that chance)
//! — the codisplacement-flavoured score of AWS — normalised by `log2(1 + tree mass)`
//! and averaged over the trees. Inliers score around 0.6–1, clear anomalies 2–4.
//!
//! **Scale.** The RCF score is invariant under positive affine maps of the input (cuts
//! are drawn proportionally to box sides, scores are ratios of sides), so raw scores
//! are already comparable across series of any unit without normalising. Values are
//! clamped to ±1e150 so that box arithmetic cannot overflow. Optional online
//! standardisation (`normalize = true`: long-horizon mean and deviation, standardised
//! values clamped to ±1e6) is off by default: the sample then mixes points standardised
//! with different estimates, and on NAB series its scores agree much less with the
//! reference implementation (Spearman 0.5–0.95 against 0.95–0.98 without; see
//! `bench/peers/RESULTS.md`).
//!
//! **Catches:** spikes and dips, shape changes over a few points (a shingle that
//! has never been seen), level shifts (until the sample has absorbed the new level).
//! **Misses:** slow drifts (each step looks like the last), anomalies longer than the
//! sample's memory, and anything that needs seasonality longer than the shingle.
//!
//! **Cost:** per point `O(num_trees × depth × shingle_size)` for scoring plus the
//! same for the insertion and deletion of the accepted trees (depth ≈ 2·log2(256)).
//! Memory per series ≈ `num_trees × sample_size × (52 + 24 × shingle_size)` bytes:
//! about 1.9 MB with the defaults (see [`RandomCutForest::state_bytes`]); nothing is
//! allocated per point once the samplers are full.

mod forest;
pub(crate) mod rng;
mod tree;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::detector::{sanitize_raw, Detector, Score};
pub use forest::Forest;

/// A forest detector configuration field that is out of range.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid forest configuration: `{field}` {reason}")]
pub struct ForestConfigError {
    /// The configuration field at fault.
    pub field: &'static str,
    /// Why it was rejected.
    pub reason: String,
}

impl ForestConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Values beyond this magnitude are clamped before any arithmetic.
pub(crate) const VALUE_CLAMP: f64 = 1e150;
/// Standardised values beyond this magnitude are clamped (they are maximally odd anyway).
const STANDARDIZED_CLAMP: f64 = 1e6;

/// Short name of [`RandomCutForestConfig`], as profiles spell it.
pub type RcfConfig = RandomCutForestConfig;

/// Configuration of [`RandomCutForest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomCutForestConfig {
    /// Number of trees (AWS default 50).
    pub num_trees: usize,
    /// Points kept per tree (AWS default 256).
    pub sample_size: usize,
    /// Consecutive values per shingled point: 4 catches spikes and short shape changes
    /// while keeping trees shallow and memory small.
    pub shingle_size: usize,
    /// Per-point decay of the reservoir weights; `None` means `1 / (10 * sample_size)`.
    pub time_decay: Option<f64>,
    /// Shingles inserted before scores are reported (`None`: `sample_size / 4`).
    pub output_after: Option<usize>,
    /// Standardise values online before shingling (default off; see the module doc).
    pub normalize: bool,
    /// Horizon, in points, of the online mean and deviation used to standardise.
    pub normalize_horizon: usize,
}

impl Default for RandomCutForestConfig {
    fn default() -> Self {
        Self {
            num_trees: 50,
            sample_size: 256,
            shingle_size: 4,
            time_decay: None,
            output_after: None,
            normalize: false,
            normalize_horizon: 4096,
        }
    }
}

impl RandomCutForestConfig {
    fn validate(&self) -> Result<(), ForestConfigError> {
        if self.num_trees == 0 || self.num_trees > 10_000 {
            return Err(ForestConfigError::new("num_trees", "must be in 1..=10000"));
        }
        if self.sample_size < 2 || self.sample_size > 1 << 20 {
            return Err(ForestConfigError::new(
                "sample_size",
                "must be in 2..=1048576",
            ));
        }
        if self.shingle_size == 0 || self.shingle_size > 256 {
            return Err(ForestConfigError::new("shingle_size", "must be in 1..=256"));
        }
        if let Some(decay) = self.time_decay {
            if !(decay.is_finite() && decay >= 0.0) {
                return Err(ForestConfigError::new(
                    "time_decay",
                    "must be finite and >= 0",
                ));
            }
        }
        if self.normalize_horizon == 0 {
            return Err(ForestConfigError::new("normalize_horizon", "must be >= 1"));
        }
        Ok(())
    }
}

/// Online mean and deviation over a long horizon (exact running mean until the
/// horizon is reached, then exponentially weighted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Standardizer {
    horizon: f64,
    count: f64,
    mean: f64,
    variance: f64,
}

impl Standardizer {
    fn new(horizon: usize) -> Self {
        Self {
            horizon: horizon as f64,
            count: 0.0,
            mean: 0.0,
            variance: 0.0,
        }
    }

    fn observe(&mut self, value: f64) {
        self.count += 1.0;
        let weight = (1.0 / self.count).max(1.0 / self.horizon);
        let delta = value - self.mean;
        self.mean += weight * delta;
        self.variance = (1.0 - weight) * (self.variance + weight * delta * delta);
    }

    fn standardize(&self, value: f64) -> f64 {
        let scale = self
            .variance
            .sqrt()
            .max(self.mean.abs() * 1e-9)
            .max(f64::MIN_POSITIVE);
        ((value - self.mean) / scale).clamp(-STANDARDIZED_CLAMP, STANDARDIZED_CLAMP)
    }
}

/// The univariate streaming Random Cut Forest detector (see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomCutForest {
    config: RandomCutForestConfig,
    forest: Forest,
    standardizer: Standardizer,
    /// The last `shingle_size` raw (clamped) values, oldest first once full.
    recent: Vec<f64>,
    /// Next write position in `recent` (ring buffer).
    cursor: usize,
    seen: u64,
    #[serde(skip)]
    shingle: Vec<f64>,
}

impl RandomCutForest {
    pub fn new(config: RandomCutForestConfig, seed: u64) -> Result<Self, ForestConfigError> {
        config.validate()?;
        let time_decay = config
            .time_decay
            .unwrap_or(1.0 / (10.0 * config.sample_size as f64));
        let output_after = config.output_after.unwrap_or(config.sample_size / 4);
        let forest = Forest::new(
            config.shingle_size,
            config.num_trees,
            config.sample_size,
            time_decay,
            output_after,
            seed,
        );
        Ok(Self {
            standardizer: Standardizer::new(config.normalize_horizon),
            recent: vec![0.0; config.shingle_size],
            shingle: vec![0.0; config.shingle_size],
            cursor: 0,
            seen: 0,
            forest,
            config,
        })
    }

    pub fn config(&self) -> &RandomCutForestConfig {
        &self.config
    }

    /// Bytes of memory held by this detector (struct plus heap).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.forest.state_bytes() + 16 * self.recent.len()
    }

    fn build_shingle(&mut self) {
        let n = self.recent.len();
        self.shingle.resize(n, 0.0);
        for i in 0..n {
            let raw = self.recent[(self.cursor + i) % n];
            self.shingle[i] = if self.config.normalize {
                self.standardizer.standardize(raw)
            } else {
                raw
            };
        }
    }
}

impl Detector for RandomCutForest {
    fn name(&self) -> &'static str {
        "rcf"
    }

    fn update(&mut self, _timestamp_ms: i64, value: f64) -> Score {
        let value = if value.is_nan() {
            0.0
        } else {
            value.clamp(-VALUE_CLAMP, VALUE_CLAMP)
        };
        let n = self.recent.len();
        self.recent[self.cursor] = value;
        self.cursor = (self.cursor + 1) % n;
        self.seen += 1;
        if self.seen < n as u64 {
            self.standardizer.observe(value);
            return Score::WARMING_UP;
        }
        self.build_shingle();
        let raw = self.forest.score(&self.shingle);
        self.forest.update(&self.shingle);
        self.standardizer.observe(value);
        Score {
            raw: sanitize_raw(raw),
            expected: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(i: usize) -> f64 {
        10.0 + 3.0 * (i as f64 * std::f64::consts::TAU / 50.0).sin()
    }

    #[test]
    fn spike_in_sine_scores_highest() {
        for normalize in [false, true] {
            let config = RandomCutForestConfig {
                normalize,
                ..Default::default()
            };
            let mut rcf = RandomCutForest::new(config, 11).unwrap();
            let mut scores = Vec::new();
            for i in 0..2000 {
                let value = if i == 1500 { 25.0 } else { sine(i) };
                scores.push(rcf.update(i as i64 * 1000, value).raw);
            }
            let spike = scores[1500];
            let max_other = scores[600..1500].iter().cloned().fold(0.0, f64::max);
            assert!(
                spike > 1.5 * max_other,
                "normalize {normalize}: spike {spike} vs max inlier {max_other}"
            );
            assert!(scores[..3].iter().all(|s| *s == 0.0));
        }
    }

    #[test]
    fn rejects_bad_fields_by_name() {
        let bad = RandomCutForestConfig {
            num_trees: 0,
            ..Default::default()
        };
        assert_eq!(RandomCutForest::new(bad, 1).unwrap_err().field, "num_trees");
        let bad = RandomCutForestConfig {
            time_decay: Some(f64::NAN),
            ..Default::default()
        };
        assert_eq!(
            RandomCutForest::new(bad, 1).unwrap_err().field,
            "time_decay"
        );
        let err = serde_json::from_str::<RandomCutForestConfig>(r#"{"trees": 3}"#);
        assert!(err.is_err());
    }

    #[test]
    fn memory_is_bounded() {
        let mut rcf = RandomCutForest::new(RandomCutForestConfig::default(), 2).unwrap();
        for i in 0..3000 {
            rcf.update(i, (i as f64 * 0.37).sin() * 100.0 + i as f64);
        }
        let bytes = rcf.state_bytes();
        for i in 3000..6000 {
            rcf.update(i, (i as f64 * 0.37).sin() * 100.0 + i as f64);
        }
        assert_eq!(rcf.state_bytes(), bytes);
        assert!(bytes < 4 << 20, "{bytes}");
    }
}
