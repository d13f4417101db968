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
//! `O(n_trees × log2(sample_size))` per row. A model holds at most
//! `n_trees × (2 × sample_size − 1)` nodes of 24 bytes: 1.2 MB with the defaults.
//!
//! **Contributions.** For each tree, along the row's path, every split sends the row
//! into a child holding `n_child` of the parent's `n_parent` training rows. The split's
//! feature is credited with `max(0, log2(n_parent / n_child) − 1)`: how much more
//! than an even halving that split thinned the row's neighbourhood, i.e. how much it
//! shortened the path. Credits are summed over trees and normalised to sum 1; when
//! every split was an even-or-worse halving, the plain `log2(n_parent / n_child)` is
//! used instead.

mod streaming;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::rcf::rng::ForestRng;
pub use super::rcf::ForestConfigError;
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

/// A node in a flat tree array. Internal nodes send a row to `children[x > value]`
/// (left: `x[feature] <= value`). A leaf is its own child on both sides, so a
/// traversal of fixed length (the tree's depth) can run without branches; it keeps the
/// path length to add (`depth + c(size)`) in `value`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Node {
    value: f64,
    children: [u32; 2],
    feature: u32,
    /// Training rows that reached this node.
    size: u32,
}

impl Node {
    #[inline]
    fn next(&self, row: &[f64]) -> u32 {
        self.children[usize::from(row[self.feature as usize] > self.value)]
    }
}

/// A fitted Isolation Forest (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    n_features: usize,
    /// `c(sample size)`, the depth normaliser.
    normaliser: f64,
    roots: Vec<u32>,
    /// Per tree, the depth of its deepest leaf.
    depths: Vec<u32>,
    nodes: Vec<Node>,
    threshold: f64,
}

struct Builder<'a> {
    rows: &'a [f64],
    n_features: usize,
    max_depth: usize,
    rng: ForestRng,
    sample: Vec<u32>,
    features: Vec<u32>,
    stack: Vec<(u32, usize, usize, usize)>,
}

