//! Streaming Half-Space Trees (Tan, Ting & Liu, IJCAI 2011).
//!
//! The feature range is learned from the first window of `window_size` rows (default
//! 250): each feature is mapped to `[0, 1]` over that window's minimum and maximum.
//! Each of the `n_trees` trees (default 25) is a full binary tree of depth `max_depth`
//! (default 8) built without data: every node halves its *work range* along a random
//! feature, and each tree's work range is `s ± 2·max(s, 1 − s)` for a random `s` per
//! feature, as in the paper. Every node counts the rows of the *latest* window that
//! pass through it; when a window closes, those counts become the *reference* profile
//! and counting restarts. A row is scored against the reference profile: per tree, the
//! mass `r` of the deepest node on its path (stopping early at the first node whose
//! mass is at most `size_limit × window_size`, default 0.1) times `2^depth`, summed over
//! trees into `s`. A row in a dense region has `s ≈ n_trees × window_size`; one in an
//! empty region has `s ≈ 0`. The raw score is `log2(1 + n_trees × window_size / (s + 1))`:
//! about 1 for typical rows, up to `log2(1 + n_trees × window_size)` (≈ 12.6 with the
//! defaults) for rows where nothing of the reference window was seen.
//!
//! Univariate use ([`Detector`]) shingles `shingle_size` consecutive values (default 4)
//! into a row; multivariate use ([`MultiDetector`]) takes rows as they come and
//! reports per-feature contributions: along each tree's path, a split on feature `q`
//! that sends the row to a child with reference mass `r_child` out of `r_parent` is
//! credited `max(0, log2((r_parent + 1) / (r_child + 1)) − 1)`, i.e. how much more than
//! an even halving that split emptied the row's neighbourhood; normalised to sum 1
//! (falling back to the plain log ratio when no split did better than halving).
//!
//! **Catches:** rows in regions that were empty during the previous window (spikes,
//! level shifts for about one window, new combinations of features); adapts every
//! window, so it follows concept drift quickly.
//! **Misses:** anomalies that last longer than a window (they become the reference),
//! fine structure below the tree resolution (`2^max_depth` cells along all features
//! together), values far outside the first window's range all look alike.
//!
//! **Cost:** per row `O(n_trees × (max_depth + features))`, plus an `O(n_trees ×
//! 2^max_depth)` profile swap once per window (amortised ≈ 50 operations per row).
//! Memory per series ≈ `n_trees × 2^max_depth × 18` bytes: ≈ 115 kB with the defaults.

use serde::{Deserialize, Serialize};

use super::rcf::rng::ForestRng;
pub use super::rcf::ForestConfigError;
use crate::detector::{sanitize_raw, Detector, MultiDetector, MultiScore, Score};

/// Standardised values beyond this magnitude are clamped.
const UNIT_CLAMP: f64 = 1e6;

/// Configuration of [`HalfSpaceTrees`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HstConfig {
    pub n_trees: usize,
    pub max_depth: usize,
    pub window_size: usize,
    /// Scoring stops at the first node whose reference mass is at most this share of
    /// the window.
    pub size_limit: f64,
    /// Values per row in univariate use.
    pub shingle_size: usize,
}

impl Default for HstConfig {
    fn default() -> Self {
        Self {
            n_trees: 25,
            max_depth: 8,
            window_size: 250,
            size_limit: 0.1,
            shingle_size: 4,
        }
    }
}

impl HstConfig {
    fn validate(&self) -> Result<(), ForestConfigError> {
        if self.n_trees == 0 || self.n_trees > 10_000 {
            return Err(ForestConfigError::new("n_trees", "must be in 1..=10000"));
        }
        if self.max_depth == 0 || self.max_depth > 20 {
            return Err(ForestConfigError::new("max_depth", "must be in 1..=20"));
        }
        if self.window_size < 2 || self.window_size > 1 << 24 {
            return Err(ForestConfigError::new(
                "window_size",
                "must be in 2..=16777216",
            ));
        }
        if !(0.0..1.0).contains(&self.size_limit) {
            return Err(ForestConfigError::new("size_limit", "must be in [0, 1)"));
        }
        if self.shingle_size == 0 || self.shingle_size > 256 {
            return Err(ForestConfigError::new("shingle_size", "must be in 1..=256"));
        }
        Ok(())
    }
}

