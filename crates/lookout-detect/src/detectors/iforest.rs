//! Isolation Forest (Liu, Ting & Zhou, ICDM 2008): a batch model over row vectors,
//! and [`StreamingIsolationForest`], which refits it on a sliding window.
//!
//! Each tree is grown on a random subsample of `sample_size` rows (default 256) by
//! picking a random non-constant feature and a uniform split between its minimum and
//! maximum, down to depth `ceil(log2(sample_size))`. A row's score is
//! `2^(−E[h(x)] / c(n))`, where `h` is the depth at which it lands plus the expected
//! depth `c(size)` of the unbuilt subtree under that leaf: in (0, 1), around 0.5 or
//! less for inliers, near 1 for rows that are isolated in a few splits. This is the
//! same estimator as scikit-learn's `IsolationForest` (`score_samples` negated), and
//! [`IsolationForest::threshold`] is the training-score quantile at
//! `1 − contamination`, like scikit-learn's `offset_`.
//!
//! **Catches:** rows that are extreme in one or a few features, or in an unusual
//! combination of ranges (a point in an empty region between clusters).
//! **Misses:** anomalies that only show in correlations inside the data's range (axis
//! parallel splits see a diagonal band as a box), anomalies in time order (a row is
//! scored on its own; shingle for shape), and dense clusters of anomalies larger
//! than the subsample can isolate ("masking").
//!
//! **Cost:** fit `O(n_trees × sample_size × log2(sample_size))`, independent of the
//! training set size (plus one pass over it for the threshold); score
//! `O(n_trees × log2(sample_size))` per row. Batches use a plan built on first use
//! (`plan.rs`): rows ranked once per feature, then walked through eight trees at a
//! time with AVX2, branch-free; forests or processors the plan does not fit (more
//! than 16 features, depth over 12, no AVX2) walk the values in branch-free
//! lockstep (`score.rs`). Either can run over several threads
//! ([`IsolationForest::score_many_parallel`]); both give the scores of
//! [`IsolationForest::score`] to the bit. A model holds at most
//! `n_trees × (2 × sample_size − 1)` nodes of 28 bytes (a 16-byte split, an 8-byte
//! path length, a 4-byte subsample count): 1.4 MB with the defaults, plus the plan
//! once built (~0.5 MB; the streaming detector, which scores row by row, drops it).
//!
//! **Contributions.** For each tree, along the row's path, every split sends the row
//! into a child holding `n_child` of the parent's `n_parent` training rows. The split's
//! feature is credited with `max(0, log2(n_parent / n_child) − 1)`: how much more
//! than an even halving that split thinned the row's neighbourhood, i.e. how much it
//! shortened the path. Credits are summed over trees and normalised to sum 1; when
//! every split was an even-or-worse halving, the plain `log2(n_parent / n_child)` is
//! used instead.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod build;
mod plan;
mod score;
mod streaming;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use super::rcf::ForestConfigError;
use build::{Builder, Layout};
use plan::BatchPlan;
pub use streaming::{StreamingIsolationForest, StreamingIsolationForestConfig};