impl Builder<'_> {
    fn value(&self, row: u32, feature: u32) -> f64 {
        self.rows[row as usize * self.n_features + feature as usize]
    }

    /// Grows one tree over `sample`, appending its nodes; returns the root index.
    fn grow(&mut self, nodes: &mut Vec<Node>) -> (u32, u32) {
        let root = nodes.len() as u32;
        let mut deepest = 0;
        nodes.push(Node {
            value: 0.0,
            children: [root, root],
            feature: 0,
            size: 0,
        });
        self.stack.clear();
        self.stack.push((root, 0, self.sample.len(), 0));
        while let Some((index, start, end, depth)) = self.stack.pop() {
            let size = end - start;
            nodes[index as usize].size = size as u32;
            let split = if depth >= self.max_depth || size <= 1 {
                None
            } else {
                self.choose_split(start, end)
            };
            let Some((feature, threshold)) = split else {
                nodes[index as usize] = Node {
                    value: depth as f64 + average_path_length(size),
                    children: [index, index],
                    feature: 0,
                    size: size as u32,
                };
                deepest = deepest.max(depth as u32);
                continue;
            };
            let mut middle = start;
            for i in start..end {
                if self.value(self.sample[i], feature) <= threshold {
                    self.sample.swap(i, middle);
                    middle += 1;
                }
            }
            let left = nodes.len() as u32;
            let blank = nodes[index as usize];
            nodes.push(blank);
            nodes.push(blank);
            nodes[index as usize] = Node {
                value: threshold,
                children: [left, left + 1],
                feature,
                size: size as u32,
            };
            self.stack.push((left, start, middle, depth + 1));
            self.stack.push((left + 1, middle, end, depth + 1));
        }
        (root, deepest)
    }

    /// A uniformly random non-constant feature and a uniform threshold in its range.
    fn choose_split(&mut self, start: usize, end: usize) -> Option<(u32, f64)> {
        let count = self.features.len();
        for k in 0..count {
            let j = k + self.rng.below(count - k);
            self.features.swap(k, j);
            let feature = self.features[k];
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &row in &self.sample[start..end] {
                let v = self.value(row, feature);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi > lo {
                let u = self.rng.next_f64();
                let mut threshold = lo * (1.0 - u) + hi * u;
                if !(threshold >= lo && threshold < hi) {
                    threshold = lo;
                }
                return Some((feature, threshold));
            }
        }
        None
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
        let mut builder = Builder {
            rows,
            n_features,
            max_depth,
            rng: ForestRng::new(seed),
            sample: Vec::with_capacity(sample_size),
            features: (0..n_features as u32).collect(),
            stack: Vec::new(),
        };
        let mut all_rows: Vec<u32> = (0..n_rows as u32).collect();
        let mut nodes = Vec::with_capacity(config.n_trees * (2 * sample_size).min(1 << 16));
        let mut roots = Vec::with_capacity(config.n_trees);
        let mut depths = Vec::with_capacity(config.n_trees);
        for _ in 0..config.n_trees {
            for k in 0..sample_size {
                let j = k + builder.rng.below(n_rows - k);
                all_rows.swap(k, j);
            }
            builder.sample.clear();
            builder.sample.extend_from_slice(&all_rows[..sample_size]);
            let (root, depth) = builder.grow(&mut nodes);
            roots.push(root);
            depths.push(depth);
        }
        let mut model = Self {
            n_features,
            normaliser: average_path_length(sample_size.max(2)),
            roots,
            depths,
            nodes,
            threshold: 1.0,
        };
        let mut scores = model.score_many(rows);
        model.threshold = quantile(&mut scores, 1.0 - config.contamination);
        Ok(model)
    }

    /// Fits on a slice of rows of equal length.
    pub fn fit_rows(
        rows: &[Vec<f64>],
        config: &IsolationForestConfig,
        seed: u64,
    ) -> Result<Self, IsolationForestError> {
        let n_features = rows.first().map_or(0, Vec::len);
        let mut flat = Vec::with_capacity(rows.len() * n_features);
        for row in rows {
            if row.len() != n_features {
                return Err(IsolationForestError::Ragged {
                    n_features,
                    values: flat.len() + row.len(),
                });
            }
            flat.extend_from_slice(row);
        }
        Self::fit(&flat, n_features, config, seed)
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    #[inline]
    fn leaf_for(&self, root: u32, row: &[f64]) -> &Node {
        let mut index = root;
        loop {
            let node = &self.nodes[index as usize];
            let next = node.next(row);
            if next == index {
                return node;
            }
            index = next;
        }
    }

    fn score_from_depth(&self, total_depth: f64) -> f64 {
        let mean = total_depth / self.roots.len() as f64;
        (-mean / self.normaliser).exp2()
    }

    /// The anomaly score of one row, in (0, 1] (exactly 1 only for a model fitted on a
    /// single row, where every path has length 0). Panics if the row is shorter than
    /// `n_features`.
    pub fn score(&self, row: &[f64]) -> f64 {
        let row = &row[..self.n_features];
        let total: f64 = self
            .roots
            .iter()
            .map(|&root| self.leaf_for(root, row).value)
            .sum();
        self.score_from_depth(total)
    }

    /// Scores every row of a row-major slice (a trailing partial row is ignored).
    ///
    /// Rows go through the trees in blocks, in lockstep: every row of a block takes
    /// exactly the tree's depth steps (leaves point to themselves), so the steps of
    /// different rows are independent and branch-free and the processor overlaps them.
    pub fn score_many(&self, rows: &[f64]) -> Vec<f64> {
        const BLOCK: usize = 64;
        let f = self.n_features;
        let n_rows = rows.len() / f;
        let mut totals = vec![0.0; n_rows];
        let mut at = [0u32; BLOCK];
        for (block_index, block) in totals.chunks_mut(BLOCK).enumerate() {
            let n = block.len();
            let first = block_index * BLOCK * f;
            let block_rows = &rows[first..first + n * f];
            for (&root, &depth) in self.roots.iter().zip(&self.depths) {
                at[..n].fill(root);
                for _ in 0..depth {
                    for (i, index) in at[..n].iter_mut().enumerate() {
                        let node = &self.nodes[*index as usize];
                        let x = block_rows[i * f + node.feature as usize];
                        *index = node.children[usize::from(x > node.value)];
                    }
                }
                for (total, index) in block.iter_mut().zip(&at[..n]) {
                    *total += self.nodes[*index as usize].value;
                }
            }
        }
        totals
            .into_iter()
            .map(|d| self.score_from_depth(d))
            .collect()
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
                let node = &self.nodes[index as usize];
                let next = node.next(row);
                if next == index {
                    break;
                }
                let child = &self.nodes[next as usize];
                let thinning = (node.size as f64 / child.size.max(1) as f64).log2();
                excess[node.feature as usize] += (thinning - 1.0).max(0.0);
                plain[node.feature as usize] += thinning;
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
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + (self.roots.capacity() + self.depths.capacity()) * 4
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