/// The Half-Space Trees detector (see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HalfSpaceTrees {
    config: HstConfig,
    n_features: usize,
    rng: ForestRng,
    /// Rows of the first window, kept until the feature range is known.
    pending: Vec<f64>,
    /// Per feature: minimum and half-width of the first window (empty until learned).
    feature_min: Vec<f64>,
    feature_half_width: Vec<f64>,
    /// Per tree, per internal node (heap order): the split feature.
    split_feature: Vec<u16>,
    /// Per tree, per feature: the work range `[lo, hi]`, as `lo` then `hi` per tree.
    work_range: Vec<f64>,
    reference: Vec<u32>,
    latest: Vec<u32>,
    rows_in_window: usize,
    /// Univariate use: the last `shingle_size` values, oldest first once full.
    recent: Vec<f64>,
    recent_cursor: usize,
    values_seen: u64,
    #[serde(skip)]
    scratch: Vec<f64>,
}

impl HalfSpaceTrees {
    /// A univariate detector over shingles of `config.shingle_size` values.
    pub fn new(config: HstConfig, seed: u64) -> Result<Self, ForestConfigError> {
        let features = config.shingle_size;
        Self::new_multivariate(config, features, seed)
    }

    /// A multivariate detector over rows of `n_features` values.
    pub fn new_multivariate(
        config: HstConfig,
        n_features: usize,
        seed: u64,
    ) -> Result<Self, ForestConfigError> {
        config.validate()?;
        if n_features == 0 || n_features > u16::MAX as usize {
            return Err(ForestConfigError::new("n_features", "must be in 1..=65535"));
        }
        Ok(Self {
            pending: Vec::with_capacity(config.window_size * n_features),
            recent: vec![0.0; config.shingle_size],
            n_features,
            rng: ForestRng::new(seed),
            feature_min: Vec::new(),
            feature_half_width: Vec::new(),
            split_feature: Vec::new(),
            work_range: Vec::new(),
            reference: Vec::new(),
            latest: Vec::new(),
            rows_in_window: 0,
            recent_cursor: 0,
            values_seen: 0,
            scratch: Vec::new(),
            config,
        })
    }

    pub fn config(&self) -> &HstConfig {
        &self.config
    }