const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Configuration of [`IsolationForest::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IsolationForestConfig {
    pub n_trees: usize,
    /// Rows per tree (capped at the number of training rows).
    pub sample_size: usize,
    /// Expected share of anomalies in the training set, in `(0, 0.5]`; sets the threshold.
    pub contamination: f64,
    /// Depth limit; `None` means `ceil(log2(sample_size))` as in the paper.
    pub max_depth: Option<usize>,
}

impl Default for IsolationForestConfig {
    fn default() -> Self {
        Self {
            n_trees: 100,
            sample_size: 256,
            contamination: 0.05,
            max_depth: None,
        }
    }
}

impl IsolationForestConfig {
    pub(crate) fn validate(&self) -> Result<(), ForestConfigError> {
        if self.n_trees == 0 || self.n_trees > 100_000 {
            return Err(ForestConfigError::new("n_trees", "must be in 1..=100000"));
        }
        if self.sample_size < 2 || self.sample_size > 1 << 24 {
            return Err(ForestConfigError::new(
                "sample_size",
                "must be in 2..=16777216",
            ));
        }
        if !(self.contamination > 0.0 && self.contamination <= 0.5) {
            return Err(ForestConfigError::new(
                "contamination",
                "must be in (0, 0.5]",
            ));
        }
        if self.max_depth == Some(0) || self.max_depth.is_some_and(|d| d > 64) {
            return Err(ForestConfigError::new("max_depth", "must be in 1..=64"));
        }
        Ok(())
    }
}

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IsolationForestError {
    #[error(transparent)]
    Config(#[from] ForestConfigError),
    #[error("no training rows (n_features = {n_features}, values = {values})")]
    Empty { n_features: usize, values: usize },
    #[error("training data has {values} values, not a multiple of n_features = {n_features}")]
    Ragged { n_features: usize, values: usize },
    #[error("training row {row}, column {column} is not finite")]
    NonFinite { row: usize, column: usize },
}

/// Average path length of an unsuccessful search in a binary search tree of `n`
/// nodes: the expected depth of the unbuilt subtree below a leaf holding `n` rows.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// A node of the flat forest array, 16 bytes. A split sends a row to `left` when
/// `x[feature] <= threshold` and to `left + 1` otherwise. A leaf points to itself
/// with an infinite threshold, so a step from a leaf stays there (a fixed-length walk
/// needs no branch); its path length `depth + c(size)` is in `IsolationForest::paths`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[repr(C)]
pub(super) struct Split {
    #[serde(with = "infinite_as_none")]
    threshold: f64,
    left: u32,
    feature: u32,
}

impl Split {
    fn leaf(index: u32) -> Self {
        Self {
            threshold: f64::INFINITY,
            left: index,
            feature: 0,
        }
    }

    /// The index of the node a row goes to from this one (itself for a leaf).
    #[inline(always)]
    fn next(&self, row: &[f64]) -> u32 {
        self.left + u32::from(row[self.feature as usize] > self.threshold)
    }
}

/// A fitted Isolation Forest (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ForestParts")]
pub struct IsolationForest {
    n_features: usize,
    /// `c(sample size)`, the depth normaliser.
    normaliser: f64,
    roots: Vec<u32>,
    /// Per tree, the depth of its deepest leaf.
    depths: Vec<u32>,
    /// Every tree's nodes, breadth-first, one tree after another.
    splits: Vec<Split>,
    /// Per node, the path length a row ending there adds (0 for splits).
    paths: Vec<f64>,
    /// Per node, the training rows of the subsample that reached it.
    sizes: Vec<u32>,
    threshold: f64,
    /// The batch-scoring plan, built by the first batch (not serialised).
    #[serde(skip)]
    plan: PlanCache,
}

/// A lazily built [`BatchPlan`]: derived from the model, so it takes no part in
/// equality and is rebuilt rather than stored.
#[derive(Clone, Default)]
struct PlanCache(std::sync::OnceLock<Option<BatchPlan>>);

impl PartialEq for PlanCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for PlanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0.get() {
            None => "not built",
            Some(None) => "none (value walk)",
            Some(Some(_)) => "built",
        };
        f.write_str(state)
    }
}

/// A leaf's threshold is +∞, which JSON cannot hold: it is stored as `None` (null).
mod infinite_as_none {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        Some(*value)
            .filter(|v| *v != f64::INFINITY)
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::INFINITY))
    }
}

/// The serialised fields of an [`IsolationForest`], checked by
/// [`IsolationForest::check_layout`] before they become a model.
#[derive(Deserialize)]
struct ForestParts {
    n_features: usize,
    normaliser: f64,
    roots: Vec<u32>,
    depths: Vec<u32>,
    splits: Vec<Split>,
    paths: Vec<f64>,
    sizes: Vec<u32>,
    threshold: f64,
}

impl TryFrom<ForestParts> for IsolationForest {
    type Error = String;

    fn try_from(parts: ForestParts) -> Result<Self, String> {
        let model = Self {
            n_features: parts.n_features,
            normaliser: parts.normaliser,
            roots: parts.roots,
            depths: parts.depths,
            splits: parts.splits,
            paths: parts.paths,
            sizes: parts.sizes,
            threshold: parts.threshold,
            plan: PlanCache::default(),
        };
        model.check_layout()?;
        Ok(model)
    }
}

impl IsolationForest {
    /// Fits a model on `rows`, row-major with `n_features` values per row.
    pub fn fit(
        rows: &[f64],
        n_features: usize,
        config: &IsolationForestConfig,
        seed: u64,
    ) -> Result<Self, IsolationForestError> {
        config.validate()?;
        if n_features == 0 || rows.is_empty() {
            return Err(IsolationForestError::Empty {
                n_features,
                values: rows.len(),
            });
        }
        if rows.len() / n_features * n_features != rows.len() {
            return Err(IsolationForestError::Ragged {
                n_features,
                values: rows.len(),
            });
        }
        if let Some(at) = rows.iter().position(|v| !v.is_finite()) {
            return Err(IsolationForestError::NonFinite {
                row: at / n_features,
                column: at % n_features,
            });
        }
        let n_rows = rows.len() / n_features;
        let sample_size = config.sample_size.min(n_rows);
        let max_depth = config
            .max_depth
            .unwrap_or_else(|| (sample_size.max(2) as f64).log2().ceil() as usize);
        let mut builder = Builder::new(rows, n_features, max_depth, seed);
        let mut all_rows: Vec<u32> = (0..n_rows as u32).collect();
        let mut layout = Layout::default();
        for _ in 0..config.n_trees {
            for k in 0..sample_size {
                let j = k + builder.rng.below(n_rows - k);
                all_rows.swap(k, j);
            }
            builder.sample.clear();
            builder.sample.extend_from_slice(&all_rows[..sample_size]);
            builder.grow(&mut layout);
        }
        let mut model = Self {
            n_features,
            normaliser: average_path_length(sample_size.max(2)),
            roots: layout.roots,
            depths: layout.depths,
            splits: layout.splits,
            paths: layout.paths,
            sizes: layout.sizes,
            threshold: 1.0,
            plan: PlanCache::default(),
        };
        if let Err(reason) = model.check_layout() {
            unreachable!("a freshly grown forest is inconsistent: {reason}");
        }
        let mut scores = model.score_many(rows);
        model.threshold = quantile(&mut scores, 1.0 - config.contamination);
        Ok(model)
    }

    /// Checks what batch scoring relies on to skip bounds checks: every node's
    /// children and feature are in range (a leaf is its own child, with an infinite
    /// threshold), roots are nodes, and the per-node and per-tree arrays line up.
    fn check_layout(&self) -> Result<(), String> {
        let nodes = self.splits.len();
        if self.n_features == 0 {
            return Err("isolation forest: n_features is 0".into());
        }
        if self.paths.len() != nodes || self.sizes.len() != nodes {
            return Err(format!(
                "isolation forest: {nodes} splits but {} paths and {} sizes",
                self.paths.len(),
                self.sizes.len()
            ));
        }
        if self.roots.is_empty() || self.depths.len() != self.roots.len() {
            return Err(format!(
                "isolation forest: {} roots and {} depths",
                self.roots.len(),
                self.depths.len()
            ));
        }
        if let Some(root) = self.roots.iter().find(|&&r| r as usize >= nodes) {
            return Err(format!(
                "isolation forest: root {root} is not one of {nodes} nodes"
            ));
        }
        for (index, split) in self.splits.iter().enumerate() {
            let is_leaf = split.left as usize == index;
            let children_fit = split.left as usize + 1 < nodes;
            if (is_leaf && split.threshold != f64::INFINITY) || (!is_leaf && !children_fit) {
                return Err(format!(
                    "isolation forest: node {index} has children {} of {nodes} nodes",
                    split.left
                ));
            }
            if split.feature as usize >= self.n_features {
                return Err(format!(
                    "isolation forest: node {index} splits on feature {} of {}",
                    split.feature, self.n_features
                ));
            }
        }
        Ok(())
    }

    /// The batch-scoring plan, built on first use; `None` for a forest that does not
    /// fit one (see `plan.rs`).
    fn batch_plan(&self) -> Option<&BatchPlan> {
        self.plan.0.get_or_init(|| BatchPlan::build(self)).as_ref()
    }

    /// Drops the batch-scoring plan (a model that scores row by row does not need it;
    /// the next batch rebuilds it).
    pub fn release_batch_plan(&mut self) {
        self.plan = PlanCache::default();
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    fn score_from_depth(&self, total_depth: f64) -> f64 {
        let mean = total_depth / self.roots.len() as f64;
        (-mean / self.normaliser).exp2()
    }

    /// The score above which a row is an anomaly (training quantile at
    /// `1 − contamination`).
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn is_anomaly(&self, row: &[f64]) -> bool {
        self.score(row) > self.threshold
    }

    /// Each feature's share of the row's isolation (see the module doc); sums to 1, or
    /// is all zeros when no tree split on the row's path.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let row = &row[..self.n_features];
        let mut excess = vec![0.0; self.n_features];
        let mut plain = vec![0.0; self.n_features];
        for &root in &self.roots {
            let mut index = root;
            loop {
                let split = &self.splits[index as usize];
                let next = split.next(row);
                if next == index {
                    break;
                }
                let (parent_size, child_size) =
                    (self.sizes[index as usize], self.sizes[next as usize]);
                let thinning = (parent_size as f64 / child_size.max(1) as f64).log2();
                excess[split.feature as usize] += (thinning - 1.0).max(0.0);
                plain[split.feature as usize] += thinning;
                index = next;
            }
        }
        let chosen = if excess.iter().sum::<f64>() > 0.0 {
            excess
        } else {
            plain
        };
        normalise(chosen)
    }

    /// Bytes of memory held by the model.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.splits.capacity() * std::mem::size_of::<Split>()
            + self.paths.capacity() * std::mem::size_of::<f64>()
            + (self.sizes.capacity() + self.roots.capacity() + self.depths.capacity()) * 4
            + self
                .plan
                .0
                .get()
                .and_then(Option::as_ref)
                .map_or(0, BatchPlan::bytes)
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

/// Linear-interpolated quantile (numpy's default) of `values`, `q` in `[0, 1]`.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 1.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let position = q * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    values[below] + (values[above] - values[below]) * fraction
}

#[cfg(test)]
mod tests;
