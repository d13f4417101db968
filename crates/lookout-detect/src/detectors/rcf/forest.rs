//! A forest of random cut trees over points of a fixed dimension.

use serde::{Deserialize, Serialize};

use super::rng::ForestRng;
use super::tree::CutTree;
use super::VALUE_CLAMP;

/// The multi-dimensional core of [`super::RandomCutForest`]: score a point, then offer
/// it to every tree's sampler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    dim: usize,
    output_after: usize,
    trees: Vec<CutTree>,
    /// Points offered so far (the sampler's time index).
    sequence: u64,
    #[serde(skip)]
    clamped: Vec<f64>,
}

impl Forest {
    /// `dim`, `num_trees` and `sample_size` must be at least 1; the caller validates.
    pub fn new(
        dim: usize,
        num_trees: usize,
        sample_size: usize,
        time_decay: f64,
        output_after: usize,
        seed: u64,
    ) -> Self {
        let mut rng = ForestRng::new(seed);
        let trees = (0..num_trees)
            .map(|_| CutTree::new(dim, sample_size, time_decay, rng.fork()))
            .collect();
        Self {
            dim,
            output_after,
            trees,
            sequence: 0,
            clamped: Vec::with_capacity(dim),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Points offered so far.
    pub fn points_seen(&self) -> u64 {
        self.sequence
    }

    fn clamp_into_scratch(&mut self, point: &[f64]) {
        self.clamped.clear();
        self.clamped.extend(point.iter().map(|v| {
            if v.is_nan() {
                0.0
            } else {
                v.clamp(-VALUE_CLAMP, VALUE_CLAMP)
            }
        }));
    }

    /// The average tree score of `point` (`0` until `output_after` points were seen).
    /// Panics if `point.len() != dim`.
    pub fn score(&mut self, point: &[f64]) -> f64 {
        assert_eq!(point.len(), self.dim, "point dimension");
        if self.sequence < self.output_after as u64 || self.sequence == 0 {
            return 0.0;
        }
        self.clamp_into_scratch(point);
        let clamped = std::mem::take(&mut self.clamped);
        let total: f64 = self.trees.iter_mut().map(|t| t.score(&clamped)).sum();
        self.clamped = clamped;
        total / self.trees.len() as f64
    }

    /// Offers `point` to every tree's sampler. Panics if `point.len() != dim`.
    pub fn update(&mut self, point: &[f64]) {
        assert_eq!(point.len(), self.dim, "point dimension");
        self.clamp_into_scratch(point);
        let clamped = std::mem::take(&mut self.clamped);
        for tree in &mut self.trees {
            tree.offer(&clamped, self.sequence);
        }
        self.clamped = clamped;
        self.sequence += 1;
    }

    /// Bytes of heap memory held by the trees.
    pub fn state_bytes(&self) -> usize {
        self.trees
            .iter()
            .map(|t| t.state_bytes() + std::mem::size_of::<CutTree>())
            .sum::<usize>()
            + 8 * self.clamped.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_point_outscores_near_point_in_two_dimensions() {
        let mut rng = ForestRng::new(4);
        let mut forest = Forest::new(2, 30, 128, 0.0, 16, 8);
        for _ in 0..500 {
            let p = [rng.next_f64(), rng.next_f64()];
            forest.update(&p);
        }
        let near = forest.score(&[0.5, 0.5]);
        let far = forest.score(&[3.0, 3.0]);
        assert!(far > 2.0 * near, "far {far} near {near}");
        assert!(near > 0.0);
    }
}