    /// Bytes of memory held by this detector.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + 8 * (self.pending.capacity()
                + self.feature_min.capacity()
                + self.feature_half_width.capacity()
                + self.work_range.capacity()
                + self.recent.capacity()
                + self.scratch.capacity())
            + 2 * self.split_feature.capacity()
            + 4 * (self.reference.capacity() + self.latest.capacity())
    }

    fn nodes_per_tree(&self) -> usize {
        (1 << (self.config.max_depth + 1)) - 1
    }

    fn internal_per_tree(&self) -> usize {
        (1 << self.config.max_depth) - 1
    }

    fn is_ready(&self) -> bool {
        !self.feature_min.is_empty()
    }

    /// Learns the feature ranges from the first window, builds the trees and makes the
    /// first window the reference profile.
    fn build(&mut self) {
        let f = self.n_features;
        let mut lo = vec![f64::INFINITY; f];
        let mut hi = vec![f64::NEG_INFINITY; f];
        for row in self.pending.chunks(f) {
            for q in 0..f {
                lo[q] = lo[q].min(row[q]);
                hi[q] = hi[q].max(row[q]);
            }
        }
        self.feature_half_width = (0..f)
            .map(|q| {
                let half = hi[q] * 0.5 - lo[q] * 0.5;
                let floor = lo[q].abs().max(hi[q].abs()) * 0.5e-9;
                half.max(floor).max(f64::MIN_POSITIVE)
            })
            .collect();
        self.feature_min = lo;
        let trees = self.config.n_trees;
        let internal = self.internal_per_tree();
        self.split_feature = (0..trees * internal)
            .map(|_| self.rng.below(f) as u16)
            .collect();
        self.work_range = Vec::with_capacity(trees * 2 * f);
        for _ in 0..trees {
            let centres: Vec<f64> = (0..f).map(|_| self.rng.next_f64()).collect();
            let spread = |s: f64| 2.0 * s.max(1.0 - s);
            self.work_range
                .extend(centres.iter().map(|&s| s - spread(s)));
            self.work_range
                .extend(centres.iter().map(|&s| s + spread(s)));
        }
        self.reference = vec![0; trees * self.nodes_per_tree()];
        self.latest = vec![0; trees * self.nodes_per_tree()];
        let pending = std::mem::take(&mut self.pending);
        let mut unit = Vec::with_capacity(f);
        for row in pending.chunks(f) {
            self.to_unit(row, &mut unit);
            self.visit(&unit, None);
        }
        std::mem::swap(&mut self.reference, &mut self.latest);
        self.latest.fill(0);
        self.rows_in_window = 0;
    }

    fn to_unit(&self, row: &[f64], unit: &mut Vec<f64>) {
        unit.clear();
        unit.extend(row.iter().enumerate().map(|(q, &x)| {
            let shifted = x * 0.5 - self.feature_min[q] * 0.5;
            (shifted / self.feature_half_width[q]).clamp(-UNIT_CLAMP, UNIT_CLAMP)
        }));
    }

    /// Walks every tree with the unit-scaled row: counts it in the latest profile and,
    /// when `contributions` is given, scores it against the reference profile
    /// (returns the mass sum `s`) and accumulates per-feature credit.
    fn visit(&mut self, unit: &[f64], mut contributions: Option<&mut [[f64; 2]]>) -> f64 {
        let f = self.n_features;
        let depth_limit = self.config.max_depth;
        let size_limit = self.config.size_limit * self.config.window_size as f64;
        let (nodes, internal) = (self.nodes_per_tree(), self.internal_per_tree());
        let mut range = std::mem::take(&mut self.scratch);
        let mut total = 0.0;
        for tree in 0..self.config.n_trees {
            range.clear();
            range.extend_from_slice(&self.work_range[tree * 2 * f..(tree + 1) * 2 * f]);
            let masses = tree * nodes;
            let mut node = 0usize;
            let mut scored = false;
            for depth in 0..=depth_limit {
                self.latest[masses + node] += 1;
                let mass = self.reference[masses + node] as f64;
                if !scored && (depth == depth_limit || mass <= size_limit) {
                    total += mass * (1u64 << depth) as f64;
                    scored = true;
                }
                if depth == depth_limit {
                    break;
                }
                let q = self.split_feature[tree * internal + node] as usize;
                let middle = 0.5 * (range[q] + range[f + q]);
                let child = if unit[q] < middle {
                    range[f + q] = middle;
                    2 * node + 1
                } else {
                    range[q] = middle;
                    2 * node + 2
                };
                if let (false, Some(credit)) = (scored, contributions.as_deref_mut()) {
                    let child_mass = self.reference[masses + child] as f64;
                    let thinning = ((mass + 1.0) / (child_mass + 1.0)).log2();
                    credit[q][0] += (thinning - 1.0).max(0.0);
                    credit[q][1] += thinning;
                }
                node = child;
            }
        }
        self.scratch = range;
        total
    }

    fn close_window_if_full(&mut self) {
        self.rows_in_window += 1;
        if self.rows_in_window >= self.config.window_size {
            std::mem::swap(&mut self.reference, &mut self.latest);
            self.latest.fill(0);
            self.rows_in_window = 0;
        }
    }

    fn observe(&mut self, row: &[f64], want_contributions: bool) -> MultiScore {
        let f = self.n_features;
        if !self.is_ready() {
            self.pending.extend_from_slice(row);
            if self.pending.len() >= self.config.window_size * f {
                self.build();
            }
            return MultiScore {
                raw: 0.0,
                contributions: vec![0.0; f],
            };
        }
        let mut unit = Vec::with_capacity(f);
        self.to_unit(row, &mut unit);
        let mut credit = vec![[0.0; 2]; if want_contributions { f } else { 0 }];
        let mass = self.visit(&unit, want_contributions.then_some(credit.as_mut_slice()));
        self.close_window_if_full();
        let full = (self.config.n_trees * self.config.window_size) as f64;
        let raw = sanitize_raw((1.0 + full / (mass + 1.0)).log2());
        let contributions = if want_contributions {
            let pick = usize::from(credit.iter().map(|c| c[0]).sum::<f64>() <= 0.0);
            normalise(credit.iter().map(|c| c[pick]).collect())
        } else {
            Vec::new()
        };
        MultiScore { raw, contributions }
    }
}

