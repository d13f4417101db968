//! Novelty against normal traffic: how far a record lies from every normal record seen.
//!
//! A supervised classifier can only say which known class a record is nearer to; an
//! attack of a type absent from training that is far from both reads as whichever class
//! borders it, often normal. This profile keeps a seeded sample of normal training
//! records (the prototypes) and the distribution of nearest-prototype distances of other
//! normal records (the calibration). A record's novelty is the share of calibration
//! distances below its own: 0.999 means it is farther from normal traffic than 99.9 % of
//! normal records are. Above `quantile` the record is flagged, whatever the classifier
//! said.
//!
//! **Catches**: records unlike any normal traffic (unseen floods, probes, malformed
//! connections), whether or not an attack like them was in training. **Misses**: attacks
//! that look like normal traffic on every feature (most password guessing, most
//! content-based R2L/U2R attacks); those need the classifier. **Cost**: one scan over the
//! prototypes per record (`prototypes` × 40 multiply-adds at worst; 20 000 by default,
//! ~100 µs on one core), memory ~170 bytes per prototype.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::encode::Matrix;
use crate::knn::{Knn, KnnConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoveltyConfig {
    /// Normal records kept as prototypes.
    pub prototypes: usize,
    /// Other normal records whose distances calibrate the score.
    pub calibration: usize,
    /// Novelty above which a record is an attack whatever the classifier says.
    pub quantile: f64,
    pub seed: u64,
}

impl Default for NoveltyConfig {
    fn default() -> Self {
        NoveltyConfig {
            prototypes: 20_000,
            calibration: 5_000,
            quantile: 0.98,
            seed: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalProfile {
    prototypes: Knn,
    /// Ascending nearest-prototype distances of the calibration records.
    calibration: Vec<f32>,
    pub quantile: f64,
}

impl NormalProfile {
    /// Fits on the normal rows of `x` (`attack[i] == false`). `None` with fewer than 20.
    pub fn fit(config: &NoveltyConfig, x: &Matrix, attack: &[bool]) -> Option<Self> {
        let mut normal: Vec<usize> = (0..x.rows()).filter(|&i| !attack[i]).collect();
        if normal.len() < 20 {
            return None;
        }
        normal.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed));
        // At least a fifth of the normal records calibrate.
        let calibration = config.calibration.min(normal.len() / 5).max(1);
        let (held, kept) = normal.split_at(calibration);
        let kept = &kept[..kept.len().min(config.prototypes.max(1))];
        let prototypes = Knn::fit(
            &KnnConfig { k: 1 },
            kept.iter().map(|&i| (x.row(i).to_vec(), false)),
        );
        let mut distances: Vec<f32> = held
            .iter()
            .map(|&i| nearest(&prototypes, x.row(i)))
            .collect();
        distances.sort_by(f32::total_cmp);
        Some(NormalProfile {
            prototypes,
            calibration: distances,
            quantile: config.quantile,
        })
    }

    /// Share of calibration distances strictly below this record's (0..1).
    pub fn novelty(&self, row: &[f32]) -> f64 {
        // Beyond the farthest calibration distance the novelty is 1 whatever the distance,
        // so the search stops there.
        let farthest = self.calibration.last().copied().unwrap_or(f32::INFINITY);
        let radius = farthest * farthest * (1.0 + 1e-6) + 1e-12;
        let distance = nearest_within(&self.prototypes, row, radius);
        let below = self.calibration.partition_point(|d| *d < distance);
        below as f64 / self.calibration.len() as f64
    }

    /// Combines with a classifier score: above `quantile` the record scores at least
    /// 0.5 (an attack at the default threshold), rising to 1 at novelty 1.
    pub fn combine(&self, classifier: f64, novelty: f64) -> f64 {
        if novelty > self.quantile {
            let excess = (novelty - self.quantile) / (1.0 - self.quantile).max(1e-9);
            classifier.max(0.5 + 0.5 * excess.min(1.0))
        } else {
            classifier
        }
    }
}

fn nearest(prototypes: &Knn, row: &[f32]) -> f32 {
    nearest_within(prototypes, row, f32::INFINITY)
}

fn nearest_within(prototypes: &Knn, row: &[f32], radius: f32) -> f32 {
    prototypes
        .neighbours_within(row, radius)
        .first()
        .map_or(f32::INFINITY, |(d, _)| d.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NUMERIC_FEATURES;

    fn row(x: f32) -> Vec<f32> {
        let mut row = vec![0.0; NUMERIC_FEATURES + 3];
        row[0] = x;
        row[NUMERIC_FEATURES..].fill(1.0);
        row
    }

    #[test]
    fn far_records_are_novel_near_ones_are_not() {
        let mut data = Vec::new();
        for i in 0..1000 {
            data.extend(row((i % 100) as f32 / 100.0));
        }
        let x = Matrix {
            width: NUMERIC_FEATURES + 3,
            data,
        };
        let profile =
            NormalProfile::fit(&NoveltyConfig::default(), &x, &vec![false; 1000]).unwrap();
        assert!(profile.novelty(&row(0.5)) < 0.5);
        assert_eq!(profile.novelty(&row(30.0)), 1.0);
        assert_eq!(profile.combine(0.1, 1.0), 1.0);
        assert_eq!(profile.combine(0.1, 0.2), 0.1);
        assert!(NormalProfile::fit(&NoveltyConfig::default(), &x, &vec![true; 1000]).is_none());
    }
}
