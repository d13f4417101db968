//! Random forest of histogram CART trees (Gini impurity), trained here.
//!
//! **Catches**: attacks defined by thresholds on a few features in combination (a flag and
//! a count, a service and a byte range), including non-linear and interacting ones; robust
//! to feature scale. **Misses**: attacks outside the range of anything seen in training
//! fall into whichever leaf borders them, so an unseen attack that sits beside normal
//! traffic on the split features reads as normal. **Cost**: training O(trees · n · mtry ·
//! depth) with 32-bin histograms; scoring one record is `trees` root-to-leaf walks (≤
//! `max_depth` comparisons each); the model is a few thousand nodes per tree.
//!
//! Each feature is cut at up to 31 thresholds taken from the quantiles of the training
//! values; every tree grows on a bootstrap sample, trying `mtry` random features per node.
//! Deterministic for a seed.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::encode::Matrix;

const BINS: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestConfig {
    pub trees: usize,
    pub max_depth: usize,
    pub min_leaf: usize,
    /// Features tried per node; 0 = √width.
    pub mtry: usize,
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        ForestConfig {
            trees: 40,
            max_depth: 18,
            min_leaf: 2,
            mtry: 0,
            seed: 11,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Node {
    Split {
        feature: u16,
        threshold: f32,
        left: u32,
        right: u32,
    },
    Leaf(f32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    fn score(&self, row: &[f32]) -> f32 {
        let mut at = 0;
        loop {
            match &self.nodes[at] {
                Node::Leaf(p) => return *p,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    at = if row[*feature as usize] <= *threshold {
                        *left as usize
                    } else {
                        *right as usize
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub trees: Vec<Tree>,
}

/// Per feature, the ascending cut points; bin b holds values in (cuts[b-1], cuts[b]].
fn cut_points(x: &Matrix, rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    let n = x.rows();
    let probe: Vec<usize> = if n > 20_000 {
        sample(rng, n, 20_000).into_vec()
    } else {
        (0..n).collect()
    };
    (0..x.width)
        .map(|feature| {
            let mut values: Vec<f32> = probe.iter().map(|&i| x.row(i)[feature]).collect();
            values.sort_by(f32::total_cmp);
            values.dedup();
            if values.len() <= BINS {
                // Cut midway between distinct values.
                return values.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
            }
            let mut cuts: Vec<f32> = (1..BINS).map(|q| values[q * values.len() / BINS]).collect();
            cuts.dedup();
            cuts
        })
        .collect()
}

fn bin_of(cuts: &[f32], value: f32) -> u8 {
    cuts.partition_point(|c| *c < value) as u8
}

struct Grower<'a> {
    bins: &'a [u8],
    width: usize,
    cuts: &'a [Vec<f32>],
    attack: &'a [bool],
    config: &'a ForestConfig,
    mtry: usize,
}

impl Grower<'_> {
    fn grow(
        &self,
        rng: &mut ChaCha8Rng,
        indices: &mut [usize],
        depth: usize,
        nodes: &mut Vec<Node>,
    ) -> u32 {
        let id = nodes.len() as u32;
        let positives = indices.iter().filter(|&&i| self.attack[i]).count();
        let n = indices.len();
        let p = positives as f32 / n.max(1) as f32;
        nodes.push(Node::Leaf(p));
        if depth >= self.config.max_depth
            || positives == 0
            || positives == n
            || n < 2 * self.config.min_leaf
        {
            return id;
        }
        let Some((feature, bin)) = self.best_split(rng, indices, positives) else {
            return id;
        };
        let mut left = 0;
        for k in 0..n {
            if self.bins[indices[k] * self.width + feature] <= bin {
                indices.swap(left, k);
                left += 1;
            }
        }
        let (l, r) = indices.split_at_mut(left);
        let left_id = self.grow(rng, l, depth + 1, nodes);
        let right_id = self.grow(rng, r, depth + 1, nodes);
        nodes[id as usize] = Node::Split {
            feature: feature as u16,
            threshold: self.cuts[feature][bin as usize],
            left: left_id,
            right: right_id,
        };
        id
    }

    fn best_split(
        &self,
        rng: &mut ChaCha8Rng,
        indices: &[usize],
        positives: usize,
    ) -> Option<(usize, u8)> {
        let n = indices.len() as f64;
        let total_pos = positives as f64;
        let parent = gini(total_pos, n);
        let mut best: Option<(f64, usize, u8)> = None;
        let mut tried = 0;
        let mut candidates: Vec<usize> = (0..self.width)
            .filter(|&f| !self.cuts[f].is_empty())
            .collect();
        while tried < self.mtry && !candidates.is_empty() {
            let feature = candidates.swap_remove(rng.gen_range(0..candidates.len()));
            tried += 1;
            let mut count = [0u32; BINS];
            let mut pos = [0u32; BINS];
            for &i in indices {
                let b = self.bins[i * self.width + feature] as usize;
                count[b] += 1;
                pos[b] += u32::from(self.attack[i]);
            }
            let (mut left_n, mut left_p) = (0.0, 0.0);
            for b in 0..self.cuts[feature].len() {
                left_n += f64::from(count[b]);
                left_p += f64::from(pos[b]);
                let right_n = n - left_n;
                if left_n < self.config.min_leaf as f64 || right_n < self.config.min_leaf as f64 {
                    continue;
                }
                let impurity = (left_n * gini(left_p, left_n)
                    + right_n * gini(total_pos - left_p, right_n))
                    / n;
                let gain = parent - impurity;
                if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                    best = Some((gain, feature, b as u8));
                }
            }
        }
        best.map(|(_, feature, bin)| (feature, bin))
    }
}

fn gini(positives: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    let p = positives / n;
    2.0 * p * (1.0 - p)
}

impl Forest {
    pub fn fit(config: &ForestConfig, x: &Matrix, attack: &[bool]) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let n = x.rows();
        let cuts = cut_points(x, &mut rng);
        let mut bins = vec![0u8; n * x.width];
        for i in 0..n {
            for (feature, cut) in cuts.iter().enumerate() {
                bins[i * x.width + feature] = bin_of(cut, x.row(i)[feature]);
            }
        }
        let mtry = if config.mtry == 0 {
            (x.width as f64).sqrt().ceil() as usize
        } else {
            config.mtry
        };
        let grower = Grower {
            bins: &bins,
            width: x.width,
            cuts: &cuts,
            attack,
            config,
            mtry,
        };
        let trees = (0..config.trees)
            .map(|_| {
                let mut indices: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
                let mut nodes = Vec::new();
                grower.grow(&mut rng, &mut indices, 0, &mut nodes);
                Tree { nodes }
            })
            .collect();
        Forest { trees }
    }

    /// Mean of the trees' leaf attack shares.
    pub fn score(&self, row: &[f32]) -> f64 {
        if self.trees.is_empty() {
            return 0.5;
        }
        let sum: f32 = self.trees.iter().map(|t| t.score(row)).sum();
        f64::from(sum) / self.trees.len() as f64
    }

    pub fn nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_an_interaction_a_line_cannot() {
        // XOR of two features: attack when exactly one is high.
        let mut data = Vec::new();
        let mut attack = Vec::new();
        for i in 0..400 {
            let a = (i % 20) as f32;
            let b = (i / 20) as f32;
            data.extend_from_slice(&[a, b]);
            attack.push((a >= 10.0) != (b >= 10.0));
        }
        let x = Matrix { width: 2, data };
        let forest = Forest::fit(
            &ForestConfig {
                trees: 10,
                ..Default::default()
            },
            &x,
            &attack,
        );
        let correct = (0..400)
            .filter(|&i| (forest.score(x.row(i)) > 0.5) == attack[i])
            .count();
        assert!(correct >= 390, "{correct}/400");
        let again = Forest::fit(
            &ForestConfig {
                trees: 10,
                ..Default::default()
            },
            &x,
            &attack,
        );
        assert_eq!(forest, again, "same seed, same forest");
    }
}