fn normalise(mut values: Vec<f64>) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    if total > 0.0 && total.is_finite() {
        values.iter_mut().for_each(|v| *v /= total);
    } else {
        values.iter_mut().for_each(|v| *v = 0.0);
    }
    values
}

impl MultiDetector for HalfSpaceTrees {
    fn name(&self) -> &'static str {
        "hst"
    }

    /// Rows whose length differs from `n_features`, or that hold a non-finite value,
    /// are scored 0 and not learned from.
    fn update(&mut self, _timestamp_ms: i64, values: &[f64]) -> MultiScore {
        if values.len() != self.n_features || values.iter().any(|v| !v.is_finite()) {
            return MultiScore {
                raw: 0.0,
                contributions: vec![0.0; values.len()],
            };
        }
        self.observe(values, true)
    }
}

impl Detector for HalfSpaceTrees {
    fn name(&self) -> &'static str {
        "hst"
    }

    fn update(&mut self, _timestamp_ms: i64, value: f64) -> Score {
        let n = self.recent.len();
        if !value.is_finite() || n != self.n_features {
            return Score::WARMING_UP;
        }
        self.recent[self.recent_cursor] = value;
        self.recent_cursor = (self.recent_cursor + 1) % n;
        self.values_seen += 1;
        if self.values_seen < n as u64 {
            return Score::WARMING_UP;
        }
        let row: Vec<f64> = (0..n)
            .map(|i| self.recent[(self.recent_cursor + i) % n])
            .collect();
        let score = self.observe(&row, false);
        Score {
            raw: score.raw,
            expected: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spike_in_sine_scores_highest() {
        let mut hst = HalfSpaceTrees::new(HstConfig::default(), 3).unwrap();
        let mut scores = Vec::new();
        for i in 0..2000 {
            let base = 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 40.0).sin();
            let value = if i == 1700 { 90.0 } else { base };
            scores.push(Detector::update(&mut hst, i, value).raw);
        }
        assert!(scores[..250].iter().all(|s| *s == 0.0));
        let spike = scores[1700];
        let inlier_max = scores[600..1700].iter().cloned().fold(0.0, f64::max);
        assert!(spike > 2.0 * inlier_max, "spike {spike} vs {inlier_max}");
    }

    #[test]
    fn multivariate_contributions_point_at_the_odd_feature() {
        let mut hst = HalfSpaceTrees::new_multivariate(HstConfig::default(), 3, 8).unwrap();
        let mut rng = ForestRng::new(1);
        for t in 0..1000 {
            let row = [rng.next_f64(), 10.0 + rng.next_f64(), -rng.next_f64()];
            MultiDetector::update(&mut hst, t, &row);
        }
        let normal = MultiDetector::update(&mut hst, 1000, &[0.5, 10.5, -0.5]);
        let odd = MultiDetector::update(&mut hst, 1001, &[0.5, 14.0, -0.5]);
        assert!(odd.raw > 3.0 * normal.raw, "{} vs {}", odd.raw, normal.raw);
        let top = (0..3)
            .max_by(|&a, &b| odd.contributions[a].total_cmp(&odd.contributions[b]))
            .unwrap();
        assert_eq!(top, 1, "{:?}", odd.contributions);
        assert!((odd.contributions.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn rejects_bad_fields_by_name() {
        let bad = HstConfig {
            size_limit: 1.5,
            ..Default::default()
        };
        assert_eq!(HalfSpaceTrees::new(bad, 1).unwrap_err().field, "size_limit");
        assert_eq!(
            HalfSpaceTrees::new_multivariate(HstConfig::default(), 0, 1)
                .unwrap_err()
                .field,
            "n_features"
        );
    }
}
